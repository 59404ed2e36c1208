using System.Globalization;
using MolecularLearning.Core;
using MolecularLearning.Learning.Export;

namespace MolecularLearning.Learning.Tests.Export;

public class LammpsFilesTests
{
    private static double P(string s) => double.Parse(s, CultureInfo.InvariantCulture);

    [Fact]
    public void DataFileOfATriclinicCellKeepsEveryDistance()
    {
        var frame = ExportTestModels.SmallTriclinic();
        frame.Velocities = Enumerable.Range(0, 3 * frame.AtomCount).Select(i => 0.001 * (i % 7 - 3)).ToArray();
        string path = Path.Combine(Path.GetTempPath(), $"mld-data-{Guid.NewGuid():N}.data");
        try
        {
            var data = LammpsDataFile.Write(path, frame, [Elements.O, Elements.H]);
            var lines = File.ReadAllLines(path);
            double lx = P(lines.First(l => l.EndsWith("xlo xhi")).Split(' ')[1]);
            double ly = P(lines.First(l => l.EndsWith("ylo yhi")).Split(' ')[1]);
            double lz = P(lines.First(l => l.EndsWith("zlo zhi")).Split(' ')[1]);
            var tilt = lines.First(l => l.EndsWith("xy xz yz")).Split(' ').Take(3).Select(P).ToArray();
            Assert.True(Math.Abs(tilt[0]) <= lx / 2 + 1e-12 && Math.Abs(tilt[1]) <= lx / 2 + 1e-12 && Math.Abs(tilt[2]) <= ly / 2 + 1e-12, "tilts within LAMMPS's limits");
            var box = new Cell([lx, 0, 0, tilt[0], ly, 0, tilt[1], tilt[2], lz]);
            Assert.Equal(frame.Cell!.Volume, box.Volume, 1e-9);

            int atoms = Array.IndexOf(lines, "Atoms  # atomic") + 2;
            var pos = new double[3 * frame.AtomCount];
            var type = new int[frame.AtomCount];
            for (int i = 0; i < frame.AtomCount; i++)
            {
                var f = lines[atoms + i].Split(' ');
                Assert.Equal(i + 1, int.Parse(f[0], CultureInfo.InvariantCulture));
                type[i] = int.Parse(f[1], CultureInfo.InvariantCulture);
                for (int a = 0; a < 3; a++) pos[3 * i + a] = P(f[2 + a]);
            }
            Assert.Equal(frame.Species.Select(s => s == Elements.O ? 1 : 2), type);
            // Same structure: every minimum-image distance is unchanged, and Qᵀ undoes the rotation.
            for (int i = 0; i < frame.AtomCount; i++)
                for (int j = 0; j < i; j++)
                {
                    double want = frame.Cell.MinimumImage(Vec3.At(frame.Positions, j) - Vec3.At(frame.Positions, i)).Norm();
                    double got = box.MinimumImage(Vec3.At(pos, j) - Vec3.At(pos, i)).Norm();
                    Assert.Equal(want, got, 1e-9);
                }
            int velocities = Array.IndexOf(lines, "Velocities") + 2;
            var v0 = lines[velocities].Split(' ').Skip(1).Select(P).ToArray();
            var back = data.ToOriginal(new Vec3(v0[0], v0[1], v0[2]));
            Assert.Equal(1000 * frame.Velocities[0], back.X, 1e-9); // Å/fs → Å/ps
            Assert.Equal(1000 * frame.Velocities[1], back.Y, 1e-9);
            Assert.Equal(1000 * frame.Velocities[2], back.Z, 1e-9);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void DataFileNamesAnUnknownSpecies()
    {
        var frame = new Frame([Elements.O, Elements.Get("Na")], [0, 0, 0, 1, 1, 1], Cell.Orthorhombic(5, 5, 5));
        var e = Assert.Throws<DataException>(() => LammpsDataFile.Write(Path.Combine(Path.GetTempPath(), "never.data"), frame, [Elements.O, Elements.H]));
        Assert.Contains("atom 2 is Na", e.Message);
    }

    [Fact]
    public void ExportWritesTablesLammpsCanParse()
    {
        var model = ExportTestModels.Water(2, seed: 9);
        var tab = LammpsTabulation.Create(model, [ExportTestModels.WaterBox(0.05)]);
        string dir = Path.Combine(Path.GetTempPath(), $"mld-export-{Guid.NewGuid():N}");
        try
        {
            var written = LammpsExport.Write(tab, dir);
            var snippet = File.ReadAllText(Path.Combine(dir, written.Snippet));
            Assert.Contains($"pair_style hybrid/overlay table linear {tab.TablePoints} eam/fs", snippet);
            Assert.Contains("pair_coeff 1 2 table model.table O_H 5", snippet);
            Assert.Contains($"pair_coeff * * eam/fs {tab.EamTables.Count} model.{tab.EamTables.Count}.eam.fs O H", snippet);
            Assert.Contains("mass 2 1.00794", snippet);

            // Table: the keyword, then "N n RSQ lo hi", then n numbered rows r e f.
            var table = File.ReadAllLines(Path.Combine(dir, "model.table"));
            int k = Array.IndexOf(table, "O_H");
            var header = table[k + 1].Split(' ');
            Assert.Equal(["N", tab.TablePoints.ToString(CultureInfo.InvariantCulture), "RSQ"], header[..3]);
            var last = table[k + 2 + tab.TablePoints].Split(' ');
            Assert.Equal(tab.TablePoints.ToString(CultureInfo.InvariantCulture), last[0]);
            Assert.Equal(model.Cutoff, P(last[1]), 1e-12);

            // eam/fs: 5 header lines, then per element 1 line + Nrho + 2·Nr values, then 3 pair arrays of Nr.
            var eam = File.ReadAllLines(Path.Combine(dir, "model.1.eam.fs"));
            Assert.Equal("2 O H", eam[3]);
            var grid = eam[4].Split(' ');
            int nrho = int.Parse(grid[0], CultureInfo.InvariantCulture), nr = int.Parse(grid[2], CultureInfo.InvariantCulture);
            int values = eam.Skip(5).Where(l => !l.EndsWith(" none")).Sum(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length);
            Assert.Equal(2 * (nrho + 2 * nr) + 3 * nr, values);
            Assert.Equal("in.model", written.Example);
            var example = File.ReadAllText(Path.Combine(dir, "in.model"));
            Assert.Contains("read_data       model.data", example);
            Assert.Contains("include         model.lammps", example);
            Assert.Contains("lmp -in in.model", example);
            Assert.DoesNotContain("water", example);
            Assert.Contains("\"total\"", File.ReadAllText(Path.Combine(dir, "export.json")));
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
    }
}
