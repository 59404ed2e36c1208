using MolecularLearning.Core;
using MolecularLearning.Learning;

namespace MolecularLearning.Learning.Tests;

/// <summary>The smooth-shell families (shell, shellAngle). Finite-difference and −∇E checks run through Synthetic.Families ("shells").</summary>
public class ShellInvariantTests
{
    private static double[] ValuesOf(InvariantSet set, Frame frame, int agent) => Synthetic.AgentValues(set, frame, agent).Values[..set.Count];

    [Fact]
    public void SwitchIsOneInsideZeroOutsideAndC3AtBothEdges()
    {
        var w = new ShellWindow("H", 1.2, 1.5);
        Assert.Equal(1, w.Weight(1.0, out var d0)); Assert.Equal(0, d0);
        Assert.Equal(0, w.Weight(1.6, out var d1)); Assert.Equal(0, d1);
        Assert.Equal(0.5, w.Weight(1.35, out _), 14); // S(½) = ½ by symmetry
        // Slope matches finite differences inside; slope, curvature and third derivative vanish at both edges.
        const double h = 1e-6;
        foreach (var r in new[] { 1.23, 1.31, 1.44 })
        {
            w.Weight(r, out var d);
            Assert.Equal((w.Weight(r + h, out _) - w.Weight(r - h, out _)) / (2 * h), d, 1e-8);
        }
        foreach (var edge in new[] { 1.2, 1.5 })
        {
            const double e = 1e-3;
            double side = edge == 1.2 ? e : -e;
            w.Weight(edge + side, out var slope);
            double value = w.Weight(edge + side, out _) - w.Weight(edge, out _);
            // Near an edge w − w(edge) ~ x⁴ and w' ~ x³ (x = e / width = 1/300): both tiny, not ~x or ~x².
            Assert.True(Math.Abs(value) < 1e-7 && Math.Abs(slope) < 1e-4, $"edge {edge}: Δw {value}, w' {slope}");
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void CutoffOfPowerPHasItsFirstPMinusOneDerivativesZeroAtTheCutoff(int power)
    {
        const double rc = 3.0, h = 1e-5;
        foreach (var r in new[] { 0.5, 1.7, 2.9 })
        {
            double f = SmoothCutoff.Value(r, rc, power, out var d);
            Assert.Equal(Math.Pow(1 - r * r / (rc * rc), power), f, 14);
            Assert.Equal((SmoothCutoff.Value(r + h, rc, power, out _) - SmoothCutoff.Value(r - h, rc, power, out _)) / (2 * h), d, 1e-8);
        }
        // f_c(r_c − e) ~ e^P: the value falls by 2^P when e halves (P = 2 is C¹, P = 3 C², P = 4 C³).
        double ratio = SmoothCutoff.Value(rc - 2e-3, rc, power, out _) / SmoothCutoff.Value(rc - 1e-3, rc, power, out _);
        Assert.Equal(Math.Pow(2, power), ratio, 0.02 * Math.Pow(2, power));
        // Power 2 is bit for bit the original cutoff, so older models give identical forces.
        Assert.Equal(SmoothCutoff.Value(1.234, rc, out var d2), SmoothCutoff.Value(1.234, rc, 2, out var d2p));
        Assert.Equal(d2, d2p);
    }

    [Fact]
    public void ModelsWithoutShellsOrCutoffPowerWriteNoNewFields()
    {
        var model = Synthetic.RandomModel(Synthetic.Families().Single(f => f.Name == "all").Options, 2, ForceMode.Conservative, seed: 2);
        var json = model.ToJson();
        Assert.DoesNotContain("cutoffPower", json);
        Assert.DoesNotContain("shells", json);
        Assert.DoesNotContain("shellAngles", json);
        Assert.Equal(2, ModelFile.FromJson(json, "m.json").Invariants.Options.CutoffPower);
    }

    [Fact]
    public void ShellSumsAndShellAngleHaveTheirHandValues()
    {
        var options = InvariantOptions.Parse("shell:O-H:1.15:1.45:2+shellAngle:2:O@H:1.15:1.45:H:1.15:1.45", 6);
        var set = new InvariantSet(options, [Elements.O, Elements.H]);
        Assert.Equal(4, set.Count);
        // O with an H at 1.0 Å (weight 1) and one at 1.3 Å (mid-switch, weight ½), 90° apart; a third H far away.
        var frame = new Frame([Elements.O, Elements.H, Elements.H, Elements.H], [0, 0, 0, 1.0, 0, 0, 0, 1.3, 0, 0, 0, 3.0], null);
        var v = ValuesOf(set, frame, 0);
        Assert.Equal(-0.15 + 0.5 * 0.15, v[0], 12);                   // Σ (r − on) w
        Assert.Equal(0.0225 + 0.5 * 0.0225, v[1], 12);                // Σ (r − on)² w
        Assert.Equal(0, v[2], 12);                                    // ½ P1(cos 90°)
        Assert.Equal(0.5 * -0.5, v[3], 12);                           // ½ P2(cos 90°)
        // H agents see none of it (the items are for O agents).
        Assert.All(ValuesOf(set, frame, 1), x => Assert.Equal(0, x));
        Assert.Equal("P2(∠O@HHw)", set.Labels[3]);
        Assert.Equal("Σ(r−1.15)^2w(O-H)", set.Labels[1]);
    }

    /// <summary>
    /// An O with two H at 0.97 Å and a third H moving past the second one: the sorted angle H1H2 switches partner
    /// and jumps; the shell angle (window 1.15–1.45 Å, far beyond both) does not change at all.
    /// </summary>
    [Fact]
    public void ShellAngleStaysSmoothWhereTheSortedAngleJumps()
    {
        var sorted = new InvariantSet(InvariantOptions.Parse("sorted:H3+angles:1:O@H1H2", 6), [Elements.O, Elements.H]);
        var shell = new InvariantSet(InvariantOptions.Parse("shellAngle:1:O@H:1.15:1.45:H:1.15:1.45", 6), [Elements.O, Elements.H]);
        double Angle(InvariantSet set, double r3)
        {
            // H2 at 1.8 Å along y, H3 at r3 along −x: they swap rank as r3 crosses 1.8 Å.
            var frame = new Frame([Elements.O, Elements.H, Elements.H, Elements.H], [0, 0, 0, 0.97, 0, 0, 0, 1.8, 0, -r3, 0, 0], null);
            return ValuesOf(set, frame, 0)[set.Count - 1];
        }
        Assert.True(Math.Abs(Angle(sorted, 1.8 + 1e-6) - Angle(sorted, 1.8 - 1e-6)) > 0.9, "sorted angle: cos goes from 0 to −1");
        Assert.Equal(Angle(shell, 1.8 - 1e-6), Angle(shell, 1.8 + 1e-6), 12);
    }

    [Fact]
    public void DerivativesAreRightForNeighboursAtTheSwitchEdges()
    {
        // Random waters whose O–H bonds straddle the window edges, in a triclinic cell smaller than twice the shell reach.
        var options = InvariantOptions.Parse("shell:O-H:0.95:1.0:2+shell:H-O:0.9:0.99:1+shellAngle:2:O@H:0.95:1.0:H:0.9:0.98", 6);
        var set = new InvariantSet(options, [Elements.O, Elements.H]);
        var frame = Synthetic.Water(4, Synthetic.Triclinic, seed: 5, jitter: 0.04);
        var model = Synthetic.RandomModel(options, 2, ForceMode.Conservative, seed: 3);
        var result = model.CreateForceField().Compute(frame);
        const double h = 1e-6;
        double maxErr = 0;
        for (int x = 0; x < 3 * frame.AtomCount; x++)
        {
            var plus = frame.Clone(); plus.Positions[x] += h;
            var minus = frame.Clone(); minus.Positions[x] -= h;
            double fd = -(model.CreateForceField().Compute(plus).Energy - model.CreateForceField().Compute(minus).Energy) / (2 * h);
            maxErr = Math.Max(maxErr, Math.Abs(fd - result.Forces[x]) / (1 + Math.Abs(fd)));
        }
        Assert.True(maxErr < 1e-6, $"max relative force error {maxErr}");
        Assert.Equal(2 + 1 + 2, set.Count);
    }

    [Fact]
    public void C2CutoffForcesAreRightForANeighbourJustInsideTheCutoff()
    {
        // Two waters with one O–O distance 1e-3 Å inside the 3.0 Å cutoff of the radial and angular sums (fc:3).
        var options = InvariantOptions.Parse("gauss:3:0.9:3+angular:2:3.0+fc:3", 3.0);
        var frame = Synthetic.Water(2, null, seed: 3);
        var shift = Vec3.At(frame.Positions, 0) + new Vec3(3.0 - 1e-3, 0, 0) - Vec3.At(frame.Positions, 3);
        for (int a = 3; a < 6; a++) (Vec3.At(frame.Positions, a) + shift).To(frame.Positions, a);
        frame = new Frame(frame.Species, frame.Positions, Cell.Orthorhombic(20, 20, 20));
        var model = Synthetic.RandomModel(options, 2, ForceMode.Conservative, seed: 6);
        var forces = model.CreateForceField().Compute(frame).Forces;
        const double h = 1e-6;
        for (int x = 0; x < 3 * frame.AtomCount; x++)
        {
            var plus = frame.Clone(); plus.Positions[x] += h;
            var minus = frame.Clone(); minus.Positions[x] -= h;
            double fd = -(model.CreateForceField().Compute(plus).Energy - model.CreateForceField().Compute(minus).Energy) / (2 * h);
            Assert.True(Math.Abs(fd - forces[x]) < 1e-6 * (1 + Math.Abs(fd)), $"coordinate {x}: analytic {forces[x]}, finite difference {fd}");
        }
    }

    [Theory]
    [InlineData("shell:OH:1:2:2", "expected shell:AGENT-NEIGHBOUR:on:off:N")]
    [InlineData("shell:O-H:1.5:1.2:2", "needs 0 < on < off")]
    [InlineData("shell:O-H:1.2:1.5:x", "'x' is not an integer")]
    [InlineData("shell:O-H:1.2:1.5:0", "degree must be 1..8")]
    [InlineData("gauss:3+fc:1", "cutoff power must be 2..8")]
    [InlineData("shellAngle:3:O:1:2:H:1:2", "expected shellAngle:L:AGENT@A:on:off:B:on:off")]
    [InlineData("shellAngle:0:O@H:1:2:H:1:2", "degree must be 1..8")]
    public void BadShellSpecsAreClearErrors(string spec, string expected)
    {
        var e = Assert.Throws<DataException>(() => InvariantOptions.Parse(spec, 6));
        Assert.Contains(expected, e.Message);
    }

    [Theory]
    [InlineData("\"degree\": 2,", "\"degree\": 0,", "degree must be 1..8")]
    [InlineData("\"cutoffPower\": 3", "\"cutoffPower\": 1", "cutoff power must be 2..8")]
    [InlineData("\"off\": 1.3", "\"off\": 0.5", "needs 0 < on < off")]
    public void CorruptShellFieldsAreClearErrors(string find, string replace, string expected)
    {
        var json = Synthetic.RandomModel(Synthetic.Families().Single(f => f.Name == "shells").Options, 1, ForceMode.Conservative, seed: 1).ToJson();
        Assert.Contains(find, json);
        var e = Assert.Throws<DataException>(() => ModelFile.FromJson(json.Replace(find, replace), "m.json"));
        Assert.Contains("m.json", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void ShellModelsRoundTripThroughTheModelFile()
    {
        var options = Synthetic.Families().Single(f => f.Name == "shells").Options;
        var model = Synthetic.RandomModel(options, 2, ForceMode.Conservative, seed: 9, bounds: true);
        var loaded = ModelFile.FromJson(model.ToJson(), "m.json");
        Assert.Equal(model.ToJson(), loaded.ToJson());
        Assert.Equal(3, loaded.Invariants.Options.CutoffPower);
        var frame = Synthetic.Water(4, Synthetic.Triclinic, seed: 4, jitter: 0.1);
        var a = model.CreateForceField().Compute(frame);
        var b = loaded.CreateForceField().Compute(frame);
        Assert.Equal(a.Energy, b.Energy);
        Assert.True(a.Forces.AsSpan().SequenceEqual(b.Forces));
    }
}
