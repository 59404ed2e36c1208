using System.Diagnostics;
using MolecularLearning.Cli.Verbs;
using MolecularLearning.Core;

namespace MolecularLearning.Benchmarks;

/// <summary>Quick stopwatch probes for development (not a measurement of record: `mld bench` is).</summary>
public static class Probe
{
    public static int Run(string[] args)
    {
        int k = args.Length > 0 ? int.Parse(args[0]) : 5;
        var (species, positions) = BenchHarness.ReadXyz(Water.SamplePath());
        var frame = BenchHarness.Replicate(species, positions, 9.8528, k);
        foreach (var storage in new[] { NeighbourStorage.Compact, NeighbourStorage.Displacements })
        {
            var list = new NeighbourList(storage) { Runner = new ParallelRunner(1) };
            list.Build(frame.Positions, frame.Cell, 6.0, 1.0);
            var t = BenchHarness.Time(() => list.Build(frame.Positions, frame.Cell, 6.0, 1.0), 2.0, 3);
            Console.WriteLine($"{storage} {frame.AtomCount} atoms: build best {t.Best / frame.AtomCount * 1e9:F0} ns/atom, cpu {t.Cpu / frame.AtomCount * 1e9:F0} ns/atom, {list.PairCount / (double)frame.AtomCount:F1} entries/atom");
        }
        return 0;
    }
}

/// <summary>Locates the shared 32-water cell.</summary>
public static class Water
{
    public static string SamplePath()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var path = Path.Combine(dir.FullName, "samples", "water32-xtb", "init.xyz");
            if (File.Exists(path)) return path;
        }
        throw new FileNotFoundException("samples/water32-xtb/init.xyz");
    }
}
