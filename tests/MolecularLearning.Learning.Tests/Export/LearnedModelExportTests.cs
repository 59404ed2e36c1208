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

public class RangeWallExportTests
{
    private static readonly InvariantOptions Radial = InvariantOptions.Parse("gauss:5:0.9:4.2+inv:1:2", 4.5);

    [Fact]
    public void TheExportSaysItLeavesOutTheRangeWallsAndWhatTheyDo()
    {
        // Walls on [0.5, 1.5]: the sums of a water box lie outside, so they act on every atom.
        var model = Synthetic.RandomModel(Radial, 2, ForceMode.Conservative, seed: 8, [new RepulsionWall("O", "H", 0.8, 20)], bounds: true, cap: 1.0);
        var frame = Synthetic.Water(8, Cell.Orthorhombic(7.5, 7.5, 7.5), seed: 1);
        var tab = LammpsTabulation.Create(LearnedModelExport.Describe(model), [frame]);

        var omitted = LearnedModelExport.RangeWallsLeftOut(model, [frame]);
        Assert.NotNull(omitted);
        Assert.Equal(2 * model.Invariants.Count, omitted.Invariants);
        Assert.Equal(frame.AtomCount, omitted.Atoms);
        Assert.True(omitted.AtomsAffected > 0);

        // What LAMMPS gets is the model without its walls, and the record says by how much that differs from mld.
        var mld = model.CreateForceField().Compute(frame);
        var lammps = new PairEmbeddingForceField(tab.Tabulated).Compute(frame);
        double perAtom = Math.Abs(mld.Energy - lammps.Energy) / frame.AtomCount;
        Assert.True(perAtom > 1e-3, $"{perAtom}");
        Assert.Equal(perAtom, omitted.EnergyPerAtom, 1e-6);
        Assert.Equal(LammpsTabulation.MaxForceError([lammps], [mld]), omitted.MaxForce, 1e-5);

        string dir = Path.Combine(Path.GetTempPath(), $"mld-export-{Guid.NewGuid():N}");
        try
        {
            var written = LammpsExport.Write(tab, dir, omitted: omitted);
            Assert.Contains("# left out: the model's range walls", File.ReadAllText(Path.Combine(dir, written.Snippet)));
            using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, written.Summary)));
            var walls = json.RootElement.GetProperty("omitted").GetProperty("rangeWalls");
            Assert.Equal(omitted.AtomsAffected, walls.GetProperty("atomsAffected").GetInt32());
            Assert.Equal(1.0, walls.GetProperty("cap").GetDouble());
            Assert.Equal(omitted.RelativeForce, json.RootElement.GetProperty("budget").GetProperty("omittedRangeWallsForce").GetDouble());
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
    }

    [Fact]
    public void AModelWithoutRangeWallsLeavesNothingOut()
    {
        var model = Synthetic.RandomModel(Radial, 2, ForceMode.Conservative, seed: 8);
        Assert.Null(LearnedModelExport.RangeWallsLeftOut(model, [Synthetic.Water(8, Cell.Orthorhombic(7.5, 7.5, 7.5), seed: 1)]));
    }
}
