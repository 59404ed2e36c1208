using MolecularLearning.Core;
using MolecularLearning.Protocols.Ipi;

namespace MolecularLearning.Protocols.Tests.Ipi;

public class IpiAddressTests
{
    [Fact]
    public void UnixNameFollowsTheIpiConvention()
    {
        var a = IpiAddress.Parse("unix:water");
        Assert.Equal(IpiTransport.Unix, a.Transport);
        Assert.Equal("/tmp/ipi_water", a.SocketPath);
    }

    [Fact]
    public void SocketsPrefixReplacesTmpIpi()
    {
        Assert.Equal("/scratch/run1/sock_water", IpiAddress.Parse("unix:water", "/scratch/run1/sock_").SocketPath);
        // an absolute path is taken as it is, whatever the prefix
        Assert.Equal("/run/x.sock", IpiAddress.Parse("/run/x.sock", "/scratch/").SocketPath);
        Assert.Equal("/run/x.sock", IpiAddress.Parse("unix:/run/x.sock").SocketPath);
    }

    [Theory]
    [InlineData("localhost:31415", "localhost", 31415)]
    [InlineData("tcp:10.0.0.2:12345", "10.0.0.2", 12345)]
    [InlineData("ipi:127.0.0.1:1", "127.0.0.1", 1)]
    [InlineData("[::1]:65535", "::1", 65535)]
    public void HostAndPort(string text, string host, int port)
    {
        var a = IpiAddress.Parse(text);
        Assert.Equal(IpiTransport.Tcp, a.Transport);
        Assert.Equal(host, a.Host);
        Assert.Equal(port, a.Port);
        Assert.Equal(a, IpiAddress.Parse(a.ToString())); // canonical text reads back
    }

    [Fact]
    public void DriverPrefixIsAccepted() => Assert.Equal("/tmp/ipi_x", IpiAddress.Parse("ipi:unix:x").SocketPath);

    [Theory]
    [InlineData("", "empty")]
    [InlineData("unix:", "no socket name")]
    [InlineData("localhost:", "port")]
    [InlineData(":31415", "missing host")]
    [InlineData("localhost:70000", "1..65535")]
    [InlineData("localhost:31x", "1..65535")]
    [InlineData("localhost:-5", "1..65535")]
    [InlineData("sockets/ipi", "absolute")]
    [InlineData("water", "expected unix:NAME")]
    [InlineData("::1:31415", "brackets")]
    public void BadAddressesSayWhatIsWrong(string text, string expected)
    {
        var e = Assert.Throws<DataException>(() => IpiAddress.Parse(text));
        Assert.Contains(expected, e.Message);
        Assert.Contains("i-PI address", e.Message);
    }

    [Fact]
    public void TooLongSocketPathIsRefused()
    {
        var e = Assert.Throws<DataException>(() => IpiAddress.Parse("/tmp/" + new string('x', 120)));
        Assert.Contains("107 bytes", e.Message);
    }

    [Fact]
    public void TryParseReportsTheError()
    {
        Assert.False(IpiAddress.TryParse("nonsense", null, out var a, out var error));
        Assert.Null(a);
        Assert.Contains("nonsense", error);
        Assert.True(IpiAddress.TryParse("unix:a", "/var/ipi_", out a, out _));
        Assert.Equal("/var/ipi_a", a!.SocketPath);
    }
}
