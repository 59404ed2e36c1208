namespace MolecularLearning.Learning;

/// <summary>Read-only views of the layout for <see cref="SortedGaussianKernel"/> (the fused evaluator of the default families).</summary>
public sealed partial class InvariantSet
{
    /// <summary>Sorted angles (each with <see cref="AngleDegree"/> invariants); their legs from <see cref="SortedAngleLegs"/>.</summary>
    internal int SortedAngleCount => _angleAgent.Length;
    /// <summary>First sorted slot of neighbour species <paramref name="species"/>.</summary>
    internal int SortedOffset(int species) => _sortedOffset[species];
    /// <summary>
    /// Invariants of the families this file's readers know: sorted distances, radial sums, angular sums, sorted angles,
    /// shells and shell angles. Less than <see cref="Count"/> when the basis has any other family (families added later).
    /// </summary>
    internal int CountOfKnownFamilies =>
        SortedTotal + _species.Length * Radial.Length + (SortedAngleOffset - AngularOffset)
        + SortedAngleCount * AngleDegree
        + _shells.Sums.Sum(sh => sh.Degree) + _shells.Angles.Sum(a => a.Degree);

    /// <summary>
    /// First angular invariant of neighbour species pair (<paramref name="t"/>, <paramref name="u"/>), t ≤ u; then per
    /// radial pair (n, m), n-major (m ≥ n when t = u), the degrees l = 1..<see cref="Degree"/>.
    /// </summary>
    internal int AngularPairBase(int t, int u) =>
        t <= u && u < _species.Length ? _pairBase[t * _species.Length + u] : throw new ArgumentOutOfRangeException(nameof(u));

    /// <summary>The shell sums in layout order: agent and neighbour species index (−2: absent), window, degree, first invariant.</summary>
    internal (int Agent, int Type, ShellWindow Window, int Degree, int Offset)[] ShellSumItems =>
        [.. _shells.Sums.Select(sh => (sh.Agent, sh.Type, sh.Window, sh.Degree, sh.Offset))];

    /// <summary>The shell angles in layout order: agent and leg species (−2: absent), windows, degree, first invariant, and
    /// whether both legs are one shell (then unordered pairs).</summary>
    internal (int Agent, int TypeA, int TypeB, ShellWindow A, ShellWindow B, int Degree, int Offset, bool Same)[] ShellAngleItems =>
        [.. _shells.Angles.Select(a => (a.Agent, a.TypeA, a.TypeB, a.A, a.B, a.Degree, a.Offset, a.Same))];
}
