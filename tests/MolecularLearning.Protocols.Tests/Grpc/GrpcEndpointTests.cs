using MolecularLearning.Core;
using System.Net;
using MolecularLearning.Protocols.Grpc;
using MolecularLearning.Protocols.Grpc.Health.V1;
using MolecularLearning.Protocols.Grpc.V1;

namespace MolecularLearning.Protocols.Tests.Grpc;

/// <summary>The transport on a real Kestrel over h2c, driven by a hand-framing HTTP/2 client.</summary>
public sealed class GrpcEndpointTests : IAsyncLifetime
{
    private const string Evaluate = "/molecular_learning.v1.ForceField/Evaluate";
    private const string Stream = "/molecular_learning.v1.ForceField/EvaluateStream";
    private TestGrpcServer _server = null!;
    private RawGrpcClient _client = null!;
    private readonly TaskCompletionSource _slowStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async Task InitializeAsync()
    {
        _server = await TestGrpcServer.StartAsync(endpoint =>
        {
            var service = new ForceFieldService(LennardJones.Model(), maxAtoms: 500);
            service.MapTo(endpoint);
            new HealthService(endpoint, [ForceFieldService.ServiceName]).MapTo();
            // A method that takes a while, to see deadlines expire during a handler.
            endpoint.MapUnary<DescribeModelRequest, DescribeModelRequest>("test.Slow", "Sleep", DescribeModelRequest.Parser, (r, _) =>
            {
                _slowStarted.TrySetResult();
                Thread.Sleep(300);
                return r;
            });
        }, maxMessageBytes: 64 * 1024);
        _client = new RawGrpcClient(_server.Address);
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }

    private static byte[] Box(int seed = 1) => RawGrpcClient.Frame(LennardJones.Request(LennardJones.WaterBox(seed)));

    [Fact]
    public async Task Unary_call_answers_one_message_then_status_OK_in_trailers()
    {
        var reply = await _client.CallAsync(Evaluate, Box(), "application/grpc+proto");
        Assert.Equal(HttpStatusCode.OK, reply.HttpStatus);
        Assert.Equal("0", reply.Status);
        Assert.False(reply.TrailersOnly);
        var expected = new LennardJones().Compute(LennardJones.WaterBox());
        Assert.Equal(expected.Forces, reply.Single(EvaluateResponse.Parser).ForcesEvPerAngstrom);
    }

    [Fact]
    public async Task Stream_answers_one_response_per_request_in_order()
    {
        await using var call = _client.OpenStream(Stream);
        var lj = new LennardJones();
        for (int step = 0; step < 20; step++)
        {
            var frame = LennardJones.WaterBox(step: step);
            var request = LennardJones.Request(frame, id: (ulong)(1000 + step), step: step);
            if (step > 0) request.Symbols.Clear(); // species only in the first request
            await call.SendAsync(request);
            var response = EvaluateResponse.Parser.ParseFrom(await call.ReadAsync());
            Assert.Equal((ulong)(1000 + step), response.Id);
            Assert.Equal(step, response.Step);
            Assert.Equal(lj.Compute(frame).Forces, response.ForcesEvPerAngstrom);
        }
        call.CompleteRequest();
        var reply = await call.FinishAsync();
        Assert.Equal("0", reply.Status);
        Assert.Equal(20, reply.Messages.Count);
    }

    [Fact]
    public async Task Pipelined_requests_come_back_in_order()
    {
        // 50 × 2.7 kB: also more than the server's 64 kB request body limit, which must not apply to streams.
        await using var call = _client.OpenStream(Stream);
        for (int step = 0; step < 50; step++)
            await call.SendAsync(LennardJones.Request(LennardJones.WaterBox(step: step), id: (ulong)step));
        call.CompleteRequest();
        var reply = await call.FinishAsync();
        Assert.Equal("0", reply.Status);
        Assert.Equal(Enumerable.Range(0, 50).Select(i => (ulong)i), reply.Messages.Select(m => EvaluateResponse.Parser.ParseFrom(m).Id));
    }

    [Fact]
    public async Task Wrong_content_type_is_HTTP_415()
    {
        var reply = await _client.CallAsync(Evaluate, Box(), "application/json");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, reply.HttpStatus);
        Assert.Null(reply.Status);
    }

    [Fact]
    public async Task Unknown_method_is_UNIMPLEMENTED_trailers_only()
    {
        var reply = await _client.CallAsync("/molecular_learning.v1.ForceField/Teleport", Box());
        Assert.Equal(HttpStatusCode.OK, reply.HttpStatus);
        Assert.Equal("12", reply.Status);
        Assert.True(reply.TrailersOnly);
        Assert.Equal("unknown method /molecular_learning.v1.ForceField/Teleport", reply.Message);
    }

    [Fact]
    public async Task Compression_is_UNIMPLEMENTED()
    {
        var reply = await _client.CallAsync(Evaluate, Box(), "application/grpc", ("grpc-encoding", "gzip"));
        Assert.Equal("12", reply.Status);
        Assert.Contains("grpc-encoding 'gzip' is not supported", reply.Message);
    }

    [Fact]
    public async Task Compressed_flag_under_identity_is_INTERNAL()
    {
        var reply = await _client.CallAsync(Evaluate, RawGrpcClient.Frame(LennardJones.Request(LennardJones.WaterBox()), flag: 1));
        Assert.Equal("13", reply.Status);
        Assert.Contains("compressed message", reply.Message);
    }

    [Fact]
    public async Task Oversized_message_is_RESOURCE_EXHAUSTED()
    {
        var big = new EvaluateRequest();
        for (int i = 0; i < 3 * 3000; i++) big.PositionsAngstrom.Add(i); // 72 kB > 64 KiB
        var reply = await _client.CallAsync(Evaluate, RawGrpcClient.Frame(big));
        Assert.Equal("8", reply.Status);
        Assert.Contains("larger than the limit of 65536 bytes", reply.Message);
    }

    [Fact]
    public async Task Bad_input_is_INVALID_ARGUMENT_with_a_precise_percent_decoded_message()
    {
        var request = LennardJones.Request(LennardJones.WaterBox());
        request.Symbols[2] = "Å";
        var reply = await _client.CallAsync(Evaluate, RawGrpcClient.Frame(request));
        Assert.Equal("3", reply.Status);
        Assert.Equal("symbols[2] = 'Å' is not a species of the model (0 = O, 1 = H)", reply.Message);
    }

    [Fact]
    public async Task Truncated_and_missing_and_extra_messages_are_INTERNAL()
    {
        var box = Box();
        var truncated = await _client.CallAsync(Evaluate, box[..^10]);
        Assert.Equal("13", truncated.Status);
        Assert.Contains("request stream ended inside a message", truncated.Message);

        var none = await _client.CallAsync(Evaluate, []);
        Assert.Equal("13", none.Status);
        Assert.Contains("without a request message", none.Message);

        var two = await _client.CallAsync(Evaluate, [.. box, .. box]);
        Assert.Equal("13", two.Status);
        Assert.Contains("more than one request message", two.Message);
    }

    [Fact]
    public async Task Error_mid_stream_keeps_earlier_responses_and_names_the_request()
    {
        await using var call = _client.OpenStream(Stream);
        await call.SendAsync(LennardJones.Request(LennardJones.WaterBox(), id: 1));
        var bad = LennardJones.Request(LennardJones.WaterBox(), id: 2, step: 5);
        bad.PositionsAngstrom[0] = double.NaN;
        await call.SendAsync(bad);
        var reply = await call.FinishAsync();
        Assert.Single(reply.Messages);
        Assert.Equal("3", reply.Status);
        Assert.Equal("stream request 1 (id 2, step 5): positions_angstrom[0] (atom 0, x) is NaN", reply.Message);
    }

    [Fact]
    public async Task Deadline_while_waiting_for_a_request_is_DEADLINE_EXCEEDED()
    {
        await using var call = _client.OpenStream(Stream, ("grpc-timeout", "200m"));
        await call.SendAsync(LennardJones.Request(LennardJones.WaterBox()));
        Assert.NotNull(await call.ReadAsync());
        // ...and then the client sends nothing more.
        var reply = await call.FinishAsync();
        Assert.Equal("4", reply.Status);
        Assert.Contains("deadline exceeded (grpc-timeout 200m)", reply.Message);
    }

    [Fact]
    public async Task Deadline_passing_inside_a_handler_is_DEADLINE_EXCEEDED()
    {
        var reply = await _client.CallAsync("/test.Slow/Sleep", RawGrpcClient.Frame(new DescribeModelRequest()), "application/grpc", ("grpc-timeout", "50m"));
        Assert.Equal("4", reply.Status);
        Assert.Empty(reply.Messages);
    }

    [Fact]
    public async Task Malformed_timeout_is_INTERNAL()
    {
        var reply = await _client.CallAsync(Evaluate, Box(), "application/grpc", ("grpc-timeout", "soon"));
        Assert.Equal("13", reply.Status);
        Assert.Contains("malformed grpc-timeout 'soon'", reply.Message);
    }

    [Fact]
    public async Task Client_reset_mid_stream_leaves_the_server_serving_others()
    {
        var call = _client.OpenStream(Stream);
        await call.SendAsync(Box());
        Assert.NotNull(await call.ReadAsync());
        await call.SendAsync(Box()[..20]); // half a message, then the client vanishes
        call.Abort();
        await call.DisposeAsync();
        var reply = await _client.CallAsync(Evaluate, Box(2));
        Assert.Equal("0", reply.Status);
    }

    [Fact]
    public async Task Health_check_and_describe_model()
    {
        var health = await _client.CallAsync("/grpc.health.v1.Health/Check", RawGrpcClient.Frame(new HealthCheckRequest()));
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Single(HealthCheckResponse.Parser).Status);
        var named = await _client.CallAsync("/grpc.health.v1.Health/Check",
            RawGrpcClient.Frame(new HealthCheckRequest { Service = ForceFieldService.ServiceName }));
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, named.Single(HealthCheckResponse.Parser).Status);
        var unknown = await _client.CallAsync("/grpc.health.v1.Health/Check", RawGrpcClient.Frame(new HealthCheckRequest { Service = "nope" }));
        Assert.Equal("5", unknown.Status);

        var model = (await _client.CallAsync("/molecular_learning.v1.ForceField/DescribeModel",
            RawGrpcClient.Frame(new DescribeModelRequest()))).Single(ModelDescription.Parser);
        Assert.Equal(["O", "H"], model.Species.Select(s => s.Symbol));
        Assert.Equal(LennardJones.Cutoff, model.CutoffAngstrom);
        Assert.Equal(500u, model.MaxAtoms);
    }
}
