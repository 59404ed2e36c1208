using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MolecularLearning.Core;

/// <summary>The candidate ranges of <see cref="NeighbourList"/>'s scan: counted and written a vector at a time (512, 256 or 128 bits).</summary>
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
        if (Vector256.IsHardwareAccelerated)
        {
            var vx = Vector256.Create(cx); var vy = Vector256.Create(cy); var vz = Vector256.Create(cz); var vr = Vector256.Create(rc2);
            for (; k + 4 <= end; k += 4)
            {
                var x = Vector256.LoadUnsafe(ref bx, (nuint)k) - vx;
                var y = Vector256.LoadUnsafe(ref by, (nuint)k) - vy;
                var z = Vector256.LoadUnsafe(ref bz, (nuint)k) - vz;
                count += BitOperations.PopCount(Vector256.LessThanOrEqual(x * x + y * y + z * z, vr).ExtractMostSignificantBits());
            }
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            // SSE, NEON: two at a time (the scalar loop cost 1.9x the 256-bit one).
            var vx = Vector128.Create(cx); var vy = Vector128.Create(cy); var vz = Vector128.Create(cz); var vr = Vector128.Create(rc2);
            for (; k + 2 <= end; k += 2)
            {
                var x = Vector128.LoadUnsafe(ref bx, (nuint)k) - vx;
                var y = Vector128.LoadUnsafe(ref by, (nuint)k) - vy;
                var z = Vector128.LoadUnsafe(ref bz, (nuint)k) - vz;
                count += BitOperations.PopCount(Vector128.LessThanOrEqual(x * x + y * y + z * z, vr).ExtractMostSignificantBits());
            }
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
        if (Vector256.IsHardwareAccelerated && k >= 0 && end <= bx.Length && end <= by.Length && end <= bz.Length)
        {
            ref double rx = ref MemoryMarshal.GetArrayDataReference(bx);
            ref double ry = ref MemoryMarshal.GetArrayDataReference(by);
            ref double rz = ref MemoryMarshal.GetArrayDataReference(bz);
            var vx = Vector256.Create(cx); var vy = Vector256.Create(cy); var vz = Vector256.Create(cz); var vr = Vector256.Create(rc2);
            for (; k + 4 <= end; k += 4)
            {
                var x = Vector256.LoadUnsafe(ref rx, (nuint)k) - vx;
                var y = Vector256.LoadUnsafe(ref ry, (nuint)k) - vy;
                var z = Vector256.LoadUnsafe(ref rz, (nuint)k) - vz;
                var r2 = x * x + y * y + z * z;
                uint mask = Vector256.LessThanOrEqual(r2, vr).ExtractMostSignificantBits();
                while (mask != 0)
                {
                    int lane = BitOperations.TrailingZeroCount(mask);
                    mask &= mask - 1;
                    if (k + lane == skip) continue;
                    Write(e++, k + lane, x.GetElement(lane), y.GetElement(lane), z.GetElement(lane), r2.GetElement(lane), code);
                }
            }
        }
        else if (Vector128.IsHardwareAccelerated && k >= 0 && end <= bx.Length && end <= by.Length && end <= bz.Length)
        {
            ref double rx = ref MemoryMarshal.GetArrayDataReference(bx);
            ref double ry = ref MemoryMarshal.GetArrayDataReference(by);
            ref double rz = ref MemoryMarshal.GetArrayDataReference(bz);
            var vx = Vector128.Create(cx); var vy = Vector128.Create(cy); var vz = Vector128.Create(cz); var vr = Vector128.Create(rc2);
            for (; k + 2 <= end; k += 2)
            {
                var x = Vector128.LoadUnsafe(ref rx, (nuint)k) - vx;
                var y = Vector128.LoadUnsafe(ref ry, (nuint)k) - vy;
                var z = Vector128.LoadUnsafe(ref rz, (nuint)k) - vz;
                var r2 = x * x + y * y + z * z;
                uint mask = Vector128.LessThanOrEqual(r2, vr).ExtractMostSignificantBits();
                while (mask != 0)
                {
                    int lane = BitOperations.TrailingZeroCount(mask);
                    mask &= mask - 1;
                    if (k + lane == skip) continue;
                    Write(e++, k + lane, x.GetElement(lane), y.GetElement(lane), z.GetElement(lane), r2.GetElement(lane), code);
                }
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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Write(int e, int k, double x, double y, double z, double r2, int code)
    {
        _index[e] = _binAtoms[k];
        _image[e] = (ushort)code;
        if (Storage == NeighbourStorage.Displacements) { _dx[e] = x; _dy[e] = y; _dz[e] = z; _r[e] = Math.Sqrt(r2); }
    }
}
