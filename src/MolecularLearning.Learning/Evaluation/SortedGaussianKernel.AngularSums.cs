using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MolecularLearning.Learning;

/// <summary>
/// The angular sums (<see cref="AngularSums"/>, whose Reference pass this matches) on <see cref="SortedGaussianKernel"/>'s decoded row:
/// I_(t,u,n,m,l) = Σ over neighbour pairs j (species t) and k (species u ≥ t) inside the angular cutoff of
/// h_n(r_j) h_m(r_k) P_l(cos θ_jk), h_n = g_n f_c (Gaussians g_n, f_c of the angular cutoff), and for t = u the pair
/// counted once with the weight symmetrised over (n, m), n ≤ m. Only the ~9 of ~90 entries closer than the angular
/// cutoff (3 Å in the accurate preset) count, so per agent they are packed out of the row once (<see cref="SortedGaussianKernel.PackBelow"/>),
/// species by species, each species padded to whole vectors with h = 0; then the pair sums run a vector of pairs at a time
/// (<see cref="ISimd{V}"/>): the values one j against a vector of k, the gradient a vector of j against one k (padding lanes, and
/// k = j, add exactly nothing).
/// </summary>
/// <remarks>
/// Values: t = u sums run over ordered pairs, Σ_{j≠k} h_n(r_j) h_m(r_k) P_l (n ≤ m), which is the generic path's
/// symmetrised sum over unordered pairs. Gradients: with λ = ∂L/∂I, the loss's angular part is a sum over ordered pairs
/// of F(j, k) = h(r_j)ᵀ M_l h(r_k) P_l(cos θ_jk) with M_l = λ of (t_j, t_k) arranged with j's index first (Λ for t_j &lt; t_k,
/// Λᵀ for t_j &gt; t_k, and for t_j = t_k the symmetric S with S_nn = 2λ_nn, S_nm = λ_min(n,m)max(n,m), the ½ of the
/// double count cancelled by F's symmetry), so ∂L/∂d_j = Σ_k ∂F(j, k)/∂d_j: each packed entry gathers its own
/// gradient from all its partners, no scatter to k. That gradient, (Σ_k a_jk u_k − Σ_k a_jk c_jk u_j)/r_j + s_j u_j with
/// a_jk = ∂F/∂cos θ and s_j = ∂F/∂r_j summed, goes into F_i and the virial lane by lane and (conservative) into the
/// neighbour once per entry. The same pass gives λ · I = ½ Σ_jk F(j, k), so when λ does not depend on the sums (a linear
/// family without range walls) they are not computed at all.
/// </remarks>
internal sealed class KernelAngular<V> where V : struct, ISimd<V>
{
    private static int W { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => V.Count; }
    private readonly int _species, _na, _degree, _power;
    private readonly double _rc, _invRc2;
    private readonly double[] _centre, _invWidth; // of the Gaussians g_n
    private readonly int[] _pairBase;            // [t · T + u], t ≤ u: first invariant of the species pair, from the layout's first angular one
    private readonly int[] _sameIndex;           // [n · N + m], n ≤ m: radial pair index q of a same-species pair (−1: m < n)
    private readonly int _first, _count;         // the angular invariants [first, first + count)
    private readonly double[] _bonnetA, _bonnetB; // P_{l+1} = A_l x P_l − B_l P_{l−1}
    private readonly bool _mixed;                // the Gaussians' exp in single precision (--precision mixed)

    private KernelAngular(AngularSums family, int species, bool mixed)
    {
        _mixed = mixed;
        _species = species;
        _na = family.Functions.Length;
        _degree = family.Degree;
        _power = family.CutoffPower;
        _rc = family.Radius;
        _invRc2 = 1 / (_rc * _rc);
        _centre = [.. family.Functions.Select(f => f.A)];
        _invWidth = [.. family.Functions.Select(f => 1 / f.B)];
        _first = family.Offset;
        _count = family.Count;
        _pairBase = new int[_species * _species];
        for (int t = 0; t < _species; t++)
            for (int u = t; u < _species; u++) _pairBase[t * _species + u] = family.PairBase(t, u) - _first;
        _sameIndex = new int[_na * _na];
        for (int n = 0, q = 0; n < _na; n++)
            for (int m = 0; m < _na; m++) _sameIndex[n * _na + m] = m < n ? -1 : q++;
        (_bonnetA, _bonnetB) = SortedGaussianKernel.BonnetConstants(_degree);
        // M_l[n][m] of every ordered species pair (t, u) = factor × λ[index]: Λ for t < u, Λᵀ for t > u, S for t = u.
        int na = _na, T = _species, L = _degree;
        _mIndex = new int[T * T * L * na * na];
        _mFactor = new double[_mIndex.Length];
        for (int t = 0, i = 0; t < T; t++)
            for (int u = 0; u < T; u++)
            {
                int pairBase = family.PairBase(Math.Min(t, u), Math.Max(t, u));
                for (int l = 1; l <= L; l++)
                    for (int n = 0; n < na; n++)
                        for (int m = 0; m < na; m++, i++)
                        {
                            int q = t == u ? _sameIndex[Math.Min(n, m) * na + Math.Max(n, m)] : t < u ? n * na + m : m * na + n;
                            _mIndex[i] = pairBase + q * L + l - 1;
                            _mFactor[i] = t == u && n == m ? 2 : 1;
                        }
            }
    }

    private readonly int[] _mIndex;    // [((t · T + u) · L + l − 1) · N² + n · N + m]: the λ of M_l[n][m] of species pair (t, u)
    private readonly double[] _mFactor; // and its factor (2 on the diagonal of a same-species pair)

    /// <summary>Whether the kernel computes this set's angular sums exactly: h_n must be Gaussians (no inverse powers).</summary>
    public static bool Computes(AngularSums family) => family.Degree == 0 || family.Functions.All(f => f.Kind == RadialKind.Gaussian);

    /// <summary>The angular sums of this set, or null when it has none.</summary>
    public static KernelAngular<V>? Create(AngularSums family, int species, bool mixed = false) => family.Degree > 0 ? new KernelAngular<V>(family, species, mixed) : null;

    /// <summary>
    /// Packs the entries inside the angular cutoff with their unit vectors, h_n and h_n', then sets the angular
    /// invariants, or zeroes them when <paramref name="compute"/> is false (the loss does not need them: see
    /// <see cref="SortedGaussianKernel"/>'s linear angular family). Needs r of every entry (after the radial pass).
    /// </summary>
    public void Values(KernelScratch s, Span<double> values, bool compute)
    {
        var a = s.Angular;
        a.Ensure(s.R.Length + W * (_species + 1), _na, _degree, _count, _species);
        int packed = Pack(s, a);
        if (!compute) { values.Slice(_first, _count).Clear(); return; }
        a.Sums.AsSpan(0, _count * W).Clear();
        int cap = a.Capacity, na = _na, L = _degree;
        int[] start = a.Start, count = a.Count;
        double[] uxs = a.Ux, uys = a.Uy, uzs = a.Uz;
        var lanes = V.Lanes;
        // Every index below is within the angular invariants and the packed arrays: sizes checked once here.
        if (a.Sums.Length < _count * W || a.H.Length < na * cap || uxs.Length < cap || uys.Length < cap || uzs.Length < cap
            || packed > cap - W || a.WeightedLegendre.Length < na * L * W) throw new InvalidOperationException("kernel scratch too small");
        ref double h = ref MemoryMarshal.GetArrayDataReference(a.H);
        ref double ux = ref MemoryMarshal.GetArrayDataReference(uxs);
        ref double uy = ref MemoryMarshal.GetArrayDataReference(uys);
        ref double uz = ref MemoryMarshal.GetArrayDataReference(uzs);
        ref V sums = ref Unsafe.As<double, V>(ref MemoryMarshal.GetArrayDataReference(a.Sums));
        ref V wl = ref Unsafe.As<double, V>(ref MemoryMarshal.GetArrayDataReference(a.WeightedLegendre));
        ref double bonnetA = ref MemoryMarshal.GetArrayDataReference(_bonnetA);
        ref double bonnetB = ref MemoryMarshal.GetArrayDataReference(_bonnetB);
        if (packed > 0)
            for (int t = 0; t < _species; t++)
                for (int u = t; u < _species; u++)
                {
                    int pairBase = _pairBase[t * _species + u], j0 = start[t], j1 = j0 + count[t];
                    bool same = t == u;
                    for (int kb = start[u]; kb < start[u + 1]; kb += W)
                    {
                        // w_(n,l) = Σ_j h_n(r_j) P_l(cos θ_jk) for eight k at [n · L + l − 1], then I_(n,m,l) += w_(n,l) h_m(r_k).
                        a.WeightedLegendre.AsSpan(0, na * L * W).Clear();
                        var kx = V.LoadUnsafe(ref ux, (nuint)kb);
                        var ky = V.LoadUnsafe(ref uy, (nuint)kb);
                        var kz = V.LoadUnsafe(ref uz, (nuint)kb);
                        for (int j = j0; j < j1; j++)
                        {
                            var c = V.FusedMultiplyAdd(kx, V.Create(uxs[j]), V.FusedMultiplyAdd(ky, V.Create(uys[j]), kz * uzs[j]));
                            // k = j: no pair (that lane's P_l dropped).
                            var keep = j - kb < W && j >= kb ? ~V.Equal(lanes, V.Create((double)(j - kb))) : V.AllBitsSet;
                            var p0 = V.One; var p1 = c;
                            for (int l = 1; l <= L; l++)
                            {
                                if (l > 1)
                                {
                                    var p2 = c * p1 * Unsafe.Add(ref bonnetA, l - 1) - p0 * Unsafe.Add(ref bonnetB, l - 1);
                                    p0 = p1; p1 = p2;
                                }
                                var pl = p1 & keep;
                                ref double hn = ref Unsafe.Add(ref h, j);
                                ref var w = ref Unsafe.Add(ref wl, l - 1);
                                for (int n = 0; n < na; n++)
                                {
                                    w = V.FusedMultiplyAdd(pl, V.Create(hn), w);
                                    hn = ref Unsafe.Add(ref hn, cap); w = ref Unsafe.Add(ref w, L);
                                }
                            }
                        }
                        ref double hm = ref Unsafe.Add(ref h, kb);
                        for (int m = 0; m < na; m++, hm = ref Unsafe.Add(ref hm, cap))
                        {
                            var hk = V.LoadUnsafe(ref hm);
                            // Radial pairs (n, m), n ≤ m for one species: q = n N + m, or the triangle's index.
                            for (int n = 0, nEnd = same ? m : na - 1; n <= nEnd; n++)
                            {
                                ref var o = ref Unsafe.Add(ref sums, pairBase + (same ? _sameIndex[n * na + m] : n * na + m) * L);
                                ref var wn = ref Unsafe.Add(ref wl, n * L);
                                for (int l = 0; l < L; l++) Unsafe.Add(ref o, l) = V.FusedMultiplyAdd(Unsafe.Add(ref wn, l), hk, Unsafe.Add(ref o, l));
                            }
                        }
                    }
                }
        for (int q = 0; q < _count; q++) values[_first + q] = V.Sum(Unsafe.Add(ref sums, q));
    }

    /// <summary>
    /// ∂L/∂d_j of the angular sums for every packed entry j, into F_i, the virial and (conservative) the neighbours.
    /// After <see cref="Values"/> and the loss. Returns λ · I over the angular invariants, ½ Σ over ordered pairs of F(j, k).
    /// </summary>
    public double Gradient(KernelScratch s, double[] forces, bool conservative, ref double fx, ref double fy, ref double fz)
    {
        var a = s.Angular;
        int[] start = a.Start, count = a.Count;
        int na = _na, L = _degree, T = _species, cap = a.Capacity, block = L * na * na, packed = start[T];
        if (packed == 0) return 0;
        var lambda = s.Lambda;
        var mat = a.M.AsSpan(0, _mIndex.Length);
        for (int i = 0; i < mat.Length; i++) mat[i] = _mFactor[i] * lambda[_mIndex[i]];
        // z_(t,l,n)(k) = Σ_m M_l[n][m] of (t, t_k) h_m(r_k), eight k at a time, at [((t · L + l − 1) · N + n) · Capacity + k]:
        // then for an entry j of species t, F(j, k) / P_l = Σ_n h_n(r_j) z_(t,l,n)(k) and ∂_r_j of it Σ_n h_n'(r_j) z_(t,l,n)(k).
        if (a.Z.Length < T * L * na * cap || a.H.Length < na * cap || a.Gx.Length < cap || packed > cap - W) throw new InvalidOperationException("kernel scratch too small");
        ref double h = ref MemoryMarshal.GetArrayDataReference(a.H);
        ref double z = ref MemoryMarshal.GetArrayDataReference(a.Z);
        for (int t = 0; t < T; t++)
            for (int u = 0; u < T; u++)
            {
                var mu = mat.Slice((t * T + u) * block, block);
                for (int kb = start[u]; kb < start[u + 1]; kb += W)
                    for (int l = 0; l < L; l++)
                        for (int n = 0; n < na; n++)
                        {
                            var sum = V.Zero;
                            for (int m = 0; m < na; m++) sum = V.FusedMultiplyAdd(V.LoadUnsafe(ref h, (nuint)(m * cap + kb)), V.Create(mu[(l * na + n) * na + m]), sum);
                            sum.StoreUnsafe(ref z, (nuint)(((t * L + l) * na + n) * cap + kb));
                        }
            }
        var lanes = V.Lanes;
        double[] uxs = a.Ux, uys = a.Uy, uzs = a.Uz;
        ref double dh = ref MemoryMarshal.GetArrayDataReference(a.Dh);
        ref double ux = ref MemoryMarshal.GetArrayDataReference(uxs);
        ref double uy = ref MemoryMarshal.GetArrayDataReference(uys);
        ref double uz = ref MemoryMarshal.GetArrayDataReference(uzs);
        ref double rs = ref MemoryMarshal.GetArrayDataReference(a.R);
        ref double gxs = ref MemoryMarshal.GetArrayDataReference(a.Gx);
        ref double gys = ref MemoryMarshal.GetArrayDataReference(a.Gy);
        ref double gzs = ref MemoryMarshal.GetArrayDataReference(a.Gz);
        ref double bonnetA = ref MemoryMarshal.GetArrayDataReference(_bonnetA);
        ref double bonnetB = ref MemoryMarshal.GetArrayDataReference(_bonnetB);
        // F_i (Σ_j g_j) and the virial (−Σ_j g_j ⊗ d_j, d_j = u_j r_j) lane by lane.
        var fxv = V.Zero; var fyv = fxv; var fzv = fxv; var energy = fxv;
        var wxx = fxv; var wxy = fxv; var wxz = fxv; var wyx = fxv; var wyy = fxv; var wyz = fxv; var wzx = fxv; var wzy = fxv; var wzz = fxv;
        // Eight entries j (one species t) at a time against each partner k in turn: each j's sums stay in its lane.
        for (int t = 0; t < T; t++)
            for (int jb = start[t]; jb < start[t + 1]; jb += W)
            {
                var jx = V.LoadUnsafe(ref ux, (nuint)jb);
                var jy = V.LoadUnsafe(ref uy, (nuint)jb);
                var jz = V.LoadUnsafe(ref uz, (nuint)jb);
                var slope = V.Zero; var ax = slope; var ay = slope; var az = slope; var bc = slope;
                ref double zt = ref Unsafe.Add(ref z, t * L * na * cap);
                ref double hj = ref Unsafe.Add(ref h, jb);
                ref double dhj = ref Unsafe.Add(ref dh, jb);
                for (int u = 0; u < T; u++)
                    for (int k = start[u], kEnd = k + count[u]; k < kEnd; k++)
                    {
                        double kx = uxs[k], ky = uys[k], kz = uzs[k];
                        var c = V.FusedMultiplyAdd(jx, V.Create(kx), V.FusedMultiplyAdd(jy, V.Create(ky), jz * kz));
                        var ac = V.Zero; var sl = ac; var f = ac;
                        // P_l and dP_l by InvariantSet.Legendre's recursion (divisions folded into constants), degree by degree.
                        var p0 = V.One; var p1 = c; var d0 = V.Zero; var d1 = V.One;
                        ref double zk = ref Unsafe.Add(ref zt, k);
                        double odd = 1;
                        for (int l = 1; l <= L; l++)
                        {
                            if (l > 1)
                            {
                                odd += 2; // 2l − 1
                                var p2 = c * p1 * Unsafe.Add(ref bonnetA, l - 1) - p0 * Unsafe.Add(ref bonnetB, l - 1);
                                var d2 = V.FusedMultiplyAdd(p1, V.Create(odd), d0);
                                p0 = p1; p1 = p2; d0 = d1; d1 = d2;
                            }
                            var e = V.Zero; var d = e;
                            ref double hn = ref hj; ref double dhn = ref dhj;
                            for (int n = 0; n < na; n++)
                            {
                                var zn = V.Create(zk);
                                e = V.FusedMultiplyAdd(V.LoadUnsafe(ref hn), zn, e);
                                d = V.FusedMultiplyAdd(V.LoadUnsafe(ref dhn), zn, d);
                                zk = ref Unsafe.Add(ref zk, cap); hn = ref Unsafe.Add(ref hn, cap); dhn = ref Unsafe.Add(ref dhn, cap);
                            }
                            ac = V.FusedMultiplyAdd(e, d1, ac);
                            sl = V.FusedMultiplyAdd(d, p1, sl);
                            f = V.FusedMultiplyAdd(e, p1, f);
                        }
                        if (k - jb < W && k >= jb)
                        {
                            // k = j: no pair.
                            var self = V.Equal(lanes, V.Create((double)(k - jb)));
                            ac = V.AndNot(ac, self);
                            sl = V.AndNot(sl, self);
                            f = V.AndNot(f, self);
                        }
                        energy += f;
                        slope += sl;
                        ax = V.FusedMultiplyAdd(ac, V.Create(kx), ax);
                        ay = V.FusedMultiplyAdd(ac, V.Create(ky), ay);
                        az = V.FusedMultiplyAdd(ac, V.Create(kz), az);
                        bc = V.FusedMultiplyAdd(ac, c, bc);
                    }
                // g_j = (Σ_k a_jk u_k − Σ_k a_jk c_jk u_j)/r_j + s_j u_j; padding lanes have h = 0, so g = 0.
                var r = V.LoadUnsafe(ref rs, (nuint)jb);
                var inv = V.One / r;
                var gx = (ax - bc * jx) * inv + slope * jx;
                var gy = (ay - bc * jy) * inv + slope * jy;
                var gz = (az - bc * jz) * inv + slope * jz;
                fxv += gx; fyv += gy; fzv += gz;
                var dx = jx * r; var dy = jy * r; var dz = jz * r;
                wxx -= gx * dx; wxy -= gx * dy; wxz -= gx * dz;
                wyx -= gy * dx; wyy -= gy * dy; wyz -= gy * dz;
                wzx -= gz * dx; wzy -= gz * dy; wzz -= gz * dz;
                if (conservative) { gx.StoreUnsafe(ref gxs, (nuint)jb); gy.StoreUnsafe(ref gys, (nuint)jb); gz.StoreUnsafe(ref gzs, (nuint)jb); }
            }
        fx += V.Sum(fxv); fy += V.Sum(fyv); fz += V.Sum(fzv);
        var w = s.AngleVirial;
        w[0] += V.Sum(wxx); w[1] += V.Sum(wxy); w[2] += V.Sum(wxz);
        w[3] += V.Sum(wyx); w[4] += V.Sum(wyy); w[5] += V.Sum(wyz);
        w[6] += V.Sum(wzx); w[7] += V.Sum(wzy); w[8] += V.Sum(wzz);
        if (conservative)
            for (int t = 0; t < T; t++)
                for (int j = start[t], jEnd = j + count[t]; j < jEnd; j++)
                {
                    int at = 3 * s.Atom[(int)a.Entry[j]];
                    forces[at] -= a.Gx[j]; forces[at + 1] -= a.Gy[j]; forces[at + 2] -= a.Gz[j];
                }
        return 0.5 * V.Sum(energy);
    }

    /// <summary>
    /// The entries closer than the angular cutoff, species by species (species t from Start[t], Count[t] real, padded to
    /// whole vectors with r = r_c, so h = 0), with u = d/r, h_n = g_n f_c and h_n'. Returns the packed total.
    /// </summary>
    private unsafe int Pack(KernelScratch s, AngularScratch a)
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
            int m = V.PackBelow(ref rs, e0, end, _rc, ref pr, ref pe, c);
            a.Count[t] = m - c;
            // Padding: r = r_c (h = 0) and the species' first entry (a valid row index for the gathers below).
            int padded = c + (m - c + W - 1) / W * W;
            for (int q = m; q < padded; q++) { a.R[q] = _rc; a.Entry[q] = a.Entry[c]; }
            c = padded;
        }
        a.Start[_species] = c;
        int cap = a.Capacity;
        ref double h = ref MemoryMarshal.GetArrayDataReference(a.H);
        ref double dh = ref MemoryMarshal.GetArrayDataReference(a.Dh);
        if (a.H.Length < _na * cap) throw new InvalidOperationException("kernel scratch too small");
        if (a.Ux.Length < c || a.Entry.Length < c) throw new InvalidOperationException("kernel scratch too small");
        int rowLength = Math.Min(s.Dx.Length, Math.Min(s.Dy.Length, s.Dz.Length));
        fixed (double* dx = s.Dx, dy = s.Dy, dz = s.Dz)
            for (int b = 0; b < c; b += W)
            {
                // u = d/r as the generic path (d · (1/r)), d gathered by the packed entries.
                ref long entry = ref Unsafe.Add(ref pe, b);
                for (int l = 0; l < W; l++)
                    if ((ulong)Unsafe.Add(ref entry, l) >= (ulong)rowLength) throw new IndexOutOfRangeException();
                var inv = V.One / V.LoadUnsafe(ref pr, (nuint)b);
                (V.Gather(dx, ref entry) * inv).StoreUnsafe(ref MemoryMarshal.GetArrayDataReference(a.Ux), (nuint)b);
                (V.Gather(dy, ref entry) * inv).StoreUnsafe(ref MemoryMarshal.GetArrayDataReference(a.Uy), (nuint)b);
                (V.Gather(dz, ref entry) * inv).StoreUnsafe(ref MemoryMarshal.GetArrayDataReference(a.Uz), (nuint)b);
            }
        for (int b = 0; b < c; b += W)
        {
            // h_n = g_n f_c with RadialBasisFunction.Value's Gaussian g = exp(−x²/2), x = (r − μ)/w, g' = −g x/w, exact to rounding.
            var r = V.LoadUnsafe(ref pr, (nuint)b);
            var fc = Simd.Cutoff(r, r * r, _rc, _invRc2, _power, out var dfc);
            int n = 0;
            if (_mixed)
                for (; n + 1 < _na; n += 2)
                {
                    // Two Gaussians in one vector of floats (--precision mixed).
                    var iw = V.Create(_invWidth[n]);
                    var iw1 = V.Create(_invWidth[n + 1]);
                    var x = (r - V.Create(_centre[n])) * iw;
                    var x1 = (r - V.Create(_centre[n + 1])) * iw1;
                    Simd.ExpMixed(x * x * -0.5, x1 * x1 * -0.5, out var g, out var g1);
                    (g * fc).StoreUnsafe(ref h, (nuint)(n * cap + b));
                    ((-g * x * iw) * fc + g * dfc).StoreUnsafe(ref dh, (nuint)(n * cap + b));
                    (g1 * fc).StoreUnsafe(ref h, (nuint)((n + 1) * cap + b));
                    ((-g1 * x1 * iw1) * fc + g1 * dfc).StoreUnsafe(ref dh, (nuint)((n + 1) * cap + b));
                }
            for (; n < _na; n++)
            {
                var iw = V.Create(_invWidth[n]);
                var x = (r - V.Create(_centre[n])) * iw;
                var g = Simd.Exp(x * x * -0.5);
                var dg = -g * x * iw;
                (g * fc).StoreUnsafe(ref h, (nuint)(n * cap + b));
                (dg * fc + g * dfc).StoreUnsafe(ref dh, (nuint)(n * cap + b));
            }
        }
        return c;
    }
}
