using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using MolecularLearning.Core;
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
        var species = ReadXyz(Path.Combine(Sample, "init.xyz"), 1)[0].Species;
        var forceField = ReferenceForceField();
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

            using var json = JsonDocument.Parse(File.ReadAllText(output));
            var reference = new ForceResult();
            foreach (var frame in json.RootElement.EnumerateArray())
            {
                var positions = Flat(frame.GetProperty("positions"));
                var cell = new Cell(Flat(frame.GetProperty("cell")));
                Assert.Equal(species.Select(s => s.Symbol), frame.GetProperty("symbols").EnumerateArray().Select(s => s.GetString()));
                forceField.Compute(species, positions, cell, reference);
                AssertClose(reference.Energy, frame.GetProperty("energy").GetDouble(), 1e-10, "energy");
                AssertCloseArrays(reference.Forces, Flat(frame.GetProperty("forces")), 1e-10, "forces");
                // ASE's stress is -W/V of the virial that came over the wire
                var stress = Flat(frame.GetProperty("stress"));
                AssertCloseArrays(reference.Virial.Select(w => -w / cell.Volume).ToArray(), stress, 1e-10, "stress");
            }
        }
        finally { File.Delete(output); }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task OurServerDrivesAseSocketClient(bool tcp)
    {
        var init = ReadXyz(Path.Combine(Sample, "init.xyz"), 1)[0];
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
        // Frames 0 and 1 of the shared GFN1-xTB run (every step printed); frame 0 is init.xyz.
        var data = Path.Combine(Peers.SharedData, "water32-xtb");
        var positions = ReadXyz(Path.Combine(data, "water32-xtb-pos-1.xyz.gz"), 2);
        var forces = ReadXyz(Path.Combine(data, "water32-xtb-frc-1.xyz.gz"), 2);
        string name = "mlcp2k" + Guid.NewGuid().ToString("N")[..10];
        var dir = Directory.CreateTempSubdirectory("ipi-cp2k-").FullName;
        var log = new List<string>();
        try
        {
            File.Copy(Path.Combine(data, "init.xyz"), Path.Combine(dir, "init.xyz"));
            File.WriteAllText(Path.Combine(dir, "driver.inp"),
                $"@SET SOCKET {name}\n" + File.ReadAllText(Path.Combine(Scripts, "cp2k", "driver.inp")));
            using var server = IpiServerForceField.Listen(IpiAddress.Parse("unix:" + name),
                new IpiServerOptions { ConnectTimeout = TimeSpan.FromSeconds(120), RequestTimeout = TimeSpan.FromSeconds(400), Log = log.Add });
            // One OpenMP thread: on a shared 2-core machine spinning threads make xTB ~20x slower.
            var cp2k = Task.Run(() => Peers.Run("/usr/bin/cp2k.psmp", ["-i", "driver.inp", "-o", "driver.out"], TimeSpan.FromMinutes(10), dir,
                new Dictionary<string, string> { ["OMP_NUM_THREADS"] = "1" }));
            var result = new ForceResult();
            var cell = Cell.Orthorhombic(Box, Box, Box);
            for (int frame = 0; frame < 2; frame++)
            {
                server.Compute(positions[frame].Species, positions[frame].Positions, cell, result);
                var expected = forces[frame];
                AssertClose(expected.Energy!.Value, result.Energy, 1e-8, $"frame {frame} energy");
                // CP2K prints forces to 1e-10 Ha/Bohr; SCF converged to 1e-6 in both runs
                AssertCloseArrays(expected.Positions.Select(f => f * Units.HartreePerBohrInEvPerAngstrom).ToArray(), result.Forces, 1e-4, $"frame {frame} forces");
            }
            server.Dispose(); // EXIT ends CP2K's driver loop
            var run = await cp2k;
            Assert.True(run.ExitCode == 0, run.StdErr + File.ReadAllText(Path.Combine(dir, "driver.out")));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    // ---------------- helpers ----------------

    /// <summary>The force field served in-process and over the socket (deterministic, periodic, species-aware).</summary>
    private static IForceField ReferenceForceField() => new BuckinghamTestForceField();

    private sealed record XyzFrame(Species[] Species, double[] Positions, double? Energy);

    /// <summary>The first frames of a (gzipped) CP2K xyz file; "E =" in the comment is the energy (Hartree → eV).</summary>
    private static List<XyzFrame> ReadXyz(string path, int count)
    {
        using var stream = File.OpenRead(path);
        using var reader = new StreamReader(path.EndsWith(".gz") ? new GZipStream(stream, CompressionMode.Decompress) : stream);
        var frames = new List<XyzFrame>();
        while (frames.Count < count && reader.ReadLine() is { } header)
        {
            int n = int.Parse(header.Trim(), CultureInfo.InvariantCulture);
            var comment = reader.ReadLine()!;
            int e = comment.IndexOf("E =", StringComparison.Ordinal);
            double? energy = e < 0 ? null : double.Parse(comment[(e + 3)..].Trim(), CultureInfo.InvariantCulture) * Units.HartreeInEv;
            var species = new Species[n];
            var xyz = new double[3 * n];
            for (int i = 0; i < n; i++)
            {
                var p = reader.ReadLine()!.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                species[i] = Elements.Get(p[0]);
                for (int k = 0; k < 3; k++) xyz[3 * i + k] = double.Parse(p[1 + k], CultureInfo.InvariantCulture);
            }
            frames.Add(new XyzFrame(species, xyz, energy));
        }
        return frames;
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

    /// <summary>
    /// Buckingham pairs (A e^(−r/ρ) − C/r⁶, species-dependent A, C) under the minimum image within 5 Å:
    /// a deterministic stand-in until the learned model can be fitted here.
    /// </summary>
    private sealed class BuckinghamTestForceField : IForceField
    {
        private const double Rho = 0.3, Cutoff = 5.0;
        public string Name => "Buckingham test potential";

        public void Compute(ReadOnlySpan<Species> species, ReadOnlySpan<double> positions, Cell? cell, ForceResult result)
        {
            int n = species.Length;
            result.Resize(n);
            result.Clear();
            double energy = 0;
            for (int i = 0; i < n; i++)
                for (int j = i + 1; j < n; j++)
                {
                    var d = Vec3.At(positions, i) - Vec3.At(positions, j);
                    if (cell is not null) d = cell.MinimumImage(d);
                    double r = d.Norm();
                    if (r > Cutoff) continue;
                    double a = 20.0 * species[i].AtomicNumber * species[j].AtomicNumber, c = 0.5 * Math.Sqrt(species[i].Mass * species[j].Mass);
                    double rep = a * Math.Exp(-r / Rho), disp = c / Math.Pow(r, 6);
                    energy += rep - disp;
                    double dEdr = -rep / Rho + 6 * disp / r;
                    var f = (-dEdr / r) * d; // on i
                    result.Forces[3 * i] += f.X; result.Forces[3 * i + 1] += f.Y; result.Forces[3 * i + 2] += f.Z;
                    result.Forces[3 * j] -= f.X; result.Forces[3 * j + 1] -= f.Y; result.Forces[3 * j + 2] -= f.Z;
                    double[] fv = [f.X, f.Y, f.Z], dv = [d.X, d.Y, d.Z];
                    for (int p = 0; p < 3; p++)
                        for (int q = 0; q < 3; q++) result.Virial[3 * p + q] += fv[p] * dv[q];
                }
            result.Energy = energy;
        }
    }
}
