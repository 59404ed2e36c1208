using MolecularLearning.Core;

namespace MolecularLearning.Core.Tests;

public class SpatialOrderTests
{
    /// <summary>n atoms uniformly at random in [lo, lo + edge)³.</summary>
    private static double[] Random(int n, double edge, int seed, double lo = 0)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, 3 * n).Select(_ => lo + edge * rng.NextDouble()).ToArray();
    }

    private static void AssertPermutation(ReadOnlySpan<int> order, int n)
    {
        Assert.Equal(n, order.Length);
        var seen = new bool[n];
        foreach (int i in order)
        {
            Assert.InRange(i, 0, n - 1);
            Assert.False(seen[i], $"atom {i} twice");
            seen[i] = true;
        }
    }

    /// <summary>Mean minimum-image distance between the atoms of consecutive slots.</summary>
    private static double MeanStep(ReadOnlySpan<int> order, double[] x, Cell? cell)
    {
        double sum = 0;
        for (int a = 1; a < order.Length; a++)
        {
            int i = order[a - 1], j = order[a];
            var d = new Vec3(x[3 * j] - x[3 * i], x[3 * j + 1] - x[3 * i + 1], x[3 * j + 2] - x[3 * i + 2]);
            sum += (cell is null ? d : cell.MinimumImage(d)).Norm();
        }
        return sum / (order.Length - 1);
    }

    public static IEnumerable<object[]> Cells() =>
    [
        ["cubic"], ["triclinic"], ["isolated"],
    ];

    private static Cell? CellNamed(string name, double edge) => name switch
    {
        "cubic" => Cell.Orthorhombic(edge, edge, edge),
        "triclinic" => new Cell([edge, 0, 0, 0.3 * edge, 0.9 * edge, 0, -0.2 * edge, 0.25 * edge, edge]),
        _ => null,
    };

    [Theory]
    [MemberData(nameof(Cells))]
    public void NeighboursInSpaceAreNeighboursInTheOrder(string cellName)
    {
        // 20,000 atoms at water's density in random order: consecutive slots lie a few Å apart, not a box apart.
        const int n = 20_000;
        double edge = Math.Cbrt(n / 0.1);
        var cell = CellNamed(cellName, edge);
        var x = Random(n, edge, seed: 1, lo: -0.5 * edge); // half of them outside the cell: the order folds images in
        var order = new SpatialOrder();
        order.Compute(x, cell, 3.0);
        AssertPermutation(order.Order, n);
        double sorted = MeanStep(order.Order, x, cell);
        double given = MeanStep(Enumerable.Range(0, n).ToArray(), x, cell);
        Assert.True(given > 10, $"random order steps {given:F1} Å");
        Assert.True(sorted < 0.15 * given, $"spatial order steps {sorted:F2} Å, random order {given:F1} Å");
    }

    [Fact]
    public void AtomsInOneBinKeepTheirOrder()
    {
        // Five atoms keep 2 × 2 × 2 bins of 6 Å (about two bins an atom at most).
        var x = new double[] { 1, 1, 1, 7, 7, 7, 1.2, 1.1, 1.3, 7.1, 7.2, 7.3, 1.4, 1.0, 1.1 };
        var order = new SpatialOrder();
        order.Compute(x, Cell.Orthorhombic(12, 12, 12), 3.0);
        Assert.Equal([0, 2, 4, 1, 3], order.Order.ToArray());
    }

    [Fact]
    public void ADiluteSystemKeepsAFewBins()
    {
        // Ten atoms in a 10⁴ Å cell: bins are capped at about two an atom, not (10⁴/3)³.
        var order = new SpatialOrder();
        order.Compute(Random(10, 1e4, seed: 2), Cell.Orthorhombic(1e4, 1e4, 1e4), 3.0);
        AssertPermutation(order.Order, 10);
        var (a, b, c) = order.Bins;
        Assert.InRange((long)a * b * c, 1, 20);
    }

    [Fact]
    public void NonFiniteAndHugeCoordinatesStillGiveAPermutation()
    {
        var x = Random(50, 10, seed: 3);
        x[7] = double.NaN; x[20] = double.PositiveInfinity; x[33] = -1e300;
        var order = new SpatialOrder();
        order.Compute(x, Cell.Orthorhombic(10, 10, 10), 3.0);
        AssertPermutation(order.Order, 50);
        order.Compute(x, null, 3.0);
        AssertPermutation(order.Order, 50);
    }

    [Fact]
    public void EmptyAndSingleAtomFrames()
    {
        var order = new SpatialOrder();
        order.Compute([], null, 3.0);
        Assert.Equal(0, order.Order.Length);
        order.Compute([1, 2, 3], Cell.Orthorhombic(5, 5, 5), 3.0);
        Assert.Equal([0], order.Order.ToArray());
    }

    [Fact]
    public void RefusedInputNamesTheCallersAtom()
    {
        // The list's atom 1 is the caller's atom 41: the messages of refused input say 41.
        var x = new double[] { 0, 0, 0, 1, double.NaN, 0 };
        var list = new NeighbourList { AtomNumbers = [17, 41] };
        var e = Assert.Throws<DataException>(() => list.Build(x, null, 3.0));
        Assert.StartsWith("atom 41: coordinate y", e.Message);
        var crowded = new double[3 * 30];
        list.AtomNumbers = Enumerable.Range(100, 30).ToArray();
        list.MaxNeighboursPerAtom = 10;
        var limit = Assert.Throws<NeighbourLimitException>(() => list.Build(crowded, null, 3.0));
        Assert.StartsWith("atom 100 has 29 neighbours", limit.Message);
        Assert.Equal(100, limit.Atom);
    }
}
