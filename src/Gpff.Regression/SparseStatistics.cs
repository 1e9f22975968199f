using Gpff.Kernels;
using Gpff.Regression.LinearAlgebra;

namespace Gpff.Regression;

/// <summary>
/// The sums over training structures that the sparse GP's solve, likelihood and likelihood gradient
/// need, for one set of hyperparameters, noises and inducing environments (L: the Cholesky factor
/// of K_uu, M × M). For each structure s with labels y_s, noise variances Σ_s and covariances K_us
/// with the inducing local energies (M × n_s):
/// <list type="bullet">
/// <item>V_s = L⁻¹ K_us Σ_s^-½ and B = Σ_s V_s V_sᵀ (M × M), per noise kind when the gradient is wanted;</item>
/// <item>C = Σ_s L⁻¹ K_us Σ_s⁻¹ T_s and Q = Σ_s T_sᵀ Σ_s⁻¹ T_s, per noise kind, where the target matrix
/// T_s = [y_s, −n_s,z e₀ …] has one column for the raw labels and one per species z (its atom count on
/// the energy row), so that the prior mean (per-species reference energies μ) can be fixed after the
/// pass: targets y − m = T [1, μ];</item>
/// <item>the label counts per kind and log|Σ|;</item>
/// <item>for the gradient, D_h = Σ_s ∂K_us/∂θ_h Σ_s⁻¹ K_su (M × M) and E_h = Σ_s ∂K_us/∂θ_h Σ_s⁻¹ T_s.</item>
/// </list>
/// Memory O(M²) (times the number of kernel hyperparameters with the gradient) plus one structure;
/// the same sums computed on shards of the data add up.
/// </summary>
internal sealed partial class SparseStatistics
{
    private readonly DenseKernels _dense;

    public SparseStatistics(int inducingCount, int hyperparameterCount, bool perKind, bool gradient, LinearAlgebraBackendKind backend)
    {
        M = inducingCount;
        H = gradient ? hyperparameterCount : 0;
        PerKind = perKind || gradient;
        _dense = DenseKernels.For(backend);
        int groups = PerKind ? LabelNoise.KindCount : 1;
        B = new double[groups][];
        for (int k = 0; k < groups; k++)
        {
            B[k] = new double[(long)M * M];
        }

        for (int k = 0; k < LabelNoise.KindCount; k++)
        {
            C[k] = new double[M];
            Q[k] = new double[1];
        }

        D = new double[H][];
        E = new double[H][];
        for (int h = 0; h < H; h++)
        {
            D[h] = new double[(long)M * M];
            E[h] = new double[M];
        }
    }

    /// <summary>Number of inducing environments.</summary>
    public int M { get; }

    /// <summary>Number of kernel hyperparameters whose derivatives are accumulated (0 without the gradient).</summary>
    public int H { get; }

    /// <summary>Whether B is kept per noise kind.</summary>
    public bool PerKind { get; }

    /// <summary>Species of the target columns 1.. (column 0 is the raw labels).</summary>
    public List<int> Species { get; } = [];

    /// <summary>Number of target columns, 1 + species.</summary>
    public int TargetCount => 1 + Species.Count;

    /// <summary>Σ V_s V_sᵀ, column-major M × M, one per noise kind (or one for all).</summary>
    public double[][] B { get; }

    /// <summary>Σ L⁻¹ K_us Σ⁻¹ T_s per noise kind, column-major M × TargetCount.</summary>
    public double[][] C { get; } = new double[LabelNoise.KindCount][];

    /// <summary>Σ T_sᵀ Σ⁻¹ T_s per noise kind, column-major TargetCount × TargetCount.</summary>
    public double[][] Q { get; } = new double[LabelNoise.KindCount][];

    /// <summary>Σ ∂K_us/∂θ_h Σ⁻¹ K_su, column-major M × M.</summary>
    public double[][] D { get; }

    /// <summary>Σ ∂K_us/∂θ_h Σ⁻¹ T_s, column-major M × TargetCount.</summary>
    public double[][] E { get; }

    /// <summary>Labels per noise kind.</summary>
    public long[] Counts { get; } = new long[LabelNoise.KindCount];

    /// <summary>log |Σ| over all labels.</summary>
    public double LogDetNoise { get; private set; }

    /// <summary>Number of structures added.</summary>
    public int StructureCount { get; private set; }

    /// <summary>Atomic numbers and total energy (eV) of every structure with an energy label, for the reference-energy fit.</summary>
    public List<(int[] AtomicNumbers, double EnergyEv)> Energies { get; } = [];

    /// <summary>Every species seen in the training structures.</summary>
    public SortedSet<int> SeenSpecies { get; } = [];

    /// <summary>Restores the sums read from a model file (single B, i.e. not per kind).</summary>
    public void Restore(int[] species, double[] b, double[][] c, double[][] q, long[] counts, double logDetNoise, int structures,
        IEnumerable<(int[] AtomicNumbers, double EnergyEv)> energies, IEnumerable<int> seen)
    {
        Species.Clear();
        Species.AddRange(species);
        B[0] = b;
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
        SeenSpecies.Clear();
        SeenSpecies.UnionWith(seen);
    }

    /// <summary>Total number of labels.</summary>
    public long LabelCount => Counts.Sum();

    private int EnsureSpecies(int z)
    {
        int idx = Species.IndexOf(z);
        if (idx >= 0)
        {
            return idx;
        }

        int t = TargetCount;
        Species.Add(z);
        for (int k = 0; k < LabelNoise.KindCount; k++)
        {
            var c = C[k];
            Array.Resize(ref c, M * (t + 1));
            C[k] = c;
            var q = new double[(t + 1) * (t + 1)];
            for (int j = 0; j < t; j++)
            {
                Array.Copy(Q[k], j * t, q, j * (t + 1), t);
            }

            Q[k] = q;
        }

        for (int h = 0; h < H; h++)
        {
            var e = E[h];
            Array.Resize(ref e, M * (t + 1));
            E[h] = e;
        }

        return Species.Count - 1;
    }

    /// <summary>
    /// Adds one structure: <paramref name="kus"/> is K_us (column-major M × n_s, i.e. n_s × M row-major),
    /// <paramref name="dkus"/> its derivatives (one such array per hyperparameter, or empty).
    /// </summary>
    public void Add(TrainingEntry entry, NoiseLevels noise, CholeskyFactorization luu, double[] kus, double[][] dkus)
    {
        int n = entry.Count;
        var labels = entry.Labels;
        var z = entry.Structure.AtomicNumbers.ToArray();
        foreach (int s in z)
        {
            SeenSpecies.Add(s);
        }

        // Target rows: column 0 the raw labels, species columns −count on the energy row.
        var speciesColumns = new Dictionary<int, double>();
        if (labels.Energy)
        {
            foreach (var g in z.GroupBy(x => x))
            {
                speciesColumns[1 + EnsureSpecies(g.Key)] = -g.Count();
            }

            Energies.Add((z, entry.Values[0]));
        }

        int tc = TargetCount;
        var sigma2 = LabelNoise.Variances(entry, noise);
        var kinds = new int[n];
        for (int j = 0; j < n; j++)
        {
            kinds[j] = LabelNoise.Kind(entry, j);
            Counts[kinds[j]]++;
            LogDetNoise += Math.Log(sigma2[j]);
        }

        // Gradient sums first (they need K_us itself).
        if (H > 0)
        {
            var scaled = new double[(long)M * n];
            for (int j = 0; j < n; j++)
            {
                double inv = 1.0 / sigma2[j];
                for (int i = 0; i < M; i++)
                {
                    scaled[(long)j * M + i] = kus[(long)j * M + i] * inv;
                }
            }

            for (int h = 0; h < H; h++)
            {
                _dense.Gemm(false, true, M, M, n, 1.0, dkus[h], scaled, 1.0, D[h]);
                var e = E[h];
                var dk = dkus[h];
                for (int j = 0; j < n; j++)
                {
                    double inv = 1.0 / sigma2[j];
                    double y = entry.Values[j] * inv;
                    for (int i = 0; i < M; i++)
                    {
                        e[i] += dk[(long)j * M + i] * y;
                    }

                    if (j == 0 && labels.Energy)
                    {
                        foreach (var (col, t) in speciesColumns)
                        {
                            for (int i = 0; i < M; i++)
                            {
                                e[col * M + i] += dk[i] * t * inv;
                            }
                        }
                    }
                }
            }
        }

        // V = L⁻¹ K_us Σ^-½ (in place of K_us).
        luu.SolveLowerInPlace(kus.AsSpan(0, M * n), n);
        for (int j = 0; j < n; j++)
        {
            double inv = 1.0 / Math.Sqrt(sigma2[j]);
            for (int i = 0; i < M; i++)
            {
                kus[(long)j * M + i] *= inv;
            }
        }

        // B += V Vᵀ (per kind: the kinds are contiguous label ranges, energy, forces, stress).
        if (PerKind)
        {
            int start = 0;
            while (start < n)
            {
                int end = start;
                while (end < n && kinds[end] == kinds[start])
                {
                    end++;
                }

                AddGram(B[kinds[start]], kus, start, end - start);
                start = end;
            }
        }
        else
        {
            AddGram(B[0], kus, 0, n);
        }

        // C += V Σ^-½ T, Q += Tᵀ Σ⁻¹ T.
        for (int j = 0; j < n; j++)
        {
            int k = kinds[j];
            double isd = 1.0 / Math.Sqrt(sigma2[j]);
            var c = C[k];
            var row = new double[tc];
            row[0] = entry.Values[j];
            if (j == 0 && labels.Energy)
            {
                foreach (var (col, t) in speciesColumns)
                {
                    row[col] = t;
                }
            }

            for (int col = 0; col < tc; col++)
            {
                double t = row[col];
                if (t == 0)
                {
                    continue;
                }

                double f = t * isd;
                for (int i = 0; i < M; i++)
                {
                    c[col * M + i] += kus[(long)j * M + i] * f;
                }
            }

            var q = Q[k];
            double inv = isd * isd;
            for (int a = 0; a < tc; a++)
            {
                if (row[a] == 0)
                {
                    continue;
                }

                for (int b = 0; b < tc; b++)
                {
                    q[b * tc + a] += row[a] * row[b] * inv;
                }
            }
        }

        StructureCount++;
    }

    private void AddGram(double[] b, double[] v, int start, int count)
    {
        if (count == 0)
        {
            return;
        }

        double[] part;
        if (start == 0 && count * (long)M == v.LongLength)
        {
            part = v;
        }
        else
        {
            part = new double[(long)M * count];
            Array.Copy(v, (long)start * M, part, 0, (long)count * M);
        }

        _dense.Gemm(false, true, M, M, count, 1.0, part, part, 1.0, b);
    }

    /// <summary>The weights t = [1, μ_z …] that turn the target columns into y − m.</summary>
    public double[] TargetWeights(SpeciesReferenceEnergies reference)
    {
        var t = new double[TargetCount];
        t[0] = 1;
        for (int s = 0; s < Species.Count; s++)
        {
            t[1 + s] = reference.EnergyEv(Species[s]);
        }

        return t;
    }

    /// <summary>X·t for a column-major M × TargetCount matrix X.</summary>
    public double[] Combine(double[] x, double[] t)
    {
        var r = new double[M];
        for (int col = 0; col < t.Length; col++)
        {
            double w = t[col];
            if (w == 0)
            {
                continue;
            }

            for (int i = 0; i < M; i++)
            {
                r[i] += x[col * M + i] * w;
            }
        }

        return r;
    }

    /// <summary>tᵀ Q t for a column-major TargetCount² matrix.</summary>
    public double Quadratic(double[] q, double[] t)
    {
        int tc = t.Length;
        double s = 0;
        for (int a = 0; a < tc; a++)
        {
            for (int b = 0; b < tc; b++)
            {
                s += t[a] * q[b * tc + a] * t[b];
            }
        }

        return s;
    }
}
