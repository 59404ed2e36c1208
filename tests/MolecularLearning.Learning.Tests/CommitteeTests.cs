using System.Text.Json.Nodes;
using MolecularLearning.Core;
using MolecularLearning.Learning;

namespace MolecularLearning.Learning.Tests;

/// <summary>
/// The committee (docs/extrapolation.md, "Committee"): members fitted from bootstrap resamples of the block Gram matrices,
/// stored in the model file as an optional section, and their force disagreement (max over atoms of the force std).
/// </summary>
public class CommitteeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mld-committee-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly InvariantOptions Basis = InvariantOptions.Parse("sorted:O2:H3+gauss:3:0.9:3+angles:2:H1H2", 3.4);

    /// <summary>A model whose member m has every parameter scaled by <paramref name="scales"/>[m] (no walls or bounds: forces are then linear in θ).</summary>
    private static LearnedModel Scaled(ForceMode mode, params double[] scales)
    {
        var model = Synthetic.RandomModel(Basis, 2, mode, seed: 17);
        return model.WithCommittee([.. scales.Select(f => (IReadOnlyList<QuadraticLoss>)[.. model.Losses.Select(l => Scale(l, f))])]);
    }

    private static QuadraticLoss Scale(QuadraticLoss l, double f) =>
        new([.. l.Linear.ToArray().Select(x => f * x)], l.Order == 2 ? [.. l.Quadratic.ToArray().Select(x => f * x)] : null, l.Bounds, l.Range);

    [Fact]
    public void AtomDeviationIsTheStdOfTheMembersForceVectors()
    {
        // Atom 0: x-forces 1 and 3 → mean 2, σ² = (1 + 1) / 2 = 1. Atom 1: (0,0,0) and (0,2,2) → mean (0,1,1), σ² = (2 + 2) / 2 = 2.
        double[][] forces = [[1, 0, 0, 0, 0, 0], [3, 0, 0, 0, 2, 2]];
        var sigma = new double[2];
        var (max, atom) = CommitteeEvaluator.AtomDeviations(forces, 2, sigma);
        Assert.Equal(1, sigma[0], 1e-15);
        Assert.Equal(Math.Sqrt(2), sigma[1], 1e-15);
        Assert.Equal(Math.Sqrt(2), max, 1e-15);
        Assert.Equal(1, atom);
    }

    [Theory]
    [InlineData(ForceMode.Agent)]
    [InlineData(ForceMode.Conservative)]
    public void EqualMembersDeviateByZeroAndScaledMembersByTheForce(ForceMode mode)
    {
        var frame = Synthetic.Water(4, Synthetic.Triclinic, seed: 3, jitter: 0.1);
        var equal = new CommitteeEvaluator(Scaled(mode, 1, 1, 1));
        Assert.Equal(0.0, equal.Deviation(frame.Species, frame.Positions, frame.Cell));
        Assert.Equal(0.0, equal.Mean);
        Assert.Equal(0.0, equal.Rms);

        // Members θ and 3θ give forces F and 3F: each atom's σ is |F_i| of the unscaled model.
        var model = Scaled(mode, 1, 3);
        var f = model.CreateForceField().Compute(frame).Forces;
        var committee = new CommitteeEvaluator(model);
        double deviation = committee.Deviation(frame.Species, frame.Positions, frame.Cell);
        var norms = Enumerable.Range(0, frame.AtomCount).Select(i => Math.Sqrt(f[3 * i] * f[3 * i] + f[3 * i + 1] * f[3 * i + 1] + f[3 * i + 2] * f[3 * i + 2])).ToArray();
        for (int i = 0; i < frame.AtomCount; i++) Assert.Equal(norms[i], committee.AtomDeviation[i], 1e-9 * (1 + norms[i]));
        Assert.Equal(norms.Max(), deviation, 1e-9 * (1 + norms.Max()));
        Assert.Equal(norms.Average(), committee.Mean, 1e-9 * (1 + norms.Max()));
        Assert.Equal(Math.Sqrt(norms.Average(x => x * x)), committee.Rms, 1e-9 * (1 + norms.Max()));
        Assert.Equal(Array.IndexOf(norms, norms.Max()), committee.Atom);
        Assert.True(deviation > 0);
    }

    [Fact]
    public void ModelFileRoundTripKeepsTheMembersBitForBit()
    {
        var fitted = Synthetic.RandomModel(Basis, 2, ForceMode.Agent, seed: 17, walls: [new RepulsionWall("O", "H", 0.8, 20)], bounds: true, cap: 1);
        var model = fitted.WithCommittee([.. new[] { 0.9, 1.0, 1.2 }.Select(f => (IReadOnlyList<QuadraticLoss>)[.. fitted.Losses.Select(l => Scale(l, f))])]);
        string path = Path.Combine(_dir, "m.json");
        model.Save(path);
        var loaded = LearnedModel.Load(path);
        Assert.Equal(model.ToJson(), loaded.ToJson());
        Assert.Equal(3, loaded.Committee!.Count);
        var frame = Synthetic.Water(4, Synthetic.Triclinic, seed: 5, jitter: 0.1);
        for (int m = 0; m < 3; m++)
        {
            // Members carry the model's walls and bounds (not written per member).
            Assert.All(loaded.Member(m).Losses, (l, s) => { Assert.Same(loaded.Losses[s].Bounds, l.Bounds); Assert.Equal(1, l.Bounds!.Cap); });
            var a = model.Member(m).CreateForceField().Compute(frame).Forces;
            var b = loaded.Member(m).CreateForceField().Compute(frame).Forces;
            Assert.True(a.AsSpan().SequenceEqual(b));
        }
        // Without the section: the same model as before, and its file bytes carry no trace of it.
        var plain = LearnedModel.FromJson(RemoveCommittee(loaded.ToJson()));
        Assert.Null(plain.Committee);
        Assert.Equal(fitted.ToJson(), plain.ToJson());
        Assert.DoesNotContain("committee", fitted.ToJson());
        Assert.True(fitted.CreateForceField().Compute(frame).Forces.AsSpan().SequenceEqual(plain.CreateForceField().Compute(frame).Forces));
    }

    private static string RemoveCommittee(string json)
    {
        var node = JsonNode.Parse(json)!.AsObject();
        Assert.True(node.Remove("committee"));
        return node.ToJsonString();
    }

    [Theory]
    [InlineData("empty member", "field 'committee.members[0].O': missing")]
    [InlineData("one member", "field 'committee.members': a committee needs at least 2 members, found 1")]
    [InlineData("short b", "field 'committee.members[1].H.b': expected")]
    [InlineData("huge c", "field 'committee.members[0].O.cUpper[2]'")]
    public void DamagedCommitteeSectionsGiveAClearError(string damage, string expected)
    {
        var node = JsonNode.Parse(Scaled(ForceMode.Agent, 1, 2).ToJson())!;
        var members = node["committee"]!["members"]!.AsArray();
        switch (damage)
        {
            case "empty member": members[0] = new JsonObject(); break;
            case "one member": members.RemoveAt(1); break;
            case "short b": members[1]!["H"]!["b"]!.AsArray().RemoveAt(0); break;
            case "huge c": members[0]!["O"]!["cUpper"]![2] = 1e300; break;
        }
        string path = Path.Combine(_dir, "bad.json");
        File.WriteAllText(path, node.ToJsonString());
        var e = Assert.Throws<DataException>(() => LearnedModel.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void FittedMembersDifferWhereTheDataAreNoisyAndLeaveTheModelAsItWas()
    {
        var truth = Synthetic.RandomModel(Basis, 2, ForceMode.Agent, seed: 9);
        var frames = Synthetic.Labelled(truth, 8, seed: 40);
        var rng = new Random(2);
        foreach (var f in frames)
            for (int i = 0; i < f.Forces!.Length; i++) f.Forces[i] += 0.3 * Synthetic.Gauss(rng);
        var options = FitOptions.Default with { Invariants = Basis, Ridge = 1e-6, Stride = 1, HoldoutFraction = 0, ValidationFraction = 0 };
        var plain = ModelFitter.Fit(frames, options).Model;
        var result = ModelFitter.Fit(frames, options with { Committee = 4, CommitteeBlocks = 8 });
        var model = result.Model;
        Assert.Null(plain.Committee);
        Assert.Equal(4, model.Committee!.Count);
        Assert.True(result.Report.CommitteeSeconds > 0);

        // The model itself: the same sums, only added in another order (block by block).
        var frame = frames[0];
        var a = plain.CreateForceField().Compute(frame).Forces;
        var b = model.CreateForceField().Compute(frame).Forces;
        double scale = a.Max(Math.Abs);
        for (int i = 0; i < a.Length; i++) Assert.Equal(a[i], b[i], 1e-7 * scale);

        // Resamples of noisy data: every pair of members differs, and they disagree on the forces.
        for (int m = 0; m < 4; m++)
            for (int n = m + 1; n < 4; n++)
                Assert.False(model.Committee[m][0].Linear.SequenceEqual(model.Committee[n][0].Linear));
        Assert.True(new CommitteeEvaluator(model).Deviation(frame.Species, frame.Positions, frame.Cell) > 0);
    }

    [Fact]
    public void BootstrapWeightsDrawEveryBlockCountOnce()
    {
        for (int m = 0; m < 5; m++)
        {
            var w = Committee.Weights(16, m);
            Assert.Equal(16, w.Sum());
            Assert.All(w, x => Assert.True(x >= 0));
        }
        Assert.NotEqual(Committee.Weights(16, 0), Committee.Weights(16, 1));
        Assert.Equal(Committee.Weights(16, 3), Committee.Weights(16, 3));
    }

    [Fact]
    public void MembersThatCountEveryBlockOnceAreTheFitAndTheSeedFixesTheBootstrap()
    {
        // A linear least-squares problem in 6 parameters, its rows in 5 blocks of Gram sums.
        const int p = 6;
        var rng = new Random(11);
        var blocks = new List<GramAccumulator[]>();
        var all = new GramAccumulator(p);
        for (int b = 0; b < 5; b++)
        {
            var acc = new GramAccumulator(p);
            for (int r = 0; r < 40; r++)
            {
                var row = Enumerable.Range(0, p).Select(_ => Synthetic.Gauss(rng)).ToArray();
                double y = row.Select((x, i) => (i + 1) * x).Sum() + 0.5 * Synthetic.Gauss(rng);
                acc.AddRow(row, y);
                all.AddRow(row, y);
            }
            acc.Flush();
            blocks.Add([acc]);
        }
        all.Complete();
        var fit = RidgeSolver.SolveCholesky(all, 1e-4);
        static QuadraticLoss Unpack(double[] theta) => new(theta, null);

        var ones = Committee.Solve(blocks, 3, [1e-4], conservative: false, 1, p, Unpack, weights: _ => [1, 1, 1, 1, 1]);
        foreach (var member in ones)
            for (int i = 0; i < p; i++) Assert.Equal(fit[i], member[0].Linear[i], 1e-12 * (1 + Math.Abs(fit[i])));

        var first = Committee.Solve(blocks, 4, [1e-4], false, 1, p, Unpack);
        var again = Committee.Solve(blocks, 4, [1e-4], false, 1, p, Unpack);
        for (int m = 0; m < 4; m++) Assert.True(first[m][0].Linear.SequenceEqual(again[m][0].Linear));
        Assert.False(first[0][0].Linear.SequenceEqual(first[1][0].Linear));
    }

    [Fact]
    public void TheWatchKeepsTheLargestDeviationAndTheMediansOfMaxAndMean()
    {
        // Members θ and 3θ: each atom's σ is its |F| under θ, so the checks are known from the model's forces.
        var model = Scaled(ForceMode.Agent, 1, 3);
        var ff = model.CreateForceField();
        var watch = new CommitteeWatch(model);
        var max = new List<double>();
        var mean = new List<double>();
        for (int step = 0; step < 3; step++)
        {
            var frame = Synthetic.Water(4, Synthetic.Triclinic, seed: 20 + step, jitter: 0.1);
            var f = ff.Compute(frame).Forces;
            var norms = Enumerable.Range(0, frame.AtomCount).Select(i => Math.Sqrt(f[3 * i] * f[3 * i] + f[3 * i + 1] * f[3 * i + 1] + f[3 * i + 2] * f[3 * i + 2])).ToArray();
            max.Add(norms.Max());
            mean.Add(norms.Average());
            watch.Check(10 * step, frame.Species, frame.Positions, frame.Cell);
        }
        double scale = max.Max();
        Assert.Equal(3, watch.Checks);
        Assert.Equal(max.Order().ElementAt(1), watch.Median, 1e-9 * scale);
        Assert.Equal(mean.Order().ElementAt(1), watch.MedianMean, 1e-9 * scale);
        Assert.Equal(max.Max(), watch.Largest, 1e-9 * scale);
        Assert.Equal(10 * max.IndexOf(max.Max()), watch.LargestStep);
    }
}
