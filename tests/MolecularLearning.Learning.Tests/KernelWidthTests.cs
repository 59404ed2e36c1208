using MolecularLearning.Core;
using MolecularLearning.Learning;
using MolecularLearning.Learning.Tests.Conformance;
using MolecularLearning.Learning.Tests.Export;

namespace MolecularLearning.Learning.Tests;

/// <summary>
/// The fast kernel at each vector width it is written for (512, 256, 128 bits, forced through
/// <see cref="SortedGaussianKernel.TryCreate"/>) against the scalar generic path with exact Gaussians, and the narrow
/// widths against 512: the recipes' bases (agent default, conservative default, accurate preset), both modes, orders 1
/// and 2, on the shipped 32-water box and a small triclinic cell. A width the CPU does not accelerate is skipped with
/// the reason (run the suite also under DOTNET_EnableAVX512=0 and DOTNET_EnableAVX2=0); without AVX-512, the 512-bit
/// kernel runs in software vectors instead (<see cref="Backends.Software512"/>), and the narrow widths are held to it.
/// </summary>
public class KernelWidthTests
{

    public static IEnumerable<object[]> Cases()
    {
        foreach (int bits in Backends.CaseWidths)
            foreach (var recipe in new[] { "default", "conservative", "accurate" })
                foreach (var mode in new[] { "agent", "conservative" })
                    foreach (int order in new[] { 1, 2 })
                        yield return [bits, recipe, mode, order];
    }

    /// <summary>The three shipped recipes' invariants by name (also the mixed-precision tests' cases).</summary>
    internal static InvariantOptions Recipe(string name) => name switch
    {
        "default" => FitOptions.Default.Invariants,
        "conservative" => FitOptions.DefaultConservative.Invariants,
        "accurate" => FitOptions.Accurate.Invariants,
        _ => throw new ArgumentException(name),
    };

    private static void SkipUnlessAccelerated(int bits) =>
        Skip.IfNot(bits < 0 || SortedGaussianKernel.IsAccelerated(bits), $"{bits}-bit vectors are not hardware-accelerated here (widest: {SortedGaussianKernel.WidestAcceleratedBits})");

    /// <summary>0: the scalar path; negative: that width in software vectors (<see cref="Backends.Simd"/>).</summary>
    private static ForceResult Evaluate(LearnedModel model, Frame frame, int bits) =>
        Backends.Run(bits == 0 ? Backends.Reference(model) : Backends.Simd(model, bits), frame);

    /// <summary>The 512-bit kernel the narrow widths are held to: in hardware, else in software vectors.</summary>
    private static int Wide => SortedGaussianKernel.IsAccelerated(512) ? 512 : Backends.Software512;

    private static IEnumerable<Frame> Frames() =>
        [ExportTestModels.WaterBox(jiggle: 0.2), Synthetic.Water(5, Synthetic.Triclinic, seed: 3, jitter: 0.15)];

    /// <summary>Each width against the scalar path to 1e-12; 256 and 128 against 512 (when accelerated) to 1e-13.</summary>
    private static void AssertWidthAgrees(LearnedModel model, int bits)
    {
        var kernel = SortedGaussianKernel.Create(model, Math.Abs(bits), mixed: false, softwareVectors: bits < 0);
        Assert.NotNull(kernel);
        Assert.Equal(Math.Abs(bits), kernel.VectorBits);
        foreach (var frame in Frames())
        {
            var fast = Evaluate(model, frame, bits);
            Backends.AssertAgree(Evaluate(model, frame, 0), fast);
            if (Math.Abs(bits) != 512) Backends.AssertAgree(Evaluate(model, frame, Wide), fast, 1e-13);
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void WidthAgreesWithTheScalarPath(int bits, string recipe, string modeName, int order)
    {
        SkipUnlessAccelerated(bits);
        var model = Synthetic.RandomModel(Recipe(recipe), order, Backends.Mode(modeName), seed: 51, walls: Backends.Walls, bounds: order == 2);
        AssertWidthAgrees(model, bits);
    }

    /// <summary>The accurate preset as fitted (angular family linear: zero rows of C, the compacted C I and the skipped angular sums).</summary>
    [SkippableTheory]
    [InlineData(512)]
    [InlineData(256)]
    [InlineData(128)]
    [InlineData(Backends.Software512)]
    public void FittedAccuratePresetAgreesAtEachWidth(int bits)
    {
        SkipUnlessAccelerated(bits);
        var basis = FitOptions.Accurate.Invariants;
        var truth = Synthetic.RandomModel(basis, 2, ForceMode.Conservative, seed: 43, walls: Backends.Walls);
        var fitted = ModelFitter.Fit(Synthetic.Labelled(truth, 4, seed: 600), FitOptions.Accurate with
        {
            Ridge = 1e-8, Stride = 1, HoldoutFraction = 0, ValidationFraction = 0,
        }).Model;
        AssertWidthAgrees(fitted, bits);
    }

    [Fact]
    public void TheWidestAcceleratedWidthIsTheDefault()
    {
        var model = Synthetic.RandomModel(FitOptions.Default.Invariants, 2, ForceMode.Agent, seed: 1);
        int widest = SortedGaussianKernel.WidestAcceleratedBits;
        Assert.Equal(widest, SortedGaussianKernel.TryCreate(model)?.VectorBits ?? 0);
        foreach (int bits in Backends.Widths)
            Assert.Equal(SortedGaussianKernel.IsAccelerated(bits), SortedGaussianKernel.TryCreate(model, bits) is not null);
        Assert.Throws<ArgumentOutOfRangeException>(() => SortedGaussianKernel.TryCreate(model, 64));
    }

    [Fact]
    public void UnsupportedSaysWhy()
    {
        foreach (var recipe in new[] { "default", "conservative", "accurate" })
            Assert.Null(SortedGaussianKernel.Unsupported(Synthetic.RandomModel(Recipe(recipe), 2, ForceMode.Agent, seed: 1)));
        var inverse = Synthetic.RandomModel(Synthetic.Families().Single(f => f.Name == "inverse").Options, 2, ForceMode.Agent, seed: 1);
        Assert.Contains("InversePower", SortedGaussianKernel.Unsupported(inverse));
        Assert.Null(SortedGaussianKernel.TryCreate(inverse, 128));
        var uneven = new InvariantOptions { RadialCutoff = 4, Radial = [RadialBasisFunction.Gaussian(1, 0.5), RadialBasisFunction.Gaussian(2, 0.5), RadialBasisFunction.Gaussian(2.5, 0.5)] };
        Assert.Contains("evenly spaced", SortedGaussianKernel.Unsupported(Synthetic.RandomModel(uneven, 2, ForceMode.Agent, seed: 1)));
    }
}
