using MolecularLearning.Core;

namespace MolecularLearning.Core.Tests;

/// <summary>Rows for a prefix of the atoms (an MPI domain's owned atoms, its ghosts only candidates), isolated systems.</summary>
public class NeighbourListRowsTests
{
    [Theory]
    [InlineData(NeighbourStorage.Displacements, 1)]
    [InlineData(NeighbourStorage.Compact, 1)]
    [InlineData(NeighbourStorage.Compact, 3)]
    public void PrefixRowsEqualTheFullListsRowsAndTheRestAreEmpty(NeighbourStorage storage, int threads)
    {
        var rng = new Random(7);
        int n = 2600, rows = 1100; // several build chunks on both sides of the prefix
        var pos = new double[3 * n];
        for (int i = 0; i < pos.Length; i++) pos[i] = rng.NextDouble() * 30;
        var full = new NeighbourList(storage);
        var prefix = new NeighbourList(storage) { Runner = new ParallelRunner(threads) };
        var key = Enumerable.Range(0, n).Select(i => i % 2).ToArray();
        full.SetGrouping(key, 2);
        prefix.SetGrouping(key, 2);
        full.Build(pos, null, 3.0, 0.4);
        prefix.Build(pos, null, 3.0, 0.4, rows);
        Assert.Equal(rows, prefix.RowCount);
        Assert.Equal(n, prefix.AtomCount);
        for (int i = 0; i < pos.Length; i++) pos[i] += (rng.NextDouble() - 0.5) * 0.2; // under half the skin
        Assert.False(prefix.NeedsRebuild(pos, null));
        full.Refresh(pos);
        prefix.Refresh(pos);
        int max = full.MaxRowLength;
        var (ja, xa, ya, za, ra) = (new int[max], new double[max], new double[max], new double[max], new double[max]);
        var (jb, xb, yb, zb, rb) = (new int[max], new double[max], new double[max], new double[max], new double[max]);
        int total = 0;
        for (int i = 0; i < n; i++)
        {
            int nb = prefix.GetRow(i, jb, xb, yb, zb, rb);
            if (i >= rows) { Assert.Equal(0, nb); continue; }
            int na = full.GetRow(i, ja, xa, ya, za, ra);
            Assert.Equal(na, nb);
            Assert.Equal(full.GroupStart(i, 1) - full.Start[i], prefix.GroupStart(i, 1) - prefix.Start[i]);
            for (int m = 0; m < na; m++) { Assert.Equal(ja[m], jb[m]); Assert.Equal(ra[m], rb[m]); }
            total += na;
        }
        Assert.True(total > rows); // neighbours listed, ghosts (j ≥ rows) among them
        Assert.Contains(prefix.Index.ToArray(), j => j >= rows);
    }

    [Fact]
    public void ChangingTheRowCountRebuilds()
    {
        var list = new NeighbourList();
        double[] pos = [0, 0, 0, 1, 0, 0, 2, 0, 0];
        list.Update(pos, null, 1.5, 0.2, rows: 1);
        Assert.Equal(1, list.PairCount);
        list.Update(pos, null, 1.5, 0.2);
        Assert.Equal(3, list.RowCount);
        Assert.Equal(4, list.PairCount);
        Assert.Equal(2, list.Builds);
    }
}
