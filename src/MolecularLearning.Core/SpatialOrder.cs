namespace MolecularLearning.Core;

/// <summary>
/// An order of the atoms in which neighbours in space lie near each other in memory: atoms binned on a grid of bins
/// about <c>binLength</c> wide (in the cell's fractional coordinates, or the bounding box of an isolated system), the
/// bins taken along a Morton (Z-order) curve, atoms within a bin in their own order. An evaluator that gathers its
/// neighbours' coordinates by index runs in this order, as LAMMPS sorts its atoms: on input whose order has nothing to
/// do with space (a liquid after diffusion, a shuffled file), nearly every gather otherwise misses the caches.
/// </summary>
/// <remarks>O(N) per <see cref="Compute"/> (a counting sort over the bins); allocates only when the atom count or the grid changes.</remarks>
public sealed class SpatialOrder
{
    /// <summary>Most bins per axis: 2¹⁰, so a bin's Morton key fits 30 bits.</summary>
    private const int MaxBinsPerAxis = 1024;

    private int[] _order = [];
    private int[] _rank = [];     // per atom: the Morton rank of its bin
    private int[] _first = [];    // per Morton rank: the first slot of that bin
    private int[] _rankOfBin = []; // per bin (a + na (b + nb c)): its Morton rank
    private int _na, _nb, _nc;

    /// <summary>Atoms ordered by the last <see cref="Compute"/>.</summary>
    public int AtomCount { get; private set; }

    /// <summary>Slot a holds atom <c>Order[a]</c>.</summary>
    public ReadOnlySpan<int> Order => _order.AsSpan(0, AtomCount);

    /// <summary>Bins per axis of the last <see cref="Compute"/>.</summary>
    public (int A, int B, int C) Bins => (_na, _nb, _nc);

    /// <summary>Orders the atoms at <paramref name="positions"/> (3N, Å). Non-finite coordinates land in bin 0: the caller's checks name them.</summary>
    public void Compute(ReadOnlySpan<double> positions, Cell? cell, double binLength)
    {
        if (positions.Length % 3 != 0) throw new ArgumentException("positions must hold 3N numbers");
        if (!(binLength > 0)) throw new ArgumentOutOfRangeException(nameof(binLength), "bin length must be positive");
        int n = positions.Length / 3;
        AtomCount = n;
        if (_order.Length < n) { _order = new int[n]; _rank = new int[n]; }
        // Fractional coordinates f = r · M⁻¹ (Cell.ToFractional); an isolated system's bounding box stands in for the cell.
        Span<double> inv = stackalloc double[9];
        Span<double> lo = stackalloc double[3];
        Span<double> extent = stackalloc double[3];
        inv.Clear(); lo.Clear();
        if (cell is not null)
        {
            cell.Inverse.CopyTo(inv);
            (extent[0], extent[1], extent[2]) = cell.Heights;
        }
        else
        {
            Span<double> hi = stackalloc double[3];
            lo.Fill(double.MaxValue); hi.Fill(double.MinValue);
            for (int i = 0; i < 3 * n; i++)
            {
                double v = positions[i];
                if (!double.IsFinite(v)) continue;
                lo[i % 3] = Math.Min(lo[i % 3], v);
                hi[i % 3] = Math.Max(hi[i % 3], v);
            }
            for (int a = 0; a < 3; a++)
            {
                if (lo[a] > hi[a]) lo[a] = hi[a] = 0;
                extent[a] = Math.Max(hi[a] - lo[a], 1e-9) * (1 + 1e-12);
                inv[4 * a] = 1 / extent[a];
            }
        }
        int na = BinsAlong(extent[0], binLength), nb = BinsAlong(extent[1], binLength), nc = BinsAlong(extent[2], binLength);
        // At most about two bins an atom, so the grid's arrays stay O(N) in a dilute system.
        while ((long)na * nb * nc > 2L * Math.Max(n, 4))
        {
            if (na >= nb && na >= nc) na = (na + 1) / 2;
            else if (nb >= nc) nb = (nb + 1) / 2;
            else nc = (nc + 1) / 2;
        }
        if (na != _na || nb != _nb || nc != _nc) RankBins(na, nb, nc);
        int bins = na * nb * nc;
        var first = _first.AsSpan(0, bins + 1);
        first.Clear();
        for (int i = 0; i < n; i++)
        {
            double x = positions[3 * i] - lo[0], y = positions[3 * i + 1] - lo[1], z = positions[3 * i + 2] - lo[2];
            int a = Bin(x * inv[0] + y * inv[3] + z * inv[6], na);
            int b = Bin(x * inv[1] + y * inv[4] + z * inv[7], nb);
            int c = Bin(x * inv[2] + y * inv[5] + z * inv[8], nc);
            int r = _rankOfBin[a + na * (b + nb * c)];
            _rank[i] = r;
            first[r + 1]++;
        }
        for (int r = 0; r < bins; r++) first[r + 1] += first[r];
        for (int i = 0; i < n; i++) _order[first[_rank[i]]++] = i;
    }

    private static int BinsAlong(double length, double binLength) =>
        (int)Math.Clamp(Math.Floor(length / binLength), 1, MaxBinsPerAxis);

    /// <summary>The bin of a fractional coordinate, periodic images folded in (an isolated system's lie in [0, 1) already).</summary>
    private static int Bin(double f, int bins)
    {
        f -= Math.Floor(f);
        return Math.Clamp((int)(f * bins), 0, bins - 1); // NaN converts to 0
    }

    /// <summary>Each bin's rank along the Morton curve of its indices (bits of a, b, c interleaved).</summary>
    private void RankBins(int na, int nb, int nc)
    {
        _na = na; _nb = nb; _nc = nc;
        int bins = na * nb * nc;
        var keys = new long[bins];
        var ids = new int[bins];
        for (int c = 0, id = 0; c < nc; c++)
            for (int b = 0; b < nb; b++)
                for (int a = 0; a < na; a++, id++)
                {
                    keys[id] = Spread(a) | Spread(b) << 1 | Spread(c) << 2;
                    ids[id] = id;
                }
        Array.Sort(keys, ids);
        _rankOfBin = new int[bins];
        for (int r = 0; r < bins; r++) _rankOfBin[ids[r]] = r;
        _first = new int[bins + 1];
    }

    /// <summary>The 10 low bits of v spread to every third bit.</summary>
    private static long Spread(int v)
    {
        long x = v & 0x3ff;
        x = (x | x << 16) & 0x030000FF;
        x = (x | x << 8) & 0x0300F00F;
        x = (x | x << 4) & 0x030C30C3;
        x = (x | x << 2) & 0x09249249;
        return x;
    }
}
