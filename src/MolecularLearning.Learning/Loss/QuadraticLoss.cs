namespace MolecularLearning.Learning;

/// <summary>The one spelling of force modes in files, flags and reports: "agent", "conservative".</summary>
public static class ForceModeNames
{
    public static string Name(this ForceMode mode) => mode == ForceMode.Agent ? "agent" : "conservative";

    /// <summary>Parses "agent" or "conservative" (any case); nothing else, not even enum numbers.</summary>
    public static bool TryParse(string text, out ForceMode mode)
    {
        switch (text.Trim().ToLowerInvariant())
        {
            case "agent": mode = ForceMode.Agent; return true;
            case "conservative": mode = ForceMode.Conservative; return true;
            default: mode = default; return false;
        }
    }
}

/// <summary>
/// How an agent-mode model's range walls push (docs/agent-mode.md, "Range walls as a gradient"): <see cref="Agent"/>, each
/// agent's wall W(I_i) pushes that agent alone (−∂W(I_i)/∂x_i, like the loss: the behaviour of every file without the
/// field), or <see cref="Gradient"/>, the walls' forces are −∇ Σ_i W(I_i) on every atom (own atom and neighbours), so they
/// add no curl. Conservative mode is the gradient anyway.
/// </summary>
public enum WallForces { Agent, Gradient }

/// <summary>The spelling of <see cref="WallForces"/> in files, flags and reports: "agent", "gradient".</summary>
public static class WallForcesNames
{
    public const string Help = "agent|gradient";

    public static string Name(this WallForces w) => w == WallForces.Gradient ? "gradient" : "agent";

    /// <summary>Parses "agent" or "gradient" (any case); nothing else.</summary>
    public static bool TryParse(string text, out WallForces w)
    {
        switch (text.Trim().ToLowerInvariant())
        {
            case "agent": w = WallForces.Agent; return true;
            case "gradient": w = WallForces.Gradient; return true;
            default: w = default; return false;
        }
    }
}

/// <summary>Agent versus conservative forces (method.md, "Two force modes").</summary>
public enum ForceMode
{
    /// <summary>F_i = −∂L_i/∂x_i: each agent descends its own loss (the paper's).</summary>
    Agent,
    /// <summary>U = Σ_i L_i, F = −∇U: momentum and energy conserved (what i-PI and ASE expect).</summary>
    Conservative,
}

/// <summary>
/// The range of each invariant seen in training, [Min, Max], with a scale (its spread there). Outside it a
/// fixed wall S·(distance beyond the range / Scale)³ is added to the loss: zero, with zero slope and
/// curvature, on everything the fit saw, and restoring where the learned quadratic form was never tested.
/// Beyond <see cref="Cap"/> scales the wall goes on along its tangent (S(c³ + 3c²(d − c)), d in scales), so its
/// push never exceeds 3 S c² / Scale per unit of ∂I/∂x: a cubic wall on a narrow invariant (the H–H distance, spread
/// 0.05 Å) pushed with ~10 eV/Å at 3 spreads out, on configurations a hotter run reaches and the forces do not.
/// </summary>
public sealed record InvariantBounds(double[] Min, double[] Max, double[] Scale, double Strength, double Cap = double.PositiveInfinity)
{
    /// <summary>The cap new fits use (scales beyond the wall's start): see docs/extrapolation.md for the measurements.</summary>
    public const double DefaultCap = 1.0;

    /// <summary>The wall's value S·w(d) and slope S·w'(d) at d ≥ 0 scales out.</summary>
    internal void Wall(double d, out double value, out double slope)
    {
        double c = Math.Min(d, Cap);
        value = Strength * (c * c * c + 3 * c * c * (d - c));
        slope = 3 * Strength * c * c;
    }
}

/// <summary>
/// What one agent species' invariants did in training: per invariant the smallest and largest value and the
/// standard deviation (population). Not part of the loss: the extrapolation signal (docs/extrapolation.md) measures
/// how far an agent's invariants lie beyond [Min, Max] in units of <see cref="SpreadOf"/>.
/// </summary>
public sealed record InvariantRange(double[] Min, double[] Max, double[] Std)
{
    /// <summary>
    /// Smallest spread used for the signal, in the invariant's units: an invariant that never varied in training (a
    /// shell no neighbour reached, std ~1e-9) would otherwise call a hair's change a thousand spreads.
    /// </summary>
    public const double MinSpread = 0.01;

    /// <summary>The unit of the signal for invariant <paramref name="q"/>: its training std, at least <see cref="MinSpread"/>.</summary>
    public double SpreadOf(int q) => Math.Max(Std[q], MinSpread);

    /// <summary>
    /// The range of two training sets together (min of mins, max of maxes, the larger std); null when
    /// <paramref name="first"/> is unknown (a prior model file without ranges: its region cannot be told apart).
    /// </summary>
    public static InvariantRange? Union(InvariantRange? first, InvariantRange? second) =>
        first is null ? null : second is null ? first : new(
            [.. first.Min.Zip(second.Min, Math.Min)], [.. first.Max.Zip(second.Max, Math.Max)], [.. first.Std.Zip(second.Std, Math.Max)]);
}

/// <summary>
/// One agent species' loss L = b·I + ½ Iᵀ C I (C symmetric; null for order 1), plus the optional range walls
/// of <see cref="InvariantBounds"/>. Immutable.
/// </summary>
public sealed class QuadraticLoss
{
    private readonly double[] _b;
    private readonly double[]? _c; // K×K row-major, symmetric

    public QuadraticLoss(double[] b, double[]? c, InvariantBounds? bounds = null, InvariantRange? range = null)
    {
        if (range is not null && (range.Min.Length != b.Length || range.Max.Length != b.Length || range.Std.Length != b.Length))
            throw new ArgumentException("invariant training ranges need one entry per invariant");
        if (c is not null && c.Length != b.Length * b.Length) throw new ArgumentException("C must be K×K");
        if (bounds is not null && (bounds.Min.Length != b.Length || bounds.Max.Length != b.Length || bounds.Scale.Length != b.Length))
            throw new ArgumentException("invariant bounds need one entry per invariant");
        if (bounds is not null && bounds.Scale.Any(x => !(x > 0))) throw new ArgumentException("invariant bound scales must be positive");
        _b = b; _c = c;
        Bounds = bounds;
        Range = range;
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
    public InvariantBounds? Bounds { get; }

    /// <summary>The training range of each invariant (null: a model file written before ranges were recorded).</summary>
    public InvariantRange? Range { get; }

    public QuadraticLoss WithBounds(InvariantBounds? bounds) => new(_b, _c, bounds, Range);
    public QuadraticLoss WithRange(InvariantRange? range) => new(_b, _c, Bounds, range);

    /// <summary>L(I), and λ = ∂L/∂I = b + C I into <paramref name="lambda"/>.</summary>
    public double Evaluate(ReadOnlySpan<double> invariants, Span<double> lambda)
    {
        int k = _b.Length;
        double loss = 0;
        if (_c is null)
        {
            for (int a = 0; a < k; a++) { lambda[a] = _b[a]; loss += _b[a] * invariants[a]; }
        }
        else
        {
            var c = _c.AsSpan();
            for (int a = 0; a < k; a++)
            {
                double ci = Dense.Dot(c.Slice(a * k, k), invariants);
                lambda[a] = _b[a] + ci;
                loss += invariants[a] * (_b[a] + 0.5 * ci);
            }
        }
        if (Bounds is { } w)
        {
            for (int a = 0; a < k; a++)
            {
                double x = invariants[a];
                if (x > w.Max[a])
                {
                    w.Wall((x - w.Max[a]) / w.Scale[a], out double value, out double slope);
                    loss += value;
                    lambda[a] += slope / w.Scale[a];
                }
                else if (x < w.Min[a])
                {
                    w.Wall((w.Min[a] - x) / w.Scale[a], out double value, out double slope);
                    loss += value;
                    lambda[a] -= slope / w.Scale[a];
                }
            }
        }
        return loss;
    }

    /// <summary>
    /// The range walls' share of λ alone, ∂W/∂I (the terms <see cref="Evaluate"/> adds), into <paramref name="lambda"/>
    /// (zero elsewhere); whether any is non-zero. For the walls' reactions on the neighbours (<see cref="WallForces.Gradient"/>).
    /// </summary>
    internal bool WallLambda(ReadOnlySpan<double> invariants, Span<double> lambda)
    {
        int k = _b.Length;
        lambda[..k].Clear();
        if (Bounds is not { } w) return false;
        bool any = false;
        for (int a = 0; a < k; a++)
        {
            double x = invariants[a];
            if (x > w.Max[a])
            {
                w.Wall((x - w.Max[a]) / w.Scale[a], out _, out double slope);
                lambda[a] = slope / w.Scale[a];
            }
            else if (x < w.Min[a])
            {
                w.Wall((w.Min[a] - x) / w.Scale[a], out _, out double slope);
                lambda[a] = -slope / w.Scale[a];
            }
            any |= lambda[a] != 0;
        }
        return any;
    }

    /// <summary>Whether some invariant lies beyond its range wall's start (so the wall acts); false without walls.</summary>
    internal bool InWall(ReadOnlySpan<double> invariants)
    {
        if (Bounds is not { } w) return false;
        for (int a = 0; a < _b.Length; a++)
            if (invariants[a] > w.Max[a] || invariants[a] < w.Min[a]) return true;
        return false;
    }
}
