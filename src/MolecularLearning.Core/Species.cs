namespace MolecularLearning.Core;

/// <summary>A chemical species: element symbol, atomic number and mass (amu).</summary>
public sealed record Species(string Symbol, int AtomicNumber, double Mass)
{
    public override string ToString() => Symbol;
}

/// <summary>The elements the project knows, with CP2K's masses (so kinetic energies match CP2K's .ener).</summary>
public static class Elements
{
    private static readonly Species[] Table =
    [
        new("H", 1, 1.00794), new("He", 2, 4.002602), new("Li", 3, 6.941), new("Be", 4, 9.012182),
        new("B", 5, 10.811), new("C", 6, 12.0107), new("N", 7, 14.0067), new("O", 8, 15.9994),
        new("F", 9, 18.9984032), new("Ne", 10, 20.1797), new("Na", 11, 22.98977), new("Mg", 12, 24.305),
        new("Al", 13, 26.981538), new("Si", 14, 28.0855), new("P", 15, 30.973761), new("S", 16, 32.065),
        new("Cl", 17, 35.453), new("Ar", 18, 39.948), new("K", 19, 39.0983), new("Ca", 20, 40.078),
    ];

    private static readonly Dictionary<string, Species> BySymbol =
        Table.ToDictionary(s => s.Symbol, StringComparer.OrdinalIgnoreCase);

    public static readonly Species H = Get("H");
    public static readonly Species O = Get("O");

    /// <summary>Looks up a species by element symbol (case-insensitive).</summary>
    public static bool TryGet(string symbol, out Species species)
    {
        if (BySymbol.TryGetValue(symbol.Trim(), out var s)) { species = s; return true; }
        species = null!;
        return false;
    }

    /// <summary>Looks up a species by element symbol; throws <see cref="FormatException"/> naming the symbol.</summary>
    public static Species Get(string symbol)
        => TryGet(symbol, out var s) ? s : throw new FormatException($"unknown element symbol '{symbol}'");
}
