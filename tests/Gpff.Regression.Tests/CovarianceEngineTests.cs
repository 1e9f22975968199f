using Gpff.Kernels;
using Gpff.Regression.LinearAlgebra;

namespace Gpff.Regression.Tests;

/// <summary>Training, the likelihood, block updates, predictions and the benchmarks all go through one covariance-assembly engine.</summary>
public class CovarianceEngineTests
{
    /// <summary>
    /// Four structures with mixed label kinds. The managed linear-algebra back end: the assembly is
    /// reproducible whatever the threads, and OpenBLAS's own threaded reductions need not be.
    /// </summary>
    private static GaussianProcess Data(int threads, long gradientMemory = 1L << 30)
    {
        var rng = new Random(31);
        var gp = new GaussianProcess(GaussianProcessTests.Kernel(), new NoiseLevels(0.01, 0.05, 0.002),
            new GaussianProcessOptions { MaxDegreeOfParallelism = threads, LikelihoodGradientMemoryBytes = gradientMemory, Cholesky = new CholeskyOptions { Backend = LinearAlgebraBackendKind.Managed } });
        gp.Add(GaussianProcessTests.RandomStructure(rng));
        gp.Add(GaussianProcessTests.RandomStructure(rng), LabelKinds.Forces);
        gp.Add(GaussianProcessTests.RandomStructure(rng), LabelKinds.Forces, forceAtoms: [0, 3]);
        gp.Add(GaussianProcessTests.RandomStructure(rng), LabelKinds.Energy | LabelKinds.Stress);
        return gp;
    }

    [Fact]
    public void TrainingFactorsTheMatrixTheEngineAssemblesBitForBit()
    {
        var gp = Data(threads: 3);
        gp.Train();
        int n = gp.LabelCount;

        // What the kernel benchmarks time: CovarianceAssembly over the training blocks.
        var k = new double[n * n];
        CovarianceAssembly.AssembleSymmetric(gp.Kernel, gp.Training.Select(e => e.Block).ToList(), k);
        Assert.Equal(k, gp.TrainingCovariance());

        var withNoise = gp.TrainingCovariance(includeNoise: true);
        long d = 0;
        foreach (var e in gp.Training)
        {
            foreach (double v in gp.NoiseVariances(e))
            {
                k[d * n + d] += v;
                d++;
            }
        }

        Assert.Equal(k, withNoise);
        var factor = CholeskyFactorization.FactorInPlace(withNoise, n, gp.Options.Cholesky);
        Assert.Equal(gp.Factor!.LowerColumnMajor.ToArray(), factor.LowerColumnMajor.ToArray());
    }

    [Fact]
    public void ResultsDoNotDependOnTheNumberOfThreads()
    {
        var test = GaussianProcessTests.RandomStructure(new Random(32));
        var other = GaussianProcessTests.RandomStructure(new Random(33));
        var results = new[] { 1, 2, 5 }.Select(threads =>
        {
            var gp = Data(threads);
            var one = gp.LogMarginalLikelihood();
            var two = Data(threads, gradientMemory: 0).LogMarginalLikelihood();
            gp.Train();
            var p = gp.Predict(test);
            var f = gp.PredictForces(test, uncertainty: true);
            var (mean, cov) = gp.PredictEnergies([test, other]);
            gp.Add(other, LabelKinds.Forces);
            return (Gradient: one.Gradient, TwoPass: two.Gradient, p.EnergyEv, p.EnergyStdEv, p.ForcesEvPerA, f.ForcesStdEvPerA, mean, cov, Alpha: gp.Alpha.ToArray());
        }).ToList();
        foreach (var r in results.Skip(1))
        {
            Assert.Equal(results[0].Gradient, r.Gradient);
            Assert.Equal(results[0].TwoPass, r.TwoPass);
            Assert.Equal(results[0].EnergyEv, r.EnergyEv);
            Assert.Equal(results[0].EnergyStdEv, r.EnergyStdEv);
            Assert.Equal(results[0].ForcesEvPerA, r.ForcesEvPerA);
            Assert.Equal(results[0].ForcesStdEvPerA, r.ForcesStdEvPerA);
            Assert.Equal(results[0].mean, r.mean);
            Assert.Equal(results[0].cov, r.cov);
            Assert.Equal(results[0].Alpha, r.Alpha);
        }

        // The one-pass and two-pass likelihood gradients agree (they sum in different orders).
        for (int h = 0; h < results[0].Gradient.Length; h++)
        {
            Assert.Equal(results[0].Gradient[h], results[0].TwoPass[h], 1e-9 * Math.Max(1, Math.Abs(results[0].Gradient[h])));
        }
    }

    [Fact]
    public void TrainingReportsProgressAndCanBeCancelled()
    {
        var gp = Data(threads: 2);
        var reports = new List<GpProgress>();
        gp.Train(new SyncProgress<GpProgress>(reports));
        var last = reports.Last(r => r.Stage.StartsWith("covariance assembly", StringComparison.Ordinal));
        Assert.Equal(last.Total, last.Done);
        Assert.True(last.Total > 0);

        using var cts = new CancellationTokenSource();
        cts.Cancel();
        gp.SetHyperparameters(gp.Kernel, gp.Noise);
        Assert.ThrowsAny<OperationCanceledException>(() => gp.Train(cancellationToken: cts.Token));
        Assert.ThrowsAny<OperationCanceledException>(() => gp.LogMarginalLikelihood(cancellationToken: cts.Token));
    }

    [Fact]
    public void AssemblyProgressFromManyThreadsNeverGoesBackwards()
    {
        // Workers count items as they finish; their reports must still arrive in order, ending at the total.
        for (int run = 0; run < 5; run++)
        {
            var gp = Data(threads: 4);
            var reports = new List<GpProgress>();
            gp.Train(new SyncProgress<GpProgress>(reports));
            var assembly = reports.Where(r => r.Stage.StartsWith("covariance assembly", StringComparison.Ordinal)).ToList();
            Assert.True(assembly.Count > 1);
            Assert.All(assembly.Zip(assembly.Skip(1)), p => Assert.True(p.Second.Done > p.First.Done, $"{p.First.Done} then {p.Second.Done}"));
            Assert.Equal(assembly[^1].Total, assembly[^1].Done);
        }
    }

    private sealed class SyncProgress<T>(List<T> list) : IProgress<T>
    {
        public void Report(T value)
        {
            lock (list)
            {
                list.Add(value);
            }
        }
    }
}
