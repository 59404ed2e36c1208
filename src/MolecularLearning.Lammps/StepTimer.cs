using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace MolecularLearning.Lammps;

/// <summary>
/// Where a rank's time goes over one run command (`MLD_LAMMPS_TIMING=1`): the callback's parts in this thread's CPU
/// time and in wall time, LAMMPS's own work between callbacks, and the CPU the process's other threads (the JIT's
/// tier-up compiles, the GC) took meanwhile. For diagnosis only; a few clock reads per step.
/// </summary>
internal sealed class StepTimer
{
    /// <summary>
    /// Wait: the step's collectives before the reactions (whether any rank's lists are stale; each rank's list length and
    /// largest ID), where a rank waits for the slowest.
    /// </summary>
    public enum Part { Prepare, Evaluate, ReactionsPack, Wait, ReactionsSum, ReactionsUnpack, StepSums, Count }

    private readonly double[] _cpu = new double[(int)Part.Count], _wall = new double[(int)Part.Count];
    private readonly List<double> _stepCpu = [];
    private double _cpuMark, _wallMark, _stepStart, _outsideCpu, _outsideWall, _lastEndCpu = double.NaN, _lastEndWall;
    private double _processStart, _threadStart, _runWallStart;
    private int _steps;

    public static StepTimer? FromEnvironment() =>
        Environment.GetEnvironmentVariable("MLD_LAMMPS_TIMING") is "1" ? new StepTimer() : null;

    /// <summary>This thread's CPU time in seconds (CLOCK_THREAD_CPUTIME_ID).</summary>
    public static unsafe double ThreadCpu()
    {
        long* ts = stackalloc long[2];
        return clock_gettime(3, ts) == 0 ? ts[0] + ts[1] * 1e-9 : double.NaN;
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern unsafe int clock_gettime(int clock, long* ts);

    private static double Wall() => Stopwatch.GetTimestamp() / (double)Stopwatch.Frequency;

    public void BeginRun()
    {
        Array.Clear(_cpu); Array.Clear(_wall); _stepCpu.Clear();
        _steps = 0; _outsideCpu = _outsideWall = 0; _lastEndCpu = double.NaN;
        _processStart = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
        _threadStart = ThreadCpu();
        _runWallStart = Wall();
    }

    public void BeginStep()
    {
        _cpuMark = ThreadCpu(); _wallMark = Wall();
        if (!double.IsNaN(_lastEndCpu)) { _outsideCpu += _cpuMark - _lastEndCpu; _outsideWall += _wallMark - _lastEndWall; }
        _stepStart = _cpuMark;
    }

    /// <summary>Charges the time since the last mark to <paramref name="part"/>.</summary>
    public void Mark(Part part)
    {
        double cpu = ThreadCpu(), wall = Wall();
        _cpu[(int)part] += cpu - _cpuMark; _wall[(int)part] += wall - _wallMark;
        _cpuMark = cpu; _wallMark = wall;
    }

    public void EndStep()
    {
        _steps++;
        _stepCpu.Add(_cpuMark - _stepStart);
        _lastEndCpu = _cpuMark; _lastEndWall = _wallMark;
    }

    /// <summary>One line per rank: ms per step of each part (thread CPU / wall), and the callback's CPU per step over the run.</summary>
    public string Summary(string where, int rank, int owned, int ghosts, string? domain)
    {
        if (_steps == 0) return "";
        var c = CultureInfo.InvariantCulture;
        string Ms(double s) => (s / _steps * 1e3).ToString("0.00", c);
        var parts = string.Join(" ", Enumerable.Range(0, (int)Part.Count).Select(k => $"{(Part)k}={Ms(_cpu[k])}/{Ms(_wall[k])}"));
        double threadCpu = ThreadCpu() - _threadStart, processCpu = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds - _processStart;
        double wall = Wall() - _runWallStart;
        var perStep = string.Join(",", _stepCpu.Take(100).Select(s => (s * 1e3).ToString("0.#", c))) + (_stepCpu.Count > 100 ? ",..." : "");
        return $"mld lammps timing: {where} rank {rank}: {_steps} callbacks, {owned} owned + {ghosts} ghosts; ms per step, thread CPU/wall: {parts} " +
            $"LAMMPS={Ms(_outsideCpu)}/{Ms(_outsideWall)}; run: wall {wall:0.000} s, this thread's CPU {threadCpu:0.000} s, other threads' CPU {processCpu - threadCpu:0.000} s; " +
            (domain is null ? "" : domain + "; ") + $"callback CPU per step (ms): {perStep}";
    }
}
