using System.Runtime.Intrinsics;
using System.Text.Json;

namespace MolecularLearning.Cli.Tests;

/// <summary>
/// `mld bench --vector-bits`: a forced width shows in every learned row (so one machine measures its narrower paths),
/// and a width that cannot run is one error line, never a quiet fall back to the reference backend.
/// </summary>
public sealed class BenchWidthTests
{
    private static readonly string Model = MldProcess.RepositoryPath("integration/agent/models/agent-gradientwalls.json");

    private static MldProcess.Result Bench(params string[] extra) =>
        MldProcess.Run(TimeSpan.FromSeconds(180), ["bench", "--model", Model, "--replicas", "1", "--threads", "1", "--seconds", "0.05", "--json", .. extra]);

    [SkippableFact]
    public void A128BitRunSaysSoInEveryLearnedRow()
    {
        Skip.IfNot(Vector128.IsHardwareAccelerated, "no 128-bit SIMD here: the simd backend does not run");
        var (code, stdout, err) = Bench("--vector-bits", "128");
        Assert.True(code == 0, err);
        using var report = JsonDocument.Parse(stdout);
        var learned = report.RootElement.GetProperty("forceEval").EnumerateArray().Where(r => r.GetProperty("forceField").GetString() == "learned").ToList();
        Assert.NotEmpty(learned);
        Assert.All(learned, r =>
        {
            Assert.Equal("simd", r.GetProperty("backend").GetString());
            Assert.Equal(128, r.GetProperty("vectorBits").GetInt32());
        });
    }

    [Fact]
    public void AWidthThatIsNoneOfTheThreeOrGoesWithReferenceIsOneErrorLine()
    {
        var (code, _, err) = Bench("--vector-bits", "100");
        Assert.Equal("error: --vector-bits: 100 is not one of 0|128|256|512", MldProcess.OneErrorLine(code, err));
        (code, _, err) = Bench("--vector-bits", "128", "--backend", "reference");
        Assert.StartsWith("error: --vector-bits sets the simd kernel's width", MldProcess.OneErrorLine(code, err));
    }

    [SkippableFact]
    public void AWidthTheCpuDoesNotAccelerateIsRefused()
    {
        Skip.If(Vector512.IsHardwareAccelerated, "this CPU accelerates 512 bits, so every width runs here");
        var (code, _, err) = Bench("--vector-bits", "512");
        Assert.StartsWith("error: --vector-bits: this CPU does not accelerate 512-bit vectors", MldProcess.OneErrorLine(code, err));
    }
}
