using MolecularLearning.Core;

namespace MolecularLearning.Dynamics.Tests;

public class IntegratorTests
{
    private static double Mean(IReadOnlyList<double> x) => x.Average();
    private static double Variance(IReadOnlyList<double> x) { double m = Mean(x); return x.Sum(v => (v - m) * (v - m)) / (x.Count - 1); }

    [Fact]
    public void ForceFieldGradientsMatchFiniteDifferences()
    {
        var frame = FlexibleWater.Lattice(2, 5);
        // Perturb so bonds, angles and intermolecular distances are all off their minima.
        var rng = new Xoshiro256(9);
        for (int k = 0; k < frame.Positions.Length; k++) frame.Positions[k] += 0.05 * rng.NextGaussian();
        IForceField ff = new FlexibleWater(frame, 2.9);
        var f = ff.Compute(frame).Forces;
        const double h = 1e-5;
        for (int k = 0; k < frame.Positions.Length; k += 5)
        {
            var p = frame.Clone(); p.Positions[k] += h;
            var m = frame.Clone(); m.Positions[k] -= h;
            double fd = -(ff.Compute(p).Energy - ff.Compute(m).Energy) / (2 * h);
            Assert.Equal(fd, f[k], 1e-5 * Math.Max(1, Math.Abs(fd)));
        }
    }

    [Fact]
    public void VelocityVerletHarmonicEnergyErrorIsSecondOrderAndDoesNotDrift()
    {
        // An O–H "bond": ω = sqrt(k/μ); period ≈ 9 fs for k = 50 eV/Å².
        double MaxError(double dt)
        {
            var state = new MdState([Elements.O, Elements.H], [0, 0, 0, 1.1, 0, 0], null, null);
            var md = new VerletIntegrator(new HarmonicSprings([(0, 1, 50.0, 1.0)]), state,
                new MdSettings { TimestepFs = dt, Thermostat = ThermostatKind.None, RemoveCenterOfMassMotion = false });
            md.Initialise();
            double e0 = md.ConservedEnergy, worst = 0, late = 0;
            int steps = (int)Math.Round(200 / dt);
            for (int s = 0; s < steps; s++)
            {
                md.Step();
                double err = Math.Abs(md.ConservedEnergy - e0);
                worst = Math.Max(worst, err);
                if (s >= steps - (int)(20 / dt)) late = Math.Max(late, err);
            }
            Assert.True(late <= worst * 1.0000001); // bounded: the error late in the run is no larger than the worst seen
            return worst / e0;
        }
        double coarse = MaxError(0.2), fine = MaxError(0.1);
        Assert.InRange(coarse / fine, 3.5, 4.5);
        Assert.True(coarse < 0.01, $"relative energy error {coarse}");
    }

    [Fact]
    public void WaterNveConservesEnergyAndMomentum()
    {
        var frame = FlexibleWater.Lattice(3, 1);
        var ff = new FlexibleWater(frame, 4.5);
        var settings = new MdSettings { TimestepFs = 0.25, Thermostat = ThermostatKind.None, RemoveCenterOfMassMotion = false };
        var state = MdState.FromFrame(frame, settings.TimestepFs);
        Momentum.MaxwellBoltzmann(state.Masses, state.Velocities, 300, settings.DegreesOfFreedom(state.AtomCount), true, new Xoshiro256(3));
        var md = new VerletIntegrator(ff, state, settings);
        md.Initialise();
        var energies = new List<double>();
        for (int s = 0; s < 2000; s++) { md.Step(); energies.Add(md.ConservedEnergy); }
        double scale = 0.5 * md.DegreesOfFreedom * Units.BoltzmannEvPerK * 300;
        double drift = Math.Abs(energies.Skip(1800).Average() - energies.Take(200).Average()) / scale;
        Assert.True(drift < 2e-3, $"energy drift {drift} of the kinetic energy scale");
        var p = Momentum.Total(state.Masses, state.Velocities);
        Assert.True(p.Norm() < 1e-9, $"total momentum {p}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void NoseHooverChainConservedQuantityStaysFlat(bool massive)
    {
        var frame = FlexibleWater.Lattice(3, 2);
        var settings = new MdSettings { TimestepFs = 0.25, TemperatureK = 400, TauFs = 20, Massive = massive };
        var md = Started(frame, settings, 4, startK: 200, cutoff: 4.5);
        double h0 = md.ConservedEnergy, worst = 0, thermostatWork = 0;
        for (int s = 0; s < 2000; s++)
        {
            md.Step();
            worst = Math.Max(worst, Math.Abs(md.ConservedEnergy - h0));
            thermostatWork = Math.Max(thermostatWork, Math.Abs(md.Thermostat!.Energy()));
        }
        // The thermostat heats 200 K → 400 K (it does real work) while the extended energy stays flat.
        double kTscale = 0.5 * md.DegreesOfFreedom * Units.BoltzmannEvPerK * 300;
        Assert.True(thermostatWork > 0.2 * kTscale, $"thermostat energy {thermostatWork}");
        Assert.True(worst < 2e-3 * kTscale, $"conserved quantity moved by {worst} eV");
    }

    [Fact]
    public void MassiveChainConservedQuantityHoldsOverPicosecondsWithTheCentreOfMassProjected()
    {
        // Each atom's own scale factor gives the box momentum; the projection after every step takes its kinetic
        // energy out. Uncounted, the conserved quantity fell steadily: −2.6e-3 of the kinetic scale over these
        // 2 ps at 0.125 fs (−1.8e-3 at 0.0625 fs: first order in dt); counted, it moves 4e-4 (1e-4).
        var frame = FlexibleWater.Lattice(3, 2);
        var settings = new MdSettings { TimestepFs = 0.125, TemperatureK = 400, TauFs = 20, Massive = true };
        var md = Started(frame, settings, 4, startK: 200, cutoff: 4.5);
        double h0 = md.ConservedEnergy, worst = 0;
        for (int s = 0; s < 16_000; s++) { md.Step(); worst = Math.Max(worst, Math.Abs(md.ConservedEnergy - h0)); }
        double kTscale = 0.5 * md.DegreesOfFreedom * Units.BoltzmannEvPerK * 300;
        Assert.True(Math.Abs(md.ConservedEnergy - h0) < 1e-3 * kTscale, $"conserved quantity drifted by {(md.ConservedEnergy - h0) / kTscale:E2} of the kinetic scale");
        Assert.True(worst < 1.2e-3 * kTscale, $"conserved quantity moved by up to {worst / kTscale:E2} of the kinetic scale");
    }

    /// <summary>32 argon atoms on an fcc lattice in a 12 Å box, Maxwell–Boltzmann velocities at 100 K (seed 7).</summary>
    private static MdState Argon(MdSettings settings)
    {
        var species = Enumerable.Repeat(Elements.Get("Ar"), 32).ToArray();
        double l = 12.0; var x = new double[96];
        int a = 0;
        for (int i = 0; i < 2; i++) for (int j = 0; j < 2; j++) for (int k = 0; k < 2; k++)
            foreach (var (bx, by, bz) in new[] { (0.0, 0.0, 0.0), (0.5, 0.5, 0.0), (0.5, 0.0, 0.5), (0.0, 0.5, 0.5) })
            { x[a++] = (i + bx) * l / 2; x[a++] = (j + by) * l / 2; x[a++] = (k + bz) * l / 2; }
        var state = new MdState(species, x, null, Cell.Orthorhombic(l, l, l));
        Momentum.MaxwellBoltzmann(state.Masses, state.Velocities, 100, settings.DegreesOfFreedom(32), true, new Xoshiro256(7));
        return state;
    }

    [Theory]
    [InlineData(false, 60_000)]
    [InlineData(true, 12_000)]
    public void NoseHooverChainSamplesCanonicalKineticEnergy(bool massive, int steps)
    {
        // 32 Lennard-Jones argon atoms near the triple point; NVT at 100 K.
        var settings = new MdSettings { TimestepFs = 5, TemperatureK = 100, TauFs = 200, Massive = massive };
        var state = Argon(settings);
        var md = new VerletIntegrator(new LennardJones(0.0104, 3.40, 5.9), state, settings);
        md.Initialise();
        var ke = new List<double>();
        for (int s = 0; s < steps; s++)
        {
            md.Step();
            if (s >= 2000 && s % 5 == 0) ke.Add(md.KineticEnergy);
        }
        double kT = Units.BoltzmannEvPerK * 100, nf = md.DegreesOfFreedom;
        Assert.InRange(Mean(ke) / (0.5 * nf * kT), 0.97, 1.03);
        Assert.InRange(Variance(ke) / (0.5 * nf * kT * kT), 0.8, 1.2);
    }

    /// <summary>
    /// Adds an anti-damping force γ m (x − x_prev)/Δt to <paramref name="inner"/>'s: a steady heat source of ≈ γ·2K, as
    /// agent-mode forces are (the previous call's positions stand in for the velocity; the atoms are never wrapped).
    /// </summary>
    private sealed class Pumped(IForceField inner, double gammaPerFs, double dtFs) : IForceField
    {
        private double[]? _previous;
        public string Name => "pumped";
        public void Compute(ReadOnlySpan<Species> species, ReadOnlySpan<double> positions, Cell? cell, ForceResult result)
        {
            inner.Compute(species, positions, cell, result);
            if (_previous is not null)
                for (int k = 0; k < positions.Length; k++)
                    result.Forces[k] += gammaPerFs * species[k / 3].Mass * Units.AmuAngstrom2PerFs2InEv * (positions[k] - _previous[k]) / dtFs;
            _previous = positions.ToArray();
        }
    }

    [Fact]
    public void UnderSteadyHeatAChainOfOneHoldsTheTargetAndAChainOfThreeRunsWarm()
    {
        // The first link's equation, averaged over a stationary run, gives ⟨2K⟩ − N_f kT = Q₁⟨v₁v₂⟩ (docs/thermostats.md).
        // Without a second link the mean kinetic energy is the target's whatever heat flows through; with links the
        // flow correlates v₁ and v₂ and the chain settles warm, by at most τP/(N_f k_B) (the offset of links that do not
        // fluctuate).
        const double tau = 200, gamma = 5e-4, dt = 5;
        double Ratio(int chain, out double bound)
        {
            var settings = new MdSettings { TimestepFs = dt, TemperatureK = 100, TauFs = tau, ChainLength = chain };
            var state = Argon(settings);
            var md = new VerletIntegrator(new Pumped(new LennardJones(0.0104, 3.40, 5.9), gamma, dt), state, settings);
            md.Initialise();
            var ke = new List<double>();
            double h0 = 0;
            const int warm = 4000, steps = 80_000;
            for (int s = 0; s < steps; s++)
            {
                md.Step();
                if (s == warm) h0 = md.ConservedEnergy;
                if (s >= warm) ke.Add(md.KineticEnergy);
            }
            double heat = (md.ConservedEnergy - h0) / ((steps - 1 - warm) * dt);   // eV/fs the thermostat took out
            double nfkT = md.DegreesOfFreedom * Units.BoltzmannEvPerK * 100;
            Assert.True(heat > 0.5 * gamma * nfkT, $"chain {chain}: heat out {heat} eV/fs, expected about γ·2K = {gamma * nfkT}");
            // The thermostat's own bound (K, from eV/ps) as a fraction of the target; none for one link.
            double? offset = md.Thermostat!.WarmOffsetBound(heat * 1000);
            Assert.Equal(chain > 1, offset is not null);
            bound = offset is { } k ? k / 100 : double.NaN;
            if (chain > 1) Assert.True(Math.Abs(bound - tau * heat / nfkT) < 1e-12 * bound, $"bound {bound}, τP/(N_f kT) {tau * heat / nfkT}");
            return Mean(ke) / (0.5 * nfkT);
        }
        double one = Ratio(1, out _), three = Ratio(3, out double bound);
        Assert.InRange(one, 0.985, 1.015);
        Assert.True(three - 1 > 0.02, $"chain of 3: ⟨K⟩/target {three}, expected warm (bound {1 + bound})");
        Assert.True(three - 1 < 1.1 * bound, $"chain of 3: ⟨K⟩/target {three}, above the non-fluctuating bound {1 + bound}");
    }

    [Fact]
    public void StepAllocatesNothing()
    {
        var frame = FlexibleWater.Lattice(2, 3);
        var settings = new MdSettings { TimestepFs = 0.25, Massive = true };
        var md = Started(frame, settings, 3);
        for (int s = 0; s < 10; s++) md.Step();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int s = 0; s < 100; s++) md.Step();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void RestartFromCheckpointIsBitIdentical()
    {
        var frame = FlexibleWater.Lattice(2, 8);
        var settings = new MdSettings { TimestepFs = 0.5, TemperatureK = 300, TauFs = 50, ChainLength = 4 };
        var straight = Started(frame, settings, 11);
        for (int s = 0; s < 400; s++) straight.Step();

        var first = Started(frame, settings, 11);
        for (int s = 0; s < 150; s++) first.Step();
        var resumed = ThroughCheckpoint(first, frame);
        Assert.Equal(150, resumed.State.Step);
        while (resumed.State.Step < 400) resumed.Step();

        Assert.True(straight.State.Positions.AsSpan().SequenceEqual(resumed.State.Positions));
        Assert.True(straight.State.Velocities.AsSpan().SequenceEqual(resumed.State.Velocities));
        Assert.True(straight.Thermostat!.Velocities.SequenceEqual(resumed.Thermostat!.Velocities));
        Assert.Equal(straight.ConservedEnergy, resumed.ConservedEnergy);
        Assert.Equal(straight.State.TimeFs, resumed.State.TimeFs);
    }

    [Fact]
    public void RestartOfHeavyWaterKeepsTheDeuteriumMasses()
    {
        // D₂O as CP2K gives it (&KIND H / MASS 2.01410178): symbol H, mass not the table's.
        var water = FlexibleWater.Lattice(2, 8);
        var heavy = water.Species.Select(s => s.Symbol == "H" ? s.WithMass(2.01410178) : s).ToArray();
        var frame = new Frame(heavy, water.Positions, water.Cell);
        var settings = new MdSettings { TimestepFs = 0.5, Thermostat = ThermostatKind.None };
        var straight = Started(frame, settings, 5);
        for (int s = 0; s < 200; s++) straight.Step();
        var first = Started(frame, settings, 5);
        for (int s = 0; s < 100; s++) first.Step();
        var resumed = ThroughCheckpoint(first, frame);
        // Read back as H (1.008 amu) the kinetic energy fell by half at once (a 1 eV step in the CP2K D₂O box).
        Assert.Equal(first.KineticEnergy, resumed.KineticEnergy);
        Assert.Equal(heavy.Select(s => s.Mass), resumed.State.Masses);
        while (resumed.State.Step < 200) resumed.Step();
        Assert.True(straight.State.Positions.AsSpan().SequenceEqual(resumed.State.Positions));
        Assert.Equal(straight.ConservedEnergy, resumed.ConservedEnergy);
    }

    /// <summary>
    /// Flexible water of <paramref name="frame"/> (pair cutoff <paramref name="cutoff"/> Å) started at <paramref name="startK"/>
    /// (Maxwell–Boltzmann from <paramref name="seed"/>), forces computed.
    /// </summary>
    private static VerletIntegrator Started(Frame frame, MdSettings settings, ulong seed, double startK = 300, double cutoff = 2.9)
    {
        var state = MdState.FromFrame(frame, settings.TimestepFs);
        Momentum.MaxwellBoltzmann(state.Masses, state.Velocities, startK, settings.DegreesOfFreedom(state.AtomCount), true, new Xoshiro256(seed));
        var md = new VerletIntegrator(new FlexibleWater(frame, cutoff), state, settings);
        md.Initialise();
        return md;
    }

    /// <summary><paramref name="md"/> written to a checkpoint and read back, as a restart does.</summary>
    private static VerletIntegrator ThroughCheckpoint(VerletIntegrator md, Frame frame)
    {
        using var stream = new MemoryStream();
        Checkpoint.Write(stream, md);
        stream.Position = 0;
        return Checkpoint.Read(stream, new FlexibleWater(frame, 2.9));
    }

    [Fact]
    public void CheckpointRejectsGarbage()
    {
        using var stream = new MemoryStream("not a checkpoint at all"u8.ToArray());
        var e = Assert.Throws<DataException>(() => Checkpoint.Read(stream, new LennardJones(1, 1, 1), "x.chk"));
        Assert.Contains("x.chk", e.Message);
    }
}

/// <summary>A force field that fails on one call, like a remote client that times out.</summary>
internal sealed class FailingForceField(IForceField inner, int failOnCall) : IForceField
{
    private int _calls;
    public string Name => "failing";
    public void Compute(ReadOnlySpan<Species> species, ReadOnlySpan<double> positions, Cell? cell, ForceResult result)
    {
        if (++_calls == failOnCall) throw new DataException("remote client timed out");
        inner.Compute(species, positions, cell, result);
    }
}

public class SimulationLoopTests
{
    private static VerletIntegrator Water(IForceField? ff = null)
    {
        var frame = FlexibleWater.Lattice(2, 8);
        var settings = new MdSettings { TimestepFs = 0.5, TauFs = 50 };
        var state = MdState.FromFrame(frame, settings.TimestepFs);
        Momentum.MaxwellBoltzmann(state.Masses, state.Velocities, 300, settings.DegreesOfFreedom(state.AtomCount), true, new Xoshiro256(2));
        return new VerletIntegrator(ff ?? new FlexibleWater(frame, 2.9), state, settings);
    }

    [Fact]
    public void FailedForceCallLeavesTheStateOfTheLastCompletedStep()
    {
        var frame = FlexibleWater.Lattice(2, 8);
        var md = Water(new FailingForceField(new FlexibleWater(frame, 2.9), failOnCall: 6));
        md.Initialise();
        for (int s = 0; s < 4; s++) md.Step();
        var x = (double[])md.State.Positions.Clone(); var v = (double[])md.State.Velocities.Clone();
        var xi = md.Thermostat!.Velocities.ToArray(); double h = md.ConservedEnergy;
        Assert.Throws<DataException>(md.Step);
        Assert.Equal(4, md.State.Step);
        Assert.True(x.AsSpan().SequenceEqual(md.State.Positions));
        Assert.True(v.AsSpan().SequenceEqual(md.State.Velocities));
        Assert.True(xi.AsSpan().SequenceEqual(md.Thermostat.Velocities));
        Assert.Equal(h, md.ConservedEnergy);
        md.Step(); // and it carries on
        Assert.Equal(5, md.State.Step);
    }

    [Fact]
    public void LoopWritesOnMultiplesOfTheCadenceAndStopsWhenAsked()
    {
        var frames = new List<long>(); var logs = new List<long>(); var checkpoints = new List<long>();
        SimulationLoop? loop = null;
        loop = new SimulationLoop(Water())
        {
            FrameEvery = 4, Frame = m => frames.Add(m.State.Step),
            LogEvery = 3, Log = m => logs.Add(m.State.Step),
            CheckpointEvery = 5, Checkpoint = m => checkpoints.Add(m.State.Step),
            Progress = s => { if (s == 13) loop!.Stop(); },
        };
        Assert.False(loop.Run(20, emitStart: true));
        Assert.Equal(13, loop.Integrator.State.Step);
        Assert.Equal([0L, 4, 8, 12], frames);
        Assert.Equal([0L, 3, 6, 9, 12], logs);
        Assert.Equal([5L, 10], checkpoints);
        var line = SimulationLoop.ThermoLine(loop.Integrator).Split(',');
        Assert.Equal(SimulationLoop.ThermoHeader.Split(',').Length, line.Length);
        Assert.Equal("13", line[0]);
        Assert.Equal(6.5, double.Parse(line[1], System.Globalization.CultureInfo.InvariantCulture));
    }
}
