using System.Diagnostics;
using System.Text.Json.Nodes;
using MolecularLearning.Core;
using MolecularLearning.Dynamics;

namespace MolecularLearning.Benchmarks;

/// <summary>
/// `mld bench`'s "run loop" rows: the <see cref="MdRun"/> loop `mld run` uses (thermostat, divergence checks and
/// output included), timed like the engine's MD row (best of repeated batches, restarting from the sample every
/// 1,000 steps), so the two cannot drift apart. Variants at 96 atoms: the engine row's settings, NVE, the agent
/// default (massive chain, τ 10 fs) and that with a trajectory every 20 steps and a thermo log.
/// </summary>
public static class RunLoopBench
{
    public sealed record Variant(string Name, MdSettings Settings, int TrajectoryEvery);

    /// <summary>The engine MD row's settings first (the comparable one), then the variants that price the thermostat and output.</summary>
    public static Variant[] Variants(bool all)
    {
        var engine = new Variant("engine settings (global chain, τ 100 fs)", new MdSettings { TimestepFs = 0.5, TemperatureK = 300, TauFs = 100 }, 0);
        if (!all) return [engine];
        var massive = new MdSettings { TimestepFs = 0.5, TemperatureK = 300, TauFs = 10, Massive = true };
        return
        [
            engine,
            new("NVE (no thermostat)", new MdSettings { TimestepFs = 0.5, Thermostat = ThermostatKind.None }, 0),
            new("massive chain, τ 10 fs (agent default)", massive, 0),
            new("massive chain, τ 10 fs, trajectory + log every 20", massive, 20),
        ];
    }

    /// <summary>Times each variant for about <paramref name="seconds"/>; one JSON row per variant.</summary>
    public static IEnumerable<JsonObject> Measure(Frame frame, Func<IForceField> create, string? mode, int? order, int threads,
        double seconds, bool allVariants, Action<string>? log = null)
    {
        foreach (var variant in Variants(allVariants))
        {
            var row = MeasureOne(frame, create, variant, seconds);
            row["mode"] = mode; row["order"] = order; row["threads"] = threads;
            log?.Invoke($"  run loop {mode ?? "-",-12} order {order?.ToString() ?? "-"} {frame.AtomCount,8} atoms {threads} threads: {row["stepsPerSecond"],10} steps/s  {variant.Name}");
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
            // Batches as the engine row's: about eight fill the time, each from the sample with the same velocities
            // (at most 1,000 steps: agent models need not stay stable longer); the best batch counts.
            int batch = 1;
            var best = double.PositiveInfinity;
            long steps = 0;
            int diverged = 0, batches = 0;
            var clock = Stopwatch.StartNew();
            do
            {
                var state = new MdState(frame.Species, frame.Positions, velocities, frame.Cell);
                var md = new VerletIntegrator(forceField, state, settings);
                using var run = new MdRun(md, output);
                md.Initialise(); // not timed: the engine row starts from an initialised integrator too
                long t0 = Stopwatch.GetTimestamp();
                try { run.Run(batch, emitStart: true); }
                catch (SimulationDivergedException) { diverged++; }
                double perStep = Stopwatch.GetElapsedTime(t0).TotalSeconds / Math.Max(1, md.State.Step);
                steps += md.State.Step;
                if (md.State.Step == batch && batches > 0) best = Math.Min(best, perStep); // the first batch sizes the rest
                if (batches++ == 0) batch = (int)Math.Clamp(seconds / 8 / perStep, 1, 1000);
            }
            while (batches < 3 || (clock.Elapsed.TotalSeconds < seconds && batches < 64));
            return new JsonObject
            {
                ["what"] = "run loop",
                ["variant"] = variant.Name,
                ["atoms"] = n,
                ["steps"] = steps,
                ["stepsPerSecond"] = double.IsFinite(best) ? Math.Round(1 / best, 2) : null,
                ["nsPerAtomStep"] = double.IsFinite(best) ? Math.Round(1e9 * best / n, 1) : null,
                ["trajectoryEvery"] = variant.TrajectoryEvery,
                ["divergedBatches"] = diverged,
            };
        }
        finally
        {
            if (forceField is IDisposable d) d.Dispose();
            Directory.Delete(dir, recursive: true);
        }
    }
}
