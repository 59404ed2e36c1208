using MolecularLearning.Core;

namespace MolecularLearning.Learning.Tests;

public class UnnamedSpeciesTests
{
    private static readonly Species[] Methanol = [Elements.Get("C"), Elements.O, Elements.H, Elements.H, Elements.H, Elements.H, Elements.Get("N")];

    [Theory]
    [InlineData(FitOptions.AccurateBasis, "the radial sums and the angular sums")]
    [InlineData(FitOptions.DefaultConservativeBasis, "the radial sums (")]
    [InlineData(FitOptions.DefaultBasis, "the radial sums (")]
    public void EachDefaultBasisWarnsAboutTheSpeciesItDoesNotName(string spec, string generic)
    {
        var w = FitOptions.UnnamedSpeciesWarning(InvariantOptions.Parse(spec, FitOptions.DefaultCutoff), Methanol, "the default basis");
        Assert.NotNull(w);
        Assert.Contains("name only H, O;", w);
        Assert.Contains("C, N are described only by " + generic, w);
        Assert.Contains("--basis", w);
        Assert.Contains("shell:C-H:on:off:n", w);
    }

    [Fact]
    public void WaterAloneGetsNoWarning()
    {
        foreach (var spec in new[] { FitOptions.AccurateBasis, FitOptions.DefaultConservativeBasis, FitOptions.DefaultBasis })
            Assert.Null(FitOptions.UnnamedSpeciesWarning(InvariantOptions.Parse(spec, 6.0), [Elements.O, Elements.H, Elements.H], "b"));
    }

    [Fact]
    public void ABasisThatNamesTheSpeciesOrNoneGetsNoWarning()
    {
        var named = InvariantOptions.Parse(FitOptions.DefaultConservativeBasis + "+shell:C-H:0.95:1.25:2+shell:N-H:0.9:1.2:2", 6.0);
        Assert.Null(FitOptions.UnnamedSpeciesWarning(named, Methanol, "b"));
        Assert.Null(FitOptions.UnnamedSpeciesWarning(InvariantOptions.Parse("gauss:8", 6.0), Methanol, "b"));
    }
}
