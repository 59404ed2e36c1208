using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using MolecularLearning.Core;

namespace MolecularLearning.Learning;

/// <summary>
/// The evaluator's fast path for the default families: sorted distances, a ladder of evenly spaced,
/// equal-width Gaussians (radial sums) and angles between sorted neighbours, with the pair walls and
/// range walls. <see cref="TryCreate"/> returns null for any other basis (angular sums, inverse powers,
/// other Gaussians, families added later), which then takes the generic path of <see cref="InvariantSet"/>.
/// </summary>
/// <remarks>
/// Per agent, one fused pass decodes the compact neighbour row straight into structure-of-arrays scratch
/// (trimmed at the cutoff without branches), then everything per entry runs eight entries at a time in
/// <see cref="Vector512{T}"/>. The Gaussians are exact, not tabulated: with x_n = (r − μ_0)/w − nδ
/// (δ = spacing/width), g_n = exp(−x_n²/2) obeys g_n = g_{n−1} · exp(δ x_0) · exp(−(2n−1)δ²/2), so the
/// whole ladder costs two exponentials per entry. φ_n' is kept per entry for the gradient pass, which
/// contracts it with λ = ∂L/∂I once λ is known. Results agree with the generic path (exact radial
/// functions) to rounding; the generic evaluator's Hermite table differs from both by ~1e-9.
/// </remarks>
internal sealed class SortedGaussianKernel
{
    private const int W = 8; // doubles in a Vector512

    private readonly InvariantSet _set;
    private readonly QuadraticLoss[] _losses;
    private readonly int _species, _nr;
    private readonly double _mu0, _invWidth, _delta;
    private readonly double[] _step;          // exp(−(2n−1)δ²/2), n = 1..N−1 (index n)
    private readonly double _rcList2, _rcSorted, _rcRadial, _invRcRadial2;
    private readonly int[] _sortedCounts, _sortedOffset;
    private readonly int _radialOffset, _angleOffset, _angleDegree;
    private readonly int[] _angleRefs, _angleAgent;
    private readonly double[] _wallRMin, _wallStrength;

    private SortedGaussianKernel(LearnedModel model)
    {
        _set = model.Invariants;
        _losses = [.. model.Losses];
        _species = _set.Species.Count;
        _nr = _set.Radial.Length;
        if (_nr > 0)
        {
            _mu0 = _set.Radial[0].A;
            _invWidth = 1 / _set.Radial[0].B;
            _delta = _nr > 1 ? (_set.Radial[_nr - 1].A - _mu0) / (_nr - 1) * _invWidth : 0;
        }
        _step = new double[Math.Max(1, _nr)];
        for (int n = 1; n < _nr; n++) _step[n] = Math.Exp(-(2 * n - 1) * _delta * _delta / 2);
        _rcList2 = _set.Cutoff * _set.Cutoff;
        _rcSorted = _set.Options.Cutoff;
        _rcRadial = _set.Options.RadialCutoff;
        _invRcRadial2 = 1 / (_rcRadial * _rcRadial);
        _sortedCounts = [.. _set.SortedCounts];
        _sortedOffset = new int[_species];
        for (int t = 0; t < _species; t++) _sortedOffset[t] = _set.SortedOffset(t);
        _radialOffset = _set.RadialOffset;
        _angleOffset = _set.SortedAngleOffset;
        _angleDegree = _set.AngleDegree;
        _angleRefs = _set.SortedAngleRefs.ToArray();
        _angleAgent = _set.SortedAngleAgents.ToArray();
        _wallRMin = model.WallRMin;
        _wallStrength = model.WallStrength;
    }

    /// <summary>The kernel for this model, or null when its basis (or the machine) needs the generic path.</summary>
    public static SortedGaussianKernel? TryCreate(LearnedModel model)
    {
        if (!Vector512.IsHardwareAccelerated) return null;
        var set = model.Invariants;
        // Only the families this kernel computes: anything else (angular sums, families added later) is generic.
        if (set.Degree > 0 || set.CountOfKnownFamilies != set.Count) return null;
        if (set.Options.CutoffPower != 2) return null; // the kernel's f_c is (1 − (r/r_c)²)²
        if (set.Species.Count > 8) return null;
        var radial = set.Radial;
        if (radial.Length > 0)
        {
            double mu0 = radial[0].A, width = radial[0].B;
            double spacing = radial.Length > 1 ? (radial[^1].A - mu0) / (radial.Length - 1) : 0;
            for (int n = 0; n < radial.Length; n++)
            {
                if (radial[n].Kind != RadialKind.Gaussian) return null;
                if (Math.Abs(radial[n].B - width) > 1e-12 * width) return null;
                if (Math.Abs(radial[n].A - (mu0 + n * spacing)) > 1e-12 * Math.Max(1, Math.Abs(mu0) + Math.Abs(spacing) * n)) return null;
            }
            // The recurrence multiplies exp(−x_0²/2) by exp(δ x_0) up to N−1 times: keep both far from under/overflow.
            double x0 = Math.Max(Math.Abs(mu0), Math.Abs(2 * set.Cutoff - mu0)) / width;
            if (x0 > 25 || x0 * spacing / width * radial.Length > 600) return null;
        }
        return new SortedGaussianKernel(model);
    }

    /// <summary>Evaluates agents [from, to): forces (agent: F_i; conservative: scattered), energy and virial of the chunk.</summary>
    public double Run(int from, int to, KernelScratch s, NeighbourList list, int[] types, double[] forces, bool conservative, Span<double> virial)
    {
        s.Ensure(list.MaxRowLength, _nr, _species, _set.Count);
        s.Wxx = s.Wyy = s.Wzz = s.Wxy = s.Wxz = s.Wyz = Vector512<double>.Zero;
        s.AngleVirial.AsSpan().Clear();
        double energy = 0;
        for (int i = from; i < to; i++) energy += Agent(i, s, list, types, forces, conservative);
        var a = s.AngleVirial;
        double xy = Vector512.Sum(s.Wxy), xz = Vector512.Sum(s.Wxz), yz = Vector512.Sum(s.Wyz);
        virial[0] = Vector512.Sum(s.Wxx) + a[0]; virial[1] = xy + a[1]; virial[2] = xz + a[2];
        virial[3] = xy + a[3]; virial[4] = Vector512.Sum(s.Wyy) + a[4]; virial[5] = yz + a[5];
        virial[6] = xz + a[6]; virial[7] = yz + a[7]; virial[8] = Vector512.Sum(s.Wzz) + a[8];
        return energy;
    }

    private double Agent(int i, KernelScratch s, NeighbourList list, int[] types, double[] forces, bool conservative)
    {
        int ti = types[i];
        int m = Decode(i, s, list, types);
        int blocks = (m + W - 1) / W;
        // Pad the last block with an entry beyond every cutoff and of no species: it adds exactly nothing.
        for (int e = m; e < blocks * W; e++)
        {
            s.Dx[e] = s.Dy[e] = s.Dz[e] = 0;
            s.R2[e] = 4 * _rcList2;
            s.Type[e] = -1;
            s.Extra[e] = 0;
        }
        var values = s.Values.AsSpan(0, _set.Count);
        RadialValues(s, blocks, values);
        SortedValues(s, m, values);
        AngleValues(s, ti, values);
        double loss = _losses[ti].Evaluate(values, s.Lambda);
        var lambda = s.Lambda;

        // ∂L/∂r of the sorted slots (radial in d_e), gathered per entry for the SIMD pass.
        var sortedEntry = s.SortedEntry;
        for (int q = 0; q < _set.SortedTotal; q++)
        {
            int e = sortedEntry[q];
            if (e >= 0) s.Extra[e] += lambda[q];
        }
        double fx = 0, fy = 0, fz = 0;
        if (_angleDegree > 0) AngleGradient(s, ti, i, forces, conservative, ref fx, ref fy, ref fz);
        loss += RadialGradient(s, ti, blocks, ref fx, ref fy, ref fz, conservative);
        for (int q = 0; q < _set.SortedTotal; q++)
        {
            int e = sortedEntry[q];
            if (e >= 0) s.Extra[e] = 0;
        }
        if (conservative)
        {
            for (int e = 0; e < m; e++)
            {
                double c = s.Coef[e];
                int j = 3 * s.Atom[e];
                forces[j] -= c * s.Dx[e]; forces[j + 1] -= c * s.Dy[e]; forces[j + 2] -= c * s.Dz[e];
            }
            forces[3 * i] += fx; forces[3 * i + 1] += fy; forces[3 * i + 2] += fz;
        }
        else { forces[3 * i] = fx; forces[3 * i + 1] = fy; forces[3 * i + 2] = fz; }
        return loss;
    }

    /// <summary>The row of agent i within the list cutoff, decoded from the compact entries (as <see cref="NeighbourList.GetRow"/>): returns the count.</summary>
    private int Decode(int i, KernelScratch s, NeighbourList list, int[] types)
    {
        var start = list.Start;
        int k0 = start[i], k1 = start[i + 1];
        var index = list.Index[k0..k1];
        var image = list.ImageCodes[k0..k1];
        var u = list.Unwrapped;
        var img = list.ImageTranslations;
        if (s.Atom.Length < index.Length + W) throw new InvalidOperationException("kernel scratch too small for the row");
        ref double ru = ref MemoryMarshal.GetReference(u);
        ref double rimg = ref MemoryMarshal.GetReference(img);
        ref int rt = ref MemoryMarshal.GetArrayDataReference(types);
        ref int atom = ref MemoryMarshal.GetArrayDataReference(s.Atom);
        ref double dx = ref MemoryMarshal.GetArrayDataReference(s.Dx);
        ref double dy = ref MemoryMarshal.GetArrayDataReference(s.Dy);
        ref double dz = ref MemoryMarshal.GetArrayDataReference(s.Dz);
        ref double r2s = ref MemoryMarshal.GetArrayDataReference(s.R2);
        ref double type = ref MemoryMarshal.GetArrayDataReference(s.Type);
        int n = u.Length / 3, codes = img.Length / 3;
        double ux = u[3 * i], uy = u[3 * i + 1], uz = u[3 * i + 2], rc2 = _rcList2;
        int m = 0;
        for (int k = 0; k < index.Length; k++)
        {
            int j = index[k], c = image[k];
            if ((uint)j >= (uint)n || c >= codes) throw new IndexOutOfRangeException();
            double x = Unsafe.Add(ref ru, 3 * j) + Unsafe.Add(ref rimg, 3 * c) - ux;
            double y = Unsafe.Add(ref ru, 3 * j + 1) + Unsafe.Add(ref rimg, 3 * c + 1) - uy;
            double z = Unsafe.Add(ref ru, 3 * j + 2) + Unsafe.Add(ref rimg, 3 * c + 2) - uz;
            double r2 = x * x + y * y + z * z;
            // Written unconditionally, kept by advancing m: no unpredictable branch at the skin.
            Unsafe.Add(ref atom, m) = j;
            Unsafe.Add(ref dx, m) = x; Unsafe.Add(ref dy, m) = y; Unsafe.Add(ref dz, m) = z;
            Unsafe.Add(ref r2s, m) = r2;
            Unsafe.Add(ref type, m) = Unsafe.Add(ref rt, j);
            m += r2 < rc2 ? 1 : 0;
        }
        return m;
    }

    /// <summary>r, the radial sums Σ_e φ_n(r_e) per neighbour species, and φ_n' per entry (kept for the gradient).</summary>
    private void RadialValues(KernelScratch s, int blocks, Span<double> values)
    {
        int nr = _nr, t = _species;
        ref double r2s = ref MemoryMarshal.GetArrayDataReference(s.R2);
        ref double rs = ref MemoryMarshal.GetArrayDataReference(s.R);
        ref double type = ref MemoryMarshal.GetArrayDataReference(s.Type);
        if (nr == 0)
        {
            for (int b = 0; b < blocks; b++) Vector512.Sqrt(Vector512.LoadUnsafe(ref r2s, (nuint)(b * W))).StoreUnsafe(ref rs, (nuint)(b * W));
            return;
        }
        var sums = s.Sums;
        var dphi = s.DPhi;
        if (sums.Length < t * nr || dphi.Length < blocks * nr) throw new InvalidOperationException("kernel scratch too small");
        Array.Clear(sums, 0, t * nr);
        var mu0 = Vector512.Create(_mu0); var iw = Vector512.Create(_invWidth); var delta = Vector512.Create(_delta);
        var rcr = Vector512.Create(_rcRadial); var irc2 = Vector512.Create(_invRcRadial2);
        Span<Vector512<double>> masks = stackalloc Vector512<double>[t];
        for (int b = 0; b < blocks; b++)
        {
            int e = b * W;
            var r2 = Vector512.LoadUnsafe(ref r2s, (nuint)e);
            var r = Vector512.Sqrt(r2);
            r.StoreUnsafe(ref rs, (nuint)e);
            var ty = Vector512.LoadUnsafe(ref type, (nuint)e);
            for (int sp = 0; sp < t; sp++) masks[sp] = Vector512.Equals(ty, Vector512.Create((double)sp));
            // f_c = (1 − r²/r_c²)², zero at and beyond r_c.
            var inside = Vector512.LessThan(r, rcr);
            var tc = Vector512<double>.One - r2 * irc2;
            var fc = (tc * tc) & inside;
            var dfc = (tc * r * irc2 * -4.0) & inside;
            var x = (r - mu0) * iw;
            var g = Vector512.Exp(x * x * -0.5);
            var grow = Vector512.Exp(x * delta);
            var fcw = fc * iw;
            int row = b * nr;
            for (int n = 0; n < nr; n++)
            {
                if (n > 0)
                {
                    g = g * (grow * Vector512.Create(_step[n]));
                    x -= delta;
                }
                var phi = g * fc;
                dphi[row + n] = g * (dfc - fcw * x); // d(g f_c)/dr with dg/dr = −g x / w
                for (int sp = 0; sp < t; sp++) sums[sp * nr + n] += phi & masks[sp];
            }
        }
        for (int sp = 0; sp < t; sp++)
            for (int n = 0; n < nr; n++) values[_radialOffset + sp * nr + n] = Vector512.Sum(sums[sp * nr + n]);
    }

    /// <summary>The k nearest distances per neighbour species (insertion in row order, as the generic path: same ties).</summary>
    private void SortedValues(KernelScratch s, int m, Span<double> values)
    {
        int t = _species;
        var sortedEntry = s.SortedEntry;
        Span<int> found = stackalloc int[t];
        found.Clear();
        double rc = _rcSorted;
        for (int e = 0; e < m; e++)
        {
            int sp = (int)s.Type[e];
            int kmax = _sortedCounts[sp];
            double r = s.R[e];
            if (kmax == 0 || r >= rc) continue;
            int off = _sortedOffset[sp], f = found[sp];
            if (f == kmax && r >= values[off + kmax - 1]) continue;
            int q = f < kmax ? f : kmax - 1;
            if (f < kmax) found[sp] = f + 1;
            while (q > 0 && values[off + q - 1] > r)
            {
                values[off + q] = values[off + q - 1];
                sortedEntry[off + q] = sortedEntry[off + q - 1];
                q--;
            }
            values[off + q] = r;
            sortedEntry[off + q] = e;
        }
        for (int sp = 0; sp < t; sp++)
        {
            int off = _sortedOffset[sp];
            for (int q = found[sp]; q < _sortedCounts[sp]; q++) { values[off + q] = rc; sortedEntry[off + q] = -1; }
        }
    }

    private bool AngleEntries(KernelScratch s, int a, int agentType, out int ej, out int ek)
    {
        int ra = _angleRefs[2 * a], rb = _angleRefs[2 * a + 1];
        if (_angleAgent[a] != -1 && _angleAgent[a] != agentType) { ej = ek = -1; return false; }
        ej = ra < 0 ? -1 : s.SortedEntry[ra];
        ek = rb < 0 ? -1 : s.SortedEntry[rb];
        return ej >= 0 && ek >= 0 && ej != ek;
    }

    private double Cosine(KernelScratch s, int ej, int ek) =>
        (s.Dx[ej] * s.Dx[ek] + s.Dy[ej] * s.Dy[ek] + s.Dz[ej] * s.Dz[ek]) / (s.R[ej] * s.R[ek]);

    private void AngleValues(KernelScratch s, int agentType, Span<double> values)
    {
        int deg = _angleDegree;
        if (deg == 0) return;
        Span<double> p = stackalloc double[deg + 1], dp = stackalloc double[deg + 1];
        for (int a = 0; a < _angleAgent.Length; a++)
        {
            int o = _angleOffset + a * deg - 1;
            if (!AngleEntries(s, a, agentType, out int ej, out int ek))
            {
                for (int l = 1; l <= deg; l++) values[o + l] = 0;
                continue;
            }
            InvariantSet.Legendre(Cosine(s, ej, ek), deg, p, dp);
            for (int l = 1; l <= deg; l++) values[o + l] = p[l];
        }
    }

    /// <summary>The sorted angles' forces: ∂L/∂cos θ times ∂cos θ/∂d for both legs, into F_i, the virial and (conservative) the neighbours.</summary>
    private void AngleGradient(KernelScratch s, int agentType, int i, double[] forces, bool conservative, ref double fx, ref double fy, ref double fz)
    {
        int deg = _angleDegree;
        Span<double> p = stackalloc double[deg + 1], dp = stackalloc double[deg + 1];
        var lambda = s.Lambda;
        var w = s.AngleVirial;
        for (int a = 0; a < _angleAgent.Length; a++)
        {
            if (!AngleEntries(s, a, agentType, out int ej, out int ek)) continue;
            double c = Cosine(s, ej, ek);
            InvariantSet.Legendre(c, deg, p, dp);
            double ac = 0;
            for (int l = 1; l <= deg; l++) ac += lambda[_angleOffset + a * deg + l - 1] * dp[l];
            double ij = 1 / s.R[ej], ik = 1 / s.R[ek];
            double ujx = s.Dx[ej] * ij, ujy = s.Dy[ej] * ij, ujz = s.Dz[ej] * ij;
            double ukx = s.Dx[ek] * ik, uky = s.Dy[ek] * ik, ukz = s.Dz[ek] * ik;
            Leg(ej, ac * (ukx - c * ujx) * ij, ac * (uky - c * ujy) * ij, ac * (ukz - c * ujz) * ij, ref fx, ref fy, ref fz);
            Leg(ek, ac * (ujx - c * ukx) * ik, ac * (ujy - c * uky) * ik, ac * (ujz - c * ukz) * ik, ref fx, ref fy, ref fz);
        }

        void Leg(int e, double gx, double gy, double gz, ref double fx, ref double fy, ref double fz)
        {
            fx += gx; fy += gy; fz += gz;
            double dx = s.Dx[e], dy = s.Dy[e], dz = s.Dz[e];
            w[0] -= gx * dx; w[1] -= gx * dy; w[2] -= gx * dz;
            w[3] -= gy * dx; w[4] -= gy * dy; w[5] -= gy * dz;
            w[6] -= gz * dx; w[7] -= gz * dy; w[8] -= gz * dz;
            if (conservative)
            {
                int j = 3 * s.Atom[e];
                forces[j] -= gx; forces[j + 1] -= gy; forces[j + 2] -= gz;
            }
        }
    }

    /// <summary>
    /// Per entry the radial slope s_e = ∂L/∂r_e (radial sums via φ', sorted slots, pair walls), then
    /// G_e = s_e d_e / r_e into F_i and the virial, eight entries at a time. Returns the pair-wall energy.
    /// </summary>
    private double RadialGradient(KernelScratch s, int ti, int blocks, ref double fx, ref double fy, ref double fz, bool conservative)
    {
        int nr = _nr, t = _species;
        ref double rs = ref MemoryMarshal.GetArrayDataReference(s.R);
        ref double type = ref MemoryMarshal.GetArrayDataReference(s.Type);
        ref double extra = ref MemoryMarshal.GetArrayDataReference(s.Extra);
        ref double dxs = ref MemoryMarshal.GetArrayDataReference(s.Dx);
        ref double dys = ref MemoryMarshal.GetArrayDataReference(s.Dy);
        ref double dzs = ref MemoryMarshal.GetArrayDataReference(s.Dz);
        ref double coefs = ref MemoryMarshal.GetArrayDataReference(s.Coef);
        var lambda = s.Lambda.AsSpan(_radialOffset, t * nr);
        var dphi = s.DPhi;
        if (dphi.Length < blocks * nr) throw new InvalidOperationException("kernel scratch too small");
        Span<Vector512<double>> masks = stackalloc Vector512<double>[t];
        var vfx = Vector512<double>.Zero; var vfy = vfx; var vfz = vfx; var wall = vfx;
        var wxx = s.Wxx; var wyy = s.Wyy; var wzz = s.Wzz; var wxy = s.Wxy; var wxz = s.Wxz; var wyz = s.Wyz;
        for (int b = 0; b < blocks; b++)
        {
            int e = b * W;
            var r = Vector512.LoadUnsafe(ref rs, (nuint)e);
            var ty = Vector512.LoadUnsafe(ref type, (nuint)e);
            var slope = Vector512.LoadUnsafe(ref extra, (nuint)e);
            int row = b * nr;
            for (int sp = 0; sp < t; sp++)
            {
                var mask = Vector512.Equals(ty, Vector512.Create((double)sp));
                var acc = Vector512<double>.Zero;
                int lo = sp * nr;
                for (int n = 0; n < nr; n++) acc += Vector512.Create(lambda[lo + n]) * dphi[row + n];
                // The fixed wall k (r_min − r)³ under the loss.
                int pair = ti * t + sp;
                double k = _wallStrength[pair];
                if (k != 0)
                {
                    var gap = Vector512.Max(Vector512.Create(_wallRMin[pair]) - r, Vector512<double>.Zero) & mask;
                    var kg2 = gap * gap * k;
                    wall += kg2 * gap;
                    acc -= kg2 * 3.0;
                }
                slope += acc & mask;
            }
            var coef = slope / r;
            var dx = Vector512.LoadUnsafe(ref dxs, (nuint)e);
            var dy = Vector512.LoadUnsafe(ref dys, (nuint)e);
            var dz = Vector512.LoadUnsafe(ref dzs, (nuint)e);
            var gx = coef * dx; var gy = coef * dy; var gz = coef * dz;
            vfx += gx; vfy += gy; vfz += gz;
            wxx -= gx * dx; wyy -= gy * dy; wzz -= gz * dz;
            wxy -= gx * dy; wxz -= gx * dz; wyz -= gy * dz;
            if (conservative) coef.StoreUnsafe(ref coefs, (nuint)e);
        }
        s.Wxx = wxx; s.Wyy = wyy; s.Wzz = wzz; s.Wxy = wxy; s.Wxz = wxz; s.Wyz = wyz;
        fx += Vector512.Sum(vfx); fy += Vector512.Sum(vfy); fz += Vector512.Sum(vfz);
        return Vector512.Sum(wall);
    }
}

/// <summary>Per-chunk working storage of <see cref="SortedGaussianKernel"/>; grows, never shrinks.</summary>
internal sealed class KernelScratch
{
    public int[] Atom = [];
    public double[] Dx = [], Dy = [], Dz = [], R2 = [], R = [], Type = [], Extra = [], Coef = [];
    /// <summary>φ_n' per block of eight entries: [block · N + n].</summary>
    public Vector512<double>[] DPhi = [];
    /// <summary>Per-lane radial sums [species · N + n], reduced once per agent.</summary>
    public Vector512<double>[] Sums = [];
    public double[] Values = [], Lambda = [];
    public int[] SortedEntry = [];
    /// <summary>The chunk's virial: the radial part (symmetric) per lane, the angle part in full.</summary>
    public Vector512<double> Wxx, Wyy, Wzz, Wxy, Wxz, Wyz;
    public readonly double[] AngleVirial = new double[9];

    public void Ensure(int maxRow, int nr, int species, int invariants)
    {
        int size = (maxRow + 8 + 7) / 8 * 8;
        if (Atom.Length < size)
        {
            size = Math.Max(size, 2 * Atom.Length);
            Atom = new int[size];
            Dx = new double[size]; Dy = new double[size]; Dz = new double[size];
            R2 = new double[size]; R = new double[size]; Type = new double[size]; Extra = new double[size]; Coef = new double[size];
        }
        int blocks = Atom.Length / 8;
        if (DPhi.Length < blocks * nr) DPhi = new Vector512<double>[blocks * nr];
        if (Sums.Length < species * nr) Sums = new Vector512<double>[species * nr];
        if (Values.Length < invariants) { Values = new double[invariants]; Lambda = new double[invariants]; SortedEntry = new int[invariants]; }
    }
}
