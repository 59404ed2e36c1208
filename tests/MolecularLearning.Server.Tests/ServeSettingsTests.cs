using MolecularLearning.Core;

namespace MolecularLearning.Server.Tests;

/// <summary>What `mld serve` reads from configuration, and which jobs it takes on.</summary>
public sealed class ServeSettingsTests
{
    [Fact]
    public void Configuration_precedence_is_files_then_environment_then_command_line_then_options()
    {
        Environment.SetEnvironmentVariable("MLD_Grpc__MaxAtoms", "111");
        Environment.SetEnvironmentVariable("MLD_Grpc__MaxMessageBytes", "222");
        try
        {
            var fromEnvironment = ServeSettings.From(ForceFieldHost.ReadConfiguration([]));
            Assert.Equal(111, fromEnvironment.Grpc.MaxAtoms);
            Assert.Equal(ServeSettings.DefaultGrpcAddress, fromEnvironment.GrpcAddress); // loopback unless told otherwise

            var fromCommandLine = ServeSettings.From(ForceFieldHost.ReadConfiguration(["--Grpc:MaxAtoms=333"],
                new Dictionary<string, string?> { ["Grpc:MaxMessageBytes"] = "444", ["Grpc:Address"] = null }));
            Assert.Equal(333, fromCommandLine.Grpc.MaxAtoms);
            Assert.Equal(444, fromCommandLine.Grpc.MessageLimitBytes);
            Assert.Equal(Learning.BackendChoice.Auto, fromCommandLine.Backend);
            Assert.Equal(Learning.BackendChoice.Reference,
                ServeSettings.From(ForceFieldHost.ReadConfiguration(["--Model:Backend=Reference"])).Backend);
            Assert.Equal(Learning.Precision.Double, fromCommandLine.Precision);
            Assert.Equal(Learning.Precision.Mixed,
                ServeSettings.From(ForceFieldHost.ReadConfiguration(["--Model:Precision=mixed"])).Precision);
        }
        finally
        {
            Environment.SetEnvironmentVariable("MLD_Grpc__MaxAtoms", null);
            Environment.SetEnvironmentVariable("MLD_Grpc__MaxMessageBytes", null);
        }
    }

    [Fact]
    public void Message_limit_follows_max_atoms_unless_given()
    {
        var settings = ServeSettings.From(ForceFieldHost.ReadConfiguration([], new Dictionary<string, string?> { ["Grpc:MaxAtoms"] = "1000" }));
        Assert.Equal(48 * 1000 + 4096, settings.Grpc.MessageLimitBytes);
    }

    [Fact]
    public void Ipi_alone_binds_no_gRPC_port_and_both_when_asked()
    {
        var ipiOnly = ServeSettings.From(ForceFieldHost.ReadConfiguration([],
            new Dictionary<string, string?> { ["Ipi:Address"] = "unix:md", ["Ipi:Template"] = "t.xyz" }));
        Assert.Null(ipiOnly.GrpcAddress);
        var both = ServeSettings.From(ForceFieldHost.ReadConfiguration([],
            new Dictionary<string, string?> { ["Ipi:Address"] = "unix:md", ["Ipi:Template"] = "t.xyz", ["Grpc:Address"] = "127.0.0.1:0" }));
        Assert.Equal("127.0.0.1:0", both.GrpcAddress);
    }

    [Fact]
    public void The_committee_deviation_is_served_only_when_asked()
    {
        Assert.False(ServeSettings.From(ForceFieldHost.ReadConfiguration([])).GrpcCommittee);
        Assert.True(ServeSettings.From(ForceFieldHost.ReadConfiguration(["--Grpc:Committee=true"])).GrpcCommittee);
    }

    [Theory]
    [InlineData("Grpc:Committee", "yes", "configuration Grpc:Committee = 'yes' is not true or false")]
    [InlineData("Grpc:MaxAtoms", "many", "configuration Grpc:MaxAtoms = 'many' is not a positive integer")]
    [InlineData("Ipi:Address", "unix:md", "i-PI needs a template structure")]
    [InlineData("Grpc:Address", "none", "nothing to serve")]
    [InlineData("Model:Backend", "gpu", "configuration Model:Backend: 'gpu' is not one of auto|reference|simd")]
    [InlineData("Model:Precision", "half", "configuration Model:Precision: 'half' is not one of double|mixed")]
    [InlineData("Ipi:ConnectTimeoutSeconds", "-1", "not a number of seconds")]
    public void Bad_settings_are_one_clear_message(string key, string value, string expected)
    {
        var configuration = ForceFieldHost.ReadConfiguration([], new Dictionary<string, string?> { [key] = value });
        Assert.Contains(expected, Assert.Throws<DataException>(() => ServeSettings.From(configuration)).Message);
    }
}
