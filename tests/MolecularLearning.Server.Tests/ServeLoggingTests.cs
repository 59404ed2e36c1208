using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MolecularLearning.Core;
using MolecularLearning.Grpc;
using MolecularLearning.Protocols.Grpc.V1;

namespace MolecularLearning.Server.Tests;

/// <summary>What `mld serve` writes to standard error: one line per message, and no error line on a clean shutdown.</summary>
[Collection(nameof(StandardErrorCollection))] // replaces Console.Error: not beside other tests doing the same
public sealed class ServeLoggingTests
{
    private sealed class Zero : IForceField
    {
        public string Name => "zero";
        public void Compute(ReadOnlySpan<Species> species, ReadOnlySpan<double> positions, Cell? cell, ForceResult result) => result.Resize(species.Length);
    }

    private static readonly ServedModel Model = new([Elements.O, Elements.H], () => new Zero(), new ModelDescription { Name = "zero" });

    private static string CaptureStandardError(Func<Task> action)
    {
        var original = Console.Error;
        var captured = new StringWriter();
        Console.SetError(captured);
        try { action().GetAwaiter().GetResult(); }
        finally { Console.SetError(original); }
        return captured.ToString();
    }

    private static IHost Build(Dictionary<string, string?> overrides)
    {
        var configuration = ForceFieldHost.ReadConfiguration([], overrides);
        return ForceFieldHost.Build(configuration, ServeSettings.From(configuration), Model);
    }

    [Fact]
    public void The_ipi_only_host_writes_one_line_per_message_with_the_time()
    {
        var template = Path.Combine(Path.GetTempPath(), $"mld-log-{Guid.NewGuid():N}.xyz");
        File.WriteAllText(template, "3\n\nO 0 0 0\nH 0.96 0 0\nH -0.24 0.93 0\n");
        try
        {
            var text = CaptureStandardError(() =>
            {
                using var host = Build(new() { ["Ipi:Address"] = "unix:mld-log-test", ["Ipi:Template"] = template });
                host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("MolecularLearning.Serve").LogInformation("the message");
                return Task.CompletedTask; // disposing the host flushes the console logger
            });
            var line = Assert.Single(text.Split('\n'), l => l.Contains("the message", StringComparison.Ordinal));
            Assert.Matches(@"^\d\d:\d\d:\d\d\.\d\d\d info: MolecularLearning\.Serve\[0\] the message", line);
        }
        finally { File.Delete(template); }
    }

    [Fact]
    public void Health_turning_unhealthy_at_shutdown_is_not_logged_as_an_error()
    {
        var text = CaptureStandardError(async () =>
        {
            using var host = Build(new() { ["Grpc:Address"] = "127.0.0.1:0" });
            await host.StartAsync();
            host.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication(); // what SIGTERM starts
            var report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
            Assert.Equal(HealthStatus.Unhealthy, report.Status); // NOT_SERVING, as it should
            await host.StopAsync();
        });
        Assert.Contains("Application is shutting down", text);
        Assert.DoesNotContain("fail:", text);
    }
}

[CollectionDefinition(nameof(StandardErrorCollection), DisableParallelization = true)]
public sealed class StandardErrorCollection;
