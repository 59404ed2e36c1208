using MolecularLearning.Core;
using MolecularLearning.Learning;

namespace MolecularLearning.Learning.Tests.Conformance;

/// <summary>
/// Range walls capped at <see cref="InvariantBounds.Cap"/> scales (cubic, then along the tangent): the wall function is C¹
/// at the cap and the uncapped wall is the old cubic; Reference forces are minus the gradient with walls past the cap;
/// Simd agrees with Reference; the cap survives the model file and a file without it loads uncapped.
/// </summary>
public class RangeWallCapTests
{
    private const double Cap = 0.3; // scales: most walls of the random models below are pressed past it

    [Fact]
    public void TheWallIsCubicThenItsTangent()
    {
        var capped = new InvariantBounds([0], [1], [1], 0.7, Cap);
        const double h = 1e-7;
        foreach (var d in new[] { 0.1, Cap - 1e-9, Cap + 1e-9, 0.8, 3.0 })
        {
            capped.Wall(d, out double v, out double slope);
            capped.Wall(d + h, out double vp, out _); capped.Wall(d - h, out double vm, out _);
            Assert.Equal((vp - vm) / (2 * h), slope, 1e-6);
            double c = Math.Min(d, Cap);
            Assert.Equal(0.7 * (c * c * c + 3 * c * c * (d - c)), v, 1e-15);
        }
        capped.Wall(10, out _, out double far);
        Assert.Equal(3 * 0.7 * Cap * Cap, far, 1e-15); // the push stops growing past the cap
        var uncapped = new InvariantBounds([0], [1], [1], 0.7);
        uncapped.Wall(2.5, out double value, out double s2);
        Assert.Equal(0.7 * 2.5 * 2.5 * 2.5, value);
        Assert.Equal(3 * 0.7 * 2.5 * 2.5, s2);
    }

    public static IEnumerable<object[]> Modes() => [["agent"], ["conservative"]];

    [Theory]
    [MemberData(nameof(Modes))]
    public void ForcesAreMinusTheGradientPastTheCap(string mode)
    {
        var model = Synthetic.RandomModel(BackendConformanceTests.Basis("default"), 2, Backends.Mode(mode), seed: 5, walls: Backends.Walls, bounds: true, cap: Cap);
        var frame = Synthetic.Water(4, Synthetic.Triclinic, seed: 21, jitter: 0.12);
        var set = model.Invariants;
        // Some invariant of agent 0 lies past the cap (the tangent part is exercised).
        var v0 = Synthetic.AgentValues(set, frame, 0).Values;
        var b0 = model.Losses[0].Bounds!;
        Assert.Contains(Enumerable.Range(0, set.Count), q => (v0[q] - b0.Max[q]) / b0.Scale[q] > Cap || (b0.Min[q] - v0[q]) / b0.Scale[q] > Cap);
        var result = Backends.Run(Backends.Reference(model), frame);
        double Energy(Frame f) => Backends.Run(Backends.Reference(model), f).Energy;
        const double h = 1e-5;
        double maxErr = 0;
        for (int x = 0; x < 3 * frame.AtomCount; x++)
        {
            var plus = frame.Clone(); plus.Positions[x] += h;
            var minus = frame.Clone(); minus.Positions[x] -= h;
            double fd = model.Mode == ForceMode.Conservative
                ? -(Energy(plus) - Energy(minus)) / (2 * h)
                : -(Synthetic.AgentLoss(model, plus, x / 3) - Synthetic.AgentLoss(model, minus, x / 3)) / (2 * h);
            maxErr = Math.Max(maxErr, Math.Abs(fd - result.Forces[x]) / (1 + Math.Abs(fd)));
        }
        Assert.True(maxErr < 1e-6, $"max relative force error {maxErr}");
    }

    public static IEnumerable<object[]> Cases() => Backends.EveryWidthModeAndOrder(new object[] { "default" }, new object[] { "conservativeDefault" }, new object[] { "accurate" });

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void SimdAgreesWithReference(int bits, string basis, string mode, int order)
    {
        var model = Synthetic.RandomModel(BackendConformanceTests.Basis(basis), order, Backends.Mode(mode), seed: 17, walls: Backends.Walls, bounds: true, cap: Cap);
        Backends.AssertSimdAgrees(bits, model, Synthetic.Water(5, Synthetic.Triclinic, seed: 3, jitter: 0.15));
    }

    [Fact]
    public void TheCapSurvivesTheModelFileAndOldFilesLoadUncapped()
    {
        var model = Synthetic.RandomModel(BackendConformanceTests.Basis("default"), 2, ForceMode.Agent, seed: 5, bounds: true, cap: Cap);
        var again = LearnedModel.FromJson(model.ToJson());
        Assert.All(again.Losses, l => Assert.Equal(Cap, l.Bounds!.Cap));
        var node = System.Text.Json.Nodes.JsonNode.Parse(model.ToJson())!;
        foreach (var (_, p) in node["parameters"]!.AsObject()) Assert.True(p!["bounds"]!.AsObject().Remove("cap"));
        var old = LearnedModel.FromJson(node.ToJsonString());
        Assert.All(old.Losses, l => Assert.Equal(double.PositiveInfinity, l.Bounds!.Cap));
    }
}
