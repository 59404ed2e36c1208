using MolecularLearning.Core;
using MolecularLearning.Learning;

namespace MolecularLearning.Learning.Tests;

/// <summary>
/// <see cref="IDomainForceField"/>: a periodic box cut into slabs, each slab's atoms owned with every periodic image
/// within the ghost cutoff as ghosts (what LAMMPS hands a rank), equals the periodic evaluation: owned forces
/// exactly, energies and virials summed over the slabs.
/// </summary>
public class DomainTests
{
    private const double Box = 7.6;

    public static IEnumerable<object[]> Cases()
    {
        foreach (var basis in new[] { "default", "angles" })
            foreach (var mode in new[] { "agent", "conservative", GradientWalls })
                foreach (var order in new[] { 1, 2 })
                    yield return [basis, mode, order];
    }

    /// <summary>Agent mode with range walls as the gradient of their sum: a neighbour's wall pushes an atom, as in conservative mode.</summary>
    private const string GradientWalls = "gradient-walls";

    private static LearnedModel ModelFor(string basis, string modeName, int order)
    {
        var options = basis == "default"
            ? InvariantOptions.Parse(FitOptions.DefaultBasis, 3.2)
            : Synthetic.Families().Single(f => f.Name == basis).Options;
        return modeName == GradientWalls
            ? Synthetic.RandomModel(options, order, ForceMode.Agent, seed: 5, walls: Conformance.Backends.Walls, bounds: true).WithWallForces(WallForces.Gradient)
            : Synthetic.RandomModel(options, order, Conformance.Backends.Mode(modeName), seed: 5, walls: Conformance.Backends.Walls, bounds: order == 2);
    }

    /// <summary>The whole box through one evaluator: Reference, or the Simd backend where this machine has one (Auto).</summary>
    private static LearnedForceField Evaluator(LearnedModel model, bool simd) =>
        new(model, 0.3, 1, simd ? BackendChoice.Auto : BackendChoice.Reference, vectorBits: 0, tabulatedRadial: false);

    private static ForceResult Whole(LearnedModel model, Frame frame, bool simd) => Conformance.Backends.Run(Evaluator(model, simd), frame);

    /// <summary>Slab <paramref name="part"/> of <paramref name="parts"/> along x: owned atoms first, then ghosts (images) within <paramref name="reach"/>.</summary>
    internal static (Species[] Species, double[] Positions, int Owned, int[] Source) Slab(Frame frame, int part, int parts, double reach)
    {
        var cell = frame.Cell!;
        double l = cell.Heights.A, lo = l * part / parts, hi = l * (part + 1) / parts;
        int n = frame.AtomCount;
        var wrapped = frame.Positions.ToArray();
        cell.Wrap(wrapped);
        var species = new List<Species>(); var positions = new List<double>(); var source = new List<int>();
        bool Inside(int i) => wrapped[3 * i] >= lo && wrapped[3 * i] < hi;
        for (int i = 0; i < n; i++)
            if (Inside(i)) { species.Add(frame.Species[i]); positions.AddRange(wrapped.AsSpan(3 * i, 3).ToArray()); source.Add(i); }
        int owned = species.Count;
        int m = (int)Math.Ceiling(reach / l) + 1;
        for (int i = 0; i < n; i++)
            for (int a = -m; a <= m; a++)
                for (int b = -m; b <= m; b++)
                    for (int c = -m; c <= m; c++)
                    {
                        if (a == 0 && b == 0 && c == 0 && Inside(i)) continue;
                        double x = wrapped[3 * i] + a * l, y = wrapped[3 * i + 1] + b * l, z = wrapped[3 * i + 2] + c * l;
                        double dx = Math.Max(0, Math.Max(lo - x, x - hi)), dy = Math.Max(0, Math.Max(-y, y - l)), dz = Math.Max(0, Math.Max(-z, z - l));
                        if (dx * dx + dy * dy + dz * dz > reach * reach) continue;
                        species.Add(frame.Species[i]); positions.AddRange([x, y, z]); source.Add(i);
                    }
        return ([.. species], [.. positions], owned, [.. source]);
    }

    /// <summary>Evaluates the frame slab by slab through one force field per slab and checks it against the periodic evaluation.</summary>
    private static void AssertSlabsAgree(LearnedModel model, Frame frame, int parts, bool kernel, LearnedForceField[] domains)
    {
        var whole = Whole(model, frame, kernel);
        double energy = 0;
        var virial = new double[9];
        var forces = new double[3 * frame.AtomCount];
        var seen = new bool[frame.AtomCount];
        for (int p = 0; p < parts; p++)
        {
            var (species, positions, owned, source) = Slab(frame, p, parts, domains[p].GhostCutoff + 0.01);
            var result = new ForceResult();
            domains[p].ComputeDomain(species, positions, owned, result);
            energy += result.Energy;
            for (int a = 0; a < 9; a++) virial[a] += result.Virial[a];
            for (int k = 0; k < owned; k++)
            {
                Assert.False(seen[source[k]]);
                seen[source[k]] = true;
                for (int x = 0; x < 3; x++) forces[3 * source[k] + x] = result.Forces[3 * k + x];
            }
            for (int x = 3 * owned; x < result.Forces.Length; x++) Assert.Equal(0, result.Forces[x]);
        }
        Assert.All(seen, Assert.True);
        var sum = new ForceResult(frame.AtomCount) { Energy = energy };
        forces.CopyTo(sum.Forces, 0);
        virial.CopyTo(sum.Virial, 0);
        Conformance.Backends.AssertAgree(whole, sum, 1e-11);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void SlabsWithGhostsEqualThePeriodicBox(string basis, string modeName, int order)
    {
        var model = ModelFor(basis, modeName, order);
        var frame = Synthetic.Water(14, Cell.Orthorhombic(Box, Box, Box), seed: 6, jitter: 0.1);
        AssertWallsAct(model, frame);
        foreach (bool kernel in new[] { false, true })
            foreach (int parts in new[] { 1, 2, 3 })
            {
                var domains = Enumerable.Range(0, parts)
                    .Select(_ => Evaluator(model, kernel)).ToArray();
                AssertSlabsAgree(model, frame, parts, kernel, domains);
                // The same force fields again after a small move: their lists are refreshed, not rebuilt.
                var moved = new Frame(frame.Species.ToArray(), frame.Positions.Select((x, i) => x + 0.02 * Math.Sin(i)).ToArray(), frame.Cell);
                AssertSlabsAgree(model, moved, parts, kernel, domains);
            }
    }

    /// <summary>
    /// Conservative forces by reverse communication: each slab evaluates its owned agents only, with ghosts out to the
    /// cutoff; its ghosts' reactions added to their atoms (what the LAMMPS coupling sends to the owning ranks) give the
    /// periodic forces, and energies and virials sum as before.
    /// </summary>
    [Theory]
    [InlineData("default", 1, "conservative")]
    [InlineData("default", 2, "conservative")]
    [InlineData("angles", 2, "conservative")]
    [InlineData("default", 2, GradientWalls)]
    [InlineData("angles", 1, GradientWalls)]
    public void SlabsHandingBackGhostReactionsEqualThePeriodicBox(string basis, int order, string modeName)
    {
        var model = ModelFor(basis, modeName, order);
        var frame = Synthetic.Water(14, Cell.Orthorhombic(Box, Box, Box), seed: 6, jitter: 0.1);
        AssertWallsAct(model, frame);
        foreach (bool kernel in new[] { false, true })
            foreach (int parts in new[] { 1, 2, 3 })
            {
                var domains = Enumerable.Range(0, parts).Select(_ => Evaluator(model, kernel)).ToArray();
                Assert.True(domains[0].HasGhostReactions);
                Assert.Equal(model.Invariants.Cutoff, domains[0].ReactionGhostCutoff, 12);
                Assert.Equal(2 * model.Invariants.Cutoff, domains[0].GhostCutoff, 12);
                foreach (var f in new[] { frame, new Frame(frame.Species.ToArray(), frame.Positions.Select((x, i) => x + 0.02 * Math.Sin(i)).ToArray(), frame.Cell) })
                {
                    var whole = Whole(model, f, kernel);
                    var sum = new ForceResult(f.AtomCount);
                    for (int p = 0; p < parts; p++)
                    {
                        var (species, positions, owned, source) = Slab(f, p, parts, domains[p].ReactionGhostCutoff + 0.01);
                        // A ghost that is an image of one of the slab's own atoms is folded in the domain (as LAMMPS's tags tell).
                        var local = new Dictionary<int, int>();
                        for (int k = 0; k < owned; k++) local[source[k]] = k;
                        var owners = source.Select((atom, k) => k < owned ? -1 : local.GetValueOrDefault(atom, -1)).ToArray();
                        var result = new ForceResult();
                        domains[p].ComputeDomainWithGhostReactions(species, positions, owned, owners, result);
                        sum.Energy += result.Energy;
                        for (int a = 0; a < 9; a++) sum.Virial[a] += result.Virial[a];
                        for (int k = 0; k < species.Length; k++)
                        {
                            if (k >= owned && owners[k] >= 0)
                                for (int x = 0; x < 3; x++) Assert.Equal(0, result.Forces[3 * k + x]); // folded, nothing to send
                            for (int x = 0; x < 3; x++) sum.Forces[3 * source[k] + x] += result.Forces[3 * k + x];
                        }
                    }
                    Conformance.Backends.AssertAgree(whole, sum, 1e-11);
                }
            }
    }

    /// <summary>
    /// Domains that rebuild together (what `mld lammps` does across ranks): every evaluation asks once, with whether its
    /// own list is stale; an agreed rebuild rebuilds a list that was not stale, and the results are those of a domain
    /// deciding alone. A domain owning no atom still asks.
    /// </summary>
    [Theory]
    [InlineData("agent")]
    [InlineData("conservative")]
    public void DomainsRebuildTogetherWhenAnyAsks(string modeName)
    {
        var model = Synthetic.RandomModel(InvariantOptions.Parse(FitOptions.DefaultBasis, 3.2), 2, Conformance.Backends.Mode(modeName),
            seed: 5, walls: Conformance.Backends.Walls, bounds: true);
        var frame = Synthetic.Water(14, Cell.Orthorhombic(Box, Box, Box), seed: 6, jitter: 0.1);
        foreach (bool kernel in new[] { false, true })
        {
            var alone = Evaluator(model, kernel);
            var together = Evaluator(model, kernel);
            var asked = new List<bool>();
            bool force = false;
            Assert.True(together.RebuildTogether(stale => { asked.Add(stale); return stale || force; }));
            var (species, start, owned, _) = Slab(frame, 0, 2, alone.GhostCutoff + 0.01);
            // First evaluation: a new list (stale); the same atoms moved a little: not stale, rebuilt only when another domain asks.
            foreach (var (by, agreed, builds) in new[] { (0.0, false, 1), (0.02, false, 0), (0.03, true, 1) })
            {
                var positions = start.Select((x, i) => x + by * Math.Sin(i)).ToArray();
                force = agreed;
                asked.Clear();
                var expected = new ForceResult();
                alone.ComputeDomain(species, positions, owned, expected);
                var result = new ForceResult();
                together.ComputeDomain(species, positions, owned, result);
                Assert.Equal([builds == 1 && !agreed], asked);
                Assert.Matches($"^domain: 1 evaluations, {builds} list builds;", together.TakeDomainStatistics());
                Conformance.Backends.AssertAgree(expected, result, 1e-12);
            }
            asked.Clear();
            together.ComputeDomain([frame.Species[0]], [0.0, 0, 0], 0, new ForceResult());
            Assert.Equal([false], asked);
        }
    }

    /// <summary>A gradient-walls case tests the walls' reactions only if some agent's walls act on the frame.</summary>
    private static void AssertWallsAct(LearnedModel model, Frame frame)
    {
        if (model.WallForces != WallForces.Gradient) return;
        var whole = Evaluator(model, simd: false);
        Conformance.Backends.Run(whole, frame);
        Assert.InRange(whole.WallReactionCount, 1, frame.AtomCount);
    }

    [Fact]
    public void AgentModelsHandBackNoGhostReactions()
    {
        var field = Synthetic.RandomModel(InvariantOptions.Parse(FitOptions.DefaultBasis, 3.2), 1, ForceMode.Agent, 1).CreateForceField(0.5);
        Assert.False(field.HasGhostReactions);
        Assert.Throws<NotSupportedException>(() => field.ComputeDomainWithGhostReactions([], [], 0, [], new ForceResult()));
    }

    [Fact]
    public void GhostCutoffIsTheCutoffForAgentsAndTwiceItForConservativeForces()
    {
        var options = InvariantOptions.Parse(FitOptions.DefaultBasis, 3.2);
        Assert.Equal(3.2, Synthetic.RandomModel(options, 1, ForceMode.Agent, 1).CreateForceField(0.5).GhostCutoff, 12);
        Assert.Equal(6.4, Synthetic.RandomModel(options, 1, ForceMode.Conservative, 1).CreateForceField(0.5).GhostCutoff, 12);
        var walls = ModelFor("default", GradientWalls, 1).CreateForceField(0.5);
        Assert.Equal(6.4, walls.GhostCutoff, 12);
        Assert.True(walls.HasGhostReactions);
    }

    [Fact]
    public void MissingGhostsChangeTheConservativeForces()
    {
        // Ghosts out to the cutoff only: the owned forces miss the losses of ghosts whose neighbours are absent.
        var model = Synthetic.RandomModel(InvariantOptions.Parse(FitOptions.DefaultBasis, 3.2), 1, ForceMode.Conservative, 5);
        var frame = Synthetic.Water(14, Cell.Orthorhombic(Box, Box, Box), seed: 6, jitter: 0.1);
        var whole = Whole(model, frame, simd: false);
        var (species, positions, owned, source) = Slab(frame, 0, 2, 3.2);
        var result = new ForceResult();
        model.CreateForceField(0.5).ComputeDomain(species, positions, owned, result);
        double worst = 0;
        for (int k = 0; k < owned; k++)
            for (int x = 0; x < 3; x++) worst = Math.Max(worst, Math.Abs(result.Forces[3 * k + x] - whole.Forces[3 * source[k] + x]));
        Assert.True(worst > 1e-6, $"forces differ by {worst} only");
    }
}
