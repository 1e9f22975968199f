using System.Globalization;
using Gpff.Geometry;
using Gpff.Regression;

namespace Gpff;

/// <summary>What a sparse force field's training did.</summary>
public sealed record SparseTrainingReport
{
    /// <summary>Training structures.</summary>
    public required int Structures { get; init; }

    /// <summary>Training labels.</summary>
    public required long Labels { get; init; }

    /// <summary>Inducing environments M.</summary>
    public required int InducingCount { get; init; }

    /// <summary>How they were chosen.</summary>
    public required InducingSelectionMethod Selection { get; init; }

    /// <summary>The hyperparameter fit, when one was run.</summary>
    public HyperparameterFitResult? Fit { get; init; }

    /// <summary>Jitter added to K_uu, relative to its mean diagonal.</summary>
    public required double InducingJitter { get; init; }

    /// <summary>Training residuals per composition.</summary>
    public required IReadOnlyList<ErrorSummary> Residuals { get; init; }

    /// <summary>Wall-clock seconds.</summary>
    public required double Seconds { get; init; }
}

/// <summary>
/// The facade of a sparse GP force field (<see cref="SparseGaussianProcess"/>): the same kernels,
/// settings, noises and label kinds as <see cref="ForceField"/>, with M inducing local environments
/// chosen among the training atoms, so that memory does not grow with the training data. A calculator
/// (<see cref="ICalculator"/>) for molecular dynamics, relaxation and prediction; saved in the sparse
/// model file kind (<see cref="ModelFile.SaveSparse"/>). Standard deviations are those of the latent
/// function (DTC by default), not calibrated.
/// </summary>
public sealed partial class SparseForceField : ICalculator
{
    private readonly ForceFieldSettings _settings;
    private readonly SparseGaussianProcessOptions _options;

    private SparseForceField(ForceFieldSettings settings, SparseGaussianProcessOptions options, SparseGaussianProcess? model, LabelKinds labels)
    {
        _settings = settings;
        _options = options;
        Model = model;
        Labels = labels;
    }

    /// <summary>The underlying sparse GP (null before training).</summary>
    public SparseGaussianProcess? Model { get; private set; }

    /// <summary>Label kinds used when training.</summary>
    public LabelKinds Labels { get; }

    /// <summary>Species the model was trained on (atomic numbers), empty before training.</summary>
    public IReadOnlyList<int> Species => Model?.ReferenceEnergies?.Species ?? [];

    /// <summary>
    /// The objective of the sparse fit when no <see cref="HyperparameterFitOptions"/> are given (<see cref="Train"/>) and of
    /// <c>gpff train --sparse M --fit</c> without --objective: the sparse (DTC) marginal likelihood, one streamed pass per
    /// evaluation. Chosen by cross-validation with per-fold fits on data/barho-train.extxyz (docs/DESIGN.md, "The solver", the sparse GP's
    /// accuracy): the sparse GP's own leave-one-structure-out fit (<see cref="HyperparameterFitOptions.Objective"/>, two passes
    /// per evaluation) has 10 % lower energy errors (5.89 against 6.54 meV/atom) but 8 % higher force, 14 % higher force-RMSE
    /// and 18 % higher stress errors, and ran ℓ₂ to its lower bound in 4 of 6 folds.
    /// The sharded fit (<c>--slurm</c>) evaluates the marginal likelihood only.
    /// </summary>
    public const HyperparameterObjective DefaultFitObjective = HyperparameterObjective.MarginalLikelihood;

    /// <summary>Creates an untrained sparse force field.</summary>
    /// <param name="settings">Cutoffs, hyperparameters, noises, label kinds (null: defaults).</param>
    /// <param name="options">Sparse GP options (threads, variance kind, jitter policy).</param>
    public static SparseForceField Create(ForceFieldSettings? settings = null, SparseGaussianProcessOptions? options = null)
    {
        settings ??= new ForceFieldSettings();
        return new SparseForceField(settings, options ?? new SparseGaussianProcessOptions(), null, settings.Labels);
    }

    /// <summary>
    /// Chooses <paramref name="inducingCount"/> inducing environments among the training atoms by
    /// <paramref name="selection"/>, trains (one streamed pass), optionally fits the hyperparameters and
    /// noises (by <see cref="HyperparameterFitOptions.Objective"/> of <paramref name="fitOptions"/>, or
    /// <see cref="DefaultFitObjective"/> without them; one or two passes per evaluation), and reports the training
    /// residuals. <paramref name="structures"/> is enumerated several times (selection, training, residuals,
    /// each fit evaluation); a list or a file reader re-opened on each enumeration.
    /// </summary>
    /// <param name="structures">Labelled structures.</param>
    /// <param name="inducingCount">M, at most the number of training atoms.</param>
    /// <param name="selection">How to choose them.</param>
    /// <param name="seed">Seed of random and k-means++ selection.</param>
    /// <param name="fitHyperparameters">Fit hyperparameters and noises.</param>
    /// <param name="fitOptions">Fit options (null: the defaults with <see cref="DefaultFitObjective"/>).</param>
    /// <param name="progress">Human-readable progress lines.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    public SparseTrainingReport Train(IEnumerable<Structure> structures, int inducingCount, InducingSelectionMethod selection = InducingSelectionMethod.Variance, int seed = 0,
        bool fitHyperparameters = false, HyperparameterFitOptions? fitOptions = null, IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(structures);
        ArgumentOutOfRangeException.ThrowIfLessThan(inducingCount, 1);
        var started = System.Diagnostics.Stopwatch.StartNew();
        var kernel = _settings.WithSpeciesOf(structures).BuildKernel();
        progress?.Report(string.Create(CultureInfo.InvariantCulture, $"choosing {inducingCount} inducing environments ({InducingSelection.Name(selection)})"));
        var inducing = InducingSelection.Select(selection, structures, kernel, inducingCount, seed, cancellationToken);
        var model = new SparseGaussianProcess(kernel, _settings.Noise, inducing, _options);
        model.Train(structures, Labels, null, cancellationToken);
        progress?.Report(string.Create(CultureInfo.InvariantCulture, $"trained on {model.TrainingStructureCount} structures, {model.LabelCount} labels, {model.InducingCount} inducing environments"));
        HyperparameterFitResult? fit = null;
        if (fitHyperparameters)
        {
            fit = HyperparameterFit.Fit(model, structures, Labels, fitOptions ?? new HyperparameterFitOptions { Objective = DefaultFitObjective }, null, cancellationToken);
            progress?.Report(fit.ToString());
        }

        Model = model;
        var residuals = ErrorSummary.Compute(structures.Select(s => (s, model.Predict(s, uncertainty: false, cancellationToken))));
        return new SparseTrainingReport
        {
            Structures = model.TrainingStructureCount,
            Labels = model.LabelCount,
            InducingCount = model.InducingCount,
            Selection = selection,
            Fit = fit,
            InducingJitter = model.InducingJitter,
            Residuals = residuals,
            Seconds = started.Elapsed.TotalSeconds,
        };
    }

    /// <summary>Predicts energy, forces, stress and local energies with latent standard deviations.</summary>
    /// <param name="structure">The structure; its species must be among <see cref="Species"/>.</param>
    /// <param name="uncertainty">Whether to compute standard deviations.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    public GpPrediction Predict(Structure structure, bool uncertainty = true, CancellationToken cancellationToken = default) =>
        Trained(structure).Predict(structure, uncertainty, cancellationToken);

    /// <summary>Every property, each with its standard deviation.</summary>
    public CalculatorProperties ImplementedProperties => CalculatorProperties.All;

    /// <summary>
    /// Predicts only what is asked (see <see cref="SparseGaussianProcess.Calculate"/>). Without
    /// <see cref="CalculatorProperties.Uncertainty"/> (molecular dynamics, relaxation), a model with the B2
    /// kernel at power 2 predicts through its <see cref="B2MeanMap"/> (built on first use), which equals
    /// the sparse GP's mean to round-off.
    /// </summary>
    /// <param name="structure">The structure; its species must be among <see cref="Species"/>.</param>
    /// <param name="properties">What to predict.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    public CalculationResult Calculate(Structure structure, CalculatorProperties properties, CancellationToken cancellationToken = default)
    {
        var model = Trained(structure);
        if (!properties.HasFlag(CalculatorProperties.Uncertainty) && B2MeanMap.Supports(model))
        {
            var map = _meanMap;
            if (map is null || !ReferenceEquals(_meanMapModel, model) || !map.IsCurrent(model))
            {
                map = new B2MeanMap(model);
                (_meanMap, _meanMapModel) = (map, model);
            }

            return map.Calculate(structure, properties, cancellationToken);
        }

        return model.Calculate(structure, properties, cancellationToken);
    }

    private B2MeanMap? _meanMap;
    private SparseGaussianProcess? _meanMapModel;

    /// <summary>Saves the trained model (sparse model file kind).</summary>
    /// <param name="path">Destination.</param>
    /// <param name="metadata">Provenance to store.</param>
    public void Save(string path, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var model = Model ?? throw new InvalidOperationException("Only a trained force field can be saved: call Train first.");
        ModelFile.SaveSparse(model, path, metadata, Labels);
    }

    /// <summary>Loads a sparse force field saved by <see cref="Save"/>.</summary>
    /// <param name="path">The model file.</param>
    /// <param name="maxDegreeOfParallelism">Threads (default: all cores).</param>
    public static SparseForceField Load(string path, int maxDegreeOfParallelism = -1)
    {
        var model = ModelFile.LoadSparse(path, out var labels, maxDegreeOfParallelism);
        var k = model.Kernel.Descriptor;
        var settings = new ForceFieldSettings { PairCutoffA = k.PairCutoffA, TripletCutoffA = k.TripletCutoffA, CutoffFunction = k.CutoffFunction, Noise = model.Noise, Labels = labels };
        return new SparseForceField(settings, model.Options, model, labels);
    }

    /// <summary>
    /// Loads any model file as a calculator: a <see cref="SparseForceField"/> for the sparse kind, a
    /// <see cref="ForceField"/> otherwise, for tools that only predict (MD, relaxation, predict).
    /// </summary>
    /// <param name="path">The model file.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    public static ICalculator LoadCalculator(string path, CancellationToken cancellationToken = default) =>
        ModelFile.IsSparse(path) ? Load(path) : ForceField.Load(path, cancellationToken: cancellationToken);

    private SparseGaussianProcess Trained(Structure structure)
    {
        ArgumentNullException.ThrowIfNull(structure);
        var model = Model ?? throw new InvalidOperationException("The sparse force field is not trained: call Train first.");
        var known = Species;
        for (int i = 0; i < structure.AtomCount; i++)
        {
            if (!known.Contains(structure.AtomicNumbers[i]))
            {
                throw new ArgumentException($"Atom {i} is {structure.Symbol(i)}, a species the force field was not trained on (it knows {string.Join(", ", known.Select(Elements.Symbol))}).");
            }
        }

        return model;
    }
}
