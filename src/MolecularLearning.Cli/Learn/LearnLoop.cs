using System.Diagnostics;
using MolecularLearning.Core;
using MolecularLearning.Cp2k;
using MolecularLearning.Dynamics;
using MolecularLearning.Learning;

namespace MolecularLearning.Cli.Learn;

/// <summary>Labels one frame with reference forces (CP2K in <c>mld learn</c>, a stand-in in tests).</summary>
public interface IFrameLabeller
{
    /// <summary>The frame with reference forces and energy, and the seconds it took. <paramref name="name"/> is unique per frame; <paramref name="what"/> names it in errors.</summary>
    Cp2kLabel Label(Frame frame, string name, string what);
}

/// <summary>CP2K single points as the labeller.</summary>
public sealed class Cp2kLabeller(Cp2kSinglePoint cp2k) : IFrameLabeller
{
    public Cp2kSinglePoint Cp2k { get; } = cp2k;
    public Cp2kLabel Label(Frame frame, string name, string what) => Cp2k.Label(frame, name, what);
}

/// <summary>The knobs of the loop; the fit recipe is the model's own (<see cref="LearnLoop.RecipeOf"/>).</summary>
public sealed record LearnSettings
{
    public required IReadOnlyList<double> Temperatures { get; init; }
    public int Rounds { get; init; } = 1;
    /// <summary>Frames labelled over all rounds.</summary>
    public int Budget { get; init; } = 50;
    /// <summary>MD steps per temperature per round.</summary>
    public long Steps { get; init; } = 2000;
    /// <summary>A candidate frame every this many steps.</summary>
    public int Every { get; init; } = 10;
    /// <summary>Chosen frames of one run lie at least this many steps apart.</summary>
    public long MinGap { get; init; } = 100;
    /// <summary>Only frames whose extrapolation exceeds this are labelled.</summary>
    public double Threshold { get; init; }
    public double TimestepFs { get; init; } = 0.5;
    public ulong Seed { get; init; } = 1;
    public BackendChoice Backend { get; init; } = BackendChoice.Auto;
    /// <summary>Where the learned MD trajectories are kept (md-round{N}-{T}K.extxyz); null: a temporary file, removed.</summary>
    public string? TrajectoryDirectory { get; init; }

    public void Validate()
    {
        if (Temperatures.Count == 0) throw new DataException("--temperatures: give at least one temperature");
        foreach (var t in Temperatures) if (!(t > 0 && double.IsFinite(t))) throw new DataException($"--temperatures: {t} K is not a positive temperature");
        if (Rounds < 1) throw new DataException($"--rounds must be ≥ 1, got {Rounds}");
        if (Budget < 1) throw new DataException($"--budget must be ≥ 1, got {Budget}");
        if (Steps < 1) throw new DataException($"--steps must be ≥ 1, got {Steps}");
        if (Every < 1) throw new DataException($"--every must be ≥ 1, got {Every}");
        if (MinGap < 0) throw new DataException($"--min-gap must be ≥ 0, got {MinGap}");
        if (!(TimestepFs > 0)) throw new DataException($"--timestep must be > 0, got {TimestepFs}");
    }
}

/// <summary>One temperature's part of a round.</summary>
public sealed record TemperatureRound
{
    public double Temperature { get; init; }
    public long StepsRun { get; init; }
    /// <summary>The step at which learned MD diverged, or null.</summary>
    public long? DivergedAt { get; init; }
    public int Candidates { get; init; }
    /// <summary>Largest extrapolation over the candidates (NaN when the model reports none).</summary>
    public double MaxExtrapolation { get; init; }
    /// <summary>Candidates outside the training range (extrapolation above the threshold).</summary>
    public int Outside { get; init; }
    public int Picked { get; init; }
    /// <summary>The model's error on the frames just labelled, before the refit (frames it had not seen), or null.</summary>
    public ForceErrorReport? NewFramesError { get; init; }
    /// <summary>Error on the user's test data at this temperature before and after the round's refit, or null.</summary>
    public ForceErrorReport? TestBefore { get; init; }
    public ForceErrorReport? TestAfter { get; init; }
}

public sealed record LearnRound
{
    public int Round { get; init; }
    public required IReadOnlyList<TemperatureRound> Temperatures { get; init; }
    public int FramesAdded { get; init; }
    public int FramesTotal { get; init; }
    public double Cp2kSeconds { get; init; }
    public double MdSeconds { get; init; }
    public double FitSeconds { get; init; }
    /// <summary>Error on the starting data's held-out block before and after the refit.</summary>
    public required ForceErrorReport HoldoutBefore { get; init; }
    public required ForceErrorReport HoldoutAfter { get; init; }
    public string? ModelPath { get; init; }
}

/// <summary>
/// DP-GEN's loop with the learned model's extrapolation signal: learned MD at each temperature, the frames
/// furthest outside the training range (spread out in time) labelled by CP2K, appended to the data set, refit
/// with the model's own recipe, repeat. The starting data's held-out block stays held out in every refit.
/// </summary>
public sealed class LearnLoop
{
    private readonly IReadOnlyList<Frame> _train, _hold;
    private readonly Frame _start;
    private readonly IFrameLabeller _labeller;
    private readonly LearnSettings _settings;
    private readonly FitOptions _recipe;
    private readonly IReadOnlyDictionary<double, IReadOnlyList<Frame>> _tests;
    private readonly Action<string> _log;
    private readonly List<Frame> _labelled = [];

    /// <param name="data">The starting data set (reference forces); its last block is held out as <c>mld fit</c> holds it out.</param>
    /// <param name="labelled">Frames labelled before (a previous <c>mld learn</c>), fitted from the first round on.</param>
    /// <param name="start">Where every learned MD run starts; null: the last training frame of the data.</param>
    /// <param name="tests">Reference data per temperature, only ever evaluated on.</param>
    public LearnLoop(LearnedModel model, IReadOnlyList<Frame> data, IReadOnlyList<Frame> labelled, Frame? start, IFrameLabeller labeller,
        LearnSettings settings, IReadOnlyDictionary<double, IReadOnlyList<Frame>> tests, Action<string>? log = null)
    {
        settings.Validate();
        Model = model;
        _recipe = RecipeOf(model) with { Backend = settings.Backend };
        for (int f = 0; f < data.Count; f++)
        {
            if (data[f].Forces is null) throw DataException.At(null, f, "of the starting data has no forces");
            model.CheckSpecies(data[f].Species, $"starting data: frame {f}");
        }
        int nHold = (int)Math.Round(data.Count * _recipe.HoldoutFraction);
        int nTrain = data.Count - nHold;
        if (nTrain < 1) throw new DataException($"the starting data has {data.Count} frames: none left to train on after holding out {nHold}");
        // The model's own stride thins the starting data once; labelled frames are all used.
        int stride = Math.Max(1, model.Training.Stride);
        _train = [.. Enumerable.Range(0, nTrain).Where(i => i % stride == 0).Select(i => data[i])];
        _hold = [.. data.Skip(nTrain)];
        _labelled.AddRange(labelled);
        _start = start ?? data[nTrain - 1]; // the last frame before the held-out block
        _labeller = labeller;
        _settings = settings;
        _tests = tests;
        _log = log ?? (_ => { });
    }

    public LearnedModel Model { get; private set; }
    public IReadOnlyList<Frame> Labelled => _labelled;
    public IReadOnlyList<Frame> Holdout => _hold;
    public FitOptions Recipe => _recipe;

    /// <summary>
    /// The options the model was fitted with, read back from the model: invariants, mode, order, the walls'
    /// strengths, and the families whose quadratic terms are all zero (fitted linearly). The rest is the
    /// defaults of <c>mld fit</c> for that mode.
    /// </summary>
    public static FitOptions RecipeOf(LearnedModel model)
    {
        var baseline = model.Mode == ForceMode.Conservative ? FitOptions.DefaultConservative : FitOptions.Default;
        var set = model.Invariants;
        var linear = new List<string>();
        if (model.Order == 2)
            foreach (var family in InvariantSet.FamilyNames)
            {
                var members = Enumerable.Range(0, set.Count).Where(q => set.FamilyOf(q) == family).ToList();
                if (members.Count == 0) continue;
                bool zero = model.Losses.All(l => members.All(q => IsZeroRow(l, q, set.Count)));
                if (zero) linear.Add(family);
            }
        return baseline with
        {
            Order = model.Order,
            Mode = model.Mode,
            Invariants = set.Options,
            RepulsionStrength = model.Walls.Count > 0 ? model.Walls.Max(w => w.Strength) : 0,
            RangeWallStrength = model.Losses.Select(l => l.Bounds?.Strength ?? 0).Max(),
            LinearFamilies = linear,
            Bonded = BondedTerms.LinearIn(model), // shells a fit added for unnamed species stay linear, and are not derived again
            Committee = model.Committee?.Count ?? 0, // a committee model is refitted with its committee, which then scores the next round
        };
    }

    private static bool IsZeroRow(QuadraticLoss loss, int q, int k)
    {
        var c = loss.Quadratic;
        if (c.IsEmpty) return true;
        for (int x = 0; x < k; x++) if (c[q * k + x] != 0) return false;
        return true;
    }

    /// <summary>The error of the current model on the held-out block of the starting data.</summary>
    public ForceErrorReport HoldoutError() => ForceErrors.Evaluate(Model.CreateForceField(skin: 0, backend: _settings.Backend), _hold);

    /// <summary>The error of the current model on the test data at <paramref name="temperature"/>, or null if there is none.</summary>
    public ForceErrorReport? TestError(double temperature) =>
        _tests.TryGetValue(temperature, out var frames) ? ForceErrors.Evaluate(Model.CreateForceField(skin: 0, backend: _settings.Backend), frames) : null;

    /// <summary>Runs round <paramref name="round"/> (1-based) with up to <paramref name="budget"/> labels; the model is refitted.</summary>
    public LearnRound RunRound(int round, int budget, Func<int, string?>? save = null)
    {
        var clock = Stopwatch.StartNew();
        var holdBefore = HoldoutError();
        var testsBefore = _settings.Temperatures.Select(TestError).ToList();

        // 1. learned MD at each temperature; candidate frames every Every steps.
        var candidates = new List<Candidate>();
        var frames = new List<Frame>();
        var runs = new List<(long Steps, long? Diverged)>();
        for (int t = 0; t < _settings.Temperatures.Count; t++)
        {
            var (steps, diverged) = Simulate(_settings.Temperatures[t], t, round, frames, candidates);
            runs.Add((steps, diverged));
        }
        double mdSeconds = clock.Elapsed.TotalSeconds;

        // 2. score and pick.
        var picked = FramePicker.Pick(candidates, budget, _settings.MinGap, _settings.Threshold);
        if (candidates.Count > 0 && candidates.All(c => double.IsNaN(c.Score)))
            _log("note: the model reports no extrapolation signal (its file records no training ranges; refit it with this version): frames are picked evenly spread in time");
        _log(Model.Committee is { } members
            ? $"round {round}: {candidates.Count} candidates scored by the {members.Count} committee members' force spread (eV/Å), {candidates.Count(c => c.Score > _settings.Threshold)} above {_settings.Threshold:0.###}, {picked.Count} picked"
            : $"round {round}: {candidates.Count} candidates, {candidates.Count(c => c.Score > _settings.Threshold)} outside the training range, {picked.Count} picked");

        // 3. label.
        double cp2kSeconds = 0;
        var newFrames = new List<(int Run, Frame Reference, Frame Candidate)>();
        foreach (var i in picked.OrderBy(i => candidates[i].Run).ThenBy(i => candidates[i].Step))
        {
            var c = candidates[i];
            double temperature = _settings.Temperatures[c.Run];
            string what = $"round {round}, {temperature:0.#} K, step {c.Step}";
            var label = _labeller.Label(frames[i], $"r{round}-T{temperature:0.#}-s{c.Step}", what);
            cp2kSeconds += label.Seconds;
            newFrames.Add((c.Run, label.Frame, frames[i]));
            _log($"  labelled {what} ({(Model.Committee is null ? "extrapolation" : "committee spread")} {c.Score:0.###}) in {label.Seconds:0.0} s");
        }
        var newErrors = new ForceErrorReport?[_settings.Temperatures.Count];
        var ff = Model.CreateForceField(skin: 0, backend: _settings.Backend);
        for (int t = 0; t < newErrors.Length; t++)
        {
            var mine = newFrames.Where(n => n.Run == t).Select(n => n.Reference).ToList();
            if (mine.Count > 0) newErrors[t] = ForceErrors.Evaluate(ff, mine);
        }
        _labelled.AddRange(newFrames.Select(n => n.Reference));

        // 4. refit on the thinned starting data and every labelled frame; the held-out block last, as mld fit holds it out.
        var fitClock = Stopwatch.StartNew();
        if (newFrames.Count > 0 || round == 1 && _labelled.Count > 0)
        {
            var ordered = Weave(_train, _labelled);
            int used = ordered.Count;
            ordered.AddRange(_hold);
            var options = _recipe with
            {
                Stride = 1,
                HoldoutFraction = _hold.Count / (double)ordered.Count,
                Source = $"{Model.Training.Source} + {_labelled.Count} labelled frames (mld learn round {round})",
            };
            Model = ModelFitter.Fit(ordered, options).Model;
            if (Model.Training.TrainFrames != used)
                throw new InvalidOperationException($"the refit used {Model.Training.TrainFrames} frames, expected {used}");
        }
        double fitSeconds = fitClock.Elapsed.TotalSeconds;
        var modelPath = save?.Invoke(round);

        var temps = new List<TemperatureRound>();
        for (int t = 0; t < _settings.Temperatures.Count; t++)
        {
            var mine = Enumerable.Range(0, candidates.Count).Where(i => candidates[i].Run == t).ToList();
            var scores = mine.Select(i => candidates[i].Score).Where(s => !double.IsNaN(s)).ToList();
            temps.Add(new TemperatureRound
            {
                Temperature = _settings.Temperatures[t],
                StepsRun = runs[t].Steps,
                DivergedAt = runs[t].Diverged,
                Candidates = mine.Count,
                MaxExtrapolation = scores.Count > 0 ? scores.Max() : double.NaN,
                Outside = mine.Count(i => candidates[i].Score > _settings.Threshold),
                Picked = newFrames.Count(n => n.Run == t),
                NewFramesError = newErrors[t],
                TestBefore = testsBefore[t],
                TestAfter = TestError(_settings.Temperatures[t]),
            });
        }
        return new LearnRound
        {
            Round = round,
            Temperatures = temps,
            FramesAdded = newFrames.Count,
            FramesTotal = _labelled.Count,
            Cp2kSeconds = cp2kSeconds,
            MdSeconds = mdSeconds,
            FitSeconds = fitSeconds,
            HoldoutBefore = holdBefore,
            HoldoutAfter = HoldoutError(),
            ModelPath = modelPath,
        };
    }

    /// <summary>
    /// Learned NVT from the start frame with Maxwell–Boltzmann velocities through the run loop of `mld run` (<see cref="MdRun"/>:
    /// its thermostat defaults for the model's kind of forces and its divergence guard), a frame every <see cref="LearnSettings.Every"/>
    /// steps into an extended-XYZ trajectory. A diverged run keeps the frames before it, except the last two candidate
    /// intervals (atoms already flying apart make poor labels).
    /// </summary>
    private (long Steps, long? Diverged) Simulate(double temperature, int run, int round, List<Frame> frames, List<Candidate> candidates)
    {
        var (settings, _) = ThermostatChoice.For(Model.Mode == ForceMode.Conservative,
            new MdSettings { TimestepFs = _settings.TimestepFs, TemperatureK = temperature }, kind: null, massive: null, tauFs: null);
        var state = new MdState(_start.Species, (double[])_start.Positions.Clone(), null, _start.Cell);
        var rng = new Xoshiro256(_settings.Seed + (ulong)(1000 * round + run));
        Momentum.MaxwellBoltzmann(state.Masses, state.Velocities, temperature, settings.DegreesOfFreedom(state.AtomCount), settings.RemoveCenterOfMassMotion, rng);
        var md = new VerletIntegrator(Model.CreateForceField(skin: 0, backend: _settings.Backend), state, settings);
        bool temporary = _settings.TrajectoryDirectory is null;
        var dir = _settings.TrajectoryDirectory ?? Path.GetTempPath();
        var path = Path.Combine(dir, temporary ? $"mld-learn-{Guid.NewGuid():N}.extxyz" : $"md-round{round}-{temperature:0.#}K.extxyz");
        long? diverged = null;
        try
        {
            using (var mdRun = new MdRun(md, new MdRunOutput { Trajectory = path, Every = _settings.Every }, targetTemperatureK: temperature))
            {
                try { mdRun.Run(_settings.Steps, emitStart: false); }
                catch (SimulationDivergedException e)
                {
                    diverged = md.State.Step;
                    _log($"  {temperature:0.#} K: learned MD diverged ({e.Message})");
                }
            }
            var recorded = File.Exists(path) ? ExtendedXyz.Read(path) : [];
            if (diverged is { } d) recorded.RemoveAll(f => f.Step > d - 2 * _settings.Every);
            // With a committee, DP-GEN's choice: the members' disagreement (mean over atoms, which ranks a frame's force
            // error best on hot data, docs/extrapolation.md); else the range signal.
            var committee = Model.Committee is null ? null : new CommitteeEvaluator(Model, backend: _settings.Backend);
            var ff = committee is null ? Model.CreateForceField(skin: 0, backend: _settings.Backend) : null;
            var result = new ForceResult();
            foreach (var frame in recorded)
            {
                double score;
                if (committee is not null)
                {
                    committee.Deviation(frame.Species, frame.Positions, frame.Cell);
                    score = committee.Mean;
                }
                else
                {
                    ff!.Compute(frame.Species, frame.Positions, frame.Cell, result);
                    score = result.Extrapolation;
                }
                frame.Forces = null; // the learned model's: a label must not be mistaken for them
                frames.Add(frame);
                candidates.Add(new Candidate(run, frame.Step ?? 0, score));
            }
        }
        finally
        {
            if (temporary) File.Delete(path);
        }
        return (md.State.Step, diverged);
    }

    /// <summary>The labelled frames spread evenly among the starting frames, so that the fit's validation block (its last part) holds some of each.</summary>
    internal static List<Frame> Weave(IReadOnlyList<Frame> train, IReadOnlyList<Frame> labelled)
    {
        var all = new List<Frame>(train.Count + labelled.Count);
        int l = 0;
        for (int t = 0; t < train.Count; t++)
        {
            all.Add(train[t]);
            // After train frame t, the labelled frames up to the same fraction of their list.
            int upTo = (int)((long)(t + 1) * labelled.Count / train.Count);
            while (l < upTo) all.Add(labelled[l++]);
        }
        while (l < labelled.Count) all.Add(labelled[l++]);
        return all;
    }
}
