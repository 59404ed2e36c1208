using MathNet.Numerics.LinearAlgebra;
using MolecularLearning.Learning;

namespace MolecularLearning.Learning.Tests;

/// <summary>
/// The fit's hand-written dense kernels against MathNet: <see cref="Cholesky"/> (factor and solve) and
/// <see cref="GramAccumulator"/> (AᵀA, Aᵀy, yᵀy streamed in blocks), at sizes around their panel, tile and block edges.
/// </summary>
public class LinearAlgebraTests
{
    private static double[] RandomSpd(int n, int seed, out Matrix<double> g)
    {
        var rnd = new Random(seed);
        var a = Matrix<double>.Build.Dense(n + 5, n, (_, _) => rnd.NextDouble() - 0.5);
        g = a.TransposeThisAndMultiply(a) + Matrix<double>.Build.DenseIdentity(n) * 1e-3;
        var m = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) m[i * n + j] = i >= j ? g[i, j] : double.NaN; // only the lower triangle may be read
        return m;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(17)]
    [InlineData(64)]
    [InlineData(131)]
    public void CholeskyFactorsAndSolvesAsMathNet(int n)
    {
        var m = RandomSpd(n, seed: n, out var g);
        Assert.True(Cholesky.Factor(m, n));
        var want = g.Cholesky().Factor;
        double scale = want.Enumerate().Max(Math.Abs);
        for (int i = 0; i < n; i++)
            for (int j = 0; j <= i; j++)
                Assert.True(Math.Abs(m[i * n + j] - want[i, j]) <= 1e-12 * scale, $"L[{i},{j}] = {m[i * n + j]} against {want[i, j]}");
        var rnd = new Random(7);
        var b = Enumerable.Range(0, n).Select(_ => rnd.NextDouble() - 0.5).ToArray();
        var x = (double[])b.Clone();
        Cholesky.Solve(m, n, x);
        var r = g * Vector<double>.Build.DenseOfArray(x) - Vector<double>.Build.DenseOfArray(b);
        Assert.True(r.InfinityNorm() <= 1e-10 * b.Max(Math.Abs), $"residual {r.InfinityNorm():e2}");
    }

    [Fact]
    public void CholeskyRefusesAMatrixThatIsNotPositiveDefinite()
    {
        var m = RandomSpd(20, seed: 3, out _);
        m[12 * 20 + 12] = -1;
        Assert.False(Cholesky.Factor(m, 20));
        Assert.False(Cholesky.Factor([0.0], 1));
        Assert.False(Cholesky.Factor([double.NaN], 1));
    }

    [Theory]
    [InlineData(1, 5)]
    [InlineData(6, 128)]
    [InlineData(7, 300)]
    [InlineData(13, 257)]
    public void GramAccumulatorGivesAtAAtyAndyTy(int columns, int rows)
    {
        var rnd = new Random(columns * 1000 + rows);
        var a = Matrix<double>.Build.Dense(rows, columns, (_, _) => rnd.NextDouble() - 0.5);
        var y = Vector<double>.Build.Dense(rows, _ => rnd.NextDouble() - 0.5);
        var acc = new GramAccumulator(columns);
        for (int r = 0; r < rows; r++) acc.AddRow(a.Row(r).ToArray(), y[r]);
        acc.Complete();
        var ata = a.TransposeThisAndMultiply(a);
        var aty = a.TransposeThisAndMultiply(y);
        for (int k = 0; k < columns; k++)
        {
            Assert.True(Math.Abs(acc.Aty[k] - aty[k]) <= 1e-12 * rows, $"Aty[{k}]");
            for (int l = 0; l < columns; l++)
                Assert.True(Math.Abs(acc.Gram[k * columns + l] - ata[k, l]) <= 1e-12 * rows, $"AtA[{k},{l}] = {acc.Gram[k * columns + l]} against {ata[k, l]}");
        }
        Assert.Equal(y.DotProduct(y), acc.Yty, 1e-10);
        Assert.Equal(rows, acc.Rows);
    }
}
