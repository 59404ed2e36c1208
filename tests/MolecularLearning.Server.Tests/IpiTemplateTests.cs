namespace MolecularLearning.Server.Tests;

/// <summary>What the i-PI template says about periodicity (i-PI itself never says).</summary>
public sealed class IpiTemplateTests
{
    private const string Atoms = "O 0 0 0\nH 0.96 0 0\nH -0.24 0.93 0\n";

    [Theory]
    // What ase.io.write writes for Atoms with a box and pbc=False (atoms.center(vacuum=5)): isolated.
    [InlineData("Lattice=\"10.0 0.0 0.0 0.0 10.0 0.0 0.0 0.0 10.0\" Properties=species:S:1:pos:R:3 pbc=\"F F F\"", true)]
    [InlineData("pbc=\"False False False\" Lattice=\"10 0 0 0 10 0 0 0 10\"", true)]
    // Periodic, or saying nothing about a cell: the cell the server sends decides, as before.
    [InlineData("Lattice=\"10.0 0.0 0.0 0.0 10.0 0.0 0.0 0.0 10.0\" Properties=species:S:1:pos:R:3 pbc=\"T T T\"", false)]
    [InlineData("Lattice=\"10 0 0 0 10 0 0 0 10\"", false)]
    [InlineData("Properties=species:S:1:pos:R:3 pbc=\"F F F\"", false)] // ASE's header for a plain xyz read back
    [InlineData("32 H2O TIP5P 300K a=9.8528", false)]
    public void A_box_written_with_pbc_false_declares_an_isolated_system(string header, bool isolated)
    {
        var path = Path.Combine(Path.GetTempPath(), $"mld-template-{Guid.NewGuid():N}.xyz");
        try
        {
            File.WriteAllText(path, $"3\n{header}\n{Atoms}");
            Assert.Equal(isolated, IpiTemplate.DeclaresBoxWithoutPbc(path));
        }
        finally { File.Delete(path); }
    }
}
