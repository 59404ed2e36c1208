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
/// takes part as worker 0; chunks are handed out dynamically. Calls from several threads at once do not
/// contend: a call that finds the team busy (another thread's run, or a nested run from inside a chunk)
/// runs its chunks inline on its own thread as worker 0.
/// </summary>
public sealed class ParallelRunner
{
    private int _busy; // 1 while a run owns the team (not a Monitor: a nested Run on the same thread must not re-enter)
    private readonly SemaphoreSlim _wake = new(0);
    private readonly ManualResetEventSlim _done = new(false, spinCount: 50);
    private Thread[]? _threads;
    private IParallelWork? _work;
    private int _chunks, _next, _pending, _slot;
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
            _work = work;
            _chunks = chunks;
            _next = -1;
            _failure = null;
            _pending = workers - 1;
            _slot = 0;
            _done.Reset();
            _wake.Release(workers - 1);
            Drain(0);
            if (Volatile.Read(ref _pending) > 0) _done.Wait();
            _work = null;
            _failure?.Throw();
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    private void Drain(int worker)
    {
        var work = _work!;
        try
        {
            for (int c = Interlocked.Increment(ref _next); c < _chunks; c = Interlocked.Increment(ref _next))
                work.Execute(c, worker);
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref _failure, ExceptionDispatchInfo.Capture(e), null);
            Volatile.Write(ref _next, _chunks); // stop handing out chunks
        }
    }

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
            // Slots are taken per run so worker indices stay below this run's worker count.
            Drain(Interlocked.Increment(ref _slot));
            if (Interlocked.Decrement(ref _pending) == 0) _done.Set();
        }
    }
}
