using System.Diagnostics;
using MolecularLearning.Core;

namespace MolecularLearning.Core.Tests;

/// <summary>Issue 17: outputs never replace what is not a regular file; the neighbour list bounds its work before allocating.</summary>
public class ReliabilityTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mld-reliab-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static void Text(string path, string text) => AtomicFile.WriteText(path, text);

    [SkippableFact]
    public void DeviceNodesAreRefusedAndLeftAlone()
    {
        Skip.If(OperatingSystem.IsWindows() || !File.Exists("/dev/null"), "needs /dev/null");
        var e = Assert.Throws<DataException>(() => Text("/dev/null", "x"));
        Assert.Contains("/dev/null: is a character device", e.Message);
        Assert.Empty(Directory.GetFiles("/dev", ".null.*.tmp"));
        Assert.Equal(0, new FileInfo("/dev/null").Length);
    }

    [SkippableFact]
    public void NamedPipesAreRefused()
    {
        Skip.If(OperatingSystem.IsWindows(), "POSIX only");
        var fifo = Path.Combine(_dir, "pipe");
        using (var p = Process.Start(new ProcessStartInfo("mkfifo", fifo) { UseShellExecute = false }))
        {
            Skip.If(p is null, "mkfifo not available");
            p.WaitForExit();
        }
        var e = Assert.Throws<DataException>(() => Text(fifo, "x"));
        Assert.Contains("named pipe", e.Message);
        Assert.Single(Directory.GetFileSystemEntries(_dir));
    }

    [Fact]
    public void SymlinksAreFollowedAndKept()
    {
        var target = Path.Combine(_dir, "real.txt");
        File.WriteAllText(target, "old");
        var link = Path.Combine(_dir, "link.txt");
        File.CreateSymbolicLink(link, target);
        Text(link, "new");
        Assert.NotNull(new FileInfo(link).LinkTarget); // still a link
        Assert.Equal("new", File.ReadAllText(target));
        Assert.Equal(2, Directory.GetFileSystemEntries(_dir).Length); // no temp left
    }

    [Fact]
    public void DirectoriesAndEmptyPathsAreRefused()
    {
        Assert.Contains("is a directory", Assert.Throws<DataException>(() => Text(_dir, "x")).Message);
        Assert.Contains("output path is empty", Assert.Throws<DataException>(() => Text("", "x")).Message);
    }

    [Fact]
    public void AFailedWriteLeavesThePreviousFileAndNoTemp()
    {
        var path = Path.Combine(_dir, "out.txt");
        File.WriteAllText(path, "previous");
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, s => { s.WriteByte(1); throw new InvalidOperationException("writer failed"); }));
        Assert.Equal("previous", File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(_dir));
    }

    private static double[] Random(int n, double box, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, 3 * n).Select(_ => rng.NextDouble() * box).ToArray();
    }

    [Theory]
    [InlineData(0.37)]
    [InlineData(0.36)]
    [InlineData(0.1)]
    public void ATinyCellIsRefusedBeforeAllocating(double edge)
    {
        // Issue 17 item 1: 96 atoms in a 0.37 Å cell took 1.6 GB; 0.1 Å gave a raw ArgumentOutOfRangeException.
        var list = new NeighbourList();
        var e = Assert.Throws<NeighbourLimitException>(() => list.Build(Random(96, edge, 1), Cell.Orthorhombic(edge, edge, edge), 6.0, 0.5));
        Assert.Contains("neighbours per atom", e.Message);
        Assert.True(e.Count > e.Limit);
        Assert.True(list.MemoryBytes < 1 << 20, $"{list.MemoryBytes} bytes held after the refusal");
    }

    [Fact]
    public void ALongRowIsRefusedNamingTheAtom()
    {
        // An isolated cluster: no density estimate, the counting pass names the first atom over the limit.
        var list = new NeighbourList { MaxNeighboursPerAtom = 10 };
        var e = Assert.Throws<NeighbourLimitException>(() => list.Build(Random(20, 1.0, 2), null, 3.0));
        Assert.Equal(0, e.Atom);
        Assert.Equal(19, e.Count);
        Assert.Contains("atom 0 has 19 neighbours within 3 Å; the limit is 10", e.Message);
        Assert.Equal(0, list.PairCount);
    }

    [Theory]
    [InlineData(1e20)]
    [InlineData(1e300)]
    [InlineData(double.NaN)]
    [InlineData(double.NegativeInfinity)]
    public void AbsurdCoordinatesAreRefused(double x)
    {
        var positions = Random(4, 5, 3);
        positions[7] = x;
        var e = Assert.Throws<DataException>(() => new NeighbourList().Build(positions, Cell.Orthorhombic(5, 5, 5), 2.0));
        Assert.Contains("atom 2: coordinate y", e.Message);
    }

    [Fact]
    public void AHugeCellIsRefused()
    {
        var e = Assert.Throws<DataException>(() => Cell.Orthorhombic(1e300, 1e300, 1e300));
        Assert.Contains("cell vector a has a component of 1E+300 Å; the limit is ±1E+08 Å", e.Message);
    }

    [Fact]
    public void WaterLikeDensityAtALongCutoffIsAllowed()
    {
        // 0.1 atoms/Å³ at 12 Å: ~720 neighbours an atom, far below the limit.
        var list = new NeighbourList(NeighbourStorage.Compact);
        list.Build(Random(300, 14.4, 4), Cell.Orthorhombic(14.4, 14.4, 14.4), 12.0, 0.5);
        Assert.InRange(list.MaxRowLength, 300, NeighbourLimits.DefaultPerAtom);
    }
}
