using MolecularLearning.Core;
using MolecularLearning.Learning;

namespace MolecularLearning.Learning.Tests;

/// <summary>
/// Which walls of an agent model add curl (docs/agent-mode.md, "Conservative walls"): the pair walls k (r_min − r)³ act
/// on both atoms of a pair alike, so their agent forces are the gradient of the pair sum and the force Jacobian is
/// symmetric; the range walls on each agent's invariants push that agent alone and are not. `--range-walls 0` keeps only
/// the pair walls.
/// </summary>
public class AgentWallCurlTests
{
    private static readonly InvariantOptions Basis = InvariantOptions.Parse("sorted:O2:H3+gauss:3:0.9:3+angles:2:H1H2", 3.4);

    private static double[] Forces(LearnedModel model, Frame frame, double[] x) =>
        model.CreateForceField(skin: 0).Compute(new Frame(frame.Species, x, frame.Cell)).Forces.ToArray();

    /// <summary>K = −∂F/∂x by central differences, and ‖A‖/‖S‖ of its antisymmetric and symmetric parts.</summary>
    private static double AntisymmetricRatio(LearnedModel model, Frame frame, double h = 1e-5)
    {
        int n = frame.Positions.Length;
        var k = new double[n, n];
        for (int b = 0; b < n; b++)
        {
            var x = (double[])frame.Positions.Clone();
            x[b] += h; var fp = Forces(model, frame, x);
            x[b] -= 2 * h; var fm = Forces(model, frame, x);
            for (int a = 0; a < n; a++) k[a, b] = -(fp[a] - fm[a]) / (2 * h);
        }
        double anti = 0, sym = 0;
        for (int a = 0; a < n; a++)
            for (int b = 0; b < n; b++)
            {
                double s = 0.5 * (k[a, b] + k[b, a]), t = 0.5 * (k[a, b] - k[b, a]);
                sym += s * s; anti += t * t;
            }
        Assert.True(sym > 0, "the walls must act on this frame");
        return Math.Sqrt(anti / sym);
    }

    private static readonly RepulsionWall[] PairWalls = [new("O", "O", 2.9, 3.0), new("O", "H", 2.0, 3.0), new("H", "H", 2.2, 3.0)];

    private static LearnedModel WallsOnly(ForceMode mode, RepulsionWall[] walls, InvariantBounds? bounds)
    {
        var set = new InvariantSet(Basis, [Elements.O, Elements.H]);
        return new LearnedModel(set, mode, [.. set.Species.Select(_ => new QuadraticLoss(new double[set.Count], null).WithBounds(bounds))], walls);
    }

    /// <summary>The pair sum U = Σ_{i&lt;j} k (r_min − r_ij)³ over pairs closer than r_min, computed here from the definition.</summary>
    private static double PairSum(Frame frame, double[] x)
    {
        double u = 0;
        for (int i = 0; i < frame.AtomCount; i++)
            for (int j = i + 1; j < frame.AtomCount; j++)
            {
                var w = PairWalls.Single(p => (p.A, p.B) == (frame.Species[i].Symbol, frame.Species[j].Symbol) || (p.B, p.A) == (frame.Species[i].Symbol, frame.Species[j].Symbol));
                double dx = x[3 * j] - x[3 * i], dy = x[3 * j + 1] - x[3 * i + 1], dz = x[3 * j + 2] - x[3 * i + 2];
                double gap = w.RMin - Math.Sqrt(dx * dx + dy * dy + dz * dz);
                if (gap > 0) u += w.Strength * gap * gap * gap;
            }
        return u;
    }

    [Fact]
    public void PairWallsOfAnAgentModelAreTheGradientOfThePairSum()
    {
        var frame = Synthetic.Water(4, null, seed: 5, jitter: 0.1);
        var model = WallsOnly(ForceMode.Agent, PairWalls, null);
        var f = Forces(model, frame, frame.Positions);
        const double h = 1e-5;
        double largest = f.Max(Math.Abs);
        Assert.True(largest > 0.1, $"walls barely act: largest force {largest}");
        for (int a = 0; a < f.Length; a++)
        {
            var x = (double[])frame.Positions.Clone();
            x[a] += h; double up = PairSum(frame, x);
            x[a] -= 2 * h; double down = PairSum(frame, x);
            Assert.True(Math.Abs(f[a] + (up - down) / (2 * h)) < 1e-6 * largest, $"coordinate {a}: F {f[a]}, −∂U/∂x {-(up - down) / (2 * h)}");
        }
        Assert.True(AntisymmetricRatio(model, frame) < 1e-6);
    }

    /// <summary>The range walls, agent mode: each agent's wall pushes it alone, a curl the pair walls do not have; the same walls in conservative mode have none.</summary>
    [Fact]
    public void RangeWallsOfAnAgentModelHaveCurlAndConservativeOnesDoNot()
    {
        var frame = Synthetic.Water(4, null, seed: 5, jitter: 0.1);
        int k = new InvariantSet(Basis, [Elements.O, Elements.H]).Count;
        // A range [0, 0] with unit scales: every invariant that is not zero sits in its wall.
        var bounds = new InvariantBounds(new double[k], new double[k], [.. Enumerable.Repeat(1.0, k)], 0.02, InvariantBounds.DefaultCap);
        double agent = AntisymmetricRatio(WallsOnly(ForceMode.Agent, [], bounds), frame);
        double conservative = AntisymmetricRatio(WallsOnly(ForceMode.Conservative, [], bounds), frame);
        Assert.True(agent > 1e-2, $"agent range walls: ‖A‖/‖S‖ {agent}");
        Assert.True(conservative < 1e-6, $"conservative range walls: ‖A‖/‖S‖ {conservative}");
    }

    /// <summary>The range walls in agent mode with <see cref="WallForces.Gradient"/> (−∇ Σ_i W(I_i), neighbours pushed too): no curl.</summary>
    [Fact]
    public void GradientRangeWallsOfAnAgentModelHaveNoCurl()
    {
        var frame = Synthetic.Water(4, null, seed: 5, jitter: 0.1);
        int k = new InvariantSet(Basis, [Elements.O, Elements.H]).Count;
        var bounds = new InvariantBounds(new double[k], new double[k], [.. Enumerable.Repeat(1.0, k)], 0.02, InvariantBounds.DefaultCap);
        double gradient = AntisymmetricRatio(WallsOnly(ForceMode.Agent, [], bounds).WithWallForces(WallForces.Gradient), frame);
        Assert.True(gradient < 1e-6, $"gradient range walls in agent mode: ‖A‖/‖S‖ {gradient}");
    }
}
