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
}
