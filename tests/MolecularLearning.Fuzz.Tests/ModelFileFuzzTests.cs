using System.Text.RegularExpressions;
using MolecularLearning.Core;
using MolecularLearning.Cp2k;
using MolecularLearning.Learning;
using Xunit.Abstractions;

namespace MolecularLearning.Fuzz.Tests;

/// <summary>
/// Damaged model files: loaded and then evaluated on the shipped 96-atom water frame, or refused with a
/// DataException naming the file. A loaded model that answers NaN is a silent wrong answer.
/// </summary>
public sealed partial class ModelFileFuzzTests(ITestOutputHelper output) : IDisposable
{
    private const int Seed = 777;
    private readonly string _dir = Directory.CreateTempSubdirectory("mld-fuzz-model-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A small model with every family the file format has: sorted distances, Gaussians, inverse powers, angular, walls, bounds.</summary>
    internal static LearnedModel Model(int order = 2)
    {
        var options = InvariantOptions.Parse("sorted:O2:H3+gauss:3:0.9:3+inv:2+angular:2+angles:2:H1H2:H@O1O2+shell:O-H:0.8:2.5:2", 3.4);
        var set = new InvariantSet(options, [Elements.O, Elements.H]);
        var rng = new Random(5);
        int k = set.Count;
        var losses = new List<QuadraticLoss>();
        for (int s = 0; s < 2; s++)
        {
            var b = Enumerable.Range(0, k).Select(_ => rng.NextDouble() - 0.5).ToArray();
            double[]? c = null;
            if (order == 2)
            {
                c = new double[k * k];
                for (int x = 0; x < k; x++)
                    for (int y = x; y < k; y++) c[x * k + y] = c[y * k + x] = 0.05 * (rng.NextDouble() - 0.5);
            }
            var bounds = new InvariantBounds(Enumerable.Repeat(0.5, k).ToArray(), Enumerable.Repeat(1.5, k).ToArray(),
                Enumerable.Range(0, k).Select(q => 0.5 + 0.1 * q).ToArray(), 0.2);
            losses.Add(new QuadraticLoss(b, c, bounds));
        }
        return new LearnedModel(set, ForceMode.Agent, losses, [new RepulsionWall("O", "H", 0.8, 6.5)]);
    }

    internal static Frame Water() => Cp2kRun.Read(Paths.PbeSample).Frames[0];

    [GeneratedRegex(@"-?\d+(\.\d+)?([eE][-+]?\d+)?")]
    private static partial Regex NumberToken();

    private static readonly string[] Extremes = ["1e300", "-1e300", "1e6", "-5", "0", "1e-300", "1e16", "-1", "64", "65", "2147483647", "0.37", "30.5", "\"x\"", "null", "[]"];
    private static readonly string[] Kinds = ["\"spline\"", "\"\"", "\"molecular-learning agent loss v2\"", "1", "null"];

    /// <summary>Model-aware damage on top of the generic text damage: numbers set to extremes, kinds, species order.</summary>
    private static string Damage(string json, Random rng)
    {
        switch (rng.Next(6))
        {
            case 0: case 1:
            {
                var matches = NumberToken().Matches(json);
                var m = matches[rng.Next(matches.Count)];
                return json[..m.Index] + Extremes[rng.Next(Extremes.Length)] + json[(m.Index + m.Length)..];
            }
            case 2:
            {
                var matches = Regex.Matches(json, "\"kind\": \"[^\"]*\"");
                var m = matches[rng.Next(matches.Count)];
                return json[..m.Index] + "\"kind\": " + Kinds[rng.Next(Kinds.Length)] + json[(m.Index + m.Length)..];
            }
            case 3:
                // Swap the species entries (O first in the file).
                return Regex.Replace(json, "\"symbol\": \"O\",\\s*\"mass\": ([^\\s}]+)\\s*},\\s*{\\s*\"symbol\": \"H\",\\s*\"mass\": ([^\\s}]+)",
                    m => $"\"symbol\": \"H\", \"mass\": {m.Groups[2].Value} }}, {{ \"symbol\": \"O\", \"mass\": {m.Groups[1].Value}");
            default:
                return Mutator.Mutate(json, rng, 1 + rng.Next(2));
        }
    }

    [Fact]
    public async Task DamagedModelFilesLoadAndAnswerFiniteOrAreRefused()
    {
        var json = Model().ToJson();
        var water = Water();
        var small = new Frame(water.Species, water.Positions, Cell.Orthorhombic(0.37, 0.37, 0.37));
        var tally = new FuzzTally("model file");
        var rng = new Random(Seed);
        for (int c = 0; c < 150; c++)
        {
            var path = Path.Combine(_dir, $"m{c}.json");
            var text = json;
            int edits = 1 + rng.Next(2);
            for (int e = 0; e < edits; e++) text = Damage(text, rng);
            File.WriteAllText(path, text);
            await tally.Run($"case {c}", TimeSpan.FromSeconds(20), _ =>
            {
                var model = LearnedModel.Load(path);
                var result = model.CreateForceField().Compute(water);
                if (!double.IsFinite(result.Energy) || result.Forces.Any(f => !double.IsFinite(f))) return Outcome.SilentWrong;
                return Outcome.Accepted;
            });
        }
        // The evaluator's own bound: 96 atoms in a 0.37 Å cell is refused before any allocation (issue 17 item 1).
        await tally.Run("0.37 Å cell", TimeSpan.FromSeconds(5), _ =>
        {
            Model().CreateForceField().Compute(small);
            return Outcome.SilentWrong;
        });
        FuzzTally.Report(output, tally);
    }

    /// <summary>A model with two committee members (docs/extrapolation.md, "Committee"): damaged files give a finite deviation or are refused.</summary>
    [Fact]
    public async Task DamagedCommitteeSectionsLoadAndAnswerFiniteOrAreRefused()
    {
        var plain = Model();
        static QuadraticLoss Scaled(QuadraticLoss l, double f) =>
            new([.. l.Linear.ToArray().Select(x => f * x)], [.. l.Quadratic.ToArray().Select(x => f * x)], l.Bounds, l.Range);
        var json = plain.WithCommittee([.. new[] { 0.9, 1.1 }.Select(f => (IReadOnlyList<QuadraticLoss>)[.. plain.Losses.Select(l => Scaled(l, f))])]).ToJson();
        int start = json.IndexOf("\"committee\"", StringComparison.Ordinal);
        var water = Water();
        var tally = new FuzzTally("committee section");
        var rng = new Random(Seed + 1);
        for (int c = 0; c < 60; c++)
        {
            var path = Path.Combine(_dir, $"c{c}.json");
            // Damage inside the committee section only: the rest is the other test's.
            var section = json[start..];
            if (rng.Next(3) == 0) section = Mutator.Mutate(section, rng, 1 + rng.Next(2));
            else
            {
                var matches = NumberToken().Matches(section);
                var m = matches[rng.Next(matches.Count)];
                section = section[..m.Index] + Extremes[rng.Next(Extremes.Length)] + section[(m.Index + m.Length)..];
            }
            var text = json[..start] + section;
            File.WriteAllText(path, text);
            await tally.Run($"case {c}", TimeSpan.FromSeconds(20), _ =>
            {
                var model = LearnedModel.Load(path);
                if (model.Committee is null) return Outcome.Accepted;
                double deviation = new CommitteeEvaluator(model).Deviation(water.Species, water.Positions, water.Cell);
                return double.IsFinite(deviation) ? Outcome.Accepted : Outcome.SilentWrong;
            });
        }
        FuzzTally.Report(output, tally);
    }
}
