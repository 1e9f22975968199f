using System.Globalization;
using Gpff.Descriptors;
using Gpff.Geometry;
using Gpff.Kernels;
using Gpff.Regression;
using Gpff.Regression.Mapping;
using Gpff.Regression.Optimization;

namespace Gpff;

/// <summary>
/// What a force field is built from: cutoffs, the 2-/3-body kernel hyperparameters and the label
/// noises. σ₂ and σ₃ are the amplitudes (the kernel is proportional to their squares, as in FLARE),
/// ℓ₂ and ℓ₃ the length scales in Å. Noises are standard deviations: energy per atom (eV/atom; the
/// total energy of N atoms gets N times it), force (eV/Å), stress (eV/Å³).
/// </summary>
public sealed partial record ForceFieldSettings
{
    /// <summary>Default 2-body cutoff r_c2, Å.</summary>
    public const double DefaultPairCutoffA = 5.0;

    /// <summary>Default 3-body cutoff r_c3, Å.</summary>
    public const double DefaultTripletCutoffA = 3.5;

    /// <summary>Default 2-body amplitude σ₂, eV.</summary>
    public const double DefaultSigma2 = 0.1;

    /// <summary>Default 2-body length scale ℓ₂, Å.</summary>
    public const double DefaultLength2A = 0.4;

    /// <summary>Default 3-body amplitude σ₃, eV.</summary>
    public const double DefaultSigma3 = 0.02;

    /// <summary>Default 3-body length scale ℓ₃, Å.</summary>
    public const double DefaultLength3A = 0.3;

    /// <summary>2-body cutoff r_c2 in Å (default <see cref="DefaultPairCutoffA"/>).</summary>
    public double PairCutoffA { get; init; } = DefaultPairCutoffA;

    /// <summary>3-body cutoff r_c3 in Å (default <see cref="DefaultTripletCutoffA"/>; 0 for a 2-body-only force field).</summary>
    public double TripletCutoffA { get; init; } = DefaultTripletCutoffA;

    /// <summary>Cutoff function (default quadratic, (r_c − r)²).</summary>
    public CutoffFunction CutoffFunction { get; init; } = CutoffFunction.Quadratic;

    /// <summary>2-body amplitude σ₂ in eV (default <see cref="DefaultSigma2"/>).</summary>
    public double Sigma2 { get; init; } = DefaultSigma2;

    /// <summary>2-body length scale ℓ₂ in Å (default <see cref="DefaultLength2A"/>).</summary>
    public double Length2A { get; init; } = DefaultLength2A;

    /// <summary>3-body amplitude σ₃ in eV (default <see cref="DefaultSigma3"/>).</summary>
    public double Sigma3 { get; init; } = DefaultSigma3;

    /// <summary>3-body length scale ℓ₃ in Å (default <see cref="DefaultLength3A"/>).</summary>
    public double Length3A { get; init; } = DefaultLength3A;

    /// <summary>Label noises (default <see cref="NoiseLevels.Default"/>).</summary>
    public NoiseLevels Noise { get; init; } = NoiseLevels.Default;

    /// <summary>Label kinds to train on (default energies, forces and stresses).</summary>
    public LabelKinds Labels { get; init; } = LabelKinds.All;

    /// <summary>Species-pair groups of the 2-body kernel, each with its own σ₂ and ℓ₂ (default none: one pair shared by all).</summary>
    public IReadOnlyList<SpeciesGroup> PairGroups { get; init; } = [];

    /// <summary>Species-triplet groups of the 3-body kernel, each with its own σ₃ and ℓ₃ (default none).</summary>
    public IReadOnlyList<SpeciesGroup> TripletGroups { get; init; } = [];

    /// <summary>
    /// These settings with one 2-body group per species pair of <paramref name="atomicNumbers"/> but the
    /// first (by atomic number, which keeps the default σ₂, ℓ₂), each starting from the default σ₂ and ℓ₂:
    /// per-species-pair hyperparameters for a fit.
    /// </summary>
    /// <param name="atomicNumbers">The species of the training data.</param>
    public ForceFieldSettings WithPerPairGroups(IEnumerable<int> atomicNumbers)
    {
        ArgumentNullException.ThrowIfNull(atomicNumbers);
        var z = atomicNumbers.Distinct().Order().ToArray();
        var pairs = new List<string>();
        for (int a = 0; a < z.Length; a++)
        {
            for (int b = a; b < z.Length; b++)
            {
                pairs.Add($"{Elements.Symbol(z[a])}-{Elements.Symbol(z[b])}");
            }
        }

        return this with { PairGroups = pairs.Skip(1).Select(p => new SpeciesGroup([p], Sigma2, Length2A)).ToArray() };
    }

    /// <summary>The kernel these settings describe.</summary>
    public IKernel BuildKernel()
    {
        LocalKernel two = new TwoBodyKernel(PairCutoffA, Sigma2, Length2A, CutoffFunction, PairGroups.Count > 0 ? PairGroups : null);
        return WithManyBody(TripletCutoffA > 0 ? new SumKernel(two, new ThreeBodyKernel(TripletCutoffA, Sigma3, Length3A, CutoffFunction, TripletGroups.Count > 0 ? TripletGroups : null)) : two);
    }
}

/// <summary>Errors of a force field on labelled structures, overall and per composition.</summary>
/// <param name="Composition">Reduced formula, or "all".</param>
/// <param name="Structures">Number of structures.</param>
/// <param name="EnergyMaeMevPerAtom">Mean absolute error of the energy per atom, meV/atom (NaN without energy labels).</param>
/// <param name="ForceMaeMevPerA">Mean absolute error of the force components, meV/Å (NaN without force labels).</param>
/// <param name="StressMaeGpa">Mean absolute error of the stress components, GPa (NaN without stress labels).</param>
/// <param name="ForceRmseMevPerA">Root-mean-square error of the force components, meV/Å.</param>
public sealed record ErrorSummary(string Composition, int Structures, double EnergyMaeMevPerAtom, double ForceMaeMevPerA, double StressMaeGpa, double ForceRmseMevPerA)
{
    /// <summary>One table row.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Composition,-10} {Structures,4}  E {EnergyMaeMevPerAtom,8:F2} meV/atom  F {ForceMaeMevPerA,8:F1} meV/Å (RMSE {ForceRmseMevPerA,7:F1})  σ {StressMaeGpa,7:F3} GPa");

    /// <summary>Errors of predictions against the labels of the structures, per reduced formula and overall (last).</summary>
    /// <param name="pairs">Labelled structures with their predictions.</param>
    public static IReadOnlyList<ErrorSummary> Compute(IEnumerable<(Structure Truth, GpPrediction Prediction)> pairs)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        var list = pairs.ToList();
        var groups = list.GroupBy(p => p.Truth.ReducedFormula()).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => Summarise(g.Key, g.ToList())).ToList();
        groups.Add(Summarise("all", list));
        return groups;
    }

    /// <summary>
    /// Leave-one-structure-out errors (<see cref="GaussianProcess.LeaveOneStructureOut"/>): each training
    /// structure's labels against what the model trained on all the others predicts, per reduced formula
    /// and overall (last). Only the labels the structure was trained with count.
    /// </summary>
    /// <param name="predictions">LOSO predictions.</param>
    public static IReadOnlyList<ErrorSummary> FromLeaveOneOut(IEnumerable<LeaveOneOutPrediction> predictions)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        return FromLabelErrors(predictions.Select(p => (p.Entry.Structure, p.Kinds, p.Errors())));
    }

    /// <summary>
    /// Training residuals (<see cref="GaussianProcess.TrainingResiduals"/>, read off the factorisation in
    /// O(N)): the model's errors on its own training labels, per reduced formula and overall (last). Only
    /// the labels the structure was trained with count.
    /// </summary>
    /// <param name="residuals">The residuals.</param>
    public static IReadOnlyList<ErrorSummary> FromTrainingResiduals(IEnumerable<TrainingResidual> residuals)
    {
        ArgumentNullException.ThrowIfNull(residuals);
        return FromLabelErrors(residuals.Select(r => (r.Entry.Structure, r.Kinds, r.Errors())));
    }

    /// <summary>Per reduced formula and overall (last): signed errors (label − mean) of labels of the given kinds.</summary>
    private static IReadOnlyList<ErrorSummary> FromLabelErrors(IEnumerable<(Structure Structure, LabelKinds[] Kinds, double[] Errors)> items)
    {
        var list = items.ToList();
        ErrorSummary One(string name, List<(Structure Structure, LabelKinds[] Kinds, double[] Errors)> group)
        {
            var e = new List<double>();
            var f = new List<double>();
            var s = new List<double>();
            foreach (var (structure, kinds, errors) in group)
            {
                for (int i = 0; i < errors.Length; i++)
                {
                    switch (kinds[i])
                    {
                        case LabelKinds.Energy:
                            e.Add(Math.Abs(errors[i]) / structure.AtomCount * 1000);
                            break;
                        case LabelKinds.Forces:
                            f.Add(errors[i] * 1000);
                            break;
                        default:
                            s.Add(Math.Abs(Units.EvPerA3ToGpa(errors[i])));
                            break;
                    }
                }
            }

            return Summarise(name, group.Count, e, f, s);
        }

        var groups = list.GroupBy(p => p.Structure.ReducedFormula()).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => One(g.Key, g.ToList())).ToList();
        groups.Add(One("all", list));
        return groups;
    }

    private static ErrorSummary Summarise(string name, List<(Structure Truth, GpPrediction Prediction)> items)
    {
        var e = new List<double>();
        var f = new List<double>();
        var s = new List<double>();
        foreach (var (t, p) in items)
        {
            if (t.EnergyEv is double et)
            {
                e.Add(Math.Abs(et - p.EnergyEv) / t.AtomCount * 1000);
            }

            if (t.ForcesEvPerA is { } ft)
            {
                for (int i = 0; i < t.AtomCount; i++)
                {
                    for (int c = 0; c < 3; c++)
                    {
                        f.Add((ft[i][c] - p.ForcesEvPerA[i][c]) * 1000);
                    }
                }
            }

            if (t.StressEvPerA3 is { } st && p.StressEvPerA3 is { } sp)
            {
                for (int v = 0; v < 6; v++)
                {
                    s.Add(Math.Abs(Units.EvPerA3ToGpa(st[v] - sp[v])));
                }
            }
        }

        return Summarise(name, items.Count, e, f, s);
    }

    /// <summary>The summary of absolute energy errors (meV/atom), signed force errors (meV/Å) and absolute stress errors (GPa).</summary>
    private static ErrorSummary Summarise(string name, int structures, List<double> e, List<double> f, List<double> s) =>
        new(name, structures, e.Count > 0 ? e.Average() : double.NaN, f.Count > 0 ? f.Average(Math.Abs) : double.NaN,
            s.Count > 0 ? s.Average() : double.NaN, f.Count > 0 ? Math.Sqrt(f.Average(x => x * x)) : double.NaN);
}

/// <summary>What training did.</summary>
public sealed record TrainingReport
{
    /// <summary>Number of training structures.</summary>
    public required int Structures { get; init; }

    /// <summary>Number of labels N (size of the covariance matrix).</summary>
    public required int Labels { get; init; }

    /// <summary>The hyperparameter fit, when one was done.</summary>
    public HyperparameterFitResult? Fit { get; init; }

    /// <summary>
    /// Training residuals (the model's errors on its own training labels, <see cref="GaussianProcess.TrainingResiduals"/>)
    /// per composition; labels a structure carries but was not trained on do not count.
    /// </summary>
    public required IReadOnlyList<ErrorSummary> Residuals { get; init; }

    /// <summary>
    /// Closed-form leave-one-structure-out errors per composition (each structure predicted by the model
    /// trained on all the others, same hyperparameters and reference energies): an estimate of the
    /// errors on unseen structures. Null when training was asked not to calibrate.
    /// </summary>
    public IReadOnlyList<ErrorSummary>? LeaveOneOut { get; init; }

    /// <summary>
    /// The uncertainty calibration fitted to the LOSO residuals and how it does per label kind:
    /// rms(error/σ) and the fraction of errors within one σ before and after (σ of the noisy label).
    /// Null when training was asked not to calibrate.
    /// </summary>
    public IReadOnlyList<CalibrationCheck>? Calibration { get; init; }

    /// <summary>Seconds spent on the LOSO predictions and calibration (included in <see cref="Seconds"/>).</summary>
    public double CalibrationSeconds { get; init; }

    /// <summary>Jitter added to factor the covariance matrix (0 normally).</summary>
    public required double JitterAdded { get; init; }

    /// <summary>Seconds spent.</summary>
    public required double Seconds { get; init; }
}

/// <summary>
/// A Gaussian-process force field: the one entry point most users need. Build it from settings, train
/// it on labelled structures (pw.x data, for instance, read with <c>ExtXyz.Read</c>), save and load it,
/// and use it as an <see cref="ICalculator"/> whose results carry predictive standard deviations.
/// </summary>
/// <example>
/// <code>
/// var ff = ForceField.Create(new ForceFieldSettings { PairCutoffA = 5.0, TripletCutoffA = 3.5 });
/// ff.Train(ExtXyz.Read("train.extxyz"), fitHyperparameters: true);
/// ff.Save("barho.gpff");
/// var result = ForceField.Load("barho.gpff").Calculate(structure);   // energy, forces, stress, with std
/// var forces = ff.Calculate(structure, CalculatorProperties.Forces).ForcesEvPerA;   // the fast path of MD
/// </code>
/// </example>
public sealed class ForceField : ILearningCalculator
{
    private ForceField(GaussianProcess model, LabelKinds labels)
    {
        Model = model;
        Labels = labels;
    }

    /// <summary>The underlying GP (for advanced use: likelihood, joint covariances, labels).</summary>
    public GaussianProcess Model { get; }

    /// <summary>Label kinds used when training.</summary>
    public LabelKinds Labels { get; }

    private MappedForceField? _mapped;
    private double[] _mappedAlpha = [];

    /// <summary>
    /// The mapped GP of the model as it is now (built by <see cref="ToMapped"/> or loaded with the model by
    /// <see cref="Load"/>), or null: none was built, or the model changed since (training, added data or a
    /// refit change α, and a map of the old α would be silently wrong). <see cref="Save"/> stores it in the
    /// model file.
    /// </summary>
    public MappedForceField? Mapped => _mapped is not null && Model.IsTrained && Model.Alpha.SequenceEqual(_mappedAlpha) ? _mapped : null;

    /// <summary>Species the model was trained on (atomic numbers), empty before training.</summary>
    public IReadOnlyList<int> Species => Model.ReferenceEnergies?.Species ?? [];

    /// <summary>Creates an untrained force field.</summary>
    /// <param name="settings">Cutoffs, hyperparameters, noises (null: defaults).</param>
    /// <param name="options">GP options (threads, jitter policy, fixed reference energies).</param>
    public static ForceField Create(ForceFieldSettings? settings = null, GaussianProcessOptions? options = null)
    {
        settings ??= new ForceFieldSettings();
        return new ForceField(new GaussianProcess(settings.BuildKernel(), settings.Noise, options), settings.Labels);
    }

    /// <summary>Wraps an existing GP.</summary>
    /// <param name="model">The GP.</param>
    /// <param name="labels">Label kinds for further training data.</param>
    public static ForceField FromModel(GaussianProcess model, LabelKinds labels = LabelKinds.All)
    {
        ArgumentNullException.ThrowIfNull(model);
        return new ForceField(model, labels);
    }

    /// <summary>
    /// Adds labelled structures and trains: assembles and factors the covariance matrix, optionally
    /// after fitting the hyperparameters and noises (objective of <see cref="HyperparameterFitOptions.Objective"/>, starting from the
    /// current values). Then, unless <paramref name="calibrate"/> is false, computes the closed-form
    /// leave-one-structure-out predictions (<see cref="GaussianProcess.LeaveOneStructureOut"/>; O(N²)
    /// per label, about as much as one more factorisation) and sets the model's
    /// <see cref="GaussianProcess.Calibration"/> from them (<see cref="UncertaintyCalibration.FromLeaveOneOut"/>),
    /// so that every standard deviation the force field reports is calibrated. Without calibration the
    /// model keeps the calibration it had (none for a new force field).
    /// </summary>
    /// <param name="structures">Labelled structures.</param>
    /// <param name="fitHyperparameters">Fit hyperparameters and noises first.</param>
    /// <param name="fitOptions">Fit options (null: defaults).</param>
    /// <param name="progress">Human-readable progress lines; when it is also an <see cref="IProgress{T}"/> of <see cref="GpProgress"/>, it gets the stages' counts too (for progress bars).</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <param name="calibrate">Compute the LOSO errors and calibrate the standard deviations (default true).</param>
    /// <returns>What was done, with the training residuals, the LOSO errors and the calibration.</returns>
    public TrainingReport Train(IEnumerable<Structure> structures, bool fitHyperparameters = false, HyperparameterFitOptions? fitOptions = null,
        IProgress<string>? progress = null, CancellationToken cancellationToken = default, bool calibrate = true)
    {
        ArgumentNullException.ThrowIfNull(structures);
        var started = System.Diagnostics.Stopwatch.StartNew();
        int added = 0;
        foreach (var s in structures)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Model.Add(s, Labels, cancellationToken: cancellationToken); // a block update once trained
            added++;
        }

        progress?.Report(string.Create(CultureInfo.InvariantCulture, $"{added} structures added: {Model.Training.Count} structures, {Model.LabelCount} labels"));
        if (!Model.IsTrained)
        {
            // The covariance matrix of N labels and its Cholesky factor: two N × N float64 matrices.
            double n = Model.LabelCount;
            ResourceGuard.EnsureFits(2 * n * n * sizeof(double),
                string.Create(CultureInfo.InvariantCulture, $"Training on {Model.LabelCount} labels (the covariance matrix and its factor, 2 × N² × 8 bytes)"),
                "train on fewer structures or label kinds (forces are 3 labels per atom)");
        }

        HyperparameterFitResult? fit = null;
        if (fitHyperparameters)
        {
            var reporter = progress is null ? null : new ProgressAdapter<OptimizationProgress>(p =>
                progress.Report(string.Create(CultureInfo.InvariantCulture, $"  fit iteration {p.Iteration,3}: −objective {p.Value:F4}, |projected gradient| {p.ProjectedGradientNorm:G3}")));
            progress?.Report($"fitting hyperparameters (maximum {HyperparameterFitResult.ObjectiveNameOf((fitOptions ?? new HyperparameterFitOptions()).Objective)} over energies, forces and stresses)...");
            fit = HyperparameterFit.Fit(Model, fitOptions, reporter, cancellationToken);
            progress?.Report(fit.ToString());
        }
        else if (!Model.IsTrained)
        {
            var reporter = progress is null ? null : new ProgressAdapter<GpProgress>(p =>
            {
                (progress as IProgress<GpProgress>)?.Report(p);
                if (p.Done == p.Total)
                {
                    progress.Report($"  {p.Stage}: done ({p.Total})");
                }
            });
            Model.Train(reporter, cancellationToken);
        }

        var residuals = ErrorSummary.FromTrainingResiduals(Model.TrainingResiduals());   // O(N), from α and the noise
        IReadOnlyList<ErrorSummary>? loso = null;
        IReadOnlyList<CalibrationCheck>? checks = null;
        double calibrationSeconds = 0;
        if (calibrate)
        {
            progress?.Report("leave-one-structure-out predictions and calibration...");
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var losoReporter = progress is null ? null : new ProgressAdapter<GpProgress>(p =>
            {
                (progress as IProgress<GpProgress>)?.Report(p);
                if (p.Done == p.Total)
                {
                    progress.Report($"  {p.Stage}: done ({p.Total} structures)");
                }
            });
            var predictions = Model.LeaveOneStructureOut(losoReporter, cancellationToken);
            var calibration = UncertaintyCalibration.FromLeaveOneOut(predictions);
            Model.Calibration = calibration;
            loso = ErrorSummary.FromLeaveOneOut(predictions);
            checks = calibration.Check(predictions);
            calibrationSeconds = clock.Elapsed.TotalSeconds;
        }

        return new TrainingReport
        {
            Structures = Model.Training.Count,
            Labels = Model.LabelCount,
            Fit = fit,
            Residuals = residuals,
            LeaveOneOut = loso,
            Calibration = checks,
            CalibrationSeconds = calibrationSeconds,
            JitterAdded = Model.JitterAdded,
            Seconds = started.Elapsed.TotalSeconds,
        };
    }

    /// <summary>Adds one structure to a trained force field by a block update (active learning): all its labels, or the forces of selected atoms.</summary>
    /// <param name="structure">The labelled structure.</param>
    /// <param name="forceAtoms">Atoms whose forces to add (null: all).</param>
    /// <param name="cancellationToken">Cancellation.</param>
    public void Add(Structure structure, IReadOnlyList<int>? forceAtoms = null, CancellationToken cancellationToken = default) =>
        Model.Add(structure, Labels, forceAtoms, cancellationToken);

    /// <summary>Options of the refits asked by active learning (<see cref="ILearningCalculator.Refit"/>); null: defaults.</summary>
    public HyperparameterFitOptions? RefitOptions { get; set; }

    /// <summary>The force noise of the model in eV/Å.</summary>
    public double ForceNoiseEvPerA => Model.Noise.ForceEvPerA;

    /// <summary>Number of training structures.</summary>
    public int TrainingStructureCount => Model.Training.Count;

    /// <summary>Adds a labelled structure with the force field's label kinds (see <see cref="Add"/>); trains first when the model is untrained.</summary>
    /// <param name="structure">The labelled structure.</param>
    /// <param name="forceAtoms">Atoms whose forces to add (null: all).</param>
    /// <param name="cancellationToken">Cancellation.</param>
    void ILearningCalculator.AddTrainingData(Structure structure, IReadOnlyList<int>? forceAtoms, CancellationToken cancellationToken)
    {
        Add(structure, forceAtoms, cancellationToken);
        if (!Model.IsTrained)
        {
            Model.Train(cancellationToken: cancellationToken);
        }
    }

    /// <summary>Refits hyperparameters and noises with <see cref="RefitOptions"/>'s objective from the current values (<see cref="RefitOptions"/>) and retrains.</summary>
    /// <param name="cancellationToken">Cancellation.</param>
    void ILearningCalculator.Refit(CancellationToken cancellationToken) => HyperparameterFit.Fit(Model, RefitOptions, cancellationToken: cancellationToken);

    /// <summary>Saves atomically (see <see cref="Save"/>).</summary>
    /// <param name="path">Destination.</param>
    void ILearningCalculator.SaveModel(string path) => Save(path);

    /// <summary>
    /// Predicts energy, forces, stress and local energies with standard deviations: those of the latent
    /// function (the model's uncertainty, without DFT-label noise), scaled by the model's
    /// <see cref="GaussianProcess.Calibration"/> (see <see cref="GpPrediction"/>).
    /// </summary>
    /// <param name="structure">The structure.</param>
    /// <param name="uncertainty">Whether to compute standard deviations.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    public GpPrediction Predict(Structure structure, bool uncertainty = true, CancellationToken cancellationToken = default)
    {
        CheckSpecies(structure);
        return Model.Predict(structure, uncertainty, cancellationToken);
    }

    /// <summary>Forces only, with standard deviations on request (latent, calibrated, eV/Å): the fast path for molecular dynamics.</summary>
    /// <param name="structure">The structure.</param>
    /// <param name="uncertainty">Whether to compute standard deviations.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    public (Vec3[] ForcesEvPerA, Vec3[]? ForcesStdEvPerA) PredictForces(Structure structure, bool uncertainty = false, CancellationToken cancellationToken = default)
    {
        CheckSpecies(structure);
        return Model.PredictForces(structure, uncertainty, cancellationToken);
    }

    /// <summary>Every property: energy, forces, stress, local energies, each with its standard deviation.</summary>
    public CalculatorProperties ImplementedProperties => CalculatorProperties.All;

    /// <summary>
    /// Predicts only what is asked (see <see cref="GaussianProcess.Calculate(Structure, CalculatorProperties, CancellationToken)"/>):
    /// forces alone — what molecular dynamics asks on most steps — take the fast forces-only path of
    /// <see cref="PredictForces"/>; standard deviations only with <see cref="CalculatorProperties.Uncertainty"/>.
    /// </summary>
    /// <param name="structure">The structure; its species must be among <see cref="Species"/>.</param>
    /// <param name="properties">What to predict.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>Means in eV, eV/Å, eV/Å³ and, on request, standard deviations; null for what was not asked.</returns>
    public CalculationResult Calculate(Structure structure, CalculatorProperties properties, CancellationToken cancellationToken = default)
    {
        CheckSpecies(structure);
        return Model.Calculate(structure, properties, cancellationToken);
    }

    /// <summary>
    /// Means and joint covariance of the total energies of several structures (eV, eV²), for stability
    /// analysis: the covariance of the latent energies, multiplied by the square of the energy calibration scale.
    /// </summary>
    /// <param name="structures">The structures.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    public (double[] MeanEv, double[,] CovarianceEv2) PredictEnergies(IReadOnlyList<Structure> structures, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(structures);
        foreach (var s in structures)
        {
            CheckSpecies(s);
        }

        return Model.PredictEnergies(structures, cancellationToken);
    }

    /// <summary>Saves the trained force field with its label kinds and, when it has one, its mapped GP (<see cref="Mapped"/>; see <see cref="ModelFile"/>).</summary>
    /// <param name="path">Destination.</param>
    /// <param name="metadata">Provenance to store.</param>
    public void Save(string path, IReadOnlyDictionary<string, string>? metadata = null) => ModelFile.Save(Model, path, metadata, Labels, Mapped);

    /// <summary>Loads a force field saved by <see cref="Save"/>.</summary>
    /// <param name="path">The model file.</param>
    /// <param name="options">GP options for the loaded model.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The force field, adding further data with the label kinds it was trained with (<see cref="Labels"/>), with its mapped GP (<see cref="Mapped"/>) when one was saved with it.</returns>
    public static ForceField Load(string path, GaussianProcessOptions? options = null, CancellationToken cancellationToken = default)
    {
        var model = ModelFile.Load(path, options, out var labels, out var mapped, cancellationToken);
        var ff = new ForceField(model, labels);
        if (mapped is not null)
        {
            ff.Remember(mapped);
        }

        return ff;
    }

    /// <summary>
    /// The mapped GP of this force field (FLARE's MGP): its mean on 2-body and 3-body splines, an
    /// <see cref="ICalculator"/> for MD and relaxation whose cost does not grow with the training set
    /// (see <see cref="MappedForceField"/>). The grids are refined until the map's forces are within
    /// <paramref name="forceToleranceEvPerA"/> of the GP's on validation structures (by default the training
    /// structures rattled, see <see cref="MappingOptions"/>); <see cref="MappedForceField.Report"/> gives the
    /// achieved error. The force field keeps it (<see cref="Mapped"/>, until the model changes) and <see cref="Save"/>
    /// stores it in the model file, so <see cref="Load"/> gives it back without rebuilding; it can also be saved alone
    /// (<see cref="MappedForceFieldFile.Save"/>). Not for the B2 kernels: a many-body descriptor is not a sum over
    /// pairs and triplets, so it has no map of this kind. With <see cref="MappingOptions.MapVariance"/> the map also gives
    /// the latent, calibrated σ of local and total energies (<see cref="MappedVariance"/>); it has no force σ, so on-the-fly
    /// learning runs on the GP itself.
    /// </summary>
    /// <param name="forceToleranceEvPerA">Largest force-component difference to the GP, eV/Å (overrides <paramref name="options"/>' tolerance).</param>
    /// <param name="options">Grids, lower-bound margin, validation rattle (null: defaults).</param>
    /// <param name="validation">Held-out structures to check on (null: the rattled training structures).</param>
    /// <param name="progress">Progress of the grid evaluation.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <exception cref="MappingToleranceException">The tolerance is not met at the largest grids allowed.</exception>
    /// <exception cref="NotSupportedException">The kernel is not a 2-body / 3-body one (e.g. B2).</exception>
    public MappedForceField ToMapped(double forceToleranceEvPerA = MappingOptions.DefaultForceToleranceEvPerA, MappingOptions? options = null,
        IEnumerable<Structure>? validation = null, IProgress<MappingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var map = MappedForceFieldBuilder.Build(Model, (options ?? new MappingOptions()) with { ForceToleranceEvPerA = forceToleranceEvPerA }, validation, progress, cancellationToken);
        Remember(map);
        return map;
    }

    /// <summary>Keeps a map of the model as it is now (α at this moment), so that a later change of the model drops it.</summary>
    private void Remember(MappedForceField map)
    {
        _mapped = map;
        _mappedAlpha = Model.Alpha.ToArray();
    }

    /// <summary>
    /// Checks, before any prediction allocates, that the species are known to the model (the GP then
    /// validates the structure itself: finite coordinates, a usable cell, no two atoms closer than
    /// <see cref="Structure.DefaultMinimumDistanceA"/>, since two atoms at one place would give NaN forces).
    /// </summary>
    private void CheckSpecies(Structure structure)
    {
        ArgumentNullException.ThrowIfNull(structure);
        var known = Species;
        for (int i = 0; i < structure.AtomCount; i++)
        {
            if (!known.Contains(structure.AtomicNumbers[i]))
            {
                throw new ArgumentException($"Atom {i} is {structure.Symbol(i)}, a species the force field was not trained on (it knows {string.Join(", ", known.Select(Elements.Symbol))}).");
            }
        }
    }

    private sealed class ProgressAdapter<T>(Action<T> action) : IProgress<T>
    {
        public void Report(T value) => action(value);
    }
}
