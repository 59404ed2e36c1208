using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MolecularLearning.Core;

/// <summary>The candidate ranges of <see cref="NeighbourList"/>'s scan: counted and written a vector at a time (512 bits, or the machine's <see cref="Vector{T}"/>: 256 or 128).</summary>
public sealed partial class NeighbourList
{
    /// <summary>How many bin-ordered atoms in [k, end) lie within √rc2 of (cx, cy, cz), the one at <paramref name="skip"/> excluded.</summary>
    private int CountRange(int k, int end, int skip, double cx, double cy, double cz, double rc2)
    {
        if (k < 0 || (uint)end > (uint)_binX.Length || (uint)end > (uint)_binY.Length || (uint)end > (uint)_binZ.Length)
            throw new IndexOutOfRangeException();
        // The skipped atom is i itself, at distance 0: it is counted below and taken off here.
        int count = skip >= k && skip < end ? -1 : 0;
        ref double bx = ref MemoryMarshal.GetArrayDataReference(_binX);
        ref double by = ref MemoryMarshal.GetArrayDataReference(_binY);
        ref double bz = ref MemoryMarshal.GetArrayDataReference(_binZ);
        if (Vector512.IsHardwareAccelerated)
        {
            var vx = Vector512.Create(cx); var vy = Vector512.Create(cy); var vz = Vector512.Create(cz); var vr = Vector512.Create(rc2);
            for (; k + 8 <= end; k += 8)
            {
                var x = Vector512.LoadUnsafe(ref bx, (nuint)k) - vx;
                var y = Vector512.LoadUnsafe(ref by, (nuint)k) - vy;
                var z = Vector512.LoadUnsafe(ref bz, (nuint)k) - vz;
                count += BitOperations.PopCount(Vector512.LessThanOrEqual(x * x + y * y + z * z, vr).ExtractMostSignificantBits());
            }
        }
        if (Vector.IsHardwareAccelerated)
        {
            var vx = new Vector<double>(cx); var vy = new Vector<double>(cy); var vz = new Vector<double>(cz); var vr = new Vector<double>(rc2);
            for (; k + Vector<double>.Count <= end; k += Vector<double>.Count) count += BitOperations.PopCount(Within(ref bx, ref by, ref bz, k, vx, vy, vz, vr));
        }
        for (; k < end; k++)
        {
            double x = Unsafe.Add(ref bx, k) - cx, y = Unsafe.Add(ref by, k) - cy, z = Unsafe.Add(ref bz, k) - cz;
            count += x * x + y * y + z * z <= rc2 ? 1 : 0;
        }
        return count;
    }

    /// <summary>Writes the entries that <see cref="CountRange"/> counts, from entry <paramref name="at"/>; returns how many.</summary>
    private int FillRange(int k, int end, int skip, double cx, double cy, double cz, double rc2, int code, int at)
    {
        int e = at;
        var bx = _binX; var by = _binY; var bz = _binZ;
        if (Storage == NeighbourStorage.Compact && Vector512.IsHardwareAccelerated && Avx512F.VL.IsSupported && Avx512BW.VL.IsSupported)
            (k, e) = FillCompactEight(k, end, skip, cx, cy, cz, rc2, code, e);
        if (Vector.IsHardwareAccelerated && k >= 0 && end <= bx.Length && end <= by.Length && end <= bz.Length)
        {
            ref double rx = ref MemoryMarshal.GetArrayDataReference(bx);
            ref double ry = ref MemoryMarshal.GetArrayDataReference(by);
            ref double rz = ref MemoryMarshal.GetArrayDataReference(bz);
            var vx = new Vector<double>(cx); var vy = new Vector<double>(cy); var vz = new Vector<double>(cz); var vr = new Vector<double>(rc2);
            for (; k + Vector<double>.Count <= end; k += Vector<double>.Count)
                for (uint mask = Within(ref rx, ref ry, ref rz, k, vx, vy, vz, vr); mask != 0; mask &= mask - 1)
                {
                    int lane = k + BitOperations.TrailingZeroCount(mask);
                    if (lane == skip) continue;
                    // The displacement again from the bin coordinates: the same operations as the lanes', so the same numbers.
                    double x = Unsafe.Add(ref rx, lane) - cx, y = Unsafe.Add(ref ry, lane) - cy, z = Unsafe.Add(ref rz, lane) - cz;
                    Write(e++, lane, x, y, z, x * x + y * y + z * z, code);
                }
        }
        for (; k < end; k++)
        {
            double x = bx[k] - cx, y = by[k] - cy, z = bz[k] - cz;
            double r2 = x * x + y * y + z * z;
            if (r2 > rc2 || k == skip) continue;
            Write(e++, k, x, y, z, r2, code);
        }
        return e - at;
    }

    /// <summary>
    /// <see cref="FillRange"/> for compact storage, eight candidates at a time: the neighbours' indices packed by
    /// AVX-512 compress and written with a masked store (never past this row's last entry: the next row may be
    /// another thread's). Returns where the remaining candidates start and the next entry.
    /// </summary>
    private unsafe (int K, int E) FillCompactEight(int k, int end, int skip, double cx, double cy, double cz, double rc2, int code, int e)
    {
        if (k < 0 || end > _binX.Length || end > _binY.Length || end > _binZ.Length || end > _binAtoms.Length) throw new IndexOutOfRangeException();
        var vx = Vector512.Create(cx); var vy = Vector512.Create(cy); var vz = Vector512.Create(cz); var vr = Vector512.Create(rc2);
        var lanes = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);
        var vskip = Vector256.Create(skip);
        var codes = Vector128.Create((ushort)code);
        var lanes16 = Vector128.Create((ushort)0, 1, 2, 3, 4, 5, 6, 7);
        fixed (double* bx = _binX) fixed (double* by = _binY) fixed (double* bz = _binZ) fixed (int* atoms = _binAtoms)
        fixed (int* index = _index) fixed (ushort* images = _image)
        {
            for (; k + 8 <= end; k += 8)
            {
                var x = Vector512.Load(bx + k) - vx;
                var y = Vector512.Load(by + k) - vy;
                var z = Vector512.Load(bz + k) - vz;
                var inside = Vector512.LessThanOrEqual(x * x + y * y + z * z, vr);
                if (inside == Vector512<double>.Zero) continue;
                // Lanes as 32-bit masks, the agent itself (at bin position skip) taken out.
                var keep = Avx512F.ConvertToVector256Int32(inside.AsInt64()) & ~Vector256.Equals(lanes + Vector256.Create(k), vskip);
                int count = BitOperations.PopCount(keep.ExtractMostSignificantBits());
                if (e + count > _index.Length || e + count > _image.Length) throw new IndexOutOfRangeException();
                var packed = Avx512F.VL.Compress(Vector256<int>.Zero, keep, Avx.LoadVector256(atoms + k));
                Avx2.MaskStore(index + e, Vector256.LessThan(lanes, Vector256.Create(count)), packed);
                // The image codes by a masked store too: a per-entry loop here cost 30 % of the build (its exit mispredicts).
                Avx512BW.VL.MaskStore(images + e, Vector128.LessThan(lanes16, Vector128.Create((ushort)count)), codes);
                e += count;
            }
        }
        return (k, e);
    }

    /// <summary>
    /// A bit per lane for the bin-ordered atoms k, k + 1, … (<see cref="Vector{T}"/> width: 256 bits with AVX2, 128 with
    /// SSE or NEON; the scalar loop cost 1.9x the 256-bit one) within √r2 of (cx, cy, cz).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Within(ref double bx, ref double by, ref double bz, int k, Vector<double> cx, Vector<double> cy, Vector<double> cz, Vector<double> r2)
    {
        var x = Vector.LoadUnsafe(ref bx, (nuint)k) - cx;
        var y = Vector.LoadUnsafe(ref by, (nuint)k) - cy;
        var z = Vector.LoadUnsafe(ref bz, (nuint)k) - cz;
        var inside = Vector.LessThanOrEqual(x * x + y * y + z * z, r2);
        return Vector<double>.Count switch
        {
            8 => (uint)inside.AsVector512().ExtractMostSignificantBits(),
            4 => inside.AsVector256().ExtractMostSignificantBits(),
            _ => inside.AsVector128().ExtractMostSignificantBits(),
        };
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Write(int e, int k, double x, double y, double z, double r2, int code)
    {
        _index[e] = _binAtoms[k];
        _image[e] = (ushort)code;
        if (Storage == NeighbourStorage.Displacements) { _dx[e] = x; _dy[e] = y; _dz[e] = z; _r[e] = Math.Sqrt(r2); }
    }
}
