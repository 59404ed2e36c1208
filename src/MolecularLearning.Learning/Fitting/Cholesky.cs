using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MolecularLearning.Learning;

/// <summary>
/// Cholesky factorisation A = L Lᵀ of a symmetric positive definite matrix (row-major, in place) and its solve: the fit's
/// ridge systems. Written here because MathNet's managed provider factors at ~1.6 GFlop/s and no native provider restores
/// on these platforms; this one reads each row once per panel of eight pivot rows, in SIMD.
/// </summary>
internal static class Cholesky
{
    private const int Panel = 8;

    /// <summary>
    /// Overwrites the lower triangle of <paramref name="a"/> (n × n, row-major; only the lower triangle is read) with L.
    /// False when a pivot is not positive: the matrix is not positive definite to rounding.
    /// </summary>
    public static bool Factor(double[] a, int n)
    {
        if (a.LongLength < (long)n * n) throw new ArgumentException($"{a.LongLength} elements for a {n} × {n} matrix");
        var s = new double[Panel];
        for (int j0 = 0; j0 < n; j0 += Panel)
        {
            int width = Math.Min(Panel, n - j0);
            // The columns before the panel, for every row from the panel down: eight dot products per row read.
            if (j0 > 0)
                for (int i = j0; i < n; i++)
                {
                    PrefixDots(a, n, i, j0, width, s);
                    int last = Math.Min(width, i - j0 + 1); // lower triangle only
                    for (int t = 0; t < last; t++) a[(long)i * n + j0 + t] -= s[t];
                }
            // Then the panel's columns within each row, the pivots' rows first.
            for (int i = j0; i < n; i++)
            {
                long ri = (long)i * n;
                int last = Math.Min(width, i - j0 + 1);
                for (int t = 0; t < last; t++)
                {
                    int j = j0 + t;
                    long rj = (long)j * n;
                    double v = a[ri + j];
                    for (int k = j0; k < j; k++) v -= a[ri + k] * a[rj + k];
                    if (j < i) a[ri + j] = v / a[rj + j];
                    else if (v > 0) a[ri + j] = Math.Sqrt(v);
                    else return false;
                }
            }
        }
        return true;
    }

    /// <summary>s[t] = Σ_{k &lt; j0} L[i, k] L[j0 + t, k] for t &lt; width: row i read once for all the panel's rows.</summary>
    private static void PrefixDots(double[] a, int n, int i, int j0, int width, double[] s)
    {
        ref double row = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(a), (nint)((long)i * n));
        ref double p0 = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(a), (nint)((long)j0 * n));
        int k = 0;
        if (width == Panel && Vector.IsHardwareAccelerated)
        {
            int w = Vector<double>.Count;
            var s0 = Vector<double>.Zero; var s1 = s0; var s2 = s0; var s3 = s0; var s4 = s0; var s5 = s0; var s6 = s0; var s7 = s0;
            for (; k + w <= j0; k += w)
            {
                var x = Vector.LoadUnsafe(ref row, (nuint)k);
                s0 += x * Vector.LoadUnsafe(ref p0, (nuint)k);
                s1 += x * Vector.LoadUnsafe(ref p0, (nuint)(n + k));
                s2 += x * Vector.LoadUnsafe(ref p0, (nuint)(2 * n + k));
                s3 += x * Vector.LoadUnsafe(ref p0, (nuint)(3 * n + k));
                s4 += x * Vector.LoadUnsafe(ref p0, (nuint)(4 * n + k));
                s5 += x * Vector.LoadUnsafe(ref p0, (nuint)(5 * n + k));
                s6 += x * Vector.LoadUnsafe(ref p0, (nuint)(6 * n + k));
                s7 += x * Vector.LoadUnsafe(ref p0, (nuint)(7 * n + k));
            }
            s[0] = Vector.Sum(s0); s[1] = Vector.Sum(s1); s[2] = Vector.Sum(s2); s[3] = Vector.Sum(s3);
            s[4] = Vector.Sum(s4); s[5] = Vector.Sum(s5); s[6] = Vector.Sum(s6); s[7] = Vector.Sum(s7);
        }
        else Array.Clear(s);
        for (int t = 0; t < width; t++)
        {
            double sum = s[t];
            ref double p = ref Unsafe.Add(ref p0, (nint)((long)t * n));
            for (int kk = k; kk < j0; kk++) sum += Unsafe.Add(ref row, kk) * Unsafe.Add(ref p, kk);
            s[t] = sum;
        }
    }

    /// <summary>Solves L Lᵀ x = b in place (<paramref name="b"/> becomes x), L from <see cref="Factor"/>.</summary>
    public static void Solve(double[] l, int n, double[] b)
    {
        if (l.LongLength < (long)n * n || b.Length < n) throw new ArgumentException("matrix or right-hand side too small");
        for (int i = 0; i < n; i++)
        {
            long ri = (long)i * n;
            b[i] = (b[i] - Dense.Dot(l.AsSpan((int)ri, i), b.AsSpan(0, i))) / l[ri + i];
        }
        // Lᵀ x = y by rows of L: x_i known, its share taken off every earlier equation at once.
        for (int i = n - 1; i >= 0; i--)
        {
            long ri = (long)i * n;
            double x = b[i] / l[ri + i];
            b[i] = x;
            var row = l.AsSpan((int)ri, i);
            var rest = b.AsSpan(0, i);
            int k = 0;
            if (Vector.IsHardwareAccelerated)
            {
                var vx = new Vector<double>(x);
                var vr = MemoryMarshal.Cast<double, Vector<double>>(row);
                var vb = MemoryMarshal.Cast<double, Vector<double>>(rest);
                for (int v = 0; v < vr.Length; v++) vb[v] -= vx * vr[v];
                k = vr.Length * Vector<double>.Count;
            }
            for (; k < i; k++) rest[k] -= x * row[k];
        }
    }
}
