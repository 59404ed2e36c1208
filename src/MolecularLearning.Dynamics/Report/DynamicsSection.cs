using System.Globalization;
using System.Net;
using System.Text;
using MolecularLearning.Dynamics.Analysis;

namespace MolecularLearning.Dynamics.Report;

/// <summary>
/// The report's dynamics section: peak and diffusion table, H and O vibrational spectra (trajectory
/// over reference, peaks marked by dashed lines) and the oxygen MSD with its fit window.
/// </summary>
public static class DynamicsSection
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static void Append(StringBuilder sb, WaterAnalysis trajectory, WaterAnalysis? reference)
    {
        sb.Append("<h2>Vibrations and diffusion</h2>");
        var t = trajectory.Dynamics; var r = reference?.Dynamics;
        if (t is null && r is null)
        {
            sb.Append("<p class=\"note\">Not measured: ").Append(Esc(trajectory.DynamicsNote ?? "no dynamics")).Append("</p>");
            return;
        }
        sb.Append("<table><tr><th>quantity</th><th>").Append(Esc(trajectory.Label)).Append("</th>");
        if (reference is not null) sb.Append("<th>").Append(Esc(reference.Label)).Append("</th><th>difference</th>");
        sb.Append("</tr>");
        void Row(string name, Func<DynamicsAnalysis, double> value, Func<DynamicsAnalysis, double>? error, string unit, string fmt, bool relative)
        {
            double tv = t is null ? double.NaN : value(t), rv = r is null ? double.NaN : value(r);
            string Cell(DynamicsAnalysis? d, double v) => d is null || !double.IsFinite(v) ? "n/a"
                : v.ToString(fmt, Inv) + (error is null || !double.IsFinite(error(d)) ? "" : " ± " + error(d).ToString(fmt, Inv)) + " " + unit;
            sb.Append("<tr><td>").Append(Esc(name)).Append("</td><td class=\"num\">").Append(Esc(Cell(t, tv))).Append("</td>");
            if (reference is not null)
            {
                string diff = double.IsFinite(tv) && double.IsFinite(rv)
                    ? (tv - rv >= 0 ? "+" : "") + (tv - rv).ToString(fmt, Inv) + " " + unit + (relative && rv != 0 ? $" ({(tv - rv) / rv * 100:+0.0;-0.0}%)" : "")
                    : "n/a";
                sb.Append("<td class=\"num\">").Append(Esc(Cell(r, rv))).Append("</td><td class=\"num\">").Append(Esc(diff)).Append("</td>");
            }
            sb.Append("</tr>");
        }
        Row("O–H stretch peak (H spectrum)", d => Vdos(d, "H")?.StretchCm1 ?? double.NaN, null, "cm⁻¹", "0", true);
        Row("H–O–H bend peak (H spectrum)", d => Vdos(d, "H")?.BendCm1 ?? double.NaN, null, "cm⁻¹", "0", true);
        Row("O self-diffusion D_O", d => d.OxygenDiffusion?.Value ?? double.NaN, d => d.OxygenDiffusion?.Error ?? double.NaN, "Å²/ps", "0.000", true);
        sb.Append("</table>");

        sb.Append("<div class=\"charts\">");
        foreach (var species in new[] { "H", "O" })
        {
            var chart = new SvgChart
            {
                Title = $"Vibrational density of states, {species}", XLabel = "wavenumber (cm⁻¹)", YLabel = "intensity (1/cm⁻¹, unit area)",
                XMin = 0, XMax = 4500, YMin = 0,
            };
            AddSpectrum(chart, reference?.Dynamics, species, reference?.Label, AnalysisReport.ReferenceColor);
            AddSpectrum(chart, t, species, trajectory.Label, AnalysisReport.TrajectoryColor);
            Chart(sb, chart);
        }
        var msd = new SvgChart { Title = "O mean-squared displacement", XLabel = "lag (fs)", YLabel = "MSD (Å²)", XMin = 0, YMin = 0 };
        foreach (var (d, label, color) in new[] { (r, reference?.Label, AnalysisReport.ReferenceColor), (t, trajectory.Label, AnalysisReport.TrajectoryColor) })
        {
            if (d?.OxygenDiffusion is not { } o || label is null) continue;
            msd.Series.Add(new ChartSeries(label, o.LagFs, o.Msd, color));
            // The Einstein line over the fit window: MSD = 6 D τ + c through the MSD at the window's middle.
            int mid = Array.FindIndex(o.LagFs, x => x >= 0.5 * (o.FitFromFs + o.FitToFs));
            if (mid < 0) continue;
            double slope = 6 * o.Value / 1000, c = o.Msd[mid] - slope * o.LagFs[mid];
            msd.Series.Add(new ChartSeries($"{label}: fit {o.FitFromFs:0}–{o.FitToFs:0} fs", [o.FitFromFs, o.FitToFs],
                [c + slope * o.FitFromFs, c + slope * o.FitToFs], color, Dashed: true, Width: 2.4));
        }
        if (msd.Series.Count > 0) Chart(sb, msd);
        sb.Append("</div>");

        sb.Append("<p class=\"note\">Spectra: the cosine transform of each species' velocity autocorrelation (all atoms, x, y, z, every time origin) up to a lag of ")
          .Append((t ?? r)!.MaxLagFs.ToString("0", Inv)).Append(" fs, Hann-windowed and zero-padded; peaks are the highest points in ")
          .Append(Inv, $"{DynamicsAnalysis.BendFromCm1:0}–{DynamicsAnalysis.BendToCm1:0} cm⁻¹ (bend) and {DynamicsAnalysis.StretchFromCm1:0}–{DynamicsAnalysis.StretchToCm1:0} cm⁻¹ (stretch), ")
          .Append("refined by a parabola through the neighbouring bins. Velocities: ")
          .Append(Esc(string.Join(", ", new[] { t, r }.Where(d => d is not null).Select(d => d!.VelocitySource).Distinct())))
          .Append(". D_O: Einstein relation on the unwrapped oxygen positions (centre-of-mass drift removed), least-squares slope of the MSD over the fit window / 6; ")
          .Append("the error is the standard error over independent stretches of the run (each twice the longest lag) when there are at least 4, ")
          .Append("else over 4 groups of oxygens, which leaves out correlations along the run (a lower bound). Errors from: ")
          .Append(Esc(string.Join(", ", new[] { t, r }.Where(d => d?.OxygenDiffusion is not null).Select(d => d!.OxygenDiffusion!.ErrorFrom).Distinct())))
          .Append(". ")
          .Append("A strong (e.g. massive, τ 10 fs) thermostat damps both.");
        foreach (var a in new[] { trajectory, reference })
            if (a?.DynamicsNote is { } note) sb.Append(' ').Append(Esc(a.Label)).Append(": ").Append(Esc(note)).Append('.');
        sb.Append("</p>");
    }

    private static SpeciesVdos? Vdos(DynamicsAnalysis d, string species) => d.Vdos.TryGetValue(species, out var v) ? v : null;

    private static void AddSpectrum(SvgChart chart, DynamicsAnalysis? d, string species, string? label, string color)
    {
        if (d is null || label is null || Vdos(d, species) is not { } v) return;
        chart.Series.Add(new ChartSeries(label, v.Spectrum.WavenumberCm1, v.Spectrum.Intensity, color));
        // Peaks as dashed verticals, drawn as one series that returns along the axis between them.
        var peaks = new[] { v.BendCm1, v.StretchCm1 }.Where(double.IsFinite).ToArray();
        if (peaks.Length == 0) return;
        double top = v.Spectrum.Intensity.DefaultIfEmpty(0).Max();
        var x = peaks.SelectMany(p => new[] { p, p, p }).ToArray();
        var y = peaks.SelectMany(_ => new[] { 0, top, 0 }).ToArray();
        chart.Series.Add(new ChartSeries($"{label} peaks: " + string.Join(", ", peaks.Select(p => p.ToString("0", Inv))) + " cm⁻¹", x, y, color, Dashed: true, Width: 1));
    }

    private static void Chart(StringBuilder sb, SvgChart chart) => sb.Append("<div class=\"chart\">").Append(chart.Render()).Append("</div>");

    private static string Esc(string s) => WebUtility.HtmlEncode(s);
}
