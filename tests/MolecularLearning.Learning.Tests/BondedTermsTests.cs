using MolecularLearning.Core;

namespace MolecularLearning.Learning.Tests;

/// <summary>Bonded terms a built-in basis derives for species it does not name (FitOptions.DeriveBondedTerms).</summary>
public class BondedTermsTests
{
    private static readonly Species C = Elements.Get("C"), N = Elements.Get("N"), Na = Elements.Get("Na");

    /// <summary>
    /// Waters, methyl-like CH3 groups bonded to an O (C–H <paramref name="ch"/>, C–O <paramref name="co"/> Å), NH3 groups
    /// (N–H <paramref name="nh"/>) and a lone Na, each frame at new random places; bond lengths jittered by 0.02 Å.
    /// </summary>
    internal static List<Frame> Mixture(int frames, int seed, double ch = 1.09, double co = 1.43, double nh = 1.01, bool ion = true)
    {
        var rng = new Random(seed);
        var cell = Cell.Orthorhombic(12, 12, 12);
        var list = new List<Frame>();
        for (int f = 0; f < frames; f++)
        {
            var water = Synthetic.Water(8, cell, seed * 1000 + f, jitter: 0.02);
            var species = new List<Species>(water.Species);
            var pos = new List<double>(water.Positions);
            var centres = new List<Vec3>();
            for (int i = 0; i < water.AtomCount; i++) centres.Add(Vec3.At(water.Positions, i));
            Vec3 Place()
            {
                for (int tries = 0; ; tries++)
                {
                    var p = cell.ToCartesian(new Vec3(rng.NextDouble(), rng.NextDouble(), rng.NextDouble()));
                    if (tries > 2000 || centres.All(c => cell.MinimumImage(p - c).Norm() > 3.6)) return p;
                }
            }
            void Add(Species s, Vec3 p) { species.Add(s); pos.Add(p.X); pos.Add(p.Y); pos.Add(p.Z); centres.Add(p); }
            double J(double r) => r + 0.02 * Synthetic.Gauss(rng);
            // A methanol-like group: C with three H and an O (with its H) along tetrahedral directions.
            for (int m = 0; m < 2; m++)
            {
                var c = Place();
                var dirs = Tetrahedron(rng);
                Add(C, c);
                Add(Elements.O, c + J(co) * dirs[0]);
                Add(Elements.H, c + J(co) * dirs[0] - J(0.96) * dirs[1]); // C–O–H 109.5°: C···H 1.97 Å
                for (int h = 1; h < 4; h++) Add(Elements.H, c + J(ch) * dirs[h]);
            }
            for (int m = 0; m < 2; m++)
            {
                var n = Place();
                var dirs = Tetrahedron(rng);
                Add(N, n);
                for (int h = 1; h < 4; h++) Add(Elements.H, n + J(nh) * dirs[h]);
            }
            if (ion) Add(Na, Place());
            list.Add(new Frame([.. species], [.. pos], cell));
        }
        return list;
    }

    private static Vec3[] Tetrahedron(Random rng)
    {
        var u = Synthetic.RandomUnit(rng);
        var v = Synthetic.RandomUnit(rng);
        v = v - v.Dot(u) * u; v = (1 / v.Norm()) * v;
        var w = u.Cross(v);
        Vec3[] t = [new(1, 1, 1), new(1, -1, -1), new(-1, 1, -1), new(-1, -1, 1)];
        return [.. t.Select(d => (1 / Math.Sqrt(3)) * (d.X * u + d.Y * v + d.Z * w))];
    }

    private static BondedTerms Derive(string spec, List<Frame> frames) =>
        BondedTerms.Derive(InvariantOptions.Parse(spec, FitOptions.DefaultCutoff), frames, [.. Enumerable.Range(0, frames.Count)]);

    [Fact]
    public void WindowsSitBetweenTheKnownBondsAndTheNextDistances()
    {
        var frames = Mixture(20, seed: 3);
        var terms = Derive(FitOptions.DefaultConservativeBasis, frames);
        Assert.Equal(["C", "N", "Na"], terms.Unnamed);
        Assert.Equal(["Na"], terms.Bare);
        var bonds = terms.Bonds.ToDictionary(b => b.A + "-" + b.B);
        // C–N, C–Na, N–O... have no distances below 1.9 Å; H–H, O–H are named by the basis.
        Assert.Equal(["C-O", "H-C", "H-N"], bonds.Keys.Order());
        foreach (var (key, length) in new[] { ("H-C", 1.09), ("H-N", 1.01), ("C-O", 1.43) })
        {
            var b = bonds[key];
            Assert.InRange(b.Median, length - 0.03, length + 0.03);
            Assert.True(b.On > b.Longest && b.On <= b.Longest + 0.11, $"{b}");
            Assert.True(b.Off > b.On && b.Off < b.Next && b.Off <= b.On + 0.35 + 1e-9, $"{b}");
        }
        // Every shell both ways; shells validate (0 < on < off), and the fit takes them (the basis validates).
        Assert.Contains(terms.Shells, s => s.Agent == "C" && s.Window.Species == "H");
        Assert.Contains(terms.Shells, s => s.Agent == "H" && s.Window.Species == "C");
        Assert.Contains(terms.Shells, s => s.Agent == "N" && s.Window.Species == "H");
        Assert.Contains(terms.Shells, s => s.Agent == "O" && s.Window.Species == "C");
        Assert.Equal(6, terms.Shells.Count);
        var basis = terms.Apply(InvariantOptions.Parse(FitOptions.DefaultConservativeBasis, 6));
        basis.Validate();
        Assert.Empty(FitOptions.NamedSpecies(basis).Intersect(["Na"]));
        // Bends at C (H–C–H, O–C–H), at N (H–N–H) and at O (C–O–H, with the basis's own O–H shell); none at H (one bond each).
        Assert.Equal(["C@HH", "C@HO", "N@HH", "O@HC"], terms.ShellAngles.Select(a => a.Agent + "@" + a.LegA.Species + a.LegB.Species).Order());
    }

    [Fact]
    public void WaterAloneGainsNothing()
    {
        var frames = Enumerable.Range(0, 5).Select(s => Synthetic.Water(16, Cell.Orthorhombic(9, 9, 9), s)).ToList();
        foreach (var spec in new[] { FitOptions.AccurateBasis, FitOptions.DefaultConservativeBasis, FitOptions.DefaultBasis })
        {
            var basis = InvariantOptions.Parse(spec, 6);
            var terms = BondedTerms.Derive(basis, frames, [0, 1, 2, 3, 4]);
            Assert.True(terms.IsEmpty);
            Assert.Null(terms.Summary());
            Assert.Same(basis, terms.Apply(basis));
        }
    }

    [Fact]
    public void ASpeciesGenericBasisGainsNothing()
    {
        var terms = Derive("gauss:8:0.8:5.5", Mixture(4, seed: 1));
        Assert.True(terms.IsEmpty);
        Assert.Empty(terms.Unnamed);
    }

    [Fact]
    public void TheAgentDefaultGainsTheSameShellsButNoSortedDistances()
    {
        var frames = Mixture(10, seed: 5, ion: false);
        var terms = Derive(FitOptions.DefaultBasis, frames);
        Assert.Equal(6, terms.Shells.Count);
        var basis = terms.Apply(InvariantOptions.Parse(FitOptions.DefaultBasis, 6));
        Assert.Equal(["H", "O"], basis.SortedCounts.Where(p => p.Value > 0).Select(p => p.Key).Order());
        // Without the basis's O–H shell there is no C–O–H bend at O; the bends at C and N are there.
        Assert.Equal(["C@HH", "C@HO", "N@HH"], terms.ShellAngles.Select(a => a.Agent + "@" + a.LegA.Species + a.LegB.Species).Order());
    }

    [Fact]
    public void AContinuousDistributionIsNoBond()
    {
        // Distances spread evenly from 1.2 to 2.6 Å: no gap, so no shell (a window there would cut through the neighbours).
        var spread = Enumerable.Range(0, 500).Select(i => 1.2 + 1.4 * i / 499.0).ToList();
        Assert.Null(BondedTerms.Window("X", "Y", spread, 100));
        // A clean bond at 1.5 ± 0.05 with nothing until 2.4: found, window between.
        var bond = Enumerable.Range(0, 200).Select(i => 1.45 + 0.1 * i / 199.0).Append(2.4).ToList();
        var w = BondedTerms.Window("X", "Y", bond, 100);
        Assert.NotNull(w);
        Assert.Equal(1.65, w!.On, 6);
        Assert.Equal(2.0, w.Off, 6);
        // The same cluster seen in only a few frames is a passing contact.
        Assert.Null(BondedTerms.Window("X", "Y", bond, 1000));
    }

    [Fact]
    public void TheFitNamesTheNewSpeciesFitsTheirTermsLinearlyAndLeavesTheRestQuadratic()
    {
        // Reference forces from a species-generic pair model over all four species.
        var frames = Mixture(24, seed: 9, ion: false);
        var set = new InvariantSet(InvariantOptions.Parse("gauss:5:0.8:4.5", 6), [Elements.O, Elements.H, C, N]);
        var rng = new Random(4);
        var truth = new LearnedModel(set, ForceMode.Agent,
            [.. set.Species.Select(_ => new QuadraticLoss([.. Enumerable.Range(0, set.Count).Select(_ => 0.3 * Synthetic.Gauss(rng))], null))]);
        foreach (var f in frames) f.Forces = truth.CreateForceField().Compute(f).Forces.ToArray();

        var options = new FitOptions
        {
            Invariants = InvariantOptions.Parse("gauss:4:0.8:4.5+shell:O-H:1.15:1.45:2+shell:H-O:1.15:1.45:2", 6),
            Stride = 1, DeriveBondedTerms = true,
        };
        var fit = ModelFitter.Fit(frames, options, null);
        Assert.NotNull(fit.Report.BondedTerms);
        Assert.Contains("C, N", fit.Report.BondedTerms);
        Assert.Contains("shell:C-H:", fit.Report.BondedTerms);
        var basis = fit.Model.Invariants.Options;
        Assert.Contains(basis.Shells, s => s.Agent == "C" && s.Window.Species == "O");
        Assert.Contains(basis.Shells, s => s.Agent == "N" && s.Window.Species == "H");
        Assert.Contains(basis.ShellAngles, a => a.Agent == "N");
        // The derived shells and angles have no quadratic terms; the basis's own O–H shells keep theirs.
        var linear = BondedTerms.LinearIn(fit.Model);
        Assert.Equal(6, linear.Shells.Count);
        Assert.All(linear.Shells, s => Assert.True(s.Agent is "C" or "N" || s.Window.Species is "C" or "N", s.ToString()));
        Assert.Equal(basis.ShellAngles.Count, linear.ShellAngles.Count);
        // Off: the basis as given.
        var plain = ModelFitter.Fit(frames, options with { DeriveBondedTerms = false }, null);
        Assert.Null(plain.Report.BondedTerms);
        Assert.Equal(2, plain.Model.Invariants.Options.Shells.Count);
    }

    [Fact]
    public void WaterFitsAreTheSameWithAndWithoutDerivation()
    {
        var truth = Synthetic.RandomModel(InvariantOptions.Parse("gauss:4:0.8:2.8", 2.9), 1, ForceMode.Conservative, seed: 2);
        var frames = Synthetic.Labelled(truth, 12, seed: 40);
        var options = FitOptions.DefaultConservative with { Stride = 1, SmallDataFrames = 0 };
        Assert.True(options.DeriveBondedTerms);
        string dir = Directory.CreateTempSubdirectory("mld-bonded-").FullName;
        try
        {
            string a = Path.Combine(dir, "a.json"), b = Path.Combine(dir, "b.json");
            ModelFitter.Fit(frames, options, null).Model.Save(a);
            ModelFitter.Fit(frames, options with { DeriveBondedTerms = false }, null).Model.Save(b);
            Assert.Equal(File.ReadAllBytes(b), File.ReadAllBytes(a));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
