using System.Runtime.Intrinsics;
using System.Text.Json;
using System.Text.Json.Nodes;
using MolecularLearning.Core;
using MolecularLearning.Learning;

namespace MolecularLearning.Learning.Tests.Conformance;

/// <summary>
/// Today's answers, kept: small models of every invariant family fitted on synthetic waters, their model files as written,
/// labels and families, and energy, forces and virial on two frames through each backend, recorded in
/// tests/data/golden-families.json by the code before the families became types of their own (issue 12). The stored model
/// files must still load and give the same results to 1e-12 relative, a refit must write the same invariants schema and the
/// same parameters (to the fit's rounding), and the labels and families must not move.
/// </summary>
/// <remarks>Regenerate (only when a change of results is intended): MLD_WRITE_GOLDEN=1 dotnet test --filter GoldenFamilyTests.</remarks>
public class GoldenFamilyTests
{
    private sealed record Case(string Name, InvariantOptions Options, ForceMode Mode, int Order, string[] Linear);

    private static IEnumerable<Case> Cases()
    {
        InvariantOptions Family(string name) => Synthetic.Families().Single(f => f.Name == name).Options;
        var basis = BackendConformanceTests.Basis;
        yield return new("sorted", Family("sorted"), ForceMode.Agent, 2, []);
        yield return new("gaussian", Family("gaussian"), ForceMode.Conservative, 2, []);
        yield return new("inverse", Family("inverse"), ForceMode.Agent, 2, []);
        yield return new("angular", basis("angular"), ForceMode.Conservative, 2, []);
        yield return new("angles", Family("angles"), ForceMode.Agent, 2, []);
        yield return new("shells", basis("shells"), ForceMode.Conservative, 2, []);
        yield return new("shellAngles", basis("shellAngles"), ForceMode.Agent, 2, []);
        yield return new("allGeneric", Family("all"), ForceMode.Conservative, 2, []);
        yield return new("mixed", basis("mixed"), ForceMode.Conservative, 2, ["angular"]);
        yield return new("mixedAgentOrder1", basis("mixed"), ForceMode.Agent, 1, []);
        yield return new("default", basis("default"), ForceMode.Agent, 2, []);
        yield return new("conservativeDefault", basis("conservativeDefault"), ForceMode.Conservative, 2, []);
        yield return new("accurate", basis("accurate"), ForceMode.Conservative, 2, ["angular"]);
    }

    private static FitResult Fit(Case c)
    {
        var truth = Synthetic.RandomModel(c.Options, c.Order, c.Mode, seed: 41, walls: Backends.Walls);
        var frames = Synthetic.Labelled(truth, 8, seed: 900);
        return ModelFitter.Fit(frames, new FitOptions
        {
            Order = c.Order, Mode = c.Mode, Invariants = c.Options, Ridge = 1e-8, Stride = 1, HoldoutFraction = 0.25,
            RangeWallStrength = 0.02, LinearFamilies = c.Linear, Chunks = 1, Source = "golden",
        });
    }

    private static Frame[] Frames() =>
    [
        Synthetic.Water(5, Synthetic.Triclinic, seed: 3, jitter: 0.15),
        Synthetic.Water(4, Cell.Orthorhombic(5.8, 5.8, 5.8), seed: 77, jitter: 0.1),
    ];

    /// <summary>The evaluators recorded: Reference with exact Gaussians, Reference as shipped (Hermite table), and auto (Simd where it can).</summary>
    private static readonly string[] BackendNames = ["referenceExact", "referenceTabulated", "auto"];

    private static LearnedForceField Backend(LearnedModel model, string name) => name switch
    {
        "referenceExact" => Backends.Reference(model),
        "referenceTabulated" => new LearnedForceField(model, skin: 0.3, maxThreads: 1, BackendChoice.Reference),
        _ => new LearnedForceField(model, skin: 0.3, maxThreads: 1, BackendChoice.Auto),
    };

    private static string GoldenPath()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var data = Path.Combine(dir.FullName, "tests", "data");
            if (Directory.Exists(data)) return Path.Combine(data, "golden-families.json");
        }
        throw new DirectoryNotFoundException("tests/data");
    }

    private static JsonObject Golden() => JsonNode.Parse(File.ReadAllText(GoldenPath()))!.AsObject();

    public static IEnumerable<object[]> CaseNames() => Cases().Select(c => new object[] { c.Name });

    [SkippableFact]
    public void WriteGolden()
    {
        Skip.IfNot(Environment.GetEnvironmentVariable("MLD_WRITE_GOLDEN") == "1", "writes tests/data/golden-families.json only with MLD_WRITE_GOLDEN=1");
        var cases = new JsonArray();
        var frames = Frames();
        foreach (var c in Cases())
        {
            var model = Fit(c).Model;
            var set = model.Invariants;
            var results = new JsonArray();
            for (int f = 0; f < frames.Length; f++)
                foreach (var b in BackendNames)
                {
                    var r = Backends.Run(Backend(model, b), frames[f]);
                    results.Add(new JsonObject
                    {
                        ["frame"] = f, ["backend"] = b, ["energy"] = r.Energy,
                        ["forces"] = new JsonArray([.. r.Forces.ToArray().Select(x => (JsonNode)x)]),
                        ["virial"] = new JsonArray([.. r.Virial.ToArray().Select(x => (JsonNode)x)]),
                    });
                }
            cases.Add(new JsonObject
            {
                ["name"] = c.Name,
                ["model"] = JsonNode.Parse(model.ToJson()), // the model file as written, stored without its indentation
                ["labels"] = new JsonArray([.. set.Labels.Select(l => (JsonNode)l!)]),
                ["families"] = new JsonArray([.. Enumerable.Range(0, set.Count).Select(q => (JsonNode)set.FamilyOf(q)!)]),
                ["results"] = results,
            });
        }
        var text = new JsonObject { ["cases"] = cases }.ToJsonString(new JsonSerializerOptions { WriteIndented = false });
        string path = GoldenPath(), temp = path + ".tmp";
        File.WriteAllText(temp, text);
        File.Move(temp, path, overwrite: true);
    }

    private static JsonObject Stored(string name) =>
        Golden()["cases"]!.AsArray().Single(c => (string)c!["name"]! == name)!.AsObject();

    /// <summary>The model file written before loads and gives the recorded energy, forces and virial through every backend.</summary>
    [Theory]
    [MemberData(nameof(CaseNames))]
    public void StoredModelFilesGiveTheRecordedResults(string name)
    {
        var stored = Stored(name);
        var model = LearnedModel.FromJson(stored["model"]!.ToJsonString(), name);
        var frames = Frames();
        var records = stored["results"]!.AsArray();
        foreach (var each in records)
        {
            var frame = frames[(int)each!["frame"]!];
            string backend = (string)each["backend"]!;
            var got = Backends.Run(Backend(model, backend), frame);
            // Without Vector256 the Reference path has no Hermite table (RadialSums.Values): it computes exact Gaussians.
            var rec = backend == "referenceTabulated" && !Vector256.IsHardwareAccelerated
                ? records.Single(r => (string)r!["backend"]! == "referenceExact" && (int)r["frame"]! == (int)each["frame"]!)!
                : each;
            double energy = (double)rec["energy"]!;
            double[] forces = [.. rec["forces"]!.AsArray().Select(x => (double)x!)], virial = [.. rec["virial"]!.AsArray().Select(x => (double)x!)];
            double fScale = forces.Max(Math.Abs), wScale = virial.Max(Math.Abs);
            Assert.True(fScale > 1e-6, $"{name}: recorded forces vanish");
            Assert.True(Math.Abs(got.Energy - energy) <= 1e-12 * (1 + Math.Abs(energy)), $"{name} {backend}: energy {got.Energy} against {energy}");
            for (int x = 0; x < forces.Length; x++)
                Assert.True(Math.Abs(got.Forces[x] - forces[x]) <= 1e-12 * fScale, $"{name} {backend}: force {x}: {got.Forces[x]} against {forces[x]}");
            for (int a = 0; a < 9; a++)
                Assert.True(Math.Abs(got.Virial[a] - virial[a]) <= 1e-12 * wScale, $"{name} {backend}: virial {a}: {got.Virial[a]} against {virial[a]}");
        }
        // Labels (the model file's and the extrapolation messages' names) and families unchanged.
        Assert.Equal(stored["labels"]!.AsArray().Select(x => (string)x!), model.Invariants.Labels);
        Assert.Equal(stored["families"]!.AsArray().Select(x => (string)x!), Enumerable.Range(0, model.Invariants.Count).Select(model.Invariants.FamilyOf));
    }

    /// <summary>A refit writes the same model file: the invariants object byte for byte, every number to the fit's rounding.</summary>
    [Theory]
    [MemberData(nameof(CaseNames))]
    public void RefitWritesTheSameModelFile(string name)
    {
        var stored = Stored(name);
        var model = Fit(Cases().Single(c => c.Name == name)).Model;
        var refit = JsonNode.Parse(model.ToJson())!;
        Assert.Equal(stored["model"]!["invariants"]!.ToJsonString(), refit["invariants"]!.ToJsonString());
        // The recording predates the fit's Cholesky ridge solves (c008d8b), and the fit's sums run at the widest vector width:
        // either rounds differently, and the small ridge (1e-8) of these tiny fits lets that reach the poorly determined
        // parameters (measured: up to ~2e-5 relative in C at 256 bits, ~5e-7 in b at 512). The forces are what the data
        // determine: the refit's against the recorded ones.
        SameShape(stored["model"], refit, "", 1e-3);
        var frames = Frames();
        foreach (var rec in stored["results"]!.AsArray().Where(r => (string)r!["backend"]! == "referenceExact"))
        {
            var got = Backends.Run(Backends.Reference(model), frames[(int)rec!["frame"]!]);
            double[] forces = [.. rec["forces"]!.AsArray().Select(x => (double)x!)];
            double scale = forces.Max(Math.Abs), worst = Enumerable.Range(0, forces.Length).Max(x => Math.Abs(got.Forces[x] - forces[x])) / scale;
            Assert.True(worst <= RefitForceTolerance, $"{name}: refit forces differ by {worst:E2} of the largest from the recorded ones");
        }
    }

    /// <summary>Refit forces against the recording's, relative to the largest force (measured at 256 bits: at most 1.1e-6, the default basis).</summary>
    private const double RefitForceTolerance = 1e-5;

    /// <summary>Same property names in the same order, same strings, numbers within <paramref name="tolerance"/> relative.</summary>
    private static void SameShape(JsonNode? want, JsonNode? got, string path, double tolerance)
    {
        switch (want)
        {
            case JsonObject o:
                var g = Assert.IsType<JsonObject>(got);
                Assert.Equal(o.Select(p => p.Key), g.Select(p => p.Key));
                foreach (var (key, value) in o) SameShape(value, g[key], path + "." + key, tolerance);
                break;
            case JsonArray a:
                var ga = Assert.IsType<JsonArray>(got);
                Assert.Equal(a.Count, ga.Count);
                for (int i = 0; i < a.Count; i++) SameShape(a[i], ga[i], $"{path}[{i}]", tolerance);
                break;
            case JsonValue v when v.GetValueKind() == JsonValueKind.Number:
                double x = (double)v, y = (double)got!;
                Assert.True(Math.Abs(x - y) <= tolerance * Math.Max(1, Math.Abs(x)), $"{path}: {y} against {x}");
                break;
            default:
                Assert.Equal(want?.ToJsonString(), got?.ToJsonString());
                break;
        }
    }
}
