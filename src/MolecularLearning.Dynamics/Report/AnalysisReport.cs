using System.Globalization;
using System.Net;
using System.Text;

namespace MolecularLearning.Dynamics.Report;

/// <summary>
/// The comparison report: one self-contained HTML file (inline CSS and SVG, nothing fetched) with a
/// summary table and charts of one or more trajectories against a reference (e.g. learned models against
/// CP2K GFN1-xTB), every figure with axis labels and units, the equilibration window shaded.
/// </summary>
public static class AnalysisReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    public const string TrajectoryColor = "#1f6fb4", ReferenceColor = "#e0701a";
    private static readonly string[] Palette = ["#1f6fb4", "#d62728", "#2ca02c", "#9467bd"];
    /// <summary>Colours of the compared trajectories, in order; the reference is always <see cref="ReferenceColor"/>.</summary>
    private static readonly string[] TrajectoryColors = [TrajectoryColor, "#2a9d5b", "#8e44ad", "#7f7f7f"];

    /// <param name="facts">extra lines for the header table (settings, costs, fit quality), in order.</param>
    public static string Render(WaterAnalysis trajectory, WaterAnalysis? reference, string title,
        IReadOnlyList<(string Name, string Value)>? facts = null, double? targetTemperatureK = null)
        => Render([trajectory], reference, title, facts, targetTemperatureK);

    /// <summary>Several trajectories (e.g. two learned models) side by side against one reference.</summary>
    public static string Render(IReadOnlyList<WaterAnalysis> trajectories, WaterAnalysis? reference, string title,
        IReadOnlyList<(string Name, string Value)>? facts = null, double? targetTemperatureK = null)
    {
        if (trajectories.Count == 0) throw new ArgumentException("no trajectory to report", nameof(trajectories));
        var trajectory = trajectories[0];
        string Color(int k) => TrajectoryColors[k % TrajectoryColors.Length];
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>").Append(Esc(title)).Append("</title><style>")
          .Append("body{font-family:Helvetica,Arial,sans-serif;margin:24px auto;max-width:1160px;color:#222;background:#fafafa}")
          .Append("h1{font-size:24px;margin:0 0 6px}h2{font-size:18px;margin:26px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}")
          .Append("table{border-collapse:collapse;background:#fff;font-size:14px}td,th{border:1px solid #ddd;padding:5px 10px;text-align:left}")
          .Append("th{background:#f0f0f0}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}")
          .Append(".charts{display:flex;flex-wrap:wrap;gap:14px}.chart{background:#fff;border:1px solid #ddd;border-radius:4px;padding:4px}")
          .Append(".note{color:#555;font-size:13px;max-width:1100px}.swatch{display:inline-block;width:14px;height:4px;margin-right:6px;vertical-align:middle}")
          .Append("</style></head><body>");
        sb.Append("<h1>").Append(Esc(title)).Append("</h1>");
        sb.Append("<p class=\"note\">");
        for (int k = 0; k < trajectories.Count; k++)
            sb.Append(k > 0 ? "<br>" : "").Append("<span class=\"swatch\" style=\"background:").Append(Color(k)).Append("\"></span>")
              .Append(Esc(trajectories[k].Label)).Append(": ").Append(Esc(trajectories[k].Source));
        if (reference is not null)
            sb.Append("<br><span class=\"swatch\" style=\"background:").Append(ReferenceColor).Append("\"></span>")
              .Append(Esc(reference.Label)).Append(": ").Append(Esc(reference.Source));
        sb.Append("</p>");
        if (facts is { Count: > 0 })
        {
            sb.Append("<table>");
            foreach (var (name, value) in facts) sb.Append("<tr><th>").Append(Esc(name)).Append("</th><td>").Append(Esc(value)).Append("</td></tr>");
            sb.Append("</table>");
        }

        sb.Append("<h2>Summary</h2>");
        SummaryTable(sb, trajectories, reference);
        sb.Append("<p class=\"note\">Statistics leave out the first ").Append(trajectory.SkipFs.ToString("0.#", Inv))
          .Append(" fs of each run (equilibration, shaded grey in the temperature chart); time series show every frame. Temperatures count 3N − 3 degrees of freedom. ")
          .Append("O–H bonds pair every H with its nearest O (minimum image); an H–O–H angle is measured for every O with exactly two such H. ")
          .Append("g(r) counts periodic images up to half the smallest cell height.</p>");

        sb.Append("<h2>Temperature and bonds</h2><div class=\"charts\">");
        var temperature = new SvgChart { Title = "Temperature", XLabel = "time (fs)", YLabel = "temperature (K)" };
        if (targetTemperatureK is { } tk) temperature.ReferenceLines.Add((tk, $"target {tk:0.#} K"));
        if (trajectory.SkipFs > 0)
        {
            double t0 = trajectories.Select(a => a.Times.Length > 0 ? a.Times[0] : double.NaN).Append(reference is { Times.Length: > 0 } r0 ? r0.Times[0] : double.NaN)
                .Where(double.IsFinite).DefaultIfEmpty(0).Min();
            temperature.Shades.Add((t0, t0 + trajectory.SkipFs, $"first {trajectory.SkipFs:0.#} fs: left out of the statistics"));
        }
        Add(temperature, reference?.Times, reference?.Temperatures, reference?.Label, ReferenceColor);
        for (int k = 0; k < trajectories.Count; k++) Add(temperature, trajectories[k].Times, trajectories[k].Temperatures, trajectories[k].Label, Color(k));
        Chart(sb, temperature);
        Chart(sb, Distribution("O–H bond length distribution", "O–H distance (Å)", "probability density (1/Å)",
            trajectories, reference, a => a.OhBond.Distribution));
        Chart(sb, Distribution("H–O–H angle distribution", "H–O–H angle (degrees)", "probability density (1/degree)",
            trajectories, reference, a => a.HohAngle.Distribution));
        // The per-run bond panels are compared with each other: one y range for all of them.
        var runs = new List<WaterAnalysis>(trajectories);
        if (reference is not null) runs.Add(reference);
        var (bondLo, bondHi) = TrackedRange(runs);
        foreach (var a in runs) Chart(sb, TrackedBonds(a, bondLo, bondHi));
        sb.Append("</div>");

        sb.Append("<h2>Radial distribution functions</h2><div class=\"charts\">");
        foreach (var pair in new[] { "OO", "OH", "HH" })
        {
            RadialDistribution Pick(WaterAnalysis a) => pair switch { "OO" => a.RdfOO, "OH" => a.RdfOH, _ => a.RdfHH };
            var t = Pick(trajectory);
            // Intramolecular O–H and H–H peaks dwarf the hydrogen-bond structure: cap the axis and say so.
            double cap = pair == "OO" ? double.NaN : 4;
            double top = runs.Max(a => Pick(a).G.DefaultIfEmpty(0).Max());
            bool capped = !double.IsNaN(cap) && top > cap;
            var chart = new SvgChart
            {
                Title = $"g_{pair[0]}{pair[1]}(r){(capped ? $" (axis cut at {cap}; first peak {t.FirstPeakHeight:0.#})" : "")}",
                XLabel = "r (Å)", YLabel = $"g_{pair}(r) (dimensionless)", XMin = 0, YMin = 0, YMax = capped ? cap : null,
            };
            chart.ReferenceLines.Add((1, "g = 1 (ideal gas)"));
            if (reference is not null) Add(chart, Pick(reference).R, Pick(reference).G, reference.Label, ReferenceColor);
            for (int k = 0; k < trajectories.Count; k++) Add(chart, Pick(trajectories[k]).R, Pick(trajectories[k]).G, trajectories[k].Label, Color(k));
            Chart(sb, chart);
        }
        sb.Append("</div>");
        DynamicsSection.Append(sb, trajectory, reference);
        sb.Append("<p class=\"note\">Generated by mld on ").Append(DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", Inv)).Append(".</p>");
        sb.Append("</body></html>");
        return sb.ToString();
    }

    /// <summary>Bond vibrations (period ≈ 9 fs) are a blur over picoseconds: show the first stretch of the run.</summary>
    public const double TrackedWindowFs = 250;

    private static (double Lo, double Hi) TrackedRange(IEnumerable<WaterAnalysis> runs)
    {
        double lo = double.MaxValue, hi = double.MinValue;
        foreach (var a in runs)
        {
            double t0 = a.OhBond.Times.Length > 0 ? a.OhBond.Times[0] : 0;
            foreach (var series in a.OhBond.TrackedSeries)
                for (int i = 0; i < series.Length && i < a.OhBond.Times.Length && a.OhBond.Times[i] <= t0 + TrackedWindowFs; i++)
                    if (double.IsFinite(series[i])) { lo = Math.Min(lo, series[i]); hi = Math.Max(hi, series[i]); }
        }
        if (lo > hi) return (0.8, 1.2);
        double pad = Math.Max(0.01, 0.05 * (hi - lo));
        return (lo - pad, hi + pad);
    }

    private static SvgChart TrackedBonds(WaterAnalysis a, double yLo, double yHi)
    {
        double t0 = a.OhBond.Times.Length > 0 ? a.OhBond.Times[0] : 0;
        double t1 = a.OhBond.Times.Length > 0 ? Math.Min(a.OhBond.Times[^1], t0 + TrackedWindowFs) : 1;
        var chart = new SvgChart
        {
            Title = $"{a.Label}: O–H bonds of 4 hydrogens, first {t1 - t0:0} fs", XLabel = "time (fs)", YLabel = "O–H distance (Å)",
            XMin = t0, XMax = t1 > t0 ? t1 : t0 + 1, YMin = yLo, YMax = yHi,
        };
        for (int k = 0; k < a.OhBond.TrackedSeries.Length; k++)
            chart.Series.Add(new ChartSeries($"H atom {a.OhBond.TrackedHydrogens[k] + 1}", a.OhBond.Times, a.OhBond.TrackedSeries[k], Palette[k % Palette.Length], Width: 1.1));
        return chart;
    }

    private static SvgChart Distribution(string title, string x, string y, IReadOnlyList<WaterAnalysis> ts, WaterAnalysis? r, Func<WaterAnalysis, Histogram> pick)
    {
        var chart = new SvgChart { Title = title, XLabel = x, YLabel = y, YMin = 0 };
        if (r is not null) Add(chart, pick(r).Centres(), pick(r).Density(), r.Label, ReferenceColor);
        for (int k = 0; k < ts.Count; k++) Add(chart, pick(ts[k]).Centres(), pick(ts[k]).Density(), ts[k].Label, TrajectoryColors[k % TrajectoryColors.Length]);
        return chart;
    }

    private static void Add(SvgChart chart, double[]? x, double[]? y, string? name, string color)
    {
        if (x is null || y is null || name is null || x.Length == 0) return;
        chart.Series.Add(new ChartSeries(name, x, y, color));
    }

    private static void Chart(StringBuilder sb, SvgChart chart) => sb.Append("<div class=\"chart\">").Append(chart.Render()).Append("</div>");

    private static void SummaryTable(StringBuilder sb, IReadOnlyList<WaterAnalysis> ts, WaterAnalysis? r)
    {
        sb.Append("<table><tr><th>quantity</th>");
        foreach (var t in ts) sb.Append("<th>").Append(Esc(t.Label)).Append("</th>");
        if (r is not null)
        {
            sb.Append("<th>").Append(Esc(r.Label)).Append("</th>");
            foreach (var t in ts) sb.Append("<th>").Append(Esc(ts.Count == 1 ? "difference" : $"{t.Label} − {r.Label}")).Append("</th>");
        }
        sb.Append("</tr>");
        void Row(string name, Func<WaterAnalysis, double> mean, Func<WaterAnalysis, double>? std, string unit, string fmt)
        {
            string Cell(WaterAnalysis a) => double.IsFinite(mean(a))
                ? mean(a).ToString(fmt, Inv) + (std is null ? "" : " ± " + std(a).ToString(fmt, Inv)) + " " + unit
                : "n/a";
            sb.Append("<tr><td>").Append(Esc(name)).Append("</td>");
            foreach (var t in ts) sb.Append("<td class=\"num\">").Append(Esc(Cell(t))).Append("</td>");
            if (r is not null)
            {
                sb.Append("<td class=\"num\">").Append(Esc(Cell(r))).Append("</td>");
                foreach (var t in ts)
                {
                    double dm = mean(t) - mean(r);
                    string diff = double.IsFinite(dm) ? (dm >= 0 ? "+" : "") + dm.ToString(fmt, Inv) + " " + unit : "n/a";
                    if (std is not null && std(r) > 0 && double.IsFinite(std(t)))
                        diff += $"; spread {(std(t) / std(r) - 1) * 100:+0;-0}%";
                    sb.Append("<td class=\"num\">").Append(Esc(diff)).Append("</td>");
                }
            }
            sb.Append("</tr>");
        }
        Row("frames analysed", a => a.AnalysedFrames, null, "", "0");
        Row("time span", a => a.EndFs - a.StartFs, null, "fs", "0.#");
        Row("temperature (mean ± std)", a => a.Temperature.Mean, a => a.Temperature.Std, "K", "0.0");
        Row("O–H bond (mean ± std)", a => a.OhBond.Length.Mean, a => a.OhBond.Length.Std, "Å", "0.0000");
        Row("longest O–H bond", a => a.OhBond.Max, null, "Å", "0.000");
        Row("H–O–H angle (mean ± std)", a => a.HohAngle.Angle.Mean, a => a.HohAngle.Angle.Std, "°", "0.00");
        Row("oxygens without exactly 2 H (frames × O)", a => a.HohAngle.BrokenMolecules, null, "", "0");
        foreach (var pair in new[] { "OO", "OH", "HH" })
        {
            RadialDistribution Pick(WaterAnalysis a) => pair switch { "OO" => a.RdfOO, "OH" => a.RdfOH, _ => a.RdfHH };
            Row($"g_{pair} first peak position", a => Pick(a).FirstPeakR, null, "Å", "0.00");
            Row($"g_{pair} first peak height", a => Pick(a).FirstPeakHeight, null, "", "0.00");
        }
        sb.Append("</table>");
    }

    private static string Esc(string s) => WebUtility.HtmlEncode(s);
}
