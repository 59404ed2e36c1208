using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using MolecularLearning.Core;
using MolecularLearning.Cp2k;
using MolecularLearning.Learning;
using Xunit.Abstractions;

namespace MolecularLearning.Integration.Tests;

/// <summary>`mld serve` as a separate process: started, waited for ("gRPC listening on ..."), stopped with SIGTERM.</summary>
public sealed class ServeProcess : IDisposable
{
    private readonly Process _process;
    private readonly Task<string> _stderr;

    /// <summary>Standard output to its end (after the process has exited).</summary>
    public string StdOut() => _process.StandardOutput.ReadToEnd();

    public ServeProcess(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        psi.ArgumentList.Add(Peers.MldDll);
        psi.ArgumentList.Add("serve");
        foreach (var a in args) psi.ArgumentList.Add(a);
        _process = Process.Start(psi) ?? throw new InvalidOperationException("cannot start mld serve");
        _stderr = _process.StandardError.ReadToEndAsync();
    }

    /// <summary>Waits for the "gRPC listening on http://IP:PORT/" line; returns "IP:PORT".</summary>
    public string WaitForGrpc()
    {
        var line = _process.StandardOutput.ReadLineAsync();
        if (!line.Wait(TimeSpan.FromSeconds(90)) || line.Result is not { } text || !text.StartsWith("gRPC listening on ", StringComparison.Ordinal))
            throw new InvalidOperationException($"mld serve did not report its address: {StdErrSoFar()}");
        var uri = new Uri(text["gRPC listening on ".Length..]);
        return $"{uri.Host}:{uri.Port}";
    }

    private string StdErrSoFar() => _process.HasExited ? _stderr.Result : "(still running)";

    /// <summary>Sends SIGTERM (what systemd and docker stop send) and waits for the exit.</summary>
    public (int ExitCode, string StdErr, TimeSpan Took) Terminate(TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        Peers.Run("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(10));
        if (!_process.WaitForExit(timeout)) throw new TimeoutException($"mld serve did not exit within {timeout} of SIGTERM");
        _process.WaitForExit();
        return (_process.ExitCode, _stderr.Result, clock.Elapsed);
    }

    /// <summary>Waits for the process to end on its own (e.g. when i-PI is done).</summary>
    public (int ExitCode, string StdErr) WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout)) throw new TimeoutException($"mld serve did not exit within {timeout}");
        _process.WaitForExit();
        return (_process.ExitCode, _stderr.Result);
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }
}

/// <summary>A model fitted on the shipped xtb water run, frames of that run as JSON for the clients, and `mld serve` on it.</summary>
public sealed class GrpcServeFixture : IDisposable
{
    public const int MaxAtoms = 200;
    public const int MaxMessageBytes = 100_000;

    public GrpcServeFixture()
    {
        Directory.CreateDirectory(Dir);
        Frames = FrameSource.Load(DataPath);
        ModelPath = Path.Combine(Dir, "model.json");
        Model = ModelFitter.Fit(Frames, FitOptions.Default with { Stride = 50, Source = DataPath }).Model;
        Model.Save(ModelPath);
        FramesJson = WriteFrames("frames.json", Frames.Take(6));
        Server = new ServeProcess(ModelPath, "--grpc", "127.0.0.1:0",
            $"--Grpc:MaxAtoms={MaxAtoms}", $"--Grpc:MaxMessageBytes={MaxMessageBytes}");
        Address = Server.WaitForGrpc();
    }

    public static string DataPath => Path.Combine(Peers.RepoRoot, "samples", "water32-xtb");
    public string Dir { get; } = Path.Combine(Path.GetTempPath(), $"mld-grpc-it-{Guid.NewGuid():N}");
    public IReadOnlyList<Frame> Frames { get; }
    public LearnedModel Model { get; }
    public string ModelPath { get; }
    public string FramesJson { get; }
    public ServeProcess Server { get; }
    public string Address { get; }

    /// <summary>Frames as the clients read them: symbols, positions (Å, 3N), cell (Å, 9).</summary>
    public string WriteFrames(string name, IEnumerable<Frame> frames)
    {
        var path = Path.Combine(Dir, name);
        File.WriteAllText(path, JsonSerializer.Serialize(new
        {
            frames = frames.Select(f => new
            {
                symbols = f.Species.Select(s => s.Symbol).ToArray(),
                positions = f.Positions,
                cell = f.Cell?.Matrix.ToArray() ?? [],
            }),
        }));
        return path;
    }

    public void Dispose()
    {
        try { Server.Terminate(TimeSpan.FromSeconds(30)); } catch (TimeoutException) { }
        Server.Dispose();
        if (Directory.Exists(Dir)) Directory.Delete(Dir, true);
    }
}

/// <summary>
/// `mld serve` against real gRPC clients: Python (Debian's grpcio, messages from protoc at test time) and
/// Node (@grpc/grpc-js from npm). Results equal in-process evaluation; every error status reaches the client.
/// </summary>
public sealed class GrpcServeTests(GrpcServeFixture fixture, ITestOutputHelper output) : IClassFixture<GrpcServeFixture>
{
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromMinutes(3);
    private static string Scripts => Path.Combine(Peers.RepoRoot, "integration");

    private JsonElement RunClient(string language, string mode, params string[] args)
    {
        var outputPath = Path.Combine(fixture.Dir, $"{language}-{mode}-{Guid.NewGuid():N}.json");
        var result = language == "python"
            ? Peers.Run(Peers.Python, [Path.Combine(Scripts, "grpc", "client.py"), fixture.Address, mode, .. args, outputPath], ClientTimeout)
            : Peers.Run("node", [Path.Combine(Scripts, "node", "client.js"), fixture.Address, mode, .. args, outputPath], ClientTimeout);
        Assert.True(result.ExitCode == 0, $"{language} client failed: {result.StdErr}");
        using var json = JsonDocument.Parse(File.ReadAllText(outputPath));
        return json.RootElement.Clone();
    }

    private static void EnsureNodeModules()
    {
        var node = Path.Combine(Scripts, "node");
        if (Directory.Exists(Path.Combine(node, "node_modules", "@grpc", "grpc-js"))) return;
        var install = Peers.Run("npm", ["install", "--no-audit", "--no-fund"], TimeSpan.FromMinutes(5), node);
        Assert.True(install.ExitCode == 0, "npm install in integration/node failed: " + install.StdErr);
    }

    private static double[] Numbers(JsonElement e) => e.EnumerateArray().Select(x => x.GetDouble()).ToArray();

    /// <summary>Equal within 1e-12 relative: energies to themselves, arrays to their largest component.</summary>
    private static void AssertEqualRelative(ForceResult expected, JsonElement got, string what)
    {
        double energy = got.GetProperty("energy").GetDouble();
        Assert.True(Math.Abs(energy - expected.Energy) <= 1e-12 * Math.Abs(expected.Energy), $"{what}: energy {energy} vs {expected.Energy}");
        foreach (var (name, want) in new[] { ("forces", expected.Forces), ("virial", expected.Virial) })
        {
            var have = Numbers(got.GetProperty(name));
            Assert.Equal(want.Length, have.Length);
            double scale = want.Max(Math.Abs);
            for (int i = 0; i < want.Length; i++)
                Assert.True(Math.Abs(have[i] - want[i]) <= 1e-12 * scale, $"{what}: {name}[{i}] {have[i]} vs {want[i]}");
        }
    }

    [Theory]
    [InlineData("python")]
    [InlineData("node")]
    public void Unary_and_streaming_results_equal_in_process_evaluation(string language)
    {
        if (language == "node") EnsureNodeModules();
        var result = RunClient(language, "evaluate", fixture.FramesJson);
        var frames = fixture.Frames.Take(6).ToList();
        var unary = result.GetProperty("unary").EnumerateArray().ToList();
        var stream = result.GetProperty("stream").EnumerateArray().ToList();
        Assert.Equal(frames.Count, unary.Count);
        Assert.Equal(frames.Count, stream.Count);
        var streamed = fixture.Model.CreateForceField(); // a stream keeps one evaluator, as the server does
        for (int i = 0; i < frames.Count; i++)
        {
            AssertEqualRelative(fixture.Model.CreateForceField().Compute(frames[i]), unary[i], $"{language} unary frame {i}");
            AssertEqualRelative(streamed.Compute(frames[i]), stream[i], $"{language} stream frame {i}");
            Assert.Equal((ulong)i, stream[i].GetProperty("id").GetUInt64());
            Assert.Equal(10L * i, stream[i].GetProperty("step").GetInt64());
        }
        var model = result.GetProperty("model");
        Assert.Equal(fixture.Model.Species.Select(s => s.Symbol), model.GetProperty("species").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal(fixture.Model.Cutoff, model.GetProperty("cutoff").GetDouble());
        Assert.Equal(fixture.Model.Order, model.GetProperty("order").GetInt32());
        Assert.Equal(GrpcServeFixture.MaxAtoms, model.GetProperty("max_atoms").GetInt32());
        Assert.Equal(fixture.Model.Mode.ToString(), model.GetProperty("mode").GetString());
        if (language == "python")
        {
            // The training figures: where the model came from and its held-out force error per species.
            Assert.Equal(fixture.Model.Training.Source, model.GetProperty("source").GetString());
            Assert.Equal(fixture.Model.Training.Frames, model.GetProperty("frames").GetInt32());
            var holdout = fixture.Model.Training.Holdout!.Species;
            Assert.NotEmpty(holdout);
            foreach (var (symbol, error) in holdout)
                Assert.Equal(error.RelRmse, model.GetProperty("holdout").GetProperty(symbol).GetDouble());
        }
    }

    [Theory]
    [InlineData("python")]
    [InlineData("node")]
    public void Health_check_and_every_error_status_reach_the_client(string language)
    {
        if (language == "node") EnsureNodeModules();
        var health = RunClient(language, "health");
        Assert.Equal("SERVING", health.GetProperty("(server)").GetString());
        Assert.Equal("SERVING", health.GetProperty("molecular_learning.v1.ForceField").GetString());

        var errors = RunClient(language, "errors", fixture.FramesJson);
        void Expect(string name, string code, string details)
        {
            var e = errors.GetProperty(name);
            Assert.True(e.GetProperty("code").GetString() == code, $"{language} {name}: {e}");
            Assert.Contains(details, e.GetProperty("details").GetString());
        }
        Expect("nan", "INVALID_ARGUMENT", "positions_angstrom[4] (atom 1, y) is NaN");
        Expect("wrong_length", "INVALID_ARGUMENT", "positions_angstrom has 289 numbers, not a multiple of 3");
        Expect("unknown_species", "INVALID_ARGUMENT", "symbols[3] = 'Xe' is not a species of the model");
        Expect("too_many_atoms", "INVALID_ARGUMENT", $"288 atoms exceed this server's limit of {GrpcServeFixture.MaxAtoms} atoms");
        Expect("oversized", "RESOURCE_EXHAUSTED", "");
        Expect("compressed", "OK", ""); // Grpc.AspNetCore decompresses gzip requests
        Expect("unknown_method", "UNIMPLEMENTED", "");
        Expect("unknown_health_service", "NOT_FOUND", "");
        Expect("deadline", "DEADLINE_EXCEEDED", "");
        Expect("mid_stream", "INVALID_ARGUMENT", "stream request 1 (id 2, step 20): positions_angstrom[0] (atom 0, x) is infinite");
        Expect("after", "OK", "");
    }

    [Fact]
    public void Sixteen_concurrent_streams_of_2000_steps_lose_and_reorder_nothing()
    {
        // A light learned model (order 1, a few radial invariants): the point is the transport under load,
        // so the force evaluation should not dominate the ~32,000 round trips.
        var light = ModelFitter.Fit(fixture.Frames, FitOptions.Default with
        {
            Order = 1, Stride = 50, Invariants = InvariantOptions.Parse("gauss:4:0.8:4.5", 4.5), Source = GrpcServeFixture.DataPath,
        }).Model;
        var lightPath = Path.Combine(fixture.Dir, "light.json");
        light.Save(lightPath);
        var frames = fixture.WriteFrames("load-frames.json", fixture.Frames.Take(40));
        using var server = new ServeProcess(lightPath, "--grpc", "127.0.0.1:0");
        var address = server.WaitForGrpc();
        // Node drives the load: one event loop multiplexing 16 channels keeps the client's own cost small.
        EnsureNodeModules();
        var outputPath = Path.Combine(fixture.Dir, "load.json");
        var run = Peers.Run("node", [Path.Combine(Scripts, "node", "client.js"), address, "load", frames, outputPath, "16", "2000"],
            TimeSpan.FromMinutes(5));
        Assert.True(run.ExitCode == 0, run.StdErr);
        using var json = JsonDocument.Parse(File.ReadAllText(outputPath));
        var r = json.RootElement;
        Assert.Empty(r.GetProperty("failures").EnumerateArray());
        Assert.Equal(16 * 2000, r.GetProperty("evaluations").GetInt32());
        output.WriteLine(FormattableString.Invariant(
            $"gRPC load (@grpc/grpc-js, 16 lock-step streams x 2000 steps, 96 atoms, light model): {r.GetProperty("evaluations_per_second").GetDouble():F0} evaluations/s, p50 {r.GetProperty("p50_us").GetDouble():F0} µs, p99 {r.GetProperty("p99_us").GetDouble():F0} µs, {r.GetProperty("seconds").GetDouble():F1} s"));
        var stop = server.Terminate(TimeSpan.FromSeconds(30));
        Assert.Equal(0, stop.ExitCode);
    }
}

/// <summary>The host's life cycle as a process: the i-PI client beside gRPC, SIGTERM with a stream in flight.</summary>
public sealed class GrpcServeLifecycleTests(GrpcServeFixture fixture) : IClassFixture<GrpcServeFixture>
{
    [Fact]
    public async Task Ipi_client_beside_gRPC_then_SIGTERM_during_a_stream_exits_0()
    {
        string name = "mldgrpc" + Guid.NewGuid().ToString("N")[..8];
        var aseOutput = Path.Combine(fixture.Dir, name + ".json");
        using var server = new ServeProcess(fixture.ModelPath, "--grpc", "127.0.0.1:0",
            "--ipi", "unix:" + name, "--template", Path.Combine(GrpcServeFixture.DataPath, "init.xyz"));
        var address = server.WaitForGrpc();

        // i-PI side: ASE's SocketIOCalculator asks the served model for 5 frames.
        var ase = Peers.Run(Peers.Python, [Path.Combine(Peers.RepoRoot, "integration", "ipi", "ase_server.py"), "--unix", name,
            "--frames", Path.Combine(GrpcServeFixture.DataPath, "water32-xtb-pos-1.xyz.gz"), "--every", "50", "--count", "5",
            "--box", "9.8528", "--out", aseOutput,
            // our unit constants, so ASE converts atomic units exactly as the i-PI client does
            "--bohr", Units.BohrInAngstrom.ToString("R", CultureInfo.InvariantCulture),
            "--hartree", Units.HartreeInEv.ToString("R", CultureInfo.InvariantCulture)], TimeSpan.FromMinutes(3));
        Assert.True(ase.ExitCode == 0, ase.StdErr);
        using (var json = JsonDocument.Parse(File.ReadAllText(aseOutput)))
        {
            var forceField = fixture.Model.CreateForceField();
            var species = fixture.Frames[0].Species;
            foreach (var frame in json.RootElement.EnumerateArray())
            {
                var positions = frame.GetProperty("positions").EnumerateArray().SelectMany(p => p.EnumerateArray()).Select(x => x.GetDouble()).ToArray();
                var cell = new Cell(frame.GetProperty("cell").EnumerateArray().SelectMany(p => p.EnumerateArray()).Select(x => x.GetDouble()).ToArray());
                var want = new ForceResult();
                forceField.Compute(species, positions, cell, want);
                double energy = frame.GetProperty("energy").GetDouble();
                Assert.True(Math.Abs(energy - want.Energy) <= 1e-10 * Math.Abs(want.Energy), $"i-PI energy {energy} vs {want.Energy}");
            }
        }

        // gRPC side: 16 long streams are running when SIGTERM arrives.
        var frames = fixture.WriteFrames($"{name}-frames.json", fixture.Frames.Take(4));
        var loadOutput = Path.Combine(fixture.Dir, name + "-load.json");
        var client = Task.Run(() => Peers.Run(Peers.Python,
            [Path.Combine(Peers.RepoRoot, "integration", "grpc", "client.py"), address, "load", frames, loadOutput, "16", "1000000"], TimeSpan.FromMinutes(3)));
        await Task.Delay(TimeSpan.FromSeconds(6));
        var stop = server.Terminate(TimeSpan.FromSeconds(30));
        Assert.True(stop.ExitCode == 0, stop.StdErr);
        Assert.Contains("Application is shutting down", stop.StdErr);
        var finished = await client.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(finished.ExitCode == 0, finished.StdErr);
        using var load = JsonDocument.Parse(File.ReadAllText(loadOutput));
        Assert.True(load.RootElement.GetProperty("evaluations").GetInt32() > 0);
        // Every stream ends with UNAVAILABLE (none lost, none with another status); those under way when the signal
        // came end at a step boundary with the server's message, not a broken connection.
        var failures = load.RootElement.GetProperty("failures").EnumerateArray().Select(f => f.GetString()!).ToList();
        Assert.Equal(16, failures.Count);
        Assert.All(failures, f => Assert.Contains("UNAVAILABLE", f));
        Assert.Contains(failures, f => f.Contains("server is shutting down"));
    }
}

/// <summary>Python clients that cancel their streams mid-way: the server logs them as cancelled, no INTERNAL, no stack.</summary>
public sealed class GrpcServeCancelTests(GrpcServeFixture fixture) : IClassFixture<GrpcServeFixture>
{
    [Fact]
    public void Streams_cancelled_by_the_client_are_not_internal_errors_in_the_log()
    {
        using var server = new ServeProcess(fixture.ModelPath, "--grpc", "127.0.0.1:0");
        var address = server.WaitForGrpc();
        var output = Path.Combine(fixture.Dir, $"cancel-{Guid.NewGuid():N}.json");
        var run = Peers.Run(Peers.Python, [Path.Combine(Peers.RepoRoot, "integration", "grpc", "client.py"), address, "cancel",
            fixture.WriteFrames($"cancel-frames-{Guid.NewGuid():N}.json", fixture.Frames.Take(1)), output, "15"], TimeSpan.FromMinutes(3));
        Assert.True(run.ExitCode == 0, run.StdErr);
        using (var json = JsonDocument.Parse(File.ReadAllText(output)))
        {
            Assert.All(json.RootElement.GetProperty("codes").EnumerateArray(), c => Assert.Equal("CANCELLED", c.GetString()));
            Assert.Equal("OK", json.RootElement.GetProperty("after").GetProperty("code").GetString());
        }
        var stop = server.Terminate(TimeSpan.FromSeconds(30));
        Assert.True(stop.ExitCode == 0, stop.StdErr);
        // A reset stream used to reach the log as "failed System.IO.IOException ... at ..." and an INTERNAL status.
        Assert.DoesNotContain("IOException", stop.StdErr);
        Assert.DoesNotContain("Internal in", stop.StdErr);
        Assert.Contains("Cancelled in", stop.StdErr);
    }
}

/// <summary>`serve --ipi` alone, and `mld run` / `mld evaluate` on a served model through the .NET client.</summary>
public sealed class GrpcServeClientTests(GrpcServeFixture fixture) : IClassFixture<GrpcServeFixture>
{
    [Fact]
    public async Task Ipi_alone_binds_no_port_exits_0_when_the_server_closes_and_two_run_side_by_side()
    {
        var names = new[] { "mldipi" + Guid.NewGuid().ToString("N")[..8], "mldipi" + Guid.NewGuid().ToString("N")[..8] };
        var servers = names.Select(n => new ServeProcess(fixture.ModelPath, "--ipi", "unix:" + n,
            "--template", Path.Combine(GrpcServeFixture.DataPath, "init.xyz"))).ToList();
        try
        {
            var ases = names.Select(n => Task.Run(() => Peers.Run(Peers.Python, [Path.Combine(Peers.RepoRoot, "integration", "ipi", "ase_server.py"),
                "--unix", n, "--frames", Path.Combine(GrpcServeFixture.DataPath, "water32-xtb-pos-1.xyz.gz"), "--every", "50", "--count", "3",
                "--box", "9.8528", "--out", Path.Combine(fixture.Dir, n + ".json"),
                "--bohr", Units.BohrInAngstrom.ToString("R", CultureInfo.InvariantCulture),
                "--hartree", Units.HartreeInEv.ToString("R", CultureInfo.InvariantCulture)], TimeSpan.FromMinutes(3)))).ToList();
            foreach (var ase in await Task.WhenAll(ases)) Assert.True(ase.ExitCode == 0, ase.StdErr);
            foreach (var server in servers)
            {
                var (code, stderr) = server.WaitForExit(TimeSpan.FromSeconds(60)); // ends on its own when i-PI is done
                Assert.True(code == 0, stderr);
                Assert.DoesNotContain("gRPC listening", server.StdOut());
                Assert.Contains("finished after 3 steps", stderr);
            }
        }
        finally
        {
            foreach (var server in servers) server.Dispose();
        }
    }

    [Fact]
    public void Run_on_grpc_forces_is_identical_to_the_in_process_run_and_evaluate_reads_the_served_model()
    {
        string start = Path.Combine(GrpcServeFixture.DataPath, "init.xyz");
        string[] common = ["--from", start, "--cell", "9.8528 9.8528 9.8528", "--steps", "2000", "--every", "100", "--seed", "7", "--massive", "--tau", "10"];
        var local = Path.Combine(fixture.Dir, "local.extxyz");
        var remote = Path.Combine(fixture.Dir, "remote.extxyz");
        var a = Peers.Mld(["run", fixture.ModelPath, .. common, "--trajectory", local], TimeSpan.FromMinutes(10));
        Assert.True(a.ExitCode == 0, a.StdErr);
        var b = Peers.Mld(["run", .. common, "--forces", "grpc:" + fixture.Address, "--trajectory", remote], TimeSpan.FromMinutes(20));
        Assert.True(b.ExitCode == 0, b.StdErr);
        var want = FrameSource.Load(local);
        var got = FrameSource.Load(remote);
        Assert.Equal(want.Count, got.Count);
        Assert.Equal(21, got.Count);
        for (int f = 0; f < want.Count; f++)
            for (int i = 0; i < want[f].Positions.Length; i++)
                Assert.True(Math.Abs(want[f].Positions[i] - got[f].Positions[i]) <= 1e-9, $"frame {f}, coordinate {i}: {want[f].Positions[i]} vs {got[f].Positions[i]}");

        var served = Peers.Mld(["evaluate", "--server", "grpc:" + fixture.Address, Path.Combine(Peers.RepoRoot, "tests", "data", "water32-pbe-sample"), "--json"], TimeSpan.FromMinutes(5));
        var inProcess = Peers.Mld(["evaluate", fixture.ModelPath, Path.Combine(Peers.RepoRoot, "tests", "data", "water32-pbe-sample"), "--json"], TimeSpan.FromMinutes(5));
        Assert.True(served.ExitCode == 0, served.StdErr);
        Assert.True(inProcess.ExitCode == 0, inProcess.StdErr);
        using var x = JsonDocument.Parse(served.StdOut);
        using var y = JsonDocument.Parse(inProcess.StdOut);
        foreach (var species in y.RootElement.GetProperty("species").EnumerateObject())
            Assert.Equal(species.Value.GetProperty("relRmse").GetDouble(), x.RootElement.GetProperty("species").GetProperty(species.Name).GetProperty("relRmse").GetDouble(), 12);
    }
}
