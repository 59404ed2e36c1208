using MolecularLearning.Core;
using MolecularLearning.Learning;

namespace MolecularLearning.Learning.Tests.Conformance;

/// <summary>
/// The oracle itself: Reference forces are −∂L_i/∂x_i (agent mode) or −∂E/∂x (conservative mode) and its virial is
/// −∂E/∂ε, by central differences, on the conformance bases.
/// </summary>
public class ReferenceFiniteDifferenceTests
{
    public static IEnumerable<object[]> Cases()
    {
        foreach (var basis in new[] { "default", "conservativeDefault", "accurate", "sortedInsideRange", "mixed" })
            foreach (var mode in new[] { "agent", "conservative" })
                yield return [basis, mode];
    }

    private static LearnedModel Model(string basis, string mode) =>
        Synthetic.RandomModel(BackendConformanceTests.Basis(basis), 2, Backends.Mode(mode), seed: 5, walls: Backends.Walls, bounds: true);

    private static double Energy(LearnedModel model, Frame frame) => Backends.Run(Backends.Reference(model), frame).Energy;

    [Theory]
    [MemberData(nameof(Cases))]
    public void ForcesAreMinusTheGradientOfTheRightLoss(string basis, string mode)
    {
        var model = Model(basis, mode);
        var frame = Synthetic.Water(4, Synthetic.Triclinic, seed: 21, jitter: 0.12);
        var result = Backends.Run(Backends.Reference(model), frame);
        const double h = 1e-5;
        double maxErr = 0, maxF = 0;
        for (int x = 0; x < 3 * frame.AtomCount; x++)
        {
            var plus = frame.Clone(); plus.Positions[x] += h;
            var minus = frame.Clone(); minus.Positions[x] -= h;
            double fd = model.Mode == ForceMode.Conservative
                ? -(Energy(model, plus) - Energy(model, minus)) / (2 * h)
                : -(Synthetic.AgentLoss(model, plus, x / 3) - Synthetic.AgentLoss(model, minus, x / 3)) / (2 * h);
            maxErr = Math.Max(maxErr, Math.Abs(fd - result.Forces[x]) / (1 + Math.Abs(fd)));
            maxF = Math.Max(maxF, Math.Abs(fd));
        }
        Assert.True(maxF > 1e-2, "forces should not vanish");
        Assert.True(maxErr < 1e-6, $"max relative force error {maxErr}");
        double sum = Enumerable.Range(0, frame.AtomCount).Sum(i => Synthetic.AgentLoss(model, frame, i));
        Assert.Equal(sum, result.Energy, 1e-9 * (1 + Math.Abs(sum)));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void VirialIsMinusTheStrainDerivativeOfTheEnergy(string basis, string mode)
    {
        var model = Model(basis, mode);
        var frame = Synthetic.Water(4, Synthetic.Triclinic, seed: 4, jitter: 0.1);
        var w = Backends.Run(Backends.Reference(model), frame).Virial;
        const double h = 1e-6;
        for (int ab = 0; ab < 9; ab++)
        {
            double E(double sign)
            {
                var strain = new double[9];
                strain[ab] = sign * h;
                var pos = new double[frame.Positions.Length];
                for (int i = 0; i < frame.AtomCount; i++)
                    for (int a = 0; a < 3; a++)
                    {
                        double v = frame.Positions[3 * i + a];
                        for (int b = 0; b < 3; b++) v += strain[3 * a + b] * frame.Positions[3 * i + b];
                        pos[3 * i + a] = v;
                    }
                return Energy(model, new Frame(frame.Species, pos, frame.Cell!.Strained(strain)));
            }
            double fd = -(E(1) - E(-1)) / (2 * h);
            Assert.True(Math.Abs(fd - w[ab]) < 1e-5 * (1 + Math.Abs(fd)), $"W[{ab}] = {w[ab]}, finite difference {fd}");
        }
    }
}
