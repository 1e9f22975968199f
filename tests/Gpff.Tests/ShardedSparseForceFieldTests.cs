using Gpff.IO;
using Gpff.Regression;
using Xunit;

namespace Gpff.Tests;

/// <summary>Sharded training through the facade (in-process runner: the same code as a Slurm array task), with the hyperparameter fit.</summary>
public sealed class ShardedSparseForceFieldTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("gpff-sharded-ff-");

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public void ShardedTrainingWithAFitEqualsTheSingleProcessOne()
    {
        var settings = new ForceFieldSettings
        {
            PairCutoffA = 4.0, TripletCutoffA = 3.5, Sigma2 = 0.3, Length2A = 0.5, Sigma3 = 0.03, Length3A = 0.5,
            Noise = new NoiseLevels(0.005, 0.08, 0.002),
        };
        var train = LearningCurveTests.Snapshots(4, seed: 5);
        string data = Path.Combine(_dir.FullName, "train.extxyz");
        ExtXyz.Write(data, train);
        var fit = new HyperparameterFitOptions { MaxIterations = 4 };

        var single = SparseForceField.Create(settings, new SparseGaussianProcessOptions { MaxDegreeOfParallelism = 1 });
        var a = single.Train(train, 16, InducingSelectionMethod.Variance, fitHyperparameters: true, fitOptions: fit);
        var sharded = SparseForceField.Create(settings, new SparseGaussianProcessOptions { MaxDegreeOfParallelism = 1 });
        var lines = new List<string>();
        var b = sharded.TrainSharded(data, train, 16, InducingSelectionMethod.Variance, 0, true, fit, new InProcessShardRunner(1), 3,
            Path.Combine(_dir.FullName, "work"), new Progress(lines.Add));

        Assert.Equal(a.Labels, b.Labels);
        Assert.Equal(a.Fit!.Optimization.Iterations, b.Fit!.Optimization.Iterations);
        Assert.True(Math.Abs(a.Fit.LogLikelihood - b.Fit.LogLikelihood) <= 1e-6 * Math.Abs(a.Fit.LogLikelihood), $"log likelihood {a.Fit.LogLikelihood:R} vs {b.Fit.LogLikelihood:R}");
        // The likelihood from shards differs from one pass by round-off of the order of its sums (~1e-8 relative), which
        // the optimiser's steps carry into the hyperparameters (measured 2.4e-7 relative after 4 iterations).
        var ka = single.Model!.Kernel.Hyperparameters;
        var kb = sharded.Model!.Kernel.Hyperparameters;
        for (int h = 0; h < ka.Count; h++)
        {
            Assert.True(Math.Abs(ka[h] - kb[h]) <= 1e-5 * ka[h], $"hyperparameter {h}: {ka[h]:R} vs {kb[h]:R}");
        }

        var test = LearningCurveTests.Snapshots(1, seed: 9)[0].CloneWithoutLabels();
        var pa = single.Predict(test);
        var pb = sharded.Predict(test);
        Assert.True(Math.Abs(pa.EnergyEv - pb.EnergyEv) <= 1e-6, $"energy {pa.EnergyEv:R} vs {pb.EnergyEv:R}");

        // One plan folder for the training at the start, one per likelihood evaluation, one for the training at the end.
        var plans = Directory.GetDirectories(Path.Combine(_dir.FullName, "work"), "plan-*");
        Assert.True(plans.Length >= 3, $"{plans.Length} plan folders");
        Assert.All(plans, p => Assert.Equal(3, Directory.GetFiles(p, "*" + SparseShardPlan.ShardExtension).Length));
        Assert.Contains(lines, l => l.StartsWith("shard 3 of 3:", StringComparison.Ordinal));
    }

    private sealed class Progress(Action<string> report) : IProgress<string>
    {
        public void Report(string value)
        {
            lock (this)
            {
                report(value);
            }
        }
    }
}
