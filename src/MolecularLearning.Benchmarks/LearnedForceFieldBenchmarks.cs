using BenchmarkDotNet.Attributes;
using MolecularLearning.Core;
using MolecularLearning.Learning;

namespace MolecularLearning.Benchmarks;

/// <summary>
/// The learned force evaluation at fixed positions (the Verlet list is only refreshed): the default invariants
/// (the fused kernel on AVX-512 machines) against a basis outside the kernel's families (the generic path).
/// </summary>
[MemoryDiagnoser]
public class LearnedForceFieldBenchmarks : ForceEvalBenchmarks
{
    /// <summary>Replicas per axis of the 32-water cell: 96 and 2592 atoms.</summary>
    [Params(1, 3)]
    public int Replicas { get; set; }

    /// <summary>"default": FitOptions.DefaultBasis; "generic": the same plus one inverse-power sum (not a kernel family), so the generic path.</summary>
    [Params("default", "generic")]
    public string Basis { get; set; } = "default";

    [Params(ForceMode.Agent, ForceMode.Conservative)]
    public ForceMode Mode { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        string basis = Basis == "default" ? FitOptions.DefaultBasis : FitOptions.DefaultBasis + "+inv:1";
        Prepare(Replicas, ProbeModels.Synthetic(2, Mode, basis).CreateForceField(0.5, 1));
    }
}
