using MolecularLearning.Core;
using MolecularLearning.Learning;

namespace MolecularLearning.Learning.Tests;

/// <summary>Order-2 fits with some invariant families kept linear (<see cref="FitOptions.LinearFamilies"/>).</summary>
public class LinearFamilyTests
{
    private static readonly InvariantOptions Options =
        InvariantOptions.Parse("sorted:O2:H2+gauss:3:1.0:3.0+angular:2:3.0+angularGauss:1:1.5:3.0", 3.2);

    /// <summary>A random order-2 truth whose C vanishes in the rows and columns of the angular family.</summary>
    private static LearnedModel Truth(ForceMode mode)
    {
        var random = Synthetic.RandomModel(Options, 2, mode, seed: 29);
        var set = random.Invariants;
        int k = set.Count;
        var losses = random.Losses.Select(l =>
        {
            var c = l.Quadratic.ToArray();
            for (int x = 0; x < k; x++)
                for (int y = 0; y < k; y++)
                    if (set.FamilyOf(x) == "angular" || set.FamilyOf(y) == "angular") c[x * k + y] = 0;
            return new QuadraticLoss(l.Linear.ToArray(), c);
        }).ToList();
        return new LearnedModel(set, mode, losses);
    }

    [Fact]
    public void FamiliesFollowTheLayout()
    {
        var set = new InvariantSet(InvariantOptions.Parse(
            "sorted:O2:H2+gauss:3+angular:2+angles:2:H1H2+shell:O-H:0.8:1.3:2+shellAngle:2:O@H:0.8:1.3:H:0.8:1.3", 3.2), [Elements.O, Elements.H]);
        var families = Enumerable.Range(0, set.Count).Select(set.FamilyOf).ToList();
        Assert.Equal(4, families.Count(f => f == "sorted"));
        Assert.Equal(2 * 3, families.Count(f => f == "radial"));
        Assert.Equal(2, families.Count(f => f == "angles"));
        Assert.Equal(2, families.Count(f => f == "shell")); // n = 1..2
        Assert.Equal(2, families.Count(f => f == "shellAngle"));
        Assert.DoesNotContain("other", families);
        // 3 default shells: OO 6 + OH 9 + HH 6 radial pairs, times degrees 1..2.
        Assert.Equal(2 * 21, families.Count(f => f == "angular"));
        Assert.Equal(families.OrderBy(f => InvariantSet.FamilyNames.ToList().IndexOf(f)), families);
    }

    [Theory]
    [InlineData(ForceMode.Agent)]
    [InlineData(ForceMode.Conservative)]
    public void FitWithALinearFamilyRecoversAKnownLoss(ForceMode mode)
    {
        var truth = Truth(mode);
        var frames = Synthetic.Labelled(truth, 20, seed: 300);
        var options = new FitOptions
        {
            Order = 2, Mode = mode, Invariants = Options, Ridge = 1e-14, Stride = 1, HoldoutFraction = 0.25,
            LinearFamilies = ["angular"],
        };
        var result = ModelFitter.Fit(frames, options);
        var full = ModelFitter.Fit(frames, options with { LinearFamilies = [] });
        int k = truth.Invariants.Count, linear = Enumerable.Range(0, k).Count(q => truth.Invariants.FamilyOf(q) == "angular");
        int nq = k - linear;
        // Fewer columns: b for every invariant, C over the quadratic ones only (two species).
        Assert.Equal(2 * (k + nq * (nq + 1) / 2), result.Report.Parameters);
        Assert.True(result.Report.Parameters < full.Report.Parameters);
        foreach (var e in result.Report.Holdout.Species.Values) Assert.True(e.RelRmse < 1e-6, $"holdout relRMSE {e.RelRmse}");
        if (mode == ForceMode.Conservative) return; // only sums over species are identifiable (see FitTests)
        for (int s = 0; s < 2; s++)
        {
            var want = truth.Losses[s]; var got = result.Model.Losses[s];
            double scale = want.Linear.ToArray().Max(Math.Abs);
            for (int q = 0; q < k; q++) Assert.True(Math.Abs(want.Linear[q] - got.Linear[q]) < 1e-5 * scale, $"b[{q}]");
            for (int q = 0; q < k * k; q++)
            {
                Assert.True(Math.Abs(want.Quadratic[q] - got.Quadratic[q]) < 1e-4 * scale, $"C[{q}]");
                if (truth.Invariants.FamilyOf(q / k) == "angular") Assert.Equal(0.0, got.Quadratic[q]);
            }
        }
    }

    [Fact]
    public void RangeWallsSitOnlyOnQuadraticInvariants()
    {
        var truth = Truth(ForceMode.Agent);
        var frames = Synthetic.Labelled(truth, 8, seed: 500);
        var result = ModelFitter.Fit(frames, new FitOptions
        {
            Order = 2, Invariants = Options, Ridge = 1e-10, Stride = 1, RangeWallStrength = 0.02, LinearFamilies = ["angular"],
        });
        var set = result.Model.Invariants;
        foreach (var loss in result.Model.Losses)
            for (int q = 0; q < set.Count; q++)
            {
                bool linear = set.FamilyOf(q) == "angular";
                Assert.Equal(linear, loss.Bounds!.Max[q] == double.MaxValue);
                Assert.Equal(linear, loss.Bounds.Min[q] == -double.MaxValue);
            }
        // The unwalled range survives the model file (finite numbers only).
        var loaded = LearnedModel.FromJson(result.Model.ToJson());
        Assert.Equal(result.Model.Losses[0].Bounds!.Max, loaded.Losses[0].Bounds!.Max);
    }

    [Fact]
    public void TheAccuratePresetIsConservativeWithLinearAngularInvariants()
    {
        var options = FitOptions.Accurate;
        options.Validate();
        Assert.Equal(ForceMode.Conservative, options.Mode);
        var set = new InvariantSet(options.Invariants, [Elements.O, Elements.H]);
        Assert.Contains("angular", Enumerable.Range(0, set.Count).Select(set.FamilyOf));
        Assert.Equal(["angular"], options.LinearFamilies);
    }

    [Fact]
    public void AnUnknownFamilyIsNamed()
    {
        var e = Assert.Throws<DataException>(() => (FitOptions.Default with { LinearFamilies = ["angualr"] }).Validate());
        Assert.Contains("angualr", e.Message);
    }
}
