using System.Text;
using MolecularLearning.Core;

namespace MolecularLearning.Cp2k.Tests;

public class ElementLabelTests
{
    [Fact]
    public void Ingests_a_run_with_transition_metals_and_heavy_halogens()
    {
        // CP2K writes the element symbol of each kind; these were "unknown element" before the table went past Ca.
        using var run = new SyntheticRun { Symbols = ["Fe", "Zn", "Br", "I", "O", "H"] }.WriteComplete(steps: 3);
        var t = Cp2kRun.Read(run.Directory);
        var species = t.Frames[0].Species;
        Assert.Equal(["Fe", "Zn", "Br", "I", "O", "H"], species.Select(s => s.Symbol));
        Assert.Equal([26, 30, 35, 53, 8, 1], species.Select(s => s.AtomicNumber));
        Assert.Equal([55.845, 65.38, 79.904, 126.90447, 15.9994, 1.00794], species.Select(s => s.Mass));
    }

    [Theory]
    [InlineData("O", "O")]
    [InlineData("H", "H")]
    [InlineData("FE", "Fe")]      // an element symbol in any case
    [InlineData("Co", "Co")]      // cobalt, not C + "o"
    [InlineData("Ca", "Ca")]
    [InlineData("Hf", "Hf")]
    [InlineData("Os", "Os")]
    [InlineData("Cl", "Cl")]
    [InlineData("O1", "O")]       // CP2K's own kind-name rule: trailing digits and "_..." dropped
    [InlineData("C1", "C")]
    [InlineData("H_w", "H")]
    [InlineData("Fe2", "Fe")]
    [InlineData("Zn_3", "Zn")]
    [InlineData("Cl1", "Cl")]
    [InlineData("Ow", "O")]       // kind names with their own ELEMENT in the CP2K input
    [InlineData("OW", "O")]
    [InlineData("Hw", "H")]
    [InlineData("HW1", "H")]
    [InlineData("OH", "O")]
    [InlineData("Clx", "Cl")]     // written like a symbol: the two-letter element
    [InlineData("CLX", "C")]      // not written like one: the first letter
    public void Reads_a_kind_label_as_the_element_cp2k_means(string label, string element)
    {
        var s = Cp2kXyzFile.SpeciesOf(Encoding.ASCII.GetBytes(label), "f.xyz", 1, 3);
        Assert.Equal(element, s.Symbol);
    }

    [Theory]
    [InlineData("Xq")]
    [InlineData("1O")]
    [InlineData("_H")]
    public void A_label_with_no_element_is_an_error_naming_it(string label)
    {
        var e = Assert.Throws<DataException>(() => Cp2kXyzFile.SpeciesOf(Encoding.ASCII.GetBytes(label), "f.xyz", 1, 3));
        Assert.Contains($"unknown element '{label}'", e.Message);
    }
}
