using System.Text;
using MolecularLearning.Core;
using MolecularLearning.Protocols.Ipi;

namespace MolecularLearning.Protocols.Tests.Ipi;

/// <summary>The extrapolation signal in i-PI's extra string: written as JSON, read back; any other extra leaves no signal.</summary>
public class IpiExtraTests
{
    [Fact]
    public void TheSignalRoundTripsThroughTheExtraString()
    {
        var sent = new ForceResult(3) { Extrapolation = 1.2345678901234567, ExtrapolationAtom = 2, ExtrapolationInvariant = "H: G0.80/0.52(O)" };
        var json = Encoding.UTF8.GetString(IpiExtra.Write(sent));
        Assert.Contains("\"extrapolation\":1.2345678901234567", json);
        var got = new ForceResult(3);
        IpiExtra.Read(json, got);
        Assert.Equal(sent.Extrapolation, got.Extrapolation);
        Assert.Equal(2, got.ExtrapolationAtom);
        Assert.Equal("H: G0.80/0.52(O)", got.ExtrapolationInvariant);
    }

    [Fact]
    public void NoSignalIsAnEmptyObjectAndReadsAsNone()
    {
        Assert.Equal("{}", Encoding.UTF8.GetString(IpiExtra.Write(new ForceResult(1))));
        var got = new ForceResult(1);
        IpiExtra.Read("{}", got);
        Assert.True(double.IsNaN(got.Extrapolation));
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("[1, 2]")]
    [InlineData("{\"extrapolation\": \"far\"}")]
    [InlineData("{\"extrapolation\": -1}")]
    [InlineData("{\"dipole\": [0, 0, 1]}")]
    public void OtherClientsExtrasLeaveNoSignal(string extra)
    {
        var got = new ForceResult(1);
        IpiExtra.Read(extra, got);
        Assert.True(double.IsNaN(got.Extrapolation));
        Assert.Equal(-1, got.ExtrapolationAtom);
        Assert.Null(got.ExtrapolationInvariant);
    }
}
