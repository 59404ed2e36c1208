namespace MolecularLearning.Learning;

/// <summary>
/// The extrapolation signal (docs/extrapolation.md): per agent, the largest distance of a monitored invariant beyond its
/// training range [min, max] (<see cref="InvariantRange"/>), in units of its training spread, 0 inside. Built once per
/// evaluator from the model; both backends feed it the invariant vector they already computed for the loss, so the
/// signal costs one pass over K numbers per agent.
/// </summary>
/// <remarks>
/// Not monitored: a linear angular family (<see cref="AngularSumsUnused"/>, the accurate preset's). Its sums enter the
/// loss as b · I only, so their force is the fitted b times a bounded gradient, and the fast kernel never forms the sums.
/// Unmonitored invariants and the padding lanes get the range (−∞, +∞), which no value leaves.
/// </remarks>
internal sealed class ExtrapolationMonitor
{
    private readonly double[][] _lo, _hi, _invSpread; // per agent species, padded to whole vectors
    /// <summary>Spreads beyond the recorded range still read as inside.</summary>
    public const double DeadBand = 1e-6;

    private ExtrapolationMonitor(double[][] lo, double[][] hi, double[][] invSpread, IReadOnlyList<string> labels)
    {
        _lo = lo; _hi = hi; _invSpread = invSpread; Labels = labels;
    }

    public IReadOnlyList<string> Labels { get; }

    /// <summary>Lower bounds of species <paramref name="t"/> (length a multiple of the padding asked for).</summary>
    public double[] Lower(int t) => _lo[t];
    public double[] Upper(int t) => _hi[t];
    public double[] InverseSpread(int t) => _invSpread[t];

    /// <summary>The monitor for <paramref name="model"/>, arrays padded to a multiple of <paramref name="pad"/>; null when a species has no recorded range.</summary>
    public static ExtrapolationMonitor? Create(LearnedModel model, int pad = 8)
    {
        var set = model.Invariants;
        int k = set.Count, t = set.Species.Count, kp = (k + pad - 1) / pad * pad;
        var lo = new double[t][]; var hi = new double[t][]; var inv = new double[t][];
        for (int s = 0; s < t; s++)
        {
            var loss = model.Losses[s];
            if (loss.Range is not { } range) return null;
            lo[s] = new double[kp]; hi[s] = new double[kp]; inv[s] = new double[kp];
            Array.Fill(lo[s], double.NegativeInfinity); Array.Fill(hi[s], double.PositiveInfinity); Array.Fill(inv[s], 1.0);
            bool skipAngular = AngularSumsUnused(set, loss);
            for (int q = 0; q < k; q++)
            {
                if (skipAngular && q >= set.AngularOffset && q < set.SortedAngleOffset) continue;
                // A dead band of 1e-6 spreads: the fit's scalar Gaussians and the evaluators' (table, SIMD) differ by ~1e-9,
                // and a training frame must read 0, not 1e-9.
                double spread = range.SpreadOf(q);
                lo[s][q] = range.Min[q] - DeadBand * spread; hi[s][q] = range.Max[q] + DeadBand * spread; inv[s][q] = 1 / spread;
            }
        }
        return new ExtrapolationMonitor(lo, hi, inv, set.Labels);
    }

    /// <summary>
    /// Whether the angular sums enter <paramref name="loss"/> linearly and unwalled (zero rows of C, no range walls): their
    /// λ is b whatever their values, so the fast kernel skips forming them (and the signal does not watch them).
    /// </summary>
    internal static bool AngularSumsUnused(InvariantSet set, QuadraticLoss loss)
    {
        if (set.SortedAngleOffset == set.AngularOffset) return false;
        int k = set.Count;
        var full = loss.Order == 2 ? loss.Quadratic : default;
        for (int a = set.AngularOffset; a < set.SortedAngleOffset; a++)
        {
            if (loss.Order == 2 && full.Slice(a * k, k).ContainsAnyExcept(0.0)) return false;
            if (loss.Bounds is { } b && (b.Max[a] != double.MaxValue || b.Min[a] != -double.MaxValue)) return false;
        }
        return true;
    }

    /// <summary>The agent's signal from its invariants (scalar; the oracle), and which invariant gives it (−1 when 0).</summary>
    public double Agent(int t, ReadOnlySpan<double> values, out int invariant)
    {
        double[] lo = _lo[t], hi = _hi[t], inv = _invSpread[t];
        double best = 0;
        invariant = -1;
        for (int q = 0; q < values.Length; q++)
        {
            double x = values[q];
            double d = Math.Max(x - hi[q], lo[q] - x) * inv[q];
            if (d > best) { best = d; invariant = q; }
        }
        return best;
    }
}
