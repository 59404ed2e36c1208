using MolecularLearning.Core;
using MolecularLearning.Grpc;
using MolecularLearning.Protocols.Grpc.V1;

namespace MolecularLearning.Grpc.Tests;

/// <summary>
/// A deterministic test force field: truncated-and-shifted Lennard-Jones between all pairs (minimum image
/// in a cell), Lorentz–Berthelot mixing. Stands in for the learned model in transport tests; counts its
/// calls and can be slowed down or made to fail on purpose.
/// </summary>
public sealed class LennardJones : IForceField
{
    public const double Cutoff = 3.0;
    private static readonly Dictionary<string, (double Sigma, double Epsilon)> Parameters = new()
    {
        ["O"] = (2.8, 0.0067), ["H"] = (1.2, 0.0015),
    };

    public string Name => "test Lennard-Jones";
    public TimeSpan Delay { get; set; }
    public int Calls { get; private set; }
    /// <summary>Called as each evaluation starts (tests use it to know a call is inside the force field).</summary>
    public Action? Entered { get; set; }
    /// <summary>Called when a cancellation stopped an evaluation (the deadline reached it).</summary>
    public Action? Stopped { get; set; }
    /// <summary>Answers NaN: a model outside its domain, which the server must never pass on as OK.</summary>
    public bool Poison { get; set; }
    /// <summary>An extrapolation signal to report per call (value, atom, invariant) as a learned model does; null: none (NaN).</summary>
    public Func<int, (double Value, int Atom, string? Invariant)>? Signal { get; set; }

    public void Compute(ReadOnlySpan<Species> species, ReadOnlySpan<double> positions, Cell? cell, ForceResult result) =>
        Compute(species, positions, cell, result, CancellationToken.None);

    public void Compute(ReadOnlySpan<Species> species, ReadOnlySpan<double> positions, Cell? cell, ForceResult result, CancellationToken cancellation)
    {
        Calls++;
        Entered?.Invoke();
        if (Delay > TimeSpan.Zero && cancellation.WaitHandle.WaitOne(Delay))
        {
            Stopped?.Invoke();
            cancellation.ThrowIfCancellationRequested();
        }
        int n = species.Length;
        if (cell is not null && cell.MinHeight < 2 * Cutoff)
            throw new DataException($"cell height {cell.MinHeight:F2} Å is below twice the cutoff ({2 * Cutoff} Å)");
        result.Resize(n);
        result.Clear();
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
            {
                var d = new Vec3(positions[3 * i] - positions[3 * j], positions[3 * i + 1] - positions[3 * j + 1],
                    positions[3 * i + 2] - positions[3 * j + 2]);
                if (cell is not null) d = cell.MinimumImage(d);
                double r2 = d.Norm2();
                if (r2 >= Cutoff * Cutoff) continue;
                var (si, ei) = Parameters[species[i].Symbol];
                var (sj, ej) = Parameters[species[j].Symbol];
                double sigma = 0.5 * (si + sj), eps = Math.Sqrt(ei * ej);
                double s6 = Math.Pow(sigma * sigma / r2, 3), c6 = Math.Pow(sigma / Cutoff, 6);
                result.Energy += 4 * eps * (s6 * s6 - s6 - (c6 * c6 - c6));
                // f = -dU/dr · d/r, acting on i (and −f on j).
                double fOverR = 24 * eps * (2 * s6 * s6 - s6) / r2;
                double fx = fOverR * d.X, fy = fOverR * d.Y, fz = fOverR * d.Z;
                result.Forces[3 * i] += fx; result.Forces[3 * i + 1] += fy; result.Forces[3 * i + 2] += fz;
                result.Forces[3 * j] -= fx; result.Forces[3 * j + 1] -= fy; result.Forces[3 * j + 2] -= fz;
                // W = Σ_pairs d ⊗ f (= −∂E/∂ε).
                Span<double> dv = [d.X, d.Y, d.Z];
                Span<double> fv = [fx, fy, fz];
                for (int a = 0; a < 3; a++)
                    for (int b = 0; b < 3; b++) result.Virial[3 * a + b] += dv[a] * fv[b];
            }
        if (Poison) result.Energy = double.NaN;
        if (Signal is not null) (result.Extrapolation, result.ExtrapolationAtom, result.ExtrapolationInvariant) = Signal(Calls);
    }

    /// <summary>A served model around fresh Lennard-Jones evaluators, species order O, H.</summary>
    public static ServedModel Model(Action<LennardJones>? configure = null) => new(
        [Elements.O, Elements.H],
        () => { var lj = new LennardJones(); configure?.Invoke(lj); return lj; },
        new ModelDescription
        {
            Name = "test Lennard-Jones", CutoffAngstrom = Cutoff, Order = 1, Mode = "Conservative",
            Species = { new SpeciesInfo { Symbol = "O", AtomicNumber = 8, MassAmu = Elements.O.Mass },
                        new SpeciesInfo { Symbol = "H", AtomicNumber = 1, MassAmu = Elements.H.Mass } },
        });

    /// <summary>
    /// 32 water-like molecules (96 atoms, O H H) on a jittered 4×4×2 grid in a 10×10×8 Å box, seeded;
    /// <paramref name="step"/> moves the atoms a little, like consecutive MD frames.
    /// </summary>
    public static Frame WaterBox(int seed = 1, int step = 0)
    {
        var random = new Random(seed);
        var species = new Species[96];
        var positions = new double[288];
        int atom = 0;
        for (int gx = 0; gx < 4; gx++)
            for (int gy = 0; gy < 4; gy++)
                for (int gz = 0; gz < 2; gz++)
                {
                    double ox = 2.5 * gx + 0.3 * random.NextDouble(), oy = 2.5 * gy + 0.3 * random.NextDouble(),
                        oz = 4.0 * gz + 0.3 * random.NextDouble();
                    (double, double, double)[] sites = [(ox, oy, oz), (ox + 0.96, oy, oz + 0.1), (ox - 0.24, oy + 0.93, oz - 0.1)];
                    for (int k = 0; k < 3; k++)
                    {
                        species[atom] = k == 0 ? Elements.O : Elements.H;
                        var (x, y, z) = sites[k];
                        double phase = 0.01 * step + atom;
                        positions[3 * atom] = x + 0.05 * Math.Sin(phase);
                        positions[3 * atom + 1] = y + 0.05 * Math.Cos(1.3 * phase);
                        positions[3 * atom + 2] = z + 0.05 * Math.Sin(0.7 * phase);
                        atom++;
                    }
                }
        return new Frame(species, positions, Cell.Orthorhombic(10, 10, 8));
    }

    /// <summary>The request for a frame (symbols, positions, cell).</summary>
    public static EvaluateRequest Request(Frame frame, ulong id = 0, long step = 0)
    {
        var request = new EvaluateRequest { Id = id, Step = step };
        foreach (var s in frame.Species) request.Symbols.Add(s.Symbol);
        request.PositionsAngstrom.AddRange(frame.Positions);
        if (frame.Cell is not null) request.CellAngstrom.AddRange(frame.Cell.Matrix.ToArray());
        return request;
    }
}
