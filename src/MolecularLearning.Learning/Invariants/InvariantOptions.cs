using System.Globalization;
using MolecularLearning.Core;

namespace MolecularLearning.Learning;

/// <summary>
/// Which invariants describe an agent's neighbourhood (independent of the species present):
/// (a) sorted distances to the k nearest neighbours of each species, (b) radial sums Σ_j g_n(r_ij) f_c(r_ij)
/// per neighbour species, (c) angular sums over neighbour pairs of h_n(r_ij) h_m(r_ik) P_l(cos θ_jik).
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

    /// <summary>(e) Smooth shells: Σ_j (r_ij − on)^n w(r_ij), n = 1..N, over one neighbour species inside a C³ switch (InvariantSet.Shell.cs).</summary>
    public IReadOnlyList<ShellSum> Shells { get; init; } = [];
    /// <summary>(f) Angles between two smooth shells: Σ_jk s_A(r_ij) s_B(r_ik) P_l(cos θ_jik), the smooth stand-in for sorted angles.</summary>
    public IReadOnlyList<ShellAngle> ShellAngles { get; init; } = [];

    /// <summary>The interaction range: the largest cutoff of the families in use, and the neighbour-list cutoff.</summary>
    public double Cutoff
    {
        get
        {
            double c = SortedCounts.Values.Any(v => v > 0) ? SortedCutoff : 0;
            if (Radial.Count > 0) c = Math.Max(c, RadialCutoff);
            if (AngularDegree > 0 && AngularRadial.Count > 0) c = Math.Max(c, AngularCutoff);
            foreach (var sh in Shells) c = Math.Max(c, sh.Window.Off);
            foreach (var a in ShellAngles) c = Math.Max(c, Math.Max(a.LegA.Off, a.LegB.Off));
            return c;
        }
    }

    /// <summary>Evenly spaced Gaussians from <paramref name="from"/> to <paramref name="to"/>, width = spacing.</summary>
    public static IReadOnlyList<RadialBasisFunction> GaussianLadder(int count, double from, double to, double? width = null)
    {
        var list = new List<RadialBasisFunction>();
        if (count == 1) { list.Add(RadialBasisFunction.Gaussian(from, width ?? Math.Max(0.1, to - from))); return list; }
        double step = (to - from) / (count - 1);
        for (int n = 0; n < count; n++) list.Add(RadialBasisFunction.Gaussian(from + n * step, width ?? step));
        return list;
    }

    public void Validate()
    {
        static void Positive(double v, string name)
        {
            if (!(v > 0) || !double.IsFinite(v)) throw new DataException($"invariants: {name} must be a positive number of Å, got {v}");
        }
        Positive(SortedCutoff, "sorted cutoff"); Positive(RadialCutoff, "radial cutoff"); Positive(AngularCutoff, "angular cutoff");
        foreach (var (sym, k) in SortedCounts)
            if (k < 0 || k > 64) throw new DataException($"invariants: sorted count for {sym} must be 0..64, got {k}");
        for (int i = 0; i < Radial.Count; i++) Radial[i].Validate($"invariants: radial function {i}");
        for (int i = 0; i < AngularRadial.Count; i++) AngularRadial[i].Validate($"invariants: angular function {i}");
        if (CutoffPower < 2 || CutoffPower > 8) throw new DataException($"invariants: cutoff power must be 2..8, got {CutoffPower}");
        if (AngularDegree < 0 || AngularDegree > 8) throw new DataException($"invariants: angular degree must be 0..8, got {AngularDegree}");
        if (SortedAngleDegree < 0 || SortedAngleDegree > 8) throw new DataException($"invariants: sorted-angle degree must be 0..8, got {SortedAngleDegree}");
        foreach (var a in SortedAngles)
        {
            int ka = SortedCounts.TryGetValue(a.A, out var x) ? x : 0, kb = SortedCounts.TryGetValue(a.B, out var y) ? y : 0;
            if (a.RankA < 1 || a.RankB < 1 || a.RankA > ka || a.RankB > kb || (a.A == a.B && a.RankA == a.RankB))
                throw new DataException($"invariants: sorted angle {a} needs two different ranks within the sorted counts ({a.A}: {ka}, {a.B}: {kb})");
        }
        foreach (var sh in Shells) sh.Validate();
        foreach (var a in ShellAngles) a.Validate();
        if (Cutoff <= 0) throw new DataException("invariants: no invariant family is enabled");
    }

    /// <summary>
    /// Parses a basis spec: items joined by '+', e.g. "sorted:O4:H8+gauss:8:0.8:5.5+inv:1:6+angular:3".
    /// Items: sorted:SYMk... (k nearest of each species); gauss:N[:from:to[:width]] (N Gaussians, width = spacing unless given);
    /// inv:p1:p2 (inverse powers p1..p2); angular:L[:rc] (Legendre degrees 1..L with the default angular
    /// radial functions); angularGauss:N:from:to[:width] (the angular radial functions);
    /// angles:L:H1H2:O1O2 (P_1..P_L of the angle between the 1st and 2nd nearest H, the 1st and 2nd nearest O...;
    /// O@H1H2 limits an angle to O agents); shell:O-H:on:off:N and shellAngle:L:O@H:on:off:H:on:off (smooth shells,
    /// see <see cref="ShellSum"/> and <see cref="ShellAngle"/>); fc:P (cutoff power, <see cref="CutoffPower"/>). The radial cutoff is <paramref name="cutoff"/>.
    /// </summary>
    public static InvariantOptions Parse(string spec, double cutoff)
    {
        var sorted = new Dictionary<string, int>(StringComparer.Ordinal);
        var radial = new List<RadialBasisFunction>();
        var angRadial = new List<RadialBasisFunction>();
        int degree = 0, angleDegree = 0, cutoffPower = 2;
        var angles = new List<SortedAngle>();
        var shells = new List<ShellSum>();
        var shellAngles = new List<ShellAngle>();
        double angCut = Math.Min(3.5, cutoff);
        foreach (var raw in spec.Split('+', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = raw.Split(':', StringSplitOptions.TrimEntries);
            double D(int i) => double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out var v)
                ? v : throw new DataException($"--basis: '{raw}': '{parts[i]}' is not a number");
            int I(int i) => int.TryParse(parts[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out var v)
                ? v : throw new DataException($"--basis: '{raw}': '{parts[i]}' is not an integer");
            switch (parts[0].ToLowerInvariant())
            {
                case "sorted":
                    if (parts.Length == 1) { sorted["O"] = 4; sorted["H"] = 8; break; }
                    for (int i = 1; i < parts.Length; i++)
                    {
                        int digit = parts[i].IndexOfAny("0123456789".ToCharArray());
                        if (digit <= 0 || !int.TryParse(parts[i][digit..], NumberStyles.Integer, CultureInfo.InvariantCulture, out var k))
                            throw new DataException($"--basis: '{raw}': expected SYMBOLcount like O4, got '{parts[i]}'");
                        sorted[parts[i][..digit]] = k;
                    }
                    break;
                case "gauss":
                    radial.AddRange(GaussianLadder(I(1), parts.Length > 2 ? D(2) : 0.8, parts.Length > 3 ? D(3) : cutoff - 0.5, parts.Length > 4 ? D(4) : null));
                    break;
                case "inv":
                    for (int p = I(1); p <= (parts.Length > 2 ? I(2) : I(1)); p++) radial.Add(RadialBasisFunction.InversePower(p));
                    break;
                case "angular":
                    degree = I(1);
                    if (parts.Length > 2) angCut = D(2);
                    break;
                case "angles":
                    angleDegree = I(1);
                    for (int i = 2; i < parts.Length; i++) angles.Add(SortedAngle.Parse(parts[i], raw));
                    break;
                case "angulargauss":
                    angRadial.AddRange(GaussianLadder(I(1), D(2), D(3), parts.Length > 4 ? D(4) : null));
                    break;
                case "fc":
                    cutoffPower = I(1);
                    break;
                case "shell":
                    shells.Add(ShellSum.Parse(parts, raw));
                    break;
                case "shellangle":
                    shellAngles.Add(ShellAngle.Parse(parts, raw));
                    break;
                default:
                    throw new DataException($"--basis: unknown item '{parts[0]}' (expected sorted, gauss, inv, angular, angularGauss, angles, shell, shellAngle, fc)");
            }
        }
        if (degree > 0 && angRadial.Count == 0) angRadial.AddRange(DefaultAngularRadial);
        var options = new InvariantOptions
        {
            SortedCutoff = cutoff, SortedCounts = sorted, RadialCutoff = cutoff, Radial = radial,
            AngularDegree = degree, AngularCutoff = angCut, AngularRadial = degree > 0 ? angRadial : [],
            SortedAngleDegree = angleDegree, SortedAngles = angleDegree > 0 ? angles : [],
            Shells = shells, ShellAngles = shellAngles, CutoffPower = cutoffPower,
        };
        options.Validate();
        return options;
    }

    /// <summary>Angular radial functions: the covalent O–H shell and the hydrogen-bond shell.</summary>
    public static IReadOnlyList<RadialBasisFunction> DefaultAngularRadial { get; } =
        [RadialBasisFunction.Gaussian(1.0, 0.15), RadialBasisFunction.Gaussian(1.9, 0.35), RadialBasisFunction.Gaussian(2.8, 0.35)];
}

/// <summary>
/// The angle at the agent between its RankA-th nearest neighbour of species A and RankB-th nearest of B (ranks
/// from 1); with <see cref="Agent"/> set, only agents of that species see it (others get a constant 0), so an
/// angle whose ranks swap often for one species does not add jumps there.
/// </summary>
public readonly record struct SortedAngle(string A, int RankA, string B, int RankB, string? Agent = null)
{
    public override string ToString() => (Agent is null ? "" : Agent + "@") + $"{A}{RankA}{B}{RankB}";

    /// <summary>Parses "H1H2", "O1H1" or "O@H1H2" (only for O agents).</summary>
    public static SortedAngle Parse(string text, string context)
    {
        var m = System.Text.RegularExpressions.Regex.Match(text, "^(?:([A-Z][a-z]?)@)?([A-Z][a-z]?)([0-9]+)([A-Z][a-z]?)([0-9]+)$");
        if (!m.Success) throw new DataException($"--basis: '{context}': expected an angle like H1H2, O1H1 or O@H1H2, got '{text}'");
        return new(m.Groups[2].Value, int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture),
            m.Groups[4].Value, int.Parse(m.Groups[5].Value, CultureInfo.InvariantCulture),
            m.Groups[1].Success ? m.Groups[1].Value : null);
    }
}
