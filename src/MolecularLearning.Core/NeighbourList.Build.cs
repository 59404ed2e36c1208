namespace MolecularLearning.Core;

/// <summary><see cref="NeighbourList"/>'s build: the cell's bins and images, then the stencil scan, counted and filled per chunk of rows.</summary>
public sealed partial class NeighbourList
{
    /// <summary>
    /// Builds the list for positions (3N, Å) in a cell (null: isolated system, nothing wrapped), with rows for the
    /// first <paramref name="rows"/> atoms (negative: all).
    /// </summary>
    public void Build(ReadOnlySpan<double> positions, Cell? cell, double cutoff, double skin = 0, int rows = -1)
    {
        if (positions.Length % 3 != 0) throw new ArgumentException("positions must hold 3N numbers");
        if (!(cutoff > 0) || !(skin >= 0)) throw new ArgumentOutOfRangeException(nameof(cutoff), "cutoff must be positive and skin non-negative");
        int n = positions.Length / 3;
        NeighbourLimits.CheckPositions(positions, AtomNumbers);
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
        NeighbourLimits.CheckCounts(_start.AsSpan(1, n), rc, MaxNeighboursPerAtom, AtomNumbers);
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

    private static int FloorDiv(int a, int b) => a >= 0 ? a / b : -((-a + b - 1) / b);
}
