using Gpff.Descriptors;
using Gpff.Geometry;
using Gpff.Kernels;
using Gpff.Regression.LinearAlgebra;

namespace Gpff.Regression;

/// <summary>Which predictive variance a sparse GP reports.</summary>
public enum SparseVarianceKind
{
    /// <summary>
    /// Deterministic training conditional (DTC, the default): k** − k*u K_uu⁻¹ k_u* + k*u A⁻¹ k_u*, the
    /// exact prior variance minus what the inducing environments explain plus their posterior
    /// uncertainty. Far from every inducing environment it returns to the prior variance, so an
    /// environment unlike anything in the model is flagged as uncertain (what active learning needs).
    /// </summary>
    Dtc,

    /// <summary>
    /// Subset of regressors (SOR): k*u A⁻¹ k_u*, the variance of the degenerate GP whose prior is the
    /// projection on the inducing environments. Cheaper to reason about but it goes to zero far from
    /// the inducing environments: overconfident exactly where the model knows least.
    /// </summary>
    Sor,
}

/// <summary>Options of a sparse GP.</summary>
public sealed record SparseGaussianProcessOptions
{
    /// <summary>Maximum number of threads of the covariance assembly (default: all cores).</summary>
    public int MaxDegreeOfParallelism { get; init; } = Environment.ProcessorCount;

    /// <summary>Dense linear algebra back end (null: <see cref="LinearAlgebraBackend.Active"/>).</summary>
    public LinearAlgebraBackendKind? Backend { get; init; }

    /// <summary>
    /// Fixed per-species reference energies for the prior mean; null (default) fits them to the
    /// training energies by least squares (as <see cref="GaussianProcess"/> does).
    /// </summary>
    public SpeciesReferenceEnergies? ReferenceEnergies { get; init; }

    /// <summary>Receives the sparse GP's warnings (<see cref="GpffLog"/>: jitter added to K_uu). Null (default): silent.</summary>
    public Microsoft.Extensions.Logging.ILogger? Logger { get; init; }

    /// <summary>The predictive variance reported (default <see cref="SparseVarianceKind.Dtc"/>).</summary>
    public SparseVarianceKind Variance { get; init; } = SparseVarianceKind.Dtc;

    /// <summary>
    /// Jitter policy of K_uu, relative to its mean diagonal (default 1e-6, GPflow's usual jitter): when
    /// K_uu's smallest eigenvalue (estimated by inverse power iteration) is below this fraction of its
    /// mean diagonal (near-singular K_uu: duplicate or symmetry-equivalent inducing environments, or
    /// energy labels only), this multiple of the mean diagonal is added to the diagonal (×10 until the
    /// factorisation succeeds, at most 1e-4). It bounds K_uu's condition number by about 1/threshold,
    /// and with it the round-off of the likelihood gradient, whose terms involve K_uu⁻¹ (measured: the
    /// relative error of ∂/∂σ₂ grows from 2e-5 at 1e-6 to 0.16 at 1e-10 on a crystal with
    /// symmetry-equivalent atoms). Smaller values only for exactness checks. The jitter is reported
    /// (<see cref="SparseGaussianProcess.InducingJitter"/>) and the likelihood's gradient is that of
    /// the jittered model, so a fit stays consistent.
    /// </summary>
    public double InducingJitterThreshold { get; init; } = 1e-6;

    /// <summary>Inducing environments per column block for kernels without a many-body part (smaller balances threads better).</summary>
    public const int DefaultInducingPerBlock = 16;

    /// <summary>
    /// Inducing environments per column block for kernels with a many-body (B2) part: their local-energy columns are
    /// computed per central-species group of a block, vectorised over its members, so larger blocks fill the vectors
    /// (measured in docs/DESIGN.md, "The solver").
    /// </summary>
    public const int DefaultManyBodyInducingPerBlock = 128;

    /// <summary>
    /// Inducing environments per column block of the covariance assembly; null (default):
    /// <see cref="DefaultInducingPerBlock"/>, or <see cref="DefaultManyBodyInducingPerBlock"/> when the kernel has a
    /// many-body part (<see cref="DescriptorSettings.ManyBody"/>).
    /// </summary>
    public int? InducingPerBlock { get; init; }

    /// <summary>The block size used with a kernel of these descriptor settings.</summary>
    internal int InducingPerBlockFor(DescriptorSettings settings) =>
        InducingPerBlock ?? (settings.ManyBody is null ? DefaultInducingPerBlock : DefaultManyBodyInducingPerBlock);
}

/// <summary>
/// A sparse Gaussian process (projected process / DTC; Seeger et al. 2003, Quiñonero-Candela &amp;
/// Rasmussen 2005) over the same kernels, labels and noise model as <see cref="GaussianProcess"/>,
/// with inducing points that are local environments: the latent variables are the local energies
/// u = ε(ρ_1..M) of M inducing environments (<see cref="EnvironmentCluster"/>s). Total energies,
/// forces and stresses of training structures are conditioned on u through the kernel's
/// label-versus-local-energy covariances K_nu, so the model is
/// y ~ N(m, K_nu K_uu⁻¹ K_un + Σ), m the per-species prior mean.
/// <para>
/// Training streams the structures: each one contributes sums (see the design notes) to M × M
/// statistics and is then dropped, so memory is O(M²) plus one structure whatever the size of the
/// data, and time O(N·M) kernel evaluations plus O(N·M²) dense work. The solve is whitened:
/// K_uu = L Lᵀ (jitter reported), V_s = L⁻¹ K_us Σ_s^-½ per structure, B = I + Σ_s V_s V_sᵀ, whose
/// eigenvalues are ≥ 1 so its Cholesky factor is always well conditioned; this equals the R factor of
/// the QR of [Σ^-½ K_nu ; Lᵀ] (RᵀR = L B Lᵀ) without holding K_nu.
/// </para>
/// Thread-safety: predictions may run concurrently; training and adding data may not.
/// </summary>
public sealed partial class SparseGaussianProcess : ICalculator
{
    private readonly List<EnvironmentCluster> _inducing = [];
    private LabelBlock[] _inducingBlocks = [];
    private CholeskyFactorization? _luu;
    private double _inducingRelativeJitter;
    private SparseStatistics? _stats;
    private CholeskyFactorization? _lb;
    private double[]? _weights;
    private SpeciesReferenceEnergies? _reference;

    /// <summary>Creates an untrained sparse GP.</summary>
    /// <param name="kernel">The kernel (a <see cref="LocalKernel"/>, e.g. 2+3-body).</param>
    /// <param name="noise">Label noise levels.</param>
    /// <param name="inducing">The inducing environments (at least one; their radius must cover the kernel's cutoff).</param>
    /// <param name="options">Options (null: defaults).</param>
    public SparseGaussianProcess(IKernel kernel, NoiseLevels noise, IEnumerable<EnvironmentCluster> inducing, SparseGaussianProcessOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        ArgumentNullException.ThrowIfNull(noise);
        ArgumentNullException.ThrowIfNull(inducing);
        noise.Validate();
        Kernel = kernel;
        Noise = noise;
        Options = options ?? new SparseGaussianProcessOptions();
        if (!(Options.InducingJitterThreshold > 0) || Options.InducingJitterThreshold > 1e-4)
        {
            throw new ArgumentOutOfRangeException(nameof(options), Options.InducingJitterThreshold, $"The inducing jitter threshold must be in (0, 1e-4], got {Options.InducingJitterThreshold}.");
        }

        if (Options.InducingPerBlock is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), Options.InducingPerBlock, "InducingPerBlock must be at least 1.");
        }

        var list = inducing.ToList();
        if (list.Count == 0)
        {
            throw new ArgumentException("A sparse GP needs at least one inducing environment.", nameof(inducing));
        }

        SetInducing(list);
    }

    /// <summary>The kernel.</summary>
    public IKernel Kernel { get; private set; }

    /// <summary>The label noise levels.</summary>
    public NoiseLevels Noise { get; private set; }

    /// <summary>The options.</summary>
    public SparseGaussianProcessOptions Options { get; }

    /// <summary>The inducing environments, in the order of the weights.</summary>
    public IReadOnlyList<EnvironmentCluster> Inducing => _inducing;

    /// <summary>Number of inducing environments M.</summary>
    public int InducingCount => _inducing.Count;

    /// <summary>The jitter added to K_uu's diagonal, relative to its mean diagonal (0 when K_uu was well conditioned).</summary>
    public double InducingJitter => _inducingRelativeJitter;

    /// <summary>Number of training structures whose sums the model holds.</summary>
    public int TrainingStructureCount => _stats?.StructureCount ?? 0;

    /// <summary>Number of training labels.</summary>
    public long LabelCount => _stats?.LabelCount ?? 0;

    /// <summary>Whether the model can predict.</summary>
    public bool IsTrained => _weights is not null;

    /// <summary>The prior mean's per-species reference energies (known after training).</summary>
    public SpeciesReferenceEnergies? ReferenceEnergies => _reference;

    /// <summary>The weights w = A⁻¹ K_un Σ⁻¹ (y − m): the predictive mean of any label is k*u w (eV).</summary>
    public ReadOnlySpan<double> Weights => _weights;

    /// <summary>Every property (energy, forces, stress, local energies, with standard deviations).</summary>
    public CalculatorProperties ImplementedProperties => CalculatorProperties.All;

    private LinearAlgebraBackendKind Backend => Options.Backend ?? LinearAlgebraBackend.Active;

    private void SetInducing(List<EnvironmentCluster> clusters)
    {
        var settings = Kernel.Descriptor;
        var envs = new AtomEnvironment[clusters.Count];
        for (int i = 0; i < clusters.Count; i++)
        {
            ArgumentNullException.ThrowIfNull(clusters[i], $"inducing[{i}]");
            if (clusters[i].RadiusA < settings.MaxCutoffA)
            {
                throw new ArgumentException($"Inducing environment {i} was taken within {clusters[i].RadiusA} Å, less than the kernel's cutoff {settings.MaxCutoffA} Å.", "inducing");
            }
        }

        // K_uu, its factor, B and B's factor: four M × M float64 matrices (the gradient needs (H + 3) more).
        ResourceGuard.EnsureFits(4.0 * 8 * clusters.Count * (double)clusters.Count,
            $"The sparse GP's M × M matrices ({clusters.Count} inducing environments: 4 × {clusters.Count}² × 8 bytes)",
            "use fewer inducing environments");
        Parallel.For(0, clusters.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, Options.MaxDegreeOfParallelism) }, i => envs[i] = clusters[i].Describe(settings));
        _inducing.Clear();
        _inducing.AddRange(clusters);
        int per = Options.InducingPerBlockFor(settings);
        var blocks = new List<LabelBlock>();
        for (int start = 0; start < envs.Length; start += per)
        {
            int count = Math.Min(per, envs.Length - start);
            var set = StructureEnvironments.FromEnvironments(envs[start..(start + count)], settings);
            blocks.Add(new LabelBlock(set, LabelSelection.LocalEnergies(Enumerable.Range(0, count).ToArray())));
        }

        _inducingBlocks = [.. blocks];
        Invalidate();
    }

    private void Invalidate()
    {
        _luu = null;
        _stats = null;
        _lb = null;
        _weights = null;
    }

    private AssemblyOptions Assembly(CancellationToken ct) => new()
    {
        MaxDegreeOfParallelism = Math.Max(1, Options.MaxDegreeOfParallelism),
        CancellationToken = ct,
    };

    // ------------------------------------------------------------------ training

    /// <summary>
    /// Trains from scratch on a stream of structures, reading each once: its labels' sums are added
    /// and it is dropped, so <paramref name="structures"/> may be a file read lazily
    /// (e.g. <c>ExtXyz.Read(path)</c>) larger than memory.
    /// </summary>
    /// <param name="structures">Structures with labels.</param>
    /// <param name="kinds">Label kinds to use where present.</param>
    /// <param name="progress">Reports (stage, structures done, −1 as the total is not known in advance).</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <exception cref="InvalidOperationException">No structure had labels.</exception>
    public void Train(IEnumerable<Structure> structures, LabelKinds kinds = LabelKinds.All, IProgress<GpProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(structures);
        Invalidate();
        var (luu, jitter, _) = FactorInducing(Kernel, gradient: false, cancellationToken);
        var stats = new SparseStatistics(InducingCount, Kernel.Hyperparameters.Count, perKind: false, gradient: false, Backend);
        Accumulate(stats, Kernel, Noise, luu, structures, kinds, progress, cancellationToken);
        if (stats.StructureCount == 0)
        {
            throw new InvalidOperationException("The sparse GP has no training data: the stream held no structure.");
        }

        _luu = luu;
        _inducingRelativeJitter = jitter;
        _stats = stats;
        Finish();
        if (jitter > 0 && Options.Logger is { } logger)
        {
            GpffLog.InducingJitterAdded(logger, jitter, InducingCount);
        }
    }

    /// <summary>
    /// Adds structures to a trained model without starting over: their sums are added to the ones held
    /// and the M × M solve is redone (O(M³)); the result equals training on all the data at once.
    /// </summary>
    /// <param name="structures">Structures with labels.</param>
    /// <param name="kinds">Label kinds to use where present.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    public void Add(IEnumerable<Structure> structures, LabelKinds kinds = LabelKinds.All, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(structures);
        if (_stats is null || _luu is null)
        {
            Train(structures, kinds, null, cancellationToken);
            return;
        }

        Accumulate(_stats, Kernel, Noise, _luu, structures, kinds, null, cancellationToken);
        Finish();
    }

    /// <summary>
    /// Adds inducing environments to the model and retrains on <paramref name="training"/> (which must be
    /// the data the model was trained on). The model keeps no K_nu (that is what keeps its memory
    /// independent of the data), and the new points' cross terms with the old ones need every training
    /// structure again, so this costs one streamed pass, O(N·(M + ΔM)) kernel evaluations, as training
    /// does; what it saves is choosing the points again and the caller's bookkeeping. The result equals
    /// a model trained from scratch with all the inducing environments.
    /// </summary>
    /// <param name="clusters">New inducing environments.</param>
    /// <param name="training">The training structures.</param>
    /// <param name="kinds">Label kinds to use.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    public void AddInducing(IEnumerable<EnvironmentCluster> clusters, IEnumerable<Structure> training, LabelKinds kinds = LabelKinds.All, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(clusters);
        ArgumentNullException.ThrowIfNull(training);
        SetInducing([.. _inducing, .. clusters]);
        Train(training, kinds, null, cancellationToken);
    }

    /// <summary>The training sums (null before training).</summary>
    internal SparseStatistics? Statistics => _stats;

    /// <summary>The Cholesky factor of K_uu (null before training).</summary>
    internal CholeskyFactorization? InducingFactor => _luu;

    /// <summary>Restores a trained state from a model file and redoes the M × M solve.</summary>
    internal void Restore(CholeskyFactorization luu, double relativeJitter, SparseStatistics stats)
    {
        if (luu.Order != InducingCount || stats.M != InducingCount)
        {
            throw new InvalidDataException($"The stored factor has order {luu.Order} and the sums {stats.M}, but the model has {InducingCount} inducing environments.");
        }

        _luu = luu;
        _inducingRelativeJitter = relativeJitter;
        _stats = stats;
        Finish();
    }

    /// <summary>Which noise kinds (energy, force, stress) the training data have labels of.</summary>
    internal bool[] PresentNoiseKinds() => _stats is null ? new bool[LabelNoise.KindCount] : _stats.Counts.Select(c => c > 0).ToArray();

    /// <summary>Sets new hyperparameters and noises; the model must be trained again.</summary>
    /// <param name="kernel">The kernel with its new hyperparameters (same cutoffs).</param>
    /// <param name="noise">The new noises.</param>
    public void SetHyperparameters(IKernel kernel, NoiseLevels noise)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        ArgumentNullException.ThrowIfNull(noise);
        noise.Validate();
        if (!kernel.Descriptor.Equals(Kernel.Descriptor))
        {
            throw new ArgumentException("The new kernel needs other environments (cutoffs or cutoff function differ); build a new sparse GP instead.", nameof(kernel));
        }

        Kernel = kernel;
        Noise = noise;
        Invalidate();
    }

    /// <summary>K_uu (column-major M × M), and ∂K_uu/∂θ_h when asked, by the assembly engine.</summary>
    private (double[] Kuu, double[][] Dkuu) InducingCovariance(IKernel kernel, bool gradient, CancellationToken ct)
    {
        int m = InducingCount, nh = gradient ? kernel.Hyperparameters.Count : 0;
        var k = new double[(long)m * m];
        var g = gradient ? new double[(long)nh * m * m] : null;
        CovarianceAssembly.Plan(_inducingBlocks, _inducingBlocks, symmetric: true, Assembly(ct)).Fill(kernel, k, g);
        var d = new double[nh][];
        for (int h = 0; h < nh; h++)
        {
            d[h] = g!.AsSpan(h * m * m, m * m).ToArray();
        }

        return (k, d);
    }

    /// <summary>Factors K_uu + ρ·mean(diag)·I with the jitter policy; returns the factor, ρ, and ∂K_uu/∂θ (with the jitter's own derivative) when asked.</summary>
    private (CholeskyFactorization Factor, double RelativeJitter, double[][] Dkuu) FactorInducing(IKernel kernel, bool gradient, CancellationToken ct)
    {
        var (kuu, dkuu) = InducingCovariance(kernel, gradient, ct);
        int m = InducingCount;
        double meanDiag = 0;
        for (int i = 0; i < m; i++)
        {
            meanDiag += kuu[i * m + i];
        }

        meanDiag /= m;
        var noJitter = new CholeskyOptions { Backend = Backend, AllowJitter = false };
        double tau = Options.InducingJitterThreshold;
        double rho = 0;
        CholeskyFactorization? factor = null;
        while (factor is null)
        {
            var a = (double[])kuu.Clone();
            for (int i = 0; i < m; i++)
            {
                a[i * m + i] += rho * meanDiag;
            }

            try
            {
                var f = CholeskyFactorization.FactorInPlace(a, m, noJitter);
                if (rho > 0 || SmallestEigenvalue(f) >= tau * meanDiag)
                {
                    factor = f;
                    break;
                }
            }
            catch (MatrixNotPositiveDefiniteException)
            {
                // retry with (more) jitter
            }

            rho = rho == 0 ? tau : rho * 10;
            if (rho > 1e-4 * (1 + 1e-12))
            {
                throw new MatrixNotPositiveDefiniteException(m, -1, double.NaN, 1e-4 * meanDiag,
                    $"K_uu of the {m} inducing environments is not positive definite even with a jitter of 1e-4 of its mean diagonal: remove duplicate inducing environments.");
            }
        }

        if (rho > 0)
        {
            // The jitter ρ·mean(diag K_uu) moves with the hyperparameters: its derivative is part of ∂K_uu/∂θ.
            foreach (var d in dkuu)
            {
                double md = 0;
                for (int i = 0; i < m; i++)
                {
                    md += d[i * m + i];
                }

                md *= rho / m;
                for (int i = 0; i < m; i++)
                {
                    d[i * m + i] += md;
                }
            }
        }

        return (factor, rho, dkuu);
    }

    /// <summary>
    /// An estimate of the smallest eigenvalue of L Lᵀ: 1 / the largest eigenvalue of (L Lᵀ)⁻¹ by 30 steps of
    /// power iteration (two triangular solves each, O(M²)) from a fixed start; it converges from above, so
    /// near-singular matrices are recognised.
    /// </summary>
    private static double SmallestEigenvalue(CholeskyFactorization f)
    {
        int m = f.Order;
        var x = new double[m];
        for (int i = 0; i < m; i++)
        {
            x[i] = 1.0 + 0.5 * Math.Sin(1.0 + i);     // fixed, not orthogonal to any eigenvector in practice
        }

        double lambda = 0;
        for (int it = 0; it < 30; it++)
        {
            double norm = Math.Sqrt(DenseKernels.Dot(x, x));
            for (int i = 0; i < m; i++)
            {
                x[i] /= norm;
            }

            var y = (double[])x.Clone();
            f.SolveInPlace(y, 1);
            lambda = DenseKernels.Dot(x, y);          // Rayleigh quotient of the inverse
            x = y;
        }

        return 1.0 / lambda;
    }

    /// <summary>
    /// One training structure of a stream: its labels, K_us (M × n, inducing rows) and, for <paramref name="nh"/> &gt; 0,
    /// ∂K_us/∂θ_h — what every streamed pass (training sums, LOSO terms) needs of a structure.
    /// </summary>
    private (TrainingEntry Entry, double[] Kus, double[][] Dkus) StructureCrossCovariance(IKernel kernel, Structure structure, LabelKinds kinds, int index, int nh, CancellationToken ct)
    {
        int m = InducingCount;
        var entry = TrainingEntry.Create(structure, kernel, kinds, null, $"Training structure {index} ({structure?.HillFormula()})");
        int n = entry.Count;
        var kus = new double[(long)m * n];
        var dkus = new double[nh][];
        for (int h = 0; h < nh; h++)
        {
            dkus[h] = new double[(long)m * n];
        }

        CrossCovariance(kernel, entry.Block, kus, dkus, ct);
        return (entry, kus, dkus);
    }

    /// <summary>Adds the sums of each structure of the stream.</summary>
    private void Accumulate(SparseStatistics stats, IKernel kernel, NoiseLevels noise, CholeskyFactorization luu, IEnumerable<Structure> structures,
        LabelKinds kinds, IProgress<GpProgress>? progress, CancellationToken ct)
    {
        int nh = stats.H;
        int index = stats.StructureCount;
        foreach (var structure in structures)
        {
            ct.ThrowIfCancellationRequested();
            var (entry, kus, dkus) = StructureCrossCovariance(kernel, structure, kinds, index, nh, ct);
            stats.Add(entry, noise, luu, kus, dkus);
            index++;
            progress?.Report(new GpProgress("training structures", index, -1));
        }
    }

    /// <summary>K_us of one label block with every inducing local energy (column-major M × n, i.e. n × M row-major), and its derivatives.</summary>
    private void CrossCovariance(IKernel kernel, LabelBlock block, double[] kus, double[][] dkus, CancellationToken ct)
    {
        int m = InducingCount;
        int per = Options.InducingPerBlockFor(kernel.Descriptor);
        int nh = dkus.Length;

        // A many-body kernel computes a row block's environment data once per structure (cached across column
        // blocks), so force-only rows are not split into work items of a few atoms, each of which would redo it.
        var options = Assembly(ct);
        if (kernel.Descriptor.ManyBody is not null)
        {
            options = new AssemblyOptions
            {
                MaxDegreeOfParallelism = options.MaxDegreeOfParallelism,
                CancellationToken = ct,
                AtomsPerWorkItem = int.MaxValue,
            };
        }

        CovarianceAssembly.Plan([block], _inducingBlocks, symmetric: false, options).Run(kernel, nh > 0, b =>
        {
            int nc = b.ColumnCount, c0 = b.ColumnBlock * per, rows = b.RowLabels.Length;
            var v = b.Values;
            for (int a = 0; a < rows; a++)
            {
                long r = (long)b.RowLabels[a] * m + c0;
                for (int c = 0; c < nc; c++)
                {
                    kus[r + c] = v[a * nc + c];
                }

                for (int h = 0; h < nh; h++)
                {
                    var g = b.HyperparameterGradients;
                    var d = dkus[h];
                    for (int c = 0; c < nc; c++)
                    {
                        d[r + c] = g[h * rows * nc + a * nc + c];
                    }
                }
            }
        });
    }

    private SpeciesReferenceEnergies Reference(SparseStatistics stats)
    {
        if (Options.ReferenceEnergies is { } fixedReference)
        {
            return fixedReference;
        }

        return stats.Energies.Count > 0
            ? SpeciesReferenceEnergies.Fit(stats.Energies.Select(e => ((IReadOnlyList<int>)e.AtomicNumbers, e.EnergyEv)))
            : SpeciesReferenceEnergies.FromValues(stats.SeenSpecies.ToDictionary(z => z, _ => 0.0));
    }

    /// <summary>The solve: B = I + ΣB_k = L_B L_Bᵀ, ŵ = B⁻¹ c, w = L⁻ᵀ ŵ.</summary>
    private void Finish()
    {
        var stats = _stats!;
        _reference = Reference(stats);
        var (lb, what, _, _) = Solve(stats, _reference);
        var w = (double[])what.Clone();
        _luu!.SolveLowerTransposeInPlace(w, 1);
        _lb = lb;
        _weights = w;
    }

    private (CholeskyFactorization Lb, double[] WHat, double[] C, double[] T) Solve(SparseStatistics stats, SpeciesReferenceEnergies reference)
    {
        int m = stats.M;
        var b = new double[(long)m * m];
        foreach (var bk in stats.B)
        {
            DenseKernels.Axpy(1.0, bk, b);
        }

        for (int i = 0; i < m; i++)
        {
            b[i * m + i] += 1;
        }

        var lb = CholeskyFactorization.FactorInPlace(b, m, new CholeskyOptions { Backend = Backend });
        var t = stats.TargetWeights(reference);
        var c = new double[m];
        foreach (var ck in stats.C)
        {
            DenseKernels.Axpy(1.0, stats.Combine(ck, t), c);
        }

        var what = (double[])c.Clone();
        lb.SolveInPlace(what, 1);
        return (lb, what, c, t);
    }

    // ------------------------------------------------------------------ likelihood

    /// <summary>
    /// The sparse (DTC) log marginal likelihood log N(y | m, K_nu K_uu⁻¹ K_un + Σ) of a training set at
    /// the given hyperparameters and noises, in one pass over the structures, and optionally its
    /// analytic gradient with respect to every kernel hyperparameter and the three noise standard
    /// deviations (zero for a kind absent from the data), in that order. The inducing environments
    /// are those of this model; the prior mean's reference energies are fitted to the energies of the
    /// stream (or fixed by the options) and held fixed. Does not change the model.
    /// With jitter on K_uu (<see cref="LikelihoodResult.JitterAdded"/>, relative to K_uu's mean
    /// diagonal) the value and gradient are those of the jittered model.
    /// </summary>
    /// <param name="structures">The training structures (read once).</param>
    /// <param name="kinds">Label kinds to use.</param>
    /// <param name="kernel">Kernel to evaluate (null: the model's).</param>
    /// <param name="noise">Noises to evaluate (null: the model's).</param>
    /// <param name="gradient">Whether to compute the gradient.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>Value, gradient (kernel hyperparameters, then energy, force, stress noise), relative jitter.</returns>
    public LikelihoodResult LogMarginalLikelihood(IEnumerable<Structure> structures, LabelKinds kinds = LabelKinds.All, IKernel? kernel = null,
        NoiseLevels? noise = null, bool gradient = true, CancellationToken cancellationToken = default)
    {
        (kernel, noise) = ObjectiveArguments(structures, kernel, noise);

        int m = InducingCount, nh = kernel.Hyperparameters.Count;
        var (luu, rho, dkuu) = FactorInducing(kernel, gradient, cancellationToken);
        // A kernel whose only hyperparameter is its amplitude needs no derivative sums: they are B and C (see Likelihood).
        var stats = new SparseStatistics(m, nh, perKind: gradient, gradient: gradient && !AmplitudeOnly(kernel), Backend);
        Accumulate(stats, kernel, noise, luu, structures, kinds, null, cancellationToken);
        if (stats.StructureCount == 0)
        {
            throw new InvalidOperationException("The likelihood needs training data: the stream held no structure.");
        }

        return Likelihood(stats, kernel, noise, luu, rho, dkuu, gradient);
    }

    /// <summary>
    /// The arguments of an objective (<see cref="LogMarginalLikelihood"/>, <see cref="LeaveOneStructureOutLogDensity"/>):
    /// the kernel and noises to evaluate (null: the model's), checked, with the kernel's environments those of the inducing set.
    /// </summary>
    private (IKernel Kernel, NoiseLevels Noise) ObjectiveArguments(IEnumerable<Structure> structures, IKernel? kernel, NoiseLevels? noise)
    {
        ArgumentNullException.ThrowIfNull(structures);
        kernel ??= Kernel;
        noise ??= Noise;
        noise.Validate();
        if (!kernel.Descriptor.Equals(Kernel.Descriptor))
        {
            throw new ArgumentException("The kernel needs other environments than the inducing ones were built for (cutoffs or cutoff function differ).", nameof(kernel));
        }

        return (kernel, noise);
    }

    /// <summary>Whether the kernel's only hyperparameter is an amplitude (<see cref="IKernel.AmplitudeIndex"/>).</summary>
    private static bool AmplitudeOnly(IKernel kernel) => kernel.Hyperparameters.Count == 1 && kernel.AmplitudeIndex == 0;

    /// <summary>
    /// The likelihood and its gradient from the sums of the whole training set (one pass, or reduced shards). Sums
    /// without derivative sums (<see cref="SparseStatistics.H"/> = 0) with the gradient are those of a kernel whose
    /// only hyperparameter is its amplitude σ: ∂K_us/∂σ = (2/σ)K_us, so ẽ = (2/σ)c and D̃ = (2/σ)Σ_k B_k.
    /// </summary>
    private LikelihoodResult Likelihood(SparseStatistics stats, IKernel kernel, NoiseLevels noise, CholeskyFactorization luu, double rho, double[][] dkuu, bool gradient)
    {
        int m = InducingCount, nh = kernel.Hyperparameters.Count;
        var reference = Reference(stats);
        var (lb, what, c, t) = Solve(stats, reference);
        double yy = 0;
        foreach (var q in stats.Q)
        {
            yy += stats.Quadratic(q, t);
        }

        double fit = yy - DenseKernels.Dot(c, what);
        long n = stats.LabelCount;
        double value = -0.5 * fit - 0.5 * lb.LogDeterminant - 0.5 * stats.LogDetNoise - 0.5 * n * Math.Log(2 * Math.PI);
        var grad = new double[nh + LabelNoise.KindCount];
        if (!gradient)
        {
            return new LikelihoodResult(value, grad, rho);
        }

        var dense = DenseKernels.For(Backend);
        var binv = lb.InverseColumnMajor();

        // Noises: ∂/∂σ_k = (1/σ_k)[tᵀQ_k t − 2ŵᵀc_k + ŵᵀB_k ŵ + tr(B⁻¹B_k) − n_k].
        var sigmas = noise.ToArray();
        for (int k = 0; k < LabelNoise.KindCount; k++)
        {
            if (stats.Counts[k] == 0)
            {
                continue;
            }

            var ck = stats.Combine(stats.C[k], t);
            var bk = stats.B[k];
            var bw = new double[m];
            dense.Gemm(false, false, m, 1, m, 1.0, bk, what, 0.0, bw);
            double tr = DenseKernels.Dot(binv, bk);
            grad[nh + k] = (stats.Quadratic(stats.Q[k], t) - 2 * DenseKernels.Dot(what, ck) + DenseKernels.Dot(what, bw) + tr - stats.Counts[k]) / sigmas[k];
        }

        // Kernel, whitened by L (K_uu = L Lᵀ) so that no inverse of K_uu is formed:
        // ∂/∂θ_h = ŵᵀẽ_h − ŵᵀD̃_h ŵ − tr(B⁻¹D̃_h) + ½ tr((I − B⁻¹ − ŵŵᵀ) W_h),
        // ẽ_h = L⁻¹e_h, D̃_h = L⁻¹(Σ ∂K_us Σ⁻¹ K_su)L⁻ᵀ = L⁻¹D_h (the sums hold D_h whitened on one side), W_h = L⁻¹ ∂K_uu/∂θ_h L⁻ᵀ.
        var p = new double[(long)m * m];     // I − B⁻¹ − ŵŵᵀ
        for (int j = 0; j < m; j++)
        {
            for (int i = 0; i < m; i++)
            {
                p[j * m + i] = (i == j ? 1 : 0) - binv[j * m + i] - what[i] * what[j];
            }
        }

        var dw = new double[m];
        bool fromCovariance = stats.H == 0;
        if (fromCovariance && !AmplitudeOnly(kernel))
        {
            throw new InvalidOperationException($"The likelihood gradient needs the derivative sums of the {nh} hyperparameters of {kernel.Name}; these sums hold none.");
        }

        for (int h = 0; h < nh; h++)
        {
            double[] eh, dt;
            if (fromCovariance)
            {
                double f = 2 / kernel.Hyperparameters[h];
                eh = new double[m];
                DenseKernels.Axpy(f, c, eh);
                dt = new double[(long)m * m];
                foreach (var bk in stats.B)
                {
                    DenseKernels.Axpy(f, bk, dt);
                }
            }
            else
            {
                eh = stats.Combine(stats.E[h], t);
                luu.SolveLowerInPlace(eh, 1);
                dt = (double[])stats.D[h].Clone();
                luu.SolveLowerInPlace(dt, m);            // D̃_h
            }

            var wh = Whiten(luu, dkuu[h], m);
            dense.Gemm(false, false, m, 1, m, 1.0, dt, what, 0.0, dw);
            grad[h] = DenseKernels.Dot(what, eh) - DenseKernels.Dot(what, dw) - DenseKernels.Dot(binv, dt) + 0.5 * DenseKernels.Dot(p, wh);
        }

        return new LikelihoodResult(value, grad, rho);
    }

    /// <summary>L⁻¹ X L⁻ᵀ for a column-major M × M matrix X (a new array).</summary>
    private static double[] Whiten(CholeskyFactorization l, double[] x, int m)
    {
        var y = (double[])x.Clone();
        l.SolveLowerInPlace(y, m);                 // L⁻¹ X
        var yt = new double[(long)m * m];
        for (int j = 0; j < m; j++)
        {
            for (int i = 0; i < m; i++)
            {
                yt[i * m + j] = y[j * m + i];
            }
        }

        l.SolveLowerInPlace(yt, m);                // L⁻¹ (L⁻¹ X)ᵀ = L⁻¹ Xᵀ L⁻ᵀ = (L⁻¹ X L⁻ᵀ)ᵀ
        return yt;
    }

    // ------------------------------------------------------------------ prediction

    /// <summary>
    /// Predictive means (without the prior mean) and variances (<see cref="SparseGaussianProcessOptions.Variance"/>,
    /// of the latent function) of any labels of a structure.
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
        int m = InducingCount, r = labels.Count;
        var k = new double[(long)m * r];
        CrossCovariance(Kernel, new LabelBlock(environments, labels), k, [], cancellationToken);
        var w = _weights!;
        var mean = new double[r];
        for (int j = 0; j < r; j++)
        {
            mean[j] = DenseKernels.Dot(k.AsSpan(j * m, m), w);
        }

        if (!uncertainty)
        {
            return (mean, null);
        }

        var variance = new double[r];
        _luu!.SolveLowerInPlace(k, r);
        var explained = new double[r];
        for (int j = 0; j < r; j++)
        {
            var col = k.AsSpan(j * m, m);
            explained[j] = DenseKernels.Dot(col, col);
        }

        _lb!.SolveLowerInPlace(k, r);
        for (int j = 0; j < r; j++)
        {
            var col = k.AsSpan(j * m, m);
            variance[j] = DenseKernels.Dot(col, col);
        }

        if (Options.Variance == SparseVarianceKind.Dtc)
        {
            var prior = new double[r];
            Kernel.Variance(environments, labels, prior);
            for (int j = 0; j < r; j++)
            {
                variance[j] += prior[j] - explained[j];
            }
        }

        return (mean, variance);
    }

    /// <summary>Predicts energy, forces, stress (3D-periodic cells) and local energies, with predictive standard deviations.</summary>
    /// <param name="structure">The structure.</param>
    /// <param name="uncertainty">Whether to compute standard deviations.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The prediction.</returns>
    public GpPrediction Predict(Structure structure, bool uncertainty = true, CancellationToken cancellationToken = default)
    {
        var r = Calculate(structure, CalculatorProperties.Energy | CalculatorProperties.Forces | CalculatorProperties.Stress | CalculatorProperties.LocalEnergies
            | (uncertainty ? CalculatorProperties.Uncertainty : 0), cancellationToken);
        return new GpPrediction
        {
            EnergyEv = r.EnergyEv!.Value,
            EnergyStdEv = r.EnergyStdEv ?? double.NaN,
            ForcesEvPerA = r.ForcesEvPerA!,
            ForcesStdEvPerA = r.ForcesStdEvPerA,
            StressEvPerA3 = r.StressEvPerA3,
            StressStdEvPerA3 = r.StressStdEvPerA3,
            LocalEnergiesEv = r.LocalEnergiesEv!,
            LocalEnergiesStdEv = r.LocalEnergiesStdEv,
        };
    }

    /// <summary>
    /// Predicts the properties asked for (energies include the prior mean; stress for 3D-periodic
    /// cells only), with standard deviations on <see cref="CalculatorProperties.Uncertainty"/>.
    /// </summary>
    /// <param name="structure">The structure.</param>
    /// <param name="properties">What to predict.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The requested values, null for the rest.</returns>
    public CalculationResult Calculate(Structure structure, CalculatorProperties properties, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(structure);
        this.ThrowIfNotImplemented(properties);
        EnsureTrained();
        structure.Validate(Structure.DefaultMinimumDistanceA, allowLeftHandedCell: true);
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
        static double Std(double v) => Math.Sqrt(Math.Max(v, 0));
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

    private void EnsureTrained()
    {
        if (!IsTrained)
        {
            throw new InvalidOperationException("The sparse GP is not trained: call Train with the training structures first.");
        }
    }
}
