using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MolecularLearning.Learning;

/// <summary>
/// Streams design-matrix rows (a, y) into AᵀA, Aᵀy and yᵀy without keeping A: rows are buffered in
/// column-major blocks and folded in with SIMD dot products (upper triangle only), so memory is P² and
/// not rows × P.
/// </summary>
internal sealed class GramAccumulator
{
    private const int BlockRows = 128;
    private readonly double[] _block;   // column-major: column p at [p * BlockRows, ...)
    private readonly double[] _y = new double[BlockRows];
    private int _filled;

    public GramAccumulator(int columns)
    {
        Columns = columns;
        Gram = new double[(long)columns * columns];
        Aty = new double[columns];
        _block = new double[columns * BlockRows];
    }

    public int Columns { get; }
    /// <summary>AᵀA, row-major; only the upper triangle is filled until <see cref="Complete"/>.</summary>
    public double[] Gram { get; }
    public double[] Aty { get; }
    public double Yty { get; private set; }
    public long Rows { get; private set; }

    public void AddRow(ReadOnlySpan<double> row, double y)
    {
        for (int p = 0; p < Columns; p++) _block[p * BlockRows + _filled] = row[p];
        _y[_filled] = y;
        if (++_filled == BlockRows) Flush();
    }

    public void Flush()
    {
        int n = _filled;
        if (n == 0) return;
        int cols = Columns;
        var block = _block.AsSpan();
        var y = _y.AsSpan(0, n);
        int k = 0;
        // Whole blocks (the usual case): two rows of AᵀA by four columns at a time, six loads for eight products.
        if (n == BlockRows && Vector.IsHardwareAccelerated && BlockRows % Vector<double>.Count == 0)
            for (; k + 2 <= cols; k += 2)
            {
                int l = k;
                for (; l + 4 <= cols; l += 4) Tile(k, l);
                for (; l < cols; l++)
                {
                    var bl = block.Slice(l * BlockRows, n);
                    Gram[(long)k * cols + l] += Dense.Dot(block.Slice(k * BlockRows, n), bl);
                    if (l > k) Gram[(long)(k + 1) * cols + l] += Dense.Dot(block.Slice((k + 1) * BlockRows, n), bl);
                }
            }
        for (; k < cols; k++)
        {
            var bk = block.Slice(k * BlockRows, n);
            long rowBase = (long)k * cols;
            for (int l = k; l < cols; l++) Gram[rowBase + l] += Dense.Dot(bk, block.Slice(l * BlockRows, n));
        }
        for (int c = 0; c < cols; c++) Aty[c] += Dense.Dot(block.Slice(c * BlockRows, n), y);
        Yty += Dense.Dot(y, y);
        Rows += n;
        _filled = 0;
    }

    /// <summary>AᵀA[k..k+1, l..l+3] over a whole block, the upper triangle only (row k + 1 skips column k).</summary>
    private void Tile(int k, int l)
    {
        ref double b = ref MemoryMarshal.GetArrayDataReference(_block);
        ref double x0 = ref Unsafe.Add(ref b, k * BlockRows);
        ref double x1 = ref Unsafe.Add(ref b, (k + 1) * BlockRows);
        ref double c0 = ref Unsafe.Add(ref b, l * BlockRows);
        var s00 = Vector<double>.Zero; var s01 = s00; var s02 = s00; var s03 = s00;
        var s10 = s00; var s11 = s00; var s12 = s00; var s13 = s00;
        for (int r = 0; r < BlockRows; r += Vector<double>.Count)
        {
            var a0 = Vector.LoadUnsafe(ref x0, (nuint)r);
            var a1 = Vector.LoadUnsafe(ref x1, (nuint)r);
            var v0 = Vector.LoadUnsafe(ref c0, (nuint)r);
            var v1 = Vector.LoadUnsafe(ref c0, (nuint)(BlockRows + r));
            var v2 = Vector.LoadUnsafe(ref c0, (nuint)(2 * BlockRows + r));
            var v3 = Vector.LoadUnsafe(ref c0, (nuint)(3 * BlockRows + r));
            s00 += a0 * v0; s01 += a0 * v1; s02 += a0 * v2; s03 += a0 * v3;
            s10 += a1 * v0; s11 += a1 * v1; s12 += a1 * v2; s13 += a1 * v3;
        }
        int cols = Columns;
        long r0 = (long)k * cols + l, r1 = r0 + cols;
        Gram[r0] += Vector.Sum(s00); Gram[r0 + 1] += Vector.Sum(s01); Gram[r0 + 2] += Vector.Sum(s02); Gram[r0 + 3] += Vector.Sum(s03);
        if (l > k) Gram[r1] += Vector.Sum(s10);
        Gram[r1 + 1] += Vector.Sum(s11); Gram[r1 + 2] += Vector.Sum(s12); Gram[r1 + 3] += Vector.Sum(s13);
    }

    /// <summary>Adds another accumulator's sums (both flushed).</summary>
    public void Add(GramAccumulator other)
    {
        Flush(); other.Flush();
        for (long i = 0; i < Gram.LongLength; i++) Gram[i] += other.Gram[i];
        for (int i = 0; i < Columns; i++) Aty[i] += other.Aty[i];
        Yty += other.Yty;
        Rows += other.Rows;
    }

    /// <summary>Adds <paramref name="weight"/> times another accumulator's sums (both flushed): a bootstrap resample counts a block that many times.</summary>
    public void AddScaled(GramAccumulator other, int weight)
    {
        if (weight == 0) return;
        Flush(); other.Flush();
        for (long i = 0; i < Gram.LongLength; i++) Gram[i] += weight * other.Gram[i];
        for (int i = 0; i < Columns; i++) Aty[i] += weight * other.Aty[i];
        Yty += weight * other.Yty;
        Rows += weight * other.Rows;
    }

    /// <summary>Flushes and mirrors the upper triangle into the lower one.</summary>
    public void Complete()
    {
        Flush();
        int cols = Columns;
        for (int k = 0; k < cols; k++)
            for (int l = 0; l < k; l++) Gram[(long)k * cols + l] = Gram[(long)l * cols + k];
    }

    /// <summary>Sum of squared residuals ‖Aθ − y‖² = θᵀGθ − 2θᵀAᵀy + yᵀy (after <see cref="Complete"/>).</summary>
    public double Residual(ReadOnlySpan<double> theta)
    {
        int cols = Columns;
        double quad = 0, lin = 0;
        for (int k = 0; k < cols; k++)
        {
            if (theta[k] == 0) continue;
            quad += theta[k] * Dense.Dot(Gram.AsSpan((int)((long)k * cols), cols), theta);
            lin += theta[k] * Aty[k];
        }
        return Math.Max(0, quad - 2 * lin + Yty);
    }
}
