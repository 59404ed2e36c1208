using System.Runtime.Intrinsics;
using MolecularLearning.Core;
using MolecularLearning.Learning;

namespace MolecularLearning.Learning.Tests;

/// <summary>
/// The fused kernel for the default families (<see cref="SortedGaussianKernel"/>) against the generic invariant
/// path with exact Gaussians: same energy, forces and virial to rounding, in both modes and orders, with pair
/// and range walls, triclinic cells, cutoffs above half the box and neighbours at the cutoff.
/// </summary>
public class FastKernelTests
{
    internal static readonly RepulsionWall[] Walls = [new("O", "H", 1.2, 30), new("H", "H", 1.9, 10), new("O", "O", 2.9, 5)];

    internal static ForceResult Evaluate(LearnedModel model, Frame frame, bool kernel, int threads = 1)
    {
        var ff = new LearnedForceField(model, skin: 0.3, maxThreads: threads, fastKernel: kernel, tabulatedRadial: false);
        Assert.Equal(kernel && SortedGaussianKernel.WidestAcceleratedBits > 0, ff.UsesFastKernel);
        var result = new ForceResult(frame.AtomCount);
        ff.Compute(frame.Species, frame.Positions, frame.Cell, result);
        return result;
    }

    internal static void AssertAgree(ForceResult generic, ForceResult fast, double tolerance = 1e-12)
    {
        double fScale = generic.Forces.Max(Math.Abs), wScale = generic.Virial.ToArray().Max(Math.Abs);
        Assert.True(fScale > 1e-3, "forces should not vanish");
        Assert.True(Math.Abs(generic.Energy - fast.Energy) <= tolerance * (1 + Math.Abs(generic.Energy)),
            $"energy {fast.Energy} against {generic.Energy}");
        for (int x = 0; x < generic.Forces.Length; x++)
            Assert.True(Math.Abs(generic.Forces[x] - fast.Forces[x]) <= tolerance * fScale,
                $"force {x}: {fast.Forces[x]} against {generic.Forces[x]}");
        for (int a = 0; a < 9; a++)
            Assert.True(Math.Abs(generic.Virial[a] - fast.Virial[a]) <= tolerance * wScale,
                $"virial {a}: {fast.Virial[a]} against {generic.Virial[a]}");
    }

    /// <summary>The same model and frame through the generic path and through the kernel.</summary>
    internal static void AssertKernelAgrees(LearnedModel model, Frame frame) =>
        AssertAgree(Evaluate(model, frame, kernel: false), Evaluate(model, frame, kernel: true));

    /// <summary>A random model of the basis (walls; range walls at order 2) on five jittered waters in the triclinic cell, both paths.</summary>
    internal static void AssertRandomModelAgrees(InvariantOptions basis, string modeName, int order, int seed) =>
        AssertKernelAgrees(Synthetic.RandomModel(basis, order, Mode(modeName), seed, walls: Walls, bounds: order == 2),
            Synthetic.Water(5, Synthetic.Triclinic, seed: 3, jitter: 0.15));

    internal static ForceMode Mode(string name)
    {
        Assert.True(ForceModeNames.TryParse(name, out var mode));
        return mode;
    }

    public static IEnumerable<object[]> Cases() => InBothModesAndOrders("default", "default+fc:4", "sorted", "gaussian", "angles", "gaussian+fc:3");

    /// <summary>Test cases (basis, mode, order) for each basis name, agent and conservative, orders 1 and 2.</summary>
    internal static IEnumerable<object[]> InBothModesAndOrders(params string[] bases)
    {
        foreach (var basis in bases)
            foreach (var mode in new[] { "agent", "conservative" })
                foreach (var order in new[] { 1, 2 })
                    yield return [basis, mode, order];
    }

    private static InvariantOptions Basis(string name)
    {
        // "+fc:P": the family with the cutoff power P on its Gaussians.
        int plus = name.IndexOf("+fc:", StringComparison.Ordinal);
        var options = plus < 0 ? BasisOf(name) : BasisOf(name[..plus]) with { CutoffPower = int.Parse(name[(plus + 4)..]) };
        Assert.Equal(plus < 0 ? 2 : int.Parse(name[(plus + 4)..]), options.CutoffPower);
        return options;
    }

    private static InvariantOptions BasisOf(string name) => name == "default"
        ? InvariantOptions.Parse(FitOptions.DefaultBasis, 4.5) // 4.5 Å in a ~5.6 Å triclinic cell: above half the box
        : Synthetic.Families().Single(f => f.Name == name).Options;

    [Theory]
    [MemberData(nameof(Cases))]
    public void KernelAgreesWithTheGenericPath(string basis, string modeName, int order) =>
        AssertRandomModelAgrees(Basis(basis), modeName, order, seed: 17);

    /// <summary>The gradient splits the ladder into even and odd powers: an odd count (zero-padded) and a single Gaussian too.</summary>
    [Theory]
    [InlineData(1, "agent")]
    [InlineData(5, "agent")]
    [InlineData(5, "conservative")]
    public void OddLaddersAgree(int gaussians, string modeName)
    {
        var options = InvariantOptions.Parse($"sorted:O2:H3+gauss:{gaussians}:0.9:3.4", 4.0);
        var model = Synthetic.RandomModel(options, 2, Mode(modeName), seed: 23, walls: Walls, bounds: true);
        var frame = Synthetic.Water(5, Synthetic.Triclinic, seed: 3, jitter: 0.15);
        AssertKernelAgrees(model, frame);
    }

    [Theory]
    [InlineData("agent")]
    [InlineData("conservative")]
    public void NeighboursAtTheCutoffAgree(string modeName)
    {
        const double rc = 6.0;
        var model = Synthetic.RandomModel(InvariantOptions.Parse(FitOptions.DefaultBasis, rc), 2, Mode(modeName), seed: 4, walls: Walls, bounds: true);
        // Three molecules in a long box; the second O sits just inside the cutoff of the first, the third just outside.
        var frame = Synthetic.Water(3, Cell.Orthorhombic(30, 30, 30), seed: 9, jitter: 0.05);
        var p = frame.Positions;
        for (int m = 0; m < 3; m++)
        {
            double shiftX = m * rc * (1 + (m == 2 ? 1e-9 : -1e-9)) - (p[9 * m] - p[0]);
            double shiftY = -(p[9 * m + 1] - p[1]), shiftZ = -(p[9 * m + 2] - p[2]);
            for (int a = 0; a < 3; a++) { p[9 * m + 3 * a] += shiftX; p[9 * m + 3 * a + 1] += shiftY; p[9 * m + 3 * a + 2] += shiftZ; }
        }
        AssertKernelAgrees(model, frame);
    }

    [Theory]
    [InlineData("agent")]
    [InlineData("conservative")]
    public void TiedSortedDistancesAreBrokenAsTheGenericPath(string modeName)
    {
        // One molecule in a 3 Å cube with a 4.5 Å cutoff: every atom's six nearest self-images tie at exactly 3 Å,
        // so which four of them are the O agent's r1..r4 (and which legs its angles use) is decided by the tie rule.
        var model = Synthetic.RandomModel(InvariantOptions.Parse(FitOptions.DefaultBasis, 4.5), 2, Mode(modeName), seed: 8, walls: Walls);
        var frame = Synthetic.Water(1, Cell.Orthorhombic(3, 3, 3), seed: 2, jitter: 0.05);
        AssertKernelAgrees(model, frame);
    }

    [Fact]
    public void OnlyTheDefaultFamiliesTakeTheKernel()
    {
        if (SortedGaussianKernel.WidestAcceleratedBits == 0) return; // the generic path everywhere
        bool Uses(InvariantOptions options) =>
            Synthetic.RandomModel(options, 2, ForceMode.Agent, seed: 1).CreateForceField(0.5).UsesFastKernel;
        Assert.True(Uses(InvariantOptions.Parse(FitOptions.DefaultBasis, FitOptions.DefaultCutoff)));
        for (int power = 2; power <= 8; power++) // any cutoff power
            Assert.True(Uses(InvariantOptions.Parse(FitOptions.DefaultBasis + $"+fc:{power}", FitOptions.DefaultCutoff)), $"fc:{power}");
        foreach (var name in new[] { "inverse", "all" }) // inverse powers (angular sums and shells: FastKernelAngularTests)
            Assert.False(Uses(Synthetic.Families().Single(f => f.Name == name).Options), name);
        // Gaussians that are not one evenly spaced, equal-width ladder.
        Assert.False(Uses(new InvariantOptions { RadialCutoff = 4, Radial = [RadialBasisFunction.Gaussian(1, 0.3), RadialBasisFunction.Gaussian(2, 0.5)] }));
        Assert.False(Uses(new InvariantOptions { RadialCutoff = 4, Radial = [RadialBasisFunction.Gaussian(1, 0.5), RadialBasisFunction.Gaussian(2, 0.5), RadialBasisFunction.Gaussian(2.5, 0.5)] }));
    }

    /// <summary>The agent default, and the conservative default (shells, fc:4) in its own mode.</summary>
    [Theory]
    [InlineData(FitOptions.DefaultBasis, "agent")]
    [InlineData(FitOptions.DefaultConservativeBasis, "conservative")]
    public static void SteadyStateStepsAllocateNothing(string basis, string modeName)
    {
        // Positions drift so the Verlet list is refreshed and rebuilt (regrouped) along the way, as in MD.
        var model = Synthetic.RandomModel(InvariantOptions.Parse(basis, 4.0), 2, Mode(modeName), seed: 6, walls: Walls, bounds: true);
        var frame = ForceFieldTests.Replicate(Synthetic.Water(4, Cell.Orthorhombic(5.6, 5.6, 5.6), seed: 12, jitter: 0.1), 3);
        var ff = new LearnedForceField(model, skin: 0.3, maxThreads: 1);
        Assert.Equal(SortedGaussianKernel.WidestAcceleratedBits > 0, ff.UsesFastKernel);
        var result = new ForceResult(frame.AtomCount);
        var rng = new Random(3);
        var drift = Enumerable.Range(0, frame.Positions.Length).Select(_ => 0.004 * (rng.NextDouble() - 0.5)).ToArray();
        void Step()
        {
            for (int x = 0; x < drift.Length; x++) frame.Positions[x] += drift[x];
            ff.Compute(frame.Species, frame.Positions, frame.Cell, result);
        }
        for (int step = 0; step < 100; step++) Step();
        // Two windows of 200 steps: a leak in the steady state allocates in both; a one-off of the runtime on this
        // thread (seen once in ten suite runs, not reproducible alone) does not repeat.
        var log = new System.Text.StringBuilder(); // per step, so a failure says which steps allocated and whether they rebuilt
        for (int window = 0; window < 2; window++)
        {
            long builds = ff.NeighbourList.Builds;
            int before = log.Length;
            for (int step = 0; step < 200; step++)
            {
                long b0 = GC.GetAllocatedBytesForCurrentThread(), n0 = ff.NeighbourList.Builds;
                Step();
                long d = GC.GetAllocatedBytesForCurrentThread() - b0;
                if (d != 0) log.Append($"window {window} step {step}: {d} B, rebuilt {ff.NeighbourList.Builds != n0}; ");
            }
            Assert.True(ff.NeighbourList.Builds > builds, "the list should have been rebuilt while measuring");
            if (log.Length == before) return;
        }
        Assert.Fail(log.ToString());
    }

    [Fact]
    public void ConservativeDefaultForcesDoNotDependOnTheThreadCount()
    {
        // Conservative mode scatters into one force array per chunk (a chunk per thread), the shells' angle forces included.
        var model = Synthetic.RandomModel(FitOptions.DefaultConservative.Invariants, 2, ForceMode.Conservative, seed: 6, walls: Walls, bounds: true);
        var big = ForceFieldTests.Replicate(Synthetic.Water(4, Cell.Orthorhombic(5.6, 5.6, 5.6), seed: 12, jitter: 0.1), 6);
        var serial = Evaluate(model, big, kernel: true, threads: 1);
        var parallel = Evaluate(model, big, kernel: true, threads: 4);
        AssertAgree(serial, parallel); // the same sums in another order
    }

    [Fact]
    public void KernelForcesDoNotDependOnTheThreadCount()
    {
        var model = Synthetic.RandomModel(InvariantOptions.Parse(FitOptions.DefaultBasis, 4.0), 2, ForceMode.Agent, seed: 6, walls: Walls, bounds: true);
        var big = ForceFieldTests.Replicate(Synthetic.Water(4, Cell.Orthorhombic(5.6, 5.6, 5.6), seed: 12, jitter: 0.1), 6);
        Assert.True(big.AtomCount >= LearnedForceField.ParallelThreshold);
        var serial = Evaluate(model, big, kernel: true, threads: 1);
        var parallel = Evaluate(model, big, kernel: true, threads: 4);
        Assert.Equal(serial.Forces, parallel.Forces); // bit for bit: each agent's force is computed by one thread alone
        Assert.Equal(serial.Energy, parallel.Energy, 1e-10 * Math.Abs(serial.Energy));
    }
}
