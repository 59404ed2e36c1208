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
        for (int k = 0; k < cols; k++)
        {
            var bk = block.Slice(k * BlockRows, n);
            long rowBase = (long)k * cols;
            for (int l = k; l < cols; l++) Gram[rowBase + l] += Dense.Dot(bk, block.Slice(l * BlockRows, n));
            Aty[k] += Dense.Dot(bk, y);
        }
        Yty += Dense.Dot(y, y);
        Rows += n;
        _filled = 0;
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
