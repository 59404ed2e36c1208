using MolecularLearning.Core;
using MolecularLearning.Learning.Export;

namespace MolecularLearning.Learning.Tests.Export;

public class RadialLossExportTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void AnalyticForcesAreMinusTheEnergyGradient(int order)
    {
        var model = ExportTestModels.Water(order);
        var frame = ExportTestModels.SmallTriclinic();
        var ff = new RadialLossForceField(model);
        var res = ff.Compute(frame);
        const double h = 1e-5;
        double maxErr = 0, scale = 0;
        for (int i = 0; i < frame.Positions.Length; i++)
        {
            var p = (double[])frame.Positions.Clone();
            p[i] += h; double ep = ff.Compute(new Frame(frame.Species, p, frame.Cell)).Energy;
            p[i] -= 2 * h; double em = ff.Compute(new Frame(frame.Species, p, frame.Cell)).Energy;
            maxErr = Math.Max(maxErr, Math.Abs(-(ep - em) / (2 * h) - res.Forces[i]));
            scale = Math.Max(scale, Math.Abs(res.Forces[i]));
        }
        Assert.True(scale > 1e-3, "the test model should produce forces");
        Assert.True(maxErr < 1e-7 * Math.Max(1, scale), $"max |F + dE/dx| = {maxErr}");
        for (int a = 0; a < 3; a++)
            Assert.True(Math.Abs(Enumerable.Range(0, frame.AtomCount).Sum(i => res.Forces[3 * i + a])) < 1e-10, "forces sum to zero");
    }

    [Fact]
    public void VirialMatchesAFiniteDifferenceStrain()
    {
        var model = ExportTestModels.Water(2);
        var frame = ExportTestModels.SmallTriclinic();
        var ff = new RadialLossForceField(model);
        var w = ff.Compute(frame).Virial;
        const double h = 1e-6;
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 3; b++)
            {
                double Energy(double e)
                {
                    var strain = new double[9];
                    strain[3 * a + b] = e;
                    var pos = new double[frame.Positions.Length];
                    for (int i = 0; i < frame.AtomCount; i++)
                        for (int k = 0; k < 3; k++)
                        {
                            double s = 0;
                            for (int l = 0; l < 3; l++) s += frame.Positions[3 * i + l] * ((k == l ? 1 : 0) + strain[3 * k + l]);
                            pos[3 * i + k] = s;
                        }
                    return ff.Compute(new Frame(frame.Species, pos, frame.Cell!.Strained(strain))).Energy;
                }
                double fd = -(Energy(h) - Energy(-h)) / (2 * h);
                Assert.True(Math.Abs(fd - w[3 * a + b]) < 1e-6 * Math.Max(1, Math.Abs(fd)), $"W[{a},{b}] = {w[3 * a + b]}, finite difference {fd}");
            }
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(2, false)]
    [InlineData(2, true)]
    public void PairPlusEmbeddingFormEqualsTheLoss(int order, bool triclinic)
    {
        var model = ExportTestModels.Water(order, seed: 11);
        var frame = triclinic ? ExportTestModels.SmallTriclinic() : ExportTestModels.WaterBox(jiggle: 0.1);
        var direct = new RadialLossForceField(model).Compute(frame);
        var form = PairEmbeddingModel.FromRadialLoss(model);
        var split = new PairEmbeddingForceField(form).Compute(frame);
        double scale = direct.Forces.Max(Math.Abs);
        Assert.True(Math.Abs(split.Energy - direct.Energy) < 1e-10 * Math.Max(1, Math.Abs(direct.Energy)), $"E {split.Energy} vs {direct.Energy}");
        for (int i = 0; i < direct.Forces.Length; i++)
            Assert.True(Math.Abs(split.Forces[i] - direct.Forces[i]) < 1e-10 * scale, $"F[{i}] {split.Forces[i]} vs {direct.Forces[i]}");
        for (int i = 0; i < 9; i++)
            Assert.True(Math.Abs(split.Virial[i] - direct.Virial[i]) < 1e-9 * Math.Max(1, direct.Virial.Max(Math.Abs)));
        if (order == 1) Assert.Empty(form.Layers);
        else
        {
            // Mixed-sign eigenvectors are split into three layers each, so there are more layers than invariants.
            Assert.True(form.Layers.Count > model.Agents[0].Invariants.Count);
            // All densities are non-negative (the eam/fs F(ρ) grid starts at 0).
            var ff = new PairEmbeddingForceField(form);
            ff.Compute(frame);
            Assert.True(ff.Densities.ToArray().All(x => x >= 0));
        }
    }

    [Fact]
    public void DirectionsClearOfZeroOnTheReferencesStayOneLayer()
    {
        var model = ExportTestModels.Water(2, seed: 11);
        var frame = ExportTestModels.WaterBox(jiggle: 0.1);
        var direct = new RadialLossForceField(model);
        var want = direct.Compute(frame);
        var samples = new[] { new List<double[]>(), new List<double[]>() };
        for (int i = 0; i < frame.AtomCount; i++) samples[model.IndexOf(frame.Species[i])].Add(direct.InvariantsOf(i, frame.Species[i]));
        var guaranteed = PairEmbeddingModel.FromRadialLoss(model);
        var adapted = PairEmbeddingModel.FromRadialLoss(model, samples);
        Assert.True(adapted.Layers.Count < guaranteed.Layers.Count, $"{adapted.Layers.Count} vs {guaranteed.Layers.Count} layers");
        Assert.Contains(adapted.Layers, l => l.NonNegative.Contains(false));
        var got = new PairEmbeddingForceField(adapted).Compute(frame);
        Assert.Equal(want.Energy, got.Energy, 1e-10 * Math.Abs(want.Energy));
        Assert.True(LammpsTabulation.MaxForceError([got], [want]) < 1e-10 * want.Forces.Max(Math.Abs));
    }

    [Fact]
    public void EamSplineReproducesAQuadraticEmbeddingExactlyInside()
    {
        const double c = -0.37, delta = 0.01;
        var values = Enumerable.Range(0, 200).Select(m => c * (m * delta) * (m * delta)).ToArray();
        var spline = new LammpsEamSpline(values, delta, embedding: true);
        for (double rho = delta; rho <= 198 * delta; rho += 0.00137)
        {
            double v = spline.Evaluate(rho, out double d);
            Assert.Equal(c * rho * rho, v, 1e-13);
            Assert.Equal(2 * c * rho, d, 1e-11);
        }
        // Beyond the grid LAMMPS continues linearly: the slope stays at its last value.
        spline.Evaluate(2.5, out double dOut);
        Assert.Equal(spline.Evaluate(199 * delta, out _) + dOut * (2.5 - 199 * delta), spline.Evaluate(2.5, out _), 1e-12);
    }

    [Fact]
    public void TablesConvergeAtTheirOrder()
    {
        var phi = RadialBasis.Gaussian(1.5, 0.3, 5.0);
        var curve = new RadialSum(5.0, [(1.0, phi)]);
        double Err(ICurve table)
        {
            double max = 0;
            for (double r = 0.8; r < 4.9; r += 0.00731)
            {
                table.Evaluate(r, out double d);
                phi(r, out double exact);
                max = Math.Max(max, Math.Abs(d - exact));
            }
            return max;
        }
        double l1 = Err(new LammpsLinearTable(0.5, 5.0, 2000, curve)), l2 = Err(new LammpsLinearTable(0.5, 5.0, 4000, curve));
        Assert.InRange(l1 / l2, 3.5, 4.5); // linear interpolation: error ∝ Δ²
        double Sample(int n, out double dr, out double[] v)
        {
            dr = 5.0 / n;
            double step = dr;
            v = Enumerable.Range(0, n + 5).Select(m => curve.Evaluate(m * step, out _)).ToArray();
            return dr;
        }
        Sample(1000, out var dr1, out var v1); Sample(2000, out var dr2, out var v2);
        double e1 = Err(new LammpsEamSpline(v1, dr1, false)), e2 = Err(new LammpsEamSpline(v2, dr2, false));
        Assert.True(e1 / e2 > 7, $"eam spline force error should fall at least as Δ³: {e1} → {e2}"); // 5-point slopes
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void TabulationMeetsTheForceBudget(int order)
    {
        var model = ExportTestModels.Water(order, seed: 5);
        var frames = new[] { ExportTestModels.WaterBox(0.05, 1), ExportTestModels.WaterBox(0.05, 2) };
        var tab = LammpsTabulation.Create(model, frames);
        var b = tab.Budget;
        Assert.True(b.DecompositionForceError < 1e-10, $"decomposition {b.DecompositionForceError}");
        Assert.True(b.TotalForceError <= 1e-6, $"total {b.TotalForceError}");
        Assert.True(b.PairForceError <= 5e-7 && b.EmbeddingForceError <= 5e-7);
        // The search stopped at the first resolution that met the budget: the one before it did not.
        foreach (var group in b.Steps.GroupBy(s => s.Table))
        {
            var steps = group.ToList();
            Assert.True(steps[^1].RelativeForceError <= 5e-7);
            if (steps.Count > 1) Assert.True(steps[^2].RelativeForceError > 5e-7);
        }
        // Independent check on a frame the budget did not see.
        var other = ExportTestModels.WaterBox(0.05, 3);
        var exact = new RadialLossForceField(model).Compute(other);
        var tabulated = new PairEmbeddingForceField(tab.Tabulated).Compute(other);
        double scale = Math.Sqrt(exact.Forces.Sum(x => x * x) / other.AtomCount);
        Assert.True(LammpsTabulation.MaxForceError([tabulated], [exact]) / scale < 2e-6);
        Assert.True(Math.Abs(tabulated.Energy - exact.Energy) < 1e-6 * Math.Abs(exact.Energy) + 1e-6);
    }

    [Fact]
    public void RefusesDensitiesThatChangeSign()
    {
        RadialFunction wavy = (double r, out double d) =>
        {
            double fc = RadialBasis.SmoothCutoff(r, 4.0, out double dfc);
            d = -Math.Sin(r) * fc + Math.Cos(r) * dfc;
            return Math.Cos(r) * fc;
        };
        var inv = new List<RadialInvariant> { new(0, wavy, "cos") };
        var model = new RadialLossDescription([Elements.O], 4.0, [new AgentLoss(inv, [0.1], new double[,] { { 0.5 } })]);
        var frame = new Frame([Elements.O, Elements.O], [0, 0, 0, 2.5, 0, 0], Cell.Orthorhombic(10, 10, 10));
        var e = Assert.Throws<DataException>(() => LammpsTabulation.Create(model, [frame]));
        Assert.Contains("negative", e.Message);
        Assert.Contains("ρ ≥ 0", e.Message);
    }
}
