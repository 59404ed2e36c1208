using System.Text.RegularExpressions;
using MolecularLearning.Cp2k;
using MolecularLearning.Dynamics.Report;

namespace MolecularLearning.Dynamics.Tests;

/// <summary>The report's dynamics section with several trajectories (the demo's two models): a column and a spectrum each.</summary>
public sealed class DynamicsSectionTests
{
    private static string Sample()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !Directory.Exists(Path.Combine(dir.FullName, "samples", "water32-xtb"))) dir = dir.Parent;
        return Path.Combine(dir?.FullName ?? throw new DirectoryNotFoundException("samples/water32-xtb"), "samples", "water32-xtb");
    }

    [Fact]
    public void Every_trajectory_gets_its_column_and_its_spectra()
    {
        var frames = Cp2kRun.Read(Sample()).Frames;
        var first = WaterAnalysis.Analyse(frames, "model A", "a.extxyz", skipFs: 0);
        var second = WaterAnalysis.Analyse(frames.Take(frames.Count * 3 / 4).ToList(), "model B", "b.extxyz", skipFs: 0);
        var reference = WaterAnalysis.Analyse(frames, "CP2K GFN1-xTB", "run", skipFs: 0);
        Assert.NotNull(first.Dynamics);
        Assert.NotNull(second.Dynamics);

        string html = AnalysisReport.Render([first, second], reference, "two models");
        var section = html[html.IndexOf("<h2>Vibrations and diffusion</h2>", StringComparison.Ordinal)..];
        var header = Regex.Match(section, "<table><tr>(.*?)</tr>").Groups[1].Value;
        Assert.Equal(["quantity", "model A", "model B", "CP2K GFN1-xTB"], Regex.Matches(header, "<th>(.*?)</th>").Select(m => m.Groups[1].Value));
        // Model A is the reference's own frames: 0 % off; model B, a shorter stretch of them, is compared too.
        var stretch = Regex.Match(section, "<tr><td>O–H stretch peak[^<]*</td>(.*?)</tr>").Groups[1].Value;
        var cells = Regex.Matches(stretch, "<td class=\"num\">(.*?)</td>").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(3, cells.Count);
        Assert.Contains("(+0.0%)", cells[0]);
        Assert.Matches(@"\([+-]\d+\.\d%\)", cells[1]);
        Assert.DoesNotContain("%", cells[2]);

        var hSpectrum = Regex.Matches(section, "<svg.*?</svg>", RegexOptions.Singleline).Select(m => m.Value)
            .Single(s => s.Contains("Vibrational density of states, H"));
        foreach (var label in new[] { "model A", "model B", "CP2K GFN1-xTB" })
            Assert.Contains($">{label}<", hSpectrum);
    }
}
