using MolecularLearning.Core;
namespace MolecularLearning.Learning;

/// <summary>
/// K-fold cross-validation over contiguous blocks of training frames: each block in turn is left out, the
/// others fit, and the left-out block scores every ridge candidate. With a short run the last block alone is a
/// few correlated femtoseconds and picks a ridge by chance; every block together judges the whole run.
/// </summary>
internal static class CrossValidation
{
    /// <summary>The ridge with the best pooled left-out error (the strongest within the tolerance), the parameters fitted on every block.</summary>
    /// <param name="folds">One Gram accumulator per contiguous block of frames, in time order (at least 2).</param>
    public static RidgeSolver.Solution Solve(IReadOnlyList<GramAccumulator> folds, IReadOnlyList<double> candidates)
    {
        if (folds.Count < 2) throw new ArgumentException("cross-validation needs at least two blocks", nameof(folds));
        int p = folds[0].Columns;
        var residual = new double[candidates.Count];
        double yty = 0;
        for (int f = 0; f < folds.Count; f++)
        {
            if (folds[f].Rows == 0) continue;
            var rest = new GramAccumulator(p);
            for (int o = 0; o < folds.Count; o++) if (o != f) rest.Add(folds[o]);
            if (rest.Rows == 0) continue;
            var scores = RidgeSolver.Residuals(rest, folds[f], candidates);
            for (int c = 0; c < candidates.Count; c++) residual[c] += scores[c].Residual;
            yty += folds[f].Yty;
        }
        var scan = new List<(double, double)>();
        for (int c = 0; c < candidates.Count; c++)
            if (double.IsFinite(residual[c])) scan.Add((candidates[c], Math.Sqrt(residual[c] / Math.Max(yty, 1e-300))));
        if (scan.Count == 0) throw new DataException("the fit's normal equations are not positive definite at any ridge strength");
        double ridge = RidgeSolver.Strongest(scan);
        var all = new GramAccumulator(p);
        foreach (var fold in folds) all.Add(fold);
        all.Complete();
        return new RidgeSolver.Solution(RidgeSolver.SolveCholesky(all, ridge), ridge, scan, scan.First(x => x.Item1 == ridge).Item2);
    }
}
