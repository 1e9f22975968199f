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
/// <item>for the gradient, D_h = Σ_s ∂K_us/∂θ_h Σ_s^-½ V_sᵀ = (Σ_s ∂K_us/∂θ_h Σ_s⁻¹ K_su) L⁻ᵀ (M × M, whitened on
/// one side: the likelihood gradient needs L⁻¹ D_h, one triangular solve, and whitening the unwhitened sum on
/// both sides at the end lost up to three digits of the gradient with an ill-conditioned K_uu) and
/// E_h = Σ_s ∂K_us/∂θ_h Σ_s⁻¹ T_s.</item>
/// </list>
/// Memory O(M²) (times the number of kernel hyperparameters with the gradient) plus one structure;
/// the same sums computed on shards of the data add up.
/// </summary>
internal sealed partial class SparseStatistics
{
    private readonly DenseKernels _dense;
    private readonly double[][] _b;
    private readonly double[][] _c = new double[LabelNoise.KindCount][];
    private readonly double[][] _d;
    private readonly double[][] _e;
    private readonly bool[] _upperStale;
    private readonly PendingColumns[] _pending = new PendingColumns[LabelNoise.KindCount];
    private CholeskyFactorization? _pendingFactor;

    /// <param name="inducingCount">M.</param>
    /// <param name="hyperparameterCount">Kernel hyperparameters (their sums are kept only with <paramref name="gradient"/>).</param>
    /// <param name="perKind">Whether B is kept per noise kind (always with the gradient).</param>
    /// <param name="gradient">Whether D and E are accumulated.</param>
    /// <param name="backend">Dense back end.</param>
    /// <param name="batchColumns">Columns per noise kind buffered before they are added (null: <see cref="DefaultBatchColumns"/>).</param>
    public SparseStatistics(int inducingCount, int hyperparameterCount, bool perKind, bool gradient, LinearAlgebraBackendKind backend, int? batchColumns = null)
    {
        M = inducingCount;
        BatchColumns = batchColumns ?? DefaultBatchColumns(inducingCount);
        ArgumentOutOfRangeException.ThrowIfLessThan(BatchColumns, 1, nameof(batchColumns));
        H = gradient ? hyperparameterCount : 0;
        PerKind = perKind || gradient;
        _dense = DenseKernels.For(backend);
        int groups = PerKind ? LabelNoise.KindCount : 1;
        _b = new double[groups][];
        _upperStale = new bool[groups];
        for (int k = 0; k < groups; k++)
        {
            _b[k] = new double[(long)M * M];
        }

        for (int k = 0; k < LabelNoise.KindCount; k++)
        {
            _c[k] = new double[M];
            Q[k] = new double[1];
            _pending[k] = new PendingColumns();
        }

        _d = new double[H][];
        _e = new double[H][];
        for (int h = 0; h < H; h++)
        {
            _d[h] = new double[(long)M * M];
            _e[h] = new double[M];
        }
    }

    /// <summary>Number of inducing environments.</summary>
    public int M { get; }

    /// <summary>Columns of each noise kind buffered before they are added to the sums.</summary>
    public int BatchColumns { get; }

    /// <summary>
    /// Columns per batch: enough for the products to run at full speed (OpenBLAS's blocks are a few hundred deep),
    /// few enough that the buffers stay small beside the M × M sums (M × columns ≤ 2¹⁹ doubles, 4 MiB, from M ≈ 1,000).
    /// </summary>
    public static int DefaultBatchColumns(int m) => Math.Clamp((1 << 19) / Math.Max(1, m), 64, 512);

    /// <summary>Number of kernel hyperparameters whose derivatives are accumulated (0 without the gradient).</summary>
    public int H { get; }

    /// <summary>Whether B is kept per noise kind.</summary>
    public bool PerKind { get; }

    /// <summary>Species of the target columns 1.. (column 0 is the raw labels).</summary>
    public List<int> Species { get; } = [];

    /// <summary>Number of target columns, 1 + species.</summary>
    public int TargetCount => 1 + Species.Count;

    /// <summary>Σ V_s V_sᵀ, column-major M × M (both triangles), one per noise kind (or one for all); reading it adds the buffered columns first.</summary>
    public double[][] B
    {
        get
        {
            Flush();
            return _b;
        }
    }

    /// <summary>Σ L⁻¹ K_us Σ⁻¹ T_s per noise kind, column-major M × TargetCount; reading it adds the buffered columns first.</summary>
    public double[][] C
    {
        get
        {
            Flush();
            return _c;
        }
    }

    /// <summary>Σ T_sᵀ Σ⁻¹ T_s per noise kind, column-major TargetCount × TargetCount.</summary>
    public double[][] Q { get; } = new double[LabelNoise.KindCount][];

    /// <summary>Σ ∂K_us/∂θ_h Σ^-½ V_sᵀ = Σ ∂K_us/∂θ_h Σ⁻¹ K_su L⁻ᵀ, column-major M × M; reading it adds the buffered columns first.</summary>
    public double[][] D
    {
        get
        {
            Flush();
            return _d;
        }
    }

    /// <summary>Σ ∂K_us/∂θ_h Σ⁻¹ T_s, column-major M × TargetCount; reading it adds the buffered columns first.</summary>
    public double[][] E
    {
        get
        {
            Flush();
            return _e;
        }
    }

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
        Flush();   // nothing buffered survives a restore
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

        // The buffered target rows have the old number of columns.
        Flush();
        int t = TargetCount;
        Species.Add(z);
        for (int k = 0; k < LabelNoise.KindCount; k++)
        {
            var c = _c[k];
            Array.Resize(ref c, M * (t + 1));
            _c[k] = c;
            var q = new double[(t + 1) * (t + 1)];
            for (int j = 0; j < t; j++)
            {
                Array.Copy(Q[k], j * t, q, j * (t + 1), t);
            }

            Q[k] = q;
        }

        for (int h = 0; h < H; h++)
        {
            var e = _e[h];
            Array.Resize(ref e, M * (t + 1));
            _e[h] = e;
        }

        return Species.Count - 1;
    }

    /// <summary>
    /// Adds one structure: <paramref name="kus"/> is K_us (column-major M × n_s, i.e. n_s × M row-major),
    /// <paramref name="dkus"/> its derivatives (one such array per hyperparameter, or empty). The counts,
    /// log|Σ|, Q and the energies are added at once; the structure's columns Σ^-½ K_us (and Σ^-½ ∂K_us/∂θ_h)
    /// wait, per noise kind, in a buffer of a few hundred columns that is added to B, C, D and E in one
    /// batch (one triangular solve, one rank-k update of B's lower triangle and a few products for many
    /// structures: see <see cref="FlushKind"/>). Reading B, C, D or E adds what waits first.
    /// <paramref name="kus"/> and <paramref name="dkus"/> are not changed.
    /// </summary>
    public void Add(TrainingEntry entry, NoiseLevels noise, CholeskyFactorization luu, double[] kus, double[][] dkus)
    {
        if (_pendingFactor is not null && !ReferenceEquals(_pendingFactor, luu))
        {
            Flush();   // the buffered columns are solved with the factor they came with
        }

        _pendingFactor = luu;

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
        var row = new double[tc];
        for (int j = 0; j < n; j++)
        {
            int k = LabelNoise.Kind(entry, j);
            Counts[k]++;
            LogDetNoise += Math.Log(sigma2[j]);

            // The label's target row Σ^-½ T_j (into the buffer of its kind) and Q += Tᵀ Σ⁻¹ T.
            Array.Clear(row);
            row[0] = entry.Values[j];
            if (j == 0 && labels.Energy)
            {
                foreach (var (col, t) in speciesColumns)
                {
                    row[col] = t;
                }
            }

            var q = Q[k];
            double inv = 1.0 / sigma2[j];
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

            var pending = _pending[k];
            if (pending.Count == BatchColumns)
            {
                FlushKind(k);
            }

            pending.Append(M, tc, H, BatchColumns, j, Math.Sqrt(inv), kus, dkus, row);
        }

        StructureCount++;
    }

    /// <summary>Adds every buffered column to the sums (B's upper triangle then mirrors its lower one).</summary>
    internal void Flush()
    {
        for (int k = 0; k < _pending.Length; k++)
        {
            FlushKind(k);
        }

        for (int g = 0; g < _b.Length; g++)
        {
            if (_upperStale[g])
            {
                DenseKernels.SymmetrizeFromLower(_b[g], M);
                _upperStale[g] = false;
            }
        }

    }

    /// <summary>
    /// Adds the buffered columns of one noise kind: with X = Σ^-½ K_us and Y_h = Σ^-½ ∂K_us/∂θ_h of the buffered
    /// labels and R = Σ^-½ T their target rows, E_h += Y_h R (E is not whitened), then V = L⁻¹X in place,
    /// B's lower triangle += V Vᵀ (SYRK: M²·count multiply-adds where the full product takes twice that),
    /// C += V R and D_h += Y_h Vᵀ.
    /// </summary>
    private void FlushKind(int k)
    {
        var p = _pending[k];
        int count = p.Count, tc = TargetCount;
        if (count == 0)
        {
            return;
        }

        var x = p.X.AsSpan(0, M * count);
        var r = p.R.AsSpan(0, tc * count);
        for (int h = 0; h < H; h++)
        {
            var y = p.Y[h].AsSpan(0, M * count);
            _dense.Gemm(false, true, M, tc, count, 1.0, y, r, 1.0, _e[h]);
        }

        _pendingFactor!.SolveLowerInPlace(x, count);
        for (int h = 0; h < H; h++)
        {
            _dense.Gemm(false, true, M, M, count, 1.0, p.Y[h].AsSpan(0, M * count), x, 1.0, _d[h]);
        }
        int g = PerKind ? k : 0;
        _dense.SyrkLower(M, count, 1.0, x, _b[g]);
        _upperStale[g] = true;
        _dense.Gemm(false, true, M, tc, count, 1.0, x, r, 1.0, _c[k]);
        p.Count = 0;
    }

    /// <summary>
    /// The columns of one noise kind waiting to be added: X (M × count, column-major) = Σ^-½ K_us, Y_h likewise for
    /// ∂K_us/∂θ_h, and R (TargetCount × count, column-major) = their target rows times Σ^-½. The arrays grow
    /// (doubling) up to the batch size, so that a kind with few labels per structure stays small.
    /// </summary>
    private sealed class PendingColumns
    {
        public double[] X = [];
        public double[][] Y = [];
        public double[] R = [];
        public int Count;

        public void Append(int m, int tc, int h, int capacity, int column, double scale, double[] kus, double[][] dkus, double[] row)
        {
            int columns = X.Length / Math.Max(1, m);
            if (Count == columns || R.Length < tc * (Count + 1))
            {
                int grown = Math.Min(capacity, Math.Max(8, 2 * columns));
                Array.Resize(ref X, m * grown);
                Array.Resize(ref R, tc * grown);
                if (Y.Length != h)
                {
                    Y = new double[h][];
                    for (int i = 0; i < h; i++)
                    {
                        Y[i] = [];
                    }
                }

                for (int i = 0; i < h; i++)
                {
                    Array.Resize(ref Y[i], m * grown);
                }
            }

            Scale(kus.AsSpan(column * m, m), scale, X.AsSpan(Count * m, m));
            for (int i = 0; i < h; i++)
            {
                Scale(dkus[i].AsSpan(column * m, m), scale, Y[i].AsSpan(Count * m, m));
            }

            Scale(row.AsSpan(0, tc), scale, R.AsSpan(Count * tc, tc));
            Count++;
        }

        private static void Scale(ReadOnlySpan<double> from, double scale, Span<double> to)
        {
            for (int i = 0; i < from.Length; i++)
            {
                to[i] = from[i] * scale;
            }
        }
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
