using MolecularLearning.Core;

namespace MolecularLearning.Learning;

/// <summary>
/// The committee deviation along a run (<c>mld run</c> with a model fitted with --committee): checked on the
/// configurations it is given (every output step: K evaluations each), it keeps the largest with its step and atom and
/// the median of all checks.
/// </summary>
public sealed class CommitteeWatch(LearnedModel model, BackendChoice backend = BackendChoice.Auto)
{
    private readonly CommitteeEvaluator _evaluator = new(model, skin: 0, backend: backend);
    private readonly List<double> _checks = [];
    private readonly List<double> _means = [];

    public int Members => _evaluator.Members;
    public int Checks => _checks.Count;
    public double Largest { get; private set; } = double.NaN;
    public long LargestStep { get; private set; } = -1;
    public int LargestAtom { get; private set; } = -1;

    /// <summary>The median deviation over the checks (NaN before any).</summary>
    public double Median => MedianOf(_checks);

    /// <summary>The median over the checks of the mean over atoms of the members' force std (NaN before any).</summary>
    public double MedianMean => MedianOf(_means);

    private static double MedianOf(List<double> values)
    {
        if (values.Count == 0) return double.NaN;
        var sorted = values.Order().ToArray();
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
    }

    /// <summary>Evaluates the members on this configuration (step <paramref name="step"/>) and returns its deviation (eV/Å).</summary>
    public double Check(long step, ReadOnlySpan<Species> species, ReadOnlySpan<double> positions, Cell? cell)
    {
        double deviation = _evaluator.Deviation(species, positions, cell);
        _checks.Add(deviation);
        _means.Add(_evaluator.Mean);
        if (!(deviation <= Largest))
        {
            Largest = deviation; LargestStep = step; LargestAtom = _evaluator.Atom;
        }
        return deviation;
    }
}
