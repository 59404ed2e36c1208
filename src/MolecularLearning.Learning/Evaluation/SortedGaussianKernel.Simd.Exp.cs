using System.Runtime.CompilerServices;

namespace MolecularLearning.Learning;

/// <summary>The kernel's exponential in double precision (the Gaussians' exp), at every width through <see cref="ISimd{V}"/>.</summary>
internal static partial class Simd
{
    /// <summary>1.5 · 2^52 + 1023: adding it to an integral double k (|k| &lt; 2^51) leaves k + 1023 in the low mantissa bits.</summary>
    internal const double ExponentMagic = 6755399441055744.0 + 1023;

    /// <summary>exp(x) for |x| ≤ 700 to ~1 ulp: 2^k e^r with r = x − k ln 2, |r| ≤ ln2/2, Taylor to r¹²; inlined, unlike Vector512.Exp.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static V Exp<V>(V x) where V : struct, ISimd<V>
    {
        x = V.Min(V.Create(700.0), V.Max(V.Create(-700.0), x));
        var k = V.Round(x * 1.4426950408889634);
        var r = V.FusedMultiplyAdd(k, V.Create(-6.93147180369123816490e-01), x);
        r = V.FusedMultiplyAdd(k, V.Create(-1.90821492927058770002e-10), r);
        return V.ExpPolynomial(r) * V.Pow2(k);
    }

    /// <summary>Σ r^n/n! to n = 12 by Horner's scheme: the rounding of <see cref="Exp{V}"/> with FMA, a chain of twelve fused steps.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static V ExpHorner<V>(V r) where V : struct, ISimd<V>
    {
        var p = V.Create(1.0 / 479001600);
        p = V.FusedMultiplyAdd(p, r, V.Create(1.0 / 39916800));
        p = V.FusedMultiplyAdd(p, r, V.Create(1.0 / 3628800));
        p = V.FusedMultiplyAdd(p, r, V.Create(1.0 / 362880));
        p = V.FusedMultiplyAdd(p, r, V.Create(1.0 / 40320));
        p = V.FusedMultiplyAdd(p, r, V.Create(1.0 / 5040));
        p = V.FusedMultiplyAdd(p, r, V.Create(1.0 / 720));
        p = V.FusedMultiplyAdd(p, r, V.Create(1.0 / 120));
        p = V.FusedMultiplyAdd(p, r, V.Create(1.0 / 24));
        p = V.FusedMultiplyAdd(p, r, V.Create(1.0 / 6));
        p = V.FusedMultiplyAdd(p, r, V.Create(0.5));
        p = V.FusedMultiplyAdd(p, r, V.One);
        return V.FusedMultiplyAdd(p, r, V.One);
    }

    /// <summary>
    /// The same polynomial by Estrin's scheme, for CPUs without FMA: there each Horner step is a product then a sum, twice
    /// the latency, and Estrin's chain is four steps deep instead of twelve (~5 % of the 128-bit kernel on SSE; with FMA
    /// it gains nothing and rounds a little worse).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static V ExpEstrin<V>(V r) where V : struct, ISimd<V>
    {
        var r2 = r * r;
        var r4 = r2 * r2;
        var q1 = V.FusedMultiplyAdd(r, V.Create(1.0 / 6), V.Create(0.5));
        var q2 = V.FusedMultiplyAdd(r, V.Create(1.0 / 120), V.Create(1.0 / 24));
        var q3 = V.FusedMultiplyAdd(r, V.Create(1.0 / 5040), V.Create(1.0 / 720));
        var q4 = V.FusedMultiplyAdd(r, V.Create(1.0 / 362880), V.Create(1.0 / 40320));
        var q5 = V.FusedMultiplyAdd(r, V.Create(1.0 / 39916800), V.Create(1.0 / 3628800));
        var t0 = V.FusedMultiplyAdd(V.FusedMultiplyAdd(q3, r2, q2), r4, V.FusedMultiplyAdd(q1, r2, r + V.One));
        var t1 = V.FusedMultiplyAdd(V.Create(1.0 / 479001600), r4, V.FusedMultiplyAdd(q5, r2, q4));
        return V.FusedMultiplyAdd(t1, r4 * r4, t0);
    }
}
