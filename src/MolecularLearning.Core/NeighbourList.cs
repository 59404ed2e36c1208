namespace MolecularLearning.Core;

/// <summary>
/// A full neighbour list (every pair appears from both sides) built with cell lists in O(N).
/// Correct for any cutoff, including cutoffs longer than half the box or than the box itself:
/// every periodic image within the cutoff is listed, each as its own entry (j may equal i for
/// self-images). Storage is compressed rows of structure-of-arrays, reused across builds so a
/// steady-state rebuild allocates nothing.
/// <para>
/// Verlet reuse: build with a skin; <see cref="Refresh"/> recomputes the stored displacements for
/// new positions (same cell) and <see cref="NeedsRebuild"/> says when an atom moved more than half
/// the skin. Consumers must skip entries with <c>R ≥ Cutoff</c>.
/// </para>
/// </summary>
public sealed class NeighbourList
{
    private int[] _start = [0];
    private int[] _index = [];
    private double[] _dx = [], _dy = [], _dz = [], _r = [];
    private double[] _offX = [], _offY = [], _offZ = []; // image offset relative to raw positions
    private double[] _reference = [];                   // positions at the last build
    private int[] _binOf = [], _binStart = [], _binAtoms = [];
    private double[] _wrapped = [], _frac = [];
    private int _pairs;

    /// <summary>The interaction cutoff (Å) the consumer asked for.</summary>
    public double Cutoff { get; private set; }
    /// <summary>Extra distance (Å) listed beyond the cutoff so the list survives several steps.</summary>
    public double Skin { get; private set; }
    public int AtomCount { get; private set; }
    public Cell? Cell { get; private set; }
    /// <summary>Number of stored (i, j, image) entries, skin included.</summary>
    public int PairCount => _pairs;

    /// <summary>Row offsets: the entries of atom i are [Start[i], Start[i+1]).</summary>
    public ReadOnlySpan<int> Start => _start.AsSpan(0, AtomCount + 1);
    public ReadOnlySpan<int> Index => _index.AsSpan(0, _pairs);
    /// <summary>Displacement x_j(image) − x_i, in Å.</summary>
    public ReadOnlySpan<double> Dx => _dx.AsSpan(0, _pairs);
    public ReadOnlySpan<double> Dy => _dy.AsSpan(0, _pairs);
    public ReadOnlySpan<double> Dz => _dz.AsSpan(0, _pairs);
    /// <summary>Distance |x_j(image) − x_i|, in Å.</summary>
    public ReadOnlySpan<double> R => _r.AsSpan(0, _pairs);

    /// <summary>Builds the list for positions (3N, Å) in a cell (null: isolated system).</summary>
    public void Build(ReadOnlySpan<double> positions, Cell? cell, double cutoff, double skin = 0)
    {
        if (positions.Length % 3 != 0) throw new ArgumentException("positions must hold 3N numbers");
        if (!(cutoff > 0) || !(skin >= 0)) throw new ArgumentOutOfRangeException(nameof(cutoff), "cutoff must be positive and skin non-negative");
        int n = positions.Length / 3;
        AtomCount = n; Cell = cell; Cutoff = cutoff; Skin = skin;
        double rc = cutoff + skin, rc2 = rc * rc;

        Grow(ref _wrapped, 3 * n); Grow(ref _frac, 3 * n); Grow(ref _binOf, n);
        Grow(ref _reference, 3 * n);
        positions.CopyTo(_reference);
        Grow(ref _start, n + 1);

        // Fractional coordinates in a periodic cell, or in the bounding box of an isolated system.
        Span<double> h = stackalloc double[9];
        Span<double> heights = stackalloc double[3];
        bool periodic = cell is not null;
        if (cell is not null)
        {
            cell.Matrix.CopyTo(h);
            heights[0] = cell.Heights.A; heights[1] = cell.Heights.B; heights[2] = cell.Heights.C;
            for (int i = 0; i < n; i++)
            {
                var f = cell.ToFractional(Vec3.At(positions, i));
                f = new(f.X - Math.Floor(f.X), f.Y - Math.Floor(f.Y), f.Z - Math.Floor(f.Z));
                // Floor can give exactly 1.0 for tiny negative inputs; keep f in [0, 1).
                f = new(f.X >= 1 ? 0 : f.X, f.Y >= 1 ? 0 : f.Y, f.Z >= 1 ? 0 : f.Z);
                f.To(_frac, i);
                cell.ToCartesian(f).To(_wrapped, i);
            }
        }
        else
        {
            var lo = new Vec3(double.MaxValue, double.MaxValue, double.MaxValue);
            var hi = new Vec3(double.MinValue, double.MinValue, double.MinValue);
            for (int i = 0; i < n; i++)
            {
                var p = Vec3.At(positions, i);
                lo = new(Math.Min(lo.X, p.X), Math.Min(lo.Y, p.Y), Math.Min(lo.Z, p.Z));
                hi = new(Math.Max(hi.X, p.X), Math.Max(hi.Y, p.Y), Math.Max(hi.Z, p.Z));
            }
            if (n == 0) lo = hi = default;
            var size = hi - lo;
            heights[0] = Math.Max(size.X, 1e-9) * (1 + 1e-12) + 1e-9;
            heights[1] = Math.Max(size.Y, 1e-9) * (1 + 1e-12) + 1e-9;
            heights[2] = Math.Max(size.Z, 1e-9) * (1 + 1e-12) + 1e-9;
            h.Clear(); h[0] = heights[0]; h[4] = heights[1]; h[8] = heights[2];
            for (int i = 0; i < n; i++)
            {
                var p = Vec3.At(positions, i);
                p.To(_wrapped, i);
                new Vec3((p.X - lo.X) / heights[0], (p.Y - lo.Y) / heights[1], (p.Z - lo.Z) / heights[2]).To(_frac, i);
            }
        }

        // Bins: as many as fit with width >= rc, but no more than about one atom per bin.
        Span<int> nb = stackalloc int[3];
        Span<int> reach = stackalloc int[3];
        long maxBins = Math.Max(1, n);
        for (int a = 0; a < 3; a++) nb[a] = Math.Max(1, (int)Math.Min(1024, Math.Floor(heights[a] / rc)));
        while ((long)nb[0] * nb[1] * nb[2] > maxBins)
        {
            int a = nb[0] >= nb[1] && nb[0] >= nb[2] ? 0 : nb[1] >= nb[2] ? 1 : 2;
            nb[a] = Math.Max(1, nb[a] / 2);
        }
        for (int a = 0; a < 3; a++)
            reach[a] = periodic
                ? (int)Math.Ceiling(rc * nb[a] / heights[a] * (1 + 1e-12))
                : Math.Min(nb[a] - 1, (int)Math.Ceiling(rc * nb[a] / heights[a] * (1 + 1e-12)));
        int binCount = nb[0] * nb[1] * nb[2];

        // Counting sort of atoms into bins.
        Grow(ref _binStart, binCount + 1);
        Grow(ref _binAtoms, n);
        _binStart.AsSpan(0, binCount + 1).Clear();
        for (int i = 0; i < n; i++)
        {
            int ba = Math.Min(nb[0] - 1, (int)(_frac[3 * i] * nb[0]));
            int bb = Math.Min(nb[1] - 1, (int)(_frac[3 * i + 1] * nb[1]));
            int bc = Math.Min(nb[2] - 1, (int)(_frac[3 * i + 2] * nb[2]));
            int bin = (ba * nb[1] + bb) * nb[2] + bc;
            _binOf[i] = bin;
            _binStart[bin + 1]++;
        }
        for (int b = 0; b < binCount; b++) _binStart[b + 1] += _binStart[b];
        {
            Span<int> fill = binCount <= 4096 ? stackalloc int[binCount] : new int[binCount];
            for (int i = 0; i < n; i++) _binAtoms[_binStart[_binOf[i]] + fill[_binOf[i]]++] = i;
        }

        int count = 0;
        for (int i = 0; i < n; i++)
        {
            _start[i] = count;
            int bin = _binOf[i];
            int ia = bin / (nb[1] * nb[2]), ib = bin / nb[2] % nb[1], ic = bin % nb[2];
            double wx = _wrapped[3 * i], wy = _wrapped[3 * i + 1], wz = _wrapped[3 * i + 2];
            double px = positions[3 * i], py = positions[3 * i + 1], pz = positions[3 * i + 2];
            for (int da = -reach[0]; da <= reach[0]; da++)
            {
                int ta = ia + da, qa = FloorDiv(ta, nb[0]);
                if (!periodic && qa != 0) continue;
                ta -= qa * nb[0];
                for (int db = -reach[1]; db <= reach[1]; db++)
                {
                    int tb = ib + db, qb = FloorDiv(tb, nb[1]);
                    if (!periodic && qb != 0) continue;
                    tb -= qb * nb[1];
                    for (int dc = -reach[2]; dc <= reach[2]; dc++)
                    {
                        int tc = ic + dc, qc = FloorDiv(tc, nb[2]);
                        if (!periodic && qc != 0) continue;
                        tc -= qc * nb[2];
                        double sx = 0, sy = 0, sz = 0;
                        if (periodic)
                        {
                            sx = qa * h[0] + qb * h[3] + qc * h[6];
                            sy = qa * h[1] + qb * h[4] + qc * h[7];
                            sz = qa * h[2] + qb * h[5] + qc * h[8];
                        }
                        bool zeroShift = qa == 0 && qb == 0 && qc == 0;
                        int target = (ta * nb[1] + tb) * nb[2] + tc;
                        for (int k = _binStart[target]; k < _binStart[target + 1]; k++)
                        {
                            int j = _binAtoms[k];
                            if (j == i && zeroShift) continue;
                            double dx = _wrapped[3 * j] + sx - wx, dy = _wrapped[3 * j + 1] + sy - wy, dz = _wrapped[3 * j + 2] + sz - wz;
                            double r2 = dx * dx + dy * dy + dz * dz;
                            if (r2 > rc2) continue;
                            if (count == _index.Length) GrowPairs(count);
                            _index[count] = j;
                            _dx[count] = dx; _dy[count] = dy; _dz[count] = dz; _r[count] = Math.Sqrt(r2);
                            _offX[count] = dx - (positions[3 * j] - px);
                            _offY[count] = dy - (positions[3 * j + 1] - py);
                            _offZ[count] = dz - (positions[3 * j + 2] - pz);
                            count++;
                        }
                    }
                }
            }
        }
        _start[n] = count;
        _pairs = count;
    }

    /// <summary>Recomputes displacements and distances for new positions with the images of the last build.</summary>
    public void Refresh(ReadOnlySpan<double> positions)
    {
        if (positions.Length != 3 * AtomCount) throw new ArgumentException("atom count changed since the neighbour list was built");
        for (int i = 0; i < AtomCount; i++)
        {
            double px = positions[3 * i], py = positions[3 * i + 1], pz = positions[3 * i + 2];
            for (int k = _start[i]; k < _start[i + 1]; k++)
            {
                int j = _index[k];
                double dx = positions[3 * j] - px + _offX[k];
                double dy = positions[3 * j + 1] - py + _offY[k];
                double dz = positions[3 * j + 2] - pz + _offZ[k];
                _dx[k] = dx; _dy[k] = dy; _dz[k] = dz;
                _r[k] = Math.Sqrt(dx * dx + dy * dy + dz * dz);
            }
        }
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
    public void Update(ReadOnlySpan<double> positions, Cell? cell, double cutoff, double skin)
    {
        if (cutoff != Cutoff || skin != Skin || NeedsRebuild(positions, cell)) Build(positions, cell, cutoff, skin);
        else Refresh(positions);
    }

    private static int FloorDiv(int a, int b) => a >= 0 ? a / b : -((-a + b - 1) / b);

    private static void Grow<T>(ref T[] array, int size)
    {
        if (array.Length < size) array = new T[size];
    }

    private void GrowPairs(int count)
    {
        int size = Math.Max(1024, count * 2);
        Array.Resize(ref _index, size);
        Array.Resize(ref _dx, size); Array.Resize(ref _dy, size); Array.Resize(ref _dz, size); Array.Resize(ref _r, size);
        Array.Resize(ref _offX, size); Array.Resize(ref _offY, size); Array.Resize(ref _offZ, size);
    }
}
