using System.Globalization;
using Microsoft.Extensions.Configuration;
using MolecularLearning.Core;
using MolecularLearning.Grpc;
using MolecularLearning.Learning;

namespace MolecularLearning.Server;

/// <summary>
/// What `mld serve` does, read from configuration (appsettings.json, MLD_ environment variables, the command
/// line; later sources win). Keys: Model:Path, Model:Backend (auto|reference|simd), Model:Precision (double|mixed); Grpc:Address (IP:PORT; none
/// or absent: no gRPC, unless nothing else is served, then the loopback default), Grpc:MaxAtoms,
/// Grpc:MaxMessageBytes (default: from MaxAtoms), Grpc:StreamIdleTimeoutSeconds, Grpc:CertificatePath,
/// Grpc:CertificatePassword, Grpc:Committee; Ipi:Address, Ipi:Template, Ipi:SocketsPrefix, Ipi:ConnectTimeoutSeconds,
/// Ipi:RequestTimeoutSeconds, Ipi:ExtrapolationExtra; Host:ShutdownTimeoutSeconds.
/// </summary>
public sealed record ServeSettings
{
    public const string DefaultGrpcAddress = "127.0.0.1:50051";

    public string? ModelPath { get; init; }
    /// <summary>The backend evaluating the model (Model:Backend).</summary>
    public BackendChoice Backend { get; init; } = BackendChoice.Auto;
    /// <summary>The precision of the per-pair stages (Model:Precision; mixed needs the simd backend).</summary>
    public Precision Precision { get; init; } = Precision.Double;
    /// <summary>IP:PORT or localhost:PORT; null when gRPC is off. Loopback unless configured otherwise.</summary>
    public string? GrpcAddress { get; init; } = DefaultGrpcAddress;
    /// <summary>Atom limit, message size and idle timeout of the gRPC service.</summary>
    public GrpcServeOptions Grpc { get; init; } = new();
    /// <summary>A PKCS#12 (.pfx) file: gRPC over TLS instead of cleartext h2c.</summary>
    public string? CertificatePath { get; init; }
    public string? CertificatePassword { get; init; }
    /// <summary>i-PI server to serve forces to (unix:NAME, HOST:PORT, socket path); null for none.</summary>
    public string? IpiAddress { get; init; }
    /// <summary>Structure file giving the species, in i-PI's atom order (i-PI sends positions only).</summary>
    public string? IpiTemplate { get; init; }
    public string? IpiSocketsPrefix { get; init; }
    /// <summary>How long the i-PI client retries while no server is up (serve --connect-timeout).</summary>
    public TimeSpan IpiConnectTimeout { get; init; } = TimeSpan.FromSeconds(120);
    /// <summary>Longest wait for the i-PI server's next message (serve --request-timeout).</summary>
    public TimeSpan IpiRequestTimeout { get; init; } = TimeSpan.FromSeconds(600);
    /// <summary>Send each step's extrapolation signal as i-PI's extra string (JSON); off: ASE 3.22 cannot read extras.</summary>
    public bool IpiExtrapolationExtra { get; init; }
    /// <summary>gRPC responses carry the committee deviation (serve --committee; the model needs members).</summary>
    public bool GrpcCommittee { get; init; }
    /// <summary>How long shutdown waits for in-flight calls before cutting connections.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public static ServeSettings From(IConfiguration configuration)
    {
        string? Text(string key) => configuration[key] is { } v && v.Trim().Length > 0 ? v.Trim() : null;
        int Positive(string key, int fallback)
        {
            var text = Text(key);
            if (text is null) return fallback;
            return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v > 0
                ? v : throw new DataException($"configuration {key} = '{text}' is not a positive integer");
        }
        TimeSpan Seconds(string key, double fallback)
        {
            var text = Text(key);
            if (text is null) return TimeSpan.FromSeconds(fallback);
            return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v > 0 && v <= 1e6
                ? TimeSpan.FromSeconds(v) : throw new DataException($"configuration {key} = '{text}' is not a number of seconds in (0, 1e6]");
        }
        bool Flag(string key)
        {
            var text = Text(key);
            if (text is null) return false;
            return bool.TryParse(text, out var v) ? v : throw new DataException($"configuration {key} = '{text}' is not true or false");
        }
        var ipi = Text("Ipi:Address");
        // One job unless asked for both: --ipi alone is an i-PI client (no port bound, exits when i-PI ends).
        var grpc = Text("Grpc:Address") ?? (ipi is null ? DefaultGrpcAddress : "none");
        var settings = new ServeSettings
        {
            ModelPath = Text("Model:Path"),
            Backend = Text("Model:Backend") is { } backend ? BackendChoices.Parse(backend, "configuration Model:Backend") : BackendChoice.Auto,
            Precision = Text("Model:Precision") is { } precision ? Precisions.Parse(precision, "configuration Model:Precision") : Precision.Double,
            GrpcAddress = grpc.Equals("none", StringComparison.OrdinalIgnoreCase) ? null : grpc,
            Grpc = new GrpcServeOptions
            {
                MaxAtoms = Positive("Grpc:MaxAtoms", GrpcServeOptions.DefaultMaxAtoms),
                MaxMessageBytes = Text("Grpc:MaxMessageBytes") is null ? null : Positive("Grpc:MaxMessageBytes", 0),
                StreamIdleTimeout = TimeSpan.FromSeconds(Positive("Grpc:StreamIdleTimeoutSeconds", 300)),
            },
            CertificatePath = Text("Grpc:CertificatePath"),
            CertificatePassword = configuration["Grpc:CertificatePassword"],
            IpiAddress = ipi,
            IpiTemplate = Text("Ipi:Template"),
            IpiSocketsPrefix = Text("Ipi:SocketsPrefix"),
            IpiConnectTimeout = Seconds("Ipi:ConnectTimeoutSeconds", 120),
            IpiRequestTimeout = Seconds("Ipi:RequestTimeoutSeconds", 600),
            IpiExtrapolationExtra = Flag("Ipi:ExtrapolationExtra"),
            GrpcCommittee = Flag("Grpc:Committee"),
            ShutdownTimeout = TimeSpan.FromSeconds(Positive("Host:ShutdownTimeoutSeconds", 30)),
        };
        if (settings.IpiAddress is not null && settings.IpiTemplate is null)
            throw new DataException("i-PI needs a template structure (--template FILE, Ipi:Template): i-PI sends positions without species");
        if (settings.GrpcAddress is null && settings.IpiAddress is null)
            throw new DataException("nothing to serve: gRPC is off (Grpc:Address = none) and no i-PI address is given");
        return settings;
    }
}
