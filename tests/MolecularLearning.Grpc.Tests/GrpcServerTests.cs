using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Grpc.Reflection.V1Alpha;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MolecularLearning.Core;
using MolecularLearning.Grpc.Client;
using MolecularLearning.Protocols.Grpc.V1;
using MolecularLearning.Server;
using static Grpc.Health.V1.HealthCheckResponse.Types;

namespace MolecularLearning.Grpc.Tests;

/// <summary>A running host (configuration, Kestrel, Grpc.AspNetCore) with a Lennard-Jones model, and its clients.</summary>
public sealed class TestServer : IAsyncDisposable
{
    private TestServer(IHost host, Uri address)
    {
        Host = host;
        Uri = address;
        Address = $"{address.Host}:{address.Port}";
        Channel = GrpcChannel.ForAddress(address);
        Client = new ForceField.ForceFieldClient(Channel);
        Health = new Health.HealthClient(Channel);
    }

    public IHost Host { get; }
    public Uri Uri { get; }
    public string Address { get; }
    public GrpcChannel Channel { get; }
    public ForceField.ForceFieldClient Client { get; }
    public Health.HealthClient Health { get; }

    public static async Task<TestServer> StartAsync(ServedModel? model = null, ILoggerProvider? log = null, params (string Key, string Value)[] settings)
    {
        var host = Build(model, log, settings);
        await host.StartAsync();
        return new TestServer(host, ForceFieldHost.GrpcAddresses(host).Single());
    }

    public static IHost Build(ServedModel? model, ILoggerProvider? log, params (string Key, string Value)[] settings)
    {
        var overrides = new Dictionary<string, string?> { ["Grpc:Address"] = "127.0.0.1:0", ["Logging:LogLevel:Default"] = "Warning" };
        foreach (var (k, v) in settings) overrides[k] = v;
        var configuration = ForceFieldHost.ReadConfiguration([], overrides);
        return ForceFieldHost.Build(configuration, ServeSettings.From(configuration), model ?? LennardJones.Model(), logging =>
        {
            logging.ClearProviders();
            if (log is not null) logging.AddProvider(log);
        });
    }

    public static DateTime Soon => DateTime.UtcNow.AddSeconds(30);

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await Host.StopAsync();
        Host.Dispose();
    }
}

/// <summary>Keeps every formatted log message, to check what the server said.</summary>
public sealed class RecordingLoggerProvider : ILoggerProvider, ILogger
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _messages = new();
    public IReadOnlyCollection<string> Messages => _messages;
    public ILogger CreateLogger(string categoryName) => this;
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;
    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _messages.Enqueue(formatter(state, exception));
    public void Dispose() { }
}

public sealed class GrpcServerTests
{
    private static EvaluateRequest Box(Action<EvaluateRequest>? edit = null)
    {
        var request = LennardJones.Request(LennardJones.WaterBox());
        edit?.Invoke(request);
        return request;
    }

    private static RpcException Fails(TestServer server, EvaluateRequest request) =>
        Assert.Throws<RpcException>(() => server.Client.Evaluate(request, deadline: TestServer.Soon));

    [Fact]
    public async Task The_dotnet_client_gets_the_in_process_forces_over_a_stream_and_health_is_SERVING()
    {
        await using var server = await TestServer.StartAsync(settings: ("Grpc:MaxAtoms", "1000"));
        Assert.Equal(ServingStatus.Serving, server.Health.Check(new HealthCheckRequest(), deadline: TestServer.Soon).Status);
        Assert.Equal(ServingStatus.Serving, server.Health.Check(new HealthCheckRequest { Service = "molecular_learning.v1.ForceField" }, deadline: TestServer.Soon).Status);
        Assert.Equal(StatusCode.NotFound, Assert.Throws<RpcException>(() => server.Health.Check(new HealthCheckRequest { Service = "nope" })).StatusCode);
        Assert.Equal(1000u, server.Client.DescribeModel(new DescribeModelRequest()).MaxAtoms);

        using var remote = new GrpcForceField(server.Address);
        var local = new LennardJones();
        var (want, got) = (new ForceResult(), new ForceResult());
        for (int step = 0; step < 50; step++)
        {
            var frame = LennardJones.WaterBox(1, step);
            local.Compute(frame.Species, frame.Positions, frame.Cell, want);
            remote.Compute(frame.Species, frame.Positions, frame.Cell, got);
            Assert.Equal(want.Energy, got.Energy); // doubles travel exactly: bit-identical
            Assert.Equal(want.Forces, got.Forces);
            Assert.Equal(want.Virial, got.Virial);
        }
        Assert.Equal("test Lennard-Jones", remote.Model!.Name);
    }

    [Fact]
    public async Task Reflection_lists_the_services_and_describes_the_contract()
    {
        await using var server = await TestServer.StartAsync();
        var reflection = new ServerReflection.ServerReflectionClient(server.Channel);
        using var call = reflection.ServerReflectionInfo(deadline: TestServer.Soon);
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { FileContainingSymbol = "molecular_learning.v1.ForceField" });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext());
        var names = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();
        Assert.Contains("molecular_learning.v1.ForceField", names);
        Assert.Contains("grpc.health.v1.Health", names);
        Assert.True(await call.ResponseStream.MoveNext());
        var file = Google.Protobuf.Reflection.FileDescriptorProto.Parser.ParseFrom(call.ResponseStream.Current.FileDescriptorResponse.FileDescriptorProto[0]);
        Assert.Equal(["Evaluate", "EvaluateStream", "DescribeModel"], file.Service.Single().Method.Select(m => m.Name));
    }

    [Fact]
    public async Task A_cell_of_nine_zeros_is_an_isolated_system_like_no_cell()
    {
        // ASE's atoms.cell of a molecule is nine zeros; sent as it is, it used to be refused as a degenerate cell.
        await using var server = await TestServer.StartAsync();
        var isolated = server.Client.Evaluate(Box(r => r.CellAngstrom.Clear()), deadline: TestServer.Soon);
        var zeros = server.Client.Evaluate(Box(r => { r.CellAngstrom.Clear(); r.CellAngstrom.Add(new double[9]); }), deadline: TestServer.Soon);
        var periodic = server.Client.Evaluate(Box(), deadline: TestServer.Soon);
        Assert.NotEqual(periodic.EnergyEv, isolated.EnergyEv); // the box matters for this configuration
        Assert.Equal(isolated.EnergyEv, zeros.EnergyEv);
        Assert.Equal(isolated.ForcesEvPerAngstrom, zeros.ForcesEvPerAngstrom);
        Assert.Equal(isolated.VirialEv, zeros.VirialEv);
        // In a stream, a zero cell after a periodic one drops the periodic cell too.
        using var call = server.Client.EvaluateStream(deadline: TestServer.Soon);
        await call.RequestStream.WriteAsync(Box());
        await call.RequestStream.WriteAsync(Box(r => { r.CellAngstrom.Clear(); r.CellAngstrom.Add(new double[9]); }));
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext());
        Assert.Equal(periodic.EnergyEv, call.ResponseStream.Current.EnergyEv);
        Assert.True(await call.ResponseStream.MoveNext());
        Assert.Equal(isolated.EnergyEv, call.ResponseStream.Current.EnergyEv);
    }

    [Fact]
    public async Task Bad_requests_are_INVALID_ARGUMENT_naming_the_field_or_atoms_never_OK_with_NaN()
    {
        await using var server = await TestServer.StartAsync(settings: ("Grpc:MaxAtoms", "100"));
        var same = Fails(server, Box(r => { for (int k = 0; k < 3; k++) r.PositionsAngstrom[15 + k] = r.PositionsAngstrom[6 + k]; }));
        Assert.Equal(StatusCode.InvalidArgument, same.StatusCode);
        Assert.Contains("atoms 2 and 5 are at the same position", same.Status.Detail);

        // Through a periodic image: one box length (10 Å along x) apart.
        var image = Fails(server, Box(r => { r.PositionsAngstrom[15] = r.PositionsAngstrom[6] + 10; r.PositionsAngstrom[16] = r.PositionsAngstrom[7]; r.PositionsAngstrom[17] = r.PositionsAngstrom[8] - 8; }));
        Assert.Equal(StatusCode.InvalidArgument, image.StatusCode);
        Assert.Contains("atoms 2 and 5 are at the same position through a periodic image", image.Status.Detail);

        var far = Fails(server, Box(r => r.PositionsAngstrom[7] = 1e20));
        Assert.Equal(StatusCode.InvalidArgument, far.StatusCode);
        Assert.Contains("positions_angstrom[7] (atom 2, y)", far.Status.Detail);
        Assert.Contains("beyond", far.Status.Detail);

        var hugeCell = Fails(server, Box(r => r.CellAngstrom[0] = 1e300));
        Assert.Contains("cell_angstrom[0]", hugeCell.Status.Detail);

        var tooMany = Fails(server, new EvaluateRequest { PositionsAngstrom = { Enumerable.Range(0, 3 * 101).Select(i => 0.37 * i) } });
        Assert.Equal(StatusCode.InvalidArgument, tooMany.StatusCode);
        Assert.Contains("101 atoms exceed this server's limit of 100", tooMany.Status.Detail);

        // Over the message limit derived from max_atoms: refused by the transport before parsing.
        var oversized = Fails(server, new EvaluateRequest { PositionsAngstrom = { Enumerable.Range(0, 3000).Select(i => 0.5 * i) } });
        Assert.Equal(StatusCode.ResourceExhausted, oversized.StatusCode);

        Assert.True(double.IsFinite(server.Client.Evaluate(Box(), deadline: TestServer.Soon).EnergyEv)); // still serving
    }

    [Fact]
    public async Task The_extrapolation_signal_travels_as_optional_fields_and_is_absent_when_the_model_has_none()
    {
        // Calls 1, 3, 5...: outside (value = call, atom 4, "H: r1(H)"); even calls: no signal (NaN). One stream reuses the response.
        await using var server = await TestServer.StartAsync(LennardJones.Model(lj => lj.Signal = call => call % 2 == 1 ? (call, 4, "H: r1(H)") : (double.NaN, -1, null)));
        using var remote = new GrpcForceField(server.Address);
        var result = new ForceResult();
        for (int call = 1; call <= 4; call++)
        {
            var frame = LennardJones.WaterBox(1, call);
            remote.Compute(frame.Species, frame.Positions, frame.Cell, result);
            if (call % 2 == 1)
            {
                Assert.Equal(call, result.Extrapolation);
                Assert.Equal(4, result.ExtrapolationAtom);
                Assert.Equal("H: r1(H)", result.ExtrapolationInvariant);
            }
            else
            {
                Assert.True(double.IsNaN(result.Extrapolation), $"call {call}: {result.Extrapolation}");
                Assert.Equal(-1, result.ExtrapolationAtom);
                Assert.Null(result.ExtrapolationInvariant);
            }
        }
        // Unary: an answer without the signal has no field at all (what an old client never sees).
        await using var plain = await TestServer.StartAsync();
        var response = plain.Client.Evaluate(Box(), deadline: TestServer.Soon);
        Assert.False(response.HasExtrapolation);
        Assert.False(response.HasExtrapolationAtom);
        Assert.False(response.HasExtrapolationInvariant);
    }

    [Fact]
    public async Task A_model_answering_NaN_is_never_passed_on_as_OK()
    {
        await using var server = await TestServer.StartAsync(LennardJones.Model(lj => lj.Poison = true));
        var e = Fails(server, Box());
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("energy for this configuration is NaN", e.Status.Detail);
    }

    [Fact]
    public async Task A_deadline_reaches_the_evaluation_and_stops_it()
    {
        bool slow = false;
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await TestServer.StartAsync(LennardJones.Model(lj =>
        {
            lj.Entered = () =>
            {
                if (!Volatile.Read(ref slow)) return;
                lj.Delay = TimeSpan.FromMinutes(5); // read by Compute after Entered
                entered.TrySetResult();
            };
            lj.Stopped = () => stopped.TrySetResult();
        }));
        // Connect and compile the path first: a cold first call can use up a short deadline before the server
        // starts it, and then there is no evaluation for the deadline to stop.
        Assert.True(double.IsFinite(server.Client.Evaluate(Box(), deadline: TestServer.Soon).EnergyEv));
        Volatile.Write(ref slow, true);
        var e = Assert.Throws<RpcException>(() => server.Client.Evaluate(Box(), deadline: DateTime.UtcNow.AddSeconds(2)));
        Assert.Equal(StatusCode.DeadlineExceeded, e.StatusCode);
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await stopped.Task.WaitAsync(TimeSpan.FromSeconds(20)); // the evaluation itself was stopped, not left running 5 min
    }

    [Fact]
    public async Task A_stream_that_sends_nothing_gets_a_status_and_a_log_line()
    {
        var log = new RecordingLoggerProvider();
        await using var server = await TestServer.StartAsync(null, log, ("Grpc:StreamIdleTimeoutSeconds", "1"));
        using var call = server.Client.EvaluateStream(deadline: TestServer.Soon);
        var e = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.DeadlineExceeded, e.StatusCode);
        Assert.Contains("no request for 1 s after 0 steps", e.Status.Detail);
        Assert.Contains(log.Messages, m => m.Contains("no request for 1 s after 0 steps; closed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Shutdown_turns_health_NOT_SERVING_finishes_calls_in_flight_and_ends_streams_with_UNAVAILABLE()
    {
        int evaluations = 0;
        var unaryInside = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var release = new ManualResetEventSlim();
        var server = await TestServer.StartAsync(LennardJones.Model(lj =>
        {
            lj.Entered = () =>
            {
                if (Interlocked.Increment(ref evaluations) != 2) return;
                unaryInside.TrySetResult();
                release.Wait(TimeSpan.FromSeconds(30)); // the unary call stays in flight until the test lets it finish
            };
        }));
        using var watch = server.Health.Watch(new HealthCheckRequest());
        Assert.True(await watch.ResponseStream.MoveNext());
        Assert.Equal(ServingStatus.Serving, watch.ResponseStream.Current.Status);

        using var stream = server.Client.EvaluateStream();
        await stream.RequestStream.WriteAsync(Box());
        Assert.True(await stream.ResponseStream.MoveNext()); // established; now waiting for its next step

        var inFlight = server.Client.EvaluateAsync(Box(), deadline: TestServer.Soon).ResponseAsync;
        await unaryInside.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var stopping = server.Host.StopAsync(); // what SIGTERM / Ctrl-C do through the console lifetime
        try
        {
            Assert.Equal(ServingStatus.NotServing, await NextStatus(watch));
            // Read while the held call keeps the connection open: HttpClient drops a status it has received but not
            // yet handed out when the connection closes while its request is still open (reads as INTERNAL).
            var ended = await Assert.ThrowsAsync<RpcException>(() => stream.ResponseStream.MoveNext());
            Assert.Equal(StatusCode.Unavailable, ended.StatusCode);
            Assert.False(inFlight.IsCompleted); // the call was still in flight after the stream ended
        }
        finally { release.Set(); }
        Assert.True(double.IsFinite((await inFlight).EnergyEv)); // the call in flight finished
        await stopping.WaitAsync(TimeSpan.FromSeconds(25));
        Assert.Equal(0, ForceFieldHost.ExitCode(server.Host));
        server.Channel.Dispose();
        server.Host.Dispose();
    }

    private static async Task<ServingStatus> NextStatus(AsyncServerStreamingCall<HealthCheckResponse> watch)
    {
        try
        {
            while (await watch.ResponseStream.MoveNext())
                if (watch.ResponseStream.Current.Status != ServingStatus.Serving) return watch.ResponseStream.Current.Status;
        }
        catch (RpcException) { }
        return ServingStatus.Unknown;
    }

    [Fact]
    public void A_foreign_address_or_a_file_that_is_not_a_certificate_is_one_clear_error()
    {
        var foreign = Assert.Throws<DataException>(() => TestServer.Build(null, null, ("Grpc:Address", "8.8.8.8:50051")));
        Assert.Contains("8.8.8.8 is not an address of this machine", foreign.Message);
        var path = Path.Combine(Path.GetTempPath(), $"mld-not-a-cert-{Guid.NewGuid():N}.pem");
        File.WriteAllText(path, "this is not a certificate\n");
        try
        {
            var bad = Assert.Throws<DataException>(() => TestServer.Build(null, null, ("Grpc:CertificatePath", path)));
            Assert.Contains("not a usable TLS certificate", bad.Message);
            Assert.DoesNotContain("\n", bad.Message);
        }
        finally { File.Delete(path); }
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
            await using var server = await TestServer.StartAsync(null, null, ("Grpc:CertificatePath", pfx), ("Grpc:CertificatePassword", "secret"));
            Assert.Equal("https", server.Uri.Scheme);
            using var channel = GrpcChannel.ForAddress(server.Uri, new GrpcChannelOptions
            {
                HttpHandler = new SocketsHttpHandler
                {
                    SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, _, _, _) => true },
                },
            });
            Assert.Equal(ServingStatus.Serving, new Health.HealthClient(channel).Check(new HealthCheckRequest(), deadline: TestServer.Soon).Status);
        }
        finally { File.Delete(pfx); }
    }

    [Fact]
    public void The_client_without_a_server_is_one_clear_error_within_its_connect_timeout()
    {
        using var remote = new GrpcForceField("127.0.0.1:1", new GrpcForceFieldOptions { ConnectTimeout = TimeSpan.FromSeconds(2) });
        var e = Assert.Throws<DataException>(() => remote.Connect());
        Assert.Contains("gRPC server 127.0.0.1:1: cannot reach the gRPC server: Unavailable", e.Message);
    }
}
