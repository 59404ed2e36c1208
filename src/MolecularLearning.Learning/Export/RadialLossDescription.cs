using MolecularLearning.Core;

namespace MolecularLearning.Learning.Export;

/// <summary>
/// A radial function φ(r) of one invariant, smooth cutoff included (φ and φ' vanish at the cutoff).
/// Returns φ(r) and writes dφ/dr.
/// </summary>
public delegate double RadialFunction(double r, out double derivative);

/// <summary>One radial invariant of an agent: I_k = Σ over neighbours j of species <see cref="NeighbourSpecies"/> of φ_k(r_ij).</summary>
/// <param name="NeighbourSpecies">Index into <see cref="RadialLossDescription.Species"/>.</param>
/// <param name="Phi">φ_k with its smooth cutoff.</param>
/// <param name="Label">A short name for reports ("H:gauss(1.0,0.2)").</param>
public sealed record RadialInvariant(int NeighbourSpecies, RadialFunction Phi, string Label);

/// <summary>
/// The loss of one agent species s: L_i = b·I_i + ½ I_iᵀ C I_i over its radial invariants.
/// <see cref="C"/> is null for an order-1 loss.
/// </summary>
public sealed class AgentLoss
{
    public AgentLoss(IReadOnlyList<RadialInvariant> invariants, double[] b, double[,]? c)
    {
        int k = invariants.Count;
        if (b.Length != k) throw new ArgumentException($"b has {b.Length} entries for {k} invariants");
        if (c is not null)
        {
            if (c.GetLength(0) != k || c.GetLength(1) != k) throw new ArgumentException($"C must be {k}×{k}");
            for (int a = 0; a < k; a++)
                for (int d = 0; d < a; d++)
                {
                    double scale = Math.Max(Math.Abs(c[a, d]), Math.Abs(c[d, a]));
                    if (Math.Abs(c[a, d] - c[d, a]) > 1e-12 * Math.Max(scale, 1e-300))
                        throw new ArgumentException($"C is not symmetric at ({a},{d})");
                }
        }
        foreach (var v in b) if (!double.IsFinite(v)) throw new ArgumentException("b has a non-finite entry");
        Invariants = invariants;
        B = b;
        C = c;
    }

    public IReadOnlyList<RadialInvariant> Invariants { get; }
    public double[] B { get; }
    public double[,]? C { get; }
}

/// <summary>
/// What the LAMMPS export needs to know about a learned model, independent of how the model is stored:
/// a conservative radial loss U = Σ_i [b^(s_i)·I_i + ½ I_iᵀ C^(s_i) I_i] with
/// I_ik = Σ_{j of species t_k, r_ij &lt; r_c} φ_k(r_ij), one <see cref="AgentLoss"/> per species.
/// Only this form maps onto pair + embedding sums; agent-mode, sorted-distance and angular losses do not.
/// </summary>
public sealed class RadialLossDescription
{
    public RadialLossDescription(IReadOnlyList<Species> species, double cutoff, IReadOnlyList<AgentLoss> agents, string name = "model")
    {
        if (species.Count == 0) throw new ArgumentException("no species");
        if (agents.Count != species.Count) throw new ArgumentException($"{species.Count} species need {species.Count} agent losses, got {agents.Count}");
        if (!(cutoff > 0) || !double.IsFinite(cutoff)) throw new ArgumentException("cutoff must be positive");
        if (species.Distinct().Count() != species.Count) throw new ArgumentException("species repeat");
        foreach (var agent in agents)
            foreach (var inv in agent.Invariants)
                if (inv.NeighbourSpecies < 0 || inv.NeighbourSpecies >= species.Count)
                    throw new ArgumentException($"invariant {inv.Label} refers to species index {inv.NeighbourSpecies}");
        Species = species;
        Cutoff = cutoff;
        Agents = agents;
        Name = name;
    }

    public IReadOnlyList<Species> Species { get; }
    /// <summary>Radial cutoff r_c in Å: every φ_k is zero beyond it.</summary>
    public double Cutoff { get; }
    public IReadOnlyList<AgentLoss> Agents { get; }
    public string Name { get; }
    public int Order => Agents.Any(a => a.C is not null) ? 2 : 1;

    /// <summary>Index of a species in <see cref="Species"/>; throws naming the species when the model does not know it.</summary>
    public int IndexOf(Species s)
    {
        for (int i = 0; i < Species.Count; i++) if (Species[i].Symbol == s.Symbol) return i;
        throw new DataException($"species {s.Symbol} is not in the model (it knows {string.Join(", ", Species)})");
    }
}
