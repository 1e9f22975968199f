using Gpff.Descriptors;
using Gpff.Kernels;

namespace Gpff.Regression;

/// <summary>How the inducing environments of a sparse GP are chosen among the training environments.</summary>
public enum InducingSelectionMethod
{
    /// <summary>Uniformly at random (seeded), in one streamed pass (reservoir sampling).</summary>
    Random,

    /// <summary>
    /// Greedy largest predictive variance: each step takes the environment whose local energy is
    /// least explained by those already chosen (largest k(x,x) − k_xu K_uu⁻¹ k_ux; pivoted Cholesky of
    /// the local-energy kernel). What active learning wants; never picks a duplicate.
    /// </summary>
    Variance,

    /// <summary>k-means++ seeding (seeded) in the kernel's feature space, d²(x, y) = k(x,x) + k(y,y) − 2k(x,y): spread-out environments, chosen with probability ∝ squared distance to the nearest chosen one.</summary>
    KMeansPlusPlus,
}

/// <summary>
/// Chooses inducing environments (<see cref="EnvironmentCluster"/>s) among the atoms of training
/// structures. <see cref="Random"/> streams the structures; the other two hold the candidate
/// environments in memory (O(candidates × M) for <see cref="InducingSelectionMethod.Variance"/>) and
/// cost O(candidates × M) kernel evaluations.
/// </summary>
public static class InducingSelection
{
    /// <summary>Chooses <paramref name="count"/> inducing environments by <paramref name="method"/>.</summary>
    /// <param name="method">The method.</param>
    /// <param name="structures">Candidate structures (every atom is a candidate).</param>
    /// <param name="kernel">The kernel (its cutoff is the clusters' radius).</param>
    /// <param name="count">How many (at most the number of atoms).</param>
    /// <param name="seed">Random seed (random and k-means++).</param>
    /// <param name="cancellationToken">Cancellation.</param>
    public static List<EnvironmentCluster> Select(InducingSelectionMethod method, IEnumerable<Structure> structures, IKernel kernel, int count, int seed = 0,
        CancellationToken cancellationToken = default) => method switch
        {
            InducingSelectionMethod.Random => Random(structures, kernel.CutoffA, count, seed, cancellationToken),
            InducingSelectionMethod.Variance => GreedyVariance(structures.ToList(), kernel, count, [], cancellationToken),
            InducingSelectionMethod.KMeansPlusPlus => KMeansPlusPlus(structures.ToList(), kernel, count, seed, cancellationToken),
            _ => throw new ArgumentOutOfRangeException(nameof(method), method, $"Unknown inducing selection method {method}."),
        };

    /// <summary>The name of a method as the command line spells it (random, variance, kmeans).</summary>
    /// <param name="method">The method.</param>
    public static string Name(InducingSelectionMethod method) => method switch
    {
        InducingSelectionMethod.Random => "random",
        InducingSelectionMethod.Variance => "variance",
        _ => "kmeans",
    };

    /// <summary>Parses a method name (random, variance, kmeans).</summary>
    /// <param name="name">The name.</param>
    /// <exception cref="ArgumentException">Unknown name; the message lists the known ones.</exception>
    public static InducingSelectionMethod Parse(string name) => name?.ToLowerInvariant() switch
    {
        "random" => InducingSelectionMethod.Random,
        "variance" => InducingSelectionMethod.Variance,
        "kmeans" or "kmeans++" => InducingSelectionMethod.KMeansPlusPlus,
        _ => throw new ArgumentException($"Unknown inducing selection '{name}': use random, variance or kmeans."),
    };

    /// <summary>Uniform random choice of <paramref name="count"/> environments in one pass (reservoir sampling, seeded).</summary>
    /// <param name="structures">The structures, streamed.</param>
    /// <param name="radiusA">The clusters' radius (the kernel's cutoff), Å.</param>
    /// <param name="count">How many.</param>
    /// <param name="seed">Seed.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    public static List<EnvironmentCluster> Random(IEnumerable<Structure> structures, double radiusA, int count, int seed = 0, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(structures);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var rng = new Random(seed);
        var chosen = new EnvironmentCluster?[count];
        long seen = 0;
        foreach (var s in structures)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var slotAtom = new Dictionary<int, int>();     // reservoir slot → atom of this structure
            for (int a = 0; a < s.AtomCount; a++, seen++)
            {
                long j = seen < count ? seen : rng.NextInt64(seen + 1);
                if (j < count)
                {
                    slotAtom[(int)j] = a;
                }
            }

            if (slotAtom.Count == 0)
            {
                continue;
            }

            var slots = slotAtom.Keys.Order().ToArray();
            var clusters = EnvironmentCluster.FromStructure(s, slots.Select(k => slotAtom[k]).ToArray(), radiusA);
            for (int i = 0; i < slots.Length; i++)
            {
                chosen[slots[i]] = clusters[i];
            }
        }

        CheckCount((int)Math.Min(seen, count), count, seen);
        return [.. chosen.Select(c => c!)];
    }

    private static void CheckCount(int got, int count, long candidates)
    {
        if (got < count)
        {
            throw new ArgumentException($"{count} inducing environments were asked for, but the structures have only {candidates} atoms.");
        }
    }

    /// <summary>Candidate environments: every atom of every structure, as blocks of local energies.</summary>
    private sealed class Candidates
    {
        public Candidates(IReadOnlyList<Structure> structures, IKernel kernel)
        {
            Structures = structures;
            Kernel = kernel;
            Blocks = structures.Select(s => new LabelBlock(kernel.Describe(s), LabelSelection.LocalEnergies(Enumerable.Range(0, s.AtomCount).ToArray()))).ToArray();
            Offsets = new int[Blocks.Length + 1];
            for (int i = 0; i < Blocks.Length; i++)
            {
                Offsets[i + 1] = Offsets[i] + structures[i].AtomCount;
            }

            Prior = new double[Count];
            for (int i = 0; i < Blocks.Length; i++)
            {
                kernel.Variance(Blocks[i].Environments, Blocks[i].Labels, Prior.AsSpan(Offsets[i], structures[i].AtomCount));
            }
        }

        public IReadOnlyList<Structure> Structures { get; }

        public IKernel Kernel { get; }

        public LabelBlock[] Blocks { get; }

        public int[] Offsets { get; }

        public double[] Prior { get; }

        public int Count => Offsets[^1];

        public (int Structure, int Atom) Locate(int index)
        {
            int s = Array.BinarySearch(Offsets, index);
            s = s >= 0 ? s : ~s - 1;
            while (Offsets[s + 1] <= index)
            {
                s++;
            }

            return (s, index - Offsets[s]);
        }

        public AtomEnvironment Environment(int index)
        {
            var (s, a) = Locate(index);
            return Blocks[s].Environments[a];
        }

        /// <summary>k(x, e) for every candidate x and one environment e.</summary>
        public double[] CovarianceWith(AtomEnvironment e, CancellationToken ct)
        {
            var col = new LabelBlock(StructureEnvironments.FromEnvironments([e], Kernel.Descriptor), LabelSelection.LocalEnergies(0));
            var k = new double[Count];
            CovarianceAssembly.Assemble(Kernel, Blocks, [col], k, null, new AssemblyOptions { CancellationToken = ct });
            return k;
        }

        public EnvironmentCluster Cluster(int index)
        {
            var (s, a) = Locate(index);
            return EnvironmentCluster.FromStructure(Structures[s], a, Kernel.CutoffA);
        }
    }

    /// <summary>
    /// Greedy largest-variance selection (pivoted Cholesky of the local-energy kernel over the
    /// candidates), continuing from <paramref name="existing"/> inducing environments when given (e.g.
    /// the model's, to add the environments it explains worst).
    /// </summary>
    /// <param name="structures">Candidate structures.</param>
    /// <param name="kernel">The kernel.</param>
    /// <param name="count">How many new environments.</param>
    /// <param name="existing">Inducing environments already chosen (conditioned on, not returned).</param>
    /// <param name="cancellationToken">Cancellation.</param>
    public static List<EnvironmentCluster> GreedyVariance(IReadOnlyList<Structure> structures, IKernel kernel, int count, IReadOnlyList<EnvironmentCluster> existing,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(structures);
        ArgumentNullException.ThrowIfNull(kernel);
        ArgumentNullException.ThrowIfNull(existing);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var c = new Candidates(structures, kernel);
        CheckCount(c.Count, count, c.Count);
        var residual = (double[])c.Prior.Clone();
        var columns = new List<double[]>();      // L[x, j] over the candidates
        var chosen = new List<EnvironmentCluster>();
        var taken = new bool[c.Count];

        // Condition on the existing inducing environments: their columns enter as pseudo-pivots.
        var existingEnvs = existing.Select(e => e.Describe(kernel.Descriptor)).ToList();
        var existingRows = new List<double[]>();  // L[e_i, j] for the existing points kept (pivot last)
        var kept = new List<AtomEnvironment>();
        foreach (var e in existingEnvs)
        {
            var k = c.CovarianceWith(e, cancellationToken);
            var self = new double[1];
            kernel.Variance(StructureEnvironments.FromEnvironments([e], kernel.Descriptor), LabelSelection.LocalEnergies(0), self);
            var kEx = kept.Select(f => Covariance(kernel, e, f)).ToArray();
            // Row of e in the factor: solve against earlier existing rows.
            var row = new double[columns.Count];
            double d = self[0];
            for (int j = 0; j < columns.Count; j++)
            {
                double s = kEx[j];
                for (int q = 0; q < j; q++)
                {
                    s -= existingRows[j][q] * row[q];
                }

                row[j] = s / existingRows[j][j];
                d -= row[j] * row[j];
            }

            if (d <= 1e-12 * self[0])
            {
                continue;    // already explained (a duplicate): adds nothing
            }

            double piv = Math.Sqrt(d);
            var col = new double[c.Count];
            for (int x = 0; x < c.Count; x++)
            {
                double s = k[x];
                for (int j = 0; j < columns.Count; j++)
                {
                    s -= columns[j][x] * row[j];
                }

                col[x] = s / piv;
                residual[x] -= col[x] * col[x];
            }

            columns.Add(col);
            existingRows.Add([.. row, piv]);
            kept.Add(e);
        }

        for (int step = 0; step < count; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int best = -1;
            for (int x = 0; x < c.Count; x++)
            {
                if (!taken[x] && (best < 0 || residual[x] > residual[best]))
                {
                    best = x;
                }
            }

            if (best < 0 || residual[best] <= 1e-12 * c.Prior[best])
            {
                break;   // every candidate is explained: more points would be duplicates
            }

            taken[best] = true;
            chosen.Add(c.Cluster(best));
            var k = c.CovarianceWith(c.Environment(best), cancellationToken);
            double piv = Math.Sqrt(residual[best]);
            var col = new double[c.Count];
            for (int x = 0; x < c.Count; x++)
            {
                double s = k[x];
                for (int j = 0; j < columns.Count; j++)
                {
                    s -= columns[j][x] * columns[j][best];
                }

                col[x] = s / piv;
                residual[x] = taken[x] ? 0 : residual[x] - col[x] * col[x];
            }

            columns.Add(col);
        }

        return chosen;
    }

    private static double Covariance(IKernel kernel, AtomEnvironment a, AtomEnvironment b)
    {
        var v = new double[1];
        kernel.Covariance(StructureEnvironments.FromEnvironments([a], kernel.Descriptor), LabelSelection.LocalEnergies(0),
            StructureEnvironments.FromEnvironments([b], kernel.Descriptor), LabelSelection.LocalEnergies(0), v, []);
        return v[0];
    }

    /// <summary>k-means++ seeding in the kernel's feature space (seeded).</summary>
    /// <param name="structures">Candidate structures.</param>
    /// <param name="kernel">The kernel.</param>
    /// <param name="count">How many.</param>
    /// <param name="seed">Seed.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    public static List<EnvironmentCluster> KMeansPlusPlus(IReadOnlyList<Structure> structures, IKernel kernel, int count, int seed = 0, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(structures);
        ArgumentNullException.ThrowIfNull(kernel);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var c = new Candidates(structures, kernel);
        CheckCount(c.Count, count, c.Count);
        var rng = new Random(seed);
        var d2 = Enumerable.Repeat(double.PositiveInfinity, c.Count).ToArray();
        var chosen = new List<EnvironmentCluster>();
        int next = rng.Next(c.Count);
        for (int step = 0; step < count; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            chosen.Add(c.Cluster(next));
            var k = c.CovarianceWith(c.Environment(next), cancellationToken);
            double kk = c.Prior[next];
            double total = 0;
            for (int x = 0; x < c.Count; x++)
            {
                d2[x] = Math.Min(d2[x], Math.Max(0, c.Prior[x] + kk - 2 * k[x]));
                total += d2[x];
            }

            d2[next] = 0;
            if (step + 1 == count)
            {
                break;
            }

            if (!(total > 1e-12 * c.Prior.Max()))
            {
                break;   // every candidate coincides with a chosen one
            }

            double r = rng.NextDouble() * total, acc = 0;
            next = -1;
            for (int x = 0; x < c.Count; x++)
            {
                acc += d2[x];
                if (d2[x] > 0 && acc >= r)
                {
                    next = x;
                    break;
                }
            }

            if (next < 0)
            {
                next = Array.FindLastIndex(d2, v => v > 0);
            }
        }

        return chosen;
    }
}
