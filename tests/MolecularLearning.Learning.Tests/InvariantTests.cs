using MolecularLearning.Core;
using MolecularLearning.Learning;

namespace MolecularLearning.Learning.Tests;

public class InvariantTests
{
    /// <summary>I[i][k] for every agent, and ∂I_ik/∂x (3N) from the analytic entry Jacobian.</summary>
    private static (double[][] Values, double[][][] Grad) Analytic(InvariantSet set, Frame frame)
    {
        int n = frame.AtomCount, k = set.Count;
        var list = new NeighbourList();
        list.Build(frame.Positions, frame.Cell, set.Cutoff);
        var types = frame.Species.Select(set.IndexOf).ToArray();
        var scratch = new AgentScratch(k);
        var values = new double[n][];
        var grad = new double[n][][];
        for (int i = 0; i < n; i++)
        {
            set.Gather(scratch, i, list, types);
            set.ComputeValues(scratch);
            values[i] = scratch.Values[..k];
            var jac = new double[3 * k * scratch.Entries];
            var sink = new EntryJacobianSink(scratch, jac, k);
            set.ComputeGradient(scratch, ref sink);
            grad[i] = new double[k][];
            for (int q = 0; q < k; q++)
            {
                var g = new double[3 * n];
                for (int e = 0; e < scratch.Entries; e++)
                    for (int c = 0; c < 3; c++)
                    {
                        double v = jac[3 * (q * scratch.Entries + e) + c];
                        g[3 * scratch.Atom[e] + c] += v;
                        g[3 * i + c] -= v;
                    }
                grad[i][q] = g;
            }
        }
        return (values, grad);
    }

    private static void CheckFamily(InvariantOptions options, Frame frame)
    {
        var set = new InvariantSet(options, [Elements.O, Elements.H]);
        var (values, grad) = Analytic(set, frame);
        const double h = 1e-5;
        int n = frame.AtomCount;
        double maxErr = 0, maxVal = 0;
        for (int x = 0; x < 3 * n; x++)
        {
            var plus = frame.Clone(); plus.Positions[x] += h;
            var minus = frame.Clone(); minus.Positions[x] -= h;
            var vp = Analytic(set, plus).Values;
            var vm = Analytic(set, minus).Values;
            for (int i = 0; i < n; i++)
                for (int q = 0; q < set.Count; q++)
                {
                    double fd = (vp[i][q] - vm[i][q]) / (2 * h);
                    double err = Math.Abs(fd - grad[i][q][x]);
                    maxErr = Math.Max(maxErr, err / (1 + Math.Abs(fd)));
                    maxVal = Math.Max(maxVal, Math.Abs(fd));
                }
        }
        Assert.True(maxVal > 0.1, "derivatives should not all vanish");
        Assert.True(maxErr < 1e-6, $"max relative FD error {maxErr}");
        Assert.All(values, v => Assert.All(v, x => Assert.True(double.IsFinite(x))));
    }

    public static IEnumerable<object[]> Cases() =>
        Synthetic.Families().SelectMany(f => new[] { new object[] { f.Name, "cubic" }, new object[] { f.Name, "triclinic" } });

    [Theory]
    [MemberData(nameof(Cases))]
    public void AnalyticDerivativesMatchFiniteDifferences(string family, string cellKind)
    {
        var options = Synthetic.Families().Single(f => f.Name == family).Options;
        // A 5.6 Å box with cutoffs of 3.3–3.6 Å: the cutoff exceeds half the box, so several images count.
        var cell = cellKind == "cubic" ? Cell.Orthorhombic(5.6, 5.6, 5.6) : Synthetic.Triclinic;
        CheckFamily(options, Synthetic.Water(4, cell, seed: family.Length * 7 + cellKind.Length));
    }

    [Fact]
    public void DerivativesStayCorrectForANeighbourJustInsideTheCutoff()
    {
        var options = InvariantOptions.Parse("gauss:3:0.9:3+inv:1+angular:2:3.0", 3.0);
        // Two waters placed so one O–O distance is 1e-3 Å inside the 3.0 Å cutoff, in a large box.
        var frame = Synthetic.Water(2, null, seed: 3);
        var o0 = Vec3.At(frame.Positions, 0);
        var shift = o0 + new Vec3(3.0 - 1e-3, 0, 0) - Vec3.At(frame.Positions, 3);
        for (int a = 3; a < 6; a++) (Vec3.At(frame.Positions, a) + shift).To(frame.Positions, a);
        var f = new Frame(frame.Species, frame.Positions, Cell.Orthorhombic(20, 20, 20));
        CheckFamily(options, f);
    }

    [Fact]
    public void InvariantsDoNotChangeUnderRotationTranslationAndSwaps()
    {
        var options = InvariantOptions.Parse("sorted:O2:H3+gauss:3:0.9:3+angular:3", 3.4);
        var set = new InvariantSet(options, [Elements.O, Elements.H]);
        var frame = Synthetic.Water(5, null, seed: 11);
        var (values, _) = Analytic(set, frame);
        // Rotate about an arbitrary axis and translate.
        var rotated = frame.Clone();
        double a = 0.7, ca = Math.Cos(a), sa = Math.Sin(a);
        for (int i = 0; i < frame.AtomCount; i++)
        {
            var p = Vec3.At(frame.Positions, i);
            new Vec3(ca * p.X - sa * p.Y + 1.3, sa * p.X + ca * p.Y - 0.4, p.Z + 2.2).To(rotated.Positions, i);
        }
        var (rv, _) = Analytic(set, rotated);
        // Swap the two hydrogens of molecule 0 (atoms 1 and 2): their invariants swap, others stay.
        var swapped = frame.Clone();
        Vec3.At(frame.Positions, 1).To(swapped.Positions, 2);
        Vec3.At(frame.Positions, 2).To(swapped.Positions, 1);
        var (sv, _) = Analytic(set, swapped);
        for (int i = 0; i < frame.AtomCount; i++)
        {
            int j = i == 1 ? 2 : i == 2 ? 1 : i;
            for (int q = 0; q < set.Count; q++)
            {
                Assert.Equal(values[i][q], rv[i][q], 1e-9);
                Assert.Equal(values[i][q], sv[j][q], 1e-9);
            }
        }
    }

    [Fact]
    public void SortedDistancesAreTheNearestNeighboursInOrder()
    {
        var options = new InvariantOptions { SortedCutoff = 3.0, SortedCounts = new Dictionary<string, int> { ["H"] = 3 } };
        var set = new InvariantSet(options, [Elements.O, Elements.H]);
        // One O with H at 1.0 and 2.0 Å: the third slot is padded with the cutoff.
        var frame = new Frame([Elements.O, Elements.H, Elements.H], [0, 0, 0, 2.0, 0, 0, 0, 1.0, 0], null);
        var (values, _) = Analytic(set, frame);
        Assert.Equal([1.0, 2.0, 3.0], values[0]);
    }

    [Fact]
    public void SortedAngleIsTheBendAndCanBeLimitedToOneAgentSpecies()
    {
        var options = InvariantOptions.Parse("sorted:O1:H2+angles:2:O@H1H2", 3.0);
        var set = new InvariantSet(options, [Elements.O, Elements.H]);
        // H–O–H at 90°: P1 = 0, P2 = −½ for the O; the H agents do not see the angle.
        var frame = new Frame([Elements.O, Elements.H, Elements.H], [0, 0, 0, 1.0, 0, 0, 0, 0.9, 0], null);
        var (values, _) = Analytic(set, frame);
        int off = set.Count - 2;
        Assert.Equal(0, values[0][off], 12);
        Assert.Equal(-0.5, values[0][off + 1], 12);
        Assert.Equal(0, values[1][off]); Assert.Equal(0, values[2][off + 1]);
        Assert.Equal("P2(∠O@H1H2)", set.Labels[off + 1]);
    }

    [Fact]
    public void LegendrePolynomialsAndDerivativesMatchClosedForms()
    {
        Span<double> p = stackalloc double[5], dp = stackalloc double[5];
        double x = 0.37;
        InvariantSet.Legendre(x, 4, p, dp);
        Assert.Equal(0.5 * (3 * x * x - 1), p[2], 1e-14);
        Assert.Equal(0.5 * (5 * x * x * x - 3 * x), p[3], 1e-14);
        Assert.Equal((35 * Math.Pow(x, 4) - 30 * x * x + 3) / 8, p[4], 1e-14);
        Assert.Equal(0.5 * (15 * x * x - 3), dp[3], 1e-13);
        Assert.Equal((140 * x * x * x - 60 * x) / 8, dp[4], 1e-13);
    }
}
