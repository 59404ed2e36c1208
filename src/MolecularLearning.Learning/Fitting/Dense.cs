using System.Numerics;
using System.Runtime.InteropServices;

namespace MolecularLearning.Learning;

/// <summary>Small SIMD kernels for the loss and the design-matrix Gram products.</summary>
internal static class Dense
{
    public static double Dot(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        int n = Math.Min(x.Length, y.Length), i = 0;
        double sum = 0;
        if (Vector.IsHardwareAccelerated && n >= 2 * Vector<double>.Count)
        {
            var vx = MemoryMarshal.Cast<double, Vector<double>>(x[..n]);
            var vy = MemoryMarshal.Cast<double, Vector<double>>(y[..n]);
            var acc = Vector<double>.Zero;
            for (int v = 0; v < vx.Length; v++) acc += vx[v] * vy[v];
            sum = Vector.Sum(acc);
            i = vx.Length * Vector<double>.Count;
        }
        for (; i < n; i++) sum += x[i] * y[i];
        return sum;
    }
}
