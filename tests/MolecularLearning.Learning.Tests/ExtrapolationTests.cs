using System.Text.Json.Nodes;
using MolecularLearning.Core;
using MolecularLearning.Learning;

namespace MolecularLearning.Learning.Tests;

/// <summary>
/// The extrapolation signal (docs/extrapolation.md): fits record the training ranges; the signal is 0 on the training
/// frames, positive on a frame with a stretched bond and names the atom and invariant furthest out; model files without
/// ranges still load and report no signal.
/// </summary>
public class ExtrapolationTests
{
    private static readonly Lazy<(LearnedModel Model, List<Frame> Frames)> Fitted = new(() =>
    {
        var truth = Synthetic.RandomModel(InvariantOptions.Parse(FitOptions.DefaultBasis, 4.0), 2, ForceMode.Agent, seed: 5);
        var frames = Synthetic.Labelled(truth, 6, seed: 300);
        var model = ModelFitter.Fit(frames, FitOptions.Default with
        {
            Invariants = InvariantOptions.Parse(FitOptions.DefaultBasis, 4.0), Ridge = 1e-6, Stride = 1, HoldoutFraction = 0, ValidationFraction = 0,
        }).Model;
        return (model, frames);
    });

    public static IEnumerable<object[]> BackendNames() => [["reference"], ["auto"]];

    [Theory]
    [MemberData(nameof(BackendNames))]
    public void FitsRecordTheTrainingRangeAndTheSignalIsZeroOnIt(string backend)
    {
        var (model, frames) = Fitted.Value;
        var set = model.Invariants;
        for (int s = 0; s < set.Species.Count; s++)
        {
            var range = model.Losses[s].Range;
            Assert.NotNull(range);
            // The recorded extremes are the agents' own values (some agent of this species attains each).
            var values = frames.SelectMany(f => Enumerable.Range(0, f.AtomCount).Where(i => set.IndexOf(f.Species[i]) == s)
                .Select(i => Synthetic.AgentValues(set, f, i).Values[..set.Count])).ToList();
            for (int q = 0; q < set.Count; q++)
            {
                Assert.Equal(values.Min(v => v[q]), range.Min[q], 1e-12);
                Assert.Equal(values.Max(v => v[q]), range.Max[q], 1e-12);
                Assert.Equal(MathNet.Numerics.Statistics.Statistics.PopulationStandardDeviation(values.Select(v => v[q])), range.Std[q], 1e-9);
            }
        }
        var ff = model.CreateForceField(BackendChoices.Parse(backend));
        Assert.True(ff.ReportsExtrapolation);
        foreach (var frame in frames)
        {
            var result = ff.Compute(frame);
            Assert.Equal(0, result.Extrapolation);
            Assert.Equal(-1, result.ExtrapolationAtom);
            Assert.Null(result.ExtrapolationInvariant);
        }
    }

    [Theory]
    [MemberData(nameof(BackendNames))]
    public void AStretchedBondIsNamedWithItsAtomAndInvariant(string backend)
    {
        var (model, frames) = Fitted.Value;
        var set = model.Invariants;
        var frame = new Frame(frames[0].Species, [.. frames[0].Positions], frames[0].Cell);
        // Atom 1 is a hydrogen of the water whose oxygen is atom 0: stretch that bond by 0.35 Å.
        Assert.Equal("O", frame.Species[0].Symbol);
        Assert.Equal("H", frame.Species[1].Symbol);
        var bond = frame.Cell!.MinimumImage(Vec3.At(frame.Positions, 1) - Vec3.At(frame.Positions, 0));
        (Vec3.At(frame.Positions, 1) + 0.35 / bond.Norm() * bond).To(frame.Positions, 1);

        var result = model.CreateForceField(BackendChoices.Parse(backend)).Compute(frame);

        // The oracle: every agent's invariants against the recorded ranges, in training spreads.
        double best = 0; int atom = -1, invariant = -1;
        for (int i = 0; i < frame.AtomCount; i++)
        {
            int s = set.IndexOf(frame.Species[i]);
            var range = model.Losses[s].Range!;
            var v = Synthetic.AgentValues(set, frame, i).Values;
            for (int q = 0; q < set.Count; q++)
            {
                double d = Math.Max(v[q] - range.Max[q], range.Min[q] - v[q]) / range.SpreadOf(q);
                if (d > best) { best = d; atom = i; invariant = q; }
            }
        }
        Assert.True(best > 1, $"a 0.35 Å stretch should be more than one training spread out, got {best}");
        Assert.Equal(best, result.Extrapolation, 1e-5 * best);
        Assert.Equal(atom, result.ExtrapolationAtom);
        Assert.Contains(atom, new[] { 0, 1 }); // the stretched bond's own atoms are furthest out
        Assert.Equal($"{frame.Species[atom].Symbol}: {set.Labels[invariant]}", result.ExtrapolationInvariant);
    }

    [Fact]
    public void ModelFilesWithoutRangesLoadAndReportNoSignal()
    {
        var (model, frames) = Fitted.Value;
        var node = JsonNode.Parse(model.ToJson())!;
        foreach (var (_, p) in node["parameters"]!.AsObject()) Assert.True(p!.AsObject().Remove("range"));
        var old = LearnedModel.FromJson(node.ToJsonString());
        Assert.All(old.Losses, l => Assert.Null(l.Range));
        var ff = old.CreateForceField(BackendChoice.Auto);
        Assert.False(ff.ReportsExtrapolation);
        var frame = frames[1];
        var without = ff.Compute(frame);
        var with = model.CreateForceField(BackendChoice.Auto).Compute(frame);
        Assert.True(double.IsNaN(without.Extrapolation));
        Assert.Equal(-1, without.ExtrapolationAtom);
        Assert.Equal(with.Forces, without.Forces); // the ranges change nothing but the signal

        // Round trip keeps the ranges bit for bit.
        var again = LearnedModel.FromJson(model.ToJson());
        for (int s = 0; s < model.Losses.Count; s++)
        {
            Assert.Equal(model.Losses[s].Range!.Min, again.Losses[s].Range!.Min);
            Assert.Equal(model.Losses[s].Range!.Max, again.Losses[s].Range!.Max);
            Assert.Equal(model.Losses[s].Range!.Std, again.Losses[s].Range!.Std);
        }
    }

    [Fact]
    public void ARangeWithMinAboveMaxIsRefusedNamingTheField()
    {
        var node = JsonNode.Parse(Fitted.Value.Model.ToJson())!;
        var range = node["parameters"]!["H"]!["range"]!;
        range["min"]![2] = range["max"]![2]!.GetValue<double>() + 1;
        var e = Assert.Throws<DataException>(() => LearnedModel.FromJson(node.ToJsonString(), "m.json"));
        Assert.Contains("parameters.H.range.min[2]", e.Message);
    }

    [Fact]
    public void SpearmanRanksWithTies()
    {
        Assert.Equal(1.0, ForceErrors.Spearman([0, 0, 1, 2], [1, 1, 5, 9]), 12);
        Assert.Equal(-1.0, ForceErrors.Spearman([1, 2, 3], [3, 2, 1]), 12);
        Assert.True(double.IsNaN(ForceErrors.Spearman([double.NaN, 1], [1, 2])));
    }
}
