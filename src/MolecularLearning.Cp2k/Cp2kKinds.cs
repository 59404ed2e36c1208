using System.Text;
using MolecularLearning.Core;

namespace MolecularLearning.Cp2k;

/// <summary>A &amp;KIND of the first &amp;FORCE_EVAL/&amp;SUBSYS: its name as written, ELEMENT and MASS (amu) when given.</summary>
public sealed record Cp2kKind(string Name, string? Element, double? Mass);

/// <summary>
/// How a run's atom labels become species with CP2K's masses: the labels of the trajectory files read against the
/// &amp;KIND sections of the run's input (ELEMENT, MASS). Without this a heavy-water run (&amp;KIND H / MASS 2.014) would be
/// read with hydrogen's mass, and every temperature, kinetic energy and acceleration from it would be off.
/// </summary>
internal sealed class Cp2kKinds
{
    private readonly IReadOnlyList<Cp2kKind> _kinds;
    private readonly Dictionary<string, Species> _byLabel = new(StringComparer.Ordinal); // under its lock: the trajectory files are read in parallel
    private readonly List<string> _warnings = [];

    public Cp2kKinds(IReadOnlyList<Cp2kKind> kinds, string? source)
    {
        _kinds = kinds;
        Source = source;
    }

    /// <summary>No input found: labels are read by the element rule alone, with the periodic table's masses.</summary>
    public static Cp2kKinds None => new([], null);

    /// <summary>The file the kinds came from (null: none).</summary>
    public string? Source { get; }

    /// <summary>What the reading could not settle exactly (each once), in the order met.</summary>
    public IReadOnlyList<string> Warnings { get { lock (_byLabel) return [.. _warnings]; } }

    /// <summary>The kinds of the run's input: P-1.restart (CP2K writes every &amp;KIND there), else an input naming the project, else md.inp.</summary>
    public static Cp2kKinds Find(string dir, string project)
    {
        foreach (var input in Cp2kInput.InputCandidates(dir, project))
            if (Cp2kInput.ReadKinds(input) is { Count: > 0 } kinds) return new Cp2kKinds(kinds, input);
        return None;
    }

    /// <summary>
    /// The species of an atom label. An element symbol (CP2K's default label) takes the mass of the kinds of that element
    /// when they agree; another label that names a kind (CP2K writes kind names with PRINT_ATOM_KIND) takes that kind's
    /// ELEMENT and MASS. Labels no kind explains keep the element rule of <see cref="Cp2kXyzFile.SpeciesOf"/> and the table's mass.
    /// </summary>
    public Species SpeciesOf(ReadOnlySpan<byte> label, string path, int frame, long line)
    {
        if (_kinds.Count == 0) return Cp2kXyzFile.SpeciesOf(label, path, frame, line);
        var text = Encoding.ASCII.GetString(label);
        lock (_byLabel)
        {
            if (!_byLabel.TryGetValue(text, out var species)) _byLabel[text] = species = Resolve(text, label, path, frame, line);
            return species;
        }
    }

    private Species Resolve(string text, ReadOnlySpan<byte> label, string path, int frame, long line)
    {
        var named = _kinds.FirstOrDefault(k => k.Name.Equals(text, StringComparison.OrdinalIgnoreCase));
        bool isSymbol = Elements.TryGet(text, out var symbol);
        // A kind name (PRINT_ATOM_KIND) unless the label is the element of some kind: "Ho" with &KIND Ho / ELEMENT H is H.
        if (!isSymbol || named is not null && !_kinds.Any(k => ElementOf(k) == symbol.Symbol))
        {
            if (named is null) return Cp2kXyzFile.SpeciesOf(label, path, frame, line);
            var element = named.Element is { } e
                ? Elements.TryGet(e, out var s) ? s : throw DataException.At(Source!, null, $"&KIND {named.Name}: unknown ELEMENT '{e}'")
                : Cp2kXyzFile.SpeciesOf(label, path, frame, line);
            return named.Mass is { } m ? element.WithMass(m) : element;
        }
        // An element symbol: CP2K's default label for every kind of that element (and the name of a kind such as "H").
        var ofElement = _kinds.Where(k => ElementOf(k) == symbol.Symbol).ToList();
        var masses = ofElement.Select(k => k.Mass ?? symbol.Mass).Distinct().ToList();
        if (masses.Count <= 1) return masses.Count == 1 ? symbol.WithMass(masses[0]) : symbol;
        // Kinds of one element with different masses, and a label that cannot say which: the kind named by the symbol
        // is taken (CP2K's label for its own atoms), and the kinetic-energy check against .ener says if that was wrong.
        double mass = named?.Mass ?? symbol.Mass;
        _warnings.Add($"{Path.GetFileName(Source)}: atoms labelled '{text}' in the trajectory may be of kinds {string.Join(", ", ofElement.Select(k => $"{k.Name} ({NumberText.Short(k.Mass ?? symbol.Mass, 5)} amu)"))}; " +
                      $"the label names only the element, so all are given {NumberText.Short(mass, 5)} amu " +
                      "(print kind names with &TRAJECTORY / PRINT_ATOM_KIND to tell them apart)");
        return symbol.WithMass(mass);
    }

    /// <summary>A kind's element: its ELEMENT, else CP2K's reading of its name (null when that is no element, which CP2K refuses).</summary>
    private static string? ElementOf(Cp2kKind kind)
    {
        if (kind.Element is { } e) return Elements.TryGet(e, out var s) ? s.Symbol : null;
        try { return Cp2kXyzFile.SpeciesOf(Encoding.ASCII.GetBytes(kind.Name), "", 0, 0).Symbol; }
        catch (DataException) { return null; }
    }
}
