using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using MolecularLearning.Core;
using MolecularLearning.Cp2k;
using MolecularLearning.Dynamics;
using MolecularLearning.Grpc.Client;
using MolecularLearning.Learning;
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
        var thermostat = new Option<string?>("--thermostat") { Description = "nose-hoover (NVT) or none (NVE) (default nose-hoover)" };
        thermostat.AcceptOnlyFromAmong("nose-hoover", "none");
        var chain = new Option<int>("--chain") { Description = "Nosé–Hoover chain length", DefaultValueFactory = _ => 3 };
        var tau = new Option<double?>("--tau") { Description = "thermostat time constant (fs), as CP2K's NOSE TIMECON (default: 10 with --massive, else 100)" };
        var massive = new Option<bool>("--massive") { Description = "one chain per atom (CP2K REGION MASSIVE) instead of one for the system (default: on for agent-mode models; --massive false for a global chain)" };
        var seed = new Option<ulong?>("--seed") { Description = "draw Maxwell–Boltzmann velocities with this seed (default: the start frame's velocities, or seed 1 if it has none)" };
        var trajectory = new Option<string?>("--trajectory") { Description = "extended XYZ trajectory to write (positions, velocities, forces, energy)" };
        var every = new Option<int>("--every") { Description = "write a trajectory frame every n steps", DefaultValueFactory = _ => 10 };
        var log = new Option<string?>("--log") { Description = "thermo CSV: step, time_fs, kinetic_eV, temperature_K, potential_eV, conserved_eV" };
        var logEvery = new Option<int?>("--log-every") { Description = "write a thermo line every n steps (default: --every)" };
        var checkpoint = new Option<string?>("--checkpoint") { Description = "checkpoint file (default <trajectory>.checkpoint, <log>.checkpoint or mld-run.checkpoint), written every --checkpoint-every steps, at the end and on SIGINT/SIGTERM" };
        var checkpointEvery = new Option<int?>("--checkpoint-every") { Description = "steps between checkpoints (default 1000 when --checkpoint is given; without either, a checkpoint only at a stop)" };
        var profile = new Option<bool>("--profile") { Description = "time the phases of the step (forces, integrator, thermostat, output, checks, checkpoints) and print them at the end" };
        var restart = new Option<string?>("--restart") { Description = "continue from a checkpoint (its settings are used; trajectory and log are appended)" };
        var forces = new Option<string?>("--forces") { Description = "take forces from elsewhere instead of a model: ipi:unix:NAME (socket /tmp/ipi_NAME) or ipi:HOST:PORT (mld listens, an i-PI client connects), or grpc:HOST:PORT (a served model, e.g. mld serve --grpc)" };
        var connectTimeout = new Option<double>("--connect-timeout") { Description = "with --forces: seconds to wait for the client to connect", DefaultValueFactory = _ => 120 };
        var requestTimeout = new Option<double>("--request-timeout") { Description = "with --forces: seconds one force request may take", DefaultValueFactory = _ => 600 };
        var backend = BackendOption.Create();
        var precision = BackendOption.CreatePrecision();
        var command = new Command("run", "molecular dynamics with a learned model: NVE or Nosé–Hoover NVT, trajectory, thermo log, checkpoints")
        {
            model, from, frame, cell, steps, timestep, temperature, thermostat, chain, tau, massive, seed,
            trajectory, every, log, logEvery, checkpoint, checkpointEvery, restart, forces, connectTimeout, requestTimeout, profile, backend, precision,
        };
        command.SetAction(parse => CliErrors.Guard(() =>
        {
            if (parse.GetValue(checkpointEvery) is < 1 and var n) throw new DataException($"--checkpoint-every must be ≥ 1, got {n}");
            var o = new RunOptions
            {
                Model = parse.GetValue(model), From = parse.GetValue(from), Frame = parse.GetValue(frame), Cell = parse.GetValue(cell),
                Steps = parse.GetValue(steps),
                Settings = new MdSettings
                {
                    TimestepFs = parse.GetValue(timestep),
                    TemperatureK = parse.GetValue(temperature),
                    ChainLength = parse.GetValue(chain),
                },
                ThermostatGiven = parse.GetValue(thermostat) switch { null => null, "none" => ThermostatKind.None, _ => ThermostatKind.NoseHoover },
                MassiveGiven = parse.GetResult(massive) is { Implicit: false } ? parse.GetValue(massive) : null,
                TauGiven = parse.GetValue(tau),
                Profile = parse.GetValue(profile),
                Seed = parse.GetValue(seed), Trajectory = parse.GetValue(trajectory), Every = parse.GetValue(every),
                Log = parse.GetValue(log), LogEvery = parse.GetValue(logEvery) ?? parse.GetValue(every),
                Checkpoint = parse.GetValue(checkpoint), Restart = parse.GetValue(restart),
                CheckpointEvery = parse.GetValue(checkpointEvery) ?? (parse.GetValue(checkpoint) is null ? 0 : 1000),
                Forces = parse.GetValue(forces), ConnectTimeoutSeconds = parse.GetValue(connectTimeout), RequestTimeoutSeconds = parse.GetValue(requestTimeout),
                Backend = BackendOption.Parse(parse.GetValue(backend)!),
                Precision = BackendOption.ParsePrecision(parse.GetValue(precision)!),
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
        /// <summary>Time step, temperature, chain length; the thermostat kind, massive and τ are chosen per model unless given.</summary>
        public required MdSettings Settings { get; init; }
        public ThermostatKind? ThermostatGiven { get; init; }
        public bool? MassiveGiven { get; init; }
        public double? TauGiven { get; init; }
        public bool Profile { get; init; }
        public ulong? Seed { get; init; }
        public string? Trajectory { get; init; }
        public int Every { get; init; } = 10;
        public string? Log { get; init; }
        public int LogEvery { get; init; } = 10;
        public string? Checkpoint { get; init; }
        /// <summary>0: a checkpoint only at a stop (and at the end when <see cref="Checkpoint"/> is given).</summary>
        public int CheckpointEvery { get; init; }
        public string? Restart { get; init; }
        public string? Forces { get; init; }
        public double ConnectTimeoutSeconds { get; init; } = 120;
        public double RequestTimeoutSeconds { get; init; } = 600;
        public BackendChoice Backend { get; init; } = BackendChoice.Auto;
        /// <summary>Not kept in checkpoints: a restart runs at the precision given to it (double unless --precision mixed).</summary>
        public Precision Precision { get; init; } = Precision.Double;
    }

    private static int Execute(RunOptions o)
    {
        if (o.Every < 1) throw new DataException($"--every must be ≥ 1, got {o.Every}");
        if (o.LogEvery < 1) throw new DataException($"--log-every must be ≥ 1, got {o.LogEvery}");
        if (o.CheckpointEvery < 0) throw new DataException($"--checkpoint-every must be ≥ 1, got {o.CheckpointEvery}");
        if (o.Steps < 0) throw new DataException($"--steps must be ≥ 0, got {o.Steps}");
        if (o.Restart is null && o.From is null) throw new DataException("give --from (start structure) or --restart (checkpoint)");
        var forces = SelectForces(o);
        if (o.Restart is null)
        {
            var (settings, line) = ThermostatChoice.For(forces.Conservative, o.Settings, o.ThermostatGiven, o.MassiveGiven, o.TauGiven);
            Console.WriteLine(line);
            if (!forces.Conservative && settings is { Thermostat: ThermostatKind.NoseHoover, Massive: false })
                Console.Error.WriteLine("warning: agent-mode forces pump heat and a global chain cannot take it out where it goes in " +
                    "(the default model diverged after 2.3–3.4 ps with --tau 100); leave --massive and --tau out for the massive chain, τ 10 fs (docs/thermostats.md)");
            o = o with { Settings = settings };
        }
        return Simulate(o, forces.NewForceField, forces.Hash, forces.Conservative, forces.Committee);
    }

    /// <summary>Where the forces come from: a model file or an i-PI client (--forces); whether they are conservative; the identity kept in checkpoints.</summary>
    /// <param name="Committee">A model file's committee members to check every output step (null: none).</param>
    internal sealed record ForceSource(Func<IForceField> NewForceField, bool Conservative, string Hash, CommitteeWatch? Committee = null);

    /// <summary>The force provider of a run, from the model argument or --forces.</summary>
    private static ForceSource SelectForces(RunOptions o)
    {
        if (o.Forces is not null)
        {
            if (o.Model is not null) throw new DataException($"give a model file or --forces, not both ({o.Model}, {o.Forces})");
            if (!(o.ConnectTimeoutSeconds > 0) || !(o.RequestTimeoutSeconds > 0))
                throw new DataException("--connect-timeout and --request-timeout must be > 0 seconds");
            if (o.Forces.StartsWith("grpc:", StringComparison.OrdinalIgnoreCase))
                return GrpcForces(o);
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
            // An external code computes forces from a potential: treated as conservative.
            return new ForceSource(() => server, Conservative: true, Hash: "ipi");
        }
        if (o.Model is null) throw new DataException("give a model file (mld run model.json ...) or --forces ipi:ADDRESS");
        var learned = LearnedModel.Load(o.Model);
        // No Verlet skin: the neighbour list is rebuilt every step (measured no slower for 96 atoms), so the
        // evaluator keeps no state between steps and a restart from any step is bit-identical.
        var probe = learned.CreateForceField(skin: 0, backend: o.Backend, precision: o.Precision); // fails here, before any file is written, if simd cannot be had
        BackendOption.Tell(probe);
        Console.Error.WriteLine($"backend: {probe.Backend}");
        return new ForceSource(() => learned.CreateForceField(skin: 0, backend: o.Backend, precision: o.Precision), learned.Mode == ForceMode.Conservative, Checkpoint.FileHash(o.Model),
            learned.Committee is null ? null : new CommitteeWatch(learned, o.Backend));
    }

    /// <summary>
    /// --forces grpc:HOST:PORT: each evaluator the run asks for is its own EvaluateStream (its own evaluator on the
    /// server); the server's model is checked (connect timeout) before the run starts, and its mode picks the thermostat.
    /// </summary>
    private static ForceSource GrpcForces(RunOptions o)
    {
        var address = o.Forces!["grpc:".Length..];
        var options = new GrpcForceFieldOptions
        {
            ConnectTimeout = TimeSpan.FromSeconds(o.ConnectTimeoutSeconds), CallTimeout = TimeSpan.FromSeconds(o.RequestTimeoutSeconds),
        };
        string mode;
        using (var probe = new GrpcForceField(address, options))
        {
            var served = probe.Connect();
            mode = served.Mode;
            Console.WriteLine($"forces: gRPC server {address}, model {served.Name} ({mode})");
        }
        return new ForceSource(() => new GrpcForceField(address, options),
            Conservative: mode.Equals("conservative", StringComparison.OrdinalIgnoreCase), Hash: "grpc");
    }

    /// <summary>Sets up the integrator and files, runs, and cleans up; <paramref name="newForceField"/> gives a fresh evaluator.</summary>
    internal static int Simulate(RunOptions o, Func<IForceField> newForceField, string modelHash, bool conservativeForces, CommitteeWatch? committee = null)
    {
        VerletIntegrator md;
        bool restarting = o.Restart is not null;
        if (restarting)
        {
            using (var stream = File.OpenRead(o.Restart!)) md = Checkpoint.Read(stream, newForceField(), o.Restart!, modelHash);
            Console.WriteLine($"restart: {o.Restart} at step {md.State.Step} (t = {md.State.TimeFs:0.###} fs); the checkpoint's integration settings are used");
        }
        else md = Start(o, newForceField());
        long startStep = md.State.Step;
        if (o.Steps < startStep) throw new DataException($"--steps {o.Steps} is before the checkpoint's step {startStep}");

        var output = new MdRunOutput
        {
            Trajectory = o.Trajectory, Every = o.Every, Log = o.Log, LogEvery = o.LogEvery,
            Checkpoint = o.Checkpoint, CheckpointEvery = o.CheckpointEvery, ModelHash = modelHash,
        };
        int exitCode = 0;
        MdRun? run = null;
        PosixSignal? received = null;
        void Interrupt(PosixSignalContext c) { c.Cancel = true; received = c.Signal; run?.Stop(); }
        // Ctrl-C / kill: finish the current step, flush the trajectory, write a checkpoint, then exit.
        AtomicFile.CallerHandlesSignals = true; // this loop finishes the step and its writes, then exits
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Interrupt);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Interrupt);
        var progress = new RunProgress(startStep, o.Steps);
        try
        {
            run = new MdRun(md, output, newForceField, restarting ? startStep : null, DivergenceLimits.For(conservativeForces))
            {
                // With a committee the progress callback also checks it, every output step (K evaluations each).
                Progress = committee is null ? progress.Report : step =>
                {
                    progress.Report(step);
                    if (step % o.Every == 0) committee.Check(step, md.State.Species, md.State.Positions, md.State.Cell);
                },
                ProgressEvery = committee is null ? (int)Math.Clamp((o.Steps - startStep) / 1000, 1, 100) : o.Every,
                Profile = o.Profile ? new RunProfile() : null,
            };
            if (received is not null) run.Stop(); // a signal that came while setting up
            var clock = Stopwatch.StartNew();
            double thermostat0 = md.Thermostat?.Energy() ?? 0;   // its growth is the heat the thermostat took out
            bool finished;
            try { finished = run.Run(o.Steps, emitStart: !restarting); }
            catch (DataException e) when (e is not SimulationDivergedException)
            {
                progress.Done();
                if (run.LastCheckpointStep == md.State.Step)
                    Console.Error.WriteLine($"stopped at step {md.State.Step}: trajectory flushed, checkpoint written to {output.CheckpointPath}");
                throw;
            }
            catch (SimulationDivergedException)
            {
                progress.Done();
                throw;
            }
            double seconds = clock.Elapsed.TotalSeconds;
            progress.Done();
            if (!finished)
            {
                Console.WriteLine($"interrupted by {received} at step {md.State.Step}: trajectory flushed, checkpoint written to {output.CheckpointPath}");
                Console.WriteLine($"continue with: --restart {output.CheckpointPath} (same --steps, --trajectory and --log append)");
                exitCode = received == PosixSignal.SIGTERM ? 143 : 130;
            }
            long done = md.State.Step - startStep;
            var inv = CultureInfo.InvariantCulture;
            Console.WriteLine(string.Create(inv, $"steps {startStep}..{md.State.Step} ({done}) in {seconds:0.00} s: {done / Math.Max(seconds, 1e-9):0.0} steps/s, {1000 * seconds / Math.Max(done, 1):0.000} ms/step"));
            if (done > 0)
            {
                double h0 = run.InitialConserved, h = md.ConservedEnergy;
                // Per ps too, to compare runs of different lengths (agent-mode heat: the next line).
                double ps = done * md.Settings.TimestepFs / 1000;
                Console.WriteLine(string.Create(inv, $"mean temperature {run.MeanTemperature:0.0} K; conserved quantity {h0:0.00000} -> {h:0.00000} eV (drift {h - h0:+0.00000;-0.00000} eV, {(h - h0) / Math.Abs(h0):0.0e+0} relative, {(h - h0) / ps:+0.000;-0.000} eV/ps)"));
                double heat = ((md.Thermostat?.Energy() ?? 0) - thermostat0) / ps;
                if (!conservativeForces && heat > 0 && md.Thermostat?.WarmOffsetBound(heat) is { } bound)
                    Console.WriteLine(string.Create(inv, $"heat: the thermostat took out {heat:0.000} eV/ps, the agent forces' net work once the run is steady; a global chain of {md.Settings.ChainLength} links taking it out settles warm by up to τP/(N_f k_B) = {bound:0.0} K (a chain of 1 does not: docs/thermostats.md)"));
                var (largest, at, atom, invariant) = run.LargestExtrapolation;
                Console.WriteLine(run.StepsWithSignal == 0
                    ? "extrapolation: not available (the forces carry no signal: a model file without training ranges, or a server that does not send it)"
                    : run.StepsOutside == 0
                    ? string.Create(inv, $"extrapolation: all {run.StepsWithSignal} steps inside the training range")
                    : string.Create(inv, $"extrapolation: {run.StepsOutside} of {run.StepsWithSignal} steps ({100.0 * run.StepsOutside / run.StepsWithSignal:0.#}%) outside the training range; largest {NumberText.Short(largest)} training spreads at step {at} (atom {atom}, {invariant})"));
            }
            if (committee is { Checks: > 0 })
                Console.WriteLine(string.Create(inv, $"committee deviation ({committee.Members} members, every {o.Every} steps, {committee.Checks} checks): median {committee.Median:0.0000} eV/Å, largest {committee.Largest:0.0000} eV/Å at step {committee.LargestStep} (atom {committee.LargestAtom}); mean over atoms: median {committee.MedianMean:0.0000} eV/Å"));
            if (run.Profile is { } p)
            {
                Console.WriteLine($"profile ({p.Steps} steps):");
                foreach (var line in p.Lines()) Console.WriteLine(line);
            }
        }
        finally
        {
            run?.Dispose();
            if (md.ForceField is IDisposable d) d.Dispose();
        }
        return exitCode;
    }

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
        if (forceField is LearnedForceField { Model: var model } && string.Join(", ", model.MassDifferences(frame.Species)) is { Length: > 0 } masses)
            Warn($"{o.From}: masses not the model's: {masses}; the run uses the start's");
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
