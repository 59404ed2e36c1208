using System.Runtime.Intrinsics;
using System.Text.Json;

namespace MolecularLearning.Cli.Tests;

/// <summary>
/// `--precision double|mixed` as a user meets it: evaluate on the simd backend says mixed and lands within 1e-6 of
/// double's errors; mixed on the reference backend and an unknown value are one error line; bench rows carry
/// "precision" and the mixed run's force difference from double.
/// </summary>
public sealed class PrecisionOptionTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "mld-precision-" + Guid.NewGuid().ToString("N"));

    public PrecisionOptionTests() => Directory.CreateDirectory(_dir);
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static MldProcess.Result Mld(params string[] args) => MldProcess.Run(TimeSpan.FromSeconds(180), args);

    private string Fit()
    {
        string model = Path.Combine(_dir, "agent.json");
        var (code, _, err) = Mld("fit", MldProcess.PbeSample(), "-o", model, "--mode", "agent", "--stride", "1");
        Assert.True(code == 0, err);
        return model;
    }

    [SkippableFact]
    public void MixedIsShownAndAgreesAndReferenceRefusesIt()
    {
        Skip.IfNot(Vector128.IsHardwareAccelerated, "no SIMD hardware: the simd backend, and so mixed precision, is not available here");
        string model = Fit();
        var (code, stdout, err) = Mld("evaluate", model, MldProcess.PbeSample(), "--backend", "simd", "--precision", "mixed");
        Assert.True(code == 0, err);
        Assert.Contains("-bit, mixed)", stdout);
        double Rel(string precision)
        {
            var (c, o, e) = Mld("evaluate", model, MldProcess.PbeSample(), "--precision", precision, "--json");
            Assert.True(c == 0, e);
            using var doc = JsonDocument.Parse(o);
            return doc.RootElement.GetProperty("species").GetProperty("O").GetProperty("relRmse").GetDouble();
        }
        double exact = Rel("double"), mixed = Rel("mixed");
        Assert.True(exact > 0);
        Assert.True(Math.Abs(mixed - exact) <= 1e-6 * exact, $"relative force RMSE of O: mixed {mixed} against double {exact}");

        (code, _, err) = Mld("evaluate", model, MldProcess.PbeSample(), "--backend", "reference", "--precision", "mixed");
        Assert.StartsWith("error: --precision mixed needs the simd backend", MldProcess.OneErrorLine(code, err));
        (code, _, err) = Mld("evaluate", model, MldProcess.PbeSample(), "--precision", "half");
        Assert.Equal("error: --precision: 'half' is not one of double|mixed", MldProcess.OneErrorLine(code, err));
    }

    [SkippableFact]
    public void BenchRowsCarryThePrecisionAndMixedItsDifferenceFromDouble()
    {
        Skip.IfNot(Vector128.IsHardwareAccelerated, "no SIMD hardware: the simd backend, and so mixed precision, is not available here");
        string model = Fit();
        var (code, stdout, err) = Mld("bench", "--model", model, "--replicas", "1", "--threads", "1", "--seconds", "0.05", "--precision", "mixed", "--json");
        Assert.True(code == 0, err);
        using var report = JsonDocument.Parse(stdout);
        var learned = report.RootElement.GetProperty("forceEval").EnumerateArray().Where(r => r.GetProperty("forceField").GetString() == "learned").ToList();
        Assert.NotEmpty(learned);
        Assert.All(learned, r => Assert.Equal("mixed", r.GetProperty("precision").GetString()));
        var row = Assert.Single(report.RootElement.GetProperty("precision").EnumerateArray());
        Assert.Equal(96, row.GetProperty("atoms").GetInt32());
        double d = row.GetProperty("forceRmsDifferenceOverRmsForce").GetDouble();
        Assert.True(d > 0 && d <= 1e-6, $"mixed against double: {d} of the rms force");
    }
}
