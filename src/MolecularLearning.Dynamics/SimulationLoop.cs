using System.Globalization;

namespace MolecularLearning.Dynamics;

/// <summary>
/// Runs an integrator to a target step, calling out for trajectory frames, thermo lines, checkpoints
/// and progress at their own cadences (multiples of the step number, so a restarted run keeps the
/// same cadence). Stops early, between steps, when <see cref="Stop"/> is requested.
/// </summary>
public sealed class SimulationLoop(VerletIntegrator integrator)
{
    private volatile bool _stop;

    public VerletIntegrator Integrator { get; } = integrator;
    public int FrameEvery { get; init; } = 10;
    public Action<VerletIntegrator>? Frame { get; init; }
    public int LogEvery { get; init; } = 10;
    public Action<VerletIntegrator>? Log { get; init; }
    public int CheckpointEvery { get; init; }
    public Action<VerletIntegrator>? Checkpoint { get; init; }
    /// <summary>Called after every step with the current step (cheap callers only: it runs on the hot loop).</summary>
    public Action<long>? Progress { get; init; }

    /// <summary>Asks the loop to stop after the current step (safe from a signal handler).</summary>
    public void Stop() => _stop = true;
    public bool StopRequested => _stop;

    /// <summary>
    /// Steps until <paramref name="untilStep"/>. The current state is written (frame and log) first when
    /// <paramref name="emitStart"/> (a fresh run; a restart's start was written by the run it continues).
    /// Returns true when the target was reached, false when stopped.
    /// </summary>
    public bool Run(long untilStep, bool emitStart)
    {
        var md = Integrator;
        md.Initialise();
        if (emitStart)
        {
            if (Due(md.State.Step, FrameEvery)) Frame?.Invoke(md);
            if (Due(md.State.Step, LogEvery)) Log?.Invoke(md);
        }
        while (md.State.Step < untilStep)
        {
            if (_stop) return false;
            md.Step();
            long step = md.State.Step;
            if (Due(step, FrameEvery)) Frame?.Invoke(md);
            if (Due(step, LogEvery)) Log?.Invoke(md);
            if (CheckpointEvery > 0 && step % CheckpointEvery == 0 && step < untilStep) Checkpoint?.Invoke(md);
            Progress?.Invoke(step);
        }
        return true;
    }

    private static bool Due(long step, int every) => every > 0 && step % every == 0;

    /// <summary>The thermo log's CSV header.</summary>
    public const string ThermoHeader = "step,time_fs,kinetic_eV,temperature_K,potential_eV,conserved_eV";

    /// <summary>One thermo line (round-trip precision, so energy drifts can be measured from the file).</summary>
    public static string ThermoLine(VerletIntegrator md) => string.Create(CultureInfo.InvariantCulture,
        $"{md.State.Step},{md.State.TimeFs:R},{md.KineticEnergy:R},{md.Temperature:R},{md.PotentialEnergy:R},{md.ConservedEnergy:R}");
}
