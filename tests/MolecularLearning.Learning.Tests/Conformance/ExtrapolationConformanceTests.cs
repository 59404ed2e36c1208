using MolecularLearning.Core;
using MolecularLearning.Learning;

namespace MolecularLearning.Learning.Tests.Conformance;

/// <summary>
/// The extrapolation signal on Simd against Reference: per atom and per frame (value, atom, invariant), for the defaults'
/// and the accurate preset's bases and a mix of every family, both modes, each width. Training ranges are set so that
/// some invariants of some agents lie outside.
/// </summary>
public class ExtrapolationConformanceTests
{
    public static IEnumerable<object[]> Cases() => Backends.EveryWidthModeAndOrder(
        new object[] { "default" }, new object[] { "conservativeDefault" }, new object[] { "accurate" }, new object[] { "mixed" });

    /// <summary><paramref name="model"/> with each species' ranges (min, max, std) over the agents of <paramref name="frames"/>.</summary>
    internal static LearnedModel WithRanges(LearnedModel model, IEnumerable<Frame> frames)
    {
        var set = model.Invariants;
        int k = set.Count;
        var values = set.Species.Select(_ => new List<double[]>()).ToArray();
        foreach (var frame in frames)
            for (int i = 0; i < frame.AtomCount; i++)
                values[set.IndexOf(frame.Species[i])].Add(Synthetic.AgentValues(set, frame, i).Values[..k]);
        InvariantRange Range(List<double[]> v) => new(
            [.. Enumerable.Range(0, k).Select(q => v.Min(x => x[q]))], [.. Enumerable.Range(0, k).Select(q => v.Max(x => x[q]))],
            [.. Enumerable.Range(0, k).Select(q => MathNet.Numerics.Statistics.Statistics.PopulationStandardDeviation(v.Select(x => x[q])))]);
        return new(set, model.Mode, [.. model.Losses.Select((l, s) => l.WithRange(Range(values[s])))], model.Walls);
    }

    /// <summary>Boxes like <see cref="Synthetic.Triclinic"/>'s waters, less jittered: the training data of the ranges.</summary>
    internal static IEnumerable<Frame> Training() => Enumerable.Range(100, 4).Select(seed => Synthetic.Water(5, Synthetic.Triclinic, seed, jitter: 0.1));

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void SignalAgreesWithReference(int bits, string basis, string mode, int order)
    {
        var model = WithRanges(Synthetic.RandomModel(BackendConformanceTests.Basis(basis), order, Backends.Mode(mode), seed: 17,
            walls: Backends.Walls, bounds: order == 2), Training());
        var frame = Synthetic.Water(5, Synthetic.Triclinic, seed: 3, jitter: 0.2);
        AssertAgree(model, frame, bits);
        AssertInside(model, Training().First(), bits);
    }

    /// <summary>A model fitted as the accurate preset: its linear angular sums are not monitored (the kernel never forms them).</summary>
    [SkippableTheory]
    [MemberData(nameof(BackendConformanceTests.Widths), MemberType = typeof(BackendConformanceTests))]
    public void FittedAccuratePresetAgrees(int bits)
    {
        var basis = BackendConformanceTests.Basis("accurate");
        var truth = Synthetic.RandomModel(basis, 2, ForceMode.Conservative, seed: 43, walls: Backends.Walls);
        var training = Synthetic.Labelled(truth, 6, seed: 600);
        var fitted = ModelFitter.Fit(training, FitOptions.Accurate with
        {
            Invariants = basis, Ridge = 1e-8, Stride = 1, HoldoutFraction = 0, ValidationFraction = 0,
        }).Model;
        Assert.True(ExtrapolationMonitor.AngularSumsUnused(fitted.Invariants, fitted.Losses[0]));
        // A hotter, denser box than the training boxes: some invariants leave the range.
        AssertAgree(fitted, Synthetic.Water(5, Synthetic.Triclinic, seed: 3, jitter: 0.2), bits);
        AssertInside(fitted, training[2], bits);
    }

    /// <summary>A frame the ranges were taken from reads 0 on both backends (the kernel's vector pass finds nothing outside).</summary>
    private static void AssertInside(LearnedModel model, Frame frame, int bits)
    {
        foreach (var ff in new[] { Backends.Reference(model), Backends.Simd(model, bits) })
        {
            var result = Backends.Run(ff, frame);
            Assert.Equal(0, result.Extrapolation);
            Assert.Equal(-1, result.ExtrapolationAtom);
            Assert.All(ff.AtomExtrapolation.ToArray(), x => Assert.Equal(0, x));
        }
    }

    /// <summary>Steps with the signal on (some agents outside) allocate nothing on either backend.</summary>
    [SkippableTheory]
    [MemberData(nameof(BackendConformanceTests.Widths), MemberType = typeof(BackendConformanceTests))]
    public void TheSignalAllocatesNothing(int bits)
    {
        var model = WithRanges(Synthetic.RandomModel(BackendConformanceTests.Basis("default"), 2, ForceMode.Agent, seed: 17, bounds: true), Training());
        var frame = Synthetic.Water(5, Synthetic.Triclinic, seed: 3, jitter: 0.2);
        foreach (var ff in new[] { Backends.Reference(model), Backends.Simd(model, bits) })
        {
            var result = new ForceResult(frame.AtomCount);
            for (int step = 0; step < 5; step++) ff.Compute(frame.Species, frame.Positions, frame.Cell, result);
            Assert.True(result.Extrapolation > 0);
            SteadyState.AssertAllocatesNothing(() => ff.Compute(frame.Species, frame.Positions, frame.Cell, result), 20);
        }
    }

    private static void AssertAgree(LearnedModel model, Frame frame, int bits)
    {
        var reference = Backends.Reference(model);
        var simd = Backends.Simd(model, bits);
        var want = Backends.Run(reference, frame);
        var got = Backends.Run(simd, frame);
        Assert.True(want.Extrapolation > 0, "the frame should lie partly outside the ranges");
        Assert.Equal(want.Extrapolation, got.Extrapolation, 1e-9 * want.Extrapolation);
        Assert.Equal(want.ExtrapolationAtom, got.ExtrapolationAtom);
        Assert.Equal(want.ExtrapolationInvariant, got.ExtrapolationInvariant);
        var a = reference.AtomExtrapolation.ToArray();
        var b = simd.AtomExtrapolation.ToArray();
        Assert.Equal(frame.AtomCount, a.Length);
        for (int i = 0; i < a.Length; i++) Assert.True(Math.Abs(a[i] - b[i]) <= 1e-9 * (1 + a[i]), $"atom {i}: {b[i]} against {a[i]}");
    }
}
