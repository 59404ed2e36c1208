using MolecularLearning.Core;

namespace MolecularLearning.Learning;

/// <summary>
/// The committee deviation of a model with members (<see cref="LearnedModel.Committee"/>): each member is evaluated
/// through the ordinary evaluator (same invariants, backend and walls as the model), and the frame's deviation is
/// DeePMD-kit's max_devi_f, the largest over atoms of σ_i = sqrt(⟨|F_i^m − ⟨F_i⟩|²⟩_m) (eV/Å, averages over the
/// members). Costs one evaluation per member. Not thread-safe: one per thread, like the force field.
/// </summary>
public sealed class CommitteeEvaluator
{
    private readonly LearnedForceField[] _members;
    private readonly ForceResult _result = new();
    private double[][] _forces = [];
    private double[] _atomDeviation = [];
    private int _atoms;

    public CommitteeEvaluator(LearnedModel model, double skin = 0, int maxThreads = 0, BackendChoice backend = BackendChoice.Auto)
    {
        var committee = model.Committee ?? throw new DataException("the model has no committee (fit it with --committee K)");
        _members = [.. Enumerable.Range(0, committee.Count).Select(m => model.Member(m).CreateForceField(skin, maxThreads, backend))];
    }

    public int Members => _members.Length;

    /// <summary>Each atom's σ_i from the last <see cref="Deviation"/>.</summary>
    public ReadOnlySpan<double> AtomDeviation => _atomDeviation.AsSpan(0, _atoms);

    /// <summary>The atom with the largest σ_i in the last <see cref="Deviation"/> (−1 before any).</summary>
    public int Atom { get; private set; } = -1;

    /// <summary>sqrt(mean over atoms of σ_i²) in the last <see cref="Deviation"/>: the whole frame's disagreement, as a frame's force RMSE is its whole error.</summary>
    public double Rms { get; private set; } = double.NaN;

    /// <summary>
    /// Mean over atoms of σ_i in the last <see cref="Deviation"/>: the committee's estimate of how wrong the frame's forces
    /// are. It ranks a frame's force RMSE better than <see cref="Rms"/> (docs/extrapolation.md): an atom's error is about
    /// a + bσ_i with a, the error the members share, the larger part, so the frame's mean squared error a² + 2ab⟨σ⟩ + b²⟨σ²⟩
    /// varies with ⟨σ⟩ first, and ⟨σ²⟩ would let the few atoms where the members part ways far out of range dominate.
    /// </summary>
    public double Mean { get; private set; } = double.NaN;

    /// <summary>max_i σ_i (eV/Å) of the members' forces on this configuration.</summary>
    public double Deviation(ReadOnlySpan<Species> species, ReadOnlySpan<double> positions, Cell? cell)
    {
        int n = species.Length;
        if (_forces.Length != _members.Length || _forces[0].Length != 3 * n)
            _forces = [.. _members.Select(_ => new double[3 * n])];
        for (int m = 0; m < _members.Length; m++)
        {
            _members[m].Compute(species, positions, cell, _result);
            _result.Forces.AsSpan(0, 3 * n).CopyTo(_forces[m]);
        }
        if (_atomDeviation.Length < n) _atomDeviation = new double[n];
        _atoms = n;
        var (max, atom) = AtomDeviations(_forces, n, _atomDeviation);
        Atom = atom;
        double sum = 0, squares = 0;
        for (int i = 0; i < n; i++) { sum += _atomDeviation[i]; squares += _atomDeviation[i] * _atomDeviation[i]; }
        Rms = n > 0 ? Math.Sqrt(squares / n) : double.NaN;
        Mean = n > 0 ? sum / n : double.NaN;
        return max;
    }

    /// <summary>σ_i of each atom into <paramref name="deviation"/>; returns the largest and its atom (members' forces 3N each).</summary>
    public static (double Max, int Atom) AtomDeviations(IReadOnlyList<double[]> forces, int atoms, Span<double> deviation)
    {
        int k = forces.Count;
        double max = 0;
        int at = atoms > 0 ? 0 : -1;
        for (int i = 0; i < atoms; i++)
        {
            // Differences from the first member: equal members give exactly 0 (a mean of equal numbers need not be one of them).
            double var = 0;
            for (int c = 0; c < 3; c++)
            {
                double first = forces[0][3 * i + c], sum = 0, squares = 0;
                for (int m = 1; m < k; m++) { double d = forces[m][3 * i + c] - first; sum += d; squares += d * d; }
                var += Math.Max(0, squares / k - (sum / k) * (sum / k));
            }
            deviation[i] = Math.Sqrt(var);
            if (deviation[i] > max) { max = deviation[i]; at = i; }
        }
        return (max, at);
    }
}
