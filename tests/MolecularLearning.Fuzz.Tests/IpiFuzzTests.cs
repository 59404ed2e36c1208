using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using MolecularLearning.Core;
using MolecularLearning.Protocols.Ipi;
using Xunit.Abstractions;

namespace MolecularLearning.Fuzz.Tests;

/// <summary>
/// Misbehaving i-PI servers (a fake one, scripted from a seed) against the real <see cref="IpiClient"/> with the
/// real learned evaluator: every session must end within a few seconds, cleanly after a well-formed exchange or
/// with an IpiProtocolException/IpiTimeoutException (DataExceptions) after a fault, never with NaN sent as forces.
/// </summary>
public sealed class IpiFuzzTests(ITestOutputHelper output)
{
    private const int Seed = 4242;
    private static readonly Species[] Template = ModelFileFuzzTests.Water().Species;

    private enum Fault
    {
        None, Silence, SilenceMidPosData, CloseMidPosData, GarbageHeader, UnknownMessage, AtomCount, NaNPositions, NaNCell,
        TinyCell, HugeCoordinates, InitLength, Batching, GetForceFirst, PosDataTwice, PartialHeader, Overlap,
    }

    [Fact]
    public async Task MisbehavingServersEndTheClientCleanly()
    {
        var tally = new FuzzTally("i-PI client");
        var rng = new Random(Seed);
        var model = ModelFileFuzzTests.Model(order: 1);
        var water = ModelFileFuzzTests.Water();
        var faults = Enum.GetValues<Fault>();
        for (int c = 0; c < 36; c++)
        {
            var fault = c < faults.Length ? faults[c] : faults[rng.Next(faults.Length)];
            int goodSteps = rng.Next(3);
            int seed = rng.Next();
            await tally.Run($"case {c} ({fault} after {goodSteps} steps)", TimeSpan.FromSeconds(8),
                ct => Session(model.CreateForceField(), water, fault, goodSteps, new Random(seed)));
        }
        // No server at all: the connect timeout ends it.
        await tally.Run("no server", TimeSpan.FromSeconds(8), _ =>
        {
            var address = IpiAddress.Parse("/tmp/mld-fuzz-none-" + Guid.NewGuid().ToString("N")[..8]);
            var options = new IpiClientOptions { ConnectTimeout = TimeSpan.FromMilliseconds(600), Log = _ => { } };
            new IpiClient().RunAsync(model.CreateForceField(), Template, address, options, CancellationToken.None).GetAwaiter().GetResult();
            return Outcome.SilentWrong;
        });
        FuzzTally.Report(output, tally);
    }

    private static Outcome Session(IForceField forceField, Frame water, Fault fault, int goodSteps, Random rng)
    {
        var path = Path.Combine(Path.GetTempPath(), "mld-fuzz-" + Guid.NewGuid().ToString("N")[..10]);
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        try
        {
            var options = new IpiClientOptions
            {
                ConnectTimeout = TimeSpan.FromSeconds(3), RequestTimeout = TimeSpan.FromMilliseconds(500),
                MessageTimeout = TimeSpan.FromMilliseconds(500), Log = _ => { },
            };
            var client = new IpiClient().RunAsync(forceField, Template, IpiAddress.Parse(path), options, CancellationToken.None);
            using var server = listener.Accept();
            server.ReceiveTimeout = 5000;
            server.SendTimeout = 5000;
            bool nanAnswered = false;
            try { nanAnswered = Script(server, water, fault, goodSteps, rng); }
            catch (SocketException) { } // the client hung up on a fault: expected
            if (fault is Fault.None or Fault.Overlap)
            {
                client.GetAwaiter().GetResult(); // EXIT: ends cleanly (or Overlap refused: a DataException)
                return nanAnswered ? Outcome.SilentWrong : Outcome.Accepted;
            }
            client.GetAwaiter().GetResult(); // a fault must throw (DataException) ...
            return Outcome.SilentWrong; // ... not end as a success
        }
        finally { File.Delete(path); }
    }

    /// <summary>Plays the server; returns true when the client sent a non-finite number as a result.</summary>
    private static bool Script(Socket s, Frame water, Fault fault, int goodSteps, Random rng)
    {
        bool nan = false;
        Send(s, Header("STATUS")); Receive(s, 12);
        Send(s, Header("INIT"), Int(0), Int(2), "{}"u8.ToArray());
        for (int step = 0; step < goodSteps; step++)
        {
            Send(s, Header("STATUS")); Receive(s, 12);
            Send(s, PosData(water.Cell!.Matrix.ToArray(), water.Positions, water.AtomCount));
            Send(s, Header("STATUS")); Receive(s, 12);
            Send(s, Header("GETFORCE"));
            var reply = Receive(s, 12 + 8 + 4 + 24 * water.AtomCount + 72 + 4);
            for (int k = 12; k + 8 <= reply.Length - 4; k += 8)
                if (k != 20 && !double.IsFinite(BinaryPrimitives.ReadDoubleLittleEndian(reply.AsSpan(k)))) nan = true;
        }
        var pos = (double[])water.Positions.Clone();
        var cell = water.Cell!.Matrix.ToArray();
        switch (fault)
        {
            case Fault.None: Send(s, Header("EXIT")); Thread.Sleep(50); break;
            case Fault.Silence: Thread.Sleep(1500); break;
            case Fault.SilenceMidPosData:
            {
                var msg = PosData(cell, pos, water.AtomCount);
                Send(s, msg[..rng.Next(1, msg.Length)]);
                Thread.Sleep(1500);
                break;
            }
            case Fault.CloseMidPosData:
            {
                var msg = PosData(cell, pos, water.AtomCount);
                Send(s, msg[..rng.Next(1, msg.Length)]);
                s.Shutdown(SocketShutdown.Both);
                break;
            }
            case Fault.PartialHeader: Send(s, Encoding.ASCII.GetBytes("POSD")); Thread.Sleep(1500); break;
            case Fault.GarbageHeader:
            {
                var b = new byte[12]; rng.NextBytes(b); Send(s, b); Thread.Sleep(200);
                break;
            }
            case Fault.UnknownMessage: Send(s, Header("FORCEREADY")); Thread.Sleep(200); break;
            case Fault.AtomCount:
            {
                int[] counts = [-1, 0, water.AtomCount + 1, 2 * water.AtomCount, int.MaxValue, int.MinValue];
                Send(s, PosData(cell, pos, counts[rng.Next(counts.Length)]));
                Thread.Sleep(200);
                break;
            }
            case Fault.NaNPositions:
                pos[3 * rng.Next(water.AtomCount) + rng.Next(3)] = rng.Next(2) == 0 ? double.NaN : double.PositiveInfinity;
                Send(s, PosData(cell, pos, water.AtomCount)); Thread.Sleep(200);
                break;
            case Fault.NaNCell:
                cell[rng.Next(9)] = double.NaN;
                Send(s, PosData(cell, pos, water.AtomCount)); Thread.Sleep(200);
                break;
            case Fault.TinyCell:
                Send(s, PosData([0.37, 0, 0, 0, 0.37, 0, 0, 0, 0.37], pos, water.AtomCount)); Thread.Sleep(500);
                break;
            case Fault.HugeCoordinates:
                pos[3 * rng.Next(water.AtomCount)] = rng.Next(2) == 0 ? 1e20 : 1e300;
                Send(s, PosData(cell, pos, water.AtomCount)); Thread.Sleep(200);
                break;
            case Fault.Overlap:
            {
                // Two atoms on the same spot: refused, or answered with finite forces (the walls), never NaN.
                for (int k = 0; k < 3; k++) pos[3 + k] = pos[k];
                Send(s, PosData(cell, pos, water.AtomCount));
                Send(s, Header("STATUS"));
                if (Encoding.ASCII.GetString(Receive(s, 12)).Trim() != "HAVEDATA") break;
                Send(s, Header("GETFORCE"));
                var reply = Receive(s, 12 + 8 + 4 + 24 * water.AtomCount + 72 + 4);
                for (int k = 12; k + 8 <= reply.Length - 4; k += 8)
                    if (k != 20 && !double.IsFinite(BinaryPrimitives.ReadDoubleLittleEndian(reply.AsSpan(k)))) nan = true;
                Send(s, Header("EXIT"));
                Thread.Sleep(50);
                break;
            }
            case Fault.InitLength:
                Send(s, Header("INIT"), Int(0), Int(rng.Next(2) == 0 ? -5 : int.MaxValue)); Thread.Sleep(200);
                break;
            case Fault.Batching:
                Send(s, Header("INIT"), Int(0), Int(15), "{batch_size: 4}"u8.ToArray()); Thread.Sleep(200);
                break;
            case Fault.GetForceFirst: Send(s, Header("GETFORCE")); Thread.Sleep(200); break;
            case Fault.PosDataTwice:
                Send(s, PosData(cell, pos, water.AtomCount)); Send(s, PosData(cell, pos, water.AtomCount)); Thread.Sleep(200);
                break;
        }
        return nan;
    }

    private static byte[] Header(string word) => Encoding.ASCII.GetBytes(word.PadRight(12));
    private static byte[] Int(int v) { var b = new byte[4]; BinaryPrimitives.WriteInt32LittleEndian(b, v); return b; }

    /// <summary>POSDATA in atomic units, i-PI's column convention (the transpose of our rows).</summary>
    private static byte[] PosData(double[] rows, double[] positions, int count)
    {
        var ms = new MemoryStream();
        ms.Write(Header("POSDATA"));
        void D(double v) { var b = new byte[8]; BinaryPrimitives.WriteDoubleLittleEndian(b, v); ms.Write(b); }
        for (int i = 0; i < 3; i++) for (int j = 0; j < 3; j++) D(rows[3 * j + i] / Units.BohrInAngstrom);
        for (int i = 0; i < 9; i++) D(0); // h⁻¹ (ignored by the client)
        ms.Write(Int(count));
        foreach (var p in positions) D(p / Units.BohrInAngstrom);
        return ms.ToArray();
    }

    private static void Send(Socket s, params byte[][] parts)
    {
        foreach (var p in parts) s.Send(p);
    }

    private static byte[] Receive(Socket s, int bytes)
    {
        var buffer = new byte[bytes];
        int got = 0;
        while (got < bytes)
        {
            int n = s.Receive(buffer, got, bytes - got, SocketFlags.None);
            if (n == 0) throw new SocketException((int)SocketError.ConnectionReset);
            got += n;
        }
        return buffer;
    }
}
