using System.Text;
using MolecularLearning.Core;
using MolecularLearning.Protocols.Ipi;

namespace MolecularLearning.Protocols.Tests.Ipi;

/// <summary>A fake i-PI server (raw bytes over a real socket) drives our <see cref="IpiClient"/>.</summary>
public class IpiClientTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private static IpiClientOptions Options(List<string>? log = null, string extra = "") => new()
    {
        Extra = extra,
        ConnectTimeout = TimeSpan.FromSeconds(5),
        MessageTimeout = TimeSpan.FromSeconds(5),
        Log = m => { lock (log ?? []) log?.Add(m); },
    };

    /// <summary>i-PI's h: columns are the lattice vectors, flattened row by row, in Bohr.</summary>
    private static double[] WireCell(Cell cell)
    {
        var h = new double[9];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                h[3 * i + j] = cell.Matrix[3 * j + i] / Units.BohrInAngstrom;
        return h;
    }

    private static void SendPositions(FakePeer server, double[] h, double[] positionsAngstrom)
    {
        server.Header("POSDATA");
        server.Doubles(h);
        server.Doubles(new double[9]); // h⁻¹: legacy, ignored by the client
        server.Int(positionsAngstrom.Length / 3);
        server.Doubles(positionsAngstrom.Select(x => x / Units.BohrInAngstrom));
    }

    private static (double Energy, double[] Forces, double[] Virial, string Extra) GetForce(FakePeer server, int atoms)
    {
        server.Header("GETFORCE");
        Assert.Equal("FORCEREADY", server.ReadHeader());
        double e = server.ReadDouble();
        Assert.Equal(atoms, server.ReadInt());
        var f = server.ReadDoubles(3 * atoms);
        var w = server.ReadDoubles(9);
        var extra = Encoding.UTF8.GetString(server.ReadBytes(server.ReadInt()));
        return (e, f, w, extra);
    }

    private static string Status(FakePeer server)
    {
        server.Header("STATUS");
        return server.ReadHeader();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ServesTriclinicForcesInAtomicUnits(bool tcp)
    {
        var (species, positions, cell) = Water.Triclinic();
        var ff = new GaussianPairForceField();
        using var fake = FakeServer.Listen(tcp);
        var client = new IpiClient();
        var run = client.RunAsync(ff, species, fake.Address, Options(extra: "{\"model\": \"test\"}"), CancellationToken.None);
        using var server = fake.Accept();

        Assert.Equal("NEEDINIT", Status(server));
        server.Header("INIT");
        server.Int(3);
        var init = Encoding.ASCII.GetBytes(" cutoff : 6 , ");
        server.Int(init.Length);
        server.Raw(init);
        Assert.Equal("READY", Status(server));

        for (int step = 0; step < 3; step++)
        {
            var moved = positions.Select((x, i) => x + 0.01 * step * (i % 5)).ToArray();
            SendPositions(server, WireCell(cell), moved);
            Assert.Equal("HAVEDATA", Status(server));
            var (e, f, w, extra) = GetForce(server, species.Length);
            Assert.Equal("READY", Status(server));
            Assert.Equal("{\"model\": \"test\"}", extra);

            var expected = new GaussianPairForceField().Compute(new Frame(species, moved, cell));
            Assert.Equal(expected.Energy, e * Units.HartreeInEv, 1e-12 * Math.Abs(expected.Energy));
            for (int k = 0; k < f.Length; k++)
                Assert.Equal(expected.Forces[k], f[k] * Units.HartreePerBohrInEvPerAngstrom, 1e-12);
            // the virial travels transposed (i-PI's column convention)
            for (int a = 0; a < 3; a++)
                for (int b = 0; b < 3; b++)
                    Assert.Equal(expected.Virial[3 * a + b], w[3 * b + a] * Units.HartreeInEv, 1e-12);
        }
        // the force field saw the cell as rows a, b, c in Å and the template's species in order
        for (int k = 0; k < 9; k++) Assert.Equal(cell.Matrix[k], ff.LastCell!.Matrix[k], 1e-12);
        Assert.Equal(species, ff.LastSpecies);

        server.Header("EXIT");
        await run.WaitAsync(Wait);
        Assert.Equal(3, client.StepsServed);
        Assert.Equal(3, client.BeadIndex);
        Assert.Equal(" cutoff : 6 , ", client.InitString);
    }

    [Fact]
    public async Task ZeroCellMeansIsolatedAndServerCloseEndsCleanly()
    {
        var (species, positions, _) = Water.Triclinic();
        var ff = new GaussianPairForceField();
        using var fake = FakeServer.Listen(tcp: false);
        var run = new IpiClient().RunAsync(ff, species, fake.Address, Options(), CancellationToken.None);
        using (var server = fake.Accept())
        {
            // a server that never sends INIT (CP2K-like) is served too
            SendPositions(server, new double[9], positions);
            Assert.Equal("HAVEDATA", Status(server));
            var (e, _, _, extra) = GetForce(server, species.Length);
            Assert.Equal("", extra); // the default: ASE 3.22 cannot take more than one byte
            Assert.Null(ff.LastCell);
            Assert.Equal(new GaussianPairForceField().Compute(new Frame(species, positions, null)).Energy, e * Units.HartreeInEv, 1e-12);
        }
        await run.WaitAsync(Wait); // closed between messages, like ASE's SocketIOCalculator: not an error
    }

    [Fact]
    public async Task AnIsolatedTemplateIgnoresTheBoxTheServerSends()
    {
        // ASE's SocketIOCalculator sends the box of a pbc=False Atoms as the cell; i-PI has no flag to say it is not periodic.
        var (species, positions, cell) = Water.Triclinic();
        var ff = new GaussianPairForceField();
        var log = new List<string>();
        using var fake = FakeServer.Listen(tcp: false);
        var options = Options(log);
        var run = new IpiClient().RunAsync(ff, species, fake.Address, new IpiClientOptions
        {
            ConnectTimeout = options.ConnectTimeout, MessageTimeout = options.MessageTimeout, Log = options.Log, Isolated = true,
        }, CancellationToken.None);
        using (var server = fake.Accept())
        {
            for (int step = 0; step < 2; step++)
            {
                SendPositions(server, WireCell(cell), positions);
                Assert.Equal("HAVEDATA", Status(server));
                var (e, f, _, _) = GetForce(server, species.Length);
                var isolated = new GaussianPairForceField().Compute(new Frame(species, positions, null));
                var periodic = new GaussianPairForceField().Compute(new Frame(species, positions, cell));
                Assert.NotEqual(periodic.Energy, isolated.Energy, 1e-6); // the box matters for this configuration
                Assert.Equal(isolated.Energy, e * Units.HartreeInEv, 1e-12 * Math.Abs(isolated.Energy));
                for (int k = 0; k < f.Length; k++) Assert.Equal(isolated.Forces[k], f[k] * Units.HartreePerBohrInEvPerAngstrom, 1e-12);
                Assert.Null(ff.LastCell);
            }
        }
        await run.WaitAsync(Wait);
        Assert.Single(log, m => m.Contains("cell, ignored", StringComparison.Ordinal)); // said once, not every step
    }

    public static TheoryData<string, Action<FakePeer>, string> Faults => new()
    {
        { "malformed header", s => s.Raw([0xFF, 0xFE, 0x00, 0x41, 0, 0, 0, 0, 0, 0, 0, 0]), "malformed header" },
        { "unknown message", s => s.Header("HELLO"), "unexpected message 'HELLO" },
        { "wrong natoms", s => { s.Header("POSDATA"); s.Doubles(new double[18]); s.Int(7); }, "POSDATA has 7 atoms but the template has 6" },
        { "batched natoms", s => { s.Header("POSDATA"); s.Doubles(new double[18]); s.Int(12); }, "batching" },
        { "absurd natoms", s => { s.Header("POSDATA"); s.Doubles(new double[18]); s.Int(int.MaxValue); }, "refused" },
        { "negative natoms", s => { s.Header("POSDATA"); s.Doubles(new double[18]); s.Int(-1); }, "refused" },
        { "NaN position", s => { s.Header("POSDATA"); s.Doubles(new double[18]); s.Int(6); s.Doubles(Enumerable.Repeat(1.0, 17).Append(double.NaN)); }, "NaN" },
        { "infinite cell", s => { s.Header("POSDATA"); s.Doubles(new double[8].Append(double.PositiveInfinity).Concat(new double[9])); s.Int(6); s.Doubles(new double[18]); }, "infinite" },
        { "degenerate cell", s => { s.Header("POSDATA"); s.Doubles(new double[] { 1, 0, 0, 0, 0, 0, 0, 0, 0 }.Concat(new double[9])); s.Int(6); s.Doubles(new double[18]); }, "degenerate" },
        { "truncated payload", s => { s.Header("POSDATA"); s.Doubles(new double[5]); s.Dispose(); }, "middle of a message" },
        { "GETFORCE first", s => s.Header("GETFORCE"), "before any POSDATA" },
        { "absurd INIT", s => { s.Header("INIT"); s.Int(0); s.Int(int.MaxValue); }, "INIT announces" },
        { "batched INIT", s => { s.Header("INIT"); s.Int(0); var b = Encoding.ASCII.GetBytes("{\"batch_size\": 4}"); s.Int(b.Length); s.Raw(b); }, "batch" },
        { "batched INIT i-PI style", s => { s.Header("INIT"); s.Int(0); var b = Encoding.ASCII.GetBytes(" batch_size : 8 , "); s.Int(b.Length); s.Raw(b); }, "batch_size to 1" },
    };

    [Theory]
    [MemberData(nameof(Faults))]
    public async Task BadServerEndsTheRunWithAClearError(string fault, Action<FakePeer> misbehave, string expected)
    {
        var (species, _, _) = Water.Triclinic();
        using var fake = FakeServer.Listen(tcp: false);
        var run = new IpiClient().RunAsync(new GaussianPairForceField(), species, fake.Address, Options(), CancellationToken.None);
        using var server = fake.Accept();
        try { misbehave(server); }
        catch (System.Net.Sockets.SocketException) { } // the client may hang up before the fake has sent everything
        var e = await Assert.ThrowsAsync<IpiProtocolException>(() => run.WaitAsync(Wait));
        Assert.Contains(expected, e.Message);
        Assert.Contains(fake.Address.ToString(), e.Message); // names the server
        _ = fault;
    }

    [Fact]
    public async Task BatchSizeOneIsAccepted()
    {
        var (species, positions, cell) = Water.Triclinic();
        using var fake = FakeServer.Listen(tcp: false);
        var run = new IpiClient().RunAsync(new GaussianPairForceField(), species, fake.Address, Options(), CancellationToken.None);
        using var server = fake.Accept();
        server.Header("INIT");
        server.Int(0);
        var b = Encoding.ASCII.GetBytes(" batch_size : 1 , ");
        server.Int(b.Length);
        server.Raw(b);
        Assert.Equal("READY", Status(server));
        SendPositions(server, WireCell(cell), positions);
        Assert.Equal("HAVEDATA", Status(server));
        server.Header("EXIT");
        await run.WaitAsync(Wait);
    }

    [Fact]
    public async Task ServerStallingMidMessageTimesOut()
    {
        var (species, _, _) = Water.Triclinic();
        using var fake = FakeServer.Listen(tcp: false);
        var options = new IpiClientOptions { MessageTimeout = TimeSpan.FromMilliseconds(300), Log = _ => { } };
        var run = new IpiClient().RunAsync(new GaussianPairForceField(), species, fake.Address, options, CancellationToken.None);
        using var server = fake.Accept();
        server.Header("POSDATA");
        server.Doubles(new double[4]); // and then nothing, connection kept open
        var e = await Assert.ThrowsAsync<IpiTimeoutException>(() => run.WaitAsync(Wait));
        Assert.Equal(IpiTimeoutKind.Request, e.Kind);
        Assert.Contains("did not finish", e.Message);
    }

    [Fact]
    public async Task ServerThatAcceptsAndNeverSendsTimesOut()
    {
        // Issue 17 item 6: a server that accepts and then says nothing must not hang the client.
        var (species, _, _) = Water.Triclinic();
        using var fake = FakeServer.Listen(tcp: true);
        var options = new IpiClientOptions { RequestTimeout = TimeSpan.FromMilliseconds(300), Log = _ => { } };
        var run = new IpiClient().RunAsync(new GaussianPairForceField(), species, fake.Address, options, CancellationToken.None);
        using var server = fake.Accept();
        var e = await Assert.ThrowsAsync<IpiTimeoutException>(() => run.WaitAsync(Wait));
        Assert.Equal(IpiTimeoutKind.Request, e.Kind);
        Assert.Contains("sent nothing for 0.3 s (--request-timeout)", e.Message);
    }

    [Fact]
    public async Task ServerStoppingInsideAHeaderTimesOut()
    {
        var (species, _, _) = Water.Triclinic();
        using var fake = FakeServer.Listen(tcp: false);
        var options = new IpiClientOptions { RequestTimeout = TimeSpan.FromMilliseconds(300), Log = _ => { } };
        var run = new IpiClient().RunAsync(new GaussianPairForceField(), species, fake.Address, options, CancellationToken.None);
        using var server = fake.Accept();
        server.Raw(Encoding.ASCII.GetBytes("POSD")); // 4 of 12 header bytes, then silence
        var e = await Assert.ThrowsAsync<IpiTimeoutException>(() => run.WaitAsync(Wait));
        Assert.Equal(IpiTimeoutKind.Request, e.Kind);
    }

    [Fact]
    public async Task ConnectionAttemptsAreBounded()
    {
        // No server and no connect timeout: the attempt limit still ends it (issue 17: "retries every 200 ms without end").
        var (species, _, _) = Water.Triclinic();
        var options = new IpiClientOptions
        {
            ConnectTimeout = null, MaxConnectAttempts = 3, RetryInterval = TimeSpan.FromMilliseconds(20), Log = _ => { },
        };
        var run = new IpiClient().RunAsync(new GaussianPairForceField(), species, TestAddresses.Unix(), options, CancellationToken.None);
        var e = await Assert.ThrowsAsync<IpiTimeoutException>(() => run.WaitAsync(Wait));
        Assert.Equal(IpiTimeoutKind.Connect, e.Kind);
        Assert.Contains("after 3 attempts", e.Message);
    }

    [Fact]
    public void DefaultsAreBounded()
    {
        var o = new IpiClientOptions();
        Assert.Equal(TimeSpan.FromSeconds(120), o.ConnectTimeout);
        Assert.Equal(TimeSpan.FromSeconds(600), o.RequestTimeout);
        Assert.NotNull(o.MaxConnectAttempts);
    }

    [Fact]
    public async Task RetriesUntilTheServerIsUp()
    {
        var (species, positions, cell) = Water.Triclinic();
        var address = TestAddresses.Unix();
        var log = new List<string>();
        var run = new IpiClient().RunAsync(new GaussianPairForceField(), species, address, Options(log), CancellationToken.None);
        await Task.Delay(400);
        Assert.False(run.IsCompleted);
        // now the server comes up at that address
        using var fake = FakeServer.At(address);
        using var server = fake.Accept();
        SendPositions(server, WireCell(cell), positions);
        Assert.Equal("HAVEDATA", Status(server));
        server.Header("EXIT");
        await run.WaitAsync(Wait);
        lock (log) Assert.Contains(log, m => m.Contains("waiting for a server"));
    }

    [Fact]
    public async Task GivesUpAfterTheConnectTimeout()
    {
        var (species, _, _) = Water.Triclinic();
        var options = new IpiClientOptions { ConnectTimeout = TimeSpan.FromMilliseconds(300), Log = _ => { } };
        var run = new IpiClient().RunAsync(new GaussianPairForceField(), species, TestAddresses.Unix(), options, CancellationToken.None);
        var e = await Assert.ThrowsAsync<IpiTimeoutException>(() => run.WaitAsync(Wait));
        Assert.Equal(IpiTimeoutKind.Connect, e.Kind);
        Assert.Contains("no i-PI server", e.Message);
    }

    [Fact]
    public async Task CancellationStopsAnIdleClient()
    {
        var (species, _, _) = Water.Triclinic();
        using var fake = FakeServer.Listen(tcp: true);
        using var cts = new CancellationTokenSource();
        var run = new IpiClient().RunAsync(new GaussianPairForceField(), species, fake.Address, Options(), cts.Token);
        using var server = fake.Accept();
        Assert.Equal("NEEDINIT", Status(server));
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(Wait));
        Assert.True(server.SeesClose());
    }
}
