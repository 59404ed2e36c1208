using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using MolecularLearning.Core;
using MolecularLearning.Grpc;
using MolecularLearning.Protocols.Ipi;

namespace MolecularLearning.Server;

/// <summary>
/// The Generic Host behind `mld serve`: with --grpc, Kestrel with Grpc.AspNetCore (ForceField, grpc.health.v1,
/// reflection); with --ipi, the i-PI client as a hosted service; either or both. Ctrl-C / SIGTERM: health turns
/// NOT_SERVING, the host stops accepting connections, streams end with UNAVAILABLE at their next message
/// boundary, unary calls in flight finish, then the process exits 0.
/// </summary>
public static class ForceFieldHost
{
    /// <summary>Prefix of the environment variables read as configuration (MLD_Grpc__Address=...).</summary>
    public const string EnvironmentPrefix = "MLD_";

    /// <summary>
    /// appsettings.json beside the program, then ./appsettings.json, then MLD_* environment variables, then
    /// command-line "--Key=value" arguments, then <paramref name="overrides"/> (the verb's own options).
    /// </summary>
    public static IConfigurationRoot ReadConfiguration(string[] args, IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var builder = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true)
            .AddJsonFile(Path.Combine(Directory.GetCurrentDirectory(), "appsettings.json"), optional: true)
            .AddEnvironmentVariables(EnvironmentPrefix)
            .AddCommandLine(args);
        if (overrides is not null) builder.AddInMemoryCollection(overrides.Where(kv => kv.Value is not null));
        return builder.Build();
    }

    /// <summary>Builds (does not start) the host serving <paramref name="model"/>.</summary>
    public static IHost Build(IConfiguration configuration, ServeSettings settings, ServedModel model,
        Action<ILoggingBuilder>? configureLogging = null)
    {
        Species[]? template = null;
        IpiAddress? ipi = null;
        bool isolated = false;
        if (settings.IpiAddress is not null)
        {
            ipi = IpiAddress.Parse(settings.IpiAddress, settings.IpiSocketsPrefix);
            template = IpiTemplate.Load(settings.IpiTemplate!, model);
            isolated = IpiTemplate.DeclaresBoxWithoutPbc(settings.IpiTemplate!);
        }

        if (settings.GrpcAddress is null)
        {
            var plain = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
            Configure(plain.Configuration, plain.Logging, plain.Services);
            return plain.Build();
        }

        var web = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        web.Configuration.Sources.Clear();
        Configure(web.Configuration, web.Logging, web.Services);
        // Address and certificate are checked here, before anything starts: a one-line error, not a Kestrel trace.
        var address = settings.GrpcAddress;
        var certificate = settings.CertificatePath is null ? null : GrpcServer.LoadCertificate(settings.CertificatePath, settings.CertificatePassword);
        if (!address.StartsWith("localhost:", StringComparison.OrdinalIgnoreCase)) GrpcServer.ParseLocalEndPoint(address);
        certificate?.Dispose();
        web.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            GrpcServer.Listen(kestrel, address, settings.CertificatePath, settings.CertificatePassword);
        });
        web.Services.AddForceFieldGrpc(model, settings.Grpc);
        var app = web.Build();
        app.MapForceFieldGrpc();
        return app;

        void Configure(IConfigurationManager config, ILoggingBuilder logging, IServiceCollection services)
        {
            config.AddConfiguration(configuration);
            services.Configure<HostOptions>(o => o.ShutdownTimeout = settings.ShutdownTimeout);
            services.AddSingleton<ServeOutcome>();
            logging.ClearProviders();
            logging.AddConfiguration(configuration.GetSection("Logging"));
            logging.SetMinimumLevel(LogLevel.Information);
            // Logs go to standard error (structured: set Logging:Console:FormatterName=json for JSON lines);
            // standard output carries only the "listening" lines scripts wait for.
            logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
            // Through AddSimpleConsole: a bare Configure<SimpleConsoleFormatterOptions> did not reach the formatter of the
            // i-PI-only host, whose lines came out in two (level and category, then the message) without a time.
            logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; });
            // Health turns Unhealthy on purpose once shutdown begins; the health-check service would log that as an error.
            logging.AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.Critical);
            configureLogging?.Invoke(logging);
            if (ipi is not null)
                services.AddHostedService(sp => new IpiClientService(model, template!, ipi, settings.GrpcAddress is null,
                    sp.GetRequiredService<IHostApplicationLifetime>(), sp.GetRequiredService<ServeOutcome>(),
                    sp.GetRequiredService<ILogger<IpiClientService>>(), settings) { Isolated = isolated });
        }
    }

    /// <summary>The addresses Kestrel bound (after StartAsync), e.g. http://127.0.0.1:50051; empty without gRPC.</summary>
    public static IReadOnlyList<Uri> GrpcAddresses(IHost host) =>
        host.Services.GetService<IServer>()?.Features.Get<IServerAddressesFeature>()?.Addresses.Select(a => new Uri(a)).ToList() ?? [];

    /// <summary>The exit code after the host has stopped: 0 for a clean shutdown, non-zero when a hosted service failed.</summary>
    public static int ExitCode(IHost host) => host.Services.GetRequiredService<ServeOutcome>().ExitCode;
}
