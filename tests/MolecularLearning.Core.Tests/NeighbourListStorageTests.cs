using MolecularLearning.Core;

namespace MolecularLearning.Core.Tests;

/// <summary>Compact storage, row access and the parallel build agree with the plain list and with brute force.</summary>
public class NeighbourListStorageTests
{
    [Theory]
    [InlineData(11, 0.4)]
    [InlineData(12, 1.3)] // cutoff beyond the box: several images of the same j in one row
    public void CompactRowsEqualStoredRowsAfterRefresh(int seed, double cutoffOverHeight)
    {
        var rng = new Random(seed);
        var cell = NeighbourListTests.RandomTriclinic(rng, 7.0);
        var pos = NeighbourListTests.RandomPositions(rng, cell, 30);
        double rc = cutoffOverHeight * cell.MinHeight, skin = 0.6;
        var stored = new NeighbourList();
        var compact = new NeighbourList(NeighbourStorage.Compact);
        stored.Build(pos, cell, rc, skin);
        compact.Build(pos, cell, rc, skin);
        for (int i = 0; i < pos.Length; i++) pos[i] += (rng.NextDouble() - 0.5) * 0.3;
        Assert.False(stored.NeedsRebuild(pos, cell));
        stored.Refresh(pos);
        compact.Refresh(pos);

        int max = compact.MaxRowLength;
        Assert.Equal(stored.MaxRowLength, max);
        var (ja, xa, ya, za, ra) = (new int[max], new double[max], new double[max], new double[max], new double[max]);
        var (jb, xb, yb, zb, rb) = (new int[max], new double[max], new double[max], new double[max], new double[max]);
        var fresh = new NeighbourList();
        fresh.Build(pos, cell, rc);
        int total = 0;
        for (int i = 0; i < 30; i++)
        {
            int na = stored.GetRow(i, ja, xa, ya, za, ra), nb = compact.GetRow(i, jb, xb, yb, zb, rb);
            Assert.Equal(na, nb);
            Assert.Equal(fresh.Start[i + 1] - fresh.Start[i], na); // the skin caught every pair now within rc
            for (int m = 0; m < na; m++)
            {
                Assert.Equal(ja[m], jb[m]);
                Assert.Equal(xa[m], xb[m], 12); Assert.Equal(ya[m], yb[m], 12); Assert.Equal(za[m], zb[m], 12);
                Assert.True(rb[m] < rc);
                // A lattice translate of the raw difference, at the stored distance.
                var d = new Vec3(xb[m], yb[m], zb[m]);
                Assert.Equal(rb[m], d.Norm(), 12);
                var f = cell.ToFractional(d - (Vec3.At(pos, jb[m]) - Vec3.At(pos, i)));
                Assert.True(Math.Abs(f.X - Math.Round(f.X)) < 1e-9 && Math.Abs(f.Y - Math.Round(f.Y)) < 1e-9 && Math.Abs(f.Z - Math.Round(f.Z)) < 1e-9);
            }
            total += na;
        }
        Assert.True(total > 0);
    }

    [Fact]
    public void CompactListRefusesDisplacementSpans()
    {
        var list = new NeighbourList(NeighbourStorage.Compact);
        list.Build([0, 0, 0, 1, 0, 0], null, 2.0);
        Assert.Equal(2, list.PairCount);
        Assert.Throws<InvalidOperationException>(() => list.R.Length);
    }

    [Fact]
    public void ParallelBuildEqualsSerialBuildAndMinimumImageCount()
    {
        // Large enough for several chunks; rc < L/2 so minimum image gives the exact pair count.
        var rng = new Random(5);
        var cell = Cell.Orthorhombic(24, 26, 28);
        int n = 2200;
        var pos = NeighbourListTests.RandomPositions(rng, cell, n, spread: 1);
        double rc = 4.0;
        var serial = new NeighbourList { Runner = new ParallelRunner(1) };
        var parallel = new NeighbourList { Runner = new ParallelRunner(3) };
        serial.Build(pos, cell, rc, 0.5);
        parallel.Build(pos, cell, rc, 0.5);
        Assert.Equal(serial.Start.ToArray(), parallel.Start.ToArray());
        Assert.Equal(serial.Index.ToArray(), parallel.Index.ToArray());
        Assert.Equal(serial.R.ToArray(), parallel.R.ToArray());

        long expected = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                if (i != j && cell.MinimumImage(Vec3.At(pos, j) - Vec3.At(pos, i)).Norm() <= rc + 0.5) expected++;
        Assert.Equal(expected, parallel.PairCount);

        for (int i = 0; i < pos.Length; i++) pos[i] += (rng.NextDouble() - 0.5) * 0.4;
        serial.Refresh(pos);
        parallel.Refresh(pos);
        Assert.Equal(serial.Dx.ToArray(), parallel.Dx.ToArray());
        Assert.Equal(serial.R.ToArray(), parallel.R.ToArray());
    }

    [Fact]
    public void RunnerRunsEveryChunkOnceAndPropagatesFailures()
    {
        var runner = new ParallelRunner(2);
        var work = new CountingWork(100);
        runner.Run(work, 100);
        runner.Run(work, 100);
        Assert.All(work.Hits, h => Assert.Equal(2, h));
        Assert.All(work.Workers, w => Assert.InRange(w, 0, 1));
        var failing = new CountingWork(10) { FailAt = 7 };
        Assert.Throws<InvalidOperationException>(() => runner.Run(failing, 10));
        runner.Run(work, 100); // still usable
        Assert.All(work.Hits, h => Assert.Equal(3, h));
        // A run from inside a chunk (same team) runs inline instead of re-entering the busy team.
        var inner = new CountingWork(8);
        var outer = new NestingWork(runner, inner);
        runner.Run(outer, 4);
        Assert.All(inner.Hits, h => Assert.Equal(4, h));
    }

    private sealed class NestingWork(ParallelRunner runner, CountingWork inner) : IParallelWork
    {
        private readonly object _gate = new();

        public void Execute(int chunk, int worker)
        {
            lock (_gate) runner.Run(inner, 8); // CountingWork is not re-entrant: one nested run at a time
        }
    }

    private sealed class CountingWork(int chunks) : IParallelWork
    {
        public readonly int[] Hits = new int[chunks];
        public readonly int[] Workers = new int[chunks];
        public int FailAt { get; init; } = -1;

        public void Execute(int chunk, int worker)
        {
            if (chunk == FailAt) throw new InvalidOperationException("chunk failed");
            Interlocked.Increment(ref Hits[chunk]);
            Workers[chunk] = worker;
        }
    }
}
