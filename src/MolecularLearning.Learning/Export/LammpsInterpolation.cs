using MolecularLearning.Core;

namespace MolecularLearning.Learning.Export;

/// <summary>A scalar function with its derivative: a pair potential V(r), a density f(r) or an embedding F(ρ).</summary>
public interface ICurve
{
    double Evaluate(double x, out double derivative);
}

/// <summary>
/// LAMMPS <c>pair_style table linear N</c> fed a file with <c>N … RSQ rlo rhi</c> points and the same N, so the
/// file's knots are used as they are (LAMMPS "match"): energy and force/r are each interpolated linearly in r².
/// A re-implementation of what LAMMPS computes, to measure the tabulation error before writing files.
/// </summary>
public sealed class LammpsLinearTable : ICurve
{
    private readonly double[] _rsq, _e, _f; // f = force / r at the knots
    private readonly double _innerSq, _invDelta;

    /// <param name="rInner">Inner table bound (Å): LAMMPS stops with an error for closer pairs.</param>
    /// <param name="rOuter">Outer bound = the cutoff (Å).</param>
    /// <param name="points">N, the table length.</param>
    /// <param name="potential">V(r) and dV/dr, analytic.</param>
    public LammpsLinearTable(double rInner, double rOuter, int points, ICurve potential)
    {
        if (points < 2 || !(rInner > 0) || !(rOuter > rInner)) throw new ArgumentException("bad table bounds");
        RInner = rInner; ROuter = rOuter; Points = points;
        R = new double[points]; Energy = new double[points]; Force = new double[points];
        _rsq = new double[points]; _e = Energy; _f = new double[points];
        _innerSq = rInner * rInner;
        double delta = (rOuter * rOuter - _innerSq) / (points - 1);
        _invDelta = 1 / delta;
        for (int i = 0; i < points; i++)
        {
            // The distances LAMMPS computes for an RSQ table (it replaces the file's r column by these).
            double r = Math.Sqrt(_innerSq + (rOuter * rOuter - _innerSq) * i / (points - 1));
            R[i] = r;
            Energy[i] = potential.Evaluate(r, out double dv);
            Force[i] = -dv;
            _rsq[i] = r * r;
            _f[i] = Force[i] / r;
        }
    }

    public double RInner { get; }
    public double ROuter { get; }
    public int Points { get; }
    /// <summary>The knots as written to the file: r (Å), V (eV), F = −dV/dr (eV/Å).</summary>
    public double[] R { get; }
    public double[] Energy { get; }
    public double[] Force { get; }

    public double Evaluate(double r, out double derivative)
    {
        double rsq = r * r;
        if (rsq < _innerSq) throw new DataException($"pair distance {r:G6} Å is below the table's inner bound {RInner:G6} Å (LAMMPS stops here)");
        int i = (int)((rsq - _innerSq) * _invDelta);
        if (i >= Points - 1) { derivative = 0; return 0; } // at/after the cutoff: LAMMPS never asks
        double fraction = (rsq - _rsq[i]) * _invDelta;
        double fOverR = _f[i] + fraction * (_f[i + 1] - _f[i]);
        derivative = -fOverR * r;
        return _e[i] + fraction * (_e[i + 1] - _e[i]);
    }
}

/// <summary>
/// LAMMPS's EAM interpolation (PairEAM::interpolate and its look-ups): values on a uniform grid from 0 with
/// spacing Δ, a cubic per interval with slopes from the 5-point difference formula (one-sided at the ends).
/// Interior intervals reproduce cubics exactly, so a quadratic embedding F(ρ) = cρ² is exact for
/// Δ ≤ ρ ≤ (n−2)Δ. Beyond the last knot LAMMPS holds F' constant (linear energy); below 0 it extrapolates the
/// first interval's cubic.
/// </summary>
public sealed class LammpsEamSpline : ICurve
{
    private readonly double[,] _c; // [m, 0..6], m = 1..n as in LAMMPS
    private readonly double _rdelta, _max;
    private readonly bool _embedding;

    /// <param name="values">f at x_m = (m−1)Δ, m = 1..n (values[0] is x = 0).</param>
    /// <param name="embedding">true for F(ρ) (clamps m ≥ 1, adds the linear energy beyond the grid), false for ρ(r), φ(r).</param>
    public LammpsEamSpline(double[] values, double delta, bool embedding)
    {
        int n = values.Length;
        if (n < 5) throw new ArgumentException("an EAM table needs at least 5 points");
        Values = values; Delta = delta;
        _embedding = embedding;
        _rdelta = 1 / delta;
        _max = (n - 1) * delta;
        var s = new double[n + 1, 7];
        for (int m = 1; m <= n; m++) s[m, 6] = values[m - 1];
        s[1, 5] = s[2, 6] - s[1, 6];
        s[2, 5] = 0.5 * (s[3, 6] - s[1, 6]);
        s[n - 1, 5] = 0.5 * (s[n, 6] - s[n - 2, 6]);
        s[n, 5] = s[n, 6] - s[n - 1, 6];
        for (int m = 3; m <= n - 2; m++)
            s[m, 5] = ((s[m - 2, 6] - s[m + 2, 6]) + 8.0 * (s[m + 1, 6] - s[m - 1, 6])) / 12.0;
        for (int m = 1; m <= n - 1; m++)
        {
            s[m, 4] = 3.0 * (s[m + 1, 6] - s[m, 6]) - 2.0 * s[m, 5] - s[m + 1, 5];
            s[m, 3] = s[m, 5] + s[m + 1, 5] - 2.0 * (s[m + 1, 6] - s[m, 6]);
        }
        s[n, 4] = 0; s[n, 3] = 0;
        for (int m = 1; m <= n; m++)
        {
            s[m, 2] = s[m, 5] / delta;
            s[m, 1] = 2.0 * s[m, 4] / delta;
            s[m, 0] = 3.0 * s[m, 3] / delta;
        }
        _c = s;
    }

    public double[] Values { get; }
    public double Delta { get; }

    public double Evaluate(double x, out double derivative)
    {
        int n = Values.Length;
        double p = x * _rdelta + 1.0;
        int m = (int)p;
        m = Math.Min(m, n - 1);
        if (_embedding) m = Math.Max(1, m);
        p -= m;
        p = Math.Min(p, 1.0);
        derivative = (_c[m, 0] * p + _c[m, 1]) * p + _c[m, 2];
        double value = ((_c[m, 3] * p + _c[m, 4]) * p + _c[m, 5]) * p + _c[m, 6];
        if (_embedding && x > _max) value += derivative * (x - _max);
        return value;
    }
}
