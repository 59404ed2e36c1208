namespace MolecularLearning.Core;

/// <summary>What a <see cref="NeighbourList"/> keeps per (i, j, image) entry.</summary>
public enum NeighbourStorage
{
    /// <summary>Index, image and the displacement and distance (Dx, Dy, Dz, R spans): 38 bytes an entry.</summary>
    Displacements,
    /// <summary>
    /// Index and image only (6 bytes an entry); displacements come row by row from <see cref="NeighbourList.GetRow"/>.
    /// What a million atoms need: at 6 Å plus skin a water box has ~120 entries per atom, which as
    /// stored doubles would take ~4.5 GB.
    /// </summary>
    Compact,
}

/// <summary>
/// A full neighbour list (every pair appears from both sides) built with cell lists in O(N).
/// Correct for any cutoff, including cutoffs longer than half the box or than the box itself:
/// every periodic image within the cutoff is listed, each as its own entry (j may equal i for
/// self-images). Storage is compressed rows of structure-of-arrays, reused across builds so a
/// steady-state rebuild allocates nothing.
/// <para>
/// Verlet reuse: build with a skin; <see cref="Refresh"/> recomputes the displacements for new
/// positions (same cell) and <see cref="NeedsRebuild"/> says when an atom moved more than half
/// the skin. Consumers must skip entries with <c>R ≥ Cutoff</c> (<see cref="GetRow"/> does it for them).
/// </para>
/// <para>
/// Each entry stores j and a code for the lattice translation S of its image; with per-atom integer
/// wrap shifts t (fixed at the build), the displacement is x_j + t_j + S − (x_i + t_i). Builds and
/// refreshes run on <see cref="Runner"/> (two passes, count then fill, straight into the final arrays,
/// so the build needs no per-thread buffers and no copy).
/// </para>
/// </summary>
public sealed partial class NeighbourList : IParallelWork
{
    private const int ChunkAtoms = 1024;

    private int[] _start = [0];
    private int[] _index = [];
    private ushort[] _image = [];
    private double[] _dx = [], _dy = [], _dz = [], _r = [];
    private double[] _reference = [];                 // positions at the last build
    private double[] _shift = [];                     // t_i: integer lattice translation wrapping atom i (3N)
    private double[] _unwrapped = [];                 // x_i + t_i for the last positions seen (3N)
    private double[] _images = [];                    // S for each image code (3 per code)
    private int[] _binOf = [], _binStart = [], _binFill = [], _binAtoms = [], _binPos = [];
    // Per axis, for a bin offset t in [−reach, nb − 1 + reach]: the wrapped bin and its lattice translation (no divisions in the scan).
    private int[] _wrapA = [], _wrapB = [], _wrapC = [], _liftA = [], _liftB = [], _liftC = [];
    private double[] _binX = [], _binY = [], _binZ = [];  // x + t of the atoms in bin order
    private int _nbA, _nbB, _nbC, _reachA, _reachB, _reachC, _qA, _qB, _qC;
    private bool _periodic;
    private int _pairs, _maxRow, _rows;
    private Phase _phase;
    private int[]? _groupKey;                          // per atom: its group (e.g. species), or null: rows in scan order
    private int _groups, _builtGroups;
    private int[] _groupStart = [];                   // [i * groups + g]: first entry of group g in row i
    private int[][] _rowIndex = []; private ushort[][] _rowImage = []; private double[][] _rowDisplacement = []; // per worker: one row

    private enum Phase { Count, Fill, Refresh, Group }

    public NeighbourList() : this(NeighbourStorage.Displacements) { }

    public NeighbourList(NeighbourStorage storage) => Storage = storage;

    public NeighbourStorage Storage { get; }
    /// <summary>Rows longer than this are refused with <see cref="NeighbourLimitException"/> before the entries are allocated.</summary>
    public int MaxNeighboursPerAtom { get; set; } = NeighbourLimits.DefaultPerAtom;
    /// <summary>
    /// The caller's number of each atom (atom i of the list is the caller's <c>AtomNumbers[i]</c>), for the messages of
    /// refused input; null: the list's own. Set by a consumer that lists its atoms in another order (<see cref="SpatialOrder"/>).
    /// </summary>
    public int[]? AtomNumbers { get; set; }
    /// <summary>The thread team for builds and refreshes (default: the shared one).</summary>
    public ParallelRunner Runner { get; set; } = ParallelRunner.Shared;

    /// <summary>The interaction cutoff (Å) the consumer asked for.</summary>
    public double Cutoff { get; private set; }
    /// <summary>Extra distance (Å) listed beyond the cutoff so the list survives several steps.</summary>
    public double Skin { get; private set; }
    public int AtomCount { get; private set; }
    /// <summary>
    /// Atoms with rows: the first RowCount atoms (all by default). Later atoms are only candidates, with empty rows:
    /// an MPI domain's ghosts, whose own neighbours lie partly outside the domain.
    /// </summary>
    public int RowCount => _rows;
    public Cell? Cell { get; private set; }
    /// <summary>How many times the list was built (refreshes not counted): a consumer's cache of build-time data is stale when it changes.</summary>
    public long Builds { get; private set; }
    /// <summary>Number of stored (i, j, image) entries, skin included.</summary>
    public int PairCount => _pairs;
    /// <summary>The longest row (entries of one atom, skin included): scratch of this size fits any <see cref="GetRow"/>.</summary>
    public int MaxRowLength => _maxRow;
    /// <summary>Bytes held by this list's arrays (entries, per-atom and bin arrays).</summary>
    public long MemoryBytes =>
        4L * (_start.Length + _index.Length + _binOf.Length + _binStart.Length + _binFill.Length + _binAtoms.Length)
        + 2L * _image.Length
        + 8L * (_dx.Length + _dy.Length + _dz.Length + _r.Length + _reference.Length + _shift.Length + _unwrapped.Length
                + _images.Length + _binX.Length + _binY.Length + _binZ.Length);

    /// <summary>Row offsets: the entries of atom i are [Start[i], Start[i+1]).</summary>
    public ReadOnlySpan<int> Start => _start.AsSpan(0, AtomCount + 1);
    public ReadOnlySpan<int> Index => _index.AsSpan(0, _pairs);
    /// <summary>Displacement x_j(image) − x_i, in Å (Displacements storage only).</summary>
    public ReadOnlySpan<double> Dx => Stored(_dx);
    public ReadOnlySpan<double> Dy => Stored(_dy);
    public ReadOnlySpan<double> Dz => Stored(_dz);
    /// <summary>Distance |x_j(image) − x_i|, in Å (Displacements storage only).</summary>
    public ReadOnlySpan<double> R => Stored(_r);

    /// <summary>
    /// The image code of each entry (either storage), for consumers that decode rows themselves: the
    /// displacement of entry k of atom i is Unwrapped[3j..3j+3] + ImageTranslations[3c..3c+3] − Unwrapped[3i..3i+3]
    /// with j = Index[k] and c = ImageCodes[k], exactly as <see cref="GetRow"/> computes it.
    /// </summary>
    public ReadOnlySpan<ushort> ImageCodes => _image.AsSpan(0, _pairs);
    /// <summary>x_i + t_i (3N, Å) for the positions of the last Build/Refresh/Update: positions shifted by their wrap translation.</summary>
    public ReadOnlySpan<double> Unwrapped => _unwrapped.AsSpan(0, 3 * AtomCount);
    /// <summary>The lattice translation S (3 numbers, Å) of each image code.</summary>
    public ReadOnlySpan<double> ImageTranslations => _images;

    private ReadOnlySpan<double> Stored(double[] a) => Storage == NeighbourStorage.Displacements
        ? a.AsSpan(0, _pairs)
        : throw new InvalidOperationException("a compact neighbour list stores no displacements: use GetRow");

    private static void Grow<T>(ref T[] array, int size)
    {
        if (array.Length < size) array = new T[size];
    }
}
