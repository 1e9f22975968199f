using System.Diagnostics;
using System.Globalization;
using Gpff.Descriptors;
using Gpff.Geometry;
using Gpff.Kernels;

namespace Gpff.Regression.Mapping;

/// <summary>Options of <see cref="MappedForceFieldBuilder.Build"/>. The defaults are the one home of the mapping defaults (CLI help and docs quote them).</summary>
public sealed record MappingOptions
{
    /// <summary>Default force tolerance against the GP, eV/Å.</summary>
    public const double DefaultForceToleranceEvPerA = 0.01;

    /// <summary>Default number of 2-body grid points of the first build.</summary>
    public const int DefaultPairGridPoints = 64;

    /// <summary>Default number of 3-body grid points per axis of the first build.</summary>
    public const int DefaultTripletGridPoints = 12;

    /// <summary>Default margin below the smallest training distance of each species pair, Å.</summary>
    public const double DefaultLowerBoundMarginA = 0.2;

    /// <summary>
    /// The largest force-component difference between map and GP allowed on the validation structures
    /// (eV/Å, default <see cref="DefaultForceToleranceEvPerA"/>).
    /// </summary>
    public double ForceToleranceEvPerA { get; init; } = DefaultForceToleranceEvPerA;

    /// <summary>2-body grid points of the first build (default <see cref="DefaultPairGridPoints"/>); doubled while the 2-body error is too large.</summary>
    public int PairGridPoints { get; init; } = DefaultPairGridPoints;

    /// <summary>3-body grid points per axis of the first build (default <see cref="DefaultTripletGridPoints"/>); grown by half while the 3-body error is too large.</summary>
    public int TripletGridPoints { get; init; } = DefaultTripletGridPoints;

    /// <summary>The most 2-body grid points (default 1024).</summary>
    public int MaxPairGridPoints { get; init; } = 1024;

    /// <summary>The most 3-body grid points per axis (default 40: 64,000 GP evaluations per species triplet).</summary>
    public int MaxTripletGridPoints { get; init; } = 40;

    /// <summary>
    /// How far below the smallest distance of each species pair in the training data the maps reach, Å
    /// (default <see cref="DefaultLowerBoundMarginA"/>). Shorter distances are refused (<see cref="MapDomainException"/>).
    /// </summary>
    public double LowerBoundMarginA { get; init; } = DefaultLowerBoundMarginA;

    /// <summary>
    /// Largest displacement per Cartesian component (Å, default 0.03) of the atoms of the training
    /// structures when they stand in for held-out validation structures (no validation structures given).
    /// </summary>
    public double ValidationRattleA { get; init; } = 0.03;

    /// <summary>The most training structures rattled into validation structures (default 20).</summary>
    public int MaxValidationStructures { get; init; } = 20;

    /// <summary>Seed of the validation rattle (default 0).</summary>
    public int Seed { get; init; }

    /// <summary>Whether a map that misses the tolerance at the largest grids is an error (default true) or is returned with its <see cref="MappingReport"/>.</summary>
    public bool RequireTolerance { get; init; } = true;

    /// <summary>Default tolerance of the variance map: largest difference of a local-energy σ to the GP's, eV.</summary>
    public const double DefaultLocalEnergyStdToleranceEv = 0.001;

    /// <summary>
    /// Whether to map the variance too (default false): <see cref="MappedForceField.Variance"/>, the latent,
    /// calibrated σ of local and total energies (see <see cref="MappedVariance"/>). Costs a k* and a triangular
    /// solve per grid point and memory of (grid points) × (training labels) doubles while building.
    /// </summary>
    public bool MapVariance { get; init; }

    /// <summary>
    /// The largest difference of a local-energy standard deviation between the variance map and the GP allowed on the
    /// validation structures, eV (default <see cref="DefaultLocalEnergyStdToleranceEv"/>); the rank grows until it is met.
    /// </summary>
    public double LocalEnergyStdToleranceEv { get; init; } = DefaultLocalEnergyStdToleranceEv;

    /// <summary>Threads for the grid evaluation (default: all cores).</summary>
    public int MaxDegreeOfParallelism { get; init; } = Environment.ProcessorCount;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the option, value and unit when one is out of range.</summary>
    public void Validate()
    {
        Check(ForceToleranceEvPerA > 0 && double.IsFinite(ForceToleranceEvPerA), nameof(ForceToleranceEvPerA), ForceToleranceEvPerA, "a positive number of eV/Å");
        Check(PairGridPoints >= UniformCubicSpline.MinimumPoints && PairGridPoints <= MaxPairGridPoints, nameof(PairGridPoints), PairGridPoints, $"{UniformCubicSpline.MinimumPoints} to MaxPairGridPoints = {MaxPairGridPoints}");
        Check(MaxPairGridPoints <= SplineSolver.MaximumPoints, nameof(MaxPairGridPoints), MaxPairGridPoints, $"at most {SplineSolver.MaximumPoints}");
        Check(TripletGridPoints >= UniformCubicSpline.MinimumPoints && TripletGridPoints <= MaxTripletGridPoints, nameof(TripletGridPoints), TripletGridPoints, $"{UniformCubicSpline.MinimumPoints} to MaxTripletGridPoints = {MaxTripletGridPoints}");
        Check(MaxTripletGridPoints <= 128, nameof(MaxTripletGridPoints), MaxTripletGridPoints, "at most 128");
        Check(LowerBoundMarginA >= 0 && double.IsFinite(LowerBoundMarginA), nameof(LowerBoundMarginA), LowerBoundMarginA, "a number of Å ≥ 0");
        Check(ValidationRattleA >= 0 && ValidationRattleA <= 0.2, nameof(ValidationRattleA), ValidationRattleA, "0 to 0.2 Å");
        Check(MaxValidationStructures >= 1, nameof(MaxValidationStructures), MaxValidationStructures, "at least 1");
        Check(MaxDegreeOfParallelism >= 1, nameof(MaxDegreeOfParallelism), MaxDegreeOfParallelism, "at least 1");
        Check(LocalEnergyStdToleranceEv > 0 && double.IsFinite(LocalEnergyStdToleranceEv), nameof(LocalEnergyStdToleranceEv), LocalEnergyStdToleranceEv, "a positive number of eV");

        static void Check(bool ok, string name, object value, string range)
        {
            if (!ok)
            {
                throw new ArgumentOutOfRangeException(name, value, string.Create(CultureInfo.InvariantCulture, $"Mapping option {name} must be {range}, got {value}."));
            }
        }
    }
}

/// <summary>One build of the maps and its check against the GP on the validation structures.</summary>
/// <param name="PairGridPoints">2-body grid points.</param>
/// <param name="TripletGridPoints">3-body grid points per axis.</param>
/// <param name="MaxPairForceErrorEvPerA">Largest force-component error of the 2-body map against the GP's 2-body part, eV/Å.</param>
/// <param name="MaxTripletForceErrorEvPerA">Largest force-component error of the 3-body map against the GP's 3-body part, eV/Å.</param>
/// <param name="MaxForceErrorEvPerA">Largest force-component error of the map against the GP, eV/Å.</param>
/// <param name="RmsForceErrorEvPerA">Root-mean-square force-component error against the GP, eV/Å.</param>
/// <param name="MaxLocalEnergyErrorEv">Largest local-energy error against the GP, eV.</param>
/// <param name="Seconds">Time to build and check, s.</param>
public sealed record MappingRound(int PairGridPoints, int TripletGridPoints, double MaxPairForceErrorEvPerA, double MaxTripletForceErrorEvPerA,
    double MaxForceErrorEvPerA, double RmsForceErrorEvPerA, double MaxLocalEnergyErrorEv, double Seconds)
{
    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"grid {PairGridPoints} (2-body), {TripletGridPoints}³ (3-body): max |ΔF| {MaxForceErrorEvPerA * 1000:G4} meV/Å (2-body {MaxPairForceErrorEvPerA * 1000:G4}, 3-body {MaxTripletForceErrorEvPerA * 1000:G4}), rms {RmsForceErrorEvPerA * 1000:G4} meV/Å, max |Δε| {MaxLocalEnergyErrorEv * 1000:G4} meV, {Seconds:F1} s");
}

/// <summary>How a mapped force field was built and how close it is to its GP.</summary>
/// <param name="ToleranceEvPerA">The force tolerance asked for, eV/Å.</param>
/// <param name="MetTolerance">Whether the final maps meet it on every validation force component.</param>
/// <param name="ValidationStructures">Number of validation structures.</param>
/// <param name="ValidationAtoms">Number of validation atoms (3 force components each).</param>
/// <param name="ValidationSource">What the validation structures were ("given" or "rattled training structures, ±x Å, seed s").</param>
/// <param name="Rounds">Every build, the last one being the map's.</param>
/// <param name="TrainingLabels">Labels of the GP that was mapped.</param>
public sealed record MappingReport(double ToleranceEvPerA, bool MetTolerance, int ValidationStructures, int ValidationAtoms, string ValidationSource,
    IReadOnlyList<MappingRound> Rounds, int TrainingLabels)
{
    /// <summary>The final build.</summary>
    public MappingRound Final => Rounds[^1];

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"mapped GP ({TrainingLabels} training labels): {Final}; tolerance {ToleranceEvPerA * 1000:G4} meV/Å {(MetTolerance ? "met" : "NOT met")} on {ValidationAtoms} atoms of {ValidationStructures} {ValidationSource}");
}

/// <summary>Progress of a map build: the stage and grid points evaluated.</summary>
/// <param name="Stage">What is being done.</param>
/// <param name="Done">Units done.</param>
/// <param name="Total">Units in all.</param>
public sealed record MappingProgress(string Stage, long Done, long Total);

/// <summary>The mapped force field's tolerance was not met at the largest grids allowed.</summary>
public sealed class MappingToleranceException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="report">The report of every build.</param>
    public MappingToleranceException(MappingReport report)
        : base(string.Create(CultureInfo.InvariantCulture,
            $"The mapped GP misses the force tolerance {report?.ToleranceEvPerA * 1000:G4} meV/Å at the largest grids allowed: {report?.Final}. Allow larger grids (MaxPairGridPoints, MaxTripletGridPoints), a looser tolerance, or keep using the GP."))
    {
        Report = report!;
    }

    /// <summary>Creates the exception for a variance map that misses its tolerance with nothing left out.</summary>
    /// <param name="report">The variance map's report.</param>
    public MappingToleranceException(VarianceMapReport report)
        : base(string.Create(CultureInfo.InvariantCulture,
            $"The variance map misses its tolerance {report?.ToleranceEv * 1000:G4} meV on local-energy σ with every component kept: {report}. The spline grids limit it: build with a tighter force tolerance or larger starting grids, loosen LocalEnergyStdToleranceEv, or use the GP's σ."))
    {
        Report = null;
        VarianceReport = report;
    }

    /// <summary>The report of every build of the mean (null when the variance map missed its tolerance).</summary>
    public MappingReport? Report { get; }

    /// <summary>The variance map's report, when that is what missed its tolerance.</summary>
    public VarianceMapReport? VarianceReport { get; }
}

/// <summary>
/// Builds a <see cref="MappedForceField"/> from a trained 2+3-body GP (see its remarks for what is mapped),
/// to a force tolerance: build the maps, compare their forces with the GP's on validation structures
/// (not grid points), refine the grid of the body order whose error is too large (2-body points ×2,
/// 3-body points per axis ×1.5), repeat up to the largest grids, and report the achieved error.
/// </summary>
public static class MappedForceFieldBuilder
{
    /// <summary>Builds the map of <paramref name="gp"/>'s mean.</summary>
    /// <param name="gp">A trained GP with a 2-body and/or 3-body kernel (a <see cref="TwoBodyKernel"/>, a <see cref="ThreeBodyKernel"/>, or their <see cref="SumKernel"/>).</param>
    /// <param name="options">Tolerance, grids, bounds (null: defaults).</param>
    /// <param name="validation">Held-out structures to check the map on (labels ignored); null: the training structures, rattled.</param>
    /// <param name="progress">Progress of the grid evaluation.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The map; its <see cref="MappedForceField.Report"/> says how close it is to the GP.</returns>
    /// <exception cref="NotSupportedException">The kernel is not a 2-body / 3-body kernel.</exception>
    /// <exception cref="MappingToleranceException">The tolerance is not met at the largest grids (unless <see cref="MappingOptions.RequireTolerance"/> is false).</exception>
    public static MappedForceField Build(GaussianProcess gp, MappingOptions? options = null, IEnumerable<Structure>? validation = null,
        IProgress<MappingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(gp);
        options ??= new MappingOptions();
        options.Validate();
        if (!gp.IsTrained)
        {
            throw new InvalidOperationException("Only a trained GP can be mapped: call Train() first.");
        }

        var mean = new GpMeanParts(gp);
        var bounds = mean.LowerBounds(options.LowerBoundMarginA);
        string source;
        List<Structure> checks;
        if (validation is null)
        {
            checks = Rattled(gp, options);
            source = string.Create(CultureInfo.InvariantCulture, $"training structures rattled by up to ±{options.ValidationRattleA} Å (seed {options.Seed})");
        }
        else
        {
            checks = validation.Select(s => s.CloneWithoutLabels()).ToList();
            source = "given validation structures";
            if (checks.Count == 0)
            {
                throw new ArgumentException("The validation set is empty; give at least one structure, or null to use the rattled training structures.", nameof(validation));
            }
        }

        // The GP side of the check, computed once: its forces and local energies, and each body order's forces.
        var reference = checks.Select(s => new Reference(s, gp, mean, cancellationToken)).ToList();
        int n2 = options.PairGridPoints, n3 = options.TripletGridPoints;
        var rounds = new List<MappingRound>();
        while (true)
        {
            var sw = Stopwatch.StartNew();
            var map = mean.Map(n2, n3, bounds, options, progress, cancellationToken, null);
            var round = Check(map, mean, reference, n2, n3, sw, cancellationToken);
            rounds.Add(round);
            bool met = round.MaxForceErrorEvPerA <= options.ForceToleranceEvPerA;
            bool grow2 = mean.Pair is not null && round.MaxPairForceErrorEvPerA > 0.5 * options.ForceToleranceEvPerA && n2 < options.MaxPairGridPoints;
            bool grow3 = mean.Triplet is not null && round.MaxTripletForceErrorEvPerA > 0.5 * options.ForceToleranceEvPerA && n3 < options.MaxTripletGridPoints;
            if (!met && !grow2 && !grow3)
            {
                // Neither part alone is above half the tolerance but the sum is: refine whichever is larger.
                grow2 = mean.Pair is not null && round.MaxPairForceErrorEvPerA >= round.MaxTripletForceErrorEvPerA && n2 < options.MaxPairGridPoints;
                grow3 = !grow2 && mean.Triplet is not null && n3 < options.MaxTripletGridPoints;
            }

            if (met || (!grow2 && !grow3))
            {
                var report = new MappingReport(options.ForceToleranceEvPerA, met, checks.Count, checks.Sum(c => c.AtomCount), source, rounds, gp.LabelCount);
                if (!met && options.RequireTolerance)
                {
                    throw new MappingToleranceException(report);
                }

                var result = mean.Map(n2, n3, bounds, options, null, cancellationToken, report, map);
                return options.MapVariance ? MappedVarianceBuilder.Build(gp, mean, result, checks, options, progress, cancellationToken) : result;
            }

            if (grow2)
            {
                n2 = Math.Min(options.MaxPairGridPoints, 2 * n2);
            }

            if (grow3)
            {
                n3 = Math.Min(options.MaxTripletGridPoints, (int)Math.Ceiling(1.5 * n3));
            }
        }
    }

    private static List<Structure> Rattled(GaussianProcess gp, MappingOptions options)
    {
        var rng = new Random(options.Seed);
        var result = new List<Structure>();
        var entries = gp.Training;
        int count = Math.Min(entries.Count, options.MaxValidationStructures);
        for (int k = 0; k < count; k++)
        {
            // Evenly spread over the training set, so that every composition is checked.
            var s = entries[(int)((long)k * entries.Count / count)].Structure.CloneWithoutLabels();
            var pos = s.Positions;
            for (int i = 0; i < pos.Length; i++)
            {
                double a = options.ValidationRattleA;
                pos[i] += new Vec3(a * (2 * rng.NextDouble() - 1), a * (2 * rng.NextDouble() - 1), a * (2 * rng.NextDouble() - 1));
            }

            result.Add(s);
        }

        return result;
    }

    private static MappingRound Check(MappedForceField map, GpMeanParts mean, List<Reference> reference, int n2, int n3, Stopwatch sw, CancellationToken ct)
    {
        double max = 0, max2 = 0, max3 = 0, maxE = 0, sum = 0;
        long count = 0;
        var virial = new double[6];
        foreach (var r in reference)
        {
            var env = StructureEnvironments.Build(r.Structure, map.Descriptor);
            int n = r.Structure.AtomCount;
            var local = new double[n];
            var grad = new Vec3[n];
            map.Accumulate(env, local, grad, virial, ct);
            for (int i = 0; i < n; i++)
            {
                var f = -1.0 * grad[i];
                for (int a = 0; a < 3; a++)
                {
                    double d = Math.Abs(f[a] - r.Forces[i][a]);
                    max = Math.Max(max, d);
                    sum += d * d;
                    count++;
                }

                maxE = Math.Max(maxE, Math.Abs(local[i] - r.LocalEnergies[i]));
            }

            // Per body order: the map of one part alone against the GP's part.
            var (f2, f3) = GpMeanParts.MapPartForces(map, env, ct);
            for (int i = 0; i < n; i++)
            {
                for (int a = 0; a < 3; a++)
                {
                    if (r.PairForces is not null)
                    {
                        max2 = Math.Max(max2, Math.Abs(f2[i][a] - r.PairForces[i][a]));
                    }

                    if (r.TripletForces is not null)
                    {
                        max3 = Math.Max(max3, Math.Abs(f3[i][a] - r.TripletForces[i][a]));
                    }
                }
            }
        }

        return new MappingRound(n2, n3, max2, max3, max, Math.Sqrt(sum / Math.Max(1, count)), maxE, sw.Elapsed.TotalSeconds);
    }

    /// <summary>The GP's answers on one validation structure.</summary>
    private sealed class Reference
    {
        public Reference(Structure s, GaussianProcess gp, GpMeanParts mean, CancellationToken ct)
        {
            Structure = s;
            var result = gp.Calculate(s, CalculatorProperties.Forces | CalculatorProperties.LocalEnergies, ct);
            Forces = result.ForcesEvPerA!;
            LocalEnergies = result.LocalEnergiesEv!;
            var env = gp.Kernel.Describe(s);
            PairForces = mean.Pair is null ? null : mean.PartForces(mean.Pair, env, ct);
            TripletForces = mean.Triplet is null ? null : mean.PartForces(mean.Triplet, env, ct);
        }

        public Structure Structure { get; }

        public Vec3[] Forces { get; }

        public double[] LocalEnergies { get; }

        public Vec3[]? PairForces { get; }

        public Vec3[]? TripletForces { get; }
    }
}

/// <summary>
/// The GP mean split by body order: mean(label of x) = Σ_y Σ_l k_part(x, y)[label, l] β_y[l] summed over the
/// parts, with β_y the α-weighted label coefficients of training environment y (its structure's energy α,
/// its own force α's, its structure's stress α's / V), exactly as the covariance assembly scatters them.
/// </summary>
internal sealed class GpMeanParts
{
    private readonly AtomEnvironment[] _envs;
    private readonly double[][] _beta;
    private readonly int[][] _rows;       // per environment and label column: the training label it feeds (−1: none)
    private readonly double[][] _scales;  // and the factor (1, or 1/V for stress)
    private readonly GaussianProcess _gp;

    public GpMeanParts(GaussianProcess gp)
    {
        _gp = gp;
        var parts = gp.Kernel is SumKernel sum ? sum.Parts : gp.Kernel is LocalKernel lk ? [lk] : [];
        if (parts.Count == 0)
        {
            throw new NotSupportedException($"Only GPs with local 2-body and 3-body kernels can be mapped; this one has '{gp.Kernel.Name}'.");
        }

        foreach (var p in parts)
        {
            switch (p)
            {
                case TwoBodyKernel two:
                    Pair = two;
                    break;
                case ThreeBodyKernel three:
                    Triplet = three;
                    break;
                default:
                    throw new NotSupportedException($"Only 2-body and 3-body kernels can be mapped (on splines over distances); this GP has '{p.Name}'.");
            }
        }

        Descriptor = gp.Kernel.Descriptor;
        var envs = new List<AtomEnvironment>();
        var betas = new List<double[]>();
        var rows = new List<int[]>();
        var scales = new List<double[]>();
        var alpha = gp.Alpha;
        int offset = 0;
        foreach (var entry in gp.Training)
        {
            var sel = entry.Labels;
            var e = entry.Environments;
            var forceRow = new Dictionary<int, int>();
            for (int k = 0; k < sel.ForceAtoms.Length; k++)
            {
                forceRow[sel.ForceAtoms[k]] = sel.ForceOffset + 3 * k;
            }

            double inv = sel.Stress ? 1.0 / e.VolumeA3 : 0;
            for (int a = 0; a < e.AtomCount; a++)
            {
                var beta = new double[LocalKernel.EnvironmentLabelCount];
                var row = new int[LocalKernel.EnvironmentLabelCount];
                var scale = new double[LocalKernel.EnvironmentLabelCount];
                Array.Fill(row, -1);
                bool any = false;
                if (sel.Energy)
                {
                    beta[0] = alpha[offset];
                    (row[0], scale[0]) = (offset, 1);
                    any = true;
                }

                if (forceRow.TryGetValue(a, out int fr))
                {
                    for (int i = 0; i < 3; i++)
                    {
                        beta[1 + i] = alpha[offset + fr + i];
                        (row[1 + i], scale[1 + i]) = (offset + fr + i, 1);
                    }

                    any = true;
                }

                if (sel.Stress)
                {
                    for (int v = 0; v < 6; v++)
                    {
                        beta[4 + v] = alpha[offset + sel.StressOffset + v] * inv;
                        (row[4 + v], scale[4 + v]) = (offset + sel.StressOffset + v, inv);
                    }

                    any = true;
                }

                if (any)
                {
                    envs.Add(e[a]);
                    betas.Add(beta);
                    rows.Add(row);
                    scales.Add(scale);
                }
            }

            offset += entry.Count;
        }

        _envs = envs.ToArray();
        _beta = betas.ToArray();
        _rows = rows.ToArray();
        _scales = scales.ToArray();
    }

    /// <summary>k*(x): the covariance, under one kernel part, of the local energy of x with every training label (length N), added to <paramref name="kStar"/>.</summary>
    public void KStar(LocalKernel part, AtomEnvironment x, Span<double> block, Span<double> kStar)
    {
        for (int j = 0; j < _envs.Length; j++)
        {
            block.Clear();
            part.EnvironmentCovariance(x, _envs[j], block, []);
            var row = _rows[j];
            var scale = _scales[j];
            for (int l = 0; l < LocalKernel.EnvironmentLabelCount; l++)
            {
                if (row[l] >= 0)
                {
                    kStar[row[l]] += block[l] * scale[l];
                }
            }
        }
    }

    public TwoBodyKernel? Pair { get; }

    public ThreeBodyKernel? Triplet { get; }

    public DescriptorSettings Descriptor { get; }

    /// <summary>The GP mean of the local energy of x under one kernel part (without the prior mean), eV.</summary>
    public double LocalEnergy(LocalKernel part, AtomEnvironment x, Span<double> block)
    {
        double s = 0;
        for (int j = 0; j < _envs.Length; j++)
        {
            block.Clear();
            part.EnvironmentCovariance(x, _envs[j], block, []);
            var b = _beta[j];
            for (int l = 0; l < LocalKernel.EnvironmentLabelCount; l++)
            {
                s += block[l] * b[l];
            }
        }

        return s;
    }

    /// <summary>The GP mean of every atom's force under one kernel part, eV/Å.</summary>
    public Vec3[] PartForces(LocalKernel part, StructureEnvironments env, CancellationToken ct)
    {
        var f = new Vec3[env.AtomCount];
        Parallel.For(0, env.AtomCount, new ParallelOptions { CancellationToken = ct, MaxDegreeOfParallelism = _gp.Options.MaxDegreeOfParallelism }, i =>
        {
            var block = new double[LocalKernel.EnvironmentBlockSize];
            double fx = 0, fy = 0, fz = 0;
            for (int j = 0; j < _envs.Length; j++)
            {
                Array.Clear(block);
                part.EnvironmentCovariance(env[i], _envs[j], block, []);
                var b = _beta[j];
                for (int l = 0; l < LocalKernel.EnvironmentLabelCount; l++)
                {
                    fx += block[10 + l] * b[l];
                    fy += block[20 + l] * b[l];
                    fz += block[30 + l] * b[l];
                }
            }

            f[i] = new Vec3(fx, fy, fz);
        });
        return f;
    }

    /// <summary>The forces of the pair maps alone and of the triplet maps alone.</summary>
    public static (Vec3[] Pair, Vec3[] Triplet) MapPartForces(MappedForceField map, StructureEnvironments env, CancellationToken ct)
    {
        return (Forces(true, false), Forces(false, true));

        Vec3[] Forces(bool pairs, bool triplets)
        {
            var local = new double[env.AtomCount];
            var grad = new Vec3[env.AtomCount];
            Span<double> virial = stackalloc double[6];
            map.Accumulate(env, local, grad, virial, ct, pairs, triplets);
            return grad.Select(g => -1.0 * g).ToArray();
        }
    }

    /// <summary>
    /// The lower bound of each species pair's distance: the smallest distance of that pair among the
    /// pairs and triplet edges of the training environments, less the margin (at least half the smallest distance).
    /// </summary>
    public Dictionary<(int, int), double> LowerBounds(double marginA)
    {
        var min = new Dictionary<(int, int), double>();
        void Seen(int a, int b, double r)
        {
            var key = a <= b ? (a, b) : (b, a);
            min[key] = min.TryGetValue(key, out double m) ? Math.Min(m, r) : r;
        }

        foreach (var entry in _gp.Training)
        {
            foreach (var e in entry.Environments.Environments)
            {
                int c = e.CentralSpecies;
                var ps = e.PairSpecies;
                var pr = e.PairDistances;
                for (int p = 0; p < ps.Length; p++)
                {
                    Seen(c, ps[p], pr[p]);
                }

                for (int t = 0; t < e.TripletCount; t++)
                {
                    Seen(c, e.TripletSpecies1[t], e.TripletDistances1[t]);
                    Seen(c, e.TripletSpecies2[t], e.TripletDistances2[t]);
                    Seen(e.TripletSpecies1[t], e.TripletSpecies2[t], e.TripletDistances3[t]);
                }
            }
        }

        return min.ToDictionary(kv => kv.Key, kv => Math.Max(kv.Value - marginA, 0.5 * kv.Value));
    }

    /// <summary>Tabulates both parts on grids of n2 points (2-body) and n3³ points (3-body) and fits the splines.</summary>
    public MappedForceField Map(int n2, int n3, Dictionary<(int, int), double> bounds, MappingOptions options, IProgress<MappingProgress>? progress,
        CancellationToken ct, MappingReport? report, MappedForceField? existing = null)
    {
        var reference = _gp.ReferenceEnergies!;
        var mu = reference.Species.ToDictionary(z => z, reference.EnergyEv);
        var boundNames = bounds.ToDictionary(kv => $"{Elements.Symbol(kv.Key.Item1)}-{Elements.Symbol(kv.Key.Item2)}", kv => kv.Value);
        if (existing is not null)
        {
            return new MappedForceField(existing.Descriptor, mu, boundNames, existing.PairMaps, existing.TripletMaps, report);
        }

        var species = reference.Species.Order().ToArray();
        double Bound(int a, int b) => bounds.TryGetValue(a <= b ? (a, b) : (b, a), out double v) ? v : double.PositiveInfinity;
        var po = new ParallelOptions { CancellationToken = ct, MaxDegreeOfParallelism = options.MaxDegreeOfParallelism };

        var pairs = new List<PairMap>();
        if (Pair is not null)
        {
            double rc = Descriptor.PairCutoffA;
            var jobs = (from a in species from b in species where a <= b && Bound(a, b) < rc select (a, b)).ToArray();
            long total = (long)jobs.Length * n2, done = 0;
            foreach (var (a, b) in jobs)
            {
                double lo = Bound(a, b);
                var values = new double[n2];
                Parallel.For(0, n2 - 1, po, () => new double[LocalKernel.EnvironmentBlockSize], (k, _, block) =>
                {
                    double r = lo + (rc - lo) * k / (n2 - 1);
                    values[k] = LocalEnergy(Pair, AtomEnvironment.SinglePair(a, b, r, Descriptor), block);
                    return block;
                }, _ => { });
                values[n2 - 1] = 0; // the cutoff function vanishes at r_c
                pairs.Add(new PairMap(a, b, UniformCubicSpline.Interpolate(lo, rc, values)));
                done += n2;
                progress?.Report(new MappingProgress("2-body grid points", done, total));
            }
        }

        var triplets = new List<TripletMap>();
        if (Triplet is not null)
        {
            double rc = Descriptor.TripletCutoffA;
            var jobs = (from c in species from a in species from b in species
                        where a <= b && Bound(c, a) < rc && Bound(c, b) < rc && Bound(a, b) < rc
                        select (c, a, b)).ToArray();
            long total = (long)jobs.Length * n3 * n3 * n3, done = 0;
            foreach (var (c, a, b) in jobs)
            {
                double[] lo = [Bound(c, a), Bound(c, b), Bound(a, b)];
                double[] hi = [rc, rc, rc];
                var values = new double[n3 * n3 * n3];
                bool symmetric = a == b; // e₃(r₁, r₂, r₁₂) = e₃(r₂, r₁, r₁₂) when both neighbours are of one species: compute j ≥ i only
                Parallel.For(0, n3 * n3, po, () => new double[LocalKernel.EnvironmentBlockSize], (ij, _, block) =>
                {
                    int i = ij / n3, j = ij % n3;
                    if (symmetric && j < i)
                    {
                        return block;
                    }

                    double r1 = lo[0] + (rc - lo[0]) * i / (n3 - 1);
                    double r2 = lo[1] + (rc - lo[1]) * j / (n3 - 1);
                    for (int k = 0; k < n3; k++)
                    {
                        double r3 = lo[2] + (rc - lo[2]) * k / (n3 - 1);
                        values[ij * n3 + k] = i == n3 - 1 || j == n3 - 1 || k == n3 - 1
                            ? 0 // the cutoff product vanishes when any distance reaches r_c
                            : LocalEnergy(Triplet, AtomEnvironment.SingleTriplet(c, a, b, r1, r2, r3, Descriptor), block);
                    }

                    return block;
                }, _ => { });
                if (symmetric)
                {
                    for (int i = 0; i < n3; i++)
                    {
                        for (int j = 0; j < i; j++)
                        {
                            Array.Copy(values, (j * n3 + i) * n3, values, (i * n3 + j) * n3, n3);
                        }
                    }
                }

                triplets.Add(new TripletMap(c, a, b, TricubicSpline.Interpolate(lo, hi, [n3, n3, n3], values)));
                done += n3 * n3 * n3;
                progress?.Report(new MappingProgress("3-body grid points", done, total));
            }
        }

        return new MappedForceField(Descriptor, mu, boundNames, pairs, triplets, report);
    }
}
