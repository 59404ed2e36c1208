using MolecularLearning.Core;

namespace MolecularLearning.Learning.Export;

/// <summary>
/// Direct analytic evaluation of a <see cref="RadialLossDescription"/> in conservative mode:
/// U = Σ_i L_i, F = −∇U (each pair feeds the agent's own loss and, through the neighbour's
/// invariants, the neighbour's). The reference the exported LAMMPS tables are measured against.
/// </summary>
public sealed class RadialLossForceField : IForceField
{
    private readonly RadialLossDescription _model;
    private readonly NeighbourList _list = new();
    private readonly int _maxK;
    private int[] _type = [];
    private double[] _inv = [];   // N × maxK invariants
    private double[] _grad = [];  // N × maxK: ∂U/∂I_ik = b_k + (C I_i)_k

    public RadialLossForceField(RadialLossDescription model)
    {
        _model = model;
        _maxK = model.Agents.Max(a => a.Invariants.Count);
    }

    public string Name => $"{_model.Name} (analytic radial loss)";

    /// <summary>Invariant vector I_i of atom i from the last <see cref="Compute"/> (its agent species' length).</summary>
    public double[] InvariantsOf(int i, Species species) =>
        _inv.AsSpan(i * _maxK, _model.Agents[_model.IndexOf(species)].Invariants.Count).ToArray();

    public void Compute(ReadOnlySpan<Species> species, ReadOnlySpan<double> positions, Cell? cell, ForceResult result)
    {
        int n = species.Length;
        result.Resize(n);
        result.Clear();
        if (_type.Length < n) { _type = new int[n]; _inv = new double[n * _maxK]; _grad = new double[n * _maxK]; }
        for (int i = 0; i < n; i++) _type[i] = _model.IndexOf(species[i]);
        _list.Build(positions, cell, _model.Cutoff);
        var start = _list.Start; var index = _list.Index; var rr = _list.R;
        var dx = _list.Dx; var dy = _list.Dy; var dz = _list.Dz;
        double rc = _model.Cutoff;

        _inv.AsSpan(0, n * _maxK).Clear();
        for (int i = 0; i < n; i++)
        {
            var agent = _model.Agents[_type[i]];
            var inv = _inv.AsSpan(i * _maxK, _maxK);
            for (int e = start[i]; e < start[i + 1]; e++)
            {
                double r = rr[e];
                if (r >= rc) continue;
                int t = _type[index[e]];
                for (int k = 0; k < agent.Invariants.Count; k++)
                    if (agent.Invariants[k].NeighbourSpecies == t) inv[k] += agent.Invariants[k].Phi(r, out _);
            }
        }

        double energy = 0;
        for (int i = 0; i < n; i++)
        {
            var agent = _model.Agents[_type[i]];
            int kk = agent.Invariants.Count;
            var inv = _inv.AsSpan(i * _maxK, kk);
            var g = _grad.AsSpan(i * _maxK, kk);
            for (int k = 0; k < kk; k++)
            {
                double cI = 0;
                if (agent.C is { } c) for (int l = 0; l < kk; l++) cI += c[k, l] * inv[l];
                energy += agent.B[k] * inv[k] + 0.5 * inv[k] * cI;
                g[k] = agent.B[k] + cI;
            }
        }
        result.Energy = energy;

        // dU/dd for the entry (i, j, image) with d = x_j − x_i: Σ_k G_ik φ_k'(r) d/r (agent i's own view only;
        // agent j's view of the same pair is its own entry (j, i)).
        var f = result.Forces; var w = result.Virial;
        for (int i = 0; i < n; i++)
        {
            var agent = _model.Agents[_type[i]];
            var g = _grad.AsSpan(i * _maxK, agent.Invariants.Count);
            for (int e = start[i]; e < start[i + 1]; e++)
            {
                double r = rr[e];
                if (r >= rc) continue;
                int j = index[e], t = _type[j];
                double dUdr = 0;
                for (int k = 0; k < agent.Invariants.Count; k++)
                    if (agent.Invariants[k].NeighbourSpecies == t)
                    {
                        agent.Invariants[k].Phi(r, out double dphi);
                        dUdr += g[k] * dphi;
                    }
                AddPairGradient(f, w, i, j, dUdr / r, dx[e], dy[e], dz[e]);
            }
        }
    }

    /// <summary>
    /// One entry's energy gradient g = dE/dd = s·d on its displacement d = x_j − x_i (s = (dE/dr) / r): F_i += g,
    /// F_j −= g, and the virial W = −∂E/∂ε gets W_ab −= d_a g_b.
    /// </summary>
    internal static void AddPairGradient(double[] f, double[] w, int i, int j, double s, double dx, double dy, double dz)
    {
        double gx = s * dx, gy = s * dy, gz = s * dz;
        f[3 * i] += gx; f[3 * i + 1] += gy; f[3 * i + 2] += gz;
        f[3 * j] -= gx; f[3 * j + 1] -= gy; f[3 * j + 2] -= gz;
        w[0] -= dx * gx; w[1] -= dx * gy; w[2] -= dx * gz;
        w[3] -= dy * gx; w[4] -= dy * gy; w[5] -= dy * gz;
        w[6] -= dz * gx; w[7] -= dz * gy; w[8] -= dz * gz;
    }
}
