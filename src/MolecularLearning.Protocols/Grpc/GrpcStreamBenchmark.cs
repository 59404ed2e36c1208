using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MolecularLearning.Core;
using MolecularLearning.Protocols.Grpc.V1;

namespace MolecularLearning.Protocols.Grpc;

/// <summary>
/// What EvaluateStream costs per step beyond the force evaluation itself, measured with a force field that
/// costs nothing: (1) the server's own work per step (parse the request, check it, hand it to the force field,
/// serialise the response) and (2) a whole lock-step round trip over loopback h2c through Kestrel with an
/// HttpClient duplex stream (send step k, wait for its response, send step k + 1, as an MD driver does).
/// For the perf helper's `mld bench` and for README figures.
/// </summary>
public static class GrpcStreamBenchmark
{
    /// <param name="ServerMicroseconds">Server-side work per step (µs), no network.</param>
    /// <param name="RoundTripMicrosecondsMedian">Median lock-step round trip over loopback (µs), client included.</param>
    /// <param name="RoundTripMicrosecondsP99">99th percentile of the round trip (µs).</param>
    public sealed record Result(int Atoms, int Steps, double ServerMicroseconds, double RoundTripMicrosecondsMedian,
        double RoundTripMicrosecondsP99, double RoundTripMicrosecondsMean);

    /// <summary>A water-like box of <paramref name="atoms"/> atoms (O H H repeated) in a cubic cell, as one request.</summary>
    public static EvaluateRequest WaterLikeRequest(int atoms)
    {
        var random = new Random(12345);
        double edge = Math.Cbrt(atoms / 0.1); // ~0.1 atoms/Å³, liquid water
        var request = new EvaluateRequest { CellAngstrom = { edge, 0, 0, 0, edge, 0, 0, 0, edge } };
        for (int i = 0; i < atoms; i++)
        {
            request.Symbols.Add(i % 3 == 0 ? "O" : "H");
            for (int k = 0; k < 3; k++) request.PositionsAngstrom.Add(edge * random.NextDouble());
        }
        return request;
    }

    public static async Task<Result> RunAsync(int atoms = 96, int steps = 20_000, CancellationToken cancellationToken = default)
    {
        var model = new ServedModel([Elements.O, Elements.H], () => new ZeroCostForceField(), new ModelDescription { Name = "zero-cost" });
        double server = ServerSide(model, atoms, steps);
        var (median, p99, mean) = await RoundTripAsync(model, atoms, steps, cancellationToken);
        return new Result(atoms, steps, server, median, p99, mean);
    }

    /// <summary>The server's per-step path without the network, through the same calls EvaluateStream makes.</summary>
    private static double ServerSide(ServedModel model, int atoms, int steps)
    {
        var service = new ForceFieldService(model);
        var first = WaterLikeRequest(atoms);
        var later = first.Clone();
        later.Symbols.Clear(); // species only in the first request of a stream, as a driver would
        var requestBytes = new ReadOnlySequence<byte>(later.ToByteArray());
        var evaluator = service.NewEvaluator();
        var response = new EvaluateResponse();
        var output = new ArrayBufferWriter<byte>(16 * atoms * 3 + 256);
        evaluator.Evaluate(first, response, keepSpecies: true);
        MicrosecondsPerStep(); // warm-up
        return MicrosecondsPerStep();

        double MicrosecondsPerStep()
        {
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < steps; i++)
            {
                var request = EvaluateRequest.Parser.ParseFrom(requestBytes);
                evaluator.Evaluate(request, response, keepSpecies: true);
                output.ResetWrittenCount();
                GrpcEndpoint.WriteFrame(output, response);
            }
            return clock.Elapsed.TotalMicroseconds / steps;
        }
    }

    private static async Task<(double Median, double P99, double Mean)> RoundTripAsync(ServedModel model, int atoms, int steps, CancellationToken ct)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => GrpcEndpoint.Listen(k, "127.0.0.1:0"));
        await using var app = builder.Build();
        var endpoint = new GrpcEndpoint();
        new ForceFieldService(model).MapTo(endpoint);
        app.Run(endpoint.HandleAsync);
        await app.StartAsync(ct);
        try
        {
            var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
            using var http = new HttpClient(new SocketsHttpHandler());
            var body = new Pipe();
            var request = new HttpRequestMessage(HttpMethod.Post, new Uri(address, $"/{ForceFieldService.ServiceName}/EvaluateStream"))
            {
                Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact,
                Content = new PipeContent(body.Reader),
            };
            request.Content.Headers.ContentType = new(GrpcEndpoint.ContentType);
            var first = WaterLikeRequest(atoms);
            var later = first.Clone();
            later.Symbols.Clear();
            var firstFrame = Frame(first);
            var laterFrame = Frame(later);

            await body.Writer.WriteAsync(firstFrame, ct);
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            await using var responses = await response.Content.ReadAsStreamAsync(ct);
            var buffer = new byte[64 * 1024];
            await ReadOneAsync(responses, buffer, ct);

            int warmup = Math.Min(2000, steps / 5);
            var times = new double[steps];
            for (int i = -warmup; i < steps; i++)
            {
                long start = Stopwatch.GetTimestamp();
                await body.Writer.WriteAsync(laterFrame, ct);
                try
                {
                    await ReadOneAsync(responses, buffer, ct);
                }
                catch (EndOfStreamException)
                {
                    var status = response.TrailingHeaders.TryGetValues("grpc-message", out var m) ? string.Join(' ', m) : "no status";
                    throw new InvalidOperationException($"the benchmark stream ended at step {i}: {status}");
                }
                if (i >= 0) times[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            }
            await body.Writer.CompleteAsync();
            Array.Sort(times);
            return (times[steps / 2], times[Math.Min(steps - 1, (int)(0.99 * steps))], times.Average());
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
        }
    }

    private static byte[] Frame(IMessage message)
    {
        var writer = new ArrayBufferWriter<byte>();
        GrpcEndpoint.WriteFrame(writer, message);
        return writer.WrittenSpan.ToArray();
    }

    private static async Task ReadOneAsync(Stream responses, byte[] buffer, CancellationToken ct)
    {
        await responses.ReadExactlyAsync(buffer.AsMemory(0, 5), ct);
        int length = (int)BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(1));
        await responses.ReadExactlyAsync(buffer.AsMemory(0, length), ct);
    }

    /// <summary>A request body fed from a pipe, flushed as it comes, so each step leaves at once.</summary>
    private sealed class PipeContent(PipeReader reader) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            while (true)
            {
                var result = await reader.ReadAsync();
                foreach (var segment in result.Buffer) await stream.WriteAsync(segment);
                await stream.FlushAsync();
                reader.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted) return;
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
