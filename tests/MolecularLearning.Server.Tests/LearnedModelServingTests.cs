using MolecularLearning.Cp2k;
using MolecularLearning.Learning;

namespace MolecularLearning.Server.Tests;

/// <summary>DescribeModel says which backend evaluates the served model and at what vector width.</summary>
public sealed class LearnedModelServingTests
{
    private static LearnedModel SmallModel()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !Directory.Exists(Path.Combine(dir.FullName, "tests", "data", "water32-pbe-sample"))) dir = dir.Parent;
        var run = Path.Combine(dir?.FullName ?? throw new DirectoryNotFoundException("tests/data/water32-pbe-sample"), "tests", "data", "water32-pbe-sample");
        return ModelFitter.Fit(Cp2kRun.Read(run).Frames, FitOptions.Default with { HoldoutFraction = 0, ValidationFraction = 0, Stride = 1 }).Model;
    }

    [Fact]
    public void The_description_names_the_backend_and_its_width()
    {
        var model = SmallModel();
        var reference = LearnedModelServing.ToServedModel(model, "m.json", BackendChoice.Reference).Description;
        Assert.Equal(("reference", 0u), (reference.Backend, reference.VectorBits));
        var auto = LearnedModelServing.ToServedModel(model, "m.json", BackendChoice.Auto).Description;
        var local = model.CreateForceField(BackendChoice.Auto).Backend;
        Assert.Equal((local.Name, (uint)local.VectorBits), (auto.Backend, auto.VectorBits));
        Assert.Equal(local.VectorBits > 0 ? "simd" : "reference", auto.Backend);
    }
}
