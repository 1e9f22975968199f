using System.Globalization;

namespace Gpff.QuantumEspresso;

/// <summary>
/// What <see cref="PwCalculator"/> does when a run fails in a way another try may fix: an SCF that did not
/// converge (<see cref="PwFailureKind.NotConverged"/>), a crash (<see cref="PwFailureKind.Crashed"/>) or an output
/// cut short (<see cref="PwFailureKind.Truncated"/>). Attempt k (k ≥ 2) runs in a new folder with
/// <c>mixing_beta</c> = β₀·<see cref="MixingBetaFactor"/>^(k−1) and <c>electron_maxstep</c> = n₀ + (k−1)·<see cref="ExtraElectronSteps"/>,
/// where β₀ and n₀ are the input's values (pw.x's defaults 0.7 and 100 when not set). Errors that another try
/// cannot fix (a pw.x error such as a missing pseudopotential, a command that does not start, a timeout) are not retried.
/// </summary>
public sealed record PwRetryPolicy
{
    /// <summary>pw.x's default <c>mixing_beta</c>.</summary>
    public const double DefaultMixingBeta = 0.7;

    /// <summary>pw.x's default <c>electron_maxstep</c>.</summary>
    public const int DefaultElectronMaxstep = 100;

    /// <summary>One attempt, no retry.</summary>
    public static PwRetryPolicy None { get; } = new() { MaxAttempts = 1 };

    /// <summary>Most attempts of one calculation, the first included (default 3).</summary>
    public int MaxAttempts { get; init; } = 3;

    /// <summary>Factor on <c>mixing_beta</c> per retry, in (0, 1] (default 0.5).</summary>
    public double MixingBetaFactor { get; init; } = 0.5;

    /// <summary>SCF iterations added to <c>electron_maxstep</c> per retry, ≥ 0 (default 100).</summary>
    public int ExtraElectronSteps { get; init; } = 100;

    /// <summary>Checks the values; throws <see cref="ArgumentException"/> naming the bad one.</summary>
    public void Validate()
    {
        if (MaxAttempts < 1)
        {
            throw new ArgumentException($"PwRetryPolicy.MaxAttempts = {MaxAttempts}: at least 1 attempt.");
        }

        if (!(MixingBetaFactor > 0 && MixingBetaFactor <= 1))
        {
            throw new ArgumentException($"PwRetryPolicy.MixingBetaFactor = {MixingBetaFactor.ToString("R", CultureInfo.InvariantCulture)}: must be in (0, 1].");
        }

        if (ExtraElectronSteps < 0)
        {
            throw new ArgumentException($"PwRetryPolicy.ExtraElectronSteps = {ExtraElectronSteps}: must be ≥ 0.");
        }
    }

    /// <summary>Whether a failure of this kind is retried.</summary>
    /// <param name="kind">The failure.</param>
    public static bool IsRetried(PwFailureKind kind) => kind is PwFailureKind.NotConverged or PwFailureKind.Crashed or PwFailureKind.Truncated;

    /// <summary>The input settings of attempt <paramref name="attempt"/> (1: <paramref name="settings"/> unchanged).</summary>
    /// <param name="settings">The settings of the first attempt.</param>
    /// <param name="attempt">1-based attempt number.</param>
    public PwInputSettings SettingsForAttempt(PwInputSettings settings, int attempt)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (attempt <= 1)
        {
            return settings;
        }

        var (beta, steps) = Values(settings, attempt);
        var namelists = settings.Namelists.Clone().Set("electrons", "mixing_beta", beta).Set("electrons", "electron_maxstep", steps);
        return new PwInputSettings
        {
            Pseudopotentials = settings.Pseudopotentials,
            PseudoDirectory = settings.PseudoDirectory,
            EcutwfcRy = settings.EcutwfcRy,
            EcutrhoRy = settings.EcutrhoRy,
            Smearing = settings.Smearing,
            KSpacingPerA = settings.KSpacingPerA,
            KPointMesh = settings.KPointMesh,
            ShiftKPoints = settings.ShiftKPoints,
            ConvThrRy = settings.ConvThrRy,
            StartingMagnetization = settings.StartingMagnetization,
            Namelists = namelists,
        };
    }

    /// <summary>"mixing_beta 0.35, electron_maxstep 200": the settings attempt <paramref name="attempt"/> changes.</summary>
    /// <param name="settings">The settings of the first attempt.</param>
    /// <param name="attempt">1-based attempt number.</param>
    public string Describe(PwInputSettings settings, int attempt)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var (beta, steps) = Values(settings, attempt);
        return string.Create(CultureInfo.InvariantCulture, $"mixing_beta {beta:G4}, electron_maxstep {steps}");
    }

    private (double Beta, int Steps) Values(PwInputSettings settings, int attempt)
    {
        double beta0 = settings.Namelists.Get("electrons", "mixing_beta") is { } b ? Convert.ToDouble(b, CultureInfo.InvariantCulture) : DefaultMixingBeta;
        int steps0 = settings.Namelists.Get("electrons", "electron_maxstep") is { } n ? Convert.ToInt32(n, CultureInfo.InvariantCulture) : DefaultElectronMaxstep;
        int k = Math.Max(0, attempt - 1);
        return (beta0 * Math.Pow(MixingBetaFactor, k), steps0 + k * ExtraElectronSteps);
    }
}
