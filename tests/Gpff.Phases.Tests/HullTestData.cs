namespace Gpff.Phases.Tests;

/// <summary>Builds entries from hand-chosen formation enthalpies, so that every expected number in the tests is derived by hand.</summary>
internal static class HullTestData
{
    /// <summary>Elemental reference energies per atom (eV/atom) used by the hand-checked cases; deliberately not zero, so the reference shift is exercised.</summary>
    public static readonly Dictionary<string, double> Mu = new()
    {
        ["Ba"] = -2.0,
        ["Rh"] = -7.0,
        ["O"] = -5.0,
        ["Li"] = -1.5,
    };

    /// <summary>An entry whose formation energy per atom relative to <see cref="Mu"/> is <paramref name="hfPerAtom"/>.</summary>
    public static PhaseEntry Entry(string name, string formula, double hfPerAtom, double? volumeA3 = null, double? stdEv = null)
    {
        var c = Composition.Parse(formula);
        double e = 0;
        foreach (var el in c.Elements)
        {
            e += c[el] * Mu[el];
        }

        e += hfPerAtom * c.NumAtoms;
        return new PhaseEntry(name, c, e, volumeA3, stdEv);
    }

    public static PhaseEntry Element(string symbol, int atoms = 1) =>
        Entry(symbol + (atoms > 1 ? atoms.ToString() : ""), symbol + (atoms > 1 ? atoms.ToString() : ""), 0.0);

    public static double Fraction(HullEntry e, string name) =>
        e.Decomposition.Where(p => p.Entry.Name == name).Sum(p => p.AtomFraction);
}
