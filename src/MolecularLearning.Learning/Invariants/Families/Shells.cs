using System.Globalization;
using System.Text.Json;
using MolecularLearning.Core;

namespace MolecularLearning.Learning;

/// <summary>
/// A smooth shell of neighbours of one species: weight w(r) = 1 up to <see cref="On"/>, 0 from <see cref="Off"/>,
/// and in between 1 − S(x), x = (r − on)/(off − on), S(x) = 35x⁴ − 84x⁵ + 70x⁶ − 20x⁷. S has zero first, second
/// and third derivatives at both ends, so anything built from w is C³ in the positions: no energy or force jumps
/// when a neighbour enters or leaves the shell (unlike ranks, whose gradient jumps when two neighbours swap).
/// </summary>
public readonly record struct ShellWindow(string Species, double On, double Off)
{
    /// <summary>w(r) and dw/dr.</summary>
    public double Weight(double r, out double derivative)
    {
        if (r <= On) { derivative = 0; return 1; }
        if (r >= Off) { derivative = 0; return 0; }
        double width = Off - On, x = (r - On) / width, x2 = x * x, x3 = x2 * x, y = 1 - x;
        derivative = -140 * x3 * y * y * y / width;
        return 1 - x3 * x * (35 + x * (-84 + x * (70 - 20 * x)));
    }

    public override string ToString() => FormattableString.Invariant($"{Species}:{On}:{Off}");

    internal void Validate(string what)
    {
        if (!(On > 0 && Off > On && double.IsFinite(Off)))
            throw new DataException($"invariants: {what}: shell {this} needs 0 < on < off (Å)");
    }

    internal static ShellWindow Parse(string[] parts, int at, string raw) =>
        new(parts[at], InvariantOptions.Number(parts, at + 1, raw), InvariantOptions.Number(parts, at + 2, raw));

    /// <summary>"species", "on", "off" of a model-file object.</summary>
    internal void Write(Utf8JsonWriter w)
    {
        w.WriteString("species", Species); w.WriteNumber("on", On); w.WriteNumber("off", Off);
    }

    internal static ShellWindow Read(ModelFile.Reader r, JsonElement e, string path) =>
        new(r.String(e, "species", path), r.Number(e, "on", path), r.Number(e, "off", path));
}

/// <summary>
/// Shell polynomials seen by agents of species <see cref="Agent"/>: I_n = Σ_j (r_ij − on)^n w(r_ij), n = 1..Degree,
/// over neighbours j of the window's species: the summed stretch of the bonds in the shell (n = 1) and its
/// powers. With a loss quadratic in them the restoring force grows with the stretch, as with sorted distances,
/// but nothing jumps when two neighbours swap rank. No n = 0 (the smooth count Σ w): on water it is exactly 2
/// (O) or 1 (H) on every training frame, so there is nothing to fit to it. Spec: shell:O-H:on:off:N.
/// </summary>
public sealed record ShellSum(string Agent, ShellWindow Window, int Degree)
{
    public override string ToString() => FormattableString.Invariant($"{Agent}-{Window.Species}:{Window.On}:{Window.Off}:{Degree}");

    internal void Validate()
    {
        Window.Validate("shell");
        if (Degree < 1 || Degree > 8) throw new DataException($"invariants: shell {this}: degree must be 1..8, got {Degree}");
    }

    internal static ShellSum Parse(string[] parts, string raw)
    {
        var pair = parts.Length == 5 ? parts[1].Split('-') : [];
        if (pair.Length != 2 || pair[0].Length == 0 || pair[1].Length == 0)
            throw new DataException($"--basis: '{raw}': expected shell:AGENT-NEIGHBOUR:on:off:N, e.g. shell:O-H:1.15:1.45:2");
        var window = ShellWindow.Parse([pair[1], parts[2], parts[3]], 0, raw);
        if (!int.TryParse(parts[4], NumberStyles.Integer, CultureInfo.InvariantCulture, out var n))
            throw new DataException($"--basis: '{raw}': '{parts[4]}' is not an integer");
        return new(pair[0], window, n);
    }
}

/// <summary>
/// (e) Smooth shells: the <see cref="ShellSum"/> items in order, each Degree invariants. Options: <see cref="InvariantOptions.Shells"/>.
/// Model file: "shells": [{"agent", "species", "on", "off", "degree"}], written only when used (older files keep their bytes).
/// SIMD: SortedGaussianKernel.Shells.cs (with the shell angles: both pack the same few entries).
/// </summary>
internal sealed class Shells : InvariantFamily
{
    public static readonly InvariantFamilyKind Kind = new KindImpl();
    public override InvariantFamilyKind Definition => Kind;

    private sealed class KindImpl : InvariantFamilyKind
    {
        public override string Name => "shell";
        public override IReadOnlyList<string> Items { get; } = ["shell"];
        public override string Syntax => "shell:O-H:on:off:N";

        public override InvariantOptions Parse(string[] parts, string raw, double cutoff, InvariantOptions o) =>
            o with { Shells = [.. o.Shells, ShellSum.Parse(parts, raw)] };

        public override void Validate(InvariantOptions o)
        {
            foreach (var sh in o.Shells) sh.Validate();
        }

        public override double Cutoff(InvariantOptions o) => o.Shells.Count == 0 ? 0 : o.Shells.Max(sh => sh.Window.Off);

        public override void Write(Utf8JsonWriter w, InvariantOptions o)
        {
            if (o.Shells.Count == 0) return;
            w.WriteStartArray("shells");
            foreach (var sh in o.Shells)
            {
                w.WriteStartObject();
                w.WriteString("agent", sh.Agent);
                sh.Window.Write(w);
                w.WriteNumber("degree", sh.Degree);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }

        public override InvariantOptions Read(ModelFile.Reader r, JsonElement inv, InvariantOptions o)
        {
            if (!inv.TryGetProperty("shells", out _)) return o;
            var list = new List<ShellSum>();
            int i = 0;
            foreach (var e in r.Get(inv, "shells", "invariants", JsonValueKind.Array).EnumerateArray())
            {
                string path = $"invariants.shells[{i++}]";
                list.Add(new ShellSum(r.String(e, "agent", path), ShellWindow.Read(r, e, path), r.Integer(e, "degree", path)));
            }
            return o with { Shells = list };
        }

        public override InvariantFamily Bind(InvariantOptions o, Species[] species, int offset) => new Shells(o, species, offset);
    }

    /// <summary>A shell sum resolved to species indices (−2: nobody sees it / the neighbour species is absent).</summary>
    public readonly struct Item(int agent, int type, ShellWindow window, int degree, int offset)
    {
        public readonly int Agent = agent, Type = type, Degree = degree, Offset = offset;
        public readonly ShellWindow Window = window;
        public readonly double On = window.On, Off = window.Off;
    }

    private readonly ShellSum[] _sums;

    private Shells(InvariantOptions o, Species[] species, int offset) : base(offset, o.Shells.Sum(sh => sh.Degree))
    {
        _sums = [.. o.Shells];
        Items = new Item[_sums.Length];
        for (int q = 0, k = offset; q < _sums.Length; q++)
        {
            var sh = _sums[q];
            Items[q] = new Item(IndexOf(species, sh.Agent), IndexOf(species, sh.Window.Species), sh.Window, sh.Degree, k);
            k += sh.Degree;
        }
    }

    private static int IndexOf(Species[] species, string symbol) => InvariantFamilyKind.IndexOf(species, symbol, -2);

    /// <summary>The shell sums in layout order.</summary>
    public Item[] Items { get; }

    public override void Labels(string[] labels, Species[] species)
    {
        for (int q = 0; q < _sums.Length; q++)
        {
            var sh = _sums[q];
            for (int n = 1; n <= sh.Degree; n++)
                labels[Items[q].Offset + n - 1] = FormattableString.Invariant($"Σ(r−{sh.Window.On})^{n}w({sh.Agent}-{sh.Window.Species})");
        }
    }

    public override void Values(AgentScratch s, Span<double> values)
    {
        foreach (ref readonly var sh in Items.AsSpan())
        {
            if (sh.Agent != s.AgentType || sh.Type < 0) continue;
            for (int e = 0; e < s.Entries; e++)
            {
                double r = s.R[e];
                if (s.Type[e] != sh.Type || r >= sh.Off) continue;
                double x = r - sh.On, p = sh.Window.Weight(r, out _) * x;
                for (int n = 1; n <= sh.Degree; n++) { values[sh.Offset + n - 1] += p; p *= x; }
            }
        }
    }

    public override void Gradient<TSink>(AgentScratch s, ref TSink sink)
    {
        foreach (ref readonly var sh in Items.AsSpan())
        {
            if (sh.Agent != s.AgentType || sh.Type < 0) continue;
            for (int e = 0; e < s.Entries; e++)
            {
                double r = s.R[e];
                if (s.Type[e] != sh.Type || r >= sh.Off) continue;
                double w = sh.Window.Weight(r, out var dw), x = r - sh.On;
                // d/dr [x^n w] = n x^(n−1) w + x^n w'
                double xn = x, xn1 = 1;
                for (int n = 1; n <= sh.Degree; n++)
                {
                    sink.Radial(sh.Offset + n - 1, e, n * xn1 * w + xn * dw);
                    xn1 = xn; xn *= x;
                }
            }
        }
    }
}
