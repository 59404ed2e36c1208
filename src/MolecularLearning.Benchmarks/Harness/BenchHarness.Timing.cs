using System.Diagnostics;
using MolecularLearning.Core;
using MolecularLearning.Learning;

namespace MolecularLearning.Benchmarks;

/// <summary>How <see cref="BenchHarness"/> times a call: batches, CPU time, allocations, list rebuilds.</summary>
public static partial class BenchHarness
{
    /// <summary>Seconds per call: the best and the median batch (robust to other processes on a shared machine) and process CPU time.</summary>
    public readonly record struct Timing(int Steps, double Best, double Median, double Cpu);

    /// <summary>
    /// Times <paramref name="step"/> in about eight batches filling <paramref name="seconds"/> (at least
    /// <paramref name="minSteps"/> calls). The best batch is the cost on a quiet machine; CPU time per
    /// call counts every thread of the process, so with one thread it is the work done whatever the load.
    /// </summary>
    public static Timing Time(Action step, double seconds, int minSteps = 3)
    {
        long t0 = Stopwatch.GetTimestamp();
        step();
        double first = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        int batch = CallsPerBatch(seconds, first);
        var times = new List<double>();
        int steps = 0;
        var process = Process.GetCurrentProcess();
        process.Refresh();
        var cpu0 = process.TotalProcessorTime;
        long start = Stopwatch.GetTimestamp();
        while (steps < minSteps || (Stopwatch.GetElapsedTime(start).TotalSeconds < seconds && times.Count < 64))
        {
            long b0 = Stopwatch.GetTimestamp();
            for (int s = 0; s < batch; s++) step();
            times.Add(Stopwatch.GetElapsedTime(b0).TotalSeconds / batch);
            steps += batch;
        }
        process.Refresh();
        double cpu = (process.TotalProcessorTime - cpu0).TotalSeconds / steps;
        times.Sort();
        return new Timing(steps, times[0], times[times.Count / 2], cpu);
    }

    /// <summary>Calls in a batch so that about eight batches fill <paramref name="seconds"/> (1 to 100,000 calls).</summary>
    private static int CallsPerBatch(double seconds, double secondsPerCall) =>
        Math.Max(1, (int)Math.Min(100_000, seconds / 8 / Math.Max(secondsPerCall, 1e-9)));

    /// <summary>
    /// One force evaluation per call along a trajectory: every coordinate oscillates by ±0.15 Å around the frame's
    /// (random phases, 0.16 rad a call), so the Verlet list is refreshed and now and then rebuilt as in MD.
    /// </summary>
    public static Action Trajectory(Frame frame, IForceField ff, ForceResult result)
    {
        var basePos = frame.Positions;
        var pos = (double[])basePos.Clone();
        var sin = new double[pos.Length];
        var cos = new double[pos.Length];
        var rng = new Random(2026);
        for (int i = 0; i < sin.Length; i++) { double p = rng.NextDouble() * 2 * Math.PI; sin[i] = Math.Sin(p); cos[i] = Math.Cos(p); }
        double cw = Math.Cos(0.16), sw = Math.Sin(0.16);
        return () =>
        {
            for (int i = 0; i < pos.Length; i++)
            {
                double s = sin[i] * cw + cos[i] * sw, c = cos[i] * cw - sin[i] * sw;
                sin[i] = s; cos[i] = c;
                pos[i] = basePos[i] + 0.15 * s;
            }
            ff.Compute(frame.Species, pos, frame.Cell, result);
        };
    }

    /// <summary>Bytes allocated (all threads) per call over <paramref name="calls"/> calls.</summary>
    public static long AllocatedPerCall(Action step, int calls)
    {
        long before = GC.GetTotalAllocatedBytes(true);
        for (int s = 0; s < calls; s++) step();
        return (GC.GetTotalAllocatedBytes(true) - before) / calls;
    }

    /// <summary>
    /// Bytes a step of an <paramref name="atoms"/>-atom system allocates once warmed up past the first few
    /// neighbour-list rebuilds, where per-thread row scratch may still grow (it doubles, so it settles): fewer
    /// warm-up and counted steps the larger the system. The count covers every thread, so in a fresh process the JIT's
    /// tier-up on its own threads can land in a window (11–25 kB a step at the first size measured; 0 untiered): the
    /// fewest of up to three windows, as a leak of the steady state allocates in every one.
    /// </summary>
    private static long SteadyStateAllocatedPerCall(Action step, int atoms)
    {
        int warm = atoms > 200_000 ? 1 : atoms > 20_000 ? 5 : 60;
        for (int s = 0; s < warm; s++) step();
        long fewest = long.MaxValue;
        for (int window = 0; window < 3 && fewest > 0; window++)
            fewest = Math.Min(fewest, AllocatedPerCall(step, atoms > 200_000 ? 2 : atoms > 20_000 ? 10 : 40));
        return fewest;
    }

    private static double Ns(double seconds, int atoms) => Math.Round(seconds / atoms * 1e9, 2);

    /// <summary>Neighbour-list builds so far of a force field that keeps one (null for others).</summary>
    private static long? ListBuilds(IForceField ff) => ff switch
    {
        LearnedForceField l => l.NeighbourList.Builds,
        CoulombLennardJonesForceField p => p.NeighbourList.Builds,
        _ => null,
    };

    /// <summary>
    /// A force evaluation or MD step of <paramref name="ff"/> on <paramref name="atoms"/> atoms: its steady-state
    /// bytes per call, then its <see cref="Time"/>, and the Verlet-list rebuilds per 1,000 of the timed calls
    /// (null for a force field without a list).
    /// </summary>
    private static (Timing Time, long Bytes, double? RebuildsPer1000) MeasureCalls(Action step, IForceField ff, int atoms, double seconds)
    {
        long bytes = SteadyStateAllocatedPerCall(step, atoms);
        long? before = ListBuilds(ff);
        var t = Time(step, seconds);
        long? after = ListBuilds(ff);
        int calls = t.Steps + 1; // Time's first call sizes the batches
        double? rebuilds = before is { } b && after is { } a ? Math.Round(1000.0 * (a - b) / calls, 1) : null;
        return (t, bytes, rebuilds);
    }
}
