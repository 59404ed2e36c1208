using MolecularLearning.Core;
using MolecularLearning.Learning;

namespace MolecularLearning.Learning.Tests;

/// <summary>Short runs: the ridge and basis chosen by block cross-validation, and the few-data warning.</summary>
public class SmallDataTests
{
    private const double Cutoff = 3.2;
    private const string Rich = "gauss:4:1.0:3.0+angular:2:3.0+angularGauss:2:1.0:2.5";

    /// <summary>The truth's forces plus Gaussian noise of <paramref name="noise"/> times their RMS.</summary>
    private static List<Frame> Noisy(LearnedModel truth, int count, int seed, double noise)
    {
        var frames = Synthetic.Labelled(truth, count, seed);
        double sum = 0; long n = 0;
        foreach (var f in frames) foreach (var x in f.Forces!) { sum += x * x; n++; }
        double sigma = noise * Math.Sqrt(sum / n);
        var rng = new Random(seed);
        foreach (var f in frames) for (int x = 0; x < f.Forces!.Length; x++) f.Forces[x] += sigma * Synthetic.Gauss(rng);
        return frames;
    }

    [Fact]
    public void CrossValidationChoosesTheRidgeANoisyShortRunNeeds()
    {
        var basis = InvariantOptions.Parse(Rich, Cutoff);
        var truth = Synthetic.RandomModel(basis, 2, ForceMode.Agent, seed: 5);
        // Few frames for the quadratic basis and noisy forces: the least-squares fit follows the noise.
        var frames = Noisy(truth, 10, seed: 40, noise: 0.3);
        var clean = Synthetic.Labelled(truth, 8, seed: 900);
        var plain = new FitOptions { Invariants = basis, HoldoutFraction = 0, Stride = 1 };

        // Error against the noiseless truth on unseen frames, per species, for every candidate ridge.
        var truthError = new Dictionary<double, ForceErrorReport>();
        foreach (var rel in RidgeSolver.Candidates)
        {
            var fixedFit = ModelFitter.Fit(frames, plain with { Ridge = rel });
            truthError[rel] = ForceErrors.Evaluate(fixedFit.Model.CreateForceField(), clean);
        }
        var cv = ModelFitter.Fit(frames, plain with { Folds = 5 });
        Assert.Equal(5, cv.Report.Folds);
        foreach (var s in new[] { "O", "H" })
        {
            double Error(double rel) => truthError[rel].Species[s].RelRmse;
            double best = RidgeSolver.Candidates.Min(Error);
            double weakest = Error(RidgeSolver.Candidates[0]);
            Assert.True(weakest > 1.5 * best, $"{s}: the case should need a ridge (weakest {weakest}, best {best})");
            double chosen = cv.Report.Ridge[s];
            Assert.True(Error(chosen) <= 1.25 * best, $"{s}: CV chose {chosen} with truth error {Error(chosen)}, best {best}");
            Assert.True(cv.Report.CrossValidation[s] > 0);
            Assert.Equal(RidgeSolver.Candidates.Length, cv.Report.RidgeScan[s].Count);
        }
    }

    [Fact]
    public void FewDataForTheBasisWarns()
    {
        var basis = InvariantOptions.Parse(Rich, Cutoff);
        var truth = Synthetic.RandomModel(basis, 2, ForceMode.Agent, seed: 8);
        var few = ModelFitter.Fit(Synthetic.Labelled(truth, 4, seed: 1), new FitOptions { Invariants = basis, HoldoutFraction = 0, Stride = 1 });
        var warning = Assert.Single(few.Report.Warnings);
        Assert.Contains("few data for the basis", warning);
        Assert.Contains($"{few.Report.Parameters} parameters", warning);
        Assert.Contains($"{few.Report.Rows} force components", warning);

        // Order 1 on a small radial basis: hundreds of rows per parameter.
        var small = InvariantOptions.Parse("gauss:3:1.0:3.0", Cutoff);
        var linearTruth = Synthetic.RandomModel(small, 1, ForceMode.Agent, seed: 9);
        var enough = ModelFitter.Fit(Synthetic.Labelled(linearTruth, 40, seed: 1), new FitOptions { Invariants = small, Order = 1, HoldoutFraction = 0, Stride = 1 });
        Assert.True(enough.Report.Rows >= 50 * enough.Report.Parameters, $"{enough.Report.Rows} rows, {enough.Report.Parameters} parameters");
        Assert.Empty(enough.Report.Warnings);
    }

    [Fact]
    public void AShortRunChoosesItsBasisByCrossValidationAndSaysSo()
    {
        // The truth has angular terms the recipe's radial basis cannot express; the candidate basis can.
        var truth = Synthetic.RandomModel(InvariantOptions.Parse(Rich, Cutoff), 1, ForceMode.Conservative, seed: 12);
        var frames = Synthetic.Labelled(truth, 15, seed: 70);
        var options = new FitOptions
        {
            Order = 1, Mode = ForceMode.Conservative, Invariants = InvariantOptions.Parse("gauss:4:1.0:3.0", Cutoff),
            HoldoutFraction = 0.2, Stride = 1, SmallDataFrames = 20, SmallDataFolds = 3, SmallDataBases = [Rich],
        };
        var result = ModelFitter.Fit(frames, options);
        Assert.Equal(new InvariantSet(InvariantOptions.Parse(Rich, Cutoff), [Elements.O, Elements.H]).Count, result.Model.Invariants.Count);
        Assert.Equal(3, result.Report.Folds);
        Assert.NotNull(result.Report.Recipe);
        Assert.Contains("small data (12 training frames < 20)", result.Report.Recipe);
        Assert.Contains("3-fold", result.Report.Recipe);
        Assert.Contains(Rich, result.Report.Recipe);
        foreach (var e in result.Report.Holdout.Species.Values) Assert.True(e.RelRmse < 1e-3, $"held-out relRMSE {e.RelRmse}");

        // As many training frames as the threshold: a plain fit, the ridge on the last block.
        var plain = ModelFitter.Fit(Synthetic.Labelled(truth, 25, seed: 70), options);
        Assert.Null(plain.Report.Recipe);
        Assert.Equal(0, plain.Report.Folds);
        Assert.Equal(new InvariantSet(options.Invariants, [Elements.O, Elements.H]).Count, plain.Model.Invariants.Count);
    }

    [Fact]
    public void AnOffsetFromAPriorModelNeedsFewerFramesThanAFitFromScratch()
    {
        // Two "methods" whose losses differ by δ: many frames of the first, six slightly noisy ones of the second.
        var basis = InvariantOptions.Parse(Rich, Cutoff);
        var cheap = Synthetic.RandomModel(basis, 2, ForceMode.Agent, seed: 21);
        var shift = Synthetic.RandomModel(basis, 2, ForceMode.Agent, seed: 22);
        var expensive = new LearnedModel(cheap.Invariants, ForceMode.Agent, [.. cheap.Losses.Select((l, s) =>
        {
            var d = shift.Losses[s];
            return new QuadraticLoss([.. Enumerable.Range(0, l.Count).Select(k => l.Linear[k] + 0.3 * d.Linear[k])],
                [.. Enumerable.Range(0, l.Quadratic.Length).Select(k => l.Quadratic[k] + 0.3 * d.Quadratic[k])]);
        })]);
        var options = new FitOptions { Invariants = basis, Stride = 1, HoldoutFraction = 0.2, SmallDataFrames = 100 };
        var prior = ModelFitter.Fit(Synthetic.Labelled(cheap, 60, seed: 300), options with { Ridge = 1e-10 }).Model;
        var few = Noisy(expensive, 6, seed: 600, noise: 0.02);
        var clean = Synthetic.Labelled(expensive, 8, seed: 950);

        var scratch = ModelFitter.Fit(few, options);
        var offset = ModelFitter.FitOffset(few, prior, options);
        Assert.Contains("offset from a prior model", offset.Report.Recipe);
        Assert.Equal(scratch.Report.Holdout.Frames, offset.Report.Holdout.Frames);
        var fromScratch = ForceErrors.Evaluate(scratch.Model.CreateForceField(), clean);
        var fromPrior = ForceErrors.Evaluate(offset.Model.CreateForceField(), clean);
        foreach (var s in new[] { "O", "H" })
            Assert.True(fromPrior.Species[s].RelRmse < 0.5 * fromScratch.Species[s].RelRmse,
                $"{s}: offset {fromPrior.Species[s].RelRmse}, scratch {fromScratch.Species[s].RelRmse}");
        // The saved losses are the prior's plus δ: the model reproduces the expensive method, not the cheap one.
        var priorError = ForceErrors.Evaluate(prior.CreateForceField(), clean);
        Assert.True(fromPrior.Species["O"].RelRmse < 0.5 * priorError.Species["O"].RelRmse);
    }
}
