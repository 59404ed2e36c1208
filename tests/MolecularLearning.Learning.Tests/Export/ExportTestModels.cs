using System.Globalization;
using MolecularLearning.Core;
using MolecularLearning.Learning.Export;

namespace MolecularLearning.Learning.Tests.Export;

/// <summary>Radial losses with known parameters and water structures for the export tests.</summary>
internal static class ExportTestModels
{
    /// <summary>
    /// O/H radial loss: Gaussians × smooth cutoff and one inverse power per neighbour species, random b and a
    /// symmetric C with eigenvalues of both signs and mixed-sign eigenvectors (order 2), or C = null (order 1).
    /// </summary>
    public static RadialLossDescription Water(int order, int seed = 1, double rc = 5.0)
    {
        var rng = new Random(seed);
        var species = new[] { Elements.O, Elements.H };
        var agents = new List<AgentLoss>();
        foreach (var agent in new[] { 0, 1 })
        {
            var inv = new List<RadialInvariant>();
            foreach (var t in new[] { 0, 1 })
            {
                double[] centres = t == 1 ? [1.0, 1.7, 2.6, 3.6] : [2.8, 3.4, 4.3];
                foreach (var c in centres)
                    inv.Add(new RadialInvariant(t, RadialBasis.Gaussian(c, 0.25 + 0.1 * c, rc), $"{species[t]}:g{c}"));
                inv.Add(new RadialInvariant(t, RadialBasis.InversePower(2, rc), $"{species[t]}:r^-2"));
            }
            int k = inv.Count;
            var b = Enumerable.Range(0, k).Select(_ => 0.2 * (rng.NextDouble() - 0.5)).ToArray();
            double[,]? cm = null;
            if (order == 2)
            {
                var q = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.Dense(k, k, (_, _) => rng.NextDouble() - 0.5).QR().Q;
                var lambda = Enumerable.Range(0, k).Select(i => (i % 2 == 0 ? 1 : -0.6) * 0.02 * (1 + rng.NextDouble())).ToArray();
                cm = new double[k, k];
                for (int x = 0; x < k; x++)
                    for (int y = 0; y <= x; y++)
                    {
                        double v = 0;
                        for (int m = 0; m < k; m++) v += q[x, m] * lambda[m] * q[y, m];
                        cm[x, y] = cm[y, x] = v;
                    }
            }
            agents.Add(new AgentLoss(inv, b, cm));
        }
        return new RadialLossDescription(species, rc, agents, $"test-order{order}");
    }

    /// <summary>The shipped 32-water box (samples/water32-xtb/init.xyz, 9.8528 Å cubic), optionally jiggled.</summary>
    public static Frame WaterBox(double jiggle = 0, int seed = 7)
    {
        var lines = File.ReadAllLines(Path.Combine(RepoRoot(), "samples", "water32-xtb", "init.xyz"));
        int n = int.Parse(lines[0].Trim(), CultureInfo.InvariantCulture);
        var sp = new Species[n];
        var pos = new double[3 * n];
        var rng = new Random(seed);
        for (int i = 0; i < n; i++)
        {
            var p = lines[2 + i].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            sp[i] = Elements.Get(p[0]);
            for (int a = 0; a < 3; a++) pos[3 * i + a] = double.Parse(p[1 + a], CultureInfo.InvariantCulture) + jiggle * (rng.NextDouble() - 0.5);
        }
        return new Frame(sp, pos, Cell.Orthorhombic(9.8528, 9.8528, 9.8528));
    }

    /// <summary>A small skewed cell (cutoff above half its heights) with a few O and H atoms.</summary>
    public static Frame SmallTriclinic(int seed = 3)
    {
        var cell = new Cell([6.2, 0, 0, 1.4, 5.9, 0, -0.9, 1.1, 6.4]);
        var rng = new Random(seed);
        var species = new List<Species>();
        var pos = new List<double>();
        // Three water-like molecules at random orientations, kept apart.
        var centres = new[] { new Vec3(1, 1, 1), new Vec3(4, 2.5, 3.5), new Vec3(2, 4.5, 5) };
        foreach (var c in centres)
        {
            species.AddRange([Elements.O, Elements.H, Elements.H]);
            pos.AddRange([c.X, c.Y, c.Z]);
            for (int h = 0; h < 2; h++)
            {
                var d = new Vec3(rng.NextDouble() - 0.5, rng.NextDouble() - 0.5, rng.NextDouble() - 0.5);
                d = (0.97 / d.Norm()) * d;
                pos.AddRange([c.X + d.X, c.Y + d.Y, c.Z + d.Z]);
            }
        }
        return new Frame(species.ToArray(), pos.ToArray(), cell);
    }

    public static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MolecularLearning.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("MolecularLearning.sln not found");
    }
}
