using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MolecularLearning.Core;
using MolecularLearning.Learning;
using MolecularLearning.Server;

namespace MolecularLearning.Cli.Verbs;

/// <summary>
/// `mld serve model.json [--grpc 127.0.0.1:50051] [--ipi ADDR --template FILE] [--sockets-prefix P]`:
/// the learned model over gRPC (h2c, or TLS with --certificate) and/or to an i-PI server, in the Generic Host.
/// One job unless asked: --ipi alone binds no port and exits 0 when the i-PI server ends.
/// Further settings as configuration: appsettings.json, MLD_* environment variables, or --Section:Key=value.
/// </summary>
public sealed class ServeVerb : IVerb
{
    public Command Build()
    {
        var model = new Argument<string?>("model") { Description = "learned model file (JSON from `mld fit`); or Model:Path", Arity = ArgumentArity.ZeroOrOne };
        var grpc = new Option<string?>("--grpc") { Description = $"gRPC listen address IP:PORT or localhost:PORT (default {ServeSettings.DefaultGrpcAddress}, loopback, unless --ipi is given alone)" };
        var ipi = new Option<string?>("--ipi") { Description = "serve forces to this i-PI server: unix:NAME, HOST:PORT or a socket path (alone: no gRPC, exit when i-PI ends)" };
        var template = new Option<string?>("--template") { Description = "structure (xyz/extxyz/CP2K run) with the species in i-PI's atom order" };
        var prefix = new Option<string?>("--sockets-prefix") { Description = "prefix of unix:NAME socket paths (i-PI's sockets_prefix, default /tmp/ipi_)" };
        var certificate = new Option<string?>("--certificate") { Description = "certificate with its key (PKCS#12 .pfx, or PEM): gRPC over TLS instead of cleartext h2c" };
        var backend = new Option<string?>("--backend") { Description = $"what evaluates the model: {BackendChoices.Help} (default auto; or Model:Backend)" };
        var precision = new Option<string?>("--precision") { Description = $"{Precisions.Help}: mixed runs the simd backend's per-pair Gaussians in single precision (default double; or Model:Precision)" };
        var connectTimeout = new Option<string?>("--connect-timeout") { Description = "with --ipi: seconds to keep retrying while no i-PI server is up (default 120; Ipi:ConnectTimeoutSeconds)" };
        var requestTimeout = new Option<string?>("--request-timeout") { Description = "with --ipi: seconds to wait for the i-PI server's next message (default 600; Ipi:RequestTimeoutSeconds)" };
        var extra = new Option<bool>("--ipi-extra")
        {
            Description = "with --ipi: send each step's extrapolation signal as the i-PI extra string (JSON; i-PI keeps it, mld run --forces ipi: counts it; ASE 3.22 cannot read extras; Ipi:ExtrapolationExtra)",
        };
        var committee = new Option<bool>("--committee")
        {
            Description = "gRPC responses also carry the committee deviation (committee_mean, committee_max, committee_atom; the model needs members from mld fit --committee K; K more evaluations per request; Grpc:Committee)",
        };
        var verbose = new Option<bool>("--verbose") { Description = "debug logging, with stack traces of i-PI failures" };
        var command = new Command("serve", "serve a learned model over gRPC and/or to i-PI until Ctrl-C / SIGTERM")
        {
            model, grpc, ipi, template, prefix, certificate, backend, precision, connectTimeout, requestTimeout, extra, committee, verbose,
        };
        // Unknown --Section:Key=value tokens are configuration (e.g. --Grpc:MaxAtoms=5000).
        command.TreatUnmatchedTokensAsErrors = false;
        // A synchronous action on purpose: the host's own console lifetime handles Ctrl-C/SIGTERM and waits for
        // in-flight calls, instead of the command line's short termination timeout for asynchronous actions.
        command.SetAction(parse => CliErrors.Guard(() => Run([.. parse.UnmatchedTokens], new Dictionary<string, string?>
        {
            ["Model:Path"] = parse.GetValue(model),
            ["Model:Backend"] = parse.GetValue(backend),
            ["Model:Precision"] = parse.GetValue(precision),
            ["Grpc:Address"] = parse.GetValue(grpc),
            ["Grpc:CertificatePath"] = parse.GetValue(certificate),
            ["Ipi:Address"] = parse.GetValue(ipi),
            ["Ipi:Template"] = parse.GetValue(template),
            ["Ipi:SocketsPrefix"] = parse.GetValue(prefix),
            ["Ipi:ConnectTimeoutSeconds"] = parse.GetValue(connectTimeout),
            ["Ipi:RequestTimeoutSeconds"] = parse.GetValue(requestTimeout),
            ["Ipi:ExtrapolationExtra"] = parse.GetValue(extra) ? "true" : null,
            ["Grpc:Committee"] = parse.GetValue(committee) ? "true" : null,
            ["Logging:LogLevel:MolecularLearning"] = parse.GetValue(verbose) ? "Debug" : null,
        }).GetAwaiter().GetResult()));
        return command;
    }

    private static async Task<int> Run(string[] configurationArgs, Dictionary<string, string?> overrides)
    {
        foreach (var token in configurationArgs)
            if (!token.StartsWith("--", StringComparison.Ordinal) || !token.Contains('='))
                throw new DataException($"unexpected argument '{token}' (configuration goes as --Section:Key=value)");
        var configuration = ForceFieldHost.ReadConfiguration(configurationArgs, overrides);
        var settings = ServeSettings.From(configuration);
        var path = settings.ModelPath ?? throw new DataException("no model: give the model file (mld serve model.json) or Model:Path");
        var model = LearnedModel.Load(path);
        var probe = model.CreateForceField(settings.Backend, settings.Precision); // a clear error now if simd cannot be had
        var served = LearnedModelServing.ToServedModel(model, Path.GetFileName(path), settings.Backend, settings.GrpcCommittee, settings.Precision);
        using var host = ForceFieldHost.Build(configuration, settings, served);
        var log = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("MolecularLearning.Serve");
        log.LogInformation("model {Model}: backend {Backend}, {Width}, {Precision} precision", path, probe.Backend.Name,
            probe.Backend.VectorBits > 0 ? $"{probe.Backend.VectorBits}-bit vectors" : "scalar", probe.Backend.Precision);
        if (probe.BackendNote is { } note) log.LogWarning("{Note}", note);
        await host.StartAsync();
        // One line per address on standard output, for scripts waiting for the server (logs go to standard error).
        foreach (var address in ForceFieldHost.GrpcAddresses(host)) Console.WriteLine($"gRPC listening on {address}");
        await host.WaitForShutdownAsync();
        return ForceFieldHost.ExitCode(host);
    }
}
