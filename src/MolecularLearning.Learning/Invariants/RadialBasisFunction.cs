namespace MolecularLearning.Learning;

/// <summary>The shape of a radial basis function g(r), before the smooth cutoff.</summary>
public enum RadialKind
{
    /// <summary>g(r) = r^-p: steep at short range (extrapolates badly when atoms come close).</summary>
    InversePower,
    /// <summary>g(r) = exp(-(r - μ)² / (2 w²)): bounded and smooth.</summary>
    Gaussian,
}

/// <summary>
/// One radial basis function g(r). Kept analytically simple (a power or a Gaussian) so a conservative
/// radial model can be tabulated for LAMMPS. <see cref="A"/> is the power p or the Gaussian centre μ (Å);
/// <see cref="B"/> is the Gaussian width w (Å), unused for powers.
/// </summary>
public readonly record struct RadialBasisFunction(RadialKind Kind, double A, double B = 0)
{
    public static RadialBasisFunction InversePower(int power) => new(RadialKind.InversePower, power);
    public static RadialBasisFunction Gaussian(double centre, double width) => new(RadialKind.Gaussian, centre, width);

    /// <summary>g(r) and dg/dr.</summary>
    public double Value(double r, out double derivative)
    {
        if (Kind == RadialKind.Gaussian)
        {
            double x = (r - A) / B;
            double g = Math.Exp(-0.5 * x * x);
            derivative = -g * x / B;
            return g;
        }
        double v = Math.Pow(r, -A);
        derivative = -A * v / r;
        return v;
    }

    /// <summary>A short label for tables: "G1.00/0.30" or "r^-2".</summary>
    public string Label => Kind == RadialKind.Gaussian
        ? FormattableString.Invariant($"G{A:0.00}/{B:0.00}")
        : FormattableString.Invariant($"r^-{A:0}");

    public void Validate(string where)
    {
        if (Kind == RadialKind.Gaussian && !(B > 0 && double.IsFinite(A) && double.IsFinite(B)))
            throw new Core.DataException($"{where}: a Gaussian needs a finite centre and a positive width");
        if (Kind == RadialKind.InversePower && !(A >= 1 && A <= 16 && A == Math.Floor(A)))
            throw new Core.DataException($"{where}: an inverse power must be an integer from 1 to 16");
    }
}

/// <summary>
/// The smooth cutoff f_c(r) = (1 − (r/r_c)²)² for r &lt; r_c, else 0 (or power P, <see cref="InvariantOptions.CutoffPower"/>): value and slope vanish at r_c,
/// and it is a polynomial in r² (cheap, and exact to tabulate).
/// </summary>
public static class SmoothCutoff
{
    public static double Value(double r, double cutoff, out double derivative)
    {
        if (r >= cutoff) { derivative = 0; return 0; }
        double inv2 = 1 / (cutoff * cutoff);
        double t = 1 - r * r * inv2;
        derivative = -4 * t * r * inv2;
        return t * t;
    }

    /// <summary>f_c = (1 − (r/r_c)²)^P and its slope: the first P − 1 derivatives vanish at r_c. P = 2 is exactly <see cref="Value(double, double, out double)"/>.</summary>
    public static double Value(double r, double cutoff, int power, out double derivative)
    {
        if (power == 2) return Value(r, cutoff, out derivative);
        if (r >= cutoff) { derivative = 0; return 0; }
        double inv2 = 1 / (cutoff * cutoff);
        double t = 1 - r * r * inv2, tp = t;
        for (int p = 2; p < power; p++) tp *= t; // t^(P−1)
        derivative = -2 * power * tp * r * inv2;
        return tp * t;
    }
}
