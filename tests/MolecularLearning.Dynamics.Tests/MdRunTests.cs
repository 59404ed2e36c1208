using MolecularLearning.Core;
using MolecularLearning.Cp2k;

namespace MolecularLearning.Dynamics.Tests;

/// <summary>A force field that, from one call on, pushes atom 0 with a huge force (a model sending an atom off at 30 Å/fs).</summary>
internal sealed class KickingForceField(IForceField inner, int kickFromCall, double force) : IForceField
{
    private int _calls;
    public string Name => "kicking";
    public void Compute(ReadOnlySpan<Species> species, ReadOnlySpan<double> positions, Cell? cell, ForceResult result)
    {
        inner.Compute(species, positions, cell, result);
        if (++_calls >= kickFromCall) result.Forces[0] += force;
    }
}

/// <summary>Reports an extrapolation signal: 0 for the first <paramref name="insideCalls"/> calls, then growing, on atom 3; NaN when <paramref name="none"/>.</summary>
internal sealed class SignallingForceField(IForceField inner, int insideCalls, bool none = false) : IForceField
{
    private int _calls;
    public string Name => "signalling";
    public void Compute(ReadOnlySpan<Species> species, ReadOnlySpan<double> positions, Cell? cell, ForceResult result)
    {
        inner.Compute(species, positions, cell, result);
        int call = ++_calls;
        result.Extrapolation = none ? double.NaN : call <= insideCalls ? 0 : 0.1 * (call - insideCalls);
        result.ExtrapolationAtom = none || call <= insideCalls ? -1 : 3;
        result.ExtrapolationInvariant = none || call <= insideCalls ? null : "H: r1(H)";
    }
}

public sealed class MdRunTests : IDisposable
{
    private readonly string _dir = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "mdrun-" + Guid.NewGuid().ToString("N"))).FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static VerletIntegrator Water(IForceField? ff = null, MdSettings? settings = null)
    {
        var frame = FlexibleWater.Lattice(2, 8);
        settings ??= new MdSettings { TimestepFs = 0.5, TauFs = 50 };
        var state = MdState.FromFrame(frame, settings.TimestepFs);
        Momentum.MaxwellBoltzmann(state.Masses, state.Velocities, 300, settings.DegreesOfFreedom(state.AtomCount), true, new Xoshiro256(2));
        return new VerletIntegrator(ff ?? new FlexibleWater(frame, 2.9), state, settings);
    }

    private MdRunOutput Output(int checkpointEvery = 10) => new()
    {
        Trajectory = Path.Combine(_dir, "t.extxyz"), Every = 5, Log = Path.Combine(_dir, "t.csv"), LogEvery = 5,
        CheckpointEvery = checkpointEvery, ModelHash = "model-a",
    };

    [Fact]
    public void Steps_outside_the_training_range_are_counted_and_warned_once_naming_the_first()
    {
        var warnings = new List<string>();
        // Call 1 is the initial force evaluation (step 0); call n is step n − 1: outside from step 10 on.
        using var run = new MdRun(Water(new SignallingForceField(new FlexibleWater(FlexibleWater.Lattice(2, 8), 2.9), insideCalls: 10)), Output(0))
        {
            Warn = warnings.Add,
        };
        Assert.True(run.Run(30, emitStart: true));
        Assert.Equal(30, run.StepsWithSignal);
        Assert.Equal(21, run.StepsOutside);
        var w = Assert.Single(warnings);
        Assert.Contains("step 10:", w);
        Assert.Contains("atom 3", w);
        Assert.Contains("H: r1(H)", w);
        Assert.Equal(30, run.LargestExtrapolation.Step);
        Assert.Equal(2.1, run.LargestExtrapolation.Value, 12);
    }

    [Fact]
    public void A_force_field_without_the_signal_counts_nothing()
    {
        var warnings = new List<string>();
        using var run = new MdRun(Water(new SignallingForceField(new FlexibleWater(FlexibleWater.Lattice(2, 8), 2.9), 0, none: true)), Output(0))
        {
            Warn = warnings.Add,
        };
        Assert.True(run.Run(10, emitStart: true));
        Assert.Equal(0, run.StepsWithSignal);
        Assert.Equal(0, run.StepsOutside);
        Assert.Empty(warnings);
    }

    [Fact]
    public void Default_checkpoint_is_the_trajectory_name_plus_checkpoint()
    {
        Assert.Equal("b.extxyz.checkpoint", MdRunOutput.DefaultCheckpoint("b.extxyz", "b.csv"));
        Assert.Equal("b.csv.checkpoint", MdRunOutput.DefaultCheckpoint(null, "b.csv"));
        Assert.Equal("mld-run.checkpoint", MdRunOutput.DefaultCheckpoint(null, null));
        Assert.Equal("c.chk", new MdRunOutput { Trajectory = "b.extxyz", Checkpoint = "c.chk" }.CheckpointPath);
    }

    [Fact]
    public void Run_writes_frames_log_and_periodic_checkpoints_at_the_default_path()
    {
        var output = Output();
        using (var run = new MdRun(Water(), output))
            Assert.True(run.Run(30, emitStart: true));
        var frames = ExtendedXyz.Read(output.Trajectory!);
        Assert.Equal([0L, 5, 10, 15, 20, 25, 30], frames.Select(f => f.Step!.Value));
        var lines = File.ReadAllLines(output.Log!);
        Assert.Equal(SimulationLoop.ThermoHeader, lines[0]);
        Assert.Equal(8, lines.Length);
        Assert.True(File.Exists(output.Trajectory + ".checkpoint"));
        using var stream = File.OpenRead(output.CheckpointPath);
        Assert.Equal(30, Checkpoint.Read(stream, new FlexibleWater(FlexibleWater.Lattice(2, 8), 2.9), "c", "model-a").State.Step);
    }

    [Fact]
    public void Stop_flushes_everything_written_and_leaves_a_checkpoint_of_that_step()
    {
        var output = Output(checkpointEvery: 0);
        MdRun? run = null;
        using (run = new MdRun(Water(), output) { Progress = s => { if (s == 13) run!.Stop(); }, ProgressEvery = 1 })
        {
            Assert.False(run.Run(100, emitStart: true));
            // Read while the run is still open: nothing may wait in a buffer.
            Assert.Equal([0L, 5, 10], ExtendedXyz.Read(output.Trajectory!).Select(f => f.Step!.Value));
            Assert.Equal(4, File.ReadAllLines(output.Log!).Length);
            using var stream = File.OpenRead(output.CheckpointPath);
            Assert.Equal(13, Checkpoint.Read(stream, new FlexibleWater(FlexibleWater.Lattice(2, 8), 2.9)).State.Step);
        }
    }

    [Fact]
    public void A_restart_after_a_kill_drops_the_thermo_line_cut_inside_its_step_and_matches_an_uninterrupted_run()
    {
        var straight = Output(0) with { Trajectory = Path.Combine(_dir, "s.extxyz"), Log = Path.Combine(_dir, "s.csv") };
        using (var run = new MdRun(Water(), straight)) Assert.True(run.Run(30, emitStart: true));

        var output = Output();
        using (var run = new MdRun(Water(), output)) Assert.True(run.Run(20, emitStart: true)); // checkpoint at 20
        // Killed later (SIGKILL): the log holds a line past the checkpoint and one cut after the "3" of step 35.
        var lines = File.ReadAllLines(straight.Log!);
        File.AppendAllText(output.Log!, lines[^2] + "\n3");
        VerletIntegrator md;
        using (var stream = File.OpenRead(output.CheckpointPath)) md = Checkpoint.Read(stream, new FlexibleWater(FlexibleWater.Lattice(2, 8), 2.9));
        using (var run = new MdRun(md, output, appendFromStep: 20)) Assert.True(run.Run(30, emitStart: false));

        Assert.Equal(lines, File.ReadAllLines(output.Log!));
        Assert.Equal(File.ReadAllText(straight.Trajectory!), File.ReadAllText(output.Trajectory!));
    }

    [Fact]
    public void An_atom_sent_flying_is_named_with_its_step_and_the_last_good_checkpoint_is_kept()
    {
        var frame = FlexibleWater.Lattice(2, 8);
        // From the 26th force call (step 25) atom 0 is pushed at 1e6 eV/Å: it would move tens of Å in one step.
        var md = Water(new KickingForceField(new FlexibleWater(frame, 2.9), kickFromCall: 26, force: 1e6),
            new MdSettings { TimestepFs = 0.5, Thermostat = ThermostatKind.None });
        var output = Output();
        // The temperature check would fire a step earlier; here the displacement check is under test.
        using var run = new MdRun(md, output, limits: new DivergenceLimits { TemperatureFactor = 1e30, MaxDriftPerAtom = double.PositiveInfinity });
        var e = Assert.Throws<SimulationDivergedException>(() => run.Run(100, emitStart: true));
        Assert.StartsWith("step 26: atom 0 (O) would move", e.Message);
        Assert.Contains("step 20", e.Message); // the last good checkpoint
        Assert.Equal(20, run.LastCheckpointStep);
        using var stream = File.OpenRead(output.CheckpointPath);
        Assert.Equal(20, Checkpoint.Read(stream, new FlexibleWater(frame, 2.9)).State.Step);
        // The frames up to the divergence were flushed.
        Assert.Equal(25, ExtendedXyz.Read(output.Trajectory!).Last().Step);
    }

    [Fact]
    public void A_temperature_far_above_the_target_is_divergence_named_with_the_step()
    {
        var frame = FlexibleWater.Lattice(2, 8);
        // A moderate push heats the box without moving an atom past the skin in one step.
        var md = Water(new KickingForceField(new FlexibleWater(frame, 2.9), kickFromCall: 5, force: 30),
            new MdSettings { TimestepFs = 0.5, Thermostat = ThermostatKind.None });
        using var run = new MdRun(md, new MdRunOutput(), limits: new DivergenceLimits { MaxDriftPerAtom = double.PositiveInfinity });
        var e = Assert.Throws<SimulationDivergedException>(() => run.Run(100_000, emitStart: true));
        Assert.Matches(@"^step \d+: temperature [\d.]+ K is above 3000 K", e.Message);
        Assert.True(md.Temperature > 3000);
    }

    [Fact]
    public void Conserved_quantity_drift_beyond_the_bound_is_divergence()
    {
        var frame = FlexibleWater.Lattice(2, 8);
        // A constant push on one atom does work the conserved quantity does not count: it drifts.
        var md = Water(new KickingForceField(new FlexibleWater(frame, 2.9), kickFromCall: 1, force: 5),
            new MdSettings { TimestepFs = 0.5, Thermostat = ThermostatKind.None });
        using var run = new MdRun(md, new MdRunOutput(), limits: new DivergenceLimits { MaxDriftPerAtom = 0.01, TemperatureFactor = 1e9 });
        var e = Assert.Throws<SimulationDivergedException>(() => run.Run(100_000, emitStart: true));
        Assert.Matches(@"^step \d+0: the conserved quantity drifted by", e.Message);
    }

    [Fact]
    public void Non_conservative_forces_are_not_judged_by_the_conserved_quantity()
    {
        Assert.True(double.IsFinite(DivergenceLimits.For(conservativeForces: true).MaxDriftPerAtom));
        var frame = FlexibleWater.Lattice(2, 8);
        // The same steady push under a thermostat (as agent-mode forces under their chain): the conserved quantity
        // drifts by the work the thermostat takes out, and that is no divergence.
        var md = Water(new KickingForceField(new FlexibleWater(frame, 2.9), kickFromCall: 1, force: 5),
            new MdSettings { TimestepFs = 0.5, TemperatureK = 300, TauFs = 10, Massive = true });
        using var run = new MdRun(md, new MdRunOutput(), limits: DivergenceLimits.For(conservativeForces: false));
        Assert.True(run.Run(10_000, emitStart: true));
        Assert.True(Math.Abs(md.ConservedEnergy - run.InitialConserved) > new DivergenceLimits().MaxDriftPerAtom * md.State.AtomCount,
            "the push should drift the conserved quantity past the conservative bound");
    }

    [Fact]
    public void A_healthy_run_is_not_called_diverged()
    {
        using var run = new MdRun(Water(), new MdRunOutput());
        Assert.True(run.Run(400, emitStart: true));
        Assert.InRange(run.MeanTemperature, 150, 600);
    }

    [Fact]
    public void Frames_and_thermo_lines_are_written_without_allocating()
    {
        // Trajectory and log are formatted into the writers' preallocated buffers: writing a frame and a line every step
        // allocates no more than a run that writes nothing (a string per frame or number would be ≥ 24 bytes × 200).
        (long Bytes, string Thermo) Allocated(MdRunOutput output)
        {
            using var run = new MdRun(Water(settings: new MdSettings { TimestepFs = 0.5, TauFs = 10, Massive = true }), output);
            run.Run(20, emitStart: true); // the writers' first frames and lines, compiled
            long before = GC.GetAllocatedBytesForCurrentThread();
            run.Run(220, emitStart: false);
            return (GC.GetAllocatedBytesForCurrentThread() - before, SimulationLoop.ThermoLine(run.Integrator));
        }
        long quiet = Allocated(new MdRunOutput()).Bytes;
        var (writing, thermo) = Allocated(Output(checkpointEvery: 0) with { Every = 1, LogEvery = 1 });
        Assert.True(writing - quiet < 1024, $"{writing} bytes allocated while writing 200 frames and lines, {quiet} without output");
        Assert.Equal(221, ExtendedXyz.Read(Path.Combine(_dir, "t.extxyz")).Count);
        var lines = File.ReadAllLines(Path.Combine(_dir, "t.csv"));
        Assert.Equal(222, lines.Length);
        Assert.Equal(thermo, lines[^1]); // the buffered line is the thermo line as SimulationLoop formats it
    }

    [Fact]
    public void Profile_accounts_for_every_step()
    {
        using var run = new MdRun(Water(), Output()) { Profile = new RunProfile() };
        run.Run(50, emitStart: true);
        var p = run.Profile!;
        Assert.Equal(50, p.Steps);
        Assert.True(p.ForcesSeconds > 0 && p.ThermostatSeconds > 0 && p.IntegratorSeconds > 0 && p.OutputSeconds > 0);
        Assert.Equal(6, p.Lines().Count());
    }
}

public sealed class CheckpointIntegrityTests
{
    private static (VerletIntegrator Md, byte[] Bytes) Written(string hash = "model-a")
    {
        var frame = FlexibleWater.Lattice(2, 8);
        var settings = new MdSettings { TimestepFs = 0.5, TauFs = 10, Massive = true };
        var state = MdState.FromFrame(frame, settings.TimestepFs);
        Momentum.MaxwellBoltzmann(state.Masses, state.Velocities, 300, settings.DegreesOfFreedom(state.AtomCount), true, new Xoshiro256(5));
        var md = new VerletIntegrator(new FlexibleWater(frame, 2.9), state, settings);
        md.Initialise();
        for (int s = 0; s < 20; s++) md.Step();
        using var stream = new MemoryStream();
        Checkpoint.Write(stream, md, hash);
        return (md, stream.ToArray());
    }

    private static VerletIntegrator Read(byte[] bytes, string? hash = "model-a") =>
        Checkpoint.Read(new MemoryStream(bytes), new FlexibleWater(FlexibleWater.Lattice(2, 8), 2.9), "run.chk", hash);

    [Fact]
    public void Every_flipped_byte_is_refused()
    {
        var (_, bytes) = Written();
        Assert.Equal(20, Read(bytes).State.Step);
        var rng = new Random(17);
        for (int trial = 0; trial < 200; trial++)
        {
            var damaged = (byte[])bytes.Clone();
            int at = rng.Next(damaged.Length);
            damaged[at] ^= (byte)(1 + rng.Next(255));
            var e = Assert.Throws<DataException>(() => Read(damaged));
            Assert.StartsWith("run.chk: ", e.Message);
        }
    }

    [Fact]
    public void A_truncated_checkpoint_is_refused()
    {
        var (_, bytes) = Written();
        foreach (int length in new[] { 0, 5, 8, 40, bytes.Length / 2, bytes.Length - 1 })
            Assert.StartsWith("run.chk: ", Assert.Throws<DataException>(() => Read(bytes[..length])).Message);
    }

    [Fact]
    public void A_restart_with_another_model_is_refused()
    {
        var (_, bytes) = Written("aaaaaaaaaaaaaaaaaaaa");
        var e = Assert.Throws<DataException>(() => Read(bytes, "bbbbbbbbbbbbbbbbbbbb"));
        Assert.Contains("another model", e.Message);
        Assert.Equal(20, Read(bytes, null).State.Step); // no model to compare: accepted
    }

    [Fact]
    public void The_massive_chains_survive_a_round_trip()
    {
        var (md, bytes) = Written();
        var back = Read(bytes);
        Assert.True(md.Thermostat!.Positions.SequenceEqual(back.Thermostat!.Positions));
        Assert.True(md.Thermostat.Velocities.SequenceEqual(back.Thermostat.Velocities));
        Assert.Equal(md.ConservedEnergy, back.ConservedEnergy);
    }
}

public sealed class ThermostatChoiceTests
{
    private static readonly MdSettings Given = new() { TimestepFs = 0.5, TemperatureK = 300, ChainLength = 3 };

    [Fact]
    public void Agent_models_get_the_massive_chain_with_tau_10_fs()
    {
        var (s, line) = ThermostatChoice.For(conservative: false, Given, null, null, null);
        Assert.Equal((ThermostatKind.NoseHoover, true, 10.0), (s.Thermostat, s.Massive, s.TauFs));
        Assert.Equal((3, 3), (s.MultipleTimeSteps, s.YoshidaOrder));
        Assert.Contains("massive", line);
        Assert.Contains("τ 10 fs", line);
        Assert.Contains("agent", line);
    }

    [Fact]
    public void Conservative_models_get_the_global_chain_with_tau_100_fs()
    {
        var (s, line) = ThermostatChoice.For(conservative: true, Given, null, null, null);
        Assert.Equal((ThermostatKind.NoseHoover, false, 100.0), (s.Thermostat, s.Massive, s.TauFs));
        Assert.Contains("global", line);
        Assert.Contains("conservative", line);
    }

    [Fact]
    public void What_the_user_gives_wins()
    {
        var (s, line) = ThermostatChoice.For(conservative: false, Given, ThermostatKind.NoseHoover, false, 100);
        Assert.Equal((false, 100.0), (s.Massive, s.TauFs));
        Assert.Contains("as given", line);
        Assert.Equal(ThermostatKind.None, ThermostatChoice.For(false, Given, ThermostatKind.None, null, null).Settings.Thermostat);
        Assert.Equal(10.0, ThermostatChoice.For(true, Given, null, true, null).Settings.TauFs);
        // The kind defaulted but the chain and τ were given: the line must not call it the agent default.
        var (_, globalLine) = ThermostatChoice.For(conservative: false, Given, null, false, 100);
        Assert.Contains("as given", globalLine);
        Assert.DoesNotContain("default", globalLine);
        var (_, tauOnly) = ThermostatChoice.For(conservative: false, Given, null, false, null);
        Assert.Contains("τ by default for a global chain", tauOnly);
    }
}
