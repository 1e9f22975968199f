namespace Gpff.Dynamics.MolecularDynamics;

/// <summary>
/// Unit conversions of molecular dynamics in Gpff's units: time fs, length Å, mass amu, energy eV,
/// temperature K, velocity Å/fs (CODATA 2018 values of e and the atomic mass constant).
/// </summary>
public static class MdUnits
{
    /// <summary>Elementary charge in C (eV → J).</summary>
    public const double ElectronVoltJ = 1.602176634e-19;

    /// <summary>Atomic mass constant in kg.</summary>
    public const double AtomicMassKg = 1.66053906660e-27;

    /// <summary>
    /// The acceleration of a force of 1 eV/Å on a mass of 1 amu, in Å/fs²:
    /// (1.602176634e-19 J / 1e-10 m) / 1.66053906660e-27 kg = 9.6485332e17 m/s² = 9.6485332e-3 Å/fs².
    /// </summary>
    public const double AccelerationAPerFs2 = ElectronVoltJ / (1e-10 * AtomicMassKg) * 1e10 * 1e-30;

    /// <summary>The energy of 1 amu·Å²/fs² in eV (≈ 103.6427 eV): kinetic energy ½mv² in eV is ½·m[amu]·v²[Å²/fs²]·this.</summary>
    public const double AmuA2PerFs2InEv = 1.0 / AccelerationAPerFs2;

    /// <summary>The Boltzmann constant in eV/K.</summary>
    public const double BoltzmannEvPerK = Units.BoltzmannEvPerK;
}
