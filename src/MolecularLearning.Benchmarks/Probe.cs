using System.Diagnostics;
using MolecularLearning.Core;
using MolecularLearning.Learning;

namespace MolecularLearning.Benchmarks;

/// <summary>Quick stopwatch probes for development (not a measurement of record: `mld bench` is).</summary>
public static class Probe
{
    public static int Run(string[] args)
    {
        if (args.Length > 0 && args[0] == "learned") return Learned(args[1..]);
        if (args.Length > 0 && args[0] == "model") return ModelFile(args[1..]);
        if (args.Length > 0 && args[0] == "domain") return Domain(args[1..]);
        if (args.Length > 0 && args[0] == "slab") return DomainBenchmarks.Slab(args[1..]);
        if (args.Length > 0 && args[0] == "calls")
        {
            // A fixed number of agent-mode evaluations after warm-up: `perf stat` the difference of two
            // counts for instructions per atom-step, a measure the machine's load does not disturb.
            int reps = int.Parse(args[1]), kk = args.Length > 2 ? int.Parse(args[2]) : 3;
            var fr = Water.Box(kk);
            var ff = ProbeModels.Synthetic(2, ForceMode.Agent, Environment.GetEnvironmentVariable("PROBE_BASIS") ?? FitOptions.DefaultBasis).CreateForceField();
            var res = new ForceResult(fr.AtomCount);
            for (int q = 0; q < 200; q++) ff.Compute(fr.Species, fr.Positions, fr.Cell, res);
            Thread.Sleep(500);
            for (int q = 0; q < reps; q++) ff.Compute(fr.Species, fr.Positions, fr.Cell, res);
            return 0;
        }
        if (args.Length > 0 && args[0] == "exp")
        {
            double acc = 0, x = 0.1;
            var t = BenchHarness.Time(() => { for (int q = 0; q < 1_000_000; q++) { acc += Math.Exp(-x); x += 1e-6; } }, 2);
            Console.WriteLine($"Math.Exp: {t.Best / 1e6 * 1e9:F2} ns best, cpu {t.Cpu / 1e6 * 1e9:F2} ns ({acc:G3})");
            foreach (double a in new[] { -1.0, -10, -30, -100, -700, -720 })
            {
                double arg = a;
                var ta = BenchHarness.Time(() => { for (int q = 0; q < 1_000_000; q++) { acc += Math.Exp(arg); arg += 1e-9; } }, 0.5);
                Console.WriteLine($"  exp({a}): cpu {ta.Cpu / 1e6 * 1e9:F2} ns");
            }
            var buffer = new double[16];
            double arg2 = -1;
            var tc = BenchHarness.Time(() => { for (int q = 0; q < 1_000_000; q++) { buffer.AsSpan().Clear(); acc += Math.Exp(arg2); arg2 += 1e-9; } }, 0.5);
            Console.WriteLine($"  clear 128 B then exp: cpu {tc.Cpu / 1e6 * 1e9:F2} ns");
            var td = BenchHarness.Time(() => { for (int q = 0; q < 1_000_000; q++) { buffer.AsSpan(0, 2).Clear(); acc += Math.Exp(arg2); arg2 += 1e-9; } }, 0.5);
            Console.WriteLine($"  clear 16 B then exp: cpu {td.Cpu / 1e6 * 1e9:F2} ns");
            var list = new NeighbourList();
            var (sp, pos) = BenchHarness.ReadXyz(Water.SamplePath());
            list.Build(pos, Cell.Orthorhombic(9.8528, 9.8528, 9.8528), 6.0, 0.5);
            int within = 0;
            foreach (var r in list.R) if (r < 6.0) within++;
            Console.WriteLine($"entries within 6 Å: {within / 96.0:F1} per atom, listed {list.PairCount / 96.0:F1}");
            return 0;
        }
        if (args.Length > 0 && args[0] == "evaluator-list")
        {
            // `evaluator-list K SKIN CALLS`: builds of the learned evaluator's list alone (for perf record).
            var box = Water.Box(int.Parse(args[1]));
            double skin = double.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture);
            var list = EvaluatorList(box);
            for (int q = 0, calls = int.Parse(args[3]); q < calls; q++) list.Build(box.Positions, box.Cell, 6.0, skin);
            return 0;
        }
        int k = args.Length > 0 ? int.Parse(args[0]) : 5;
        var frame = Water.Box(k);
        foreach (var storage in new[] { NeighbourStorage.Compact, NeighbourStorage.Displacements })
        {
            var list = new NeighbourList(storage) { Runner = new ParallelRunner(1) };
            list.Build(frame.Positions, frame.Cell, 6.0, 1.0);
            var t = BenchHarness.Time(() => list.Build(frame.Positions, frame.Cell, 6.0, 1.0), 2.0, 3);
            Console.WriteLine($"{storage} {frame.AtomCount} atoms: build best {t.Best / frame.AtomCount * 1e9:F0} ns/atom, cpu {t.Cpu / frame.AtomCount * 1e9:F0} ns/atom, {list.PairCount / (double)frame.AtomCount:F1} entries/atom");
        }
        // As the learned evaluator builds it, at its own skin.
        foreach (double skin in new[] { 0.5, 0.75, 1.0 })
        {
            var list = EvaluatorList(frame);
            list.Build(frame.Positions, frame.Cell, 6.0, skin);
            var t = BenchHarness.Time(() => list.Build(frame.Positions, frame.Cell, 6.0, skin), 2.0, 3);
            Console.WriteLine($"evaluator's list (grouped, skin {skin}) {frame.AtomCount} atoms: build best {t.Best / frame.AtomCount * 1e9:F0} ns/atom, cpu {t.Cpu / frame.AtomCount * 1e9:F0} ns/atom, {list.PairCount / (double)frame.AtomCount:F1} entries/atom");
        }
        return 0;
    }

    /// <summary>A serial list of a water box as the learned evaluator keeps it: compact, rows grouped by species (O, H).</summary>
    private static NeighbourList EvaluatorList(Frame box)
    {
        var list = new NeighbourList(NeighbourStorage.Compact) { Runner = new ParallelRunner(1) };
        list.SetGrouping(box.Species.Select(x => x == Elements.O ? 0 : 1).ToArray(), 2);
        return list;
    }

    /// <summary>`model FILE [replicas] [seconds] [threads]`: a fitted model file evaluated repeatedly (for `perf record`).</summary>
    private static int ModelFile(string[] args)
    {
        var model = LearnedModel.Load(args[0]);
        int k = args.Length > 1 ? int.Parse(args[1]) : 3;
        double seconds = args.Length > 2 ? double.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 3;
        int threads = args.Length > 3 ? int.Parse(args[3]) : 1;
        var frame = Water.Box(k);
        // PROBE_JITTER=a: every coordinate moved by up to ±a/2 Å, so no two replicas are alike (a perfect replica's
        // period lets the branch predictor learn the agents' sequence). PROBE_SHUFFLE=1: the atoms in random order.
        if (Environment.GetEnvironmentVariable("PROBE_JITTER") is { } jit)
        {
            var rng = new Random(11);
            double amp = double.Parse(jit, System.Globalization.CultureInfo.InvariantCulture);
            for (int a = 0; a < frame.Positions.Length; a++) frame.Positions[a] += amp * (rng.NextDouble() - 0.5);
        }
        if (Environment.GetEnvironmentVariable("PROBE_SHUFFLE") == "1") frame = BenchHarness.Shuffle(frame);
        // PROBE_PRECISION=mixed: the simd backend's mixed precision (--precision mixed).
        var precision = Precisions.Parse(Environment.GetEnvironmentVariable("PROBE_PRECISION") ?? "double", "PROBE_PRECISION");
        var ff = model.CreateForceField(0.5, threads, BackendChoice.Auto, precision);
        var result = new ForceResult(frame.AtomCount);
        for (int q = 0; q < 50; q++) ff.Compute(frame.Species, frame.Positions, frame.Cell, result);
        if (seconds < 0)
        {
            // A fixed number of calls (−seconds): `perf stat` two counts and difference them for the cost per atom-step.
            // With a fifth argument "traj", positions move as in `mld bench`'s force evaluation (the list is rebuilt as MD would).
            var step = args.Length > 4 && args[4] == "traj"
                ? BenchHarness.Trajectory(frame, ff, result)
                : () => ff.Compute(frame.Species, frame.Positions, frame.Cell, result);
            for (int q = 0; q < -seconds; q++) step();
            return 0;
        }
        var t = BenchHarness.Time(() => ff.Compute(frame.Species, frame.Positions, frame.Cell, result), seconds);
        Console.WriteLine($"{model.Mode.Name()} order {model.Order} {frame.AtomCount} atoms {threads} thr: best {t.Best / frame.AtomCount * 1e9:F0} ns/atom-step, median {t.Median / frame.AtomCount * 1e9:F0}, cpu {t.Cpu / frame.AtomCount * 1e9:F0}, E = {result.Energy:R}");
        return 0;
    }

    /// <summary>`domain [replicas] [seconds] [agent|conservative] [cell|domain|both]`: the LAMMPS rank's C# side against the cell (for `perf record`).</summary>
    private static int Domain(string[] args)
    {
        int k = args.Length > 0 ? int.Parse(args[0]) : 1;
        double seconds = args.Length > 1 ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 3;
        var mode = args.Length > 2 && args[2] == "agent" ? ForceMode.Agent : ForceMode.Conservative;
        string which = args.Length > 3 ? args[3] : "both";
        var b = new DomainBenchmarks { Replicas = k, Mode = mode };
        b.Setup();
        if (which != "domain")
        {
            var t = BenchHarness.Time(() => b.CellCompute(), seconds);
            Console.WriteLine($"cell   {mode} {k}: best {t.Best * 1e6:F1} us, cpu {t.Cpu * 1e6:F1} us");
        }
        if (which != "cell")
        {
            var t = BenchHarness.Time(() => b.DomainCompute(), seconds);
            Console.WriteLine($"domain {mode} {k}: best {t.Best * 1e6:F1} us, cpu {t.Cpu * 1e6:F1} us");
        }
        return 0;
    }

    private static int Learned(string[] args)
    {
        int k = args.Length > 0 ? int.Parse(args[0]) : 3;
        double seconds = args.Length > 1 ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 3;
        string basis = args.Length > 2 ? args[2] : FitOptions.DefaultBasis;
        var frame = Water.Box(k);
        foreach (var mode in new[] { ForceMode.Agent, ForceMode.Conservative })
        {
            var ff = ProbeModels.Synthetic(2, mode, basis).CreateForceField();
            var result = new ForceResult(frame.AtomCount);
            ff.Compute(frame.Species, frame.Positions, frame.Cell, result);
            var t = BenchHarness.Time(() => ff.Compute(frame.Species, frame.Positions, frame.Cell, result), seconds);
            Console.WriteLine($"learned {mode} {frame.AtomCount} atoms: best {t.Best / frame.AtomCount * 1e9:F0} ns/atom-step, cpu {t.Cpu / frame.AtomCount * 1e9:F0}, E = {result.Energy:G6}");
        }
        return 0;
    }
}

public static partial class ProbeModels
{
    /// <summary>A model with the default invariants and made-up (small, symmetric) loss parameters: same cost as a fitted one.</summary>
    public static LearnedModel Synthetic(int order, ForceMode mode, string basis = FitOptions.DefaultBasis)
    {
        var set = new InvariantSet(InvariantOptions.Parse(basis, FitOptions.DefaultCutoff), [Elements.O, Elements.H]);
        var rng = new Random(1);
        int k = set.Count;
        var losses = new List<QuadraticLoss>();
        for (int s = 0; s < 2; s++)
        {
            var b = new double[k];
            for (int a = 0; a < k; a++) b[a] = 1e-3 * (rng.NextDouble() - 0.5);
            double[]? c = null;
            if (order == 2)
            {
                c = new double[k * k];
                for (int a = 0; a < k; a++)
                    for (int d = a; d < k; d++) c[a * k + d] = c[d * k + a] = 1e-4 * (rng.NextDouble() - 0.5);
            }
            losses.Add(new QuadraticLoss(b, c));
        }
        return new LearnedModel(set, mode, losses, [new RepulsionWall("O", "H", 0.85, 20), new RepulsionWall("O", "O", 2.3, 20), new RepulsionWall("H", "H", 1.3, 20)]);
    }
}

/// <summary>Locates the shared 32-water cell.</summary>
public static class Water
{
    /// <summary>The 32-water cell (9.8528 Å cube) replicated <paramref name="replicas"/> times per axis.</summary>
    public static Frame Box(int replicas)
    {
        var (species, positions) = BenchHarness.ReadXyz(SamplePath());
        return BenchHarness.Replicate(species, positions, 9.8528, replicas);
    }

    /// <summary>From the working directory up, then from the program's (a copy of the binaries outside the tree, as isa-ab.sh runs, finds it from the repository root).</summary>
    public static string SamplePath()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var path = Path.Combine(dir.FullName, "samples", "water32-xtb", "init.xyz");
                if (File.Exists(path)) return path;
            }
        throw new FileNotFoundException("samples/water32-xtb/init.xyz (run from the repository)");
    }
}
