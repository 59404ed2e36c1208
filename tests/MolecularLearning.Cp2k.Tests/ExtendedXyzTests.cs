using MolecularLearning.Core;

namespace MolecularLearning.Cp2k.Tests;

public sealed class ExtendedXyzTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "mld-extxyz-" + Guid.NewGuid().ToString("N"));

    public ExtendedXyzTests() => Directory.CreateDirectory(_dir);
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string PathOf(string name) => Path.Combine(_dir, name);

    private static Frame RandomFrame(Random rng, long step, bool forces = true, bool velocities = true, Cell? cell = null)
    {
        Species[] species = [Elements.O, Elements.H, Elements.H, Elements.O, Elements.H, Elements.H];
        double Any() => (rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-12, 4)); // tiny to large magnitudes
        var frame = new Frame(species, Enumerable.Range(0, 18).Select(_ => Any()).ToArray(),
            cell ?? new Cell([10.1 + rng.NextDouble(), 0.3, 0, -1.1, 9.7, 0, 0.2, 0.4, 11.3]))
        {
            Energy = -1234.5 * rng.NextDouble() - 1e-9,
            Step = step,
            Time = 0.5 * step + 1e-13,
        };
        if (forces) frame.Forces = Enumerable.Range(0, 18).Select(_ => Any()).ToArray();
        if (velocities) frame.Velocities = Enumerable.Range(0, 18).Select(_ => Any()).ToArray();
        return frame;
    }

    /// <summary>A mass of its own (CP2K's &amp;KIND MASS: D for H) travels in ASE's masses column; the table's masses write none.</summary>
    [Fact]
    public void Own_masses_round_trip_in_a_masses_column()
    {
        var rng = new Random(3);
        var water = RandomFrame(rng, 0);
        var d = Elements.H with { Mass = 2.01410178 };
        var heavy = new Frame([Elements.O, d, d, Elements.O, d, Elements.H], water.Positions, water.Cell) { Forces = water.Forces };
        ExtendedXyz.Write(PathOf("w.extxyz"), [water]);
        ExtendedXyz.Write(PathOf("d.extxyz"), [heavy]);
        Assert.DoesNotContain("masses", File.ReadLines(PathOf("w.extxyz")).ElementAt(1));
        Assert.Contains("Properties=species:S:1:pos:R:3:forces:R:3:masses:R:1 ", File.ReadLines(PathOf("d.extxyz")).ElementAt(1));
        var back = ExtendedXyz.Read(PathOf("d.extxyz"))[0];
        Assert.Equal(heavy.Species, back.Species);
        Assert.Same(back.Species[1], back.Species[2]);
        Assert.Same(Elements.H, back.Species[5]);
        Assert.Equal(heavy.Positions, back.Positions);
        Assert.Equal(heavy.Forces, back.Forces);
    }

    [Theory]
    [InlineData("0", "masses must be positive")]
    [InlineData("abc", "masses")]
    public void A_bad_mass_names_the_atom(string mass, string expected)
    {
        File.WriteAllText(PathOf("b.extxyz"), $"2\nProperties=species:S:1:pos:R:3:masses:R:1\nO 0 0 0 15.9994\nH 1 0 0 {mass}\n");
        var e = Assert.Throws<DataException>(() => ExtendedXyz.Read(PathOf("b.extxyz")));
        Assert.Contains("line 4", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Round_trip_is_exact()
    {
        var rng = new Random(7);
        var frames = Enumerable.Range(0, 5).Select(s => RandomFrame(rng, s, forces: s != 2, velocities: s != 3)).ToList();
        ExtendedXyz.Write(PathOf("a.extxyz"), frames);
        var back = ExtendedXyz.Read(PathOf("a.extxyz"));
        Assert.Equal(frames.Count, back.Count);
        for (int k = 0; k < frames.Count; k++)
        {
            Assert.Equal(frames[k].Species, back[k].Species);
            Assert.Equal(frames[k].Positions, back[k].Positions);
            Assert.Equal(frames[k].Forces, back[k].Forces);
            Assert.Equal(frames[k].Velocities, back[k].Velocities);
            Assert.Equal(frames[k].Energy, back[k].Energy);
            Assert.Equal(frames[k].Step, back[k].Step);
            Assert.Equal(frames[k].Time, back[k].Time);
            Assert.Equal(frames[k].Cell, back[k].Cell);
        }
    }

    [Theory]
    [InlineData("many.extxyz")]
    [InlineData("many.extxyz.gz")]
    public void Many_frames_formatted_in_parallel_stay_in_order(string name)
    {
        var rng = new Random(5);
        var frames = Enumerable.Range(0, 300).Select(s => RandomFrame(rng, s, forces: s % 7 != 0)).ToList();
        ExtendedXyz.Write(PathOf(name), frames);
        var back = ExtendedXyz.Read(PathOf(name));
        Assert.Equal(frames.Select(f => f.Step), back.Select(f => f.Step));
        for (int k = 0; k < frames.Count; k++)
        {
            Assert.Equal(frames[k].Positions, back[k].Positions);
            Assert.Equal(frames[k].Forces, back[k].Forces);
        }
    }

    [Fact]
    public void Fixed_point_and_round_trip_numbers_read_back_exactly()
    {
        // Values with few decimals take the writer's fixed-point path, the rest "R"; both must be exact.
        var rng = new Random(9);
        var values = new List<double> { 9.8528, -0.0, 0.0, 1e-10, -1e-10, 123456.0000000001, 2.280398, 1e-11, 5e7, 9.87654321e7, -7.5, 0.1 + 0.2 };
        for (int n = 0; n < 3000; n++)
        {
            double x = Math.Round((rng.NextDouble() - 0.5) * 20, rng.Next(0, 12));
            values.Add(x);
            values.Add(x * 51.422067476325886);
        }
        while (values.Count % 3 != 0) values.Add(1);
        var species = Enumerable.Repeat(Elements.H, values.Count / 3).ToArray();
        ExtendedXyz.Write(PathOf("n.extxyz"), [new Frame(species, [.. values], null)]);
        var back = ExtendedXyz.Read(PathOf("n.extxyz"))[0].Positions;
        for (int i = 0; i < values.Count; i++)
            Assert.Equal(BitConverter.DoubleToInt64Bits(values[i]), BitConverter.DoubleToInt64Bits(back[i]));
        Assert.StartsWith("H 9.8528 -0 0\n", File.ReadAllLines(PathOf("n.extxyz"))[2] + "\n");
    }

    [Fact]
    public void Gzip_output_reads_back()
    {
        var frames = new[] { RandomFrame(new Random(3), 0) };
        ExtendedXyz.Write(PathOf("a.extxyz.gz"), frames);
        Assert.True(TextInput.IsGzip(PathOf("a.extxyz.gz")));
        Assert.Equal(frames[0].Forces, ExtendedXyz.Read(PathOf("a.extxyz.gz"))[0].Forces);
    }

    [Fact]
    public void Streaming_writer_appends_frames()
    {
        var rng = new Random(11);
        using (var w = new ExtendedXyzWriter(PathOf("t.extxyz")))
        {
            w.Write(RandomFrame(rng, 0));
            w.Flush();
            Assert.Single(ExtendedXyz.Read(PathOf("t.extxyz")));
            w.Write(RandomFrame(rng, 1));
        }
        Assert.Equal([0L, 1L], ExtendedXyz.Read(PathOf("t.extxyz")).Select(f => f.Step!.Value));
    }

    [Fact]
    public void Reader_tolerates_key_order_quotes_and_extra_columns()
    {
        File.WriteAllText(PathOf("b.xyz"), """
            2
            pbc="T T T" energy=-1.5 Properties=species:S:1:pos:R:3:tags:I:1:forces:R:3 config_type=water Lattice={3 0 0 0 4 0 0 0 5} is_ok
            O 0.1 0.2 0.3 7 1 2 3
            H 1.1 1.2 1.3 8 -1 -2 -3
            """);
        var f = Assert.Single(ExtendedXyz.Read(PathOf("b.xyz")));
        Assert.Equal(Cell.Orthorhombic(3, 4, 5), f.Cell);
        Assert.Equal(-1.5, f.Energy);
        Assert.Equal([0.1, 0.2, 0.3, 1.1, 1.2, 1.3], f.Positions);
        Assert.Equal([1.0, 2, 3, -1, -2, -3], f.Forces!);
        Assert.Null(f.Velocities);
        Assert.Null(f.Step);
    }

    [Fact]
    public void Pbc_flags_decide_periodicity()
    {
        File.WriteAllText(PathOf("p.extxyz"),
            "1\nLattice=\"3 0 0 0 4 0 0 0 5\" Properties=species:S:1:pos:R:3 pbc=\"F F F\"\nO 0 0 0\n" +
            "1\nLattice=\"3 0 0 0 4 0 0 0 5\" Properties=species:S:1:pos:R:3 pbc=\"T T F\"\nO 0 0 0\n");
        var warnings = new List<string>();
        var frames = ExtendedXyz.Read(PathOf("p.extxyz"), warnings.Add);
        Assert.Null(frames[0].Cell);
        Assert.Equal(Cell.Orthorhombic(3, 4, 5), frames[1].Cell);
        Assert.Contains("frame 2: pbc=\"T T F\" is partly periodic", Assert.Single(warnings));
    }

    [Fact]
    public void Plain_xyz_without_lattice_is_not_periodic()
    {
        File.WriteAllText(PathOf("c.xyz"), "3\nwater molecule\nO 0 0 0\nH 0.96 0 0\nH -0.24 0.93 0\n3\n i = 5, time = 2.5, E = -17.1\nO 0 0 0.1\nH 0.96 0 0.1\nH -0.24 0.93 0.1\n");
        var frames = ExtendedXyz.Read(PathOf("c.xyz"));
        Assert.Equal(2, frames.Count);
        Assert.All(frames, f => Assert.Null(f.Cell));
        Assert.Equal(0.1, frames[1].Positions[8]);
        Assert.Equal("H", frames[1].Species[2].Symbol);
    }

    [Fact]
    public void Reads_a_cp2k_positions_file_as_plain_xyz()
    {
        var path = Path.Combine(SampleData.PbeSample, "water32-pos-1.xyz.gz");
        var frames = ExtendedXyz.Read(path);
        Assert.Equal(5, frames.Count);
        Assert.Equal(96, frames[0].AtomCount);
        Assert.Equal(2.2803980000, frames[0].Positions[0]);
    }

    [Fact]
    public void Bad_number_names_file_frame_and_line()
    {
        File.WriteAllText(PathOf("d.extxyz"), "1\nProperties=species:S:1:pos:R:3\nO 0 0 0\n1\nProperties=species:S:1:pos:R:3\nO 0 abc 0\n");
        var e = Assert.Throws<DataException>(() => ExtendedXyz.Read(PathOf("d.extxyz")));
        Assert.EndsWith("d.extxyz: frame 2: line 6: pos is not a number: 'abc'", e.Message);
    }

    [Fact]
    public void Truncated_last_frame_is_dropped_with_a_warning_and_one_in_the_middle_is_an_error()
    {
        File.WriteAllText(PathOf("e.xyz"), "2\n\nO 0 0 0\nH 1 0 0\n2\n\nO 0 0 0\n");
        var warnings = new List<string>();
        Assert.Single(ExtendedXyz.Read(PathOf("e.xyz"), warnings.Add));
        Assert.Contains("frame 2: last frame is cut short", Assert.Single(warnings));

        File.WriteAllText(PathOf("f.xyz"), "2\n\nO 0 0 0\n2\n\nO 0 0 0\nH 1 0 0\n");
        var e = Assert.Throws<DataException>(() => ExtendedXyz.Read(PathOf("f.xyz")));
        Assert.Contains("f.xyz: frame 1: line 4: frame cut short", e.Message);
    }

    [Fact]
    public void Failed_write_leaves_nothing_behind_and_keeps_the_old_file()
    {
        var path = PathOf("g.extxyz");
        File.WriteAllText(path, "old");
        IEnumerable<Frame> Failing()
        {
            yield return RandomFrame(new Random(1), 0);
            throw new DataException("source broke");
        }
        Assert.Throws<DataException>(() => ExtendedXyz.Write(path, Failing()));
        Assert.Equal("old", File.ReadAllText(path));
        Assert.Equal(["g.extxyz"], Directory.GetFiles(_dir).Select(Path.GetFileName));

        Assert.Throws<DataException>(() => ExtendedXyz.Write(PathOf("h.extxyz"), Failing()));
        Assert.False(File.Exists(PathOf("h.extxyz")));
        Assert.Single(Directory.GetFiles(_dir));
    }

    [Fact]
    public void Frame_source_dispatches_on_what_the_path_is()
    {
        using var run = new SyntheticRun().WriteComplete(steps: 3);
        Assert.Equal(3, FrameSource.Load(run.Directory).Count);
        Assert.Equal(3, FrameSource.Load(run.Prefix).Count);
        ExtendedXyz.Write(PathOf("i.extxyz"), FrameSource.Load(run.Prefix + "-pos-1.xyz"));
        var fromXyz = FrameSource.Load(PathOf("i.extxyz"));
        Assert.Equal(3, fromXyz.Count);
        Assert.NotNull(fromXyz[0].Forces); // it came from the whole run, not the positions file alone
    }

    [Fact]
    public void Frame_source_names_a_path_that_is_nothing()
    {
        var missing = PathOf("nothing-here");
        var e = Assert.Throws<FileNotFoundException>(() => FrameSource.Load(missing));
        Assert.Equal($"{missing}: not found (no such file, directory or CP2K project prefix)", e.Message);
    }

    [Fact]
    public void A_prefix_whose_positions_file_is_missing_is_reported_as_a_cp2k_run()
    {
        using var run = new SyntheticRun().WriteComplete(steps: 2);
        run.Delete("-pos-1.xyz");
        Assert.True(FrameSource.IsCp2kRun(run.Prefix));
        var e = Assert.Throws<FileNotFoundException>(() => FrameSource.Load(run.Prefix));
        Assert.Contains("P-pos-1.xyz: not found", e.Message);
    }
}
