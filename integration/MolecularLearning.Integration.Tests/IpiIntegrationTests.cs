using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using MolecularLearning.Core;
using MolecularLearning.Cp2k;
using MolecularLearning.Learning;
using MolecularLearning.Protocols.Ipi;

namespace MolecularLearning.Integration.Tests;

/// <summary>
/// The i-PI protocol against real peers: ASE 3.22's SocketIOCalculator (server) with our IpiClient,
/// ASE's SocketClient and CP2K 2023.1 (RUN_TYPE DRIVER, GFN1-xTB) with our IpiServerForceField.
/// </summary>
public class IpiIntegrationTests
{
    private static readonly TimeSpan PeerTimeout = TimeSpan.FromMinutes(3);
    private static string Sample => Path.Combine(Peers.RepoRoot, "samples", "water32-xtb");
    private static string Scripts => Path.Combine(Peers.RepoRoot, "integration", "ipi");
    private const double Box = 9.8528;

    /// <summary>Our unit constants, handed to ASE so both peers convert atomic units identically.</summary>
    private static readonly string[] SameConstants =
    [
        "--bohr", Units.BohrInAngstrom.ToString("R", CultureInfo.InvariantCulture),
        "--hartree", Units.HartreeInEv.ToString("R", CultureInfo.InvariantCulture),
    ];

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public async Task AseSocketIOCalculatorGetsTheInProcessForces(bool tcp, bool triclinic)
    {
        var species = Run.Value.Frames[0].Species;
        var forceField = Model.Value.CreateForceField();
        string name = "mlit" + Guid.NewGuid().ToString("N")[..10];
        var address = tcp ? IpiAddress.Tcp("127.0.0.1", FreePort()) : IpiAddress.Parse("unix:" + name);
        var output = Path.Combine(Path.GetTempPath(), name + ".json");
        try
        {
            var args = new List<string>
            {
                Path.Combine(Scripts, "ase_server.py"), "--frames", Path.Combine(Sample, "water32-xtb-pos-1.xyz.gz"),
                "--every", "25", "--count", "20", "--box", Box.ToString(CultureInfo.InvariantCulture), "--out", output,
            };
            args.AddRange(tcp ? ["--port", address.Port.ToString(CultureInfo.InvariantCulture)] : ["--unix", name]);
            if (triclinic) args.Add("--triclinic");
            args.AddRange(SameConstants);
            var server = Task.Run(() => Peers.Run(Peers.Python, args, PeerTimeout));
            // Started together: the client retries until ASE's socket is up.
            var client = new IpiClient();
            var serving = client.RunAsync(forceField, species, address,
                new IpiClientOptions { ConnectTimeout = TimeSpan.FromSeconds(60) }, CancellationToken.None);
            var run = await server;
            Assert.True(run.ExitCode == 0, run.StdErr);
            await serving.WaitAsync(TimeSpan.FromSeconds(30)); // ASE closes without EXIT: a clean end
            Assert.Equal(20, client.StepsServed);

            AssertServedFramesMatch(output, forceField, species);
        }
        finally { File.Delete(output); }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task OurServerDrivesAseSocketClient(bool tcp)
    {
        var init = Run.Value.Frames[0];
        string name = "mlit" + Guid.NewGuid().ToString("N")[..10];
        var output = Path.Combine(Path.GetTempPath(), name + ".json");
        var log = new List<string>();
        using var server = IpiServerForceField.Listen(tcp ? IpiAddress.Tcp("127.0.0.1", 0) : IpiAddress.Parse("unix:" + name),
            new IpiServerOptions { ConnectTimeout = TimeSpan.FromSeconds(60), RequestTimeout = TimeSpan.FromSeconds(60), Log = log.Add });
        try
        {
            var args = new List<string> { Path.Combine(Scripts, "ase_client.py"), "--template", Path.Combine(Sample, "init.xyz"), "--out", output };
            args.AddRange(tcp ? ["--port", server.Address.Port.ToString(CultureInfo.InvariantCulture)] : ["--unix", name]);
            args.AddRange(SameConstants);
            var client = Task.Run(() => Peers.Run(Peers.Python, args, PeerTimeout));

            var sent = new List<(double[] Positions, Cell Cell, double Energy, double[] Forces, double[] Virial)>();
            var result = new ForceResult();
            for (int step = 0; step < 5; step++)
            {
                var positions = init.Positions.Select((x, i) => x + 0.03 * Math.Sin(1.7 * i + step)).ToArray();
                var cell = step < 3 ? Cell.Orthorhombic(Box, Box, Box) : new Cell([Box, 0, 0, 0.9, Box, 0, -0.7, 0.6, Box]);
                server.Compute(init.Species, positions, cell, result);
                sent.Add((positions, cell, result.Energy, (double[])result.Forces.Clone(), (double[])result.Virial.Clone()));
            }
            server.Dispose(); // EXIT: ASE's client returns from irun
            var run = await client;
            Assert.True(run.ExitCode == 0, run.StdErr);

            using var json = JsonDocument.Parse(File.ReadAllText(output));
            var served = json.RootElement.EnumerateArray().ToList();
            Assert.Equal(sent.Count, served.Count);
            for (int k = 0; k < sent.Count; k++)
            {
                var s = served[k];
                AssertCloseArrays(sent[k].Positions, Flat(s.GetProperty("positions")), 1e-14, "positions received");
                AssertCloseArrays(sent[k].Cell.Matrix.ToArray(), Flat(s.GetProperty("cell")), 1e-14, "cell received");
                AssertClose(s.GetProperty("energy").GetDouble(), sent[k].Energy, 1e-10, "energy");
                AssertCloseArrays(Flat(s.GetProperty("forces")), sent[k].Forces, 1e-10, "forces");
                var virial = Flat(s.GetProperty("stress")).Select(x => -x * sent[k].Cell.Volume).ToArray();
                AssertCloseArrays(virial, sent[k].Virial, 1e-10, "virial");
            }
            // ASE's client asks for INIT again after every GETFORCE: served, nothing dropped
            Assert.Equal(0, server.ClientsDropped);
        }
        finally { File.Delete(output); }
    }

    [Fact]
    public async Task Cp2kDriverForcesEqualTheSharedRun()
    {
        // The first two frames of the shipped GFN1-xTB run (steps 0 and 4); frame 0 is init.xyz.
        var frames = Run.Value.Frames;
        string name = "mlcp2k" + Guid.NewGuid().ToString("N")[..10];
        var dir = Directory.CreateTempSubdirectory("ipi-cp2k-").FullName;
        var log = new List<string>();
        try
        {
            File.Copy(Path.Combine(Sample, "init.xyz"), Path.Combine(dir, "init.xyz"));
            File.WriteAllText(Path.Combine(dir, "driver.inp"),
                $"@SET SOCKET {name}\n" + File.ReadAllText(Path.Combine(Scripts, "cp2k", "driver.inp")));
            using var server = IpiServerForceField.Listen(IpiAddress.Parse("unix:" + name),
                new IpiServerOptions { ConnectTimeout = TimeSpan.FromSeconds(120), RequestTimeout = TimeSpan.FromSeconds(400), Log = log.Add });
            // One OpenMP thread: on a shared 2-core machine spinning threads make xTB ~20x slower.
            var cp2k = Task.Run(() => Peers.Run("/usr/bin/cp2k.psmp", ["-i", "driver.inp", "-o", "driver.out"], TimeSpan.FromMinutes(10), dir,
                new Dictionary<string, string> { ["OMP_NUM_THREADS"] = "1" }));
            var result = new ForceResult();
            for (int k = 0; k < 2; k++)
            {
                var frame = frames[k];
                server.Compute(frame.Species, frame.Positions, frame.Cell, result);
                AssertClose(frame.Energy!.Value, result.Energy, 1e-8, $"step {frame.Step} energy");
                // Step 0 starts both SCFs from the same guess: agreement to the printed digits. At step 4 the MD
                // run extrapolated its wavefunction over 4 steps, the driver over one: EPS_SCF 1e-6 shows (~1e-5).
                AssertCloseArrays(frame.Forces!, result.Forces, k == 0 ? 1e-6 : 5e-5, $"step {frame.Step} forces");
            }
            server.Dispose(); // EXIT ends CP2K's driver loop
            var run = await cp2k;
            Assert.True(run.ExitCode == 0, run.StdErr + File.ReadAllText(Path.Combine(dir, "driver.out")));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    /// <summary>`mld serve` (the learned model as an i-PI client, in the Generic Host) answering ASE's server.
    /// With pbc=False ASE still sends its box as the cell (i-PI has no periodicity flag): a template written the way ASE
    /// writes such Atoms (Lattice and pbc="F F F") makes the answers the isolated system's, not the periodic box's.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task MldServeAnswersAseSocketIOCalculator(bool withoutPbc)
    {
        string name = "mlit" + Guid.NewGuid().ToString("N")[..10];
        var output = Path.Combine(Path.GetTempPath(), name + ".json");
        var modelPath = Path.Combine(Path.GetTempPath(), name + ".model.json");
        var template = Path.Combine(Sample, "init.xyz");
        try
        {
            Model.Value.Save(modelPath);
            if (withoutPbc)
            {
                // ase.io.write's header for Atoms with a box and pbc=False
                var init = Run.Value.Frames[0];
                template = Path.Combine(Path.GetTempPath(), name + ".template.xyz");
                File.WriteAllLines(template, [init.Species.Length.ToString(CultureInfo.InvariantCulture),
                    "Lattice=\"9.8528 0.0 0.0 0.0 9.8528 0.0 0.0 0.0 9.8528\" Properties=species:S:1:pos:R:3 pbc=\"F F F\"",
                    .. init.Species.Select((s, i) => string.Join(' ', [s.Symbol, .. init.Positions.Skip(3 * i).Take(3).Select(x => x.ToString("R", CultureInfo.InvariantCulture))]))]);
            }
            var args = new List<string>
            {
                Path.Combine(Scripts, "ase_server.py"), "--unix", name, "--frames", Path.Combine(Sample, "water32-xtb-pos-1.xyz.gz"),
                "--every", "50", "--count", "10", "--box", Box.ToString(CultureInfo.InvariantCulture), "--triclinic", "--out", output,
            };
            if (withoutPbc) args.Add("--no-pbc");
            args.AddRange(SameConstants);
            var ase = Task.Run(() => Peers.Run(Peers.Python, args, PeerTimeout));
            var serve = Task.Run(() => Peers.Mld(["serve", modelPath, "--template", template,
                "--ipi", "unix:" + name, "--grpc", "none"], PeerTimeout));
            var aseRun = await ase;
            Assert.True(aseRun.ExitCode == 0, aseRun.StdErr);
            var serveRun = await serve; // ASE closed the socket: mld serve ends on its own, successfully
            Assert.True(serveRun.ExitCode == 0, serveRun.StdErr);
            AssertServedFramesMatch(output, LearnedModel.Load(modelPath).CreateForceField(), Run.Value.Frames[0].Species);
        }
        finally
        {
            File.Delete(output);
            File.Delete(modelPath);
            if (withoutPbc) File.Delete(template);
        }
    }

    /// <summary>The README's ASE example runs as shipped: MD in ASE with forces from `mld serve`.</summary>
    [Fact]
    public void AseExampleRuns()
    {
        var modelPath = Path.Combine(Path.GetTempPath(), "mlit" + Guid.NewGuid().ToString("N")[..10] + ".model.json");
        try
        {
            Model.Value.Save(modelPath);
            var run = Peers.Run(Peers.Python, [Path.Combine(Scripts, "ase_example.py"), modelPath, "--steps", "20"], PeerTimeout,
                environment: new Dictionary<string, string> { ["MLD"] = $"dotnet {Peers.MldDll}" });
            Assert.True(run.ExitCode == 0, run.StdErr);
            Assert.Contains("step    20", run.StdOut);
            Assert.Contains("mld serve exited with 0", run.StdOut);
        }
        finally { File.Delete(modelPath); }
    }

    /// <summary>
    /// Both ends ours, as separate processes: `mld run --forces ipi:...` listens, `mld serve` connects.
    /// The trajectory equals the in-process `mld run model.json` one (the protocol only rounds through atomic units).
    /// With `serve --ipi-extra` the extrapolation signal rides in the extra string and run reports what the in-process
    /// run reports; without it run says the server sends none.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task MldRunWithForcesFromMldServeFollowsTheInProcessRun(bool extra)
    {
        string name = "mlit" + Guid.NewGuid().ToString("N")[..10];
        var dir = Directory.CreateTempSubdirectory("ipi-run-").FullName;
        try
        {
            var modelPath = Path.Combine(dir, "model.json");
            Model.Value.Save(modelPath);
            string[] common = ["--from", Sample, "--steps", "20", "--thermostat", "none", "--log-every", "1"];
            var remote = Task.Run(() => Peers.Mld(["run", .. common, "--log", Path.Combine(dir, "remote.csv"),
                "--forces", "ipi:unix:" + name, "--connect-timeout", "60", "--request-timeout", "60"], PeerTimeout, dir));
            string[] serveArgs = ["serve", modelPath, "--template", Path.Combine(Sample, "init.xyz"), "--ipi", "unix:" + name, "--grpc", "none"];
            var serve = Task.Run(() => Peers.Mld(extra ? [.. serveArgs, "--ipi-extra"] : serveArgs, PeerTimeout, dir));
            var local = Peers.Mld(["run", modelPath, .. common, "--log", Path.Combine(dir, "local.csv")], PeerTimeout, dir);
            Assert.True(local.ExitCode == 0, local.StdErr);
            var remoteRun = await remote;
            Assert.True(remoteRun.ExitCode == 0, remoteRun.StdErr);
            var serveRun = await serve; // the run ended: the client ends cleanly too
            Assert.True(serveRun.ExitCode == 0, serveRun.StdErr);

            double[] Potential(string file) => File.ReadAllLines(Path.Combine(dir, file)).Skip(1)
                .Select(l => double.Parse(l.Split(',')[4], CultureInfo.InvariantCulture)).ToArray();
            var expected = Potential("local.csv");
            var actual = Potential("remote.csv");
            Assert.Equal(21, expected.Length);
            Assert.Equal(expected.Length, actual.Length);
            for (int step = 0; step < expected.Length; step++) AssertClose(expected[step], actual[step], 1e-9, $"potential energy at step {step}");

            static string Signal(Peers.Result r) => r.StdOut.Split('\n').Single(l => l.StartsWith("extrapolation:", StringComparison.Ordinal)).Trim();
            Assert.DoesNotContain("not available", Signal(local));
            if (extra) Assert.Equal(Signal(local), Signal(remoteRun));
            else Assert.StartsWith("extrapolation: not available", Signal(remoteRun));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    // ---------------- helpers ----------------

    private static readonly Lazy<Cp2kTrajectory> Run = new(() => Cp2kRun.Read(Sample));

    /// <summary>
    /// A learned model fitted on the shipped run. The protocol does not depend on the invariants, so the basis
    /// is the small sorted-distance one (a fit of seconds) rather than the default (about a minute).
    /// </summary>
    private static readonly Lazy<LearnedModel> Model = new(() => ModelFitter.Fit(Run.Value.Frames, FitOptions.Default with
    {
        Order = 1,
        Stride = 50,
        Invariants = InvariantOptions.Parse("sorted:O4:H8", FitOptions.DefaultCutoff),
        Source = "samples/water32-xtb",
    }).Model);

    /// <summary>What ASE received through the protocol equals the in-process evaluation of the same configurations.</summary>
    private static void AssertServedFramesMatch(string output, IForceField forceField, Species[] species)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(output));
        var reference = new ForceResult();
        foreach (var frame in json.RootElement.EnumerateArray())
        {
            var positions = Flat(frame.GetProperty("positions"));
            // pbc=False: ASE still sends its box, and the served answer must be the isolated system's
            bool periodic = !frame.TryGetProperty("pbc", out var pbc) || pbc.GetBoolean();
            var cell = periodic ? new Cell(Flat(frame.GetProperty("cell"))) : null;
            Assert.Equal(species.Select(s => s.Symbol), frame.GetProperty("symbols").EnumerateArray().Select(s => s.GetString()));
            forceField.Compute(species, positions, cell, reference);
            AssertClose(reference.Energy, frame.GetProperty("energy").GetDouble(), 1e-10, "energy");
            AssertCloseArrays(reference.Forces, Flat(frame.GetProperty("forces")), 1e-10, "forces");
            // ASE's stress is -W/V of the virial that came over the wire
            if (cell is not null)
                AssertCloseArrays(reference.Virial.Select(w => -w / cell.Volume).ToArray(), Flat(frame.GetProperty("stress")), 1e-10, "stress");
        }
    }

    private static double[] Flat(JsonElement nested) => nested.EnumerateArray()
        .SelectMany(row => row.ValueKind == JsonValueKind.Array ? row.EnumerateArray().Select(v => v.GetDouble()) : [row.GetDouble()])
        .ToArray();

    private static void AssertClose(double expected, double actual, double relative, string what)
        => Assert.True(Math.Abs(expected - actual) <= relative * Math.Abs(expected),
            $"{what}: expected {expected:R}, got {actual:R} (relative difference {Math.Abs(expected - actual) / Math.Abs(expected):E2})");

    /// <summary>Max-norm relative agreement: |a − b|∞ ≤ tol · |a|∞.</summary>
    private static void AssertCloseArrays(double[] expected, double[] actual, double relative, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = expected.Max(Math.Abs), worst = 0;
        int at = 0;
        for (int i = 0; i < expected.Length; i++)
            if (Math.Abs(expected[i] - actual[i]) > worst) { worst = Math.Abs(expected[i] - actual[i]); at = i; }
        Assert.True(worst <= relative * scale,
            $"{what}: component {at} expected {expected[at]:R}, got {actual[at]:R}; max difference {worst:E2} vs scale {scale:E2}");
    }

    private static int FreePort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }
}
