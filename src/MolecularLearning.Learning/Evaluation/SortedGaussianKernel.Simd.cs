using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace MolecularLearning.Learning;

/// <summary>
/// The operations <see cref="SortedGaussianKernel{V}"/> needs on a vector of doubles, so the kernel is written once and
/// the JIT specialises it per width (<see cref="Simd512"/>, <see cref="Simd256"/>, <see cref="Simd128"/>).
/// The BCL's own ISimdVector is internal in .NET 10, hence this small copy of it.
/// </summary>
/// <remarks>Masks are vectors of doubles with all bits set or clear, as Vector512.LessThan returns them.</remarks>
/// <remarks>
/// Every member of the three structs is AggressiveInlining and tests the instruction set directly: in the kernel's large
/// methods the JIT otherwise stops inlining (budget, or its cap on locals) and each vector operator becomes a call, two to three
/// times slower. `mld bench` reports any such call (its JSON's "jit"), and BenchJitTests fails on one.
/// </remarks>
internal interface ISimd<V> where V : struct, ISimd<V>
{
    /// <summary>Doubles per vector.</summary>
    static abstract int Count { get; }
    static abstract bool IsHardwareAccelerated { get; }
    static abstract V Zero { get; }
    static abstract V One { get; }
    static abstract V AllBitsSet { get; }
    /// <summary>(0, 1, …, Count − 1).</summary>
    static abstract V Lanes { get; }
    static abstract V Create(double x);
    static abstract V LoadUnsafe(ref double source);
    static abstract V LoadUnsafe(ref double source, nuint index);
    void StoreUnsafe(ref double destination);
    void StoreUnsafe(ref double destination, nuint index);
    uint ExtractMostSignificantBits();
    static abstract V operator +(V a, V b);
    static abstract V operator -(V a, V b);
    static abstract V operator *(V a, V b);
    static abstract V operator *(V a, double b);
    static abstract V operator /(V a, V b);
    static abstract V operator -(V a);
    static abstract V operator &(V a, V b);
    static abstract V operator ~(V a);
    /// <summary>a b + c, fused where the hardware has FMA (else a product and a sum: ~1 ulp apart).</summary>
    static abstract V FusedMultiplyAdd(V a, V b, V c);
    /// <summary>
    /// e^r for |r| ≤ ln2/2 (<see cref="Simd.Exp{V}"/>'s polynomial): Horner's scheme where FMA is one instruction, Estrin's
    /// where not. Chosen here by the instruction set test itself, which the JIT folds as it reads the IL: a test through
    /// a property would fold only after inlining, when both polynomials had been inlined and spent the method's locals.
    /// </summary>
    static abstract V ExpPolynomial(V r);
    /// <summary>
    /// The smaller/larger; b when either is NaN or both are zero (x86 minpd/maxpd) at 256 and 128 bits, where the IEEE
    /// minimum/maximum of Vector256/128.Min/Max costs six more instructions (AVX-512 has it in one); callers put the
    /// operand that may be NaN second, so NaN propagates at every width.
    /// </summary>
    static abstract V Min(V a, V b);
    static abstract V Max(V a, V b);
    static abstract V Sqrt(V a);
    /// <summary>Nearest integer, ties to even.</summary>
    static abstract V Round(V a);
    static abstract V LessThan(V a, V b);
    static abstract V Equal(V a, V b);
    /// <summary>a &amp; ~b.</summary>
    static abstract V AndNot(V a, V b);
    static abstract double Sum(V a);
    /// <summary>2^k for integral k in [−1022, 1023], exactly.</summary>
    static abstract V Pow2(V k);
    /// <summary>
    /// e^r − 1 of two vectors (|r| ≤ ln2/2) in single precision: both narrowed into one vector of floats (twice the lanes),
    /// the polynomial run once, widened back (--precision mixed).
    /// </summary>
    static abstract void ExpReducedSingle(V ra, V rb, out V ea, out V eb);
    /// <summary>The doubles at p[i] for the Count entries from <paramref name="entries"/> (indices checked by the caller).</summary>
    static abstract unsafe V Gather(double* p, ref long entries);
    /// <summary>
    /// Packs the entries [e0, end) with r below <paramref name="limit"/>, in row order, r and entry from slot <paramref name="c"/>
    /// on; returns the next free slot. Whole vectors are read (a species' padding lanes lie beyond every cutoff) and
    /// whole vectors stored: the destinations need a vector of room.
    /// </summary>
    static abstract int PackBelow(ref double rs, int e0, int end, double limit, ref double packedR, ref long packedEntry, int c);
}

/// <summary>The kernel's width-independent pieces built on <see cref="ISimd{V}"/>.</summary>
internal static partial class Simd
{
    /// <summary>
    /// f_c = (1 − r²/r_c²)^P and its slope −2P r/r_c² (1 − r²/r_c²)^(P−1) for a vector of distances, zero at and beyond r_c:
    /// <see cref="SmoothCutoff.Value(double, double, int, out double)"/>'s arithmetic, t^(P−1) by repeated products.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static V Cutoff<V>(V r, V r2, double rc, double invRc2, int power, out V slope) where V : struct, ISimd<V>
    {
        var irc2 = V.Create(invRc2);
        var inside = V.LessThan(r, V.Create(rc));
        var tc = V.One - r2 * irc2;
        var tp = tc;
        for (int p = 2; p < power; p++) tp *= tc;
        slope = (tp * r * irc2 * V.Create(-2.0 * power)) & inside;
        return (tp * tc) & inside;
    }

    /// <summary><see cref="ISimd{V}.PackBelow"/> without compress: every lane stored, the slot advanced by the lanes kept (no branch per lane).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int PackBelowByLanes<V>(ref double rs, int e0, int end, double limit, ref double packedR, ref long packedEntry, int c) where V : struct, ISimd<V>
    {
        var vt = V.Create(limit);
        for (int b = e0; b < end; b += V.Count)
        {
            uint below = V.LessThan(V.LoadUnsafe(ref rs, (nuint)b), vt).ExtractMostSignificantBits();
            if (below == 0) continue;
            for (int l = 0; l < V.Count; l++)
            {
                Unsafe.Add(ref packedR, c) = Unsafe.Add(ref rs, b + l);
                Unsafe.Add(ref packedEntry, c) = b + l;
                c += (int)((below >> l) & 1);
            }
        }
        return c;
    }
}

/// <summary>512 bits: x86 AVX-512.</summary>
[StructLayout(LayoutKind.Sequential)]
internal readonly struct Simd512(Vector512<double> value) : ISimd<Simd512>
{
    public readonly Vector512<double> Value = value;
    public static int Count { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => Vector512<double>.Count; }
    public static bool IsHardwareAccelerated { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => Vector512.IsHardwareAccelerated && Avx512F.IsSupported; }
    public static Simd512 Zero { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => new(Vector512<double>.Zero); }
    public static Simd512 One { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => new(Vector512<double>.One); }
    public static Simd512 AllBitsSet { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => new(Vector512<double>.AllBitsSet); }
    public static Simd512 Lanes { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => new(Vector512.Create(0.0, 1, 2, 3, 4, 5, 6, 7)); }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd512 Create(double x) => new(Vector512.Create(x));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd512 LoadUnsafe(ref double source) => new(Vector512.LoadUnsafe(ref source));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd512 LoadUnsafe(ref double source, nuint index) => new(Vector512.LoadUnsafe(ref source, index));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public void StoreUnsafe(ref double destination) => Value.StoreUnsafe(ref destination);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public void StoreUnsafe(ref double destination, nuint index) => Value.StoreUnsafe(ref destination, index);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public uint ExtractMostSignificantBits() => (uint)Value.ExtractMostSignificantBits();
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd512 operator +(Simd512 a, Simd512 b) => new(a.Value + b.Value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd512 operator -(Simd512 a, Simd512 b) => new(a.Value - b.Value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd512 operator *(Simd512 a, Simd512 b) => new(a.Value * b.Value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd512 operator *(Simd512 a, double b) => new(a.Value * b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd512 operator /(Simd512 a, Simd512 b) => new(a.Value / b.Value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd512 operator -(Simd512 a) => new(-a.Value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd512 operator &(Simd512 a, Simd512 b) => new(a.Value & b.Value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd512 operator ~(Simd512 a) => new(~a.Value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd512 FusedMultiplyAdd(Simd512 a, Simd512 b, Simd512 c) => new(Vector512.FusedMultiplyAdd(a.Value, b.Value, c.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd512 ExpPolynomial(Simd512 r) => Simd.ExpHorner(r); // AVX-512 implies FMA
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd512 Min(Simd512 a, Simd512 b) => new(Vector512.Min(a.Value, b.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd512 Max(Simd512 a, Simd512 b) => new(Vector512.Max(a.Value, b.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd512 Sqrt(Simd512 a) => new(Vector512.Sqrt(a.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd512 Round(Simd512 a) => new(Vector512.Round(a.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd512 LessThan(Simd512 a, Simd512 b) => new(Vector512.LessThan(a.Value, b.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd512 Equal(Simd512 a, Simd512 b) => new(Vector512.Equals(a.Value, b.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd512 AndNot(Simd512 a, Simd512 b) => new(Vector512.AndNot(a.Value, b.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static double Sum(Simd512 a) => Vector512.Sum(a.Value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd512 Pow2(Simd512 k) => new(((Vector512.ConvertToInt64(k.Value) + Vector512.Create(1023L)) << 52).AsDouble());
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ExpReducedSingle(Simd512 ra, Simd512 rb, out Simd512 ea, out Simd512 eb)
    {
        var (lower, upper) = Vector512.Widen(Simd.ExpM1Polynomial(Vector512.Narrow(ra.Value, rb.Value)));
        ea = new(lower); eb = new(upper);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Simd512 Gather(double* p, ref long entries)
    {
        if (Avx2.IsSupported)
        {
            var e = Vector512.LoadUnsafe(ref entries);
            return new(Vector512.Create(Avx2.GatherVector256(p, e.GetLower(), 8), Avx2.GatherVector256(p, e.GetUpper(), 8)));
        }
        return new(Vector512.Create(Simd256.Gather(p, ref entries).Value, Simd256.Gather(p, ref Unsafe.Add(ref entries, 4)).Value));
    }

    /// <summary>By AVX-512 compress (lane by lane in software vectors, <see cref="SortedGaussianKernel.Create"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int PackBelow(ref double rs, int e0, int end, double limit, ref double packedR, ref long packedEntry, int c)
    {
        if (!Avx512F.IsSupported) return Simd.PackBelowByLanes<Simd512>(ref rs, e0, end, limit, ref packedR, ref packedEntry, c);
        var lanes = Vector512.Create(0L, 1, 2, 3, 4, 5, 6, 7);
        var vt = Vector512.Create(limit);
        for (int b = e0; b < end; b += 8)
        {
            var r = Vector512.LoadUnsafe(ref rs, (nuint)b);
            var below = Vector512.LessThan(r, vt);
            if (below == Vector512<double>.Zero) continue;
            Avx512F.Compress(Vector512<double>.Zero, below, r).StoreUnsafe(ref packedR, (nuint)c);
            Avx512F.Compress(Vector512<long>.Zero, below.AsInt64(), lanes + Vector512.Create((long)b)).StoreUnsafe(ref packedEntry, (nuint)c);
            c += BitOperations.PopCount(below.ExtractMostSignificantBits());
        }
        return c;
    }
}

/// <summary>256 bits: x86 AVX2 (and AVX-512 machines asked for 256).</summary>
[StructLayout(LayoutKind.Sequential)]
internal readonly struct Simd256(Vector256<double> value) : ISimd<Simd256>
{
    public readonly Vector256<double> Value = value;
    public static int Count { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => Vector256<double>.Count; }
    public static bool IsHardwareAccelerated { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => Vector256.IsHardwareAccelerated; }
    public static Simd256 Zero { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => new(Vector256<double>.Zero); }
    public static Simd256 One { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => new(Vector256<double>.One); }
    public static Simd256 AllBitsSet { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => new(Vector256<double>.AllBitsSet); }
    public static Simd256 Lanes { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => new(Vector256.Create(0.0, 1, 2, 3)); }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd256 Create(double x) => new(Vector256.Create(x));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd256 LoadUnsafe(ref double source) => new(Vector256.LoadUnsafe(ref source));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd256 LoadUnsafe(ref double source, nuint index) => new(Vector256.LoadUnsafe(ref source, index));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public void StoreUnsafe(ref double destination) => Value.StoreUnsafe(ref destination);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public void StoreUnsafe(ref double destination, nuint index) => Value.StoreUnsafe(ref destination, index);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public uint ExtractMostSignificantBits() => Value.ExtractMostSignificantBits();
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd256 operator +(Simd256 a, Simd256 b) => new(a.Value + b.Value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd256 operator -(Simd256 a, Simd256 b) => new(a.Value - b.Value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd256 operator *(Simd256 a, Simd256 b) => new(a.Value * b.Value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd256 operator *(Simd256 a, double b) => new(a.Value * b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd256 operator /(Simd256 a, Simd256 b) => new(a.Value / b.Value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd256 operator -(Simd256 a) => new(-a.Value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd256 operator &(Simd256 a, Simd256 b) => new(a.Value & b.Value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd256 operator ~(Simd256 a) => new(~a.Value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd256 FusedMultiplyAdd(Simd256 a, Simd256 b, Simd256 c) => // the ISA test itself: see ExpPolynomial
        Fma.IsSupported ? new(Vector256.FusedMultiplyAdd(a.Value, b.Value, c.Value)) : new(a.Value * b.Value + c.Value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd256 ExpPolynomial(Simd256 r) => Fma.IsSupported ? Simd.ExpHorner(r) : Simd.ExpEstrin(r);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd256 Min(Simd256 a, Simd256 b) => new(Vector256.MinNative(a.Value, b.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd256 Max(Simd256 a, Simd256 b) => new(Vector256.MaxNative(a.Value, b.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd256 Sqrt(Simd256 a) => new(Vector256.Sqrt(a.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd256 Round(Simd256 a) => new(Vector256.Round(a.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd256 LessThan(Simd256 a, Simd256 b) => new(Vector256.LessThan(a.Value, b.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd256 Equal(Simd256 a, Simd256 b) => new(Vector256.Equals(a.Value, b.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd256 AndNot(Simd256 a, Simd256 b) => new(Vector256.AndNot(a.Value, b.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static double Sum(Simd256 a) => Vector256.Sum(a.Value);
    /// <summary>By the magic-number trick (Vector256.ConvertToInt64 has no instruction before AVX-512): the same bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd256 Pow2(Simd256 k) => new(((k.Value + Vector256.Create(Simd.ExponentMagic)).AsInt64() << 52).AsDouble());
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ExpReducedSingle(Simd256 ra, Simd256 rb, out Simd256 ea, out Simd256 eb)
    {
        var (lower, upper) = Vector256.Widen(Simd.ExpM1Polynomial(Vector256.Narrow(ra.Value, rb.Value)));
        ea = new(lower); eb = new(upper);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Simd256 Gather(double* p, ref long entries)
    {
        if (Avx2.IsSupported) return new(Avx2.GatherVector256(p, Vector256.LoadUnsafe(ref entries), 8));
        return new(Vector256.Create(p[entries], p[Unsafe.Add(ref entries, 1)], p[Unsafe.Add(ref entries, 2)], p[Unsafe.Add(ref entries, 3)]));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int PackBelow(ref double rs, int e0, int end, double limit, ref double packedR, ref long packedEntry, int c)
    {
        var lanes = Vector256.Create(0L, 1, 2, 3);
        var vt = Vector256.Create(limit);
        if (!Avx512F.VL.IsSupported)
        {
            if (!Avx2.IsSupported) return Simd.PackBelowByLanes<Simd256>(ref rs, e0, end, limit, ref packedR, ref packedEntry, c);
            // AVX2: compress by the permutation of the kept lanes (DecodeTables), whole vectors stored.
            ref int pairs = ref MemoryMarshal.GetArrayDataReference(DecodeTables.Pairs);
            for (int b = e0; b < end; b += 4)
            {
                var r = Vector256.LoadUnsafe(ref rs, (nuint)b);
                uint below = Vector256.LessThan(r, vt).ExtractMostSignificantBits();
                if (below == 0) continue;
                var perm = Vector256.LoadUnsafe(ref pairs, (nuint)(8 * below));
                Avx2.PermuteVar8x32(r.AsInt32(), perm).AsDouble().StoreUnsafe(ref packedR, (nuint)c);
                Avx2.PermuteVar8x32((lanes + Vector256.Create((long)b)).AsInt32(), perm).AsInt64().StoreUnsafe(ref packedEntry, (nuint)c);
                c += BitOperations.PopCount(below);
            }
            return c;
        }
        for (int b = e0; b < end; b += 4)
        {
            var r = Vector256.LoadUnsafe(ref rs, (nuint)b);
            var below = Vector256.LessThan(r, vt);
            if (below == Vector256<double>.Zero) continue;
            Avx512F.VL.Compress(Vector256<double>.Zero, below, r).StoreUnsafe(ref packedR, (nuint)c);
            Avx512F.VL.Compress(Vector256<long>.Zero, below.AsInt64(), lanes + Vector256.Create((long)b)).StoreUnsafe(ref packedEntry, (nuint)c);
            c += BitOperations.PopCount(below.ExtractMostSignificantBits());
        }
        return c;
    }
}

/// <summary>128 bits: x86 SSE (no AVX2) and ARM64 NEON.</summary>
[StructLayout(LayoutKind.Sequential)]
internal readonly struct Simd128(Vector128<double> value) : ISimd<Simd128>
{
    public readonly Vector128<double> Value = value;
    public static int Count { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => Vector128<double>.Count; }
    public static bool IsHardwareAccelerated { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => Vector128.IsHardwareAccelerated; }
    public static Simd128 Zero { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => new(Vector128<double>.Zero); }
    public static Simd128 One { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => new(Vector128<double>.One); }
    public static Simd128 AllBitsSet { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => new(Vector128<double>.AllBitsSet); }
    public static Simd128 Lanes { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => new(Vector128.Create(0.0, 1)); }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd128 Create(double x) => new(Vector128.Create(x));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd128 LoadUnsafe(ref double source) => new(Vector128.LoadUnsafe(ref source));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd128 LoadUnsafe(ref double source, nuint index) => new(Vector128.LoadUnsafe(ref source, index));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public void StoreUnsafe(ref double destination) => Value.StoreUnsafe(ref destination);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public void StoreUnsafe(ref double destination, nuint index) => Value.StoreUnsafe(ref destination, index);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public uint ExtractMostSignificantBits() => Value.ExtractMostSignificantBits();
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd128 operator +(Simd128 a, Simd128 b) => new(a.Value + b.Value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd128 operator -(Simd128 a, Simd128 b) => new(a.Value - b.Value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd128 operator *(Simd128 a, Simd128 b) => new(a.Value * b.Value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd128 operator *(Simd128 a, double b) => new(a.Value * b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd128 operator /(Simd128 a, Simd128 b) => new(a.Value / b.Value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd128 operator -(Simd128 a) => new(-a.Value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd128 operator &(Simd128 a, Simd128 b) => new(a.Value & b.Value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd128 operator ~(Simd128 a) => new(~a.Value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd128 FusedMultiplyAdd(Simd128 a, Simd128 b, Simd128 c) => // the ISA test itself: see ExpPolynomial
        Fma.IsSupported || AdvSimd.Arm64.IsSupported ? new(Vector128.FusedMultiplyAdd(a.Value, b.Value, c.Value)) : new(a.Value * b.Value + c.Value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd128 ExpPolynomial(Simd128 r) => Fma.IsSupported || AdvSimd.Arm64.IsSupported ? Simd.ExpHorner(r) : Simd.ExpEstrin(r);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd128 Min(Simd128 a, Simd128 b) => new(Vector128.MinNative(a.Value, b.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd128 Max(Simd128 a, Simd128 b) => new(Vector128.MaxNative(a.Value, b.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd128 Sqrt(Simd128 a) => new(Vector128.Sqrt(a.Value));
    /// <summary>By the magic-number trick (ties to even, as roundpd/frintn): Vector128.Round has no SSE2 instruction.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd128 Round(Simd128 a)
    {
        if (Sse41.IsSupported || AdvSimd.Arm64.IsSupported) return new(Vector128.Round(a.Value));
        var magic = Vector128.Create(6755399441055744.0); // |a| ≤ 2^51 here (exp's clamp)
        return new(a.Value + magic - magic);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd128 LessThan(Simd128 a, Simd128 b) => new(Vector128.LessThan(a.Value, b.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd128 Equal(Simd128 a, Simd128 b) => new(Vector128.Equals(a.Value, b.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Simd128 AndNot(Simd128 a, Simd128 b) => new(Vector128.AndNot(a.Value, b.Value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static double Sum(Simd128 a) => Vector128.Sum(a.Value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd128 Pow2(Simd128 k) => new(((k.Value + Vector128.Create(Simd.ExponentMagic)).AsInt64() << 52).AsDouble());
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ExpReducedSingle(Simd128 ra, Simd128 rb, out Simd128 ea, out Simd128 eb)
    {
        var (lower, upper) = Vector128.Widen(Simd.ExpM1Polynomial(Vector128.Narrow(ra.Value, rb.Value)));
        ea = new(lower); eb = new(upper);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Simd128 Gather(double* p, ref long entries) => new(Vector128.Create(p[entries], p[Unsafe.Add(ref entries, 1)]));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int PackBelow(ref double rs, int e0, int end, double limit, ref double packedR, ref long packedEntry, int c) =>
        Simd.PackBelowByLanes<Simd128>(ref rs, e0, end, limit, ref packedR, ref packedEntry, c);
}
