using System.Runtime.Intrinsics;
using MolecularLearning.Core;
using MolecularLearning.Learning;

namespace MolecularLearning.Learning.Tests;

/// <summary>
/// The kernel's angular sums over neighbour pairs (<see cref="KernelAngular"/>) against the generic path with exact
/// Gaussians (<see cref="FastKernelTests.AssertKernelAgrees"/>: 1e-12 in energy, forces and virial), both modes and
/// orders; each comparison also fails when the basis does not take the kernel.
/// </summary>
public class FastKernelAngularTests
{
    /// <summary>Bases with angular sums, at cutoffs above half the ~5.6 Å triclinic cell.</summary>
    private static InvariantOptions Basis(string name) => name switch
    {
        "accurate" => InvariantOptions.Parse(FitOptions.AccurateBasis, 4.5),
        // The accurate preset's angular family alone: the angular sums are the whole loss.
        "angular" => InvariantOptions.Parse("angular:2:3.0+angularGauss:2:1.0:2.2:0.5", 4.0),
        // Degrees 1–4, three functions of different widths (the default angular Gaussians), all three species pairs, C¹ cutoff.
        "degree4" => InvariantOptions.Parse("angular:4:3.4", 4.0),
        // Degree 1 only, one function, C² cutoff.
        "degree1" => InvariantOptions.Parse("angular:1:3.2+angularGauss:1:1.6:1.6:0.7+fc:3", 4.0),
        // Every family the kernel knows at once.
        "mixed" => InvariantOptions.Parse("sorted:O2:H3+gauss:4:0.9:3.2+fc:3+angles:2:H1H2:O1H1+shell:O-H:0.9:1.3:2" +
            "+shellAngle:2:H@O:0.9:1.3:O:2.0:2.6+angular:3:3.3+angularGauss:3:0.9:2.7:0.45", 3.6),
        _ => throw new ArgumentException(name),
    };

    public static IEnumerable<object[]> Cases() => FastKernelTests.InBothModesAndOrders("accurate", "angular", "degree4", "degree1", "mixed");

    [Theory]
    [MemberData(nameof(Cases))]
    public void AngularSumsAgreeWithTheGenericPath(string basis, string modeName, int order) =>
        FastKernelTests.AssertRandomModelAgrees(Basis(basis), modeName, order, seed: 37);

    /// <summary>
    /// Clusters far apart (no cell) whose O agent has an O at z = d and an H at x = d with d exactly at, and 1e-9 Å either
    /// side of, the accurate preset's 3 Å angular cutoff (each along one axis from the agent at x = z = 0, so r is exactly d),
    /// beside its own two H; and a cluster with collinear triplets (neighbours at θ = 0 and π from the agent).
    /// </summary>
    [Theory]
    [InlineData("agent", 1)]
    [InlineData("agent", 2)]
    [InlineData("conservative", 1)]
    [InlineData("conservative", 2)]
    public void NeighboursAtTheAngularCutoffAndCollinearTripletsAgree(string modeName, int order)
    {
        const double eps = 1e-9, rc = 3.0;
        double[] edges = [rc - eps, rc, rc + eps, rc - 2 * eps];
        var species = new List<Species>();
        var positions = new List<double>();
        void Add(Species s, double x, double y, double z) { species.Add(s); positions.AddRange([x, y, z]); }
        double bend = 104.5 * Math.PI / 180;
        for (int k = 0; k < edges.Length; k++)
        {
            double y = 10 * k, d = edges[k];
            Add(Elements.O, 0, y, 0);                                              // the O agent
            Add(Elements.H, -0.97, y, 0);                                          // its two H
            Add(Elements.H, -0.97 * Math.Cos(bend), y + 0.97 * Math.Sin(bend), 0);
            Add(Elements.O, 0, y, d);                                              // an O at the cutoff
            Add(Elements.H, d, y, 0);                                              // an H at the cutoff
            Add(Elements.H, 0.3, y - 0.8, 2.1);                                    // and one well inside
        }
        // Collinear: H–O–H straight (θ = π at the O), and a second O and H further along the same line (θ = 0).
        double yc = 10 * edges.Length;
        Add(Elements.O, 0, yc, 0);
        Add(Elements.H, 1.0, yc, 0);
        Add(Elements.H, -1.0, yc, 0);
        Add(Elements.O, 2.6, yc, 0);
        Add(Elements.H, -2.0, yc, 0);
        var frame = new Frame([.. species], [.. positions], cell: null);
        var model = Synthetic.RandomModel(InvariantOptions.Parse(FitOptions.AccurateBasis, FitOptions.DefaultCutoff), order,
            FastKernelTests.Mode(modeName), seed: 41, walls: FastKernelTests.Walls, bounds: order == 2);
        Assert.Equal(rc, model.Invariants.Options.AngularCutoff);
        FastKernelTests.AssertKernelAgrees(model, frame);
    }

    /// <summary>
    /// A model fitted as the accurate preset (the angular family linear: zero rows and columns of C, so the kernel runs C I on
    /// the other invariants alone; range walls on the quadratic invariants only) to forces of a random accurate-basis model.
    /// </summary>
    [Theory]
    [InlineData("agent")]
    [InlineData("conservative")]
    public void FittedLinearAngularFamilyAgrees(string modeName)
    {
        var basis = Basis("accurate");
        var truth = Synthetic.RandomModel(basis, 2, FastKernelTests.Mode(modeName), seed: 43, walls: FastKernelTests.Walls);
        var fitted = ModelFitter.Fit(Synthetic.Labelled(truth, 6, seed: 600), FitOptions.Accurate with
        {
            Mode = FastKernelTests.Mode(modeName), Invariants = basis, Ridge = 1e-8, Stride = 1, HoldoutFraction = 0, ValidationFraction = 0,
        }).Model;
        var set = fitted.Invariants;
        int k = set.Count, angular = Enumerable.Range(0, k).First(q => set.FamilyOf(q) == "angular");
        Assert.True(fitted.Losses[0].Quadratic.Slice(angular * k, k).IndexOfAnyExcept(0.0) < 0, "the angular rows of C should be zero");
        Assert.True(fitted.Losses[0].Quadratic.IndexOfAnyExcept(0.0) >= 0, "C should not vanish");
        FastKernelTests.AssertKernelAgrees(fitted, Synthetic.Water(5, Synthetic.Triclinic, seed: 3, jitter: 0.15));
    }

    [Fact]
    public void AccuratePresetForcesDoNotDependOnTheThreadCount()
    {
        // Conservative mode scatters the angular forces into one force array per chunk (a chunk per thread).
        var model = Synthetic.RandomModel(FitOptions.Accurate.Invariants, 2, ForceMode.Conservative, seed: 6, walls: FastKernelTests.Walls, bounds: true);
        var big = ForceFieldTests.Replicate(Synthetic.Water(4, Cell.Orthorhombic(5.6, 5.6, 5.6), seed: 12, jitter: 0.1), 6);
        Assert.True(big.AtomCount >= LearnedForceField.ParallelThreshold);
        FastKernelTests.AssertAgree(FastKernelTests.Evaluate(model, big, kernel: true, threads: 1), FastKernelTests.Evaluate(model, big, kernel: true, threads: 4));
    }

    [Fact]
    public void AngularBasesTakeTheKernel()
    {
        if (SortedGaussianKernel.WidestAcceleratedBits == 0) return; // the generic path everywhere
        bool Uses(InvariantOptions options) =>
            Synthetic.RandomModel(options, 2, ForceMode.Conservative, seed: 1).CreateForceField(0.5).UsesFastKernel;
        Assert.True(Uses(FitOptions.Accurate.Invariants), "the accurate preset");
        Assert.True(Uses(InvariantOptions.Parse(FitOptions.DefaultConservativeBasis + "+angular:2", FitOptions.DefaultCutoff)), "conservative default + angular");
        foreach (var name in new[] { "accurate", "angular", "degree4", "degree1", "mixed" }) Assert.True(Uses(Basis(name)), name);
        foreach (var name in new[] { "angular", "shells" }) Assert.True(Uses(Synthetic.Families().Single(f => f.Name == name).Options), name);
        // Angular functions the kernel does not compute (inverse powers) stay generic.
        Assert.False(Uses(new InvariantOptions { AngularDegree = 2, AngularCutoff = 3, AngularRadial = [RadialBasisFunction.Gaussian(1, 0.3), RadialBasisFunction.InversePower(2)] }));
    }

    [Fact]
    public void AccuratePresetStepsAllocateNothing() =>
        FastKernelTests.SteadyStateStepsAllocateNothing(FitOptions.AccurateBasis, "conservative");
}
