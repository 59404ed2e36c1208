using System.Text.Json;
using System.Text.RegularExpressions;

namespace MolecularLearning.Integration.Tests;

/// <summary>
/// `mld analyze` on the shipped CP2K sample against the PBE sample: the JSON has the agreed keys and names
/// each side's method from its CP2K input; headless Chromium renders the self-contained HTML report into a
/// real, non-blank screenshot, and the DOM it builds carries the methods, every chart's axis labels with
/// units, the target-free legend and the shaded equilibration window.
/// </summary>
public sealed class ReportChromiumTests : IDisposable
{
    private const string Chromium = "/usr/bin/chromium";
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "mld-report-" + Guid.NewGuid().ToString("N"));

    public ReportChromiumTests() => Directory.CreateDirectory(_dir);
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Analyze_report_renders_in_headless_chromium()
    {
        var report = Path.Combine(_dir, "report.html");
        var sample = Path.Combine(Peers.RepoRoot, "samples", "water32-xtb");
        var pbe = Path.Combine(Peers.RepoRoot, "tests", "data", "water32-pbe-sample");
        var analyze = Peers.Mld(["analyze", sample, "--reference", pbe, "--report", report, "--json", "--skip", "1"], TimeSpan.FromMinutes(3));
        Assert.True(analyze.ExitCode == 0, analyze.StdErr);
        using (var json = JsonDocument.Parse(analyze.StdOut))
        {
            foreach (var side in new[] { "trajectory", "reference" })
            {
                var s = json.RootElement.GetProperty(side);
                Assert.Equal(side == "trajectory" ? "CP2K GFN1-xTB" : "CP2K PBE-D3", s.GetProperty("label").GetString());
                Assert.InRange(s.GetProperty("ohBond").GetProperty("mean").GetDouble(), 0.95, 1.0);
                Assert.True(s.GetProperty("temperature").GetProperty("std").GetDouble() > 0);
                Assert.InRange(s.GetProperty("hohAngle").GetProperty("mean").GetDouble(), 95, 115);
                Assert.InRange(s.GetProperty("rdf").GetProperty("OH").GetProperty("firstPeak").GetProperty("r").GetDouble(), 0.9, 1.05);
            }
            // Dynamics: the 2 ps xTB sample has them (water's bands); the 4-step PBE sample is too short and says so.
            var t = json.RootElement.GetProperty("trajectory");
            var h = t.GetProperty("vdos").GetProperty("H");
            Assert.InRange(h.GetProperty("stretchCm1").GetDouble(), 3000, 4000);
            Assert.InRange(h.GetProperty("bendCm1").GetDouble(), 1300, 1800);
            Assert.True(h.GetProperty("spectrum").GetArrayLength() > 100);
            Assert.True(t.GetProperty("vdos").GetProperty("O").GetProperty("spectrum")[10].GetArrayLength() == 2);
            Assert.True(t.GetProperty("diffusion").GetProperty("O").GetProperty("value").GetDouble() > 0);
            Assert.True(t.GetProperty("diffusion").GetProperty("O").GetProperty("error").GetDouble() > 0);
            Assert.Contains("too few", json.RootElement.GetProperty("reference").GetProperty("dynamics").GetProperty("note").GetString());
        }

        var html = File.ReadAllText(report);
        Assert.Equal(11, Regex.Matches(html, "<svg ").Count); // 8 + H and O spectra + O MSD
        Assert.DoesNotMatch("<(script|link|img)[ >]", html); // self-contained: nothing fetched, nothing run

        var png = Path.Combine(_dir, "report.png");
        var profile = Path.Combine(_dir, "chromium-profile");
        string[] common =
        [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--user-data-dir=" + profile, "--window-size=1400,2000",
        ];
        // What the browser built from the file: the methods, the axis labels, the legend entries and the shaded window.
        var dom = Peers.Run(Chromium, [.. common, "--dump-dom", new Uri(report).AbsoluteUri], TimeSpan.FromMinutes(2));
        Assert.True(dom.ExitCode == 0, dom.StdErr);
        var page = System.Net.WebUtility.HtmlDecode(dom.StdOut);
        Assert.Contains("<h1>CP2K GFN1-xTB against CP2K PBE-D3</h1>", page);
        var svgs = Regex.Matches(page, "<svg[^>]*>.*?</svg>", RegexOptions.Singleline).Select(m => m.Value).ToList();
        Assert.Equal(11, svgs.Count);
        foreach (var svg in svgs)
        {
            // An x label and a rotated y label, both with a unit in parentheses, on every chart.
            var labels = Regex.Matches(svg, "<text[^>]*font-size=\"12.5\"[^>]*>([^<]*)</text>").Select(m => m.Groups[1].Value).ToList();
            Assert.True(labels.Count == 2 && labels.All(l => Regex.IsMatch(l, @"\(.+\)")), "axis labels with units: " + string.Join(" | ", labels) + " in " + svg[..200]);
            Assert.Contains("class=\"legend\"", svg);
        }
        foreach (var label in new[] { "time (fs)", "temperature (K)", "O–H distance (Å)", "H–O–H angle (degrees)", "r (Å)", "g = 1 (ideal gas)" })
            Assert.Contains(label, page);
        // Both methods name their curves in the legends.
        Assert.True(Regex.Matches(page, "class=\"legend\"[^>]*>CP2K PBE-D3<").Count >= 5, "reference method in the legends");
        Assert.True(Regex.Matches(page, "class=\"legend\"[^>]*>CP2K GFN1-xTB<").Count >= 5, "trajectory method in the legends");
        // The equilibration left out of the statistics (--skip 1) is shaded on the temperature chart and named in its legend.
        var temperature = svgs.Single(x => x.Contains("aria-label=\"Temperature\""));
        Assert.Matches("<rect class=\"shade\" x=\"[0-9.]+\" y=\"[0-9.]+\" width=\"[0-9.]*[1-9][0-9.]*\"", temperature);
        Assert.Contains("first 1 fs: left out of the statistics", temperature);
        // Compared bond panels share one y range: the same tick labels on both.
        var bonds = svgs.Where(x => x.Contains("O–H bonds of 4 hydrogens")).ToList();
        Assert.Equal(2, bonds.Count);
        static string YTicks(string svg) => string.Join(",", Regex.Matches(svg, "<text x=\"56\" y=\"[0-9.]+\" text-anchor=\"end\"[^>]*>([^<]*)</text>").Select(m => m.Groups[1].Value));
        Assert.NotEqual("", YTicks(bonds[0]));
        Assert.Equal(YTicks(bonds[0]), YTicks(bonds[1]));

        var chromium = Peers.Run(Chromium, [.. common, "--screenshot=" + png, new Uri(report).AbsoluteUri], TimeSpan.FromMinutes(2));
        Assert.True(File.Exists(png), $"no screenshot; chromium exit {chromium.ExitCode}: {chromium.StdErr}");
        var bytes = File.ReadAllBytes(png);
        Assert.Equal("\x89PNG", System.Text.Encoding.Latin1.GetString(bytes, 0, 4));
        int width = ReadBigEndian(bytes, 16), height = ReadBigEndian(bytes, 20);
        Assert.Equal((1400, 2000), (width, height));
        // A blank 1400×2000 page compresses to a few kB; tables, text and eleven charts do not.
        Assert.True(bytes.Length > 100_000, $"screenshot only {bytes.Length} bytes: the page looks empty");
    }

    private static int ReadBigEndian(byte[] b, int at) => (b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3];
}
