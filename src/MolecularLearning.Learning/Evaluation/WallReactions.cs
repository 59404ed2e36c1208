using MolecularLearning.Core;

namespace MolecularLearning.Learning;

/// <summary>
/// Agent mode with <see cref="WallForces.Gradient"/>: the range walls' reactions on the neighbours. The backends' agent pass
/// already gives each agent −∂(L_i + W(I_i))/∂x_i; this pass adds −∂W(I_j)/∂x_i for every neighbour i of an agent j whose
/// walls act (the backend marks those), so the walls' forces are −∇ Σ_j W(I_j): no curl. Energy and virial need nothing
/// more (the agent pass counted W and its pulls ∂W/∂d_e). Serial, after the chunks, through <see cref="InvariantSet"/>'s
/// scalar path for both backends: only agents outside their range pay for it.
/// </summary>
internal sealed class WallReactions(LearnedModel model, bool tabulatedRadial)
{
    private readonly InvariantSet _set = model.Invariants;
    private readonly QuadraticLoss[] _losses = [.. model.Losses];
    private readonly AgentScratch _s = new(model.Invariants.Count) { TabulatedRadial = tabulatedRadial };

    /// <summary>Adds the reactions of agents [<paramref name="from"/>, <paramref name="to"/>) with <paramref name="walled"/>[j] set; returns how many.</summary>
    public int Add(NeighbourList list, int[] types, double[] forces, bool[] walled, int from, int to)
    {
        var s = _s;
        int count = 0;
        for (int j = from; j < to; j++)
        {
            if (!walled[j]) continue;
            _set.Gather(s, j, list, types);
            _set.ComputeValues(s);
            if (!_losses[types[j]].WallLambda(s.Values.AsSpan(0, _set.Count), s.Lambda)) continue;
            count++;
            var sink = new LossGradientSink(s);
            _set.ComputeGradient(s, ref sink);
            for (int e = 0; e < s.Entries; e++)
            {
                int a = 3 * s.Atom[e];
                forces[a] -= s.Gx[e]; forces[a + 1] -= s.Gy[e]; forces[a + 2] -= s.Gz[e];
            }
        }
        return count;
    }
}
