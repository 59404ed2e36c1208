using System.Runtime.Intrinsics;
using MolecularLearning.Core;
using MolecularLearning.Learning;

namespace MolecularLearning.Learning.Tests;

/// <summary>
/// The kernel's smooth shells and shell angles (<see cref="KernelShells"/>) and cutoff powers against the generic path with
/// exact Gaussians (<see cref="FastKernelTests.AssertKernelAgrees"/>: 1e-12 in energy, forces and virial), both modes and
/// orders; each comparison also fails when the basis does not take the kernel.
/// </summary>
public class FastKernelShellTests
{
    /// <summary>Kernel-eligible bases with shells, at cutoffs above half the ~5.6 Å triclinic cell.</summary>
    private static InvariantOptions Basis(string name) => name switch
    {
        "conservative" => InvariantOptions.Parse(FitOptions.DefaultConservativeBasis, 4.5),
        // Windows narrow enough that the jittered bonds fall inside the switches; an O–O shell reaching across molecules.
        "shells" => InvariantOptions.Parse("shell:O-H:0.9:1.3:3+shell:H-O:0.9:1.3:2+shell:O-O:2.4:3.3:1", 4.0),
        "shellAngles" => InvariantOptions.Parse("shellAngle:3:O@H:0.9:1.3:H:0.9:1.3+shellAngle:2:H@O:0.9:1.3:H:1.3:2.2+shellAngle:2:O@O:2.4:3.3:H:0.9:2.6", 4.0),
        // Every family the kernel knows at once, with the C² cutoff.
        "mixed" => InvariantOptions.Parse("sorted:O2:H3+gauss:4:0.9:3.2+fc:3+angles:2:H1H2:O1H1+shell:O-H:0.9:1.3:2+shellAngle:2:H@O:0.9:1.3:O:2.0:2.6", 3.6),
        _ => throw new ArgumentException(name),
    };

    public static IEnumerable<object[]> Cases() => FastKernelTests.InBothModesAndOrders("conservative", "shells", "shellAngles", "mixed");

    [Theory]
    [MemberData(nameof(Cases))]
    public void ShellsAgreeWithTheGenericPath(string basis, string modeName, int order) =>
        FastKernelTests.AssertRandomModelAgrees(Basis(basis), modeName, order, seed: 29);

    /// <summary>
    /// Clusters that put neighbours exactly at, and 1e-9 Å either side of, the conservative default's shell edges: an O–H
    /// bond at d ∈ 1.15, 1.3, 1.45 (the covalent window), and an H with two O inside its 2.0–2.6 shell, one at
    /// h ∈ 2.0, 2.3, 2.6. Each key distance lies along one axis from an atom at x = z = 0, so r is exactly d or h.
    /// </summary>
    [Theory]
    [InlineData("agent", 1)]
    [InlineData("agent", 2)]
    [InlineData("conservative", 1)]
    [InlineData("conservative", 2)]
    public void NeighboursAtTheShellEdgesAgree(string modeName, int order)
    {
        const double eps = 1e-9;
        double[] bonds = [1.15 - eps, 1.15, 1.15 + eps, 1.3, 1.45 - eps, 1.45, 1.45 + eps];
        double[] hydrogenBonds = [2.0 - eps, 2.0, 2.0 + eps, 2.3, 2.6 - eps, 2.6, 2.6 + eps];
        var species = new List<Species>();
        var positions = new List<double>();
        void Add(Species s, double x, double y, double z) { species.Add(s); positions.AddRange([x, y, z]); }
        double bend = 104.5 * Math.PI / 180;
        for (int k = 0; k < bonds.Length; k++)
        {
            double y = 8 * k, d = bonds[k];
            Add(Elements.H, 0, y, 0);                                                    // the H agent of the cluster
            Add(Elements.O, -d, y, 0);                                                   // its O at d (the O agent sees it at d)
            Add(Elements.H, -d - 0.97 * Math.Cos(bend), y + 0.97 * Math.Sin(bend), 0);   // the O's second H, inside the shell
            Add(Elements.O, 0, y, hydrogenBonds[k]);                                     // an O at h from the H agent
            Add(Elements.O, 0.9, y - 1.6, -1.5);                                         // and another at 2.37 Å
        }
        var frame = new Frame([.. species], [.. positions], cell: null);
        var model = Synthetic.RandomModel(InvariantOptions.Parse(FitOptions.DefaultConservativeBasis, FitOptions.DefaultCutoff), order,
            FastKernelTests.Mode(modeName), seed: 31, walls: FastKernelTests.Walls, bounds: order == 2);
        FastKernelTests.AssertKernelAgrees(model, frame);
    }

    [Fact]
    public void ShellBasesTakeTheKernel()
    {
        if (SortedGaussianKernel.WidestAcceleratedBits == 0) return; // the generic path everywhere
        bool Uses(InvariantOptions options) =>
            Synthetic.RandomModel(options, 2, ForceMode.Conservative, seed: 1).CreateForceField(0.5).UsesFastKernel;
        Assert.True(Uses(FitOptions.DefaultConservative.Invariants), "the conservative default");
        foreach (var name in new[] { "conservative", "shells", "shellAngles", "mixed" }) Assert.True(Uses(Basis(name)), name);
        // Shells beside a family the kernel does not know stay generic.
        Assert.False(Uses(InvariantOptions.Parse(FitOptions.DefaultConservativeBasis + "+inv:2", FitOptions.DefaultCutoff)));
    }
}
