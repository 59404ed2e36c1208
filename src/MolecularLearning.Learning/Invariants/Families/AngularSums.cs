using System.Text.Json;
using MolecularLearning.Core;

namespace MolecularLearning.Learning;

/// <summary>
/// (c) Angular sums: for each neighbour species pair t ≤ u, radial pair (n, m) (n ≤ m when t = u) and degree l = 1..L,
/// Σ over neighbour pairs j, k inside the angular cutoff of h_n(r_ij) h_m(r_ik) P_l(cos θ_jik), h_n = g_n f_c (the pair
/// counted once, the weight symmetrised over (n, m) when t = u). Spec: angular:L[:rc], angularGauss:N:from:to[:width]
/// (default h_n: <see cref="InvariantOptions.DefaultAngularRadial"/>). Options: <see cref="InvariantOptions.AngularDegree"/>,
/// <see cref="InvariantOptions.AngularCutoff"/>, <see cref="InvariantOptions.AngularRadial"/>, the radial sums'
/// <see cref="InvariantOptions.CutoffPower"/>. Model file: "angular": {"cutoff", "maxDegree", "functions"}.
/// SIMD: SortedGaussianKernel.AngularSums.cs.
/// </summary>
internal sealed class AngularSums : InvariantFamily
{
    public static readonly InvariantFamilyKind Kind = new KindImpl();
    public override InvariantFamilyKind Definition => Kind;

    private sealed class KindImpl : InvariantFamilyKind
    {
        public override string Name => "angular";
        public override IReadOnlyList<string> Items { get; } = ["angular", "angularGauss"];
        public override string Syntax => "angular:L[:rc], angularGauss:N:from:to[:width]";

        public override InvariantOptions Parse(string[] parts, string raw, double cutoff, InvariantOptions o)
        {
            double D(int i) => InvariantOptions.Number(parts, i, raw);
            int I(int i) => InvariantOptions.Integer(parts, i, raw);
            if (parts[0].Equals("angular", StringComparison.OrdinalIgnoreCase))
            {
                int degree = I(1);
                return parts.Length > 2 ? o with { AngularDegree = degree, AngularCutoff = D(2) } : o with { AngularDegree = degree };
            }
            return o with { AngularRadial = [.. o.AngularRadial, .. InvariantOptions.GaussianLadder(I(1), D(2), D(3), parts.Length > 4 ? D(4) : null)] };
        }

        /// <summary>The default h_n when only a degree is given; no functions without a degree.</summary>
        public override InvariantOptions FinishParse(InvariantOptions o) =>
            o.AngularDegree <= 0 ? o with { AngularRadial = [] }
            : o.AngularRadial.Count == 0 ? o with { AngularRadial = InvariantOptions.DefaultAngularRadial } : o;

        public override void Validate(InvariantOptions o)
        {
            InvariantOptions.Positive(o.AngularCutoff, "angular cutoff");
            for (int i = 0; i < o.AngularRadial.Count; i++) o.AngularRadial[i].Validate($"invariants: angular function {i}");
            if (o.AngularDegree < 0 || o.AngularDegree > 8) throw new DataException($"invariants: angular degree must be 0..8, got {o.AngularDegree}");
        }

        public override double Cutoff(InvariantOptions o) => o.AngularDegree > 0 && o.AngularRadial.Count > 0 ? o.AngularCutoff : 0;

        public override void Write(Utf8JsonWriter w, InvariantOptions o)
        {
            w.WritePropertyName("angular");
            w.WriteStartObject();
            w.WriteNumber("cutoff", o.AngularCutoff);
            w.WriteNumber("maxDegree", o.AngularDegree);
            RadialSums.WriteRadial(w, "functions", o.AngularRadial);
            w.WriteEndObject();
        }

        public override InvariantOptions Read(ModelFile.Reader r, JsonElement inv, InvariantOptions o)
        {
            const string P = "invariants.angular";
            var angularEl = r.Get(inv, "angular", "invariants", JsonValueKind.Object);
            return o with
            {
                AngularCutoff = r.Number(angularEl, "cutoff", P),
                AngularDegree = r.Integer(angularEl, "maxDegree", P),
                AngularRadial = RadialSums.ReadRadial(r, angularEl, P),
            };
        }

        public override InvariantFamily Bind(InvariantOptions o, Species[] species, int offset) => new AngularSums(o, species.Length, offset);
    }

    private readonly int[] _pairBase; // [t · T + u] (t ≤ u): first invariant of the species pair
    private readonly int _species;

    private AngularSums(InvariantOptions o, int species, int offset) : base(offset, CountOf(o, species))
    {
        _species = species;
        Functions = o.AngularDegree > 0 ? [.. o.AngularRadial] : [];
        Degree = Functions.Length > 0 ? o.AngularDegree : 0;
        Radius = o.AngularCutoff;
        CutoffPower = o.CutoffPower;
        _pairBase = new int[species * species];
        int na = Functions.Length, k = offset;
        if (Degree > 0)
            for (int a = 0; a < species; a++)
                for (int b = a; b < species; b++)
                {
                    _pairBase[a * species + b] = k;
                    k += (a == b ? na * (na + 1) / 2 : na * na) * Degree;
                }
    }

    private static int CountOf(InvariantOptions o, int species)
    {
        int na = o.AngularDegree > 0 ? o.AngularRadial.Count : 0, degree = na > 0 ? o.AngularDegree : 0;
        return species * (species - 1) / 2 * na * na * degree + species * na * (na + 1) / 2 * degree;
    }

    /// <summary>h_n before the cutoff (Gaussians for the SIMD kernel).</summary>
    public RadialBasisFunction[] Functions { get; }
    /// <summary>L: degrees 1..L (0: the family is empty).</summary>
    public int Degree { get; }
    /// <summary>r_c of the angular f_c (Å).</summary>
    public double Radius { get; }
    public int CutoffPower { get; }

    /// <summary>
    /// First invariant of neighbour species pair (<paramref name="t"/>, <paramref name="u"/>), t ≤ u; then per radial pair
    /// (n, m), n-major (m ≥ n when t = u), the degrees l = 1..<see cref="Degree"/>.
    /// </summary>
    public int PairBase(int t, int u) =>
        t <= u && u < _species ? _pairBase[t * _species + u] : throw new ArgumentOutOfRangeException(nameof(u));

    public override void Labels(string[] labels, Species[] species)
    {
        if (Degree == 0) return;
        int t = species.Length, na = Functions.Length;
        for (int a = 0; a < t; a++)
            for (int b = a; b < t; b++)
            {
                int q = 0;
                for (int n = 0; n < na; n++)
                    for (int m = a == b ? n : 0; m < na; m++, q++)
                        for (int l = 1; l <= Degree; l++)
                            labels[_pairBase[a * t + b] + q * Degree + l - 1] = $"P{l}({species[a].Symbol}{n + 1},{species[b].Symbol}{m + 1})";
            }
    }

    public override void Values(AgentScratch s, Span<double> values)
    {
        if (Degree == 0) return;
        var none = default(NullGradientSink);
        Pass(s, values, gradient: false, ref none);
    }

    public override void Gradient<TSink>(AgentScratch s, ref TSink sink)
    {
        if (Degree > 0) Pass(s, default, gradient: true, ref sink);
    }

    /// <summary>The values (collecting the entries inside the cutoff with h_n, h_n' first), or the gradient from those.</summary>
    private void Pass<TSink>(AgentScratch s, Span<double> values, bool gradient, ref TSink sink) where TSink : struct, IGradientSink
    {
        int na = Functions.Length, L = Degree, t = _species;
        double rc = Radius;
        if (!gradient)
        {
            // Collect entries inside the angular cutoff with h_n = g_n f_c and h_n'.
            int m = 0;
            s.EnsureAngular(s.Entries * na);
            for (int e = 0; e < s.Entries; e++)
            {
                double r = s.R[e];
                if (r >= rc) continue;
                double fc = SmoothCutoff.Value(r, rc, CutoffPower, out var dfc);
                for (int n = 0; n < na; n++)
                {
                    double g = Functions[n].Value(r, out var dg);
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
                InvariantSet.Legendre(c, L, p, dp);
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
}
