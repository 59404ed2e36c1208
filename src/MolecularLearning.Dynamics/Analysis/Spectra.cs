using System.Numerics;
using MathNet.Numerics.IntegralTransforms;

namespace MolecularLearning.Dynamics.Analysis;

/// <summary>A spectrum on evenly spaced wavenumbers (cm⁻¹), normalised to unit area.</summary>
public sealed record Spectrum(double[] WavenumberCm1, double[] Intensity)
{
    public double Spacing => WavenumberCm1.Length > 1 ? WavenumberCm1[1] - WavenumberCm1[0] : double.NaN;
}

/// <summary>
/// Velocity autocorrelation functions and their spectra (vibrational density of states): the
/// correlation by FFT over every time origin, the spectrum by the cosine transform of the
/// Hann-windowed, zero-padded correlation, peaks by parabolic interpolation between bins.
/// </summary>
public static class Spectra
{
    /// <summary>Speed of light in cm/fs: ν̃ (cm⁻¹) = f (1/fs) / this.</summary>
    public const double LightCmPerFs = 2.99792458e-5;

    /// <summary>
    /// Mean autocorrelation ⟨v(t₀)·v(t₀+k·Δt)⟩ over every time origin and every series, k = 0..maxLag:
    /// one FFT per series (zero-padded to at least twice its length, so it is not circular),
    /// each lag divided by its number of origins.
    /// </summary>
    /// <param name="series">series[s][t]: one velocity component of one atom at frame t (all the same length).</param>
    public static double[] Autocorrelation(IReadOnlyList<double[]> series, int maxLag)
    {
        if (series.Count == 0) throw new ArgumentException("no series to correlate");
        int n = series[0].Length;
        if (maxLag < 0 || maxLag >= n) throw new ArgumentOutOfRangeException(nameof(maxLag), $"lag {maxLag} needs more than {n} frames");
        int m = NextPowerOfTwo(2 * n);
        var sum = new double[maxLag + 1];
        var buffer = new Complex[m];
        foreach (var s in series)
        {
            if (s.Length != n) throw new ArgumentException("series differ in length");
            for (int t = 0; t < m; t++) buffer[t] = t < n ? new Complex(s[t], 0) : Complex.Zero;
            Fourier.Forward(buffer, FourierOptions.NoScaling);
            for (int k = 0; k < m; k++) { var z = buffer[k]; buffer[k] = new Complex(z.Real * z.Real + z.Imaginary * z.Imaginary, 0); }
            Fourier.Inverse(buffer, FourierOptions.NoScaling);
            for (int k = 0; k <= maxLag; k++) sum[k] += buffer[k].Real / m;
        }
        for (int k = 0; k <= maxLag; k++) sum[k] /= (double)series.Count * (n - k);
        return sum;
    }

    /// <summary>
    /// Spectrum of a correlation sampled every <paramref name="dtFs"/>: S(ν̃) = Σ_k w_k C_k cos(2π ν̃ c k Δt) over
    /// lags −L..L, with the one-sided Hann window w_k = ½(1 + cos(π k / L)) (no ringing from the cut at L)
    /// and zero padding to about 8× the lag range (fine bins for the peak interpolation). Returned from 0 up to
    /// <paramref name="maxCm1"/> (or the Nyquist wavenumber), normalised to unit area over 0..Nyquist.
    /// </summary>
    public static Spectrum FromCorrelation(ReadOnlySpan<double> correlation, double dtFs, double maxCm1 = 4500)
    {
        int lag = correlation.Length - 1;
        if (lag < 1) throw new ArgumentException("a spectrum needs at least two lags");
        if (!(dtFs > 0)) throw new ArgumentOutOfRangeException(nameof(dtFs), "time step must be positive");
        int m = NextPowerOfTwo(8 * lag);
        var buffer = new Complex[m];
        for (int k = 0; k <= lag; k++)
        {
            double w = 0.5 * (1 + Math.Cos(Math.PI * k / lag));
            buffer[k] = new Complex(w * correlation[k], 0);
            if (k > 0) buffer[m - k] = buffer[k]; // even in time, so the transform is real
        }
        Fourier.Forward(buffer, FourierOptions.NoScaling);
        double spacing = 1 / (m * dtFs * LightCmPerFs);
        int half = m / 2;
        double area = 0;
        for (int j = 0; j <= half; j++) area += buffer[j].Real * spacing;
        int count = Math.Min(half, (int)Math.Floor(maxCm1 / spacing)) + 1;
        var nu = new double[count];
        var s = new double[count];
        for (int j = 0; j < count; j++)
        {
            nu[j] = j * spacing;
            s[j] = area != 0 ? buffer[j].Real / area : 0;
        }
        return new Spectrum(nu, s);
    }

    /// <summary>Nyquist wavenumber (cm⁻¹) of samples every <paramref name="dtFs"/>.</summary>
    public static double NyquistCm1(double dtFs) => 1 / (2 * dtFs * LightCmPerFs);

    /// <summary>
    /// Highest point of the spectrum inside [lo, hi] cm⁻¹, refined by the parabola through it and its two
    /// neighbours; NaN when the highest point is on the window's edge (no peak inside) or the window is not covered.
    /// </summary>
    public static double Peak(Spectrum spectrum, double lo, double hi)
    {
        var x = spectrum.WavenumberCm1; var y = spectrum.Intensity;
        int best = -1;
        for (int j = 0; j < x.Length; j++)
            if (x[j] >= lo && x[j] <= hi && (best < 0 || y[j] > y[best])) best = j;
        if (best <= 0 || best >= x.Length - 1 || x[best - 1] < lo || x[best + 1] > hi) return double.NaN;
        double a = y[best - 1], b = y[best], c = y[best + 1];
        double curvature = a - 2 * b + c;
        double shift = curvature < 0 ? 0.5 * (a - c) / curvature : 0;
        return x[best] + shift * spectrum.Spacing;
    }

    private static int NextPowerOfTwo(int n)
    {
        int m = 1;
        while (m < n) m <<= 1;
        return m;
    }
}
