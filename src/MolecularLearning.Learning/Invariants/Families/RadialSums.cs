using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Text.Json;
using MolecularLearning.Core;

namespace MolecularLearning.Learning;

/// <summary>
/// (b) Radial sums: for each neighbour species t and radial function n, Σ_j φ_n(r_ij), φ_n = g_n f_c with the smooth
/// cutoff f_c = (1 − (r/r_c)²)^P. Spec: gauss:N[:from:to[:width]], inv:p1[:p2], fc:P (the power, shared with the angular
/// sums). Options: <see cref="InvariantOptions.RadialCutoff"/>, <see cref="InvariantOptions.Radial"/>,
/// <see cref="InvariantOptions.CutoffPower"/>. Model file: "radial": {"cutoff", "cutoffPower" (absent: 2), "functions"}.
/// SIMD: SortedGaussianKernel.RadialSums.cs (evenly spaced, equal-width Gaussians: <see cref="Ladder"/>).
/// </summary>
internal sealed class RadialSums : InvariantFamily
{
    public static readonly InvariantFamilyKind Kind = new KindImpl();
    public override InvariantFamilyKind Definition => Kind;

    private sealed class KindImpl : InvariantFamilyKind
    {
        public override string Name => "radial";
        public override IReadOnlyList<string> Items { get; } = ["gauss", "inv", "fc"];
        public override string Syntax => "gauss:N[:from:to[:width]], inv:p1[:p2], fc:P";

        public override InvariantOptions Parse(string[] parts, string raw, double cutoff, InvariantOptions o)
        {
            double D(int i) => InvariantOptions.Number(parts, i, raw);
            int I(int i) => InvariantOptions.Integer(parts, i, raw);
            switch (parts[0].ToLowerInvariant())
            {
                case "gauss":
                    return o with { Radial = [.. o.Radial, .. InvariantOptions.GaussianLadder(I(1), parts.Length > 2 ? D(2) : 0.8, parts.Length > 3 ? D(3) : cutoff - 0.5, parts.Length > 4 ? D(4) : null)] };
                case "inv":
                    var list = o.Radial.ToList();
                    for (int p = I(1); p <= (parts.Length > 2 ? I(2) : I(1)); p++) list.Add(RadialBasisFunction.InversePower(p));
                    return o with { Radial = list };
                default: // fc
                    return o with { CutoffPower = I(1) };
            }
        }

        public override void Validate(InvariantOptions o)
        {
            InvariantOptions.Positive(o.RadialCutoff, "radial cutoff");
            for (int i = 0; i < o.Radial.Count; i++) o.Radial[i].Validate($"invariants: radial function {i}");
            if (o.CutoffPower < 2 || o.CutoffPower > 8) throw new DataException($"invariants: cutoff power must be 2..8, got {o.CutoffPower}");
        }

        public override double Cutoff(InvariantOptions o) => o.Radial.Count > 0 ? o.RadialCutoff : 0;

        public override void Write(Utf8JsonWriter w, InvariantOptions o)
        {
            w.WritePropertyName("radial");
            w.WriteStartObject();
            w.WriteNumber("cutoff", o.RadialCutoff);
            if (o.CutoffPower != 2) w.WriteNumber("cutoffPower", o.CutoffPower); // absent: 2, as every older model
            WriteRadial(w, "functions", o.Radial);
            w.WriteEndObject();
        }

        public override InvariantOptions Read(ModelFile.Reader r, JsonElement inv, InvariantOptions o)
        {
            const string P = "invariants.radial";
            var radialEl = r.Get(inv, "radial", "invariants", JsonValueKind.Object);
            return o with
            {
                RadialCutoff = r.Number(radialEl, "cutoff", P),
                Radial = ReadRadial(r, radialEl, P),
                CutoffPower = radialEl.TryGetProperty("cutoffPower", out _) ? r.Integer(radialEl, "cutoffPower", P) : 2,
            };
        }

        public override InvariantFamily Bind(InvariantOptions o, Species[] species, int offset) => new RadialSums(o, species.Length, offset);
    }

    /// <summary>A list of radial functions as the model file's "functions" array (the radial and the angular sums').</summary>
    internal static void WriteRadial(Utf8JsonWriter w, string name, IReadOnlyList<RadialBasisFunction> functions)
    {
        w.WriteStartArray(name);
        foreach (var f in functions)
        {
            w.WriteStartObject();
            if (f.Kind == RadialKind.Gaussian)
            {
                w.WriteString("kind", "gaussian"); w.WriteNumber("centre", f.A); w.WriteNumber("width", f.B);
            }
            else
            {
                w.WriteString("kind", "inversePower"); w.WriteNumber("power", f.A);
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    internal static List<RadialBasisFunction> ReadRadial(ModelFile.Reader r, JsonElement parent, string path)
    {
        var arr = r.Get(parent, "functions", path, JsonValueKind.Array);
        var list = new List<RadialBasisFunction>();
        int i = 0;
        foreach (var f in arr.EnumerateArray())
        {
            string p = $"{path}.functions[{i++}]";
            var kind = r.String(f, "kind", p);
            list.Add(kind switch
            {
                "gaussian" => RadialBasisFunction.Gaussian(r.Number(f, "centre", p), r.Number(f, "width", p)),
                "inversePower" => new RadialBasisFunction(RadialKind.InversePower, r.Number(f, "power", p)),
                _ => throw r.Error(p + ".kind", $"unknown radial function '{kind}' (gaussian, inversePower)"),
            });
            try { list[^1].Validate(p); }
            catch (DataException e) { throw r.Error(p, e.Message); }
        }
        return list;
    }

    private readonly double[]? _gaussCentre, _gaussInvWidth; // set when every radial function is a Gaussian
    private double[]? _table;                                 // cubic Hermite table of φ_n and h φ_n', built on first use
    private int _tablePad, _tableNodes;
    /// <summary>Node spacing (Å) of the radial table: interpolation error ~1e-11 in φ, ~1e-9 in φ' for the default Gaussians.</summary>
    public const double TableSpacing = 0.002;

    private RadialSums(InvariantOptions o, int species, int offset) : base(offset, species * o.Radial.Count)
    {
        Functions = [.. o.Radial];
        Radius = o.RadialCutoff;
        CutoffPower = o.CutoffPower;
        // All-Gaussian radial families (the default) take a SIMD path: centres and inverse widths padded to whole vectors.
        if (Functions.Length > 0 && Functions.All(f => f.Kind == RadialKind.Gaussian))
        {
            int padded = (Functions.Length + Vector256<double>.Count - 1) / Vector256<double>.Count * Vector256<double>.Count;
            _gaussCentre = new double[padded];
            _gaussInvWidth = new double[padded];
            for (int n = 0; n < Functions.Length; n++) { _gaussCentre[n] = Functions[n].A; _gaussInvWidth[n] = 1 / Functions[n].B; }
        }
    }

    /// <summary>g_n, n = 0..N−1; the sums of neighbour species t are invariants Offset + t·N + n.</summary>
    public RadialBasisFunction[] Functions { get; }
    /// <summary>r_c of f_c (Å).</summary>
    public double Radius { get; }
    /// <summary>P of f_c = (1 − (r/r_c)²)^P.</summary>
    public int CutoffPower { get; }

    /// <summary>
    /// The Gaussians as the SIMD kernel's ladder: first centre μ_0, 1/width and δ = spacing/width, when they are evenly
    /// spaced Gaussians of one width that its exp(δ x) recurrence handles within <paramref name="listCutoff"/>; otherwise
    /// <paramref name="why"/> says why not. No functions: an empty ladder (N = 0).
    /// </summary>
    public bool Ladder(double listCutoff, out double mu0, out double invWidth, out double delta, out string? why)
    {
        mu0 = invWidth = delta = 0; why = null;
        var radial = Functions;
        if (radial.Length == 0) return true;
        for (int n = 0; n < radial.Length; n++)
            if (radial[n].Kind != RadialKind.Gaussian) { why = $"radial function {n} is {radial[n].Kind}, not a Gaussian"; return false; }
        double width = radial[0].B;
        mu0 = radial[0].A;
        double spacing = radial.Length > 1 ? (radial[^1].A - mu0) / (radial.Length - 1) : 0;
        for (int n = 0; n < radial.Length; n++)
        {
            if (Math.Abs(radial[n].B - width) > 1e-12 * width) { why = "the radial Gaussians differ in width"; return false; }
            if (Math.Abs(radial[n].A - (mu0 + n * spacing)) > 1e-12 * Math.Max(1, Math.Abs(mu0) + Math.Abs(spacing) * n)) { why = "the radial Gaussians are not evenly spaced"; return false; }
        }
        // The recurrence multiplies exp(−x_0²/2) by exp(δ x_0) up to N−1 times: keep both far from under/overflow.
        double x0 = Math.Max(Math.Abs(mu0), Math.Abs(2 * listCutoff - mu0)) / width;
        if (x0 > 25 || x0 * spacing / width * radial.Length > 600) { why = "the radial Gaussians are too narrow for the kernel's exp(δ x) ladder"; return false; }
        invWidth = 1 / radial[0].B;
        delta = radial.Length > 1 ? (radial[^1].A - mu0) / (radial.Length - 1) * invWidth : 0;
        return true;
    }

    public override void Labels(string[] labels, Species[] species)
    {
        for (int s = 0; s < species.Length; s++)
            for (int n = 0; n < Functions.Length; n++) labels[Offset + s * Functions.Length + n] = $"{Functions[n].Label}({species[s].Symbol})";
    }

    /// <summary>The sums, caching φ_n = g_n f_c and φ_n' per entry for the gradient.</summary>
    public override void Values(AgentScratch s, Span<double> values)
    {
        int nr = Functions.Length, entries = s.Entries;
        if (nr == 0) return;
        double rc = Radius;
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
            int vo = Offset + s.Type[e] * nr;
            if (s.TabulatedRadial && _gaussCentre is not null && Vector256.IsHardwareAccelerated)
            {
                TabulatedRow(r, s.Phi.AsSpan(baseIdx, nr), s.DPhi.AsSpan(baseIdx, nr), values.Slice(vo, nr));
                continue;
            }
            double fc = SmoothCutoff.Value(r, rc, CutoffPower, out var dfc); // the table already holds f_c
            if (_gaussCentre is not null && Vector256.IsHardwareAccelerated)
            {
                GaussianRow(r, fc, dfc, s.Phi.AsSpan(baseIdx, nr), s.DPhi.AsSpan(baseIdx, nr), values.Slice(vo, nr));
                continue;
            }
            for (int n = 0; n < nr; n++)
            {
                double g = Functions[n].Value(r, out var dg);
                double phi = g * fc;
                s.Phi[baseIdx + n] = phi;
                s.DPhi[baseIdx + n] = dg * fc + g * dfc;
                values[vo + n] += phi;
            }
        }
    }

    /// <summary>∂I/∂d_e = φ_n'(r_e) u_e from the cached slopes.</summary>
    public override void Gradient<TSink>(AgentScratch s, ref TSink sink)
    {
        int nr = Functions.Length;
        if (nr == 0) return;
        double rc = Radius;
        for (int e = 0; e < s.Entries; e++)
        {
            if (s.R[e] >= rc) continue;
            int vo = Offset + s.Type[e] * nr, baseIdx = e * nr;
            // The evaluator's sink contracts the row with λ in one SIMD dot (the JIT drops the other branch).
            if (typeof(TSink) == typeof(LossGradientSink))
                Unsafe.As<TSink, LossGradientSink>(ref sink).RadialRow(vo, e, s.DPhi.AsSpan(baseIdx, nr));
            else
                for (int n = 0; n < nr; n++) sink.Radial(vo + n, e, s.DPhi[baseIdx + n]);
        }
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
        int nr = Functions.Length, pad = _gaussCentre!.Length;
        double rc = Radius, h = TableSpacing;
        int nodes = (int)Math.Ceiling(rc / h) + 2;
        var table = new double[nodes * 2 * pad];
        for (int m = 0; m < nodes; m++)
        {
            double r = m * h;
            double fc = SmoothCutoff.Value(r, rc, CutoffPower, out var dfc);
            for (int n = 0; n < nr; n++)
            {
                double g = Functions[n].Value(r, out var dg);
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
}
