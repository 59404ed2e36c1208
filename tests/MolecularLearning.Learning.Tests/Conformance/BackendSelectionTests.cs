using MolecularLearning.Core;
using MolecularLearning.Learning;

namespace MolecularLearning.Learning.Tests.Conformance;

/// <summary>Which backend a model gets: Auto takes Simd for the kernel's families and says why when it cannot; Simd refuses with the reason.</summary>
public class BackendSelectionTests
{
    private static LearnedModel Model(InvariantOptions options) => Synthetic.RandomModel(options, 2, ForceMode.Agent, seed: 1);

    [Theory]
    [InlineData("auto", BackendChoice.Auto)]
    [InlineData(" Reference", BackendChoice.Reference)]
    [InlineData("SIMD", BackendChoice.Simd)]
    public void ChoicesParse(string text, BackendChoice want) => Assert.Equal(want, BackendChoices.Parse(text));

    [Fact]
    public void AnUnknownChoiceIsAnError() =>
        Assert.Contains("auto|reference|simd", Assert.Throws<DataException>(() => BackendChoices.Parse("gpu")).Message);

    [Fact]
    public void ReferenceIsAlwaysReference()
    {
        var ff = Model(InvariantOptions.Parse(FitOptions.DefaultBasis, FitOptions.DefaultCutoff)).CreateForceField(BackendChoice.Reference);
        Assert.Equal(new BackendInfo("reference", 0), ff.Backend);
        Assert.Null(ff.BackendNote);
    }

    public static IEnumerable<object[]> KernelBases() =>
        new[] { FitOptions.DefaultBasis, FitOptions.DefaultConservativeBasis, FitOptions.AccurateBasis, FitOptions.DefaultConservativeBasis + "+angular:2" }
            .Concat(Enumerable.Range(2, 7).Select(p => FitOptions.DefaultBasis + $"+fc:{p}")) // any cutoff power
            .Select(b => new object[] { b });

    [SkippableTheory]
    [MemberData(nameof(KernelBases))]
    public void AutoTakesSimdForTheKernelsFamilies(string basis)
    {
        var model = Model(InvariantOptions.Parse(basis, FitOptions.DefaultCutoff));
        Assert.Null(SortedGaussianKernel.Unsupported(model));
        Skip.If(SortedGaussianKernel.TryCreate(model, 0) is null, "no SIMD kernel on this machine");
        var ff = model.CreateForceField(BackendChoice.Auto);
        Assert.Equal("simd", ff.Backend.Name);
        Assert.True(ff.Backend.VectorBits >= 128);
        Assert.Null(ff.BackendNote);
    }

    /// <summary>Families or bases outside the kernel: inverse powers, Gaussians that are not one even ladder, angular inverse powers.</summary>
    public static IEnumerable<object[]> OtherBases()
    {
        yield return ["inverse"];
        yield return ["all"];
        yield return ["uneven widths"];
        yield return ["uneven spacing"];
        yield return ["angular inverse power"];
        yield return ["shells+inv"];
    }

    private static InvariantOptions Other(string name) => name switch
    {
        "inverse" or "all" => Synthetic.Families().Single(f => f.Name == name).Options,
        "uneven widths" => new InvariantOptions { RadialCutoff = 4, Radial = [RadialBasisFunction.Gaussian(1, 0.3), RadialBasisFunction.Gaussian(2, 0.5)] },
        "uneven spacing" => new InvariantOptions { RadialCutoff = 4, Radial = [RadialBasisFunction.Gaussian(1, 0.5), RadialBasisFunction.Gaussian(2, 0.5), RadialBasisFunction.Gaussian(2.5, 0.5)] },
        "angular inverse power" => new InvariantOptions { AngularDegree = 2, AngularCutoff = 3, AngularRadial = [RadialBasisFunction.Gaussian(1, 0.3), RadialBasisFunction.InversePower(2)] },
        _ => InvariantOptions.Parse(FitOptions.DefaultConservativeBasis + "+inv:2", FitOptions.DefaultCutoff),
    };

    [SkippableTheory]
    [MemberData(nameof(OtherBases))]
    public void OtherBasesTakeReferenceAndSaySo(string name)
    {
        Skip.If(SortedGaussianKernel.TryCreate(Model(InvariantOptions.Parse(FitOptions.DefaultBasis, 6)), 0) is null,
            "no SIMD kernel on this machine: the reason would be the hardware, not the basis");
        var model = Model(Other(name));
        Assert.NotNull(SortedGaussianKernel.Unsupported(model));
        var ff = model.CreateForceField(BackendChoice.Auto);
        Assert.Equal(new BackendInfo("reference", 0), ff.Backend);
        Assert.StartsWith("backend auto: reference", ff.BackendNote);
        Assert.Contains("does not compute this model", ff.BackendNote);
        var e = Assert.Throws<DataException>(() => model.CreateForceField(BackendChoice.Simd));
        Assert.StartsWith("backend simd: the SIMD kernel does not compute this model", e.Message);
    }

    [SkippableFact]
    public void SimdWithoutTheHardwareIsAnErrorAndAutoSaysWhy()
    {
        var model = Model(InvariantOptions.Parse(FitOptions.DefaultBasis, FitOptions.DefaultCutoff));
        int missing = Backends.Widths.FirstOrDefault(b => SortedGaussianKernel.TryCreate(model, b) is null);
        Skip.If(missing == 0, "every SIMD width is available here");
        var e = Assert.Throws<DataException>(() => new LearnedForceField(model, 0.5, 1, BackendChoice.Simd, missing, tabulatedRadial: true));
        Assert.Equal($"backend simd: no {missing}-bit SIMD on this machine; use --backend reference or auto", e.Message);
        var auto = new LearnedForceField(model, 0.5, 1, BackendChoice.Auto, missing, tabulatedRadial: true);
        Assert.Equal("reference", auto.Backend.Name);
        Assert.Contains($"no {missing}-bit SIMD", auto.BackendNote);
    }
}
