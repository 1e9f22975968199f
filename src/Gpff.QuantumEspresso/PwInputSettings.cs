using System.Globalization;
using Gpff.Geometry;

namespace Gpff.QuantumEspresso;

/// <summary>Fractional occupations with a smearing function (pw.x <c>occupations='smearing'</c>).</summary>
/// <param name="Kind">pw.x smearing name: "mv" (Marzari–Vanderbilt), "gaussian", "mp" (Methfessel–Paxton), "fd" (Fermi–Dirac).</param>
/// <param name="DegaussRy">Smearing width in Ry (pw.x <c>degauss</c>).</param>
public sealed record PwSmearing(string Kind, double DegaussRy);

/// <summary>
/// What goes into a pw.x input for one SCF calculation of a structure: a pseudopotential per species,
/// cutoffs, occupations, k-points and any further namelist settings. The written input uses
/// <c>ibrav=0</c> with the cell and positions in Å (full precision), so pw.x sees exactly the structure.
/// </summary>
public sealed class PwInputSettings
{
    /// <summary>Pseudopotential file name per chemical symbol ("Ba" → "Ba.pbe-spn-rrkjus_psl.1.0.0.UPF"). Every species of a structure needs one.</summary>
    public required IReadOnlyDictionary<string, string> Pseudopotentials { get; init; }

    /// <summary>
    /// Folder with the pseudopotential files (pw.x <c>pseudo_dir</c>); made absolute when the input is
    /// written. Null: pw.x's default ($ESPRESSO_PSEUDO, else $HOME/espresso/pseudo).
    /// </summary>
    public string? PseudoDirectory { get; init; }

    /// <summary>Kinetic-energy cutoff for wavefunctions in Ry (pw.x <c>ecutwfc</c>).</summary>
    public required double EcutwfcRy { get; init; }

    /// <summary>Cutoff for the charge density in Ry (pw.x <c>ecutrho</c>); null: pw.x's default 4 × ecutwfc (fine for norm-conserving, too low for ultrasoft/PAW).</summary>
    public double? EcutrhoRy { get; init; }

    /// <summary>Smearing; null: <c>occupations='fixed'</c> (insulators).</summary>
    public PwSmearing? Smearing { get; init; }

    /// <summary>
    /// Largest distance between k-points in 1/Å, with the 2π included as in ASE's <c>kspacing</c>:
    /// along each periodic axis n_i = max(1, ⌈2π |b_i| / spacing⌉), where b_i are the reciprocal
    /// vectors without 2π (rows of (cell⁻¹)ᵀ). Non-periodic axes get 1. Used when
    /// <see cref="KPointMesh"/> is null; 0.25/Å is a typical converged value for oxides.
    /// </summary>
    public double KSpacingPerA { get; init; } = 0.25;

    /// <summary>An explicit Monkhorst–Pack mesh; overrides <see cref="KSpacingPerA"/>.</summary>
    public Int3? KPointMesh { get; init; }

    /// <summary>Shift the mesh by half a step along each axis (pw.x's "1 1 1" offsets).</summary>
    public bool ShiftKPoints { get; init; }

    /// <summary>SCF convergence threshold on the estimated energy error in Ry (pw.x <c>conv_thr</c>).</summary>
    public double ConvThrRy { get; init; } = 1e-8;

    /// <summary>Starting magnetisation (−1 to 1) per chemical symbol; when given, the run is spin-polarised (<c>nspin=2</c>).</summary>
    public IReadOnlyDictionary<string, double>? StartingMagnetization { get; init; }

    /// <summary>
    /// Further namelist settings written as given (and overriding the ones derived above), e.g.
    /// <c>Namelists.Set("electrons", "mixing_beta", 0.4)</c> or <c>Set("system", "nbnd", 40)</c>.
    /// </summary>
    public PwNamelists Namelists { get; init; } = new();

    /// <summary>Checks the settings; throws <see cref="ArgumentException"/> naming the bad value.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Pseudopotentials);
        if (!(EcutwfcRy > 0) || !double.IsFinite(EcutwfcRy))
        {
            throw new ArgumentException($"EcutwfcRy must be a positive number of Ry, got {EcutwfcRy}.");
        }

        if (EcutrhoRy is double rho && !(rho >= EcutwfcRy))
        {
            throw new ArgumentException($"EcutrhoRy ({rho} Ry) must be at least EcutwfcRy ({EcutwfcRy} Ry); 4× for norm-conserving, 8–12× for ultrasoft/PAW.");
        }

        if (KPointMesh is null && !(KSpacingPerA > 0))
        {
            throw new ArgumentException($"KSpacingPerA must be positive (1/Å, 2π included), got {KSpacingPerA}.");
        }

        if (KPointMesh is Int3 m && (m.A < 1 || m.B < 1 || m.C < 1))
        {
            throw new ArgumentException($"KPointMesh {m} must have at least 1 point along each axis.");
        }

        if (Smearing is { } s && (string.IsNullOrWhiteSpace(s.Kind) || !(s.DegaussRy > 0)))
        {
            throw new ArgumentException($"Smearing needs a kind and a positive width in Ry, got '{s.Kind}', {s.DegaussRy}.");
        }

        if (!(ConvThrRy > 0))
        {
            throw new ArgumentException($"ConvThrRy must be positive, got {ConvThrRy}.");
        }
    }
}

/// <summary>
/// pw.x namelist settings (&amp;CONTROL, &amp;SYSTEM, &amp;ELECTRONS, &amp;IONS, &amp;CELL, …): values are
/// bool, integer, floating-point or string, written in Fortran namelist syntax. Names are
/// case-insensitive; an indexed name such as <c>"hubbard_u(1)"</c> is written as given.
/// </summary>
public sealed class PwNamelists
{
    private readonly List<(string Namelist, List<(string Key, object Value)> Entries)> _lists = [];

    /// <summary>The namelists in the order first set, with their entries in the order first set.</summary>
    public IEnumerable<(string Namelist, IReadOnlyList<(string Key, object Value)> Entries)> All =>
        _lists.Select(l => (l.Namelist, (IReadOnlyList<(string, object)>)l.Entries));

    /// <summary>Sets (or replaces) one value.</summary>
    /// <param name="namelist">Namelist name without '&amp;' ("control", "system", "electrons", "ions", "cell").</param>
    /// <param name="key">Variable name, possibly indexed ("starting_magnetization(1)").</param>
    /// <param name="value">bool, int, long, double or string.</param>
    /// <returns>This object, for chaining.</returns>
    public PwNamelists Set(string namelist, string key, object value)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(namelist);
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        ArgumentNullException.ThrowIfNull(value);
        if (value is not (bool or int or long or double or float or string))
        {
            throw new ArgumentException($"Namelist value {namelist}.{key} has type {value.GetType().Name}; use bool, int, long, double or string.", nameof(value));
        }

        if (value is double d && !double.IsFinite(d))
        {
            throw new ArgumentException($"Namelist value {namelist}.{key} is not finite ({d}).", nameof(value));
        }

        string nl = namelist.TrimStart('&').Trim().ToLowerInvariant();
        string k = key.Trim().ToLowerInvariant();
        var list = _lists.FirstOrDefault(l => l.Namelist == nl).Entries;
        if (list is null)
        {
            list = [];
            _lists.Add((nl, list));
        }

        int at = list.FindIndex(e => e.Key == k);
        if (at >= 0)
        {
            list[at] = (k, value);
        }
        else
        {
            list.Add((k, value));
        }

        return this;
    }

    /// <summary>The value of a setting, or null.</summary>
    /// <param name="namelist">Namelist name.</param>
    /// <param name="key">Variable name.</param>
    public object? Get(string namelist, string key)
    {
        string nl = namelist.TrimStart('&').Trim().ToLowerInvariant();
        string k = key.Trim().ToLowerInvariant();
        var list = _lists.FirstOrDefault(l => l.Namelist == nl).Entries;
        return list?.FirstOrDefault(e => e.Key == k).Value;
    }

    /// <summary>A copy of these settings.</summary>
    public PwNamelists Clone()
    {
        var c = new PwNamelists();
        foreach (var (nl, entries) in _lists)
        {
            foreach (var (k, v) in entries)
            {
                c.Set(nl, k, v);
            }
        }

        return c;
    }

    /// <summary>Formats a value in Fortran namelist syntax (.true., 'text', 1.5e-08).</summary>
    /// <param name="value">bool, integer, floating-point or string.</param>
    public static string Format(object value) => value switch
    {
        bool b => b ? ".true." : ".false.",
        int i => i.ToString(CultureInfo.InvariantCulture),
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => FormatReal(d),
        float f => FormatReal(f),
        string s => "'" + s.Replace("'", "''", StringComparison.Ordinal) + "'",
        _ => throw new ArgumentException($"Cannot write a {value.GetType().Name} in a Fortran namelist."),
    };

    internal static string FormatReal(double d)
    {
        string s = d.ToString("R", CultureInfo.InvariantCulture);
        return s.Contains('.') || s.Contains('E') || s.Contains('e') ? s : s + ".0";
    }
}
