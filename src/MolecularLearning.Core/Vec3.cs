namespace MolecularLearning.Core;

/// <summary>A 3-vector of doubles (Å, Å/fs, eV/Å... by context).</summary>
public readonly record struct Vec3(double X, double Y, double Z)
{
    public static Vec3 operator +(Vec3 a, Vec3 b) => new(a.X + b.X, a.Y + b.Y, a.Z + b.Z);
    public static Vec3 operator -(Vec3 a, Vec3 b) => new(a.X - b.X, a.Y - b.Y, a.Z - b.Z);
    public static Vec3 operator -(Vec3 a) => new(-a.X, -a.Y, -a.Z);
    public static Vec3 operator *(double s, Vec3 a) => new(s * a.X, s * a.Y, s * a.Z);
    public static Vec3 operator *(Vec3 a, double s) => new(s * a.X, s * a.Y, s * a.Z);
    public double Dot(Vec3 b) => X * b.X + Y * b.Y + Z * b.Z;
    public Vec3 Cross(Vec3 b) => new(Y * b.Z - Z * b.Y, Z * b.X - X * b.Z, X * b.Y - Y * b.X);
    public double Norm2() => X * X + Y * Y + Z * Z;
    public double Norm() => Math.Sqrt(Norm2());

    /// <summary>Atom i of an interleaved 3N array.</summary>
    public static Vec3 At(ReadOnlySpan<double> xyz, int i) => new(xyz[3 * i], xyz[3 * i + 1], xyz[3 * i + 2]);
    public void To(Span<double> xyz, int i) { xyz[3 * i] = X; xyz[3 * i + 1] = Y; xyz[3 * i + 2] = Z; }
}
