using System.Globalization;
using System.Text.Json;
using MolecularLearning.Core;

namespace MolecularLearning.Learning;

/// <summary>
/// (a) Sorted distances: for each neighbour species t, the k_t nearest distances, nearest first; a missing neighbour
/// counts as the family's radius (<see cref="InvariantOptions.SortedCutoff"/>). Spec: sorted:O4:H8 (bare "sorted": O4:H8).
/// Options: <see cref="InvariantOptions.SortedCutoff"/>, <see cref="InvariantOptions.SortedCounts"/>. Model file:
/// "sortedDistances": {"cutoff", "counts": {symbol: k}}. SIMD: SortedGaussianKernel.SortedDistances.cs.
/// </summary>
internal sealed class SortedDistances : InvariantFamily
{
    public static readonly InvariantFamilyKind Kind = new KindImpl();
    public override InvariantFamilyKind Definition => Kind;

    private sealed class KindImpl : InvariantFamilyKind
    {
        public override string Name => "sorted";
        public override IReadOnlyList<string> Items { get; } = ["sorted"];
        public override string Syntax => "sorted[:O4:H8]";

        public override InvariantOptions Parse(string[] parts, string raw, double cutoff, InvariantOptions options)
        {
            var sorted = new Dictionary<string, int>(options.SortedCounts, StringComparer.Ordinal);
            if (parts.Length == 1) { sorted["O"] = 4; sorted["H"] = 8; }
            for (int i = 1; i < parts.Length; i++)
            {
                int digit = parts[i].IndexOfAny("0123456789".ToCharArray());
                if (digit <= 0 || !int.TryParse(parts[i][digit..], NumberStyles.Integer, CultureInfo.InvariantCulture, out var k))
                    throw new DataException($"--basis: '{raw}': expected SYMBOLcount like O4, got '{parts[i]}'");
                sorted[parts[i][..digit]] = k;
            }
            return options with { SortedCounts = sorted };
        }

        public override void Validate(InvariantOptions o)
        {
            InvariantOptions.Positive(o.SortedCutoff, "sorted cutoff");
            foreach (var (sym, k) in o.SortedCounts)
                if (k < 0 || k > 64) throw new DataException($"invariants: sorted count for {sym} must be 0..64, got {k}");
        }

        public override double Cutoff(InvariantOptions o) => o.SortedCounts.Values.Any(v => v > 0) ? o.SortedCutoff : 0;

        public override void Write(Utf8JsonWriter w, InvariantOptions o)
        {
            w.WritePropertyName("sortedDistances");
            w.WriteStartObject();
            w.WriteNumber("cutoff", o.SortedCutoff);
            w.WritePropertyName("counts");
            w.WriteStartObject();
            foreach (var (sym, k) in o.SortedCounts) w.WriteNumber(sym, k);
            w.WriteEndObject();
            w.WriteEndObject();
        }

        public override InvariantOptions Read(ModelFile.Reader r, JsonElement inv, InvariantOptions o)
        {
            const string P = "invariants.sortedDistances";
            var sortedEl = r.Get(inv, "sortedDistances", "invariants", JsonValueKind.Object);
            var countsEl = r.Get(sortedEl, "counts", P, JsonValueKind.Object);
            var counts = new Dictionary<string, int>();
            foreach (var c in countsEl.EnumerateObject()) counts[c.Name] = r.Integer(countsEl, c.Name, P + ".counts");
            return o with { SortedCutoff = r.Number(sortedEl, "cutoff", P), SortedCounts = counts };
        }

        public override InvariantFamily Bind(InvariantOptions o, Species[] species, int offset) => new SortedDistances(o, species, offset);
    }

    private SortedDistances(InvariantOptions o, Species[] species, int offset) : base(offset, CountOf(o, species))
    {
        int t = species.Length;
        Counts = new int[t];
        _offset = new int[t];
        for (int s = 0, k = offset; s < t; s++)
        {
            Counts[s] = o.SortedCounts.TryGetValue(species[s].Symbol, out var c) ? c : 0;
            _offset[s] = k;
            k += Counts[s];
        }
        Radius = o.SortedCutoff;
    }

    private static int CountOf(InvariantOptions o, Species[] species) =>
        species.Sum(s => o.SortedCounts.TryGetValue(s.Symbol, out var c) ? c : 0);

    private readonly int[] _offset; // per neighbour species t: first slot

    /// <summary>k_t per neighbour species.</summary>
    public int[] Counts { get; }
    /// <summary>The family's radius (Å): distances at or beyond it are missing neighbours, and missing neighbours count as it.</summary>
    public double Radius { get; }
    /// <summary>First slot of neighbour species <paramref name="species"/>.</summary>
    public int SlotOffset(int species) => _offset[species];

    public override void Labels(string[] labels, Species[] species)
    {
        for (int s = 0; s < species.Length; s++)
            for (int q = 0; q < Counts[s]; q++) labels[_offset[s] + q] = $"r{q + 1}({species[s].Symbol})";
    }

    /// <summary>
    /// The k smallest per species by insertion into a short sorted list, all species in one pass over the entries (each
    /// species still sees its entries in order); the entry of each slot into <see cref="AgentScratch.SortedEntry"/> (−1: missing).
    /// </summary>
    /// <remarks>The slots are indexed from the set's first invariant: this family is laid out first (offset 0).</remarks>
    public override void Values(AgentScratch s, Span<double> values)
    {
        if (Count == 0) return;
        int t = Counts.Length, entries = s.Entries;
        double rc = Radius;
        Span<int> found = stackalloc int[t];
        found.Clear();
        var sortedEntry = s.SortedEntry;
        for (int e = 0; e < entries; e++)
        {
            int sp = s.Type[e];
            int kmax = Counts[sp];
            double r = s.R[e];
            if (kmax == 0 || r >= rc) continue;
            int off = _offset[sp], f = found[sp];
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
            int off = _offset[sp];
            for (int q = found[sp]; q < Counts[sp]; q++) { values[off + q] = rc; sortedEntry[off + q] = -1; }
        }
    }

    /// <summary>∂r_e/∂d_e = u_e for each filled slot.</summary>
    public override void Gradient<TSink>(AgentScratch s, ref TSink sink)
    {
        for (int sp = 0; sp < Counts.Length; sp++)
        {
            int off = _offset[sp];
            for (int q = 0; q < Counts[sp]; q++)
            {
                int e = s.SortedEntry[off + q];
                if (e >= 0) sink.Radial(off + q, e, 1.0);
            }
        }
    }
}
