using MolecularLearning.Core;

namespace MolecularLearning.Learning;

public static partial class ModelFitter
{
    /// <summary>
    /// Fits a short run as an offset from a model fitted on other data (a long run of a cheaper method): the
    /// losses are the prior's plus a fitted δ, so the ridge pulls toward the prior's losses instead of toward zero.
    /// The prior fixes the invariants, the mode and the walls; δ is fitted on the forces the prior misses, with the
    /// options' order, ridge choice (a short run: block cross-validation) and held-out block. Errors are against the
    /// frames' own forces.
    /// </summary>
    public static FitResult FitOffset(IReadOnlyList<Frame> frames, LearnedModel prior, FitOptions options, IProgress<double>? progress = null)
    {
        if (options.Target != FitTarget.Forces) throw new DataException("an offset from a prior model needs forces (--target forces)");
        // The penalty would see the offset's curl alone, not the model's.
        if (options.CurlPenalty is not null) throw new DataException("the curl penalty is not available with a prior model (--prior)");
        foreach (var s in frames.SelectMany(f => f.Species).DistinctBy(s => s.Symbol))
            if (prior.Invariants.IndexOf(s) < 0) throw new DataException($"the prior model has no species '{s.Symbol}'");
        var priorField = prior.CreateForceField(skin: 0, maxThreads: 1);
        var residual = new List<Frame>(frames.Count);
        for (int f = 0; f < frames.Count; f++)
        {
            var frame = frames[f];
            var reference = frame.Forces ?? throw DataException.At(null, f, "has no forces to fit");
            var predicted = priorField.Compute(frame).Forces;
            var miss = new double[reference.Length];
            for (int x = 0; x < miss.Length; x++) miss[x] = reference[x] - predicted[x];
            residual.Add(new Frame(frame.Species, frame.Positions, frame.Cell) { Forces = miss, Time = frame.Time, Step = frame.Step });
        }
        // δ has no walls of its own (the prior's stay) and keeps the prior's basis.
        var deltaOptions = options with
        {
            Invariants = prior.Invariants.Options, Mode = prior.Mode,
            RepulsionStrength = 0, RangeWallStrength = 0, SmallDataBases = [],
        };
        var delta = Fit(residual, deltaOptions, progress);

        var losses = new QuadraticLoss[prior.Species.Count];
        for (int s = 0; s < losses.Length; s++)
        {
            var p = prior.Losses[s];
            int d = delta.Model.Invariants.IndexOf(prior.Species[s]);
            if (d < 0) { losses[s] = p; continue; }
            var q = delta.Model.Losses[d];
            var b = new double[p.Count];
            for (int k = 0; k < b.Length; k++) b[k] = p.Linear[k] + q.Linear[k];
            double[]? c = null;
            if (p.Order == 2 || q.Order == 2)
            {
                c = new double[p.Count * p.Count];
                if (p.Order == 2) for (int k = 0; k < c.Length; k++) c[k] += p.Quadratic[k];
                if (q.Order == 2) for (int k = 0; k < c.Length; k++) c[k] += q.Quadratic[k];
            }
            // The extrapolation signal's range: the prior's data and the new frames together.
            losses[s] = new QuadraticLoss(b, c, p.Bounds, InvariantRange.Union(p.Range, q.Range));
        }
        var model = new LearnedModel(prior.Invariants, prior.Mode, losses, prior.Walls) { WallForces = prior.WallForces };

        // The same split as δ's fit: the held-out block at the end, the training frames at δ's stride.
        var t = delta.Model.Training;
        int nTrain = frames.Count - t.HoldoutFrames;
        var trainFrames = Enumerable.Range(0, nTrain).Where(f => f % t.Stride == 0).Select(f => frames[f]).ToList();
        var holdFrames = frames.Skip(nTrain).ToList();
        var ff = model.CreateForceField(skin: 0, backend: options.Backend);
        var train = ForceErrors.Evaluate(ff, trainFrames);
        var hold = ForceErrors.Evaluate(ff, holdFrames);
        model = model.WithTraining(t with
        {
            Source = options.Source + (prior.Training.Source is { Length: > 0 } ps ? $" (offset from a model of {ps})" : " (offset from a prior model)"),
            Train = train, Holdout = hold,
        });
        var report = delta.Report with
        {
            Train = train, Holdout = hold, Backend = ff.Backend, BackendNote = ff.BackendNote,
            // Cross-validated errors stay δ's: relative to the forces the prior misses, not to the frames' forces.
            Recipe = $"offset from a prior model ({prior.Training.Source}; cross-validation scores the offset's forces); "
                + (delta.Report.Recipe ?? "the ridge on the last validation block"),
        };
        return new FitResult(model, report);
    }
}
