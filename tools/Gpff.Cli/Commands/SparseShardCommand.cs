using System.CommandLine;
using System.Globalization;
using Gpff.Regression;

namespace Gpff.Cli.Commands;

/// <summary><c>gpff sparse-shard</c>: one task of a sharded sparse-GP training (what each Slurm array task runs).</summary>
internal sealed class SparseShardCommand : ICommand
{
    public string Name => "sparse-shard";

    public string Summary => "compute one shard of a sharded sparse-GP training (a Slurm array task)";

    /// <inheritdoc/>
    public string Description => $"""
        Computes shard K of the sparse-GP training plan (written by a sharded sparse gpff train on Slurm): the
        normal-equation and likelihood sums of the training structures i ≡ K (mod shards) of the plan's
        training file, written atomically with a SHA-256 checksum to DIR/shard-KKKK-of-NNNN{SparseShardPlan.ShardExtension}.
        A task killed before it finished leaves no shard file; the driver reruns it.
        """;

    /// <inheritdoc/>
    public string ArgumentsName => "";

    /// <inheritdoc/>
    public string ArgumentsDescription => "";

    /// <inheritdoc/>
    public IReadOnlyList<Option> Options =>
    [
        Declare.Text("plan", "PLAN.json", "the plan (required)"),
        Declare.Text("directory", "DIR", "the shard folder (required)"),
        Declare.Whole("index", "K", "0-based shard index (default: $SLURM_ARRAY_TASK_ID)", null),
        Declare.Whole("threads", "N", "threads (default: $SLURM_CPUS_PER_TASK, else all cores)", null, 1, 4096),
    ];

    /// <inheritdoc/>
    public int Run(ParsedArguments args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        string plan = args.Get("plan") ?? throw new UsageException("--plan PLAN.json is required.");
        string dir = args.Get("directory") ?? throw new UsageException("--directory DIR is required.");
        string? indexText = args.Get("index") ?? Environment.GetEnvironmentVariable("SLURM_ARRAY_TASK_ID");
        string? threadsText = args.Get("threads") ?? Environment.GetEnvironmentVariable("SLURM_CPUS_PER_TASK");
        args.RejectUnknown();
        if (args.Positional.Count > 0)
        {
            throw new UsageException($"unexpected argument '{args.Positional[0]}' (gpff sparse-shard --help).");
        }

        if (indexText is null || !int.TryParse(indexText, NumberStyles.None, CultureInfo.InvariantCulture, out int index))
        {
            throw new UsageException($"--index must be a whole number ≥ 0 (or run inside a Slurm job array), got '{indexText}'.");
        }

        int threads = threadsText is not null && int.TryParse(threadsText, NumberStyles.None, CultureInfo.InvariantCulture, out int t) && t > 0 ? t : Environment.ProcessorCount;
        var p = SparseShardPlan.Load(plan);
        if (index >= p.ShardCount)
        {
            throw new UsageException($"--index {index}: the plan has {p.ShardCount} shards (0 to {p.ShardCount - 1}).");
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var shard = p.ComputeAndSave(index, dir, threads, cancellationToken);
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"shard {index} of {p.ShardCount}: {shard.StructureCount} structures, {shard.LabelCount} labels in {clock.Elapsed.TotalSeconds:F1} s; peak working set {Environment.WorkingSet / 1048576.0:F0} MiB (now), {System.Diagnostics.Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0:F0} MiB (peak)"));
        return 0;
    }
}
