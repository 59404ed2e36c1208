using MolecularLearning.Core;

namespace MolecularLearning.Learning;

/// <summary>What the fit reproduces: reference forces, or accelerations of the positions alone.</summary>
public enum FitTarget
{
    /// <summary>The frames' forces (CP2K's -frc- file).</summary>
    Forces,
    /// <summary>m (x(t+dt) − 2x(t) + x(t−dt)) / dt² from three consecutive frames (the learning-dynamics reading).</summary>
    Accelerations,
}

/// <summary>Everything a fit needs besides the frames. <see cref="Recommended"/> is the model the project recommends; <see cref="Default"/> the paper's agent model.</summary>
public sealed record FitOptions
{
    public int Order { get; init; } = 2;
    public ForceMode Mode { get; init; } = ForceMode.Agent;
    public InvariantOptions Invariants { get; init; } = new();
    /// <summary>Fraction of frames held out at the end (a contiguous block).</summary>
    public double HoldoutFraction { get; init; } = 0.2;
    /// <summary>Fraction of the (strided) training frames, at their end, used to choose the ridge strength.</summary>
    public double ValidationFraction { get; init; } = 0.2;
    /// <summary>Fixed ridge strength (relative to the standardised columns); null: choose on the validation block.</summary>
    public double? Ridge { get; init; }
    public FitTarget Target { get; init; } = FitTarget.Forces;
    /// <summary>Use every n-th training frame (neighbouring MD frames are nearly identical); 0: automatic (about <see cref="AutoStrideFrames"/> frames, a quarter of that in conservative mode).</summary>
    public int Stride { get; init; }
    public int AutoStrideFrames { get; init; } = 400;
    /// <summary>Strength k (eV/Å³) of the walls w = k (r_min − r)³ placed under the loss; 0: none.</summary>
    public double RepulsionStrength { get; init; }
    /// <summary>How far (Å) below the shortest training distance of each species pair the wall starts.</summary>
    public double RepulsionMargin { get; init; } = 0.05;
    /// <summary>
    /// Strength (eV) of the walls on each invariant's training range (<see cref="InvariantBounds"/>): at one
    /// training standard deviation beyond the range the loss has risen by this much. 0: none.
    /// </summary>
    public double RangeWallStrength { get; init; }
    /// <summary>Agent mode: how the range walls push (<see cref="Learning.WallForces"/>; default Agent, each its own agent).</summary>
    public WallForces WallForces { get; init; }
    /// <summary>How far beyond the training range (in training standard deviations) the range walls start.</summary>
    public double RangeWallMargin { get; init; } = 0.5;
    /// <summary>Smallest scale of a range wall (in the invariant's units): invariants that barely vary in training get this.</summary>
    public double RangeWallMinScale { get; init; } = 0.01;

    /// <summary>
    /// Invariant families (<see cref="InvariantSet.FamilyNames"/>) that enter an order-2 loss linearly only: no
    /// quadratic terms, so the fit's columns grow with the square of the other families alone. The loss stays
    /// linear in its parameters and C is zero in their rows and columns.
    /// </summary>
    public IReadOnlyList<string> LinearFamilies { get; init; } = [];

    /// <summary>
    /// Give species the basis does not name (its shells, shell angles and sorted distances are written for O and H) bonded
    /// terms of their own, derived from the training frames (<see cref="BondedTerms"/>). On in the built-in bases; off for
    /// an explicit basis. No effect when the basis names every species of the data, or names none.
    /// </summary>
    public bool DeriveBondedTerms { get; init; }
    /// <summary>Terms already derived and applied to <see cref="Invariants"/> (set by the fit): its shells and shell angles enter linearly.</summary>
    public BondedTerms? Bonded { get; init; }

    /// <summary>
    /// Contiguous blocks of training frames for choosing the ridge by cross-validation (each block left out in turn);
    /// 0: the last <see cref="ValidationFraction"/> of the training frames alone judges the ridge; 1: the same, and a short
    /// run is fitted as asked (no small-data recipe).
    /// </summary>
    public int Folds { get; init; }
    /// <summary>
    /// A fit with fewer training frames (before the stride) than this is a small-data fit (<see cref="ModelFitter.Fit"/>): the ridge
    /// by <see cref="SmallDataFolds"/>-fold block cross-validation and the basis chosen by the same among
    /// <see cref="Invariants"/> and <see cref="SmallDataBases"/>. 0: never.
    /// </summary>
    public int SmallDataFrames { get; init; }
    public int SmallDataFolds { get; init; } = 5;
    /// <summary>Fewer training frames than this are fitted as asked: blocks of a frame or two cross-validate nothing, and each
    /// block costs an eigendecomposition of the parameters' Gram matrix (the shipped 5-frame samples stay quick).</summary>
    public int SmallDataMinFrames { get; init; } = 10;
    /// <summary>Further bases (--basis specs, at <see cref="Invariants"/>' cutoff) a small-data fit tries.</summary>
    public IReadOnlyList<string> SmallDataBases { get; init; } = [];
    /// <summary>Fewer force components per parameter than this gives a warning in the report (0: never).</summary>
    public double MinRowsPerParameter { get; init; } = 50;

    /// <summary>
    /// Committee members fitted beside the model (0: none): each is the same design refitted, with the same ridge, on a
    /// bootstrap resample of <see cref="CommitteeBlocks"/> contiguous blocks of the training frames (docs/extrapolation.md,
    /// "Committee"). Their force disagreement is the model deviation DeePMD-kit users know.
    /// </summary>
    public int Committee { get; init; }
    /// <summary>Contiguous blocks of training frames a committee member resamples (at least this many; one Gram matrix each).</summary>
    public int CommitteeBlocks { get; init; } = 16;

    /// <summary>
    /// Agent mode: weight μ (Å²) of a penalty on the antisymmetric part of the force Jacobian (the curl that makes agent
    /// forces heat, docs/agent-mode.md), sampled on <see cref="CurlFrames"/> training frames; null: none. The species are
    /// then solved jointly, each with the ridge the plain fit chose.
    /// </summary>
    public double? CurlPenalty { get; init; }
    /// <summary>Training frames (evenly spaced) the curl penalty samples neighbour pairs on.</summary>
    public int CurlFrames { get; init; } = 16;
    /// <summary>Random neighbour pairs within the cutoff per curl frame.</summary>
    public int CurlPairsPerFrame { get; init; } = 400;
    /// <summary>Gaussian displacement (Å, per coordinate) of the curl frames' atoms: the penalty then holds beside the training configurations too; 0: the frames as they are.</summary>
    public double CurlJitter { get; init; }
    /// <summary>Central-difference step (Å) of the force rows' derivatives.</summary>
    public double CurlStep { get; init; } = 1e-4;
    /// <summary>
    /// Extra configurations the curl penalty samples (as they are, <see cref="CurlPairsPerFrame"/> pairs each), e.g. frames a
    /// run of the model reached: the penalty needs no reference forces, so unlabelled frames are valid. The force rows are unchanged.
    /// </summary>
    public IReadOnlyList<Core.Frame> CurlExtraFrames { get; init; } = [];

    /// <summary>Parallel chunks for building the design matrix (fixed, so results do not depend on the machine's core count).</summary>
    public int Chunks { get; init; } = 4;
    /// <summary>A name for the data, stored in the model's training metadata.</summary>
    public string Source { get; init; } = "";
    /// <summary>The backend the training and held-out errors are evaluated on.</summary>
    public BackendChoice Backend { get; init; } = BackendChoice.Auto;

    /// <summary>
    /// What <c>mld fit</c> makes with no --mode, --basis or --preset: the most accurate model that holds under any
    /// thermostat, today the <see cref="Accurate"/> recipe (conservative, so NVE conserves energy and no thermostat has
    /// to drain pumped heat). Chosen by measurement: integration/defaults/ (held-out force error against
    /// <see cref="Default"/>) and docs/model.md.
    /// </summary>
    public static FitOptions Recommended => Accurate;

    /// <summary>
    /// The paper's agent-mode model (<c>mld fit --mode agent</c>): order 2, F_i = −∂L_i/∂x_i, sorted distances,
    /// Gaussians and sorted angles. The library's historical default; <see cref="Recommended"/> is what the CLI fits.
    /// </summary>
    public static FitOptions Default { get; } = new()
    {
        Order = 2,
        Mode = ForceMode.Agent,
        Invariants = InvariantOptions.Parse(DefaultBasis, DefaultCutoff),
        RepulsionStrength = 20,
        RangeWallStrength = 0.02,
        SmallDataFrames = SmallRunFrames,
        DeriveBondedTerms = true,
    };

    /// <summary>The default invariants as a --basis spec (see <see cref="InvariantOptions.Parse"/>).</summary>
    public const string DefaultBasis = "sorted:O4:H8+gauss:10:0.8:5.5+angles:3:H1H2:O1H1:O1O2:O1H2";
    public const double DefaultCutoff = 6.0;

    /// <summary>
    /// The default for <c>--mode conservative</c>: Gaussians plus smooth shells (<see cref="ShellSum"/>, <see cref="ShellAngle"/>)
    /// instead of sorted distances and sorted angles, whose gradient (angles: value) jumps when two neighbours swap
    /// rank; a C³ cutoff (fc:4: with the C¹ one each neighbour crossing 6 Å costs Verlet a little energy) and soft
    /// range walls (0.005 eV: at 0.02 eV a neighbour pressing on a narrow training range makes a wall too stiff for
    /// 0.5 fs steps, and the energy steps by a few 0.01 eV). Measured (README, "Conservative mode and NVE"): NVE 10 ps
    /// at 0.5 fs from four CP2K frames drifts below 1e-4 of the mean kinetic energy, held-out relRMSE O 0.070 / H 0.068.
    /// About 400 training frames: with 100 the range walls sit too tight for the held-out block (H 0.24).
    /// </summary>
    public static FitOptions DefaultConservative { get; } = new()
    {
        Order = 2,
        Mode = ForceMode.Conservative,
        Invariants = InvariantOptions.Parse(DefaultConservativeBasis, DefaultCutoff),
        RepulsionStrength = 20,
        RangeWallStrength = 0.005,
        AutoStrideFrames = 1600, // conservative fits take a quarter of this: ~400 frames
        SmallDataFrames = SmallRunFrames,
        DeriveBondedTerms = true,
    };

    /// <summary>The conservative default's invariants as a --basis spec: covalent O–H shells (stretch polynomials), the
    /// H–O–H bend and the O–H···O line as shell angles, Gaussians for everything farther, the C³ cutoff.</summary>
    public const string DefaultConservativeBasis =
        "gauss:10:0.8:5.5+fc:4+shell:O-H:1.15:1.45:2+shell:H-O:1.15:1.45:2+shellAngle:3:O@H:1.15:1.45:H:1.15:1.45+shellAngle:3:H@O:1.15:1.45:O:2.0:2.6";

    /// <summary>
    /// The "accurate" preset (<c>mld fit --preset accurate</c>): conservative mode, the smooth conservative basis plus
    /// angular Gaussians (Σ over neighbour pairs of h_n h_m P_l(cos θ), l ≤ 2) that enter the loss linearly, so the
    /// fit stays small. Measured (README, "The learned model"): held-out relRMSE well below 0.10 for O and H, stable
    /// NVT MD; evaluation several times slower than <see cref="Default"/> at the same cost per MD step order of
    /// magnitude, and it is <see cref="Recommended"/>.
    /// </summary>
    public static FitOptions Accurate { get; } = new()
    {
        Order = 2,
        Mode = ForceMode.Conservative,
        Invariants = InvariantOptions.Parse(AccurateBasis, DefaultCutoff),
        LinearFamilies = ["angular"],
        RepulsionStrength = 20,
        RangeWallStrength = 0.005, // as the conservative default: held out H 0.046 against 0.056 with 0.02
        AutoStrideFrames = 1600,
        SmallDataFrames = SmallRunFrames,
        SmallDataBases = [AccurateSmallDataBasis],
        DeriveBondedTerms = true,
    };

    /// <summary>
    /// Below this many training frames a preset fits as a short run (<see cref="SmallDataFrames"/>): the shipped PBE run
    /// (119 training frames, 60 fs) is one, the xTB sample (800) is not. Measured: integration/smalldata/.
    /// </summary>
    public const int SmallRunFrames = 200;

    /// <summary>
    /// The accurate basis with a finer angular family (degree 4, five Gaussian shells 1.0–3.4 Å, σ 0.3, 4 Å cutoff), which a
    /// short run tries: on the PBE run its held-out error is lower at the same ridge (integration/smalldata/).
    /// </summary>
    public const string AccurateSmallDataBasis =
        "gauss:10:0.8:5.5+fc:4+shell:O-H:1.15:1.45:2+shell:H-O:1.15:1.45:2+shellAngle:3:O@H:1.15:1.45:H:1.15:1.45+shellAngle:3:H@O:1.15:1.45:O:2.0:2.6"
        + "+angular:4:4.0+angularGauss:5:1.0:3.4:0.3";

    /// <summary>The accurate preset's invariants as a --basis spec: the smooth conservative basis and angular Gaussians
    /// (l = 1, 2; shells at 1.0 and 2.2 Å, 3 Å cutoff).</summary>
    /// <remarks>Spelled out rather than built on <see cref="DefaultConservativeBasis"/>, so the measured preset stays what it is.</remarks>
    public const string AccurateBasis =
        "gauss:10:0.8:5.5+fc:4+shell:O-H:1.15:1.45:2+shell:H-O:1.15:1.45:2+shellAngle:3:O@H:1.15:1.45:H:1.15:1.45+shellAngle:3:H@O:1.15:1.45:O:2.0:2.6"
        + "+angular:2:3.0+angularGauss:2:1.0:2.2:0.5";

    /// <summary>
    /// The species symbols a basis's species-specific families name (sorted distances, sorted angles, shells, shell angles).
    /// The radial and angular sums are species-generic: every species gets them.
    /// </summary>
    public static IReadOnlySet<string> NamedSpecies(InvariantOptions basis)
    {
        var named = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (symbol, k) in basis.SortedCounts) if (k > 0) named.Add(symbol);
        foreach (var a in basis.SortedAngles) { named.Add(a.A); named.Add(a.B); if (a.Agent is { } g) named.Add(g); }
        foreach (var sh in basis.Shells) { named.Add(sh.Agent); named.Add(sh.Window.Species); }
        foreach (var sa in basis.ShellAngles) { named.Add(sa.Agent); named.Add(sa.LegA.Species); named.Add(sa.LegB.Species); }
        return named;
    }

    /// <summary>
    /// A warning when the data hold species a built-in basis does not name (the defaults are written for water): they are
    /// described by the species-generic sums alone. Null when every species is named, or the basis names none.
    /// </summary>
    public static string? UnnamedSpeciesWarning(InvariantOptions basis, IEnumerable<Species> present, string basisName)
    {
        var named = NamedSpecies(basis);
        if (named.Count == 0) return null;
        var missing = present.DistinctBy(s => s.Symbol).Where(s => !named.Contains(s.Symbol)).OrderBy(s => s.AtomicNumber).Select(s => s.Symbol).ToArray();
        if (missing.Length == 0) return null;
        string generic = basis.AngularDegree > 0 && basis.AngularRadial.Count > 0 ? "the radial sums and the angular sums" : "the radial sums";
        string them = missing.Length == 1 ? "it" : "them";
        return $"{basisName} is written for water: its sorted-distance, shell and angle terms name only {string.Join(", ", named.Order())}; " +
               $"{string.Join(", ", missing)} {(missing.Length == 1 ? "is" : "are")} described only by {generic} (no bond-stretch or bend terms of {(missing.Length == 1 ? "its" : "their")} own). " +
               $"To name {them}, give --basis with the default's items plus e.g. shell:{missing[0]}-H:on:off:n and shell:H-{missing[0]}:on:off:n " +
               "(bond window in Å, see docs/model.md for the families)";
    }

    public void Validate()
    {
        if (Order is not (1 or 2)) throw new Core.DataException($"order must be 1 or 2, got {Order}");
        if (!(HoldoutFraction >= 0 && HoldoutFraction < 1)) throw new Core.DataException($"holdout fraction must be in [0, 1), got {HoldoutFraction}");
        if (!(ValidationFraction >= 0 && ValidationFraction < 1)) throw new Core.DataException($"validation fraction must be in [0, 1), got {ValidationFraction}");
        if (Stride < 0) throw new Core.DataException($"stride must be positive, got {Stride}");
        if (Folds < 0) throw new Core.DataException($"folds must be non-negative, got {Folds}");
        if (SmallDataFrames < 0) throw new Core.DataException($"small-data frames must be non-negative, got {SmallDataFrames}");
        if (SmallDataFolds < 2) throw new Core.DataException($"small-data folds must be at least 2, got {SmallDataFolds}");
        if (Committee < 0 || Committee == 1) throw new Core.DataException($"committee must be 0 (none) or at least 2 members, got {Committee}");
        if (CommitteeBlocks < 2) throw new Core.DataException($"committee blocks must be at least 2, got {CommitteeBlocks}");
        if (Ridge is { } r && !(r >= 0)) throw new Core.DataException($"ridge must be non-negative, got {r}");
        if (CurlPenalty is { } mu && !(mu >= 0)) throw new Core.DataException($"curl penalty must be non-negative, got {mu}");
        if (CurlPenalty is not null && Mode != ForceMode.Agent) throw new Core.DataException("the curl penalty is for agent mode (conservative forces have none)");
        if (CurlFrames < 1 || CurlPairsPerFrame < 1) throw new Core.DataException($"curl frames and pairs per frame must be positive, got {CurlFrames} and {CurlPairsPerFrame}");
        if (!(CurlJitter >= 0)) throw new Core.DataException($"curl jitter must be non-negative, got {CurlJitter}");
        if (!(CurlStep > 0)) throw new Core.DataException($"curl step must be positive, got {CurlStep}");
        if (CurlExtraFrames.Count > 0 && CurlPenalty is null) throw new Core.DataException("extra curl frames need the curl penalty");
        if (!(RepulsionStrength >= 0)) throw new Core.DataException("repulsion strength must be non-negative");
        foreach (var f in LinearFamilies)
            if (!InvariantSet.FamilyNames.Contains(f))
                throw new Core.DataException($"linear families: unknown family '{f}' (expected {string.Join(", ", InvariantSet.FamilyNames)})");
        Invariants.Validate();
    }
}

/// <summary>How strongly an agent species' loss responds to each invariant on the training data.</summary>
public sealed record Sensitivity(string Invariant, double Value);

public sealed record FitReport
{
    public required ForceErrorReport Train { get; init; }
    public required ForceErrorReport Holdout { get; init; }
    /// <summary>Per agent species: RMS of ∂L/∂I_k times the standard deviation of I_k, per invariant.</summary>
    public required IReadOnlyDictionary<string, IReadOnlyList<Sensitivity>> Sensitivities { get; init; }
    /// <summary>Chosen ridge per species (conservative: the same for all) and the validation scan.</summary>
    public required IReadOnlyDictionary<string, double> Ridge { get; init; }
    public required IReadOnlyDictionary<string, IReadOnlyList<(double Ridge, double ValidationRelRmse)>> RidgeScan { get; init; }
    public int Parameters { get; init; }
    public int Invariants { get; init; }
    public long Rows { get; init; }
    /// <summary>Wall time of the whole fit, of building the design Gram matrices, and of the ridge solves.</summary>
    public double Seconds { get; init; }
    /// <summary>The backend the errors were evaluated on, and why Auto fell back to Reference (null if it did not).</summary>
    public BackendInfo? Backend { get; init; }
    public string? BackendNote { get; init; }
    public double DesignSeconds { get; init; }
    public double SolveSeconds { get; init; }
    /// <summary>Wall time of the committee members' solves (0 without a committee).</summary>
    public double CommitteeSeconds { get; init; }
    /// <summary>Blocks of the cross-validation that chose the ridge (0: the last validation block did).</summary>
    public int Folds { get; init; }
    /// <summary>Per species, the chosen ridge's relRMSE pooled over the left-out blocks (cross-validation only).</summary>
    public IReadOnlyDictionary<string, double> CrossValidation { get; init; } = new Dictionary<string, double>();
    /// <summary>What the fit chose and why, in a sentence (small data: the folds and the basis); null for a plain fit.</summary>
    public string? Recipe { get; init; }
    /// <summary>The curl penalty's sample and effect (agent fits with <see cref="FitOptions.CurlPenalty"/>), else null.</summary>
    public CurlReport? Curl { get; init; }
    /// <summary>What the fit added to a built-in basis for species it does not name (<see cref="BondedTerms.Summary"/>), else null.</summary>
    public string? BondedTerms { get; init; }
    /// <summary>Warnings about the data (too few for the basis).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
}

public sealed record FitResult(LearnedModel Model, FitReport Report);
