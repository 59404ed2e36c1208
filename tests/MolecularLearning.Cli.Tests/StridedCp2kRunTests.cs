using System.Text.Json;

namespace MolecularLearning.Cli.Tests;

/// <summary>
/// A CP2K run as users print it, not as the shipped sample is: tests/data/cp2k-triclinic-strides is 13 waters and a
/// methane in a triclinic cell (GFN1-xTB NVE), positions every step, forces every 2nd step (ADD_LAST NUMERIC),
/// velocities every 5th, the cell in P-1.cell: steps 0..10, so 11 frames, 6 with forces, 3 with velocities.
/// </summary>
public sealed class StridedCp2kRunTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "mld-strided-" + Guid.NewGuid().ToString("N"));

    public StridedCp2kRunTests() => Directory.CreateDirectory(_dir);
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Sample() => MldProcess.RepositoryPath("tests/data/cp2k-triclinic-strides");
    private static MldProcess.Result Mld(params string[] args) => MldProcess.Run(TimeSpan.FromSeconds(120), args);

    /// <summary>Fit and evaluate use the frames that have forces instead of refusing the run at its first frame without them.</summary>
    [Fact]
    public void FitAndEvaluateUseTheFramesThatHaveForces()
    {
        string model = Path.Combine(_dir, "m.json");
        var (code, stdout, err) = Mld("fit", Sample(), "-o", model, "--mode", "agent", "--order", "1", "--stride", "1", "--ridge", "1e-3", "--json");
        Assert.True(code == 0, err);
        Assert.Contains("using the 6 of 11 frames that have forces", err);
        using (var report = JsonDocument.Parse(stdout))
        {
            var root = report.RootElement;
            Assert.Equal(6, root.GetProperty("train").GetProperty("frames").GetInt32() + root.GetProperty("holdout").GetProperty("frames").GetInt32());
            Assert.Equal(["O", "H", "C"], root.GetProperty("train").GetProperty("species").EnumerateObject().Select(p => p.Name));
        }

        (code, stdout, err) = Mld("evaluate", model, Sample(), "--json");
        Assert.True(code == 0, err);
        using (var report = JsonDocument.Parse(stdout))
        {
            Assert.Equal(6, report.RootElement.GetProperty("frames").GetInt32());
            Assert.Equal(6 * 13, report.RootElement.GetProperty("species").GetProperty("O").GetProperty("atoms").GetInt32());
        }
    }

    /// <summary>The methane's hydrogens are not O–H bonds: before, each H went to its nearest O, 2–3 Å away (mean 1.18 Å).</summary>
    [Fact]
    public void AnalyzeCountsOnlyHydrogensBondedToOxygen()
    {
        var (code, stdout, err) = Mld("analyze", Sample(), "--json");
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(stdout);
        var run = doc.RootElement.GetProperty("trajectory");
        Assert.Equal(11, run.GetProperty("frames").GetInt32());
        var bond = run.GetProperty("ohBond");
        Assert.InRange(bond.GetProperty("mean").GetDouble(), 0.95, 1.02);
        Assert.InRange(bond.GetProperty("max").GetDouble(), 0.95, 1.15);
        var angle = run.GetProperty("hohAngle");
        Assert.Equal(13 * 11, angle.GetProperty("molecules").GetInt32());
        Assert.Equal(0, angle.GetProperty("brokenMolecules").GetInt32());
    }

    /// <summary>The summary table of a triclinic run gives the angles too (before: "8 x 8.6 x 9" alone).</summary>
    [Fact]
    public void IngestSummaryGivesATriclinicCellsAngles()
    {
        var (code, stdout, err) = Mld("ingest", Sample());
        Assert.True(code == 0, err);
        var line = Assert.Single(stdout.Split('\n'), l => l.Contains("cell (Å)"));
        Assert.Contains("8 x 8.6 x 9, angles 75 80 70 deg", line);
        Assert.Contains("11 (6 with forces, 3 with velocities)", stdout);
    }
}
