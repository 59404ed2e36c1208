using BenchmarkDotNet.Attributes;
using MolecularLearning.Core;
using MolecularLearning.Learning;

namespace MolecularLearning.Benchmarks;

/// <summary>
/// The C# side of `mld lammps` on one rank against the in-process evaluation of the same atoms: the domain path gets
/// the owned atoms plus their periodic images out to the communication cutoff as ghosts (what LAMMPS hands the
/// callback), the in-process path gets the cell. Positions fixed, as in <see cref="LearnedForceFieldBenchmarks"/>.
/// </summary>
[MemoryDiagnoser]
public class DomainBenchmarks
{
    private Frame _frame = null!;
    private IForceField _cell = null!;
    private IDomainForceField _domain = null!;
    private Species[] _species = [];
    private double[] _positions = [];
    private int[] _owners = [];
    private ForceResult _cellResult = null!, _domainResult = null!;

    /// <summary>Replicas per axis of the 32-water cell: 96 and 2592 atoms.</summary>
    [Params(1, 3)]
    public int Replicas { get; set; }

    [Params(ForceMode.Agent, ForceMode.Conservative)]
    public ForceMode Mode { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _frame = Water.Box(Replicas);
        var model = ProbeModels.Synthetic(2, Mode, FitOptions.DefaultBasis);
        _cell = model.CreateForceField(0.5, 1);
        _domain = (IDomainForceField)model.CreateForceField(0.5, 1);
        double reach = (_domain.HasGhostReactions ? _domain.ReactionGhostCutoff : _domain.GhostCutoff) + 2; // + LAMMPS's skin
        (_species, _positions, _owners) = WithGhosts(_frame, reach);
        _cellResult = new ForceResult(_frame.AtomCount);
        _domainResult = new ForceResult(_species.Length);
        CellCompute();
        DomainCompute();
    }

    /// <summary>The owned atoms, then every periodic image within <paramref name="reach"/> of the cell (LAMMPS's ghosts).</summary>
    public static (Species[] Species, double[] Positions, int[] Owners) WithGhosts(Frame frame, double reach)
    {
        var (la, lb, lc) = frame.Cell!.Lengths; // an orthorhombic cell
        double[] l = [la, lb, lc];
        int n = frame.AtomCount;
        var species = new List<Species>(frame.Species);
        var positions = new List<double>(frame.Positions);
        var owners = new List<int>(Enumerable.Repeat(-1, n));
        int span = (int)Math.Ceiling(reach / Math.Min(l[0], Math.Min(l[1], l[2])));
        for (int a = -span; a <= span; a++)
        for (int b = -span; b <= span; b++)
        for (int c = -span; c <= span; c++)
        {
            if (a == 0 && b == 0 && c == 0) continue;
            for (int i = 0; i < n; i++)
            {
                double x = frame.Positions[3 * i] + a * l[0], y = frame.Positions[3 * i + 1] + b * l[1], z = frame.Positions[3 * i + 2] + c * l[2];
                if (x < -reach || x >= l[0] + reach || y < -reach || y >= l[1] + reach || z < -reach || z >= l[2] + reach) continue;
                species.Add(frame.Species[i]); positions.Add(x); positions.Add(y); positions.Add(z); owners.Add(i);
            }
        }
        return (species.ToArray(), positions.ToArray(), owners.ToArray());
    }

    [Benchmark(Baseline = true)]
    public double CellCompute()
    {
        _cell.Compute(_frame.Species, _frame.Positions, _frame.Cell, _cellResult);
        return _cellResult.Energy;
    }

    [Benchmark]
    public double DomainCompute()
    {
        if (_domain.HasGhostReactions) _domain.ComputeDomainWithGhostReactions(_species, _positions, _frame.AtomCount, _owners, _domainResult);
        else _domain.ComputeDomain(_species, _positions, _frame.AtomCount, _owners, _domainResult);
        return _domainResult.Energy;
    }

    /// <summary>
    /// `slab MODEL [replicas] [parts] [seconds] [rounds]`: one MPI rank's C# work on a slab decomposition (rank 0 of
    /// PARTS along x, ghosts to the cutoff + 2 Å as LAMMPS hands them) against the whole box in-process, one thread,
    /// process CPU per call; interleaved rounds, medians. "rebuild" alternates the positions with a copy shifted by 0.3 Å
    /// (more than half the 0.5 Å skin) so every call rebuilds the list: rebuild − static is a build's cost.
    /// </summary>
    public static int Slab(string[] args)
    {
        var model = LearnedModel.Load(args[0]);
        int k = args.Length > 1 ? int.Parse(args[1]) : 10, parts = args.Length > 2 ? int.Parse(args[2]) : 2;
        double seconds = args.Length > 3 ? double.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 2;
        int rounds = args.Length > 4 ? int.Parse(args[4]) : 3;
        var frame = Water.Box(k);
        var cell = model.CreateForceField(0.5, 1);
        var domain = (IDomainForceField)model.CreateForceField(0.5, 1);
        double reach = domain.ReactionGhostCutoff + 2;
        var (species, positions, owners, owned) = SlabWithGhosts(frame, reach, parts);
        var cellResult = new ForceResult(frame.AtomCount);
        var domainResult = new ForceResult(species.Length);
        double[] Shifted(double[] x) => [.. x.Select((v, i) => i % 3 == 0 ? v + 0.3 : v)];
        double[] cellMoved = Shifted(frame.Positions), domainMoved = Shifted(positions);
        int flipCell = 0, flipDomain = 0;
        var runs = new (string Name, Action Step)[]
        {
            ("cell static", () => cell.Compute(frame.Species, frame.Positions, frame.Cell, cellResult)),
            ("cell rebuild", () => cell.Compute(frame.Species, (flipCell++ & 1) == 0 ? cellMoved : frame.Positions, frame.Cell, cellResult)),
            ("domain static", () => domain.ComputeDomainWithGhostReactions(species, positions, owned, owners, domainResult)),
            ("domain rebuild", () => domain.ComputeDomainWithGhostReactions(species, (flipDomain++ & 1) == 0 ? domainMoved : positions, owned, owners, domainResult)),
        };
        foreach (var (_, step) in runs) { step(); step(); }
        var cpu = runs.Select(_ => new List<double>()).ToArray();
        for (int r = 0; r < rounds; r++)
            for (int q = 0; q < runs.Length; q++) cpu[q].Add(BenchHarness.Time(runs[q].Step, seconds).Cpu);
        double Median(List<double> xs) => xs.Order().ElementAt(xs.Count / 2);
        Console.WriteLine($"{frame.AtomCount} atoms; slab 0 of {parts}: {owned} owned + {species.Length - owned} ghosts; load {File.ReadAllText("/proc/loadavg").Trim()}");
        for (int q = 0; q < runs.Length; q++)
            Console.WriteLine($"  {runs[q].Name,-15} cpu {Median(cpu[q]) * 1e3,8:F1} ms per call (rounds: {string.Join(", ", cpu[q].Select(c => (c * 1e3).ToString("F1")))})");
        double cellBuild = Median(cpu[1]) - Median(cpu[0]), domainBuild = Median(cpu[3]) - Median(cpu[2]);
        Console.WriteLine($"  build: cell {cellBuild * 1e3:F1} ms ({cellBuild / frame.AtomCount * 1e9:F0} ns/atom), domain {domainBuild * 1e3:F1} ms ({domainBuild / owned * 1e9:F0} ns/owned atom)");
        Console.WriteLine($"  static: domain/cell {Median(cpu[2]) / Median(cpu[0]):F3} (ideal {(double)owned / frame.AtomCount:F3})");
        return 0;
    }

    /// <summary>Rank 0 of <paramref name="parts"/> slabs along x: its atoms, then every periodic image within <paramref name="reach"/> of the slab.</summary>
    public static (Species[] Species, double[] Positions, int[] Owners, int Owned) SlabWithGhosts(Frame frame, double reach, int parts)
    {
        var (la, lb, lc) = frame.Cell!.Lengths;
        double[] l = [la, lb, lc];
        double top = la / parts;
        int n = frame.AtomCount;
        var wrapped = new double[3 * n];
        for (int i = 0; i < 3 * n; i++) wrapped[i] = frame.Positions[i] - Math.Floor(frame.Positions[i] / l[i % 3]) * l[i % 3];
        var local = new int[n];
        var species = new List<Species>(); var positions = new List<double>(); var owners = new List<int>();
        for (int i = 0; i < n; i++)
        {
            local[i] = -1;
            if (wrapped[3 * i] >= top) continue;
            local[i] = species.Count;
            species.Add(frame.Species[i]); positions.AddRange(wrapped.AsSpan(3 * i, 3).ToArray()); owners.Add(-1);
        }
        int owned = species.Count;
        int span = (int)Math.Ceiling(reach / Math.Min(l[0], Math.Min(l[1], l[2]))) + 1;
        for (int a = -span; a <= span; a++)
        for (int b = -span; b <= span; b++)
        for (int c = -span; c <= span; c++)
            for (int i = 0; i < n; i++)
            {
                if (a == 0 && b == 0 && c == 0 && local[i] >= 0) continue;
                double x = wrapped[3 * i] + a * l[0], y = wrapped[3 * i + 1] + b * l[1], z = wrapped[3 * i + 2] + c * l[2];
                if (x < -reach || x >= top + reach || y < -reach || y >= l[1] + reach || z < -reach || z >= l[2] + reach) continue;
                species.Add(frame.Species[i]); positions.Add(x); positions.Add(y); positions.Add(z); owners.Add(local[i]);
            }
        return (species.ToArray(), positions.ToArray(), owners.ToArray(), owned);
    }
}
