using System.Text.Json;

namespace MolecularLearning.Cli.Tests;

/// <summary>`mld export-lammps` on a fitted model: what it says about the parts LAMMPS does not get.</summary>
public sealed class ExportLammpsVerbTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "mld-export-" + Guid.NewGuid().ToString("N"));

    public ExportLammpsVerbTests() => Directory.CreateDirectory(_dir);
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static MldProcess.Result Mld(params string[] args) => MldProcess.Run(TimeSpan.FromSeconds(120), args);

    private string Fit(string name, string rangeWalls)
    {
        string model = Path.Combine(_dir, name);
        var (code, _, err) = Mld("fit", MldProcess.PbeSample(), "-o", model, "--mode", "conservative", "--basis", "gauss:6+inv:1:2",
            "--stride", "1", "--folds", "1", "--range-walls", rangeWalls);
        Assert.True(code == 0, err);
        return model;
    }

    [Fact]
    public void RangeWallsLeftOutAreWarnedOnceAndRecorded()
    {
        string model = Fit("walls.json", "0.02");
        string outDir = Path.Combine(_dir, "walls");
        var (code, stdout, err) = Mld("export-lammps", model, "-o", outDir);
        Assert.True(code == 0, err);
        var warnings = err.Split('\n').Where(l => l.Contains("range walls")).ToArray();
        var warning = Assert.Single(warnings);
        Assert.StartsWith("warning: the model's range walls (bounds: S = 0.02 eV", warning);
        Assert.Contains("are not exported", warning);
        Assert.Contains("left out: range walls", stdout);
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "export.json")));
        var walls = summary.RootElement.GetProperty("omitted").GetProperty("rangeWalls");
        Assert.Equal(0.02, walls.GetProperty("strength").GetDouble());
        // The reference frames are the training frames, inside the walls' range: nothing changes there.
        Assert.Equal(0, walls.GetProperty("atomsAffected").GetInt32());
        Assert.Contains("# left out: the model's range walls", File.ReadAllText(Path.Combine(outDir, "model.lammps")));
    }

    [Fact]
    public void AModelWithoutRangeWallsExportsWithoutTheWarning()
    {
        string model = Fit("bare.json", "0");
        string outDir = Path.Combine(_dir, "bare");
        var (code, stdout, err) = Mld("export-lammps", model, "-o", outDir);
        Assert.True(code == 0, err);
        Assert.DoesNotContain("range walls", err);
        Assert.DoesNotContain("left out", stdout);
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "export.json")));
        Assert.False(summary.RootElement.GetProperty("omitted").TryGetProperty("rangeWalls", out _));
    }
}
