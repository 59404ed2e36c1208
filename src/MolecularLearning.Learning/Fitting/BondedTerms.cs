using System.Globalization;
using MolecularLearning.Core;

namespace MolecularLearning.Learning;

/// <summary>
/// A covalent bond found in training frames: the first cluster of A–B distances (below <see cref="BondedTerms.PeakLimit"/>),
/// its longest member, the next distance beyond the gap that ends it, and the shell window put between the two.
/// </summary>
public sealed record BondWindow(string A, string B, double Median, double Longest, double Next, double PerFrame, double On, double Off)
{
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{A}-{B} {Median:0.00} Å (longest {Longest:0.00}, next {Next:0.00}) → window {On:0.00}:{Off:0.00}");
}

/// <summary>
/// The terms a built-in basis (written for water: shells, shell angles and sorted distances name only O and H) gains for
/// species it does not name, derived from the training frames (docs/model.md, "Species other than O and H"): for every
/// species pair with an unnamed species whose first distance cluster lies below 1.9 Å (a covalent bond), shell polynomials
/// both ways in a window between that cluster and the next distances (as the water basis's O–H 1.15:1.45 sits between
/// the 0.88–1.07 Å bonds and the ≥ 1.51 Å hydrogen bonds), and the bends between such shells at each agent that has
/// them. The same in every built-in basis, the agent default's too: sorted distances to the new species made its held-out
/// C and N error worse on mix38, the shells better (integration/species/). They enter
/// the loss linearly (a spring per bond: b₁Σx + b₂Σx², x the stretch), so the fit grows by a few columns per species.
/// </summary>
public sealed record BondedTerms
{
    /// <summary>A first distance cluster whose median lies below this (Å) is a bond.</summary>
    public const double PeakLimit = 1.9;
    /// <summary>How far (Å) pair distances are gathered: the bond and the gap after it.</summary>
    public const double Reach = 2.6;
    /// <summary>An empty stretch of distances at least this wide (Å) ends a bond's cluster.</summary>
    public const double MinGap = 0.2;
    /// <summary>A bond must be seen this many times per frame on average (a passing close contact is not one).</summary>
    public const double MinPerFrame = 0.5;
    /// <summary>A bend must be seen this often per agent of its species and frame.</summary>
    public const double MinAnglesPerAgent = 0.05;
    /// <summary>At most this many training frames (evenly spaced) are scanned.</summary>
    public const int MaxFrames = 200;
    public const int MaxAgents = 200_000;
    public const int ShellDegree = 2;
    public const int AngleDegree = 3;

    public IReadOnlyList<BondWindow> Bonds { get; init; } = [];
    public IReadOnlyList<ShellSum> Shells { get; init; } = [];
    public IReadOnlyList<ShellAngle> ShellAngles { get; init; } = [];
    /// <summary>Unnamed species with no bond found: the species-generic sums alone describe them.</summary>
    public IReadOnlyList<string> Bare { get; init; } = [];
    /// <summary>The species the basis did not name, and those it did.</summary>
    public IReadOnlyList<string> Unnamed { get; init; } = [];
    public IReadOnlyList<string> Named { get; init; } = [];

    public bool IsEmpty => Shells.Count == 0 && ShellAngles.Count == 0;

    /// <summary>The basis with the added terms (appended after its own items of each family).</summary>
    public InvariantOptions Apply(InvariantOptions basis)
    {
        if (IsEmpty) return basis;
        return basis with
        {
            Shells = [.. basis.Shells, .. Shells],
            ShellAngles = [.. basis.ShellAngles, .. ShellAngles],
        };
    }

    /// <summary>The added items as --basis items, joined by '+'.</summary>
    public string Spec()
    {
        var items = new List<string>();
        items.AddRange(Shells.Select(s => "shell:" + s));
        items.AddRange(ShellAngles.Select(a => FormattableString.Invariant($"shellAngle:{a.Degree}:{a.Agent}@{a.LegA}:{a.LegB}")));
        return string.Join("+", items);
    }

    /// <summary>What was added, for the fit's output; null when the basis named every species.</summary>
    public string? Summary() => IsEmpty ? null :
        $"the basis names only {string.Join(", ", Named)}; added for {string.Join(", ", Unnamed.Except(Bare))} from the training frames " +
        $"(bonds {string.Join("; ", Bonds)}): {Spec()}" + " (linear)";

    /// <summary>
    /// The terms for the species of <paramref name="frames"/> that <paramref name="basis"/> does not name, from the frames
    /// <paramref name="train"/>. Empty when the basis names every species, or names none (a species-generic basis).
    /// </summary>
    public static BondedTerms Derive(InvariantOptions basis, IReadOnlyList<Frame> frames, IReadOnlyList<int> train)
    {
        var named = FitOptions.NamedSpecies(basis);
        var species = new List<Species>();
        foreach (var f in train)
            foreach (var s in frames[f].Species)
                if (!species.Any(x => x.Symbol == s.Symbol)) species.Add(s);
        species.Sort((a, b) => a.AtomicNumber != b.AtomicNumber ? a.AtomicNumber.CompareTo(b.AtomicNumber) : string.CompareOrdinal(a.Symbol, b.Symbol));
        var unnamed = species.Where(s => !named.Contains(s.Symbol)).Select(s => s.Symbol).ToList();
        if (named.Count == 0 || unnamed.Count == 0 || train.Count == 0) return new BondedTerms { Unnamed = named.Count == 0 ? [] : unnamed };

        var sample = new List<int>();
        // At most MaxFrames frames and MaxAgents agent-frames (each keeps its neighbour distances for the bend counts).
        long atoms = Math.Max(1, frames[train[0]].AtomCount);
        int every = Math.Max(1, (int)Math.Max(Math.Ceiling(train.Count / (double)MaxFrames), Math.Ceiling(train.Count * atoms / (double)MaxAgents)));
        for (int i = 0; i < train.Count; i += every) sample.Add(train[i]);
        var stats = PairStatistics.Gather(frames, sample, species);

        var bonds = new List<BondWindow>();
        for (int a = 0; a < species.Count; a++)
            for (int b = a; b < species.Count; b++)
            {
                if (named.Contains(species[a].Symbol) && named.Contains(species[b].Symbol)) continue;
                if (Window(species[a].Symbol, species[b].Symbol, stats.Distances(a, b), sample.Count) is { } w) bonds.Add(w);
            }

        var shells = new List<ShellSum>();
        foreach (var w in bonds)
        {
            shells.Add(new ShellSum(w.A, new ShellWindow(w.B, w.On, w.Off), ShellDegree));
            if (w.A != w.B) shells.Add(new ShellSum(w.B, new ShellWindow(w.A, w.On, w.Off), ShellDegree));
        }

        // Bends: at each agent species, pairs of its shells (the basis's own and the new), one of the three species unnamed,
        // seen often enough in the training frames that the invariant is not a constant zero.
        var angles = new List<ShellAngle>();
        var allShells = basis.Shells.Concat(shells).DistinctBy(s => (s.Agent, s.Window)).ToList();
        for (int x = 0; x < species.Count; x++)
        {
            string agent = species[x].Symbol;
            var mine = allShells.Where(s => s.Agent == agent).Select(s => s.Window).ToList();
            for (int p = 0; p < mine.Count; p++)
                for (int q = p; q < mine.Count; q++)
                {
                    var (wa, wb) = (mine[p], mine[q]);
                    if (named.Contains(agent) && named.Contains(wa.Species) && named.Contains(wb.Species)) continue;
                    if (stats.AnglesPerAgent(x, species.FindIndex(s => s.Symbol == wa.Species), wa.Off,
                            species.FindIndex(s => s.Symbol == wb.Species), wb.Off, p == q) < MinAnglesPerAgent) continue;
                    angles.Add(new ShellAngle(agent, wa, wb, AngleDegree));
                }
        }

        var bonded = bonds.SelectMany(w => new[] { w.A, w.B }).ToHashSet();
        return new BondedTerms
        {
            Bonds = bonds, Shells = shells, ShellAngles = angles, Unnamed = unnamed, Named = [.. named.Order(StringComparer.Ordinal)],
            Bare = [.. unnamed.Where(s => !bonded.Contains(s))],
        };
    }

    /// <summary>
    /// The shells and shell angles of a fitted order-2 model whose quadratic terms are zero in every species' loss (those a
    /// fit added for unnamed species, or any fitted linearly): a refit with <see cref="FitOptions.Bonded"/> set to these
    /// keeps them linear. Empty for an order-1 model.
    /// </summary>
    public static BondedTerms LinearIn(LearnedModel model)
    {
        var set = model.Invariants;
        int k = set.Count;
        if (model.Order != 2) return new BondedTerms();
        bool Linear(int offset, int degree) => model.Losses.All(l =>
        {
            var c = l.Quadratic;
            if (c.IsEmpty) return true;
            for (int q = offset; q < offset + degree; q++)
                for (int x = 0; x < k; x++) if (c[q * k + x] != 0) return false;
            return true;
        });
        var linear = Items(set).Where(x => Linear(x.Offset, x.Degree)).Select(x => x.Item).ToList();
        return new BondedTerms { Shells = [.. linear.OfType<ShellSum>()], ShellAngles = [.. linear.OfType<ShellAngle>()] };
    }

    /// <summary>The invariants of these shells and shell angles in <paramref name="set"/> (they enter the loss linearly).</summary>
    public HashSet<int> InvariantsIn(InvariantSet set)
    {
        var linear = new HashSet<int>();
        foreach (var (item, offset, degree) in Items(set))
            if (item is ShellSum sh ? Shells.Contains(sh) : ShellAngles.Contains((ShellAngle)item))
                for (int n = 0; n < degree; n++) linear.Add(offset + n);
        return linear;
    }

    /// <summary>Each shell (<see cref="ShellSum"/>) and shell angle (<see cref="ShellAngle"/>) of the set, with its first invariant and their count.</summary>
    private static IEnumerable<(object Item, int Offset, int Degree)> Items(InvariantSet set)
    {
        foreach (var family in set.Families)
        {
            if (family is Shells sh)
                for (int q = 0; q < sh.Items.Length; q++) yield return (set.Options.Shells[q], sh.Items[q].Offset, sh.Items[q].Degree);
            if (family is ShellAngles sa)
                for (int q = 0; q < sa.Items.Length; q++) yield return (set.Options.ShellAngles[q], sa.Items[q].Offset, sa.Items[q].Degree);
        }
    }

    /// <summary>
    /// The bond of an A–B distance list (all pairs within <see cref="Reach"/> over <paramref name="frames"/> frames), or null:
    /// the first cluster of distances (ended by a gap of <see cref="MinGap"/>) with its median below <see cref="PeakLimit"/>,
    /// seen <see cref="MinPerFrame"/> times per frame. The window starts a little beyond the longest bond (a fifth of the
    /// gap, at most 0.1 Å) and ends a little before the next distance (0.15 of the gap, at most 0.1 Å; at most 0.35 Å wide).
    /// </summary>
    internal static BondWindow? Window(string a, string b, List<double> distances, int frames)
    {
        if (distances.Count == 0 || frames == 0) return null;
        distances.Sort();
        int end = 0;
        while (end + 1 < distances.Count && distances[end + 1] - distances[end] < MinGap) end++;
        double longest = distances[end];
        // No gap before the reach: a continuous distribution, not a bond with an empty shell after it.
        bool gap = end + 1 < distances.Count || Reach - longest >= MinGap;
        double median = distances[end / 2];
        if (!gap || median >= PeakLimit || (end + 1) / (double)frames < MinPerFrame) return null;
        double next = end + 1 < distances.Count ? distances[end + 1] : Reach;
        double width = next - longest;
        double on = Math.Ceiling(100 * (longest + Math.Min(0.2 * width, 0.1))) / 100;
        double off = Math.Floor(100 * Math.Min(next - Math.Min(0.15 * width, 0.1), on + 0.35)) / 100;
        if (!(off > on)) return null;
        return new BondWindow(a, b, median, longest, next, (end + 1) / (double)frames, on, off);
    }

    /// <summary>Pair distances per species pair and, per agent, partner counts, over a sample of frames.</summary>
    private sealed class PairStatistics
    {
        private readonly int _t;
        private readonly List<double>[] _distances;
        // Per agent-frame: the distances to each species within the reach (for partner and angle counts).
        private readonly List<(int Type, List<double>[] ByType)> _agents = [];

        private PairStatistics(int t)
        {
            _t = t;
            _distances = new List<double>[t * t];
            for (int i = 0; i < _distances.Length; i++) _distances[i] = [];
        }

        public List<double> Distances(int a, int b) => [.. _distances[a * _t + b]];

        public static PairStatistics Gather(IReadOnlyList<Frame> frames, List<int> sample, List<Species> species)
        {
            var stats = new PairStatistics(species.Count);
            var list = new NeighbourList();
            foreach (var f in sample)
            {
                var frame = frames[f];
                var types = frame.Species.Select(s => species.FindIndex(x => x.Symbol == s.Symbol)).ToArray();
                list.Build(frame.Positions, frame.Cell, Reach);
                for (int i = 0; i < frame.AtomCount; i++)
                {
                    var byType = new List<double>[species.Count];
                    for (int t = 0; t < byType.Length; t++) byType[t] = [];
                    for (int p = list.Start[i]; p < list.Start[i + 1]; p++)
                    {
                        double r = list.R[p];
                        if (r >= Reach) continue;
                        int j = list.Index[p], tj = types[j];
                        byType[tj].Add(r);
                        // Each unordered pair once: from the lower type, or the lower index within a type (self-images: j == i, once per ±image).
                        if (types[i] < tj) stats._distances[types[i] * stats._t + tj].Add(r);
                        else if (types[i] == tj && (i < j || (i == j && IsFirstImage(list, p)))) stats._distances[tj * stats._t + tj].Add(r);
                    }
                    stats._agents.Add((types[i], byType));
                }
            }
            return stats;
        }

        // A self-image pair appears as +S and −S from the same atom: keep one of the two.
        private static bool IsFirstImage(NeighbourList list, int p) =>
            list.Dx[p] > 0 || (list.Dx[p] == 0 && (list.Dy[p] > 0 || (list.Dy[p] == 0 && list.Dz[p] > 0)));

        /// <summary>Pairs of neighbours (j ≠ k) at an agent of type x, j of type a within offA and k of type b within offB, per agent-frame of x.</summary>
        public double AnglesPerAgent(int x, int a, double offA, int b, double offB, bool same)
        {
            long pairs = 0, agents = 0;
            foreach (var (type, byType) in _agents)
            {
                if (type != x) continue;
                agents++;
                long na = byType[a].Count(r => r < offA), nb = byType[b].Count(r => r < offB);
                pairs += same ? na * (na - 1) / 2 : na * nb;
            }
            return agents == 0 ? 0 : pairs / (double)agents;
        }

    }
}
