namespace MolecularLearning.Learning.Export;

/// <summary>
/// Analytic radial functions with a smooth cutoff, for describing radial losses by hand (tests, examples):
/// f_c(r) = (1 − (r/r_c)²)², whose value and slope vanish at r_c.
/// </summary>
public static class RadialBasis
{
    public static double SmoothCutoff(double r, double rc, out double derivative)
    {
        if (r >= rc) { derivative = 0; return 0; }
        double x = r / rc, u = 1 - x * x;
        derivative = -4 * x * u / rc;
        return u * u;
    }

    /// <summary>exp(−(r − r0)² / (2w²)) · f_c(r).</summary>
    public static RadialFunction Gaussian(double center, double width, double rc) => (double r, out double d) =>
    {
        double fc = SmoothCutoff(r, rc, out double dfc);
        double z = (r - center) / width, g = Math.Exp(-0.5 * z * z);
        d = -z / width * g * fc + g * dfc;
        return g * fc;
    };

    /// <summary>r^−n · f_c(r).</summary>
    public static RadialFunction InversePower(int n, double rc) => (double r, out double d) =>
    {
        double fc = SmoothCutoff(r, rc, out double dfc);
        double p = Math.Pow(r, -n);
        d = -n * p / r * fc + p * dfc;
        return p * fc;
    };
}
