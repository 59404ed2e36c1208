using MathNet.Numerics.LinearAlgebra;
using MolecularLearning.Core;

namespace MolecularLearning.Learning.Export;

/// <summary>Σ_i c_i φ_i(r) for r &lt; r_c, zero beyond: a pair potential or a density function in analytic form.</summary>
public sealed class RadialSum(double cutoff, IReadOnlyList<(double Coefficient, RadialFunction Phi)> terms) : ICurve
{
    private readonly (double Coefficient, RadialFunction Phi)[] _terms = [.. terms];

    public IReadOnlyList<(double Coefficient, RadialFunction Phi)> Terms => _terms;
    public double Cutoff { get; } = cutoff;
    public bool IsZero => _terms.All(t => t.Coefficient == 0);

    public double Evaluate(double r, out double derivative)
    {
        derivative = 0;
        if (r >= Cutoff) return 0;
        double v = 0;
        for (int i = 0; i < _terms.Length; i++)
        {
            var (c, phi) = _terms[i];
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
public sealed class EmbeddingLayer(ICurve?[] embedding, ICurve?[,] density, string[] notes, bool[]? nonNegative = null)
{
    public ICurve?[] Embedding { get; } = embedding;
    /// <summary>[receiver s, neighbour t].</summary>
    public ICurve?[,] Density { get; } = density;
    /// <summary>Per species, where the term comes from ("λ=…, u⁺"), for the export report.</summary>
    public string[] Notes { get; } = notes;
    /// <summary>
    /// Per species: true when its density is non-negative by construction (non-negative combination of φ_k ≥ 0),
    /// false when it is one eigen-direction kept whole because the reference densities stay well above zero.
    /// </summary>
    public bool[] NonNegative { get; } = nonNegative ?? Enumerable.Repeat(true, embedding.Length).ToArray();
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
    /// direction is shifted by a shared positive direction e (P = e·I ≥ 0 as φ_k ≥ 0): q = ρ + αP = (u + αe)·I ≥ 0 for
    /// α = max_k(−u_k/e_k), and ½λρ² = ½λ(1+α)q² − ½λα(q+P)² + ½λα(1+α)P²: two layers per direction plus one shared
    /// P² layer per species, all with non-negative densities. A direction whose components share one sign needs one layer.</para>
    /// <para>With <paramref name="invariants"/> (per species, the invariant vectors of reference atoms) a mixed-sign
    /// direction whose reference densities ρ = u·I all lie on one side of zero, at least one spread (max − min) away
    /// from it, stays one layer: LAMMPS reproduces it exactly while ρ stays in its tabulated range, and that is
    /// where the structures it is meant for put it. Otherwise it is split as above.</para>
    /// </summary>
    public static PairEmbeddingModel FromRadialLoss(RadialLossDescription model, IReadOnlyList<IReadOnlyList<double[]>>? invariants = null)
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
        var terms2 = new List<(double C, double[] V, string Note, bool NonNegative)>[ns];
        for (int s = 0; s < ns; s++)
        {
            terms2[s] = [];
            if (model.Agents[s].C is not { } c) continue;
            int kk = c.GetLength(0);
            if (kk == 0) continue;
            var evd = Matrix<double>.Build.DenseOfArray(c).Evd(Symmetricity.Symmetric);
            // The shared positive direction e: each invariant weighted by 1/its mean on the reference atoms, so no
            // invariant dominates P = e·I (a dominant one would make q and P large against ρ and cost accuracy).
            var e = new double[kk];
            for (int k = 0; k < kk; k++)
            {
                double mean = invariants is not null && invariants[s].Count > 0 ? invariants[s].Average(iv => iv[k]) : 0;
                e[k] = mean > 0 ? 1 / mean : 1;
            }
            double sharedP = 0;
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
                    terms2[s].Add((0.5 * lambda, u, label, true));
                    continue;
                }
                if (invariants is not null && invariants[s].Count > 0)
                {
                    var rho = invariants[s].Select(iv => Dot(u, iv)).ToArray();
                    if (rho.Average() < 0) { for (int k = 0; k < kk; k++) u[k] = -u[k]; rho = rho.Select(x => -x).ToArray(); }
                    double lo = rho.Min(), hi = rho.Max();
                    if (lo > 0 && lo >= hi - lo)
                    {
                        terms2[s].Add((0.5 * lambda, u, FormattableString.Invariant($"{label} ½λ(u·I)², reference ρ in [{lo:G4}, {hi:G4}]"), false));
                        continue;
                    }
                }
                // ρ = q − αP with q = (u + α e)·I ≥ 0 and the shared P = e·I ≥ 0:
                // ½λρ² = ½λ(1+α) q² − ½λα (q+P)² + ½λα(1+α) P², the P² parts of all directions summed into one layer.
                double alpha = 0;
                for (int k = 0; k < kk; k++) alpha = Math.Max(alpha, -u[k] / e[k]);
                var q = new double[kk];
                var qp = new double[kk];
                for (int k = 0; k < kk; k++)
                {
                    q[k] = Math.Max(0, u[k] + alpha * e[k]); // ≥ 0 up to rounding at the component that set α
                    qp[k] = q[k] + e[k];
                }
                terms2[s].Add((0.5 * lambda * (1 + alpha), q, FormattableString.Invariant($"{label} ½λ(1+α)(q·I)², α={alpha:G4}"), true));
                terms2[s].Add((-0.5 * lambda * alpha, qp, FormattableString.Invariant($"{label} −½λα((q+e)·I)²"), true));
                sharedP += 0.5 * lambda * alpha * (1 + alpha);
            }
            if (sharedP != 0) terms2[s].Add((sharedP, e, "shared (e·I)² of the split directions", true));
        }

        int layers = terms2.Max(t => t.Count);
        var list = new List<EmbeddingLayer>();
        for (int n = 0; n < layers; n++)
        {
            var emb = new ICurve?[ns];
            var dens = new ICurve?[ns, ns];
            var notes = new string[ns];
            var nonNegative = new bool[ns];
            for (int s = 0; s < ns; s++)
            {
                notes[s] = "none";
                nonNegative[s] = true;
                if (n >= terms2[s].Count) continue;
                var (cq, v, note, guaranteed) = terms2[s][n];
                emb[s] = new QuadraticEmbedding(cq);
                notes[s] = note;
                nonNegative[s] = guaranteed;
                var loss = model.Agents[s];
                for (int t = 0; t < ns; t++)
                {
                    var sum = new List<(double, RadialFunction)>();
                    for (int k = 0; k < loss.Invariants.Count; k++)
                        if (loss.Invariants[k].NeighbourSpecies == t && v[k] != 0) sum.Add((v[k], loss.Invariants[k].Phi));
                    if (sum.Count > 0) dens[s, t] = new RadialSum(rc, sum);
                }
            }
            list.Add(new EmbeddingLayer(emb, dens, notes, nonNegative));
        }
        return new PairEmbeddingModel(model.Species, rc, pair, list);
    }

    private static double Dot(double[] a, double[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
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
                if (dEdr != 0) RadialLossForceField.AddPairGradient(f, w, i, j, dEdr / r, dx[e], dy[e], dz[e]);
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
                    if (dEdr != 0) RadialLossForceField.AddPairGradient(f, w, i, j, dEdr / r, dx[e], dy[e], dz[e]);
                }
            }
        result.Energy = energy;
    }

    private int IndexOf(Species s)
    {
        for (int i = 0; i < Model.Species.Count; i++) if (Model.Species[i].Symbol == s.Symbol) return i;
        throw new DataException($"species {s.Symbol} is not in the model");
    }
}
