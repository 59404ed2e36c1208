using System.Text.Json;

namespace MolecularLearning.Dynamics.Analysis;

/// <summary>
/// The dynamics keys of one side of `analyze --json`: "vdos" {species: {stretchCm1, bendCm1, spectrum
/// [[cm⁻¹, intensity], …]}}, "diffusion" {"O": {value, error (Å²/ps), fit window}}, "dynamics" (how measured).
/// Unmeasurable numbers are null.
/// </summary>
public static class DynamicsJson
{
    public static void Write(Utf8JsonWriter w, DynamicsAnalysis? d, string? note)
    {
        w.WriteStartObject("dynamics");
        if (d is not null)
        {
            w.WriteString("velocitySource", d.VelocitySource);
            Number(w, "frameIntervalFs", d.FrameIntervalFs);
            Number(w, "vacfMaxLagFs", d.MaxLagFs);
            Number(w, "nyquistCm1", d.NyquistCm1);
            w.WriteString("window", "Hann");
        }
        if (note is null) w.WriteNull("note"); else w.WriteString("note", note);
        w.WriteEndObject();

        w.WriteStartObject("vdos");
        foreach (var v in d?.Vdos.Values ?? [])
        {
            w.WriteStartObject(v.Species);
            Number(w, "stretchCm1", v.StretchCm1);
            Number(w, "bendCm1", v.BendCm1);
            w.WriteStartArray("spectrum");
            for (int j = 0; j < v.Spectrum.WavenumberCm1.Length; j++)
            {
                w.WriteStartArray();
                w.WriteNumberValue(Math.Round(v.Spectrum.WavenumberCm1[j], 3));
                w.WriteNumberValue(v.Spectrum.Intensity[j]);
                w.WriteEndArray();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndObject();

        w.WriteStartObject("diffusion");
        if (d?.OxygenDiffusion is { } o)
        {
            w.WriteStartObject(o.Species);
            Number(w, "value", o.Value);
            Number(w, "error", o.Error);
            w.WriteString("unit", "Å²/ps");
            Number(w, "fitFromFs", o.FitFromFs);
            Number(w, "fitToFs", o.FitToFs);
            w.WriteNumber("blocks", o.Blocks);
            w.WriteString("errorFrom", o.ErrorFrom);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    private static void Number(Utf8JsonWriter w, string name, double value)
    {
        if (double.IsFinite(value)) w.WriteNumber(name, value); else w.WriteNull(name);
    }
}
