using System.Text;
using MolecularLearning.Core;
using MolecularLearning.Protocols.Ipi;

namespace MolecularLearning.Protocols.Tests.Ipi;

/// <summary>Our driver-side server against our own client and against fake (often broken) clients.</summary>
public class IpiServerForceFieldTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private static IpiServerOptions Options(List<string>? log = null, double requestSeconds = 5, double connectSeconds = 5) => new()
    {
        ConnectTimeout = TimeSpan.FromSeconds(connectSeconds),
        RequestTimeout = TimeSpan.FromSeconds(requestSeconds),
        InitString = "{\"from\": \"mld\"}",
        Log = m => { if (log is not null) lock (log) log.Add(m); },
    };

    private static Task ServeWithOurClient(IpiAddress address, Species[] species, CancellationToken ct = default)
        => new IpiClient().RunAsync(new GaussianPairForceField(), species, address,
            new IpiClientOptions { ConnectTimeout = TimeSpan.FromSeconds(5), Log = _ => { } }, ct);

    private static void AssertSame(ForceResult expected, ForceResult actual)
    {
        Assert.Equal(expected.Energy, actual.Energy, 1e-12 * Math.Abs(expected.Energy));
        for (int k = 0; k < expected.Forces.Length; k++) Assert.Equal(expected.Forces[k], actual.Forces[k], 1e-12);
        for (int k = 0; k < 9; k++) Assert.Equal(expected.Virial[k], actual.Virial[k], 1e-12);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task RoundTripThroughOurClientEqualsInProcess(bool tcp)
    {
        var (species, positions, cell) = Water.Triclinic();
        using var server = IpiServerForceField.Listen(tcp ? TestAddresses.Tcp() : TestAddresses.Unix(), Options());
        if (tcp) Assert.NotEqual(0, server.Address.Port);
        var client = ServeWithOurClient(server.Address, species);
        var result = new ForceResult();
        for (int step = 0; step < 5; step++)
        {
            var moved = positions.Select((x, i) => x + 0.02 * step * ((i * 7) % 3 - 1)).ToArray();
            // an isolated step in the middle: the zero cell travels and comes back as null
            var c = step == 2 ? null : cell;
            server.Compute(species, moved, c, result);
            AssertSame(new GaussianPairForceField().Compute(new Frame(species, moved, c)), result);
        }
        Assert.Equal(5, server.Requests);
        server.Dispose(); // sends EXIT: the client ends cleanly
        await client.WaitAsync(Wait);
        Assert.False(File.Exists(server.Address.SocketPath ?? "/nonexistent"));
    }

    [Fact]
    public void SteadyStateAllocatesNothing()
    {
        var (species, positions, cell) = Water.Triclinic();
        using var server = IpiServerForceField.Listen(TestAddresses.Unix(), Options());
        _ = ServeWithOurClient(server.Address, species);
        var result = new ForceResult(species.Length);
        for (int i = 0; i < 20; i++) server.Compute(species, positions, cell, result);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 200; i++) server.Compute(species, positions, cell, result);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    /// <summary>
    /// An ASE-style client (SocketClient in ASE 3.22): READY at first, NEEDINIT after every GETFORCE. It must be
    /// driven message by message with INIT each step; a pipelined POSDATA would reach it in the wrong state.
    /// </summary>
    [Fact]
    public async Task SendsInitWheneverTheClientNeedsIt()
    {
        var (species, positions, cell) = Water.Triclinic();
        using var server = IpiServerForceField.Listen(TestAddresses.Unix(), Options());
        const int steps = 4;
        var fake = Task.Run(() =>
        {
            using var c = FakePeer.Connect(server.Address);
            var inits = new List<string>();
            for (int step = 0; step < steps; step++)
            {
                Assert.Equal("STATUS", c.ReadHeader());
                if (step > 0)
                {
                    c.Header("NEEDINIT");
                    Assert.Equal("INIT", c.ReadHeader());
                    Assert.Equal(0, c.ReadInt());
                    inits.Add(Encoding.UTF8.GetString(c.ReadBytes(c.ReadInt())));
                    Assert.Equal("STATUS", c.ReadHeader());
                }
                c.Header("READY");
                Assert.Equal("POSDATA", c.ReadHeader());
                var h = c.ReadDoubles(9);
                var ih = c.ReadDoubles(9);
                int n = c.ReadInt();
                var q = c.ReadDoubles(3 * n);
                // i-PI's convention: columns of h are the lattice vectors, in Bohr; ih is its inverse
                for (int i = 0; i < 3; i++)
                    for (int j = 0; j < 3; j++)
                    {
                        Assert.Equal(cell.Matrix[3 * j + i] / Units.BohrInAngstrom, h[3 * i + j], 1e-12);
                        double identity = 0;
                        for (int k = 0; k < 3; k++) identity += h[3 * i + k] * ih[3 * k + j];
                        Assert.Equal(i == j ? 1 : 0, identity, 1e-12);
                    }
                Assert.Equal(positions[4] / Units.BohrInAngstrom, q[4], 1e-12);
                Assert.Equal("STATUS", c.ReadHeader());
                c.Header("HAVEDATA");
                Assert.Equal("GETFORCE", c.ReadHeader());
                c.Header("FORCEREADY");
                c.Double(-1.5);
                c.Int(n);
                c.Doubles(Enumerable.Range(0, 3 * n).Select(k => 0.001 * k));
                c.Doubles([1, 2, 3, 4, 5, 6, 7, 8, 9]);
                c.Int(0); // CP2K sends no extra string
            }
            return inits;
        });
        var result = new ForceResult();
        for (int step = 0; step < steps; step++)
        {
            server.Compute(species, positions, cell, result);
            Assert.Equal(-1.5 * Units.HartreeInEv, result.Energy, 1e-12);
            Assert.Equal(0.001 * 5 * Units.HartreePerBohrInEvPerAngstrom, result.Forces[5], 1e-12);
            Assert.Equal(2 * Units.HartreeInEv, result.Virial[3], 1e-12); // wire is transposed: W[1,0] = wire[0,1]
        }
        Assert.Equal(Enumerable.Repeat("{\"from\": \"mld\"}", steps - 1), await fake.WaitAsync(Wait));
        Assert.Equal(0, server.ClientsDropped);
    }

    /// <summary>Plays a well-behaved client up to the point where it misbehaves.</summary>
    private static void UpToForces(FakePeer c)
    {
        Assert.Equal("STATUS", c.ReadHeader());
        c.Header("READY");
        Assert.Equal("POSDATA", c.ReadHeader());
        c.ReadDoubles(18);
        int n = c.ReadInt();
        c.ReadDoubles(3 * n);
        Assert.Equal("STATUS", c.ReadHeader());
        c.Header("HAVEDATA");
        Assert.Equal("GETFORCE", c.ReadHeader());
    }

    public static TheoryData<string, Action<FakePeer>, string> Faults => new()
    {
        { "malformed header", c => { c.ReadHeader(); c.Raw([0x00, 0xFF, 0x13, 0x37, 0, 0, 0, 0, 0, 0, 0, 0]); }, "malformed header" },
        { "unknown message", c => { c.ReadHeader(); c.Header("BUSY"); }, "'BUSY" },
        { "HAVEDATA too early", c => { c.ReadHeader(); c.Header("HAVEDATA"); }, "READY was expected" },
        { "wrong natoms", c => { UpToForces(c); c.Header("FORCEREADY"); c.Double(0); c.Int(5); }, "carries 5 atoms, expected 6" },
        { "absurd natoms", c => { UpToForces(c); c.Header("FORCEREADY"); c.Double(0); c.Int(2_000_000_000); }, "carries 2000000000 atoms" },
        { "absurd extra", c => { UpToForces(c); c.Header("FORCEREADY"); c.Double(0); c.Int(6); c.Doubles(new double[27]); c.Int(int.MaxValue); }, "extra string" },
        { "NaN forces", c => { UpToForces(c); c.Header("FORCEREADY"); c.Double(0); c.Int(6); c.Doubles(new double[17].Append(double.NaN)); c.Doubles(new double[9]); c.Int(0); }, "NaN" },
        { "NaN energy", c => { UpToForces(c); c.Header("FORCEREADY"); c.Double(double.NaN); c.Int(6); c.Doubles(new double[27]); c.Int(0); }, "NaN" },
        { "truncated payload", c => { UpToForces(c); c.Header("FORCEREADY"); c.Double(0); c.Int(6); c.Doubles(new double[4]); c.Dispose(); }, "truncated payload" },
        { "vanishes mid-message", c => { UpToForces(c); c.Raw(Encoding.ASCII.GetBytes("FORCE")); c.Dispose(); }, "middle of a message" },
        { "vanishes between messages", c => { c.Dispose(); }, "connection lost" },
    };

    [Theory]
    [MemberData(nameof(Faults))]
    public async Task BadClientIsDroppedAndTheNextClientServes(string fault, Action<FakePeer> misbehave, string expected)
    {
        var (species, positions, cell) = Water.Triclinic();
        var log = new List<string>();
        using var server = IpiServerForceField.Listen(TestAddresses.Unix(), Options(log));
        var bad = Task.Run(() =>
        {
            using var c = FakePeer.Connect(server.Address);
            try { misbehave(c); }
            catch (System.Net.Sockets.SocketException) { } // the server may hang up first
            return c.SeesClose(); // the server closes a bad client's connection
        });
        // the good client connects only once the bad one has been dealt with
        var good = bad.ContinueWith(_ => ServeWithOurClient(server.Address, species)).Unwrap();
        var result = new ForceResult();
        server.Compute(species, positions, cell, result);
        AssertSame(new GaussianPairForceField().Compute(new Frame(species, positions, cell)), result);
        Assert.True(await bad.WaitAsync(Wait));
        Assert.Equal(1, server.ClientsDropped);
        Assert.Equal(2, server.ClientsAccepted);
        lock (log) Assert.Contains(log, m => m.Contains(expected) && m.Contains("client #1"));
        server.Dispose();
        await good.WaitAsync(Wait);
        _ = fault;
    }

    /// <summary>Answers one step as a CP2K-like client would: READY, then HAVEDATA, then FORCEREADY with zeros.</summary>
    private static void AnswerStep(FakePeer c, bool pipelined)
    {
        Assert.Equal("STATUS", c.ReadHeader());
        if (!pipelined) c.Header("READY");
        Assert.Equal("POSDATA", c.ReadHeader());
        c.ReadDoubles(18);
        int n = c.ReadInt();
        c.ReadDoubles(3 * n);
        Assert.Equal("STATUS", c.ReadHeader());
        // Pipelined: everything up to GETFORCE arrived before we said a word (one round trip per step).
        if (pipelined) Assert.Equal("GETFORCE", c.ReadHeader());
        if (pipelined) c.Header("READY");
        c.Header("HAVEDATA");
        if (!pipelined) Assert.Equal("GETFORCE", c.ReadHeader());
        c.Header("FORCEREADY");
        c.Double(0.5);
        c.Int(n);
        c.Doubles(new double[3 * n]);
        c.Doubles(new double[9]);
        c.Int(0);
    }

    [Fact]
    public async Task ClientThatStaysReadyGetsEachStepInOneWrite()
    {
        var (species, positions, cell) = Water.Triclinic();
        using var server = IpiServerForceField.Listen(TestAddresses.Unix(), Options());
        var fake = Task.Run(() =>
        {
            using var c = FakePeer.Connect(server.Address);
            AnswerStep(c, pipelined: false); // first step: message by message
            AnswerStep(c, pipelined: false); // READY again after a completed step...
            AnswerStep(c, pipelined: true);  // ...so from now on the whole step comes at once
            AnswerStep(c, pipelined: true);
        });
        var result = new ForceResult();
        for (int step = 0; step < 4; step++) server.Compute(species, positions, cell, result);
        await fake.WaitAsync(Wait);
        Assert.Equal(0.5 * Units.HartreeInEv, result.Energy, 1e-12);
    }

    [Fact]
    public async Task PipelinedClientThatSuddenlyWantsInitIsDropped()
    {
        var (species, positions, cell) = Water.Triclinic();
        var log = new List<string>();
        using var server = IpiServerForceField.Listen(TestAddresses.Unix(), Options(log));
        var fickle = Task.Run(() =>
        {
            using var c = FakePeer.Connect(server.Address);
            AnswerStep(c, pipelined: false);
            AnswerStep(c, pipelined: false);
            Assert.Equal("STATUS", c.ReadHeader());
            c.Header("NEEDINIT"); // POSDATA is already on its way: the stream cannot be trusted any more
            return c.SeesClose();
        });
        var good = fickle.ContinueWith(_ => ServeWithOurClient(server.Address, species)).Unwrap();
        var result = new ForceResult();
        for (int step = 0; step < 3; step++) server.Compute(species, positions, cell, result);
        AssertSame(new GaussianPairForceField().Compute(new Frame(species, positions, cell)), result);
        Assert.True(await fickle.WaitAsync(Wait));
        Assert.Equal(1, server.ClientsDropped);
        lock (log) Assert.Contains(log, m => m.Contains("NEEDINIT where READY was expected"));
        server.Dispose();
        await good.WaitAsync(Wait);
    }

    [Fact]
    public void NoClientEndsWithAConnectTimeout()
    {
        var (species, positions, cell) = Water.Triclinic();
        using var server = IpiServerForceField.Listen(TestAddresses.Unix(), Options(connectSeconds: 0.3));
        var e = Assert.Throws<IpiTimeoutException>(() => server.Compute(species, positions, cell, new ForceResult()));
        Assert.Equal(IpiTimeoutKind.Connect, e.Kind);
        Assert.Contains("no i-PI client connected", e.Message);
    }

    [Fact]
    public async Task StalledClientEndsWithARequestTimeout()
    {
        var (species, positions, cell) = Water.Triclinic();
        using var server = IpiServerForceField.Listen(TestAddresses.Unix(), Options(requestSeconds: 0.4));
        using var stalled = new ManualResetEventSlim();
        var fake = Task.Run(() =>
        {
            using var c = FakePeer.Connect(server.Address);
            Assert.Equal("STATUS", c.ReadHeader());
            c.Header("READY");
            stalled.Wait(Wait); // computes forever, connection open
        });
        var e = Assert.Throws<IpiTimeoutException>(() => server.Compute(species, positions, cell, new ForceResult()));
        stalled.Set();
        Assert.Equal(IpiTimeoutKind.Request, e.Kind);
        Assert.Contains("request timeout", e.Message);
        Assert.False(server.HasClient);
        await fake.WaitAsync(Wait);
    }

    [Fact]
    public async Task SlowButTimelyClientIsNotCutOff()
    {
        // the per-receive socket timeout may fire before the request deadline; that must not end the request
        var (species, positions, cell) = Water.Triclinic();
        using var server = IpiServerForceField.Listen(TestAddresses.Unix(), Options(requestSeconds: 2));
        var fake = Task.Run(() =>
        {
            using var c = FakePeer.Connect(server.Address);
            for (int step = 0; step < 3; step++)
            {
                UpToForces(c);
                Thread.Sleep(300);
                c.Header("FORCEREADY");
                c.Double(0.25);
                c.Int(6);
                c.Doubles(new double[27]);
                c.Int(0);
            }
        });
        var result = new ForceResult();
        for (int step = 0; step < 3; step++) server.Compute(species, positions, cell, result);
        Assert.Equal(0.25 * Units.HartreeInEv, result.Energy, 1e-12);
        await fake.WaitAsync(Wait);
    }

    [Fact]
    public void LeftoverSocketFileIsReplacedButALiveServerOrARealFileIsNot()
    {
        var address = TestAddresses.Unix();
        // a dead server leaves its socket file behind (an empty file nobody listens on)
        File.WriteAllBytes(address.SocketPath!, []);
        using (var server = IpiServerForceField.Listen(address, Options()))
        {
            var e = Assert.Throws<DataException>(() => IpiServerForceField.Listen(address, Options()));
            Assert.Contains("already listening", e.Message);
        }
        Assert.False(File.Exists(address.SocketPath));
        File.WriteAllText(address.SocketPath!, "precious data");
        try
        {
            var e = Assert.Throws<DataException>(() => IpiServerForceField.Listen(address, Options()));
            Assert.Contains("not a socket", e.Message);
        }
        finally { File.Delete(address.SocketPath!); }
    }
}
