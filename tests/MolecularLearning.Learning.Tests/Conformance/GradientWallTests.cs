using MolecularLearning.Core;
using MolecularLearning.Learning;

namespace MolecularLearning.Learning.Tests.Conformance;

/// <summary>
/// Agent mode with <see cref="WallForces.Gradient"/> (docs/agent-mode.md, "Range walls as a gradient"): the loss keeps the
/// own-agent forces −∂L_i/∂x_i and the range walls push as −∇ Σ_i W(I_i), on neighbours too. Checked against finite
/// differences of Σ_i W(I_i) written out from the wall's definition; Simd against Reference at every width; independent of
/// the thread count; recorded in the model file (absent: Agent, what every older file means).
/// </summary>
public class GradientWallTests
{
    private const double Cap = 0.3; // scales: some walls below are pressed past it (the tangent part)

    private static LearnedModel Model(string basis, int order, int seed = 17) =>
        Synthetic.RandomModel(BackendConformanceTests.Basis(basis), order, ForceMode.Agent, seed, walls: Backends.Walls, bounds: true, cap: Cap)
            .WithWallForces(WallForces.Gradient);

    private static LearnedModel WithoutRangeWalls(LearnedModel m) =>
        new(m.Invariants, m.Mode, [.. m.Losses.Select(l => l.WithBounds(null))], m.Walls);

    private static Frame Waters() => Synthetic.Water(5, Synthetic.Triclinic, seed: 3, jitter: 0.15);

    /// <summary>Σ_i W(I_i), from the wall's definition S (c³ + 3c²(d − c)), c = min(d, cap), d scales beyond the range.</summary>
    private static double WallSum(LearnedModel model, Frame frame)
    {
        double sum = 0;
        for (int i = 0; i < frame.AtomCount; i++)
        {
            var s = Synthetic.AgentValues(model.Invariants, frame, i);
            var w = model.Losses[s.AgentType].Bounds!;
            for (int q = 0; q < model.Invariants.Count; q++)
            {
                double x = s.Values[q];
                double d = x > w.Max[q] ? (x - w.Max[q]) / w.Scale[q] : x < w.Min[q] ? (w.Min[q] - x) / w.Scale[q] : 0;
                double c = Math.Min(d, w.Cap);
                sum += w.Strength * (c * c * c + 3 * c * c * (d - c));
            }
        }
        return sum;
    }

    /// <summary>The walls' share of the forces (with them minus without) is −∇ Σ_i W(I_i) by central differences.</summary>
    [Theory]
    [InlineData("default", 2)]
    [InlineData("accurate", 1)]
    [InlineData("mixed", 2)]
    public void TheWallForcesAreMinusTheGradientOfTheWallSum(string basis, int order)
    {
        var model = Model(basis, order);
        var frame = Waters();
        var ff = Backends.Reference(model);
        var with = Backends.Run(ff, frame).Forces.ToArray();
        Assert.True(ff.WallReactionCount > 0, "no agent's walls act on this frame");
        var without = Backends.Run(Backends.Reference(WithoutRangeWalls(model)), frame).Forces.ToArray();
        const double h = 1e-5;
        double largest = 0, maxErr = 0;
        var fd = new double[with.Length];
        for (int x = 0; x < with.Length; x++)
        {
            var plus = frame.Clone(); plus.Positions[x] += h;
            var minus = frame.Clone(); minus.Positions[x] -= h;
            fd[x] = -(WallSum(model, plus) - WallSum(model, minus)) / (2 * h);
            largest = Math.Max(largest, Math.Abs(fd[x]));
        }
        Assert.True(largest > 1e-2, $"the walls barely act: largest wall force {largest}");
        for (int x = 0; x < with.Length; x++) maxErr = Math.Max(maxErr, Math.Abs(with[x] - without[x] - fd[x]));
        Assert.True(maxErr < 1e-6 * largest, $"largest difference from −∇ΣW {maxErr} (largest wall force {largest})");
    }

    public static IEnumerable<object[]> Cases() => Backends.EveryWidthModeAndOrder(new object[] { "default" }, new object[] { "accurate" }, new object[] { "mixed" })
        .Where(c => (string)c[2] == "agent");

    /// <summary>Simd against Reference (energy, forces, virial to 1e-12), on a frame where the reactions change the forces.</summary>
    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void SimdAgreesWithReference(int bits, string basis, string mode, int order)
    {
        Assert.Equal("agent", mode);
        var model = Model(basis, order);
        var frame = Waters();
        var simd = Backends.Simd(model, bits);
        var got = Backends.Run(simd, frame);
        Assert.True(simd.WallReactionCount > 0, "no agent's walls act on this frame");
        var agentWalls = Backends.Run(Backends.Reference(model.WithWallForces(WallForces.Agent)), frame).Forces.ToArray();
        Assert.True(got.Forces.ToArray().Zip(agentWalls, (a, b) => Math.Abs(a - b)).Max() > 1e-3, "the reactions change nothing here");
        Backends.AssertAgree(Backends.Run(Backends.Reference(model), frame), got);
    }

    /// <summary>Split into chunks on two threads (96 atoms), the same numbers as one thread, both backends.</summary>
    [SkippableTheory]
    [InlineData(0)]
    [InlineData(256)]
    public void ResultsDoNotDependOnTheThreadCount(int bits)
    {
        var model = Model("default", 2);
        var frame = Synthetic.Water(32, Cell.Orthorhombic(9.9, 9.9, 9.9), seed: 4, jitter: 0.12);
        LearnedForceField Make(int threads) => bits == 0 ? Backends.Reference(model, threads) : Backends.Simd(model, bits, threads);
        var oneThread = Make(1);
        var one = Backends.Run(oneThread, frame);
        var two = Backends.Run(Make(2), frame);
        Assert.True(oneThread.WallReactionCount > 0, "no agent's walls act on this frame");
        Assert.Equal(one.Forces, two.Forces); // the reactions are added serially, in agent order
        Backends.AssertAgree(one, two); // energy and virial: summed per chunk, so to rounding
    }

    [Fact]
    public void TheModelFileRecordsItAndOldFilesMeanAgent()
    {
        var model = Model("default", 2);
        Assert.Equal(WallForces.Gradient, LearnedModel.FromJson(model.ToJson()).WallForces);
        var agent = model.WithWallForces(WallForces.Agent);
        Assert.DoesNotContain("wallForces", agent.ToJson()); // files of the default keep their bytes
        Assert.Equal(WallForces.Agent, LearnedModel.FromJson(agent.ToJson()).WallForces);
        var bad = model.ToJson().Replace("\"wallForces\": \"gradient\"", "\"wallForces\": \"both\"");
        var e = Assert.Throws<DataException>(() => LearnedModel.FromJson(bad, "m.json"));
        Assert.Contains("wallForces", e.Message);
    }
}
