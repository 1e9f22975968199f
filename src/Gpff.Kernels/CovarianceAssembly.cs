using Gpff.Descriptors;

namespace Gpff.Kernels;

/// <summary>The labels of one structure that take part in an assembled covariance matrix.</summary>
/// <param name="Environments">The structure's environments (from <see cref="IKernel.Describe"/>).</param>
/// <param name="Labels">Its selected labels.</param>
public sealed record LabelBlock(StructureEnvironments Environments, LabelSelection Labels);

/// <summary>Options of a parallel covariance assembly.</summary>
public sealed class AssemblyOptions
{
    /// <summary>Maximum number of threads; −1 (default) uses all cores.</summary>
    public int MaxDegreeOfParallelism { get; init; } = -1;

    /// <summary>Cancels the assembly (an <see cref="OperationCanceledException"/> is thrown).</summary>
    public CancellationToken CancellationToken { get; init; }

    /// <summary>Receives the fraction of work done, 0 to 1 (at most about 256 reports, the last one 1).</summary>
    public IProgress<double>? Progress { get; init; }

    /// <summary>
    /// Force atoms per work item when a row block has force labels only (blocks with energy, stress or
    /// local-energy labels are one work item per column block, since those labels need every
    /// environment of the structure); smaller items balance threads better.
    /// </summary>
    public int AtomsPerWorkItem { get; init; } = 4;
}

/// <summary>
/// One block computed by a <see cref="CovarianceAssemblyPlan"/>: the covariance between some labels of
/// a row block and all labels of a column block, with its hyperparameter derivatives when requested.
/// Valid only during the visitor call (its spans live in a per-thread buffer that is reused).
/// </summary>
public readonly ref struct CovarianceBlock
{
    internal CovarianceBlock(int workItem, int rowBlock, ReadOnlySpan<int> rowLabels, int columnBlock, int columnCount,
        ReadOnlySpan<double> values, ReadOnlySpan<double> hyperparameterGradients, bool mirrored)
    {
        WorkItem = workItem;
        RowBlock = rowBlock;
        RowLabels = rowLabels;
        ColumnBlock = columnBlock;
        ColumnCount = columnCount;
        Values = values;
        HyperparameterGradients = hyperparameterGradients;
        IsMirrored = mirrored;
    }

    /// <summary>Index of the work item, 0 to <see cref="CovarianceAssemblyPlan.WorkItemCount"/> − 1: a slot for per-item partial sums that are then added in a fixed order.</summary>
    public int WorkItem { get; }

    /// <summary>Index of the row block.</summary>
    public int RowBlock { get; }

    /// <summary>The rows: indices of labels within the row block's selection, ascending. Each (row label, column block) pair occurs in exactly one work item.</summary>
    public ReadOnlySpan<int> RowLabels { get; }

    /// <summary>Index of the column block.</summary>
    public int ColumnBlock { get; }

    /// <summary>Number of columns (all labels of the column block).</summary>
    public int ColumnCount { get; }

    /// <summary>Covariances, RowLabels.Length × ColumnCount, row-major (units: products of the labels' units).</summary>
    public ReadOnlySpan<double> Values { get; }

    /// <summary>∂/∂θ_h of <see cref="Values"/>, H × RowLabels.Length × ColumnCount, or empty when not requested.</summary>
    public ReadOnlySpan<double> HyperparameterGradients { get; }

    /// <summary>True in a symmetric assembly for a block off the block diagonal: it also stands for its transpose (column block × row block), which is not computed.</summary>
    public bool IsMirrored { get; }
}

/// <summary>Receives each block a <see cref="CovarianceAssemblyPlan"/> computes, from many threads at once (each call owns its block's rows).</summary>
/// <param name="block">The block.</param>
public delegate void CovarianceBlockVisitor(CovarianceBlock block);

/// <summary>
/// The covariance assembly engine: the work items (row labels × column block) of a covariance between
/// row blocks and column blocks, computed in parallel, the most expensive first, with one growing block
/// buffer per worker thread, cancellation and progress. Each computed block goes to a visitor, which
/// writes it into a matrix (<see cref="Fill"/>) or reduces it (prediction means, likelihood gradients);
/// every output element or partial sum is produced by exactly one work item, so results do not depend
/// on the thread scheduling. The kernel is called from many threads at once; kernels of this library
/// are immutable and keep their scratch on the stack.
/// </summary>
public sealed class CovarianceAssemblyPlan
{
    private readonly WorkItem[] _items;
    private readonly AssemblyOptions _options;

    private sealed record WorkItem(int RowBlock, LabelSelection Rows, int[] RowLabels, int ColumnBlock, long Cost);

    internal CovarianceAssemblyPlan(IReadOnlyList<LabelBlock> rows, IReadOnlyList<LabelBlock> columns, bool symmetric, AssemblyOptions? options)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(columns);
        _options = options ?? new AssemblyOptions();
        Rows = rows;
        Columns = columns;
        IsSymmetric = symmetric;
        RowOffsets = Offsets(rows, nameof(rows));
        ColumnOffsets = Offsets(columns, nameof(columns));
        if (symmetric && !ReferenceEquals(rows, columns) && !rows.SequenceEqual(columns))
        {
            throw new ArgumentException("A symmetric assembly needs the same blocks as rows and columns.", nameof(columns));
        }

        var items = new List<WorkItem>();
        int chunk = Math.Max(1, _options.AtomsPerWorkItem);
        for (int r = 0; r < rows.Count; r++)
        {
            var sel = rows[r].Labels;
            var parts = new List<(LabelSelection Sel, int[] Labels, int Environments)>();
            if (sel.IsForcesOnly)
            {
                // Force rows of different atoms share no environment pair: split them for load balance.
                for (int k = 0; k < sel.ForceAtoms.Length; k += chunk)
                {
                    var atoms = sel.ForceAtoms[k..Math.Min(k + chunk, sel.ForceAtoms.Length)];
                    parts.Add((LabelSelection.Forces(atoms), Enumerable.Range(sel.ForceOffset + 3 * k, 3 * atoms.Length).ToArray(), atoms.Length));
                }
            }
            else if (sel.Count > 0)
            {
                // Energy, stress and local energies need every environment: one item, each pair computed once.
                parts.Add((sel, Enumerable.Range(0, sel.Count).ToArray(), sel.Energy || sel.Stress ? rows[r].Environments.AtomCount : sel.ForceAtoms.Union(sel.LocalEnergyAtoms).Count()));
            }

            foreach (var (ps, labels, envs) in parts)
            {
                for (int c = symmetric ? r : 0; c < columns.Count; c++)
                {
                    var cs = columns[c].Labels;
                    long colEnvs = cs.IsForcesOnly ? cs.ForceAtoms.Length : columns[c].Environments.AtomCount;
                    items.Add(new WorkItem(r, ps, labels, c, (long)envs * colEnvs));
                }
            }
        }

        _items = [.. items.OrderByDescending(i => i.Cost)];   // stable: a deterministic order, largest first
    }

    /// <summary>The row blocks.</summary>
    public IReadOnlyList<LabelBlock> Rows { get; }

    /// <summary>The column blocks.</summary>
    public IReadOnlyList<LabelBlock> Columns { get; }

    /// <summary>Whether rows and columns are the same blocks and only blocks on or above the block diagonal are computed.</summary>
    public bool IsSymmetric { get; }

    /// <summary>Offset of each row block's first label among all row labels (one more entry than blocks: the last is the row count).</summary>
    public IReadOnlyList<int> RowOffsets { get; }

    /// <summary>Offset of each column block's first label among all column labels (the last entry is the column count).</summary>
    public IReadOnlyList<int> ColumnOffsets { get; }

    /// <summary>Total number of row labels.</summary>
    public int RowCount => RowOffsets[^1];

    /// <summary>Total number of column labels.</summary>
    public int ColumnCount => ColumnOffsets[^1];

    /// <summary>Number of work items (slots for per-item partial sums).</summary>
    public int WorkItemCount => _items.Length;

    /// <summary>Computes every block, in parallel, and hands each to <paramref name="visitor"/>.</summary>
    /// <param name="kernel">The kernel.</param>
    /// <param name="hyperparameterGradients">Whether to compute ∂K/∂θ too.</param>
    /// <param name="visitor">Receives the blocks (from many threads at once).</param>
    /// <exception cref="OperationCanceledException">The options' cancellation token was cancelled.</exception>
    public void Run(IKernel kernel, bool hyperparameterGradients, CovarianceBlockVisitor visitor)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        ArgumentNullException.ThrowIfNull(visitor);
        int nh = hyperparameterGradients ? kernel.HyperparameterNames.Count : 0;
        int total = _items.Length;
        int stride = Math.Max(1, total / 256);
        int done = 0, reported = 0;
        var progressGate = new Lock();
        var ct = _options.CancellationToken;
        var po = new ParallelOptions { MaxDegreeOfParallelism = _options.MaxDegreeOfParallelism, CancellationToken = ct };
        // One block buffer per worker thread, grown as needed and reused for all its items.
        Parallel.For(0, total, po, () => Array.Empty<double>(), (i, _, buffer) =>
        {
            ct.ThrowIfCancellationRequested();
            var item = _items[i];
            var colBlock = Columns[item.ColumnBlock];
            int m = item.Rows.Count, n = colBlock.Labels.Count;
            int size = m * n;
            int need = size * (1 + nh);
            if (buffer.Length < need)
            {
                buffer = new double[need];
            }

            var v = buffer.AsSpan(0, size);
            var g = nh == 0 ? [] : buffer.AsSpan(size, nh * size);
            kernel.Covariance(Rows[item.RowBlock].Environments, item.Rows, colBlock.Environments, colBlock.Labels, v, g);
            visitor(new CovarianceBlock(i, item.RowBlock, item.RowLabels, item.ColumnBlock, n, v, g, IsSymmetric && item.ColumnBlock != item.RowBlock));
            int d = Interlocked.Increment(ref done);
            if (_options.Progress is { } progress && (d == total || d % stride == 0))
            {
                // Reports in order, never backwards: a worker that counted earlier but reaches this point
                // after the last item was reported stays silent (progress bars, "done" lines).
                lock (progressGate)
                {
                    if (d > reported)
                    {
                        reported = d;
                        progress.Report((double)d / total);
                    }
                }
            }

            return buffer;
        }, _ => { });
    }

    /// <summary>
    /// Fills <paramref name="values"/> (row-major, <see cref="RowCount"/> × <see cref="ColumnCount"/>;
    /// in a symmetric plan both triangles) with the covariance, and
    /// <paramref name="hyperparameterGradients"/> (H × rows × columns), when given, with its derivatives.
    /// </summary>
    /// <param name="kernel">The kernel.</param>
    /// <param name="values">Output matrix.</param>
    /// <param name="hyperparameterGradients">Output derivatives, or null.</param>
    public void Fill(IKernel kernel, double[] values, double[]? hyperparameterGradients = null)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        ArgumentNullException.ThrowIfNull(values);
        long nr = RowCount, nc = ColumnCount, nn = nr * nc;
        int nh = kernel.HyperparameterNames.Count;
        if (values.LongLength < nn)
        {
            throw new ArgumentException($"The output matrix needs {nr} × {nc} = {nn} elements, got {values.LongLength}.", nameof(values));
        }

        if (hyperparameterGradients is not null && hyperparameterGradients.LongLength < nh * nn)
        {
            throw new ArgumentException($"The gradient output needs {nh} × {nr} × {nc} = {nh * nn} elements, got {hyperparameterGradients.LongLength}.", nameof(hyperparameterGradients));
        }

        var rowOffsets = RowOffsets;
        var colOffsets = ColumnOffsets;
        var grads = hyperparameterGradients;
        Run(kernel, grads is not null, block =>
        {
            int m = block.RowLabels.Length, n = block.ColumnCount;
            long r0 = rowOffsets[block.RowBlock], c0 = colOffsets[block.ColumnBlock];
            bool mirror = block.IsMirrored;
            var v = block.Values;
            var g = block.HyperparameterGradients;
            for (int a = 0; a < m; a++)
            {
                long row = r0 + block.RowLabels[a];
                for (int b = 0; b < n; b++)
                {
                    long col = c0 + b;
                    double x = v[a * n + b];
                    values[row * nc + col] = x;
                    if (mirror)
                    {
                        values[col * nc + row] = x;
                    }

                    if (grads is not null)
                    {
                        for (int h = 0; h < nh; h++)
                        {
                            double y = g[h * m * n + a * n + b];
                            grads[h * nn + row * nc + col] = y;
                            if (mirror)
                            {
                                grads[h * nn + col * nc + row] = y;
                            }
                        }
                    }
                }
            }
        });
    }

    private static int[] Offsets(IReadOnlyList<LabelBlock> blocks, string name)
    {
        var o = new int[blocks.Count + 1];
        for (int i = 0; i < blocks.Count; i++)
        {
            ArgumentNullException.ThrowIfNull(blocks[i], $"{name}[{i}]");
            o[i + 1] = checked(o[i] + blocks[i].Labels.Count);
        }

        return o;
    }
}

/// <summary>
/// Dense covariance matrices from many structure blocks, assembled in parallel by the one engine
/// (<see cref="CovarianceAssemblyPlan"/>) that the GP uses for training, likelihood gradients, block
/// updates and predictions.
/// </summary>
public static class CovarianceAssembly
{
    /// <summary>Total number of labels (rows) of a list of blocks.</summary>
    /// <param name="blocks">The blocks.</param>
    public static int LabelCount(IReadOnlyList<LabelBlock> blocks) => blocks.Sum(b => b.Labels.Count);

    /// <summary>The work items of the covariance between the labels of <paramref name="rows"/> and <paramref name="columns"/>.</summary>
    /// <param name="rows">Row blocks, in order.</param>
    /// <param name="columns">Column blocks, in order (for a symmetric plan the same list as <paramref name="rows"/>).</param>
    /// <param name="symmetric">Compute only blocks on or above the block diagonal (rows and columns must be the same blocks).</param>
    /// <param name="options">Parallelism, cancellation, progress, work-item size.</param>
    public static CovarianceAssemblyPlan Plan(IReadOnlyList<LabelBlock> rows, IReadOnlyList<LabelBlock> columns, bool symmetric = false, AssemblyOptions? options = null) =>
        new(rows, columns, symmetric, options);

    /// <summary>
    /// Fills <paramref name="values"/> (row-major, rows × columns, rows = Σ row labels) with the
    /// covariance between the labels of <paramref name="rows"/> and <paramref name="columns"/>, and
    /// <paramref name="hyperparameterGradients"/> (H × rows × columns), when given, with its
    /// derivatives with respect to each hyperparameter.
    /// </summary>
    /// <param name="kernel">The kernel.</param>
    /// <param name="rows">Row blocks, in order.</param>
    /// <param name="columns">Column blocks, in order.</param>
    /// <param name="values">Output matrix.</param>
    /// <param name="hyperparameterGradients">Output derivatives, or null.</param>
    /// <param name="options">Parallelism, cancellation, progress.</param>
    public static void Assemble(IKernel kernel, IReadOnlyList<LabelBlock> rows, IReadOnlyList<LabelBlock> columns,
        double[] values, double[]? hyperparameterGradients = null, AssemblyOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        Plan(rows, columns, symmetric: false, options).Fill(kernel, values, hyperparameterGradients);
    }

    /// <summary>
    /// Fills the symmetric matrix K[i, j] = cov(label i, label j) over the labels of
    /// <paramref name="blocks"/>, computing each pair of structure blocks once and mirroring it.
    /// </summary>
    /// <param name="kernel">The kernel.</param>
    /// <param name="blocks">Blocks, in order.</param>
    /// <param name="values">Output n × n matrix.</param>
    /// <param name="hyperparameterGradients">Output H × n × n derivatives, or null.</param>
    /// <param name="options">Parallelism, cancellation, progress.</param>
    public static void AssembleSymmetric(IKernel kernel, IReadOnlyList<LabelBlock> blocks,
        double[] values, double[]? hyperparameterGradients = null, AssemblyOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        Plan(blocks, blocks, symmetric: true, options).Fill(kernel, values, hyperparameterGradients);
    }
}
