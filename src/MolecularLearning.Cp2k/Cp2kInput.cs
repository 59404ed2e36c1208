using System.Globalization;
using MolecularLearning.Core;

namespace MolecularLearning.Cp2k;

/// <summary>
/// The little of CP2K's input language ingestion needs, read from an input file or a restart file
/// (which is an input): the project name and the simulation cell of &amp;FORCE_EVAL/&amp;SUBSYS/&amp;CELL.
/// </summary>
public static class Cp2kInput
{
    /// <summary>&amp;GLOBAL PROJECT (or PROJECT_NAME), null when absent.</summary>
    public static string? ReadProject(string path)
    {
        foreach (var (_, stack, words) in Keywords(TextInput.ReadAllText(path)))
            if (stack.Count == 1 && stack[0] == "GLOBAL" && words.Length >= 2
                && (words[0].Equals("PROJECT", StringComparison.OrdinalIgnoreCase) || words[0].Equals("PROJECT_NAME", StringComparison.OrdinalIgnoreCase)))
                return words[1];
        return null;
    }

    /// <summary>
    /// The method label (<see cref="ReadMethod"/>) of a CP2K run given as directory, prefix or positions file: from
    /// P-1.restart, else an input file naming the project, else md.inp; null when the path is not a CP2K run or no
    /// input is found (e.g. an extended XYZ file).
    /// </summary>
    public static string? ReadRunMethod(string runDirectoryOrPrefix)
    {
        if (!FrameSource.IsCp2kRun(runDirectoryOrPrefix)) return null;
        var (dir, project) = Cp2kRun.Locate(runDirectoryOrPrefix);
        // md.inp last in any case: it may name the method where the project's own inputs do not.
        var candidates = InputCandidates(dir, project).Append(Path.Combine(dir, "md.inp")).Distinct().ToList();
        foreach (var c in candidates)
            if (File.Exists(c) && ReadMethod(c) is var m && m != "CP2K") return m;
        return candidates.Any(File.Exists) ? "CP2K" : null;
    }

    /// <summary>
    /// The electronic-structure method of the first &amp;FORCE_EVAL as a label for comparisons, e.g. "CP2K GFN1-xTB"
    /// (&amp;QS METHOD XTB, GFN_TYPE), "CP2K PBE-D3" (&amp;XC_FUNCTIONAL PBE, &amp;VDW_POTENTIAL … TYPE DFTD3), "CP2K DFTB",
    /// "CP2K FIST" (classical). "CP2K" alone when the file says too little to tell.
    /// </summary>
    public static string ReadMethod(string path)
    {
        string forceEval = "QS", qs = "GPW", functional = "", dispersion = "";
        int gfn = 1;
        bool sawForceEval = false;
        foreach (var (_, stack, words, section) in Lines(TextInput.ReadAllText(path)))
        {
            if (stack.IndexOf("FORCE_EVAL") != 0) { if (sawForceEval) break; continue; } // only the first &FORCE_EVAL
            sawForceEval = true;
            var path2 = string.Join('/', stack.Skip(1));
            string key = words[0].ToUpperInvariant(), value = words.Length > 1 ? words[1].ToUpperInvariant() : "";
            if (section)
            {
                // &XC_FUNCTIONAL PBE, or a functional subsection such as &XC_FUNCTIONAL / &PBE.
                if (key == "XC_FUNCTIONAL" && path2.EndsWith("DFT/XC/XC_FUNCTIONAL", StringComparison.Ordinal) && value is not ("" or "NO_SHORTCUT" or "NONE"))
                    functional = value;
                else if (path2.EndsWith("DFT/XC/XC_FUNCTIONAL/" + key, StringComparison.Ordinal))
                    functional = (functional, key) switch { ("", _) => key, ("BECKE88", "LYP") => "BLYP", _ => functional };
                continue;
            }
            if (stack.Count == 1 && key == "METHOD") forceEval = value;
            else if (path2 == "DFT/QS" && key == "METHOD") qs = value;
            else if (path2 == "DFT/QS/XTB" && key == "GFN_TYPE" && int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var g)) gfn = g;
            else if (path2.StartsWith("DFT/XC/VDW_POTENTIAL/", StringComparison.Ordinal) && key == "TYPE")
                dispersion = value switch
                {
                    "DFTD3" => "D3", "DFTD3(BJ)" => "D3(BJ)", "DFTD2" => "D2", "DFTD4" => "D4", _ => dispersion,
                };
            else if (path2 == "DFT/XC/VDW_POTENTIAL" && key == "POTENTIAL_TYPE" && value == "NON_LOCAL") dispersion = "nonlocal vdW";
        }
        if (!sawForceEval) return "CP2K";
        switch (forceEval)
        {
            case "QS" or "QUICKSTEP": break;
            default: return "CP2K " + forceEval;
        }
        switch (qs)
        {
            case "XTB": return $"CP2K GFN{gfn}-xTB";
            case "DFTB": return "CP2K DFTB";
            case "GPW" or "GAPW" or "GAPW_XC" or "LRIGPW" or "RIGPW" or "OFGPW":
                if (functional == "") return "CP2K DFT";
                return "CP2K " + functional + (dispersion == "" ? "" : dispersion.StartsWith('D') ? "-" + dispersion : " + " + dispersion);
            default: return "CP2K " + qs; // semi-empirical: PM6, AM1, ...
        }
    }

    /// <summary>
    /// The inputs that may describe a run, in the order they are trusted: P-1.restart (CP2K's complete input at the
    /// last restart point), the *.inp files naming the project, else md.inp.
    /// </summary>
    public static IEnumerable<string> InputCandidates(string dir, string project)
    {
        var restart = Path.Combine(dir, project + "-1.restart");
        if (File.Exists(restart)) yield return restart;
        else if (File.Exists(restart + ".gz")) yield return restart + ".gz";
        if (!Directory.Exists(dir)) yield break;
        var naming = Directory.EnumerateFiles(dir, "*.inp").Order(StringComparer.Ordinal)
            .Where(i => string.Equals(ReadProject(i), project, StringComparison.Ordinal)).ToList();
        var md = Path.Combine(dir, "md.inp");
        if (naming.Count == 0 && File.Exists(md)) naming.Add(md);
        foreach (var input in naming) yield return input;
    }

    /// <summary>The &amp;KIND sections of the first &amp;FORCE_EVAL/&amp;SUBSYS (empty when it has none).</summary>
    /// <remarks>MASS is in amu (CP2K's default unit; [amu] may be written); a negative MASS means the periodic table's, as in CP2K.</remarks>
    public static IReadOnlyList<Cp2kKind> ReadKinds(string path)
    {
        var kinds = new List<Cp2kKind>();
        string? name = null, element = null;
        double? mass = null;
        bool sawForceEval = false;
        foreach (var (line, stack, words, section) in Lines(TextInput.ReadAllText(path)))
        {
            if (stack.IndexOf("FORCE_EVAL") != 0) { if (sawForceEval) break; continue; } // only the first &FORCE_EVAL
            if (section && stack.Count == 1 && sawForceEval) break;                        // (a second one follows at once)
            sawForceEval = true;
            bool inKind = stack.Count >= 3 && stack[1] == "SUBSYS" && stack[2] == "KIND";
            if (name is not null && (!inKind || section && stack.Count == 3))
            {
                kinds.Add(new Cp2kKind(name, element, mass));
                name = element = null; mass = null;
            }
            if (!inKind) continue;
            if (section && stack.Count == 3)
            {
                if (words.Length < 2) throw DataException.At(path, null, $"line {line}: &KIND without a name");
                name = words[1];
                continue;
            }
            if (section || stack.Count != 3) continue; // &BASIS, &POTENTIAL, &DFT_PLUS_U ... inside the kind
            var key = words[0].ToUpperInvariant();
            if (key == "ELEMENT" && words.Length >= 2) element = words[1];
            else if (key == "MASS")
            {
                int at = words.Length >= 2 && words[1].Equals("[amu]", StringComparison.OrdinalIgnoreCase) ? 2 : 1;
                if (words.Length > at && words[at].StartsWith('['))
                    throw DataException.At(path, null, $"line {line}: &KIND {name} MASS: unit {words[at]} is not supported (amu is)");
                var m = Numbers(words[(at - 1)..], 1, path, line, "MASS", length: false)[0];
                mass = m > 0 ? m : null;
            }
        }
        if (name is not null) kinds.Add(new Cp2kKind(name, element, mass));
        return kinds;
    }

    /// <summary>
    /// The cell of the first &amp;SUBSYS/&amp;CELL section: vectors A, B, C, or ABC with optional
    /// ALPHA_BETA_GAMMA, times MULTIPLE_UNIT_CELL; unit tags such as [bohr] are honoured.
    /// Null when the file has no &amp;CELL section.
    /// </summary>
    public static Cell? ReadCell(string path)
    {
        double[]?[] vectors = new double[]?[3];
        double[]? abc = null, angles = null;
        int[] multiple = [1, 1, 1];
        bool found = false;
        foreach (var (line, stack, words) in Keywords(TextInput.ReadAllText(path)))
        {
            int depth = stack.IndexOf("CELL");
            bool within = depth >= 1 && stack[depth - 1] == "SUBSYS";
            if (!within)
            {
                if (found) break; // only the first &SUBSYS/&CELL counts
                continue;
            }
            found = true;
            if (stack.Count != depth + 1) continue; // &CELL_REF and other subsections
            var key = words[0].ToUpperInvariant();
            switch (key)
            {
                case "A": vectors[0] = Numbers(words, 3, path, line, key, length: true); break;
                case "B": vectors[1] = Numbers(words, 3, path, line, key, length: true); break;
                case "C": vectors[2] = Numbers(words, 3, path, line, key, length: true); break;
                case "ABC": abc = Numbers(words, 3, path, line, key, length: true); break;
                case "ALPHA_BETA_GAMMA": angles = Numbers(words, 3, path, line, key, length: false); break;
                case "MULTIPLE_UNIT_CELL":
                    var m = Numbers(words, 3, path, line, key, length: false);
                    for (int k = 0; k < 3; k++) multiple[k] = (int)m[k];
                    break;
                case "CELL_FILE_NAME":
                    throw DataException.At(path, null, $"line {line}: the cell is in another file (CELL_FILE_NAME), which is not supported");
            }
        }
        if (!found) return null;

        Cell cell;
        if (vectors[0] is { } a && vectors[1] is { } b && vectors[2] is { } c)
            cell = new Cell([.. a, .. b, .. c]);
        else if (abc is not null)
        {
            var ang = angles ?? [90, 90, 90];
            cell = Cell.FromLengthsAndAngles(abc[0], abc[1], abc[2], ang[0], ang[1], ang[2]);
        }
        else throw DataException.At(path, null, "&CELL has neither the vectors A, B, C nor ABC");

        if (multiple is [1, 1, 1]) return cell;
        var h = cell.Matrix.ToArray();
        for (int i = 0; i < 3; i++)
            for (int k = 0; k < 3; k++) h[3 * i + k] *= multiple[i];
        return new Cell(h);
    }

    private static double[] Numbers(string[] words, int count, string path, int line, string key, bool length)
    {
        double scale = 1;
        var values = new List<double>(count);
        for (int w = 1; w < words.Length && values.Count < count; w++)
        {
            var word = words[w];
            if (word.StartsWith('['))
            {
                scale = UnitScale(word, length) ?? throw DataException.At(path, null, $"line {line}: {key}: unit {word} is not supported");
                continue;
            }
            var s = word.Replace('D', 'E').Replace('d', 'e');
            if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
                throw DataException.At(path, null, $"line {line}: {key} is not a number: '{word}'");
            if (!double.IsFinite(v)) throw DataException.At(path, null, $"line {line}: {key} is not finite: '{word}'");
            values.Add(v * scale);
        }
        if (values.Count < count) throw DataException.At(path, null, $"line {line}: {key} needs {count} numbers, found {values.Count}");
        return [.. values];
    }

    private static double? UnitScale(string tag, bool length) => (tag.Trim('[', ']').ToLowerInvariant(), length) switch
    {
        ("angstrom", true) => 1,
        ("bohr", true) => Units.BohrInAngstrom,
        ("nm", true) => 10,
        ("pm", true) => 0.01,
        ("deg", false) => 1,
        ("rad", false) => 180 / Math.PI,
        _ => null,
    };

    /// <summary>Keyword lines with their 1-based line number and the enclosing section names (upper case).</summary>
    private static IEnumerable<(int Line, List<string> Stack, string[] Words)> Keywords(string text)
    {
        foreach (var (line, stack, words, section) in Lines(text))
            if (!section) yield return (line, stack, words);
    }

    /// <summary>
    /// Keyword lines and section openings (Section true: Words[0] is the section name without '&amp;', the rest its
    /// parameters; Stack already includes it), with 1-based line numbers and the enclosing sections (upper case).
    /// </summary>
    private static IEnumerable<(int Line, List<string> Stack, string[] Words, bool Section)> Lines(string text)
    {
        var stack = new List<string>();
        int number = 0;
        foreach (var raw in text.Split('\n'))
        {
            number++;
            var line = raw;
            int comment = line.IndexOfAny(['#', '!']);
            if (comment >= 0) line = line[..comment];
            var words = line.Split([' ', '\t', '\r'], StringSplitOptions.RemoveEmptyEntries);
            if (words.Length == 0) continue;
            if (words[0].StartsWith('&'))
            {
                var name = words[0][1..].ToUpperInvariant();
                if (name == "END") { if (stack.Count > 0) stack.RemoveAt(stack.Count - 1); continue; }
                stack.Add(name);
                words[0] = name;
                yield return (number, stack, words, true);
                continue;
            }
            yield return (number, stack, words, false);
        }
    }
}
