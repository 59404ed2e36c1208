using MolecularLearning.Core;
using MolecularLearning.Learning;

namespace MolecularLearning.Learning.Tests;

public class FitTests
{
    [Theory]
    [InlineData(ForceMode.Agent, 2)]
    [InlineData(ForceMode.Agent, 1)]
    [InlineData(ForceMode.Conservative, 2)]
    public void FitRecoversTheParametersOfAKnownLoss(ForceMode mode, int order)
    {
        var options = InvariantOptions.Parse("gauss:3:1.0:3.0+angular:2:3.0+angularGauss:1:1.5:3.0", 3.2);
        var truth = Synthetic.RandomModel(options, order, mode, seed: 17);
        var frames = Synthetic.Labelled(truth, 24, seed: 100);
        var result = ModelFitter.Fit(frames, new FitOptions
        {
            Order = order, Mode = mode, Invariants = options, Ridge = 1e-14, Stride = 1, HoldoutFraction = 0.25,
        });
        foreach (var e in result.Report.Holdout.Species.Values) Assert.True(e.RelRmse < 1e-6, $"holdout relRMSE {e.RelRmse}");
        Assert.Equal(6, result.Report.Holdout.Frames);
        if (mode == ForceMode.Conservative)
        {
            // U = Σ L_i only fixes sums like b_O[g(r_OH)] + b_H[g(r_HO)] (the same pair term seen from both
            // ends), so compare what is identifiable: the energy and forces.
            foreach (var f in frames.TakeLast(6))
            {
                var want = truth.CreateForceField().Compute(f);
                var got = result.Model.CreateForceField().Compute(f);
                Assert.Equal(want.Energy, got.Energy, 1e-6 * Math.Abs(want.Energy));
            }
            return;
        }
        for (int s = 0; s < 2; s++)
        {
            var want = truth.Losses[s]; var got = result.Model.Losses[s];
            double scale = want.Linear.ToArray().Max(Math.Abs);
            for (int k = 0; k < want.Count; k++) Assert.True(Math.Abs(want.Linear[k] - got.Linear[k]) < 1e-5 * scale, $"b[{k}]");
            for (int k = 0; k < want.Quadratic.Length; k++) Assert.True(Math.Abs(want.Quadratic[k] - got.Quadratic[k]) < 1e-4 * scale, $"C[{k}]");
        }
    }

    [Fact]
    public void RidgeIsChosenOnTheValidationBlockAndReported()
    {
        var options = InvariantOptions.Parse("sorted:O2:H3+gauss:3:1.0:3.0", 3.2);
        var truth = Synthetic.RandomModel(options, 2, ForceMode.Agent, seed: 3);
        var frames = Synthetic.Labelled(truth, 20, seed: 7);
        var rng = new Random(4);
        foreach (var f in frames) for (int x = 0; x < f.Forces!.Length; x++) f.Forces[x] += 0.05 * Synthetic.Gauss(rng);
        var progress = new List<double>();
        var result = ModelFitter.Fit(frames, new FitOptions { Invariants = options, Stride = 1, RangeWallStrength = 1 }, new SyncProgress(progress.Add));
        // The range walls sit on the training frames' invariant ranges: silent there.
        var bounds = result.Model.Losses[1].Bounds!;
        Assert.All(Enumerable.Range(0, bounds.Min.Length), q => Assert.True(bounds.Min[q] <= bounds.Max[q]));
        Assert.Equal(1, bounds.Strength);
        Assert.Equal(RidgeSolver.Candidates.Length, result.Report.RidgeScan["O"].Count);
        Assert.Contains(result.Report.Ridge["H"], RidgeSolver.Candidates);
        Assert.Equal(1.0, progress[^1]);
        Assert.True(progress.Count > 10);
        Assert.Equal(result.Model.Invariants.Count, result.Report.Sensitivities["O"].Count);
        Assert.All(result.Report.Sensitivities["H"], s => Assert.True(s.Value >= 0));
        Assert.Equal(16, result.Model.Training.TrainFrames);
    }

    private sealed class SyncProgress(Action<double> report) : IProgress<double>
    {
        public void Report(double value) { lock (this) report(value); }
    }

    [Fact]
    public void AccelerationTargetsUnwrapThroughTheBoundary()
    {
        // One H moving with constant acceleration across the cell boundary; frames store wrapped positions.
        var cell = Cell.Orthorhombic(4, 4, 4);
        double dt = 0.5, v = 0.8, a = 0.02;
        var frames = new List<Frame>();
        for (int t = 0; t < 3; t++)
        {
            double time = t * dt;
            double x = 3.7 + v * time + 0.5 * a * time * time;
            frames.Add(new Frame([Elements.H], [x % 4, 1, 1], cell) { Time = time });
        }
        var (usable, targets) = ModelFitter.Targets(frames, FitTarget.Accelerations);
        Assert.Equal([1], usable);
        Assert.Equal(Elements.H.Mass * a * Units.AmuAngstrom2PerFs2InEv, targets[1]![0], 1e-9);
        Assert.Equal(0, targets[1]![1], 12);
    }

    [Fact]
    public void RelativeRmseMatchesAHandComputation()
    {
        Species[] s = [Elements.O, Elements.H, Elements.H];
        double[] reference = [1, 0, 0, 0, 2, 0, 0, 0, 2];
        double[] predicted = [1, 1, 0, 0, 2, 0, 0, 0, 1];
        var r = ForceErrors.Compare([(s, predicted, reference)]);
        // O: |ΔF|² = 1, |F|² = 1 → 1; RMSE per component sqrt(1/3). H: |ΔF|² = 1, |F|² = 8 → sqrt(1/8); RMSE sqrt(1/6).
        Assert.Equal(1.0, r.Species["O"].RelRmse, 12);
        Assert.Equal(Math.Sqrt(1.0 / 3), r.Species["O"].Rmse, 12);
        Assert.Equal(Math.Sqrt(1.0 / 8), r.Species["H"].RelRmse, 12);
        Assert.Equal(Math.Sqrt(1.0 / 6), r.Species["H"].Rmse, 12);
        Assert.Equal(2, r.Species["H"].Atoms);
    }

    [Fact]
    public void MissingForcesAreNamed()
    {
        var frames = new List<Frame> { Synthetic.Water(2, null, 1), Synthetic.Water(2, null, 2) };
        frames[0].Forces = new double[18];
        var e = Assert.Throws<DataException>(() => ModelFitter.Fit(frames, FitOptions.Default));
        Assert.Contains("frame 1", e.Message);
    }
}
