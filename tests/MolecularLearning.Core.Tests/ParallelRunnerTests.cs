namespace MolecularLearning.Core.Tests;

/// <summary>The fork–join team: every chunk once per run, worker indices valid and never shared at once, whatever the timing.</summary>
public class ParallelRunnerTests
{
    [Fact]
    public async Task ManyShortRunsWithRandomDelaysRunEveryChunkOnceOnDistinctWorkers()
    {
        // Short runs back to back are where a worker that wakes late could take a chunk of the next run.
        var runner = new ParallelRunner(3);
        var rng = new Random(11);
        for (int run = 0; run < 20000; run++)
        {
            int chunks = 1 + rng.Next(12);
            var work = new CheckedWork(chunks, delaySpins: run % 7 == 0 ? 2000 : rng.Next(3) * 50, workers: runner.MaxWorkers);
            // A chunk lost between runs would make Run wait forever: fail instead of hanging the suite.
            await Task.Run(() => runner.Run(work, chunks)).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.All(work.Hits, h => Assert.Equal(1, h));
            Assert.Null(work.Error);
        }
    }

    [Fact]
    public void FailureInOneChunkIsRethrownAfterTheOthersRan()
    {
        var runner = new ParallelRunner(2);
        var work = new CheckedWork(20, delaySpins: 100, workers: 2) { FailAt = 3 };
        var e = Assert.Throws<InvalidOperationException>(() => runner.Run(work, 20));
        Assert.Equal("chunk 3 failed", e.Message);
        for (int c = 0; c < 20; c++) Assert.Equal(c == 3 ? 0 : 1, work.Hits[c]);
        var next = new CheckedWork(20, delaySpins: 0, workers: 2);
        runner.Run(next, 20);
        Assert.All(next.Hits, h => Assert.Equal(1, h));
    }

    private sealed class CheckedWork(int chunks, int delaySpins, int workers) : IParallelWork
    {
        public readonly int[] Hits = new int[chunks];
        private readonly int[] _busy = new int[workers];
        public string? Error;
        public int FailAt { get; init; } = -1;

        public void Execute(int chunk, int worker)
        {
            if (worker < 0 || worker >= workers) { Error = $"worker {worker} outside [0, {workers})"; return; }
            if (Interlocked.Exchange(ref _busy[worker], 1) != 0) Error = $"worker index {worker} used by two threads at once";
            if (chunk == FailAt) { Volatile.Write(ref _busy[worker], 0); throw new InvalidOperationException($"chunk {chunk} failed"); }
            Thread.SpinWait(delaySpins);
            Interlocked.Increment(ref Hits[chunk]);
            Volatile.Write(ref _busy[worker], 0);
        }
    }
}
