using System.Globalization;
using System.Net;
using System.Text;

namespace MolecularLearning.Dynamics.Report;

/// <summary>One line of a chart.</summary>
public sealed record ChartSeries(string Name, double[] X, double[] Y, string Color, bool Dashed = false, double Width = 1.6);

/// <summary>
/// A small line chart rendered as inline SVG: title, axes with "nice" ticks and grid, axis labels
/// with units, shaded x windows, and a legend above the plot (so it never hides a curve). No
/// dependencies; the output is a self-contained &lt;svg&gt; element.
/// </summary>
public sealed class SvgChart
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private const double Left = 64, Right = 18, TitleHeight = 30, LegendRow = 17, Bottom = 50;
    private static int _clipIds;

    public required string Title { get; init; }
    public required string XLabel { get; init; }
    public required string YLabel { get; init; }
    public int Width { get; init; } = 560;
    public int Height { get; init; } = 330;
    public double? XMin { get; init; }
    public double? XMax { get; init; }
    public double? YMin { get; init; }
    public double? YMax { get; init; }
    /// <summary>Horizontal reference lines (e.g. g = 1, the target temperature), drawn dotted and named in the legend.</summary>
    public List<(double Y, string Label)> ReferenceLines { get; } = [];
    /// <summary>Shaded x windows (e.g. the equilibration left out of the statistics), named in the legend.</summary>
    public List<(double From, double To, string Label)> Shades { get; } = [];
    private const string ShadeColor = "#d9d9d9";
    public List<ChartSeries> Series { get; } = [];
    /// <summary>Most points drawn per series; longer series are thinned by taking every k-th point.</summary>
    public int MaxPoints { get; init; } = 1500;

    /// <summary>Legend entries in order: series, reference lines, shades; laid out in rows above the plot.</summary>
    private List<(string Kind, string Name, string Color, bool Dashed, double X, int Row)> LegendLayout()
    {
        var items = new List<(string Kind, string Name, string Color, bool Dashed)>();
        foreach (var s in Series) items.Add(("line", s.Name, s.Color, s.Dashed));
        foreach (var (_, label) in ReferenceLines) items.Add(("ref", label, "#888", false));
        foreach (var (_, _, label) in Shades) items.Add(("shade", label, ShadeColor, false));
        var laid = new List<(string, string, string, bool, double, int)>();
        double x = Left, limit = Width - Right;
        int row = 0;
        foreach (var (kind, name, color, dashed) in items)
        {
            double w = 30 + 6.2 * name.Length;
            if (x + w > limit && x > Left) { row++; x = Left; }
            laid.Add((kind, name, color, dashed, x, row));
            x += w + 8;
        }
        return laid;
    }

    public string Render()
    {
        var legend = LegendLayout();
        double top = TitleHeight + (legend.Count == 0 ? 8 : LegendRow * (legend[^1].Row + 1) + 6);
        var (x0, x1) = Range(s => s.X, XMin, XMax, padFraction: 0);
        var (y0, y1) = Range(s => s.Y, YMin, YMax, padFraction: 0.05);
        var xTicks = NiceTicks(x0, x1, 6);
        var yTicks = NiceTicks(y0, y1, 5);
        if (XMin is null && xTicks.Count > 0) { x0 = Math.Min(x0, xTicks[0]); x1 = Math.Max(x1, xTicks[^1]); }
        if (YMin is null && yTicks.Count > 0) { y0 = Math.Min(y0, yTicks[0]); }
        if (YMax is null && yTicks.Count > 0) { y1 = Math.Max(y1, yTicks[^1]); }
        xTicks = xTicks.Where(t => t >= x0 - 1e-12 && t <= x1 + 1e-12).ToList();
        yTicks = yTicks.Where(t => t >= y0 - 1e-12 && t <= y1 + 1e-12).ToList();
        double pw = Width - Left - Right, ph = Height - top - Bottom; // each legend row takes from the plot
        double Px(double x) => Left + (x - x0) / (x1 - x0) * pw;
        double Py(double y) => top + ph - (y - y0) / (y1 - y0) * ph;

        var sb = new StringBuilder();
        sb.Append(Inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" font-family=\"Helvetica, Arial, sans-serif\" role=\"img\" aria-label=\"{Esc(Title)}\">");
        sb.Append(Inv, $"<rect width=\"{Width}\" height=\"{Height}\" fill=\"#fff\"/>");
        // A long title (a long run label) shrinks to fit the width rather than being cut at the edges.
        double titleSize = Math.Clamp((Width - 16) / (0.6 * Math.Max(1, Title.Length)), 10, 15);
        sb.Append(Inv, $"<text x=\"{Width / 2.0:0.#}\" y=\"22\" text-anchor=\"middle\" font-size=\"{titleSize:0.#}\" font-weight=\"bold\" fill=\"#222\">{Esc(Title)}</text>");
        // Grid and ticks.
        string xFmt = Format(xTicks), yFmt = Format(yTicks);
        foreach (var t in xTicks)
        {
            double px = Px(t);
            sb.Append(Inv, $"<line x1=\"{px:0.##}\" y1=\"{top}\" x2=\"{px:0.##}\" y2=\"{top + ph}\" stroke=\"#e6e6e6\"/>");
            sb.Append(Inv, $"<line x1=\"{px:0.##}\" y1=\"{top + ph}\" x2=\"{px:0.##}\" y2=\"{top + ph + 5}\" stroke=\"#444\"/>");
            sb.Append(Inv, $"<text x=\"{px:0.##}\" y=\"{top + ph + 18}\" text-anchor=\"middle\" font-size=\"11\" fill=\"#333\">{t.ToString(xFmt, Inv)}</text>");
        }
        foreach (var t in yTicks)
        {
            double py = Py(t);
            sb.Append(Inv, $"<line x1=\"{Left}\" y1=\"{py:0.##}\" x2=\"{Left + pw}\" y2=\"{py:0.##}\" stroke=\"#e6e6e6\"/>");
            sb.Append(Inv, $"<line x1=\"{Left - 5}\" y1=\"{py:0.##}\" x2=\"{Left}\" y2=\"{py:0.##}\" stroke=\"#444\"/>");
            sb.Append(Inv, $"<text x=\"{Left - 8}\" y=\"{py + 4:0.##}\" text-anchor=\"end\" font-size=\"11\" fill=\"#333\">{t.ToString(yFmt, Inv)}</text>");
        }
        sb.Append(Inv, $"<rect x=\"{Left}\" y=\"{top}\" width=\"{pw}\" height=\"{ph}\" fill=\"none\" stroke=\"#444\"/>");
        sb.Append(Inv, $"<text x=\"{Left + pw / 2:0.#}\" y=\"{Height - 10}\" text-anchor=\"middle\" font-size=\"12.5\" fill=\"#222\">{Esc(XLabel)}</text>");
        sb.Append(Inv, $"<text transform=\"translate(16 {top + ph / 2:0.#}) rotate(-90)\" text-anchor=\"middle\" font-size=\"12.5\" fill=\"#222\">{Esc(YLabel)}</text>");
        // Data, clipped to the plot area.
        string clip = "plot" + Interlocked.Increment(ref _clipIds).ToString(Inv); // unique within a page
        sb.Append(Inv, $"<clipPath id=\"{clip}\"><rect x=\"{Left}\" y=\"{top}\" width=\"{pw}\" height=\"{ph}\"/></clipPath><g clip-path=\"url(#{clip})\">");
        foreach (var (from, to, label) in Shades)
        {
            double a = Math.Max(from, x0), b = Math.Min(to, x1);
            if (!(b > a)) continue;
            sb.Append(Inv, $"<rect class=\"shade\" x=\"{Px(a):0.##}\" y=\"{top}\" width=\"{Px(b) - Px(a):0.##}\" height=\"{ph}\" fill=\"{ShadeColor}\" fill-opacity=\"0.6\"><title>{Esc(label)}</title></rect>");
        }
        foreach (var (y, label) in ReferenceLines)
        {
            if (y < y0 || y > y1) continue;
            sb.Append(Inv, $"<line x1=\"{Left}\" y1=\"{Py(y):0.##}\" x2=\"{Left + pw}\" y2=\"{Py(y):0.##}\" stroke=\"#555\" stroke-width=\"1.2\" stroke-dasharray=\"2 3\"><title>{Esc(label)}</title></line>");
        }
        foreach (var s in Series)
        {
            int n = Math.Min(s.X.Length, s.Y.Length);
            // Only the points inside the x range (plus one either side) count towards thinning.
            int lo = 0, hi = n - 1;
            while (lo < n - 1 && s.X[lo + 1] < x0) lo++;
            while (hi > lo && s.X[hi - 1] > x1) hi--;
            if (n == 0) continue;
            int stride = Math.Max(1, (hi - lo + MaxPoints) / MaxPoints);
            sb.Append("<polyline fill=\"none\" stroke-linejoin=\"round\" points=\"");
            for (int i = lo; i <= hi; i += stride)
            {
                if (!double.IsFinite(s.X[i]) || !double.IsFinite(s.Y[i])) continue;
                sb.Append(Inv, $"{Px(s.X[i]):0.#},{Py(s.Y[i]):0.#} ");
            }
            sb.Append(Inv, $"\" stroke=\"{s.Color}\" stroke-width=\"{s.Width}\"{(s.Dashed ? " stroke-dasharray=\"6 3\"" : "")}/>");
        }
        sb.Append("</g>");
        // Legend between the title and the plot: it hides no curve.
        foreach (var (kind, name, color, dashed, lx, row) in legend)
        {
            double yy = TitleHeight + LegendRow * row + 12;
            switch (kind)
            {
                case "shade":
                    sb.Append(Inv, $"<rect x=\"{lx:0.#}\" y=\"{yy - 9:0.#}\" width=\"22\" height=\"10\" fill=\"{color}\"/>"); break;
                case "ref":
                    sb.Append(Inv, $"<line x1=\"{lx:0.#}\" y1=\"{yy - 4:0.#}\" x2=\"{lx + 22:0.#}\" y2=\"{yy - 4:0.#}\" stroke=\"#555\" stroke-width=\"1.4\" stroke-dasharray=\"2 3\"/>"); break;
                default:
                    sb.Append(Inv, $"<line x1=\"{lx:0.#}\" y1=\"{yy - 4:0.#}\" x2=\"{lx + 22:0.#}\" y2=\"{yy - 4:0.#}\" stroke=\"{color}\" stroke-width=\"2.4\"{(dashed ? " stroke-dasharray=\"5 2\"" : "")}/>"); break;
            }
            sb.Append(Inv, $"<text class=\"legend\" x=\"{lx + 27:0.#}\" y=\"{yy:0.#}\" font-size=\"11\" fill=\"#222\">{Esc(name)}</text>");
        }
        sb.Append("</svg>");
        return sb.ToString();
    }

    private (double Lo, double Hi) Range(Func<ChartSeries, double[]> pick, double? min, double? max, double padFraction)
    {
        double lo = double.MaxValue, hi = double.MinValue;
        foreach (var s in Series)
            foreach (var v in pick(s))
                if (double.IsFinite(v)) { lo = Math.Min(lo, v); hi = Math.Max(hi, v); }
        if (lo > hi) { lo = 0; hi = 1; }
        double pad = (hi - lo) * padFraction;
        lo = min ?? lo - pad; hi = max ?? hi + pad;
        if (hi - lo < 1e-12) { double c = lo; lo = c - Math.Max(0.5, Math.Abs(c) * 0.05); hi = c + Math.Max(0.5, Math.Abs(c) * 0.05); }
        return (lo, hi);
    }

    /// <summary>Ticks at 1, 2 or 5 × 10^k spacing covering [lo, hi] with about <paramref name="target"/> intervals.</summary>
    public static List<double> NiceTicks(double lo, double hi, int target)
    {
        double raw = (hi - lo) / target;
        double mag = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = (raw / mag) switch { < 1.5 => mag, < 3 => 2 * mag, < 7 => 5 * mag, _ => 10 * mag };
        var ticks = new List<double>();
        for (double t = Math.Floor(lo / step) * step; t <= hi + step * 0.5; t += step)
            ticks.Add(Math.Abs(t) < step * 1e-9 ? 0 : Math.Round(t / step) * step);
        return ticks;
    }

    /// <summary>Enough decimals to tell neighbouring ticks apart.</summary>
    private static string Format(List<double> ticks)
    {
        if (ticks.Count < 2) return "G4";
        double step = Math.Abs(ticks[1] - ticks[0]);
        int decimals = Math.Max(0, (int)Math.Ceiling(-Math.Log10(step) - 1e-9));
        return "F" + Math.Min(decimals, 6);
    }

    private static string Esc(string s) => WebUtility.HtmlEncode(s);
}
