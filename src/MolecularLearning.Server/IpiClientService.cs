using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MolecularLearning.Core;
using MolecularLearning.Grpc;
using MolecularLearning.Protocols.Ipi;

namespace MolecularLearning.Server;

/// <summary>
/// The i-PI client as a hosted service: serves the model's forces to an i-PI server (or ASE's SocketIOCalculator)
/// with its own evaluator. When the i-PI server says EXIT the client is done; if it was the only thing served,
/// the host stops too. A failure is logged and stops the host with a non-zero exit code.
/// </summary>
public sealed class IpiClientService(ServedModel model, Species[] template, IpiAddress address, bool stopHostWhenDone,
    IHostApplicationLifetime lifetime, ServeOutcome outcome, ILogger<IpiClientService> log, ServeSettings? settings = null) : BackgroundService
{
    /// <summary>The template declares a non-periodic system: the cell i-PI sends is ignored (<see cref="IpiClientOptions.Isolated"/>).</summary>
    public bool Isolated { get; init; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var client = new IpiClient();
        var defaults = new IpiClientOptions();
        var options = new IpiClientOptions
        {
            Log = message => log.LogInformation("i-PI: {Message}", message),
            ConnectTimeout = settings?.IpiConnectTimeout ?? defaults.ConnectTimeout,
            RequestTimeout = settings?.IpiRequestTimeout ?? defaults.RequestTimeout,
            ExtrapolationExtra = settings?.IpiExtrapolationExtra ?? false,
            Isolated = Isolated,
        };
        log.LogInformation("i-PI client for {Address}, {Atoms} atoms from the template{Isolated}", address, template.Length,
            Isolated ? " (pbc=\"F F F\" in the template: isolated, whatever cell the server sends)" : "");
        try
        {
            await client.RunAsync(model.CreateForceField(), template, address, options, stoppingToken);
            log.LogInformation("i-PI server at {Address} finished after {Steps} steps", address, client.StepsServed);
            if (stopHostWhenDone) lifetime.StopApplication();
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            log.LogInformation("i-PI client stopped after {Steps} steps", client.StepsServed);
        }
        catch (Exception e)
        {
            // Bad peers and timeouts are one line; the stack only at Debug (serve --verbose), or for a bug.
            if (e is DataException) log.LogError("i-PI client for {Address} failed after {Steps} steps: {Message}", address, client.StepsServed, e.Message);
            else log.LogError(e, "i-PI client for {Address} failed after {Steps} steps: {Message}", address, client.StepsServed, e.Message);
            log.LogDebug(e, "i-PI client failure detail");
            outcome.Fail(1);
            lifetime.StopApplication();
        }
    }
}

/// <summary>The process exit code the hosted services agree on: 0 unless one of them failed.</summary>
public sealed class ServeOutcome
{
    private int _exitCode;
    public int ExitCode => _exitCode;
    public void Fail(int code) => Interlocked.CompareExchange(ref _exitCode, code, 0);
}
