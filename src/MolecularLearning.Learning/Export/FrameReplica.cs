using MolecularLearning.Core;

namespace MolecularLearning.Learning.Export;

/// <summary>Periodic replicas of a frame: the big boxes of the LAMMPS export's tests and benchmark.</summary>
public static class FrameReplica
{
    /// <summary>The frame repeated na × nb × nc times (each copy's atoms together, in the frame's order; velocities copied).</summary>
    public static Frame Replicate(Frame frame, int na, int nb, int nc)
    {
        var cell = frame.Cell ?? throw new DataException("only a periodic frame can be replicated");
        if (na < 1 || nb < 1 || nc < 1) throw new DataException($"replica counts must be positive, got {na}x{nb}x{nc}");
        int n = frame.AtomCount, copies = na * nb * nc;
        var species = new Species[n * copies];
        var pos = new double[3 * n * copies];
        var vel = frame.Velocities is null ? null : new double[3 * n * copies];
        var a = cell.Row(0); var b = cell.Row(1); var c = cell.Row(2);
        int copy = 0;
        for (int i = 0; i < na; i++)
            for (int j = 0; j < nb; j++)
                for (int k = 0; k < nc; k++, copy++)
                {
                    var shift = i * a + j * b + k * c;
                    for (int x = 0; x < n; x++)
                    {
                        int y = copy * n + x;
                        species[y] = frame.Species[x];
                        (Vec3.At(frame.Positions, x) + shift).To(pos, y);
                        if (vel is not null) Array.Copy(frame.Velocities!, 3 * x, vel, 3 * y, 3);
                    }
                }
        var big = new Cell([na * a.X, na * a.Y, na * a.Z, nb * b.X, nb * b.Y, nb * b.Z, nc * c.X, nc * c.Y, nc * c.Z]);
        return new Frame(species, pos, big) { Velocities = vel, Time = frame.Time, Step = frame.Step };
    }

    /// <summary>Parses "AxBxC" (or one number for all three).</summary>
    public static (int A, int B, int C) ParseCounts(string text)
    {
        var parts = text.Split('x', 'X');
        int P(string s) => int.TryParse(s, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int v) && v >= 1
            ? v : throw new DataException($"--replicate: expected AxBxC with positive integers, got '{text}'");
        return parts.Length switch
        {
            1 => (P(parts[0]), P(parts[0]), P(parts[0])),
            3 => (P(parts[0]), P(parts[1]), P(parts[2])),
            _ => throw new DataException($"--replicate: expected AxBxC, got '{text}'"),
        };
    }
}
