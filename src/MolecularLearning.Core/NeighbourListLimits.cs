namespace MolecularLearning.Core;

/// <summary>
/// A request would make the neighbour list too large: too many neighbours per atom (a cell too small for its
/// atoms, or a cutoff too long), or too many entries in all. Thrown before the entries are allocated; bad input,
/// so a <see cref="DataException"/> (one line for the CLI, INVALID_ARGUMENT for gRPC).
/// </summary>
public sealed class NeighbourLimitException(string message, int atom, long count, long limit) : DataException(message)
{
    /// <summary>The atom whose row is too long (-1 when the estimate for the whole frame is refused).</summary>
    public int Atom { get; } = atom;
    /// <summary>Neighbours counted (or estimated) for that atom, skin included.</summary>
    public long Count { get; } = count;
    public long Limit { get; } = limit;
}

/// <summary>
/// Bounds on what one neighbour-list build may cost, checked before allocating: the work of an evaluation is
/// bounded by what it is asked (atoms × neighbours), not by atom count alone.
/// </summary>
public static class NeighbourLimits
{
    /// <summary>
    /// Default limit on entries in one atom's row (skin included). Water (0.1 atoms/Å³) at a 30 Å cutoff
    /// (the model file's limit) plus 1 Å of skin has ~12,500; a 0.37 Å cell holding 96 atoms would have ~2 million.
    /// </summary>
    public const int DefaultPerAtom = 20_000;
    /// <summary>Entries in a whole list: 500 million compact entries are 3 GB; past int.MaxValue the offsets overflow.</summary>
    public const long MaxEntries = 500_000_000;
    /// <summary>Largest |coordinate| accepted (Å): beyond it, wrapping and distances lose all precision.</summary>
    public const double MaxCoordinate = 1e8;

    /// <summary>Refuses non-finite or absurd coordinates, naming the atom (as <paramref name="numbers"/>[i] when given).</summary>
    public static void CheckPositions(ReadOnlySpan<double> positions, int[]? numbers = null)
    {
        for (int i = 0; i < positions.Length; i++)
        {
            double v = positions[i];
            if (!(Math.Abs(v) <= MaxCoordinate))
                throw new DataException(double.IsFinite(v)
                    ? $"atom {Number(i / 3, numbers)}: coordinate {"xyz"[i % 3]} = {v:G6} Å is beyond ±{MaxCoordinate:G3} Å"
                    : $"atom {Number(i / 3, numbers)}: coordinate {"xyz"[i % 3]} is {v} (not a finite number)");
        }
    }

    /// <summary>
    /// Before any allocation: the expected row length from the density, n (4/3)π rc³ / V, for a periodic cell;
    /// an isolated system cannot exceed n − 1 and is left to the exact count.
    /// </summary>
    public static void CheckEstimate(int atoms, Cell? cell, double rc, int perAtom)
    {
        if (cell is null || atoms == 0) return;
        double sphere = 4.0 / 3.0 * Math.PI * rc * rc * rc;
        double expected = atoms * sphere / cell.Volume;
        if (!(expected <= perAtom) || !(expected * atoms <= MaxEntries))
            throw new NeighbourLimitException(
                $"about {Rounded(expected)} neighbours per atom within {rc:0.###} Å ({atoms} atoms in a cell of {cell.Volume:G4} Å³, "
                + $"smallest height {cell.MinHeight:G4} Å); the limit is {perAtom} per atom and {MaxEntries:G3} in all: is the cell in Å and large enough?",
                -1, (long)Math.Min(expected, long.MaxValue), perAtom);
    }

    /// <summary>After the counting pass, before the entries are allocated: the longest row and the total.</summary>
    public static void CheckCounts(ReadOnlySpan<int> rowLengths, double rc, int perAtom, int[]? numbers = null)
    {
        long total = 0;
        for (int i = 0; i < rowLengths.Length; i++)
        {
            int c = rowLengths[i];
            if (c > perAtom)
                throw new NeighbourLimitException(
                    $"atom {Number(i, numbers)} has {c} neighbours within {rc:0.###} Å; the limit is {perAtom} per atom (atoms on top of each other, or a cutoff too long?)",
                    Number(i, numbers), c, perAtom);
            total += c;
        }
        if (total > MaxEntries)
            throw new NeighbourLimitException($"{total} neighbour entries within {rc:0.###} Å for {rowLengths.Length} atoms; the limit is {MaxEntries:G3}",
                -1, total, MaxEntries);
    }

    private static int Number(int i, int[]? numbers) => numbers is not null && (uint)i < (uint)numbers.Length ? numbers[i] : i;

    private static string Rounded(double v) => v >= 1e15 || !double.IsFinite(v) ? v.ToString("G3") : Math.Round(v).ToString("0");
}
