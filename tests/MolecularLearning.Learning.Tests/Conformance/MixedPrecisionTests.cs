using MolecularLearning.Core;
using MolecularLearning.Learning;
using MolecularLearning.Learning.Tests.Export;
using Xunit.Abstractions;

namespace MolecularLearning.Learning.Tests.Conformance;

/// <summary>
/// <see cref="Precision.Mixed"/> against double on the same SIMD width: forces within 1e-6 of the rms force (rms of the
/// difference over the rms force, and the largest component difference within 1e-5 of it), energy per atom within
/// 1e-6 of the rms force × 1 Å (the work of a force error that size over an ångström), virial within 1e-6 of its largest
/// component. The recipes' bases (agent default, conservative default, accurate preset), both modes, orders 1 and 2, on
/// the shipped 96-atom box and a triclinic cell under a cutoff above half the box (replicas). Mixed is not exact, so no
/// finite-difference check here; the double path keeps its own (bit-identical to before: Precision.Double is the default).
/// </summary>
public class MixedPrecisionTests(ITestOutputHelper output)
{
    private static ForceResult Evaluate(LearnedModel model, Frame frame, int bits, Precision precision) =>
        Backends.Run(Backends.Simd(model, bits, precision: precision), frame);

    private static double Rms(IEnumerable<double> x) => Math.Sqrt(x.Select(v => v * v).Average());

    [SkippableTheory]
    [MemberData(nameof(KernelWidthTests.Cases), MemberType = typeof(KernelWidthTests))]
    public void MixedAgreesWithDoubleToTheTarget(int bits, string recipe, string modeName, int order)
    {
        var model = Synthetic.RandomModel(KernelWidthTests.Recipe(recipe), order, Backends.Mode(modeName), seed: 51, walls: Backends.Walls, bounds: order == 2);
        Frame[] frames = [ExportTestModels.WaterBox(jiggle: 0.2), Synthetic.Water(5, Synthetic.Triclinic, seed: 3, jitter: 0.15)];
        foreach (var frame in frames)
        {
            var want = Evaluate(model, frame, bits, Precision.Double);
            var got = Evaluate(model, frame, bits, Precision.Mixed);
            double fRms = Rms(want.Forces);
            Assert.True(fRms > 1e-3, "forces should not vanish");
            double dRms = Rms(want.Forces.Zip(got.Forces, (a, b) => a - b));
            double dMax = want.Forces.Zip(got.Forces, (a, b) => Math.Abs(a - b)).Max();
            double dEnergy = Math.Abs(want.Energy - got.Energy) / frame.AtomCount;
            double wScale = want.Virial.ToArray().Max(Math.Abs);
            double dVirial = want.Virial.ToArray().Zip(got.Virial.ToArray(), (a, b) => Math.Abs(a - b)).Max();
            output.WriteLine($"{frame.AtomCount} atoms: rms dF / rms F = {dRms / fRms:e2}, max dF / rms F = {dMax / fRms:e2}, " +
                $"dE per atom / (rms F · 1 Å) = {dEnergy / fRms:e2}, dW / max W = {dVirial / wScale:e2}");
            Assert.NotEqual(want.Forces, got.Forces); // mixed really runs another path
            Assert.True(dRms <= 1e-6 * fRms, $"{frame.AtomCount} atoms: rms force difference {dRms:e3} against rms force {fRms:e3}");
            Assert.True(dMax <= 1e-5 * fRms, $"{frame.AtomCount} atoms: largest force difference {dMax:e3} against rms force {fRms:e3}");
            Assert.True(dEnergy <= 1e-6 * fRms, $"{frame.AtomCount} atoms: energy difference per atom {dEnergy:e3} eV against rms force {fRms:e3} eV/Å");
            Assert.True(dVirial <= 1e-6 * wScale, $"{frame.AtomCount} atoms: virial difference {dVirial:e3} against {wScale:e3}");
        }
    }

    [Fact]
    public void MixedOnTheReferenceBackendIsRefused()
    {
        var model = Synthetic.RandomModel(FitOptions.Default.Invariants, 2, ForceMode.Agent, seed: 1);
        var e = Assert.Throws<DataException>(() => new LearnedForceField(model, 0.3, 1, BackendChoice.Reference, Precision.Mixed));
        Assert.Contains("--precision mixed needs the simd backend", e.Message);
        Assert.Equal("double", new LearnedForceField(model, 0.3, 1, BackendChoice.Reference, Precision.Double).Backend.Precision);
        Assert.Equal(Precision.Mixed, Precisions.Parse(" Mixed "));
        Assert.Contains("double|mixed", Assert.Throws<DataException>(() => Precisions.Parse("half", "--precision")).Message);
    }
}
