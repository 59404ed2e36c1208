using MolecularLearning.Core;

namespace MolecularLearning.Protocols;

/// <summary>Zero energy, forces and virial at (next to) no cost: the transport benchmarks measure the protocol alone.</summary>
internal sealed class ZeroCostForceField : IForceField
{
    public string Name => "zero-cost";

    public void Compute(ReadOnlySpan<Species> species, ReadOnlySpan<double> positions, Cell? cell, ForceResult result)
    {
        result.Resize(species.Length);
        result.Clear();
    }
}
