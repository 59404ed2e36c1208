using MolecularLearning.Core;

namespace MolecularLearning.Learning.Export;

/// <summary>
/// Reads a <see cref="LearnedModel"/> as a <see cref="RadialLossDescription"/>, or says why it cannot be one.
/// Invariant k of the model's radial family (neighbour species t, basis function n) becomes φ_k = g_n f_c with
/// the model's own <see cref="RadialBasisFunction"/> and <see cref="SmoothCutoff"/>; each short-range wall
/// k (r_min − r)³, which every agent adds to its loss for each close neighbour, becomes one more invariant with
/// b = 1 and no quadratic coupling.
/// </summary>
public static class LearnedModelExport
{
    /// <summary>Why a model cannot be exported to LAMMPS, or null when it can.</summary>
    public static string? Refusal(LearnedModel model)
    {
        var o = model.Invariants.Options;
        if (model.Mode == ForceMode.Agent)
            return "agent-mode forces F_i = -dL_i/dx_i are not the gradient of one energy (each agent descends its own loss, " +
                   "so Newton's third law fails) and no LAMMPS pair style can reproduce them; fit with --mode conservative";
        if (o.SortedCounts.Values.Any(k => k > 0))
            return "sorted nearest-neighbour distances are not sums over pairs (the k-th distance depends on the ranking of all " +
                   "neighbours), so they map onto neither pair_style table nor eam/fs; fit with a radial basis only (e.g. --basis gauss:8+inv:1:2)";
        if (o.AngularDegree > 0 && o.AngularRadial.Count > 0)
            return "angular invariants are three-body sums over neighbour pairs (the angle at the agent), which pair and " +
                   "embedding sums cannot express; fit without the angular family";
        if (o.Radial.Count == 0) return "the model has no radial invariants";
        if (model.Invariants.Count != model.Species.Count * o.Radial.Count)
            return "the model has invariants besides the radial sums, and only radial sums map onto pair and embedding terms";
        return null;
    }

    /// <summary>The radial loss of a conservative radial model; throws a <see cref="DataException"/> saying why for any other.</summary>
    public static RadialLossDescription Describe(LearnedModel model, string name = "model")
    {
        if (Refusal(model) is { } why) throw new DataException($"{name}: cannot export to LAMMPS: {why}");
        var o = model.Invariants.Options;
        var species = model.Species;
        int ns = species.Count, nr = o.Radial.Count, k = model.Invariants.Count; // k = ns · nr: Refusal checked it
        double rc = o.RadialCutoff;

        var phis = new RadialFunction[nr];
        for (int n = 0; n < nr; n++)
        {
            var g = o.Radial[n];
            phis[n] = (double r, out double d) =>
            {
                double fc = SmoothCutoff.Value(r, rc, o.CutoffPower, out double dfc);
                double v = g.Value(r, out double dg);
                d = dg * fc + v * dfc;
                return v * fc;
            };
        }

        var agents = new List<AgentLoss>();
        for (int s = 0; s < ns; s++)
        {
            var inv = new List<RadialInvariant>();
            for (int t = 0; t < ns; t++)
                for (int n = 0; n < nr; n++)
                    inv.Add(new RadialInvariant(t, phis[n], model.Invariants.Labels[t * nr + n]));
            var b = new List<double>(model.Losses[s].Linear.ToArray());
            foreach (var wall in model.Walls)
            {
                // Agent s adds k (r_min − r)³ for every close neighbour of the other species of the wall.
                int a = IndexOf(species, wall.A), c = IndexOf(species, wall.B);
                var partners = new HashSet<int>();
                if (a == s) partners.Add(c);
                if (c == s) partners.Add(a);
                foreach (int t in partners)
                {
                    inv.Add(new RadialInvariant(t, Wall(wall.RMin, wall.Strength), $"wall({species[s]}-{species[t]})"));
                    b.Add(1.0);
                }
            }
            double[,]? cm = null;
            var q = model.Losses[s].Quadratic;
            if (model.Losses[s].Order == 2)
            {
                cm = new double[inv.Count, inv.Count];
                for (int x = 0; x < k; x++)
                    for (int y = 0; y < k; y++) cm[x, y] = q[x * k + y];
            }
            agents.Add(new AgentLoss(inv, b.ToArray(), cm));
        }
        return new RadialLossDescription(species, rc, agents, name);
    }

    /// <summary>
    /// What <see cref="Describe"/> leaves out: the range walls (<see cref="InvariantBounds"/>), a function of each
    /// whole invariant with a cap that neither pair_style table nor a quadratic eam/fs layer expresses. Measured as
    /// the model with them minus the model without them on <paramref name="frames"/>; null when the model has none.
    /// </summary>
    public static OmittedRangeWalls? RangeWallsLeftOut(LearnedModel model, IReadOnlyList<Frame> frames)
    {
        var walled = model.Losses.Select(l => l.Bounds).OfType<InvariantBounds>().ToArray();
        if (walled.Length == 0) return null;
        var bare = new LearnedModel(model.Invariants, model.Mode, [.. model.Losses.Select(l => l.WithBounds(null))], model.Walls, model.Training);
        var withWalls = model.CreateForceField();
        var without = bare.CreateForceField();
        int atoms = 0, affected = 0;
        double maxForce = 0, maxEnergy = 0, sumSq = 0;
        foreach (var frame in frames)
        {
            var a = withWalls.Compute(frame);
            var b = without.Compute(frame);
            int n = frame.AtomCount;
            atoms += n;
            maxEnergy = Math.Max(maxEnergy, Math.Abs(a.Energy - b.Energy) / Math.Max(1, n));
            for (int i = 0; i < 3 * n; i += 3)
            {
                double dx = a.Forces[i] - b.Forces[i], dy = a.Forces[i + 1] - b.Forces[i + 1], dz = a.Forces[i + 2] - b.Forces[i + 2];
                double d = Math.Sqrt(dx * dx + dy * dy + dz * dz);
                if (d > 0) affected++;
                maxForce = Math.Max(maxForce, d);
                sumSq += b.Forces[i] * b.Forces[i] + b.Forces[i + 1] * b.Forces[i + 1] + b.Forces[i + 2] * b.Forces[i + 2];
            }
        }
        double rms = Math.Sqrt(sumSq / Math.Max(1, atoms));
        return new OmittedRangeWalls(walled.Sum(w => w.Min.Length), walled.Max(w => w.Strength), walled.Min(w => w.Cap),
            frames.Count, atoms, affected, maxForce, rms > 0 ? maxForce / rms : 0, maxEnergy);
    }

    private static RadialFunction Wall(double rMin, double strength) => (double r, out double d) =>
    {
        double gap = rMin - r;
        if (gap <= 0) { d = 0; return 0; }
        d = -3 * strength * gap * gap;
        return strength * gap * gap * gap;
    };

    private static int IndexOf(IReadOnlyList<Species> species, string symbol)
    {
        for (int i = 0; i < species.Count; i++) if (species[i].Symbol == symbol) return i;
        throw new DataException($"repulsion wall names species '{symbol}', which the model does not have");
    }
}

/// <summary>
/// The range walls an export leaves out (<see cref="LearnedModelExport.RangeWallsLeftOut"/>): how many invariants
/// carry one, their strength S (eV) and cap, and what they contributed on the measured frames: atoms whose force
/// they changed, the largest |ΔF| (eV/Å), that over rms |F|, and the largest |ΔE| per atom (eV).
/// </summary>
public sealed record OmittedRangeWalls(int Invariants, double Strength, double Cap, int Frames, int Atoms, int AtomsAffected,
    double MaxForce, double RelativeForce, double EnergyPerAtom)
{
    /// <summary>One sentence for warnings and summaries: what is left out and what that does.</summary>
    public string Describe() =>
        $"the model's range walls (bounds: S = {Strength:G3} eV on {Invariants} invariants, the energy mld adds when an invariant " +
        "leaves its training range) are not exported; LAMMPS matches mld only while every invariant stays inside its " +
        $"training range, beyond it LAMMPS has no restoring wall (on {Frames} measured frame(s) the walls changed the force " +
        $"on {AtomsAffected} of {Atoms} atoms, by up to {MaxForce:G3} eV/Å, and the energy by up to {EnergyPerAtom:G3} eV/atom)";
}
