using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace MolecularLearning.Learning;

/// <summary>The exponential of --precision mixed: range reduction in double, the polynomial in float at each width.</summary>
internal static partial class Simd
{
    /// <summary>
    /// exp of two vectors for --precision mixed: the range reduction 2^k e^r in double (so the error does not grow with
    /// |x|, as it would reducing in float), e^r − 1 by a degree-8 polynomial in float on both at once (<see cref="ISimd{V}.ExpReducedSingle"/>),
    /// the 1 and 2^k applied in double. ~|r| · 1e-7 relative (|r| ≤ 0.35). Hand-written because Vector512.Exp&lt;float&gt; reduces in float and is not inlined.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void ExpMixed<V>(V a, V b, out V ea, out V eb) where V : struct, ISimd<V>
    {
        a = V.Min(V.Create(700.0), V.Max(V.Create(-700.0), a));
        b = V.Min(V.Create(700.0), V.Max(V.Create(-700.0), b));
        var ka = V.Round(a * 1.4426950408889634);
        var kb = V.Round(b * 1.4426950408889634);
        var ra = V.FusedMultiplyAdd(ka, V.Create(-6.93147180559945286227e-01), a);
        var rb = V.FusedMultiplyAdd(kb, V.Create(-6.93147180559945286227e-01), b);
        V.ExpReducedSingle(ra, rb, out var qa, out var qb);
        var sa = V.Pow2(ka);
        var sb = V.Pow2(kb);
        ea = V.FusedMultiplyAdd(qa, sa, sa); // (1 + (e^r − 1)) 2^k, the 1 added in double
        eb = V.FusedMultiplyAdd(qb, sb, sb);
    }

    /// <summary>
    /// e^r − 1 for |r| ≤ ln2/2 by Taylor to r⁸ (truncation 2e-9 of the result): the caller adds the 1 in double, so float's
    /// rounding costs ~|r| · 2^-24, not 2^-24.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> ExpM1Polynomial(Vector512<float> r)
    {
        var p = Vector512.Create(1f / 40320);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 5040));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 720));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 120));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 24));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 6));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(0.5f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512<float>.One);
        return p * r;
    }

    /// <summary>As the 512-bit one; a b + c unfused without FMA3.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> ExpM1Polynomial(Vector256<float> r)
    {
        var p = Vector256.Create(1f / 40320);
        p = Mad(p, r, Vector256.Create(1f / 5040));
        p = Mad(p, r, Vector256.Create(1f / 720));
        p = Mad(p, r, Vector256.Create(1f / 120));
        p = Mad(p, r, Vector256.Create(1f / 24));
        p = Mad(p, r, Vector256.Create(1f / 6));
        p = Mad(p, r, Vector256.Create(0.5f));
        p = Mad(p, r, Vector256<float>.One);
        return p * r;
    }

    /// <summary>As the 512-bit one; a b + c unfused without FMA.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<float> ExpM1Polynomial(Vector128<float> r)
    {
        var p = Vector128.Create(1f / 40320);
        p = Mad(p, r, Vector128.Create(1f / 5040));
        p = Mad(p, r, Vector128.Create(1f / 720));
        p = Mad(p, r, Vector128.Create(1f / 120));
        p = Mad(p, r, Vector128.Create(1f / 24));
        p = Mad(p, r, Vector128.Create(1f / 6));
        p = Mad(p, r, Vector128.Create(0.5f));
        p = Mad(p, r, Vector128<float>.One);
        return p * r;
    }

    // Fused where the CPU has it (the JIT folds the test), else a b + c: FusedMultiplyAdd's software fallback is slow.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Mad(Vector256<float> a, Vector256<float> b, Vector256<float> c) =>
        Fma.IsSupported ? Vector256.FusedMultiplyAdd(a, b, c) : a * b + c;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Mad(Vector128<float> a, Vector128<float> b, Vector128<float> c) =>
        Fma.IsSupported || AdvSimd.Arm64.IsSupported ? Vector128.FusedMultiplyAdd(a, b, c) : a * b + c;
}
