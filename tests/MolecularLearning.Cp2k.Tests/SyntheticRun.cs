using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace MolecularLearning.Cp2k.Tests;

/// <summary>
/// Writes small CP2K-style runs (a water molecule or two) into a temporary directory, with knobs to
/// break them the ways real runs break. Values are simple functions of (step, atom, axis) so tests
/// can compute what the reader must return.
/// </summary>
public sealed class SyntheticRun : IDisposable
{
    public SyntheticRun(string project = "P")
    {
        Project = project;
        Directory = Path.Combine(Path.GetTempPath(), "mld-cp2k-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
    }

    public string Project { get; }
    public string Directory { get; }
    public string Prefix => Path.Combine(Directory, Project);
    public string[] Symbols { get; set; } = ["O", "H", "H", "O", "H", "H"];

    public static double Position(long step, int atom, int axis) => 1.0 + atom + 0.1 * axis + 0.001 * step;
    public static double ForceAu(long step, int atom, int axis) => 0.01 * (atom + 1) * (axis - 1) + 1e-4 * step;
    public static double VelocityAu(long step, int atom, int axis) => 1e-4 * (atom - 2.5) * (axis + 1) - 1e-6 * step;
    public static double EnergyHartree(long step) => -34.5 - 0.001 * step;

    public enum Kind { Positions, Forces, Velocities }

    /// <summary>The text of a CP2K xyz trajectory for the given steps.</summary>
    public string Xyz(Kind kind, IEnumerable<long> steps, string[]? symbols = null, bool withEnergy = true)
    {
        symbols ??= Symbols;
        var sb = new StringBuilder();
        foreach (var step in steps)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{symbols.Length,8}\n");
            sb.Append(CultureInfo.InvariantCulture, $" i = {step,8}, time = {0.5 * step,12:F3}");
            if (withEnergy) sb.Append(CultureInfo.InvariantCulture, $", E = {EnergyHartree(step),20:F10}");
            sb.Append('\n');
            for (int a = 0; a < symbols.Length; a++)
            {
                sb.Append(CultureInfo.InvariantCulture, $"  {symbols[a],-2}");
                for (int k = 0; k < 3; k++)
                {
                    double v = kind switch
                    {
                        Kind.Positions => Position(step, a, k),
                        Kind.Forces => ForceAu(step, a, k),
                        _ => VelocityAu(step, a, k),
                    };
                    sb.Append(CultureInfo.InvariantCulture, $" {v,19:F10}");
                }
                sb.Append('\n');
            }
        }
        return sb.ToString();
    }

    public string Ener(IEnumerable<long> steps)
    {
        var sb = new StringBuilder("#     Step Nr.          Time[fs]        Kin.[a.u.]          Temp[K]            Pot.[a.u.]        Cons Qty[a.u.]        UsedTime[s]\n");
        foreach (var s in steps)
            sb.Append(CultureInfo.InvariantCulture,
                $"{s,10} {0.5 * s,19:F6} {KineticHartree(s),17:F12} {300 + s,17:F9} {EnergyHartree(s),21:F9} {EnergyHartree(s) + 0.01,21:F9} {(s == 0 ? 0 : 1 + 0.1 * s),18:F9}\n");
        return sb.ToString();
    }

    /// <summary>The table's mass of a label's element (amu): the label, else its first letter; hydrogen's for a kind name neither reads (tests of &amp;KIND ELEMENT).</summary>
    private static double LabelMass(string label) =>
        Core.Elements.TryGet(label, out var s) || Core.Elements.TryGet(label[..1], out s) ? s.Mass : Core.Elements.H.Mass;

    /// <summary>½ Σ m v² of the velocities at <paramref name="step"/> with the masses the label rule gives (Hartree), as CP2K's .ener has it.</summary>
    public double KineticHartree(long step)
    {
        double ke = 0;
        for (int a = 0; a < Symbols.Length; a++)
            for (int k = 0; k < 3; k++)
                ke += 0.5 * LabelMass(Symbols[a]) / Core.Units.ElectronMassInAmu * VelocityAu(step, a, k) * VelocityAu(step, a, k);
        return ke;
    }

    public const string RestartCell = """
         &FORCE_EVAL
           &SUBSYS
             &CELL
               A     1.2000000000000000E+01    0.0000000000000000E+00    0.0000000000000000E+00
               B     0.0000000000000000E+00    1.2000000000000000E+01    0.0000000000000000E+00
               C     0.0000000000000000E+00    0.0000000000000000E+00    1.2000000000000000E+01
               MULTIPLE_UNIT_CELL  1 1 1
             &END CELL
           &END SUBSYS
         &END FORCE_EVAL
        """;

    /// <summary>A complete run: positions, forces, velocities (every step), .ener and a restart with a 12 Å cubic cell.</summary>
    public SyntheticRun WriteComplete(int steps = 5, bool gzip = false)
    {
        var all = Enumerable.Range(0, steps).Select(s => (long)s).ToArray();
        Write("-pos-1.xyz", Xyz(Kind.Positions, all), gzip);
        Write("-frc-1.xyz", Xyz(Kind.Forces, all), gzip);
        Write("-vel-1.xyz", Xyz(Kind.Velocities, all), gzip);
        Write("-1.ener", Ener(all));
        Write("-1.restart", RestartCell);
        return this;
    }

    public string Write(string suffix, string text, bool gzip = false)
    {
        var path = Prefix + suffix + (gzip ? ".gz" : "");
        var bytes = Encoding.ASCII.GetBytes(text);
        if (gzip)
        {
            using var fs = File.Create(path);
            using var gz = new GZipStream(fs, CompressionLevel.Fastest);
            gz.Write(bytes);
        }
        else File.WriteAllBytes(path, bytes);
        return path;
    }

    public void WriteFile(string name, string text) => File.WriteAllText(Path.Combine(Directory, name), text);

    public void Delete(string suffix)
    {
        File.Delete(Prefix + suffix);
        File.Delete(Prefix + suffix + ".gz");
    }

    public void Dispose()
    {
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }
}
