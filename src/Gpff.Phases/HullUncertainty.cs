using System.Globalization;
using MathNet.Numerics.LinearAlgebra;

namespace Gpff.Phases;

/// <summary>Settings of the Monte-Carlo stability analysis.</summary>
public sealed record StabilityOptions
{
    /// <summary>Number of sampled energy sets (default 10 000; the standard error of a probability p is √(p(1−p)/samples) ≤ 0.005).</summary>
    public int Samples { get; init; } = 10_000;

    /// <summary>Seed of the random number generator; the same seed gives the same result on any machine and thread count.</summary>
    public int Seed { get; init; } = 12345;

    /// <summary>Lower end of the "uncertain" band of stability probabilities (default 0.05).</summary>
    public double UncertainLow { get; init; } = 0.05;

    /// <summary>Upper end of the "uncertain" band of stability probabilities (default 0.95).</summary>
    public double UncertainHigh { get; init; } = 0.95;

    /// <summary>Largest degree of parallelism (default: all processors).</summary>
    public int MaxDegreeOfParallelism { get; init; } = -1;
}

/// <summary>Progress of the stability analysis.</summary>
/// <param name="CompletedSamples">Samples evaluated so far.</param>
/// <param name="TotalSamples">Samples requested.</param>
public readonly record struct StabilityProgress(int CompletedSamples, int TotalSamples);

/// <summary>Summary of the sampled distribution of one quantity.</summary>
public sealed class SampleSummary
{
    private readonly double[] _sorted;

    internal SampleSummary(double[] samples)
    {
        _sorted = (double[])samples.Clone();
        Array.Sort(_sorted);
        Mean = samples.Average();
        double ss = samples.Sum(v => (v - Mean) * (v - Mean));
        StandardDeviation = samples.Length > 1 ? Math.Sqrt(ss / (samples.Length - 1)) : 0.0;
    }

    /// <summary>Sample mean.</summary>
    public double Mean { get; }

    /// <summary>Sample standard deviation (n − 1).</summary>
    public double StandardDeviation { get; }

    /// <summary>Smallest sample.</summary>
    public double Min => _sorted[0];

    /// <summary>Largest sample.</summary>
    public double Max => _sorted[^1];

    /// <summary>Median.</summary>
    public double Median => Quantile(0.5);

    /// <summary>5 % quantile.</summary>
    public double Q05 => Quantile(0.05);

    /// <summary>95 % quantile.</summary>
    public double Q95 => Quantile(0.95);

    /// <summary>The q-quantile (linear interpolation between order statistics, R type 7 / NumPy default).</summary>
    /// <param name="q">Probability in [0, 1].</param>
    public double Quantile(double q)
    {
        if (!(q >= 0 && q <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(q), q, "A quantile needs a probability in [0, 1].");
        }

        double pos = q * (_sorted.Length - 1);
        int lo = (int)Math.Floor(pos);
        int hi = Math.Min(lo + 1, _sorted.Length - 1);
        return _sorted[lo] + (pos - lo) * (_sorted[hi] - _sorted[lo]);
    }

    /// <summary>The sorted samples.</summary>
    public IReadOnlyList<double> SortedSamples => _sorted;
}

/// <summary>The stability of one entry under the energy uncertainty.</summary>
public sealed class EntryStability
{
    internal EntryStability(HullEntry hullEntry, double pStable, int samples, SampleSummary eAboveHull)
    {
        HullEntry = hullEntry;
        PStable = pStable;
        PStableStandardError = Math.Sqrt(pStable * (1 - pStable) / samples);
        EnergyAboveHull = eAboveHull;
    }

    /// <summary>The entry and its result on the hull of the mean energies.</summary>
    public HullEntry HullEntry { get; }

    /// <summary>Name of the entry.</summary>
    public string Name => HullEntry.Name;

    /// <summary>Fraction of the samples in which the entry is a hull vertex.</summary>
    public double PStable { get; }

    /// <summary>Monte-Carlo standard error of <see cref="PStable"/>, √(p(1−p)/samples).</summary>
    public double PStableStandardError { get; }

    /// <summary>Distribution of the energy above hull over the samples, eV/atom.</summary>
    public SampleSummary EnergyAboveHull { get; }
}

/// <summary>The result of <see cref="HullUncertainty.Analyze(PhaseDiagram, double[,], StabilityOptions?, IProgress{StabilityProgress}?, CancellationToken)"/>.</summary>
public sealed class StabilityReport
{
    internal StabilityReport(PhaseDiagram diagram, IReadOnlyList<EntryStability> entries, StabilityOptions options)
    {
        Diagram = diagram;
        Entries = entries;
        Options = options;
        Uncertain = GetUncertain(options.UncertainLow, options.UncertainHigh);
    }

    /// <summary>The hull of the mean energies.</summary>
    public PhaseDiagram Diagram { get; }

    /// <summary>Per entry, in the order of <see cref="PhaseDiagram.Entries"/>.</summary>
    public IReadOnlyList<EntryStability> Entries { get; }

    /// <summary>The options used.</summary>
    public StabilityOptions Options { get; }

    /// <summary>
    /// Entries whose stability probability lies in the band [<see cref="StabilityOptions.UncertainLow"/>,
    /// <see cref="StabilityOptions.UncertainHigh"/>], most uncertain (closest to ½) first: the ones
    /// to recompute with DFT.
    /// </summary>
    public IReadOnlyList<EntryStability> Uncertain { get; }

    /// <summary>The stability of an entry by name.</summary>
    /// <param name="name">Entry name.</param>
    public EntryStability this[string name] =>
        Entries.FirstOrDefault(e => e.Name == name) ?? throw new KeyNotFoundException($"No entry named '{name}' in this stability report.");

    /// <summary>Entries with low ≤ p_stable ≤ high, most uncertain first.</summary>
    /// <param name="low">Lower probability bound.</param>
    /// <param name="high">Upper probability bound.</param>
    public IReadOnlyList<EntryStability> GetUncertain(double low, double high)
    {
        if (!(low >= 0 && low <= high && high <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(low), $"The probability band must satisfy 0 ≤ low ≤ high ≤ 1, got [{low.ToString(CultureInfo.InvariantCulture)}, {high.ToString(CultureInfo.InvariantCulture)}].");
        }

        return Entries.Where(e => e.PStable >= low && e.PStable <= high).OrderBy(e => Math.Abs(e.PStable - 0.5)).ToArray();
    }
}

/// <summary>
/// Propagates the (correlated) uncertainty of the energies to the hull by Monte Carlo: samples the
/// energies from a multivariate normal distribution, rebuilds the hull for every sample and counts
/// how often each entry is a vertex.
/// </summary>
/// <remarks>
/// The covariance is that of the total energies of the entries as written (eV², the GP's joint
/// predictive covariance; entries predicted by one model are correlated, and a common error
/// cancels in formation energies — use the full matrix, not only the diagonal). Volumes are taken
/// as exact. Samples are E + L z with L Lᵀ = Σ (Cholesky; for a singular positive semidefinite Σ, a
/// symmetric eigendecomposition with the eigenvalues clipped at 0) and z standard normal. The
/// references are re-chosen in every sample (the lowest polymorph of each terminal), exactly as for
/// the mean hull. Random numbers come from per-block generators seeded from
/// <see cref="StabilityOptions.Seed"/>, so results do not depend on the thread count.
/// </remarks>
public static class HullUncertainty
{
    private const int BlockSize = 128;

    /// <summary>
    /// Stability analysis with per-entry standard deviations (<see cref="PhaseEntry.EnergyStdEv"/>;
    /// missing ones count as 0) and no correlation: the diagonal special case.
    /// </summary>
    /// <param name="diagram">The hull of the mean energies.</param>
    /// <param name="options">Samples, seed, uncertain band.</param>
    /// <param name="progress">Receives progress after each block of samples.</param>
    /// <param name="cancellationToken">Cancels the run.</param>
    public static StabilityReport Analyze(PhaseDiagram diagram, StabilityOptions? options = null,
        IProgress<StabilityProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(diagram);
        int n = diagram.AllEntries.Count;
        var cov = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            double s = diagram.AllEntries[i].EnergyStdEv ?? 0.0;
            cov[i, i] = s * s;
        }

        return Analyze(diagram, cov, options, progress, cancellationToken);
    }

    /// <summary>Stability analysis with the full covariance matrix of the total energies.</summary>
    /// <param name="diagram">The hull of the mean energies.</param>
    /// <param name="covarianceEv2">Covariance of the total energies (eV²), indexed like <see cref="PhaseDiagram.AllEntries"/> (the input order, excluded entries included); symmetric positive semidefinite.</param>
    /// <param name="options">Samples, seed, uncertain band.</param>
    /// <param name="progress">Receives progress after each block of samples.</param>
    /// <param name="cancellationToken">Cancels the run.</param>
    /// <exception cref="ArgumentException">Wrong size, non-finite, asymmetric or indefinite covariance; bad options.</exception>
    public static StabilityReport Analyze(PhaseDiagram diagram, double[,] covarianceEv2, StabilityOptions? options = null,
        IProgress<StabilityProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(diagram);
        ArgumentNullException.ThrowIfNull(covarianceEv2);
        options ??= new StabilityOptions();
        if (options.Samples < 1)
        {
            throw new ArgumentException($"The number of samples must be ≥ 1, got {options.Samples}.", nameof(options));
        }

        if (!(options.UncertainLow >= 0 && options.UncertainLow <= options.UncertainHigh && options.UncertainHigh <= 1))
        {
            throw new ArgumentException($"The uncertain band must satisfy 0 ≤ low ≤ high ≤ 1, got [{options.UncertainLow.ToString(CultureInfo.InvariantCulture)}, {options.UncertainHigh.ToString(CultureInfo.InvariantCulture)}].", nameof(options));
        }

        int nAll = diagram.AllEntries.Count;
        if (covarianceEv2.GetLength(0) != nAll || covarianceEv2.GetLength(1) != nAll)
        {
            throw new ArgumentException($"The covariance matrix is {covarianceEv2.GetLength(0)}×{covarianceEv2.GetLength(1)} but the phase diagram has {nAll} entries.");
        }

        var entries = diagram.Entries;
        int m = entries.Count;

        // Covariance of the enthalpies per atom of the placed entries: Σᵢⱼ / (Nᵢ Nⱼ).
        var c = Matrix<double>.Build.Dense(m, m);
        double maxVar = 0;
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < m; j++)
            {
                int a = entries[i].InputIndex, b = entries[j].InputIndex;
                double v = covarianceEv2[a, b];
                if (!double.IsFinite(v))
                {
                    throw new ArgumentException($"Covariance element ({a}, {b}) ('{entries[i].Name}', '{entries[j].Name}') is not finite.");
                }

                double w = covarianceEv2[b, a];
                if (Math.Abs(v - w) > 1e-10 * Math.Max(1.0, Math.Max(Math.Abs(v), Math.Abs(w))))
                {
                    throw new ArgumentException($"The covariance matrix is not symmetric: element ({a}, {b}) = {v.ToString("G6", CultureInfo.InvariantCulture)} but ({b}, {a}) = {w.ToString("G6", CultureInfo.InvariantCulture)} ('{entries[i].Name}', '{entries[j].Name}').");
                }

                c[i, j] = 0.5 * (v + w) / (entries[i].Entry.NumAtoms * entries[j].Entry.NumAtoms);
            }

            if (c[i, i] < 0)
            {
                throw new ArgumentException($"The variance of '{entries[i].Name}' is negative ({covarianceEv2[entries[i].InputIndex, entries[i].InputIndex].ToString("G6", CultureInfo.InvariantCulture)} eV²).");
            }

            maxVar = Math.Max(maxVar, c[i, i]);
        }

        var factor = Factor(c, maxVar, entries);
        double[] mean = entries.Select(e => e.EnthalpyPerAtomEv).ToArray();

        int samples = options.Samples;
        ResourceGuard.EnsureFits((double)samples * m * sizeof(double),
            string.Create(CultureInfo.InvariantCulture, $"The stability analysis ({samples} samples × {m} entries × 8 bytes)"),
            string.Create(CultureInfo.InvariantCulture, $"reduce the number of samples to at most {Math.Max(1, (long)(ResourceGuard.MaxFractionOfAvailable * ResourceGuard.AvailableBytes / (8.0 * Math.Max(1, m))))}"));
        var stableCount = new int[m];
        var eAbove = new double[m][];
        for (int i = 0; i < m; i++)
        {
            eAbove[i] = new double[samples];
        }

        var solver = diagram.Solver;
        int blocks = (samples + BlockSize - 1) / BlockSize;
        int done = 0;
        var parallel = new ParallelOptions { CancellationToken = cancellationToken, MaxDegreeOfParallelism = options.MaxDegreeOfParallelism };
        int rank = factor.ColumnCount;
        var f = factor.ToArray();
        Parallel.For(0, blocks, parallel,
            () => (Ws: new HullSolver.Workspace(solver), Count: new int[m]),
            (block, state, local) =>
            {
                var rng = new Random(BlockSeed(options.Seed, block));
                var z = new double[rank];
                var h = new double[m];
                var formation = new double[m];
                var stable = new bool[m];
                var above = new double[m];
                int start = block * BlockSize, end = Math.Min(samples, start + BlockSize);
                for (int s = start; s < end; s++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    for (int r = 0; r < rank; r++)
                    {
                        z[r] = StandardNormal(rng);
                    }

                    for (int i = 0; i < m; i++)
                    {
                        double v = mean[i];
                        for (int r = 0; r < rank; r++)
                        {
                            v += f[i, r] * z[r];
                        }

                        h[i] = v;
                    }

                    solver.Evaluate(h, local.Ws, formation, stable, above);
                    for (int i = 0; i < m; i++)
                    {
                        if (stable[i])
                        {
                            local.Count[i]++;
                        }

                        eAbove[i][s] = above[i];
                    }
                }

                int now = Interlocked.Add(ref done, end - start);
                progress?.Report(new StabilityProgress(now, samples));
                return local;
            },
            local =>
            {
                lock (stableCount)
                {
                    for (int i = 0; i < m; i++)
                    {
                        stableCount[i] += local.Count[i];
                    }
                }
            });

        var result = new EntryStability[m];
        for (int i = 0; i < m; i++)
        {
            result[i] = new EntryStability(entries[i], (double)stableCount[i] / samples, samples, new SampleSummary(eAbove[i]));
        }

        return new StabilityReport(diagram, result, options);
    }

    /// <summary>L with L Lᵀ = C: Cholesky when positive definite, otherwise clipped eigendecomposition.</summary>
    private static Matrix<double> Factor(Matrix<double> c, double maxVar, IReadOnlyList<HullEntry> entries)
    {
        int m = c.RowCount;
        if (maxVar == 0)
        {
            return Matrix<double>.Build.Dense(m, 0);
        }

        try
        {
            var chol = c.Cholesky();
            return chol.Factor;
        }
        catch (ArgumentException)
        {
            // Singular (e.g. exact entries, perfectly correlated errors): fall through.
        }

        var evd = c.Evd(MathNet.Numerics.LinearAlgebra.Symmetricity.Symmetric);
        var values = evd.EigenValues.Select(v => v.Real).ToArray();
        double threshold = 1e-10 * maxVar;
        int worst = Array.IndexOf(values, values.Min());
        if (values[worst] < -threshold)
        {
            var vec = evd.EigenVectors.Column(worst);
            int dominant = vec.AbsoluteMaximumIndex();
            throw new ArgumentException(
                $"The covariance matrix is not positive semidefinite (eigenvalue {values[worst].ToString("G4", CultureInfo.InvariantCulture)} (eV/atom)², mostly along '{entries[dominant].Name}'): check the correlations.");
        }

        var keep = Enumerable.Range(0, m).Where(k => values[k] > threshold).ToArray();
        return Matrix<double>.Build.Dense(m, keep.Length, (i, r) => evd.EigenVectors[i, keep[r]] * Math.Sqrt(values[keep[r]]));
    }

    private static int BlockSeed(int seed, int block)
    {
        // SplitMix64 of (seed, block): decorrelated, platform-independent seeds per block.
        ulong x = ((ulong)(uint)seed << 32) ^ (uint)block;
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        x ^= x >> 31;
        return (int)(x & 0x7FFFFFFF);
    }

    private static double StandardNormal(Random rng)
    {
        // Box–Muller; 1 − U avoids log(0).
        double u1 = 1.0 - rng.NextDouble();
        double u2 = rng.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }
}
