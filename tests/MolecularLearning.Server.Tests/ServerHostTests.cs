using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MolecularLearning.Core;
using MolecularLearning.Protocols.Grpc;
using MolecularLearning.Protocols.Grpc.Health.V1;
using MolecularLearning.Protocols.Grpc.V1;
using MolecularLearning.Protocols.Tests.Grpc;
using MolecularLearning.Server;

namespace MolecularLearning.Server.Tests;

/// <summary>The whole host (configuration, Kestrel, services, shutdown) with a Lennard-Jones model, over real HTTP/2.</summary>
public sealed class ServerHostTests
{
    private const string Evaluate = "/molecular_learning.v1.ForceField/Evaluate";
    private const string Stream = "/molecular_learning.v1.ForceField/EvaluateStream";

    private static Task<(IHost Host, Uri Address)> StartAsync(ServedModel? model = null, params (string Key, string Value)[] settings) =>
        StartAsync(model, null, settings);

    private static async Task<(IHost Host, Uri Address)> StartAsync(ServedModel? model, ILoggerProvider? log, params (string Key, string Value)[] settings)
    {
        var overrides = new Dictionary<string, string?> { ["Grpc:Address"] = "127.0.0.1:0", ["Logging:LogLevel:Default"] = "Warning" };
        foreach (var (k, v) in settings) overrides[k] = v;
        var configuration = ForceFieldHost.ReadConfiguration([], overrides);
        var host = ForceFieldHost.Build(configuration, ServeSettings.From(configuration), model ?? LennardJones.Model(),
            logging =>
            {
                logging.ClearProviders();
                if (log is not null) logging.AddProvider(log);
            });
        await host.StartAsync();
        return (host, ForceFieldHost.GrpcAddresses(host).Single());
    }

    [Fact]
    public void Configuration_precedence_is_files_then_environment_then_command_line_then_options()
    {
        Environment.SetEnvironmentVariable("MLD_Grpc__MaxAtoms", "111");
        Environment.SetEnvironmentVariable("MLD_Grpc__MaxMessageBytes", "222");
        try
        {
            var fromEnvironment = ServeSettings.From(ForceFieldHost.ReadConfiguration([]));
            Assert.Equal(111, fromEnvironment.MaxAtoms);
            Assert.Equal(ServeSettings.DefaultGrpcAddress, fromEnvironment.GrpcAddress); // loopback unless told otherwise

            var fromCommandLine = ServeSettings.From(ForceFieldHost.ReadConfiguration(["--Grpc:MaxAtoms=333"],
                new Dictionary<string, string?> { ["Grpc:MaxMessageBytes"] = "444", ["Grpc:Address"] = null }));
            Assert.Equal(333, fromCommandLine.MaxAtoms);
            Assert.Equal(444, fromCommandLine.MaxMessageBytes);
            Assert.Equal(Learning.BackendChoice.Auto, fromCommandLine.Backend);
            Assert.Equal(Learning.BackendChoice.Reference,
                ServeSettings.From(ForceFieldHost.ReadConfiguration(["--Model:Backend=Reference"])).Backend);
        }
        finally
        {
            Environment.SetEnvironmentVariable("MLD_Grpc__MaxAtoms", null);
            Environment.SetEnvironmentVariable("MLD_Grpc__MaxMessageBytes", null);
        }
    }

    [Theory]
    [InlineData("Grpc:MaxAtoms", "many", "configuration Grpc:MaxAtoms = 'many' is not a positive integer")]
    [InlineData("Ipi:Address", "unix:md", "i-PI needs a template structure")]
    [InlineData("Grpc:Address", "none", "nothing to serve")]
    [InlineData("Model:Backend", "gpu", "configuration Model:Backend: 'gpu' is not one of auto|reference|simd")]
    public void Bad_settings_are_one_clear_message(string key, string value, string expected)
    {
        var configuration = ForceFieldHost.ReadConfiguration([], new Dictionary<string, string?> { [key] = value });
        Assert.Contains(expected, Assert.Throws<DataException>(() => ServeSettings.From(configuration)).Message);
    }

    [Fact]
    public async Task Serves_health_model_and_forces_on_loopback()
    {
        var (host, address) = await StartAsync(settings: ("Grpc:MaxAtoms", "1000"));
        using (host)
        {
            Assert.Equal("127.0.0.1", address.Host);
            using var client = new RawGrpcClient(address);
            var health = await client.CallAsync("/grpc.health.v1.Health/Check", RawGrpcClient.Frame(new HealthCheckRequest()));
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Single(HealthCheckResponse.Parser).Status);
            var model = (await client.CallAsync("/molecular_learning.v1.ForceField/DescribeModel",
                RawGrpcClient.Frame(new DescribeModelRequest()))).Single(ModelDescription.Parser);
            Assert.Equal(1000u, model.MaxAtoms);
            var frame = LennardJones.WaterBox();
            var reply = await client.CallAsync(Evaluate, RawGrpcClient.Frame(LennardJones.Request(frame)));
            Assert.Equal(new LennardJones().Compute(frame).Forces, reply.Single(EvaluateResponse.Parser).ForcesEvPerAngstrom);
            await host.StopAsync();
            Assert.Equal(0, ForceFieldHost.ExitCode(host));
        }
    }

    [Fact]
    public async Task Bad_clients_do_not_disturb_a_healthy_stream()
    {
        var (host, address) = await StartAsync(settings: ("Grpc:MaxMessageBytes", "100000"));
        using (host)
        {
            using var client = new RawGrpcClient(address);
            await using var healthy = client.OpenStream(Stream);
            var lj = new LennardJones();
            for (int step = 0; step < 30; step++)
            {
                var frame = LennardJones.WaterBox(step: step);
                await healthy.SendAsync(LennardJones.Request(frame, id: (ulong)step));
                var response = EvaluateResponse.Parser.ParseFrom(await healthy.ReadAsync());
                Assert.Equal((ulong)step, response.Id);
                Assert.Equal(lj.Compute(frame).Forces, response.ForcesEvPerAngstrom);

                switch (step)
                {
                    case 5: // a client that disconnects mid-stream, half-way through a message
                        var quitter = client.OpenStream(Stream);
                        await quitter.SendAsync(LennardJones.Request(frame));
                        Assert.NotNull(await quitter.ReadAsync());
                        await quitter.SendAsync(RawGrpcClient.Frame(LennardJones.Request(frame))[..100]);
                        quitter.Abort();
                        await quitter.DisposeAsync();
                        break;
                    case 10: // malformed frame: invalid flag byte
                        var malformed = await client.CallAsync(Stream, RawGrpcClient.Frame(LennardJones.Request(frame), flag: 9));
                        Assert.Equal("13", malformed.Status);
                        break;
                    case 15: // oversized message
                        var big = new EvaluateRequest();
                        for (int i = 0; i < 15000; i++) big.PositionsAngstrom.Add(i);
                        var oversized = await client.CallAsync(Evaluate, RawGrpcClient.Frame(big));
                        Assert.Equal("8", oversized.Status);
                        break;
                    case 20: // garbage that is not protobuf
                        var garbage = await client.CallAsync(Evaluate, RawGrpcClient.Frame([0x0A, 0xFF, 0xFF, 0xFF]));
                        Assert.Equal("13", garbage.Status);
                        break;
                }
            }
            healthy.CompleteRequest();
            var reply = await healthy.FinishAsync();
            Assert.Equal("0", reply.Status);
            Assert.Equal(30, reply.Messages.Count);
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task Shutdown_lets_calls_in_flight_finish_and_ends_idle_streams_with_UNAVAILABLE()
    {
        int evaluations = 0;
        var secondEvaluation = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var log = new RecordingLoggerProvider();
        var (host, address) = await StartAsync(LennardJones.Model(lj =>
        {
            lj.Delay = TimeSpan.FromMilliseconds(600);
            lj.Entered = () => { if (Interlocked.Increment(ref evaluations) == 2) secondEvaluation.TrySetResult(); };
        }), log);
        using (host)
        {
            using var client = new RawGrpcClient(address);
            await using var watch = client.OpenStream("/grpc.health.v1.Health/Watch");
            await watch.SendAsync(new HealthCheckRequest());
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, HealthCheckResponse.Parser.ParseFrom(await watch.ReadAsync()).Status);

            await using var idle = client.OpenStream(Stream);
            await idle.SendAsync(LennardJones.Request(LennardJones.WaterBox()));
            Assert.NotNull(await idle.ReadAsync()); // the stream is established and now waits for its next step

            // Listen for the ends of both streams as a real client does, before the server closes the connection.
            var idleEnd = idle.FinishAsync();
            var watchEnd = watch.FinishAsync();
            var inFlight = client.CallAsync(Evaluate, RawGrpcClient.Frame(LennardJones.Request(LennardJones.WaterBox(2))));
            await secondEvaluation.Task; // the unary call is inside the (slow) force field now
            var stopping = host.StopAsync(); // what SIGTERM / Ctrl-C do through the console lifetime

            var unary = await inFlight;
            Assert.Equal("0", unary.Status);
            Assert.Single(unary.Messages);
            // The server ends both streams with a status. HttpClient, unlike grpcio (GrpcServeLifecycleTests), loses
            // a status it has received but not yet handed out when the connection closes while the request is still
            // open (seen in CI under load), so the client may see that close instead; the server's log settles it.
            if (await EndOrClose(idleEnd) is { } ended)
            {
                Assert.Equal("14", ended.Status);
                Assert.Equal("server is shutting down", ended.Message);
            }
            Assert.Contains(log.Messages, m => m.Contains($"gRPC {Stream} from", StringComparison.Ordinal)
                && m.EndsWith(": Unavailable server is shutting down", StringComparison.Ordinal));
            if (await EndOrClose(watchEnd) is { } watched) Assert.Equal("0", watched.Status);
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, HealthCheckResponse.Parser.ParseFrom(watch.Received[^1]).Status);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            await stopping;
            // Streams the server ended are reset (NO_ERROR) even though this client never half-closed them,
            // so shutdown does not sit out the 30 s shutdown timeout waiting for them.
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"shutdown took {clock.Elapsed}");
            Assert.Equal(0, ForceFieldHost.ExitCode(host));
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => new RawGrpcClient(address).CallAsync(Evaluate, []));
        }
    }

    private static async Task<RawGrpcClient.Reply?> EndOrClose(Task<RawGrpcClient.Reply> end)
    {
        try { return await end; }
        catch (HttpProtocolException e) when (e.Message.Contains("closed the connection", StringComparison.Ordinal)) { return null; }
    }

    /// <summary>Keeps every formatted log message, to check what the server did when the client cannot see it.</summary>
    private sealed class RecordingLoggerProvider : ILoggerProvider, ILogger
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _messages = new();
        public IReadOnlyCollection<string> Messages => _messages;
        public ILogger CreateLogger(string categoryName) => this;
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            _messages.Enqueue(formatter(state, exception));
        public void Dispose() { }
    }

    [Fact]
    public async Task Serves_over_TLS_when_given_a_certificate()
    {
        var pfx = Path.Combine(Path.GetTempPath(), $"mld-test-{Guid.NewGuid():N}.pfx");
        using (var key = RSA.Create(2048))
        {
            var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
            File.WriteAllBytes(pfx, certificate.Export(X509ContentType.Pfx, "secret"));
        }
        try
        {
            var (host, address) = await StartAsync(null, ("Grpc:CertificatePath", pfx), ("Grpc:CertificatePassword", "secret"));
            using (host)
            {
                Assert.Equal("https", address.Scheme);
                using var http = new HttpClient(new SocketsHttpHandler
                {
                    SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, _, _, _) => true },
                });
                var message = new HttpRequestMessage(HttpMethod.Post, new Uri(address, "/grpc.health.v1.Health/Check"))
                {
                    Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact,
                    Content = new ByteArrayContent(RawGrpcClient.Frame(new HealthCheckRequest())),
                };
                message.Content.Headers.ContentType = new("application/grpc");
                using var response = await http.SendAsync(message);
                Assert.Equal(HttpVersion.Version20, response.Version);
                var body = await response.Content.ReadAsByteArrayAsync();
                Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, HealthCheckResponse.Parser.ParseFrom(body.AsSpan(5)).Status);
                Assert.Equal("0", response.TrailingHeaders.GetValues("grpc-status").Single());
                await host.StopAsync();
            }
        }
        finally
        {
            File.Delete(pfx);
        }
    }
}
