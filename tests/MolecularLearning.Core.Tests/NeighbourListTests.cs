using MolecularLearning.Core;

namespace MolecularLearning.Core.Tests;

public class NeighbourListTests
{
    /// <summary>Every (i, j, image) pair within the cutoff by brute force over enough images.</summary>
    private static List<(int I, int J, double R)> BruteForce(double[] pos, Cell cell, double rc)
    {
        var result = new List<(int, int, double)>();
        int n = pos.Length / 3;
        // raw positions span up to three cells, so search that much further
        var m = (int)Math.Ceiling(rc / cell.MinHeight) + 4;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                for (int a = -m; a <= m; a++)
                    for (int b = -m; b <= m; b++)
                        for (int c = -m; c <= m; c++)
                        {
                            if (i == j && a == 0 && b == 0 && c == 0) continue;
                            var d = Vec3.At(pos, j) + cell.ToCartesian(new Vec3(a, b, c)) - Vec3.At(pos, i);
                            var r = d.Norm();
                            if (r <= rc) result.Add((i, j, r));
                        }
        return result;
    }

    internal static Cell RandomTriclinic(Random rng, double scale)
    {
        var m = new double[9];
        for (int i = 0; i < 3; i++)
            for (int k = 0; k < 3; k++)
                m[3 * i + k] = (i == k ? scale : 0) + (rng.NextDouble() - 0.5) * 0.6 * scale;
        return new Cell(m);
    }

    /// <summary>n positions at fractional coordinates uniform in [−1, spread − 1): the default reaches outside the cell on both sides.</summary>
    internal static double[] RandomPositions(Random rng, Cell cell, int n, double spread = 3)
    {
        var pos = new double[3 * n];
        for (int i = 0; i < n; i++)
            cell.ToCartesian(new Vec3(rng.NextDouble() * spread - 1, rng.NextDouble() * spread - 1, rng.NextDouble() * spread - 1)).To(pos, i);
        return pos;
    }

    [Theory]
    [InlineData(1, 0.3)]
    [InlineData(2, 0.6)]
    [InlineData(3, 1.2)]   // cutoff longer than the shortest box height: images beyond the nearest
    [InlineData(4, 2.0)]
    [InlineData(5, 0.45)]
    public void MatchesImageSumOnRandomTriclinicCells(int seed, double cutoffOverHeight)
    {
        var rng = new Random(seed);
        var cell = RandomTriclinic(rng, 6.0);
        int n = 25;
        // Positions outside the cell too: the list must wrap them itself.
        var pos = RandomPositions(rng, cell, n);
        double rc = cutoffOverHeight * cell.MinHeight;

        var list = new NeighbourList();
        list.Build(pos, cell, rc);
        var expected = BruteForce(pos, cell, rc);

        var got = new List<(int, int, double)>();
        for (int i = 0; i < n; i++)
            for (int k = list.Start[i]; k < list.Start[i + 1]; k++)
            {
                got.Add((i, list.Index[k], list.R[k]));
                var d = new Vec3(list.Dx[k], list.Dy[k], list.Dz[k]);
                Assert.Equal(list.R[k], d.Norm(), 12);
                // The displacement must be a lattice translate of the raw difference.
                var f = cell.ToFractional(d - (Vec3.At(pos, list.Index[k]) - Vec3.At(pos, i)));
                Assert.True(Math.Abs(f.X - Math.Round(f.X)) < 1e-9 && Math.Abs(f.Y - Math.Round(f.Y)) < 1e-9 && Math.Abs(f.Z - Math.Round(f.Z)) < 1e-9);
            }
        Assert.Equal(expected.Count, got.Count);
        static IEnumerable<string> Keys(IEnumerable<(int I, int J, double R)> p) =>
            p.Select(x => $"{x.I}:{x.J}:{x.R:F8}").OrderBy(s => s, StringComparer.Ordinal);
        Assert.Equal(Keys(expected), Keys(got));
    }

    [Fact]
    public void WaterBoxSixAngstromCutoffReachesBeyondNearestImage()
    {
        var rng = new Random(7);
        var cell = Cell.Orthorhombic(9.8528, 9.8528, 9.8528);
        var pos = new double[3 * 96];
        for (int i = 0; i < pos.Length; i++) pos[i] = rng.NextDouble() * 9.8528;
        var list = new NeighbourList();
        list.Build(pos, cell, 6.0);
        Assert.Equal(BruteForce(pos, cell, 6.0).Count, list.PairCount);
    }

    [Fact]
    public void IsolatedSystemHasNoImages()
    {
        double[] pos = [0, 0, 0, 1, 0, 0, 5, 0, 0, 0.5, 0.5, 0];
        var list = new NeighbourList();
        list.Build(pos, null, 1.5);
        // pairs within 1.5: (0,1), (0,3), (1,3) in both directions
        Assert.Equal(6, list.PairCount);
    }

    [Fact]
    public void RefreshFollowsMovedAtomsAndFlagsRebuild()
    {
        var rng = new Random(3);
        var cell = RandomTriclinic(rng, 8.0);
        int n = 40;
        var pos = new double[3 * n];
        for (int i = 0; i < pos.Length; i++) pos[i] = rng.NextDouble() * 8;
        var list = new NeighbourList();
        list.Build(pos, cell, 3.0, skin: 0.5);
        var moved = (double[])pos.Clone();
        for (int i = 0; i < moved.Length; i++) moved[i] += (rng.NextDouble() - 0.5) * 0.2; // < skin/2 per atom
        Assert.False(list.NeedsRebuild(moved, cell));
        list.Refresh(moved);
        var fresh = new NeighbourList();
        fresh.Build(moved, cell, 3.0);
        int within = 0;
        for (int k = 0; k < list.PairCount; k++) if (list.R[k] < 3.0) within++;
        Assert.Equal(fresh.PairCount, within);
        moved[0] += 0.3;
        Assert.True(list.NeedsRebuild(moved, cell));
        // A coordinate that is not a number asks for a build, which refuses it by name (never a silent NaN refresh).
        moved[0] -= 0.3;
        moved[3 * 7 + 2] = double.NaN;
        Assert.True(list.NeedsRebuild(moved, cell));
        var e = Assert.Throws<DataException>(() => list.Update(moved, cell, 3.0, 0.5));
        Assert.StartsWith("atom 7: coordinate z is NaN", e.Message);
    }
}
