using System.Globalization;
using Gpff.Regression;

namespace Gpff;

/// <summary>Sharded training of a sparse force field (the assembly split into shards run by an <see cref="ISparseShardRunner"/>).</summary>
public sealed partial class SparseForceField
{
    /// <summary>
    /// As <see cref="Train"/>, with the passes over the training data split into shards that <paramref name="runner"/>
    /// computes (in this process, or as a Slurm job array: Gpff.Slurm's SlurmShardRunner) and reduced here: the training
    /// pass, each likelihood evaluation of the fit (value and gradient), and the final training at the fitted
    /// hyperparameters. The inducing environments are chosen here first, from <paramref name="structures"/>; the tasks
    /// read <paramref name="dataFile"/>, which must hold the same structures in the same order. The shards live under
    /// <paramref name="workDirectory"/> in one folder per plan, so a restarted run reuses the shards already made.
    /// The result equals <see cref="Train"/>'s up to the order of floating-point additions.
    /// </summary>
    /// <param name="dataFile">The extxyz training file the shard tasks read.</param>
    /// <param name="structures">The same structures (for the selection and the residuals; enumerated twice).</param>
    /// <param name="inducingCount">M.</param>
    /// <param name="selection">How to choose the inducing environments.</param>
    /// <param name="seed">Seed of random and k-means++ selection.</param>
    /// <param name="fitHyperparameters">Fit hyperparameters and noises (each evaluation is one sharded pass).</param>
    /// <param name="fitOptions">Fit options.</param>
    /// <param name="runner">Where the shards are computed.</param>
    /// <param name="shardCount">Number of shards.</param>
    /// <param name="workDirectory">Folder of the plans and shards.</param>
    /// <param name="progress">Human-readable progress lines.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    public SparseTrainingReport TrainSharded(string dataFile, IEnumerable<Structure> structures, int inducingCount, InducingSelectionMethod selection, int seed,
        bool fitHyperparameters, HyperparameterFitOptions? fitOptions, ISparseShardRunner runner, int shardCount, string workDirectory,
        IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(dataFile);
        ArgumentNullException.ThrowIfNull(structures);
        ArgumentNullException.ThrowIfNull(runner);
        ArgumentOutOfRangeException.ThrowIfLessThan(inducingCount, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(shardCount, 1);
        var started = System.Diagnostics.Stopwatch.StartNew();
        var kernel = _settings.BuildKernel();
        progress?.Report(string.Create(CultureInfo.InvariantCulture, $"choosing {inducingCount} inducing environments ({InducingSelection.Name(selection)})"));
        var inducing = InducingSelection.Select(selection, structures, kernel, inducingCount, seed, cancellationToken);
        var model = new SparseGaussianProcess(kernel, _settings.Noise, inducing, _options);
        SparseGaussianProcess Train(SparseGaussianProcess m) =>
            ShardedSparseTraining.TrainAsync(m, dataFile, shardCount, workDirectory, runner, Labels, progress, cancellationToken).GetAwaiter().GetResult();

        var trained = Train(model);
        progress?.Report(string.Create(CultureInfo.InvariantCulture, $"trained on {trained.TrainingStructureCount} structures, {trained.LabelCount} labels, {trained.InducingCount} inducing environments ({shardCount} shards)"));
        HyperparameterFitResult? fit = null;
        if (fitHyperparameters)
        {
            fit = HyperparameterFit.Fit(trained, (k, n) => ShardedSparseTraining.LikelihoodAsync(trained, k, n, dataFile, shardCount, workDirectory, runner, Labels, progress, cancellationToken)
                .GetAwaiter().GetResult(), fitOptions, null, cancellationToken);
            progress?.Report(fit.ToString());
            trained = Train(trained);
        }

        Model = trained;
        var residuals = ErrorSummary.Compute(structures.Select(s => (s, trained.Predict(s, uncertainty: false, cancellationToken))));
        return new SparseTrainingReport
        {
            Structures = trained.TrainingStructureCount,
            Labels = trained.LabelCount,
            InducingCount = trained.InducingCount,
            Selection = selection,
            Fit = fit,
            InducingJitter = trained.InducingJitter,
            Residuals = residuals,
            Seconds = started.Elapsed.TotalSeconds,
        };
    }
}
