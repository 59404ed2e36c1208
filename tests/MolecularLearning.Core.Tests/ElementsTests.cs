using MolecularLearning.Core;

namespace MolecularLearning.Core.Tests;

public class ElementsTests
{
    [Theory]
    // CP2K 2023.1's masses (src/common/periodic_table.F); Na, Al and P were the pre-2010 values before.
    [InlineData("Na", 11, 22.98976928)]
    [InlineData("Al", 13, 26.9815386)]
    [InlineData("P", 15, 30.973762)]
    [InlineData("Fe", 26, 55.845)]
    [InlineData("Zn", 30, 65.38)]
    [InlineData("Br", 35, 79.904)]
    [InlineData("I", 53, 126.90447)]
    [InlineData("Rn", 86, 222.0176)]
    [InlineData("U", 92, 238.02891)]
    [InlineData("Og", 118, 294.0)]
    public void Has_cp2k_masses_beyond_calcium(string symbol, int z, double mass)
    {
        var s = Elements.Get(symbol);
        Assert.Equal(z, s.AtomicNumber);
        Assert.Equal(mass, s.Mass);
    }
}
