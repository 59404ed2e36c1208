using MolecularLearning.Core;

namespace MolecularLearning.Learning;

public static partial class ModelFitter
{
    /// <summary>
    /// Fits the losses (see the class summary). A short run (fewer training frames than
    /// <see cref="FitOptions.SmallDataFrames"/>) gets a small-data fit: the ridge chosen by block cross-validation
    /// over all its frames, and the basis chosen the same way among the recipe's and <see cref="FitOptions.SmallDataBases"/>;
    /// <see cref="FitReport.Recipe"/> says what was chosen.
    /// </summary>
    public static FitResult Fit(IReadOnlyList<Frame> frames, FitOptions options, IProgress<double>? progress = null)
    {
        options.Validate();
        if (frames.Count == 0) throw new DataException("no frames to fit");
        int trainFrames = TrainingFrames(frames.Count, options);
        options = WithBondedTerms(frames, options, trainFrames);
        // A fixed ridge or explicit folds are the caller's choice: fit as asked.
        if (options.SmallDataFrames == 0 || trainFrames >= options.SmallDataFrames || trainFrames < options.SmallDataMinFrames
            || options.Ridge is not null || options.Folds > 0)
            return FitOnce(frames, options, progress);

        var small = options with { Folds = options.SmallDataFolds };
        var candidates = new List<(string Label, FitOptions Options)> { ("the recipe's", small) };
        foreach (var spec in options.SmallDataBases)
            candidates.Add((spec, WithBondedTerms(frames, small with { Invariants = InvariantOptions.Parse(spec, options.Invariants.RadialCutoff), Bonded = null }, trainFrames)));
        FitResult? best = null;
        double bestScore = double.PositiveInfinity;
        string bestLabel = "";
        var tried = new List<string>();
        for (int c = 0; c < candidates.Count; c++)
        {
            var (label, candidate) = candidates[c];
            var scaled = progress is null ? null : new Progress(progress, c / (double)candidates.Count, 1.0 / candidates.Count);
            var result = FitOnce(frames, candidate, scaled);
            // Pooled left-out error, averaged over the fitted groups (conservative: one for all species).
            double score = result.Report.CrossValidation.Values.DefaultIfEmpty(double.PositiveInfinity).Average();
            tried.Add(FormattableString.Invariant($"{(c == 0 ? "recipe" : $"#{c}")} {result.Report.Parameters} parameters: {score:0.000}"));
            // A candidate must beat the ones before it (cheaper or the recipe's) by more than the ridge's tolerance.
            if (best is null || score < bestScore * (1 - RidgeSolver.Tolerance))
            {
                best = result; bestScore = score; bestLabel = label;
            }
        }
        var report = best!.Report;
        string basis = candidates.Count > 1
            ? FormattableString.Invariant($"basis {bestLabel} ({report.Invariants} invariants, {report.Parameters} parameters) chosen the same way (cross-validated relRMSE {string.Join("; ", tried)})")
            : FormattableString.Invariant($"the recipe's basis ({report.Parameters} parameters)");
        string recipe = FormattableString.Invariant(
            $"small data ({trainFrames} training frames < {options.SmallDataFrames}): ridge by {report.Folds}-fold cross-validation over blocks of frames; {basis}");
        return best with { Report = report with { Recipe = recipe } };
    }

    /// <summary>
    /// <see cref="FitOptions.DeriveBondedTerms"/>: the basis with bonded terms for the species it does not name, derived from
    /// the <paramref name="trainFrames"/> training frames (never the held-out ones); as given otherwise, or when already derived.
    /// </summary>
    private static FitOptions WithBondedTerms(IReadOnlyList<Frame> frames, FitOptions options, int trainFrames)
    {
        if (!options.DeriveBondedTerms || options.Bonded is not null) return options;
        int first = options.Target == FitTarget.Accelerations ? 1 : 0;
        var train = Enumerable.Range(first, Math.Min(trainFrames, frames.Count - first)).ToList();
        var bonded = BondedTerms.Derive(options.Invariants, frames, train);
        var result = options with { Invariants = bonded.Apply(options.Invariants), Bonded = bonded };
        result.Validate();
        return result;
    }

    /// <summary>The frames before the held-out block that have a target (before the stride thins them).</summary>
    /// <remarks>The same arithmetic as the fit's (FitOnce), done before any invariant is computed.</remarks>
    internal static int TrainingFrames(int frames, FitOptions options)
    {
        int usable = options.Target == FitTarget.Accelerations ? Math.Max(0, frames - 2) : frames;
        return Math.Max(0, usable - (int)Math.Round(usable * options.HoldoutFraction));
    }

    /// <summary>A candidate fit's progress as its share of the whole.</summary>
    private sealed class Progress(IProgress<double> inner, double start, double width) : IProgress<double>
    {
        public void Report(double value) => inner.Report(start + width * value);
    }
}
