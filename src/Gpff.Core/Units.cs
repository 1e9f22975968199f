namespace Gpff;

/// <summary>
/// Physical constants and unit conversions. Gpff works in Å, eV, eV/Å, eV/Å³ (stress, ASE sign:
/// positive = tensile), fs, amu and K; GPa in user-facing pressure arguments.
/// </summary>
public static class Units
{
    /// <summary>One Rydberg in eV (CODATA 2018, as used by DESIGN.md).</summary>
    public const double RydbergEv = 13.605693122994;

    /// <summary>One Hartree in eV (CODATA 2018).</summary>
    public const double HartreeEv = 2 * RydbergEv;

    /// <summary>One Bohr radius in Å (CODATA 2018).</summary>
    public const double BohrAngstrom = 0.529177210903;

    /// <summary>
    /// One Rydberg in eV, CODATA 2006: the value of older Quantum ESPRESSO versions and of ASE's pw.x
    /// reader. Debian's pw.x 6.7 already uses CODATA 2018 (checked on its cell, position and pressure
    /// output); the difference is 9e-8 relative.
    /// </summary>
    public const double RydbergEvCodata2006 = 13.605691930242388;

    /// <summary>One Bohr radius in Å, CODATA 2006 (see <see cref="RydbergEvCodata2006"/>).</summary>
    public const double BohrAngstromCodata2006 = 0.52917720859;

    /// <summary>1 eV/Å³ expressed in GPa.</summary>
    public const double EvPerA3InGpa = 160.21766208;

    /// <summary>1 GPa expressed in eV/Å³.</summary>
    public const double GpaInEvPerA3 = 1.0 / EvPerA3InGpa;

    /// <summary>1 kbar expressed in GPa.</summary>
    public const double KbarInGpa = 0.1;

    /// <summary>1 kbar expressed in eV/Å³.</summary>
    public const double KbarInEvPerA3 = KbarInGpa * GpaInEvPerA3;

    /// <summary>1 GPa·Å³ expressed in eV (the P·V term of an enthalpy).</summary>
    public const double GpaA3InEv = GpaInEvPerA3;

    /// <summary>Boltzmann constant in eV/K.</summary>
    public const double BoltzmannEvPerK = 8.617333262e-5;

    /// <summary>Converts a pressure in GPa to eV/Å³.</summary>
    /// <param name="pressureGpa">Pressure in GPa.</param>
    public static double GpaToEvPerA3(double pressureGpa) => pressureGpa * GpaInEvPerA3;

    /// <summary>Converts a pressure or stress in eV/Å³ to GPa.</summary>
    /// <param name="valueEvPerA3">Value in eV/Å³.</param>
    public static double EvPerA3ToGpa(double valueEvPerA3) => valueEvPerA3 * EvPerA3InGpa;
}
