using System.Diagnostics;
using System.Globalization;
using MolecularLearning.Core;
using MolecularLearning.Cp2k;

namespace MolecularLearning.Dynamics;

/// <summary>Where and how often a run writes: trajectory, thermo log, checkpoints (0 = never, except at a stop).</summary>
public sealed record MdRunOutput
{
    public string? Trajectory { get; init; }
    public int Every { get; init; } = 10;
    public string? Log { get; init; }
    public int LogEvery { get; init; } = 10;
    /// <summary>Checkpoint file (null: <see cref="DefaultCheckpoint"/>).</summary>
    public string? Checkpoint { get; init; }
    public int CheckpointEvery { get; init; }
    /// <summary>Identity of the force provider (the model file's SHA-256), stored in checkpoints and checked on restart.</summary>
    public string ModelHash { get; init; } = "";

    /// <summary>The checkpoint file: as given, else <c>&lt;trajectory&gt;.checkpoint</c>, <c>&lt;log&gt;.checkpoint</c> or mld-run.checkpoint.</summary>
    public string CheckpointPath => Checkpoint ?? DefaultCheckpoint(Trajectory, Log);

    public static string DefaultCheckpoint(string? trajectory, string? log) => (trajectory ?? log) is { } p ? p + ".checkpoint" : "mld-run.checkpoint";
}

/// <summary>
/// When a run counts as diverged, judged from the physics after every step: a temperature above
/// <see cref="TemperatureFactor"/> × the target, an atom moving more than <see cref="MaxStepDisplacement"/> in one
/// step (more than a neighbour-list skin: the forces would be computed from a wrong list), or the conserved
/// quantity drifting by more than <see cref="MaxDriftPerAtom"/> per atom from the start (conservative forces only,
/// see <see cref="For"/>).
/// </summary>
public sealed record DivergenceLimits
{
    public double TemperatureFactor { get; init; } = 10;
    /// <summary>Å per step; a water atom at 300 K moves ~0.01 Å in 0.5 fs.</summary>
    public double MaxStepDisplacement { get; init; } = 0.5;
    /// <summary>eV per atom (1 eV per atom is the kinetic energy of ~7,700 K).</summary>
    public double MaxDriftPerAtom { get; init; } = 1.0;
    /// <summary>Steps between conserved-quantity checks (it costs a pass over the chains).</summary>
    public int DriftCheckEvery { get; init; } = 10;

    /// <summary>
    /// The limits for a run's forces. Agent-mode forces are not the gradient of one energy: the thermostat removes the
    /// work they do, so the conserved quantity drifts steadily in a healthy run (measured: ~100 eV over 20 ps of the
    /// 96-atom box at 300 K under the massive chain). For them only a non-finite drift counts; their divergence
    /// shows in the temperature and the step displacement.
    /// </summary>
    public static DivergenceLimits For(bool conservativeForces) =>
        conservativeForces ? new() : new() { MaxDriftPerAtom = double.PositiveInfinity };
}

/// <summary>Seconds spent in each phase of a run's steps (with <see cref="MdRun.Profile"/> on).</summary>
public sealed class RunProfile
{
    internal long Thermostat, Integrator, Forces, Output, Checks, Checkpoints;
    public long Steps { get; internal set; }
    public double ThermostatSeconds => S(Thermostat);
    public double IntegratorSeconds => S(Integrator);
    /// <summary>Force evaluation, which includes the evaluator's neighbour list.</summary>
    public double ForcesSeconds => S(Forces);
    public double OutputSeconds => S(Output);
    public double ChecksSeconds => S(Checks);
    public double CheckpointSeconds => S(Checkpoints);
    private static double S(long ticks) => (double)ticks / Stopwatch.Frequency;

    /// <summary>One line per phase: total seconds, µs per step, share of the timed total.</summary>
    public IEnumerable<string> Lines()
    {
        var phases = new (string Name, double Seconds)[]
        {
            ("forces (with neighbour list)", ForcesSeconds), ("integrator", IntegratorSeconds), ("thermostat", ThermostatSeconds),
            ("output", OutputSeconds), ("divergence checks", ChecksSeconds), ("checkpoints", CheckpointSeconds),
        };
        double total = phases.Sum(p => p.Seconds);
        foreach (var (name, s) in phases)
            yield return string.Create(CultureInfo.InvariantCulture,
                $"  {name,-30} {s,9:0.000} s {1e6 * s / Math.Max(1, Steps),9:0.0} µs/step {100 * s / Math.Max(total, 1e-12),6:0.0} %");
    }
}

/// <summary>
/// The `mld run` loop as a library type, so `mld bench` times the same code a user runs: steps the integrator,
/// writes trajectory frames and thermo lines into preallocated buffers (drained to disk when full, flushed at
/// checkpoints, stops and exit), writes checkpoints, and stops with "step N: ..." when the physics diverges
/// (the last checkpoint written stays as it was). Per step it allocates nothing.
/// </summary>
public sealed class MdRun : IDisposable
{
    private readonly Func<IForceField>? _renew;
    private readonly ExtendedXyzWriter? _trajectory;
    private readonly StreamWriter? _log;
    private readonly char[] _line = new char[512];
    private readonly Frame? _frameView; // the state's own arrays: writing a frame copies nothing
    private readonly double _temperatureLimit;
    private volatile bool _stop;
    private double _sumTemperature;
    private long _countTemperature;
    private bool _warnedOutside;

    /// <param name="integrator">a fresh or restarted integrator (need not be initialised).</param>
    /// <param name="renew">a fresh evaluator, taken after each checkpoint so a restarted run (which starts with a fresh
    /// one) is bit-identical to an uninterrupted one; null keeps the evaluator.</param>
    /// <param name="appendFromStep">a restart: trajectory and log keep what they hold up to this step and are appended to.</param>
    public MdRun(VerletIntegrator integrator, MdRunOutput output, Func<IForceField>? renew = null, long? appendFromStep = null,
        DivergenceLimits? limits = null, double? targetTemperatureK = null)
    {
        Integrator = integrator;
        Output = output;
        Limits = limits ?? new DivergenceLimits();
        _renew = renew;
        if (output.Every < 1) throw new DataException($"--every must be ≥ 1, got {output.Every}");
        if (output.LogEvery < 1) throw new DataException($"--log-every must be ≥ 1, got {output.LogEvery}");
        if (output.CheckpointEvery < 0) throw new DataException($"--checkpoint-every must be ≥ 1, got {output.CheckpointEvery}");
        _temperatureLimit = Limits.TemperatureFactor * (targetTemperatureK ?? integrator.Settings.TemperatureK);
        integrator.MaxStepDisplacement = Limits.MaxStepDisplacement;
        var s = integrator.State;
        try
        {
            if (output.Trajectory is not null)
            {
                _trajectory = OpenTrajectory(output.Trajectory, appendFromStep);
                _frameView = new Frame(s.Species, s.Positions, s.Cell) { Velocities = s.Velocities, Forces = s.Forces };
            }
            if (output.Log is not null) _log = OpenLog(output.Log, appendFromStep);
        }
        catch
        {
            _trajectory?.Dispose();
            throw;
        }
    }

    public VerletIntegrator Integrator { get; }
    public MdRunOutput Output { get; }
    public DivergenceLimits Limits { get; }
    /// <summary>Per-phase timers; null (the default) times nothing.</summary>
    public RunProfile? Profile { get; set; }
    /// <summary>Called every <see cref="ProgressEvery"/> steps with the step (a progress display).</summary>
    public Action<long>? Progress { get; init; }
    public int ProgressEvery { get; init; } = 100;
    /// <summary>Conserved quantity at the start of <see cref="Run"/> (eV).</summary>
    public double InitialConserved { get; private set; } = double.NaN;
    public double MeanTemperature => _countTemperature > 0 ? _sumTemperature / _countTemperature : double.NaN;
    /// <summary>Steps of this run whose forces reported an extrapolation signal (a learned model with training ranges).</summary>
    public long StepsWithSignal { get; private set; }
    /// <summary>Steps of this run with some atom's invariants outside the training range (signal &gt; 0).</summary>
    public long StepsOutside { get; private set; }
    /// <summary>The largest signal of this run (training spreads beyond the range), its step, atom and invariant.</summary>
    public (double Value, long Step, int Atom, string? Invariant) LargestExtrapolation { get; private set; }
    /// <summary>Where the one-time warning goes when the run first leaves the training range (default: stderr).</summary>
    public Action<string> Warn { get; init; } = w => Console.Error.WriteLine("warning: " + w);
    /// <summary>Step of the last checkpoint written by this run (null: none yet).</summary>
    public long? LastCheckpointStep { get; private set; }

    /// <summary>Asks the run to stop after the current step (safe from a signal handler).</summary>
    public void Stop() => _stop = true;
    public bool StopRequested => _stop;

    /// <summary>
    /// Steps until <paramref name="untilStep"/>; the start state is written first when <paramref name="emitStart"/>
    /// (a fresh run). Returns true when the target was reached, false when stopped (outputs flushed, checkpoint
    /// written). Divergence throws <see cref="SimulationDivergedException"/> after flushing the outputs.
    /// </summary>
    public bool Run(long untilStep, bool emitStart)
    {
        var md = Integrator;
        var profile = Profile;
        md.Profile = profile;
        try
        {
            md.Initialise(); // the first force call (with a remote force provider: waits for it)
            InitialConserved = md.ConservedEnergy;
            if (emitStart) Emit(md.State.Step);
            int atoms = md.State.AtomCount;
            double driftLimit = Limits.MaxDriftPerAtom * atoms;
            while (md.State.Step < untilStep)
            {
                if (_stop) break;
                try { md.Step(); }
                catch (SimulationDivergedException e) { throw new SimulationDivergedException(e.Message + CheckpointNote()); }
                long step = md.State.Step;
                long t0 = profile is null ? 0 : Stopwatch.GetTimestamp();
                double temperature = md.Temperature;
                _sumTemperature += temperature;
                _countTemperature++;
                if (temperature > _temperatureLimit)
                    throw Diverged($"step {step}: temperature {temperature:0.#} K is above {_temperatureLimit:0} K ({Limits.TemperatureFactor:0.#} × the target {_temperatureLimit / Limits.TemperatureFactor:0.#} K)");
                if (step % Limits.DriftCheckEvery == 0)
                {
                    double drift = md.ConservedEnergy - InitialConserved;
                    if (!(Math.Abs(drift) <= driftLimit))
                        throw Diverged($"step {step}: the conserved quantity drifted by {drift:0.###} eV since step {step - _countTemperature} (bound {Limits.MaxDriftPerAtom:0.###} eV per atom, {driftLimit:0.#} eV)");
                }
                Extrapolation(step);
                if (profile is not null) { long t1 = Stopwatch.GetTimestamp(); profile.Checks += t1 - t0; t0 = t1; profile.Steps++; }
                Emit(step);
                if (Output.CheckpointEvery > 0 && step % Output.CheckpointEvery == 0 && step < untilStep) WriteCheckpoint(renew: true);
                if (profile is not null) profile.Output += Stopwatch.GetTimestamp() - t0;
                if (Progress is not null && step % ProgressEvery == 0) Progress(step);
            }
            Progress?.Invoke(md.State.Step);
            FlushOutputs();
            bool finished = md.State.Step >= untilStep;
            if (!finished || Output.CheckpointEvery > 0 || Output.Checkpoint is not null) WriteCheckpoint(renew: false);
            return finished;
        }
        catch (SimulationDivergedException)
        {
            FlushOutputs();
            throw;
        }
        catch (Exception e) when (e is DataException)
        {
            // The force provider failed (e.g. a remote client timed out): the integrator put the state back, keep it.
            FlushOutputs();
            if (md.State.ForcesValid) WriteCheckpoint(renew: false);
            throw;
        }
    }

    /// <summary>Counts the step when the forces say it lies outside the training range; warns at the first such step.</summary>
    private void Extrapolation(long step)
    {
        var r = Integrator.LastForces;
        double x = r.Extrapolation;
        if (double.IsNaN(x)) return;
        StepsWithSignal++;
        if (!(x > 0)) return;
        StepsOutside++;
        if (x > LargestExtrapolation.Value) LargestExtrapolation = (x, step, r.ExtrapolationAtom, r.ExtrapolationInvariant);
        if (_warnedOutside) return;
        _warnedOutside = true;
        Warn(string.Create(CultureInfo.InvariantCulture,
            $"step {step}: atom {r.ExtrapolationAtom}'s invariant {r.ExtrapolationInvariant} is {NumberText.Short(x)} training spreads outside the range the model was fitted on; forces there are extrapolated (warned once; the run's count is reported at the end)"));
    }

    private SimulationDivergedException Diverged(string what) =>
        new(string.Create(CultureInfo.InvariantCulture, $"{what}: the dynamics diverged{CheckpointNote()}"));

    private string CheckpointNote() => LastCheckpointStep is { } k
        ? $"; last good checkpoint {Output.CheckpointPath} (step {k})"
        : File.Exists(Output.CheckpointPath) ? $"; checkpoint {Output.CheckpointPath} left as it was" : "";

    private void Emit(long step)
    {
        var md = Integrator;
        if (_trajectory is not null && step % Output.Every == 0)
        {
            var s = md.State;
            var f = _frameView!;
            f.Energy = s.ForcesValid ? s.PotentialEnergy : null;
            f.Step = s.Step;
            f.Time = s.TimeFs;
            _trajectory.Write(f);
        }
        if (_log is not null && step % Output.LogEvery == 0)
        {
            // Formatted into a reusable buffer, value by value (an interpolated TryWrite boxes each value until the JIT
            // optimises it): no allocation per line. The same text as SimulationLoop.ThermoLine.
            var s = md.State;
            var line = _line.AsSpan();
            s.Step.TryFormat(line, out int n, default, CultureInfo.InvariantCulture);
            n = Number(line, n, s.TimeFs);
            n = Number(line, n, md.KineticEnergy);
            n = Number(line, n, md.Temperature);
            n = Number(line, n, s.PotentialEnergy);
            n = Number(line, n, md.ConservedEnergy);
            line[n++] = '\n';
            _log.Write(_line, 0, n);
        }
    }

    /// <summary>Appends ",value" in round-trip precision at <paramref name="at"/>; returns the new end.</summary>
    private static int Number(Span<char> line, int at, double value)
    {
        line[at++] = ',';
        if (!value.TryFormat(line[at..], out int written, "R", CultureInfo.InvariantCulture))
            throw new InvalidOperationException("thermo line longer than its buffer");
        return at + written;
    }

    /// <summary>Pushes trajectory and log to disk.</summary>
    public void FlushOutputs()
    {
        _trajectory?.Flush();
        _log?.Flush();
    }

    /// <summary>Flushes the outputs and writes a checkpoint of the current state (temp file + rename).</summary>
    public void WriteCheckpoint(bool renew)
    {
        long t0 = Profile is null ? 0 : Stopwatch.GetTimestamp();
        FlushOutputs();
        var md = Integrator;
        AtomicFile.Write(Output.CheckpointPath, stream => Checkpoint.Write(stream, md, Output.ModelHash));
        LastCheckpointStep = md.State.Step;
        if (renew && _renew is not null)
        {
            var fresh = _renew();
            if (!ReferenceEquals(fresh, md.ForceField))
            {
                if (md.ForceField is IDisposable d) d.Dispose();
                md.ForceField = fresh;
            }
        }
        if (Profile is { } p) p.Checkpoints += Stopwatch.GetTimestamp() - t0;
    }

    public void Dispose()
    {
        _trajectory?.Dispose();
        _log?.Dispose();
    }

    /// <summary>
    /// Opens the trajectory. On a restart the existing file keeps only frames up to the checkpoint's step
    /// (a killed run may have written past its last checkpoint) and is appended to.
    /// </summary>
    private static ExtendedXyzWriter OpenTrajectory(string path, long? restartStep)
    {
        bool compress = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase);
        if (restartStep is { } k && File.Exists(path))
        {
            if (compress) throw new DataException($"{path}: a compressed trajectory cannot be appended to; restart into a new file");
            var kept = ExtendedXyz.Read(path, w => Console.Error.WriteLine("warning: " + w)).Where(f => f.Step is null || f.Step <= k).ToList();
            ExtendedXyz.Write(path, kept);
            return new ExtendedXyzWriter(new FileStream(path, FileMode.Append, FileAccess.Write), leaveOpen: false);
        }
        return new ExtendedXyzWriter(path);
    }

    /// <summary>Opens the thermo log (64 K characters, ~600 lines); on a restart keeps the lines up to the checkpoint's step and appends.</summary>
    private static StreamWriter OpenLog(string path, long? restartStep)
    {
        // Not 1 M: StreamWriter allocates its byte buffer (3 bytes a character) at the first flush, inside the run.
        const int buffer = 1 << 16;
        if (restartStep is { } k && File.Exists(path))
        {
            // A killed run can leave its last line cut, even inside the step ("3" of 35), which would read as no
            // step and be kept: a last line without its newline is dropped.
            var lines = File.ReadAllLines(path);
            if (lines.Length > 0 && !EndsWithNewline(path)) lines = lines[..^1];
            var kept = lines.Where(line =>
                !long.TryParse(line.AsSpan(0, Math.Max(0, line.IndexOf(','))), NumberStyles.Integer, CultureInfo.InvariantCulture, out var step) || step <= k).ToList();
            AtomicFile.Write(path, s => { using var w = new StreamWriter(s, leaveOpen: true); foreach (var l in kept) w.WriteLine(l); });
            return new StreamWriter(path, append: true, System.Text.Encoding.UTF8, buffer);
        }
        var writer = new StreamWriter(path, append: false, new System.Text.UTF8Encoding(false), buffer);
        writer.WriteLine(SimulationLoop.ThermoHeader);
        return writer;
    }

    private static bool EndsWithNewline(string path)
    {
        using var f = File.OpenRead(path);
        if (f.Length == 0) return true;
        f.Seek(-1, SeekOrigin.End);
        return f.ReadByte() == '\n';
    }
}
