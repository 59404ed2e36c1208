using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

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

    /// <summary>
    /// Builds the list for positions (3N, Å) in a cell (null: isolated system, nothing wrapped), with rows for the
    /// first <paramref name="rows"/> atoms (negative: all).
    /// </summary>
    public void Build(ReadOnlySpan<double> positions, Cell? cell, double cutoff, double skin = 0, int rows = -1)
    {
        if (positions.Length % 3 != 0) throw new ArgumentException("positions must hold 3N numbers");
        if (!(cutoff > 0) || !(skin >= 0)) throw new ArgumentOutOfRangeException(nameof(cutoff), "cutoff must be positive and skin non-negative");
        int n = positions.Length / 3;
        NeighbourLimits.CheckPositions(positions);
        NeighbourLimits.CheckEstimate(n, cell, cutoff + skin, MaxNeighboursPerAtom);
        if (rows > n) throw new ArgumentOutOfRangeException(nameof(rows), $"{rows} rows for {n} atoms");
        _rows = rows < 0 ? n : rows;
        Builds++;
        AtomCount = n; Cell = cell; Cutoff = cutoff; Skin = skin;
        _periodic = cell is not null;
        double rc = cutoff + skin;

        Grow(ref _reference, 3 * n); Grow(ref _shift, 3 * n); Grow(ref _unwrapped, 3 * n);
        Grow(ref _binOf, n); Grow(ref _binAtoms, n); Grow(ref _binPos, n); Grow(ref _binX, n); Grow(ref _binY, n); Grow(ref _binZ, n);
        Grow(ref _start, n + 1);
        positions.CopyTo(_reference);

        Span<double> h = stackalloc double[9];
        Span<double> heights = stackalloc double[3];
        Span<double> lo = stackalloc double[3];
        if (cell is not null)
        {
            cell.Matrix.CopyTo(h);
            heights[0] = cell.Heights.A; heights[1] = cell.Heights.B; heights[2] = cell.Heights.C;
        }
        else
        {
            // An isolated system is binned in its bounding box; nothing is wrapped.
            lo.Fill(double.MaxValue);
            Span<double> hi = stackalloc double[3];
            hi.Fill(double.MinValue);
            for (int i = 0; i < 3 * n; i++)
            {
                lo[i % 3] = Math.Min(lo[i % 3], positions[i]);
                hi[i % 3] = Math.Max(hi[i % 3], positions[i]);
            }
            h.Clear();
            for (int a = 0; a < 3; a++)
            {
                if (n == 0) lo[a] = hi[a] = 0;
                heights[a] = Math.Max(hi[a] - lo[a], 1e-9) * (1 + 1e-12) + 1e-9;
                h[4 * a] = heights[a];
            }
        }

        // Bins at least rc wide, at most about one per atom: a 3×3×3 stencil scans 27 rc³ where rc/2 bins and a
        // 5×5×5 stencil would scan 15.6 rc³, but in 9 runs of consecutive bins instead of 25, and with the
        // candidates tested eight at a time the per-run overhead was the larger cost (measured: 2.8 → 2.1 µs an
        // atom at 12,000 atoms, 7 Å).
        Span<int> nb = stackalloc int[3];
        long maxBins = Math.Max(1, n);
        for (int a = 0; a < 3; a++) nb[a] = Math.Max(1, (int)Math.Min(1024, Math.Floor(heights[a] / rc)));
        while ((long)nb[0] * nb[1] * nb[2] > maxBins)
        {
            int a = nb[0] >= nb[1] && nb[0] >= nb[2] ? 0 : nb[1] >= nb[2] ? 1 : 2;
            nb[a] = Math.Max(1, nb[a] / 2);
        }
        Span<int> reach = stackalloc int[3], q = stackalloc int[3];
        for (int a = 0; a < 3; a++)
        {
            int r = (int)Math.Ceiling(rc * nb[a] / heights[a] * (1 + 1e-12));
            reach[a] = _periodic ? r : Math.Min(nb[a] - 1, r);
            // Largest |lattice translation| a stencil step can need along this axis.
            q[a] = _periodic ? Math.Max(-FloorDiv(-reach[a], nb[a]), FloorDiv(nb[a] - 1 + reach[a], nb[a])) : 0;
        }
        (_nbA, _nbB, _nbC) = (nb[0], nb[1], nb[2]);
        (_reachA, _reachB, _reachC) = (reach[0], reach[1], reach[2]);
        (_qA, _qB, _qC) = (q[0], q[1], q[2]);
        AxisTable(ref _wrapA, ref _liftA, nb[0], reach[0]);
        AxisTable(ref _wrapB, ref _liftB, nb[1], reach[1]);
        AxisTable(ref _wrapC, ref _liftC, nb[2], reach[2]);
        long codes = (2L * q[0] + 1) * (2L * q[1] + 1) * (2L * q[2] + 1);
        if (codes > ushort.MaxValue + 1L)
            throw new NeighbourLimitException($"cutoff {rc:0.###} Å reaches {codes} periodic images (more than 19 cell heights; smallest height {heights[0]:G4}/{heights[1]:G4}/{heights[2]:G4} Å)", -1, codes, ushort.MaxValue + 1L);
        Grow(ref _images, 3 * (int)codes);
        for (int qa = -q[0]; qa <= q[0]; qa++)
            for (int qb = -q[1]; qb <= q[1]; qb++)
                for (int qc = -q[2]; qc <= q[2]; qc++)
                {
                    int code = ImageCode(qa, qb, qc);
                    for (int k = 0; k < 3; k++) _images[3 * code + k] = qa * h[k] + qb * h[3 + k] + qc * h[6 + k];
                }

        // Wrap shifts (integer lattice translations, so x + t is a lattice translate of x exactly in
        // the algebra) and bins.
        int binCount = nb[0] * nb[1] * nb[2];
        Grow(ref _binStart, binCount + 1); Grow(ref _binFill, binCount);
        _binStart.AsSpan(0, binCount + 1).Clear();
        for (int i = 0; i < n; i++)
        {
            double px = positions[3 * i], py = positions[3 * i + 1], pz = positions[3 * i + 2];
            double fa, fb, fc;
            if (cell is not null)
            {
                var inv = cell.Inverse;
                fa = px * inv[0] + py * inv[3] + pz * inv[6];
                fb = px * inv[1] + py * inv[4] + pz * inv[7];
                fc = px * inv[2] + py * inv[5] + pz * inv[8];
                double na = -Math.Floor(fa), nbb = -Math.Floor(fb), nc = -Math.Floor(fc);
                fa += na; fb += nbb; fc += nc;
                for (int k = 0; k < 3; k++) _shift[3 * i + k] = na * h[k] + nbb * h[3 + k] + nc * h[6 + k];
            }
            else
            {
                fa = (px - lo[0]) / heights[0]; fb = (py - lo[1]) / heights[1]; fc = (pz - lo[2]) / heights[2];
                _shift[3 * i] = _shift[3 * i + 1] = _shift[3 * i + 2] = 0;
            }
            int ba = Math.Clamp((int)(fa * nb[0]), 0, nb[0] - 1);
            int bb = Math.Clamp((int)(fb * nb[1]), 0, nb[1] - 1);
            int bc = Math.Clamp((int)(fc * nb[2]), 0, nb[2] - 1);
            int bin = (ba * nb[1] + bb) * nb[2] + bc;
            _binOf[i] = bin;
            _binStart[bin + 1]++;
            _unwrapped[3 * i] = px + _shift[3 * i];
            _unwrapped[3 * i + 1] = py + _shift[3 * i + 1];
            _unwrapped[3 * i + 2] = pz + _shift[3 * i + 2];
        }
        for (int b = 0; b < binCount; b++) _binStart[b + 1] += _binStart[b];
        _binFill.AsSpan(0, binCount).Clear();
        for (int i = 0; i < n; i++)
        {
            int bin = _binOf[i], k = _binStart[bin] + _binFill[bin]++;
            _binAtoms[k] = i;
            _binPos[i] = k;
            // Bin-ordered coordinates: the inner loop reads them contiguously.
            _binX[k] = _unwrapped[3 * i]; _binY[k] = _unwrapped[3 * i + 1]; _binZ[k] = _unwrapped[3 * i + 2];
        }

        // Pass 1 counts each row, pass 2 fills the rows in place.
        int chunks = (_rows + ChunkAtoms - 1) / ChunkAtoms;
        _phase = Phase.Count;
        Runner.Run(this, chunks);
        _start.AsSpan(_rows + 1, n - _rows).Clear(); // atoms past the rows: empty rows
        NeighbourLimits.CheckCounts(_start.AsSpan(1, n), rc, MaxNeighboursPerAtom);
        int count = 0, maxRow = 0;
        for (int i = 0; i < n; i++)
        {
            int c = _start[i + 1];
            _start[i] = count;
            count += c;
            maxRow = Math.Max(maxRow, c);
        }
        _start[n] = count;
        _pairs = count;
        _maxRow = maxRow;
        if (_index.Length < count)
        {
            int size = Math.Max(1024, count + count / 8); // headroom: the count drifts a little between builds
            _index = new int[size];
            _image = new ushort[size];
            if (Storage == NeighbourStorage.Displacements) { _dx = new double[size]; _dy = new double[size]; _dz = new double[size]; _r = new double[size]; }
        }
        _phase = Phase.Fill;
        Runner.Run(this, chunks);
        _builtGroups = 0;
        if (_groupKey is not null)
        {
            if (_groupKey.Length < n) throw new ArgumentException($"the grouping key has {_groupKey.Length} entries for {n} atoms");
            Grow(ref _groupStart, n * _groups);
            // Per-worker copies of one row (a quarter of headroom: rows grow between builds, and growing allocates).
            int workers = Math.Max(1, Runner.MaxWorkers), row = maxRow + maxRow / 4 + 8;
            if (_rowIndex.Length < workers) { Array.Resize(ref _rowIndex, workers); Array.Resize(ref _rowImage, workers); Array.Resize(ref _rowDisplacement, workers); }
            for (int w = 0; w < workers; w++)
                if (_rowIndex[w] is null || _rowIndex[w].Length < maxRow)
                {
                    _rowIndex[w] = new int[row]; _rowImage[w] = new ushort[row];
                    _rowDisplacement[w] = Storage == NeighbourStorage.Displacements ? new double[4 * row] : [];
                }
            _phase = Phase.Group;
            Runner.Run(this, chunks);
            _builtGroups = _groups;
        }
    }

    /// <summary>
    /// From the next <see cref="Build"/> on, orders every row by the group key[j] ∈ [0, groups) of its neighbours
    /// (stably: within a group, entries keep the scan order), so a consumer that treats neighbour species
    /// separately reads each group as one run (<see cref="GroupStart"/>). The list keeps the array, not a copy:
    /// when its contents change, build again. Null: rows in scan order (the default).
    /// </summary>
    public void SetGrouping(int[]? key, int groups)
    {
        if (key is not null && groups < 1) throw new ArgumentOutOfRangeException(nameof(groups), "need at least one group");
        _groupKey = key;
        _groups = key is null ? 0 : groups;
    }

    /// <summary>Groups of the last build (0: rows not grouped).</summary>
    public int GroupCount => _builtGroups;

    /// <summary>First entry of group g in row i; g = <see cref="GroupCount"/> gives the row's end. Entries include the skin.</summary>
    public int GroupStart(int i, int g) => g >= _builtGroups ? _start[i + 1] : _groupStart[i * _builtGroups + g];

    /// <summary>Recomputes displacements and distances for new positions with the images of the last build.</summary>
    public void Refresh(ReadOnlySpan<double> positions)
    {
        if (positions.Length != 3 * AtomCount) throw new ArgumentException("atom count changed since the neighbour list was built");
        for (int i = 0; i < positions.Length; i++) _unwrapped[i] = positions[i] + _shift[i];
        if (Storage == NeighbourStorage.Compact) return; // rows are computed on demand
        _phase = Phase.Refresh;
        Runner.Run(this, (_rows + ChunkAtoms - 1) / ChunkAtoms);
    }

    /// <summary>
    /// The entries of atom i within <see cref="Cutoff"/> for the positions of the last Build/Refresh/Update:
    /// neighbour indices, displacements x_j(image) − x_i and distances, written to the caller's scratch
    /// (each at least <see cref="MaxRowLength"/> long). Returns how many were written. Works for both storages.
    /// </summary>
    public int GetRow(int i, Span<int> index, Span<double> dx, Span<double> dy, Span<double> dz, Span<double> r)
    {
        int start = _start[i], end = _start[i + 1];
        double rc2 = Cutoff * Cutoff;
        int m = 0;
        if (Storage == NeighbourStorage.Displacements)
        {
            for (int k = start; k < end; k++)
            {
                double rk = _r[k];
                if (rk >= Cutoff) continue;
                index[m] = _index[k]; dx[m] = _dx[k]; dy[m] = _dy[k]; dz[m] = _dz[k]; r[m] = rk;
                m++;
            }
            return m;
        }
        var u = _unwrapped;
        var img = _images;
        double ux = u[3 * i], uy = u[3 * i + 1], uz = u[3 * i + 2];
        for (int k = start; k < end; k++)
        {
            int j = _index[k], c = 3 * _image[k];
            double x = u[3 * j] + img[c] - ux, y = u[3 * j + 1] + img[c + 1] - uy, z = u[3 * j + 2] + img[c + 2] - uz;
            double r2 = x * x + y * y + z * z;
            if (r2 >= rc2) continue;
            index[m] = j; dx[m] = x; dy[m] = y; dz[m] = z; r[m] = Math.Sqrt(r2);
            m++;
        }
        return m;
    }

    /// <summary>True when the list cannot be trusted for these positions: another cell or atom count, or an atom moved more than half the skin.</summary>
    public bool NeedsRebuild(ReadOnlySpan<double> positions, Cell? cell)
    {
        if (positions.Length != 3 * AtomCount || !Equals(cell, Cell)) return true;
        double limit2 = 0.25 * Skin * Skin;
        for (int i = 0; i < positions.Length; i += 3)
        {
            double dx = positions[i] - _reference[i], dy = positions[i + 1] - _reference[i + 1], dz = positions[i + 2] - _reference[i + 2];
            if (dx * dx + dy * dy + dz * dz > limit2) return true;
        }
        return false;
    }

    /// <summary>Builds when needed, otherwise refreshes: the Verlet-list step.</summary>
    public void Update(ReadOnlySpan<double> positions, Cell? cell, double cutoff, double skin, int rows = -1)
    {
        int wanted = rows < 0 ? positions.Length / 3 : rows;
        if (cutoff != Cutoff || skin != Skin || wanted != _rows || NeedsRebuild(positions, cell)) Build(positions, cell, cutoff, skin, rows);
        else Refresh(positions);
    }

    void IParallelWork.Execute(int chunk, int worker)
    {
        int from = chunk * ChunkAtoms, to = Math.Min(_rows, from + ChunkAtoms);
        switch (_phase)
        {
            case Phase.Count:
                for (int i = from; i < to; i++) _start[i + 1] = Scan(i, write: false, 0);
                break;
            case Phase.Fill:
                for (int i = from; i < to; i++) Scan(i, write: true, _start[i]);
                break;
            case Phase.Refresh:
                RefreshRows(from, to);
                break;
            case Phase.Group:
                for (int i = from; i < to; i++) GroupRow(i, worker);
                break;
        }
    }

    private int ImageCode(int qa, int qb, int qc) => ((qa + _qA) * (2 * _qB + 1) + qb + _qB) * (2 * _qC + 1) + qc + _qC;

    /// <summary>Visits the stencil of atom i's bin; counts its entries, or writes them from position <paramref name="at"/>.</summary>
    private int Scan(int i, bool write, int at)
    {
        double rc = Cutoff + Skin, rc2 = rc * rc;
        int nbB = _nbB, nbC = _nbC;
        int bin = _binOf[i], self = _binPos[i];
        int ia = bin / (nbB * nbC), ib = bin / nbC % nbB, ic = bin % nbC;
        double ux = _unwrapped[3 * i], uy = _unwrapped[3 * i + 1], uz = _unwrapped[3 * i + 2];
        var binStart = _binStart;
        var img = _images;
        int count = 0;
        for (int da = -_reachA; da <= _reachA; da++)
        {
            int qa = _liftA[ia + da + _reachA];
            if (!_periodic && qa != 0) continue;
            int ta = _wrapA[ia + da + _reachA];
            for (int db = -_reachB; db <= _reachB; db++)
            {
                int qb = _liftB[ib + db + _reachB];
                if (!_periodic && qb != 0) continue;
                int tab = (ta * nbB + _wrapB[ib + db + _reachB]) * nbC;
                // Bins along c with the same lattice translation are consecutive in bin order: one range each.
                for (int dc = -_reachC; dc <= _reachC;)
                {
                    int qc = _liftC[ic + dc + _reachC];
                    int run = 1;
                    while (dc + run <= _reachC && _liftC[ic + dc + run + _reachC] == qc) run++;
                    int first = _wrapC[ic + dc + _reachC];
                    dc += run;
                    if (!_periodic && qc != 0) continue;
                    int code = ImageCode(qa, qb, qc);
                    // i itself is skipped only in the unshifted image (self-images are neighbours).
                    int skip = qa == 0 && qb == 0 && qc == 0 ? self : -1;
                    // Position of atom i seen from the image: x_j + t_j + S − (x_i + t_i) = x_j + t_j − (u_i − S).
                    double cx = ux - img[3 * code], cy = uy - img[3 * code + 1], cz = uz - img[3 * code + 2];
                    int k = binStart[tab + first], end = binStart[tab + first + run];
                    count += write ? FillRange(k, end, skip, cx, cy, cz, rc2, code, at + count) : CountRange(k, end, skip, cx, cy, cz, rc2);
                }
            }
        }
        return count;
    }

    /// <summary>Wrapped bin and lattice translation for every stencil offset along one axis.</summary>
    private static void AxisTable(ref int[] wrap, ref int[] lift, int nb, int reach)
    {
        int size = nb + 2 * reach;
        Grow(ref wrap, size); Grow(ref lift, size);
        for (int t = -reach; t < nb + reach; t++)
        {
            int q = FloorDiv(t, nb);
            lift[t + reach] = q;
            wrap[t + reach] = t - q * nb;
        }
    }

    /// <summary>Stable counting sort of row i by the group of each neighbour.</summary>
    private void GroupRow(int i, int worker)
    {
        var key = _groupKey!;
        int groups = _groups, start = _start[i], end = _start[i + 1], len = end - start;
        Span<int> next = stackalloc int[groups];
        next.Clear();
        for (int k = start; k < end; k++)
        {
            int g = key[_index[k]];
            if ((uint)g >= (uint)groups) throw new ArgumentException($"grouping key {g} of atom {_index[k]} is outside [0, {groups})");
            next[g]++;
        }
        for (int g = 0, at = start; g < groups; g++)
        {
            int c = next[g];
            next[g] = at;
            _groupStart[i * groups + g] = at;
            at += c;
        }
        bool displacements = Storage == NeighbourStorage.Displacements;
        int[] index = _rowIndex[worker];
        ushort[] image = _rowImage[worker];
        double[] d = _rowDisplacement[worker];
        _index.AsSpan(start, len).CopyTo(index);
        _image.AsSpan(start, len).CopyTo(image);
        if (displacements)
        {
            _dx.AsSpan(start, len).CopyTo(d.AsSpan(0, len)); _dy.AsSpan(start, len).CopyTo(d.AsSpan(len, len));
            _dz.AsSpan(start, len).CopyTo(d.AsSpan(2 * len, len)); _r.AsSpan(start, len).CopyTo(d.AsSpan(3 * len, len));
        }
        for (int p = 0; p < len; p++)
        {
            int at = next[key[index[p]]]++;
            _index[at] = index[p];
            _image[at] = image[p];
            if (displacements) { _dx[at] = d[p]; _dy[at] = d[len + p]; _dz[at] = d[2 * len + p]; _r[at] = d[3 * len + p]; }
        }
    }

    private void RefreshRows(int from, int to)
    {
        var u = _unwrapped;
        var img = _images;
        for (int i = from; i < to; i++)
        {
            double ux = u[3 * i], uy = u[3 * i + 1], uz = u[3 * i + 2];
            for (int k = _start[i], end = _start[i + 1]; k < end; k++)
            {
                int j = _index[k], c = 3 * _image[k];
                double x = u[3 * j] + img[c] - ux, y = u[3 * j + 1] + img[c + 1] - uy, z = u[3 * j + 2] + img[c + 2] - uz;
                _dx[k] = x; _dy[k] = y; _dz[k] = z;
                _r[k] = Math.Sqrt(x * x + y * y + z * z);
            }
        }
    }

    private static int FloorDiv(int a, int b) => a >= 0 ? a / b : -((-a + b - 1) / b);

    private static void Grow<T>(ref T[] array, int size)
    {
        if (array.Length < size) array = new T[size];
    }
}
