namespace MolecularLearning.Core;

/// <summary>A chemical species: element symbol, atomic number and mass (amu).</summary>
public sealed record Species(string Symbol, int AtomicNumber, double Mass)
{
    /// <summary>The same element with another mass (CP2K's &amp;KIND MASS, an isotope such as D); itself when the mass is its own.</summary>
    public Species WithMass(double mass) => mass == Mass ? this : this with { Mass = mass };

    public override string ToString() => Symbol;
}

/// <summary>The elements the project knows, with CP2K's masses (so kinetic energies match CP2K's .ener).</summary>
public static class Elements
{
    // Z = 1..118 with the amass values of CP2K's src/common/periodic_table.F (identical in 2023.1 and later);
    // a kinetic-energy check against cp2k 2023.1's .ener confirmed Na, Al and P to all printed digits.
    private static readonly Species[] Table =
    [
        new("H", 1, 1.00794), new("He", 2, 4.002602), new("Li", 3, 6.941), new("Be", 4, 9.012182),
        new("B", 5, 10.811), new("C", 6, 12.0107), new("N", 7, 14.0067), new("O", 8, 15.9994),
        new("F", 9, 18.9984032), new("Ne", 10, 20.1797), new("Na", 11, 22.98976928), new("Mg", 12, 24.305),
        new("Al", 13, 26.9815386), new("Si", 14, 28.0855), new("P", 15, 30.973762), new("S", 16, 32.065),
        new("Cl", 17, 35.453), new("Ar", 18, 39.948), new("K", 19, 39.0983), new("Ca", 20, 40.078),
        new("Sc", 21, 44.955912), new("Ti", 22, 47.867), new("V", 23, 50.9415), new("Cr", 24, 51.9961),
        new("Mn", 25, 54.938045), new("Fe", 26, 55.845), new("Co", 27, 58.933195), new("Ni", 28, 58.6934),
        new("Cu", 29, 63.546), new("Zn", 30, 65.38), new("Ga", 31, 69.723), new("Ge", 32, 72.64),
        new("As", 33, 74.9216), new("Se", 34, 78.96), new("Br", 35, 79.904), new("Kr", 36, 83.798),
        new("Rb", 37, 85.4678), new("Sr", 38, 87.62), new("Y", 39, 88.90585), new("Zr", 40, 91.224),
        new("Nb", 41, 92.90638), new("Mo", 42, 95.96), new("Tc", 43, 97.9072), new("Ru", 44, 101.07),
        new("Rh", 45, 102.9055), new("Pd", 46, 106.42), new("Ag", 47, 107.8682), new("Cd", 48, 112.411),
        new("In", 49, 114.818), new("Sn", 50, 118.71), new("Sb", 51, 121.76), new("Te", 52, 127.6),
        new("I", 53, 126.90447), new("Xe", 54, 131.293), new("Cs", 55, 132.9054519), new("Ba", 56, 137.327),
        new("La", 57, 138.90547), new("Ce", 58, 140.116), new("Pr", 59, 140.90765), new("Nd", 60, 144.242),
        new("Pm", 61, 144.9127), new("Sm", 62, 150.36), new("Eu", 63, 151.964), new("Gd", 64, 157.25),
        new("Tb", 65, 158.92535), new("Dy", 66, 162.5), new("Ho", 67, 164.93032), new("Er", 68, 167.259),
        new("Tm", 69, 168.93421), new("Yb", 70, 173.054), new("Lu", 71, 174.9668), new("Hf", 72, 178.49),
        new("Ta", 73, 180.94788), new("W", 74, 183.84), new("Re", 75, 186.207), new("Os", 76, 190.23),
        new("Ir", 77, 192.217), new("Pt", 78, 195.084), new("Au", 79, 196.966569), new("Hg", 80, 200.59),
        new("Tl", 81, 204.3833), new("Pb", 82, 207.2), new("Bi", 83, 208.9804), new("Po", 84, 208.9824),
        new("At", 85, 209.9871), new("Rn", 86, 222.0176), new("Fr", 87, 223.0197), new("Ra", 88, 226.0254),
        new("Ac", 89, 227.0), new("Th", 90, 232.0377), new("Pa", 91, 231.03588), new("U", 92, 238.02891),
        new("Np", 93, 237.0), new("Pu", 94, 244.0), new("Am", 95, 243.0), new("Cm", 96, 247.0),
        new("Bk", 97, 247.0), new("Cf", 98, 251.0), new("Es", 99, 252.0), new("Fm", 100, 257.0),
        new("Md", 101, 258.0), new("No", 102, 259.0), new("Lr", 103, 266.0), new("Rf", 104, 267.0),
        new("Db", 105, 268.0), new("Sg", 106, 269.0), new("Bh", 107, 270.0), new("Hs", 108, 277.0),
        new("Mt", 109, 278.0), new("Ds", 110, 281.0), new("Rg", 111, 282.0), new("Cn", 112, 285.0),
        new("Nh", 113, 286.0), new("Fl", 114, 289.0), new("Mc", 115, 290.0), new("Lv", 116, 293.0),
        new("Ts", 117, 294.0), new("Og", 118, 294.0),
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
