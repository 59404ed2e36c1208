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
    /// <summary>Cutoff (Å) of the sorted-distance family; missing neighbours count as this distance.</summary>
    public double Cutoff { get; init; } = 6.0;

    /// <summary>k nearest neighbours per neighbour species symbol (absent species: 0).</summary>
    public IReadOnlyDictionary<string, int> SortedCounts { get; init; } = new Dictionary<string, int>();

    public double RadialCutoff { get; init; } = 6.0;
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

    /// <summary>
    /// (e) Angular shells: per agent species, compact radial shells on the real structure (for an O agent its
    /// covalent H at 1.0 Å, hydrogen-bonded H at 1.9 Å, neighbouring O at 2.8 Å). For each pair of an agent's
    /// shells (A, B): Σ over neighbour pairs j ≠ k of h_A(r_ij) h_B(r_ik) P_l(cos θ_jik), l = 1..L. Each shell
    /// is zero outside its own range, so no invariant lives on the tail of a shell that the data never fills.
    /// </summary>
    public IReadOnlyList<AngularShell> Shells { get; init; } = [];
    public int ShellDegree { get; init; }

    /// <summary>Largest cutoff of the families in use: the neighbour-list cutoff.</summary>
    public double MaxCutoff
    {
        get
        {
            double c = SortedCounts.Values.Any(v => v > 0) ? Cutoff : 0;
            if (Radial.Count > 0) c = Math.Max(c, RadialCutoff);
            if (AngularDegree > 0 && AngularRadial.Count > 0) c = Math.Max(c, AngularCutoff);
            if (ShellDegree > 0) foreach (var sh in Shells) c = Math.Max(c, sh.Centre + sh.HalfWidth);
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
        Positive(Cutoff, "cutoff"); Positive(RadialCutoff, "radial cutoff"); Positive(AngularCutoff, "angular cutoff");
        foreach (var (sym, k) in SortedCounts)
            if (k < 0 || k > 64) throw new DataException($"invariants: sorted count for {sym} must be 0..64, got {k}");
        for (int i = 0; i < Radial.Count; i++) Radial[i].Validate($"invariants: radial function {i}");
        for (int i = 0; i < AngularRadial.Count; i++) AngularRadial[i].Validate($"invariants: angular function {i}");
        if (AngularDegree < 0 || AngularDegree > 8) throw new DataException($"invariants: angular degree must be 0..8, got {AngularDegree}");
        if (SortedAngleDegree < 0 || SortedAngleDegree > 8) throw new DataException($"invariants: sorted-angle degree must be 0..8, got {SortedAngleDegree}");
        foreach (var a in SortedAngles)
        {
            int ka = SortedCounts.TryGetValue(a.A, out var x) ? x : 0, kb = SortedCounts.TryGetValue(a.B, out var y) ? y : 0;
            if (a.RankA < 1 || a.RankB < 1 || a.RankA > ka || a.RankB > kb || (a.A == a.B && a.RankA == a.RankB))
                throw new DataException($"invariants: sorted angle {a} needs two different ranks within the sorted counts ({a.A}: {ka}, {a.B}: {kb})");
        }
        if (ShellDegree < 0 || ShellDegree > 8) throw new DataException($"invariants: shell degree must be 0..8, got {ShellDegree}");
        foreach (var sh in Shells)
        {
            Positive(sh.Centre, $"shell {sh} centre"); Positive(sh.HalfWidth, $"shell {sh} half-width");
            if (Shells.Count(x => x == sh) > 1) throw new DataException($"invariants: shell {sh} is given twice");
        }
        if (MaxCutoff <= 0) throw new DataException("invariants: no invariant family is enabled");
    }

    /// <summary>
    /// Parses a basis spec: items joined by '+', e.g. "sorted:O4:H8+gauss:8:0.8:5.5+inv:1:6+angular:3".
    /// Items: sorted:SYMk... (k nearest of each species); gauss:N[:from:to[:width]] (N Gaussians, width = spacing unless given);
    /// inv:p1:p2 (inverse powers p1..p2); angular:L[:rc] (Legendre degrees 1..L with the default angular
    /// radial functions); angularGauss:N:from:to[:width] (the angular radial functions);
    /// angles:L:H1H2:O1O2 (P_1..P_L of the angle between the 1st and 2nd nearest H, the 1st and 2nd nearest O...;
    /// O@H1H2 limits an angle to O agents); shells:L:OH1.0/0.3:OO2.8/0.5:... (angular shells: agent O, neighbour H,
    /// centre 1.0 Å, half-width 0.3 Å; see <see cref="Shells"/>); the preset name "accurate" stands for
    /// <see cref="AccurateBasis"/>. The radial cutoff is <paramref name="cutoff"/>.
    /// </summary>
    public static InvariantOptions Parse(string spec, double cutoff)
    {
        var sorted = new Dictionary<string, int>(StringComparer.Ordinal);
        var radial = new List<RadialBasisFunction>();
        var angRadial = new List<RadialBasisFunction>();
        int degree = 0, angleDegree = 0, shellDegree = 0;
        var shells = new List<AngularShell>();
        if (spec.Trim().Equals("accurate", StringComparison.OrdinalIgnoreCase)) spec = AccurateBasis;
        var angles = new List<SortedAngle>();
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
                case "shells":
                    shellDegree = I(1);
                    for (int i = 2; i < parts.Length; i++) shells.Add(AngularShell.Parse(parts[i], raw));
                    break;
                case "angulargauss":
                    angRadial.AddRange(GaussianLadder(I(1), D(2), D(3), parts.Length > 4 ? D(4) : null));
                    break;
                default:
                    throw new DataException($"--basis: unknown item '{parts[0]}' (expected sorted, gauss, inv, angular, angularGauss, angles, shells)");
            }
        }
        if (degree > 0 && angRadial.Count == 0) angRadial.AddRange(DefaultAngularRadial);
        var options = new InvariantOptions
        {
            Cutoff = cutoff, SortedCounts = sorted, RadialCutoff = cutoff, Radial = radial,
            AngularDegree = degree, AngularCutoff = angCut, AngularRadial = degree > 0 ? angRadial : [],
            SortedAngleDegree = angleDegree, SortedAngles = angleDegree > 0 ? angles : [],
            ShellDegree = shellDegree, Shells = shellDegree > 0 ? shells : [],
        };
        options.Validate();
        return options;
    }

    /// <summary>The "accurate" preset (README, "The learned model"): the default basis plus angular shells.</summary>
    public const string AccurateBasis = "sorted:O4:H8+gauss:10:0.8:5.5+angles:3:H1H2:O1H1:O1O2:O1H2+shells:3:OH1.0/0.3:OH1.9/0.5:OO2.8/0.5:HO1.0/0.3:HO1.9/0.5:HH1.55/0.25";

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

/// <summary>
/// A compact radial shell of the angular-shell family: for agents of species <see cref="Agent"/>, neighbours of
/// species <see cref="Neighbour"/> weighted by h(r) = (1 − x²)³, x = (r − Centre)/HalfWidth, zero for |x| ≥ 1
/// (value, slope and curvature vanish at the edges).
/// </summary>
public readonly record struct AngularShell(string Agent, string Neighbour, double Centre, double HalfWidth)
{
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Agent}{Neighbour}{Centre}/{HalfWidth}");

    /// <summary>Half-width when a shell gives none (Å).</summary>
    public const double DefaultHalfWidth = 0.4;

    /// <summary>h(r) and dh/dr.</summary>
    public double Value(double r, out double derivative)
    {
        double x = (r - Centre) / HalfWidth;
        if (x <= -1 || x >= 1) { derivative = 0; return 0; }
        double u = 1 - x * x;
        derivative = -6 * x * u * u / HalfWidth;
        return u * u * u;
    }

    /// <summary>Parses "OH1.0/0.3" (agent O, neighbour H, centre 1.0 Å, half-width 0.3 Å) or "OH1.0" (default half-width).</summary>
    public static AngularShell Parse(string text, string context)
    {
        var m = System.Text.RegularExpressions.Regex.Match(text, "^([A-Z][a-z]?)([A-Z][a-z]?)([0-9.]+)(?:/([0-9.]+))?$");
        if (!m.Success
            || !double.TryParse(m.Groups[3].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var centre)
            || !(m.Groups[4].Success ? double.TryParse(m.Groups[4].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var w) : (w = DefaultHalfWidth) > 0))
            throw new DataException($"--basis: '{context}': expected a shell like OH1.0/0.3 (agent O, neighbour H, centre/half-width in Å), got '{text}'");
        return new(m.Groups[1].Value, m.Groups[2].Value, centre, w);
    }
}
