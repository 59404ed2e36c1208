using System.Globalization;
using MolecularLearning.Core;

namespace MolecularLearning.Learning;

/// <summary>
/// Which invariants describe an agent's neighbourhood (independent of the species present): every family's options,
/// each family reading its slice (Invariants/Families/: (a) <see cref="SortedDistances"/>, (b) <see cref="RadialSums"/>,
/// (c) <see cref="AngularSums"/>, (d) <see cref="SortedAngles"/>, (e) <see cref="Shells"/>, (f) <see cref="ShellAngles"/>).
/// </summary>
public sealed record InvariantOptions
{
    /// <summary>Radius (Å) of the sorted-distance family; missing neighbours count as this distance. Not the interaction range: <see cref="Cutoff"/>.</summary>
    public double SortedCutoff { get; init; } = 6.0;

    /// <summary>k nearest neighbours per neighbour species symbol (absent species: 0).</summary>
    public IReadOnlyDictionary<string, int> SortedCounts { get; init; } = new Dictionary<string, int>();

    public double RadialCutoff { get; init; } = 6.0;
    /// <summary>
    /// Power P of the smooth cutoff f_c = (1 − (r/r_c)²)^P of the radial and angular sums. 2 (the default, and every
    /// model file without the field): value and slope vanish at r_c, the curvature jumps, and each neighbour
    /// crossing r_c costs Verlet a little energy. 3 (C²) and 4 (C³) take the NVE drift of a smooth model from ~7e-4
    /// to below 1e-4 of the kinetic energy over 10 ps (README, "Conservative mode and NVE").
    /// </summary>
    public int CutoffPower { get; init; } = 2;
    public IReadOnlyList<RadialBasisFunction> Radial { get; init; } = [];

    /// <summary>Highest Legendre degree of the angular family (0: no angular invariants); degrees 1..L are used.</summary>
    public int AngularDegree { get; init; }
    public double AngularCutoff { get; init; } = 3.5;
    public IReadOnlyList<RadialBasisFunction> AngularRadial { get; init; } = [];

    /// <summary>
    /// (d) Angles at the agent between two of its sorted neighbours (the RankA-th nearest of species A and the
    /// RankB-th nearest of B), as P_1..P_L of the cosine: the H–O–H bend seen by an O, the O–H···O line
    /// seen by an H. Bounded (|P_l| ≤ 1), so they cannot switch on far from the data as steep sums can.
    /// </summary>
    public IReadOnlyList<SortedAngle> SortedAngles { get; init; } = [];
    public int SortedAngleDegree { get; init; }

    /// <summary>(e) Smooth shells: Σ_j (r_ij − on)^n w(r_ij), n = 1..N, over one neighbour species inside a C³ switch (Families/Shells.cs).</summary>
    public IReadOnlyList<ShellSum> Shells { get; init; } = [];
    /// <summary>(f) Angles between two smooth shells: Σ_jk s_A(r_ij) s_B(r_ik) P_l(cos θ_jik), the smooth stand-in for sorted angles.</summary>
    public IReadOnlyList<ShellAngle> ShellAngles { get; init; } = [];

    /// <summary>The interaction range: the largest cutoff of the families in use, and the neighbour-list cutoff.</summary>
    public double Cutoff => InvariantFamilies.All.Max(f => f.Cutoff(this));

    /// <summary>Evenly spaced Gaussians from <paramref name="from"/> to <paramref name="to"/>, width = spacing.</summary>
    public static IReadOnlyList<RadialBasisFunction> GaussianLadder(int count, double from, double to, double? width = null)
    {
        var list = new List<RadialBasisFunction>();
        if (count == 1) { list.Add(RadialBasisFunction.Gaussian(from, width ?? Math.Max(0.1, to - from))); return list; }
        double step = (to - from) / (count - 1);
        for (int n = 0; n < count; n++) list.Add(RadialBasisFunction.Gaussian(from + n * step, width ?? step));
        return list;
    }

    /// <summary>Checks every family's options (<see cref="InvariantFamilyKind.Validate"/>), then that some family is in use.</summary>
    public void Validate()
    {
        foreach (var f in InvariantFamilies.All) f.Validate(this);
        if (Cutoff <= 0) throw new DataException("invariants: no invariant family is enabled");
    }

    internal static void Positive(double v, string name)
    {
        if (!(v > 0) || !double.IsFinite(v)) throw new DataException($"invariants: {name} must be a positive number of Å, got {v}");
    }

    /// <summary>Field <paramref name="i"/> of --basis item <paramref name="raw"/> as a number, or the error naming it.</summary>
    internal static double Number(string[] parts, int i, string raw) =>
        double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out var v)
            ? v : throw new DataException($"--basis: '{raw}': '{parts[i]}' is not a number");

    internal static int Integer(string[] parts, int i, string raw) =>
        int.TryParse(parts[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out var v)
            ? v : throw new DataException($"--basis: '{raw}': '{parts[i]}' is not an integer");

    /// <summary>The items of a basis spec, family by family, for help text.</summary>
    public static string BasisSyntax => InvariantFamilies.Syntax;

    /// <summary>
    /// Parses a basis spec: items joined by '+', e.g. "sorted:O4:H8+gauss:8:0.8:5.5+inv:1:6+angular:3", each handed to the
    /// family that owns it (<see cref="InvariantFamilyKind.Items"/>). Items: sorted:SYMk... (k nearest of each species);
    /// gauss:N[:from:to[:width]] (N Gaussians, width = spacing unless given); inv:p1:p2 (inverse powers p1..p2); fc:P (cutoff
    /// power, <see cref="CutoffPower"/>); angular:L[:rc] (Legendre degrees 1..L with the default angular radial functions);
    /// angularGauss:N:from:to[:width] (the angular radial functions); angles:L:H1H2:O1O2 (P_1..P_L of the angle between the
    /// 1st and 2nd nearest H, the 1st and 2nd nearest O...; O@H1H2 limits an angle to O agents); shell:O-H:on:off:N and
    /// shellAngle:L:O@H:on:off:H:on:off (smooth shells, see <see cref="ShellSum"/> and <see cref="ShellAngle"/>). The radial
    /// and sorted cutoffs are <paramref name="cutoff"/>; the angular one min(3.5, cutoff) unless given.
    /// </summary>
    public static InvariantOptions Parse(string spec, double cutoff)
    {
        var options = new InvariantOptions
        {
            SortedCutoff = cutoff, SortedCounts = new Dictionary<string, int>(StringComparer.Ordinal), RadialCutoff = cutoff,
            AngularCutoff = Math.Min(3.5, cutoff),
        };
        foreach (var raw in spec.Split('+', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = raw.Split(':', StringSplitOptions.TrimEntries);
            var family = InvariantFamilies.ForItem(parts[0])
                ?? throw new DataException($"--basis: unknown item '{parts[0]}' (expected {InvariantFamilies.ItemNames})");
            options = family.Parse(parts, raw, cutoff, options);
        }
        foreach (var f in InvariantFamilies.All) options = f.FinishParse(options);
        options.Validate();
        return options;
    }

    /// <summary>Angular radial functions: the covalent O–H shell and the hydrogen-bond shell.</summary>
    public static IReadOnlyList<RadialBasisFunction> DefaultAngularRadial { get; } =
        [RadialBasisFunction.Gaussian(1.0, 0.15), RadialBasisFunction.Gaussian(1.9, 0.35), RadialBasisFunction.Gaussian(2.8, 0.35)];
}
