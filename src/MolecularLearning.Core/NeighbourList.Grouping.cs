namespace MolecularLearning.Core;

/// <summary>Rows of <see cref="NeighbourList"/> ordered by a per-atom group key (e.g. the neighbour's species) after each build.</summary>
public sealed partial class NeighbourList
{
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
}
