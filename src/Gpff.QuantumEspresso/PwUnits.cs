using System.Globalization;
using System.Text.RegularExpressions;

namespace Gpff.QuantumEspresso;

/// <summary>
/// The Rydberg and Bohr values a pw.x version used to print its results. pw.x prints energies in Ry
/// and lengths in bohr with the constants compiled into it (Modules/constants.f90), so a faithful
/// conversion to eV and Å uses the same constants.
/// </summary>
/// <remarks>
/// Measured on Debian's pw.x 6.7 (the version that wrote the project's data): a cell given as
/// 100 Å is printed as celldm(1) = 188.972612 bohr (CODATA 2018: 188.9726125; 2006: 188.9726133),
/// the ATOMIC_POSITIONS it prints in Å equal its XML positions in bohr times 0.529177210903, and the
/// vc-relax enthalpy implies 1 Ry/bohr³ = 147105.081 kbar (2018: 147105.078; 2006: 147105.054).
/// So pw.x 6.7 and newer use CODATA 2018 (and RYTOEV = HARTREE_SI / ELECTRONVOLT_SI / 2 with it);
/// older versions are taken to use CODATA 2006. ASE (3.22) converts every pw.x output with the 2006
/// values: the two differ by 9e-8 relative in energy and 4e-9 in length.
/// </remarks>
/// <param name="Name">Name of the constant set ("CODATA 2006").</param>
/// <param name="RydbergEv">1 Ry in eV.</param>
/// <param name="BohrA">1 bohr in Å.</param>
public sealed record PwUnits(string Name, double RydbergEv, double BohrA)
{
    /// <summary>CODATA 2006, as used by Quantum ESPRESSO before 6.7 and by ASE for all pw.x outputs (1 Ry = 13.605691930 eV, 1 bohr = 0.52917720859 Å).</summary>
    public static PwUnits Codata2006 { get; } = new("CODATA 2006", Units.RydbergEvCodata2006, Units.BohrAngstromCodata2006);

    /// <summary>CODATA 2018, as used by Quantum ESPRESSO 6.7 and newer (1 Ry = 13.605693122994 eV, 1 bohr = 0.529177210903 Å).</summary>
    public static PwUnits Codata2018 { get; } = new("CODATA 2018", Units.RydbergEv, Units.BohrAngstrom);

    /// <summary>1 Ry/bohr in eV/Å.</summary>
    public double RyPerBohrInEvPerA => RydbergEv / BohrA;

    /// <summary>1 Ry/bohr³ in eV/Å³.</summary>
    public double RyPerBohr3InEvPerA3 => RydbergEv / (BohrA * BohrA * BohrA);

    /// <summary>
    /// The constants of a pw.x version string as printed in its banner ("6.7MaX", "7.2"): CODATA 2018
    /// for 6.7 and newer, CODATA 2006 before.
    /// </summary>
    /// <param name="version">The version as printed after "Program PWSCF v.".</param>
    /// <exception cref="FormatException">The version does not start with a number.</exception>
    public static PwUnits ForVersion(string version)
    {
        ArgumentNullException.ThrowIfNull(version);
        var m = Regex.Match(version, @"^\s*(\d+)(?:\.(\d+))?");
        if (!m.Success)
        {
            throw new FormatException($"Cannot read a major version number from the pw.x version '{version}'.");
        }

        int major = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        int minor = m.Groups[2].Success ? int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) : 0;
        return major > 6 || (major == 6 && minor >= 7) ? Codata2018 : Codata2006;
    }
}
