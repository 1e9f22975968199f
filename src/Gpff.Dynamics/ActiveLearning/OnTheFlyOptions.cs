namespace Gpff.Dynamics.ActiveLearning;

/// <summary>
/// Settings of on-the-fly active learning (<see cref="OnTheFlyLearner"/>; FLARE, Vandermause et al. 2020).
/// The uncertainty of an atom is the largest standard deviation of its three force components (eV/Å).
/// </summary>
public sealed record OnTheFlyOptions
{
    /// <summary>Number of MD steps to run in all (counting from step 0 of the integrator, so a resumed run stops at the same step).</summary>
    public required int Steps { get; init; }

    /// <summary>Absolute threshold on the largest force standard deviation in eV/Å; null to use <see cref="ThresholdForceNoiseMultiple"/>.</summary>
    public double? ThresholdEvPerA { get; init; }

    /// <summary>
    /// Relative threshold: this multiple of the model's current force noise
    /// (<see cref="ILearningCalculator.ForceNoiseEvPerA"/>), used when <see cref="ThresholdEvPerA"/> is null (default 1, as FLARE's std_tolerance_factor).
    /// </summary>
    public double ThresholdForceNoiseMultiple { get; init; } = 1.0;

    /// <summary>Forces of how many of the most uncertain atoms to add per reference call; null (default): every atom above the threshold.</summary>
    public int? AtomsPerCall { get; init; }

    /// <summary>Refit the hyperparameters after every n-th reference call (0, the default: never during the run).</summary>
    public int RefitEvery { get; init; }

    /// <summary>Refit the hyperparameters at the end of the run, when it made reference calls (default true).</summary>
    public bool RefitAtEnd { get; init; } = true;

    /// <summary>Most reference calls in the whole run (resumed parts included); after that the MD continues on the model alone.</summary>
    public int MaxReferenceCalls { get; init; } = int.MaxValue;

    /// <summary>
    /// Directory of the checkpoint written after every reference call and at the end (model file and
    /// state, each written atomically; see <see cref="OnTheFlyCheckpoint"/>); null: no checkpoints.
    /// </summary>
    public string? CheckpointDirectory { get; init; }

    /// <summary>Most attempts of one reference calculation (default 3) before the run stops.</summary>
    public int MaxAttempts { get; init; } = 3;

    /// <summary>
    /// Called after each failed attempt of a reference calculation, before the next: it may change the
    /// reference calculator's settings (e.g. more SCF iterations, another mixing) and returns whether to
    /// try again (still at most <see cref="MaxAttempts"/> attempts in all). Null: always try again.
    /// </summary>
    public Func<ReferenceFailure, bool>? Retry { get; init; }

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegative(Steps);
        if (ThresholdEvPerA is double t && !(t >= 0 && double.IsFinite(t)))
        {
            throw new ArgumentOutOfRangeException(nameof(ThresholdEvPerA), t, "The threshold must be a finite number of eV/Å, at least 0.");
        }

        if (!(ThresholdForceNoiseMultiple >= 0) || !double.IsFinite(ThresholdForceNoiseMultiple))
        {
            throw new ArgumentOutOfRangeException(nameof(ThresholdForceNoiseMultiple), ThresholdForceNoiseMultiple, "The relative threshold must be a finite number, at least 0.");
        }

        if (AtomsPerCall is int a)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(a, 1, nameof(AtomsPerCall));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(RefitEvery);
        ArgumentOutOfRangeException.ThrowIfNegative(MaxReferenceCalls);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxAttempts, 1);
    }
}

/// <summary>A failed attempt of a reference calculation, as the retry policy sees it.</summary>
/// <param name="Step">MD step of the calculation.</param>
/// <param name="Attempt">Attempt that failed (1 = the first).</param>
/// <param name="Exception">What the reference calculator threw.</param>
public sealed record ReferenceFailure(int Step, int Attempt, Exception Exception);

/// <summary>One reference call of an on-the-fly run (the log).</summary>
/// <param name="Call">Number of the call (1 = the first of the run).</param>
/// <param name="Step">MD step at which the reference was called.</param>
/// <param name="MaxForceStdEvPerA">Largest predicted force standard deviation in eV/Å (the trigger).</param>
/// <param name="ThresholdEvPerA">Threshold in force eV/Å at that step.</param>
/// <param name="Atoms">Atoms whose forces were added, most uncertain first.</param>
/// <param name="ForceMaeEvPerA">The model's mean absolute force error on all components against the new reference forces, before the update, eV/Å.</param>
/// <param name="ForceMaxErrorEvPerA">Its largest absolute force-component error, eV/Å.</param>
/// <param name="EnergyErrorEv">The model's energy minus the reference energy before the update, eV (null when the reference gives none).</param>
/// <param name="Attempts">Attempts the reference calculation took.</param>
/// <param name="Refitted">Whether the hyperparameters were refitted after this call.</param>
public sealed record ReferenceCallRecord(int Call, int Step, double MaxForceStdEvPerA, double ThresholdEvPerA, int[] Atoms,
    double ForceMaeEvPerA, double ForceMaxErrorEvPerA, double? EnergyErrorEv, int Attempts, bool Refitted);

/// <summary>What an on-the-fly run did.</summary>
/// <param name="Steps">MD steps taken in all (the integrator's step count at the end).</param>
/// <param name="Calls">Every reference call of the run, resumed parts included.</param>
/// <param name="RefittedAtEnd">Whether the hyperparameters were refitted at the end.</param>
public sealed record OnTheFlyResult(int Steps, IReadOnlyList<ReferenceCallRecord> Calls, bool RefittedAtEnd)
{
    /// <summary>Number of reference calls.</summary>
    public int ReferenceCalls => Calls.Count;
}

/// <summary>
/// A reference calculation failed every attempt and the on-the-fly run stopped. The checkpoint (when
/// one is kept) holds every earlier reference result; resume from it.
/// </summary>
public sealed class ReferenceCalculationException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What failed and where the run can resume.</param>
    /// <param name="inner">The last failure.</param>
    public ReferenceCalculationException(string message, Exception inner) : base(message, inner)
    {
    }

    /// <summary>Creates the exception.</summary>
    public ReferenceCalculationException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public ReferenceCalculationException(string message) : base(message)
    {
    }

    /// <summary>MD step of the failed calculation.</summary>
    public int Step { get; init; }

    /// <summary>Attempts made.</summary>
    public int Attempts { get; init; }
}
