using System.Text.Json;

namespace MolecularLearning.Integration.Tests;

/// <summary>
/// `mld demo` end to end from the repository root, as the README runs it: fit the default model on the
/// shipped CP2K sample, learned NVT from its first frame, report and summary. A short learned run keeps
/// the suite quick; the full 2 ps is the README's command.
/// </summary>
public sealed class DemoTests : IDisposable
{
    private readonly string _dir = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "mld-demo-" + Guid.NewGuid().ToString("N"))).FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Demo_fits_simulates_compares_and_reports()
    {
        var r = Peers.Mld(["demo", "--output", _dir, "--duration", "100"], TimeSpan.FromMinutes(8), workingDirectory: Peers.RepoRoot);
        Assert.True(r.ExitCode == 0, r.StdOut + r.StdErr);
        Assert.Contains("times faster per step than CP2K", r.StdOut);
        foreach (var file in new[] { "model.json", "learned.extxyz", "thermo.csv", "report.html", "summary.json" })
            Assert.True(File.Exists(Path.Combine(_dir, file)), file + " missing");
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir, "summary.json")));
        var root = summary.RootElement;
        Assert.False(root.GetProperty("diverged").GetBoolean());
        foreach (var species in new[] { "O", "H" }) Assert.InRange(root.GetProperty("heldOutRelRmse").GetProperty(species).GetDouble(), 0.01, 0.6);
        var learned = root.GetProperty("trajectory"); var cp2k = root.GetProperty("reference");
        // 100 fs from CP2K's first frame: the molecules stay whole and the bonds stay near CP2K's.
        Assert.Equal(0, learned.GetProperty("hohAngle").GetProperty("brokenMolecules").GetInt32());
        Assert.InRange(learned.GetProperty("ohBond").GetProperty("mean").GetDouble() - cp2k.GetProperty("ohBond").GetProperty("mean").GetDouble(), -0.02, 0.02);
        Assert.InRange(learned.GetProperty("temperature").GetProperty("mean").GetDouble(), 150, 500);
        Assert.True(root.GetProperty("speedup").GetDouble() > 1);
        Assert.Equal(51, Cp2k.ExtendedXyz.Read(Path.Combine(_dir, "learned.extxyz")).Count); // every 2 fs, as the sample
    }
}
