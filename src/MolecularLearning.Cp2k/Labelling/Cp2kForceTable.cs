using System.Globalization;
using MolecularLearning.Core;

namespace MolecularLearning.Cp2k;

/// <summary>
/// What a CP2K single point prints: the FORCE_EVAL/PRINT/FORCES table ("ATOMIC FORCES in [a.u.]", one row
/// "atom kind element fx fy fz" per atom, Hartree/Bohr, 8 decimals) and the total energy line of the main output.
/// CP2K 2023.1 has no other format for this print key, so it gets its own reader.
/// </summary>
public static class Cp2kForceTable
{
    /// <summary>Species and forces (eV/Å, 3N) of the last table in the file.</summary>
    public static (Species[] Species, double[] Forces) Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: not found", path);
        var lines = TextInput.ReadAllText(path).Split('\n');
        int start = -1;
        for (int k = 0; k < lines.Length; k++)
            if (lines[k].Contains("ATOMIC FORCES in [a.u.]", StringComparison.Ordinal)) start = k;
        if (start < 0) throw DataException.At(path, null, "no 'ATOMIC FORCES in [a.u.]' table");
        var species = new List<Species>();
        var forces = new List<double>();
        for (int k = start + 1; k < lines.Length; k++)
        {
            var words = lines[k].Split([' ', '\t', '\r'], StringSplitOptions.RemoveEmptyEntries);
            if (words.Length == 0 || words[0] == "#") continue;
            if (words[0] == "SUM") break;
            if (words.Length < 6 || !int.TryParse(words[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out int atom))
                throw DataException.At(path, null, $"line {k + 1}: expected 'atom kind element fx fy fz', found '{lines[k].Trim()}'");
            if (atom != species.Count + 1)
                throw DataException.At(path, null, $"line {k + 1}: atom {atom} where atom {species.Count + 1} was expected");
            if (!Elements.TryGet(words[2], out var s))
                throw DataException.At(path, null, $"line {k + 1}: unknown element '{words[2]}'");
            species.Add(s);
            for (int c = 3; c < 6; c++)
            {
                if (!double.TryParse(words[c], NumberStyles.Float, CultureInfo.InvariantCulture, out var f) || !double.IsFinite(f))
                    throw DataException.At(path, null, $"line {k + 1}: atom {atom}: force component '{words[c]}' is not a finite number");
                forces.Add(f * Units.HartreePerBohrInEvPerAngstrom);
            }
        }
        if (species.Count == 0) throw DataException.At(path, null, "the forces table has no atoms");
        return ([.. species], [.. forces]);
    }

    /// <summary>The last "ENERGY| Total FORCE_EVAL ( ... ) energy [a.u.]:" of a CP2K output, in eV; null when absent.</summary>
    public static double? ReadEnergy(string outputPath)
    {
        double? energy = null;
        foreach (var line in File.ReadLines(outputPath))
        {
            if (!line.Contains("ENERGY| Total FORCE_EVAL", StringComparison.Ordinal)) continue;
            var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (double.TryParse(words[^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var e) && double.IsFinite(e))
                energy = e * Units.HartreeInEv;
        }
        return energy;
    }
}
