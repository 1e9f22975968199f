using System.Collections.Concurrent;
using System.Globalization;
using Gpff.Geometry;

namespace Gpff.Dynamics.ActiveLearning;

/// <summary>
/// Settings of offline selection from a pool of candidate structures (<see cref="PoolSelection"/>).
/// The uncertainty of an atom is the largest standard deviation of its three force components (eV/Å),
/// that of a structure the largest over its atoms — the same measure as on-the-fly learning.
/// </summary>
public sealed record PoolSelectionOptions
{
    /// <summary>Absolute threshold on a structure's largest force standard deviation in eV/Å; null to use <see cref="ThresholdForceNoiseMultiple"/>.</summary>
    public double? ThresholdEvPerA { get; init; }

    /// <summary>Relative threshold: this multiple of the model's current force noise, used when <see cref="ThresholdEvPerA"/> is null (default 1).</summary>
    public double ThresholdForceNoiseMultiple { get; init; } = 1.0;

    /// <summary>Budget: most reference calls in all (default 100). Selection stops when it is spent.</summary>
    public int MaxReferenceCalls { get; init; } = 100;

    /// <summary>Most structures labelled per round (default 4): the most uncertain ones above the threshold. The model is updated after each round.</summary>
    public int StructuresPerRound { get; init; } = 4;

    /// <summary>Most reference calculations of one round running at the same time (default 1).</summary>
    public int MaxConcurrency { get; init; } = 1;

    /// <summary>Forces of how many of the most uncertain atoms of a structure to add; null (default): every atom above the threshold.</summary>
    public int? AtomsPerCall { get; init; }

    /// <summary>Refit the hyperparameters after every n-th round (0, the default: never during the selection).</summary>
    public int RefitEvery { get; init; }

    /// <summary>Refit the hyperparameters at the end, when structures were added (default true).</summary>
    public bool RefitAtEnd { get; init; } = true;

    /// <summary>Most attempts of one reference calculation (default 3); a structure that fails every attempt is left out and listed in <see cref="PoolSelectionResult.Failures"/>.</summary>
    public int MaxAttempts { get; init; } = 3;

    /// <summary>
    /// Called after each failed attempt, before the next (from the thread that ran it: calls of one round run
    /// concurrently; <see cref="ReferenceFailure.Step"/> holds the 0-based pool index); returns whether to try again (at most <see cref="MaxAttempts"/> in all). Null: always.
    /// </summary>
    public Func<ReferenceFailure, bool>? Retry { get; init; }

    internal void Validate()
    {
        const string o = nameof(PoolSelectionOptions) + ".";
        if (ThresholdEvPerA is double t)
        {
            DynamicsArguments.NonNegative(t, o + nameof(ThresholdEvPerA), "eV/Å", "the threshold");
        }

        DynamicsArguments.NonNegative(ThresholdForceNoiseMultiple, o + nameof(ThresholdForceNoiseMultiple), "", "the relative threshold");
        DynamicsArguments.AtLeast(MaxReferenceCalls, 0, o + nameof(MaxReferenceCalls), "the budget of reference calls");
        DynamicsArguments.AtLeast(StructuresPerRound, 1, o + nameof(StructuresPerRound), "the structures per round");
        DynamicsArguments.AtLeast(MaxConcurrency, 1, o + nameof(MaxConcurrency), "the concurrency");
        if (AtomsPerCall is int a)
        {
            DynamicsArguments.AtLeast(a, 1, o + nameof(AtomsPerCall), "the atoms per call");
        }

        DynamicsArguments.AtLeast(RefitEvery, 0, o + nameof(RefitEvery), "the refit interval");
        DynamicsArguments.AtLeast(MaxAttempts, 1, o + nameof(MaxAttempts), "the attempts");
    }
}

/// <summary>One labelled structure of a pool selection.</summary>
/// <param name="Call">Number of the call (1 = the first), in the order the labels were added.</param>
/// <param name="Round">Round in which it was labelled (1 = the first).</param>
/// <param name="PoolIndex">0-based index of the structure in the pool.</param>
/// <param name="MaxForceStdEvPerA">Its largest predicted force standard deviation before the round, eV/Å.</param>
/// <param name="ThresholdEvPerA">Threshold in that round, eV/Å.</param>
/// <param name="Atoms">Atoms whose forces were added, most uncertain first.</param>
/// <param name="ForceMaeEvPerA">The model's mean absolute force error against the reference before the round, eV/Å.</param>
/// <param name="ForceMaxErrorEvPerA">Its largest absolute force-component error, eV/Å.</param>
/// <param name="EnergyErrorEv">The model's energy minus the reference energy before the round, eV (null when the reference gives none).</param>
/// <param name="Attempts">Attempts the reference calculation took.</param>
public sealed record PoolCallRecord(int Call, int Round, int PoolIndex, double MaxForceStdEvPerA, double ThresholdEvPerA, int[] Atoms,
    double ForceMaeEvPerA, double ForceMaxErrorEvPerA, double? EnergyErrorEv, int Attempts);

/// <summary>A pool structure whose reference calculation failed every attempt; it was left out.</summary>
/// <param name="Round">Round of the failure.</param>
/// <param name="PoolIndex">0-based index of the structure in the pool.</param>
/// <param name="Attempts">Attempts made.</param>
/// <param name="Message">The last error.</param>
public sealed record PoolFailure(int Round, int PoolIndex, int Attempts, string Message);

/// <summary>Progress of a pool selection, reported at the start of every round and at the end.</summary>
/// <param name="Round">The round about to run (or the last one, at the end).</param>
/// <param name="ReferenceCalls">Reference calls so far.</param>
/// <param name="MaxForceStdEvPerA">The largest predicted force standard deviation over the structures still unlabelled, eV/Å (0 when none are left).</param>
/// <param name="ThresholdEvPerA">The threshold, eV/Å.</param>
/// <param name="AboveThreshold">Unlabelled structures above the threshold.</param>
/// <param name="Selected">Structures to be labelled in this round (0 at the end).</param>
public readonly record struct PoolSelectionProgress(int Round, int ReferenceCalls, double MaxForceStdEvPerA, double ThresholdEvPerA, int AboveThreshold, int Selected);

/// <summary>What a pool selection did.</summary>
/// <param name="Calls">The labelled structures in the order they were added.</param>
/// <param name="Failures">Structures left out because their reference calculation failed.</param>
/// <param name="Rounds">Rounds run.</param>
/// <param name="Converged">Whether every unlabelled structure ended below the threshold (false: the budget ran out first).</param>
/// <param name="MaxForceStdEvPerA">The largest predicted force standard deviation over the unlabelled structures at the end, eV/Å.</param>
/// <param name="RefittedAtEnd">Whether the hyperparameters were refitted at the end.</param>
public sealed record PoolSelectionResult(IReadOnlyList<PoolCallRecord> Calls, IReadOnlyList<PoolFailure> Failures, int Rounds, bool Converged,
    double MaxForceStdEvPerA, bool RefittedAtEnd)
{
    /// <summary>Number of successful reference calls.</summary>
    public int ReferenceCalls => Calls.Count;
}

/// <summary>
/// Offline active learning from a pool of candidate structures (AIMD frames, rattled or random structures):
/// round by round, predict the force uncertainty of every structure not yet labelled, call the reference on
/// the most uncertain ones above the threshold (concurrently, up to <see cref="PoolSelectionOptions.MaxConcurrency"/>),
/// and add their energy, stress and the forces of their most uncertain atoms to the model (block updates, in
/// pool order, so the result does not depend on which calculation finished first). Stops when no structure is
/// above the threshold or the budget of reference calls is spent.
/// </summary>
public static class PoolSelection
{
    /// <summary>Runs the selection.</summary>
    /// <param name="pool">Candidate structures (not modified; labels they carry are ignored).</param>
    /// <param name="model">The learning model, trained on at least one structure (it is updated in place).</param>
    /// <param name="reference">The reference calculator (forces required; energy and stress added when implemented). Must be safe to call from several threads when <see cref="PoolSelectionOptions.MaxConcurrency"/> &gt; 1.</param>
    /// <param name="options">Threshold, budget, round size, concurrency, retries; null: defaults.</param>
    /// <param name="progress">Receives one report at the start of every round and one at the end.</param>
    /// <param name="cancellationToken">Stops between rounds and cancels the running reference calculations; labels of calculations already finished in the round are added before it throws.</param>
    /// <returns>The labelled structures, failures, and whether the pool ended below the threshold.</returns>
    /// <exception cref="ReferenceCalculationException">Every reference calculation of a round failed (something systematic: a missing program, bad settings).</exception>
    public static async Task<PoolSelectionResult> RunAsync(IReadOnlyList<Structure> pool, ILearningCalculator model, ICalculator reference,
        PoolSelectionOptions? options = null, IProgress<PoolSelectionProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pool);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(reference);
        options ??= new PoolSelectionOptions();
        options.Validate();
        if (!model.ImplementedProperties.HasFlag(CalculatorProperties.Forces | CalculatorProperties.Uncertainty))
        {
            throw new ArgumentException($"{model.GetType().Name} gives no force uncertainties; pool selection needs them.", nameof(model));
        }

        if (!reference.ImplementedProperties.HasFlag(CalculatorProperties.Forces))
        {
            throw new ArgumentException($"The reference calculator {reference.GetType().Name} computes no forces.", nameof(reference));
        }

        for (int i = 0; i < pool.Count; i++)
        {
            ArgumentNullException.ThrowIfNull(pool[i], $"{nameof(pool)}[{i}]");
        }

        var refProperties = (CalculatorProperties.EnergyForcesStress & reference.ImplementedProperties) | CalculatorProperties.Forces;
        var remaining = new SortedSet<int>(Enumerable.Range(0, pool.Count));
        var calls = new List<PoolCallRecord>();
        var failures = new List<PoolFailure>();
        int round = 0;
        double maxStd = 0, threshold = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            threshold = options.ThresholdEvPerA ?? options.ThresholdForceNoiseMultiple * model.ForceNoiseEvPerA;
            var predicted = new Dictionary<int, (CalculationResult Result, double[] Std)>();
            foreach (int i in remaining)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var p = model.Calculate(pool[i].CloneWithoutLabels(), CalculatorProperties.Forces | CalculatorProperties.Uncertainty, cancellationToken);
                predicted[i] = (p, AtomUncertainties(p.ForcesStdEvPerA!));
            }

            maxStd = predicted.Count == 0 ? 0 : predicted.Values.Max(p => p.Std.Max());
            var above = predicted.Where(p => p.Value.Std.Max() > threshold)
                .OrderByDescending(p => p.Value.Std.Max()).ThenBy(p => p.Key).Select(p => p.Key).ToList();
            int budget = options.MaxReferenceCalls - calls.Count;
            if (above.Count == 0 || budget <= 0)
            {
                break;
            }

            round++;
            var selected = above.Take(Math.Min(options.StructuresPerRound, budget)).Order().ToList();
            progress?.Report(new PoolSelectionProgress(round, calls.Count, maxStd, threshold, above.Count, selected.Count));

            var results = new ConcurrentDictionary<int, (CalculationResult Result, int Attempts)>();
            var failed = new ConcurrentDictionary<int, (Exception Error, int Attempts)>();
            OperationCanceledException? cancelled = null;
            try
            {
                await Parallel.ForEachAsync(selected, new ParallelOptions { MaxDegreeOfParallelism = options.MaxConcurrency, CancellationToken = cancellationToken }, async (i, ct) =>
                {
                    await Task.Yield(); // run the (blocking) calculation on a pool thread
                    var (result, attempts, error) = Calculate(reference, pool[i], i, refProperties, options, ct);
                    if (error is null)
                    {
                        results[i] = (result!, attempts);
                    }
                    else
                    {
                        failed[i] = (error, attempts);
                    }
                }).ConfigureAwait(false);
            }
            catch (OperationCanceledException e) when (cancellationToken.IsCancellationRequested)
            {
                cancelled = e;
            }

            // The model's energies before the round (the errors are those of the model that chose the structures).
            var modelEnergies = new Dictionary<int, double?>();
            foreach (int i in selected)
            {
                modelEnergies[i] = results.TryGetValue(i, out var done) && done.Result.EnergyEv is not null
                    ? model.Calculate(pool[i].CloneWithoutLabels(), CalculatorProperties.Energy, CancellationToken.None).EnergyEv
                    : null;
            }

            // Add what came back, in pool order: the same model whatever the completion order.
            foreach (int i in selected)
            {
                if (!results.TryGetValue(i, out var r))
                {
                    continue;
                }

                var (prediction, std) = predicted[i];
                var order = Enumerable.Range(0, std.Length).OrderByDescending(a => std[a]).ThenBy(a => a).ToArray();
                int count = options.AtomsPerCall is int k ? Math.Min(k, order.Length) : Math.Max(1, order.Count(a => std[a] > threshold));
                var atoms = order[..count];
                var (mae, worst) = ForceErrors(prediction.ForcesEvPerA!, r.Result.ForcesEvPerA!);
                double? modelEnergy = modelEnergies[i];
                var labelled = pool[i].CloneWithoutLabels();
                r.Result.ApplyAsLabels(labelled);
                model.AddTrainingData(labelled, atoms, CancellationToken.None);
                remaining.Remove(i);
                calls.Add(new PoolCallRecord(calls.Count + 1, round, i, std.Max(), threshold, atoms, mae, worst,
                    modelEnergy is double em && r.Result.EnergyEv is double er ? em - er : null, r.Attempts));
            }

            foreach (var (i, f) in failed.OrderBy(p => p.Key))
            {
                remaining.Remove(i);
                failures.Add(new PoolFailure(round, i, f.Attempts, f.Error.Message));
            }

            if (cancelled is not null)
            {
                throw cancelled;
            }

            if (results.IsEmpty && !failed.IsEmpty)
            {
                var (first, f0) = failed.OrderBy(p => p.Key).First();
                throw new ReferenceCalculationException(string.Create(CultureInfo.InvariantCulture,
                    $"Every reference calculation ({reference.GetType().Name}) of round {round} failed ({failed.Count} structures, {f0.Attempts} attempt(s) each); the selection stopped with {calls.Count} structures added. First error (pool structure {first + 1}): {f0.Error.Message}"), f0.Error)
                {
                    Step = first, // the pool index
                    Attempts = f0.Attempts,
                };
            }

            if (options.RefitEvery > 0 && round % options.RefitEvery == 0)
            {
                model.Refit(cancellationToken);
            }
        }

        bool refitted = false;
        if (options.RefitAtEnd && calls.Count > 0)
        {
            model.Refit(cancellationToken);
            refitted = true;
            maxStd = remaining.Count == 0 ? 0 : remaining.Max(i => AtomUncertainties(model.Calculate(pool[i].CloneWithoutLabels(),
                CalculatorProperties.Forces | CalculatorProperties.Uncertainty, cancellationToken).ForcesStdEvPerA!).Max());
            threshold = options.ThresholdEvPerA ?? options.ThresholdForceNoiseMultiple * model.ForceNoiseEvPerA;
        }

        progress?.Report(new PoolSelectionProgress(round, calls.Count, maxStd, threshold, 0, 0));
        return new PoolSelectionResult(calls, failures, round, maxStd <= threshold, maxStd, refitted);
    }

    private static (CalculationResult? Result, int Attempts, Exception? Error) Calculate(ICalculator reference, Structure structure, int index,
        CalculatorProperties properties, PoolSelectionOptions options, CancellationToken ct)
    {
        for (int attempt = 1; ; attempt++)
        {
            ct.ThrowIfCancellationRequested();
            try
            {
                var result = reference.Calculate(structure.CloneWithoutLabels(), properties, ct);
                if (result.ForcesEvPerA is not { } f || f.Length != structure.AtomCount || f.Any(v => !v.IsFinite))
                {
                    throw new InvalidOperationException($"{reference.GetType().Name} returned no finite force for every atom.");
                }

                return (result, attempt, null);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception e)
            {
                bool again = attempt < options.MaxAttempts && (options.Retry?.Invoke(new ReferenceFailure(index, attempt, e)) ?? true);
                if (!again)
                {
                    return (null, attempt, e);
                }
            }
        }
    }

    private static (double Mae, double Max) ForceErrors(Vec3[] model, Vec3[] reference)
    {
        double sum = 0, worst = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            for (int c = 0; c < 3; c++)
            {
                double e = Math.Abs(model[i][c] - reference[i][c]);
                sum += e;
                worst = Math.Max(worst, e);
            }
        }

        return (sum / (3.0 * reference.Length), worst);
    }

    /// <summary>Per atom, the largest standard deviation of its three force components, eV/Å.</summary>
    internal static double[] AtomUncertainties(Vec3[] std)
    {
        var u = new double[std.Length];
        for (int i = 0; i < std.Length; i++)
        {
            u[i] = Math.Max(Math.Abs(std[i].X), Math.Max(Math.Abs(std[i].Y), Math.Abs(std[i].Z)));
        }

        return u;
    }
}
