using MolecularLearning.Core;

namespace MolecularLearning.Cp2k.Tests;

public static class SampleData
{
    public static string RepoRoot { get; } = FindRepoRoot();
    /// <summary>A real CP2K 2023.1 PBE-D3 output, 5 frames (steps 0..4), shipped in the repository.</summary>
    public static string PbeSample => Path.Combine(RepoRoot, "tests", "data", "water32-pbe-sample");
    public static string XtbSample => Path.Combine(RepoRoot, "samples", "water32-xtb");

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MolecularLearning.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("MolecularLearning.sln not found above the test assembly");
    }
}

/// <summary>Real CP2K files: values checked against the raw text converted by hand.</summary>
public class SampleRunTests
{
    private static readonly Lazy<Cp2kTrajectory> Pbe = new(() => Cp2kRun.Read(SampleData.PbeSample));

    [Fact]
    public void First_frame_matches_the_raw_files()
    {
        var t = Pbe.Value;
        Assert.Equal("water32", t.Project);
        Assert.Equal(5, t.Frames.Count);
        var f = t.Frames[0];
        Assert.Equal(96, f.AtomCount);
        Assert.Equal(32, f.Species.Count(s => s == Elements.O));
        Assert.Equal(64, f.Species.Count(s => s == Elements.H));
        // pos: "O 2.2803980000 9.1465390000 5.0886960000" (Å, unchanged)
        Assert.Equal([2.2803980000, 9.1465390000, 5.0886960000], f.Positions[..3]);
        // frc: "O -0.0138279183 ..." Hartree/Bohr × 27.211386245988 / 0.529177210903 eV/Å per Hartree/Bohr
        Assert.Equal(-0.7110601478797215, f.Forces![0], 12);
        Assert.Equal(1.5175739843257097, f.Forces[3], 12);
        // vel: "O -0.0001736981 ..." Bohr/au_t × 0.529177210903 / 0.02418884326585747 Å/fs per Bohr/au_t
        Assert.Equal(-0.003799978158810564, f.Velocities![0], 15);
        // header "E = -551.5761011475" Hartree
        Assert.Equal(-15009.150332380768, f.Energy!.Value, 8);
        Assert.Equal(0, f.Step);
        Assert.Equal(0.0, f.Time);
        // the last H of step 1 in the forces file: "H 0.0243324821 -0.0195735650 0.0183362468"
        Assert.Equal(0.0183362468 * 51.422067476325886, t.Frames[1].Forces![287], 9);
    }

    [Fact]
    public void Cell_is_the_9_8528_angstrom_cube()
    {
        Assert.Equal(Cell.Orthorhombic(9.8528, 9.8528, 9.8528), Pbe.Value.Cell);
        Assert.All(Pbe.Value.Frames, f => Assert.Same(Pbe.Value.Cell, f.Cell));
    }

    [Fact]
    public void Temperature_from_velocities_matches_cp2k_ener()
    {
        // CP2K's temperature uses its masses (Core/Species) and 3N − 3 degrees of freedom; the velocities
        // are printed with 10 decimals (≈1e-6 relative), so agreement is to a few hundredths of a kelvin.
        var t = Pbe.Value;
        foreach (var f in t.Frames)
        {
            int row = t.Energies!.RowOf(f.Step!.Value);
            Assert.Equal(t.Energies.Temperature[row], f.Temperature(), 0.05);
            Assert.Equal(t.Energies.Kinetic[row], f.KineticEnergy(), 2e-5);
        }
        Assert.Equal(300.0, t.Frames[0].Temperature(), 0.05);
    }

    [Fact]
    public void Header_energy_agrees_with_the_ener_potential()
    {
        var t = Pbe.Value;
        foreach (var f in t.Frames)
            Assert.Equal(t.Energies!.Potential[t.Energies.RowOf(f.Step!.Value)], f.Energy!.Value, 1e-6);
        Assert.Equal(0.5, t.TimestepFs);
        Assert.Equal((21.737925227 + 25.112666970) / 2, t.MedianSecondsPerStep!.Value, 9);
    }

    [Fact]
    public void The_shipped_xtb_sample_reads_and_its_frames_are_every_fourth_step()
    {
        var t = Cp2kRun.Read(SampleData.XtbSample);
        Assert.Equal(1001, t.Frames.Count);
        Assert.Equal(4000, t.Frames[^1].Step);
        Assert.All(t.Frames, f => Assert.Equal(0, f.Step!.Value % 4));
        Assert.Equal(4001, t.Energies!.Count);
    }
}
