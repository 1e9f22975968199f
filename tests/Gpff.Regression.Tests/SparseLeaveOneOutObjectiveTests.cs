using Gpff.Descriptors;
using Gpff.Geometry;
using Gpff.Kernels;
using MathNet.Numerics.LinearAlgebra;

namespace Gpff.Regression.Tests;

public class SparseLeaveOneOutObjectiveTests
{
    private static readonly NoiseLevels Noise = new(0.01, 0.05, 0.002);

    private static void Near(double expected, double actual, double relative, string what)
    {
        double tol = relative * Math.Max(1.0, Math.Abs(expected));
        Assert.True(Math.Abs(expected - actual) <= tol, $"{what}: expected {expected:R}, got {actual:R} (difference {expected - actual:G3}, tolerance {tol:G3})");
    }

    [Fact]
    public void AllEnvironmentsAsInducingEqualsFullGpForEnergyLabels()
    {
        // Energy labels only constrain sums of local energies: the projection is exact, and K_uu of all 30
        // environments is badly conditioned, so the jitter policy is turned down to (almost) nothing. The energy
        // noise is 0.1 eV/atom: at 0.01 the LOSO precision blocks I − V̂_sᵀB⁻¹V̂_s have eigenvalues ~1e-3, the
        // gradient's per-structure and summed parts (each ∝ their inverse squared) cancel, and the gradient (not the
        // value) equals the full GP's to ~5e-3 only (measured; the value and the finite differences of both models
        // still agree to 1e-8 and 1e-6; docs/DESIGN.md).
        var kernel = GaussianProcessTests.Kernel();
        var train = SparseGaussianProcessTests.Structures(6, 11);
        var noise = new NoiseLevels(0.1, 0.05, 0.002);
        var full = new GaussianProcess(kernel, noise);
        foreach (var s in train)
        {
            full.Add(s, LabelKinds.Energy);
        }

        full.Train();
        var sparse = new SparseGaussianProcess(kernel, noise, SparseGaussianProcessTests.AllClusters(train, kernel), new SparseGaussianProcessOptions { InducingJitterThreshold = 1e-15 });
        var lf = full.LeaveOneStructureOutLogDensity();
        var ls = sparse.LeaveOneStructureOutLogDensity(train, LabelKinds.Energy);
        Assert.Equal(0, ls.JitterAdded);
        Near(lf.Value, ls.Value, 1e-8, "LOSO log density");
        var noValue = sparse.LeaveOneStructureOutLogDensity(train, LabelKinds.Energy, gradient: false);
        Assert.Equal(ls.Value, noValue.Value, 1e-12);
        Assert.Equal(lf.Gradient.Length, ls.Gradient.Length);
        for (int h = 0; h < lf.Gradient.Length; h++)
        {
            Near(lf.Gradient[h], ls.Gradient[h], 1e-8, $"LOSO gradient {h}");
        }
    }

    [Fact]
    public void ValueEqualsTheDenseProjectedProcessWithAllLabelKinds()
    {
        var kernel = GaussianProcessTests.Kernel(0.8, 0.7, 0.2, 0.9);
        var train = SparseGaussianProcessTests.Structures(4, 31);
        var inducing = SparseGaussianProcessTests.AllClusters(train.Take(2), kernel).Take(8).ToList();
        var sparse = new SparseGaussianProcess(kernel, Noise, inducing);
        var r = sparse.LeaveOneStructureOutLogDensity(train, gradient: false);
        Assert.Equal(0, r.JitterAdded);
        Near(DenseLeaveOneOut(kernel, Noise, train, inducing), r.Value, 1e-9, "LOSO log density against the dense N × N model");
    }

    [Fact]
    public void GradientEqualsFiniteDifferencesWithAllLabelKinds()
    {
        var kernel = GaussianProcessTests.Kernel(0.8, 0.7, 0.2, 0.9);
        var train = SparseGaussianProcessTests.Structures(4, 51);
        var sparse = new SparseGaussianProcess(kernel, Noise, SparseGaussianProcessTests.AllClusters(train.Take(2), kernel).Take(7));
        CheckGradient(sparse, train, kernel, Noise, 1e-5);
    }

    [Fact]
    public void GradientEqualsFiniteDifferencesWithNearSingularInducingCovariance()
    {
        // A perfect rock-salt cell: the four cations are symmetry-equivalent (identical environments), and one
        // cluster is given twice, so K_uu is singular and needs jitter (whose derivative is part of ∂K_uu).
        var kernel = GaussianProcessTests.Kernel(0.8, 0.7, 0.2, 0.9);
        double a = 5.4;
        var frac = new[] { (0.0, 0.0, 0.0), (0.5, 0.5, 0.0), (0.5, 0.0, 0.5), (0.0, 0.5, 0.5) };
        var pos = frac.Select(f => new Vec3(f.Item1, f.Item2, f.Item3) * a).Concat(frac.Select(f => new Vec3(f.Item1 + 0.5, f.Item2, f.Item3) * a)).ToArray();
        var crystal = new Structure(Enumerable.Repeat(14, 4).Concat(Enumerable.Repeat(32, 4)), pos, Mat3.FromRows(new Vec3(a, 0, 0), new Vec3(0, a, 0), new Vec3(0, 0, a)), Pbc.All);
        var clusters = SparseGaussianProcessTests.AllClusters([crystal], kernel);
        clusters.Add(clusters[0]);
        var train = SparseGaussianProcessTests.Structures(3, 61);
        var sparse = new SparseGaussianProcess(kernel, Noise, clusters.Concat(SparseGaussianProcessTests.AllClusters(train.Take(1), kernel)));
        var r = sparse.LeaveOneStructureOutLogDensity(train);
        Assert.True(r.JitterAdded > 0, "K_uu with duplicate environments should have needed jitter");
        Assert.All(r.Gradient, g => Assert.True(double.IsFinite(g)));
        // With the default jitter (1e-6 of the mean diagonal) the round-off is ~1e-5 relative, as for the likelihood.
        CheckGradient(sparse, train, kernel, Noise, 1e-4);
    }

    [Fact]
    public void FewerThanTwoStructuresAreRefusedClearly()
    {
        var kernel = GaussianProcessTests.Kernel();
        var train = SparseGaussianProcessTests.Structures(1, 3);
        var sparse = new SparseGaussianProcess(kernel, Noise, SparseGaussianProcessTests.AllClusters(train, kernel));
        var ex = Assert.Throws<InvalidOperationException>(() => sparse.LeaveOneStructureOutLogDensity(train));
        Assert.Contains("at least two training structures", ex.Message);
        Assert.Contains("held 1", ex.Message);
        sparse.Train(train);
        var fit = Assert.Throws<InvalidOperationException>(() => HyperparameterFit.Fit(sparse, train,
            options: new HyperparameterFitOptions { Objective = HyperparameterObjective.LeaveOneStructureOut }));
        Assert.Contains("at least two training structures", fit.Message);
        Assert.True(sparse.IsTrained, "a refused fit must leave the trained model as it was");
    }

    [Fact]
    public void FitRaisesTheSparseLeaveOneOutObjectiveWithinItsBounds()
    {
        var kernel = GaussianProcessTests.Kernel(0.5, 1.5, 0.1, 1.5);
        var train = SparseGaussianProcessTests.Structures(4, 101);
        var sparse = new SparseGaussianProcess(kernel, Noise, InducingSelection.GreedyVariance(train, kernel, 10, []));
        sparse.Train(train);
        var fit = HyperparameterFit.Fit(sparse, train, options: new HyperparameterFitOptions { Objective = HyperparameterObjective.LeaveOneStructureOut, MaxIterations = 10 });
        Assert.Equal(HyperparameterObjective.LeaveOneStructureOut, fit.Objective);
        Assert.True(fit.LogLikelihood > fit.InitialLogLikelihood + 0.1, fit.ToString());
        Assert.Equal(fit.LogLikelihood, sparse.LeaveOneStructureOutLogDensity(train, gradient: false).Value, 1e-6 * Math.Abs(fit.LogLikelihood));
        Assert.All(sparse.Kernel.HyperparameterNames.Select((n, i) => (n, v: sparse.Kernel.Hyperparameters[i])), p =>
        {
            var (lo, hi) = HyperparameterFit.DefaultBounds(p.n, HyperparameterObjective.LeaveOneStructureOut);
            Assert.InRange(p.v, lo * (1 - 1e-9), hi * (1 + 1e-9));
        });
        Assert.True(sparse.IsTrained);
    }

    private static void CheckGradient(SparseGaussianProcess sparse, IReadOnlyList<Structure> train, IKernel kernel, NoiseLevels noise, double tolerance)
    {
        var r = sparse.LeaveOneStructureOutLogDensity(train, LabelKinds.All, kernel, noise);
        double Value(IKernel k, NoiseLevels n) => sparse.LeaveOneStructureOutLogDensity(train, LabelKinds.All, k, n, gradient: false).Value;
        var theta = kernel.Hyperparameters.ToArray();
        for (int h = 0; h < theta.Length; h++)
        {
            double step = 1e-5 * theta[h];
            var up = (double[])theta.Clone();
            var down = (double[])theta.Clone();
            up[h] += step;
            down[h] -= step;
            double fd = (Value(kernel.WithHyperparameters(up), noise) - Value(kernel.WithHyperparameters(down), noise)) / (2 * step);
            Near(fd, r.Gradient[h], tolerance, $"∂/∂{kernel.HyperparameterNames[h]}");
        }

        var sigma = noise.ToArray();
        for (int k = 0; k < 3; k++)
        {
            double step = 1e-5 * sigma[k];
            var up = (double[])sigma.Clone();
            var down = (double[])sigma.Clone();
            up[k] += step;
            down[k] -= step;
            double fd = (Value(kernel, NoiseLevels.FromArray(up)) - Value(kernel, NoiseLevels.FromArray(down))) / (2 * step);
            Assert.NotEqual(0, r.Gradient[theta.Length + k]);
            Near(fd, r.Gradient[theta.Length + k], tolerance, $"∂/∂{NoiseLevels.Names[k]}");
        }
    }

    /// <summary>
    /// The LOSO objective of the projected-process model written out densely: C = K_nu K_uu⁻¹ K_un + Σ over all labels,
    /// its inverse, and per structure A_s = (C⁻¹)_ss, V_s = A_s⁻¹, e_s = V_s α_s, weighted per label kind.
    /// </summary>
    private static double DenseLeaveOneOut(IKernel kernel, NoiseLevels noise, IReadOnlyList<Structure> train, IReadOnlyList<EnvironmentCluster> inducing)
    {
        var entries = train.Select((s, i) => TrainingEntry.Create(s, kernel, LabelKinds.All, null, $"s{i}")).ToList();
        var envs = inducing.Select(c => c.Describe(kernel.Descriptor)).ToArray();
        var u = new LabelBlock(StructureEnvironments.FromEnvironments(envs, kernel.Descriptor), LabelSelection.LocalEnergies(Enumerable.Range(0, envs.Length).ToArray()));
        int n = entries.Sum(e => e.Count), m = envs.Length;
        var knu = new double[n * m];
        CovarianceAssembly.Assemble(kernel, entries.Select(e => e.Block).ToList(), [u], knu);
        var kuu = new double[m * m];
        CovarianceAssembly.AssembleSymmetric(kernel, [u], kuu);
        var Knu = Matrix<double>.Build.Dense(m, n, knu).Transpose();
        var Kuu = Matrix<double>.Build.Dense(m, m, kuu);
        var reference = SpeciesReferenceEnergies.Fit(train.Select(s => ((IReadOnlyList<int>)s.AtomicNumbers.ToArray(), s.EnergyEv!.Value)));
        var y = Vector<double>.Build.Dense(n);
        var sigma = Vector<double>.Build.Dense(n);
        var kind = new int[n];
        int o = 0;
        foreach (var e in entries)
        {
            var v = LabelNoise.Variances(e, noise);
            for (int j = 0; j < e.Count; j++)
            {
                y[o + j] = e.Values[j] - (j == 0 && e.Labels.Energy ? reference.PriorMeanEv(e.Structure.AtomicNumbers) : 0);
                sigma[o + j] = v[j];
                kind[o + j] = LabelNoise.Kind(e, j);
            }

            o += e.Count;
        }

        var cinv = (Knu * Kuu.Inverse() * Knu.Transpose() + Matrix<double>.Build.DenseOfDiagonalVector(sigma)).Inverse();
        var alpha = cinv * y;
        var count = new double[LabelNoise.KindCount];
        foreach (int k in kind)
        {
            count[k]++;
        }

        double value = 0;
        o = 0;
        foreach (var e in entries)
        {
            var vs = cinv.SubMatrix(o, e.Count, o, e.Count).Inverse();
            var err = vs * alpha.SubVector(o, e.Count);
            for (int i = 0; i < e.Count; i++)
            {
                double vii = vs[i, i];
                value += (-0.5 * err[i] * err[i] / vii - 0.5 * Math.Log(2 * Math.PI * vii)) / count[kind[o + i]];
            }

            o += e.Count;
        }

        return value;
    }
}
