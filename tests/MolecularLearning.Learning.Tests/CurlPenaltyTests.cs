using MathNet.Numerics.LinearAlgebra;
using MolecularLearning.Core;
using MolecularLearning.Learning;

namespace MolecularLearning.Learning.Tests;

/// <summary>
/// The curl penalty of agent fits (docs/agent-mode.md): vectors a with a·θ = A_{iα,jβ} = ∂F_iα/∂x_jβ − ∂F_jβ/∂x_iα from
/// central differences of the force rows, their Gram matrix Q, and the joint penalised solve.
/// </summary>
public class CurlPenaltyTests
{
    private static readonly InvariantOptions Basis = InvariantOptions.Parse("sorted:O2:H3+gauss:3:0.9:3+angles:2:H1H2", 3.4);

    private static (ModelFitter.CurlRows Rows, double[] Theta, int PerSpecies) Setup(LearnedModel model, double h = 1e-4)
    {
        var set = model.Invariants;
        int k = set.Count, order = model.Order;
        int[] quadratic = [.. Enumerable.Range(0, k)];
        int perSpecies = k + (order == 2 ? k * (k + 1) / 2 : 0);
        var theta = model.Losses.SelectMany(l => ModelFitter.Pack(l, k, order, quadratic)).ToArray();
        return (new ModelFitter.CurlRows(set, order, perSpecies, quadratic, h), theta, perSpecies);
    }

    private static double[] Forces(LearnedModel model, Frame frame, int atom, int axis, double delta)
    {
        var x = (double[])frame.Positions.Clone();
        x[3 * atom + axis] += delta;
        return model.CreateForceField(skin: 0).Compute(new Frame(frame.Species, x, frame.Cell)).Forces.ToArray();
    }

    [Fact]
    public void PairVectorsGiveTheAntisymmetricJacobianOfTheModelsForces()
    {
        var model = Synthetic.RandomModel(Basis, 2, ForceMode.Agent, seed: 17);
        var frame = Synthetic.Water(4, Synthetic.Triclinic, seed: 3, jitter: 0.1);
        var (rows, theta, p) = Setup(model);
        var set = model.Invariants;
        var list = new NeighbourList();
        list.Build(frame.Positions, frame.Cell, set.Cutoff);
        int[] types = [.. frame.Species.Select(set.IndexOf)];
        int cols = rows.Columns;
        var a = new double[9 * cols];
        var d = new double[9 * p];
        const double h = 1e-5;
        var pairs = ModelFitter.CurlRows.ShuffledPairs(list, frame.AtomCount, seed: 5).Take(6).ToList();
        Assert.Equal(6, pairs.Count);
        double largest = 0;
        foreach (var (i, j) in pairs)
        {
            Assert.True(rows.PairVectors(list, types, i, j, a));
            Assert.True(rows.RowDerivatives(list, types, i, j, d));
            for (int beta = 0; beta < 3; beta++)
            {
                // Column (j, β) and the transposed entries (i, α) of the Jacobian, by differences of the model's forces.
                var fp = Forces(model, frame, j, beta, h); var fm = Forces(model, frame, j, beta, -h);
                for (int alpha = 0; alpha < 3; alpha++)
                {
                    var gp = Forces(model, frame, i, alpha, h); var gm = Forces(model, frame, i, alpha, -h);
                    double dFi = (fp[3 * i + alpha] - fm[3 * i + alpha]) / (2 * h);
                    double dFj = (gp[3 * j + beta] - gm[3 * j + beta]) / (2 * h);
                    double row = Dense.Dot(d.AsSpan((3 * alpha + beta) * p, p), theta.AsSpan(types[i] * p, p));
                    double curl = Dense.Dot(a.AsSpan((3 * alpha + beta) * cols, cols), theta);
                    double tol = 1e-5 * (1 + Math.Abs(dFi) + Math.Abs(dFj));
                    Assert.True(Math.Abs(row - dFi) < tol, $"∂F_{i}{alpha}/∂x_{j}{beta}: rows {row}, forces {dFi}");
                    Assert.True(Math.Abs(curl - (dFi - dFj)) < 2 * tol, $"A_{i}{alpha},{j}{beta}: rows {curl}, forces {dFi - dFj}");
                    largest = Math.Max(largest, Math.Abs(dFi - dFj));
                }
            }
        }
        Assert.True(largest > 1e-3, $"agent forces of a random model have a curl: largest |A| {largest}");
    }

    [Fact]
    public void APairOnlyLinearLossOfOneSpeciesHasNoCurl()
    {
        // L_i = Σ_q b_q Σ_j g_q(r_ij): F = −∇ ½ Σ_i L_i, a potential's force whatever b is, so every penalty vector vanishes.
        var options = InvariantOptions.Parse("gauss:3:0.9:3", 3.4);
        var water = Synthetic.Water(4, Synthetic.Triclinic, seed: 3, jitter: 0.1);
        var oxygens = Enumerable.Range(0, water.AtomCount).Where(x => water.Species[x] == Elements.O).ToList();
        // Only the oxygens, pulled together so every pair is inside the cutoff.
        var frame = new Frame([.. oxygens.Select(_ => Elements.O)], [.. oxygens.SelectMany(x => water.Positions.Skip(3 * x).Take(3).Select(v => 0.6 * v))], null);
        var set = new InvariantSet(options, [Elements.O]);
        var model = new LearnedModel(set, ForceMode.Agent, [new QuadraticLoss([0.3, -0.2, 0.5], null)], []);
        var (rows, _, p) = Setup(model);
        var list = new NeighbourList();
        list.Build(frame.Positions, frame.Cell, set.Cutoff);
        int[] types = [.. frame.Species.Select(set.IndexOf)];
        var a = new double[9 * rows.Columns];
        var d = new double[9 * p];
        var pairs = ModelFitter.CurlRows.ShuffledPairs(list, frame.AtomCount, seed: 1);
        Assert.NotEmpty(pairs);
        foreach (var (i, j) in pairs)
        {
            rows.PairVectors(list, types, i, j, a);
            rows.RowDerivatives(list, types, i, j, d);
            double scale = d.Max(Math.Abs);
            Assert.True(scale > 1e-3, "the rows depend on the neighbour");
            Assert.True(a.Max(Math.Abs) < 1e-6 * scale, $"pair ({i}, {j}): |a| {a.Max(Math.Abs)} against rows' derivatives {scale}");
        }
    }

    [Fact]
    public void PenaltyGramIsSymmetricPositiveSemidefinite()
    {
        var model = Synthetic.RandomModel(Basis, 2, ForceMode.Agent, seed: 17);
        var frames = new[] { Synthetic.Water(4, Synthetic.Triclinic, seed: 3, jitter: 0.1), Synthetic.Water(4, Synthetic.Triclinic, seed: 4, jitter: 0.1) };
        var set = model.Invariants;
        int k = set.Count, p = k + k * (k + 1) / 2;
        var (q, pairs, skipped) = ModelFitter.CurlRows.Accumulate(frames, set, 2, p, [.. Enumerable.Range(0, k)], 1e-4, pairsPerFrame: 5, seed: 1);
        Assert.Equal(10, pairs + skipped);
        Assert.Equal(9 * pairs, q.Rows);
        int n = q.Columns;
        var m = Matrix<double>.Build.Dense(n, n, (x, y) => q.Gram[(long)x * n + y]);
        Assert.True((m - m.Transpose()).FrobeniusNorm() == 0, "Q is symmetric");
        var ev = m.Evd(MathNet.Numerics.LinearAlgebra.Symmetricity.Symmetric).EigenValues.Select(e => e.Real).ToArray();
        Assert.True(ev.Min() > -1e-10 * ev.Max(), $"smallest eigenvalue {ev.Min()}, largest {ev.Max()}");
        Assert.True(ev.Max() > 0);
    }

    [Fact]
    public void PenaltyZeroIsThePlainFitAndAPenaltyLowersTheCurl()
    {
        var truth = Synthetic.RandomModel(Basis, 2, ForceMode.Agent, seed: 3);
        var frames = Synthetic.Labelled(truth, 20, seed: 7);
        var rng = new Random(4);
        foreach (var f in frames) for (int x = 0; x < f.Forces!.Length; x++) f.Forces[x] += 0.05 * Synthetic.Gauss(rng);
        var options = new FitOptions { Invariants = Basis, Stride = 1, CurlFrames = 4, CurlPairsPerFrame = 20 };
        var plain = ModelFitter.Fit(frames, options);
        var zero = ModelFitter.Fit(frames, options with { CurlPenalty = 0 });
        Assert.Null(plain.Report.Curl);
        Assert.Equal(zero.Report.Curl!.RmsBefore, zero.Report.Curl.RmsAfter, 1e-6 * zero.Report.Curl.RmsBefore);
        for (int s = 0; s < 2; s++)
        {
            var want = plain.Model.Losses[s]; var got = zero.Model.Losses[s];
            double scale = want.Linear.ToArray().Max(Math.Abs);
            for (int x = 0; x < want.Count; x++) Assert.True(Math.Abs(want.Linear[x] - got.Linear[x]) < 1e-6 * scale, $"b[{x}]");
            for (int x = 0; x < want.Quadratic.Length; x++) Assert.True(Math.Abs(want.Quadratic[x] - got.Quadratic[x]) < 1e-6 * scale, $"C[{x}]");
        }
        var weak = ModelFitter.Fit(frames, options with { CurlPenalty = 0.01 }).Report.Curl!;
        var strong = ModelFitter.Fit(frames, options with { CurlPenalty = 10 }).Report.Curl!;
        Assert.True(weak.RmsAfter < weak.RmsBefore, $"μ 0.01: {weak.RmsBefore} → {weak.RmsAfter}");
        Assert.True(strong.RmsAfter < weak.RmsAfter, $"μ 10: {strong.RmsAfter}, μ 0.01: {weak.RmsAfter}");
    }

    /// <summary>
    /// Extra (unlabelled) curl frames join the penalty's sample: their curl falls further than with the training sample
    /// alone, the report's figure is the RMS over their pairs, and the force rows are unchanged.
    /// </summary>
    [Fact]
    public void ExtraCurlFramesAreSampledAsTheyAre()
    {
        var truth = Synthetic.RandomModel(Basis, 2, ForceMode.Agent, seed: 3);
        var frames = Synthetic.Labelled(truth, 20, seed: 7);
        var rng = new Random(4);
        foreach (var f in frames) for (int x = 0; x < f.Forces!.Length; x++) f.Forces[x] += 0.05 * Synthetic.Gauss(rng);
        // Configurations the training frames do not hold (no forces): wider jitter, another seed.
        Frame[] extra = [.. Enumerable.Range(0, 3).Select(x => Synthetic.Water(4, Synthetic.Triclinic, seed: 50 + x, jitter: 0.2))];
        var options = new FitOptions { Invariants = Basis, Stride = 1, CurlFrames = 4, CurlPairsPerFrame = 20, CurlPenalty = 1 };
        var without = ModelFitter.Fit(frames, options);
        var with = ModelFitter.Fit(frames, options with { CurlExtraFrames = extra });
        Assert.Equal(0, without.Report.Curl!.ExtraPairs);
        Assert.True(double.IsNaN(without.Report.Curl.ExtraBefore));
        var c = with.Report.Curl!;
        Assert.True(c.ExtraPairs > 0);
        Assert.Equal(without.Report.Rows, with.Report.Rows);
        Assert.Equal(without.Report.Curl.Pairs + without.Report.Curl.Skipped + 60, c.Pairs + c.Skipped);

        var set = with.Model.Invariants;
        int k = set.Count, p = k + k * (k + 1) / 2;
        int[] quadratic = [.. Enumerable.Range(0, k)];
        var q = ModelFitter.CurlRows.Accumulate(extra, set, 2, p, quadratic, 1e-4, pairsPerFrame: 20, seed: 3).Q;
        double Rms(FitResult r) => ModelFitter.CurlRows.Rms(q, [.. r.Model.Losses.SelectMany(l => ModelFitter.Pack(l, k, 2, quadratic))]);
        Assert.Equal(Rms(with), c.ExtraAfter, 1e-9 * c.ExtraAfter);
        Assert.True(Rms(with) < 0.8 * Rms(without), $"extra frames' curl: sampled {Rms(with)}, not sampled {Rms(without)}");
        Assert.True(c.ExtraAfter < c.ExtraBefore, $"{c.ExtraBefore} → {c.ExtraAfter}");

        var carbon = new Frame([Elements.Get("C"), Elements.O], [0, 0, 0, 1.5, 0, 0], null);
        var ex = Assert.Throws<DataException>(() => ModelFitter.Fit(frames, options with { CurlExtraFrames = [extra[0], carbon] }));
        Assert.Contains("frame 1 has species C", ex.Message);
        Assert.Throws<DataException>(() => (options with { CurlPenalty = null, CurlExtraFrames = extra }).Validate());
    }

    [Theory]
    [InlineData(2.00005, false)]
    [InlineData(2.5, true)]
    public void ARankSwapInsideTheStepIsReportedNotDifferenced(double other, bool smooth)
    {
        // Agent 0's two nearest O (sorted distances) are atoms 1 and 2: moving atom 1 by ±1e-4 Å along x swaps their
        // ranks when atom 2 sits 5e-5 Å farther, and the force row jumps there.
        var set = new InvariantSet(InvariantOptions.Parse("sorted:O2", 3.4), [Elements.O]);
        var frame = new Frame([Elements.O, Elements.O, Elements.O], [0, 0, 0, 2.0, 0, 0, 0, other, 0], null);
        var model = new LearnedModel(set, ForceMode.Agent, [new QuadraticLoss([0.3, -0.7], null)], []);
        var (rows, _, p) = Setup(model);
        var list = new NeighbourList();
        list.Build(frame.Positions, frame.Cell, set.Cutoff);
        Assert.Equal(smooth, rows.RowDerivatives(list, [0, 0, 0], 0, 1, new double[9 * p]));
    }

    [Fact]
    public void JitteredFramesAreSeededAndDisplacedBySigma()
    {
        var frame = Synthetic.Water(8, Synthetic.Triclinic, seed: 3);
        var a = ModelFitter.CurlRows.Jittered(frame, 0.1, seed: 9);
        Assert.Equal(a.Positions, ModelFitter.CurlRows.Jittered(frame, 0.1, seed: 9).Positions);
        var d = a.Positions.Zip(frame.Positions, (x, y) => x - y).ToArray();
        double rms = Math.Sqrt(d.Average(x => x * x));
        Assert.InRange(rms, 0.07, 0.13); // 72 coordinates: the sample RMS is within ~4 standard errors of σ
    }

    [Fact]
    public void CurlPenaltyIsForAgentModeOnly()
    {
        var ex = Assert.Throws<DataException>(() => new FitOptions { Mode = ForceMode.Conservative, CurlPenalty = 1 }.Validate());
        Assert.Contains("agent mode", ex.Message);
        Assert.Throws<DataException>(() => new FitOptions { CurlPenalty = -1 }.Validate());
        // An offset fit would penalise the offset's curl alone.
        var prior = Synthetic.RandomModel(Basis, 2, ForceMode.Agent, seed: 3);
        var frames = Synthetic.Labelled(prior, 6, seed: 7);
        ex = Assert.Throws<DataException>(() => ModelFitter.FitOffset(frames, prior, new FitOptions { Invariants = Basis, CurlPenalty = 1 }));
        Assert.Contains("prior", ex.Message);
    }
}
