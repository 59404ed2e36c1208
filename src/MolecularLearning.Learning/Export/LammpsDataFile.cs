using System.Globalization;
using System.Text;
using MolecularLearning.Core;

namespace MolecularLearning.Learning.Export;

/// <summary>
/// Frame → LAMMPS data file (atom_style atomic, units metal). LAMMPS wants a restricted triclinic box
/// (a along x, b in the xy plane, tilts within half a box length), so a general cell is rotated and its tilts
/// reduced (an equivalent lattice); <see cref="Rotation"/> maps original Cartesian vectors into LAMMPS's frame.
/// </summary>
public sealed class LammpsDataFile
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private LammpsDataFile(double[] rotation, Cell box) { Rotation = rotation; Box = box; }

    /// <summary>Row-major Q with x_lammps = Q x_original (orthogonal; Qᵀ maps LAMMPS forces back).</summary>
    public double[] Rotation { get; }
    /// <summary>The LAMMPS box as a cell (rows a', b', c').</summary>
    public Cell Box { get; }

    /// <summary>Writes <paramref name="frame"/> with atom types numbered in <paramref name="types"/> order (ids 1..N in frame order).</summary>
    public static LammpsDataFile Write(string path, Frame frame, IReadOnlyList<Species> types, string? title = null)
    {
        var cell = frame.Cell ?? throw new DataException($"{path}: LAMMPS needs a periodic cell and the frame has none");
        var a = cell.Row(0); var b = cell.Row(1); var c = cell.Row(2);
        var ex = (1 / a.Norm()) * a;
        var n = a.Cross(b); n = (1 / n.Norm()) * n;
        var ey = n.Cross(ex);
        if (c.Dot(n) <= 0) throw new DataException($"{path}: the cell is left-handed (a×b·c < 0); LAMMPS boxes are right-handed");
        double[] q = [ex.X, ex.Y, ex.Z, ey.X, ey.Y, ey.Z, n.X, n.Y, n.Z];
        var h = cell.Matrix;
        if (h[1] == 0 && h[2] == 0 && h[5] == 0 && h[0] > 0 && h[4] > 0 && h[8] > 0)
            q = [1, 0, 0, 0, 1, 0, 0, 0, 1]; // already LAMMPS-shaped: keep coordinates bit for bit
        Vec3 Rot(Vec3 v) => new(q[0] * v.X + q[1] * v.Y + q[2] * v.Z, q[3] * v.X + q[4] * v.Y + q[5] * v.Z, q[6] * v.X + q[7] * v.Y + q[8] * v.Z);
        var ra = Rot(a); var rb = Rot(b); var rc = Rot(c);
        ra = new(ra.X, 0, 0); rb = new(rb.X, rb.Y, 0);
        // Tilt reduction: same lattice, tilts |xy|, |xz| ≤ lx/2 and |yz| ≤ ly/2 as LAMMPS requires.
        rc = rc - Math.Round(rc.Y / rb.Y) * rb;
        rc = rc - Math.Round(rc.X / ra.X) * ra;
        rb = rb - Math.Round(rb.X / ra.X) * ra;
        var box = new Cell([ra.X, 0, 0, rb.X, rb.Y, 0, rc.X, rc.Y, rc.Z]);

        int[] type = new int[frame.AtomCount];
        for (int i = 0; i < type.Length; i++)
        {
            int k = -1;
            for (int t = 0; t < types.Count; t++) if (types[t].Symbol == frame.Species[i].Symbol) { k = t; break; }
            if (k < 0) throw new DataException($"{path}: atom {i + 1} is {frame.Species[i].Symbol}, not one of the model's species ({string.Join(", ", types)})");
            type[i] = k + 1;
        }

        var sb = new StringBuilder();
        sb.AppendLine(title ?? $"mld: {frame.AtomCount} atoms" + (frame.Time is { } time ? $", t = {F(time)} fs" : ""));
        sb.AppendLine();
        sb.AppendLine($"{frame.AtomCount} atoms");
        sb.AppendLine($"{types.Count} atom types");
        sb.AppendLine();
        sb.AppendLine($"0 {F(ra.X)} xlo xhi");
        sb.AppendLine($"0 {F(rb.Y)} ylo yhi");
        sb.AppendLine($"0 {F(rc.Z)} zlo zhi");
        if (!box.IsOrthorhombic) sb.AppendLine($"{F(rb.X)} {F(rc.X)} {F(rc.Y)} xy xz yz");
        sb.AppendLine();
        sb.AppendLine("Masses");
        sb.AppendLine();
        for (int t = 0; t < types.Count; t++) sb.AppendLine($"{t + 1} {F(types[t].Mass)}  # {types[t].Symbol}");
        sb.AppendLine();
        sb.AppendLine("Atoms  # atomic");
        sb.AppendLine();
        for (int i = 0; i < frame.AtomCount; i++)
        {
            var p = box.Wrap(Rot(Vec3.At(frame.Positions, i)));
            sb.AppendLine($"{i + 1} {type[i]} {F(p.X)} {F(p.Y)} {F(p.Z)}");
        }
        if (frame.Velocities is { } vel)
        {
            sb.AppendLine();
            sb.AppendLine("Velocities");
            sb.AppendLine();
            // Å/fs inside, Å/ps in LAMMPS metal units.
            for (int i = 0; i < frame.AtomCount; i++)
            {
                var v = Units.FemtosecondsPerPicosecond * Rot(Vec3.At(vel, i));
                sb.AppendLine($"{i + 1} {F(v.X)} {F(v.Y)} {F(v.Z)}");
            }
        }
        LammpsExport.WriteText(path, sb.ToString());
        return new LammpsDataFile(q, box);
    }

    /// <summary>A vector from LAMMPS's frame back to the original one (Qᵀ v).</summary>
    public Vec3 ToOriginal(Vec3 v)
    {
        var q = Rotation;
        return new(q[0] * v.X + q[3] * v.Y + q[6] * v.Z, q[1] * v.X + q[4] * v.Y + q[7] * v.Z, q[2] * v.X + q[5] * v.Y + q[8] * v.Z);
    }

    private static string F(double x) => x.ToString("R", Inv);
}
