using System.Text.Json;

namespace MolecularLearning.Cli.Tests;

/// <summary>`mld fit`'s default, `--mode agent`, `--preset` and `--linear` as a user meets them: the built mld.dll run as a process.</summary>
public sealed class FitVerbTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "mld-fit-" + Guid.NewGuid().ToString("N"));

    public FitVerbTests() => Directory.CreateDirectory(_dir);
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static MldProcess.Result Mld(params string[] args) => MldProcess.Run(TimeSpan.FromSeconds(120), args);

    [Theory]
    [InlineData("--preset", "fastest", "--preset")]
    [InlineData("--linear", "angular,bogus", "bogus")]
    [InlineData("--backend", "gpu", "--backend: 'gpu' is not one of auto|reference|simd")]
    [InlineData("--curl-penalty", "1", "the curl penalty is for agent mode")]
    [InlineData("--curl-sample", "4:x", "--curl-sample")]
    [InlineData("--curl-frames", "x.extxyz", "--curl-frames: needs --curl-penalty")]
    [InlineData("--wall-forces", "both", "--wall-forces: expected agent|gradient, got 'both'")]
    [InlineData("--wall-forces", "gradient", "--wall-forces gradient is for agent mode")]
    public void BadOptionsGiveOneErrorLine(string option, string value, string named)
    {
        var (code, _, err) = Mld("fit", MldProcess.PbeSample(), "-o", Path.Combine(_dir, "m.json"), option, value);
        var line = MldProcess.OneErrorLine(code, err);
        Assert.Contains(named, line);
        Assert.False(File.Exists(Path.Combine(_dir, "m.json")));
    }

    /// <summary>
    /// No --mode: the recommended model, the accurate recipe (conservative, angular invariants); --mode agent: the
    /// paper's model. One accurate fit serves both checks (it is the slow one).
    /// </summary>
    [Fact]
    public void TheDefaultIsTheAccurateRecipeAndAgentIsOneFlagAway()
    {
        string model = Path.Combine(_dir, "default.json");
        // --folds 1: the recipe as it is (a short run may otherwise pick the finer angular basis by cross-validation).
        var (code, stdout, err) = Mld("fit", MldProcess.PbeSample(), "-o", model, "--stride", "1", "--folds", "1", "--json");
        Assert.True(code == 0, err);
        using (var report = JsonDocument.Parse(stdout))
        {
            Assert.Equal("conservative", report.RootElement.GetProperty("mode").GetString());
            // Five frames of PBE water: too few to generalise (that is measured on the xtb run, integration/defaults/),
            // enough to see the conservative loss reproduce the frames it was fitted on.
            Assert.True(report.RootElement.GetProperty("train").GetProperty("species").GetProperty("O").GetProperty("relRmse").GetDouble() is > 0 and < 0.1);
            Assert.Equal(1, report.RootElement.GetProperty("holdout").GetProperty("frames").GetInt32());
        }
        using (var file = JsonDocument.Parse(File.ReadAllText(model)))
            Assert.Equal(2, file.RootElement.GetProperty("invariants").GetProperty("angular").GetProperty("maxDegree").GetInt32());

        string agent = Path.Combine(_dir, "agent.json");
        (code, stdout, err) = Mld("fit", MldProcess.PbeSample(), "-o", agent, "--stride", "1", "--json", "--mode", "agent");
        Assert.True(code == 0, err);
        using (var report = JsonDocument.Parse(stdout)) Assert.Equal("agent", report.RootElement.GetProperty("mode").GetString());
        using (var file = JsonDocument.Parse(File.ReadAllText(agent)))
            Assert.Equal(0, file.RootElement.GetProperty("invariants").GetProperty("angular").GetProperty("maxDegree").GetInt32());
    }

    /// <summary>An agent basis for the curl fits: the default's 2068 parameters made each of them take a minute or more of the suite.</summary>
    private const string SmallBasis = "sorted:O2:H4+gauss:6:0.8:5.5+angles:2:H1H2:O1H1";

    /// <summary>--curl-penalty: an agent model, and the report says how far the sampled curl fell.</summary>
    [Fact]
    public void CurlPenaltyFitsAnAgentModelWithLessCurl()
    {
        string model = Path.Combine(_dir, "curl.json");
        var (code, stdout, err) = Mld("fit", MldProcess.PbeSample(), "-o", model, "--stride", "1", "--json", "--mode", "agent",
            "--basis", SmallBasis, "--curl-penalty", "10", "--curl-sample", "2:20:0.05");
        Assert.True(code == 0, err);
        using var report = JsonDocument.Parse(stdout);
        Assert.Equal("agent", report.RootElement.GetProperty("mode").GetString());
        var curl = report.RootElement.GetProperty("curl");
        Assert.Equal(10, curl.GetProperty("mu").GetDouble());
        Assert.Equal(40, curl.GetProperty("pairs").GetInt32() + curl.GetProperty("skipped").GetInt32());
        Assert.True(curl.GetProperty("rmsAfter").GetDouble() < curl.GetProperty("rmsBefore").GetDouble(), curl.ToString());
        using var file = JsonDocument.Parse(File.ReadAllText(model));
        Assert.Equal("agent", file.RootElement.GetProperty("mode").GetString());
    }

    /// <summary>
    /// --curl-frames: the frames a run of the model wrote (extended XYZ) join the penalty's sample end to end, and the report
    /// gives their curl before and after; the force rows are those of the plain fit.
    /// </summary>
    [Fact]
    public void CurlFramesFromTheModelsOwnRunJoinTheSample()
    {
        string agent = Path.Combine(_dir, "agent.json"), trajectory = Path.Combine(_dir, "run.extxyz");
        var (code, stdout, err) = Mld("fit", MldProcess.PbeSample(), "-o", agent, "--stride", "1", "--mode", "agent", "--basis", SmallBasis, "--json");
        Assert.True(code == 0, err);
        long rows;
        using (var plain = JsonDocument.Parse(stdout)) rows = plain.RootElement.GetProperty("rows").GetInt64();
        (code, _, err) = Mld("run", agent, "--from", MldProcess.PbeSample(), "--steps", "20", "--every", "10", "--trajectory", trajectory);
        Assert.True(code == 0, err);
        (code, stdout, err) = Mld("fit", MldProcess.PbeSample(), "-o", Path.Combine(_dir, "walked.json"), "--stride", "1", "--json", "--mode", "agent",
            "--basis", SmallBasis, "--curl-penalty", "10", "--curl-sample", "2:20", "--curl-frames", trajectory);
        Assert.True(code == 0, err);
        using var report = JsonDocument.Parse(stdout);
        Assert.Equal(rows, report.RootElement.GetProperty("rows").GetInt64());
        var curl = report.RootElement.GetProperty("curl");
        int extra = curl.GetProperty("extraPairs").GetInt32();
        Assert.True(extra > 0, curl.ToString());
        Assert.True(curl.GetProperty("pairs").GetInt32() + curl.GetProperty("skipped").GetInt32() >= 40 + extra, curl.ToString());
        Assert.True(curl.GetProperty("extraAfter").GetDouble() < curl.GetProperty("extraBefore").GetDouble(), curl.ToString());
    }

    /// <summary>--wall-forces with --prior: refused in one line (the offset fit keeps the prior's), no model written.</summary>
    [Fact]
    public void WallForcesWithAPriorAreRefused()
    {
        var (code, _, err) = Mld("fit", MldProcess.PbeSample(), "-o", Path.Combine(_dir, "m.json"), "--mode", "agent",
            "--prior", Path.Combine(_dir, "prior.json"), "--wall-forces", "gradient");
        Assert.Contains("--wall-forces: not available with --prior", MldProcess.OneErrorLine(code, err));
        Assert.False(File.Exists(Path.Combine(_dir, "m.json")));
    }

    /// <summary>--wall-forces gradient: recorded in the model file (the default writes nothing), and the model runs.</summary>
    [Fact]
    public void GradientWallForcesAreRecordedAndRun()
    {
        string agent = Path.Combine(_dir, "agent.json"), gradient = Path.Combine(_dir, "gradient.json");
        var (code, _, err) = Mld("fit", MldProcess.PbeSample(), "-o", agent, "--stride", "1", "--mode", "agent", "--basis", SmallBasis);
        Assert.True(code == 0, err);
        Assert.DoesNotContain("wallForces", File.ReadAllText(agent));
        (code, _, err) = Mld("fit", MldProcess.PbeSample(), "-o", gradient, "--stride", "1", "--mode", "agent", "--basis", SmallBasis, "--wall-forces", "gradient");
        Assert.True(code == 0, err);
        using (var file = JsonDocument.Parse(File.ReadAllText(gradient)))
            Assert.Equal("gradient", file.RootElement.GetProperty("wallForces").GetString());
        (code, _, err) = Mld("run", gradient, "--from", MldProcess.PbeSample(), "--steps", "20", "--every", "10");
        Assert.True(code == 0, err);
    }

    /// <summary>A missing or unreadable --curl-frames file: one error line naming it, no model written.</summary>
    [Theory]
    [InlineData("missing.extxyz", null)]
    [InlineData("bad.extxyz", "3\nnot a comment line\nO 0 0 x\n")]
    public void BadCurlFramesFileGivesOneErrorLineNamingIt(string name, string? content)
    {
        string path = Path.Combine(_dir, name);
        if (content is not null) File.WriteAllText(path, content);
        var (code, _, err) = Mld("fit", MldProcess.PbeSample(), "-o", Path.Combine(_dir, "m.json"), "--mode", "agent",
            "--curl-penalty", "1", "--curl-frames", path);
        var line = MldProcess.OneErrorLine(code, err);
        Assert.Contains(path, line);
        Assert.False(File.Exists(Path.Combine(_dir, "m.json")));
    }

    /// <summary>
    /// Four training frames: too few to cross-validate (fitted as asked), and the fit warns on stderr and in --json that the
    /// data are few for the basis; --folds 2 cross-validates anyway and says so.
    /// </summary>
    [Fact]
    public void FewFramesWarnAndFoldsCrossValidate()
    {
        var (code, stdout, err) = Mld("fit", MldProcess.PbeSample(), "-o", Path.Combine(_dir, "short.json"), "--mode", "agent", "--order", "1", "--json");
        Assert.True(code == 0, err);
        var warning = Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("warning: few data for the basis", StringComparison.Ordinal));
        Assert.Contains("4 training frames", warning);
        using (var report = JsonDocument.Parse(stdout))
        {
            Assert.Single(report.RootElement.GetProperty("warnings").EnumerateArray());
            Assert.Equal(JsonValueKind.Null, report.RootElement.GetProperty("recipe").ValueKind);
            Assert.Equal(0, report.RootElement.GetProperty("folds").GetInt32());
        }

        (code, stdout, err) = Mld("fit", MldProcess.PbeSample(), "-o", Path.Combine(_dir, "cv.json"), "--mode", "agent", "--order", "1", "--folds", "2", "--json");
        Assert.True(code == 0, err);
        using var cv = JsonDocument.Parse(stdout);
        Assert.Equal(2, cv.RootElement.GetProperty("folds").GetInt32());
        Assert.True(cv.RootElement.GetProperty("crossValidation").GetProperty("H").GetDouble() > 0);
    }

    /// <summary>
    /// A basis outside the SIMD kernel (inverse powers): fit's auto backend says once why it evaluates on Reference and
    /// reports it; evaluate --backend simd refuses with the reason; --backend reference evaluates.
    /// </summary>
    [Fact]
    public void TheBackendIsReportedAndSimdIsRefusedWithTheReason()
    {
        string model = Path.Combine(_dir, "inverse.json");
        var (code, stdout, err) = Mld("fit", MldProcess.PbeSample(), "-o", model, "--basis", "sorted+inv:2", "--stride", "1", "--json");
        Assert.True(code == 0, err);
        var note = Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("note:", StringComparison.Ordinal));
        Assert.Contains("backend auto: reference", note);
        using (var report = JsonDocument.Parse(stdout))
        {
            Assert.Equal("reference", report.RootElement.GetProperty("backend").GetString());
            Assert.Equal(0, report.RootElement.GetProperty("vectorBits").GetInt32());
        }
        (code, _, err) = Mld("evaluate", model, MldProcess.PbeSample(), "--backend", "simd");
        Assert.StartsWith("error: backend simd: ", MldProcess.OneErrorLine(code, err));
        (code, stdout, err) = Mld("evaluate", model, MldProcess.PbeSample(), "--backend", "reference", "--json");
        Assert.True(code == 0, err);
        Assert.Equal("", err);
        using var errors = JsonDocument.Parse(stdout);
        Assert.True(errors.RootElement.GetProperty("species").GetProperty("O").GetProperty("relRmse").GetDouble() > 0);
    }
}
