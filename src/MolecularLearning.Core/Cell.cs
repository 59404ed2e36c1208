namespace MolecularLearning.Core;

/// <summary>
/// A periodic simulation cell. Lattice vectors are the rows a, b, c (ASE convention), in Å.
/// Orthorhombic and triclinic cells are both supported; the cell is immutable.
/// </summary>
public sealed class Cell : IEquatable<Cell>
{
    private readonly double[] _h = new double[9];   // row-major: h[3*i + k] = component k of vector i
    private readonly double[] _inv = new double[9]; // row-major inverse: f_i = sum_k r_k inv[3*k + i]

    public Cell(ReadOnlySpan<double> rowMajorVectors)
    {
        if (rowMajorVectors.Length != 9) throw new ArgumentException("a cell needs 9 numbers (a, b, c as rows)");
        foreach (var v in rowMajorVectors)
            if (!double.IsFinite(v)) throw new DataException("cell has a non-finite component");
        rowMajorVectors.CopyTo(_h);
        for (int i = 0; i < 9; i++)
            if (!(Math.Abs(_h[i]) <= NeighbourLimits.MaxCoordinate))
                throw new DataException($"cell vector {"abc"[i / 3]} has a component of {_h[i]:G4} Å; the limit is ±{NeighbourLimits.MaxCoordinate:G3} Å");
        Volume = Det(_h);
        if (!(Math.Abs(Volume) > 1e-12)) throw new DataException("cell vectors are degenerate (zero volume)");
        Invert(_h, _inv, Volume);
        IsOrthorhombic = _h[1] == 0 && _h[2] == 0 && _h[3] == 0 && _h[5] == 0 && _h[6] == 0 && _h[7] == 0;
        Volume = Math.Abs(Volume);
        var a = Row(0); var b = Row(1); var c = Row(2);
        Heights = (Volume / Cross(b, c).Norm(), Volume / Cross(c, a).Norm(), Volume / Cross(a, b).Norm());
    }

    public static Cell Orthorhombic(double a, double b, double c) => new([a, 0, 0, 0, b, 0, 0, 0, c]);

    /// <summary>Cell from lengths (Å) and angles (degrees), a along x and b in the xy plane (CP2K's ABC/ALPHA_BETA_GAMMA).</summary>
    public static Cell FromLengthsAndAngles(double a, double b, double c, double alpha, double beta, double gamma)
    {
        double ca = Math.Cos(alpha * Math.PI / 180), cb = Math.Cos(beta * Math.PI / 180);
        double cg = Math.Cos(gamma * Math.PI / 180), sg = Math.Sin(gamma * Math.PI / 180);
        // Snap the common right angles so orthorhombic cells stay exactly orthorhombic.
        if (Math.Abs(alpha - 90) < 1e-12) ca = 0;
        if (Math.Abs(beta - 90) < 1e-12) cb = 0;
        if (Math.Abs(gamma - 90) < 1e-12) { cg = 0; sg = 1; }
        double cx = c * cb, cy = c * (ca - cb * cg) / sg;
        double cz2 = c * c - cx * cx - cy * cy;
        if (cz2 <= 0) throw new DataException($"cell angles {alpha}/{beta}/{gamma} do not form a cell");
        return new([a, 0, 0, b * cg, b * sg, 0, cx, cy, Math.Sqrt(cz2)]);
    }

    /// <summary>Lattice vectors as a row-major 3×3 matrix (rows a, b, c).</summary>
    public ReadOnlySpan<double> Matrix => _h;
    /// <summary>Inverse of <see cref="Matrix"/>, row-major: fractional f_i = Σ_k r_k Inverse[3k+i].</summary>
    public ReadOnlySpan<double> Inverse => _inv;
    public double Volume { get; }
    public bool IsOrthorhombic { get; }
    /// <summary>Perpendicular distances between opposite faces (Å): how far a cutoff reaches in each lattice direction.</summary>
    public (double A, double B, double C) Heights { get; }
    public double MinHeight => Math.Min(Heights.A, Math.Min(Heights.B, Heights.C));

    public Vec3 Row(int i) => new(_h[3 * i], _h[3 * i + 1], _h[3 * i + 2]);
    public (double A, double B, double C) Lengths => (Row(0).Norm(), Row(1).Norm(), Row(2).Norm());

    /// <summary>Angles alpha (b,c), beta (a,c), gamma (a,b) in degrees.</summary>
    public (double Alpha, double Beta, double Gamma) Angles
    {
        get
        {
            var a = Row(0); var b = Row(1); var c = Row(2);
            static double Ang(Vec3 u, Vec3 v) => Math.Acos(Math.Clamp(u.Dot(v) / (u.Norm() * v.Norm()), -1, 1)) * 180 / Math.PI;
            return (Ang(b, c), Ang(a, c), Ang(a, b));
        }
    }

    public Vec3 ToFractional(Vec3 r) => new(
        r.X * _inv[0] + r.Y * _inv[3] + r.Z * _inv[6],
        r.X * _inv[1] + r.Y * _inv[4] + r.Z * _inv[7],
        r.X * _inv[2] + r.Y * _inv[5] + r.Z * _inv[8]);

    public Vec3 ToCartesian(Vec3 f) => new(
        f.X * _h[0] + f.Y * _h[3] + f.Z * _h[6],
        f.X * _h[1] + f.Y * _h[4] + f.Z * _h[7],
        f.X * _h[2] + f.Y * _h[5] + f.Z * _h[8]);

    /// <summary>Maps a position into the cell (fractional coordinates in [0, 1)).</summary>
    public Vec3 Wrap(Vec3 r)
    {
        var f = ToFractional(r);
        return ToCartesian(new(f.X - Math.Floor(f.X), f.Y - Math.Floor(f.Y), f.Z - Math.Floor(f.Z)));
    }

    /// <summary>Wraps every position of a 3N array into the cell, in place.</summary>
    public void Wrap(Span<double> positions)
    {
        for (int i = 0; i + 2 < positions.Length; i += 3)
        {
            var w = Wrap(new Vec3(positions[i], positions[i + 1], positions[i + 2]));
            positions[i] = w.X; positions[i + 1] = w.Y; positions[i + 2] = w.Z;
        }
    }

    /// <summary>
    /// The shortest periodic image of a displacement. Exact for any cell: after reducing fractional
    /// components to [-½, ½) it also tries the 26 neighbouring images, which matter in skewed cells.
    /// </summary>
    public Vec3 MinimumImage(Vec3 d)
    {
        var f = ToFractional(d);
        f = new(f.X - Math.Round(f.X), f.Y - Math.Round(f.Y), f.Z - Math.Round(f.Z));
        var best = ToCartesian(f);
        if (IsOrthorhombic) return best;
        double bestR2 = best.Norm2();
        for (int i = -1; i <= 1; i++)
            for (int j = -1; j <= 1; j++)
                for (int k = -1; k <= 1; k++)
                {
                    if (i == 0 && j == 0 && k == 0) continue;
                    var c = ToCartesian(new(f.X + i, f.Y + j, f.Z + k));
                    var r2 = c.Norm2();
                    if (r2 < bestR2) { bestR2 = r2; best = c; }
                }
        return best;
    }

    /// <summary>The cell deformed by x → (1 + ε) x, with ε a row-major 3×3 strain.</summary>
    public Cell Strained(ReadOnlySpan<double> strain)
    {
        var m = new double[9];
        for (int i = 0; i < 3; i++)
            for (int k = 0; k < 3; k++)
            {
                double s = 0;
                for (int l = 0; l < 3; l++) s += _h[3 * i + l] * ((k == l ? 1 : 0) + strain[3 * k + l]);
                m[3 * i + k] = s;
            }
        return new Cell(m);
    }

    public bool Equals(Cell? other) => other is not null && _h.AsSpan().SequenceEqual(other._h);
    public override bool Equals(object? obj) => Equals(obj as Cell);
    public override int GetHashCode() => HashCode.Combine(_h[0], _h[4], _h[8]);
    public override string ToString() => string.Join(' ', _h.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture)));

    private static double Det(double[] m) =>
        m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6]);

    private static void Invert(double[] m, double[] inv, double det)
    {
        inv[0] = (m[4] * m[8] - m[5] * m[7]) / det;
        inv[1] = (m[2] * m[7] - m[1] * m[8]) / det;
        inv[2] = (m[1] * m[5] - m[2] * m[4]) / det;
        inv[3] = (m[5] * m[6] - m[3] * m[8]) / det;
        inv[4] = (m[0] * m[8] - m[2] * m[6]) / det;
        inv[5] = (m[2] * m[3] - m[0] * m[5]) / det;
        inv[6] = (m[3] * m[7] - m[4] * m[6]) / det;
        inv[7] = (m[1] * m[6] - m[0] * m[7]) / det;
        inv[8] = (m[0] * m[4] - m[1] * m[3]) / det;
    }

    private static Vec3 Cross(Vec3 u, Vec3 v) => new(u.Y * v.Z - u.Z * v.Y, u.Z * v.X - u.X * v.Z, u.X * v.Y - u.Y * v.X);
}
