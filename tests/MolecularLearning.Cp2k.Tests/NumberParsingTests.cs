using System.Globalization;
using System.Text;

namespace MolecularLearning.Cp2k.Tests;

public class NumberParsingTests
{
    /// <summary>The fast fixed-point path must give exactly what double.Parse gives.</summary>
    [Fact]
    public void Fast_path_is_bit_identical_to_double_parse()
    {
        var rng = new Random(42);
        string[] formats = ["F10", "F3", "F6", "F15", "F0", "R", "E10", "G17"];
        for (int n = 0; n < 200_000; n++)
        {
            double x = (rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-8, 9));
            var text = x.ToString(formats[n % formats.Length], CultureInfo.InvariantCulture);
            var bytes = Encoding.ASCII.GetBytes(text);
            Assert.True(Fields.TryParseDouble(bytes, out var ours), text);
            Assert.Equal(BitConverter.DoubleToInt64Bits(double.Parse(text, CultureInfo.InvariantCulture)), BitConverter.DoubleToInt64Bits(ours));
        }
    }

    [Theory]
    [InlineData("9007199254740993", 9007199254740993.0)]   // above 2^53: the general path rounds it
    [InlineData("0.12345678901234567890123", 0.12345678901234567890123)]
    [InlineData("-0.0", -0.0)]
    [InlineData("+1.5", 1.5)]
    [InlineData(".5", 0.5)]
    [InlineData("1.0D-03", 1e-3)]
    [InlineData("2.5d2", 250.0)]
    public void Edge_cases(string text, double expected)
    {
        Assert.True(Fields.TryParseDouble(Encoding.ASCII.GetBytes(text), out var v));
        Assert.Equal(BitConverter.DoubleToInt64Bits(expected), BitConverter.DoubleToInt64Bits(v));
    }

    [Theory]
    [InlineData("")]
    [InlineData("-")]
    [InlineData(".")]
    [InlineData("1.2.3")]
    [InlineData("1,5")]
    [InlineData("****")]
    public void Not_numbers(string text) => Assert.False(Fields.TryParseDouble(Encoding.ASCII.GetBytes(text), out _));

    [Theory]
    [InlineData("NaN")]
    [InlineData("Infinity")]
    [InlineData("-Infinity")]
    [InlineData("-Inf")]
    [InlineData("inf")]
    public void Non_finite_spellings_parse_so_they_can_be_reported(string text)
    {
        Assert.True(Fields.TryParseDouble(Encoding.ASCII.GetBytes(text), out var v));
        Assert.False(double.IsFinite(v));
    }
}
