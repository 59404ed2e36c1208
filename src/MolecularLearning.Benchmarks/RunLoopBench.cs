using System.Diagnostics;
using System.Text.Json.Nodes;
using MolecularLearning.Core;
using MolecularLearning.Dynamics;

namespace MolecularLearning.Benchmarks;

/// <summary>
/// `mld bench`'s "run loop" rows: the <see cref="MdRun"/> loop `mld run` uses (thermostat, divergence checks and
/// output included), timed like the engine's MD row (best of repeated batches from the sample, at most 1,000 steps
/// each), so the two cannot drift apart. Variants at 96 atoms: the engine row's settings, NVE, the agent default
/// (massive chain, τ 10 fs) and that with a trajectory every 20 steps and a thermo log; in a large box the first and
/// the third. Each run-loop batch alternates with a batch of its reference (the bare integrator with the same settings;
/// for the output variant the run loop without output), same start and length, so each ratio compares times taken
/// under the same machine load. Three more batches with <see cref="MdRun.Profile"/> on give each phase's share.
/// </summary>
public static class RunLoopBench
{
    public sealed record Variant(string Name, MdSettings Settings, int TrajectoryEvery);

    /// <summary>
    /// The engine MD row's settings first (the comparable one), then the variants that price the thermostat and output;
    /// a large box (≥ 1,000 atoms) gets the engine settings and the agent default only.
    /// </summary>
    public static Variant[] Variants(bool all)
    {
        var engine = new Variant("engine settings (global chain, τ 100 fs)", new MdSettings { TimestepFs = 0.5, TemperatureK = 300, TauFs = 100 }, 0);
        var massive = new MdSettings { TimestepFs = 0.5, TemperatureK = 300, TauFs = 10, Massive = true };
        var agentDefault = new Variant("massive chain, τ 10 fs (agent default)", massive, 0);
        if (!all) return [engine, agentDefault];
        return
        [
            engine,
            new("NVE (no thermostat)", new MdSettings { TimestepFs = 0.5, Thermostat = ThermostatKind.None }, 0),
            agentDefault,
            new("massive chain, τ 10 fs, trajectory + log every 20", massive, 20),
        ];
    }

    /// <summary>Times each variant for about <paramref name="seconds"/> (and as long again its reference); one JSON row per variant.</summary>
    public static IEnumerable<JsonObject> Measure(Frame frame, Func<IForceField> create, string? mode, int? order, int threads,
        double seconds, bool allVariants, Action<string>? log = null)
    {
        foreach (var variant in Variants(allVariants))
        {
            var row = MeasureOne(frame, create, variant, seconds);
            row["mode"] = mode; row["order"] = order; row["threads"] = threads;
            log?.Invoke($"  run loop {mode ?? "-",-12} order {order?.ToString() ?? "-"} {frame.AtomCount,8} atoms {threads} threads: {row["stepsPerSecond"],10} steps/s, {row["overReference"],6} × {row["reference"]}  {variant.Name}");
            yield return row;
        }
    }

    private static JsonObject MeasureOne(Frame frame, Func<IForceField> create, Variant variant, double seconds)
    {
        int n = frame.AtomCount;
        var settings = variant.Settings;
        var velocities = new double[3 * n];
        var masses = frame.Species.Select(s => s.Mass).ToArray();
        Momentum.MaxwellBoltzmann(masses, velocities, 300, settings.DegreesOfFreedom(n), settings.RemoveCenterOfMassMotion, new Xoshiro256(300));
        string dir = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "mld-bench-run-" + Guid.NewGuid().ToString("N"))).FullName;
        var forceField = create();
        try
        {
            var output = new MdRunOutput
            {
                Trajectory = variant.TrajectoryEvery > 0 ? Path.Combine(dir, "t.extxyz") : null,
                Log = variant.TrajectoryEvery > 0 ? Path.Combine(dir, "t.csv") : null,
                Every = Math.Max(1, variant.TrajectoryEvery), LogEvery = Math.Max(1, variant.TrajectoryEvery),
            };
            bool outputs = variant.TrajectoryEvery > 0;
            var noOutput = new MdRunOutput { Every = 1, LogEvery = 1 };
            long stepsOutside = 0;
            double allocatedPerStep = double.NaN;
            // One batch from the sample: the run loop (with or without the variant's output) or the bare integrator as the
            // engine row steps it. Seconds per completed step, or NaN when the batch diverged.
            double Batch(int steps, bool runLoop, bool withOutput, RunProfile? profile = null)
            {
                var md = new VerletIntegrator(forceField, new MdState(frame.Species, frame.Positions, velocities, frame.Cell), settings);
                // The extrapolation warning is `mld run`'s once per run; a bench runs hundreds of batches: counted instead.
                using var run = runLoop ? new MdRun(md, withOutput ? output : noOutput) { Warn = _ => { } } : null;
                md.Initialise(); // not timed: the engine row starts from an initialised integrator too
                if (run is not null) run.Profile = profile;
                long allocatedBefore = profile is null ? 0 : GC.GetTotalAllocatedBytes(precise: true);
                long t0 = Stopwatch.GetTimestamp();
                try
                {
                    if (run is not null) run.Run(steps, emitStart: true);
                    else while (md.State.Step < steps) md.Step();
                }
                catch (SimulationDivergedException) { return double.NaN; }
                double perStep = Stopwatch.GetElapsedTime(t0).TotalSeconds / Math.Max(1, md.State.Step);
                if (profile is not null) allocatedPerStep = (double)(GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore) / Math.Max(1, md.State.Step);
                if (run is not null) stepsOutside += run.StepsOutside;
                return perStep;
            }
            // Batches as the engine row's: about eight fill the time (at most 1,000 steps: agent models need not stay
            // stable longer); the first, after a warm-up, sizes the rest. The best batch of each kind counts.
            // Warm-up and sizing batches: 20 and 50 steps at 96 atoms, 1 and 2 at 10⁵ (a step there takes ~0.1 s). Small
            // boxes take at least 20 steps a batch, so that the flush at the end of a batch weighs as in a run.
            int warm = Math.Clamp(2_000_000 / n, 1, 20), sizing = Math.Clamp(200_000 / n, 2, 50), least = n < 1000 ? 20 : 1;
            Batch(warm, runLoop: true, outputs);
            Batch(warm, runLoop: outputs, withOutput: false);
            double first = Batch(sizing, runLoop: true, outputs);
            int batch = double.IsFinite(first) ? (int)Math.Clamp(seconds / 8 / first, least, 1000) : least;
            double best = double.PositiveInfinity, bestReference = double.PositiveInfinity;
            long steps = 0;
            int diverged = 0, batches = 0;
            var clock = Stopwatch.StartNew();
            do
            {
                double t = Batch(batch, runLoop: true, outputs);
                double r = Batch(batch, runLoop: outputs, withOutput: false);
                if (double.IsFinite(t)) { best = Math.Min(best, t); steps += batch; } else diverged++;
                if (double.IsFinite(r)) bestReference = Math.Min(bestReference, r);
                batches++;
            }
            while (batches < 3 || (clock.Elapsed.TotalSeconds < 2 * seconds && batches < 64));
            // Phase shares from the least disturbed of three profiled batches (a preemption lands in whatever phase runs),
            // and the bytes the run loop allocates per step (outputs included: none, once the writers exist).
            RunProfile profile = new();
            double total = double.PositiveInfinity;
            for (int k = 0; k < 3; k++)
            {
                var p = new RunProfile();
                Batch(batch, runLoop: true, outputs, p);
                double sum = p.ForcesSeconds + p.IntegratorSeconds + p.ThermostatSeconds + p.OutputSeconds + p.ChecksSeconds + p.CheckpointSeconds;
                if (p.Steps > 0 && sum < total) { profile = p; total = sum; }
            }
            static double? Share(double part, double total) => total > 0 ? Math.Round(part / total, 4) : null;
            return new JsonObject
            {
                ["what"] = "run loop",
                ["variant"] = variant.Name,
                ["atoms"] = n,
                ["steps"] = steps,
                ["batchSteps"] = batch,
                ["stepsPerSecond"] = double.IsFinite(best) ? Math.Round(1 / best, 2) : null,
                ["nsPerAtomStep"] = double.IsFinite(best) ? Math.Round(1e9 * best / n, 1) : null,
                ["reference"] = outputs ? "run loop without output" : "engine (bare integrator, same settings)",
                ["referenceStepsPerSecond"] = double.IsFinite(bestReference) ? Math.Round(1 / bestReference, 2) : null,
                // This variant's time per step over its reference's, best batch against best batch of the same run.
                ["overReference"] = double.IsFinite(best) && double.IsFinite(bestReference) ? Math.Round(best / bestReference, 4) : null,
                ["profileShares"] = new JsonObject
                {
                    ["forces"] = Share(profile.ForcesSeconds, total),
                    ["integrator"] = Share(profile.IntegratorSeconds, total),
                    ["thermostat"] = Share(profile.ThermostatSeconds, total),
                    ["output"] = Share(profile.OutputSeconds, total),
                    ["checks"] = Share(profile.ChecksSeconds, total),
                },
                // While the loop runs (after the writers exist), all threads; the last profiled batch.
                ["allocatedBytesPerStep"] = double.IsFinite(allocatedPerStep) ? Math.Round(allocatedPerStep, 1) : null,
                ["trajectoryEvery"] = variant.TrajectoryEvery,
                ["divergedBatches"] = diverged,
                ["stepsOutsideTrainingRange"] = stepsOutside,
            };
        }
        finally
        {
            if (forceField is IDisposable d) d.Dispose();
            Directory.Delete(dir, recursive: true);
        }
    }
}
