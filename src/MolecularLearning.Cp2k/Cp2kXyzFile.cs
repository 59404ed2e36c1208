using System.Text;
using MolecularLearning.Core;

namespace MolecularLearning.Cp2k;

/// <summary>
/// One CP2K xyz trajectory (positions, forces or velocities): frames of "N", a header
/// "i = step, time = t, E = e" and N lines "symbol x y z". Values are scaled by a unit factor while
/// parsing; steps, times and header energies (Hartree, as printed) are kept per frame.
/// </summary>
internal sealed class Cp2kXyzFile
{
    public required string Path { get; init; }
    public Species[] Species { get; private set; } = [];
    public List<long> Steps { get; } = [];
    public List<double?> Times { get; } = [];
    public List<double?> HeaderEnergiesHartree { get; } = [];
    public List<double[]> Values { get; } = [];
    public int Count => Steps.Count;

    /// <summary>Reads the whole file. A last frame cut short (a killed run) is dropped through <paramref name="warn"/>; a frame cut short anywhere else is an error.</summary>
    // Hot loop of ingest: compiled fully optimised at once rather than after tiering (a one-shot CLI never warms up).
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static Cp2kXyzFile Read(string path, double unit, Action<string>? warn, Cp2kKinds? kinds = null)
    {
        var file = new Cp2kXyzFile { Path = path };
        byte[][] labels = [];
        using var reader = new LineReader(path);
        int frame = 0; // 1-based ordinal of the frame being read
        while (true)
        {
            if (!reader.TryReadLine(out var countLine)) break;
            frame++;
            if (countLine.Trim((byte)' ').IsEmpty && reader.AtEndIgnoringBlankLines()) break;
            if (!int.TryParse(countLine.Trim(" \t"u8), out int atoms) || atoms <= 0)
            {
                if (reader.LastLineUnterminated) { file.DropTruncated(warn, frame, "the atom count line is cut"); break; }
                throw DataException.At(path, frame, $"line {reader.LineNumber}: expected the atom count, found '{Fields.Text(countLine)}'");
            }
            if (file.Species.Length == 0) Fields.CheckAtomCount(atoms, path, frame, reader.LineNumber);
            if (file.Species.Length != 0 && atoms != file.Species.Length)
                throw DataException.At(path, frame, $"line {reader.LineNumber}: {atoms} atoms, the first frame has {file.Species.Length}");

            if (!reader.TryReadLine(out var header) || reader.LastLineUnterminated)
            {
                file.DropTruncated(warn, frame, "the file ends in the frame header");
                break;
            }
            long headerLine = reader.LineNumber;
            var (step, time, energy) = ParseHeader(header, path, frame, headerLine);

            bool first = file.Species.Length == 0;
            var species = first ? new Species[atoms] : file.Species;
            if (first) labels = new byte[atoms][];
            var values = new double[3 * atoms];
            int atom = 0;
            bool truncated = false;
            for (; atom < atoms; atom++)
            {
                if (!reader.TryReadLine(out var line)) { truncated = true; break; }
                var rest = line;
                int fields = 0;
                ReadOnlySpan<byte> label = default, x = default, y = default, z = default;
                if (Fields.Next(ref rest, out label)) fields++;
                if (Fields.Next(ref rest, out x)) fields++;
                if (Fields.Next(ref rest, out y)) fields++;
                if (Fields.Next(ref rest, out z)) fields++;
                if (reader.LastLineUnterminated)
                {
                    // The writer was killed inside this line: even a complete-looking number may be cut.
                    if (reader.AtEndIgnoringBlankLines()) { truncated = true; break; }
                }
                if (fields < 4)
                {
                    if (reader.AtEndIgnoringBlankLines()) { truncated = true; break; }
                    throw DataException.At(path, frame,
                        $"line {reader.LineNumber}: frame cut short: atom {atom + 1} of {atoms} has {fields} fields ('{Fields.Text(line)}'), expected symbol x y z");
                }
                if (first)
                {
                    species[atom] = kinds is null ? SpeciesOf(label, path, frame, reader.LineNumber) : kinds.SpeciesOf(label, path, frame, reader.LineNumber);
                    labels[atom] = label.ToArray();
                }
                else if (!label.SequenceEqual(labels[atom]))
                {
                    throw DataException.At(path, frame,
                        $"line {reader.LineNumber}: atom {atom + 1} is '{Fields.Text(label)}', the first frame has '{Encoding.ASCII.GetString(labels[atom])}'");
                }
                values[3 * atom] = Fields.AtomValue(x, path, frame, reader.LineNumber, "x", unit);
                values[3 * atom + 1] = Fields.AtomValue(y, path, frame, reader.LineNumber, "y", unit);
                values[3 * atom + 2] = Fields.AtomValue(z, path, frame, reader.LineNumber, "z", unit);
            }
            if (truncated)
            {
                file.DropTruncated(warn, frame, $"{atom} of {atoms} atoms present");
                break;
            }
            if (first) file.Species = species;
            file.Steps.Add(step);
            file.Times.Add(time);
            file.HeaderEnergiesHartree.Add(energy);
            file.Values.Add(values);
        }
        if (file.Count == 0)
            throw DataException.At(path, null, frame == 0 || file.Species.Length == 0 ? "empty file: no complete frame" : "no complete frame");
        return file;
    }

    private void DropTruncated(Action<string>? warn, int frame, string what)
    {
        warn?.Invoke($"{Path}: frame {frame}: last frame is cut short ({what}), dropped");
    }

    /// <summary>Parses CP2K's "i = 12, time = 6.000, E = -185.17" (time and E optional).</summary>
    private static (long Step, double? Time, double? Energy) ParseHeader(ReadOnlySpan<byte> header, string path, int frame, long line)
    {
        long? step = null;
        double? time = null, energy = null;
        var rest = header;
        while (!rest.IsEmpty)
        {
            int comma = rest.IndexOf((byte)',');
            var part = comma < 0 ? rest : rest[..comma];
            rest = comma < 0 ? default : rest[(comma + 1)..];
            int eq = part.IndexOf((byte)'=');
            if (eq < 0) continue;
            var key = part[..eq].Trim(" \t"u8);
            var value = part[(eq + 1)..].Trim(" \t"u8);
            if (key.SequenceEqual("i"u8))
            {
                if (!long.TryParse(value, out long s))
                    throw DataException.At(path, frame, $"line {line}: step 'i' is not an integer: '{Fields.Text(value)}'");
                step = s;
            }
            else if (key.SequenceEqual("time"u8)) time = Fields.Number(value, path, frame, line, "time");
            else if (key.SequenceEqual("E"u8)) energy = Fields.Number(value, path, frame, line, "energy E");
        }
        if (step is null)
            throw DataException.At(path, frame, $"line {line}: header has no step 'i = N': '{Fields.Text(header)}'");
        return (step.Value, time, energy);
    }

    /// <summary>
    /// The element of an atom label (rule in docs/formats.md): the label itself if it is an element symbol (what
    /// CP2K writes by default); else CP2K's own reading of a kind name (drop from "_" on, then trailing digits:
    /// "O1", "H_w", "Fe2"); else a kind name such as "OW", "Hw" whose element CP2K took from its input, for which
    /// the leading symbol is used: two letters only when written like a symbol ("Cl" in "Clx", not "CL" in "CLX").
    /// </summary>
    internal static Species SpeciesOf(ReadOnlySpan<byte> label, string path, int frame, long line)
    {
        var text = Encoding.ASCII.GetString(label);
        if (Elements.TryGet(text, out var s)) return s;
        // CP2K (topology.F) derives a kind's element this way when its &KIND gives no ELEMENT.
        var core = text;
        int underscore = core.IndexOf('_');
        if (underscore >= 0) core = core[..underscore];
        core = core.TrimEnd("0123456789".ToCharArray());
        if (core.Length is > 0 and <= 2 && Elements.TryGet(core, out s)) return s;
        // A kind name with its own element: "Hw" is H, "Os" in "Osp" would be osmium only as written "Os".
        if (text.Length >= 2 && char.IsAsciiLetterUpper(text[0]) && char.IsAsciiLetterLower(text[1]) && Elements.TryGet(text[..2], out s))
            return s;
        if (text.Length >= 1 && char.IsAsciiLetter(text[0]) && Elements.TryGet(text[..1], out s)) return s;
        throw DataException.At(path, frame, $"line {line}: unknown element '{Fields.Text(label)}'");
    }
}
