using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Health.V1;
using Grpc.HealthCheck;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using MolecularLearning.Core;

namespace MolecularLearning.Grpc;

/// <summary>What the gRPC side of `mld serve` is configured with (ServeSettings fills it from configuration).</summary>
public sealed record GrpcServeOptions
{
    public const int DefaultMaxAtoms = 100_000;

    /// <summary>Largest number of atoms accepted in one request.</summary>
    public int MaxAtoms { get; init; } = DefaultMaxAtoms;

    /// <summary>Explicit message size limit (bytes); null derives it from <see cref="MaxAtoms"/>.</summary>
    public int? MaxMessageBytes { get; init; }

    /// <summary>How long a stream may wait for its next request before the server ends it.</summary>
    public TimeSpan StreamIdleTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The receive/send limit: <see cref="MaxMessageBytes"/>, or what a request of MaxAtoms atoms needs.</summary>
    public int MessageLimitBytes => MaxMessageBytes ?? BytesFor(MaxAtoms);

    /// <summary>
    /// An upper bound on one message for <paramref name="atoms"/> atoms: 24 bytes of packed positions (or forces)
    /// plus a symbol (≤ 8 bytes with its tag) per atom, 48 with margin, and 4 KiB for the cell and the rest.
    /// </summary>
    public static int BytesFor(int atoms) => (int)Math.Min(int.MaxValue, 48L * atoms + 4096);
}

/// <summary>Registration of the gRPC server pieces on a WebApplication: service, health, reflection, interceptors.</summary>
public static class GrpcServer
{
    /// <summary>Registers the ForceField service (with its interceptors), grpc.health.v1 and reflection.</summary>
    public static IServiceCollection AddForceFieldGrpc(this IServiceCollection services, ServedModel model, GrpcServeOptions options)
    {
        services.AddSingleton(new ForceFieldServiceState(model, options));
        services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = options.MessageLimitBytes;
            o.MaxSendMessageSize = options.MessageLimitBytes;
            o.EnableDetailedErrors = false; // INTERNAL never carries a .NET exception to the client
            o.Interceptors.Add<CallLoggingInterceptor>();  // outermost: sees the mapped status
            o.Interceptors.Add<ErrorMappingInterceptor>();
        });
        services.AddGrpcReflection();
        services.AddGrpcHealthChecks(o =>
        {
            o.Services.Map("", _ => true);
            o.Services.Map(ForceFieldGrpcService.ServiceName, _ => true);
        }).AddCheck<ServingHealthCheck>("serving");
        return services;
    }

    /// <summary>Maps the services registered by <see cref="AddForceFieldGrpc"/>.</summary>
    public static void MapForceFieldGrpc(this IEndpointRouteBuilder app)
    {
        app.MapGrpcService<ForceFieldGrpcService>();
        app.MapGrpcHealthChecksService();
        app.MapGrpcReflectionService();
        // Watchers see NOT_SERVING the moment shutdown begins, before connections are drained.
        var lifetime = app.ServiceProvider.GetRequiredService<IHostApplicationLifetime>();
        var health = app.ServiceProvider.GetService<HealthServiceImpl>();
        if (health is not null)
            lifetime.ApplicationStopping.Register(() =>
            {
                health.SetStatus("", HealthCheckResponse.Types.ServingStatus.NotServing);
                health.SetStatus(ForceFieldGrpcService.ServiceName, HealthCheckResponse.Types.ServingStatus.NotServing);
            });
    }

    /// <summary>
    /// Listens on <paramref name="address"/> (IP:PORT, [IPv6]:PORT or localhost:PORT) with HTTP/2, over TLS when a
    /// PKCS#12 or PEM certificate is given. Checks both first so a wrong address or file is a one-line error.
    /// </summary>
    public static void Listen(KestrelServerOptions kestrel, string address, string? certificatePath = null, string? certificatePassword = null)
    {
        var certificate = certificatePath is null ? null : LoadCertificate(certificatePath, certificatePassword);
        void Configure(ListenOptions listen)
        {
            listen.Protocols = HttpProtocols.Http2;
            if (certificate is not null) listen.UseHttps(certificate);
        }
        const string localhost = "localhost:";
        if (address.StartsWith(localhost, StringComparison.OrdinalIgnoreCase)
            && int.TryParse(address.AsSpan(localhost.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var localPort)
            && localPort is > 0 and <= 65535)
        {
            kestrel.ListenLocalhost(localPort, Configure);
            return;
        }
        kestrel.Listen(ParseLocalEndPoint(address), Configure);
    }

    /// <summary>IP:PORT that this machine can bind: an address of one of its interfaces, or 0.0.0.0 / [::].</summary>
    public static IPEndPoint ParseLocalEndPoint(string address)
    {
        if (!IPEndPoint.TryParse(address, out var endpoint) || endpoint.Port == 0 && !address.EndsWith(":0", StringComparison.Ordinal)
            || !address.Contains(':'))
            throw new DataException($"gRPC address '{address}': expected IP:PORT (127.0.0.1:50051, [::1]:50051, 0.0.0.0:50051) or localhost:PORT");
        var ip = endpoint.Address;
        if (ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any) || IPAddress.IsLoopback(ip)) return endpoint;
        bool local = NetworkInterface.GetAllNetworkInterfaces()
            .SelectMany(n => n.GetIPProperties().UnicastAddresses).Any(u => u.Address.Equals(ip));
        if (!local)
            throw new DataException($"gRPC address '{address}': {ip} is not an address of this machine (use 127.0.0.1, 0.0.0.0 for all interfaces, or one of its own addresses)");
        return endpoint;
    }

    /// <summary>A server certificate with its private key from a .pfx/.p12 (with password) or a PEM file (certificate and key).</summary>
    public static X509Certificate2 LoadCertificate(string path, string? password)
    {
        if (!File.Exists(path)) throw new DataException($"{path}: TLS certificate not found");
        X509Certificate2 certificate;
        try
        {
            var text = File.ReadAllText(path);
            certificate = text.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal)
                ? X509Certificate2.CreateFromPem(text, text)
                : X509CertificateLoader.LoadPkcs12FromFile(path, password);
        }
        catch (CryptographicException e)
        {
            throw new DataException($"{path}: not a usable TLS certificate (PKCS#12 .pfx with --Grpc:CertificatePassword, or PEM with certificate and private key): {e.Message.TrimEnd('.')}");
        }
        catch (ArgumentException e)
        {
            throw new DataException($"{path}: not a usable TLS certificate (PEM needs a certificate and its private key): {e.Message.TrimEnd('.')}");
        }
        if (!certificate.HasPrivateKey)
            throw new DataException($"{path}: the certificate has no private key, so it cannot serve TLS");
        return certificate;
    }
}

/// <summary>SERVING while the host runs; NOT_SERVING once it begins to shut down (drain first, then stop).</summary>
public sealed class ServingHealthCheck(IHostApplicationLifetime lifetime) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(lifetime.ApplicationStopping.IsCancellationRequested
            ? HealthCheckResult.Unhealthy("shutting down")
            : HealthCheckResult.Healthy("model loaded"));
}
