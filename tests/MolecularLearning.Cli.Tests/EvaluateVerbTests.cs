using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace MolecularLearning.Cli.Tests;

/// <summary>`mld evaluate`'s per-frame errors and extrapolation signal, as a user meets them: the built mld.dll run as a process.</summary>
public sealed class EvaluateVerbTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "mld-evaluate-" + Guid.NewGuid().ToString("N"));

    public EvaluateVerbTests() => Directory.CreateDirectory(_dir);
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static MldProcess.Result Mld(params string[] args) => MldProcess.Run(TimeSpan.FromSeconds(120), args);

    [Fact]
    public void PerFrameErrorsCarryTheSignalAndAModelWithoutRangesSaysSoOnce()
    {
        string model = Path.Combine(_dir, "agent.json");
        var (code, _, err) = Mld("fit", MldProcess.PbeSample(), "-o", model, "--stride", "1", "--holdout", "0", "--ridge", "1e-6");
        Assert.True(code == 0, err);

        (code, var stdout, err) = Mld("evaluate", model, MldProcess.PbeSample(), "--json");
        Assert.True(code == 0, err);
        Assert.Equal("", err);
        using (var doc = JsonDocument.Parse(stdout))
        {
            var root = doc.RootElement;
            var frames = root.GetProperty("perFrame").EnumerateArray().ToList();
            Assert.Equal(root.GetProperty("frames").GetInt32(), frames.Count);
            Assert.Equal(Enumerable.Range(0, frames.Count), frames.Select(f => f.GetProperty("frame").GetInt32()));
            // Every frame was a training frame: inside the recorded range.
            Assert.All(frames, f => Assert.Equal(0, f.GetProperty("extrapolation").GetDouble()));
            // forceRmse over all atoms is the atom-weighted mean square of the species' RMSE in that frame.
            var species = root.GetProperty("species");
            long nO = species.GetProperty("O").GetProperty("atoms").GetInt64() / frames.Count, nH = species.GetProperty("H").GetProperty("atoms").GetInt64() / frames.Count;
            foreach (var f in frames)
            {
                double o = f.GetProperty("rmse").GetProperty("O").GetDouble(), h = f.GetProperty("rmse").GetProperty("H").GetDouble();
                Assert.Equal(Math.Sqrt((nO * o * o + nH * h * h) / (nO + nH)), f.GetProperty("forceRmse").GetDouble(), 1e-12);
                Assert.True(o > 0 && h > 0);
            }
        }

        // The same model as a file written before ranges were recorded.
        var node = JsonNode.Parse(File.ReadAllText(model))!;
        foreach (var (_, p) in node["parameters"]!.AsObject()) p!.AsObject().Remove("range");
        string old = Path.Combine(_dir, "old.json");
        File.WriteAllText(old, node.ToJsonString());
        (code, stdout, err) = Mld("evaluate", old, MldProcess.PbeSample(), "--json");
        Assert.True(code == 0, err);
        var line = Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("extrapolation signal: not available", line);
        using (var doc = JsonDocument.Parse(stdout))
            Assert.All(doc.RootElement.GetProperty("perFrame").EnumerateArray(), f => Assert.Equal(JsonValueKind.Null, f.GetProperty("extrapolation").ValueKind));

        (code, stdout, err) = Mld("evaluate", old, MldProcess.PbeSample(), "--worst", "2");
        Assert.True(code == 0, err);
        Assert.Single(stdout.Split('\n'), l => l.Contains("extrapolation signal: not available"));
        Assert.Contains("worst 2 frames:", stdout);

        (code, _, err) = Mld("evaluate", old, MldProcess.PbeSample(), "--worst", "-1");
        Assert.Equal(2, code);
        Assert.StartsWith("error: --worst: -1 is negative", err);
    }

    [Fact]
    public void AModelFittedWithACommitteeReportsItsDeviationPerFrame()
    {
        string model = Path.Combine(_dir, "committee.json");
        var (code, stdout, err) = Mld("fit", MldProcess.PbeSample(), "-o", model, "--mode", "agent", "--stride", "1", "--holdout", "0", "--ridge", "1e-6", "--committee", "3", "--json");
        Assert.True(code == 0, err);
        using (var fit = JsonDocument.Parse(stdout)) Assert.Equal(3, fit.RootElement.GetProperty("committee").GetInt32());
        Assert.Equal(3, JsonNode.Parse(File.ReadAllText(model))!["committee"]!["members"]!.AsArray().Count);

        (code, stdout, err) = Mld("evaluate", model, MldProcess.PbeSample(), "--json");
        Assert.True(code == 0, err);
        using (var doc = JsonDocument.Parse(stdout))
        {
            var frames = doc.RootElement.GetProperty("perFrame").EnumerateArray().ToList();
            Assert.NotEmpty(frames);
            // Four frames cut into blocks and resampled: members differ, so every frame has a positive, finite deviation.
            Assert.All(frames, f => Assert.True(f.GetProperty("committee").GetDouble() is var c && c > 0 && double.IsFinite(c)));
            Assert.True(doc.RootElement.TryGetProperty("spearmanCommittee", out _));
            Assert.Equal(3, doc.RootElement.GetProperty("committeeMembers").GetInt32());
            // The RMS over atoms never exceeds the largest atom's deviation.
            Assert.All(frames, f => Assert.True(f.GetProperty("committeeRms").GetDouble() <= f.GetProperty("committee").GetDouble() * (1 + 1e-12)));
            // The mean over atoms of the members' spread: positive, at most the RMS over atoms.
            Assert.All(frames, f => Assert.True(f.GetProperty("committeeMean").GetDouble() is var m && m > 0 && m <= f.GetProperty("committeeRms").GetDouble() * (1 + 1e-12)));
            Assert.True(doc.RootElement.TryGetProperty("spearmanCommitteeMean", out _));
        }
        (code, stdout, err) = Mld("evaluate", model, MldProcess.PbeSample());
        Assert.True(code == 0, err);
        Assert.Contains("committee deviation (3 members; largest atomic force std over members)", stdout);

        // mld run checks the committee every output step, the start included: steps 0, 10, 20.
        (code, stdout, err) = Mld("run", model, "--from", MldProcess.PbeSample(), "--steps", "20", "--every", "10", "--trajectory", Path.Combine(_dir, "t.extxyz"));
        Assert.True(code == 0, err);
        // The drift per ps: 20 steps of 0.5 fs are 0.01 ps.
        var drift = Regex.Match(stdout, @"\(drift ([-+]\d+\.\d+) eV, \S+ relative, ([-+]\d+\.\d+) eV/ps\)");
        Assert.True(drift.Success, stdout);
        Assert.Equal(double.Parse(drift.Groups[1].Value, CultureInfo.InvariantCulture) / 0.01,
            double.Parse(drift.Groups[2].Value, CultureInfo.InvariantCulture), 0.002);
        Assert.Matches(@"committee deviation \(3 members, every 10 steps, 3 checks\): median \d+\.\d+ eV/Å, largest \d+\.\d+ eV/Å at step (0|10|20) \(atom \d+\); mean over atoms: median \d+\.\d+ eV/Å", stdout);

        // The same file without the section: an ordinary model, no committee fields.
        var node = JsonNode.Parse(File.ReadAllText(model))!.AsObject();
        node.Remove("committee");
        string plain = Path.Combine(_dir, "plain.json");
        File.WriteAllText(plain, node.ToJsonString());
        (code, stdout, err) = Mld("run", plain, "--from", MldProcess.PbeSample(), "--steps", "10", "--every", "10");
        Assert.True(code == 0, err);
        Assert.DoesNotContain("committee deviation", stdout);
        (code, stdout, err) = Mld("evaluate", plain, MldProcess.PbeSample(), "--json");
        Assert.True(code == 0, err);
        using (var doc = JsonDocument.Parse(stdout))
        {
            Assert.False(doc.RootElement.TryGetProperty("spearmanCommittee", out _));
            Assert.All(doc.RootElement.GetProperty("perFrame").EnumerateArray(), f => Assert.False(f.TryGetProperty("committee", out _)));
        }

        (code, _, err) = Mld("fit", MldProcess.PbeSample(), "-o", model, "--committee", "1");
        Assert.Equal(2, code);
        Assert.Contains("committee must be 0 (none) or at least 2 members, got 1", err);
    }
}
