using System.Text.Json;
using System.Xml.Linq;
using MolecularLearning.Core;
using MolecularLearning.Dynamics.Report;

namespace MolecularLearning.Dynamics.Tests;

public class ObservablesTests
{
    private static double Deg(double d) => d * Math.PI / 180;

    /// <summary>Two molecules in a 10 Å box, the second split across the periodic boundary.</summary>
    private static Frame TwoWaters(double time = 0)
    {
        var o1 = new Vec3(1, 1, 1);
        var h11 = o1 + new Vec3(0.95, 0, 0);
        var h12 = o1 + 1.00 * new Vec3(Math.Cos(Deg(104.5)), Math.Sin(Deg(104.5)), 0);
        var o2 = new Vec3(9.7, 5, 5);
        var h21 = new Vec3(9.7 + 0.98 - 10, 5, 5); // wrapped to the other side of the box
        var h22 = o2 + 0.96 * new Vec3(Math.Cos(Deg(109.47)), 0, Math.Sin(Deg(109.47)));
        var x = new[] { o1, h11, h12, o2, h21, h22 }.SelectMany(v => new[] { v.X, v.Y, v.Z }).ToArray();
        return new Frame([Elements.O, Elements.H, Elements.H, Elements.O, Elements.H, Elements.H], x, Cell.Orthorhombic(10, 10, 10)) { Time = time };
    }

    [Fact]
    public void BondsAndAnglesOfTwoKnownMolecules()
    {
        var frames = new[] { TwoWaters(0), TwoWaters(2) };
        var bonds = Observables.OhBonds(frames);
        double[] expected = [0.95, 1.00, 0.98, 0.96];
        double mean = expected.Average();
        double std = Math.Sqrt(expected.Sum(b => (b - mean) * (b - mean)) * 2 / 7); // 8 samples, sample std
        Assert.Equal(mean, bonds.Length.Mean, 10);
        Assert.Equal(std, bonds.Length.Std, 10);
        Assert.Equal(1.00, bonds.Max, 10);
        Assert.Equal([1, 2, 4, 5], bonds.TrackedHydrogens);
        Assert.Equal(0.98, bonds.TrackedSeries[2][1], 10);
        Assert.Equal([0.0, 2.0], bonds.Times);

        var angles = Observables.HohAngles(frames);
        Assert.Equal((104.5 + 109.47) / 2, angles.Angle.Mean, 8);
        Assert.Equal(0, angles.BrokenMolecules);
        Assert.Equal(4, angles.Molecules);
    }

    [Fact]
    public void MoleculeThatLostAHydrogenIsCountedAsBroken()
    {
        var frame = TwoWaters();
        // Move the first molecule's second H next to the other oxygen.
        frame.Positions[6] = 9.7; frame.Positions[7] = 5; frame.Positions[8] = 4.0;
        var angles = Observables.HohAngles([frame]);
        Assert.Equal(2, angles.BrokenMolecules); // one O with 1 H, one with 3
        Assert.Equal(0, angles.Angle.Count);
    }

    [Fact]
    public void RdfOfSimpleCubicLatticeCountsShellsExactly()
    {
        const double a = 2.5; const int n = 4;
        var x = new List<double>();
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) for (int k = 0; k < n; k++) x.AddRange([i * a, j * a, k * a]);
        var frame = new Frame(Enumerable.Repeat(Elements.O, n * n * n).ToArray(), [.. x], Cell.Orthorhombic(n * a, n * a, n * a));
        var rdf = Observables.Rdf([frame], "O", "O", binWidth: 0.04);
        Assert.Equal(5.0, rdf.R[^1] + rdf.BinWidth / 2, 9); // up to half the box
        // Running coordination number n(R) = (N − 1)/V ∫ g 4πr² dr counts neighbours: 6, 6 + 12, 6 + 12 + 8.
        double Coordination(double upTo)
        {
            double sum = 0;
            for (int b = 0; b < rdf.R.Length; b++)
            {
                double r0 = b * rdf.BinWidth, r1 = r0 + rdf.BinWidth;
                if (r1 > upTo) break;
                sum += rdf.G[b] * 4.0 / 3 * Math.PI * (r1 * r1 * r1 - r0 * r0 * r0);
            }
            return sum * (n * n * n - 1) / frame.Cell!.Volume;
        }
        Assert.Equal(6, Coordination(3.0), 9);
        Assert.Equal(18, Coordination(4.0), 9);
        Assert.Equal(26, Coordination(4.6), 9);
        Assert.Equal(2.5, rdf.FirstPeakR, 9);
        Assert.True(rdf.FirstPeakHeight > 10);
    }

    [Fact]
    public void RdfOfUncorrelatedPointsIsOne()
    {
        var rng = new Xoshiro256(5);
        var frames = new List<Frame>();
        for (int f = 0; f < 10; f++)
        {
            var species = Enumerable.Range(0, 300).Select(i => i % 3 == 0 ? Elements.O : Elements.H).ToArray();
            var x = Enumerable.Range(0, 900).Select(_ => 10 * rng.NextDouble()).ToArray();
            frames.Add(new Frame(species, x, Cell.Orthorhombic(10, 10, 10)));
        }
        foreach (var (a, b) in new[] { ("O", "O"), ("O", "H"), ("H", "H") })
        {
            var rdf = Observables.Rdf(frames, a, b, binWidth: 0.1);
            var tail = rdf.G.Where((_, k) => rdf.R[k] > 2).ToArray();
            Assert.InRange(tail.Average(), 0.97, 1.03);
        }
    }

    [Fact]
    public void TemperatureCountsThreeNMinusThreeDegreesOfFreedom()
    {
        var frame = TwoWaters(4);
        frame.Velocities = [0.01, 0, 0, 0, 0.02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        double ke = 0.5 * (15.9994 * 1e-4 + 1.00794 * 4e-4) * Units.AmuAngstrom2PerFs2InEv;
        var (t, temps) = Observables.Temperature([frame, TwoWaters(6)]); // the second frame has no velocities
        Assert.Equal([4.0], t);
        Assert.Equal(2 * ke / (15 * Units.BoltzmannEvPerK), temps[0], 9);
    }

    [Fact]
    public void FirstPeakIsTheMaximumOfTheFirstRegionAboveOne()
    {
        double[] r = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        double[] g = [0, 0.5, 2, 3, 2, 0.3, 0.2, 5, 1];
        Assert.Equal((4.0, 3.0), Observables.FirstPeak(r, g));
        Assert.True(double.IsNaN(Observables.FirstPeak(r, new double[9]).R));
    }

    [Fact]
    public void RdfWithoutCellIsAClearError()
    {
        var frame = TwoWaters(); frame.Cell = null;
        var e = Assert.Throws<DataException>(() => Observables.Rdf([frame], "O", "O"));
        Assert.Contains("cell", e.Message);
    }

    [Fact]
    public void NiceTicksUseOneTwoFiveSteps()
    {
        Assert.Equal([0.0, 500, 1000, 1500, 2000], SvgChart.NiceTicks(0, 2000, 6));
        Assert.Equal([0.9, 0.95, 1.0, 1.05], SvgChart.NiceTicks(0.9, 1.05, 4).Select(t => Math.Round(t, 10)));
    }

    [Fact]
    public void ReportIsSelfContainedHtmlWithChartsAndJsonHasTheAgreedKeys()
    {
        var frames = Enumerable.Range(0, 6).Select(i =>
        {
            var f = TwoWaters(2 * i);
            f.Velocities = Enumerable.Range(0, 18).Select(k => 0.001 * ((k * 7 + i) % 5 - 2)).ToArray();
            return f;
        }).ToList();
        var traj = WaterAnalysis.Analyse(frames, "learned", "traj.extxyz", skipFs: 2);
        var reference = WaterAnalysis.Analyse(frames, "CP2K", "run/", skipFs: 2);
        Assert.Equal(5, traj.AnalysedFrames);
        string html = AnalysisReport.Render(traj, reference, "Water <test>", [("model", "m.json")], 300);
        Assert.StartsWith("<!DOCTYPE html>", html);
        Assert.DoesNotContain("http://", html.Replace("http://www.w3.org/2000/svg", ""));
        Assert.Contains("Water &lt;test&gt;", html);
        int charts = 0;
        foreach (var svg in System.Text.RegularExpressions.Regex.Matches(html, "<svg.*?</svg>").Select(m => m.Value))
        {
            var doc = XDocument.Parse(svg); // well-formed XML
            Assert.Contains(doc.Descendants().Select(e => e.Name.LocalName), n => n == "polyline");
            charts++;
        }
        Assert.Equal(8, charts);

        using var json = JsonDocument.Parse(WaterAnalysis.ComparisonJson(traj, reference));
        foreach (var side in new[] { "trajectory", "reference" })
        {
            var s = json.RootElement.GetProperty(side);
            Assert.Equal(traj.Temperature.Mean, s.GetProperty("temperature").GetProperty("mean").GetDouble());
            s.GetProperty("temperature").GetProperty("std").GetDouble();
            Assert.Equal(traj.OhBond.Length.Mean, s.GetProperty("ohBond").GetProperty("mean").GetDouble());
            s.GetProperty("ohBond").GetProperty("std").GetDouble();
            s.GetProperty("hohAngle").GetProperty("mean").GetDouble();
            s.GetProperty("hohAngle").GetProperty("std").GetDouble();
            foreach (var pair in new[] { "OO", "OH", "HH" })
            {
                var peak = s.GetProperty("rdf").GetProperty(pair).GetProperty("firstPeak");
                Assert.True(peak.TryGetProperty("r", out _) && peak.TryGetProperty("height", out _));
            }
        }
        using var alone = JsonDocument.Parse(WaterAnalysis.ComparisonJson(traj, null));
        Assert.Equal(JsonValueKind.Null, alone.RootElement.GetProperty("reference").ValueKind);
    }
}
