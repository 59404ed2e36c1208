using MolecularLearning.Core;
using MolecularLearning.Learning.Export;

namespace MolecularLearning.Learning.Tests.Export;

public class LearnedModelExportTests
{
    private static readonly InvariantOptions Radial = InvariantOptions.Parse("gauss:5:0.9:4.2+inv:1:2", 4.5);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void DescriptionEvaluatesLikeTheLearnedModel(int order)
    {
        var walls = new[] { new RepulsionWall("O", "H", 0.85, 20), new RepulsionWall("H", "H", 1.3, 20), new RepulsionWall("O", "O", 2.3, 20) };
        var model = Synthetic.RandomModel(Radial, order, ForceMode.Conservative, seed: 4, walls);
        var description = LearnedModelExport.Describe(model);
        Assert.Equal(order, description.Order);
        // Close pairs so that the walls act.
        var frame = Synthetic.Water(6, Synthetic.Triclinic, seed: 2, jitter: 0.12);
        var want = model.CreateForceField().Compute(frame);
        var got = new RadialLossForceField(description).Compute(frame);
        double scale = want.Forces.Max(Math.Abs);
        Assert.Equal(want.Energy, got.Energy, 1e-10 * Math.Max(1, Math.Abs(want.Energy)));
        for (int i = 0; i < want.Forces.Length; i++) Assert.True(Math.Abs(want.Forces[i] - got.Forces[i]) < 1e-10 * scale, $"F[{i}]");
        for (int i = 0; i < 9; i++) Assert.True(Math.Abs(want.Virial[i] - got.Virial[i]) < 1e-9 * Math.Max(1, want.Virial.Max(Math.Abs)), $"W[{i}]");
    }

    [Fact]
    public void WallsActOnTheFrameUsedAbove()
    {
        // Guard for the test above: without walls the energy differs, so they are really exercised.
        var walls = new[] { new RepulsionWall("O", "H", 0.85, 20), new RepulsionWall("H", "H", 1.3, 20), new RepulsionWall("O", "O", 2.3, 20) };
        var frame = Synthetic.Water(6, Synthetic.Triclinic, seed: 2, jitter: 0.12);
        var with = Synthetic.RandomModel(Radial, 2, ForceMode.Conservative, seed: 4, walls).CreateForceField().Compute(frame).Energy;
        var without = Synthetic.RandomModel(Radial, 2, ForceMode.Conservative, seed: 4).CreateForceField().Compute(frame).Energy;
        Assert.NotEqual(with, without, 6);
    }

    [Fact]
    public void RefusesAgentModeSortedAndAngularModels()
    {
        var agent = Synthetic.RandomModel(Radial, 2, ForceMode.Agent, 1);
        Assert.Contains("not the gradient of one energy", Assert.Throws<DataException>(() => LearnedModelExport.Describe(agent)).Message);
        var sorted = Synthetic.RandomModel(InvariantOptions.Parse("sorted:O2:H3+gauss:3", 4.0), 2, ForceMode.Conservative, 1);
        Assert.Contains("not sums over pairs", Assert.Throws<DataException>(() => LearnedModelExport.Describe(sorted)).Message);
        var angular = Synthetic.RandomModel(InvariantOptions.Parse("gauss:3+angular:2", 4.0), 2, ForceMode.Conservative, 1);
        Assert.Contains("three-body", Assert.Throws<DataException>(() => LearnedModelExport.Describe(angular)).Message);
        // The angles family rests on sorted neighbours, so it is refused with them.
        var angles = Synthetic.RandomModel(InvariantOptions.Parse("sorted:O2:H3+gauss:3+angles:2:H1H2:O1H1", 4.0), 2, ForceMode.Conservative, 1);
        Assert.Contains("not sums over pairs", Assert.Throws<DataException>(() => LearnedModelExport.Describe(angles)).Message);
    }

    [Fact]
    public void LearnedModelTablesMeetTheBudget()
    {
        var model = Synthetic.RandomModel(Radial, 2, ForceMode.Conservative, seed: 8, [new RepulsionWall("O", "H", 0.8, 20)]);
        var frames = new[] { Synthetic.Water(8, Cell.Orthorhombic(7.5, 7.5, 7.5), seed: 1), Synthetic.Water(8, Cell.Orthorhombic(7.5, 7.5, 7.5), seed: 2) };
        var tab = LammpsTabulation.Create(LearnedModelExport.Describe(model), frames);
        Assert.True(tab.Budget.TotalForceError <= 1e-6, $"{tab.Budget.TotalForceError}");
        var other = Synthetic.Water(8, Cell.Orthorhombic(7.5, 7.5, 7.5), seed: 3);
        var want = model.CreateForceField().Compute(other);
        var got = new PairEmbeddingForceField(tab.Tabulated).Compute(other);
        double rms = Math.Sqrt(want.Forces.Sum(x => x * x) / other.AtomCount);
        Assert.True(LammpsTabulation.MaxForceError([got], [want]) / rms < 1e-5);
    }
}
