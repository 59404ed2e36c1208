using System.Runtime.ExceptionServices;

namespace MolecularLearning.Core;

/// <summary>Work split into chunks for <see cref="ParallelRunner"/>; <paramref name="worker"/> indexes per-thread scratch.</summary>
public interface IParallelWork
{
    void Execute(int chunk, int worker);
}

/// <summary>
/// A fork–join team of persistent threads for the hot loops (neighbour list builds, force evaluation).
/// Unlike Parallel.For it allocates nothing per call, so an MD step stays allocation-free. The caller
/// takes part as worker 0; chunks are handed out dynamically, and the caller waits only for chunks that
/// were handed out, never for a worker that has not woken up yet: on a loaded machine a late worker
/// costs nothing (the caller runs the chunks itself), which makes small boxes worth splitting. Calls
/// from several threads at once do not contend: a call that finds the team busy (another thread's run,
/// or a nested run from inside a chunk) runs its chunks inline on its own thread as worker 0.
/// </summary>
/// <remarks>
/// Chunks are claimed from one 64-bit ticket, (run number &lt;&lt; 32) + chunks handed out, by compare-and-swap,
/// so a worker that wakes after its run ended can neither take nor skip a chunk of the next run: its claim
/// names the old run and fails.
/// </remarks>
public sealed class ParallelRunner
{
    private int _busy; // 1 while a run owns the team (not a Monitor: a nested Run on the same thread must not re-enter)
    private readonly SemaphoreSlim _wake = new(0);
    private readonly ManualResetEventSlim _done = new(false, spinCount: 200);
    private Thread[]? _threads;
    private IParallelWork? _work;
    private const long Closed = int.MaxValue; // the claim count of a run whose fields are being written
    private long _ticket;     // (run << 32) + chunks claimed in this run
    private int _run, _chunks, _workers, _completed, _slot;
    private ExceptionDispatchInfo? _failure;
    private int _maxWorkers;

    /// <summary>The process-wide team, one worker per core (override with the MLD_THREADS environment variable).</summary>
    public static ParallelRunner Shared { get; } = new(DefaultWorkers());

    public ParallelRunner(int maxWorkers) => MaxWorkers = maxWorkers;

    /// <summary>
    /// Workers used by <see cref="Run"/>, caller included (1 = serial); worker indices are below it, so size
    /// per-thread scratch by it. Settable between runs, as OMP_NUM_THREADS.
    /// </summary>
    public int MaxWorkers
    {
        get => _maxWorkers;
        set => _maxWorkers = Math.Max(1, value);
    }

    private static int DefaultWorkers() =>
        int.TryParse(Environment.GetEnvironmentVariable("MLD_THREADS"), out var t) && t > 0 ? t : Environment.ProcessorCount;

    /// <summary>Runs work.Execute(chunk, worker) for every chunk in [0, chunks) and returns when all are done.</summary>
    public void Run(IParallelWork work, int chunks)
    {
        int workers = Math.Min(MaxWorkers, chunks);
        if (workers <= 1 || Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            for (int c = 0; c < chunks; c++) work.Execute(c, 0);
            return;
        }
        try
        {
            EnsureThreads(workers - 1);
            int run = _run + 1;
            _run = run;
            // Closed while the run's fields change: a worker reading them in between sees the ticket move and drops them.
            Interlocked.Exchange(ref _ticket, ((long)run << 32) | Closed);
            _work = work;
            _chunks = chunks;
            _workers = workers;
            _completed = 0;
            _slot = 0;
            _failure = null;
            _done.Reset();
            Interlocked.Exchange(ref _ticket, (long)run << 32);
            _wake.Release(workers - 1);
            Drain(work, run, chunks, 0);
            while (Volatile.Read(ref _completed) < chunks)
            {
                _done.Wait();
                _done.Reset(); // a late Set of an earlier run may have woken us: look again
            }
            _work = null;
            _failure?.Throw();
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    /// <summary>Claims and runs chunks of run <paramref name="run"/> until none is left (or the ticket moved on to another run).</summary>
    private void Drain(IParallelWork work, int run, int chunks, int worker)
    {
        while (true)
        {
            // Compare-and-swap, not an increment: a claim must not move the ticket of a run this worker is not in
            // (a late worker's increment would swallow a chunk of the next run).
            long t = Volatile.Read(ref _ticket);
            if ((int)(t >> 32) != run) return;
            int c = (int)(t & 0xFFFFFFFF);
            if (c >= chunks) return;
            if (Interlocked.CompareExchange(ref _ticket, t + 1, t) != t) continue;
            try
            {
                work.Execute(c, worker);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _failure, ExceptionDispatchInfo.Capture(e), null);
            }
            if (Interlocked.Increment(ref _completed) == chunks) _done.Set();
        }
    }

    /// <summary>Whether <paramref name="ticket"/> names run <paramref name="run"/> with its fields written (not <see cref="Closed"/>).</summary>
    private static bool IsOpen(long ticket, int run) => (int)(ticket >> 32) == run && (ticket & 0xFFFFFFFF) != Closed;

    private void EnsureThreads(int count)
    {
        if (_threads is not null && _threads.Length >= count) return;
        var threads = new Thread[count];
        int have = _threads?.Length ?? 0;
        _threads?.CopyTo(threads, 0);
        for (int t = have; t < count; t++)
        {
            threads[t] = new Thread(Loop) { IsBackground = true, Name = $"mld-worker-{t + 1}" };
            threads[t].Start();
        }
        _threads = threads;
    }

    private void Loop()
    {
        while (true)
        {
            _wake.Wait();
            // The open run's fields, read between two readings of the ticket (a seqlock): if the ticket moved or was
            // closed, they may mix two runs and are dropped (this wake came too late for its run).
            long before = Volatile.Read(ref _ticket);
            var work = Volatile.Read(ref _work);
            int chunks = Volatile.Read(ref _chunks), workers = Volatile.Read(ref _workers);
            long after = Volatile.Read(ref _ticket);
            int run = (int)(before >> 32);
            if (work is null || !IsOpen(before, run) || !IsOpen(after, run)) continue;
            // Slots are taken per run so worker indices stay below this run's worker count.
            int slot = Interlocked.Increment(ref _slot);
            if (slot >= workers) continue;
            Drain(work, run, chunks, slot);
        }
    }
}
