using MolecularLearning.Core;
using MolecularLearning.Learning;

namespace MolecularLearning.Learning.Tests;

/// <summary>Small synthetic water boxes and random models for derivative checks.</summary>
internal static class Synthetic
{
    /// <summary><paramref name="molecules"/> bent water molecules at random positions and orientations.</summary>
    public static Frame Water(int molecules, Cell? cell, int seed, double jitter = 0.05)
    {
        var rng = new Random(seed);
        var species = new List<Species>();
        var pos = new List<double>();
        var centres = new List<Vec3>();
        double minSep = 2.3;
        for (int m = 0; m < molecules; m++)
        {
            Vec3 o;
            int tries = 0;
            do
            {
                var f = new Vec3(rng.NextDouble(), rng.NextDouble(), rng.NextDouble());
                o = cell is null ? 6 * f : cell.ToCartesian(f);
                tries++;
            } while (tries < 500 && centres.Any(c => (cell is null ? o - c : cell.MinimumImage(o - c)).Norm() < minSep));
            centres.Add(o);
            var u = RandomUnit(rng);
            var v = RandomUnit(rng);
            v = (v - v.Dot(u) * u); v = (1 / v.Norm()) * v;
            double half = 104.5 / 2 * Math.PI / 180, r = 0.97;
            var h1 = o + r * (Math.Cos(half) * u + Math.Sin(half) * v);
            var h2 = o + r * (Math.Cos(half) * u - Math.Sin(half) * v);
            foreach (var (s, p) in new[] { (Elements.O, o), (Elements.H, h1), (Elements.H, h2) })
            {
                species.Add(s);
                pos.Add(p.X + jitter * Gauss(rng)); pos.Add(p.Y + jitter * Gauss(rng)); pos.Add(p.Z + jitter * Gauss(rng));
            }
        }
        return new Frame([.. species], [.. pos], cell);
    }

    public static Cell Triclinic => new([5.6, 0, 0, 0.9, 5.2, 0, -0.7, 0.6, 5.9]);

    public static Vec3 RandomUnit(Random rng)
    {
        var v = new Vec3(Gauss(rng), Gauss(rng), Gauss(rng));
        return (1 / v.Norm()) * v;
    }

    public static double Gauss(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    /// <summary>
    /// L_i of one agent straight from its invariants plus the fixed wall: the oracle the finite-difference tests
    /// differentiate, independent of every evaluator's force path.
    /// </summary>
    public static double AgentLoss(LearnedModel model, Frame frame, int i)
    {
        var set = model.Invariants;
        var s = AgentValues(set, frame, i);
        double loss = model.Losses[s.AgentType].Evaluate(s.Values.AsSpan(0, set.Count), s.Lambda);
        int t = set.Species.Count;
        for (int e = 0; e < s.Entries; e++)
        {
            int pair = s.AgentType * t + s.Type[e];
            double gap = model.WallRMin[pair] - s.R[e];
            if (gap > 0) loss += model.WallStrength[pair] * gap * gap * gap;
        }
        return loss;
    }

    /// <summary>The neighbourhood of one agent gathered and its invariants computed (the generic path), in a fresh scratch.</summary>
    public static AgentScratch AgentValues(InvariantSet set, Frame frame, int agent)
    {
        var list = new NeighbourList();
        list.Build(frame.Positions, frame.Cell, set.Cutoff);
        var types = frame.Species.Select(set.IndexOf).ToArray();
        var s = new AgentScratch(set.Count);
        set.Gather(s, agent, list, types);
        set.ComputeValues(s);
        return s;
    }

    /// <summary>Fitting data: <paramref name="count"/> four-water boxes (seeds from <paramref name="seed"/> on) with the forces of <paramref name="truth"/>.</summary>
    public static List<Frame> Labelled(LearnedModel truth, int count, int seed)
    {
        var frames = new List<Frame>();
        for (int f = 0; f < count; f++)
        {
            var frame = Water(4, Cell.Orthorhombic(5.8, 5.8, 5.8), seed: seed + f, jitter: 0.08);
            frame.Forces = truth.CreateForceField().Compute(frame).Forces.ToArray();
            frames.Add(frame);
        }
        return frames;
    }

    /// <summary>A model with random parameters of sensible size for the given invariants.</summary>
    public static LearnedModel RandomModel(InvariantOptions options, int order, ForceMode mode, int seed,
        IReadOnlyList<RepulsionWall>? walls = null, bool bounds = false, double cap = double.PositiveInfinity)
    {
        var rng = new Random(seed);
        var set = new InvariantSet(options, [Elements.O, Elements.H]);
        int k = set.Count;
        var losses = new List<QuadraticLoss>();
        for (int s = 0; s < 2; s++)
        {
            var b = Enumerable.Range(0, k).Select(_ => Gauss(rng) * 0.3).ToArray();
            double[]? c = null;
            if (order == 2)
            {
                c = new double[k * k];
                for (int x = 0; x < k; x++)
                    for (int y = x; y < k; y++) c[x * k + y] = c[y * k + x] = Gauss(rng) * 0.05;
            }
            // Range walls on [0.5, 1.5]: distances above and sparse sums below it switch them on.
            var range = bounds
                ? new InvariantBounds(Enumerable.Repeat(0.5, k).ToArray(), Enumerable.Repeat(1.5, k).ToArray(),
                    Enumerable.Range(0, k).Select(q => 0.5 + 0.1 * q).ToArray(), 0.2, cap)
                : null;
            losses.Add(new QuadraticLoss(b, c, range));
        }
        return new LearnedModel(set, mode, losses, walls);
    }

    /// <summary>Each family on its own and all together, cutoffs chosen for a ~5.5 Å box.</summary>
    public static IEnumerable<(string Name, InvariantOptions Options)> Families()
    {
        yield return ("sorted", new InvariantOptions { SortedCutoff = 3.6, SortedCounts = new Dictionary<string, int> { ["O"] = 3, ["H"] = 4 } });
        yield return ("gaussian", new InvariantOptions { SortedCounts = new Dictionary<string, int>(), RadialCutoff = 3.6, Radial = InvariantOptions.GaussianLadder(4, 0.9, 3.2) });
        yield return ("inverse", new InvariantOptions { SortedCounts = new Dictionary<string, int>(), RadialCutoff = 3.6, Radial = [RadialBasisFunction.InversePower(1), RadialBasisFunction.InversePower(3)] });
        yield return ("angular", new InvariantOptions { SortedCounts = new Dictionary<string, int>(), AngularDegree = 3, AngularCutoff = 3.3, AngularRadial = [RadialBasisFunction.Gaussian(1.0, 0.3), RadialBasisFunction.Gaussian(2.2, 0.6)] });
        yield return ("angles", InvariantOptions.Parse("sorted:O2:H3+angles:3:H1H2:O1H1:O1O2:O@O1O2:H@H1H3", 3.6));
        // Windows narrow enough that the jittered waters put bonds inside the switches, an O–O shell reaching across
        // molecules; with radial and angular sums under the C² cutoff (fc:3).
        yield return ("shells", InvariantOptions.Parse("gauss:3:0.9:3+angular:2+fc:3+shell:O-H:0.9:1.3:2+shell:H-O:0.9:1.3:3+shell:O-O:2.4:3.3:1+shellAngle:3:O@H:0.9:1.3:H:0.9:1.3" +
            "+shellAngle:2:H@O:0.9:1.3:H:1.3:2.2+shellAngle:2:O@O:2.4:3.3:H:0.9:2.6", 3.4));
        yield return ("all", InvariantOptions.Parse("sorted:O2:H3+gauss:3:0.9:3+inv:2+angular:2+angles:2:H1H2:O@O1H1", 3.4));
    }
}
