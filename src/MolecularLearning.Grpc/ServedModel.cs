using MolecularLearning.Core;
using MolecularLearning.Protocols.Grpc.V1;

namespace MolecularLearning.Grpc;

/// <summary>
/// What the gRPC service serves: the model's species (the order of species_index), a factory of fresh
/// evaluators (each used by one call at a time: they keep neighbour lists) and the DescribeModel answer.
/// Keeps Protocols independent of how the model was made (a LearnedModel in `mld serve`, anything in tests).
/// </summary>
public sealed class ServedModel
{
    private readonly Func<IForceField> _createForceField;

    public ServedModel(IReadOnlyList<Species> species, Func<IForceField> createForceField, ModelDescription description)
    {
        if (species.Count == 0) throw new ArgumentException("a served model needs at least one species", nameof(species));
        Species = species;
        _createForceField = createForceField;
        Description = description;
    }

    /// <summary>The species the model knows, in the order species_index refers to.</summary>
    public IReadOnlyList<Species> Species { get; }

    /// <summary>The DescribeModel answer (max_atoms is filled in by the service).</summary>
    public ModelDescription Description { get; }

    /// <summary>A fresh evaluator with its own scratch state.</summary>
    public IForceField CreateForceField() => _createForceField();

    /// <summary>Fresh committee evaluators (one per force evaluator); null: responses carry no committee deviation.</summary>
    public Func<ICommitteeDeviation>? CreateCommittee { get; init; }
}

/// <summary>The members' force disagreement on a configuration (the committee_* fields of EvaluateResponse).</summary>
public interface ICommitteeDeviation
{
    /// <returns>Mean and largest over atoms of the members' force std (eV/Å), and the atom of the largest.</returns>
    (double Mean, double Max, int Atom) Deviation(ReadOnlySpan<Species> species, ReadOnlySpan<double> positions, Cell? cell);
}
