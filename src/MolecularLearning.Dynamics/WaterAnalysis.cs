using System.Text.Json;
using MolecularLearning.Core;
using MolecularLearning.Dynamics.Analysis;

namespace MolecularLearning.Dynamics;

/// <summary>
/// Every observable of one water trajectory: temperature series and statistics, O–H bonds, H–O–H
/// angles, g_OO, g_OH, g_HH. Statistics use the frames from <see cref="SkipFs"/> after the first frame
/// (equilibration is left out); the time series show every frame.
/// </summary>
public sealed class WaterAnalysis
{
    public required string Label { get; init; }
    public required string Source { get; init; }
    public int Frames { get; init; }
    public int AnalysedFrames { get; init; }
    public double SkipFs { get; init; }
    public double StartFs { get; init; }
    public double EndFs { get; init; }
    public double[] Times { get; init; } = [];
    public double[] Temperatures { get; init; } = [];
    public MeanStd Temperature { get; init; }
    public required BondObservable OhBond { get; init; }
    public required AngleObservable HohAngle { get; init; }
    public required RadialDistribution RdfOO { get; init; }
    public required RadialDistribution RdfOH { get; init; }
    public required RadialDistribution RdfHH { get; init; }

    /// <summary>VACF, vibrational spectra and diffusion; null (with <see cref="DynamicsNote"/>) when the frames do not allow them.</summary>
    public DynamicsAnalysis? Dynamics { get; init; }
    public string? DynamicsNote { get; init; }

    public IEnumerable<RadialDistribution> Rdfs => [RdfOO, RdfOH, RdfHH];

    /// <param name="skipFs">time (fs) after the first frame left out of the statistics (equilibration).</param>
    public static WaterAnalysis Analyse(IReadOnlyList<Frame> frames, string label, string source, double skipFs = 0)
    {
        if (frames.Count == 0) throw new DataException($"{source}: no frames to analyse");
        double start = Observables.TimeOf(frames[0], 0);
        var kept = new List<Frame>();
        for (int f = 0; f < frames.Count; f++) if (Observables.TimeOf(frames[f], f) >= start + skipFs - 1e-9) kept.Add(frames[f]);
        if (kept.Count == 0) throw new DataException($"{source}: no frames left after skipping {skipFs} fs (the trajectory covers {Observables.TimeOf(frames[^1], frames.Count - 1) - start} fs)");
        var (times, temps) = Observables.Temperature(frames);
        var (_, keptTemps) = Observables.Temperature(kept);
        var bonds = Observables.OhBonds(frames);
        var dynamics = DynamicsAnalysis.TryAnalyse(kept, out var whyNot);
        return new WaterAnalysis
        {
            Label = label,
            Source = source,
            Frames = frames.Count,
            AnalysedFrames = kept.Count,
            SkipFs = skipFs,
            StartFs = start,
            EndFs = Observables.TimeOf(frames[^1], frames.Count - 1),
            Times = times,
            Temperatures = temps,
            Temperature = MeanStd.Of(keptTemps),
            // Series from every frame, statistics from the kept ones.
            OhBond = Observables.OhBonds(kept) with { Times = bonds.Times, TrackedSeries = bonds.TrackedSeries },
            HohAngle = Observables.HohAngles(kept),
            RdfOO = Observables.Rdf(kept, "O", "O"),
            RdfOH = Observables.Rdf(kept, "O", "H"),
            RdfHH = Observables.Rdf(kept, "H", "H"),
            Dynamics = dynamics,
            DynamicsNote = whyNot ?? dynamics?.Note,
        };
    }

    /// <summary>Writes the summary as a JSON object (non-finite numbers become null).</summary>
    public void WriteJson(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("label", Label);
        w.WriteString("source", Source);
        w.WriteNumber("frames", Frames);
        w.WriteNumber("analysedFrames", AnalysedFrames);
        Number(w, "skipFs", SkipFs);
        Number(w, "startFs", StartFs);
        Number(w, "endFs", EndFs);
        w.WriteStartObject("temperature");
        Number(w, "mean", Temperature.Mean); Number(w, "std", Temperature.Std); w.WriteNumber("count", Temperature.Count);
        w.WriteEndObject();
        w.WriteStartObject("ohBond");
        Number(w, "mean", OhBond.Length.Mean); Number(w, "std", OhBond.Length.Std); Number(w, "max", OhBond.Max);
        w.WriteEndObject();
        w.WriteStartObject("hohAngle");
        Number(w, "mean", HohAngle.Angle.Mean); Number(w, "std", HohAngle.Angle.Std);
        w.WriteNumber("brokenMolecules", HohAngle.BrokenMolecules); w.WriteNumber("molecules", HohAngle.Molecules);
        w.WriteEndObject();
        w.WriteStartObject("rdf");
        foreach (var rdf in Rdfs)
        {
            w.WriteStartObject(rdf.Pair);
            w.WriteStartObject("firstPeak");
            Number(w, "r", rdf.FirstPeakR); Number(w, "height", rdf.FirstPeakHeight);
            w.WriteEndObject();
            Number(w, "binWidth", rdf.BinWidth);
            w.WriteEndObject();
        }
        w.WriteEndObject();
        DynamicsJson.Write(w, Dynamics, DynamicsNote);
        w.WriteEndObject();
    }

    /// <summary>The JSON document of a comparison: {"trajectory": {...}, "reference": {...} or null}.</summary>
    public static string ComparisonJson(WaterAnalysis trajectory, WaterAnalysis? reference)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WritePropertyName("trajectory");
            trajectory.WriteJson(w);
            w.WritePropertyName("reference");
            if (reference is null) w.WriteNullValue(); else reference.WriteJson(w);
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void Number(Utf8JsonWriter w, string name, double value)
    {
        if (double.IsFinite(value)) w.WriteNumber(name, value); else w.WriteNull(name);
    }
}
