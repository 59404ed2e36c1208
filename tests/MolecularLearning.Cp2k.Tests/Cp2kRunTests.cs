using MolecularLearning.Core;
using static MolecularLearning.Cp2k.Tests.SyntheticRun;

namespace MolecularLearning.Cp2k.Tests;

public class Cp2kRunTests
{
    private const double Fc = Units.HartreePerBohrInEvPerAngstrom;
    private const double Vc = Units.AtomicVelocityInAngstromPerFs;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Reads_a_complete_run_in_internal_units(bool gzip)
    {
        using var run = new SyntheticRun().WriteComplete(steps: 4, gzip: gzip);
        var t = Cp2kRun.Read(run.Directory);
        Assert.Equal("P", t.Project);
        Assert.Equal(4, t.Frames.Count);
        Assert.Equal(Cell.Orthorhombic(12, 12, 12), t.Cell);
        for (int k = 0; k < 4; k++)
        {
            var f = t.Frames[k];
            Assert.Equal(k, f.Step);
            Assert.Equal(0.5 * k, f.Time!.Value, 12);
            Assert.Equal(EnergyHartree(k) * Units.HartreeInEv, f.Energy!.Value, 9);
            Assert.Equal(["O", "H", "H", "O", "H", "H"], f.Species.Select(s => s.Symbol));
            for (int a = 0; a < 6; a++)
                for (int x = 0; x < 3; x++)
                {
                    Assert.Equal(Position(k, a, x), f.Positions[3 * a + x], 10);
                    Assert.Equal(ForceAu(k, a, x) * Fc, f.Forces![3 * a + x], 8);
                    Assert.Equal(VelocityAu(k, a, x) * Vc, f.Velocities![3 * a + x], 8);
                }
        }
        Assert.Equal(0.5, t.TimestepFs!.Value, 12);
        Assert.Equal(1.2, t.MedianSecondsPerStep!.Value, 9); // steps 1..3 used 1.1, 1.2, 1.3 s
    }

    [Fact]
    public void Accepts_a_project_prefix_and_the_positions_file_itself()
    {
        using var run = new SyntheticRun("water-box").WriteComplete(steps: 2);
        Assert.Equal(2, Cp2kRun.Read(run.Prefix).Frames.Count);
        Assert.Equal(2, Cp2kRun.Read(run.Prefix + "-pos-1.xyz").Frames.Count);
        Assert.Equal("water-box", Cp2kRun.Read(run.Prefix).Project);
    }

    [Fact]
    public void Detects_gzip_by_content_not_by_name()
    {
        using var run = new SyntheticRun();
        long[] steps = [0, 1, 2];
        // Plain text named .gz, and gzip named plain: both must read.
        run.Write("-pos-1.xyz.gz", run.Xyz(Kind.Positions, steps));
        var gz = run.Write("-frc-1.xyz", run.Xyz(Kind.Forces, steps), gzip: true);
        File.Move(gz, run.Prefix + "-frc-1.xyz");
        run.Write("-1.restart", RestartCell);
        var t = Cp2kRun.Read(run.Directory, _ => { });
        Assert.Equal(3, t.Frames.Count);
        Assert.Equal(ForceAu(2, 5, 2) * Fc, t.Frames[2].Forces![17], 8);
    }

    /// <summary>Steps 0..6: positions every step, forces every 2nd, velocities every 3rd.</summary>
    private static SyntheticRun StridedRun()
    {
        var run = new SyntheticRun();
        var all = Enumerable.Range(0, 7).Select(s => (long)s).ToArray();
        run.Write("-pos-1.xyz", run.Xyz(Kind.Positions, all));
        run.Write("-frc-1.xyz", run.Xyz(Kind.Forces, all.Where(s => s % 2 == 0)));
        run.Write("-vel-1.xyz", run.Xyz(Kind.Velocities, all.Where(s => s % 3 == 0)));
        run.Write("-1.restart", RestartCell);
        return run;
    }

    [Fact]
    public void Aligns_files_printed_at_different_frequencies_by_step()
    {
        using var run = StridedRun();
        var t = Cp2kRun.Read(run.Directory);
        Assert.Equal(7, t.Frames.Count);
        foreach (var f in t.Frames)
        {
            long s = f.Step!.Value;
            Assert.Equal(s % 2 == 0, f.Forces is not null);
            Assert.Equal(s % 3 == 0, f.Velocities is not null);
            if (f.Forces is not null) Assert.Equal(ForceAu(s, 1, 0) * Fc, f.Forces[3], 8);
            if (f.Velocities is not null) Assert.Equal(VelocityAu(s, 4, 1) * Vc, f.Velocities[13], 8);
        }
    }

    [Fact]
    public void Names_the_steps_without_forces_as_they_are_not_as_a_range()
    {
        // Forces every 2nd step, velocities every 3rd: "steps 1..5" would claim steps 2 and 4 lack forces too.
        using var run = StridedRun();
        var warnings = new List<string>();
        Cp2kRun.Read(run.Directory, warnings.Add);
        Assert.Contains(warnings, w => w.EndsWith("P-frc-1.xyz: forces for 4 of 7 frames; 3 frames (every 2 steps from 1 to 5) have no forces"));
        Assert.Contains(warnings, w => w.EndsWith("P-vel-1.xyz: velocities for 3 of 7 frames; 4 frames (steps 1, 2, 4, 5) have no velocities"));
    }

    [Theory]
    [InlineData(new long[] { 3 }, "step 3")]
    [InlineData(new long[] { 2, 3, 4 }, "steps 2..4")]
    [InlineData(new long[] { 1, 3, 5, 7 }, "every 2 steps from 1 to 7")]
    [InlineData(new long[] { 1, 5 }, "steps 1, 5")]
    [InlineData(new long[] { 1, 2, 4, 5, 7, 8 }, "steps 1, 2, 4, …, 8")]
    public void Describes_step_lists(long[] steps, string text) => Assert.Equal(text, Cp2kRun.DescribeSteps(steps));

    [Fact]
    public void Drops_a_truncated_last_frame_with_a_warning()
    {
        using var run = new SyntheticRun().WriteComplete(steps: 4);
        var text = run.Xyz(Kind.Forces, [0, 1, 2, 3]);
        run.Write("-frc-1.xyz", text[..(text.Length - 30)]); // killed while writing the last atom of step 3
        var warnings = new List<string>();
        var t = Cp2kRun.Read(run.Directory, warnings.Add);
        Assert.Equal(4, t.Frames.Count);
        Assert.Null(t.Frames[3].Forces);
        Assert.NotNull(t.Frames[2].Forces);
        Assert.Equal(2, warnings.Count);
        Assert.Contains("-frc-1.xyz: frame 4: last frame is cut short", warnings[0]);
        // The positions have 4 frames: the shorter forces file is named with its counts and the steps without forces.
        Assert.Contains("-frc-1.xyz: forces for 3 of 4 frames; 1 frame (step 3) has no forces", warnings[1]);
    }

    [Fact]
    public void Drops_a_last_frame_whose_header_is_all_there_is()
    {
        using var run = new SyntheticRun().WriteComplete(steps: 3);
        run.Write("-pos-1.xyz", run.Xyz(Kind.Positions, [0, 1, 2]) + "       6\n i =        3, time =        1.500, E =");
        var warnings = new List<string>();
        Assert.Equal(3, Cp2kRun.Read(run.Directory, warnings.Add).Frames.Count);
        Assert.Contains(warnings, w => w.Contains("frame 4"));
    }

    [Fact]
    public void Uses_the_ener_potential_when_the_header_has_no_energy()
    {
        using var run = new SyntheticRun().WriteComplete(steps: 3);
        run.Write("-pos-1.xyz", run.Xyz(Kind.Positions, [0, 1, 2], withEnergy: false));
        var t = Cp2kRun.Read(run.Directory);
        Assert.Equal(EnergyHartree(2) * Units.HartreeInEv, t.Frames[2].Energy!.Value, 6);
        Assert.Equal(302, t.Energies!.Temperature[2], 9);
        Assert.Equal(run.KineticHartree(2) * Units.HartreeInEv, t.Energies.Kinetic[2], 9);
    }

    [Fact]
    public void Cell_from_the_input_with_abc_and_angles_when_there_is_no_restart()
    {
        using var run = new SyntheticRun("water").WriteComplete(steps: 2);
        run.Delete("-1.restart");
        run.WriteFile("other.inp", "&GLOBAL\n  PROJECT something-else\n&END GLOBAL\n&FORCE_EVAL\n &SUBSYS\n  &CELL\n   ABC 1 1 1\n  &END CELL\n &END SUBSYS\n&END FORCE_EVAL\n");
        run.WriteFile("run.inp", """
            &GLOBAL
              PROJECT_NAME water   # the project of this run
            &END GLOBAL
            &FORCE_EVAL
              &SUBSYS
                &CELL
                  ABC [bohr] 10.0 11.0 12.0
                  ALPHA_BETA_GAMMA 80 90 100
                  &CELL_REF
                    ABC 1 1 1
                  &END CELL_REF
                &END CELL
              &END SUBSYS
            &END FORCE_EVAL
            """);
        var cell = Cp2kRun.Read(run.Directory).Cell;
        var (a, b, c) = cell.Lengths;
        Assert.Equal(10 * Units.BohrInAngstrom, a, 10);
        Assert.Equal(11 * Units.BohrInAngstrom, b, 10);
        Assert.Equal(12 * Units.BohrInAngstrom, c, 10);
        var (alpha, beta, gamma) = cell.Angles;
        Assert.Equal(80, alpha, 8);
        Assert.Equal(90, beta, 8);
        Assert.Equal(100, gamma, 8);
    }

    [Fact]
    public void Restart_vectors_times_multiple_unit_cell()
    {
        using var run = new SyntheticRun().WriteComplete(steps: 1);
        run.Write("-1.restart", RestartCell.Replace("A     1.2", "A     1.0").Replace("MULTIPLE_UNIT_CELL  1 1 1", "MULTIPLE_UNIT_CELL  2 1 1"));
        Assert.Equal(Cell.Orthorhombic(20, 12, 12), Cp2kRun.Read(run.Directory).Cell);
    }

    [Fact]
    public void Several_projects_in_a_directory_are_listed()
    {
        using var run = new SyntheticRun("A").WriteComplete(steps: 1);
        File.Copy(run.Prefix + "-pos-1.xyz", Path.Combine(run.Directory, "B-pos-1.xyz"));
        var e = Assert.Throws<DataException>(() => Cp2kRun.Read(run.Directory));
        Assert.Contains("several CP2K projects here (A, B)", e.Message);
    }

    [Fact]
    public void Repeated_steps_of_a_restarted_run_keep_the_later_frame()
    {
        using var run = new SyntheticRun().WriteComplete(steps: 3);
        var text = run.Xyz(Kind.Positions, [0, 1, 2]) + run.Xyz(Kind.Positions, [2]).Replace("1.0020000000", "9.0000000000");
        run.Write("-pos-1.xyz", text);
        var warnings = new List<string>();
        var t = Cp2kRun.Read(run.Directory, warnings.Add);
        Assert.Equal(3, t.Frames.Count);
        Assert.Equal(9.0, t.Frames[2].Positions[0]);
        Assert.Contains(warnings, w => w.Contains("1 steps appear more than once"));
    }
}

public class Cp2kCellFileTests
{
    [Fact]
    public void A_per_step_cell_file_gives_each_frame_its_cell()
    {
        using var run = new SyntheticRun().WriteComplete(steps: 3);
        run.Write("-1.cell", """
            #   Step   Time [fs]       Ax [Angstrom]       Ay [Angstrom]       Az [Angstrom]       Bx [Angstrom]       By [Angstrom]       Bz [Angstrom]       Cx [Angstrom]       Cy [Angstrom]       Cz [Angstrom]      Volume [Angstrom^3]
                   0       0.000       12.0000000000        0.0000000000        0.0000000000        0.0000000000       12.0000000000        0.0000000000        0.0000000000        0.0000000000       12.0000000000         1728.0000000000
                   1       0.500       12.1000000000        0.0000000000        0.0000000000        0.0000000000       12.1000000000        0.0000000000        0.0000000000        0.0000000000       12.1000000000         1771.5610000000
                   2       1.000       12.2000000000        0.0000000000        0.0000000000        0.5000000000       12.2000000000        0.0000000000        0.0000000000        0.0000000000       12.2000000000         1815.8480000000

            """);
        var t = Cp2kRun.Read(run.Directory);
        Assert.Equal(Cell.Orthorhombic(12, 12, 12), t.Frames[0].Cell);
        Assert.Equal(Cell.Orthorhombic(12.1, 12.1, 12.1), t.Frames[1].Cell);
        Assert.Equal(new Cell([12.2, 0, 0, 0.5, 12.2, 0, 0, 0, 12.2]), t.Frames[2].Cell);
    }

    [Fact]
    public void A_step_missing_from_the_cell_file_is_an_error()
    {
        using var run = new SyntheticRun().WriteComplete(steps: 3);
        run.Write("-1.cell", "0 0.0 12 0 0 0 12 0 0 0 12 1728\n2 1.0 12 0 0 0 12 0 0 0 12 1728\n");
        var e = Assert.Throws<DataException>(() => Cp2kRun.Read(run.Directory));
        Assert.EndsWith("P-1.cell: no cell for step 1 (printed in P-pos-1.xyz)", e.Message);
    }
}
