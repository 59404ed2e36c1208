using MolecularLearning.Core;
using MolecularLearning.Learning;
using MolecularLearning.Grpc;
using MolecularLearning.Protocols.Grpc.V1;
using SpeciesErrorMessage = MolecularLearning.Protocols.Grpc.V1.SpeciesError;

namespace MolecularLearning.Server;

/// <summary>A fitted <see cref="LearnedModel"/> as the gRPC service serves it (evaluators + DescribeModel).</summary>
public static class LearnedModelServing
{
    /// <summary>The model served with an evaluator per call or stream on <paramref name="backend"/> at <paramref name="precision"/>.</summary>
    /// <param name="committee">Also answer each request with the committee deviation (K more evaluations; the model needs members).</param>
    public static ServedModel ToServedModel(LearnedModel model, string name, BackendChoice backend = BackendChoice.Auto, bool committee = false,
        Precision precision = Precision.Double)
    {
        if (committee && model.Committee is null)
            throw new DataException($"{name}: --committee needs a model fitted with committee members (mld fit --committee K)");
        var description = new ModelDescription
        {
            Name = name,
            CutoffAngstrom = model.Cutoff,
            Order = model.Order,
            Mode = model.Mode.ToString(),
            Training = new TrainingSummary { Source = model.Training.Source, Frames = (uint)Math.Max(0, model.Training.Frames) },
        };
        var info = model.CreateForceField(skin: 0, backend: backend, precision: precision).Backend; // throws, with the reason, if simd cannot be had
        description.Backend = info.Name;
        description.VectorBits = (uint)info.VectorBits;
        foreach (var s in model.Species)
            description.Species.Add(new SpeciesInfo { Symbol = s.Symbol, AtomicNumber = (uint)s.AtomicNumber, MassAmu = s.Mass });
        if (model.Training.Holdout is { } holdout)
            foreach (var (symbol, e) in holdout.Species)
                description.Training.Holdout.Add(new SpeciesErrorMessage
                {
                    Symbol = symbol, RelRmse = e.RelRmse, RmseEvPerAngstrom = e.Rmse, Atoms = (ulong)Math.Max(0, e.Atoms),
                });
        // No Verlet skin, as `mld run` in-process: an evaluator keeps no neighbour-list state between calls, so a
        // served answer depends only on the request (unary or stream, any pooled evaluator) and a run on
        // --forces grpc: is bit-identical to the same run in-process.
        return new ServedModel(model.Species, () => model.CreateForceField(skin: 0, backend: backend, precision: precision), description)
        {
            CreateCommittee = committee ? () => new CommitteeDeviation(new CommitteeEvaluator(model, skin: 0, backend: backend)) : null,
        };
    }

    private sealed class CommitteeDeviation(CommitteeEvaluator evaluator) : ICommitteeDeviation
    {
        public (double Mean, double Max, int Atom) Deviation(ReadOnlySpan<Species> species, ReadOnlySpan<double> positions, Cell? cell)
        {
            double max = evaluator.Deviation(species, positions, cell);
            return (evaluator.Mean, max, evaluator.Atom);
        }
    }
}
