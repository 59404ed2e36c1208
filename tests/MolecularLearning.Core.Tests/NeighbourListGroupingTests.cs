using MolecularLearning.Core;

namespace MolecularLearning.Core.Tests;

/// <summary>Rows ordered by a group key (the learned evaluator groups neighbours by species).</summary>
public class NeighbourListGroupingTests
{
    [Theory]
    [InlineData(NeighbourStorage.Displacements, 0.6)]
    [InlineData(NeighbourStorage.Compact, 0.6)]
    [InlineData(NeighbourStorage.Compact, 1.3)] // images beyond the nearest
    public void GroupedRowsAreStablePartitionsOfTheScanOrder(NeighbourStorage storage, double cutoffOverHeight)
    {
        var rng = new Random(7);
        var cell = NeighbourListTests.RandomTriclinic(rng, 6.0);
        int n = 40;
        var pos = new double[3 * n];
        for (int i = 0; i < n; i++) cell.ToCartesian(new Vec3(rng.NextDouble(), rng.NextDouble(), rng.NextDouble())).To(pos, i);
        var key = Enumerable.Range(0, n).Select(i => i % 3 == 0 ? 2 : i % 3 == 1 ? 0 : 1).ToArray();
        double rc = cutoffOverHeight * cell.MinHeight;

        var plain = new NeighbourList(storage);
        plain.Build(pos, cell, rc, 0.5);
        var grouped = new NeighbourList(storage);
        grouped.SetGrouping(key, 3);
        grouped.Build(pos, cell, rc, 0.5);
        Assert.Equal(0, plain.GroupCount);
        Assert.Equal(3, grouped.GroupCount);
        Assert.Equal(plain.PairCount, grouped.PairCount);

        int max = plain.MaxRowLength;
        var (ja, xa, ya, za, ra) = (new int[max], new double[max], new double[max], new double[max], new double[max]);
        var (jb, xb, yb, zb, rb) = (new int[max], new double[max], new double[max], new double[max], new double[max]);
        for (int i = 0; i < n; i++)
        {
            // Group g of the grouped row is exactly the scan-order row filtered to key g, entry for entry.
            var expected = new List<(int, double, double, double)>();
            for (int g = 0; g < 3; g++)
                for (int k = plain.Start[i]; k < plain.Start[i + 1]; k++)
                    if (key[plain.Index[k]] == g) expected.Add((plain.Index[k], 0, 0, 0));
            for (int g = 0; g < 3; g++)
                for (int k = grouped.GroupStart(i, g); k < grouped.GroupStart(i, g + 1); k++) Assert.Equal(g, key[grouped.Index[k]]);
            Assert.Equal(grouped.Start[i], grouped.GroupStart(i, 0));
            Assert.Equal(grouped.Start[i + 1], grouped.GroupStart(i, 3));
            Assert.Equal(expected.Select(e => e.Item1), grouped.Index[grouped.Start[i]..grouped.Start[i + 1]].ToArray());
            // Displacements follow their entries (GetRow within the cutoff: same multiset, grouped order).
            int ma = plain.GetRow(i, ja, xa, ya, za, ra), mb = grouped.GetRow(i, jb, xb, yb, zb, rb);
            Assert.Equal(ma, mb);
            var a = Enumerable.Range(0, ma).Select(p => (ja[p], xa[p], ya[p], za[p], ra[p])).OrderBy(e => e).ToArray();
            var b = Enumerable.Range(0, mb).Select(p => (jb[p], xb[p], yb[p], zb[p], rb[p])).OrderBy(e => e).ToArray();
            Assert.Equal(a, b);
        }

        // Refresh keeps the grouping (the images move with their entries).
        for (int x = 0; x < pos.Length; x++) pos[x] += 0.05 * (rng.NextDouble() - 0.5);
        plain.Refresh(pos); grouped.Refresh(pos);
        for (int i = 0; i < n; i++)
        {
            int ma = plain.GetRow(i, ja, xa, ya, za, ra), mb = grouped.GetRow(i, jb, xb, yb, zb, rb);
            var a = Enumerable.Range(0, ma).Select(p => (ja[p], ra[p])).OrderBy(e => e).ToArray();
            var b = Enumerable.Range(0, mb).Select(p => (jb[p], rb[p])).OrderBy(e => e).ToArray();
            Assert.Equal(a, b);
        }
    }

    [Fact]
    public void KeyOutsideTheGroupsIsAnError()
    {
        var list = new NeighbourList();
        list.SetGrouping([0, 5], 2);
        Assert.Throws<ArgumentException>(() => list.Build([0, 0, 0, 1, 0, 0], Cell.Orthorhombic(10, 10, 10), 3));
    }
}
