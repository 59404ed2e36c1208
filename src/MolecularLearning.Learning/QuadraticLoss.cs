namespace MolecularLearning.Learning;

/// <summary>Agent versus conservative forces (method.md, "Two force modes").</summary>
public enum ForceMode
{
    /// <summary>F_i = −∂L_i/∂x_i: each agent descends its own loss (the paper's).</summary>
    Agent,
    /// <summary>U = Σ_i L_i, F = −∇U: momentum and energy conserved (what i-PI and ASE expect).</summary>
    Conservative,
}

/// <summary>
/// One agent species' loss L = b·I + ½ Iᵀ C I (C symmetric; null for order 1). Immutable.
/// </summary>
public sealed class QuadraticLoss
{
    private readonly double[] _b;
    private readonly double[]? _c; // K×K row-major, symmetric

    public QuadraticLoss(double[] b, double[]? c)
    {
        if (c is not null && c.Length != b.Length * b.Length) throw new ArgumentException("C must be K×K");
        _b = b; _c = c;
        if (c is not null)
            for (int k = 0; k < b.Length; k++)
                for (int l = 0; l < k; l++)
                    if (c[k * b.Length + l] != c[l * b.Length + k]) throw new ArgumentException("C must be symmetric");
    }

    public int Count => _b.Length;
    public ReadOnlySpan<double> Linear => _b;
    /// <summary>The quadratic form C (K×K row-major), empty for an order-1 loss.</summary>
    public ReadOnlySpan<double> Quadratic => _c;
    public int Order => _c is null ? 1 : 2;

    /// <summary>L(I), and λ = ∂L/∂I = b + C I into <paramref name="lambda"/>.</summary>
    public double Evaluate(ReadOnlySpan<double> invariants, Span<double> lambda)
    {
        int k = _b.Length;
        double loss = 0;
        if (_c is null)
        {
            for (int a = 0; a < k; a++) { lambda[a] = _b[a]; loss += _b[a] * invariants[a]; }
            return loss;
        }
        var c = _c.AsSpan();
        for (int a = 0; a < k; a++)
        {
            double ci = Dense.Dot(c.Slice(a * k, k), invariants);
            lambda[a] = _b[a] + ci;
            loss += invariants[a] * (_b[a] + 0.5 * ci);
        }
        return loss;
    }
}
