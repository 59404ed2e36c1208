using System.Text.Json;
using System.Text.RegularExpressions;

namespace MolecularLearning.Integration.Tests;

/// <summary>
/// `mld analyze` on the shipped CP2K sample against the PBE sample: the JSON has the agreed keys and
/// headless Chromium renders the self-contained HTML report into a real, non-blank screenshot.
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
        var analyze = Peers.Mld(["analyze", sample, "--reference", pbe, "--report", report, "--json", "--skip", "0"], TimeSpan.FromMinutes(3));
        Assert.True(analyze.ExitCode == 0, analyze.StdErr);
        using (var json = JsonDocument.Parse(analyze.StdOut))
        {
            foreach (var side in new[] { "trajectory", "reference" })
            {
                var s = json.RootElement.GetProperty(side);
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
        var chromium = Peers.Run(Chromium,
        [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--user-data-dir=" + profile, "--screenshot=" + png,
            "--window-size=1200,2000", new Uri(report).AbsoluteUri,
        ], TimeSpan.FromMinutes(2));
        Assert.True(File.Exists(png), $"no screenshot; chromium exit {chromium.ExitCode}: {chromium.StdErr}");
        var bytes = File.ReadAllBytes(png);
        Assert.Equal("\x89PNG", System.Text.Encoding.Latin1.GetString(bytes, 0, 4));
        int width = ReadBigEndian(bytes, 16), height = ReadBigEndian(bytes, 20);
        Assert.Equal((1200, 2000), (width, height));
        // A blank 1200×2000 page compresses to a few kB; tables, text and eleven charts do not.
        Assert.True(bytes.Length > 100_000, $"screenshot only {bytes.Length} bytes: the page looks empty");
    }

    private static int ReadBigEndian(byte[] b, int at) => (b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3];
}
