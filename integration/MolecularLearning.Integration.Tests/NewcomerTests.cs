using System.Text.Json;
using System.Text.RegularExpressions;

namespace MolecularLearning.Integration.Tests;

/// <summary>
/// A newcomer's first minutes, read from the README itself so that it cannot drift from what works: clone the
/// repository (its committed state) into a temporary folder, take the two commands under "Two commands on a fresh
/// machine", run the demo one there (a short learned run: --duration 100; the first build included) and check what
/// it wrote. The test command would run this test again, so it is only checked to be the executable test.sh.
/// </summary>
public sealed class NewcomerTests : IDisposable
{
    private readonly string _dir = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "mld-newcomer-" + Guid.NewGuid().ToString("N"))).FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>The indented command lines of the README section <paramref name="heading"/>.</summary>
    internal static List<string> Commands(string readme, string heading)
    {
        var section = Regex.Match(readme, "^## " + Regex.Escape(heading) + "\\s*$(.*?)(?=^## |\\z)", RegexOptions.Multiline | RegexOptions.Singleline);
        Assert.True(section.Success, $"README has no section '## {heading}'");
        return Regex.Matches(section.Groups[1].Value, "^    (\\S.*)$", RegexOptions.Multiline).Select(m => m.Groups[1].Value.Trim()).ToList();
    }

    [Fact]
    public void The_readme_commands_work_on_a_fresh_clone()
    {
        var commands = Commands(File.ReadAllText(Path.Combine(Peers.RepoRoot, "README.md")), "Two commands on a fresh machine");
        Assert.Equal(2, commands.Count);
        var demo = Assert.Single(commands, c => Regex.IsMatch(c, @"\bdemo\b"));
        var test = Assert.Single(commands, c => c.Contains("test.sh"));

        var clone = Path.Combine(_dir, "repo");
        var git = Peers.Run("git", ["clone", "--quiet", "--no-hardlinks", Peers.RepoRoot, clone], TimeSpan.FromMinutes(2));
        Assert.True(git.ExitCode == 0, git.StdErr);
        Assert.False(Directory.Exists(Path.Combine(clone, "src", "MolecularLearning.Cli", "bin")), "the clone should start unbuilt");
        var testScript = Path.Combine(clone, test.Split(' ')[0]);
        Assert.True(File.Exists(testScript), test + ": not in the clone");
        if (!OperatingSystem.IsWindows()) Assert.True(File.GetUnixFileMode(testScript).HasFlag(UnixFileMode.UserExecute), test + ": not executable");

        var run = Peers.Run("bash", ["-c", demo + " --output out --duration 100"], TimeSpan.FromMinutes(20), workingDirectory: clone);
        Assert.True(run.ExitCode == 0, run.StdOut + run.StdErr);
        // The first build says it is building before the minute of silence.
        Assert.Matches("(?i)building", run.StdErr.Split('\n')[0]);
        Assert.Contains("times faster per step than CP2K GFN1-xTB", run.StdOut);

        var output = Path.Combine(clone, "out");
        foreach (var file in new[] { "model.json", "agent.json", "learned.extxyz", "agent.extxyz", "thermo.csv", "agent-thermo.csv", "report.html", "summary.json" })
            Assert.True(File.Exists(Path.Combine(output, file)), file + " missing");
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "summary.json")));
        var root = summary.RootElement;
        Assert.Equal("CP2K GFN1-xTB", root.GetProperty("referenceMethod").GetString());
        var cp2k = root.GetProperty("reference");
        Assert.Equal("CP2K GFN1-xTB", cp2k.GetProperty("label").GetString());
        var models = root.GetProperty("models");
        Assert.Equal("conservative", models.GetProperty("default").GetProperty("mode").GetString());
        Assert.Equal("agent", models.GetProperty("agent").GetProperty("mode").GetString());
        foreach (var name in new[] { "default", "agent" })
        {
            var m = models.GetProperty(name);
            Assert.False(m.GetProperty("diverged").GetBoolean(), name);
            foreach (var species in new[] { "O", "H" }) Assert.InRange(m.GetProperty("heldOutRelRmse").GetProperty(species).GetDouble(), 0.01, 0.6);
            Assert.True(m.GetProperty("speedup").GetDouble() > 1, name);
            var learned = m.GetProperty("trajectory");
            // 100 fs from CP2K's first frame: the molecules stay whole and the bonds stay near CP2K's.
            Assert.Equal(0, learned.GetProperty("hohAngle").GetProperty("brokenMolecules").GetInt32());
            Assert.InRange(learned.GetProperty("ohBond").GetProperty("mean").GetDouble() - cp2k.GetProperty("ohBond").GetProperty("mean").GetDouble(), -0.02, 0.02);
            Assert.InRange(learned.GetProperty("temperature").GetProperty("mean").GetDouble(), 150, 500);
        }
        Assert.Equal(51, Cp2k.ExtendedXyz.Read(Path.Combine(output, "learned.extxyz")).Count); // every 2 fs, as the sample
        Assert.Equal(51, Cp2k.ExtendedXyz.Read(Path.Combine(output, "agent.extxyz")).Count);
        var html = File.ReadAllText(Path.Combine(output, "report.html"));
        foreach (var label in new[] { "CP2K GFN1-xTB", "default model (conservative)", "agent model (paper)" }) Assert.Contains(label, html);
    }

    [Fact]
    public void The_readme_tour_commands_name_verbs_that_exist()
    {
        var readme = File.ReadAllText(Path.Combine(Peers.RepoRoot, "README.md"));
        var help = Peers.Mld(["--help"], TimeSpan.FromMinutes(1));
        Assert.True(help.ExitCode == 0, help.StdErr);
        var tour = Commands(readme, "A five-minute tour").Where(c => c.StartsWith("mld ", StringComparison.Ordinal)).ToList();
        Assert.True(tour.Count >= 5, "the tour should show mld commands");
        foreach (var verb in tour.Select(c => c.Split(' ')[1]).Distinct())
            Assert.Matches(new Regex("^\\s+" + Regex.Escape(verb) + "\\s", RegexOptions.Multiline), help.StdOut);
    }
}
