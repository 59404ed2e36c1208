using BenchmarkDotNet.Attributes;
using MolecularLearning.Core;

namespace MolecularLearning.Benchmarks;

/// <summary>Neighbour-list build and Verlet refresh on replicated water boxes (6 Å cutoff, 1 Å skin), per storage.</summary>
[MemoryDiagnoser]
public class NeighbourListBenchmarks
{
    private Frame _frame = null!;
    private NeighbourList _list = null!;

    /// <summary>Replicas per axis of the 32-water cell: 96, 2592 and 12000 atoms.</summary>
    [Params(1, 3, 5)]
    public int Replicas { get; set; }

    [Params(NeighbourStorage.Displacements, NeighbourStorage.Compact)]
    public NeighbourStorage Storage { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _frame = Water.Box(Replicas);
        _list = new NeighbourList(Storage);
        _list.Build(_frame.Positions, _frame.Cell, 6.0, 1.0);
    }

    [Benchmark]
    public void Build() => _list.Build(_frame.Positions, _frame.Cell, 6.0, 1.0);

    [Benchmark]
    public void Refresh() => _list.Refresh(_frame.Positions);
}

/// <summary>The SPC/Fw nonbonded pair reference (the C# floor for a pair loop) on replicated water boxes.</summary>
[MemoryDiagnoser]
public class PairForceFieldBenchmarks : ForceEvalBenchmarks
{
    [Params(1, 3, 5)]
    public int Replicas { get; set; }

    [GlobalSetup]
    public void Setup() => Prepare(Replicas, new CoulombLennardJonesForceField(6.0, 1.0));
}
