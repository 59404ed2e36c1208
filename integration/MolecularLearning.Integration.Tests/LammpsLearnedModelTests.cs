using System.Text.Json;
using MolecularLearning.Core;
using MolecularLearning.Cp2k;
using MolecularLearning.Learning;
using MolecularLearning.Learning.Export;

namespace MolecularLearning.Integration.Tests;

/// <summary>Conservative radial models fitted on the shipped water run (order 1 and 2), saved as model files.</summary>
public sealed class FittedWaterModels : IDisposable
{
    public FittedWaterModels()
    {
        Directory.CreateDirectory(Dir);
        Frames = FrameSource.Load(DataPath);
        foreach (int order in new[] { 1, 2 })
        {
            var options = FitOptions.Default with
            {
                Order = order, Mode = ForceMode.Conservative, Stride = 50,
                Invariants = InvariantOptions.Parse("gauss:5:0.8:5.5+inv:1", 6.0), Source = DataPath,
            };
            ModelFitter.Fit(Frames, options).Model.Save(ModelPath(order));
        }
    }

    public static string DataPath => Path.Combine(Peers.RepoRoot, "samples", "water32-xtb");
    public string Dir { get; } = Path.Combine(Path.GetTempPath(), $"mld-lammps-fit-{Guid.NewGuid():N}");
    public IReadOnlyList<Frame> Frames { get; }
    public string ModelPath(int order) => Path.Combine(Dir, $"water-order{order}.json");
    public void Dispose() { if (Directory.Exists(Dir)) Directory.Delete(Dir, true); }
}

/// <summary>
/// The issue's acceptance test: `mld export-lammps` on models fitted to the shared water run, LAMMPS single points on
/// the 96-atom box (serial) and on a 4×4×4 replica (mpirun -np 2) equal mld's in-process evaluation within 1e-5, and
/// an NVE run in LAMMPS conserves energy.
/// </summary>
public sealed class LammpsLearnedModelTests(FittedWaterModels models) : IClassFixture<FittedWaterModels>
{
    private string Export(int order, string name, params string[] extra)
    {
        string dir = Path.Combine(models.Dir, name);
        var r = Peers.Mld(["export-lammps", models.ModelPath(order), "-o", dir, "--data", FittedWaterModels.DataPath, "--json", .. extra], TimeSpan.FromSeconds(120));
        Assert.True(r.ExitCode == 0, r.StdErr);
        using var summary = JsonDocument.Parse(r.StdOut);
        Assert.True(summary.RootElement.GetProperty("budget").GetProperty("total").GetDouble() <= 1e-6);
        return dir;
    }

    private void SinglePoints(int order, string dir)
    {
        var model = LearnedModel.Load(models.ModelPath(order));
        var box = models.Frames[^1]; // export-lammps writes the last frame by default
        var data = LammpsDataFile.Write(Path.Combine(dir, "box.data"), box, model.Species);
        var serial = LammpsDriver.Evaluate(dir, "box.data", data, "model.lammps", ranks: 1, "box");
        var want = model.CreateForceField().Compute(box);
        Assert.True(LammpsDriver.RelativeForceError(serial.Forces, want.Forces) < 1e-5, $"serial: {LammpsDriver.RelativeForceError(serial.Forces, want.Forces)}");
        Assert.Equal(want.Energy, serial.Energy, Math.Abs(want.Energy) * 1e-5);

        var big = FrameReplica.Replicate(box, 4, 4, 4);
        var bigData = LammpsDataFile.Write(Path.Combine(dir, "big.data"), big, model.Species);
        var mpi = LammpsDriver.Evaluate(dir, "big.data", bigData, "model.lammps", ranks: 2, "big");
        var bigWant = model.CreateForceField().Compute(big);
        Assert.True(LammpsDriver.RelativeForceError(mpi.Forces, bigWant.Forces) < 1e-5, $"mpi: {LammpsDriver.RelativeForceError(mpi.Forces, bigWant.Forces)}");
        Assert.Equal(bigWant.Energy, mpi.Energy, Math.Abs(bigWant.Energy) * 1e-5);
    }

    [Fact]
    public void OrderTwoModelRunsInLammpsSerialMpiAndNve()
    {
        string dir = Export(2, "order2");
        Assert.Contains("eam/fs", File.ReadAllText(Path.Combine(dir, "model.lammps")));
        SinglePoints(2, dir);
        var (total, kinetic) = LammpsDriver.Nve(dir, "model.data", "model.lammps", steps: 200, dtFs: 0.5, every: 10, ranks: 1);
        double drift = total.Max(e => Math.Abs(e - total[0]));
        Assert.True(drift < 0.01 * kinetic.Average(), $"NVE total energy wanders by {drift} eV, mean kinetic energy {kinetic.Average()} eV");
    }

    [Fact]
    public void OrderOneModelIsAPlainPairTable()
    {
        string dir = Export(1, "order1");
        var snippet = File.ReadAllText(Path.Combine(dir, "model.lammps"));
        Assert.DoesNotContain("eam/fs", snippet);
        Assert.Contains("pair_style table linear", snippet);
        SinglePoints(1, dir);
    }

    /// <summary>
    /// A user's data file with H as type 1 and O as type 2: the export written for that order (--types H,O) sets the
    /// masses, pair tables and eam/fs elements by it, and LAMMPS equals the in-process evaluation; its own data file
    /// numbers the types alike.
    /// </summary>
    [Fact]
    public void AnExportForAnotherTypeOrderMatchesTheModel()
    {
        string dir = Export(2, "types-h-o", "--types", "H,O");
        var model = LearnedModel.Load(models.ModelPath(2));
        var h = model.Species.Single(s => s.Symbol == "H");
        var o = model.Species.Single(s => s.Symbol == "O");
        var snippet = File.ReadAllText(Path.Combine(dir, "model.lammps"));
        Assert.Contains($"mass 1 {h.Mass.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}", snippet);
        Assert.Contains("model.1.eam.fs H O", snippet);
        Assert.Contains($"1 {h.Mass.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}  # H", File.ReadAllText(Path.Combine(dir, "model.data")));
        var box = models.Frames[^1];
        var data = LammpsDataFile.Write(Path.Combine(dir, "mine.data"), box, [h, o]);
        var got = LammpsDriver.Evaluate(dir, "mine.data", data, "model.lammps", ranks: 1, "mine");
        var want = model.CreateForceField().Compute(box);
        Assert.True(LammpsDriver.RelativeForceError(got.Forces, want.Forces) < 1e-5, $"H,O types: {LammpsDriver.RelativeForceError(got.Forces, want.Forces)}");
        Assert.Equal(want.Energy, got.Energy, Math.Abs(want.Energy) * 1e-5);

        var wrong = Peers.Mld(["export-lammps", models.ModelPath(2), "-o", Path.Combine(models.Dir, "types-c"), "--types", "O,C"], TimeSpan.FromSeconds(60));
        Assert.Equal(2, wrong.ExitCode);
        Assert.Equal("error: --types: C is not a species of the model (O, H)", wrong.StdErr.Trim());
    }

    /// <summary>
    /// A molecular data file (atom_style full, each water's O–H bonds and H–O–H angle): LAMMPS's default special_bonds
    /// would leave the bonded pairs out of the pair lists; the export counts every pair and equals the in-process evaluation.
    /// </summary>
    [Fact]
    public void BondsInTheDataFileDropNoPairs()
    {
        string dir = Export(2, "bonded");
        var model = LearnedModel.Load(models.ModelPath(2));
        var box = models.Frames[^1];
        var data = LammpsDataFile.Write(Path.Combine(dir, "atomic.data"), box, model.Species);
        File.WriteAllText(Path.Combine(dir, "full.data"), FullStyle(File.ReadAllText(Path.Combine(dir, "atomic.data")), box));
        var got = LammpsDriver.Evaluate(dir, "full.data", data, "model.lammps", ranks: 2, "full", "full", "bond_style zero\nbond_coeff *\nangle_style zero\nangle_coeff *");
        var want = model.CreateForceField().Compute(box);
        Assert.True(LammpsDriver.RelativeForceError(got.Forces, want.Forces) < 1e-5, $"bonded: {LammpsDriver.RelativeForceError(got.Forces, want.Forces)}");
        Assert.Equal(want.Energy, got.Energy, Math.Abs(want.Energy) * 1e-5);
    }

    /// <summary>An atomic data file as atom_style full: each H bonded to its nearest O (one molecule per O), an angle per water.</summary>
    private static string FullStyle(string atomic, Frame frame)
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        int n = frame.AtomCount;
        var molecule = new int[n];
        var bonds = new List<(int O, int H)>();
        var oxygens = Enumerable.Range(0, n).Where(i => frame.Species[i].Symbol == "O").ToArray();
        for (int k = 0; k < oxygens.Length; k++) molecule[oxygens[k]] = k + 1;
        for (int i = 0; i < n; i++)
        {
            if (frame.Species[i].Symbol != "H") continue;
            int o = oxygens.MinBy(j => frame.Cell!.MinimumImage(Vec3.At(frame.Positions, i) - Vec3.At(frame.Positions, j)).Norm());
            molecule[i] = molecule[o];
            bonds.Add((o, i));
        }
        var angles = bonds.GroupBy(b => b.O).Where(g => g.Count() == 2).Select(g => (A: g.First().H, O: g.Key, B: g.Last().H)).ToList();
        var text = new System.Text.StringBuilder();
        bool atoms = false;
        foreach (var line in atomic.Split('\n'))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (line.EndsWith(" atom types")) text.Append(line).Append($"\n{bonds.Count} bonds\n1 bond types\n{angles.Count} angles\n1 angle types\n");
            else if (line.StartsWith("Atoms")) { text.Append("Atoms  # full\n"); atoms = true; }
            else if (line.StartsWith("Velocities")) { text.Append(line).Append('\n'); atoms = false; }
            else if (atoms && f.Length == 5)
            {
                int id = int.Parse(f[0], inv);
                text.Append(inv, $"{id} {molecule[id - 1]} {f[1]} 0 {f[2]} {f[3]} {f[4]}\n");
            }
            else text.Append(line).Append('\n');
        }
        text.Append("\nBonds\n\n");
        for (int b = 0; b < bonds.Count; b++) text.Append(inv, $"{b + 1} 1 {bonds[b].O + 1} {bonds[b].H + 1}\n");
        text.Append("\nAngles\n\n");
        for (int a = 0; a < angles.Count; a++) text.Append(inv, $"{a + 1} 1 {angles[a].A + 1} {angles[a].O + 1} {angles[a].B + 1}\n");
        return text.ToString();
    }

    [Fact]
    public void AgentModeModelIsRefusedWithTheReason()
    {
        var conservative = LearnedModel.Load(models.ModelPath(2));
        string path = Path.Combine(models.Dir, "agent.json");
        new LearnedModel(conservative.Invariants, ForceMode.Agent, conservative.Losses, conservative.Walls, conservative.Training).Save(path);
        var r = Peers.Mld(["export-lammps", path, "-o", Path.Combine(models.Dir, "agent")], TimeSpan.FromSeconds(60));
        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith("error: agent: cannot export to LAMMPS: agent-mode forces", r.StdErr.Trim());
        Assert.Single(r.StdErr.Trim().Split('\n'));
    }
}
