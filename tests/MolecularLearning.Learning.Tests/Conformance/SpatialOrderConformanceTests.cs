using MolecularLearning.Core;
using MolecularLearning.Learning;

namespace MolecularLearning.Learning.Tests.Conformance;

/// <summary>
/// The evaluator in spatial order (<see cref="SpatialOrder"/>: the list, the backend and the per-atom arrays on slots, the
/// caller's order restored on the way out) against the caller's order, on every backend: the same energy, forces, virial
/// and extrapolation signal to rounding, whatever order the atoms come in.
/// </summary>
public class SpatialOrderConformanceTests
{
    public static IEnumerable<object[]> Cases() =>
        new[] { 0 }.Concat(Backends.CaseWidths).SelectMany(b => new[] { new object[] { b, "agent" }, new object[] { b, "conservative" } });

    private static LearnedForceField Evaluator(LearnedModel model, int bits, int orderFrom)
    {
        var ff = bits == 0 ? Backends.Reference(model) : Backends.Simd(model, bits);
        ff.SpatialOrderFrom = orderFrom;
        return ff;
    }

    /// <summary>Every family the kernel computes, with range walls and training ranges (so the extrapolation signal is on).</summary>
    private static LearnedModel Model(string mode) => ExtrapolationConformanceTests.WithRanges(
        Synthetic.RandomModel(BackendConformanceTests.Basis("mixed"), 2, Backends.Mode(mode), seed: 4, walls: Backends.Walls, bounds: true),
        ExtrapolationConformanceTests.Training());

    /// <summary>A triclinic box of 324 atoms, jittered so no two replicas are alike (the same box for every seed), its atoms in an order of the seed.</summary>
    private static (Frame Frame, int[] Order) ShuffledBox(int seed)
    {
        var box = ForceFieldTests.Replicate(Synthetic.Water(4, Synthetic.Triclinic, seed: 3, jitter: 0.1), 3);
        var jitter = new Random(9);
        for (int x = 0; x < box.Positions.Length; x++) box.Positions[x] += 0.1 * (jitter.NextDouble() - 0.5);
        var rng = new Random(seed);
        var order = Enumerable.Range(0, box.AtomCount).ToArray();
        rng.Shuffle(order);
        var species = order.Select(i => box.Species[i]).ToArray();
        var positions = order.SelectMany(i => box.Positions.Skip(3 * i).Take(3)).ToArray();
        return (new Frame(species, positions, box.Cell), order);
    }

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void SpatialOrderAgreesWithTheCallersOrder(int bits, string mode)
    {
        var model = Model(mode);
        var (frame, _) = ShuffledBox(seed: 1);
        var plain = Evaluator(model, bits, int.MaxValue);
        var ordered = Evaluator(model, bits, 0);
        var want = Backends.Run(plain, frame);
        var got = Backends.Run(ordered, frame);
        Backends.AssertAgree(want, got);
        // The extrapolation signal per atom, and the frame's worst atom, in the caller's numbering.
        Assert.True(want.Extrapolation > 0, "some agent should lie outside the random model's ranges");
        Assert.Equal(want.ExtrapolationAtom, got.ExtrapolationAtom);
        Assert.Equal(want.ExtrapolationInvariant, got.ExtrapolationInvariant);
        var a = plain.AtomExtrapolation.ToArray();
        var b = ordered.AtomExtrapolation.ToArray();
        for (int i = 0; i < a.Length; i++) Assert.True(Math.Abs(a[i] - b[i]) <= 1e-12 * (1 + Math.Abs(a[i])), $"atom {i}: signal {b[i]} against {a[i]}");
    }

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void ResultsFollowTheAtomsWhateverTheirOrder(int bits, string mode)
    {
        // The same atoms in two orders through spatially ordered evaluators: forces permute with the atoms.
        var model = Model(mode);
        var (first, order1) = ShuffledBox(seed: 2);
        var (second, order2) = ShuffledBox(seed: 5);
        var r1 = Backends.Run(Evaluator(model, bits, 0), first);
        var r2 = Backends.Run(Evaluator(model, bits, 0), second);
        Assert.Equal(r1.Energy, r2.Energy, 1e-12 * Math.Abs(r1.Energy));
        var where2 = new int[order2.Length];
        for (int a = 0; a < order2.Length; a++) where2[order2[a]] = a;
        double scale = r1.Forces.Max(Math.Abs);
        for (int a = 0; a < order1.Length; a++)
            for (int d = 0; d < 3; d++)
                Assert.True(Math.Abs(r1.Forces[3 * a + d] - r2.Forces[3 * where2[order1[a]] + d]) <= 1e-12 * scale, $"box atom {order1[a]}, component {d}");
    }

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void OrderedStepsAllocateNothing(int bits, string mode)
    {
        // Positions drift so the list is rebuilt (and the atoms re-sorted) along the way, as in MD.
        var (frame, _) = ShuffledBox(seed: 3);
        SteadyState.AssertDriftingStepsAllocateNothing(Evaluator(Model(mode), bits, 0), frame, warmup: 60, steps: 120);
    }

    [Fact]
    public void LargeFramesRunInSpatialOrderByDefault()
    {
        // From SpatialOrderAtoms atoms up the default evaluator sorts; the caller's order gives the same results.
        var model = Synthetic.RandomModel(InvariantOptions.Parse(FitOptions.DefaultBasis, 4.0), 2, ForceMode.Agent, seed: 6, walls: Backends.Walls);
        var frame = ForceFieldTests.Replicate(Synthetic.Water(4, Cell.Orthorhombic(5.6, 5.6, 5.6), seed: 12, jitter: 0.1), 5);
        Assert.True(frame.AtomCount >= LearnedForceField.SpatialOrderAtoms);
        var byDefault = model.CreateForceField(BackendChoice.Auto);
        var plain = model.CreateForceField(BackendChoice.Auto);
        plain.SpatialOrderFrom = int.MaxValue;
        var got = Backends.Run(byDefault, frame);
        Backends.AssertAgree(Backends.Run(plain, frame), got);
        Assert.NotNull(byDefault.NeighbourList.AtomNumbers);
        Assert.Null(plain.NeighbourList.AtomNumbers);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(1e12)]
    public void BadCoordinatesNameTheCallersAtom(double bad)
    {
        var model = Model("agent");
        var (frame, _) = ShuffledBox(seed: 4);
        var ff = model.CreateForceField(BackendChoice.Auto);
        ff.SpatialOrderFrom = 0;
        var good = Backends.Run(ff, frame);
        const int atom = 250;
        var broken = new Frame(frame.Species, [.. frame.Positions], frame.Cell);
        broken.Positions[3 * atom + 1] = bad;
        var fresh = model.CreateForceField(BackendChoice.Auto);
        fresh.SpatialOrderFrom = 0;
        var e = Assert.Throws<DataException>(() => Backends.Run(fresh, broken));
        Assert.StartsWith($"atom {atom}: coordinate y", e.Message);
        // An evaluator that has seen a good frame refuses the bad one too, and survives it: the good frame again gives the same.
        Assert.Throws<DataException>(() => Backends.Run(ff, broken));
        Backends.AssertAgree(good, Backends.Run(ff, frame));
    }
}
