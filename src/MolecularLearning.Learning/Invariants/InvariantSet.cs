using System.Runtime.InteropServices;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using MolecularLearning.Core;

namespace MolecularLearning.Learning;

/// <summary>
/// <see cref="InvariantOptions"/> bound to an ordered species list: the layout of the invariant vector
/// I_i (the same length K for every agent species) and the code that computes it and its derivatives
/// ∂I_ik/∂d_e with respect to each neighbour displacement d_e = x_e − x_i. Immutable, thread-safe;
/// per-thread state lives in <see cref="AgentScratch"/>.
/// </summary>
/// <remarks>
/// Layout: [sorted: for each neighbour species t, k_t distances, nearest first]
/// [radial: for each t, one sum per radial function]
/// [angular: for each species pair t ≤ u, each radial pair (n, m) (n ≤ m when t = u), each degree l = 1..L]
/// [sorted angles: for each angle, each degree l = 1..L] [shells: per item, n = 1..N] [shell angles: per item, l = 1..L].
/// </remarks>
public sealed partial class InvariantSet
{
    private readonly int[] _sortedOffset;   // per species t
    private readonly int[] _pairBase;       // [t * T + u] (t ≤ u): first angular index
    private readonly Species[] _species;
    private readonly int[] _angleRefs;      // per sorted angle: the two sorted slots it joins
    private readonly int[] _angleAgent;     // per sorted angle: the agent species that sees it, −1 for all, −2 for none
    private readonly double[]? _gaussCentre, _gaussInvWidth; // set when every radial function is a Gaussian
    private double[]? _table;                                 // cubic Hermite table of φ_n and h φ_n', built on first use
    private int _tablePad, _tableNodes;
    /// <summary>Node spacing (Å) of the radial table: interpolation error ~1e-11 in φ, ~1e-9 in φ' for the default Gaussians.</summary>
    public const double TableSpacing = 0.002;

    public InvariantSet(InvariantOptions options, IReadOnlyList<Species> species)
    {
        options.Validate();
        Options = options;
        _species = [.. species];
        int t = _species.Length;
        SortedCounts = new int[t];
        _sortedOffset = new int[t];
        int k = 0;
        for (int s = 0; s < t; s++)
        {
            SortedCounts[s] = options.SortedCounts.TryGetValue(_species[s].Symbol, out var c) ? c : 0;
            _sortedOffset[s] = k;
            k += SortedCounts[s];
        }
        SortedTotal = k;
        Radial = [.. options.Radial];
        // All-Gaussian radial families (the default) take a SIMD path: centres and inverse widths padded to whole vectors.
        if (Radial.Length > 0 && Radial.All(f => f.Kind == RadialKind.Gaussian))
        {
            int padded = (Radial.Length + Vector256<double>.Count - 1) / Vector256<double>.Count * Vector256<double>.Count;
            _gaussCentre = new double[padded];
            _gaussInvWidth = new double[padded];
            for (int n = 0; n < Radial.Length; n++) { _gaussCentre[n] = Radial[n].A; _gaussInvWidth[n] = 1 / Radial[n].B; }
        }
        RadialOffset = k;
        k += t * Radial.Length;
        AngularRadial = options.AngularDegree > 0 ? [.. options.AngularRadial] : [];
        Degree = AngularRadial.Length > 0 ? options.AngularDegree : 0;
        AngularOffset = k;
        _pairBase = new int[t * t];
        int na = AngularRadial.Length;
        if (Degree > 0)
            for (int a = 0; a < t; a++)
                for (int b = a; b < t; b++)
                {
                    _pairBase[a * t + b] = k;
                    k += (a == b ? na * (na + 1) / 2 : na * na) * Degree;
                }
        SortedAngleOffset = k;
        AngleDegree = options.SortedAngleDegree;
        _angleRefs = new int[2 * options.SortedAngles.Count];
        _angleAgent = new int[options.SortedAngles.Count];
        for (int a = 0; a < options.SortedAngles.Count; a++)
        {
            var angle = options.SortedAngles[a];
            int ta = Array.FindIndex(_species, x => x.Symbol == angle.A), tb = Array.FindIndex(_species, x => x.Symbol == angle.B);
            // An angle to a species the data lacks never exists: −1 marks it constant (zero).
            _angleRefs[2 * a] = ta < 0 ? -1 : _sortedOffset[ta] + angle.RankA - 1;
            _angleRefs[2 * a + 1] = tb < 0 ? -1 : _sortedOffset[tb] + angle.RankB - 1;
            // An angle for an agent species the model lacks is seen by nobody (−2).
            int agent = Array.FindIndex(_species, x => x.Symbol == angle.Agent);
            _angleAgent[a] = angle.Agent is null ? -1 : agent >= 0 ? agent : -2;
        }
        if (AngleDegree > 0) k += options.SortedAngles.Count * AngleDegree;
        _shells = ShellLayout.Build(options, _species, ref k);
        Count = k;
        Cutoff = options.Cutoff;
        Labels = BuildLabels();
    }

    public InvariantOptions Options { get; }
    public IReadOnlyList<Species> Species => _species;
    /// <summary>K: invariants per agent.</summary>
    public int Count { get; }
    /// <summary>Neighbour-list cutoff (Å): the largest of the families' cutoffs.</summary>
    public double Cutoff { get; }
    public IReadOnlyList<string> Labels { get; }
    internal int[] SortedCounts { get; }
    internal int SortedTotal { get; }
    internal RadialBasisFunction[] Radial { get; }
    internal int RadialOffset { get; }
    internal RadialBasisFunction[] AngularRadial { get; }
    internal int Degree { get; }
    internal int AngularOffset { get; }
    internal int SortedAngleOffset { get; }
    internal int AngleDegree { get; }

    /// <summary>Index of a species in this set, or −1.</summary>
    public int IndexOf(Species s)
    {
        for (int i = 0; i < _species.Length; i++)
            if (ReferenceEquals(_species[i], s) || _species[i].Symbol == s.Symbol) return i;
        return -1;
    }

    private string[] BuildLabels()
    {
        var labels = new string[Count];
        int t = _species.Length;
        for (int s = 0; s < t; s++)
            for (int q = 0; q < SortedCounts[s]; q++) labels[_sortedOffset[s] + q] = $"r{q + 1}({_species[s].Symbol})";
        for (int s = 0; s < t; s++)
            for (int n = 0; n < Radial.Length; n++) labels[RadialOffset + s * Radial.Length + n] = $"{Radial[n].Label}({_species[s].Symbol})";
        int na = AngularRadial.Length;
        for (int a = 0; a < t; a++)
            for (int b = a; b < t; b++)
            {
                if (Degree == 0) continue;
                int q = 0;
                for (int n = 0; n < na; n++)
                    for (int m = a == b ? n : 0; m < na; m++, q++)
                        for (int l = 1; l <= Degree; l++)
                            labels[_pairBase[a * t + b] + q * Degree + l - 1] =
                                $"P{l}({_species[a].Symbol}{n + 1},{_species[b].Symbol}{m + 1})";
            }
        if (AngleDegree > 0)
            for (int a = 0; a < Options.SortedAngles.Count; a++)
                for (int l = 1; l <= AngleDegree; l++)
                    labels[SortedAngleOffset + a * AngleDegree + l - 1] = $"P{l}(∠{Options.SortedAngles[a]})";
        ShellLabels(labels);
        return labels;
    }

    /// <summary>Copies the neighbours of agent <paramref name="i"/> within the cutoff into the scratch (either neighbour-list storage).</summary>
    internal void Gather(AgentScratch s, int i, NeighbourList list, ReadOnlySpan<int> types)
    {
        s.EnsureEntries(list.MaxRowLength);
        s.AgentType = types[i];
        int entries = list.GetRow(i, s.Atom, s.Dx, s.Dy, s.Dz, s.R);
        // The list is built at this set's cutoff; a longer one is trimmed here.
        double rc = Cutoff;
        bool trim = list.Cutoff > rc;
        int e = 0;
        for (int p = 0; p < entries; p++)
        {
            double r = s.R[p];
            if (trim && r >= rc) continue;
            int j = s.Atom[p];
            double x = s.Dx[p], y = s.Dy[p], z = s.Dz[p], inv = 1 / r;
            if (trim) { s.Atom[e] = j; s.R[e] = r; s.Dx[e] = x; s.Dy[e] = y; s.Dz[e] = z; }
            s.Type[e] = types[j];
            s.Ux[e] = x * inv; s.Uy[e] = y * inv; s.Uz[e] = z * inv;
            e++;
        }
        s.Entries = e;
    }

    /// <summary>Invariant values of the gathered agent into <see cref="AgentScratch.Values"/> (and caches for the gradient).</summary>
    internal void ComputeValues(AgentScratch s)
    {
        var values = s.Values.AsSpan(0, Count);
        values.Clear();
        int entries = s.Entries;
        int t = _species.Length;

        // (a) sorted distances: the k smallest per species by insertion into a short sorted list, all
        // species in one pass over the entries (each species still sees its entries in order).
        double rcSorted = Options.SortedCutoff;
        if (SortedTotal > 0)
        {
            Span<int> found = stackalloc int[t];
            found.Clear();
            var sortedEntry = s.SortedEntry;
            for (int e = 0; e < entries; e++)
            {
                int sp = s.Type[e];
                int kmax = SortedCounts[sp];
                double r = s.R[e];
                if (kmax == 0 || r >= rcSorted) continue;
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
                for (int q = found[sp]; q < SortedCounts[sp]; q++) { values[off + q] = rcSorted; sortedEntry[off + q] = -1; }
            }
        }

        // (b) radial sums, caching φ_n = g_n f_c and φ_n' per entry.
        int nr = Radial.Length;
        if (nr > 0)
        {
            double rc = Options.RadialCutoff;
            s.EnsureRadial(entries * nr);
            for (int e = 0; e < entries; e++)
            {
                double r = s.R[e];
                int baseIdx = e * nr;
                if (r >= rc)
                {
                    Array.Clear(s.Phi, baseIdx, nr); Array.Clear(s.DPhi, baseIdx, nr);
                    continue;
                }
                int vo = RadialOffset + s.Type[e] * nr;
                if (s.TabulatedRadial && _gaussCentre is not null && Vector256.IsHardwareAccelerated)
                {
                    TabulatedRow(r, s.Phi.AsSpan(baseIdx, nr), s.DPhi.AsSpan(baseIdx, nr), values.Slice(vo, nr));
                    continue;
                }
                double fc = SmoothCutoff.Value(r, rc, Options.CutoffPower, out var dfc); // the table already holds f_c
                if (_gaussCentre is not null && Vector256.IsHardwareAccelerated)
                {
                    GaussianRow(r, fc, dfc, s.Phi.AsSpan(baseIdx, nr), s.DPhi.AsSpan(baseIdx, nr), values.Slice(vo, nr));
                    continue;
                }
                for (int n = 0; n < nr; n++)
                {
                    double g = Radial[n].Value(r, out var dg);
                    double phi = g * fc;
                    s.Phi[baseIdx + n] = phi;
                    s.DPhi[baseIdx + n] = dg * fc + g * dfc;
                    values[vo + n] += phi;
                }
            }
        }

        // (c) angular sums over neighbour pairs.
        if (Degree > 0)
        {
            var none = default(NullGradientSink);
            AngularPass(s, values, gradient: false, ref none);
        }

        // (d) angles between sorted neighbours.
        if (AngleDegree > 0)
        {
            Span<double> p = stackalloc double[AngleDegree + 1], dp = stackalloc double[AngleDegree + 1];
            for (int a = 0; a < SortedAngleCount; a++)
            {
                if (!SortedAngleLegs(s.SortedEntry, s.AgentType, a, out int ej, out int ek)) continue;
                double c = s.Ux[ej] * s.Ux[ek] + s.Uy[ej] * s.Uy[ek] + s.Uz[ej] * s.Uz[ek];
                Legendre(c, AngleDegree, p, dp);
                for (int l = 1; l <= AngleDegree; l++) values[SortedAngleOffset + a * AngleDegree + l - 1] = p[l];
            }
        }

        // (e, f) smooth shells (InvariantSet.Shell.cs).
        if (_shells.Any) ShellValues(s, values);
    }

    /// <summary>
    /// The entries joined by sorted angle <paramref name="a"/> for an agent of species <paramref name="agentType"/> whose sorted
    /// slots are <paramref name="sortedEntry"/>; false when the angle is absent (another agent species', a leg missing, both legs one entry).
    /// </summary>
    internal bool SortedAngleLegs(ReadOnlySpan<int> sortedEntry, int agentType, int a, out int ej, out int ek)
    {
        int ra = _angleRefs[2 * a], rb = _angleRefs[2 * a + 1];
        if (_angleAgent[a] != -1 && _angleAgent[a] != agentType) { ej = ek = -1; return false; }
        ej = ra < 0 ? -1 : sortedEntry[ra];
        ek = rb < 0 ? -1 : sortedEntry[rb];
        return ej >= 0 && ek >= 0 && ej != ek;
    }

    /// <summary>
    /// φ_n = g_n f_c and φ_n' for every Gaussian of one entry, four at a time, and the sums. Vector256.Exp
    /// rather than Math.Exp: besides the SIMD, it avoids calling libm's legacy-SSE exp with dirty upper
    /// AVX registers, which costs ~25 ns a call on AVX-512 machines (measured: 5 ns → 28 ns).
    /// </summary>
    private void GaussianRow(double r, double fc, double dfc, Span<double> phi, Span<double> dphi, Span<double> sums)
    {
        int nr = phi.Length, w = Vector256<double>.Count;
        var centre = _gaussCentre!; var invWidth = _gaussInvWidth!;
        var vr = Vector256.Create(r); var vfc = Vector256.Create(fc); var vdfc = Vector256.Create(dfc);
        Span<double> tail = stackalloc double[2 * w];
        for (int n = 0; n < nr; n += w)
        {
            var iw = Vector256.Create(new ReadOnlySpan<double>(invWidth, n, w));
            var x = (vr - Vector256.Create(new ReadOnlySpan<double>(centre, n, w))) * iw;
            var g = Vector256.Exp(x * x * -0.5);
            var p = g * vfc;
            var dp = g * (vdfc - vfc * x * iw); // d(g f_c)/dr with dg/dr = −g x / w
            if (n + w <= nr)
            {
                p.CopyTo(phi[n..]);
                dp.CopyTo(dphi[n..]);
                (Vector256.Create((ReadOnlySpan<double>)sums[n..]) + p).CopyTo(sums[n..]);
                continue;
            }
            p.CopyTo(tail); dp.CopyTo(tail[w..]);
            for (int q = n; q < nr; q++) { phi[q] = tail[q - n]; dphi[q] = tail[w + q - n]; sums[q] += tail[q - n]; }
        }
    }

    /// <summary>
    /// φ_n(r) = g_n f_c and φ_n' on nodes r_m = m h, for cubic Hermite interpolation: per node, P values then
    /// P slopes times h (P = functions padded to whole vectors). Thread-safe lazy build (idempotent).
    /// </summary>
    private double[] Table()
    {
        if (Volatile.Read(ref _table) is { } built) return built;
        int nr = Radial.Length, pad = _gaussCentre!.Length;
        double rc = Options.RadialCutoff, h = TableSpacing;
        int nodes = (int)Math.Ceiling(rc / h) + 2;
        var table = new double[nodes * 2 * pad];
        for (int m = 0; m < nodes; m++)
        {
            double r = m * h;
            double fc = SmoothCutoff.Value(r, rc, Options.CutoffPower, out var dfc);
            for (int n = 0; n < nr; n++)
            {
                double g = Radial[n].Value(r, out var dg);
                table[m * 2 * pad + n] = g * fc;
                table[m * 2 * pad + pad + n] = (dg * fc + g * dfc) * h;
            }
        }
        _tablePad = pad;
        _tableNodes = nodes;
        Interlocked.CompareExchange(ref _table, table, null);
        return _table!;
    }

    /// <summary>φ_n, φ_n' and the sums for one entry from the Hermite table, four functions at a time.</summary>
    private void TabulatedRow(double r, Span<double> phi, Span<double> dphi, Span<double> sums)
    {
        var table = Table();
        int pad = _tablePad, nr = phi.Length, w = Vector256<double>.Count;
        double u = r / TableSpacing;
        int m = Math.Min((int)u, _tableNodes - 2);
        if (m < 0 || (m + 2) * 2 * pad > table.Length || sums.Length < nr || dphi.Length < nr) throw new IndexOutOfRangeException();
        double t = u - m, t2 = t * t, t3 = t2 * t;
        // Hermite basis and its derivative in t (slopes are stored times h, so d/dr = d/dt / h).
        var h00 = Vector256.Create(2 * t3 - 3 * t2 + 1); var h10 = Vector256.Create(t3 - 2 * t2 + t);
        var h01 = Vector256.Create(-2 * t3 + 3 * t2); var h11 = Vector256.Create(t3 - t2);
        double ih = 1 / TableSpacing;
        var d00 = Vector256.Create((6 * t2 - 6 * t) * ih); var d10 = Vector256.Create((3 * t2 - 4 * t + 1) * ih);
        var d01 = Vector256.Create((-6 * t2 + 6 * t) * ih); var d11 = Vector256.Create((3 * t2 - 2 * t) * ih);
        ref double node = ref table[m * 2 * pad];
        ref double ph = ref MemoryMarshal.GetReference(phi);
        ref double dph = ref MemoryMarshal.GetReference(dphi);
        ref double sum = ref MemoryMarshal.GetReference(sums);
        int n = 0;
        for (; n + w <= nr; n += w)
        {
            var f0 = Vector256.LoadUnsafe(ref node, (nuint)n); var s0 = Vector256.LoadUnsafe(ref node, (nuint)(pad + n));
            var f1 = Vector256.LoadUnsafe(ref node, (nuint)(2 * pad + n)); var s1 = Vector256.LoadUnsafe(ref node, (nuint)(3 * pad + n));
            var p = h00 * f0 + h10 * s0 + h01 * f1 + h11 * s1;
            (d00 * f0 + d10 * s0 + d01 * f1 + d11 * s1).StoreUnsafe(ref dph, (nuint)n);
            p.StoreUnsafe(ref ph, (nuint)n);
            (Vector256.LoadUnsafe(ref sum, (nuint)n) + p).StoreUnsafe(ref sum, (nuint)n);
        }
        for (; n < nr; n++) // functions beyond whole vectors
        {
            double f0 = Unsafe.Add(ref node, n), s0 = Unsafe.Add(ref node, pad + n), f1 = Unsafe.Add(ref node, 2 * pad + n), s1 = Unsafe.Add(ref node, 3 * pad + n);
            double p = h00[0] * f0 + h10[0] * s0 + h01[0] * f1 + h11[0] * s1;
            phi[n] = p;
            dphi[n] = d00[0] * f0 + d10[0] * s0 + d01[0] * f1 + d11[0] * s1;
            sums[n] += p;
        }
    }

    /// <summary>∂I_k/∂d_e for every invariant and entry, streamed into <paramref name="sink"/>. Call after <see cref="ComputeValues"/>.</summary>
    internal void ComputeGradient<TSink>(AgentScratch s, ref TSink sink) where TSink : struct, IGradientSink
    {
        int t = _species.Length;
        for (int sp = 0; sp < t; sp++)
        {
            int off = _sortedOffset[sp];
            for (int q = 0; q < SortedCounts[sp]; q++)
            {
                int e = s.SortedEntry[off + q];
                if (e >= 0) sink.Radial(off + q, e, 1.0);
            }
        }
        int nr = Radial.Length;
        if (nr > 0)
        {
            double rc = Options.RadialCutoff;
            for (int e = 0; e < s.Entries; e++)
            {
                if (s.R[e] >= rc) continue;
                int vo = RadialOffset + s.Type[e] * nr, baseIdx = e * nr;
                // The evaluator's sink contracts the row with λ in one SIMD dot (the JIT drops the other branch).
                if (typeof(TSink) == typeof(LossGradientSink))
                    Unsafe.As<TSink, LossGradientSink>(ref sink).RadialRow(vo, e, s.DPhi.AsSpan(baseIdx, nr));
                else
                    for (int n = 0; n < nr; n++) sink.Radial(vo + n, e, s.DPhi[baseIdx + n]);
            }
        }
        if (Degree > 0) AngularPass(s, default, gradient: true, ref sink);
        if (AngleDegree > 0)
        {
            Span<double> p = stackalloc double[AngleDegree + 1], dp = stackalloc double[AngleDegree + 1];
            for (int a = 0; a < SortedAngleCount; a++)
            {
                if (!SortedAngleLegs(s.SortedEntry, s.AgentType, a, out int ej, out int ek)) continue;
                double c = s.Ux[ej] * s.Ux[ek] + s.Uy[ej] * s.Uy[ek] + s.Uz[ej] * s.Uz[ek];
                Legendre(c, AngleDegree, p, dp);
                sink.BeginPair(s, ej, ek, c);
                for (int l = 1; l <= AngleDegree; l++) sink.Pair(SortedAngleOffset + a * AngleDegree + l - 1, 0, 0, dp[l]);
                sink.EndPair(s);
            }
        }
        if (_shells.Any) ShellGradient(s, ref sink);
        sink.EndAgent(s);
    }

    private void AngularPass<TSink>(AgentScratch s, Span<double> values, bool gradient, ref TSink sink) where TSink : struct, IGradientSink
    {
        int na = AngularRadial.Length, L = Degree, t = _species.Length;
        double rc = Options.AngularCutoff;
        if (!gradient)
        {
            // Collect entries inside the angular cutoff with h_n = g_n f_c and h_n'.
            int m = 0;
            s.EnsureAngular(s.Entries * na);
            for (int e = 0; e < s.Entries; e++)
            {
                double r = s.R[e];
                if (r >= rc) continue;
                double fc = SmoothCutoff.Value(r, rc, Options.CutoffPower, out var dfc);
                for (int n = 0; n < na; n++)
                {
                    double g = AngularRadial[n].Value(r, out var dg);
                    s.H[m * na + n] = g * fc;
                    s.DH[m * na + n] = dg * fc + g * dfc;
                }
                s.AngEntry[m++] = e;
            }
            s.AngCount = m;
        }
        Span<double> p = stackalloc double[L + 1];
        Span<double> dp = stackalloc double[L + 1];
        int count = s.AngCount;
        var h = s.H; var dh = s.DH;
        for (int a = 0; a < count; a++)
        {
            int ea = s.AngEntry[a];
            int ta = s.Type[ea];
            for (int b = a + 1; b < count; b++)
            {
                int eb = s.AngEntry[b];
                int tb = s.Type[eb];
                // Order the pair so species j ≤ species k (the layout's t ≤ u).
                int j = a, k = b, ej = ea, ek = eb, tj = ta, tk = tb;
                if (ta > tb) { j = b; k = a; ej = eb; ek = ea; tj = tb; tk = ta; }
                double c = s.Ux[ej] * s.Ux[ek] + s.Uy[ej] * s.Uy[ek] + s.Uz[ej] * s.Uz[ek];
                Legendre(c, L, p, dp);
                int pairBase = _pairBase[tj * t + tk];
                bool same = tj == tk;
                if (gradient) sink.BeginPair(s, ej, ek, c);
                int q = 0;
                for (int n = 0; n < na; n++)
                {
                    for (int mm = same ? n : 0; mm < na; mm++, q++)
                    {
                        double w, wj, wk; // weight and its derivatives with respect to r_j, r_k
                        double hjn = h[j * na + n], hkm = h[k * na + mm];
                        if (same)
                        {
                            double hjm = h[j * na + mm], hkn = h[k * na + n];
                            w = hjn * hkm + hjm * hkn;
                            if (w == 0 && !gradient) continue;
                            wj = dh[j * na + n] * hkm + dh[j * na + mm] * hkn;
                            wk = hjn * dh[k * na + mm] + hjm * dh[k * na + n];
                        }
                        else
                        {
                            w = hjn * hkm;
                            if (w == 0 && !gradient) continue;
                            wj = dh[j * na + n] * hkm;
                            wk = hjn * dh[k * na + mm];
                        }
                        int idx = pairBase + q * L - 1;
                        if (!gradient)
                            for (int l = 1; l <= L; l++) values[idx + l] += w * p[l];
                        else
                            for (int l = 1; l <= L; l++) sink.Pair(idx + l, wj * p[l], wk * p[l], w * dp[l]);
                    }
                }
                if (gradient) sink.EndPair(s);
            }
        }
    }

    /// <summary>Legendre polynomials P_0..P_L at x and their derivatives (Bonnet's recursion).</summary>
    internal static void Legendre(double x, int degree, Span<double> p, Span<double> dp)
    {
        p[0] = 1; dp[0] = 0;
        if (degree == 0) return;
        p[1] = x; dp[1] = 1;
        for (int l = 1; l < degree; l++)
        {
            p[l + 1] = ((2 * l + 1) * x * p[l] - l * p[l - 1]) / (l + 1);
            dp[l + 1] = dp[l - 1] + (2 * l + 1) * p[l];
        }
    }
}
