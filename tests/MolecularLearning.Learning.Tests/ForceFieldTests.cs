using MolecularLearning.Core;
using MolecularLearning.Learning;
using MolecularLearning.Learning.Export;

namespace MolecularLearning.Learning.Tests;

public class ForceFieldTests
{
    private static readonly RepulsionWall[] Walls = [new("O", "H", 1.2, 30), new("H", "H", 1.9, 10), new("O", "O", 2.9, 5)];

    private static double Energy(LearnedModel model, Frame frame) => model.CreateForceField().Compute(frame).Energy;

    public static IEnumerable<object[]> Cases()
    {
        foreach (var (name, _) in Synthetic.Families())
            foreach (var mode in new[] { "agent", "conservative" })
                foreach (var order in new[] { 1, 2 })
                    yield return [name, mode, order];
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ForcesAreMinusTheGradientOfTheRightLoss(string family, string modeName, int order)
    {
        var options = Synthetic.Families().Single(f => f.Name == family).Options;
        var mode = modeName == "agent" ? ForceMode.Agent : ForceMode.Conservative;
        var model = Synthetic.RandomModel(options, order, mode, seed: 5, walls: Walls, bounds: order == 2);
        var frame = Synthetic.Water(4, Synthetic.Triclinic, seed: 21, jitter: 0.12);
        var result = model.CreateForceField().Compute(frame);
        const double h = 1e-5;
        double maxErr = 0, maxF = 0;
        for (int x = 0; x < 3 * frame.AtomCount; x++)
        {
            var plus = frame.Clone(); plus.Positions[x] += h;
            var minus = frame.Clone(); minus.Positions[x] -= h;
            double fd = mode == ForceMode.Conservative
                ? -(Energy(model, plus) - Energy(model, minus)) / (2 * h)
                : -(Synthetic.AgentLoss(model, plus, x / 3) - Synthetic.AgentLoss(model, minus, x / 3)) / (2 * h);
            maxErr = Math.Max(maxErr, Math.Abs(fd - result.Forces[x]) / (1 + Math.Abs(fd)));
            maxF = Math.Max(maxF, Math.Abs(fd));
        }
        Assert.True(maxF > 1e-2, "forces should not vanish");
        Assert.True(maxErr < 1e-6, $"max relative force error {maxErr}");
        // Energy is the sum of the agents' losses in both modes.
        double sum = Enumerable.Range(0, frame.AtomCount).Sum(i => Synthetic.AgentLoss(model, frame, i));
        Assert.Equal(sum, result.Energy, 1e-9 * (1 + Math.Abs(sum)));
    }

    [Theory]
    [InlineData("agent")]
    [InlineData("conservative")]
    public void VirialIsMinusTheStrainDerivativeOfTheEnergy(string modeName)
    {
        var mode = modeName == "agent" ? ForceMode.Agent : ForceMode.Conservative;
        var options = Synthetic.Families().Single(f => f.Name == "all").Options;
        var model = Synthetic.RandomModel(options, 2, mode, seed: 9, walls: Walls, bounds: true);
        var frame = Synthetic.Water(4, Synthetic.Triclinic, seed: 4, jitter: 0.1);
        var w = model.CreateForceField().Compute(frame).Virial;
        const double h = 1e-6;
        for (int ab = 0; ab < 9; ab++)
        {
            double E(double sign)
            {
                var strain = new double[9];
                strain[ab] = sign * h;
                var cell = frame.Cell!.Strained(strain);
                var pos = new double[frame.Positions.Length];
                for (int i = 0; i < frame.AtomCount; i++)
                    for (int a = 0; a < 3; a++)
                    {
                        double v = frame.Positions[3 * i + a];
                        for (int b = 0; b < 3; b++) v += strain[3 * a + b] * frame.Positions[3 * i + b];
                        pos[3 * i + a] = v;
                    }
                return Energy(model, new Frame(frame.Species, pos, cell));
            }
            double fd = -(E(1) - E(-1)) / (2 * h);
            Assert.True(Math.Abs(fd - w[ab]) < 1e-5 * (1 + Math.Abs(fd)), $"W[{ab}] = {w[ab]}, finite difference {fd}");
        }
    }

    [Fact]
    public void ConservativeForcesSumToZeroAndAgentForcesNeedNot()
    {
        var options = Synthetic.Families().Single(f => f.Name == "all").Options;
        var frame = Synthetic.Water(4, Cell.Orthorhombic(5.6, 5.6, 5.6), seed: 2, jitter: 0.1);
        double Net(ForceMode mode)
        {
            var f = Synthetic.RandomModel(options, 2, mode, seed: 3).CreateForceField().Compute(frame).Forces;
            double sx = 0, sy = 0, sz = 0, scale = 0;
            for (int i = 0; i < frame.AtomCount; i++) { sx += f[3 * i]; sy += f[3 * i + 1]; sz += f[3 * i + 2]; scale += Math.Abs(f[3 * i]); }
            return Math.Sqrt(sx * sx + sy * sy + sz * sz) / scale;
        }
        Assert.True(Net(ForceMode.Conservative) < 1e-12);
        Assert.True(Net(ForceMode.Agent) > 1e-3);
    }

    [Fact]
    public void SkinReuseGivesTheSameForcesAsAFreshList()
    {
        var options = Synthetic.Families().Single(f => f.Name == "all").Options;
        var model = Synthetic.RandomModel(options, 2, ForceMode.Conservative, seed: 8);
        var frame = Synthetic.Water(4, Cell.Orthorhombic(5.6, 5.6, 5.6), seed: 6, jitter: 0.1);
        var reused = model.CreateForceField(skin: 0.6);
        var result = new ForceResult();
        var rng = new Random(1);
        for (int step = 0; step < 8; step++)
        {
            for (int x = 0; x < frame.Positions.Length; x++) frame.Positions[x] += 0.03 * (rng.NextDouble() - 0.5);
            reused.Compute(frame.Species, frame.Positions, frame.Cell, result);
            var fresh = model.CreateForceField(skin: 0).Compute(frame);
            Assert.Equal(fresh.Energy, result.Energy, 1e-9);
            for (int x = 0; x < fresh.Forces.Length; x++) Assert.Equal(fresh.Forces[x], result.Forces[x], 1e-9);
        }
    }

    [Fact]
    public void ParallelChunksAgreeWithTheSerialPath()
    {
        // A replicated box large enough to be split into chunks.
        var options = InvariantOptions.Parse("sorted:O2:H2+gauss:3:0.9:3+angular:2", 3.0);
        var baseFrame = Synthetic.Water(4, Cell.Orthorhombic(5.6, 5.6, 5.6), seed: 12, jitter: 0.1);
        var big = Replicate(baseFrame, 6);
        Assert.True(big.AtomCount >= LearnedForceField.ParallelThreshold);
        foreach (var mode in new[] { ForceMode.Agent, ForceMode.Conservative })
        {
            var model = Synthetic.RandomModel(options, 2, mode, seed: 1);
            var parallel = model.CreateForceField(skin: 0, maxThreads: 4).Compute(big);
            var serial = model.CreateForceField(skin: 0, maxThreads: 1).Compute(big);
            Assert.Equal(serial.Energy, parallel.Energy, 1e-8 * Math.Abs(serial.Energy));
            for (int x = 0; x < serial.Forces.Length; x++) Assert.Equal(serial.Forces[x], parallel.Forces[x], 1e-9);
        }
    }

    [Fact]
    public void UnknownSpeciesIsAClearError()
    {
        var model = Synthetic.RandomModel(Synthetic.Families().First().Options, 1, ForceMode.Agent, seed: 1);
        var frame = new Frame([Elements.O, Elements.Get("Na")], [0, 0, 0, 2, 0, 0], null);
        var e = Assert.Throws<DataException>(() => model.CreateForceField().Compute(frame));
        Assert.Contains("Na", e.Message);
    }

    /// <summary>The frame repeated m × m × m times (the export's <see cref="FrameReplica"/>).</summary>
    internal static Frame Replicate(Frame f, int m) => FrameReplica.Replicate(f, m, m, m);
}
