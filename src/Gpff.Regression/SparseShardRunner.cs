using System.Globalization;
using Gpff.Kernels;

namespace Gpff.Regression;

/// <summary>
/// Something that computes the shards of a <see cref="SparseShardPlan"/>: in this process one after the other
/// (<see cref="InProcessShardRunner"/>) or as the tasks of a Slurm job array (Gpff.Slurm). The plan has been
/// saved at <c>planPath</c>; a runner makes every shard file in <c>directory</c> present and valid, computing only
/// those that are missing or damaged (so a killed or failed task is rerun alone), or throws.
/// </summary>
public interface ISparseShardRunner
{
    /// <summary>Computes the missing or damaged shards of a plan into a folder.</summary>
    /// <param name="plan">The plan.</param>
    /// <param name="planPath">Where the plan is saved (what a task reads).</param>
    /// <param name="directory">The shard folder.</param>
    /// <param name="progress">Human-readable progress lines.</param>
    /// <param name="cancellationToken">Cancellation (a Slurm runner cancels its jobs).</param>
    Task RunAsync(SparseShardPlan plan, string planPath, string directory, IProgress<string>? progress = null, CancellationToken cancellationToken = default);
}

/// <summary>Computes the shards one after the other in this process: the same code a shard task runs (<see cref="SparseShardPlan.ComputeAndSave"/>).</summary>
/// <param name="maxDegreeOfParallelism">Threads per shard (≤ 0: all cores).</param>
public sealed class InProcessShardRunner(int maxDegreeOfParallelism = -1) : ISparseShardRunner
{
    /// <inheritdoc/>
    public Task RunAsync(SparseShardPlan plan, string planPath, string directory, IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        foreach (int index in plan.Problems(directory).Keys)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var shard = plan.ComputeAndSave(index, directory, maxDegreeOfParallelism, cancellationToken);
            progress?.Report(string.Create(CultureInfo.InvariantCulture, $"shard {index + 1} of {plan.ShardCount}: {shard.StructureCount} structures, {shard.LabelCount} labels"));
        }

        return Task.CompletedTask;
    }
}

/// <summary>
/// Sparse-GP training and likelihood evaluation through shards: the plan is written into a folder named by its
/// fingerprint under a work folder (so a restarted driver finds the shards already made, and evaluations at other
/// hyperparameters do not mix), the runner computes the shards, and they are reduced.
/// </summary>
public static class ShardedSparseTraining
{
    /// <summary>The folder of a plan's shards under <paramref name="workDirectory"/>: plan-FINGERPRINT12.</summary>
    /// <param name="plan">The plan.</param>
    /// <param name="workDirectory">The work folder.</param>
    public static string PlanDirectory(SparseShardPlan plan, string workDirectory)
    {
        ArgumentNullException.ThrowIfNull(plan);
        return Path.Combine(Path.GetFullPath(workDirectory), "plan-" + plan.Fingerprint[..12]);
    }

    /// <summary>Runs a plan's shards (those not already there) and returns the folder that holds them.</summary>
    /// <param name="plan">The plan.</param>
    /// <param name="workDirectory">The work folder.</param>
    /// <param name="runner">Where the shards are computed.</param>
    /// <param name="progress">Progress lines.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    public static async Task<string> RunAsync(SparseShardPlan plan, string workDirectory, ISparseShardRunner runner, IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(runner);
        string dir = PlanDirectory(plan, workDirectory);
        Directory.CreateDirectory(dir);
        string planPath = Path.Combine(dir, "plan.json");
        if (!File.Exists(planPath) || SparseShardPlan.Load(planPath).Fingerprint != plan.Fingerprint)
        {
            plan.Save(planPath);
        }

        await runner.RunAsync(plan, planPath, dir, progress, cancellationToken).ConfigureAwait(false);
        return dir;
    }

    /// <summary>Trains <paramref name="model"/>'s configuration on a training file through shards; returns the trained model.</summary>
    /// <param name="model">The sparse GP (kernel, noises, inducing set); not changed.</param>
    /// <param name="dataFile">The extxyz training file the tasks read.</param>
    /// <param name="shardCount">Number of shards.</param>
    /// <param name="workDirectory">The work folder.</param>
    /// <param name="runner">Where the shards are computed.</param>
    /// <param name="kinds">Label kinds.</param>
    /// <param name="progress">Progress lines.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    public static async Task<SparseGaussianProcess> TrainAsync(SparseGaussianProcess model, string dataFile, int shardCount, string workDirectory, ISparseShardRunner runner,
        LabelKinds kinds = LabelKinds.All, IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        var plan = SparseShardPlan.For(model, shardCount, kinds, dataFile);
        string dir = await RunAsync(plan, workDirectory, runner, progress, cancellationToken).ConfigureAwait(false);
        return plan.ReduceDirectory(dir, model.Options.MaxDegreeOfParallelism, cancellationToken);
    }

    /// <summary>The sparse log marginal likelihood and its gradient at the given hyperparameters, through shards.</summary>
    /// <param name="model">The sparse GP (inducing set, options).</param>
    /// <param name="kernel">Kernel to evaluate.</param>
    /// <param name="noise">Noises to evaluate.</param>
    /// <param name="dataFile">The extxyz training file.</param>
    /// <param name="shardCount">Number of shards.</param>
    /// <param name="workDirectory">The work folder.</param>
    /// <param name="runner">Where the shards are computed.</param>
    /// <param name="kinds">Label kinds.</param>
    /// <param name="progress">Progress lines.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    public static async Task<LikelihoodResult> LikelihoodAsync(SparseGaussianProcess model, IKernel kernel, NoiseLevels noise, string dataFile, int shardCount, string workDirectory,
        ISparseShardRunner runner, LabelKinds kinds = LabelKinds.All, IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        var plan = SparseShardPlan.For(model, shardCount, kinds, dataFile).With(kernel, noise, gradient: true);
        string dir = await RunAsync(plan, workDirectory, runner, progress, cancellationToken).ConfigureAwait(false);
        return plan.ReduceLikelihoodDirectory(dir, cancellationToken);
    }
}
