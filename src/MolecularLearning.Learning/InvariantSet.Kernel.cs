namespace MolecularLearning.Learning;

/// <summary>Read-only views of the layout for <see cref="SortedGaussianKernel"/> (the fused evaluator of the default families).</summary>
public sealed partial class InvariantSet
{
    /// <summary>Per sorted angle: the two sorted slots it joins (−1: a species the set lacks).</summary>
    internal ReadOnlySpan<int> SortedAngleRefs => _angleRefs;
    /// <summary>Per sorted angle: the agent species that sees it, −1 for all, −2 for none.</summary>
    internal ReadOnlySpan<int> SortedAngleAgents => _angleAgent;
    /// <summary>First sorted slot of neighbour species <paramref name="species"/>.</summary>
    internal int SortedOffset(int species) => _sortedOffset[species];
    /// <summary>Invariants of the families this file's readers know: sorted distances, radial sums, sorted angles.</summary>
    internal int CountOfKnownFamilies =>
        SortedTotal + _species.Length * Radial.Length + AngularCount + (AngleDegree > 0 ? _angleAgent.Length * AngleDegree : 0);

    private int AngularCount => SortedAngleOffset - AngularOffset;
}
