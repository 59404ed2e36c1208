namespace MolecularLearning.Core;

/// <summary>Between builds of <see cref="NeighbourList"/>: displacements refreshed for new positions, rows read within the cutoff, the rebuild test.</summary>
public sealed partial class NeighbourList
{
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

    /// <summary>
    /// True when the list cannot be trusted for these positions: another cell or atom count, an atom moved more than half
    /// the skin, or a coordinate that is not a number (the build then refuses it, naming the atom).
    /// </summary>
    public bool NeedsRebuild(ReadOnlySpan<double> positions, Cell? cell)
    {
        if (positions.Length != 3 * AtomCount || !Equals(cell, Cell)) return true;
        double limit2 = 0.25 * Skin * Skin;
        for (int i = 0; i < positions.Length; i += 3)
        {
            double dx = positions[i] - _reference[i], dy = positions[i + 1] - _reference[i + 1], dz = positions[i + 2] - _reference[i + 2];
            if (!(dx * dx + dy * dy + dz * dz <= limit2)) return true;
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
}
