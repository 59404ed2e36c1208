using System.CommandLine;
using System.Globalization;
using MolecularLearning.Core;
using MolecularLearning.Cp2k;
using MolecularLearning.Dynamics;
using MolecularLearning.Dynamics.Report;

namespace MolecularLearning.Cli.Verbs;

/// <summary>
/// `mld analyze TRAJ [--reference RUN] --report report.html [--json]`: water observables of a trajectory
/// (and a reference, side by side), as an HTML report with SVG charts and/or JSON on stdout.
/// </summary>
public sealed class AnalyzeVerb : IVerb
{
    public Command Build()
    {
        var trajectory = new Argument<string>("trajectory") { Description = "trajectory to analyse: .extxyz/.xyz file or CP2K run (directory or project prefix)" };
        var reference = new Option<string?>("--reference") { Description = "reference to compare with (CP2K run or .extxyz), e.g. the run a model was fitted on" };
        var report = new Option<string?>("--report") { Description = "write the HTML report (self-contained, SVG charts) here" };
        var json = new Option<bool>("--json") { Description = "print the summary as JSON on stdout (keys under \"trajectory\" and \"reference\")" };
        var skip = new Option<double>("--skip") { Description = "fs at the start of each run left out of the statistics (equilibration)", DefaultValueFactory = _ => 0 };
        var title = new Option<string?>("--title") { Description = "report title" };
        var command = new Command("analyze", "temperature, O–H bonds, H–O–H angles, g(r), vibrational spectra and O diffusion of a water trajectory, compared with a reference")
            { trajectory, reference, report, json, skip, title };
        command.SetAction(parse => CliErrors.Guard(() => Run(parse.GetValue(trajectory)!, parse.GetValue(reference),
            parse.GetValue(report), parse.GetValue(json), parse.GetValue(skip), parse.GetValue(title))));
        return command;
    }

    private static int Run(string trajectoryPath, string? referencePath, string? reportPath, bool json, double skipFs, string? title)
    {
        if (!(skipFs >= 0)) throw new DataException($"--skip must be ≥ 0 fs, got {skipFs}");
        static void Warn(string w) => Console.Error.WriteLine("warning: " + w);
        // A CP2K run is labelled with its method (e.g. "CP2K GFN1-xTB"), read from its input; any other file by its name.
        static string Name(string path) => Path.GetFileName(Path.TrimEndingDirectorySeparator(path));
        string trajectoryLabel = Cp2kInput.ReadRunMethod(trajectoryPath) ?? Name(trajectoryPath);
        string? referenceLabel = referencePath is null ? null : Cp2kInput.ReadRunMethod(referencePath) ?? Name(referencePath);
        if (referenceLabel == trajectoryLabel) (trajectoryLabel, referenceLabel) = (trajectoryLabel + " (trajectory)", referenceLabel + " (reference)");
        var trajectory = WaterAnalysis.Analyse(Load(trajectoryPath, Warn), trajectoryLabel, trajectoryPath, skipFs);
        var reference = referencePath is null ? null : WaterAnalysis.Analyse(Load(referencePath, Warn), referenceLabel!, referencePath, skipFs);
        if (reportPath is not null)
        {
            var html = AnalysisReport.Render(trajectory, reference, title ?? (reference is null ? "Water trajectory analysis" : $"{trajectory.Label} against {reference.Label}"));
            AtomicFile.Write(reportPath, s => { using var w = new StreamWriter(s, leaveOpen: true); w.Write(html); });
        }
        if (json) Console.WriteLine(WaterAnalysis.ComparisonJson(trajectory, reference));
        else
        {
            PrintSummary(trajectory, reference);
            if (reportPath is not null) Console.WriteLine($"report: {Path.GetFullPath(reportPath)}");
        }
        return 0;
    }

    internal static IReadOnlyList<Frame> Load(string path, Action<string> warn)
    {
        var frames = FrameSource.Load(path, warn);
        if (frames.Count == 0) throw DataException.At(path, null, "no complete frame");
        return frames;
    }

    /// <summary>The main figures as an aligned text table.</summary>
    internal static void PrintSummary(WaterAnalysis t, WaterAnalysis? r)
    {
        var inv = CultureInfo.InvariantCulture;
        string Ms(MeanStd m, string f) => double.IsFinite(m.Mean) ? $"{m.Mean.ToString(f, inv)} ± {m.Std.ToString(f, inv)}" : "n/a";
        var rows = new List<(string, Func<WaterAnalysis, string>)>
        {
            ("frames (analysed)", a => $"{a.Frames} ({a.AnalysedFrames})"),
            ("temperature (K)", a => Ms(a.Temperature, "0.0")),
            ("O–H bond (Å)", a => Ms(a.OhBond.Length, "0.0000")),
            ("longest O–H (Å)", a => a.OhBond.Max.ToString("0.000", inv)),
            ("H–O–H angle (°)", a => Ms(a.HohAngle.Angle, "0.00")),
            ("g_OO first peak (Å, height)", a => $"{a.RdfOO.FirstPeakR.ToString("0.00", inv)}, {a.RdfOO.FirstPeakHeight.ToString("0.00", inv)}"),
            ("g_OH first peak (Å, height)", a => $"{a.RdfOH.FirstPeakR.ToString("0.00", inv)}, {a.RdfOH.FirstPeakHeight.ToString("0.00", inv)}"),
            ("g_HH first peak (Å, height)", a => $"{a.RdfHH.FirstPeakR.ToString("0.00", inv)}, {a.RdfHH.FirstPeakHeight.ToString("0.00", inv)}"),
            ("O–H stretch, H VDOS (cm⁻¹)", a => Num(a.Dynamics?.Vdos.GetValueOrDefault("H")?.StretchCm1, "0")),
            ("H–O–H bend, H VDOS (cm⁻¹)", a => Num(a.Dynamics?.Vdos.GetValueOrDefault("H")?.BendCm1, "0")),
            ("D_O (Å²/ps)", a => a.Dynamics?.OxygenDiffusion is { } d ? $"{Num(d.Value, "0.000")} ± {Num(d.Error, "0.000")}" : "n/a"),
        };
        string Num(double? v, string f) => v is { } x && double.IsFinite(x) ? x.ToString(f, inv) : "n/a";
        Console.WriteLine($"{"",-30}{t.Label,-24}{(r is null ? "" : r.Label)}");
        foreach (var (name, cell) in rows) Console.WriteLine($"{name,-30}{cell(t),-24}{(r is null ? "" : cell(r))}");
        foreach (var a in new[] { t, r })
            if (a?.DynamicsNote is { } note) Console.WriteLine($"{a.Label} dynamics: {note}");
    }
}
