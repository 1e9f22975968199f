using System.Globalization;

namespace Gpff.Phases;

/// <summary>
/// One phase (a structure at one composition) for a convex hull: a name, a composition, the total
/// energy of that composition as written, and optionally its volume and the standard deviation of
/// the energy (pymatgen's <c>PDEntry</c>, ASE's <c>PhaseDiagram</c> references).
/// </summary>
/// <remarks>
/// Energy, volume and standard deviation are all for the composition as written: an entry with
/// formula <c>Ba2RhO4</c> counts 7 atoms, so its energy is that of 7 atoms. The enthalpy at
/// pressure P is H = E + P·V (P·V converted from GPa·Å³ to eV with <see cref="Units.GpaA3InEv"/>).
/// </remarks>
public sealed class PhaseEntry
{
    /// <summary>Creates an entry.</summary>
    /// <param name="name">Name shown in tables, plots and decompositions (e.g. "BaRhO3-hex").</param>
    /// <param name="composition">Composition as written; the energy and volume refer to it.</param>
    /// <param name="energyEv">Total energy of <paramref name="composition"/> in eV.</param>
    /// <param name="volumeA3">Volume of <paramref name="composition"/> in Å³ (needed at non-zero pressure).</param>
    /// <param name="energyStdEv">Standard deviation of <paramref name="energyEv"/> in eV (e.g. the GP's predictive std).</param>
    /// <exception cref="ArgumentException">Empty name, non-finite energy, non-positive volume or negative std.</exception>
    public PhaseEntry(string name, Composition composition, double energyEv, double? volumeA3 = null, double? energyStdEv = null)
    {
        ArgumentNullException.ThrowIfNull(composition);
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new ArgumentException($"An entry of composition {composition.Formula} has an empty name.", nameof(name));
        }

        if (!double.IsFinite(energyEv))
        {
            throw new ArgumentException($"Entry '{name}': the energy must be finite, got {Fmt(energyEv)}.", nameof(energyEv));
        }

        if (volumeA3 is double v && (!double.IsFinite(v) || v <= 0))
        {
            throw new ArgumentException($"Entry '{name}': the volume must be positive and finite, got {Fmt(v)} Å³.", nameof(volumeA3));
        }

        if (energyStdEv is double s && (!double.IsFinite(s) || s < 0))
        {
            throw new ArgumentException($"Entry '{name}': the energy standard deviation must be ≥ 0 and finite, got {Fmt(s)} eV.", nameof(energyStdEv));
        }

        Name = name;
        Composition = composition;
        EnergyEv = energyEv;
        VolumeA3 = volumeA3;
        EnergyStdEv = energyStdEv;
    }

    /// <summary>Creates an entry from a formula (see <see cref="Composition.Parse"/>).</summary>
    /// <param name="name">Name of the entry.</param>
    /// <param name="formula">Formula as written, e.g. "Ba2RhO4" (7 atoms).</param>
    /// <param name="energyEv">Total energy of the formula as written, eV.</param>
    /// <param name="volumeA3">Volume of the formula as written, Å³.</param>
    /// <param name="energyStdEv">Standard deviation of the energy, eV.</param>
    public PhaseEntry(string name, string formula, double energyEv, double? volumeA3 = null, double? energyStdEv = null)
        : this(name, Composition.Parse(formula), energyEv, volumeA3, energyStdEv)
    {
    }

    /// <summary>
    /// An entry from a (relaxed) structure: its composition, its <see cref="Structure.EnergyEv"/>
    /// label and its cell volume.
    /// </summary>
    /// <param name="structure">Structure with an energy label and a periodic cell.</param>
    /// <param name="name">Name; defaults to the Hill formula.</param>
    /// <param name="energyStdEv">Standard deviation of the energy, eV (e.g. the GP's).</param>
    /// <exception cref="ArgumentException">The structure has no energy.</exception>
    public static PhaseEntry FromStructure(Structure structure, string? name = null, double? energyStdEv = null)
    {
        ArgumentNullException.ThrowIfNull(structure);
        name ??= structure.HillFormula();
        double energy = structure.EnergyEv ?? throw new ArgumentException($"Structure '{name}' has no energy label; a hull entry needs its total energy.", nameof(structure));
        var composition = new Composition(structure.Composition().Select(p => new KeyValuePair<string, double>(p.Key, p.Value)));
        double volume = structure.VolumeA3;
        return new PhaseEntry(name, composition, energy, volume > 0 ? volume : null, energyStdEv);
    }

    /// <summary>Name of the entry.</summary>
    public string Name { get; }

    /// <summary>Composition as written (energy and volume refer to it).</summary>
    public Composition Composition { get; }

    /// <summary>Total energy of <see cref="Composition"/> in eV.</summary>
    public double EnergyEv { get; }

    /// <summary>Volume of <see cref="Composition"/> in Å³, or null when unknown.</summary>
    public double? VolumeA3 { get; }

    /// <summary>Standard deviation of <see cref="EnergyEv"/> in eV, or null when unknown.</summary>
    public double? EnergyStdEv { get; }

    /// <summary>Number of atoms of <see cref="Composition"/>.</summary>
    public double NumAtoms => Composition.NumAtoms;

    /// <summary>
    /// Enthalpy H = E + P·V of the composition as written, eV. At zero pressure the volume is not
    /// needed.
    /// </summary>
    /// <param name="pressureGpa">Pressure in GPa.</param>
    /// <exception cref="InvalidOperationException">Non-zero pressure and no volume.</exception>
    public double EnthalpyEv(double pressureGpa)
    {
        if (pressureGpa == 0)
        {
            return EnergyEv;
        }

        if (VolumeA3 is not double v)
        {
            throw new InvalidOperationException(
                $"Entry '{Name}' ({Composition.Formula}) has no volume: the enthalpy E + P·V at {Fmt(pressureGpa)} GPa needs one.");
        }

        return EnergyEv + pressureGpa * v * Units.GpaA3InEv;
    }

    /// <summary>Enthalpy per atom (E + P·V)/N in eV/atom.</summary>
    /// <param name="pressureGpa">Pressure in GPa.</param>
    public double EnthalpyPerAtomEv(double pressureGpa) => EnthalpyEv(pressureGpa) / NumAtoms;

    /// <summary>Name and formula.</summary>
    public override string ToString() => $"{Name} ({Composition.Formula})";

    private static string Fmt(double x) => x.ToString("G6", CultureInfo.InvariantCulture);
}
