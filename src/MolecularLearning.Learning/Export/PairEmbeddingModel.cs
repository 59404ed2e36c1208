using MathNet.Numerics.LinearAlgebra;
using MolecularLearning.Core;

namespace MolecularLearning.Learning.Export;

/// <summary>Σ_i c_i φ_i(r) for r &lt; r_c, zero beyond: a pair potential or a density function in analytic form.</summary>
public sealed class RadialSum(double cutoff, IReadOnlyList<(double Coefficient, RadialFunction Phi)> terms) : ICurve
{
    public IReadOnlyList<(double Coefficient, RadialFunction Phi)> Terms { get; } = terms;
    public double Cutoff { get; } = cutoff;
    public bool IsZero => Terms.All(t => t.Coefficient == 0);

    public double Evaluate(double r, out double derivative)
    {
        derivative = 0;
        if (r >= Cutoff) return 0;
        double v = 0;
        foreach (var (c, phi) in Terms)
        {
            if (c == 0) continue;
            v += c * phi(r, out double d);
            derivative += c * d;
        }
        return v;
    }
}

/// <summary>F(ρ) = c ρ²: one embedding term of the quadratic loss.</summary>
public sealed class QuadraticEmbedding(double coefficient) : ICurve
{
    public double Coefficient { get; } = coefficient;
    public double Evaluate(double rho, out double derivative)
    {
        derivative = 2 * Coefficient * rho;
        return Coefficient * rho * rho;
    }
}

/// <summary>
/// One eam/fs instance: per species s an embedding F_s(ρ) and densities f_{s,t}(r) (density at an atom of species
/// s from a neighbour of species t). Null entries are zero.
/// </summary>
public sealed class EmbeddingLayer(ICurve?[] embedding, ICurve?[,] density, string[] notes)
{
    public ICurve?[] Embedding { get; } = embedding;
    /// <summary>[receiver s, neighbour t].</summary>
    public ICurve?[,] Density { get; } = density;
    /// <summary>Per species, where the term comes from ("λ=…, u⁺"), for the export report.</summary>
    public string[] Notes { get; } = notes;
}

/// <summary>
/// The LAMMPS-shaped form of a conservative radial loss: E = ½ Σ_i Σ_j V_{s_i s_j}(r_ij) + Σ_layers Σ_i F_{s_i}(Σ_j f_{s_i s_j}(r_ij)).
/// Built analytically from a <see cref="RadialLossDescription"/> (<see cref="FromRadialLoss"/>) and, with the same
/// shape, from tabulated curves that mimic LAMMPS, so both go through one evaluator.
/// </summary>
public sealed class PairEmbeddingModel(IReadOnlyList<Species> species, double cutoff, ICurve?[,] pair, IReadOnlyList<EmbeddingLayer> layers)
{
    public IReadOnlyList<Species> Species { get; } = species;
    public double Cutoff { get; } = cutoff;
    /// <summary>Symmetric V_st(r), counted once per pair.</summary>
    public ICurve?[,] Pair { get; } = pair;
    public IReadOnlyList<EmbeddingLayer> Layers { get; } = layers;

    /// <summary>Eigen-directions with |λ| below this fraction of the largest are dropped (they carry nothing).</summary>
    public const double EigenvalueFloor = 1e-13;
    /// <summary>Eigenvector components of the minority sign below this fraction of the largest are set to zero.</summary>
    public const double ComponentFloor = 1e-12;

    /// <summary>
    /// The pair + embedding form of a radial loss.
    /// <para>Order 1: V_st(r) = Σ_{k∈s, t_k=t} b^(s)_k φ_k(r) + Σ_{k∈t, t_k=s} b^(t)_k φ_k(r) (both agents' views of the pair).</para>
    /// <para>Order 2: C^(s) = Σ_m λ_m u_m u_mᵀ, so ½ I_iᵀ C I_i = Σ_m ½ λ_m ρ_m² with ρ_m = u_m·I_i = Σ_j Σ_{k: t_k = s_j} u_mk φ_k(r_ij).
    /// LAMMPS tabulates F(ρ) only for ρ ≥ 0, and an eigenvector of mixed sign gives densities of either sign. Such a
    /// direction is split with q = u⁺·I ≥ 0 and p = u⁻·I ≥ 0 (φ_k ≥ 0): ½λ(q − p)² = λq² + λp² − ½λ(q + p)²,
    /// three layers whose densities are all non-negative. A direction whose components share one sign needs one layer.</para>
    /// </summary>
    public static PairEmbeddingModel FromRadialLoss(RadialLossDescription model)
    {
        int ns = model.Species.Count;
        double rc = model.Cutoff;
        var pair = new ICurve?[ns, ns];
        for (int s = 0; s < ns; s++)
            for (int t = s; t < ns; t++)
            {
                var terms = new List<(double, RadialFunction)>();
                foreach (var (agent, other) in new[] { (s, t), (t, s) })
                {
                    var loss = model.Agents[agent];
                    for (int k = 0; k < loss.Invariants.Count; k++)
                        if (loss.Invariants[k].NeighbourSpecies == other) terms.Add((loss.B[k], loss.Invariants[k].Phi));
                }
                pair[s, t] = pair[t, s] = new RadialSum(rc, terms);
            }

        // Per species, the embedding terms c·(v·I)² of its quadratic part.
        var terms2 = new List<(double C, double[] V, string Note)>[ns];
        for (int s = 0; s < ns; s++)
        {
            terms2[s] = [];
            if (model.Agents[s].C is not { } c) continue;
            int kk = c.GetLength(0);
            if (kk == 0) continue;
            var evd = Matrix<double>.Build.DenseOfArray(c).Evd(Symmetricity.Symmetric);
            double maxLambda = evd.EigenValues.Enumerate().Max(z => Math.Abs(z.Real));
            for (int m = 0; m < kk; m++)
            {
                double lambda = evd.EigenValues[m].Real;
                if (!(Math.Abs(lambda) > EigenvalueFloor * maxLambda)) continue;
                var u = evd.EigenVectors.Column(m).ToArray();
                double pos = u.Where(x => x > 0).Sum(), neg = -u.Where(x => x < 0).Sum();
                if (neg > pos) for (int k = 0; k < kk; k++) u[k] = -u[k];
                double umax = u.Max(Math.Abs);
                for (int k = 0; k < kk; k++) if (u[k] < 0 && -u[k] < ComponentFloor * umax) u[k] = 0;
                string label = $"λ{m + 1}={lambda:G6}";
                if (u.All(x => x >= 0))
                {
                    terms2[s].Add((0.5 * lambda, u, label));
                    continue;
                }
                var up = u.Select(x => Math.Max(x, 0)).ToArray();
                var um = u.Select(x => Math.Max(-x, 0)).ToArray();
                var ua = u.Select(Math.Abs).ToArray();
                terms2[s].Add((lambda, up, label + " λ(u⁺·I)²"));
                terms2[s].Add((lambda, um, label + " λ(u⁻·I)²"));
                terms2[s].Add((-0.5 * lambda, ua, label + " −½λ(|u|·I)²"));
            }
        }

        int layers = terms2.Max(t => t.Count);
        var list = new List<EmbeddingLayer>();
        for (int n = 0; n < layers; n++)
        {
            var emb = new ICurve?[ns];
            var dens = new ICurve?[ns, ns];
            var notes = new string[ns];
            for (int s = 0; s < ns; s++)
            {
                notes[s] = "none";
                if (n >= terms2[s].Count) continue;
                var (cq, v, note) = terms2[s][n];
                emb[s] = new QuadraticEmbedding(cq);
                notes[s] = note;
                var loss = model.Agents[s];
                for (int t = 0; t < ns; t++)
                {
                    var sum = new List<(double, RadialFunction)>();
                    for (int k = 0; k < loss.Invariants.Count; k++)
                        if (loss.Invariants[k].NeighbourSpecies == t && v[k] != 0) sum.Add((v[k], loss.Invariants[k].Phi));
                    if (sum.Count > 0) dens[s, t] = new RadialSum(rc, sum);
                }
            }
            list.Add(new EmbeddingLayer(emb, dens, notes));
        }
        return new PairEmbeddingModel(model.Species, rc, pair, list);
    }
}

/// <summary>
/// Evaluates a <see cref="PairEmbeddingModel"/> exactly as LAMMPS sums it (pair terms once per pair, one density and
/// embedding per layer and atom) — with analytic curves it checks the decomposition, with tabulated ones the tables.
/// </summary>
public sealed class PairEmbeddingForceField(PairEmbeddingModel model) : IForceField
{
    private readonly NeighbourList _list = new();
    private int[] _type = [];
    private double[] _rho = [], _dF = [];

    public PairEmbeddingModel Model { get; } = model;
    public string Name => "pair + embedding form";

    /// <summary>Per layer and atom, the densities of the last <see cref="Compute"/> ([layer * N + i]).</summary>
    public ReadOnlySpan<double> Densities => _rho;

    public void Compute(ReadOnlySpan<Species> species, ReadOnlySpan<double> positions, Cell? cell, ForceResult result)
    {
        int n = species.Length, nl = Model.Layers.Count;
        result.Resize(n);
        result.Clear();
        if (_type.Length != n) _type = new int[n];
        if (_rho.Length != nl * n) { _rho = new double[nl * n]; _dF = new double[nl * n]; }
        for (int i = 0; i < n; i++) _type[i] = IndexOf(species[i]);
        _list.Build(positions, cell, Model.Cutoff);
        var start = _list.Start; var index = _list.Index; var rr = _list.R;
        var dx = _list.Dx; var dy = _list.Dy; var dz = _list.Dz;
        double rc = Model.Cutoff, energy = 0;
        var f = result.Forces; var w = result.Virial;

        Array.Clear(_rho);
        for (int i = 0; i < n; i++)
        {
            int s = _type[i];
            for (int e = start[i]; e < start[i + 1]; e++)
            {
                double r = rr[e];
                if (r >= rc) continue;
                int j = index[e], t = _type[j];
                double dEdr = 0;
                if (Model.Pair[s, t] is { } v)
                {
                    energy += 0.5 * v.Evaluate(r, out double dv);
                    dEdr = 0.5 * dv;
                }
                for (int l = 0; l < nl; l++)
                    if (Model.Layers[l].Density[s, t] is { } d) _rho[l * n + i] += d.Evaluate(r, out _);
                Accumulate(f, w, i, j, e, dEdr / r, dx, dy, dz);
            }
        }
        for (int l = 0; l < nl; l++)
            for (int i = 0; i < n; i++)
                if (Model.Layers[l].Embedding[_type[i]] is { } F)
                {
                    energy += F.Evaluate(_rho[l * n + i], out double dF);
                    _dF[l * n + i] = dF;
                }
                else _dF[l * n + i] = 0;
        if (nl > 0)
            for (int i = 0; i < n; i++)
            {
                int s = _type[i];
                for (int e = start[i]; e < start[i + 1]; e++)
                {
                    double r = rr[e];
                    if (r >= rc) continue;
                    int j = index[e], t = _type[j];
                    double dEdr = 0;
                    for (int l = 0; l < nl; l++)
                        if (Model.Layers[l].Density[s, t] is { } d)
                        {
                            d.Evaluate(r, out double dd);
                            dEdr += _dF[l * n + i] * dd;
                        }
                    Accumulate(f, w, i, j, e, dEdr / r, dx, dy, dz);
                }
            }
        result.Energy = energy;
    }

    private void Accumulate(double[] f, double[] w, int i, int j, int e, double s, ReadOnlySpan<double> dx, ReadOnlySpan<double> dy, ReadOnlySpan<double> dz)
    {
        if (s == 0) return;
        double gx = s * dx[e], gy = s * dy[e], gz = s * dz[e];
        f[3 * i] += gx; f[3 * i + 1] += gy; f[3 * i + 2] += gz;
        f[3 * j] -= gx; f[3 * j + 1] -= gy; f[3 * j + 2] -= gz;
        RadialLossForceField.AddVirial(w, dx[e], dy[e], dz[e], gx, gy, gz);
    }

    private int IndexOf(Species s)
    {
        for (int i = 0; i < Model.Species.Count; i++) if (Model.Species[i].Symbol == s.Symbol) return i;
        throw new DataException($"species {s.Symbol} is not in the model");
    }
}
