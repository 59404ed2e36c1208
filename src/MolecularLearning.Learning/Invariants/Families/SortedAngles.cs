using System.Globalization;
using System.Text.Json;
using MolecularLearning.Core;

namespace MolecularLearning.Learning;

/// <summary>
/// The angle at the agent between its RankA-th nearest neighbour of species A and RankB-th nearest of B (ranks
/// from 1); with <see cref="Agent"/> set, only agents of that species see it (others get a constant 0), so an
/// angle whose ranks swap often for one species does not add jumps there.
/// </summary>
public readonly record struct SortedAngle(string A, int RankA, string B, int RankB, string? Agent = null)
{
    public override string ToString() => (Agent is null ? "" : Agent + "@") + $"{A}{RankA}{B}{RankB}";

    /// <summary>Parses "H1H2", "O1H1" or "O@H1H2" (only for O agents).</summary>
    public static SortedAngle Parse(string text, string context)
    {
        var m = System.Text.RegularExpressions.Regex.Match(text, "^(?:([A-Z][a-z]?)@)?([A-Z][a-z]?)([0-9]+)([A-Z][a-z]?)([0-9]+)$");
        if (!m.Success) throw new DataException($"--basis: '{context}': expected an angle like H1H2, O1H1 or O@H1H2, got '{text}'");
        return new(m.Groups[2].Value, int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture),
            m.Groups[4].Value, int.Parse(m.Groups[5].Value, CultureInfo.InvariantCulture),
            m.Groups[1].Success ? m.Groups[1].Value : null);
    }
}

/// <summary>
/// (d) Sorted angles: P_1..P_L of the cosine of each <see cref="SortedAngle"/>, the angle at the agent between two of its
/// sorted neighbours: the H–O–H bend seen by an O, the O–H···O line seen by an H. Bounded (|P_l| ≤ 1), so they cannot
/// switch on far from the data as steep sums can. Needs the sorted distances' slots. Spec: angles:L:H1H2:O1H1:O@O1O2.
/// Options: <see cref="InvariantOptions.SortedAngleDegree"/>, <see cref="InvariantOptions.SortedAngles"/>. Model file:
/// "sortedAngles": {"maxDegree", "angles": [{"a", "rankA", "b", "rankB", "agent"?}]}. SIMD: SortedGaussianKernel.SortedAngles.cs.
/// </summary>
internal sealed class SortedAngles : InvariantFamily
{
    public static readonly InvariantFamilyKind Kind = new KindImpl();
    public override InvariantFamilyKind Definition => Kind;

    private sealed class KindImpl : InvariantFamilyKind
    {
        public override string Name => "angles";
        public override IReadOnlyList<string> Items { get; } = ["angles"];
        public override string Syntax => "angles:L:H1H2[:O@O1O2...]";

        public override InvariantOptions Parse(string[] parts, string raw, double cutoff, InvariantOptions o)
        {
            int degree = InvariantOptions.Integer(parts, 1, raw);
            var angles = o.SortedAngles.ToList();
            for (int i = 2; i < parts.Length; i++) angles.Add(SortedAngle.Parse(parts[i], raw));
            return o with { SortedAngleDegree = degree, SortedAngles = angles };
        }

        /// <summary>No angles without a degree.</summary>
        public override InvariantOptions FinishParse(InvariantOptions o) => o.SortedAngleDegree > 0 ? o : o with { SortedAngles = [] };

        public override void Validate(InvariantOptions o)
        {
            if (o.SortedAngleDegree < 0 || o.SortedAngleDegree > 8) throw new DataException($"invariants: sorted-angle degree must be 0..8, got {o.SortedAngleDegree}");
            foreach (var a in o.SortedAngles)
            {
                int ka = o.SortedCounts.TryGetValue(a.A, out var x) ? x : 0, kb = o.SortedCounts.TryGetValue(a.B, out var y) ? y : 0;
                if (a.RankA < 1 || a.RankB < 1 || a.RankA > ka || a.RankB > kb || (a.A == a.B && a.RankA == a.RankB))
                    throw new DataException($"invariants: sorted angle {a} needs two different ranks within the sorted counts ({a.A}: {ka}, {a.B}: {kb})");
            }
        }

        /// <summary>Within the sorted distances' radius, which already counts.</summary>
        public override double Cutoff(InvariantOptions o) => 0;

        public override void Write(Utf8JsonWriter w, InvariantOptions o)
        {
            w.WritePropertyName("sortedAngles");
            w.WriteStartObject();
            w.WriteNumber("maxDegree", o.SortedAngleDegree);
            w.WriteStartArray("angles");
            foreach (var a in o.SortedAngles)
            {
                w.WriteStartObject();
                w.WriteString("a", a.A); w.WriteNumber("rankA", a.RankA);
                w.WriteString("b", a.B); w.WriteNumber("rankB", a.RankB);
                if (a.Agent is not null) w.WriteString("agent", a.Agent);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }

        /// <summary>Optional (older model files have none).</summary>
        public override InvariantOptions Read(ModelFile.Reader r, JsonElement inv, InvariantOptions o)
        {
            if (!inv.TryGetProperty("sortedAngles", out var anglesEl)) return o;
            const string A = "invariants.sortedAngles";
            var list = new List<SortedAngle>();
            int i = 0;
            foreach (var a in r.Get(anglesEl, "angles", A, JsonValueKind.Array).EnumerateArray())
            {
                string path = $"{A}.angles[{i++}]";
                string? agent = a.TryGetProperty("agent", out _) ? r.String(a, "agent", path) : null;
                list.Add(new SortedAngle(r.String(a, "a", path), r.Integer(a, "rankA", path), r.String(a, "b", path), r.Integer(a, "rankB", path), agent));
            }
            return o with { SortedAngleDegree = r.Integer(anglesEl, "maxDegree", A), SortedAngles = list };
        }

        public override InvariantFamily Bind(InvariantOptions o, Species[] species, int offset) => new SortedAngles(o, species, offset);
    }

    private readonly int[] _angleRefs;  // per sorted angle: the two sorted slots it joins (−1: a species the data lacks)
    private readonly int[] _angleAgent; // per sorted angle: the agent species that sees it, −1 for all, −2 for none
    private readonly SortedAngle[] _angles;

    private SortedAngles(InvariantOptions o, Species[] species, int offset)
        : base(offset, o.SortedAngleDegree > 0 ? o.SortedAngles.Count * o.SortedAngleDegree : 0)
    {
        Degree = o.SortedAngleDegree;
        _angles = [.. o.SortedAngles];
        _angleRefs = new int[2 * _angles.Length];
        _angleAgent = new int[_angles.Length];
        // The slots of the sorted distances, laid out first (offset 0) per neighbour species.
        var slot = new int[species.Length];
        for (int s = 0, k = 0; s < species.Length; s++) { slot[s] = k; k += o.SortedCounts.TryGetValue(species[s].Symbol, out var c) ? c : 0; }
        for (int a = 0; a < _angles.Length; a++)
        {
            var angle = _angles[a];
            int ta = InvariantFamilyKind.IndexOf(species, angle.A, -1), tb = InvariantFamilyKind.IndexOf(species, angle.B, -1);
            // An angle to a species the data lacks never exists: −1 marks it constant (zero).
            _angleRefs[2 * a] = ta < 0 ? -1 : slot[ta] + angle.RankA - 1;
            _angleRefs[2 * a + 1] = tb < 0 ? -1 : slot[tb] + angle.RankB - 1;
            // An angle for an agent species the model lacks is seen by nobody (−2).
            int agent = InvariantFamilyKind.IndexOf(species, angle.Agent, -1);
            _angleAgent[a] = angle.Agent is null ? -1 : agent >= 0 ? agent : -2;
        }
    }

    /// <summary>L: P_1..P_L per angle.</summary>
    public int Degree { get; }
    /// <summary>The angles (each with <see cref="Degree"/> invariants, angle a's from Offset + a·L).</summary>
    public int Angles => _angles.Length;

    public override void Labels(string[] labels, Species[] species)
    {
        if (Degree == 0) return;
        for (int a = 0; a < _angles.Length; a++)
            for (int l = 1; l <= Degree; l++) labels[Offset + a * Degree + l - 1] = $"P{l}(∠{_angles[a]})";
    }

    /// <summary>
    /// The entries joined by sorted angle <paramref name="a"/> for an agent of species <paramref name="agentType"/> whose sorted
    /// slots are <paramref name="sortedEntry"/>; false when the angle is absent (another agent species', a leg missing, both legs one entry).
    /// </summary>
    public bool Legs(ReadOnlySpan<int> sortedEntry, int agentType, int a, out int ej, out int ek)
    {
        int ra = _angleRefs[2 * a], rb = _angleRefs[2 * a + 1];
        if (_angleAgent[a] != -1 && _angleAgent[a] != agentType) { ej = ek = -1; return false; }
        ej = ra < 0 ? -1 : sortedEntry[ra];
        ek = rb < 0 ? -1 : sortedEntry[rb];
        return ej >= 0 && ek >= 0 && ej != ek;
    }

    public override void Values(AgentScratch s, Span<double> values)
    {
        if (Degree == 0) return;
        Span<double> p = stackalloc double[Degree + 1], dp = stackalloc double[Degree + 1];
        for (int a = 0; a < _angles.Length; a++)
        {
            if (!Legs(s.SortedEntry, s.AgentType, a, out int ej, out int ek)) continue;
            double c = s.Ux[ej] * s.Ux[ek] + s.Uy[ej] * s.Uy[ek] + s.Uz[ej] * s.Uz[ek];
            InvariantSet.Legendre(c, Degree, p, dp);
            for (int l = 1; l <= Degree; l++) values[Offset + a * Degree + l - 1] = p[l];
        }
    }

    public override void Gradient<TSink>(AgentScratch s, ref TSink sink)
    {
        if (Degree == 0) return;
        Span<double> p = stackalloc double[Degree + 1], dp = stackalloc double[Degree + 1];
        for (int a = 0; a < _angles.Length; a++)
        {
            if (!Legs(s.SortedEntry, s.AgentType, a, out int ej, out int ek)) continue;
            double c = s.Ux[ej] * s.Ux[ek] + s.Uy[ej] * s.Uy[ek] + s.Uz[ej] * s.Uz[ek];
            InvariantSet.Legendre(c, Degree, p, dp);
            sink.BeginPair(s, ej, ek, c);
            for (int l = 1; l <= Degree; l++) sink.Pair(Offset + a * Degree + l - 1, 0, 0, dp[l]);
            sink.EndPair(s);
        }
    }
}
