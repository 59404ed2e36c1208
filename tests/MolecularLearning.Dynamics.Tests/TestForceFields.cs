using MolecularLearning.Core;

namespace MolecularLearning.Dynamics.Tests;

/// <summary>Harmonic springs V = ½ k (r − r₀)² between listed pairs (minimum image when there is a cell).</summary>
public sealed class HarmonicSprings((int I, int J, double K, double R0)[] springs) : IForceField
{
    public string Name => "harmonic springs";

    public void Compute(ReadOnlySpan<Species> species, ReadOnlySpan<double> positions, Cell? cell, ForceResult result)
    {
        result.Resize(species.Length);
        result.Clear();
        var f = result.Forces;
        double e = 0;
        foreach (var (i, j, k, r0) in springs)
        {
            var d = Vec3.At(positions, j) - Vec3.At(positions, i);
            if (cell is not null) d = cell.MinimumImage(d);
            double r = d.Norm();
            e += 0.5 * k * (r - r0) * (r - r0);
            var fij = (-k * (r - r0) / r) * d; // force on j
            for (int c = 0; c < 3; c++)
            {
                double fc = c == 0 ? fij.X : c == 1 ? fij.Y : fij.Z;
                f[3 * j + c] += fc;
                f[3 * i + c] -= fc;
            }
        }
        result.Energy = e;
    }
}

/// <summary>Lennard-Jones with a shifted-force cutoff (energy and force continuous at r_c), minimum image.</summary>
public sealed class LennardJones(double epsilon, double sigma, double cutoff) : IForceField
{
    public string Name => "Lennard-Jones";

    public void Compute(ReadOnlySpan<Species> species, ReadOnlySpan<double> positions, Cell? cell, ForceResult result)
    {
        result.Resize(species.Length);
        result.Clear();
        double fc = PairForce(cutoff), ec = PairEnergy(cutoff);
        var f = result.Forces;
        double e = 0, rc2 = cutoff * cutoff, sigma2 = sigma * sigma;
        int n = species.Length;
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
            {
                var d = MinimumImage(cell, positions, i, j);
                double r2 = d.Norm2();
                if (r2 >= rc2) continue;
                double r = Math.Sqrt(r2), s2 = sigma2 / r2, s6 = s2 * s2 * s2;
                e += 4 * epsilon * (s6 * s6 - s6) - ec + fc * (r - cutoff);
                double s = (24 * epsilon * (2 * s6 * s6 - s6) / r - fc) / r; // F_j = s d
                f[3 * j] += s * d.X; f[3 * j + 1] += s * d.Y; f[3 * j + 2] += s * d.Z;
                f[3 * i] -= s * d.X; f[3 * i + 1] -= s * d.Y; f[3 * i + 2] -= s * d.Z;
            }
        result.Energy = e;
    }

    /// <summary>x_j − x_i, minimum image; a direct path for orthorhombic cells keeps the tests quick.</summary>
    public static Vec3 MinimumImage(Cell? cell, ReadOnlySpan<double> x, int i, int j)
    {
        double dx = x[3 * j] - x[3 * i], dy = x[3 * j + 1] - x[3 * i + 1], dz = x[3 * j + 2] - x[3 * i + 2];
        if (cell is null) return new(dx, dy, dz);
        if (!cell.IsOrthorhombic) return cell.MinimumImage(new(dx, dy, dz));
        var h = cell.Matrix;
        dx -= h[0] * Math.Round(dx / h[0]); dy -= h[4] * Math.Round(dy / h[4]); dz -= h[8] * Math.Round(dz / h[8]);
        return new(dx, dy, dz);
    }

    private double PairEnergy(double r)
    {
        double s6 = Math.Pow(sigma / r, 6);
        return 4 * epsilon * (s6 * s6 - s6);
    }

    /// <summary>−dV/dr.</summary>
    private double PairForce(double r)
    {
        double s6 = Math.Pow(sigma / r, 6);
        return 24 * epsilon * (2 * s6 * s6 - s6) / r;
    }
}

/// <summary>
/// Flexible SPC/Fw water (Wu, Tepper &amp; Voth 2006): harmonic O–H bonds and H–O–H angle, O–O
/// Lennard-Jones and shifted-force Coulomb between molecules (plain cutoff, minimum image).
/// Atoms are grouped into molecules once, each H with its nearest O. A conservative test force field.
/// </summary>
public sealed class FlexibleWater : IForceField
{
    private const double KcalPerMol = 0.0433641043; // eV
    private const double Coulomb = 14.3996454784;   // e²/(4πε₀) in eV·Å
    private const double Kb = 1059.162 * KcalPerMol, R0 = 1.012;
    private const double Ktheta = 75.90 * KcalPerMol;
    private static readonly double Theta0 = 113.24 * Math.PI / 180;
    private const double Epsilon = 0.1554 * KcalPerMol, Sigma = 3.165492;
    private readonly double _cutoff;
    private readonly int[] _molecule;
    private readonly (int O, int H1, int H2)[] _waters;

    public FlexibleWater(Frame structure, double cutoff)
    {
        _cutoff = cutoff;
        var cell = structure.Cell;
        int n = structure.AtomCount;
        _molecule = new int[n];
        var oxygens = Enumerable.Range(0, n).Where(i => structure.Species[i].Symbol == "O").ToArray();
        for (int m = 0; m < oxygens.Length; m++) _molecule[oxygens[m]] = m;
        var hydrogens = new List<int>[oxygens.Length];
        for (int m = 0; m < oxygens.Length; m++) hydrogens[m] = [];
        for (int i = 0; i < n; i++)
        {
            if (structure.Species[i].Symbol != "H") continue;
            int best = 0; double bestR = double.MaxValue;
            for (int m = 0; m < oxygens.Length; m++)
            {
                var d = Vec3.At(structure.Positions, oxygens[m]) - Vec3.At(structure.Positions, i);
                if (cell is not null) d = cell.MinimumImage(d);
                if (d.Norm() < bestR) { bestR = d.Norm(); best = m; }
            }
            _molecule[i] = best;
            hydrogens[best].Add(i);
        }
        _waters = oxygens.Select((o, m) => hydrogens[m].Count == 2 ? (o, hydrogens[m][0], hydrogens[m][1])
            : throw new ArgumentException($"oxygen {o} has {hydrogens[m].Count} hydrogens")).ToArray();
    }

    public string Name => "SPC/Fw water";

    public void Compute(ReadOnlySpan<Species> species, ReadOnlySpan<double> positions, Cell? cell, ForceResult result)
    {
        result.Resize(species.Length);
        result.Clear();
        var f = result.Forces;
        double e = 0;
        Vec3 D(ReadOnlySpan<double> x, int i, int j) => LennardJones.MinimumImage(cell, x, i, j);
        void Add(Span<double> forces, int i, Vec3 v) { forces[3 * i] += v.X; forces[3 * i + 1] += v.Y; forces[3 * i + 2] += v.Z; }

        foreach (var (o, h1, h2) in _waters)
        {
            var a = D(positions, o, h1); var b = D(positions, o, h2);
            double ra = a.Norm(), rb = b.Norm();
            e += 0.5 * Kb * ((ra - R0) * (ra - R0) + (rb - R0) * (rb - R0));
            var fa = (-Kb * (ra - R0) / ra) * a; var fb = (-Kb * (rb - R0) / rb) * b;
            // Angle: dθ/da = (cosθ a/|a| − b/|b|) / (|a| sinθ)
            double cos = a.Dot(b) / (ra * rb), theta = Math.Acos(Math.Clamp(cos, -1, 1)), sin = Math.Sqrt(Math.Max(1e-12, 1 - cos * cos));
            e += 0.5 * Ktheta * (theta - Theta0) * (theta - Theta0);
            double g = -Ktheta * (theta - Theta0);
            var dA = (1 / (ra * sin)) * (cos / ra * a - (1 / rb) * b);
            var dB = (1 / (rb * sin)) * (cos / rb * b - (1 / ra) * a);
            fa += g * dA; fb += g * dB;
            Add(f, h1, fa); Add(f, h2, fb); Add(f, o, -(fa + fb));
        }

        double rc = _cutoff;
        double ljFc = 24 * Epsilon * (2 * Math.Pow(Sigma / rc, 12) - Math.Pow(Sigma / rc, 6)) / rc;
        double ljEc = 4 * Epsilon * (Math.Pow(Sigma / rc, 12) - Math.Pow(Sigma / rc, 6));
        int n = species.Length;
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
            {
                if (_molecule[i] == _molecule[j]) continue;
                var d = D(positions, i, j);
                double r2 = d.Norm2();
                if (r2 >= rc * rc) continue;
                double r = Math.Sqrt(r2);
                double qq = Coulomb * Charge(species[i]) * Charge(species[j]);
                e += qq * (1 / r - 1 / rc + (r - rc) / (rc * rc));
                double fr = qq * (1 / (r * r) - 1 / (rc * rc)); // −dV/dr
                if (species[i].Symbol == "O" && species[j].Symbol == "O")
                {
                    double s2 = Sigma * Sigma / r2, s6 = s2 * s2 * s2;
                    e += 4 * Epsilon * (s6 * s6 - s6) - ljEc + ljFc * (r - rc);
                    fr += 24 * Epsilon * (2 * s6 * s6 - s6) / r - ljFc;
                }
                var fj = (fr / r) * d;
                Add(f, j, fj); Add(f, i, -fj);
            }
        result.Energy = e;
    }

    private static double Charge(Species s) => s.Symbol == "O" ? -0.82 : 0.41;

    /// <summary>n³ water molecules on a cubic lattice at liquid density, orientations from a seed.</summary>
    public static Frame Lattice(int perSide, ulong seed)
    {
        double spacing = Math.Cbrt(29.9); // Å per molecule at 1 g/cm³
        var rng = new Xoshiro256(seed);
        var species = new List<Species>(); var x = new List<double>();
        for (int a = 0; a < perSide; a++)
            for (int b = 0; b < perSide; b++)
                for (int c = 0; c < perSide; c++)
                {
                    var o = new Vec3((a + 0.5) * spacing, (b + 0.5) * spacing, (c + 0.5) * spacing);
                    // A random orthonormal frame for the molecule.
                    var u = new Vec3(rng.NextGaussian(), rng.NextGaussian(), rng.NextGaussian()); u = (1 / u.Norm()) * u;
                    var t = new Vec3(rng.NextGaussian(), rng.NextGaussian(), rng.NextGaussian());
                    var w = t - t.Dot(u) * u; w = (1 / w.Norm()) * w;
                    double half = 0.5 * Theta0;
                    var h1 = o + R0 * (Math.Cos(half) * u + Math.Sin(half) * w);
                    var h2 = o + R0 * (Math.Cos(half) * u - Math.Sin(half) * w);
                    species.AddRange([Elements.O, Elements.H, Elements.H]);
                    x.AddRange([o.X, o.Y, o.Z, h1.X, h1.Y, h1.Z, h2.X, h2.Y, h2.Z]);
                }
        double l = perSide * spacing;
        return new Frame([.. species], [.. x], Cell.Orthorhombic(l, l, l));
    }
}
