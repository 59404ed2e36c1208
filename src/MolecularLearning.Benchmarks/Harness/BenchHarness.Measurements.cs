using System.Diagnostics;
using System.Text.Json.Nodes;
using MolecularLearning.Core;
using MolecularLearning.Dynamics;

namespace MolecularLearning.Benchmarks;

/// <summary>The measurements <see cref="BenchHarness.Run"/> makes, one result row each: neighbour list, force evaluation, thread scaling, MD.</summary>
public static partial class BenchHarness
{
    /// <summary>A result row: which force field, model and backend at how many atoms, then the measurement's own fields.</summary>
    private static JsonObject Row(BenchCandidate candidate, IForceField ff, int atoms, JsonObject fields)
    {
        var backend = BackendOf(ff);
        var row = new JsonObject
        {
            ["forceField"] = candidate.ForceField,
            ["atoms"] = atoms,
            ["mode"] = candidate.Mode,
            ["order"] = candidate.Order,
            ["backend"] = backend.Name,
            ["vectorBits"] = backend.VectorBits,
            ["precision"] = backend.Precision,
        };
        foreach (var (key, value) in fields.ToList())
        {
            fields.Remove(key); // a node has one parent
            row[key] = value;
        }
        return row;
    }
    /// <summary>Build and refresh cost and memory of the neighbour list alone, at the pair reference's cutoff and skin.</summary>
    private static JsonObject MeasureNeighbourList(Frame frame, BenchOptions options, int threads, NeighbourStorage storage)
    {
        int n = frame.AtomCount;
        var list = new NeighbourList(storage);
        var pos = (double[])frame.Positions.Clone();
        void Build() => list.Build(pos, frame.Cell, options.Cutoff, options.Skin);
        void Refresh() => list.Refresh(pos);
        Build(); // sizes the arrays
        long buildBytes = AllocatedPerCall(Build, 2);
        var build = Time(Build, options.Seconds / 3, 1);
        var refresh = Time(Refresh, options.Seconds / 4);
        return new JsonObject
        {
            ["atoms"] = n, ["threads"] = threads, ["storage"] = storage.ToString().ToLowerInvariant(),
            ["cutoff"] = options.Cutoff, ["skin"] = options.Skin,
            ["entriesPerAtom"] = Math.Round((double)list.PairCount / n, 2),
            ["buildNsPerAtom"] = Ns(build.Best, n),
            ["buildCpuNsPerAtom"] = Ns(build.Cpu, n),
            ["refreshNsPerAtom"] = Ns(refresh.Best, n),
            ["bytesPerAtom"] = Math.Round((double)list.MemoryBytes / n, 1),
            ["allocatedBytesPerBuild"] = buildBytes,
        };
    }

    /// <summary>
    /// Force evaluation along a deterministic trajectory: every coordinate oscillates (0.15 Å, a period
    /// of ~40 calls) so the Verlet list refreshes every call and rebuilds now and then, as in MD.
    /// </summary>
    private static JsonObject MeasureForceEval(Frame frame, BenchCandidate candidate, BenchOptions options, int threads)
    {
        int n = frame.AtomCount;
        var ff = candidate.Create();
        var result = new ForceResult(n);
        var (t, bytes, rebuilds) = MeasureCalls(Trajectory(frame, ff, result), ff, n, options.Seconds);
        if (!double.IsFinite(result.Energy)) throw new DataException($"{candidate.ForceField}: non-finite energy at {n} atoms");
        var process = Process.GetCurrentProcess();
        var row = Row(candidate, ff, n, new JsonObject
        {
            ["threads"] = threads,
            ["steps"] = t.Steps,
            ["nsPerAtomStep"] = Ns(t.Best, n),
            ["medianNsPerAtomStep"] = Ns(t.Median, n),
            ["cpuNsPerAtomStep"] = Ns(t.Cpu, n),
            ["microsecondsPerStep"] = Math.Round(t.Best * 1e6, 2),
            ["allocatedBytesPerStep"] = bytes,
            ["listRebuildsPer1000Steps"] = rebuilds,
            ["peakWorkingSetBytes"] = process.PeakWorkingSet64,
            ["managedHeapBytes"] = GC.GetTotalMemory(false),
        });
        GC.KeepAlive(ff);
        return row;
    }

    /// <summary>
    /// The speed-up of more threads, from batches that alternate between the thread counts on one evaluator
    /// (its chunks do not depend on the team size): another process's load then falls on every count alike,
    /// where separate measurements minutes apart differ by 10–20 % on a shared machine. Reports the best batch
    /// per count and the median over rounds of (first count's time / this count's time).
    /// </summary>
    private static JsonObject MeasureThreadScaling(Frame frame, BenchCandidate candidate, BenchOptions options, ParallelRunner runner)
    {
        int n = frame.AtomCount;
        var threads = options.Threads.Distinct().Order().ToArray();
        var ff = candidate.Create();
        var step = Trajectory(frame, ff, new ForceResult(n));
        double first = double.MaxValue;
        foreach (int t in threads)
        {
            runner.MaxWorkers = t;
            step(); // sizes per-worker scratch
            long t0 = Stopwatch.GetTimestamp();
            step();
            first = Math.Min(first, Stopwatch.GetElapsedTime(t0).TotalSeconds);
        }
        int batch = CallsPerBatch(options.Seconds / threads.Length, first);
        var times = threads.Select(_ => new List<double>()).ToArray();
        long start = Stopwatch.GetTimestamp();
        while (times[0].Count < 3 || (Stopwatch.GetElapsedTime(start).TotalSeconds < options.Seconds && times[0].Count < 32))
            for (int q = 0; q < threads.Length; q++)
            {
                runner.MaxWorkers = threads[q];
                long b0 = Stopwatch.GetTimestamp();
                for (int s = 0; s < batch; s++) step();
                times[q].Add(Stopwatch.GetElapsedTime(b0).TotalSeconds / batch);
            }
        int last = threads.Length - 1;
        var roundRatios = times[0].Zip(times[last], (a, b) => a / b).Order().ToList();
        GC.KeepAlive(ff);
        return Row(candidate, ff, n, new JsonObject
        {
            ["threads"] = new JsonArray(threads.Select(t => (JsonNode)t).ToArray()),
            ["rounds"] = times[0].Count,
            ["callsPerBatch"] = batch,
            ["nsPerAtomStep"] = new JsonArray(times.Select(l => (JsonNode)Ns(l.Min(), n)).ToArray()),
            ["speedup"] = Math.Round(times[0].Min() / times[last].Min(), 3),
            ["medianRoundSpeedup"] = Math.Round(roundRatios[roundRatios.Count / 2], 3),
        });
    }

    /// <summary>
    /// Whole MD steps with the dynamics layer's integrator (velocity Verlet + Nosé–Hoover chain at 300 K,
    /// 0.5 fs, as the CP2K and LAMMPS references): steps per second, ns per atom-step, bytes per step.
    /// </summary>
    private static JsonObject MeasureMd(Frame frame, BenchCandidate candidate, BenchOptions options, int threads)
    {
        int n = frame.AtomCount;
        var velocities = new double[3 * n];
        var rng = new Random(300);
        for (int i = 0; i < n; i++)
        {
            double sigma = Math.Sqrt(Units.BoltzmannEvPerK * 300 / (frame.Species[i].Mass * Units.AmuAngstrom2PerFs2InEv));
            for (int k = 0; k < 3; k++)
            {
                double u1 = 1 - rng.NextDouble(), u2 = rng.NextDouble();
                velocities[3 * i + k] = sigma * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
            }
        }
        var forceField = candidate.Create();
        var settings = new MdSettings { TimestepFs = 0.5, TemperatureK = 300, TauFs = 100 };
        VerletIntegrator Start()
        {
            var integrator = new VerletIntegrator(forceField, new MdState(frame.Species, frame.Positions, velocities, frame.Cell), settings);
            integrator.Initialise();
            return integrator;
        }
        var md = Start();
        int steps = 0, restarts = 0;
        // Small boxes run thousands of steps per timing; an agent-mode model need not stay stable that long (the
        // 96-atom box has diverged after ~0.6 ps), so the run starts again from the sample every 1,000 steps (0.5 ps),
        // and after a divergence (counted). The restarts allocate; the allocation count below ends before the first.
        void Step()
        {
            if (++steps % 1000 == 0) md = Start();
            try { md.Step(); }
            catch (SimulationDivergedException) { restarts++; md = Start(); }
        }
        // Restarts from the sample rebuild the list too: counted, as they are part of the timed steps.
        var (t, bytes, rebuilds) = MeasureCalls(Step, forceField, n, options.Seconds);
        return Row(candidate, forceField, n, new JsonObject
        {
            ["threads"] = threads,
            ["steps"] = t.Steps,
            ["stepsPerSecond"] = Math.Round(1 / t.Best, 2),
            ["nsPerAtomStep"] = Ns(t.Best, n),
            ["cpuNsPerAtomStep"] = Ns(t.Cpu, n),
            ["allocatedBytesPerStep"] = bytes,
            ["listRebuildsPer1000Steps"] = rebuilds,
            ["temperatureK"] = Math.Round(md.Temperature, 1),
            ["divergedRestarts"] = restarts,
        });
    }
}
