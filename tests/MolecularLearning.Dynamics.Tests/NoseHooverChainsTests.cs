using System.Numerics;
using MolecularLearning.Core;

namespace MolecularLearning.Dynamics.Tests;

/// <summary>The vectorised chains against the scalar MTK algorithm they replaced (two exp per link and sub-step, divisions by Q, Math.Exp).</summary>
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

    /// <summary>
    /// Half-steps of <paramref name="nhc"/> against <see cref="Reference"/> for every chain, the particles kicked between
    /// half-steps so the chains are driven away from equilibrium; the largest relative difference of particle and chain
    /// velocities and chain positions (each against max(|reference|, 10⁻³)).
    /// </summary>
    private static double Deviation(NoseHooverChains nhc, int atoms, int halfSteps, double velocityScale, int seed)
    {
        var rng = new Random(seed);
        var masses = Enumerable.Range(0, atoms).Select(i => i % 3 == 0 ? 15.999 : 1.008).ToArray();
        var v = Enumerable.Range(0, 3 * atoms).Select(_ => velocityScale * (rng.NextDouble() - 0.5)).ToArray();
        var vRef = (double[])v.Clone();
        int length = nhc.Length, chains = nhc.ChainCount;
        bool massive = nhc.Massive;
        var xiRef = new double[chains * length]; var vxiRef = new double[chains * length]; // [chain * length + j]
        double kT = Units.BoltzmannEvPerK * nhc.TemperatureK, dof = 3 * atoms - 3, chainDof = massive ? dof / atoms : dof;
        var q = nhc.Masses.ToArray();
        var weights = NoseHooverChains.YoshidaWeights(3);
        const double dt = 0.5;
        for (int half = 0; half < halfSteps; half++)
        {
            for (int k = 0; k < v.Length; k++) { double kick = 0.05 * velocityScale * Math.Sin(0.1 * half + k); v[k] += kick; vRef[k] += kick; }
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
        Assert.NotEqual(0, nhc.Energy());
        double worst = 0;
        void Compare(double got, double want) => worst = Math.Max(worst, double.IsFinite(got) ? Math.Abs(got - want) / Math.Max(1e-3, Math.Abs(want)) : double.PositiveInfinity);
        for (int k = 0; k < v.Length; k++) Compare(v[k], vRef[k]);
        for (int c = 0; c < chains; c++)
            for (int j = 0; j < length; j++)
            {
                Compare(nhc.Velocities[j * chains + c], vxiRef[c * length + j]);
                Compare(nhc.Positions[j * chains + c], xiRef[c * length + j]);
            }
        return worst;
    }

    [Theory]
    [InlineData(7, 3)]   // fewer atoms than two vectors: the padded tail
    [InlineData(16, 3)]
    [InlineData(96, 3)]  // the 96-atom box's chains
    [InlineData(13, 1)]
    [InlineData(5, 4)]
    public void Massive_half_steps_match_the_scalar_algorithm(int atoms, int length)
    {
        var nhc = new NoseHooverChains(atoms, 3 * atoms - 3, 300, 10, length, massive: true);
        double worst = Deviation(nhc, atoms, 400, 0.02, atoms * 31 + length);
        // Reciprocal masses and the exp series differ from the reference's divisions and Math.Exp in the last bit, and the
        // driven chains amplify such differences: ≤ 3e-12 after 400 half-steps (3,600 sub-steps; the Vector.Exp version
        // they replace was 1e-11 off). A wrong formula, lane or sub-step is off by far more.
        Assert.True(worst <= 1e-11, $"largest relative difference {worst:E2}");
        Assert.Equal(0, nhc.LibraryExpHalfSteps); // the series served every exp
    }

    [Fact]
    public void Chain_velocities_beyond_the_series_range_fall_back_to_vector_exp()
    {
        // τ 2 fs: now and then a chain velocity takes dt/2 · v_ξ past the series' range (1/8), and that half-step is redone.
        var nhc = new NoseHooverChains(11, 30, 300, 2, 3, massive: true);
        double worst = Deviation(nhc, 11, 200, 0.02, 11 * 31 + 3);
        Assert.True(nhc.LibraryExpHalfSteps > 0, "the fallback never ran: the test no longer reaches it");
        Assert.True(worst <= 1e-11, $"largest relative difference {worst:E2}");
    }

    [Fact]
    public void The_global_chain_matches_the_scalar_algorithm_bit_for_bit()
    {
        var nhc = new NoseHooverChains(9, 24, 300, 100, 3, massive: false);
        Assert.Equal(0, Deviation(nhc, 9, 400, 0.02, 9));
    }

    [Theory]
    [InlineData(96)]
    [InlineData(7)]
    public void Three_link_and_general_kernels_give_the_same_numbers(int atoms)
    {
        var three = new NoseHooverChains(atoms, 3 * atoms - 3, 300, 10, 3, massive: true);
        var general = new NoseHooverChains(atoms, 3 * atoms - 3, 300, 10, 3, massive: true) { GeneralKernel = true };
        Deviation(three, atoms, 300, 0.02, 1);
        Deviation(general, atoms, 300, 0.02, 1);
        Assert.True(three.Velocities.SequenceEqual(general.Velocities));
        Assert.True(three.Positions.SequenceEqual(general.Positions));
    }

    [Theory]
    [InlineData(10.0)]
    [InlineData(2.0)] // some chunks redo their chains with Vector.Exp
    public void Many_chains_split_over_threads_give_the_serial_numbers(double tau)
    {
        int atoms = NoseHooverChains.ParallelChains + 2 * 2048 + 3; // several chunks, the last one short and padded
        var rng = new Random(4);
        var masses = Enumerable.Range(0, atoms).Select(i => i % 3 == 0 ? 15.999 : 1.008).ToArray();
        var v = Enumerable.Range(0, 3 * atoms).Select(_ => 0.02 * (rng.NextDouble() - 0.5)).ToArray();
        var vSerial = (double[])v.Clone();
        var parallel = new NoseHooverChains(atoms, 3 * atoms - 3, 300, tau, 3, massive: true);
        var serial = new NoseHooverChains(atoms, 3 * atoms - 3, 300, tau, 3, massive: true);
        var runner = new ParallelRunner(2);
        for (int half = 0; half < 60; half++)
        {
            for (int k = 0; k < v.Length; k++) { double kick = 1e-3 * Math.Sin(0.1 * half + k); v[k] += kick; vSerial[k] += kick; }
            parallel.HalfStep(0.5, masses, v, null, runner);
            serial.HalfStep(0.5, masses.AsSpan(), vSerial.AsSpan());
        }
        Assert.True(v.AsSpan().SequenceEqual(vSerial));
        Assert.True(parallel.Velocities.SequenceEqual(serial.Velocities));
        Assert.True(parallel.Positions.SequenceEqual(serial.Positions));
        Assert.Equal(serial.LibraryExpHalfSteps, parallel.LibraryExpHalfSteps);
        if (tau < 5) Assert.True(serial.LibraryExpHalfSteps > 0, "no chunk needed Vector.Exp: the test no longer reaches the fallback");
    }

    [Fact]
    public void The_series_exp_is_within_an_ulp_of_math_exp_and_refuses_what_it_cannot_take()
    {
        int width = Vector<double>.Count;
        var x = new double[width];
        double worst = 0;
        for (int i = 0; i <= 100_000; i += width)
        {
            for (int l = 0; l < width; l++) x[l] = -0.125 + 0.25 * Math.Min(i + l, 100_000) / 100_000;
            var ok = Vector<long>.AllBitsSet;
            var e = NoseHooverChains.SeriesExp.Exp(new Vector<double>(x), ref ok);
            Assert.True(Vector.EqualsAll(ok, Vector<long>.AllBitsSet));
            for (int l = 0; l < width; l++) worst = Math.Max(worst, Math.Abs(e[l] - Math.Exp(x[l])) / Math.Exp(x[l]));
        }
        Assert.True(worst <= Math.Pow(2, -52), $"relative error {worst:E2}");
        foreach (var bad in new[] { 0.1251, -0.2, double.NaN, double.PositiveInfinity })
        {
            Array.Fill(x, 0.01);
            x[width - 1] = bad;
            var ok = Vector<long>.AllBitsSet;
            NoseHooverChains.SeriesExp.Exp(new Vector<double>(x), ref ok);
            Assert.False(Vector.EqualsAll(ok, Vector<long>.AllBitsSet), $"{bad} accepted");
            Assert.Equal(-1L, ok[0]);
        }
    }
}
