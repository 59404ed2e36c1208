using MolecularLearning.Core;

namespace MolecularLearning.Learning;

/// <summary>
/// Ridge-regularised least squares on standardised columns. Columns are scaled to unit RMS (columns that
/// never vary are dropped, their parameter is 0). The ridge strength is picked on a validation block, each
/// candidate solved on the fit rows by a Cholesky factorisation of its standardised system (nine of them cost a third
/// of the flops of the one eigendecomposition that served them all before, and run in SIMD: <see cref="Cholesky"/>),
/// then the final parameters are solved the same way on fit + validation rows.
/// </summary>
internal static class RidgeSolver
{
    /// <summary>Ridge strengths tried, relative to the mean squared column norm (= rows after standardising).</summary>
    public static readonly double[] Candidates = [1e-10, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2];

    /// <summary>Relative slack on the best validation error when picking the (strongest) ridge.</summary>
    public const double Tolerance = 0.02;

    /// <summary>Smallest column scale, relative to the largest column RMS.</summary>
    public const double ScaleFloor = 1e-2;

    /// <param name="CrossValidationRelRmse">The chosen ridge's relRMSE pooled over the left-out blocks (cross-validation only).</param>
    public sealed record Solution(double[] Theta, double Ridge, IReadOnlyList<(double Ridge, double ValidationRelRmse)> Scan, double? CrossValidationRelRmse = null);

    /// <param name="fit">Rows to fit on when choosing the ridge.</param>
    /// <param name="validation">Later rows to judge each ridge on (may be empty: then <paramref name="fixedRidge"/> or 1e-6).</param>
    public static Solution Solve(GramAccumulator fit, GramAccumulator validation, double? fixedRidge)
    {
        fit.Complete(); validation.Complete();
        int p = fit.Columns;
        var scan = new List<(double, double)>();
        double ridge = fixedRidge ?? 1e-6;
        if (fixedRidge is null && validation.Rows > 0 && fit.Rows > 0)
        {
            foreach (var (rel, residual) in Residuals(fit, validation, Candidates))
                if (double.IsFinite(residual)) scan.Add((rel, Math.Sqrt(residual / Math.Max(validation.Yty, 1e-300))));
            if (scan.Count == 0) throw new DataException("the fit's normal equations are not positive definite at any ridge strength");
            // The strongest ridge within 2% of the best validation error: the validation block is short and
            // correlated, and a smoother loss extrapolates more gently outside the training data.
            ridge = Strongest(scan);
        }
        var all = new GramAccumulator(p);
        all.Add(fit); all.Add(validation); all.Complete();
        return new Solution(SolveCholesky(all, ridge), ridge, scan);
    }

    /// <summary>The strongest ridge whose validation error is within <see cref="Tolerance"/> of the best.</summary>
    internal static double Strongest(IReadOnlyList<(double Ridge, double Error)> scan)
    {
        double best = scan.Min(x => x.Error), ridge = scan[0].Ridge;
        foreach (var (rel, error) in scan)
            if (error <= best * (1 + Tolerance)) ridge = rel;
        return ridge;
    }

    /// <summary>
    /// ‖Aθ_λ − y‖² on <paramref name="validation"/> for θ_λ fitted on <paramref name="fit"/> with each relative
    /// ridge λ; +∞ for a λ whose system is not positive definite to rounding (a λ far below the Gram matrix's rounding).
    /// </summary>
    internal static List<(double Ridge, double Residual)> Residuals(GramAccumulator fit, GramAccumulator validation, IReadOnlyList<double> candidates)
    {
        fit.Complete(); validation.Complete();
        int p = fit.Columns;
        var result = new List<(double, double)>();
        var (active, scale) = Standardise(fit);
        var (g, c) = Standardised(fit, active, scale);
        int a = active.Length;
        var work = new double[g.Length];
        var theta = new double[p];
        foreach (var rel in candidates)
        {
            var ts = SolveRidged(g, a, rel * fit.Rows, c, work);
            if (ts is null) { result.Add((rel, double.PositiveInfinity)); continue; }
            Array.Clear(theta);
            for (int i = 0; i < a; i++) theta[active[i]] = ts[i] / scale[i];
            result.Add((rel, validation.Residual(theta)));
        }
        return result;
    }

    internal static double[] SolveCholesky(GramAccumulator acc, double ridge)
    {
        int p = acc.Columns;
        var theta = new double[p];
        if (acc.Rows == 0) return theta;
        var (active, scale) = Standardise(acc);
        int a = active.Length;
        if (a == 0) return theta;
        var (g, c) = Standardised(acc, active, scale);
        var ts = SolveRidged(g, a, ridge * acc.Rows, c, g)
            ?? throw new DataException($"the fit's normal equations are not positive definite at ridge {ridge:g3}");
        for (int i = 0; i < a; i++) theta[active[i]] = ts[i] / scale[i];
        return theta;
    }

    /// <summary>The Gram matrix (its lower triangle, read from the accumulator's upper one) and Aᵀy on the active columns, standardised.</summary>
    private static (double[] Gram, double[] Aty) Standardised(GramAccumulator acc, int[] active, double[] scale)
    {
        int p = acc.Columns, a = active.Length;
        var g = new double[(long)a * a];
        for (int x = 0; x < a; x++)
        {
            long to = (long)x * a;
            for (int y = 0; y <= x; y++) g[to + y] = acc.Gram[(long)active[y] * p + active[x]] / (scale[x] * scale[y]);
        }
        var c = new double[a];
        for (int x = 0; x < a; x++) c[x] = acc.Aty[active[x]] / scale[x];
        return (g, c);
    }

    /// <summary>(G + λI) x = c by <see cref="Cholesky"/> in <paramref name="work"/> (may be G itself); null when not positive definite.</summary>
    private static double[]? SolveRidged(double[] g, int a, double lambda, double[] c, double[] work)
    {
        if (!ReferenceEquals(work, g)) Array.Copy(g, work, (long)a * a);
        for (int i = 0; i < a; i++) work[(long)i * a + i] += lambda;
        if (!Cholesky.Factor(work, a)) return null;
        var x = (double[])c.Clone();
        Cholesky.Solve(work, a, x);
        return x;
    }

    /// <summary>
    /// Minimises Σ_g ‖A_g θ_g − y_g‖² + λ_g ‖θ_g‖² (standardised, each group's own ridge) + w θᵀQθ jointly over the groups'
    /// parameters θ = (θ_0, θ_1, ...): Q couples them (the curl penalty of an agent fit). w = 0 gives each group's <see cref="SolveCholesky"/>.
    /// </summary>
    internal static double[] SolveJoint(IReadOnlyList<GramAccumulator> groups, IReadOnlyList<double> ridges, GramAccumulator q, double weight)
    {
        int p = groups[0].Columns, total = p * groups.Count;
        if (q.Columns != total) throw new ArgumentException($"penalty has {q.Columns} columns, the groups {total}");
        q.Complete();
        var index = new List<int>();
        var scale = new List<double>();
        var lambda = new List<double>();
        for (int g = 0; g < groups.Count; g++)
        {
            groups[g].Complete();
            if (groups[g].Rows == 0) continue;
            var (active, sc) = Standardise(groups[g]);
            for (int x = 0; x < active.Length; x++) { index.Add(g * p + active[x]); scale.Add(sc[x]); lambda.Add(ridges[g] * groups[g].Rows); }
        }
        int a = index.Count;
        var theta = new double[total];
        if (a == 0) return theta;
        var m = new double[(long)a * a];
        for (int x = 0; x < a; x++)
            for (int y = 0; y <= x; y++)
            {
                int gx = index[x] / p, gy = index[y] / p;
                double v = weight * q.Gram[(long)index[x] * total + index[y]];
                if (gx == gy) v += groups[gx].Gram[(long)(index[x] % p) * p + index[y] % p];
                m[(long)x * a + y] = v / (scale[x] * scale[y]) + (x == y ? lambda[x] : 0);
            }
        var ts = new double[a];
        for (int x = 0; x < a; x++) ts[x] = groups[index[x] / p].Aty[index[x] % p] / scale[x];
        if (!Cholesky.Factor(m, a)) throw new DataException("the fit's normal equations with the curl penalty are not positive definite");
        Cholesky.Solve(m, a, ts);
        for (int x = 0; x < a; x++) theta[index[x]] = ts[x] / scale[x];
        return theta;
    }

    /// <summary>Columns with a non-negligible RMS and their RMS.</summary>
    private static (int[] Active, double[] Scale) Standardise(GramAccumulator acc)
    {
        int p = acc.Columns;
        double max = 0;
        for (int k = 0; k < p; k++) max = Math.Max(max, acc.Gram[(long)k * p + k]);
        var active = new List<int>();
        var scale = new List<double>();
        // Columns that are almost always zero (an invariant that only a rare configuration switches on) would
        // be scaled up and escape the ridge; their scale is floored so they pay a fair penalty.
        double floor = ScaleFloor * Math.Sqrt(max / acc.Rows);
        for (int k = 0; k < p; k++)
        {
            double d = acc.Gram[(long)k * p + k];
            if (d > 1e-20 * max && d > 0) { active.Add(k); scale.Add(Math.Max(Math.Sqrt(d / acc.Rows), floor)); }
        }
        return ([.. active], [.. scale]);
    }
}
