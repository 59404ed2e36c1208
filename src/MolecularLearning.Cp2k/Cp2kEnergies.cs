using MolecularLearning.Core;

namespace MolecularLearning.Cp2k;

/// <summary>
/// CP2K's P-1.ener, one row per MD step, converted to internal units: time (fs), kinetic, potential
/// and conserved energies (eV), temperature (K, CP2K's own, from 3N − 3 degrees of freedom for
/// periodic MD) and CP2K's seconds used for the step.
/// </summary>
public sealed class Cp2kEnergies
{
    private readonly Dictionary<long, int> _rowOfStep = [];

    public long[] Steps { get; }
    public double[] Time { get; }
    public double[] Kinetic { get; }
    public double[] Temperature { get; }
    public double[] Potential { get; }
    public double[] Conserved { get; }
    public double[] SecondsUsed { get; }
    public int Count => Steps.Length;

    private Cp2kEnergies(List<double[]> rows, List<long> steps)
    {
        int n = rows.Count;
        Steps = [.. steps];
        Time = new double[n]; Kinetic = new double[n]; Temperature = new double[n];
        Potential = new double[n]; Conserved = new double[n]; SecondsUsed = new double[n];
        for (int k = 0; k < n; k++)
        {
            var r = rows[k];
            Time[k] = r[0];
            Kinetic[k] = r[1] * Units.HartreeInEv;
            Temperature[k] = r[2];
            Potential[k] = r[3] * Units.HartreeInEv;
            Conserved[k] = r[4] * Units.HartreeInEv;
            SecondsUsed[k] = r[5];
            _rowOfStep[Steps[k]] = k; // a restarted run repeats steps: the later row wins
        }
    }

    /// <summary>The row of an MD step, or -1 when the file has none.</summary>
    public int RowOf(long step) => _rowOfStep.TryGetValue(step, out var k) ? k : -1;

    /// <summary>Median of CP2K's seconds per step over the steps that did work (step 0 reports 0 s).</summary>
    public double? MedianSecondsPerStep()
    {
        var used = SecondsUsed.Where(s => s > 0).Order().ToArray();
        if (used.Length == 0) return null;
        int m = used.Length / 2;
        return used.Length % 2 == 1 ? used[m] : 0.5 * (used[m - 1] + used[m]);
    }

    /// <summary>The MD time step (fs) from the first two rows, or null with fewer than two steps.</summary>
    public double? TimestepFs()
    {
        for (int k = 1; k < Count; k++)
            if (Steps[k] != Steps[k - 1]) return (Time[k] - Time[k - 1]) / (Steps[k] - Steps[k - 1]);
        return null;
    }

    /// <summary>Reads P-1.ener: comment lines start with '#'; a last row cut short (a killed run) is dropped with a warning.</summary>
    public static Cp2kEnergies Read(string path, Action<string>? warn = null)
    {
        var rows = new List<double[]>();
        var steps = new List<long>();
        using var reader = new LineReader(path);
        int row = 0;
        Span<double> v = stackalloc double[7];
        while (reader.TryReadLine(out var line))
        {
            var trimmed = line.Trim(" \t"u8);
            if (trimmed.IsEmpty || trimmed[0] == '#') continue;
            row++;
            if (reader.LastLineUnterminated)
            {
                // The writer was killed inside this row: even a complete-looking number may be cut.
                warn?.Invoke($"{path}: frame {row}: last row is cut short, dropped");
                break;
            }
            var rest = trimmed;
            int fields = 0;
            while (fields < 7 && Fields.Next(ref rest, out var f))
            {
                v[fields] = Fields.Number(f, path, row, reader.LineNumber, ColumnNames[fields]);
                fields++;
            }
            if (fields < 7)
            {
                if (reader.AtEndIgnoringBlankLines())
                {
                    warn?.Invoke($"{path}: frame {row}: last row is cut short, dropped");
                    break;
                }
                throw DataException.At(path, row, $"line {reader.LineNumber}: expected 7 columns (step, time, kinetic, temperature, potential, conserved, seconds), found {fields}");
            }
            if (v[0] != Math.Floor(v[0]))
                throw DataException.At(path, row, $"line {reader.LineNumber}: step is not an integer: {v[0]}");
            steps.Add((long)v[0]);
            rows.Add([v[1], v[2], v[3], v[4], v[5], v[6]]);
        }
        if (rows.Count == 0) throw DataException.At(path, null, "empty file: no energy rows");
        return new Cp2kEnergies(rows, steps);
    }

    private static readonly string[] ColumnNames = ["step", "time", "kinetic energy", "temperature", "potential energy", "conserved quantity", "seconds used"];
}
