using MolecularLearning.Core;
using static MolecularLearning.Cp2k.Tests.SyntheticRun;

namespace MolecularLearning.Cp2k.Tests;

/// <summary>Each way a CP2K run can be broken gives one error naming the file, the frame and the problem.</summary>
public class BadInputTests
{
    private static readonly long[] Steps = [0, 1, 2, 3];

    [Fact]
    public void Missing_positions_file()
    {
        using var run = new SyntheticRun().WriteComplete(steps: 2);
        run.Delete("-pos-1.xyz");
        var e = Assert.Throws<FileNotFoundException>(() => Cp2kRun.Read(run.Prefix));
        Assert.Contains("P-pos-1.xyz: not found", e.Message);
    }

    [Fact]
    public void Missing_directory()
    {
        Assert.Throws<DirectoryNotFoundException>(() => Cp2kRun.Read("/nonexistent-mld-dir/P"));
    }

    [Fact]
    public void Empty_file()
    {
        using var run = new SyntheticRun().WriteComplete(steps: 2);
        run.Write("-frc-1.xyz", "");
        var e = Assert.Throws<DataException>(() => Cp2kRun.Read(run.Directory));
        Assert.EndsWith("P-frc-1.xyz: empty file: no complete frame", e.Message);
    }

    [Fact]
    public void Truncated_frame_in_the_middle()
    {
        using var run = new SyntheticRun().WriteComplete(steps: 4);
        var lines = run.Xyz(Kind.Positions, Steps).Split('\n').ToList();
        lines.RemoveRange(2 * 8 + 5, 3); // frame 3 (step 2) loses its last three atoms
        run.Write("-pos-1.xyz", string.Join('\n', lines));
        var e = Assert.Throws<DataException>(() => Cp2kRun.Read(run.Directory));
        Assert.Matches(@"P-pos-1\.xyz: frame 3: line 22: frame cut short: atom 4 of 6 has 1 fields", e.Message);
    }

    [Theory]
    [InlineData("999999999")]
    [InlineData("2147483647")]
    public void Absurd_atom_count_is_refused_before_allocating(string count)
    {
        // Issue 17 item 7: 999999999 took 34 s and 7.8 GB before an OverflowException.
        using var run = new SyntheticRun().WriteComplete(steps: 2);
        var lines = run.Xyz(Kind.Positions, [0, 1]).Split('\n');
        lines[0] = count;
        run.Write("-pos-1.xyz", string.Join('\n', lines));
        long before = GC.GetTotalAllocatedBytes(precise: true);
        var e = Assert.Throws<DataException>(() => Cp2kRun.Read(run.Directory));
        Assert.Contains($"P-pos-1.xyz: frame 1: line 1: the frame announces {count} atoms, more than the file can hold", e.Message);
        Assert.True(GC.GetTotalAllocatedBytes(precise: true) - before < 64 << 20, "refused after allocating");
    }

    [Fact]
    public void Absurd_coordinate_is_refused_naming_file_frame_and_line()
    {
        using var run = new SyntheticRun().WriteComplete(steps: 2);
        var lines = run.Xyz(Kind.Positions, [0, 1]).Split('\n');
        var fields = lines[2 + 8 + 3].Split(' ', StringSplitOptions.RemoveEmptyEntries); // frame 2, atom 4
        fields[2] = "1e308";
        lines[2 + 8 + 3] = string.Join(' ', fields);
        run.Write("-pos-1.xyz", string.Join('\n', lines));
        var e = Assert.Throws<DataException>(() => Cp2kRun.Read(run.Directory));
        Assert.EndsWith("P-pos-1.xyz: frame 2: line 14: y = '1e308' is beyond ±1E+08 (in Å, eV/Å or Å/fs)", e.Message);
    }

    [Fact]
    public void Forces_file_shorter_than_positions_is_named_with_counts()
    {
        using var run = new SyntheticRun().WriteComplete(steps: 4);
        run.Write("-frc-1.xyz", run.Xyz(Kind.Forces, [0, 1]));
        var warnings = new List<string>();
        var t = Cp2kRun.Read(run.Directory, warnings.Add);
        Assert.Equal(4, t.Frames.Count);
        Assert.Contains(warnings, w => w.EndsWith("P-frc-1.xyz: forces for 2 of 4 frames; 2 frames (steps 2..3) have no forces"));
    }

    [Fact]
    public void Atom_count_differs_between_positions_and_forces()
    {
        using var run = new SyntheticRun().WriteComplete(steps: 2);
        run.Write("-frc-1.xyz", run.Xyz(Kind.Forces, [0, 1], symbols: ["O", "H", "H"]));
        var e = Assert.Throws<DataException>(() => Cp2kRun.Read(run.Directory));
        Assert.EndsWith("P-frc-1.xyz: frame 1: 3 atoms, the positions file P-pos-1.xyz has 6", e.Message);
    }

    [Fact]
    public void Species_differ_between_positions_and_velocities()
    {
        using var run = new SyntheticRun().WriteComplete(steps: 2);
        run.Write("-vel-1.xyz", run.Xyz(Kind.Velocities, [0, 1], symbols: ["O", "H", "H", "H", "O", "H"]));
        var e = Assert.Throws<DataException>(() => Cp2kRun.Read(run.Directory));
        Assert.EndsWith("P-vel-1.xyz: frame 1: atom 4 is H, in the positions file P-pos-1.xyz it is O", e.Message);
    }

    [Fact]
    public void Species_change_inside_one_file()
    {
        using var run = new SyntheticRun().WriteComplete(steps: 2);
        var text = run.Xyz(Kind.Positions, [0]) + run.Xyz(Kind.Positions, [1], symbols: ["O", "H", "O", "O", "H", "H"]);
        run.Write("-pos-1.xyz", text);
        var e = Assert.Throws<DataException>(() => Cp2kRun.Read(run.Directory));
        Assert.EndsWith("P-pos-1.xyz: frame 2: line 13: atom 3 is 'O', the first frame has 'H'", e.Message);
    }

    [Fact]
    public void Non_numeric_field()
    {
        using var run = new SyntheticRun().WriteComplete(steps: 4);
        var text = run.Xyz(Kind.Forces, Steps);
        int at = text.IndexOf("0.0002000000", StringComparison.Ordinal); // step 2, first atom, y
        run.Write("-frc-1.xyz", text[..at] + "0.00020x0000" + text[(at + 12)..]);
        var e = Assert.Throws<DataException>(() => Cp2kRun.Read(run.Directory));
        Assert.EndsWith("P-frc-1.xyz: frame 3: line 19: y is not a number: '0.00020x0000'", e.Message);
    }

    [Theory]
    [InlineData("NaN")]
    [InlineData("Infinity")]
    [InlineData("-Inf")]
    public void Non_finite_value(string bad)
    {
        using var run = new SyntheticRun().WriteComplete(steps: 4);
        var lines = run.Xyz(Kind.Velocities, Steps).Split('\n');
        lines[10] = $"  O  0.1 {bad} 0.2"; // frame 2 (step 1), atom 1, y
        run.Write("-vel-1.xyz", string.Join('\n', lines));
        var e = Assert.Throws<DataException>(() => Cp2kRun.Read(run.Directory));
        Assert.EndsWith($"P-vel-1.xyz: frame 2: line 11: y is not finite: '{bad}'", e.Message);
    }

    [Fact]
    public void Cell_not_found()
    {
        using var run = new SyntheticRun().WriteComplete(steps: 2);
        run.Delete("-1.restart");
        var e = Assert.Throws<DataException>(() => Cp2kRun.Read(run.Directory));
        Assert.Contains("cell not found: no P-1.restart, no input (*.inp) names project P", e.Message);
    }

    [Fact]
    public void Restart_without_a_cell_section()
    {
        using var run = new SyntheticRun().WriteComplete(steps: 2);
        run.Write("-1.restart", "&GLOBAL\n PROJECT P\n&END GLOBAL\n");
        var e = Assert.Throws<DataException>(() => Cp2kRun.Read(run.Directory));
        Assert.Contains("cell not found: P-1.restart has no &CELL", e.Message);
    }

    [Fact]
    public void Ener_with_a_bad_number_names_the_row()
    {
        using var run = new SyntheticRun().WriteComplete(steps: 3);
        run.Write("-1.ener", run.Ener([0, 1, 2]).Replace("301.000000000", "301.0000*0000"));
        var e = Assert.Throws<DataException>(() => Cp2kRun.Read(run.Directory));
        Assert.EndsWith("P-1.ener: frame 2: line 3: temperature is not a number: '301.0000*0000'", e.Message);
    }

    [Fact]
    public void Truncated_ener_last_row_is_dropped_with_a_warning()
    {
        using var run = new SyntheticRun().WriteComplete(steps: 3);
        var text = run.Ener([0, 1, 2]);
        run.Write("-1.ener", text[..(text.Length - 20)]);
        var warnings = new List<string>();
        var t = Cp2kRun.Read(run.Directory, warnings.Add);
        Assert.Equal(2, t.Energies!.Count);
        Assert.Contains(warnings, w => w.EndsWith("P-1.ener: frame 3: last row is cut short, dropped"));
    }

    [Fact]
    public void Corrupt_gzip()
    {
        using var run = new SyntheticRun().WriteComplete(steps: 3, gzip: true);
        var path = run.Prefix + "-pos-1.xyz.gz";
        var bytes = File.ReadAllBytes(path);
        for (int i = 20; i < bytes.Length; i += 7) bytes[i] ^= 0x5a;
        File.WriteAllBytes(path, bytes);
        var e = Assert.ThrowsAny<DataException>(() => Cp2kRun.Read(run.Directory));
        Assert.Contains("P-pos-1.xyz.gz", e.Message);
    }
}
