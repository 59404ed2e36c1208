using System.Globalization;
using System.Text;
using MolecularLearning.Core;

namespace MolecularLearning.Cp2k;

/// <summary>
/// Turns a user's CP2K input (an MD input, say) into a single-point force calculation on one frame: GLOBAL gets
/// RUN_TYPE ENERGY_FORCE and our project name; the coordinates come from the frame (an inline &amp;COORD in Å,
/// replacing &amp;COORD and TOPOLOGY's COORD_FILE_NAME); FORCE_EVAL/PRINT/FORCES writes the forces to a file;
/// everything else (cell, method, SCF) is kept. Relative file names that exist beside the input are made absolute,
/// since CP2K runs in another folder.
/// </summary>
public static class Cp2kSinglePointInput
{
    /// <summary>The rewritten input text. <paramref name="source"/> names the input in errors.</summary>
    public static string Rewrite(string text, string source, string inputDirectory, Frame frame, string project, string forcesFile)
    {
        var output = new StringBuilder(text.Length + 64 * frame.AtomCount);
        var stack = new List<string>();
        int forceEvals = 0, globals = 0;
        bool forcesPrinted = false, coordWritten = false;
        int skipDepth = -1; // while ≥ 0: inside a dropped section, which opened at this depth
        int lineNumber = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNumber++;
            var line = raw.TrimEnd('\r');
            var code = StripComment(line);
            var words = code.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (words.Length == 0) { if (skipDepth < 0) output.Append(line).Append('\n'); continue; }
            var first = words[0].ToUpperInvariant();
            if (first.StartsWith('@'))
            {
                if (first == "@INCLUDE" && words.Length >= 2)
                {
                    output.Append("@INCLUDE ").Append(Absolute(words[1].Trim('\'', '"'), inputDirectory)).Append('\n');
                    continue;
                }
                if (skipDepth < 0) output.Append(line).Append('\n');
                continue;
            }
            if (first.StartsWith('&'))
            {
                var name = first[1..];
                if (name == "END")
                {
                    if (stack.Count == 0) throw DataException.At(source, null, $"line {lineNumber}: &END without an open section");
                    var closing = stack[^1];
                    string Path() => string.Join('/', stack);
                    if (skipDepth >= 0)
                    {
                        stack.RemoveAt(stack.Count - 1);
                        if (stack.Count == skipDepth) skipDepth = -1;
                        continue;
                    }
                    var path = Path();
                    if (path == "GLOBAL")
                        output.Append("  RUN_TYPE ENERGY_FORCE\n  PROJECT ").Append(project).Append('\n');
                    else if (path == "FORCE_EVAL/PRINT")
                    {
                        AppendForcesPrint(output, forcesFile, "    ");
                        forcesPrinted = true;
                    }
                    else if (path == "FORCE_EVAL/SUBSYS")
                    {
                        AppendCoord(output, frame);
                        coordWritten = true;
                    }
                    else if (path == "FORCE_EVAL" && !forcesPrinted)
                    {
                        output.Append("  &PRINT\n");
                        AppendForcesPrint(output, forcesFile, "    ");
                        output.Append("  &END PRINT\n");
                        forcesPrinted = true;
                    }
                    stack.RemoveAt(stack.Count - 1);
                    output.Append(line).Append('\n');
                    continue;
                }
                stack.Add(name);
                if (skipDepth >= 0) continue;
                var opened = string.Join('/', stack);
                if (opened == "GLOBAL") globals++;
                if (opened == "FORCE_EVAL" && ++forceEvals > 1)
                    throw DataException.At(source, null, $"line {lineNumber}: a second &FORCE_EVAL (several force environments) is not supported");
                // Dropped: the input's own coordinates and velocities, a restart that would replace them, and its own force printing.
                if (opened is "FORCE_EVAL/SUBSYS/COORD" or "FORCE_EVAL/SUBSYS/VELOCITY" or "EXT_RESTART" or "FORCE_EVAL/PRINT/FORCES")
                {
                    skipDepth = stack.Count - 1;
                    continue;
                }
                output.Append(line).Append('\n');
                continue;
            }
            if (skipDepth >= 0) continue;
            var at = string.Join('/', stack);
            if (at == "GLOBAL" && first is "RUN_TYPE" or "PROJECT" or "PROJECT_NAME") continue;
            if (at == "FORCE_EVAL/SUBSYS/TOPOLOGY" && first is "COORD_FILE_NAME" or "COORDINATE_FILE_NAME" or "COORD_FILE_FORMAT" or "COORDINATE_FILE_FORMAT") continue;
            if (first != "FILENAME" && first.Contains("FILE", StringComparison.Ordinal) && words.Length >= 2)
            {
                var value = words[1].Trim('\'', '"');
                var absolute = Absolute(value, inputDirectory);
                if (absolute != value)
                {
                    output.Append(Indent(line)).Append(words[0]).Append(' ').Append(absolute).Append('\n');
                    continue;
                }
            }
            output.Append(line).Append('\n');
        }
        if (stack.Count > 0) throw DataException.At(source, null, $"section &{stack[^1]} is not closed (&END missing)");
        if (forceEvals == 0) throw DataException.At(source, null, "no &FORCE_EVAL section");
        if (!coordWritten) throw DataException.At(source, null, "no &FORCE_EVAL/&SUBSYS section to put the coordinates in");
        if (globals == 0) output.Append("&GLOBAL\n  RUN_TYPE ENERGY_FORCE\n  PROJECT ").Append(project).Append("\n&END GLOBAL\n");
        return output.ToString();
    }

    private static void AppendForcesPrint(StringBuilder output, string forcesFile, string indent)
    {
        // "=name" makes CP2K use the name as given, without the project prefix and "-1" suffix.
        output.Append(indent).Append("&FORCES\n")
            .Append(indent).Append("  FILENAME =").Append(forcesFile).Append('\n')
            .Append(indent).Append("&END FORCES\n");
    }

    private static void AppendCoord(StringBuilder output, Frame frame)
    {
        var inv = CultureInfo.InvariantCulture;
        output.Append("    &COORD\n      UNIT angstrom\n");
        var x = frame.Positions;
        for (int i = 0; i < frame.AtomCount; i++)
            output.Append("      ").Append(frame.Species[i].Symbol)
                .Append(' ').Append(x[3 * i].ToString("R", inv))
                .Append(' ').Append(x[3 * i + 1].ToString("R", inv))
                .Append(' ').Append(x[3 * i + 2].ToString("R", inv)).Append('\n');
        output.Append("    &END COORD\n");
    }

    private static string StripComment(string line)
    {
        int comment = line.IndexOfAny(['#', '!']);
        return comment >= 0 ? line[..comment] : line;
    }

    private static string Indent(string line) => line[..(line.Length - line.TrimStart().Length)];

    /// <summary>The absolute path of a relative name that exists beside the input; anything else unchanged (CP2K's data files).</summary>
    private static string Absolute(string value, string inputDirectory)
    {
        if (Path.IsPathRooted(value)) return value;
        var candidate = Path.GetFullPath(Path.Combine(inputDirectory, value));
        return File.Exists(candidate) ? candidate : value;
    }
}
