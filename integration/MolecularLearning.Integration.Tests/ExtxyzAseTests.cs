using System.Text.Json;
using MolecularLearning.Core;
using MolecularLearning.Cp2k;

namespace MolecularLearning.Integration.Tests;

/// <summary>
/// Extended XYZ against the reference reader and writer, Debian's ASE 3.22: `mld ingest` on both
/// shipped CP2K runs writes a file ASE reads back to the same numbers (1e-10 relative), and a file ASE
/// writes reads back in ours.
/// </summary>
public sealed class ExtxyzAseTests : IDisposable
{
    private static readonly string Scripts = Path.Combine(Peers.RepoRoot, "integration", "ase");
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "mld-ase-" + Guid.NewGuid().ToString("N"));

    public ExtxyzAseTests() => Directory.CreateDirectory(_dir);
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>CP2K's masses, as in Core/Species, for ASE's kinetic energy.</summary>
    private static string Masses => $"H={Elements.H.Mass.ToString("R", System.Globalization.CultureInfo.InvariantCulture)},O={Elements.O.Mass.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}";

    // Every frame of the PBE sample; every 10th of the shipped xtb run keeps ASE's (slow, pure Python)
    // parsing to a second or two while mld still ingests the whole run. Both ship with the repository.
    [Theory]
    [InlineData("tests/data/water32-pbe-sample", 1)]
    [InlineData("samples/water32-xtb", 10)]
    public void Ase_reads_what_mld_ingest_writes(string run, int stride)
    {
        var source = Path.Combine(Peers.RepoRoot, run);
        var output = Path.Combine(_dir, Path.GetFileName(run) + ".extxyz");
        var ingest = Peers.Mld(["ingest", source, "-o", output, "--json"], TimeSpan.FromMinutes(2));
        Assert.True(ingest.ExitCode == 0, ingest.StdErr);
        var ours = Cp2kRun.Read(source).Frames;
        Assert.Equal(ours.Count, JsonDocument.Parse(ingest.StdOut).RootElement.GetProperty("frames").GetInt32());

        var ase = Peers.Run(Peers.Python, [Path.Combine(Scripts, "read_extxyz.py"), output, stride.ToString(), Masses], TimeSpan.FromMinutes(2));
        Assert.True(ase.ExitCode == 0, ase.StdErr);
        using var doc = JsonDocument.Parse(ase.StdOut);
        var frames = doc.RootElement.EnumerateArray().ToList();
        Assert.Equal((ours.Count + stride - 1) / stride, frames.Count);
        foreach (var a in frames)
        {
            var f = ours[a.GetProperty("index").GetInt32()];
            Assert.Equal(f.Species.Select(s => s.Symbol), a.GetProperty("symbols").EnumerateArray().Select(s => s.GetString()));
            Close(f.Positions, a.GetProperty("positions"), "positions");
            Close(f.Forces!, a.GetProperty("forces"), "forces");
            Close(f.Velocities!, a.GetProperty("velocities"), "velocities");
            Close(f.Cell!.Matrix.ToArray(), a.GetProperty("cell"), "cell");
            Assert.Equal([true, true, true], a.GetProperty("pbc").EnumerateArray().Select(p => p.GetBoolean()));
            Close(f.Energy!.Value, a.GetProperty("energy").GetDouble(), "energy");
            Assert.Equal(f.Step, a.GetProperty("step").GetInt64());
            Close(f.Time!.Value, a.GetProperty("time").GetDouble(), "time");
            // ASE's kinetic energy from velocities / ase.units.fs: the documented velocity convention holds
            // (a wrong time unit would be off by 100×). ASE 3.22's units are CODATA 2014, ours 2018: the
            // amu/eV ratio differs by ~1e-8, hence the tolerance.
            Close(f.KineticEnergy(), a.GetProperty("kinetic").GetDouble(), "kinetic energy", 5e-8);
        }
    }

    /// <summary>A heavy-water CP2K run (&amp;KIND H / MASS 2.014): ASE reads the masses column and gets CP2K's kinetic energy.</summary>
    [Fact]
    public void Ase_reads_the_kind_masses_of_a_heavy_water_run()
    {
        var source = Path.Combine(Peers.RepoRoot, "tests", "data", "cp2k-d2o");
        var output = Path.Combine(_dir, "d2o.extxyz");
        var ingest = Peers.Mld(["ingest", source, "-o", output], TimeSpan.FromMinutes(2));
        Assert.True(ingest.ExitCode == 0, ingest.StdErr);
        Assert.DoesNotContain("warning", ingest.StdErr);
        var ours = Cp2kRun.Read(source);
        var ase = Peers.Run(Peers.Python, [Path.Combine(Scripts, "read_extxyz.py"), output, "1", "file"], TimeSpan.FromMinutes(1));
        Assert.True(ase.ExitCode == 0, ase.StdErr);
        using var doc = JsonDocument.Parse(ase.StdOut);
        foreach (var a in doc.RootElement.EnumerateArray())
        {
            var f = ours.Frames[a.GetProperty("index").GetInt32()];
            Assert.Equal(f.Species.Select(s => s.Symbol == "H" ? 2.01410178 : Elements.O.Mass), a.GetProperty("masses").EnumerateArray().Select(m => m.GetDouble()));
            // ASE's kinetic energy with the file's masses is CP2K's (.ener, Hartree → eV; CODATA 2014 against 2018: 1e-7).
            Close(ours.Energies!.Kinetic[ours.Energies.RowOf(f.Step!.Value)], a.GetProperty("kinetic").GetDouble(), "kinetic energy", 1e-6);
        }
    }

    [Fact]
    public void We_read_what_ase_writes()
    {
        var path = Path.Combine(_dir, "ase.extxyz");
        var written = Peers.Run(Peers.Python, [Path.Combine(Scripts, "write_extxyz.py"), path], TimeSpan.FromMinutes(1));
        Assert.True(written.ExitCode == 0, written.StdErr);
        // ASE prints positions with 8 decimals, so the truth is known to 5e-9 Å; what ASE itself reads
        // back from the file, ours must read exactly.
        var reread = Peers.Run(Peers.Python, [Path.Combine(Scripts, "read_extxyz.py"), path, "1", Masses], TimeSpan.FromMinutes(1));
        Assert.True(reread.ExitCode == 0, reread.StdErr);
        using var truth = JsonDocument.Parse(written.StdOut);
        using var aseView = JsonDocument.Parse(reread.StdOut);
        var ours = ExtendedXyz.Read(path);
        Assert.Equal(3, ours.Count);
        for (int k = 0; k < ours.Count; k++)
        {
            var f = ours[k];
            var t = truth.RootElement[k];
            var a = aseView.RootElement[k];
            Assert.Equal(t.GetProperty("symbols").EnumerateArray().Select(s => s.GetString()), f.Species.Select(s => s.Symbol));
            Close(f.Positions, a.GetProperty("positions"), "positions");
            Close(f.Forces!, a.GetProperty("forces"), "forces");
            Close(f.Velocities!, a.GetProperty("velocities"), "velocities");
            Close(f.Cell!.Matrix.ToArray(), a.GetProperty("cell"), "cell");
            Close(f.Energy!.Value, a.GetProperty("energy").GetDouble(), "energy");
            Assert.Equal(t.GetProperty("step").GetInt64(), f.Step);
            Close(f.Time!.Value, t.GetProperty("time").GetDouble(), "time");
            var p = t.GetProperty("positions").EnumerateArray().Select(x => x.GetDouble()).ToArray();
            for (int i = 0; i < p.Length; i++) Assert.Equal(p[i], f.Positions[i], 5e-9);
            Close(f.Cell.Matrix.ToArray(), t.GetProperty("cell"), "cell vs truth");
        }
    }

    /// <summary>
    /// Every frame of both shipped runs against CP2K's own .ener: the temperature from our velocities
    /// (CP2K masses, 3N − 3) and the header energy agree with CP2K's columns to their printed precision.
    /// </summary>
    [Theory]
    [InlineData("tests/data/water32-pbe-sample")]
    [InlineData("samples/water32-xtb")]
    public void Every_frame_agrees_with_cp2k_ener(string run)
    {
        var t = Cp2kRun.Read(Path.Combine(Peers.RepoRoot, run));
        var e = t.Energies!;
        // The shipped xtb run prints energies every step and frames every 4th step: every frame has its row.
        Assert.InRange(t.Frames.Count, 2, e.Count);
        foreach (var f in t.Frames)
        {
            int row = e.RowOf(f.Step!.Value);
            Assert.True(row >= 0, $"step {f.Step}: no row in the .ener file");
            Assert.True(Math.Abs(f.Temperature() - e.Temperature[row]) < 0.05, $"step {f.Step}: {f.Temperature()} K vs CP2K {e.Temperature[row]} K");
            Assert.True(Math.Abs(f.Energy!.Value - e.Potential[row]) < 1e-7, $"step {f.Step}: {f.Energy} eV vs CP2K {e.Potential[row]} eV");
            Assert.Equal(e.Time[row], f.Time!.Value, 1e-9);
        }
    }

    private static void Close(double[] ours, JsonElement theirs, string what, double relative = 1e-10)
    {
        var values = theirs.EnumerateArray().Select(x => x.GetDouble()).ToArray();
        Assert.Equal(ours.Length, values.Length);
        for (int i = 0; i < ours.Length; i++) Close(ours[i], values[i], $"{what}[{i}]", relative);
    }

    private static void Close(double ours, double theirs, string what, double relative = 1e-10)
    {
        double tolerance = relative * Math.Max(Math.Abs(ours), Math.Abs(theirs));
        Assert.True(Math.Abs(ours - theirs) <= tolerance, $"{what}: ours {ours:R}, ASE {theirs:R}");
    }
}
