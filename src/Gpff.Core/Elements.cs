using System.Collections.Frozen;

namespace Gpff;

/// <summary>
/// Chemical elements: symbols ↔ atomic numbers and standard atomic masses (amu; IUPAC 2016
/// conventional values; for elements without stable isotopes the mass number of the longest-lived
/// isotope). Covers Z = 1 (H) to Z = 103 (Lr).
/// </summary>
public static class Elements
{
    private static readonly string[] SymbolTable =
    [
        "X",
        "H", "He", "Li", "Be", "B", "C", "N", "O", "F", "Ne",
        "Na", "Mg", "Al", "Si", "P", "S", "Cl", "Ar", "K", "Ca",
        "Sc", "Ti", "V", "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn",
        "Ga", "Ge", "As", "Se", "Br", "Kr", "Rb", "Sr", "Y", "Zr",
        "Nb", "Mo", "Tc", "Ru", "Rh", "Pd", "Ag", "Cd", "In", "Sn",
        "Sb", "Te", "I", "Xe", "Cs", "Ba", "La", "Ce", "Pr", "Nd",
        "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb",
        "Lu", "Hf", "Ta", "W", "Re", "Os", "Ir", "Pt", "Au", "Hg",
        "Tl", "Pb", "Bi", "Po", "At", "Rn", "Fr", "Ra", "Ac", "Th",
        "Pa", "U", "Np", "Pu", "Am", "Cm", "Bk", "Cf", "Es", "Fm",
        "Md", "No", "Lr",
    ];

    private static readonly double[] MassTable =
    [
        0.0,
        1.008, 4.002602, 6.94, 9.0121831, 10.81, 12.011, 14.007, 15.999, 18.998403163, 20.1797,
        22.98976928, 24.305, 26.9815385, 28.085, 30.973761998, 32.06, 35.45, 39.948, 39.0983, 40.078,
        44.955908, 47.867, 50.9415, 51.9961, 54.938044, 55.845, 58.933194, 58.6934, 63.546, 65.38,
        69.723, 72.630, 74.921595, 78.971, 79.904, 83.798, 85.4678, 87.62, 88.90584, 91.224,
        92.90637, 95.95, 97.90721, 101.07, 102.90550, 106.42, 107.8682, 112.414, 114.818, 118.710,
        121.760, 127.60, 126.90447, 131.293, 132.90545196, 137.327, 138.90547, 140.116, 140.90766, 144.242,
        144.91276, 150.36, 151.964, 157.25, 158.92535, 162.500, 164.93033, 167.259, 168.93422, 173.054,
        174.9668, 178.49, 180.94788, 183.84, 186.207, 190.23, 192.217, 195.084, 196.966569, 200.592,
        204.38, 207.2, 208.98040, 208.98243, 209.98715, 222.01758, 223.01974, 226.02541, 227.02775, 232.0377,
        231.03588, 238.02891, 237.04817, 244.06421, 243.06138, 247.07035, 247.07031, 251.07959, 252.0830, 257.09511,
        258.09843, 259.1010, 262.110,
    ];

    private static readonly FrozenDictionary<string, int> NumberBySymbol =
        SymbolTable.Select((s, z) => (s, z)).Skip(1).ToFrozenDictionary(p => p.s, p => p.z, StringComparer.Ordinal);

    /// <summary>The largest atomic number known to this table.</summary>
    public static int MaxAtomicNumber => SymbolTable.Length - 1;

    /// <summary>The chemical symbol of an atomic number.</summary>
    /// <param name="atomicNumber">Z, 1 to <see cref="MaxAtomicNumber"/>.</param>
    public static string Symbol(int atomicNumber)
    {
        if (atomicNumber < 1 || atomicNumber > MaxAtomicNumber)
        {
            throw new UnknownSpeciesException($"Atomic number {atomicNumber} is not an element (expected 1 to {MaxAtomicNumber}).");
        }

        return SymbolTable[atomicNumber];
    }

    /// <summary>The atomic number of a chemical symbol (case-sensitive, as written: "Ba", "O").</summary>
    /// <param name="symbol">Chemical symbol.</param>
    public static int AtomicNumber(string symbol)
    {
        ArgumentNullException.ThrowIfNull(symbol);
        if (NumberBySymbol.TryGetValue(symbol, out int z))
        {
            return z;
        }

        throw new UnknownSpeciesException($"Unknown chemical symbol '{symbol}'.");
    }

    /// <summary>Tries to find the atomic number of a chemical symbol.</summary>
    /// <param name="symbol">Chemical symbol, case-sensitive.</param>
    /// <param name="atomicNumber">The atomic number when found.</param>
    public static bool TryGetAtomicNumber(string symbol, out int atomicNumber) =>
        NumberBySymbol.TryGetValue(symbol, out atomicNumber);

    /// <summary>Standard atomic mass in amu.</summary>
    /// <param name="atomicNumber">Z, 1 to <see cref="MaxAtomicNumber"/>.</param>
    public static double MassAmu(int atomicNumber)
    {
        if (atomicNumber < 1 || atomicNumber > MaxAtomicNumber)
        {
            throw new UnknownSpeciesException($"Atomic number {atomicNumber} is not an element (expected 1 to {MaxAtomicNumber}).");
        }

        return MassTable[atomicNumber];
    }
}

/// <summary>Thrown when a chemical species (symbol or atomic number) is not known.</summary>
public sealed class UnknownSpeciesException : ArgumentException
{
    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What was unknown and where.</param>
    public UnknownSpeciesException(string message) : base(message) { }
}
