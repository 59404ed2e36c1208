using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MolecularLearning.Learning;

/// <summary>
/// The radial sums (<see cref="RadialSums"/>) on the kernel's decoded row: the exp(δ x) ladder of evenly spaced Gaussians
/// (<see cref="RadialSums.Ladder"/>) for the values, and the radial gradient pass every family's ∂L/∂r (sorted slots, shells, pair walls) goes through.
/// </summary>
internal sealed partial class SortedGaussianKernel<V>
{
    // From RadialSums (set in the constructor): N, the ladder (μ_0, 1/w, δ) and its factors, f_c, the sums' first invariant.
    private readonly int _nr;
    private readonly double _mu0, _invWidth, _delta;
    private readonly double[] _ladderFactor;                     // c_n = exp(−n²δ²/2): g_n = exp(−x_0²/2) · exp(δ x_0)^n · c_n
    private readonly double _rcRadial, _invRcRadial2;
    private readonly int _cutoffPower;                           // P of f_c = (1 − r²/r_c²)^P
    private readonly int _radialOffset;

    /// <summary>r, the radial sums Σ_e φ_n(r_e) per neighbour species, and per entry what <see cref="RadialGradient"/> needs for φ_n'.</summary>
    /// <remarks>
    /// With x_n = x_0 − nδ, g_n = exp(−x_0²/2) · exp(δ x_0)^n · c_n, c_n = exp(−n²δ²/2) a constant: the ladder runs on
    /// p_n = f_c exp(−x_0²/2) exp(δ x_0)^n (one multiplication and one addition per Gaussian and entry) and c_n scales
    /// each species' sum once. φ_n' is not stored: the gradient pass rebuilds Σ_n λ_n φ_n' as two polynomials in exp(δ x_0).
    /// </remarks>
    [MethodImpl(MethodImplOptions.NoInlining)] // a frame of its own in profiles; called once per agent
    private void RadialValues(KernelScratch s, int blocks, Span<double> values)
    {
        int nr = _nr;
        ref double r2s = ref MemoryMarshal.GetArrayDataReference(s.R2);
        ref double rs = ref MemoryMarshal.GetArrayDataReference(s.R);
        if (nr == 0)
        {
            for (int b = 0; b < blocks; b++) V.Sqrt(V.LoadUnsafe(ref r2s, (nuint)(b * W))).StoreUnsafe(ref rs, (nuint)(b * W));
            return;
        }
        var acc = s.LadderSums;
        if (acc.Length < nr * W || s.Gauss0.Length < blocks * W || s.Ladder0.Length < blocks * W) throw new InvalidOperationException("kernel scratch too small");
        ref V ac = ref Unsafe.As<double, V>(ref MemoryMarshal.GetArrayDataReference(acc));
        ref double gs = ref MemoryMarshal.GetArrayDataReference(s.Gauss0);
        ref double exs = ref MemoryMarshal.GetArrayDataReference(s.GaussStep);
        ref double hs = ref MemoryMarshal.GetArrayDataReference(s.H);
        ref double dhs = ref MemoryMarshal.GetArrayDataReference(s.Dh);
        ref double ps = ref MemoryMarshal.GetArrayDataReference(s.Ladder0);
        // The exponentials of every block first, the ladders after: fused, the two exps and the ladder's sums outgrew
        // the 16 vector registers of AVX2 and SSE (spills every block) and the JIT's inlining budget (calls per operator).
        for (int b = 0; b < blocks; b++)
        {
            nuint e = (nuint)(b * W);
            RadialBlock(ref r2s, ref rs, ref hs, ref dhs, ref gs, ref exs, e, out _).StoreUnsafe(ref ps, e);
        }
        for (int t = 0; t < _species; t++)
        {
            int b0 = s.GroupBase[t] / W, b1 = b0 + (s.GroupCount[t] + W - 1) / W;
            if (nr == 10)
            {
                // The default's ten Gaussians: the ten sums stay in registers (an array of sums costs ~3 % here).
                var a0 = V.Zero; var a1 = a0; var a2 = a0; var a3 = a0; var a4 = a0;
                var a5 = a0; var a6 = a0; var a7 = a0; var a8 = a0; var a9 = a0;
                for (int b = b0; b < b1; b++)
                {
                    var p = V.LoadUnsafe(ref ps, (nuint)(b * W));
                    var ex = V.LoadUnsafe(ref exs, (nuint)(b * W));
                    // Even and odd n as two chains stepping by exp(δ x_0)², against the multiplication latency.
                    var q = p * ex;
                    var ex2 = ex * ex;
                    a0 += p; a1 += q; p *= ex2; q *= ex2;
                    a2 += p; a3 += q; p *= ex2; q *= ex2;
                    a4 += p; a5 += q; p *= ex2; q *= ex2;
                    a6 += p; a7 += q; p *= ex2; q *= ex2;
                    a8 += p; a9 += q;
                }
                ac = a0; Unsafe.Add(ref ac, 1) = a1; Unsafe.Add(ref ac, 2) = a2; Unsafe.Add(ref ac, 3) = a3; Unsafe.Add(ref ac, 4) = a4;
                Unsafe.Add(ref ac, 5) = a5; Unsafe.Add(ref ac, 6) = a6; Unsafe.Add(ref ac, 7) = a7; Unsafe.Add(ref ac, 8) = a8; Unsafe.Add(ref ac, 9) = a9;
            }
            else
            {
                acc.AsSpan(0, nr * W).Clear();
                for (int b = b0; b < b1; b++)
                {
                    var p = V.LoadUnsafe(ref ps, (nuint)(b * W));
                    var ex = V.LoadUnsafe(ref exs, (nuint)(b * W));
                    ac += p;
                    var q = p * ex;
                    var ex2 = ex * ex;
                    int n = 1;
                    for (; n + 1 < nr; n += 2)
                    {
                        Unsafe.Add(ref ac, n) += q;
                        p *= ex2;
                        Unsafe.Add(ref ac, n + 1) += p;
                        q *= ex2;
                    }
                    if (n < nr) Unsafe.Add(ref ac, n) += q;
                }
            }
            for (int n = 0; n < nr; n++) values[_radialOffset + t * nr + n] = _ladderFactor[n] * V.Sum(Unsafe.Add(ref ac, n));
        }
    }

    /// <summary>
    /// One vector of entries: r, and for the gradient exp(−x_0²/2), exp(δ x_0), h_0 and Δh; returns the ladder's
    /// first term p_0 = f_c exp(−x_0²/2), with exp(δ x_0) (its step) in <paramref name="ex"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private V RadialBlock(ref double r2s, ref double rs, ref double hs, ref double dhs, ref double gs, ref double exs, nuint e, out V ex)
    {
        var iw = V.Create(_invWidth);
        var r2 = V.LoadUnsafe(ref r2s, e);
        var r = V.Sqrt(r2);
        r.StoreUnsafe(ref rs, e);
        var x0 = (r - V.Create(_mu0)) * iw;
        var fc = Simd.Cutoff(r, r2, _rcRadial, _invRcRadial2, _cutoffPower, out var dfc);
        // φ_n' = g_n (f_c' − f_c x_n / w) = g_n (h_0 + n Δh), h_0 = f_c' − f_c x_0 / w, Δh = δ f_c / w.
        var fciw = fc * iw;
        var delta = V.Create(_delta);
        (dfc - fciw * x0).StoreUnsafe(ref hs, e);
        (fciw * delta).StoreUnsafe(ref dhs, e);
        V g;
        if (_mixed) Simd.ExpMixed(x0 * x0 * -0.5, x0 * delta, out g, out ex);
        else { g = Simd.Exp(x0 * x0 * -0.5); ex = Simd.Exp(x0 * delta); }
        g.StoreUnsafe(ref gs, e);
        ex.StoreUnsafe(ref exs, e);
        return g * fc;
    }

    /// <summary>
    /// Per entry of species t the radial slope s_e = ∂L/∂r_e (radial sums via φ', sorted slots, pair wall), then
    /// G_e = s_e d_e / r_e into F_i and the virial, a vector of entries at a time. Returns the pair-wall energy.
    /// </summary>
    private double RadialGradient(KernelScratch s, int ti, int t, ref double fx, ref double fy, ref double fz, bool conservative)
    {
        int nr = _nr;
        int b0 = s.GroupBase[t] / W, b1 = b0 + (s.GroupCount[t] + W - 1) / W;
        if (b1 == b0) return 0;
        ref double rs = ref MemoryMarshal.GetArrayDataReference(s.R);
        ref double sortedSlope = ref MemoryMarshal.GetArrayDataReference(s.SortedSlope);
        ref double dxs = ref MemoryMarshal.GetArrayDataReference(s.Dx);
        ref double dys = ref MemoryMarshal.GetArrayDataReference(s.Dy);
        ref double dzs = ref MemoryMarshal.GetArrayDataReference(s.Dz);
        ref double slopeOverR = ref MemoryMarshal.GetArrayDataReference(s.SlopeOverR);
        ref double gs = ref MemoryMarshal.GetArrayDataReference(s.Gauss0);
        ref double exs = ref MemoryMarshal.GetArrayDataReference(s.GaussStep);
        ref double hs = ref MemoryMarshal.GetArrayDataReference(s.H);
        ref double dhs = ref MemoryMarshal.GetArrayDataReference(s.Dh);
        int pairs = (nr + 1) / 2; // coefficients in (even, odd) pairs, the last odd one zero when N is odd
        if (s.Lambda.Length < _radialOffset + (t + 1) * nr || s.Gauss0.Length < b1 * W || s.SlopeCoefficients.Length < 4 * pairs) throw new InvalidOperationException("kernel scratch too small");
        // Σ_n λ_n φ_n' = g_0 (h_0 A + Δh B), A = Σ_n λ_n c_n e^n, B = Σ_n n λ_n c_n e^n (e = exp(δ x_0)): the coefficients.
        var coefficients = s.SlopeCoefficients;
        for (int n = 0; n < 2 * pairs; n++)
        {
            double l = n < nr ? s.Lambda[_radialOffset + t * nr + n] * _ladderFactor[n] : 0;
            coefficients[2 * n] = l; coefficients[2 * n + 1] = n * l;
        }
        ref double lc = ref MemoryMarshal.GetArrayDataReference(coefficients);
        int speciesPair = ti * _species + t;
        double wallK = _wallStrength[speciesPair];
        var rmin = V.Create(_wallRMin[speciesPair]);
        var vfx = V.Zero; var vfy = vfx; var vfz = vfx; var wall = vfx;
        if (s.RadialVirial.Length < 6 * W) throw new InvalidOperationException("kernel scratch too small");
        ref V rw = ref Unsafe.As<double, V>(ref MemoryMarshal.GetArrayDataReference(s.RadialVirial));
        var wxx = rw; var wyy = Unsafe.Add(ref rw, 1); var wzz = Unsafe.Add(ref rw, 2); var wxy = Unsafe.Add(ref rw, 3); var wxz = Unsafe.Add(ref rw, 4); var wyz = Unsafe.Add(ref rw, 5);
        for (int b = b0; b < b1; b++)
        {
            nuint e = (nuint)(b * W);
            var r = V.LoadUnsafe(ref rs, e);
            var slope = V.LoadUnsafe(ref sortedSlope, e);
            if (pairs > 0) // no Gaussians (a sorted-only basis): nothing radial to add
            {
                // The two polynomials by Horner, each split into even and odd powers: four chains in e² against the FMA latency.
                var ex = V.LoadUnsafe(ref exs, e);
                var ex2 = ex * ex;
                ref double top = ref Unsafe.Add(ref lc, 4 * (pairs - 1));
                var ae = V.Create(top); var be = V.Create(Unsafe.Add(ref top, 1));
                var ao = V.Create(Unsafe.Add(ref top, 2)); var bo = V.Create(Unsafe.Add(ref top, 3));
                for (int m = pairs - 2; m >= 0; m--)
                {
                    ref double c = ref Unsafe.Add(ref lc, 4 * m);
                    ae = V.FusedMultiplyAdd(ae, ex2, V.Create(c));
                    be = V.FusedMultiplyAdd(be, ex2, V.Create(Unsafe.Add(ref c, 1)));
                    ao = V.FusedMultiplyAdd(ao, ex2, V.Create(Unsafe.Add(ref c, 2)));
                    bo = V.FusedMultiplyAdd(bo, ex2, V.Create(Unsafe.Add(ref c, 3)));
                }
                var pa = V.FusedMultiplyAdd(ao, ex, ae);
                var pb = V.FusedMultiplyAdd(bo, ex, be);
                var ladder = V.FusedMultiplyAdd(V.LoadUnsafe(ref hs, e), pa, V.LoadUnsafe(ref dhs, e) * pb);
                slope = V.FusedMultiplyAdd(V.LoadUnsafe(ref gs, e), ladder, slope);
            }
            if (wallK != 0)
            {
                // The fixed wall k (r_min − r)³ under the loss.
                var gap = V.Max(V.Zero, rmin - r);
                var kg2 = gap * gap * wallK;
                wall += kg2 * gap;
                slope -= kg2 * 3.0;
            }
            var coef = slope / r;
            var dx = V.LoadUnsafe(ref dxs, e);
            var dy = V.LoadUnsafe(ref dys, e);
            var dz = V.LoadUnsafe(ref dzs, e);
            var gx = coef * dx; var gy = coef * dy; var gz = coef * dz;
            vfx += gx; vfy += gy; vfz += gz;
            wxx -= gx * dx; wyy -= gy * dy; wzz -= gz * dz;
            wxy -= gx * dy; wxz -= gx * dz; wyz -= gy * dz;
            if (conservative) coef.StoreUnsafe(ref slopeOverR, e);
        }
        rw = wxx; Unsafe.Add(ref rw, 1) = wyy; Unsafe.Add(ref rw, 2) = wzz; Unsafe.Add(ref rw, 3) = wxy; Unsafe.Add(ref rw, 4) = wxz; Unsafe.Add(ref rw, 5) = wyz;
        fx += V.Sum(vfx); fy += V.Sum(vfy); fz += V.Sum(vfz);
        return V.Sum(wall);
    }
}
