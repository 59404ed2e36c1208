using MolecularLearning.Core;

namespace MolecularLearning.Core.Tests;

public class NumberTextTests
{
    [Theory]
    [InlineData(0.0, "0")]
    [InlineData(1.23456, "1.235")]
    [InlineData(0.0012, "0.001")]
    [InlineData(0.00043, "4.3E-4")]   // "0.###" made this "0": an extrapolation that is there read as none
    [InlineData(2e-7, "2E-7")]
    [InlineData(-0.0005, "-5E-4")]
    public void A_small_nonzero_value_never_reads_as_zero(double x, string text) => Assert.Equal(text, NumberText.Short(x));

    [Theory]
    [InlineData(1.23456, "1.2346")]
    [InlineData(0.00043, "0.0004")]
    [InlineData(0.000043, "4.3E-5")]
    public void Four_decimals_switch_below_the_fourth(double x, string text) => Assert.Equal(text, NumberText.Short(x, decimals: 4));
}
