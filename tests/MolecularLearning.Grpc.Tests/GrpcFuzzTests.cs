using Grpc.Core;
using Grpc.Health.V1;
using MolecularLearning.Core;
using MolecularLearning.Protocols.Grpc.V1;
using Xunit.Abstractions;

namespace MolecularLearning.Grpc.Tests;

/// <summary>
/// Seeded fuzzing of the gRPC interface (fixed seed, bounded count): malformed requests, unary and in streams,
/// and raw bytes that are not a message. For every case: no crash (the server still answers correctly after),
/// no hang (every call has a deadline, and none is reached), no non-finite number answered with OK.
/// </summary>
public sealed class GrpcFuzzTests(ITestOutputHelper output)
{
    private const int Seed = 20261204;
    private const int UnaryCases = 300;
    private const int StreamCases = 40;
    private const int RawCases = 40;

    private static readonly double[] Specials = [double.NaN, double.PositiveInfinity, double.NegativeInfinity, 1e300, -1e20, 1e6 + 1, 0, -0.0, 1e-300];

    [Fact]
    public async Task Malformed_requests_never_crash_hang_or_answer_NaN_as_OK()
    {
        var random = new Random(Seed);
        await using var server = await TestServer.StartAsync(settings: ("Grpc:MaxAtoms", "400"));
        var counts = new Dictionary<string, int>();
        void Count(string key) => counts[key] = counts.GetValueOrDefault(key) + 1;

        for (int k = 0; k < UnaryCases; k++)
        {
            var request = Mutate(random, k);
            try
            {
                var response = await server.Client.EvaluateAsync(request, deadline: DateTime.UtcNow.AddSeconds(20));
                AssertFiniteAnswer(request, response, $"unary case {k}");
                Count("unary OK");
            }
            catch (RpcException e)
            {
                Assert.True(e.StatusCode is StatusCode.InvalidArgument or StatusCode.ResourceExhausted,
                    $"unary case {k}: {e.StatusCode} {e.Status.Detail}");
                Assert.DoesNotContain("Exception", e.Status.Detail);
                Count($"unary {e.StatusCode}");
            }
        }

        for (int k = 0; k < StreamCases; k++)
        {
            using var call = server.Client.EvaluateStream(deadline: DateTime.UtcNow.AddSeconds(30));
            try
            {
                for (int s = 0; s < 5; s++)
                {
                    var request = s == 0 || random.Next(3) > 0 ? Mutate(random, k * 5 + s) : new EvaluateRequest { PositionsAngstrom = { LennardJones.WaterBox().Positions } };
                    await call.RequestStream.WriteAsync(request);
                    Assert.True(await call.ResponseStream.MoveNext());
                    AssertFiniteAnswer(request, call.ResponseStream.Current, $"stream case {k} step {s}");
                    Count("stream step OK");
                }
                await call.RequestStream.CompleteAsync();
                Assert.False(await call.ResponseStream.MoveNext());
            }
            catch (RpcException e)
            {
                // A write after the server has ended the call fails as CANCELLED; the server's status is in the reply.
                var status = e.StatusCode == StatusCode.Cancelled ? await ServerStatus(call) : e.Status;
                Assert.True(status.StatusCode is StatusCode.InvalidArgument or StatusCode.ResourceExhausted,
                    $"stream case {k}: {status.StatusCode} {status.Detail}");
                Count($"stream {status.StatusCode}");
            }
        }

        // Bytes that are not an EvaluateRequest (or are one by accident): refused or answered, never a crash.
        var raw = new Method<byte[], byte[]>(MethodType.Unary, "molecular_learning.v1.ForceField", "Evaluate",
            Marshallers.Create(b => b, b => b), Marshallers.Create(b => b, b => b));
        for (int k = 0; k < RawCases; k++)
        {
            var bytes = new byte[random.Next(0, 400)];
            random.NextBytes(bytes);
            try
            {
                var answer = await server.Channel.CreateCallInvoker().AsyncUnaryCall(raw, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(20)), bytes);
                var response = EvaluateResponse.Parser.ParseFrom(answer);
                Assert.True(double.IsFinite(response.EnergyEv) && response.ForcesEvPerAngstrom.All(double.IsFinite), $"raw case {k}: non-finite OK");
                Count("raw OK");
            }
            catch (RpcException e)
            {
                // Bytes that do not parse fail in Grpc.AspNetCore before any interceptor runs: UNKNOWN, with its generic text.
                Assert.True(e.StatusCode is StatusCode.InvalidArgument or StatusCode.ResourceExhausted or StatusCode.Unknown,
                    $"raw case {k}: {e.StatusCode} {e.Status.Detail}");
                Count($"raw {e.StatusCode}");
            }
        }

        foreach (var (key, n) in counts.OrderBy(kv => kv.Key)) output.WriteLine($"{key}: {n}");
        // Still healthy and still right.
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, server.Health.Check(new HealthCheckRequest(), deadline: TestServer.Soon).Status);
        var frame = LennardJones.WaterBox();
        var want = new ForceResult();
        new LennardJones().Compute(frame.Species, frame.Positions, frame.Cell, want);
        Assert.Equal(want.Energy, server.Client.Evaluate(LennardJones.Request(frame), deadline: TestServer.Soon).EnergyEv);
    }

    private static async Task<Status> ServerStatus(AsyncDuplexStreamingCall<EvaluateRequest, EvaluateResponse> call)
    {
        try
        {
            while (await call.ResponseStream.MoveNext()) { }
            return call.GetStatus();
        }
        catch (RpcException e) { return e.Status; }
    }

    private static void AssertFiniteAnswer(EvaluateRequest request, EvaluateResponse response, string where)
    {
        Assert.True(double.IsFinite(response.EnergyEv), $"{where}: OK with energy {response.EnergyEv}");
        Assert.True(response.ForcesEvPerAngstrom.All(double.IsFinite), $"{where}: OK with a non-finite force");
        Assert.True(response.VirialEv.All(double.IsFinite), $"{where}: OK with a non-finite virial");
        Assert.Equal(request.PositionsAngstrom.Count, response.ForcesEvPerAngstrom.Count);
    }

    /// <summary>A water box request with one random kind of damage (or none).</summary>
    private static EvaluateRequest Mutate(Random random, int k)
    {
        var frame = LennardJones.WaterBox(1 + k % 7, k);
        var r = LennardJones.Request(frame, (ulong)k, k);
        int atoms = frame.Species.Length;
        switch (random.Next(11))
        {
            case 0: break;
            case 1: r.PositionsAngstrom[random.Next(3 * atoms)] = Specials[random.Next(Specials.Length)]; break;
            case 2: // one atom onto another, possibly through a periodic image
            {
                int i = random.Next(atoms), j = (i + 1 + random.Next(atoms - 1)) % atoms;
                double[] shift = [10 * random.Next(-2, 3), 10 * random.Next(-2, 3), 8 * random.Next(-2, 3)];
                for (int c = 0; c < 3; c++) r.PositionsAngstrom[3 * j + c] = r.PositionsAngstrom[3 * i + c] + shift[c];
                break;
            }
            case 3:
                for (int c = 0; c < 9; c++)
                    if (random.Next(3) == 0) r.CellAngstrom[c] = random.Next(2) == 0 ? Specials[random.Next(Specials.Length)] : 20 * random.NextDouble() - 5;
                break;
            case 4: r.CellAngstrom.Clear(); r.CellAngstrom.Add(Enumerable.Repeat(0.37, random.Next(1, 12))); break;
            case 5: // cut positions short
                var kept = r.PositionsAngstrom.Take(random.Next(0, 3 * atoms)).ToArray();
                r.PositionsAngstrom.Clear(); r.PositionsAngstrom.Add(kept);
                break;
            case 6: r.Symbols[random.Next(atoms)] = random.Next(2) == 0 ? "Xe" : ""; break;
            case 7: r.Symbols.RemoveAt(random.Next(atoms)); break;
            case 8: r.SpeciesIndex.Add(Enumerable.Range(0, atoms).Select(_ => (uint)random.Next(4))); if (random.Next(2) == 0) r.Symbols.Clear(); break;
            case 9: // squeezed: very dense, finite but huge forces, or an overflow
                double scale = Math.Pow(10, -random.Next(1, 8));
                for (int i = 0; i < r.PositionsAngstrom.Count; i++) r.PositionsAngstrom[i] *= scale;
                r.CellAngstrom.Clear();
                break;
            default: // many atoms: over the limit or the message size
                int copies = random.Next(2, 40);
                var positions = r.PositionsAngstrom.ToArray();
                var symbols = r.Symbols.ToArray();
                for (int c = 1; c < copies; c++)
                {
                    r.PositionsAngstrom.Add(positions.Select((x, i) => x + 30 * c * (i % 3 == 0 ? 1 : 0)));
                    r.Symbols.Add(symbols);
                }
                r.CellAngstrom.Clear();
                break;
        }
        return r;
    }
}
