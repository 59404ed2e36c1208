namespace MolecularLearning.Learning;

public sealed partial class InvariantSet
{
    /// <summary>Family names, as <see cref="FitOptions.LinearFamilies"/> and <c>mld fit --linear</c> spell them.</summary>
    public static IReadOnlyList<string> FamilyNames { get; } = ["sorted", "radial", "angular", "angles", "shell", "shellAngle"];

    /// <summary>
    /// The family of invariant <paramref name="q"/>: "sorted", "radial", "angular", "angles", "shell",
    /// "shellAngle" (the smooth shells of InvariantSet.Shell.cs), or "other" for a family laid out after these.
    /// </summary>
    public string FamilyOf(int q)
    {
        if (q < 0 || q >= Count) throw new ArgumentOutOfRangeException(nameof(q));
        if (q < RadialOffset) return "sorted";
        if (q < AngularOffset) return "radial";
        if (q < SortedAngleOffset) return "angular";
        if (q < SortedAngleOffset + AngleDegree * Options.SortedAngles.Count) return "angles";
        foreach (var sh in _shells.Sums) if (q >= sh.Offset && q < sh.Offset + sh.Degree) return "shell"; // n = 1..Degree
        foreach (var a in _shells.Angles) if (q >= a.Offset && q < a.Offset + a.Degree) return "shellAngle";
        return "other";
    }
}
