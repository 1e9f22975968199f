namespace Gpff.Regression;

/// <summary>Adding the sums of another shard of the data, and restoring every sum from a shard file.</summary>
internal sealed partial class SparseStatistics
{
    /// <summary>
    /// Index in the training stream of each entry of <see cref="Energies"/> (kept by shards, so that the reduce
    /// restores the stream order and the reference-energy fit sees the energies in the order one pass would).
    /// </summary>
    public List<long> EnergyOrder { get; } = [];

    /// <summary>Puts <see cref="Energies"/> back into stream order (after merging shards).</summary>
    public void SortEnergiesByStreamOrder()
    {
        if (EnergyOrder.Count != Energies.Count)
        {
            return;
        }

        var order = Enumerable.Range(0, Energies.Count).OrderBy(i => EnergyOrder[i]).ToArray();
        var energies = order.Select(i => Energies[i]).ToList();
        var indices = order.Select(i => EnergyOrder[i]).ToList();
        Energies.Clear();
        Energies.AddRange(energies);
        EnergyOrder.Clear();
        EnergyOrder.AddRange(indices);
    }

    /// <summary>
    /// Adds the sums of <paramref name="other"/> (computed for the same inducing set, hyperparameters,
    /// noises and label kinds on other structures): B, C, Q, D, E, the counts, log|Σ| and the energies.
    /// Target columns are matched by species, so shards that met the species in another order add up.
    /// </summary>
    public void Merge(SparseStatistics other)
    {
        if (other.M != M || other.H != H || other.PerKind != PerKind || other.B.Length != B.Length)
        {
            throw new InvalidOperationException($"Cannot add sums of {other.M} inducing environments, {other.H} gradients, per kind {other.PerKind} to sums of {M}, {H}, {PerKind}.");
        }

        var map = new int[other.TargetCount];
        for (int s = 0; s < other.Species.Count; s++)
        {
            map[1 + s] = 1 + EnsureSpecies(other.Species[s]);
        }

        int tc = TargetCount, otc = other.TargetCount;
        for (int g = 0; g < B.Length; g++)
        {
            Add(B[g], other.B[g]);
        }

        for (int k = 0; k < LabelNoise.KindCount; k++)
        {
            AddColumns(C[k], other.C[k], map);
            for (int b = 0; b < otc; b++)
            {
                for (int a = 0; a < otc; a++)
                {
                    Q[k][map[b] * tc + map[a]] += other.Q[k][b * otc + a];
                }
            }

            Counts[k] += other.Counts[k];
        }

        for (int h = 0; h < H; h++)
        {
            Add(D[h], other.D[h]);
            AddColumns(E[h], other.E[h], map);
        }

        LogDetNoise += other.LogDetNoise;
        StructureCount += other.StructureCount;
        Energies.AddRange(other.Energies);
        EnergyOrder.AddRange(other.EnergyOrder);
        SeenSpecies.UnionWith(other.SeenSpecies);
    }

    private static void Add(double[] into, double[] from)
    {
        for (long i = 0; i < into.LongLength; i++)
        {
            into[i] += from[i];
        }
    }

    private void AddColumns(double[] into, double[] from, int[] map)
    {
        for (int col = 0; col < map.Length; col++)
        {
            long to = (long)map[col] * M, src = (long)col * M;
            for (int i = 0; i < M; i++)
            {
                into[to + i] += from[src + i];
            }
        }
    }

    /// <summary>Sets every sum at once (a shard file's content); the arrays are taken, not copied.</summary>
    public void RestoreAll(int[] species, double[][] b, double[][] c, double[][] q, double[][] d, double[][] e, long[] counts, double logDetNoise,
        int structures, IEnumerable<(int[] AtomicNumbers, double EnergyEv)> energies, IEnumerable<long> energyOrder, IEnumerable<int> seen)
    {
        if (b.Length != B.Length || d.Length != H || e.Length != H)
        {
            throw new InvalidDataException($"Expected {B.Length} B blocks and {H} gradient blocks, got {b.Length}, {d.Length}, {e.Length}.");
        }

        Flush();   // nothing buffered survives a restore
        Species.Clear();
        Species.AddRange(species);
        Array.Copy(b, B, b.Length);
        Array.Copy(d, D, d.Length);
        Array.Copy(e, E, e.Length);
        for (int k = 0; k < LabelNoise.KindCount; k++)
        {
            C[k] = c[k];
            Q[k] = q[k];
            Counts[k] = counts[k];
        }

        LogDetNoise = logDetNoise;
        StructureCount = structures;
        Energies.Clear();
        Energies.AddRange(energies);
        EnergyOrder.Clear();
        EnergyOrder.AddRange(energyOrder);
        SeenSpecies.Clear();
        SeenSpecies.UnionWith(seen);
    }
}
