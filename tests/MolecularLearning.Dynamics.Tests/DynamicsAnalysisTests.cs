using System.Diagnostics;
using System.Globalization;
using System.Text;
using MolecularLearning.Core;
using MolecularLearning.Dynamics.Analysis;

namespace MolecularLearning.Dynamics.Tests;

public class DynamicsAnalysisTests
{
    private static double Omega(double cm1) => 2 * Math.PI * Spectra.LightCmPerFs * cm1; // rad/fs

    /// <summary>
    /// Independent harmonic oscillators: H atoms at <paramref name="bendCm1"/> and <paramref name="stretchCm1"/>
    /// (random phases and axes), O atoms at rest, exact positions and velocities every <paramref name="dtFs"/>.
    /// </summary>
    private static List<Frame> Oscillators(double stretchCm1, double bendCm1, double dtFs, int frames, bool withVelocities)
    {
        var rng = new Random(7);
        int pairs = 8;
        var species = new List<Species>();
        var centre = new List<Vec3>(); var axis = new List<Vec3>(); var omega = new List<double>(); var phase = new List<double>();
        for (int k = 0; k < 2 * pairs; k++)
        {
            species.Add(Elements.H);
            centre.Add(new Vec3(rng.NextDouble() * 10, rng.NextDouble() * 10, rng.NextDouble() * 10));
            var a = new Vec3(rng.NextDouble() - 0.5, rng.NextDouble() - 0.5, rng.NextDouble() - 0.5);
            axis.Add((1 / a.Norm()) * a);
            omega.Add(Omega(k % 2 == 0 ? stretchCm1 : bendCm1));
            phase.Add(rng.NextDouble() * 2 * Math.PI);
        }
        for (int k = 0; k < 4; k++) { species.Add(Elements.O); centre.Add(new Vec3(2 * k + 1, 5, 5)); axis.Add(new Vec3(1, 0, 0)); omega.Add(0); phase.Add(0); }
        var result = new List<Frame>();
        const double amplitude = 0.05; // Å
        for (int f = 0; f < frames; f++)
        {
            double t = f * dtFs;
            var x = new double[3 * species.Count]; var v = new double[3 * species.Count];
            for (int i = 0; i < species.Count; i++)
            {
                (centre[i] + amplitude * Math.Cos(omega[i] * t + phase[i]) * axis[i]).To(x, i);
                (-amplitude * omega[i] * Math.Sin(omega[i] * t + phase[i]) * axis[i]).To(v, i);
            }
            result.Add(new Frame([.. species], x, Cell.Orthorhombic(10, 10, 10)) { Time = t, Velocities = withVelocities ? v : null });
        }
        return result;
    }

    [Theory]
    [InlineData(0.5, true)]
    [InlineData(2.0, true)]
    [InlineData(1.0, false)]
    public void HarmonicOscillatorFrequenciesAreRecovered(double dtFs, bool withVelocities)
    {
        const double stretch = 3657, bend = 1595; // deliberately off the spectrum's bins
        var frames = Oscillators(stretch, bend, dtFs, (int)(3000 / dtFs), withVelocities);
        var d = DynamicsAnalysis.TryAnalyse(frames, out var reason);
        Assert.Null(reason);
        Assert.NotNull(d);
        Assert.Equal(withVelocities ? "trajectory" : "finite differences", d.VelocitySource);
        var h = d.Vdos["H"];
        Assert.InRange(h.StretchCm1, stretch * 0.995, stretch * 1.005);
        Assert.InRange(h.BendCm1, bend * 0.995, bend * 1.005);
        Assert.Equal(1.0, h.Vacf[0], 12);
        // Unit area over 0..Nyquist; the spectrum is returned up to 4500 cm⁻¹, which holds (nearly) all of it here
        // (the Hann kernel's small negative side lobes beyond let the part slightly exceed 1).
        double area = h.Spectrum.Intensity.Sum() * h.Spectrum.Spacing;
        Assert.InRange(area, 0.99, 1.01);
    }

    [Fact]
    public void PeakIsRefinedBetweenBins()
    {
        // A parabola sampled on 10 cm⁻¹ bins with its top at 1234.5: the interpolation is exact.
        var x = Enumerable.Range(0, 300).Select(j => j * 10.0).ToArray();
        var y = x.Select(v => 100 - (v - 1234.5) * (v - 1234.5) / 1e3).ToArray();
        Assert.Equal(1234.5, Spectra.Peak(new Spectrum(x, y), 1200, 1900), 9);
        // The highest point on the window's edge is no peak.
        Assert.True(double.IsNaN(Spectra.Peak(new Spectrum(x, y), 1500, 1900)));
    }

    [Fact]
    public void FreeParticlesAreBallisticAcrossTheCellWalls()
    {
        // Constant velocities in a 5 Å box, positions wrapped: MSD(τ) = ⟨v²⟩ τ² exactly once unwrapped.
        var rng = new Random(3);
        int atoms = 6, frames = 400;
        double dt = 2, box = 5;
        var cell = Cell.Orthorhombic(box, box, box);
        var v0 = Enumerable.Range(0, 3 * atoms).Select(_ => (rng.NextDouble() - 0.5) * 0.1).ToArray(); // up to 0.1 Å per frame
        var x0 = Enumerable.Range(0, 3 * atoms).Select(_ => rng.NextDouble() * box).ToArray();
        var list = new List<Frame>();
        for (int f = 0; f < frames; f++)
        {
            var x = x0.Select((p, k) => p + v0[k] * f * dt).ToArray();
            cell.Wrap(x);
            list.Add(new Frame(Enumerable.Repeat(Elements.O, atoms).ToArray(), x, cell) { Time = f * dt });
        }
        var unwrapped = Diffusion.Unwrap(list, removeDrift: false);
        var msd = Diffusion.MeanSquaredDisplacement(unwrapped, Enumerable.Range(0, atoms).ToList(), 300);
        double v2 = v0.Sum(v => v * v) / atoms;
        foreach (int k in new[] { 1, 10, 100, 300 })
            Assert.Equal(v2 * (k * dt) * (k * dt), msd[k], 1e-9 * v2 * (k * dt) * (k * dt));
        Assert.True(v2 * 300 * dt * 300 * dt > box * box, "the test must cross the walls");
        // A common drift of the whole system is no diffusion.
        var drifting = Enumerable.Range(0, frames).Select(f =>
        {
            var x = x0.Select((p, k) => p + v0[k % 3] * f * dt).ToArray();
            cell.Wrap(x);
            return new Frame(Enumerable.Repeat(Elements.O, atoms).ToArray(), x, cell) { Time = f * dt };
        }).ToList();
        var still = Diffusion.MeanSquaredDisplacement(Diffusion.Unwrap(drifting), Enumerable.Range(0, atoms).ToList(), 300);
        Assert.True(still[300] < 1e-18, $"drift left an MSD of {still[300]}");
    }

    private static double[][] RandomWalk(int seed, int atoms, int frames, double sigma)
    {
        var rng = new Random(seed);
        double Gaussian() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        var u = new double[frames][];
        u[0] = new double[3 * atoms];
        for (int f = 1; f < frames; f++)
        {
            u[f] = new double[3 * atoms];
            for (int c = 0; c < 3 * atoms; c++) u[f][c] = u[f - 1][c] + sigma * Gaussian();
        }
        return u;
    }

    [Theory]
    [InlineData(1500, "molecule groups", 4)]  // 2 stretches of 600 frames: too few, the error comes from groups of atoms
    [InlineData(3000, "time blocks", 5)]      // 5 stretches of 600 frames
    public void RandomWalkDiffusionIsRecoveredWithinItsError(int frames, string errorFrom, int blocks)
    {
        // Gaussian steps of σ per component per frame: D = σ² / (2 Δt).
        const double sigma = 0.05, dt = 1, expected = sigma * sigma / (2 * dt) * 1000; // Å²/ps
        int atoms = 32;
        var species = Enumerable.Repeat(Elements.O, atoms).ToArray();
        var estimates = new List<DiffusionCoefficient>();
        for (int seed = 1; seed <= 24; seed++)
            estimates.Add(Diffusion.Coefficient(RandomWalk(seed, atoms, frames, sigma), species, "O", dt, fromFs: 100, toFs: 300));
        var first = estimates[0];
        Assert.Equal(errorFrom, first.ErrorFrom);
        Assert.Equal(blocks, first.Blocks);
        Assert.True(first.Error > 0);
        // Within 3 errors: from 4–5 blocks the error is itself uncertain by about a third.
        Assert.InRange(first.Value, expected - 3 * first.Error, expected + 3 * first.Error);
        // The error bar means what it says: the spread of 24 independent walks matches the mean reported error.
        var spread = MeanStd.Of(estimates.Select(e => e.Value).ToArray());
        double meanError = estimates.Average(e => e.Error);
        Assert.InRange(spread.Std / meanError, 0.5, 2.0);
        Assert.True(Math.Abs(spread.Mean - expected) < 3 * spread.Std / Math.Sqrt(estimates.Count),
            $"mean of {estimates.Count} walks {spread.Mean:0.0000} ± {spread.Std / Math.Sqrt(estimates.Count):0.0000}, expected {expected}; "
            + string.Join(" ", estimates.Select(e => e.Value.ToString("0.000", CultureInfo.InvariantCulture))));
    }

    [Fact]
    public void TooShortOrUnevenTrajectoriesSayWhy()
    {
        var frames = Oscillators(3600, 1600, 1, 200, true);
        frames[100].Time += 0.5;
        Assert.Null(DynamicsAnalysis.TryAnalyse(frames, out var reason));
        Assert.Contains("frame 100", reason);
        var untimed = Oscillators(3600, 1600, 1, 200, true);
        foreach (var f in untimed) f.Time = null;
        Assert.Null(DynamicsAnalysis.TryAnalyse(untimed, out reason));
        Assert.Contains("no time", reason);
        // Coarse frames cannot show the stretch: no peak, and the note says why.
        var coarse = DynamicsAnalysis.TryAnalyse(Oscillators(3600, 1600, 5, 600, true), out reason);
        Assert.NotNull(coarse);
        Assert.True(double.IsNaN(coarse.Vdos["H"].StretchCm1), $"aliased stretch reported at {coarse.Vdos["H"].StretchCm1}");
        Assert.True(double.IsNaN(coarse.Vdos["H"].BendCm1));
        Assert.Contains("Nyquist", coarse.Note);
    }

    /// <summary>
    /// The VACF (FFT over every origin) and MSD (unwrapped, drift removed) against plain numpy loops over
    /// the same wrapped trajectory: a random walk with oscillations in a small periodic box.
    /// </summary>
    [Fact]
    public void VacfAndMsdMatchAnIndependentNumpyComputation()
    {
        int atoms = 9, frames = 120;
        double dt = 0.5, box = 4;
        var cell = Cell.Orthorhombic(box, box + 1, box + 2);
        var species = Enumerable.Range(0, atoms).Select(i => i % 3 == 0 ? Elements.O : Elements.H).ToArray();
        var walk = RandomWalk(11, atoms, frames, 0.08);
        var list = new List<Frame>();
        var text = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        for (int f = 0; f < frames; f++)
        {
            var x = walk[f].Select((p, c) => p + 0.1 * Math.Sin(0.3 * f + c)).ToArray();
            var v = walk[f].Select((p, c) => Math.Cos(0.7 * f * dt + c) + 0.01 * p).ToArray();
            cell.Wrap(x);
            list.Add(new Frame(species, x, cell) { Time = f * dt, Velocities = v });
            text.AppendLine(string.Join(' ', x.Concat(v).Select(n => n.ToString("R", inv))));
        }
        string dir = Directory.CreateTempSubdirectory("mld-dyn-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "traj.txt"), text.ToString());
            string script = """
                import sys, numpy as np
                d = np.loadtxt(sys.argv[1]); n = int(sys.argv[2]); box = np.array([4.0, 5.0, 6.0])
                x = d[:, :3*n].reshape(len(d), n, 3); v = d[:, 3*n:].reshape(len(d), n, 3)
                mass = np.array([15.9994 if i % 3 == 0 else 1.00794 for i in range(n)])
                step = np.diff(x, axis=0); step -= box * np.round(step / box)
                u = np.concatenate([x[:1], x[0] + np.cumsum(step, axis=0)])
                com = (u * mass[None, :, None]).sum(1) / mass.sum()
                u = u - (com - com[0])[:, None, :]
                h = [i for i in range(n) if i % 3]; o = [i for i in range(n) if i % 3 == 0]
                T = len(d)
                for k in range(0, 40):
                    acc = 0.0; cnt = 0
                    for t0 in range(T - k):
                        acc += float(np.sum(v[t0, h] * v[t0 + k, h])); cnt += 1
                    msd = 0.0; m = 0
                    for t0 in range(T - k):
                        msd += float(np.sum((u[t0 + k, o] - u[t0, o]) ** 2)); m += len(o)
                    print(k, repr(acc / cnt / (3 * len(h))), repr(msd / m if k else 0.0))
                """;
            File.WriteAllText(Path.Combine(dir, "hand.py"), script);
            var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add(Path.Combine(dir, "hand.py")); psi.ArgumentList.Add(Path.Combine(dir, "traj.txt")); psi.ArgumentList.Add(atoms.ToString(inv));
            using var p = Process.Start(psi)!;
            string stdout = p.StandardOutput.ReadToEnd(), stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, "python3 (numpy) failed: " + stderr);

            var hSeries = new List<double[]>();
            for (int i = 0; i < atoms; i++)
                if (i % 3 != 0) for (int c = 0; c < 3; c++) hSeries.Add(list.Select(fr => fr.Velocities![3 * i + c]).ToArray());
            var vacf = Spectra.Autocorrelation(hSeries, 39);
            var msd = Diffusion.MeanSquaredDisplacement(Diffusion.Unwrap(list), Enumerable.Range(0, atoms).Where(i => i % 3 == 0).ToList(), 39);
            var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(40, lines.Length);
            foreach (var line in lines)
            {
                var parts = line.Split(' ');
                int k = int.Parse(parts[0], inv);
                double c = double.Parse(parts[1], inv), m = double.Parse(parts[2], inv);
                Assert.Equal(c, vacf[k], 1e-10 * Math.Max(1, Math.Abs(c)));
                if (k > 0) Assert.Equal(m, msd[k], 1e-10 * Math.Max(1, m));
            }
            Assert.True(msd[39] > 0.2, "the walk must move far enough to cross the walls");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
