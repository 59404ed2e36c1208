using System.Text.Json;
using MolecularLearning.Core;
using MolecularLearning.Learning;

namespace MolecularLearning.Cli.Tests;

/// <summary>
/// The fast kernel's vector operations are all inlined by the JIT, at every width this CPU runs, for the families of
/// both defaults and the accurate preset, in double and mixed precision. A refused inline leaves each operator a call
/// (d5d215d: 2.2–2.9× slower at 256 bits while every other test passed); `mld bench` hears the refusals from the runtime's
/// own events. The child runs without tiering, so every method is compiled once, fully optimised, before it is timed.
/// </summary>
public sealed class BenchJitTests
{
    /// <remarks><paramref name="disable"/>: a DOTNET_Enable* switch set to 0 in the child, so a plain test run also covers the
    /// 128-bit path without FMA (x86 SSE, the NEON stand-in) that otherwise only a DOTNET_EnableAVX2=0 run compiles.</remarks>
    [SkippableTheory]
    [InlineData(512, null)]
    [InlineData(256, null)]
    [InlineData(128, null)]
    [InlineData(128, "DOTNET_EnableAVX2")]
    public void EveryVectorOperationIsInlined(int bits, string? disable)
    {
        Skip.IfNot(SortedGaussianKernel.IsAccelerated(bits), $"this CPU (or DOTNET_Enable* here) does not accelerate {bits}-bit vectors");
        var environment = new Dictionary<string, string> { ["DOTNET_TieredCompilation"] = "0" };
        if (disable is not null) environment[disable] = "0";
        var dir = Directory.CreateTempSubdirectory("bench-jit-");
        try
        {
            var models = new[]
            {
                Save(dir, "agent-default", FitOptions.Default.Invariants, ForceMode.Agent),
                Save(dir, "accurate", FitOptions.Accurate.Invariants, ForceMode.Conservative),
            };
            foreach (var model in models)
                foreach (var precision in new[] { "double", "mixed" })
                {
                    var (code, stdout, err) = MldProcess.Run(TimeSpan.FromSeconds(300), environment,
                        "bench", "--model", model, "--replicas", "1", "--threads", "1", "--seconds", "0.02", "--json", "--vector-bits", $"{bits}", "--precision", precision);
                    Assert.True(code == 0, err);
                    using var report = JsonDocument.Parse(stdout);
                    var jit = report.RootElement.GetProperty("jit");
                    Assert.True(jit.GetProperty("vectorOperationsNotInlined").GetInt32() == 0,
                        $"{Path.GetFileName(model)} {precision} at {bits} bits{(disable is null ? "" : $", {disable}=0")}: {jit.GetProperty("failures")}");
                    Assert.Contains(report.RootElement.GetProperty("forceEval").EnumerateArray(), r => r.GetProperty("vectorBits").GetInt32() == bits);
                }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>A model of these families with small made-up order-2 losses: what is compiled depends on the families, not the numbers.</summary>
    private static string Save(DirectoryInfo dir, string name, InvariantOptions options, ForceMode mode)
    {
        var set = new InvariantSet(options, [Elements.O, Elements.H]);
        int k = set.Count;
        var losses = Enumerable.Range(0, 2).Select(s =>
        {
            var c = new double[k * k];
            for (int a = 0; a < k; a++)
                for (int b = 0; b < k; b++) c[a * k + b] = a == b ? 1e-4 : 1e-6 / (1 + Math.Abs(a - b));
            return new QuadraticLoss(Enumerable.Range(0, k).Select(a => 1e-3 * (a + s + 1)).ToArray(), c);
        }).ToList();
        var path = Path.Combine(dir.FullName, name + ".json");
        new LearnedModel(set, mode, losses, [new RepulsionWall("O", "H", 0.85, 20)]).Save(path);
        return path;
    }
}
