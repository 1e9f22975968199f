using System.Globalization;
using System.Text.RegularExpressions;

namespace Gpff.IO;

/// <summary>
/// The Rydberg and Bohr values a pw.x version used to print its results. pw.x prints energies in Ry
/// and lengths in bohr with the constants compiled into it, so a faithful conversion to eV and Å
/// uses the same constants: Quantum ESPRESSO 6.x uses CODATA 2006, 7.x the CODATA 2018 values
/// (its Modules/constants.f90, "NIST 2018"). ASE converts 6.x outputs with the 2006 values too.
/// </summary>
/// <param name="Name">Name of the constant set ("CODATA 2006").</param>
/// <param name="RydbergEv">1 Ry in eV.</param>
/// <param name="BohrA">1 bohr in Å.</param>
public sealed record PwUnits(string Name, double RydbergEv, double BohrA)
{
    /// <summary>CODATA 2006, as used by Quantum ESPRESSO up to 6.x (1 Ry = 13.605691930 eV, 1 bohr = 0.52917720859 Å).</summary>
    public static PwUnits Codata2006 { get; } = new("CODATA 2006", Units.RydbergEvQe6, Units.BohrAngstromQe6);

    /// <summary>CODATA 2018, as used by Quantum ESPRESSO 7.x (1 Ry = 13.605693122994 eV, 1 bohr = 0.529177210903 Å).</summary>
    public static PwUnits Codata2018 { get; } = new("CODATA 2018", Units.RydbergEv, Units.BohrAngstrom);

    /// <summary>1 Ry/bohr in eV/Å.</summary>
    public double RyPerBohrInEvPerA => RydbergEv / BohrA;

    /// <summary>1 Ry/bohr³ in eV/Å³.</summary>
    public double RyPerBohr3InEvPerA3 => RydbergEv / (BohrA * BohrA * BohrA);

    /// <summary>
    /// The constants of a pw.x version string as printed in its banner ("6.7MaX", "7.2"): CODATA 2006
    /// for major version 6 and older, CODATA 2018 for 7 and newer.
    /// </summary>
    /// <param name="version">The version as printed after "Program PWSCF v.".</param>
    /// <exception cref="FormatException">The version does not start with a number.</exception>
    public static PwUnits ForVersion(string version)
    {
        ArgumentNullException.ThrowIfNull(version);
        var m = Regex.Match(version, @"^\s*(\d+)");
        if (!m.Success)
        {
            throw new FormatException($"Cannot read a major version number from the pw.x version '{version}'.");
        }

        int major = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        return major >= 7 ? Codata2018 : Codata2006;
    }
}
