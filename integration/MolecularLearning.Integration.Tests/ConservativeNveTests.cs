using MolecularLearning.Core;
using MolecularLearning.Cp2k;
using MolecularLearning.Dynamics;
using MolecularLearning.Learning;
using Xunit.Abstractions;

namespace MolecularLearning.Integration.Tests;

/// <summary>
/// Conservative mode conserves energy in NVE on water only with smooth invariants: the conservative default
/// (smooth shells) against the earlier conservative basis with sorted distances and sorted angles, both fitted on
/// the shipped CP2K sample and run from its last frame with CP2K's velocities.
/// </summary>
public sealed class ConservativeNveTests(ITestOutputHelper output)
{
    private const int Steps = 400; // 200 fs at 0.5 fs

    /// <summary>Largest |E(t) − E(0)| of the conserved energy (eV) over a short NVE run, and the mean kinetic energy.</summary>
    private static (double MaxDeviation, double MeanKinetic) Nve(IReadOnlyList<Frame> frames, FitOptions options)
    {
        // Every 20th frame of the first 80% (40 frames) keeps the fit to a few seconds.
        var model = ModelFitter.Fit(frames, options with { Stride = 20 }).Model;
        var state = MdState.FromFrame(frames[^1], 0.5);
        var md = new VerletIntegrator(model.CreateForceField(), state, new MdSettings { TimestepFs = 0.5, Thermostat = ThermostatKind.None });
        md.Initialise();
        double e0 = md.ConservedEnergy, max = 0, kinetic = 0;
        for (int s = 0; s < Steps; s++)
        {
            md.Step();
            max = Math.Max(max, Math.Abs(md.ConservedEnergy - e0));
            kinetic += md.KineticEnergy / Steps;
        }
        return (max, kinetic);
    }

    [Fact]
    public void SmoothConservativeDefaultConservesEnergyWhereSortedAnglesDoNot()
    {
        var frames = FrameSource.Load(Path.Combine(Peers.RepoRoot, "samples", "water32-xtb"));
        Assert.True(frames[^1].Velocities is not null, "the sample's last frame should carry CP2K's velocities");
        // Verlet's bounded wiggle at 0.5 fs is ~0.01 eV here (0.3% of the kinetic energy); rank swaps add jumps.
        const double bound = 0.02;
        var smooth = Nve(frames, FitOptions.DefaultConservative);
        output.WriteLine($"smooth shells: max |E − E0| {smooth.MaxDeviation:0.0000} eV, mean KE {smooth.MeanKinetic:0.00} eV");
        Assert.True(smooth.MaxDeviation < bound, $"smooth shells: conserved energy moved {smooth.MaxDeviation:0.0000} eV (KE {smooth.MeanKinetic:0.00} eV)");
        // The conservative basis recommended before the shells: sorted angles jump in value when neighbours swap rank.
        var sorted = Nve(frames, FitOptions.DefaultConservative with
        {
            Invariants = InvariantOptions.Parse("sorted:O4:H8+gauss:6:0.8:5.5+angles:3:H1H2:O1H1:O1O2", FitOptions.DefaultCutoff),
        });
        output.WriteLine($"sorted angles: max |E − E0| {sorted.MaxDeviation:0.0000} eV");
        Assert.True(sorted.MaxDeviation > bound, $"sorted angles: conserved energy moved only {sorted.MaxDeviation:0.0000} eV");
    }

    [Fact]
    public void FitInConservativeModeWithoutABasisTakesTheSmoothDefault()
    {
        var dir = Directory.CreateTempSubdirectory("mld-conservative-").FullName;
        try
        {
            var sample = Path.Combine(Peers.RepoRoot, "samples", "water32-xtb");
            string Fit(string name, params string[] extra)
            {
                var path = Path.Combine(dir, name);
                var r = Peers.Mld(["fit", sample, "-o", path, "--stride", "40", .. extra], TimeSpan.FromMinutes(2));
                Assert.True(r.ExitCode == 0, r.StdOut + r.StdErr);
                return path;
            }
            var smooth = LearnedModel.Load(Fit("smooth.json", "--mode", "conservative"));
            Assert.Equal(ForceMode.Conservative, smooth.Mode);
            Assert.Equal(FitOptions.DefaultConservative.Invariants.Shells.Count, smooth.Invariants.Options.Shells.Count);
            Assert.Equal(FitOptions.DefaultConservative.Invariants.CutoffPower, smooth.Invariants.Options.CutoffPower);
            Assert.Equal(0.005, smooth.Losses[0].Bounds!.Strength);
            // An explicit basis is taken as given, with the ordinary range walls.
            var given = LearnedModel.Load(Fit("given.json", "--mode", "conservative", "--basis", "gauss:4:0.8:5"));
            Assert.Empty(given.Invariants.Options.Shells);
            Assert.Equal(2, given.Invariants.Options.CutoffPower);
            Assert.Equal(FitOptions.Default.RangeWallStrength, given.Losses[0].Bounds!.Strength);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
