using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using MolecularLearning.Core;
using MolecularLearning.Cp2k;
using MolecularLearning.Dynamics;
using MolecularLearning.Learning;
using MolecularLearning.Grpc.Client;
using MolecularLearning.Protocols.Ipi;

namespace MolecularLearning.Cli.Verbs;

/// <summary>
/// `mld run model.json --from RUN|FILE --steps N ...`: standalone MD with a learned model (velocity Verlet,
/// optionally a Nosé–Hoover chain), writing an extended-XYZ trajectory, a thermo CSV and checkpoints.
/// </summary>
public sealed class RunVerb : IVerb
{
    public Command Build()
    {
        var model = new Argument<string?>("model") { Description = "learned model (.json from mld fit); not needed with --forces", Arity = ArgumentArity.ZeroOrOne };
        var from = new Option<string?>("--from") { Description = "start structure: CP2K run (directory or project prefix) or .extxyz/.xyz file" };
        var frame = new Option<int>("--frame") { Description = "frame of --from to start from (0 = first, -1 = last)", DefaultValueFactory = _ => 0 };
        var cell = new Option<string?>("--cell") { Description = "cell for a structure without one: \"a b c\" (Å, orthorhombic) or 9 numbers (rows a, b, c)" };
        var steps = new Option<long>("--steps") { Description = "run until this step (a restart continues to the same total)", Required = true };
        var timestep = new Option<double>("--timestep") { Description = "time step (fs)", DefaultValueFactory = _ => 0.5 };
        var temperature = new Option<double>("--temperature") { Description = "thermostat and initial-velocity temperature (K)", DefaultValueFactory = _ => 300 };
        var thermostat = new Option<string>("--thermostat") { Description = "nose-hoover (NVT) or none (NVE)", DefaultValueFactory = _ => "nose-hoover" };
        thermostat.AcceptOnlyFromAmong("nose-hoover", "none");
        var chain = new Option<int>("--chain") { Description = "Nosé–Hoover chain length", DefaultValueFactory = _ => 3 };
        var tau = new Option<double>("--tau") { Description = "thermostat time constant (fs), as CP2K's NOSE TIMECON", DefaultValueFactory = _ => 100 };
        var massive = new Option<bool>("--massive") { Description = "one chain per atom (CP2K REGION MASSIVE) instead of one for the system" };
        var seed = new Option<ulong?>("--seed") { Description = "draw Maxwell–Boltzmann velocities with this seed (default: the start frame's velocities, or seed 1 if it has none)" };
        var trajectory = new Option<string?>("--trajectory") { Description = "extended XYZ trajectory to write (positions, velocities, forces, energy)" };
        var every = new Option<int>("--every") { Description = "write a trajectory frame every n steps", DefaultValueFactory = _ => 10 };
        var log = new Option<string?>("--log") { Description = "thermo CSV: step, time_fs, kinetic_eV, temperature_K, potential_eV, conserved_eV" };
        var logEvery = new Option<int?>("--log-every") { Description = "write a thermo line every n steps (default: --every)" };
        var checkpoint = new Option<string?>("--checkpoint") { Description = "checkpoint file, written every --checkpoint-every steps, at the end and on SIGINT/SIGTERM" };
        var checkpointEvery = new Option<int>("--checkpoint-every") { Description = "steps between checkpoints", DefaultValueFactory = _ => 1000 };
        var restart = new Option<string?>("--restart") { Description = "continue from a checkpoint (its settings are used; trajectory and log are appended)" };
        var forces = new Option<string?>("--forces") { Description = "take forces from elsewhere instead of a model: ipi:unix:NAME (socket /tmp/ipi_NAME) or ipi:HOST:PORT (mld listens, an i-PI client connects), or grpc:HOST:PORT (a served model, e.g. mld serve --grpc)" };
        var connectTimeout = new Option<double>("--connect-timeout") { Description = "with --forces: seconds to wait for the client to connect", DefaultValueFactory = _ => 120 };
        var requestTimeout = new Option<double>("--request-timeout") { Description = "with --forces: seconds one force request may take", DefaultValueFactory = _ => 600 };
        var backend = BackendOption.Create();
        var command = new Command("run", "molecular dynamics with a learned model: NVE or Nosé–Hoover NVT, trajectory, thermo log, checkpoints")
        {
            model, from, frame, cell, steps, timestep, temperature, thermostat, chain, tau, massive, seed,
            trajectory, every, log, logEvery, checkpoint, checkpointEvery, restart, forces, connectTimeout, requestTimeout, backend,
        };
        command.SetAction(parse => CliErrors.Guard(() =>
        {
            var o = new RunOptions
            {
                Model = parse.GetValue(model), From = parse.GetValue(from), Frame = parse.GetValue(frame), Cell = parse.GetValue(cell),
                Steps = parse.GetValue(steps),
                Settings = new MdSettings
                {
                    TimestepFs = parse.GetValue(timestep),
                    Thermostat = parse.GetValue(thermostat) == "none" ? ThermostatKind.None : ThermostatKind.NoseHoover,
                    TemperatureK = parse.GetValue(temperature),
                    ChainLength = parse.GetValue(chain),
                    TauFs = parse.GetValue(tau),
                    Massive = parse.GetValue(massive),
                },
                Seed = parse.GetValue(seed), Trajectory = parse.GetValue(trajectory), Every = parse.GetValue(every),
                Log = parse.GetValue(log), LogEvery = parse.GetValue(logEvery) ?? parse.GetValue(every),
                Checkpoint = parse.GetValue(checkpoint), CheckpointEvery = parse.GetValue(checkpointEvery), Restart = parse.GetValue(restart),
                Forces = parse.GetValue(forces), ConnectTimeoutSeconds = parse.GetValue(connectTimeout), RequestTimeoutSeconds = parse.GetValue(requestTimeout),
                Backend = BackendOption.Parse(parse.GetValue(backend)!),
            };
            return Execute(o);
        }));
        return command;
    }

    internal sealed record RunOptions
    {
        public string? Model { get; init; }
        public string? From { get; init; }
        public int Frame { get; init; }
        public string? Cell { get; init; }
        public long Steps { get; init; }
        public required MdSettings Settings { get; init; }
        public ulong? Seed { get; init; }
        public string? Trajectory { get; init; }
        public int Every { get; init; } = 10;
        public string? Log { get; init; }
        public int LogEvery { get; init; } = 10;
        public string? Checkpoint { get; init; }
        public int CheckpointEvery { get; init; } = 1000;
        public string? Restart { get; init; }
        public string? Forces { get; init; }
        public double ConnectTimeoutSeconds { get; init; } = 120;
        public double RequestTimeoutSeconds { get; init; } = 600;
        public BackendChoice Backend { get; init; } = BackendChoice.Auto;
    }

    private static int Execute(RunOptions o)
    {
        if (o.Every < 1) throw new DataException($"--every must be ≥ 1, got {o.Every}");
        if (o.LogEvery < 1) throw new DataException($"--log-every must be ≥ 1, got {o.LogEvery}");
        if (o.CheckpointEvery < 1) throw new DataException($"--checkpoint-every must be ≥ 1, got {o.CheckpointEvery}");
        if (o.Steps < 0) throw new DataException($"--steps must be ≥ 0, got {o.Steps}");
        if (o.Restart is null && o.From is null) throw new DataException("give --from (start structure) or --restart (checkpoint)");
        if (o.Forces is not null)
        {
            if (o.Model is not null) throw new DataException($"give a model file or --forces, not both ({o.Model}, {o.Forces})");
            if (!(o.ConnectTimeoutSeconds > 0) || !(o.RequestTimeoutSeconds > 0))
                throw new DataException("--connect-timeout and --request-timeout must be > 0 seconds");
            if (o.Forces.StartsWith("grpc:", StringComparison.OrdinalIgnoreCase))
                return Simulate(o, GrpcForces(o));
            if (!o.Forces.StartsWith("ipi:", StringComparison.OrdinalIgnoreCase))
                throw new DataException($"--forces '{o.Forces}': expected ipi:unix:NAME, ipi:HOST:PORT or grpc:HOST:PORT");
            var address = IpiAddress.Parse(o.Forces);
            // One server for the whole run (the client keeps its connection); it is stateless on our side,
            // so the same instance serves after checkpoints too.
            var server = IpiServerForceField.Listen(address, new IpiServerOptions
            {
                ConnectTimeout = TimeSpan.FromSeconds(o.ConnectTimeoutSeconds),
                RequestTimeout = TimeSpan.FromSeconds(o.RequestTimeoutSeconds),
            });
            Console.WriteLine($"forces: listening for an i-PI client on {server.Address} (waiting up to {o.ConnectTimeoutSeconds:0.#} s)");
            return Simulate(o, () => server);
        }
        if (o.Model is null) throw new DataException("give a model file (mld run model.json ...) or --forces ipi:ADDRESS");
        var learned = LearnedModel.Load(o.Model);
        if (learned.Mode == ForceMode.Agent && o.Restart is null && o.Settings is { Thermostat: ThermostatKind.NoseHoover, Massive: false })
            Console.Error.WriteLine("warning: agent-mode forces pump heat and a global chain cannot take it out where it goes in " +
                "(measured: the default model diverged after 3.4 ps with --tau 100); --massive --tau 10 is recommended (README, \"Choosing the thermostat\")");
        // No Verlet skin: the neighbour list is rebuilt every step (measured no slower for 96 atoms), so the
        // evaluator keeps no state between steps and a restart from any step is bit-identical.
        var probe = learned.CreateForceField(skin: 0, backend: o.Backend); // fails here, before any file is written, if simd cannot be had
        BackendOption.Tell(probe);
        Console.Error.WriteLine($"backend: {probe.Backend}");
        Func<IForceField> newForceField = () => learned.CreateForceField(skin: 0, backend: o.Backend);
        return Simulate(o, newForceField);
    }

    /// <summary>
    /// --forces grpc:HOST:PORT: each evaluator the run asks for is its own EvaluateStream (its own evaluator on the
    /// server); the server's model is checked (connect timeout) before the run starts.
    /// </summary>
    private static Func<IForceField> GrpcForces(RunOptions o)
    {
        var address = o.Forces!["grpc:".Length..];
        var options = new GrpcForceFieldOptions
        {
            ConnectTimeout = TimeSpan.FromSeconds(o.ConnectTimeoutSeconds), CallTimeout = TimeSpan.FromSeconds(o.RequestTimeoutSeconds),
        };
        using (var probe = new GrpcForceField(address, options))
            Console.WriteLine($"forces: gRPC server {address}, model {probe.Connect().Name}");
        return () => new GrpcForceField(address, options);
    }

    /// <summary>Sets up the integrator and files, runs, and cleans up; <paramref name="newForceField"/> gives a fresh evaluator.</summary>
    internal static int Simulate(RunOptions o, Func<IForceField> newForceField)
    {
        VerletIntegrator md;
        bool restarting = o.Restart is not null;
        if (restarting)
        {
            using (var stream = File.OpenRead(o.Restart!)) md = Checkpoint.Read(stream, newForceField(), o.Restart!);
            Console.WriteLine($"restart: {o.Restart} at step {md.State.Step} (t = {md.State.TimeFs:0.###} fs); the checkpoint's integration settings are used");
        }
        else md = Start(o, newForceField());
        long startStep = md.State.Step;
        if (o.Steps < startStep) throw new DataException($"--steps {o.Steps} is before the checkpoint's step {startStep}");

        ExtendedXyzWriter? traj = null;
        StreamWriter? log = null;
        string checkpointPath = o.Checkpoint ?? DefaultCheckpoint(o);
        int exitCode = 0;
        SimulationLoop? loop = null;
        PosixSignal? received = null;
        void Interrupt(PosixSignalContext c) { c.Cancel = true; received = c.Signal; loop?.Stop(); }
        // Ctrl-C / kill: finish the current step, flush the trajectory, write a checkpoint, then exit.
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Interrupt);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Interrupt);
        try
        {
            if (o.Trajectory is not null) traj = OpenTrajectory(o.Trajectory, restarting ? startStep : null);
            if (o.Log is not null) log = OpenLog(o.Log, restarting ? startStep : null);
            var progress = new RunProgress(startStep, o.Steps);
            var clock = Stopwatch.StartNew();
            double sumT = 0; long countT = 0;
            double h0 = double.NaN;
            loop = new SimulationLoop(md)
            {
                FrameEvery = o.Every,
                Frame = traj is null ? null : m => traj.Write(m.State.ToFrame()),
                LogEvery = o.LogEvery,
                Log = log is null ? null : m => log.WriteLine(SimulationLoop.ThermoLine(m)),
                CheckpointEvery = o.Checkpoint is null ? 0 : o.CheckpointEvery,
                Checkpoint = m =>
                {
                    traj?.Flush(); log?.Flush();
                    WriteCheckpoint(checkpointPath, m);
                    // A fresh evaluator after every checkpoint: a restarted run starts with a fresh one too,
                    // so neighbour-list state cannot make the two trajectories differ in the last bits.
                    Renew(m, newForceField);
                },
                Progress = step => { sumT += md.Temperature; countT++; progress.Report(step); },
            };
            if (received is not null) loop.Stop(); // a signal that came while setting up
            bool finished;
            try
            {
                md.Initialise(); // the first force call (with --forces: waits for the client)
                h0 = md.ConservedEnergy;
                finished = loop.Run(o.Steps, emitStart: !restarting);
            }
            catch (Exception e) when (e is DataException and not SimulationDivergedException)
            {
                // The force provider failed (e.g. a remote client timed out): the state was rolled back, keep it.
                progress.Done();
                traj?.Flush(); log?.Flush();
                if (md.State.ForcesValid)
                {
                    WriteCheckpoint(checkpointPath, md);
                    Console.Error.WriteLine($"stopped at step {md.State.Step}: trajectory flushed, checkpoint written to {checkpointPath}");
                }
                throw;
            }
            progress.Done();
            traj?.Flush(); log?.Flush();
            if (!finished)
            {
                WriteCheckpoint(checkpointPath, md);
                Console.WriteLine($"interrupted by {received} at step {md.State.Step}: trajectory flushed, checkpoint written to {checkpointPath}");
                Console.WriteLine($"continue with: --restart {checkpointPath} (same --steps, --trajectory and --log append)");
                exitCode = received == PosixSignal.SIGTERM ? 143 : 130;
            }
            else if (o.Checkpoint is not null) WriteCheckpoint(checkpointPath, md);
            double seconds = clock.Elapsed.TotalSeconds;
            long done = md.State.Step - startStep;
            var inv = CultureInfo.InvariantCulture;
            Console.WriteLine(string.Create(inv, $"steps {startStep}..{md.State.Step} ({done}) in {seconds:0.00} s: {done / Math.Max(seconds, 1e-9):0.0} steps/s, {1000 * seconds / Math.Max(done, 1):0.000} ms/step"));
            if (countT > 0)
                Console.WriteLine(string.Create(inv, $"mean temperature {sumT / countT:0.0} K; conserved quantity {h0:0.00000} -> {md.ConservedEnergy:0.00000} eV (drift {md.ConservedEnergy - h0:+0.00000;-0.00000} eV, {(md.ConservedEnergy - h0) / Math.Abs(h0):0.0e+0} relative)"));
        }
        finally
        {
            traj?.Dispose();
            log?.Dispose();
            if (md.ForceField is IDisposable d) d.Dispose();
        }
        return exitCode;
    }

    private static void Renew(VerletIntegrator md, Func<IForceField> newForceField)
    {
        var fresh = newForceField();
        if (ReferenceEquals(fresh, md.ForceField)) return;
        if (md.ForceField is IDisposable d) d.Dispose();
        md.ForceField = fresh;
    }

    private static string DefaultCheckpoint(RunOptions o) =>
        (o.Trajectory ?? o.Log) is { } p ? Path.ChangeExtension(p, ".checkpoint") : "mld-run.checkpoint";

    private static void WriteCheckpoint(string path, VerletIntegrator md) => AtomicFile.Write(path, s => Checkpoint.Write(s, md));

    /// <summary>A fresh integrator: the start frame, its cell, velocities (the frame's or Maxwell–Boltzmann), step 0.</summary>
    private static VerletIntegrator Start(RunOptions o, IForceField forceField)
    {
        static void Warn(string w) => Console.Error.WriteLine("warning: " + w);
        var frames = FrameSource.Load(o.From!, Warn);
        if (frames.Count == 0) throw DataException.At(o.From, null, "no complete frame");
        int index = o.Frame < 0 ? frames.Count + o.Frame : o.Frame;
        if (index < 0 || index >= frames.Count) throw DataException.At(o.From, o.Frame, $"no such frame: the file has {frames.Count} (0..{frames.Count - 1}, or -1 for the last)");
        var frame = frames[index];
        var cell = frame.Cell;
        if (o.Cell is not null)
        {
            var c = ParseCell(o.Cell);
            if (cell is not null && !cell.Equals(c)) Warn($"--cell replaces the cell of {o.From}");
            cell = c;
        }
        if (cell is null) Warn($"{o.From}: no cell (give --cell): simulating an isolated cluster");
        var settings = o.Settings;
        var state = new MdState(frame.Species, frame.Positions, null, cell);
        int dof = settings.DegreesOfFreedom(state.AtomCount);
        if (o.Seed is not null || frame.Velocities is null)
        {
            ulong seed = o.Seed ?? 1;
            Momentum.MaxwellBoltzmann(state.Masses, state.Velocities, settings.TemperatureK, dof, settings.RemoveCenterOfMassMotion, new Xoshiro256(seed));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"start: {o.From} frame {index}, Maxwell–Boltzmann velocities at {settings.TemperatureK} K (seed {seed})"));
        }
        else
        {
            frame.Velocities.CopyTo(state.Velocities, 0);
            if (settings.RemoveCenterOfMassMotion) Momentum.RemoveCenterOfMassMotion(state.Masses, state.Velocities);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"start: {o.From} frame {index} with its velocities ({Momentum.Temperature(state.KineticEnergy(), dof):0.0} K)"));
        }
        return new VerletIntegrator(forceField, state, settings);
    }

    internal static Cell ParseCell(string text)
    {
        var parts = text.Split([' ', ',', '\t'], StringSplitOptions.RemoveEmptyEntries);
        var v = new double[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out v[i]))
                throw new DataException($"--cell: '{parts[i]}' is not a number");
        return v.Length switch
        {
            3 => Cell.Orthorhombic(v[0], v[1], v[2]),
            9 => new Cell(v),
            _ => throw new DataException($"--cell needs 3 lengths or 9 components, got {v.Length} numbers"),
        };
    }

    /// <summary>
    /// Opens the trajectory for writing. On a restart the existing file keeps only frames up to the
    /// checkpoint's step (a killed run may have written past its last checkpoint) and is appended to.
    /// </summary>
    private static ExtendedXyzWriter OpenTrajectory(string path, long? restartStep)
    {
        bool compress = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase);
        if (restartStep is { } k && File.Exists(path))
        {
            var kept = ExtendedXyz.Read(path, w => Console.Error.WriteLine("warning: " + w)).Where(f => f.Step is null || f.Step <= k).ToList();
            ExtendedXyz.Write(path, kept);
            if (compress) throw new DataException($"{path}: a compressed trajectory cannot be appended to; restart into a new file");
            return new ExtendedXyzWriter(new FileStream(path, FileMode.Append, FileAccess.Write), leaveOpen: false);
        }
        return new ExtendedXyzWriter(path);
    }

    /// <summary>Opens the thermo log; on a restart keeps the lines up to the checkpoint's step and appends.</summary>
    private static StreamWriter OpenLog(string path, long? restartStep)
    {
        if (restartStep is { } k && File.Exists(path))
        {
            var kept = File.ReadLines(path).Where(line =>
                !long.TryParse(line.AsSpan(0, Math.Max(0, line.IndexOf(','))), NumberStyles.Integer, CultureInfo.InvariantCulture, out var step) || step <= k).ToList();
            AtomicFile.Write(path, s => { using var w = new StreamWriter(s, leaveOpen: true); foreach (var l in kept) w.WriteLine(l); });
            return new StreamWriter(path, append: true);
        }
        var writer = new StreamWriter(path, append: false);
        writer.WriteLine(SimulationLoop.ThermoHeader);
        return writer;
    }
}

/// <summary>
/// Progress of a run: on a terminal one redrawn line with a bar, steps/s and ETA; otherwise a plain
/// line every 10% (logs and CI stay readable).
/// </summary>
internal sealed class RunProgress(long first, long last)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly bool _terminal = !Console.IsOutputRedirected;
    private long _lastDraw = -1;
    private int _lastDecile;
    private bool _drawn;

    public void Report(long step)
    {
        long elapsedMs = _clock.ElapsedMilliseconds;
        if (_terminal)
        {
            if (_lastDraw >= 0 && elapsedMs - _lastDraw < 200 && step != last) return;
            _lastDraw = elapsedMs;
            Console.Write("\r" + Line(step, elapsedMs));
            _drawn = true;
        }
        else
        {
            int decile = last > first ? (int)(10 * (step - first) / (last - first)) : 10;
            if (decile <= _lastDecile) return;
            _lastDecile = decile;
            Console.WriteLine(Line(step, elapsedMs));
        }
    }

    public void Done()
    {
        if (_drawn) Console.WriteLine();
        _drawn = false;
    }

    private string Line(long step, long elapsedMs)
    {
        double fraction = last > first ? (double)(step - first) / (last - first) : 1;
        double rate = (step - first) / Math.Max(1e-3, elapsedMs / 1000.0);
        double eta = rate > 0 ? (last - step) / rate : double.NaN;
        const int width = 30;
        int filled = (int)Math.Round(fraction * width);
        string bar = _terminal ? "[" + new string('#', filled) + new string('.', width - filled) + "] " : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"{bar}{100 * fraction,5:0.0}%  step {step}/{last}  {rate,8:0.0} steps/s  ETA {Eta(eta)}  ");
    }

    private static string Eta(double seconds) => double.IsFinite(seconds)
        ? TimeSpan.FromSeconds(Math.Round(seconds)).ToString(seconds >= 3600 ? @"h\:mm\:ss" : @"m\:ss", CultureInfo.InvariantCulture)
        : "--:--";
}
