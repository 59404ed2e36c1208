using System.Globalization;
using System.Text;
using MolecularLearning.Core;

namespace MolecularLearning.Cp2k;

/// <summary>Reading of <see cref="ExtendedXyz"/> files: frames, header keys, column layout and the errors on bad input.</summary>
public static partial class ExtendedXyz
{
    /// <summary>
    /// Reads every frame of an extended or plain XYZ file (gzip accepted). Without a Lattice the frame
    /// has no cell; without Properties the columns are species and positions. A last frame cut short
    /// is dropped through <paramref name="warn"/>; a frame cut short elsewhere is an error.
    /// </summary>
    // Hot loop of ingest: compiled fully optimised at once rather than after tiering (a one-shot CLI never warms up).
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static List<Frame> Read(string path, Action<string>? warn = null)
    {
        var frames = new List<Frame>();
        using var reader = new LineReader(path);
        int frameNo = 0;
        Species[]? previousSpecies = null;
        Dictionary<(string, double), Species>? massive = null; // species with a masses column's own mass
        int[] starts = new int[16], lengths = new int[16];
        while (reader.TryReadLine(out var countLine))
        {
            frameNo++;
            if (countLine.Trim(" \t"u8).IsEmpty && reader.AtEndIgnoringBlankLines()) break;
            if (!int.TryParse(countLine.Trim(" \t"u8), out int atoms) || atoms < 0)
            {
                if (reader.LastLineUnterminated) { Dropped(warn, path, frameNo, "the atom count line is cut"); break; }
                throw DataException.At(path, frameNo, $"line {reader.LineNumber}: expected the atom count, found '{Fields.Text(countLine)}'");
            }
            if (previousSpecies is null || atoms != previousSpecies.Length) Fields.CheckAtomCount(atoms, path, frameNo, reader.LineNumber);
            if (!reader.TryReadLine(out var headerBytes) || reader.LastLineUnterminated)
            {
                Dropped(warn, path, frameNo, "the file ends in the comment line");
                break;
            }
            long headerLine = reader.LineNumber;
            var header = Header.Parse(Encoding.UTF8.GetString(headerBytes));
            // A plain xyz comment (CP2K's "i = 5, time = 2.5, E = ..." in Hartree, or free text) carries no data for us.
            bool extended = header.ContainsKey("Properties") || header.ContainsKey("Lattice");
            if (!extended) header.Clear();
            var layout = Layout.From(header, path, frameNo, headerLine);
            var cell = ParseCell(header, path, frameNo, headerLine, warn);

            var species = new Species[atoms];
            massive ??= layout.Masses >= 0 ? new() : null;
            var positions = new double[3 * atoms];
            var forces = layout.Forces >= 0 ? new double[3 * atoms] : null;
            var velocities = layout.Velocities >= 0 ? new double[3 * atoms] : null;
            int atom = 0;
            bool truncated = false;
            for (; atom < atoms; atom++)
            {
                if (!reader.TryReadLine(out var line)) { truncated = true; break; }
                // Split first, so a short line is reported as such rather than as a bad field.
                if (starts.Length < layout.Columns) { starts = new int[layout.Columns]; lengths = new int[layout.Columns]; }
                int column = 0, at = 0;
                while (column < layout.Columns)
                {
                    while (at < line.Length && (line[at] == ' ' || line[at] == '\t')) at++;
                    if (at == line.Length) break;
                    int end = at;
                    while (end < line.Length && line[end] != ' ' && line[end] != '\t') end++;
                    starts[column] = at; lengths[column] = end - at;
                    column++;
                    at = end;
                }
                if (column < layout.Columns)
                {
                    if (reader.AtEndIgnoringBlankLines()) { truncated = true; break; }
                    throw DataException.At(path, frameNo,
                        $"line {reader.LineNumber}: frame cut short: atom {atom + 1} of {atoms} has {column} fields ('{Fields.Text(line)}'), Properties need {layout.Columns}");
                }
                long ln = reader.LineNumber;
                species[atom] = Cp2kXyzFile.SpeciesOf(line.Slice(starts[layout.Species], lengths[layout.Species]), path, frameNo, ln);
                if (layout.Masses >= 0)
                {
                    double mass = Fields.AtomValue(line.Slice(starts[layout.Masses], lengths[layout.Masses]), path, frameNo, ln, "masses");
                    if (!(mass > 0)) throw DataException.At(path, frameNo, $"line {ln}: atom {atom + 1}: masses must be positive, found {mass}");
                    species[atom] = WithMass(species[atom], mass, massive!);
                }
                for (int k = 0; k < 3; k++)
                {
                    int c = layout.Positions + k;
                    positions[3 * atom + k] = Fields.AtomValue(line.Slice(starts[c], lengths[c]), path, frameNo, ln, "pos");
                    if (forces is not null)
                    {
                        c = layout.Forces + k;
                        forces[3 * atom + k] = Fields.AtomValue(line.Slice(starts[c], lengths[c]), path, frameNo, ln, "forces");
                    }
                    if (velocities is not null)
                    {
                        c = layout.Velocities + k;
                        velocities[3 * atom + k] = Fields.AtomValue(line.Slice(starts[c], lengths[c]), path, frameNo, ln, "velocities");
                    }
                }
            }
            if (truncated) { Dropped(warn, path, frameNo, $"{atom} of {atoms} atoms present"); break; }
            if (previousSpecies is not null && previousSpecies.AsSpan().SequenceEqual(species)) species = previousSpecies;
            previousSpecies = species;
            frames.Add(new Frame(species, positions, cell)
            {
                Forces = forces,
                Velocities = velocities,
                Energy = Number(header, "energy", path, frameNo, headerLine),
                Step = Number(header, "step", path, frameNo, headerLine) is { } s ? (long)s : null,
                Time = Number(header, "time", path, frameNo, headerLine),
            });
        }
        if (frames.Count == 0 && frameNo == 0) throw DataException.At(path, null, "empty file: no frame");
        return frames;
    }

    /// <summary>The element with a mass of its own (a masses column: D for H, CP2K's &amp;KIND MASS), one instance per (symbol, mass).</summary>
    private static Species WithMass(Species element, double mass, Dictionary<(string, double), Species> seen)
    {
        if (mass == element.Mass) return element;
        if (!seen.TryGetValue((element.Symbol, mass), out var s)) seen[(element.Symbol, mass)] = s = element.WithMass(mass);
        return s;
    }

    private static void Dropped(Action<string>? warn, string path, int frame, string what)
        => warn?.Invoke($"{path}: frame {frame}: last frame is cut short ({what}), dropped");

    private static double? Number(Dictionary<string, string> header, string key, string path, int frame, long line)
    {
        if (!header.TryGetValue(key, out var text)) return null;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
            throw DataException.At(path, frame, $"line {line}: {key} is not a number: '{text}'");
        if (!double.IsFinite(v)) throw DataException.At(path, frame, $"line {line}: {key} is not finite: '{text}'");
        return v;
    }

    /// <summary>
    /// Whether the first frame's header has a Lattice and a pbc with no periodic direction: what ASE writes for a
    /// non-periodic Atoms in a box (atoms.center(vacuum=...)). A header without a Lattice says nothing either way.
    /// </summary>
    public static bool DeclaresBoxWithoutPbc(string path)
    {
        using var reader = new StreamReader(TextInput.OpenRead(path));
        if (reader.ReadLine() is null || reader.ReadLine() is not { } line) return false;
        var header = Header.Parse(line);
        return header.ContainsKey("Lattice") && header.TryGetValue("pbc", out var pbc) && PeriodicDirections(pbc) is (0, > 0);
    }

    /// <summary>How many of a pbc value's flags are periodic ("T", "True", "1", ...), of how many.</summary>
    private static (int Periodic, int Flags) PeriodicDirections(string pbc)
    {
        var flags = pbc.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return (flags.Count(p => p is "T" or "True" or "t" or "true" or "1"), flags.Length);
    }

    private static Cell? ParseCell(Dictionary<string, string> header, string path, int frame, long line, Action<string>? warn)
    {
        if (!header.TryGetValue("Lattice", out var lattice)) return null;
        if (header.TryGetValue("pbc", out var pbc))
        {
            var (periodic, flags) = PeriodicDirections(pbc);
            if (periodic == 0) return null; // a lattice on a non-periodic system is only a bounding box
            if (periodic < flags)
                warn?.Invoke($"{path}: frame {frame}: pbc=\"{pbc}\" is partly periodic; the cell is treated as periodic in all three directions");
        }
        var words = lattice.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        if (words.Length != 9) throw DataException.At(path, frame, $"line {line}: Lattice needs 9 numbers, found {words.Length}");
        var h = new double[9];
        for (int k = 0; k < 9; k++)
            h[k] = Fields.Number(Encoding.ASCII.GetBytes(words[k]), path, frame, line, "Lattice");
        try { return new Cell(h); }
        catch (DataException e) { throw DataException.At(path, frame, $"line {line}: Lattice: {e.Message}", e); }
    }

    /// <summary>Column positions of the properties this project uses; -1 when absent.</summary>
    private sealed record Layout(int Columns, int Species, int Positions, int Forces, int Velocities, int Masses)
    {
        public static Layout From(Dictionary<string, string> header, string path, int frame, long line)
        {
            var properties = header.GetValueOrDefault("Properties", "species:S:1:pos:R:3");
            var parts = properties.Split(':');
            if (parts.Length % 3 != 0) throw DataException.At(path, frame, $"line {line}: Properties is not name:type:count triples: '{properties}'");
            int column = 0, species = -1, pos = -1, forces = -1, velocities = -1, masses = -1;
            for (int p = 0; p < parts.Length; p += 3)
            {
                var (name, type) = (parts[p], parts[p + 1]);
                if (!int.TryParse(parts[p + 2], out int count) || count < 1)
                    throw DataException.At(path, frame, $"line {line}: Properties: bad column count '{parts[p + 2]}' for {name}");
                if (name == "species" && type == "S" && count == 1) species = column;
                else if (name == "pos" && type == "R" && count == 3) pos = column;
                else if (name is "forces" or "force" && type == "R" && count == 3) forces = column;
                else if (name is "velocities" or "vel" && type == "R" && count == 3) velocities = column;
                else if (name == "masses" && type == "R" && count == 1) masses = column;
                column += count;
            }
            if (species < 0) throw DataException.At(path, frame, $"line {line}: Properties has no species:S:1 column");
            if (pos < 0) throw DataException.At(path, frame, $"line {line}: Properties has no pos:R:3 column");
            return new Layout(column, species, pos, forces, velocities, masses);
        }
    }

    /// <summary>The key=value pairs of an extended XYZ comment line (values quoted with "" or {}; bare keys are flags).</summary>
    internal static class Header
    {
        public static Dictionary<string, string> Parse(string line)
        {
            var d = new Dictionary<string, string>(StringComparer.Ordinal);
            int i = 0, n = line.Length;
            while (i < n)
            {
                while (i < n && char.IsWhiteSpace(line[i])) i++;
                int k = i;
                while (i < n && line[i] != '=' && !char.IsWhiteSpace(line[i])) i++;
                var key = line[k..i];
                int j = i;
                while (j < n && char.IsWhiteSpace(line[j])) j++;
                if (j < n && line[j] == '=')
                {
                    j++;
                    while (j < n && char.IsWhiteSpace(line[j])) j++;
                    string value;
                    if (j < n && (line[j] == '"' || line[j] == '{'))
                    {
                        char close = line[j] == '"' ? '"' : '}';
                        int end = line.IndexOf(close, j + 1);
                        if (end < 0) end = n;
                        value = line[(j + 1)..end];
                        i = Math.Min(n, end + 1);
                    }
                    else
                    {
                        int s = j;
                        while (j < n && !char.IsWhiteSpace(line[j])) j++;
                        value = line[s..j];
                        i = j;
                    }
                    if (key.Length > 0) d[key] = value;
                }
                else if (key.Length > 0)
                {
                    d.TryAdd(key, "T");
                    i = Math.Max(i, k + 1);
                }
                else i++;
            }
            return d;
        }
    }
}
