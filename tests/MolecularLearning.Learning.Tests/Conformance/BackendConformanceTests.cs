using MolecularLearning.Core;
using MolecularLearning.Learning;

namespace MolecularLearning.Learning.Tests.Conformance;

/// <summary>
/// Every backend against Reference (the scalar oracle, exact Gaussians): energy, forces and virial to 1e-12 relative,
/// for every invariant family alone and mixed, both modes, orders 1 and 2, at each SIMD width (a width this machine lacks
/// is skipped with the reason). Frames: jittered waters in a triclinic cell under cutoffs above half the box, and
/// clusters putting neighbours at and 1e-9 Å around every cutoff and shell edge, equal distances (rank swaps) and
/// collinear triplets. <see cref="ReferenceFiniteDifferenceTests"/> checks the oracle itself.
/// </summary>
public class BackendConformanceTests
{
    /// <summary>The bases, each family alone and mixed, at cutoffs above half the ~5.6 Å triclinic cell.</summary>
    internal static InvariantOptions Basis(string name) => name switch
    {
        "default" => InvariantOptions.Parse(FitOptions.DefaultBasis, 4.5),
        "default+fc:4" => InvariantOptions.Parse(FitOptions.DefaultBasis + "+fc:4", 4.5),
        "conservativeDefault" => InvariantOptions.Parse(FitOptions.DefaultConservativeBasis, 4.5),
        "accurate" => InvariantOptions.Parse(FitOptions.AccurateBasis, 4.5),
        "sorted" or "gaussian" or "angles" => Synthetic.Families().Single(f => f.Name == name).Options,
        "gaussian+fc:3" => Synthetic.Families().Single(f => f.Name == "gaussian").Options with { CutoffPower = 3 },
        // The sorted-distance radius inside the interaction range.
        "sortedInsideRange" => InvariantOptions.Parse("sorted:O2:H3+gauss:4:0.9:3.2", 3.6) with { SortedCutoff = 2.9 },
        // The accurate preset's angular family alone; degrees 1–4 with the default angular Gaussians; degree 1, C² cutoff.
        "angular" => InvariantOptions.Parse("angular:2:3.0+angularGauss:2:1.0:2.2:0.5", 4.0),
        "angularDegree4" => InvariantOptions.Parse("angular:4:3.4", 4.0),
        "angularDegree1" => InvariantOptions.Parse("angular:1:3.2+angularGauss:1:1.6:1.6:0.7+fc:3", 4.0),
        // Windows narrow enough that the jittered bonds fall inside the switches; an O–O shell reaching across molecules.
        "shells" => InvariantOptions.Parse("shell:O-H:0.9:1.3:3+shell:H-O:0.9:1.3:2+shell:O-O:2.4:3.3:1", 4.0),
        "shellAngles" => InvariantOptions.Parse("shellAngle:3:O@H:0.9:1.3:H:0.9:1.3+shellAngle:2:H@O:0.9:1.3:H:1.3:2.2+shellAngle:2:O@O:2.4:3.3:H:0.9:2.6", 4.0),
        "shellsWithSums" => Synthetic.Families().Single(f => f.Name == "shells").Options,
        // Every family at once, the C² cutoff.
        "mixed" => InvariantOptions.Parse("sorted:O2:H3+gauss:4:0.9:3.2+fc:3+angles:2:H1H2:O1H1+shell:O-H:0.9:1.3:2" +
            "+shellAngle:2:H@O:0.9:1.3:O:2.0:2.6+angular:3:3.3+angularGauss:3:0.9:2.7:0.45", 3.6),
        _ => throw new ArgumentException(name),
    };

    private static readonly string[] BasisNames =
    [
        "default", "default+fc:4", "conservativeDefault", "accurate", "sorted", "sortedInsideRange", "gaussian", "gaussian+fc:3",
        "angles", "angular", "angularDegree4", "angularDegree1", "shells", "shellAngles", "shellsWithSums", "mixed",
    ];

    public static IEnumerable<object[]> EveryBasis() => Backends.EveryWidthModeAndOrder(BasisNames.Select(b => new object[] { b }).ToArray());

    public static IEnumerable<object[]> EveryWidthModeAndOrder() => Backends.EveryWidthModeAndOrder();

    private static LearnedModel Model(InvariantOptions basis, string mode, int order, int seed) =>
        Synthetic.RandomModel(basis, order, Backends.Mode(mode), seed, walls: Backends.Walls, bounds: order == 2);

    private static Frame Waters() => Synthetic.Water(5, Synthetic.Triclinic, seed: 3, jitter: 0.15);

    [SkippableTheory]
    [MemberData(nameof(EveryBasis))]
    public void FamiliesAgreeWithReference(int bits, string basis, string mode, int order) =>
        Backends.AssertSimdAgrees(bits, Model(Basis(basis), mode, order, seed: 17), Waters());

    /// <summary>Clusters far apart, one per cutoff of the basis and offset −1e-9, 0, +1e-9 Å, with neighbours along the axes (r exact).</summary>
    public static IEnumerable<object[]> CutoffCases() =>
        Backends.EveryWidthModeAndOrder(new object[] { "default" }, new object[] { "accurate" }, new object[] { "sortedInsideRange" }, new object[] { "mixed" });

    [SkippableTheory]
    [MemberData(nameof(CutoffCases))]
    public void NeighboursAtAndAroundEveryCutoffAgree(int bits, string basis, string mode, int order)
    {
        var options = Basis(basis);
        double[] cutoffs = new[] { options.SortedCutoff, options.RadialCutoff, options.AngularCutoff, options.Cutoff }
            .Where(c => c <= options.Cutoff).Distinct().ToArray();
        const double eps = 1e-9;
        var cluster = new Clusters();
        double bend = 104.5 * Math.PI / 180;
        foreach (double rc in cutoffs)
            foreach (double d in new[] { rc - eps, rc, rc + eps })
            {
                double y = cluster.Next();
                cluster.Add(Elements.O, 0, y, 0);                                              // the O agent
                cluster.Add(Elements.H, -0.97, y, 0);                                          // its two H
                cluster.Add(Elements.H, -0.97 * Math.Cos(bend), y + 0.97 * Math.Sin(bend), 0);
                cluster.Add(Elements.O, 0, y, d);                                              // an O at the edge
                cluster.Add(Elements.H, d, y, 0);                                              // an H at the edge
                cluster.Add(Elements.H, 0.3, y - 0.8, 2.1);                                    // one well inside
            }
        Assert.True(cutoffs.Length >= 1);
        Backends.AssertSimdAgrees(bits, Model(options, mode, order, seed: 41), cluster.Frame());
    }

    /// <summary>
    /// The conservative default's shell edges: an O–H bond at 1.15, 1.3, 1.45 Å (the covalent window) and an O at 2.0,
    /// 2.3, 2.6 Å from an H (its 2.0–2.6 shell), each edge also 1e-9 Å either side.
    /// </summary>
    [SkippableTheory]
    [MemberData(nameof(EveryWidthModeAndOrder))]
    public void NeighboursAtAndAroundTheShellEdgesAgree(int bits, string mode, int order)
    {
        const double eps = 1e-9;
        double[] bonds = [1.15 - eps, 1.15, 1.15 + eps, 1.3, 1.45 - eps, 1.45, 1.45 + eps];
        double[] hydrogenBonds = [2.0 - eps, 2.0, 2.0 + eps, 2.3, 2.6 - eps, 2.6, 2.6 + eps];
        var cluster = new Clusters();
        double bend = 104.5 * Math.PI / 180;
        for (int k = 0; k < bonds.Length; k++)
        {
            double y = cluster.Next(), d = bonds[k];
            cluster.Add(Elements.H, 0, y, 0);                                                    // the H agent
            cluster.Add(Elements.O, -d, y, 0);                                                   // its O at d
            cluster.Add(Elements.H, -d - 0.97 * Math.Cos(bend), y + 0.97 * Math.Sin(bend), 0);   // the O's second H
            cluster.Add(Elements.O, 0, y, hydrogenBonds[k]);                                     // an O at h from the H agent
            cluster.Add(Elements.O, 0.9, y - 1.6, -1.5);                                         // and another at 2.37 Å
        }
        var model = Model(InvariantOptions.Parse(FitOptions.DefaultConservativeBasis, FitOptions.DefaultCutoff), mode, order, seed: 31);
        Backends.AssertSimdAgrees(bits, model, cluster.Frame());
    }

    /// <summary>
    /// Rank swaps: an O agent whose two nearest H lie at d and d ± 1e-12 Å, and two O at exactly equal distance; and one
    /// molecule in a 3 Å cube under a 4.5 Å cutoff, where each atom's six nearest self-images tie at exactly 3 Å.
    /// </summary>
    [SkippableTheory]
    [MemberData(nameof(EveryWidthModeAndOrder))]
    public void EqualDistancesAreRankedAsReference(int bits, string mode, int order)
    {
        var cluster = new Clusters();
        foreach (double delta in new[] { -1e-12, 0, 1e-12 })
        {
            double y = cluster.Next();
            cluster.Add(Elements.O, 0, y, 0);
            cluster.Add(Elements.H, 0.97, y, 0);
            cluster.Add(Elements.H, 0, y, 0.97 + delta);
            cluster.Add(Elements.O, -2.8, y, 0);
            cluster.Add(Elements.O, 0, y, -2.8);
            cluster.Add(Elements.H, 0, y + 1.9, 0);
        }
        var options = InvariantOptions.Parse(FitOptions.DefaultBasis + "+angles:2:H1H2:O1O2", 4.5);
        Backends.AssertSimdAgrees(bits, Model(options, mode, order, seed: 8), cluster.Frame());
        Backends.AssertSimdAgrees(bits, Model(InvariantOptions.Parse(FitOptions.DefaultBasis, 4.5), mode, order, seed: 8),
            Synthetic.Water(1, Cell.Orthorhombic(3, 3, 3), seed: 2, jitter: 0.05));
    }

    /// <summary>Collinear triplets: H–O–H straight (θ = π at the O) and a further O and H on the same line (θ = 0).</summary>
    [SkippableTheory]
    [MemberData(nameof(EveryWidthModeAndOrder))]
    public void CollinearTripletsAgree(int bits, string mode, int order)
    {
        var cluster = new Clusters();
        double y = cluster.Next();
        cluster.Add(Elements.O, 0, y, 0);
        cluster.Add(Elements.H, 1.0, y, 0);
        cluster.Add(Elements.H, -1.0, y, 0);
        cluster.Add(Elements.O, 2.6, y, 0);
        cluster.Add(Elements.H, -2.0, y, 0);
        cluster.Add(Elements.H, 0.4, y + 1.1, 0.3); // off the line, so no loss is trivially symmetric
        Backends.AssertSimdAgrees(bits, Model(Basis("mixed"), mode, order, seed: 41), cluster.Frame());
        Backends.AssertSimdAgrees(bits, Model(Basis("accurate"), mode, order, seed: 41), cluster.Frame());
    }

    /// <summary>The gradient splits the ladder into even and odd powers: an odd count (zero-padded) and a single Gaussian.</summary>
    public static IEnumerable<object[]> LadderCases() => Backends.EveryWidthModeAndOrder(new object[] { 1 }, new object[] { 5 });

    [SkippableTheory]
    [MemberData(nameof(LadderCases))]
    public void OddLaddersAgree(int bits, int gaussians, string mode, int order) =>
        Backends.AssertSimdAgrees(bits, Model(InvariantOptions.Parse($"sorted:O2:H3+gauss:{gaussians}:0.9:3.4", 4.0), mode, order, seed: 23), Waters());

    /// <summary>
    /// A model fitted as the accurate preset (the angular family linear: zero rows and columns of C, range walls on the
    /// quadratic invariants only) to forces of a random accurate-basis model.
    /// </summary>
    public static IEnumerable<object[]> Widths() => Backends.Widths.Select(b => new object[] { b });

    [SkippableTheory]
    [MemberData(nameof(Widths))]
    public void FittedLinearAngularFamilyAgrees(int bits)
    {
        foreach (var mode in new[] { ForceMode.Agent, ForceMode.Conservative })
        {
            var basis = Basis("accurate");
            var truth = Synthetic.RandomModel(basis, 2, mode, seed: 43, walls: Backends.Walls);
            var fitted = ModelFitter.Fit(Synthetic.Labelled(truth, 6, seed: 600), FitOptions.Accurate with
            {
                Mode = mode, Invariants = basis, Ridge = 1e-8, Stride = 1, HoldoutFraction = 0, ValidationFraction = 0,
            }).Model;
            var set = fitted.Invariants;
            int k = set.Count, angular = Enumerable.Range(0, k).First(q => set.FamilyOf(q) == "angular");
            Assert.True(fitted.Losses[0].Quadratic.Slice(angular * k, k).IndexOfAnyExcept(0.0) < 0, "the angular rows of C should be zero");
            Assert.True(fitted.Losses[0].Quadratic.IndexOfAnyExcept(0.0) >= 0, "C should not vanish");
            Backends.AssertSimdAgrees(bits, fitted, Waters());
        }
    }

    /// <summary>Parallel chunks: agent forces bit for bit (each agent's force is one thread's), the rest to rounding.</summary>
    public static IEnumerable<object[]> ThreadCases()
    {
        foreach (var basis in new[] { "default", "conservativeDefault", "accurate" })
            foreach (var mode in new[] { "agent", "conservative" })
            {
                yield return [0, basis, mode]; // 0: Reference
                foreach (int bits in Backends.CaseWidths) yield return [bits, basis, mode];
            }
    }

    [SkippableTheory]
    [MemberData(nameof(ThreadCases))]
    public void ResultsDoNotDependOnTheThreadCount(int bits, string basis, string mode)
    {
        var model = Synthetic.RandomModel(InvariantOptions.Parse(basis switch
        {
            "default" => FitOptions.DefaultBasis,
            "conservativeDefault" => FitOptions.DefaultConservativeBasis,
            _ => FitOptions.AccurateBasis,
        }, 4.0), 2, Backends.Mode(mode), seed: 6, walls: Backends.Walls, bounds: true);
        var big = ForceFieldTests.Replicate(Synthetic.Water(4, Cell.Orthorhombic(5.6, 5.6, 5.6), seed: 12, jitter: 0.1), 6);
        Assert.True(big.AtomCount >= LearnedForceField.ParallelThreshold);
        IForceField Make(int threads) => bits == 0 ? Backends.Reference(model, threads) : Backends.Simd(model, bits, threads);
        var serial = Backends.Run(Make(1), big);
        var parallel = Backends.Run(Make(4), big);
        if (mode == "agent") Assert.Equal(serial.Forces, parallel.Forces);
        Backends.AssertAgree(serial, parallel);
    }

    /// <summary>Steady-state MD steps on Simd allocate nothing: the agent default, the conservative default, the accurate preset.</summary>
    public static IEnumerable<object[]> AllocationCases()
    {
        foreach (int bits in Backends.Widths)
        {
            yield return [bits, FitOptions.DefaultBasis, "agent"];
            yield return [bits, FitOptions.DefaultConservativeBasis, "conservative"];
            yield return [bits, FitOptions.AccurateBasis, "conservative"];
        }
    }

    [SkippableTheory]
    [MemberData(nameof(AllocationCases))]
    public void SteadyStateStepsAllocateNothing(int bits, string basis, string mode)
    {
        // Positions drift so the Verlet list is refreshed and rebuilt (regrouped) along the way, as in MD.
        var model = Synthetic.RandomModel(InvariantOptions.Parse(basis, 4.0), 2, Backends.Mode(mode), seed: 6, walls: Backends.Walls, bounds: true);
        var frame = ForceFieldTests.Replicate(Synthetic.Water(4, Cell.Orthorhombic(5.6, 5.6, 5.6), seed: 12, jitter: 0.1), 3);
        SteadyState.AssertDriftingStepsAllocateNothing(Backends.Simd(model, bits), frame, warmup: 100, steps: 200);
    }

    /// <summary>A fired token stops the evaluation; a live one changes nothing (forces bit for bit, sums to rounding).</summary>
    public static IEnumerable<object[]> CancellationCases() =>
        new[] { 0 }.Concat(Backends.Widths).SelectMany(b => new[] { new object[] { b, "agent" }, new object[] { b, "conservative" } });

    [SkippableTheory]
    [MemberData(nameof(CancellationCases))]
    public void CancellationStopsTheEvaluation(int bits, string mode)
    {
        var model = Synthetic.RandomModel(Basis("accurate"), 2, Backends.Mode(mode), seed: 6, walls: Backends.Walls, bounds: true);
        var big = ForceFieldTests.Replicate(Synthetic.Water(4, Cell.Orthorhombic(5.6, 5.6, 5.6), seed: 12, jitter: 0.1), 4);
        IForceField Make() => bits == 0 ? Backends.Reference(model, 2) : Backends.Simd(model, bits, 2);
        var plain = Backends.Run(Make(), big);
        using var live = new CancellationTokenSource();
        var ff = Make();
        var withToken = new ForceResult(big.AtomCount);
        ff.Compute(big.Species, big.Positions, big.Cell, withToken, live.Token);
        Assert.Equal(plain.Forces, withToken.Forces);
        Backends.AssertAgree(plain, withToken);
        live.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => ff.Compute(big.Species, big.Positions, big.Cell, withToken, live.Token));
        // The evaluator stays usable after a cancelled call.
        ff.Compute(big.Species, big.Positions, big.Cell, withToken);
        Assert.Equal(plain.Forces, withToken.Forces);
    }

    /// <summary>Far-apart clusters in one isolated frame.</summary>
    private sealed class Clusters
    {
        private readonly List<Species> _species = [];
        private readonly List<double> _positions = [];
        private int _count;

        /// <summary>The y of the next cluster, 20 Å beyond the previous (further than any cutoff).</summary>
        public double Next() => 20.0 * _count++;

        public void Add(Species s, double x, double y, double z) { _species.Add(s); _positions.AddRange([x, y, z]); }

        public Frame Frame() => new([.. _species], [.. _positions], cell: null);
    }
}
