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
}
