namespace Gpff.Phases;

/// <summary>One phase of a decomposition: the stable entry and its share of the atoms.</summary>
/// <param name="Entry">A stable entry of the hull.</param>
/// <param name="AtomFraction">Fraction of the atoms (per real atom, also for compound terminals) that end up in <paramref name="Entry"/>; the fractions of a decomposition sum to 1.</param>
public sealed record DecompositionPart(PhaseEntry Entry, double AtomFraction);

/// <summary>An input entry that could not be placed in the composition space of the hull, and why.</summary>
/// <param name="Entry">The entry.</param>
/// <param name="Reason">Why it was left out (e.g. "contains Rh, which no terminal contains").</param>
public sealed record ExcludedEntry(PhaseEntry Entry, string Reason);

/// <summary>
/// The result of the hull for one entry: where it sits in composition space, its enthalpies, whether
/// it is a hull vertex, how far above the hull it lies and what it decomposes into.
/// </summary>
public sealed class HullEntry
{
    internal HullEntry(PhaseEntry entry, int inputIndex, double[] coordinates, double enthalpyPerAtomEv)
    {
        Entry = entry;
        InputIndex = inputIndex;
        CoordinatesArray = coordinates;
        EnthalpyPerAtomEv = enthalpyPerAtomEv;
    }

    internal double[] CoordinatesArray { get; }

    /// <summary>The input entry.</summary>
    public PhaseEntry Entry { get; }

    /// <summary>Position of the entry in the list given to <see cref="PhaseDiagram"/>.</summary>
    public int InputIndex { get; }

    /// <summary>Name of the entry.</summary>
    public string Name => Entry.Name;

    /// <summary>
    /// Composition coordinates: the atom fraction contributed by each terminal
    /// (<see cref="PhaseDiagram.Terminals"/>, normalised to one atom each), summing to 1. For
    /// elemental terminals these are the atomic fractions.
    /// </summary>
    public IReadOnlyList<double> Coordinates => CoordinatesArray;

    /// <summary>Enthalpy per atom (E + P·V)/N, eV/atom.</summary>
    public double EnthalpyPerAtomEv { get; }

    /// <summary>
    /// Formation enthalpy per atom from the terminal references (the lowest entry of each terminal
    /// composition), eV/atom: H/N − Σₖ xₖ μₖ.
    /// </summary>
    public double FormationEnthalpyPerAtomEv { get; internal set; }

    /// <summary>True when the entry is a vertex of the lower convex hull (a stable phase).</summary>
    public bool IsStable { get; internal set; }

    /// <summary>
    /// Energy (enthalpy) above the hull, eV/atom, ≥ 0; exactly 0 for stable entries, and 0 (not
    /// stable) for an entry lying on a tie line or facet or duplicating a stable polymorph.
    /// </summary>
    public double EnergyAboveHullEvPerAtom { get; internal set; }

    /// <summary>
    /// The stable phases the entry decomposes into, with atom fractions (the entry itself with
    /// fraction 1 when stable). The fractions sum to 1. When several stable sets give the same
    /// hull energy (coplanar vertices), one of them is reported.
    /// </summary>
    public IReadOnlyList<DecompositionPart> Decomposition { get; internal set; } = [];

    /// <summary>
    /// Decomposition enthalpy (Bartel et al., npj Comput. Mater. 6, 97 (2020); pymatgen's
    /// <c>get_decomp_and_phase_separation_energy</c>): the entry's formation enthalpy minus the
    /// hull built from all entries of other compositions, eV/atom. Negative for stable compounds
    /// (how far below the competing phases they lie), positive for unstable ones; null for terminal
    /// compositions.
    /// </summary>
    public double? DecompositionEnthalpyEvPerAtom { get; internal set; }

    /// <summary>Name, formula and stability.</summary>
    public override string ToString() =>
        $"{Entry}: {(IsStable ? "stable" : $"{EnergyAboveHullEvPerAtom * 1000:F1} meV/atom above hull")}";
}
