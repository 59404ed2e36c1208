using MolecularLearning.Core;

namespace MolecularLearning.Dynamics.Tests;

/// <summary>The vectorised chains against the scalar MTK algorithm they replaced (two exp per link and sub-step, Math.Exp).</summary>
public sealed class NoseHooverChainsTests
{
    /// <summary>The pre-vectorisation half-step for one chain (xi, v of that chain), kept as the reference.</summary>
    private static double Reference(Span<double> xi, Span<double> v, double[] q, double nkT, double kT, double twiceKe, double dt, int mts, double[] weights)
    {
        int m = xi.Length;
        double total = 1;
        for (int n = 0; n < mts; n++)
            foreach (var w in weights)
            {
                double dt2 = w * dt / (2 * mts), dt4 = 0.5 * dt2, dt8 = 0.5 * dt4;
                if (m == 1) v[0] += dt4 * (twiceKe - nkT) / q[0];
                else
                {
                    v[m - 1] += dt4 * (q[m - 2] * v[m - 2] * v[m - 2] - kT) / q[m - 1];
                    for (int j = m - 2; j >= 0; j--)
                    {
                        double g = j == 0 ? (twiceKe - nkT) / q[0] : (q[j - 1] * v[j - 1] * v[j - 1] - kT) / q[j];
                        double a = Math.Exp(-dt8 * v[j + 1]);
                        v[j] = v[j] * a * a + dt4 * g * a;
                    }
                }
                double s = Math.Exp(-dt2 * v[0]);
                total *= s;
                twiceKe *= s * s;
                for (int j = 0; j < m; j++) xi[j] += dt2 * v[j];
                if (m == 1) v[0] += dt4 * (twiceKe - nkT) / q[0];
                else
                {
                    for (int j = 0; j < m - 1; j++)
                    {
                        double g = j == 0 ? (twiceKe - nkT) / q[0] : (q[j - 1] * v[j - 1] * v[j - 1] - kT) / q[j];
                        double a = Math.Exp(-dt8 * v[j + 1]);
                        v[j] = v[j] * a * a + dt4 * g * a;
                    }
                    v[m - 1] += dt4 * (q[m - 2] * v[m - 2] * v[m - 2] - kT) / q[m - 1];
                }
            }
        return total;
    }

    [Theory]
    [InlineData(7, 3, true)]   // fewer atoms than two vectors: the padded tail
    [InlineData(16, 3, true)]
    [InlineData(13, 1, true)]
    [InlineData(5, 4, true)]
    [InlineData(9, 3, false)]
    public void Half_steps_match_the_scalar_algorithm(int atoms, int length, bool massive)
    {
        var rng = new Random(atoms * 31 + length);
        var masses = Enumerable.Range(0, atoms).Select(i => i % 3 == 0 ? 15.999 : 1.008).ToArray();
        var v = Enumerable.Range(0, 3 * atoms).Select(_ => 0.02 * (rng.NextDouble() - 0.5)).ToArray();
        var vRef = (double[])v.Clone();
        int dof = 3 * atoms - 3;
        double tau = massive ? 10 : 100, dt = 0.5;
        var nhc = new NoseHooverChains(atoms, dof, 300, tau, length, massive);
        int chains = massive ? atoms : 1;
        var xiRef = new double[chains * length]; var vxiRef = new double[chains * length]; // [chain * length + j]
        double kT = Units.BoltzmannEvPerK * 300, chainDof = massive ? (double)dof / atoms : dof;
        var q = nhc.Masses.ToArray();
        var weights = NoseHooverChains.YoshidaWeights(3);
        for (int half = 0; half < 400; half++)
        {
            // Particles "move" between half-steps so the chains are driven away from equilibrium.
            for (int k = 0; k < v.Length; k++) { double kick = 1e-3 * Math.Sin(0.1 * half + k); v[k] += kick; vRef[k] += kick; }
            nhc.HalfStep(dt, masses, v);
            if (massive)
                for (int i = 0; i < atoms; i++)
                {
                    double twiceKe = masses[i] * (vRef[3 * i] * vRef[3 * i] + vRef[3 * i + 1] * vRef[3 * i + 1] + vRef[3 * i + 2] * vRef[3 * i + 2]) * Units.AmuAngstrom2PerFs2InEv;
                    double s = Reference(xiRef.AsSpan(i * length, length), vxiRef.AsSpan(i * length, length), q, chainDof * kT, kT, twiceKe, dt, 3, weights);
                    for (int k = 3 * i; k < 3 * i + 3; k++) vRef[k] *= s;
                }
            else
            {
                double s = Reference(xiRef, vxiRef, q, chainDof * kT, kT, 2 * Momentum.KineticEnergy(masses, vRef), dt, 3, weights);
                for (int k = 0; k < vRef.Length; k++) vRef[k] *= s;
            }
        }
        if (!massive)
        {
            // The global chain keeps Math.Exp: bit for bit.
            Assert.True(v.AsSpan().SequenceEqual(vRef));
            Assert.True(nhc.Velocities.SequenceEqual(vxiRef));
            return;
        }
        // Vector.Exp is within an ulp of Math.Exp; over 400 half-steps (3,600 sub-steps) the chains carry that to
        // ~1e-12 relative. A wrong formula or lane would be off by far more than the bound.
        const double bound = 1e-10;
        for (int k = 0; k < v.Length; k++) Assert.True(Math.Abs(v[k] - vRef[k]) <= bound * Math.Max(1e-3, Math.Abs(vRef[k])), $"velocity {k}: {v[k]} vs {vRef[k]}");
        for (int c = 0; c < atoms; c++)
            for (int j = 0; j < length; j++)
            {
                double got = nhc.Velocities[j * atoms + c], want = vxiRef[c * length + j];
                Assert.True(Math.Abs(got - want) <= bound * Math.Max(1e-3, Math.Abs(want)), $"chain {c} link {j}: {got} vs {want}");
                got = nhc.Positions[j * atoms + c]; want = xiRef[c * length + j];
                Assert.True(Math.Abs(got - want) <= bound * Math.Max(1e-3, Math.Abs(want)), $"chain {c} link {j} position: {got} vs {want}");
            }
        Assert.NotEqual(0, nhc.Energy());
    }
}
