namespace MolecularLearning.Learning;

/// <summary>Read-only views of the layout for <see cref="SortedGaussianKernel"/> (the fused evaluator of the default families).</summary>
public sealed partial class InvariantSet
{
    /// <summary>Sorted angles (each with <see cref="AngleDegree"/> invariants); their legs from <see cref="SortedAngleLegs"/>.</summary>
    internal int SortedAngleCount => _angleAgent.Length;
    /// <summary>First sorted slot of neighbour species <paramref name="species"/>.</summary>
    internal int SortedOffset(int species) => _sortedOffset[species];
    /// <summary>
    /// Invariants of the families this file's readers know: sorted distances, radial sums, sorted angles. Less than
    /// <see cref="Count"/> when the basis has any other family (angular sums, shells, families added later).
    /// </summary>
    internal int CountOfKnownFamilies =>
        SortedTotal + _species.Length * Radial.Length + (AngleDegree > 0 ? SortedAngleCount * AngleDegree : 0);
}
