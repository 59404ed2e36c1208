using BenchmarkDotNet.Attributes;
using MolecularLearning.Core;

namespace MolecularLearning.Benchmarks;

/// <summary>One force evaluation of a replicated water box at fixed positions (the Verlet list is only refreshed), for the force field a subclass sets up.</summary>
public abstract class ForceEvalBenchmarks
{
    private Frame _frame = null!;
    private IForceField _ff = null!;
    private ForceResult _result = null!;

    /// <summary>The 32-water cell replicated <paramref name="replicas"/> times per axis, evaluated once by <paramref name="ff"/> (list built, buffers sized).</summary>
    protected void Prepare(int replicas, IForceField ff)
    {
        _frame = Water.Box(replicas);
        _ff = ff;
        _result = new ForceResult(_frame.AtomCount);
        Compute();
    }

    [Benchmark]
    public double Compute()
    {
        _ff.Compute(_frame.Species, _frame.Positions, _frame.Cell, _result);
        return _result.Energy;
    }
}
