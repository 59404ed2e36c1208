using System.Globalization;
using System.Text.Json;
using MolecularLearning.Core;

namespace MolecularLearning.Learning;

/// <summary>
/// The angle at an agent of species <see cref="Agent"/> between its neighbours in two smooth shells, as
/// Σ_{j≠k} w_A(r_ij) w_B(r_ik) P_l(cos θ_jik), l = 1..Degree (unordered pairs when both legs are the same shell).
/// With the covalent O–H shell on both legs of an O it is exactly P_l of the H–O–H bend while the molecule is
/// intact, and stays smooth when a third H comes near: the smooth stand-in for the sorted angles (H1H2, O1O2...),
/// whose value jumps when the 2nd and 3rd nearest neighbours swap. Spec: shellAngle:L:O@H:on:off:H:on:off.
/// </summary>
public sealed record ShellAngle(string Agent, ShellWindow LegA, ShellWindow LegB, int Degree)
{
    public override string ToString() => $"{Agent}@{LegA.Species}{LegB.Species}";

    internal void Validate()
    {
        LegA.Validate($"shell angle {this}"); LegB.Validate($"shell angle {this}");
        if (Degree < 1 || Degree > 8) throw new DataException($"invariants: shell angle {this}: degree must be 1..8, got {Degree}");
    }

    internal static ShellAngle Parse(string[] parts, string raw)
    {
        var at = parts.Length == 8 ? parts[2].Split('@') : [];
        if (at.Length != 2 || at[0].Length == 0 || at[1].Length == 0)
            throw new DataException($"--basis: '{raw}': expected shellAngle:L:AGENT@A:on:off:B:on:off, e.g. shellAngle:3:O@H:1.15:1.45:H:1.15:1.45");
        if (!int.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var degree))
            throw new DataException($"--basis: '{raw}': '{parts[1]}' is not an integer");
        return new(at[0], ShellWindow.Parse([at[1], parts[3], parts[4]], 0, raw), ShellWindow.Parse(parts, 5, raw), degree);
    }
}

/// <summary>
/// (f) Shell angles: the <see cref="ShellAngle"/> items in order, each Degree invariants. Options: <see cref="InvariantOptions.ShellAngles"/>.
/// Model file: "shellAngles": [{"agent", "degree", "a": window, "b": window}], written only when used.
/// SIMD: SortedGaussianKernel.Shells.cs (with the shell sums: both pack the same few entries).
/// </summary>
internal sealed class ShellAngles : InvariantFamily
{
    public static readonly InvariantFamilyKind Kind = new KindImpl();
    public override InvariantFamilyKind Definition => Kind;

    private sealed class KindImpl : InvariantFamilyKind
    {
        public override string Name => "shellAngle";
        public override IReadOnlyList<string> Items { get; } = ["shellAngle"];
        public override string Syntax => "shellAngle:L:O@H:on:off:H:on:off";

        public override InvariantOptions Parse(string[] parts, string raw, double cutoff, InvariantOptions o) =>
            o with { ShellAngles = [.. o.ShellAngles, ShellAngle.Parse(parts, raw)] };

        public override void Validate(InvariantOptions o)
        {
            foreach (var a in o.ShellAngles) a.Validate();
        }

        public override double Cutoff(InvariantOptions o) => o.ShellAngles.Count == 0 ? 0 : o.ShellAngles.Max(a => Math.Max(a.LegA.Off, a.LegB.Off));

        public override void Write(Utf8JsonWriter w, InvariantOptions o)
        {
            if (o.ShellAngles.Count == 0) return;
            w.WriteStartArray("shellAngles");
            foreach (var a in o.ShellAngles)
            {
                w.WriteStartObject();
                w.WriteString("agent", a.Agent);
                w.WriteNumber("degree", a.Degree);
                w.WritePropertyName("a"); w.WriteStartObject(); a.LegA.Write(w); w.WriteEndObject();
                w.WritePropertyName("b"); w.WriteStartObject(); a.LegB.Write(w); w.WriteEndObject();
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }

        public override InvariantOptions Read(ModelFile.Reader r, JsonElement inv, InvariantOptions o)
        {
            if (!inv.TryGetProperty("shellAngles", out _)) return o;
            var list = new List<ShellAngle>();
            int i = 0;
            foreach (var e in r.Get(inv, "shellAngles", "invariants", JsonValueKind.Array).EnumerateArray())
            {
                string path = $"invariants.shellAngles[{i++}]";
                list.Add(new ShellAngle(r.String(e, "agent", path),
                    ShellWindow.Read(r, r.Get(e, "a", path, JsonValueKind.Object), path + ".a"),
                    ShellWindow.Read(r, r.Get(e, "b", path, JsonValueKind.Object), path + ".b"), r.Integer(e, "degree", path)));
            }
            return o with { ShellAngles = list };
        }

        public override InvariantFamily Bind(InvariantOptions o, Species[] species, int offset) => new ShellAngles(o, species, offset);
    }

    /// <summary>A shell angle resolved to species indices (−2: nobody sees it / a leg's species is absent); Same: both legs one shell (unordered pairs).</summary>
    public readonly struct Item(int agent, int typeA, int typeB, ShellWindow a, ShellWindow b, int degree, int offset)
    {
        public readonly int Agent = agent, TypeA = typeA, TypeB = typeB, Degree = degree, Offset = offset;
        public readonly ShellWindow A = a, B = b;
        public readonly bool Same = a == b;
    }

    private readonly ShellAngle[] _angles;
    private readonly int _maxDegree;

    private ShellAngles(InvariantOptions o, Species[] species, int offset) : base(offset, o.ShellAngles.Sum(a => a.Degree))
    {
        _angles = [.. o.ShellAngles];
        Items = new Item[_angles.Length];
        for (int q = 0, k = offset; q < _angles.Length; q++)
        {
            var a = _angles[q];
            Items[q] = new Item(IndexOf(species, a.Agent), IndexOf(species, a.LegA.Species), IndexOf(species, a.LegB.Species), a.LegA, a.LegB, a.Degree, k);
            k += a.Degree;
            _maxDegree = Math.Max(_maxDegree, a.Degree);
        }
    }

    private static int IndexOf(Species[] species, string symbol) => InvariantFamilyKind.IndexOf(species, symbol, -2);

    /// <summary>The shell angles in layout order.</summary>
    public Item[] Items { get; }

    public override void Labels(string[] labels, Species[] species)
    {
        for (int q = 0; q < _angles.Length; q++)
            for (int l = 1; l <= _angles[q].Degree; l++) labels[Items[q].Offset + l - 1] = $"P{l}(∠{_angles[q]}w)";
    }

    public override void Values(AgentScratch s, Span<double> values)
    {
        if (Items.Length == 0) return;
        Span<double> pl = stackalloc double[_maxDegree + 1], dpl = stackalloc double[_maxDegree + 1];
        foreach (ref readonly var a in Items.AsSpan())
        {
            if (a.Agent != s.AgentType || a.TypeA < 0 || a.TypeB < 0) continue;
            for (int ej = 0; ej < s.Entries; ej++)
            {
                if (s.Type[ej] != a.TypeA || s.R[ej] >= a.A.Off) continue;
                double wj = a.A.Weight(s.R[ej], out _);
                for (int ek = a.Same ? ej + 1 : 0; ek < s.Entries; ek++)
                {
                    if (ek == ej || s.Type[ek] != a.TypeB || s.R[ek] >= a.B.Off) continue;
                    double w = wj * a.B.Weight(s.R[ek], out _);
                    double c = s.Ux[ej] * s.Ux[ek] + s.Uy[ej] * s.Uy[ek] + s.Uz[ej] * s.Uz[ek];
                    InvariantSet.Legendre(c, a.Degree, pl, dpl);
                    for (int l = 1; l <= a.Degree; l++) values[a.Offset + l - 1] += w * pl[l];
                }
            }
        }
    }

    public override void Gradient<TSink>(AgentScratch s, ref TSink sink)
    {
        if (Items.Length == 0) return;
        Span<double> pl = stackalloc double[_maxDegree + 1], dpl = stackalloc double[_maxDegree + 1];
        foreach (ref readonly var a in Items.AsSpan())
        {
            if (a.Agent != s.AgentType || a.TypeA < 0 || a.TypeB < 0) continue;
            for (int ej = 0; ej < s.Entries; ej++)
            {
                if (s.Type[ej] != a.TypeA || s.R[ej] >= a.A.Off) continue;
                double wj = a.A.Weight(s.R[ej], out var dwj);
                for (int ek = a.Same ? ej + 1 : 0; ek < s.Entries; ek++)
                {
                    if (ek == ej || s.Type[ek] != a.TypeB || s.R[ek] >= a.B.Off) continue;
                    double wk = a.B.Weight(s.R[ek], out var dwk);
                    double c = s.Ux[ej] * s.Ux[ek] + s.Uy[ej] * s.Uy[ek] + s.Uz[ej] * s.Uz[ek];
                    InvariantSet.Legendre(c, a.Degree, pl, dpl);
                    sink.BeginPair(s, ej, ek, c);
                    for (int l = 1; l <= a.Degree; l++)
                        sink.Pair(a.Offset + l - 1, dwj * wk * pl[l], wj * dwk * pl[l], wj * wk * dpl[l]);
                    sink.EndPair(s);
                }
            }
        }
    }
}
