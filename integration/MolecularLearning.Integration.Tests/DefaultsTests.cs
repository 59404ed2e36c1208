using System.Globalization;
using Xunit.Abstractions;

namespace MolecularLearning.Integration.Tests;

/// <summary>
/// What a newcomer does: `mld fit RUN -o m.json` (the default recipe, and `--mode agent`), then `mld run m.json --from
/// ANOTHER_RUN --steps 40000` with no thermostat options: 20 ps from a frame of a CP2K run the model never saw must
/// finish without diverging, and the thermostat the run chose per model must hold the temperature.
/// </summary>
public sealed class DefaultsTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "mld-defaults-" + Guid.NewGuid().ToString("N"))).FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    [Theory]
    [InlineData("default")]
    [InlineData("agent")]
    public void Fit_then_run_with_defaults_holds_20_ps_from_another_run(string recipe)
    {
        var training = Path.Combine(Peers.RepoRoot, "samples", "water32-xtb");
        var other = Path.Combine(Peers.RepoRoot, "tests", "data", "water32-pbe-sample");
        var model = Path.Combine(_dir, recipe + ".json");
        string[] fit = recipe == "agent" ? ["fit", training, "-o", model, "--mode", "agent"] : ["fit", training, "-o", model];
        var fitted = Peers.Mld(fit, TimeSpan.FromMinutes(5));
        Assert.True(fitted.ExitCode == 0, fitted.StdErr);

        var log = Path.Combine(_dir, recipe + ".csv");
        var run = Peers.Mld(["run", model, "--from", other, "--steps", "40000", "--log", log, "--log-every", "100"], TimeSpan.FromMinutes(10));
        output.WriteLine(run.StdOut);
        Assert.True(run.ExitCode == 0, run.StdErr + run.StdOut);
        Assert.Contains("thermostat:", run.StdOut); // the choice is said in one line

        // Mean temperature of the second 10 ps within 5 % of the 300 K target (32 waters: ±25 K frame to frame).
        var temperatures = File.ReadLines(log).Skip(1)
            .Select(l => l.Split(','))
            .Where(f => long.Parse(f[0], CultureInfo.InvariantCulture) >= 20000)
            .Select(f => double.Parse(f[3], CultureInfo.InvariantCulture)).ToList();
        Assert.True(temperatures.Count >= 200, $"{temperatures.Count} log lines after step 20000");
        Assert.All(temperatures, t => Assert.True(double.IsFinite(t) && t < 600, $"temperature {t} K"));
        double mean = temperatures.Average();
        Assert.InRange(mean, 285, 315);
    }
}
