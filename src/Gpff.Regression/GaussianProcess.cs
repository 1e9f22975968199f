using Gpff.Descriptors;
using Gpff.Geometry;
using Gpff.Kernels;
using Gpff.Regression.LinearAlgebra;

namespace Gpff.Regression;

/// <summary>Progress of a long GP operation (covariance assembly, factorisation, prediction).</summary>
/// <param name="Stage">What is being done.</param>
/// <param name="Done">Units done.</param>
/// <param name="Total">Units in all.</param>
public sealed record GpProgress(string Stage, long Done, long Total);

/// <summary>Which predictive standard deviation a <see cref="GaussianProcess"/> reports.</summary>
public enum UncertaintyKind
{
    /// <summary>
    /// That of the latent function: the model's own uncertainty, which shrinks towards zero near the
    /// training data. What active learning thresholds and the joint (correlated) energy covariance of
    /// the hull are about. The default.
    /// </summary>
    Latent,

    /// <summary>
    /// That of a noisy DFT label about the predicted mean: the latent variance plus the label noise
    /// variance of its kind (a total energy of N atoms (N·σ_E)², a force or stress component σ²), both
    /// calibrated: the promise about errors against DFT on unseen structures. Local energies, which have
    /// no DFT label, stay latent.
    /// </summary>
    NoisyLabel,
}

/// <summary>Options of a <see cref="GaussianProcess"/>.</summary>
public sealed record GaussianProcessOptions
{
    /// <summary>Threads for covariance assembly and prediction (default: all cores).</summary>
    public int MaxDegreeOfParallelism { get; init; } = Environment.ProcessorCount;

    /// <summary>Jitter policy of the Cholesky factorisation (default: allowed, reported).</summary>
    public CholeskyOptions Cholesky { get; init; } = CholeskyOptions.Default;

    /// <summary>
    /// Fixed per-species reference energies (the prior mean). Null (default): fitted by least squares to
    /// the training energies every time the model is trained or extended.
    /// </summary>
    public SpeciesReferenceEnergies? ReferenceEnergies { get; init; }

    /// <summary>
    /// Memory (bytes) up to which the likelihood gradient keeps every ∂K/∂θ from a single covariance
    /// pass (default 1 GiB); beyond it a second pass recomputes them block by block, using O(N²) memory.
    /// </summary>
    public long LikelihoodGradientMemoryBytes { get; init; } = 1L << 30;

    /// <summary>
    /// Which standard deviation predictions report (default <see cref="UncertaintyKind.Latent"/>); either
    /// is multiplied by the model's <see cref="GaussianProcess.Calibration"/>.
    /// </summary>
    public UncertaintyKind Uncertainty { get; init; } = UncertaintyKind.Latent;

    /// <summary>
    /// A Gaussian prior on the per-species reference energies, which makes them explicit basis functions
    /// of the GP (Rasmussen &amp; Williams §2.7) whose uncertainty enters every prediction (see
    /// <see cref="Regression.ReferenceEnergyPrior"/>). Null (default): the reference energies are a fixed prior mean.
    /// </summary>
    public ReferenceEnergyPrior? ReferenceEnergyPrior { get; init; }

    /// <summary>
    /// Receives the layer's warnings (<see cref="GpffLog"/>: jitter added, rank-deficient reference energies).
    /// Null (default): silent.
    /// </summary>
    public Microsoft.Extensions.Logging.ILogger? Logger { get; init; }
}

/// <summary>
/// A GP prediction for one structure: means and predictive standard deviations. By default every
/// standard deviation is that of the latent function (the model's own uncertainty, without the
/// DFT-label noise), multiplied by the GP's <see cref="GaussianProcess.Calibration"/> scale of its label
/// kind; with <see cref="GaussianProcessOptions.Uncertainty"/> = <see cref="UncertaintyKind.NoisyLabel"/>
/// the energy, force and stress ones are those of a DFT label (the calibrated noise variance,
/// <see cref="GaussianProcess.CalibratedNoiseVariance"/>, added in quadrature).
/// </summary>
public sealed record GpPrediction
{
    /// <summary>Total energy, eV.</summary>
    public required double EnergyEv { get; init; }

    /// <summary>Standard deviation of the total energy, eV (NaN when uncertainty was not requested).</summary>
    public required double EnergyStdEv { get; init; }

    /// <summary>Forces, eV/Å.</summary>
    public required Vec3[] ForcesEvPerA { get; init; }

    /// <summary>Standard deviations of the force components, eV/Å (null when not requested).</summary>
    public Vec3[]? ForcesStdEvPerA { get; init; }

    /// <summary>Stress (Voigt, eV/Å³, ASE sign), for 3D-periodic structures.</summary>
    public Voigt? StressEvPerA3 { get; init; }

    /// <summary>Standard deviations of the stress components, eV/Å³.</summary>
    public Voigt? StressStdEvPerA3 { get; init; }

    /// <summary>Local energies per atom, eV (prior mean included, so they sum to the total energy).</summary>
    public required double[] LocalEnergiesEv { get; init; }

    /// <summary>Standard deviations of the local energies, eV.</summary>
    public double[]? LocalEnergiesStdEv { get; init; }

    /// <summary>As a calculator result.</summary>
    public CalculationResult ToCalculationResult() => new()
    {
        EnergyEv = EnergyEv,
        ForcesEvPerA = ForcesEvPerA,
        StressEvPerA3 = StressEvPerA3,
        EnergyStdEv = double.IsNaN(EnergyStdEv) ? null : EnergyStdEv,
        ForcesStdEvPerA = ForcesStdEvPerA,
        StressStdEvPerA3 = StressStdEvPerA3,
        LocalEnergiesEv = LocalEnergiesEv,
        LocalEnergiesStdEv = LocalEnergiesStdEv,
    };
}

/// <summary>The log marginal likelihood of the training labels and its gradient.</summary>
/// <param name="Value">log p(y | θ).</param>
/// <param name="Gradient">∂ log p / ∂θ for the kernel hyperparameters (in kernel order), then the energy, force and stress noises.</param>
/// <param name="JitterAdded">Jitter added to the diagonal to factor the matrix (0 normally).</param>
public sealed record LikelihoodResult(double Value, double[] Gradient, double JitterAdded);

/// <summary>
/// Gaussian-process regression of total energies, forces and stresses with a local-environment kernel
/// (<see cref="IKernel"/>): covariance assembly in parallel over structure pairs, Cholesky
/// factorisation (OpenBLAS when present, see <see cref="LinearAlgebraBackend"/>), α = K⁻¹(y − m), a
/// per-species prior mean of the energy, predictions with predictive variances, the joint covariance
/// of several total energies, block updates when data are added to a trained model, and the log
/// marginal likelihood with its analytic gradient for hyperparameter fitting.
/// </summary>
public sealed partial class GaussianProcess : ICalculator
{
    private readonly List<TrainingEntry> _entries = [];
    private readonly List<int> _offsets = [0];
    private CholeskyFactorization? _factor;
    private double[]? _alpha;
    private SpeciesReferenceEnergies? _reference;
    private UncertaintyCalibration _calibration = UncertaintyCalibration.None;

    /// <summary>Creates an untrained GP.</summary>
    /// <param name="kernel">The kernel (its hyperparameters are used as they are).</param>
    /// <param name="noise">Label noise levels.</param>
    /// <param name="options">Options (null: defaults).</param>
    public GaussianProcess(IKernel kernel, NoiseLevels noise, GaussianProcessOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        ArgumentNullException.ThrowIfNull(noise);
        noise.Validate();
        Kernel = kernel;
        Noise = noise;
        Options = options ?? new GaussianProcessOptions();
        _reference = Options.ReferenceEnergies;
    }

    /// <summary>The kernel, with its current hyperparameters.</summary>
    public IKernel Kernel { get; private set; }

    /// <summary>The label noise levels.</summary>
    public NoiseLevels Noise { get; private set; }

    /// <summary>The options.</summary>
    public GaussianProcessOptions Options { get; }

    /// <summary>The training data.</summary>
    public IReadOnlyList<TrainingEntry> Training => _entries;

    /// <summary>Total number of training labels N.</summary>
    public int LabelCount => _offsets[^1];

    /// <summary>True once the model has been trained (factorised) on its current data.</summary>
    public bool IsTrained => _factor is not null && _factor.Order == LabelCount;

    /// <summary>The per-species reference energies (prior mean) in use; null before training when fitted.</summary>
    public SpeciesReferenceEnergies? ReferenceEnergies => _reference;

    /// <summary>
    /// Scales applied to every predictive standard deviation this GP reports, per label kind (variances
    /// and the joint energy covariance by their squares; means are unaffected): <see cref="UncertaintyCalibration.None"/>
    /// until set, e.g. to <see cref="UncertaintyCalibration.FromLeaveOneOut"/> of <see cref="LeaveOneStructureOut"/>
    /// (as <c>ForceField.Train</c> does). Kept when data are added; reset to none by <see cref="SetHyperparameters"/>.
    /// </summary>
    public UncertaintyCalibration Calibration
    {
        get => _calibration;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            value.Validate();
            _calibration = value;
        }
    }

    /// <summary>
    /// The calibrated noise variance of one DFT label: s²σ² with σ the noise level of the kind (the
    /// total energy of N atoms: (N·σ_E)²) and s its <see cref="Calibration"/> scale. Add it to a
    /// reported (latent) variance for the variance of a DFT label about the predicted mean.
    /// </summary>
    /// <param name="kind">One label kind: <see cref="LabelKinds.Energy"/> (total energy), <see cref="LabelKinds.Forces"/> (one component) or <see cref="LabelKinds.Stress"/> (one component).</param>
    /// <param name="atomCount">Atoms of the structure (used for the total energy).</param>
    /// <returns>eV², eV²/Å² or eV²/Å⁶.</returns>
    public double CalibratedNoiseVariance(LabelKinds kind, int atomCount)
    {
        double s = _calibration.Scale(kind);
        double sigma = kind switch
        {
            LabelKinds.Energy => Noise.EnergyEvPerAtom * atomCount,
            LabelKinds.Forces => Noise.ForceEvPerA,
            _ => Noise.StressEvPerA3,
        };
        return s * s * sigma * sigma;
    }

    /// <summary>Jitter added to the diagonal of K to factor it (0 when none was needed).</summary>
    public double JitterAdded => _factor?.JitterAdded ?? 0;

    /// <summary>The Cholesky factor of K + Σ (null before training).</summary>
    public CholeskyFactorization? Factor => _factor;

    /// <summary>α = (K + Σ)⁻¹ (y − m) (null before training).</summary>
    public ReadOnlySpan<double> Alpha => _alpha;

    /// <summary>
    /// Adds a structure's labels. On an untrained model the data are only stored (call
    /// <see cref="Train"/>); on a trained one the Cholesky factor is extended by a block update in
    /// O(N²k) for k new labels, and α recomputed in O(N²).
    /// </summary>
    /// <param name="structure">The structure with its labels (copied).</param>
    /// <param name="kinds">Label kinds to use where present.</param>
    /// <param name="forceAtoms">Atoms whose forces to use (null: all), e.g. the most uncertain ones in active learning.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The new entry.</returns>
    public TrainingEntry Add(Structure structure, LabelKinds kinds = LabelKinds.All, IReadOnlyList<int>? forceAtoms = null, CancellationToken cancellationToken = default)
    {
        var entry = TrainingEntry.Create(structure, Kernel, kinds, forceAtoms, $"Training structure {_entries.Count} ({structure?.HillFormula()})");
        if (!IsTrained)
        {
            _entries.Add(entry);
            _offsets.Add(_offsets[^1] + entry.Count);
            _factor = null;
            _alpha = null;
            return entry;
        }

        int n = LabelCount, k = entry.Count;
        // B: the covariance of the new labels (rows) with the training labels, k × N row-major = N × k column-major.
        var cross = new double[(long)n * k];
        Plan([entry.Block], TrainingBlocks(), symmetric: false, cancellationToken).Fill(Kernel, cross);
        var self = new double[k * k];
        Plan([entry.Block], [entry.Block], symmetric: true, cancellationToken).Fill(Kernel, self);
        var noise = NoiseVariances(entry);
        for (int i = 0; i < k; i++)
        {
            self[i * k + i] += noise[i];
        }

        _factor = _factor!.Extend(cross, self, k);
        _entries.Add(entry);
        _offsets.Add(n + k);
        UpdateReferenceAndAlpha();
        return entry;
    }

    /// <summary>Assembles K + Σ over all training labels and factors it from scratch.</summary>
    /// <param name="progress">Progress of the assembly (structure pairs) and factorisation.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <exception cref="InvalidOperationException">No training data.</exception>
    /// <exception cref="MatrixNotPositiveDefiniteException">K + Σ could not be factored even with the largest jitter allowed.</exception>
    public void Train(IProgress<GpProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        if (_entries.Count == 0)
        {
            throw new InvalidOperationException("The GP has no training data: add structures with labels first.");
        }

        var k = AssembleCovariance(Kernel, progress, cancellationToken);
        AddNoise(k, Noise);
        progress?.Report(new GpProgress("Cholesky factorisation", 0, 1));
        _factor = CholeskyFactorization.FactorInPlace(k, LabelCount, Options.Cholesky);
        progress?.Report(new GpProgress("Cholesky factorisation", 1, 1));
        UpdateReferenceAndAlpha();
        LogTrainingDiagnostics();
    }

    /// <summary>Sets new hyperparameters and noises; the model must be trained again.</summary>
    /// <param name="kernel">The kernel with its new hyperparameters (same cutoffs and descriptors).</param>
    /// <param name="noise">New noise levels.</param>
    public void SetHyperparameters(IKernel kernel, NoiseLevels noise)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        ArgumentNullException.ThrowIfNull(noise);
        noise.Validate();
        if (!kernel.Descriptor.Equals(Kernel.Descriptor))
        {
            throw new ArgumentException("The new kernel needs other environments (cutoffs or cutoff function differ); build a new GP instead.", nameof(kernel));
        }

        Kernel = kernel;
        Noise = noise;
        _factor = null;
        _alpha = null;
        _calibration = UncertaintyCalibration.None;
    }

    /// <summary>Restores a trained state (used when loading a model file): the factor and α are taken as given.</summary>
    /// <param name="entries">Training entries, in order.</param>
    /// <param name="factor">Cholesky factor of K + Σ over their labels.</param>
    /// <param name="alpha">α.</param>
    /// <param name="reference">Reference energies used for α.</param>
    internal void Restore(IReadOnlyList<TrainingEntry> entries, CholeskyFactorization factor, double[] alpha, SpeciesReferenceEnergies reference)
    {
        _entries.Clear();
        _offsets.Clear();
        _offsets.Add(0);
        foreach (var e in entries)
        {
            _entries.Add(e);
            _offsets.Add(_offsets[^1] + e.Count);
        }

        if (factor.Order != LabelCount || alpha.Length != LabelCount)
        {
            throw new InvalidDataException($"The stored factor has order {factor.Order} and α {alpha.Length} entries, but the training data have {LabelCount} labels.");
        }

        _factor = factor;
        _alpha = alpha;
        _reference = reference;
    }

    /// <summary>The training targets y − m (energies minus the prior mean) in label order.</summary>
    public double[] Targets()
    {
        var reference = _reference ?? throw new InvalidOperationException("The prior mean is not known before training.");
        var y = new double[LabelCount];
        for (int j = 0; j < _entries.Count; j++)
        {
            var e = _entries[j];
            e.Values.CopyTo(y, _offsets[j]);
            if (e.Labels.Energy)
            {
                y[_offsets[j]] -= reference.PriorMeanEv(e.Structure.AtomicNumbers);
            }
        }

        return y;
    }

    /// <summary>The noise variance of each label of an entry.</summary>
    /// <param name="entry">The entry.</param>
    public double[] NoiseVariances(TrainingEntry entry) => LabelNoise.Variances(entry, Noise);

    private void UpdateReferenceAndAlpha()
    {
        if (Options.ReferenceEnergies is null)
        {
            FitReferenceEnergies();
        }

        if (Options.ReferenceEnergyPrior is not null)
        {
            UpdateReferencePosterior();
        }

        var y = Targets();
        _factor!.SolveInPlace(y, 1);
        _alpha = y;
    }

    private ParallelOptions ParallelOptions(CancellationToken ct) => new()
    {
        MaxDegreeOfParallelism = Math.Max(1, Options.MaxDegreeOfParallelism),
        CancellationToken = ct,
    };

    /// <summary>The training entries as blocks of the covariance assembly, in label order.</summary>
    private LabelBlock[] TrainingBlocks() => _entries.Select(e => e.Block).ToArray();

    /// <summary>The assembly engine's plan for a covariance, with this GP's threads, cancellation and progress.</summary>
    private CovarianceAssemblyPlan Plan(IReadOnlyList<LabelBlock> rows, IReadOnlyList<LabelBlock> columns, bool symmetric, CancellationToken ct, IProgress<GpProgress>? progress = null)
    {
        ProgressAdapter? adapter = progress is null ? null : new ProgressAdapter(progress);
        var plan = CovarianceAssembly.Plan(rows, columns, symmetric, new AssemblyOptions
        {
            MaxDegreeOfParallelism = Math.Max(1, Options.MaxDegreeOfParallelism),
            CancellationToken = ct,
            Progress = adapter,
        });
        adapter?.SetTotal(plan.WorkItemCount);
        return plan;
    }

    /// <summary>
    /// K over all training labels (column-major N × N, both triangles; no noise, or with the label noise
    /// Σ on the diagonal), assembled exactly as <see cref="Train"/> assembles it: the matrix that training
    /// factors, for inspection and benchmarks.
    /// </summary>
    /// <param name="includeNoise">Whether to add the label noise variances (<see cref="NoiseVariances"/>) to the diagonal.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The N × N matrix (eV², eV²/Å, ... by label kind).</returns>
    public double[] TrainingCovariance(bool includeNoise = false, CancellationToken cancellationToken = default)
    {
        var k = AssembleCovariance(Kernel, null, cancellationToken);
        if (includeNoise)
        {
            AddNoise(k, Noise);
        }

        return k;
    }

    /// <summary>K over all training labels (no noise), column-major N×N, and optionally every ∂K/∂θ (H × N × N), by the assembly engine.</summary>
    private double[] AssembleCovariance(IKernel kernel, IProgress<GpProgress>? progress, CancellationToken ct, double[]? gradients = null)
    {
        var k = new double[(long)LabelCount * LabelCount];
        var blocks = TrainingBlocks();
        Plan(blocks, blocks, symmetric: true, ct, progress).Fill(kernel, k, gradients);
        return k;
    }

    private void AddNoise(double[] k, NoiseLevels noise)
    {
        int n = LabelCount;
        for (int j = 0; j < _entries.Count; j++)
        {
            var v = LabelNoise.Variances(_entries[j], noise);
            for (int r = 0; r < v.Length; r++)
            {
                long d = _offsets[j] + r;
                k[d * n + d] += v[r];
            }
        }
    }

    // ------------------------------------------------------------------ likelihood

    /// <summary>
    /// The log marginal likelihood log p(y | θ) = −½ (y−m)ᵀ(K+Σ)⁻¹(y−m) − ½ log|K+Σ| − N/2 log 2π at the
    /// given hyperparameters and noises, and (optionally) its analytic gradient with respect to every
    /// kernel hyperparameter and the three noise standard deviations (zero for a label kind absent from
    /// the data). Does not change the model.
    /// </summary>
    /// <param name="kernel">Kernel with the hyperparameters to evaluate (null: the current one).</param>
    /// <param name="noise">Noise levels to evaluate (null: the current ones).</param>
    /// <param name="gradient">Whether to compute the gradient (costs a second covariance pass and K⁻¹).</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The value, gradient and any jitter needed.</returns>
    public LikelihoodResult LogMarginalLikelihood(IKernel? kernel = null, NoiseLevels? noise = null, bool gradient = true, CancellationToken cancellationToken = default)
    {
        kernel ??= Kernel;
        noise ??= Noise;
        noise.Validate();
        if (_entries.Count == 0)
        {
            throw new InvalidOperationException("The likelihood needs training data.");
        }

        if (Options.ReferenceEnergies is null && _reference is null)
        {
            FitReferenceEnergies();
        }

        int n = LabelCount;
        int nh = kernel.Hyperparameters.Count;
        long nn = (long)n * n;
        // One pass computing K and every ∂K/∂θ when they fit in memory; otherwise a second pass later.
        double[]? dkAll = gradient && 8.0 * nh * nn <= Options.LikelihoodGradientMemoryBytes ? new double[nh * nn] : null;
        var k = AssembleCovariance(kernel, null, cancellationToken, dkAll);
        AddNoise(k, noise);
        var factor = CholeskyFactorization.FactorInPlace(k, n, Options.Cholesky);
        var alpha = Targets();
        var y = (double[])alpha.Clone();
        factor.SolveInPlace(alpha, 1);
        double fit = 0;
        for (int i = 0; i < n; i++)
        {
            fit += y[i] * alpha[i];
        }

        double value = -0.5 * fit - 0.5 * factor.LogDeterminant - 0.5 * n * Math.Log(2 * Math.PI);
        var grad = new double[nh + 3];
        if (!gradient)
        {
            return new LikelihoodResult(value, grad, factor.JitterAdded);
        }

        // ∂ log p / ∂θ = ½ tr(W ∂K/∂θ), W = ααᵀ − (K+Σ)⁻¹.
        var w = factor.InverseColumnMajor();
        for (int col = 0; col < n; col++)
        {
            for (int row = 0; row < n; row++)
            {
                long at = (long)col * n + row;
                w[at] = alpha[row] * alpha[col] - w[at];
            }
        }

        HalfTraceGradient(kernel, noise, w, dkAll, grad, cancellationToken);
        return new LikelihoodResult(value, grad, factor.JitterAdded);
    }

    /// <summary>
    /// Adds ½ Σ_ij W_ij ∂C_ij/∂θ to <paramref name="grad"/> for every kernel hyperparameter θ (first
    /// H entries) and noise level (last three), C = K + Σ, for a symmetric N × N weight matrix W
    /// (column-major): the gradient of any objective whose derivative is ½ tr(W ∂C/∂θ). Uses the
    /// stored ∂K/∂θ when given (H × N × N), otherwise a second covariance pass block by block.
    /// Partial sums are kept per column (or per structure pair) and added in a fixed order, so the
    /// gradient, and hence a fit, is reproducible whatever the thread scheduling.
    /// </summary>
    private void HalfTraceGradient(IKernel kernel, NoiseLevels noise, double[] w, double[]? dkAll, double[] grad, CancellationToken cancellationToken)
    {
        int n = LabelCount;
        int nh = kernel.Hyperparameters.Count;
        long nn = (long)n * n;
        var entries = _entries.ToArray();
        var offsets = _offsets.ToArray();
        double[][] partial;
        if (dkAll is not null)
        {
            partial = new double[n][];
            Parallel.For(0, n, ParallelOptions(cancellationToken), col =>
            {
                var acc = new double[nh];
                for (int row = 0; row < n; row++)
                {
                    double wij = w[(long)col * n + row];
                    for (int h = 0; h < nh; h++)
                    {
                        acc[h] += wij * dkAll[h * nn + (long)col * n + row];
                    }
                }

                partial[col] = acc;
            });
        }
        else
        {
            var blocks = TrainingBlocks();
            var plan = Plan(blocks, blocks, symmetric: true, cancellationToken);
            partial = new double[plan.WorkItemCount][];
            plan.Run(kernel, hyperparameterGradients: true, block =>
            {
                int i = block.RowBlock, j = block.ColumnBlock;
                int m = block.RowLabels.Length, nc = block.ColumnCount, size = m * nc;
                var dk = block.HyperparameterGradients;
                double weight = block.IsMirrored ? 2.0 : 1.0;
                var acc = new double[nh];
                for (int r = 0; r < m; r++)
                {
                    long row = offsets[i] + block.RowLabels[r];
                    for (int c = 0; c < nc; c++)
                    {
                        long col = offsets[j] + c;
                        double wij = weight * w[col * n + row];
                        for (int h = 0; h < nh; h++)
                        {
                            acc[h] += wij * dk[h * size + r * nc + c];
                        }
                    }
                }

                partial[block.WorkItem] = acc;
            });
        }

        foreach (var acc in partial)
        {
            for (int h = 0; h < nh; h++)
            {
                grad[h] += 0.5 * acc[h];
            }
        }

        // Noise: ∂C_ii/∂σ is diagonal, ½ Σ_i W_ii ∂Σ_ii/∂σ.
        for (int j = 0; j < entries.Length; j++)
        {
            for (int r = 0; r < entries[j].Count; r++)
            {
                long d = offsets[j] + r;
                var (kind, derivative) = LabelNoise.VarianceDerivative(entries[j], r, noise);
                grad[nh + kind] += 0.5 * w[d * n + d] * derivative;
            }
        }
    }

    /// <summary>Fits the per-species reference energies to the training energies (zero when there are none).</summary>
    private void FitReferenceEnergies()
    {
        var energies = _entries.Where(e => e.Labels.Energy).Select(e => ((IReadOnlyList<int>)e.Structure.AtomicNumbers.ToArray(), e.Values[0])).ToList();
        _reference = energies.Count > 0
            ? SpeciesReferenceEnergies.Fit(energies)
            : SpeciesReferenceEnergies.FromValues(_entries.SelectMany(e => e.Structure.AtomicNumbers.ToArray()).Distinct().ToDictionary(z => z, _ => 0.0));
    }

    // ------------------------------------------------------------------ prediction

    /// <summary>Predicts energy, forces, stress (3D-periodic cells) and local energies, with predictive standard deviations.</summary>
    /// <param name="structure">The structure.</param>
    /// <param name="uncertainty">Whether to compute standard deviations (costs O(N²) per label).</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The prediction.</returns>
    public GpPrediction Predict(Structure structure, bool uncertainty = true, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(structure);
        EnsureTrained();
        structure.Validate(Structure.DefaultMinimumDistanceA, allowLeftHandedCell: true); // before allocating: atoms at one place would give NaN
        var env = Kernel.Describe(structure);
        int na = structure.AtomCount;
        var all = Enumerable.Range(0, na).ToArray();
        var sel = new LabelSelection { Energy = true, ForceAtoms = all, Stress = structure.Pbc.AllPeriodic, LocalEnergyAtoms = all };
        var (mean, variance) = PredictLabels(env, sel, uncertainty, cancellationToken);
        var reference = _reference!;
        double prior = 0;
        var local = new double[na];
        for (int i = 0; i < na; i++)
        {
            double mu = reference.EnergyEv(structure.AtomicNumbers[i]);
            local[i] = mean[sel.LocalEnergyOffset + i] + mu;
            prior += mu;
        }

        var forces = new Vec3[na];
        for (int i = 0; i < na; i++)
        {
            int o = sel.ForceOffset + 3 * i;
            forces[i] = new Vec3(mean[o], mean[o + 1], mean[o + 2]);
        }

        return new GpPrediction
        {
            EnergyEv = mean[0] + prior,
            EnergyStdEv = variance is null ? double.NaN : Std(variance[0]),
            ForcesEvPerA = forces,
            ForcesStdEvPerA = variance is null ? null : all.Select(i => new Vec3(Std(variance[sel.ForceOffset + 3 * i]), Std(variance[sel.ForceOffset + 3 * i + 1]), Std(variance[sel.ForceOffset + 3 * i + 2]))).ToArray(),
            StressEvPerA3 = sel.Stress ? Voigt.FromSpan(mean.AsSpan(sel.StressOffset, 6)) : null,
            StressStdEvPerA3 = sel.Stress && variance is not null ? Voigt.FromSpan(variance.AsSpan(sel.StressOffset, 6).ToArray().Select(Std).ToArray()) : null,
            LocalEnergiesEv = local,
            LocalEnergiesStdEv = variance is null ? null : all.Select(i => Std(variance[sel.LocalEnergyOffset + i])).ToArray(),
        };
    }

    /// <summary>
    /// Forces only (eV/Å), with their standard deviations on request: the fast path for molecular
    /// dynamics (force blocks only, SIMD), several times cheaper than <see cref="Predict"/>.
    /// </summary>
    /// <param name="structure">The structure.</param>
    /// <param name="uncertainty">Whether to compute standard deviations.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>Forces and, with uncertainty, their standard deviations.</returns>
    public (Vec3[] ForcesEvPerA, Vec3[]? ForcesStdEvPerA) PredictForces(Structure structure, bool uncertainty = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(structure);
        EnsureTrained();
        structure.Validate(Structure.DefaultMinimumDistanceA, allowLeftHandedCell: true); // before allocating: atoms at one place would give NaN
        var env = Kernel.Describe(structure);
        var sel = LabelSelection.Forces(Enumerable.Range(0, structure.AtomCount).ToArray());
        var (mean, variance) = PredictLabels(env, sel, uncertainty, cancellationToken);
        var f = new Vec3[structure.AtomCount];
        var sd = variance is null ? null : new Vec3[structure.AtomCount];
        for (int i = 0; i < f.Length; i++)
        {
            f[i] = new Vec3(mean[3 * i], mean[3 * i + 1], mean[3 * i + 2]);
            if (sd is not null)
            {
                sd[i] = new Vec3(Std(variance![3 * i]), Std(variance[3 * i + 1]), Std(variance[3 * i + 2]));
            }
        }

        return (f, sd);
    }

    /// <summary>Every property: energy, forces, stress, local energies, each with its standard deviation.</summary>
    public CalculatorProperties ImplementedProperties => CalculatorProperties.All;

    /// <summary>
    /// Predicts only the labels asked for, in one pass over the training data: forces alone take the
    /// kernel's forces-only path (as <see cref="PredictForces"/>, several times cheaper than
    /// <see cref="Predict"/>); any other set of labels the general one, with no rows for what was not
    /// asked; standard deviations only with <see cref="CalculatorProperties.Uncertainty"/>. Stress is
    /// predicted for cells periodic along all three axes only (null otherwise). Energies include the
    /// prior mean, as in <see cref="Predict"/>.
    /// </summary>
    /// <param name="structure">The structure.</param>
    /// <param name="properties">What to predict.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The requested means (eV, eV/Å, eV/Å³) and, on request, standard deviations; null for the rest.</returns>
    public CalculationResult Calculate(Structure structure, CalculatorProperties properties, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(structure);
        this.ThrowIfNotImplemented(properties);
        EnsureTrained();
        structure.Validate(Structure.DefaultMinimumDistanceA, allowLeftHandedCell: true); // before allocating: atoms at one place would give NaN
        int na = structure.AtomCount;
        bool uncertainty = properties.HasFlag(CalculatorProperties.Uncertainty);
        var all = Enumerable.Range(0, na).ToArray();
        var sel = new LabelSelection
        {
            Energy = properties.HasFlag(CalculatorProperties.Energy),
            ForceAtoms = properties.HasFlag(CalculatorProperties.Forces) ? all : [],
            Stress = properties.HasFlag(CalculatorProperties.Stress) && structure.Pbc.AllPeriodic,
            LocalEnergyAtoms = properties.HasFlag(CalculatorProperties.LocalEnergies) ? all : [],
        };
        if (sel.Count == 0)
        {
            return new CalculationResult();
        }

        var (mean, variance) = PredictLabels(Kernel.Describe(structure), sel, uncertainty, cancellationToken);
        var reference = _reference!;
        Vec3 At(double[] v, int o) => new(v[o], v[o + 1], v[o + 2]);
        Vec3 StdAt(double[] v, int o) => new(Std(v[o]), Std(v[o + 1]), Std(v[o + 2]));
        return new CalculationResult
        {
            EnergyEv = sel.Energy ? mean[0] + reference.PriorMeanEv(structure.AtomicNumbers) : null,
            EnergyStdEv = sel.Energy && variance is not null ? Std(variance[0]) : null,
            ForcesEvPerA = sel.ForceAtoms.Length > 0 ? all.Select(i => At(mean, sel.ForceOffset + 3 * i)).ToArray() : null,
            ForcesStdEvPerA = sel.ForceAtoms.Length > 0 && variance is not null ? all.Select(i => StdAt(variance, sel.ForceOffset + 3 * i)).ToArray() : null,
            StressEvPerA3 = sel.Stress ? Voigt.FromSpan(mean.AsSpan(sel.StressOffset, 6)) : null,
            StressStdEvPerA3 = sel.Stress && variance is not null ? Voigt.FromSpan(variance.AsSpan(sel.StressOffset, 6).ToArray().Select(Std).ToArray()) : null,
            LocalEnergiesEv = sel.LocalEnergyAtoms.Length > 0 ? all.Select(i => mean[sel.LocalEnergyOffset + i] + reference.EnergyEv(structure.AtomicNumbers[i])).ToArray() : null,
            LocalEnergiesStdEv = sel.LocalEnergyAtoms.Length > 0 && variance is not null ? all.Select(i => Std(variance[sel.LocalEnergyOffset + i])).ToArray() : null,
        };
    }

    /// <summary>
    /// The joint predictive distribution of the total energies of several structures: means (eV) and
    /// the full covariance matrix (eV²): of the latent energies, times the square of the energy
    /// calibration scale (with <see cref="UncertaintyKind.NoisyLabel"/>, plus the calibrated energy-label
    /// noise on the diagonal). Energies predicted by one model are correlated; the phase
    /// stability analysis needs the whole matrix, not only the diagonal.
    /// </summary>
    /// <param name="structures">The structures.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>Means and covariance [i, j].</returns>
    public (double[] MeanEv, double[,] CovarianceEv2) PredictEnergies(IReadOnlyList<Structure> structures, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(structures);
        EnsureTrained();
        foreach (var structure in structures)
        {
            structure.Validate(Structure.DefaultMinimumDistanceA, allowLeftHandedCell: true);
        }

        int m = structures.Count, n = LabelCount;
        var envs = structures.Select(s => Kernel.Describe(s)).ToArray();
        var sel = LabelSelection.TotalEnergy;
        var tests = envs.Select(e => new LabelBlock(e, sel)).ToArray();
        var v = new double[(long)n * m];    // column t: k*(t) over the training labels (m × N row-major)
        Plan(tests, TrainingBlocks(), symmetric: false, cancellationToken).Fill(Kernel, v);
        var mean = new double[m];
        for (int t = 0; t < m; t++)
        {
            double s = 0;
            for (int i = 0; i < n; i++)
            {
                s += v[(long)t * n + i] * _alpha![i];
            }

            mean[t] = s + _reference!.PriorMeanEv(structures[t].AtomicNumbers);
        }

        var prior = new double[(long)m * m];
        Plan(tests, tests, symmetric: true, cancellationToken).Fill(Kernel, prior);
        _factor!.SolveLowerInPlace(v, m);
        var cov = new double[m, m];
        var referencePart = ReferenceCovariance(structures, v);
        double energyScale2 = _calibration.EnergyScale * _calibration.EnergyScale;
        for (int a = 0; a < m; a++)
        {
            for (int b = a; b < m; b++)
            {
                double dot = 0;
                for (int i = 0; i < n; i++)
                {
                    dot += v[(long)a * n + i] * v[(long)b * n + i];
                }

                cov[a, b] = cov[b, a] = (prior[(long)a * m + b] - dot + (referencePart?[a, b] ?? 0)) * energyScale2;
            }

            if (Options.Uncertainty == UncertaintyKind.NoisyLabel)
            {
                cov[a, a] += CalibratedNoiseVariance(LabelKinds.Energy, structures[a].AtomCount);   // independent label noise
            }
        }

        return (mean, cov);
    }

    /// <summary>
    /// The mean by the B2 kernel's training side folded with α (<see cref="B2Kernel"/>'s contraction: one row per
    /// training environment instead of one per label), plus the label-by-label sum over the kernel's other parts;
    /// null when the kernel has no B2 part. Built on first use after each training and kept with α.
    /// </summary>
    private (B2Kernel.MeanContraction Contraction, IKernel? Others)? FoldedMean()
    {
        var kernel = Kernel;
        var alpha = _alpha!;
        var cached = _folded;   // one reference, read once: safe against a concurrent rebuild
        if (cached is not null && ReferenceEquals(cached.Kernel, kernel) && ReferenceEquals(cached.Alpha, alpha))
        {
            return (cached.Contraction, cached.Others);
        }

        B2Kernel? b2;
        IKernel? others;
        switch (kernel)
        {
            case B2Kernel b:
                (b2, others) = (b, null);
                break;
            case CombinedKernel c when c.Parts.Count(p => p is B2Kernel) == 1:
                b2 = (B2Kernel)c.Parts.Single(p => p is B2Kernel);
                var rest = c.Parts.Where(p => p is not B2Kernel).ToArray();
                others = rest.Length == 1 ? rest[0] : new CombinedKernel(rest);
                break;
            default:
                return null;
        }

        var entries = _entries.ToArray();
        var offsets = _offsets.ToArray();
        var contraction = b2.ContractTraining(entries.Select((e, j) => (e.Environments, e.Labels, new ReadOnlyMemory<double>(alpha, offsets[j], e.Count))));
        _folded = new FoldedMeanPath(kernel, alpha, contraction, others);
        return (contraction, others);
    }

    private FoldedMeanPath? _folded;

    /// <summary>The folded mean of <see cref="FoldedMean()"/> and the kernel and α it was built for.</summary>
    private sealed record FoldedMeanPath(IKernel Kernel, double[] Alpha, B2Kernel.MeanContraction Contraction, IKernel? Others);

    private double[] FoldedMean((B2Kernel.MeanContraction Contraction, IKernel? Others) folded, StructureEnvironments environments, LabelSelection labels, CancellationToken cancellationToken)
    {
        int m = labels.Count;
        var mean = new double[m];
        folded.Contraction.Kernel.ContractedMean(folded.Contraction, environments, labels, mean, Math.Max(1, Options.MaxDegreeOfParallelism), cancellationToken);
        if (folded.Others is null)
        {
            return mean;
        }

        var others = LabelByLabelMean(folded.Others, environments, labels, null, cancellationToken);
        for (int r = 0; r < m; r++)
        {
            mean[r] += others[r];
        }

        return mean;
    }

    /// <summary>
    /// Σ_c k(t, c) α_c for the labels t of a structure by <paramref name="kernel"/> (the GP's kernel or a part of it),
    /// and, when <paramref name="kt"/> is given, k* itself (column-major N × m). Each training structure's
    /// contribution is kept apart and summed in a fixed order, so that predictions are bit-for-bit reproducible
    /// whatever the thread scheduling.
    /// </summary>
    internal double[] LabelByLabelMean(IKernel kernel, StructureEnvironments environments, LabelSelection labels, double[]? kt, CancellationToken cancellationToken)
    {
        int m = labels.Count, n = LabelCount;
        var offsets = _offsets.ToArray();
        var alpha = _alpha!;
        var contributions = new double[_entries.Count][];
        for (int j = 0; j < contributions.Length; j++)
        {
            contributions[j] = new double[m];
        }

        Plan([new LabelBlock(environments, labels)], TrainingBlocks(), symmetric: false, cancellationToken).Run(kernel, hyperparameterGradients: false, block =>
        {
            int j = block.ColumnBlock, nc = block.ColumnCount, o = offsets[j];
            var values = block.Values;
            var part = contributions[j];
            for (int a = 0; a < block.RowLabels.Length; a++)
            {
                int r = block.RowLabels[a];
                double s = 0;
                for (int c = 0; c < nc; c++)
                {
                    double v = values[a * nc + c];
                    s += v * alpha[o + c];
                    if (kt is not null)
                    {
                        kt[(long)r * n + o + c] = v;
                    }
                }

                part[r] = s;   // the work items of one training structure hold disjoint rows
            }
        });
        var mean = new double[m];
        foreach (var part in contributions)
        {
            for (int r = 0; r < m; r++)
            {
                mean[r] += part[r];
            }
        }

        return mean;
    }

    /// <summary>
    /// Predictive means (without the prior mean) and variances of any labels of a structure; the
    /// variances are those of <see cref="GaussianProcessOptions.Uncertainty"/> (latent by default),
    /// calibrated by <see cref="Calibration"/>.
    /// </summary>
    /// <param name="environments">The structure's environments (built with <see cref="Kernel"/>).</param>
    /// <param name="labels">The labels.</param>
    /// <param name="uncertainty">Whether to compute variances.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>Means and variances (null without uncertainty), in label order.</returns>
    public (double[] Mean, double[]? Variance) PredictLabels(StructureEnvironments environments, LabelSelection labels, bool uncertainty = true, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(environments);
        ArgumentNullException.ThrowIfNull(labels);
        EnsureTrained();
        int m = labels.Count, n = LabelCount;
        var kt = uncertainty ? new double[(long)n * m] : null;   // column-major N × m: column r is k* of label r
        var folded = FoldedMean();
        double[] mean;
        if (folded is null)
        {
            mean = LabelByLabelMean(Kernel, environments, labels, kt, cancellationToken);
        }
        else
        {
            // The same mean with or without standard deviations: the folded one; k* for the variance from the whole kernel.
            if (kt is not null)
            {
                LabelByLabelMean(Kernel, environments, labels, kt, cancellationToken);
            }

            mean = FoldedMean(folded.Value, environments, labels, cancellationToken);
        }

        if (kt is null)
        {
            return (mean, null);
        }

        var variance = new double[m];
        Kernel.Variance(environments, labels, variance);
        _factor!.SolveLowerInPlace(kt, m);
        for (int r = 0; r < m; r++)
        {
            double s = 0;
            for (long i = 0; i < n; i++)
            {
                double x = kt[r * n + i];
                s += x * x;
            }

            variance[r] -= s;
        }

        AddReferenceVariance(environments.AtomicNumbers, labels, kt, variance);
        ApplyCalibration(labels, variance);
        if (Options.Uncertainty == UncertaintyKind.NoisyLabel)
        {
            for (int r = 0; r < labels.LocalEnergyOffset; r++)
            {
                var kind = r < labels.ForceOffset ? LabelKinds.Energy : r < labels.StressOffset ? LabelKinds.Forces : LabelKinds.Stress;
                variance[r] += CalibratedNoiseVariance(kind, environments.AtomCount);
            }
        }

        return (mean, variance);
    }

    private static double Std(double variance) => Math.Sqrt(Math.Max(variance, 0));

    /// <summary>Multiplies the variance of each row of a label selection by the square of its kind's calibration scale.</summary>
    private void ApplyCalibration(LabelSelection labels, double[] variance)
    {
        if (_calibration.IsNone)
        {
            return;
        }

        double e = _calibration.EnergyScale * _calibration.EnergyScale;
        double f = _calibration.ForceScale * _calibration.ForceScale;
        double st = _calibration.StressScale * _calibration.StressScale;
        for (int r = 0; r < variance.Length; r++)
        {
            variance[r] *= r < labels.ForceOffset || r >= labels.LocalEnergyOffset ? e : r < labels.StressOffset ? f : st;
        }
    }

    // ------------------------------------------------------------------ leave one structure out

    /// <summary>
    /// Closed-form leave-one-structure-out (LOSO) predictions of every training structure's labels
    /// (Rasmussen &amp; Williams §5.4.2, generalised to blocks): with C = K + Σ and the labels of
    /// structure s forming the block B_s, the prediction of y_s from all other labels has mean
    /// y_s − [(C⁻¹)_ss]⁻¹ α_s and covariance [(C⁻¹)_ss]⁻¹ (that of the noisy labels; the latent
    /// variance subtracts the noise Σ_s), exactly what refitting without s with the same
    /// hyperparameters would predict. (C⁻¹)_ss is computed from the Cholesky factor by one forward
    /// substitution per label of s (<see cref="CholeskyFactorization.InverseDiagonalBlock"/>), never the whole
    /// inverse: O(N²b) time and O(Nb) memory per structure of b labels, in parallel over structures,
    /// bit-for-bit reproducible.
    /// <para>
    /// The per-species reference energies (prior mean) are held at their current values. With fixed
    /// <see cref="GaussianProcessOptions.ReferenceEnergies"/> the result is exact; when they are fitted to
    /// the training energies (the default), refitting without s would also refit them without its
    /// energy, so the LOSO energy errors here are slightly optimistic (s's own energy took part in the
    /// fit of the prior mean; the effect shrinks as the number of structures per species grows).
    /// Any jitter added to factor C counts as noise here. Variances are not calibrated
    /// (<see cref="Calibration"/> is not applied).
    /// </para>
    /// </summary>
    /// <param name="progress">Structures done.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>One prediction per training structure, in training order.</returns>
    /// <exception cref="InvalidOperationException">The model is not trained.</exception>
    public IReadOnlyList<LeaveOneOutPrediction> LeaveOneStructureOut(IProgress<GpProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        EnsureTrained();
        var entries = _entries.ToArray();
        var offsets = _offsets.ToArray();
        var alpha = _alpha!;
        var factor = _factor!;
        var noise = Noise;
        var result = new LeaveOneOutPrediction[entries.Length];
        var small = new CholeskyOptions { AllowJitter = false, Backend = LinearAlgebraBackendKind.Managed };
        int done = 0;
        progress?.Report(new GpProgress("leave-one-structure-out", 0, entries.Length));
        Parallel.For(0, entries.Length, ParallelOptions(cancellationToken), s =>
        {
            var e = entries[s];
            int o = offsets[s], b = e.Count;
            var inverseBlock = factor.InverseDiagonalBlock(o, b);
            var cov = CholeskyFactorization.Factor(inverseBlock, b, small).InverseColumnMajor();   // [(C⁻¹)_ss]⁻¹
            var sigma2 = LabelNoise.Variances(e, noise);
            var kinds = new LabelKinds[b];
            var mean = new double[b];
            var noisy = new double[b];
            var latent = new double[b];
            for (int i = 0; i < b; i++)
            {
                double shift = 0;
                for (int j = 0; j < b; j++)
                {
                    shift += cov[j * b + i] * alpha[o + j];
                }

                mean[i] = e.Values[i] - shift;   // the prior mean cancels: y − m − shift + m
                noisy[i] = cov[i * b + i];
                latent[i] = noisy[i] - sigma2[i];
                kinds[i] = LabelNoise.Kind(e, i) switch
                {
                    LabelNoise.Energy => LabelKinds.Energy,
                    LabelNoise.Force => LabelKinds.Forces,
                    _ => LabelKinds.Stress,
                };
            }

            result[s] = new LeaveOneOutPrediction
            {
                StructureIndex = s,
                Entry = e,
                Kinds = kinds,
                Labels = e.Values.ToArray(),
                Mean = mean,
                NoisyLabelVariance = noisy,
                LatentVariance = latent,
            };
            int d = Interlocked.Increment(ref done);
            progress?.Report(new GpProgress("leave-one-structure-out", d, entries.Length));
        });
        return result;
    }

    private void EnsureTrained()
    {
        if (!IsTrained)
        {
            throw new InvalidOperationException(_entries.Count == 0
                ? "The GP has no training data: add structures and call Train() before predicting."
                : "The GP is not trained on its current data: call Train() before predicting.");
        }
    }

    /// <summary>Turns the assembly engine's fraction done into <see cref="GpProgress"/> reports in work items.</summary>
    private sealed class ProgressAdapter(IProgress<GpProgress> target) : IProgress<double>
    {
        private int _total;

        public void SetTotal(int total) => _total = total;

        public void Report(double value) => target.Report(new GpProgress("covariance assembly (work items)", (long)Math.Round(value * _total), _total));
    }
}
