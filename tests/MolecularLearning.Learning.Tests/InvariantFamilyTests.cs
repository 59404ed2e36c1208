using MolecularLearning.Core;
using MolecularLearning.Learning;
using MolecularLearning.Learning.Tests.Conformance;

namespace MolecularLearning.Learning.Tests;

/// <summary>The invariant set as the composition of the family types: layout, names, --basis items and model-file parts.</summary>
public class InvariantFamilyTests
{
    public static IEnumerable<object[]> Bases() =>
        new[] { "default", "conservativeDefault", "accurate", "sorted", "angles", "angular", "shells", "shellAngles", "mixed" }.Select(b => new object[] { b });

    [Theory]
    [MemberData(nameof(Bases))]
    public void FamiliesAreLaidOutOneAfterAnotherInTheirOrder(string basis)
    {
        var set = new InvariantSet(BackendConformanceTests.Basis(basis), [Elements.O, Elements.H]);
        Assert.Equal(InvariantSet.FamilyNames, set.Families.Select(f => f.Name));
        int k = 0;
        foreach (var f in set.Families)
        {
            Assert.Equal(k, f.Offset);
            for (int q = f.Offset; q < f.Offset + f.Count; q++) Assert.Equal(f.Name, set.FamilyOf(q));
            k += f.Count;
        }
        Assert.Equal(set.Count, k);
        Assert.All(set.Labels, l => Assert.False(string.IsNullOrEmpty(l)));
        Assert.Equal(set.Options.Cutoff, InvariantFamilies.All.Max(f => f.Cutoff(set.Options)));
    }

    [Fact]
    public void EveryBasisItemBelongsToOneFamily()
    {
        var items = InvariantFamilies.All.SelectMany(f => f.Items.Select(i => (Family: f, Item: i))).ToList();
        Assert.Equal(items.Count, items.Select(x => x.Item.ToLowerInvariant()).Distinct().Count());
        foreach (var (family, item) in items)
        {
            Assert.Same(family, InvariantFamilies.ForItem(item));
            Assert.Same(family, InvariantFamilies.ForItem(item.ToUpperInvariant()));
        }
        var e = Assert.Throws<DataException>(() => InvariantOptions.Parse("sorted:O2+spline:4", 4.0));
        Assert.StartsWith("--basis: unknown item 'spline'", e.Message);
        foreach (var (_, item) in items) Assert.Contains(item, e.Message);
    }

    /// <summary>Each family writes only its own part of the model file: a basis of one family reads back to the same layout.</summary>
    [Theory]
    [InlineData("sorted:O3:H2", "sorted")]
    [InlineData("gauss:3:1.0:3.0+fc:3", "radial")]
    [InlineData("angular:2:3.0", "angular")]
    [InlineData("shell:O-H:0.9:1.3:2", "shell")]
    [InlineData("shellAngle:2:O@H:0.9:1.3:H:0.9:1.3", "shellAngle")]
    public void AOneFamilyBasisRoundTripsThroughTheModelFile(string spec, string family)
    {
        var model = Synthetic.RandomModel(InvariantOptions.Parse(spec, 4.0), 1, ForceMode.Agent, seed: 5);
        Assert.All(model.Invariants.Families, f => Assert.Equal(f.Name == family, f.Count > 0));
        var back = LearnedModel.FromJson(model.ToJson());
        Assert.Equal(model.Invariants.Labels, back.Invariants.Labels);
        Assert.Equal(model.Invariants.Cutoff, back.Invariants.Cutoff);
        Assert.Equal(model.ToJson(), back.ToJson());
    }
}
