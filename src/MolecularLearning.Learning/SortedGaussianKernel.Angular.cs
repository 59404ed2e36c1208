using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace MolecularLearning.Learning;

/// <summary>
/// The angular sums (<see cref="InvariantSet"/>'s AngularPass) on <see cref="SortedGaussianKernel"/>'s decoded row:
/// I_(t,u,n,m,l) = Σ over neighbour pairs j (species t) and k (species u ≥ t) inside the angular cutoff of
/// h_n(r_j) h_m(r_k) P_l(cos θ_jk), h_n = g_n f_c (Gaussians g_n, f_c of the angular cutoff), and for t = u the pair
/// counted once with the weight symmetrised over (n, m), n ≤ m. Only the ~10 of ~90 entries closer than the angular
/// cutoff (3 Å in the accurate preset) count, so per agent they are packed out of the row once (<see cref="SortedGaussianKernel.PackBelow"/>),
/// species by species, each species padded to whole vectors with h = 0; then for each packed j the partners k run eight
/// at a time in <see cref="Vector512{T}"/> (padding lanes, and k = j, add exactly nothing).
/// </summary>
/// <remarks>
/// Values: t = u sums run over ordered pairs, Σ_{j≠k} h_n(r_j) h_m(r_k) P_l (n ≤ m), which is the generic path's
/// symmetrised sum over unordered pairs. Gradients: with λ = ∂L/∂I, the loss's angular part is a sum over ordered pairs
/// of F(j, k) = h(r_j)ᵀ M_l h(r_k) P_l(cos θ_jk) with M_l = λ of (t_j, t_k) arranged with j's index first (Λ for t_j &lt; t_k,
/// Λᵀ for t_j &gt; t_k, and for t_j = t_k the symmetric S with S_nn = 2λ_nn, S_nm = λ_min(n,m)max(n,m), the ½ of the
/// double count cancelled by F's symmetry), so ∂L/∂d_j = Σ_k ∂F(j, k)/∂d_j: each packed entry gathers its own
/// gradient from all its partners, no scatter to k. That gradient, (Σ_k a_jk u_k − Σ_k a_jk c_jk u_j)/r_j + s_j u_j with
/// a_jk = ∂F/∂cos θ and s_j = ∂F/∂r_j summed, goes into F_i, the virial and (conservative) the neighbour once per entry.
/// </remarks>
internal sealed class KernelAngular
{
    private const int W = 8;
    private readonly int _species, _na, _degree, _power;
    private readonly double _rc, _invRc2;
    private readonly double[] _centre, _invWidth; // of the Gaussians g_n
    private readonly int[] _pairBase;            // [t · T + u], t ≤ u: first invariant of the species pair, from the layout's first angular one
    private readonly int[] _sameIndex;           // [n · N + m], n ≤ m: radial pair index q of a same-species pair (−1: m < n)
    private readonly int _first, _count;         // the angular invariants [first, first + count)
    private readonly double[] _bonnetA, _bonnetB; // P_{l+1} = A_l x P_l − B_l P_{l−1}

    private KernelAngular(InvariantSet set)
    {
        _species = set.Species.Count;
        _na = set.AngularRadial.Length;
        _degree = set.Degree;
        _power = set.Options.CutoffPower;
        _rc = set.Options.AngularCutoff;
        _invRc2 = 1 / (_rc * _rc);
        _centre = [.. set.AngularRadial.Select(f => f.A)];
        _invWidth = [.. set.AngularRadial.Select(f => 1 / f.B)];
        _first = set.AngularOffset;
        _count = set.SortedAngleOffset - set.AngularOffset;
        _pairBase = new int[_species * _species];
        for (int t = 0; t < _species; t++)
            for (int u = t; u < _species; u++) _pairBase[t * _species + u] = set.AngularPairBase(t, u) - _first;
        _sameIndex = new int[_na * _na];
        for (int n = 0, q = 0; n < _na; n++)
            for (int m = 0; m < _na; m++) _sameIndex[n * _na + m] = m < n ? -1 : q++;
        _bonnetA = new double[_degree];
        _bonnetB = new double[_degree];
        for (int l = 1; l < _degree; l++) { _bonnetA[l] = (2.0 * l + 1) / (l + 1); _bonnetB[l] = (double)l / (l + 1); }
    }

    /// <summary>Whether the kernel computes this set's angular sums exactly: h_n must be Gaussians (no inverse powers).</summary>
    public static bool Computes(InvariantSet set) => set.Degree == 0 || set.AngularRadial.All(f => f.Kind == RadialKind.Gaussian);

    /// <summary>The angular sums of this set, or null when it has none.</summary>
    public static KernelAngular? Create(InvariantSet set) => set.Degree > 0 ? new KernelAngular(set) : null;

    /// <summary>
    /// Packs the entries inside the angular cutoff with their unit vectors, h_n and h_n', then sets the angular
    /// invariants. Needs r of every entry (after the radial pass).
    /// </summary>
    public void Values(KernelScratch s, Span<double> values)
    {
        var a = s.Angular;
        a.Ensure(s.R.Length + W * (_species + 1), _na, _degree, _count, _species);
        int packed = Pack(s, a);
        var acc = a.Sums.AsSpan(0, _count);
        acc.Clear();
        int cap = a.Capacity, na = _na, L = _degree;
        var p = a.P.AsSpan(0, L + 1);
        var dp = a.Dp.AsSpan(0, L + 1);
        var y = a.Y.AsSpan(0, L + 1);
        var hj = a.Hj.AsSpan(0, na);
        var lanes = Vector512.Create(0.0, 1, 2, 3, 4, 5, 6, 7);
        ref double h = ref MemoryMarshal.GetArrayDataReference(a.H);
        ref double ux = ref MemoryMarshal.GetArrayDataReference(a.Ux);
        ref double uy = ref MemoryMarshal.GetArrayDataReference(a.Uy);
        ref double uz = ref MemoryMarshal.GetArrayDataReference(a.Uz);
        // Every index below is within the angular invariants: the layout's sizes checked once here.
        if (a.Sums.Length < _count || a.H.Length < na * cap || a.Ux.Length < cap || (packed > cap - W)) throw new InvalidOperationException("kernel scratch too small");
        ref var sums = ref MemoryMarshal.GetArrayDataReference(a.Sums);
        if (packed > 0)
            for (int t = 0; t < _species; t++)
                for (int u = t; u < _species; u++)
                {
                    int k0 = a.Start[u], k1 = a.Start[u + 1];
                    if (k1 == k0) continue;
                    int pairBase = _pairBase[t * _species + u];
                    bool same = t == u;
                    for (int j = a.Start[t], jEnd = j + a.Count[t]; j < jEnd; j++)
                    {
                        double jx = a.Ux[j], jy = a.Uy[j], jz = a.Uz[j];
                        for (int n = 0; n < na; n++) hj[n] = a.H[n * cap + j];
                        for (int kb = k0; kb < k1; kb += W)
                        {
                            var c = Vector512.LoadUnsafe(ref ux, (nuint)kb) * jx + Vector512.LoadUnsafe(ref uy, (nuint)kb) * jy + Vector512.LoadUnsafe(ref uz, (nuint)kb) * jz;
                            Legendre(c, p, dp);
                            // k = j (same species): that lane's h_k is dropped.
                            var self = same ? Vector512.Equals(lanes, Vector512.Create((double)(j - kb))) : Vector512<double>.Zero;
                            for (int m = 0; m < na; m++)
                            {
                                var hk = Vector512.AndNot(Vector512.LoadUnsafe(ref h, (nuint)(m * cap + kb)), self);
                                for (int l = 1; l <= L; l++) y[l] = hk * p[l];
                                // Radial pairs (n, m), n ≤ m for one species: q = n N + m, or the triangle's index.
                                for (int n = 0, nEnd = same ? m : na - 1; n <= nEnd; n++)
                                {
                                    int q = same ? _sameIndex[n * na + m] : n * na + m;
                                    var hjn = Vector512.Create(hj[n]);
                                    ref var o = ref Unsafe.Add(ref sums, pairBase + q * L - 1);
                                    for (int l = 1; l <= L; l++) Unsafe.Add(ref o, l) = Vector512.FusedMultiplyAdd(hjn, y[l], Unsafe.Add(ref o, l));
                                }
                            }
                        }
                    }
                }
        for (int q = 0; q < _count; q++) values[_first + q] = Vector512.Sum(acc[q]);
    }

    /// <summary>
    /// ∂L/∂d_j of the angular sums for every packed entry j, into F_i, the virial and (conservative) the neighbours.
    /// After <see cref="Values"/> and the loss.
    /// </summary>
    public void Gradient(KernelScratch s, double[] forces, bool conservative, ref double fx, ref double fy, ref double fz)
    {
        var a = s.Angular;
        if (a.Start[_species] == 0) return;
        int na = _na, L = _degree, T = _species, cap = a.Capacity, block = L * na * na;
        var lambda = s.Lambda;
        // M_l of every ordered species pair: [((t · T + u) · L + l − 1) · N² + n · N + m].
        var mat = a.M;
        for (int t = 0; t < T; t++)
            for (int u = 0; u < T; u++)
            {
                int lo = Math.Min(t, u), hi = Math.Max(t, u), pairBase = _first + _pairBase[lo * T + hi];
                for (int l = 1; l <= L; l++)
                    for (int n = 0; n < na; n++)
                        for (int m = 0; m < na; m++)
                        {
                            double v;
                            if (t == u) v = (n == m ? 2 : 1) * lambda[pairBase + _sameIndex[Math.Min(n, m) * na + Math.Max(n, m)] * L + l - 1];
                            else if (t < u) v = lambda[pairBase + (n * na + m) * L + l - 1];
                            else v = lambda[pairBase + (m * na + n) * L + l - 1];
                            mat[(t * T + u) * block + (l - 1) * na * na + n * na + m] = v;
                        }
            }
        // z_(t,l,n)(k) = Σ_m M_l[n][m] of (t, t_k) h_m(r_k), eight k at a time: then for an entry j of species t,
        // F(j, k) / P_l = Σ_n h_n(r_j) z_(t,l,n)(k) and ∂_r_j of it Σ_n h_n'(r_j) z_(t,l,n)(k).
        int packed = a.Start[T];
        if (a.Z.Length < T * L * na * cap || a.H.Length < na * cap || packed > cap - W) throw new InvalidOperationException("kernel scratch too small");
        ref double h = ref MemoryMarshal.GetArrayDataReference(a.H);
        ref double z = ref MemoryMarshal.GetArrayDataReference(a.Z);
        for (int t = 0; t < T; t++)
            for (int u = 0; u < T; u++)
            {
                var mu = mat.AsSpan((t * T + u) * block, block);
                for (int kb = a.Start[u]; kb < a.Start[u + 1]; kb += W)
                    for (int l = 0; l < L; l++)
                        for (int n = 0; n < na; n++)
                        {
                            var sum = Vector512<double>.Zero;
                            for (int m = 0; m < na; m++) sum += Vector512.LoadUnsafe(ref h, (nuint)(m * cap + kb)) * mu[(l * na + n) * na + m];
                            sum.StoreUnsafe(ref z, (nuint)(((t * L + l) * na + n) * cap + kb));
                        }
            }
        var p = a.P.AsSpan(0, L + 1);
        var dp = a.Dp.AsSpan(0, L + 1);
        var lanes = Vector512.Create(0.0, 1, 2, 3, 4, 5, 6, 7);
        ref double ux = ref MemoryMarshal.GetArrayDataReference(a.Ux);
        ref double uy = ref MemoryMarshal.GetArrayDataReference(a.Uy);
        ref double uz = ref MemoryMarshal.GetArrayDataReference(a.Uz);
        var hj = a.Hj.AsSpan(0, na); var dhj = a.Dhj.AsSpan(0, na);
        for (int t = 0; t < T; t++)
            for (int j = a.Start[t], jEnd = j + a.Count[t]; j < jEnd; j++)
            {
                double jx = a.Ux[j], jy = a.Uy[j], jz = a.Uz[j];
                for (int n = 0; n < na; n++) { hj[n] = a.H[n * cap + j]; dhj[n] = a.Dh[n * cap + j]; }
                var slope = Vector512<double>.Zero; var ax = slope; var ay = slope; var az = slope; var bc = slope;
                ref double zt = ref Unsafe.Add(ref z, t * L * na * cap);
                for (int kb = 0; kb < packed; kb += W) // every partner k, all species
                {
                    var kx = Vector512.LoadUnsafe(ref ux, (nuint)kb);
                    var ky = Vector512.LoadUnsafe(ref uy, (nuint)kb);
                    var kz = Vector512.LoadUnsafe(ref uz, (nuint)kb);
                    var c = kx * jx + ky * jy + kz * jz;
                    Legendre(c, p, dp);
                    var ac = Vector512<double>.Zero; var sl = ac;
                    for (int l = 0; l < L; l++)
                    {
                        var e = Vector512<double>.Zero; var d = e;
                        for (int n = 0; n < na; n++)
                        {
                            var zn = Vector512.LoadUnsafe(ref zt, (nuint)((l * na + n) * cap + kb));
                            e += zn * hj[n];
                            d += zn * dhj[n];
                        }
                        ac += e * dp[l + 1];
                        sl += d * p[l + 1];
                    }
                    if (j - kb < W && j >= kb)
                    {
                        // k = j: no pair.
                        var self = Vector512.Equals(lanes, Vector512.Create((double)(j - kb)));
                        ac = Vector512.AndNot(ac, self);
                        sl = Vector512.AndNot(sl, self);
                    }
                    slope += sl;
                    ax += ac * kx; ay += ac * ky; az += ac * kz;
                    bc += ac * c;
                }
                double sA = Vector512.Sum(slope), b = Vector512.Sum(bc), inv = 1 / a.R[j];
                double gx = (Vector512.Sum(ax) - b * jx) * inv + sA * jx;
                double gy = (Vector512.Sum(ay) - b * jy) * inv + sA * jy;
                double gz = (Vector512.Sum(az) - b * jz) * inv + sA * jz;
                SortedGaussianKernel.EntryForce(s, (int)a.Entry[j], gx, gy, gz, forces, conservative, ref fx, ref fy, ref fz);
            }
    }

    /// <summary>
    /// The entries closer than the angular cutoff, species by species (species t from Start[t], Count[t] real, padded to
    /// whole vectors with r = r_c, h = 0, u = 0), with u = d/r, h_n = g_n f_c and h_n'. Returns the packed total.
    /// </summary>
    private int Pack(KernelScratch s, AngularScratch a)
    {
        ref double rs = ref MemoryMarshal.GetArrayDataReference(s.R);
        ref double pr = ref MemoryMarshal.GetArrayDataReference(a.R);
        ref long pe = ref MemoryMarshal.GetArrayDataReference(a.Entry);
        int c = 0;
        for (int t = 0; t < _species; t++)
        {
            a.Start[t] = c;
            int e0 = s.GroupBase[t], end = e0 + s.GroupCount[t];
            if (a.R.Length < c + (end - e0) + 2 * W || s.R.Length < e0 + (end - e0 + W - 1) / W * W) throw new InvalidOperationException("kernel scratch too small");
            int m = SortedGaussianKernel.PackBelow(ref rs, e0, end, _rc, ref pr, ref pe, c);
            a.Count[t] = m - c;
            int padded = c + (m - c + W - 1) / W * W;
            for (int q = c; q < padded; q++)
            {
                if (q >= m) { a.R[q] = _rc; a.Entry[q] = -1; a.Ux[q] = a.Uy[q] = a.Uz[q] = 0; continue; }
                int e = (int)a.Entry[q];
                double inv = 1 / a.R[q];
                a.Ux[q] = s.Dx[e] * inv; a.Uy[q] = s.Dy[e] * inv; a.Uz[q] = s.Dz[e] * inv;
            }
            c = padded;
        }
        a.Start[_species] = c;
        int cap = a.Capacity;
        ref double h = ref MemoryMarshal.GetArrayDataReference(a.H);
        ref double dh = ref MemoryMarshal.GetArrayDataReference(a.Dh);
        if (a.H.Length < _na * cap) throw new InvalidOperationException("kernel scratch too small");
        for (int b = 0; b < c; b += W)
        {
            // h_n = g_n f_c with RadialBasisFunction.Value's Gaussian g = exp(−x²/2), x = (r − μ)/w, g' = −g x/w, exact to rounding.
            var r = Vector512.LoadUnsafe(ref pr, (nuint)b);
            var fc = SortedGaussianKernel.Cutoff(r, r * r, _rc, _invRc2, _power, out var dfc);
            for (int n = 0; n < _na; n++)
            {
                var iw = Vector512.Create(_invWidth[n]);
                var x = (r - Vector512.Create(_centre[n])) * iw;
                var g = SortedGaussianKernel.Exp(x * x * -0.5);
                var dg = -g * x * iw;
                (g * fc).StoreUnsafe(ref h, (nuint)(n * cap + b));
                (dg * fc + g * dfc).StoreUnsafe(ref dh, (nuint)(n * cap + b));
            }
        }
        return c;
    }

    /// <summary>P_l(x) and dP_l/dx, l = 0..L, for eight cosines: <see cref="InvariantSet.Legendre"/>'s recursion with the divisions folded into constants.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Legendre(Vector512<double> x, Span<Vector512<double>> p, Span<Vector512<double>> dp)
    {
        p[0] = Vector512<double>.One; dp[0] = Vector512<double>.Zero;
        p[1] = x; dp[1] = Vector512<double>.One;
        for (int l = 1; l + 1 < p.Length; l++)
        {
            p[l + 1] = x * p[l] * _bonnetA[l] - p[l - 1] * _bonnetB[l];
            dp[l + 1] = dp[l - 1] + p[l] * (2.0 * l + 1);
        }
    }
}

/// <summary>Per-chunk storage of <see cref="KernelAngular"/>; grows, never shrinks.</summary>
internal sealed class AngularScratch
{
    /// <summary>Slots of the packed arrays (the stride of <see cref="H"/> and <see cref="Dh"/>).</summary>
    public int Capacity;
    /// <summary>Per packed entry: r, the row entry (−1: padding), unit vector; h_n and h_n' at [n · Capacity + q].</summary>
    public double[] R = [], Ux = [], Uy = [], Uz = [], H = [], Dh = [];
    public long[] Entry = [];
    /// <summary>Per species: first packed slot (and the total at [T]), real entries.</summary>
    public int[] Start = [], Count = [];
    /// <summary>Per angular invariant: its sum lane by lane.</summary>
    public Vector512<double>[] Sums = [];
    /// <summary>P_l and dP_l/dx of eight cosines, l ≤ 8.</summary>
    public readonly Vector512<double>[] P = new Vector512<double>[9], Dp = new Vector512<double>[9];
    /// <summary>The gradient's matrices M_l per ordered species pair, and z_(t,l,n) of every packed entry at [((t · L + l) · N + n) · Capacity + k].</summary>
    public double[] M = [], Z = [];
    /// <summary>h_n and h_n' of one entry; h_m(r_k) P_l(cos θ) of one block.</summary>
    public double[] Hj = [], Dhj = [];
    public readonly Vector512<double>[] Y = new Vector512<double>[9];

    public void Ensure(int capacity, int na, int degree, int invariants, int species)
    {
        if (Capacity < capacity || H.Length < na * Capacity)
        {
            if (Capacity < capacity) Capacity = Math.Max((capacity + capacity / 4 + 7) / 8 * 8, 2 * Capacity); // headroom, as KernelScratch
            R = new double[Capacity]; Ux = new double[Capacity]; Uy = new double[Capacity]; Uz = new double[Capacity];
            Entry = new long[Capacity];
            H = new double[na * Capacity]; Dh = new double[na * Capacity];
        }
        if (Sums.Length < invariants) Sums = new Vector512<double>[invariants];
        if (Start.Length < species + 1) { Start = new int[species + 1]; Count = new int[species]; }
        if (M.Length < species * species * degree * na * na) M = new double[species * species * degree * na * na];
        if (Z.Length < species * degree * na * Capacity) Z = new double[species * degree * na * Capacity];
        if (Hj.Length < na) { Hj = new double[na]; Dhj = new double[na]; }
    }
}
