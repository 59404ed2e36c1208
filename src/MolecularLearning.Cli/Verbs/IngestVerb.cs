using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using MolecularLearning.Core;
using MolecularLearning.Cp2k;
using Spectre.Console;

namespace MolecularLearning.Cli.Verbs;

/// <summary>`mld ingest RUN -o data.extxyz [--json]`: a CP2K run (or an xyz file) to extended XYZ, with a summary.</summary>
public sealed class IngestVerb : IVerb
{
    public Command Build()
    {
        var input = new Argument<string>("cp2k-run") { Description = "CP2K run: directory, project prefix (dir/P) or P-pos-1.xyz[.gz]; an .extxyz/.xyz file also works" };
        var output = new Option<string?>("--output", "-o") { Description = "extended XYZ file to write (atomically; .gz compresses)" };
        var json = new Option<bool>("--json") { Description = "print the summary as JSON instead of a table" };
        var command = new Command("ingest", "read a CP2K MD run into extended XYZ and summarise it") { input, output, json };
        command.SetAction(parse => CliErrors.Guard(() =>
            Run(parse.GetValue(input)!, parse.GetValue(output), parse.GetValue(json))));
        return command;
    }

    private static int Run(string input, string? output, bool asJson)
    {
        var clock = Stopwatch.StartNew();
        if (output is not null) AtomicFile.Target(output); // refused before reading, not after
        var warnings = new List<string>();
        void Warn(string w) { warnings.Add(w); Console.Error.WriteLine("warning: " + w); }

        IReadOnlyList<Frame> frames;
        Cp2kTrajectory? run = null;
        if (FrameSource.IsCp2kRun(input))
        {
            run = Cp2kRun.Read(input, Warn);
            frames = run.Frames;
        }
        else frames = FrameSource.Load(input, Warn);
        if (frames.Count == 0) throw DataException.At(input, null, "no complete frame");
        if (output is not null) ExtendedXyz.Write(output, frames);
        var summary = DatasetSummary.From(frames, run?.Energies);
        double seconds = clock.Elapsed.TotalSeconds;

        if (asJson) WriteJson(input, output, run, frames, summary, warnings, seconds);
        else WriteTable(input, output, run, frames, summary, seconds);
        return 0;
    }

    private static void WriteJson(string input, string? output, Cp2kTrajectory? run, IReadOnlyList<Frame> frames,
        DatasetSummary s, List<string> warnings, double seconds)
    {
        using var stdout = Console.OpenStandardOutput();
        using (var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("source", input);
            if (output is null) w.WriteNull("output"); else w.WriteString("output", output);
            if (run is null) w.WriteNull("project"); else w.WriteString("project", run.Project);
            w.WriteNumber("frames", s.Frames);
            w.WriteNumber("framesWithForces", s.FramesWithForces);
            w.WriteNumber("framesWithVelocities", s.FramesWithVelocities);
            Number(w, "firstStep", s.FirstStep);
            Number(w, "lastStep", s.LastStep);
            Number(w, "timeStartFs", s.TimeStartFs);
            Number(w, "timeEndFs", s.TimeEndFs);
            Number(w, "timeSpanFs", s.TimeSpanFs);
            Number(w, "timestepFs", run?.TimestepFs);
            w.WriteStartObject("atoms");
            foreach (var (sp, n) in s.AtomsPerSpecies) w.WriteNumber(sp.Symbol, n);
            w.WriteEndObject();
            Number(w, "meanTemperatureK", s.MeanTemperatureK);
            Number(w, "meanTemperatureEnerK", s.MeanTemperatureEnerK);
            w.WriteStartObject("forceRmsEvPerAngstrom");
            foreach (var (sp, rms) in s.ForceRms) w.WriteNumber(sp.Symbol, rms);
            w.WriteEndObject();
            if (frames[0].Cell is { } cell)
            {
                w.WriteStartArray("cell");
                foreach (var v in cell.Matrix) w.WriteNumberValue(v);
                w.WriteEndArray();
            }
            else w.WriteNull("cell");
            Number(w, "cp2kSecondsPerStep", run?.MedianSecondsPerStep);
            w.WriteNumber("elapsedSeconds", Math.Round(seconds, 3));
            w.WriteStartArray("warnings");
            foreach (var warning in warnings) w.WriteStringValue(warning);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        stdout.Write("\n"u8);
    }

    private static void Number(Utf8JsonWriter w, string name, double? value)
    {
        if (value is { } v) w.WriteNumber(name, v); else w.WriteNull(name);
    }

    private static void Number(Utf8JsonWriter w, string name, long? value)
    {
        if (value is { } v) w.WriteNumber(name, v); else w.WriteNull(name);
    }

    private static void WriteTable(string input, string? output, Cp2kTrajectory? run, IReadOnlyList<Frame> frames,
        DatasetSummary s, double seconds)
    {
        static string F(double? v, string format) => v is { } x ? x.ToString(format, CultureInfo.InvariantCulture) : "-";
        var table = new Table().Border(TableBorder.Simple).AddColumn("quantity").AddColumn("value");
        void Row(string k, string v) => table.AddRow(Markup.Escape(k), Markup.Escape(v));
        Row("source", run is null ? input : $"{run.Directory} (project {run.Project})");
        Row("output", output ?? "(none)");
        Row("frames", $"{s.Frames} ({s.FramesWithForces} with forces, {s.FramesWithVelocities} with velocities)");
        Row("steps", $"{s.FirstStep?.ToString(CultureInfo.InvariantCulture) ?? "-"} .. {s.LastStep?.ToString(CultureInfo.InvariantCulture) ?? "-"}");
        Row("time span (fs)", $"{F(s.TimeSpanFs, "0.###")} ({F(s.TimeStartFs, "0.###")} .. {F(s.TimeEndFs, "0.###")}, dt {F(run?.TimestepFs, "0.###")})");
        Row("atoms per species", string.Join(", ", s.AtomsPerSpecies.Select(a => $"{a.Species} {a.Atoms}")));
        Row("mean temperature (K)", $"{F(s.MeanTemperatureK, "0.00")} from velocities, 3N-3 dof; CP2K .ener {F(s.MeanTemperatureEnerK, "0.00")}");
        Row("force RMS (eV/Å)", s.ForceRms.Count == 0 ? "-" : string.Join(", ", s.ForceRms.Select(f => $"{f.Species} {f.Rms.ToString("0.0000", CultureInfo.InvariantCulture)}")));
        // A triclinic cell's lengths alone would read as an orthorhombic box: its angles go beside them.
        Row("cell (Å)", frames[0].Cell is { } c
            ? $"{F(c.Lengths.A, "0.####")} x {F(c.Lengths.B, "0.####")} x {F(c.Lengths.C, "0.####")}"
              + (c.IsOrthorhombic ? "" : $", angles {F(c.Angles.Alpha, "0.##")} {F(c.Angles.Beta, "0.##")} {F(c.Angles.Gamma, "0.##")} deg")
            : "none (not periodic)");
        Row("CP2K seconds per step (median)", F(run?.MedianSecondsPerStep, "0.###"));
        Row("elapsed (s)", F(seconds, "0.000"));
        AnsiConsole.Write(table);
    }
}
