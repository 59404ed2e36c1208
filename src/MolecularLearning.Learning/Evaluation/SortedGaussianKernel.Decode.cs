using System.Runtime.CompilerServices;
using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using MolecularLearning.Core;

namespace MolecularLearning.Learning;

/// <summary>The compact neighbour row of one agent decoded into the structure-of-arrays scratch, species by species (AVX-512, AVX2, 128-bit or scalar).</summary>
internal sealed partial class SortedGaussianKernel<V>
{
    /// <summary>
    /// The row of agent i within the list cutoff, decoded from the compact entries (as <see cref="NeighbourList.GetRow"/>,
    /// the same arithmetic, so the same bits) species by species, each species' entries padded to whole vectors with an
    /// entry beyond every cutoff (which adds exactly nothing). Returns the padded total.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)] // a frame of its own in profiles; called once per agent
    private int Decode(int i, KernelScratch s, NeighbourList list, PaddedCoordinates xyz)
    {
        var index = list.Index;
        var image = list.ImageCodes;
        var u = xyz.Positions;
        var img = xyz.Images;
        if (s.Atom.Length < list.GroupStart(i, _species) - list.GroupStart(i, 0) + W * _species || 4 * list.AtomCount > u.Length)
            throw new InvalidOperationException("kernel scratch too small for the row");
        CheckRow(index, image, list.GroupStart(i, 0), list.GroupStart(i, _species), u.Length / 4, img.Length / 4);
        double pad = 4 * _rcList2;
        int at = 0;
        for (int t = 0; t < _species; t++)
        {
            int k0 = list.GroupStart(i, t), k1 = list.GroupStart(i, t + 1);
            s.GroupBase[t] = at;
            int m = Avx2.IsSupported && Avx512F.VL.IsSupported ? DecodeWide(i, k0, k1, at, index, image, u, img, s)
                : Avx2.IsSupported ? DecodeAvx(i, k0, k1, at, index, image, u, img, s)
                : Vector128.IsHardwareAccelerated ? DecodePairs(i, k0, k1, at, index, image, u, img, s)
                : DecodeScalar(i, k0, k1, at, index, image, u, img, s);
            s.GroupCount[t] = m - at;
            int end = at + (m - at + W - 1) / W * W;
            for (; m < end; m++) { s.Dx[m] = 0; s.Dy[m] = 0; s.Dz[m] = 0; s.R2[m] = pad; }
            at = end;
        }
        return at;
    }

    /// <summary>Entries [k, k1) of agent i from <paramref name="at"/> on, those inside the cutoff kept: returns the next free slot.</summary>
    private int DecodeScalar(int i, int k, int k1, int at, ReadOnlySpan<int> index, ReadOnlySpan<ushort> image, double[] u, double[] img, KernelScratch s)
    {
        double ux = u[4 * i], uy = u[4 * i + 1], uz = u[4 * i + 2], rc2 = _rcList2;
        int m = at;
        for (; k < k1; k++)
        {
            int j = index[k], c = image[k]; // in range: CheckRow
            double x = u[4 * j] + img[4 * c] - ux, y = u[4 * j + 1] + img[4 * c + 1] - uy, z = u[4 * j + 2] + img[4 * c + 2] - uz;
            double r2 = x * x + y * y + z * z;
            // Written unconditionally, kept by advancing m: no unpredictable branch at the skin.
            s.Atom[m] = j; s.Dx[m] = x; s.Dy[m] = y; s.Dz[m] = z; s.R2[m] = r2;
            m += r2 < rc2 ? 1 : 0;
        }
        return m;
    }

    /// <summary>
    /// <see cref="DecodeScalar"/> eight entries at a time, where AVX-512 is there (any kernel width): each neighbour's (x, y, z, 0)
    /// and its image translation are one 256-bit load each, transposed into x, y, z vectors, and the entries inside the
    /// cutoff packed by AVX-512 compress. <see cref="DecodeAvx"/> takes the last few entries.
    /// </summary>
    private unsafe int DecodeWide(int i, int k, int k1, int at, ReadOnlySpan<int> index, ReadOnlySpan<ushort> image, double[] u, double[] img, KernelScratch s)
    {
        if (k1 > index.Length || k1 > image.Length || s.Atom.Length < at + (k1 - k) + W) throw new IndexOutOfRangeException();
        int m = at;
        fixed (int* pj = index) fixed (ushort* pc = image) fixed (double* pu = u) fixed (double* ps = img)
        fixed (int* atom = s.Atom) fixed (double* dx = s.Dx) fixed (double* dy = s.Dy) fixed (double* dz = s.Dz) fixed (double* r2s = s.R2)
        {
            var ui = Vector256.Load(pu + 4 * i);
            var ui2 = Vector512.Create(ui, ui);
            var rc2w = Vector512.Create(_rcList2);
            // The x lanes of the unpacked pairs in entry order: (t0[0,1], t2[0,1], t0[4,5], t2[4,5]); t2's lanes count from 8.
            var pick = Vector512.Create(0L, 1, 8, 9, 4, 5, 12, 13);
            var pickHigh = Vector512.Create(2L, 3, 10, 11, 6, 7, 14, 15);
            // Eight at a time: entries q and q + 4 share a 512-bit register, so (x_j + S_c) − x_i is four 512-bit
            // operations and the transpose is four unpacks and three two-source permutes (the shuffle port was the limit).
            // Indices and codes checked for the whole row (CheckRow).
            for (; k + 8 <= k1; k += 8)
            {
                var p0 = Vector512.Create(Vector256.Load(pu + 4 * pj[k]), Vector256.Load(pu + 4 * pj[k + 4])) + Vector512.Create(Vector256.Load(ps + 4 * pc[k]), Vector256.Load(ps + 4 * pc[k + 4])) - ui2;
                var p1 = Vector512.Create(Vector256.Load(pu + 4 * pj[k + 1]), Vector256.Load(pu + 4 * pj[k + 5])) + Vector512.Create(Vector256.Load(ps + 4 * pc[k + 1]), Vector256.Load(ps + 4 * pc[k + 5])) - ui2;
                var p2 = Vector512.Create(Vector256.Load(pu + 4 * pj[k + 2]), Vector256.Load(pu + 4 * pj[k + 6])) + Vector512.Create(Vector256.Load(ps + 4 * pc[k + 2]), Vector256.Load(ps + 4 * pc[k + 6])) - ui2;
                var p3 = Vector512.Create(Vector256.Load(pu + 4 * pj[k + 3]), Vector256.Load(pu + 4 * pj[k + 7])) + Vector512.Create(Vector256.Load(ps + 4 * pc[k + 3]), Vector256.Load(ps + 4 * pc[k + 7])) - ui2;
                var t0 = Avx512F.UnpackLow(p0, p1); var t1 = Avx512F.UnpackHigh(p0, p1);   // (x0 x1 z0 z1 | x4 x5 z4 z5), (y0 y1 · · | y4 y5 · ·)
                var t2 = Avx512F.UnpackLow(p2, p3); var t3 = Avx512F.UnpackHigh(p2, p3);   // the same for entries 2, 3, 6, 7
                var x = Avx512F.PermuteVar8x64x2(t0, pick, t2);
                var y = Avx512F.PermuteVar8x64x2(t1, pick, t3);
                var z = Avx512F.PermuteVar8x64x2(t0, pickHigh, t2);
                var r2 = x * x + y * y + z * z;
                var keep = Vector512.LessThan(r2, rc2w);
                int kept = BitOperations.PopCount(keep.ExtractMostSignificantBits());
                if (kept == 0) continue;
                Avx512F.Compress(Vector512<double>.Zero, keep, x).Store(dx + m);
                Avx512F.Compress(Vector512<double>.Zero, keep, y).Store(dy + m);
                Avx512F.Compress(Vector512<double>.Zero, keep, z).Store(dz + m);
                Avx512F.Compress(Vector512<double>.Zero, keep, r2).Store(r2s + m);
                Avx512F.VL.Compress(Vector256<int>.Zero, Avx512F.ConvertToVector256Int32(keep.AsInt64()), Vector256.Load(pj + k)).Store(atom + m);
                m += kept;
            }
        }
        // The last few entries (at most seven): four at a time as on AVX2, then one by one.
        return DecodeAvx(i, k, k1, m, index, image, u, img, s);
    }

    /// <summary>
    /// Every neighbour index below <paramref name="atoms"/> and image code below <paramref name="codes"/> in the row [from, to),
    /// checked once per agent (vectorised by the library), so no decode loop below tests an entry.
    /// </summary>
    private static void CheckRow(ReadOnlySpan<int> index, ReadOnlySpan<ushort> image, int from, int to, int atoms, int codes)
    {
        if (from < 0 || to < from || to > index.Length || to > image.Length) throw new IndexOutOfRangeException();
        if (to == from) return;
        if (atoms == 0 || codes == 0 || index[from..to].IndexOfAnyExceptInRange(0, atoms - 1) >= 0
            || codes <= ushort.MaxValue && image[from..to].IndexOfAnyExceptInRange((ushort)0, (ushort)(codes - 1)) >= 0)
            throw new IndexOutOfRangeException();
    }

    /// <summary>
    /// Whole vectors are stored at m ≤ at + (entries done) by the loops without compress: every array needs at + (k1 − k)
    /// slots, and the entries [k, k1) must be in the row.
    /// </summary>
    private static void CheckRoom(int k, int k1, int at, ReadOnlySpan<int> index, ReadOnlySpan<ushort> image, KernelScratch s)
    {
        int need = at + (k1 - k);
        if (k1 > index.Length || k1 > image.Length || s.Atom.Length < need || s.Dx.Length < need || s.Dy.Length < need || s.Dz.Length < need || s.R2.Length < need)
            throw new IndexOutOfRangeException();
    }

    /// <summary>
    /// <see cref="DecodeScalar"/> four entries at a time on AVX2 (and <see cref="DecodeWide"/>'s last few): each neighbour's
    /// (x, y, z, 0) and image translation one 256-bit load, transposed by unpacks and lane permutes, then compress emulated
    /// by a permutation per keep mask (<see cref="DecodeTables"/>): every lane stored, the kept ones first, and the slot
    /// advanced by the lanes kept. Storing lane by lane cost as much as the scalar decode.
    /// </summary>
    private unsafe int DecodeAvx(int i, int k, int k1, int at, ReadOnlySpan<int> index, ReadOnlySpan<ushort> image, double[] u, double[] img, KernelScratch s)
    {
        CheckRoom(k, k1, at, index, image, s);
        int m = at;
        var rc2 = Vector256.Create(_rcList2);
        fixed (int* pj = index) fixed (ushort* pc = image) fixed (double* pu = u) fixed (double* ps = img)
        fixed (int* atom = s.Atom) fixed (double* dx = s.Dx) fixed (double* dy = s.Dy) fixed (double* dz = s.Dz) fixed (double* r2s = s.R2)
        fixed (int* pairs = DecodeTables.Pairs) fixed (int* lanes = DecodeTables.Lanes)
        {
            var ui = Vector256.Load(pu + 4 * i);
            for (; k + 4 <= k1; k += 4)
            {
                // Indices and codes checked for the whole row (CheckRow).
                var a0 = Vector256.Load(pu + 4 * pj[k]) + Vector256.Load(ps + 4 * pc[k]) - ui;
                var a1 = Vector256.Load(pu + 4 * pj[k + 1]) + Vector256.Load(ps + 4 * pc[k + 1]) - ui;
                var a2 = Vector256.Load(pu + 4 * pj[k + 2]) + Vector256.Load(ps + 4 * pc[k + 2]) - ui;
                var a3 = Vector256.Load(pu + 4 * pj[k + 3]) + Vector256.Load(ps + 4 * pc[k + 3]) - ui;
                var t0 = Avx.UnpackLow(a0, a1); var t1 = Avx.UnpackHigh(a0, a1);
                var t2 = Avx.UnpackLow(a2, a3); var t3 = Avx.UnpackHigh(a2, a3);
                var x = Avx.Permute2x128(t0, t2, 0x20);
                var z = Avx.Permute2x128(t0, t2, 0x31);
                var y = Avx.Permute2x128(t1, t3, 0x20);
                var r2 = x * x + y * y + z * z;
                uint keep = Vector256.LessThan(r2, rc2).ExtractMostSignificantBits();
                var perm = Vector256.Load(pairs + 8 * keep);
                Avx2.PermuteVar8x32(x.AsSingle(), perm).AsDouble().Store(dx + m);
                Avx2.PermuteVar8x32(y.AsSingle(), perm).AsDouble().Store(dy + m);
                Avx2.PermuteVar8x32(z.AsSingle(), perm).AsDouble().Store(dz + m);
                Avx2.PermuteVar8x32(r2.AsSingle(), perm).AsDouble().Store(r2s + m);
                Avx.PermuteVar(Vector128.Load(pj + k).AsSingle(), Vector128.Load(lanes + 4 * keep)).AsInt32().Store(atom + m);
                m += BitOperations.PopCount(keep);
            }
        }
        return DecodeScalar(i, k, k1, m, index, image, u, img, s);
    }

    /// <summary>
    /// <see cref="DecodeScalar"/> two entries at a time on 128-bit vectors without AVX2 (SSE, NEON): each neighbour's (x, y)
    /// and (z, 0) are two loads, transposed into x, y, z pairs; both lanes stored, lane 1 moved down when only it is kept.
    /// </summary>
    private unsafe int DecodePairs(int i, int k, int k1, int at, ReadOnlySpan<int> index, ReadOnlySpan<ushort> image, double[] u, double[] img, KernelScratch s)
    {
        CheckRoom(k, k1, at, index, image, s);
        int m = at;
        var rc2 = Vector128.Create(_rcList2);
        fixed (int* pj = index) fixed (ushort* pc = image) fixed (double* pu = u) fixed (double* ps = img)
        fixed (int* atom = s.Atom) fixed (double* dx = s.Dx) fixed (double* dy = s.Dy) fixed (double* dz = s.Dz) fixed (double* r2s = s.R2)
        {
            var uxy = Vector128.Load(pu + 4 * i);
            var uz = Vector128.Load(pu + 4 * i + 2);
            for (; k + 2 <= k1; k += 2)
            {
                int j0 = pj[k], j1 = pj[k + 1], c0 = pc[k], c1 = pc[k + 1]; // checked for the whole row (CheckRow)
                // (x_j + S_c) − x_i, as the scalar loop adds them.
                var a0 = Vector128.Load(pu + 4 * j0) + Vector128.Load(ps + 4 * c0) - uxy;
                var a1 = Vector128.Load(pu + 4 * j1) + Vector128.Load(ps + 4 * c1) - uxy;
                var b0 = Vector128.Load(pu + 4 * j0 + 2) + Vector128.Load(ps + 4 * c0 + 2) - uz;
                var b1 = Vector128.Load(pu + 4 * j1 + 2) + Vector128.Load(ps + 4 * c1 + 2) - uz;
                var x = Low(a0, a1); var y = High(a0, a1); var z = Low(b0, b1);
                var r2 = x * x + y * y + z * z;
                uint keep = Vector128.LessThan(r2, rc2).ExtractMostSignificantBits();
                var down = Vector128.Create(keep == 2 ? -1L : 0L).AsDouble(); // only lane 1 kept: it goes to lane 0
                Vector128.ConditionalSelect(down, High(x, x), x).Store(dx + m);
                Vector128.ConditionalSelect(down, High(y, y), y).Store(dy + m);
                Vector128.ConditionalSelect(down, High(z, z), z).Store(dz + m);
                Vector128.ConditionalSelect(down, High(r2, r2), r2).Store(r2s + m);
                atom[m] = keep == 2 ? j1 : j0; atom[m + 1] = j1;
                m += BitOperations.PopCount(keep);
            }
        }
        return DecodeScalar(i, k, k1, m, index, image, u, img, s);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<double> Low(Vector128<double> a, Vector128<double> b) =>
        Sse2.IsSupported ? Sse2.UnpackLow(a, b) : AdvSimd.Arm64.IsSupported ? AdvSimd.Arm64.ZipLow(a, b) : Vector128.Create(a.ToScalar(), b.ToScalar());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<double> High(Vector128<double> a, Vector128<double> b) =>
        Sse2.IsSupported ? Sse2.UnpackHigh(a, b) : AdvSimd.Arm64.IsSupported ? AdvSimd.Arm64.ZipHigh(a, b) : Vector128.Create(a.GetElement(1), b.GetElement(1));
}

/// <summary>Compress by permutation where the CPU has no compress instruction: per mask of kept lanes, the kept lanes first.</summary>
internal static class DecodeTables
{
    /// <summary>16 masks of four lanes × 8 int32 indices moving the kept doubles (pairs of int32) to the front (vpermd).</summary>
    public static readonly int[] Pairs = Build(pairs: true);

    /// <summary>16 masks × 4 int32 indices moving the kept int32 lanes to the front (vpermilps).</summary>
    public static readonly int[] Lanes = Build(pairs: false);

    private static int[] Build(bool pairs)
    {
        int width = pairs ? 8 : 4;
        var table = new int[16 * width];
        for (int mask = 0; mask < 16; mask++)
        {
            int at = 0;
            for (int lane = 0; lane < 4; lane++)
            {
                if ((mask >> lane & 1) == 0) continue;
                if (pairs) { table[mask * 8 + 2 * at] = 2 * lane; table[mask * 8 + 2 * at + 1] = 2 * lane + 1; }
                else table[mask * 4 + at] = lane;
                at++;
            }
        }
        return table;
    }
}

/// <summary>
/// The neighbour list's x + t and image translations as (x, y, z, 0) quadruples, so the kernel loads a neighbour's
/// coordinates in one 256-bit load. Refreshed once per evaluation (O(N), ~1 ns an atom); images only after a build.
/// </summary>
internal sealed class PaddedCoordinates
{
    private long _builds = -1;
    public double[] Positions = [], Images = [];

    public void Update(NeighbourList list)
    {
        var u = list.Unwrapped;
        int n = u.Length / 3;
        if (Positions.Length < 4 * n) Positions = new double[4 * n];
        for (int i = 0; i < n; i++) { Positions[4 * i] = u[3 * i]; Positions[4 * i + 1] = u[3 * i + 1]; Positions[4 * i + 2] = u[3 * i + 2]; }
        if (list.Builds == _builds) return;
        _builds = list.Builds;
        var img = list.ImageTranslations;
        int codes = img.Length / 3;
        if (Images.Length < 4 * codes) Images = new double[4 * codes];
        for (int c = 0; c < codes; c++) { Images[4 * c] = img[3 * c]; Images[4 * c + 1] = img[3 * c + 1]; Images[4 * c + 2] = img[3 * c + 2]; }
    }
}
