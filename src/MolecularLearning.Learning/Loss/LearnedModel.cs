using MolecularLearning.Core;

namespace MolecularLearning.Learning;

/// <summary>
/// A fixed short-range wall under the learned loss for one species pair: w(r) = k (r_min − r)³ for r &lt; r_min.
/// r_min sits below the shortest distance seen in training, so the wall changes nothing the fit saw and only
/// stops atoms from falling into regions the loss never learned (value, slope and curvature vanish at r_min).
/// </summary>
public sealed record RepulsionWall(string A, string B, double RMin, double Strength);

/// <summary>Where a model came from and how well it did on frames it was not fitted on.</summary>
public sealed record TrainingInfo
{
    public string Source { get; init; } = "";
    public int Frames { get; init; }
    public int TrainFrames { get; init; }
    public int HoldoutFrames { get; init; }
    public int Stride { get; init; } = 1;
    public string Target { get; init; } = "forces";
    /// <summary>Ridge strength per agent species (relative to the standardised Gram diagonal).</summary>
    public IReadOnlyDictionary<string, double> Ridge { get; init; } = new Dictionary<string, double>();
    public ForceErrorReport? Train { get; init; }
    public ForceErrorReport? Holdout { get; init; }
}

/// <summary>
/// An immutable fitted agent loss: species and masses, invariant definition, order, force mode, the loss
/// parameters of each agent species, the short-range walls and training metadata. Thread-safe to share;
/// <see cref="CreateForceField"/> gives each thread/connection its own evaluator.
/// </summary>
public sealed class LearnedModel
{
    public const int SchemaVersion = 1;
    private readonly QuadraticLoss[] _losses;

    public LearnedModel(InvariantSet invariants, ForceMode mode, IReadOnlyList<QuadraticLoss> losses,
        IReadOnlyList<RepulsionWall>? walls = null, TrainingInfo? training = null)
    {
        if (losses.Count != invariants.Species.Count) throw new ArgumentException("one loss per species");
        foreach (var l in losses)
            if (l.Count != invariants.Count) throw new ArgumentException($"a loss has {l.Count} parameters, the invariants need {invariants.Count}");
        Invariants = invariants;
        Mode = mode;
        _losses = [.. losses];
        Order = _losses.Max(l => l.Order);
        Walls = walls ?? [];
        Training = training ?? new TrainingInfo();
        int t = invariants.Species.Count;
        WallRMin = new double[t * t];
        WallStrength = new double[t * t];
        foreach (var w in Walls)
        {
            int a = Require(w.A), b = Require(w.B);
            WallRMin[a * t + b] = WallRMin[b * t + a] = w.RMin;
            WallStrength[a * t + b] = WallStrength[b * t + a] = w.Strength;
        }
        int Require(string sym) => invariants.IndexOf(Elements.TryGet(sym, out var s) ? s : new Species(sym, 0, 0)) is var i and >= 0
            ? i : throw new DataException($"repulsion wall names species '{sym}', which the model does not have");
    }

    public IReadOnlyList<Species> Species => Invariants.Species;
    public InvariantSet Invariants { get; }
    /// <summary>Neighbour cutoff in Å.</summary>
    public double Cutoff => Invariants.Cutoff;
    /// <summary>1 (linear in the invariants) or 2 (quadratic, the paper's).</summary>
    public int Order { get; }
    public ForceMode Mode { get; }
    public IReadOnlyList<QuadraticLoss> Losses => _losses;
    public IReadOnlyList<RepulsionWall> Walls { get; }
    public TrainingInfo Training { get; }
    internal double[] WallRMin { get; }
    internal double[] WallStrength { get; }

    /// <summary>How the range walls push in agent mode (<see cref="Learning.WallForces"/>; files without the field: Agent).</summary>
    public WallForces WallForces { get; init; }

    public LearnedModel WithTraining(TrainingInfo training) => new(Invariants, Mode, _losses, Walls, training) { Committee = Committee, WallForces = WallForces };

    /// <summary>This model with its range walls pushing as <paramref name="wallForces"/> says.</summary>
    public LearnedModel WithWallForces(WallForces wallForces) => new(Invariants, Mode, _losses, Walls, Training) { Committee = Committee, WallForces = wallForces };

    /// <summary>Agent mode with <see cref="WallForces.Gradient"/> and some range wall: the walls' reactions on the neighbours are added.</summary>
    internal bool WallReactions => Mode == ForceMode.Agent && WallForces == WallForces.Gradient && _losses.Any(l => l.Bounds is not null);

    /// <summary>
    /// The committee members' losses (member × species) fitted beside <see cref="Losses"/> (FitOptions.Committee); null: none.
    /// Each member is a whole model through <see cref="Member"/>; their force disagreement is <see cref="CommitteeEvaluator"/>'s.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<QuadraticLoss>>? Committee { get; private init; }

    /// <summary>This model with committee members (null: none); each member needs one loss per species of the same shape.</summary>
    public LearnedModel WithCommittee(IReadOnlyList<IReadOnlyList<QuadraticLoss>>? committee)
    {
        if (committee is not null)
        {
            if (committee.Count < 2) throw new ArgumentException("a committee needs at least two members");
            foreach (var member in committee)
            {
                if (member.Count != _losses.Length) throw new ArgumentException("a committee member needs one loss per species");
                for (int s = 0; s < member.Count; s++)
                    if (member[s].Count != Invariants.Count || member[s].Order != _losses[s].Order)
                        throw new ArgumentException("a committee member's loss differs in shape from the model's");
            }
        }
        return new(Invariants, Mode, _losses, Walls, Training) { Committee = committee, WallForces = WallForces };
    }

    /// <summary>Committee member <paramref name="m"/> as a model of its own (same invariants, mode and walls).</summary>
    public LearnedModel Member(int m) => Committee is { } c ? new(Invariants, Mode, c[m], Walls, Training) { WallForces = WallForces }
        : throw new InvalidOperationException("the model has no committee");

    /// <summary>A fresh evaluator (own neighbour list and scratch): one per thread, connection or stream.</summary>
    public IForceField CreateForceField() => new LearnedForceField(this);

    /// <summary>A fresh evaluator on the backend asked for (<see cref="LearnedForceField(LearnedModel, double, int, BackendChoice)"/>).</summary>
    /// <remarks><paramref name="vectorBits"/> (512, 256 or 128) forces the simd kernel's width, for measuring one CPU's narrower paths; 0: the widest it accelerates.</remarks>
    public LearnedForceField CreateForceField(BackendChoice backend, Precision precision = Precision.Double, int vectorBits = 0) =>
        new(this, 0.5, 0, backend, vectorBits, tabulatedRadial: true, precision);

    /// <summary>An evaluator with explicit neighbour-list skin (Å), threading, backend and precision.</summary>
    public LearnedForceField CreateForceField(double skin, int maxThreads = 0, BackendChoice backend = BackendChoice.Auto, Precision precision = Precision.Double) =>
        new(this, skin, maxThreads, backend, precision);

    public void Save(string path) => ModelFile.Save(this, path);
    public static LearnedModel Load(string path) => ModelFile.Load(path);
    public string ToJson() => ModelFile.ToJson(this);
    public static LearnedModel FromJson(string json, string source = "model") => ModelFile.FromJson(json, source);

    /// <summary>The species of <paramref name="species"/> whose mass is not the model's (its training data's, e.g. H against D), described.</summary>
    public IEnumerable<string> MassDifferences(IEnumerable<Species> species) =>
        from s in species.DistinctBy(s => s.Symbol)
        let fitted = Species.FirstOrDefault(m => m.Symbol == s.Symbol)
        where fitted is not null && fitted.Mass != s.Mass
        select $"{s.Symbol} {NumberText.Short(s.Mass, 5)} amu (the model's training data: {NumberText.Short(fitted.Mass, 5)})";

    /// <summary>Throws a <see cref="DataException"/> if the structure has a species the model has no loss for.</summary>
    public void CheckSpecies(ReadOnlySpan<Species> species, string? where = null)
    {
        foreach (var s in species)
            if (Invariants.IndexOf(s) < 0)
                throw new DataException($"{where ?? "structure"}: species {s.Symbol} is not in the model (model species: {string.Join(", ", Species.Select(x => x.Symbol))})");
    }
}
