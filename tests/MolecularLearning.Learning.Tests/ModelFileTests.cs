using MolecularLearning.Core;
using MolecularLearning.Learning;

namespace MolecularLearning.Learning.Tests;

public class ModelFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mld-model-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static LearnedModel Model(ForceMode mode, int order) =>
        Synthetic.RandomModel(InvariantOptions.Parse("sorted:O2:H3+gauss:3:0.9:3+inv:2+angular:2+angles:2:H1H2:H@O1O2", 3.4), order, mode, seed: 31,
            walls: [new RepulsionWall("O", "H", 0.8, 20.0 / 3)], bounds: true)
        .WithTraining(new TrainingInfo { Source = "unit test", Frames = 7, Ridge = new Dictionary<string, double> { ["O"] = 1e-7 } });

    [Theory]
    [InlineData(ForceMode.Agent, 2)]
    [InlineData(ForceMode.Conservative, 1)]
    public void SaveAndLoadGiveBitIdenticalForces(ForceMode mode, int order)
    {
        var model = Model(mode, order);
        var path = Path.Combine(_dir, "m.json");
        model.Save(path);
        var loaded = LearnedModel.Load(path);
        Assert.Equal(model.ToJson(), loaded.ToJson());
        Assert.Equal(mode, loaded.Mode);
        Assert.Equal(order, loaded.Order);
        Assert.Equal("unit test", loaded.Training.Source);
        foreach (var seed in new[] { 1, 2 })
        {
            var frame = Synthetic.Water(4, Synthetic.Triclinic, seed, jitter: 0.1);
            var a = model.CreateForceField().Compute(frame);
            var b = loaded.CreateForceField().Compute(frame);
            Assert.Equal(BitConverter.DoubleToInt64Bits(a.Energy), BitConverter.DoubleToInt64Bits(b.Energy));
            Assert.True(a.Forces.AsSpan().SequenceEqual(b.Forces));
            Assert.True(a.Virial.AsSpan().SequenceEqual(b.Virial));
        }
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
    }

    [Theory]
    [InlineData("{not json", "not valid JSON")]
    [InlineData("[1,2]", "expected a JSON object")]
    [InlineData("{\"schemaVersion\": 99}", "unknown version 99")]
    [InlineData("{\"schemaVersion\": 1}", "field 'species': missing")]
    public void MalformedFilesGiveAClearError(string text, string expected)
    {
        var path = Path.Combine(_dir, "bad.json");
        File.WriteAllText(path, text);
        var e = Assert.Throws<DataException>(() => LearnedModel.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Theory]
    [InlineData("\"b\": [", "\"b\": [1, ", "field 'parameters.O.b': expected")]
    [InlineData("\"mode\": \"agent\"", "\"mode\": \"sideways\"", "field 'mode'")]
    [InlineData("\"kind\": \"gaussian\"", "\"kind\": \"spline\"", "unknown radial function 'spline'")]
    [InlineData("\"symbol\": \"H\"", "\"symbol\": \"Xx\"", "unknown element 'Xx'")]
    [InlineData("\"kind\": \"molecular-learning agent loss\"", "\"kind\": \"something else\"", "field 'kind'")]
    [InlineData("\"cutoff\": 3.4", "\"cutoff\": 1000000", "field 'invariants.sortedDistances.cutoff': 1E+06 Å is outside (0, 30] Å")]
    [InlineData("\"b\": [", "\"b\": [1e300, ", "field 'parameters.O.b[0]': 1E+300 is beyond")]
    [InlineData("\"strength\": 6.6", "\"strength\": -6.6", "field 'repulsion[0].strength'")]
    [InlineData("\"mass\": 15.999", "\"mass\": 1e300", "field 'species[0].mass'")]
    public void CorruptedFieldsAreNamed(string find, string replace, string expected)
    {
        var json = Model(ForceMode.Agent, 2).ToJson();
        int at = json.IndexOf(find, StringComparison.Ordinal);
        Assert.True(at >= 0);
        json = json[..at] + replace + json[(at + find.Length)..];
        var path = Path.Combine(_dir, "corrupt.json");
        File.WriteAllText(path, json);
        var e = Assert.Throws<DataException>(() => LearnedModel.Load(path));
        Assert.Contains(expected, e.Message);
        Assert.StartsWith(path, e.Message);
    }

    [Fact]
    public void ReorderedSpeciesAreRefused()
    {
        // The parameters and invariants follow the species order: swapping the species entries would pair them wrongly.
        var json = Model(ForceMode.Agent, 2).ToJson();
        var swapped = System.Text.RegularExpressions.Regex.Replace(json,
            "(\\{\\s*\"symbol\": \"O\"[^}]*\\})(,\\s*)(\\{\\s*\"symbol\": \"H\"[^}]*\\})", "$3$2$1");
        Assert.NotEqual(json, swapped);
        var path = Path.Combine(_dir, "swapped.json");
        File.WriteAllText(path, swapped);
        var e = Assert.Throws<DataException>(() => LearnedModel.Load(path));
        Assert.Contains("field 'species': order H, O differs from the parameters' order O, H", e.Message);
    }

    [Fact]
    public void MissingFileIsAClearError()
    {
        var e = Assert.Throws<DataException>(() => LearnedModel.Load(Path.Combine(_dir, "none.json")));
        Assert.Contains("none.json", e.Message);
    }

    /// <summary>A model fitted on heavy water (CP2K's &amp;KIND MASS) keeps H's mass through its file and says where a structure's differs.</summary>
    [Fact]
    public void AnIsotopeMassSurvivesTheFileAndIsReportedAgainstTheTable()
    {
        var json = Model(ForceMode.Agent, 1).ToJson();
        int h = json.IndexOf("\"symbol\": \"H\"", StringComparison.Ordinal);
        int mass = json.IndexOf("\"mass\": ", h, StringComparison.Ordinal) + "\"mass\": ".Length;
        int end = json.IndexOfAny([',', '\n', '}'], mass);
        var heavy = LearnedModel.FromJson(json[..mass] + "2.01410178" + json[end..]);
        Assert.Equal(2.01410178, heavy.Species.Single(s => s.Symbol == "H").Mass);
        Assert.Equal(2.01410178, LearnedModel.FromJson(heavy.ToJson()).Species.Single(s => s.Symbol == "H").Mass);
        Assert.Equal(["H 1.00794 amu (the model's training data: 2.0141)"], heavy.MassDifferences([Elements.O, Elements.H, Elements.H]));
        Assert.Empty(heavy.MassDifferences([Elements.O, heavy.Species.Single(s => s.Symbol == "H")]));
    }

    [Fact]
    public void ADirectoryIsAClearError()
    {
        var e = Assert.Throws<DataException>(() => LearnedModel.Load(_dir));
        Assert.Contains("is a directory", e.Message);
    }
}
