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

    /// <summary>Receives the fraction of work done, 0 to 1.</summary>
    public IProgress<double>? Progress { get; init; }

    /// <summary>Force atoms per work item; smaller items balance threads better.</summary>
    public int AtomsPerWorkItem { get; init; } = 4;
}

/// <summary>
/// Assembles dense covariance matrices from many structure blocks in parallel (Parallel.For over
/// work items of a few force atoms each). The kernel is called from many threads at once; kernels
/// of this library are immutable and keep their scratch on the stack.
/// </summary>
public static class CovarianceAssembly
{
    /// <summary>Total number of labels (rows) of a list of blocks.</summary>
    /// <param name="blocks">The blocks.</param>
    public static int LabelCount(IReadOnlyList<LabelBlock> blocks) => blocks.Sum(b => b.Labels.Count);

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
        => Run(kernel, rows, columns, values, hyperparameterGradients, options, symmetric: false);

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
        => Run(kernel, blocks, blocks, values, hyperparameterGradients, options, symmetric: true);

    private sealed record WorkItem(int RowBlock, LabelSelection Rows, int[] RowTargets, int ColumnBlock);

    private static void Run(IKernel kernel, IReadOnlyList<LabelBlock> rows, IReadOnlyList<LabelBlock> columns,
        double[] values, double[]? grads, AssemblyOptions? options, bool symmetric)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(columns);
        ArgumentNullException.ThrowIfNull(values);
        options ??= new AssemblyOptions();
        int nr = LabelCount(rows), nc = LabelCount(columns), nh = kernel.HyperparameterNames.Count;
        if (values.Length < nr * nc)
        {
            throw new ArgumentException($"The output matrix needs {nr} × {nc} = {nr * nc} elements, got {values.Length}.", nameof(values));
        }

        if (grads is not null && grads.Length < nh * nr * nc)
        {
            throw new ArgumentException($"The gradient output needs {nh} × {nr} × {nc} = {nh * nr * nc} elements, got {grads.Length}.", nameof(grads));
        }

        var rowOffsets = Offsets(rows);
        var colOffsets = Offsets(columns);

        // Work items: per row block, its force atoms in chunks, plus one item for energy/stress/local energies.
        var items = new List<WorkItem>();
        int chunk = Math.Max(1, options.AtomsPerWorkItem);
        for (int r = 0; r < rows.Count; r++)
        {
            var sel = rows[r].Labels;
            var parts = new List<(LabelSelection Sel, int[] Targets)>();
            for (int k = 0; k < sel.ForceAtoms.Length; k += chunk)
            {
                var atoms = sel.ForceAtoms[k..Math.Min(k + chunk, sel.ForceAtoms.Length)];
                var targets = Enumerable.Range(rowOffsets[r] + sel.ForceOffset + 3 * k, 3 * atoms.Length).ToArray();
                parts.Add((new LabelSelection { ForceAtoms = atoms }, targets));
            }

            if (sel.Energy || sel.Stress || sel.LocalEnergyAtoms.Length > 0)
            {
                var rest = new LabelSelection { Energy = sel.Energy, Stress = sel.Stress, LocalEnergyAtoms = sel.LocalEnergyAtoms };
                var targets = new List<int>();
                if (sel.Energy)
                {
                    targets.Add(rowOffsets[r]);
                }

                if (sel.Stress)
                {
                    targets.AddRange(Enumerable.Range(rowOffsets[r] + sel.StressOffset, 6));
                }

                targets.AddRange(Enumerable.Range(rowOffsets[r] + sel.LocalEnergyOffset, sel.LocalEnergyAtoms.Length));
                parts.Add((rest, targets.ToArray()));
            }

            foreach (var (ps, pt) in parts)
            {
                for (int c = symmetric ? r : 0; c < columns.Count; c++)
                {
                    items.Add(new WorkItem(r, ps, pt, c));
                }
            }
        }

        int done = 0;
        var po = new ParallelOptions { MaxDegreeOfParallelism = options.MaxDegreeOfParallelism, CancellationToken = options.CancellationToken };
        Parallel.For(0, items.Count, po, () => new double[0], (i, _, buffer) =>
        {
            options.CancellationToken.ThrowIfCancellationRequested();
            var item = items[i];
            var colBlock = columns[item.ColumnBlock];
            int m = item.Rows.Count, n = colBlock.Labels.Count;
            int need = m * n * (1 + (grads is null ? 0 : nh));
            if (buffer.Length < need)
            {
                buffer = new double[need];
            }

            var v = buffer.AsSpan(0, m * n);
            var g = grads is null ? [] : buffer.AsSpan(m * n, nh * m * n);
            kernel.Covariance(rows[item.RowBlock].Environments, item.Rows, colBlock.Environments, colBlock.Labels, v, g);
            int c0 = colOffsets[item.ColumnBlock];
            bool mirror = symmetric && item.ColumnBlock != item.RowBlock;
            for (int a = 0; a < m; a++)
            {
                int row = item.RowTargets[a];
                for (int b = 0; b < n; b++)
                {
                    int col = c0 + b;
                    double x = v[a * n + b];
                    values[(long)row * nc + col] = x;
                    if (mirror)
                    {
                        values[(long)col * nc + row] = x;
                    }

                    if (grads is not null)
                    {
                        for (int h = 0; h < nh; h++)
                        {
                            double y = g[h * m * n + a * n + b];
                            grads[(long)h * nr * nc + (long)row * nc + col] = y;
                            if (mirror)
                            {
                                grads[(long)h * nr * nc + (long)col * nc + row] = y;
                            }
                        }
                    }
                }
            }

            int d = Interlocked.Increment(ref done);
            options.Progress?.Report((double)d / items.Count);
            return buffer;
        }, _ => { });
    }

    private static int[] Offsets(IReadOnlyList<LabelBlock> blocks)
    {
        var o = new int[blocks.Count + 1];
        for (int i = 0; i < blocks.Count; i++)
        {
            ArgumentNullException.ThrowIfNull(blocks[i], $"blocks[{i}]");
            o[i + 1] = o[i] + blocks[i].Labels.Count;
        }

        return o;
    }
}
