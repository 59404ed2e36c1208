using MolecularLearning.Core;
using MolecularLearning.Learning;

namespace MolecularLearning.Learning.Tests.Conformance;

/// <summary>Zero allocation per step in the steady state, measured on the calling thread.</summary>
/// <remarks>
/// The steps are measured in windows: a leak in the steady state allocates in every window, while a one-off of the
/// runtime on this thread (seen about once in ten suite runs under load, never alone) does not repeat. So the check
/// passes when one window allocates nothing and fails with every allocating step of every window otherwise.
/// </remarks>
internal static class SteadyState
{
    public static void AssertAllocatesNothing(Action step, int steps, Action? beforeWindow = null, Action? afterWindow = null, int windows = 2)
    {
        var log = new System.Text.StringBuilder();
        for (int window = 0; window < windows; window++)
        {
            beforeWindow?.Invoke();
            int before = log.Length;
            for (int s = 0; s < steps; s++)
            {
                long b0 = GC.GetAllocatedBytesForCurrentThread();
                step();
                long d = GC.GetAllocatedBytesForCurrentThread() - b0;
                if (d != 0) log.Append($"window {window} step {s}: {d} B; ");
            }
            afterWindow?.Invoke();
            if (log.Length == before) return;
        }
        Assert.Fail(log.ToString());
    }

    /// <summary>
    /// <paramref name="ff"/> along a drifting trajectory of <paramref name="frame"/> (so the Verlet list is refreshed and
    /// rebuilt along the way, as in MD): after <paramref name="warmup"/> steps, windows of <paramref name="steps"/> allocate nothing.
    /// </summary>
    public static void AssertDriftingStepsAllocateNothing(LearnedForceField ff, Frame frame, int warmup, int steps)
    {
        var result = new ForceResult(frame.AtomCount);
        var rng = new Random(3);
        var drift = Enumerable.Range(0, frame.Positions.Length).Select(_ => 0.004 * (rng.NextDouble() - 0.5)).ToArray();
        void Step()
        {
            for (int x = 0; x < drift.Length; x++) frame.Positions[x] += drift[x];
            ff.Compute(frame.Species, frame.Positions, frame.Cell, result);
        }
        for (int step = 0; step < warmup; step++) Step();
        long builds = 0;
        AssertAllocatesNothing(Step, steps,
            beforeWindow: () => builds = ff.NeighbourList.Builds,
            afterWindow: () => Assert.True(ff.NeighbourList.Builds > builds, "the list should have been rebuilt while measuring"));
    }
}
