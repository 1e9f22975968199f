using System.Globalization;
using Gpff.Regression;

namespace Gpff;

/// <summary>
/// How predictive standard deviations did on held-out labels of one kind: z = error/σ. For a
/// calibrated σ, rms(z) ≈ 1 and about 68 % of |z| ≤ 1 (Gaussian errors).
/// </summary>
/// <param name="Kind">Energy (total energies) or forces (components).</param>
/// <param name="Labels">Held-out labels of that kind with σ &gt; 0 (a force component fixed by symmetry has a latent σ of 0 and is left out).</param>
/// <param name="RmsZ">rms(error/σ).</param>
/// <param name="WithinOneSigma">Fraction of |error| ≤ σ.</param>
public sealed record HeldOutCalibration(LabelKinds Kind, int Labels, double RmsZ, double WithinOneSigma)
{
    /// <summary>One table row.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{(Kind == LabelKinds.Energy ? "energy" : "forces"),-7} {Labels,5} labels   rms(error/σ) {RmsZ,6:F2}   within 1σ {WithinOneSigma,6:P1}");

    /// <summary>The figures of normalised errors z = error/σ (null when there are none).</summary>
    /// <param name="kind">The label kind.</param>
    /// <param name="z">Normalised errors.</param>
    public static HeldOutCalibration? FromNormalisedErrors(LabelKinds kind, IReadOnlyCollection<double> z)
    {
        ArgumentNullException.ThrowIfNull(z);
        return z.Count == 0 ? null : new HeldOutCalibration(kind, z.Count, Math.Sqrt(z.Average(x => x * x)), z.Count(x => Math.Abs(x) <= 1) / (double)z.Count);
    }

    /// <summary>Energy and force figures of predictions (with standard deviations, of whatever kind they were asked) against labelled structures.</summary>
    /// <param name="pairs">Labelled structures and their predictions.</param>
    public static IReadOnlyList<HeldOutCalibration> Compute(IEnumerable<(Structure Truth, GpPrediction Prediction)> pairs)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        var list = pairs.Select(p => new CrossValidationPrediction(0, p.Truth, p.Prediction, 0, 0)).ToList();
        return new[] { LabelKinds.Energy, LabelKinds.Forces }
            .Select(k => FromNormalisedErrors(k, CrossValidation.NormalisedErrors(list, k, label: false).ToList()))
            .OfType<HeldOutCalibration>().ToList();
    }
}

/// <summary>One held-out structure's prediction in a cross-validation.</summary>
/// <param name="Fold">The fold whose model predicted it.</param>
/// <param name="Truth">The labelled structure.</param>
/// <param name="Prediction">The prediction with latent, calibrated standard deviations.</param>
/// <param name="EnergyLabelNoiseVarianceEv2">The calibrated noise variance of its total-energy label, eV².</param>
/// <param name="ForceLabelNoiseVarianceEv2PerA2">The calibrated noise variance of one force component, eV²/Å².</param>
public sealed record CrossValidationPrediction(int Fold, Structure Truth, GpPrediction Prediction, double EnergyLabelNoiseVarianceEv2, double ForceLabelNoiseVarianceEv2PerA2);

/// <summary>The outcome of <see cref="CrossValidation.Run"/>.</summary>
public sealed record CrossValidationResult
{
    /// <summary>Number of folds.</summary>
    public required int Folds { get; init; }

    /// <summary>Held-out errors per composition and overall (last), every structure predicted by the model of the fold that left it out.</summary>
    public required IReadOnlyList<ErrorSummary> Errors { get; init; }

    /// <summary>Held-out calibration of the latent energy and force standard deviations (calibrated by each fold's model).</summary>
    public required IReadOnlyList<HeldOutCalibration> LatentCalibration { get; init; }

    /// <summary>Held-out calibration of the standard deviations of noisy DFT labels (latent and calibrated label noise).</summary>
    public required IReadOnlyList<HeldOutCalibration> LabelCalibration { get; init; }

    /// <summary>Every held-out prediction.</summary>
    public required IReadOnlyList<CrossValidationPrediction> Predictions { get; init; }

    /// <summary>The training report of each fold (hyperparameters fitted, LOSO errors, calibration).</summary>
    public required IReadOnlyList<TrainingReport> FoldReports { get; init; }

    /// <summary>The hyperparameters and noises of each fold's model, as "name=value" lists.</summary>
    public required IReadOnlyList<string> FoldHyperparameters { get; init; }
}

/// <summary>
/// K-fold cross-validation over structures, stratified by composition: the j-th structure (in file
/// order) of each reduced formula goes to fold j mod K, so every fold holds every composition and
/// every structure is predicted once by a model that never saw it, trained (and, on request, fitted
/// and calibrated) exactly as <see cref="ForceField.Train"/> trains. What the default of
/// <c>gpff train --fit</c> was chosen by (docs/DESIGN.md).
/// </summary>
public static class CrossValidation
{
    /// <summary>The fold of each structure: j mod K for the j-th structure of its reduced formula.</summary>
    /// <param name="structures">The structures, in order.</param>
    /// <param name="folds">K ≥ 2.</param>
    public static int[] AssignFolds(IReadOnlyList<Structure> structures, int folds)
    {
        ArgumentNullException.ThrowIfNull(structures);
        if (folds < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(folds), folds, "Cross-validation needs at least 2 folds.");
        }

        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        var fold = new int[structures.Count];
        for (int i = 0; i < structures.Count; i++)
        {
            string key = structures[i].ReducedFormula();
            int c = seen.TryGetValue(key, out int v) ? v : 0;
            seen[key] = c + 1;
            fold[i] = c % folds;
        }

        return fold;
    }

    /// <summary>The folds of <see cref="AssignFolds"/>, checked: every fold must hold a structure.</summary>
    /// <param name="structures">The structures, in order.</param>
    /// <param name="folds">K ≥ 2.</param>
    /// <exception cref="ArgumentException">No composition has K structures, so a fold would be empty.</exception>
    public static int[] CheckFolds(IReadOnlyList<Structure> structures, int folds)
    {
        var fold = AssignFolds(structures, folds);
        int largest = fold.Length == 0 ? 0 : fold.Max() + 1;
        if (largest < folds)
        {
            throw new ArgumentException($"{folds} folds need at least {folds} structures of one composition; the largest composition has {largest}.", nameof(folds));
        }

        return fold;
    }

    /// <summary>Runs the cross-validation.</summary>
    /// <param name="structures">Labelled structures.</param>
    /// <param name="settings">Settings of every fold's force field (the fit's starting point with <paramref name="fit"/>).</param>
    /// <param name="folds">K ≥ 2; every fold must leave at least one structure to train on.</param>
    /// <param name="fit">Whether each fold fits its hyperparameters.</param>
    /// <param name="fitOptions">Options of the fits.</param>
    /// <param name="options">GP options of every fold's model.</param>
    /// <param name="progress">Human-readable progress lines; when it is also an <see cref="IProgress{T}"/> of <see cref="GpProgress"/>, it gets the folds done too (for progress bars).</param>
    /// <param name="cancellationToken">Cancellation.</param>
    public static CrossValidationResult Run(IReadOnlyList<Structure> structures, ForceFieldSettings settings, int folds, bool fit,
        HyperparameterFitOptions? fitOptions = null, GaussianProcessOptions? options = null, IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var fold = CheckFolds(structures, folds);

        var predictions = new List<CrossValidationPrediction>();
        var reports = new List<TrainingReport>();
        var hyper = new List<string>();
        for (int k = 0; k < folds; k++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var train = structures.Where((_, i) => fold[i] != k).ToList();
            var held = structures.Where((_, i) => fold[i] == k).ToList();
            (progress as IProgress<GpProgress>)?.Report(new GpProgress("cross-validation folds", k, folds));
            progress?.Report(string.Create(CultureInfo.InvariantCulture, $"fold {k + 1}/{folds}: training on {train.Count} structures, predicting {held.Count}"));
            var ff = ForceField.Create(settings, (options ?? new GaussianProcessOptions()) with { Uncertainty = UncertaintyKind.Latent });
            reports.Add(ff.Train(train, fit, fitOptions, cancellationToken: cancellationToken));
            var model = ff.Model;
            hyper.Add(string.Join(", ", model.Kernel.HyperparameterNames.Select((n, i) => string.Create(CultureInfo.InvariantCulture, $"{n}={model.Kernel.Hyperparameters[i]:G4}"))
                .Concat(NoiseLevels.Names.Select((n, i) => string.Create(CultureInfo.InvariantCulture, $"{n}={model.Noise.ToArray()[i]:G4}")))));
            foreach (var s in held)
            {
                predictions.Add(new CrossValidationPrediction(k, s, ff.Predict(s, uncertainty: true, cancellationToken),
                    model.CalibratedNoiseVariance(LabelKinds.Energy, s.AtomCount), model.CalibratedNoiseVariance(LabelKinds.Forces, s.AtomCount)));
            }
        }

        (progress as IProgress<GpProgress>)?.Report(new GpProgress("cross-validation folds", folds, folds));
        return new CrossValidationResult
        {
            Folds = folds,
            Errors = ErrorSummary.Compute(predictions.Select(p => (p.Truth, p.Prediction))),
            LatentCalibration = Calibrate(predictions, label: false),
            LabelCalibration = Calibrate(predictions, label: true),
            Predictions = predictions,
            FoldReports = reports,
            FoldHyperparameters = hyper,
        };
    }

    /// <summary>
    /// The normalised held-out errors z = error/σ of one label kind (energy: total energies; forces:
    /// components), with σ latent or that of a noisy label. Labels whose σ is 0 are left out: force
    /// components fixed by symmetry (an atom at a centre of inversion), where the kernel's own prior
    /// variance is 0 and the DFT label differs from 0 only by its convergence error.
    /// </summary>
    /// <param name="predictions">Held-out predictions.</param>
    /// <param name="kind"><see cref="LabelKinds.Energy"/> or <see cref="LabelKinds.Forces"/>.</param>
    /// <param name="label">True for the σ of a noisy DFT label, false for the latent σ.</param>
    public static IEnumerable<double> NormalisedErrors(IEnumerable<CrossValidationPrediction> predictions, LabelKinds kind, bool label)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        foreach (var p in predictions)
        {
            var t = p.Truth;
            var g = p.Prediction;
            if (kind == LabelKinds.Energy && t.EnergyEv is double e)
            {
                double v = g.EnergyStdEv * g.EnergyStdEv + (label ? p.EnergyLabelNoiseVarianceEv2 : 0);
                if (v > 0)
                {
                    yield return (e - g.EnergyEv) / Math.Sqrt(v);
                }
            }
            else if (kind == LabelKinds.Forces && t.ForcesEvPerA is { } f && g.ForcesStdEvPerA is { } sd)
            {
                for (int i = 0; i < t.AtomCount; i++)
                {
                    for (int c = 0; c < 3; c++)
                    {
                        double v = sd[i][c] * sd[i][c] + (label ? p.ForceLabelNoiseVarianceEv2PerA2 : 0);
                        if (v > 0)
                        {
                            yield return (f[i][c] - g.ForcesEvPerA[i][c]) / Math.Sqrt(v);
                        }
                    }
                }
            }
        }
    }

    private static List<HeldOutCalibration> Calibrate(List<CrossValidationPrediction> predictions, bool label) =>
        new[] { LabelKinds.Energy, LabelKinds.Forces }
            .Select(k => HeldOutCalibration.FromNormalisedErrors(k, NormalisedErrors(predictions, k, label).ToList()))
            .OfType<HeldOutCalibration>().ToList();
}
