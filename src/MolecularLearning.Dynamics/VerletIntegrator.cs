using System.Diagnostics;
using MolecularLearning.Core;

namespace MolecularLearning.Dynamics;

/// <summary>Thrown when the dynamics leaves the finite numbers: the force field sent atoms where it is wrong.</summary>
public sealed class SimulationDivergedException(string message) : DataException(message);

/// <summary>
/// Velocity Verlet (NVE), or NVT with a Nosé–Hoover chain applied as the Trotter factors
/// exp(iL_NHC dt/2) exp(iL_v dt/2) exp(iL_x dt) exp(iL_v dt/2) exp(iL_NHC dt/2).
/// Any <see cref="IForceField"/> drives it. <see cref="Step"/> allocates nothing.
/// </summary>
public sealed class VerletIntegrator
{
    private readonly ForceResult _result;
    private readonly double[] _savedX, _savedV, _savedXi, _savedVxi; // the state before a step, restored if forces fail
    private readonly double[] _invMass; // 1 / (m · amu·Å²/fs² in eV): acceleration = F · invMass
    private readonly double _totalMass; // amu, for the centre-of-mass velocity
    private bool _initialised; // KineticEnergy is that of State.Velocities

    public VerletIntegrator(IForceField forceField, MdState state, MdSettings settings)
    {
        settings.Validate();
        ForceField = forceField;
        State = state;
        Settings = settings;
        DegreesOfFreedom = settings.DegreesOfFreedom(state.AtomCount);
        _result = new ForceResult(state.AtomCount);
        _invMass = new double[state.AtomCount];
        for (int i = 0; i < state.AtomCount; i++) _invMass[i] = 1 / (state.Masses[i] * Units.AmuAngstrom2PerFs2InEv);
        _totalMass = Momentum.TotalMass(state.Masses);
        if (settings.Thermostat == ThermostatKind.NoseHoover)
            Thermostat = new NoseHooverChains(state.AtomCount, DegreesOfFreedom, settings.TemperatureK, settings.TauFs,
                settings.ChainLength, settings.Massive, settings.MultipleTimeSteps, settings.YoshidaOrder);
        _savedX = new double[state.Positions.Length];
        _savedV = new double[state.Positions.Length];
        _savedXi = new double[Thermostat?.Positions.Length ?? 0];
        _savedVxi = new double[_savedXi.Length];
    }

    /// <summary>The force field; may be replaced between steps (a fresh evaluator at a checkpoint).</summary>
    public IForceField ForceField { get; set; }
    public MdState State { get; }
    public MdSettings Settings { get; }
    public NoseHooverChains? Thermostat { get; }
    public int DegreesOfFreedom { get; }
    /// <summary>The force field's result for the current positions (energy, forces and its extrapolation signal).</summary>
    public ForceResult LastForces => _result;
    /// <summary>Kinetic energy (eV) after the last step.</summary>
    public double KineticEnergy { get; private set; }
    public double Temperature => Momentum.Temperature(KineticEnergy, DegreesOfFreedom);
    public double PotentialEnergy => State.PotentialEnergy;
    /// <summary>
    /// Largest distance (Å) an atom may move in one step; beyond it the step is undone before the forces are asked
    /// for and <see cref="SimulationDivergedException"/> names the atom (no physical step moves an atom that far,
    /// and an evaluator handed such positions may fail in ways that hide the cause).
    /// </summary>
    public double MaxStepDisplacement { get; set; } = double.PositiveInfinity;
    /// <summary>Per-phase timers (thermostat, integrator, forces); null times nothing.</summary>
    public RunProfile? Profile { get; set; }
    /// <summary>
    /// Kinetic energy (eV) the per-step centre-of-mass projection has taken out since the run began. Massive chains scale
    /// each atom by its own factor, which gives the box momentum that the projection removes: ~6e-3 of the kinetic energy
    /// per 2 ps of a water box at 0.25 fs, τ 20 fs, first order in the time step, so it is counted, as the thermostat's is.
    /// </summary>
    public double RemovedCenterOfMassEnergy { get; set; }
    /// <summary>The conserved quantity (eV): kinetic + potential + the thermostat's energy + what the centre-of-mass projection removed.</summary>
    public double ConservedEnergy => KineticEnergy + State.PotentialEnergy + (Thermostat?.Energy() ?? 0) + RemovedCenterOfMassEnergy;

    /// <summary>
    /// Evaluates forces at the current positions unless the state already carries them (a restart), and the kinetic
    /// energy. Call it again after changing the state's velocities between steps: the thermostat starts from it.
    /// </summary>
    public void Initialise()
    {
        if (!State.ForcesValid) ComputeForces();
        KineticEnergy = State.KineticEnergy();
        _initialised = true;
    }

    /// <summary>
    /// One time step. If the force field throws (a remote client timed out, a model refused a configuration),
    /// the state is put back as it was before the step, so it can still be checkpointed, and the exception rethrown.
    /// </summary>
    public void Step()
    {
        if (!State.ForcesValid || !_initialised) Initialise();
        var s = State;
        var profile = Profile;
        long t0 = profile is null ? 0 : Stopwatch.GetTimestamp();
        double dt = Settings.TimestepFs, half = 0.5 * dt;
        var x = s.Positions; var v = s.Velocities; var f = s.Forces;
        x.CopyTo(_savedX, 0); v.CopyTo(_savedV, 0);
        if (Thermostat is { } nhc) { nhc.Positions.CopyTo(_savedXi); nhc.Velocities.CopyTo(_savedVxi); }
        if (profile is not null) t0 = Lap(ref profile.Integrator, t0);
        // The velocities are those KineticEnergy was computed from (at Initialise or the end of the last step).
        Thermostat?.HalfStep(dt, s.Masses, v, KineticEnergy, ParallelRunner.Shared);
        if (profile is not null) t0 = Lap(ref profile.Thermostat, t0);
        double maxMove2 = 0;
        int fastest = 0;
        for (int i = 0; i < _invMass.Length; i++)
        {
            double c = half * _invMass[i];
            int k = 3 * i;
            v[k] += c * f[k]; v[k + 1] += c * f[k + 1]; v[k + 2] += c * f[k + 2];
            double mx = dt * v[k], my = dt * v[k + 1], mz = dt * v[k + 2];
            x[k] += mx; x[k + 1] += my; x[k + 2] += mz;
            double move2 = mx * mx + my * my + mz * mz;
            if (move2 > maxMove2) { maxMove2 = move2; fastest = i; }
        }
        // Written so that NaN fails it too.
        if (!(maxMove2 <= MaxStepDisplacement * MaxStepDisplacement))
        {
            Restore();
            throw new SimulationDivergedException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"step {s.Step + 1}: atom {fastest} ({s.Species[fastest].Symbol}) would move {Math.Sqrt(maxMove2):0.###} Å in one step (more than {MaxStepDisplacement:0.###} Å, the neighbour-list skin): the dynamics diverged"));
        }
        if (profile is not null) t0 = Lap(ref profile.Integrator, t0);
        try { ComputeForces(); }
        catch (Exception e) when (e is not SimulationDivergedException)
        {
            Restore();
            // Forces and potential are only overwritten after a successful Compute, so they still match the restored positions.
            throw;
        }
        if (profile is not null) t0 = Lap(ref profile.Forces, t0);
        for (int i = 0; i < _invMass.Length; i++)
        {
            double c = half * _invMass[i];
            int k = 3 * i;
            v[k] += c * f[k]; v[k + 1] += c * f[k + 1]; v[k + 2] += c * f[k + 2];
        }
        if (profile is not null) t0 = Lap(ref profile.Integrator, t0);
        Thermostat?.HalfStep(dt, s.Masses, v, null, ParallelRunner.Shared);
        if (profile is not null) t0 = Lap(ref profile.Thermostat, t0);
        if (Settings.RemoveCenterOfMassMotion) RemovedCenterOfMassEnergy += Momentum.RemoveCenterOfMassMotion(s.Masses, v, _totalMass);
        s.Step++;
        // Time from the step count (not a running sum) so restarts and long runs do not accumulate rounding.
        s.TimeFs = s.TimeOriginFs + s.Step * dt;
        KineticEnergy = s.KineticEnergy();
        if (profile is not null) Lap(ref profile.Integrator, t0);
        if (!double.IsFinite(KineticEnergy))
            throw new SimulationDivergedException($"step {s.Step}: the kinetic energy is not finite; the dynamics diverged (atoms too close or the time step too long)");
    }

    private static long Lap(ref long total, long since)
    {
        long now = Stopwatch.GetTimestamp();
        total += now - since;
        return now;
    }

    /// <summary>Puts positions, velocities and chains back as they were before the step.</summary>
    private void Restore()
    {
        _savedX.CopyTo(State.Positions, 0); _savedV.CopyTo(State.Velocities, 0);
        if (Thermostat is { } c) { _savedXi.CopyTo(c.Positions); _savedVxi.CopyTo(c.Velocities); }
    }

    private void ComputeForces()
    {
        var s = State;
        ForceField.Compute(s.Species, s.Positions, s.Cell, _result);
        _result.Forces.AsSpan().CopyTo(s.Forces);
        s.PotentialEnergy = _result.Energy;
        s.ForcesValid = true;
        if (!double.IsFinite(_result.Energy))
            throw new SimulationDivergedException($"step {s.Step}: the potential energy is not finite ({ForceField.Name})");
    }
}
