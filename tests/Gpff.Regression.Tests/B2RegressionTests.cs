using Gpff.Descriptors;
using Gpff.Geometry;
using Gpff.Kernels;

namespace Gpff.Regression.Tests;

/// <summary>The B2 kernel in the sparse and the full GP.</summary>
public class B2RegressionTests
{
    private static readonly NoiseLevels Noise = new(0.01, 0.05, 0.002);

    internal static B2Kernel B2(double sigma = 1.5) => new(new B2Settings([14, 32], 4, 3, 4.0), sigma);

    internal static CombinedKernel B2PlusTwoThree() => new(B2(), GaussianProcessTests.Kernel(0.8, 0.7, 0.2, 0.9));

    public static TheoryData<string> Kernels => ["b2", "b2+2+3"];

    private static IKernel Make(string name) => name == "b2" ? B2() : B2PlusTwoThree();

    [Theory]
    [MemberData(nameof(Kernels))]
    public void SparsePredictionsAreExactEnergyDerivatives(string name)
    {
        var kernel = Make(name);
        var train = SparseGaussianProcessTests.Structures(4, 61);
        var sparse = new SparseGaussianProcess(kernel, Noise, SparseGaussianProcessTests.AllClusters(train, kernel).Take(14));
        sparse.Train(train);
        var test = SparseGaussianProcessTests.Structures(1, 62)[0];
        var p = sparse.Predict(test, uncertainty: true);
        Assert.True(p.ForcesEvPerA.Any(f => f.Length > 1e-3), "the model predicts non-zero forces");
        const double h = 1e-5;
        for (int i = 0; i < test.AtomCount; i++)
        {
            for (int a = 0; a < 3; a++)
            {
                double E(double d)
                {
                    var s = test.CloneWithoutLabels();
                    var r = s.Positions[i];
                    s.Positions[i] = a == 0 ? r with { X = r.X + d } : a == 1 ? r with { Y = r.Y + d } : r with { Z = r.Z + d };
                    return sparse.Predict(s, uncertainty: false).EnergyEv;
                }

                double fd = -(E(h) - E(-h)) / (2 * h);
                double f = a == 0 ? p.ForcesEvPerA[i].X : a == 1 ? p.ForcesEvPerA[i].Y : p.ForcesEvPerA[i].Z;
                Assert.True(Math.Abs(fd - f) < 1e-6 * Math.Max(1, Math.Abs(f)), $"{name}: force {i}{"xyz"[a]} {f} vs −∂E/∂r {fd}");
            }
        }

        // Stress = (1/V) ∂E/∂ε (ASE sign) for a diagonal strain.
        double Es(double e) => sparse.Predict(test.Deformed(new Mat3(1 + e, 0, 0, 0, 1, 0, 0, 0, 1)), uncertainty: false).EnergyEv;
        double sxx = (Es(h) - Es(-h)) / (2 * h) / test.VolumeA3;
        Assert.True(Math.Abs(sxx - p.StressEvPerA3!.Value.ToArray()[0]) < 1e-6 * Math.Max(1e-3, Math.Abs(sxx)), $"{name}: stress xx {p.StressEvPerA3.Value.ToArray()[0]} vs {sxx}");
        Assert.True(p.ForcesStdEvPerA!.All(s => s.X > 0 && double.IsFinite(s.X)));
        Assert.True(p.EnergyStdEv > 0);
    }

    [Theory]
    [MemberData(nameof(Kernels))]
    public void SparseB2TrainingDoesNotDependOnTheInducingBlocksOrThreads(string name)
    {
        // The many-body default (one block of 128, force-only rows not split) against blocks of 3 on 2 threads, on
        // force labels only and on all labels: the same weights and likelihood.
        var kernel = Make(name);
        var train = SparseGaussianProcessTests.Structures(3, 111);
        var inducing = SparseGaussianProcessTests.AllClusters(train, kernel).Take(13).ToList();
        foreach (var kinds in new[] { LabelKinds.Forces, LabelKinds.All })
        {
            var one = new SparseGaussianProcess(kernel, Noise, inducing, new SparseGaussianProcessOptions { MaxDegreeOfParallelism = 1 });
            var many = new SparseGaussianProcess(kernel, Noise, inducing, new SparseGaussianProcessOptions { MaxDegreeOfParallelism = 2, InducingPerBlock = 3 });
            one.Train(train, kinds);
            many.Train(train, kinds);
            var w1 = one.Weights.ToArray();
            var w2 = many.Weights.ToArray();
            double scale = w1.Max(Math.Abs);
            Assert.True(scale > 0, "the weights must not all be zero");
            for (int i = 0; i < w1.Length; i++)
            {
                Assert.True(Math.Abs(w1[i] - w2[i]) <= 1e-9 * scale, $"{name} {kinds}: weight {i} is {w1[i]} in one block, {w2[i]} in blocks of 3");
            }

            double l1 = one.LogMarginalLikelihood(train, kinds).Value;
            double l2 = many.LogMarginalLikelihood(train, kinds).Value;
            Assert.True(Math.Abs(l1 - l2) <= 1e-9 * Math.Abs(l1), $"{name} {kinds}: log likelihood {l1} against {l2}");
        }
    }

    [Fact]
    public void SparseLikelihoodGradientFromTheAmplitudeEqualsTheOneFromDerivativeSums()
    {
        // B2's only hyperparameter is σ (k = σ²·k̂): the one-pass likelihood takes ∂/∂σ's sums from B and C; the same
        // kernel wrapped in a combined kernel (no amplitude index) accumulates ∂K_us/∂σ's sums D and E as any kernel does.
        var b2 = (B2Kernel)B2();
        Assert.Equal(0, b2.AmplitudeIndex);
        var wrapped = new CombinedKernel(b2);
        Assert.Null(((IKernel)wrapped).AmplitudeIndex);
        var train = SparseGaussianProcessTests.Structures(5, 53);
        var inducing = SparseGaussianProcessTests.AllClusters(train.Take(2), b2).Take(8).ToList();
        var direct = new SparseGaussianProcess(b2, Noise, inducing).LogMarginalLikelihood(train);
        var sums = new SparseGaussianProcess(wrapped, Noise, inducing).LogMarginalLikelihood(train);
        Assert.Equal(sums.Gradient.Length, direct.Gradient.Length);
        Assert.True(Math.Abs(sums.Value - direct.Value) <= 1e-10 * Math.Abs(sums.Value), $"value {direct.Value:R} against {sums.Value:R}");
        for (int h = 0; h < sums.Gradient.Length; h++)
        {
            Assert.True(Math.Abs(sums.Gradient[h] - direct.Gradient[h]) <= 1e-8 * Math.Max(1, Math.Abs(sums.Gradient[h])),
                $"∂/∂θ{h}: from the amplitude {direct.Gradient[h]:R}, from the derivative sums {sums.Gradient[h]:R}");
        }
    }

    [Theory]
    [MemberData(nameof(Kernels))]
    public void SparseLikelihoodGradientEqualsFiniteDifferences(string name)
    {
        var kernel = Make(name);
        var train = SparseGaussianProcessTests.Structures(4, 51);
        var sparse = new SparseGaussianProcess(kernel, Noise, SparseGaussianProcessTests.AllClusters(train.Take(2), kernel).Take(7));
        var r = sparse.LogMarginalLikelihood(train, LabelKinds.All, kernel, Noise);
        var theta = kernel.Hyperparameters.Concat(Noise.ToArray()).ToArray();
        int nk = kernel.Hyperparameters.Count;
        double L(double[] t) => sparse.LogMarginalLikelihood(train, LabelKinds.All, kernel.WithHyperparameters(t[..nk]), NoiseLevels.FromArray(t[nk..]), gradient: false).Value;
        for (int h = 0; h < theta.Length; h++)
        {
            // Central differences, Richardson-extrapolated (the small energy noise makes the third derivative large).
            double D(double step)
            {
                var up = (double[])theta.Clone();
                var down = (double[])theta.Clone();
                up[h] += step;
                down[h] -= step;
                return (L(up) - L(down)) / (2 * step);
            }

            double s = 1e-4 * theta[h];
            double fd = (4 * D(s) - D(2 * s)) / 3;
            Assert.True(Math.Abs(fd - r.Gradient[h]) < 1e-5 * Math.Max(1, Math.Abs(fd)), $"{name}: ∂/∂θ{h}: analytic {r.Gradient[h]}, finite difference {fd}");
        }
    }

    [Fact]
    public void AllEnvironmentsAsInducingEqualsTheFullGpWithTheB2Kernel()
    {
        var kernel = B2();
        var train = SparseGaussianProcessTests.Structures(4, 81);
        var full = new GaussianProcess(kernel, Noise);
        foreach (var s in train)
        {
            full.Add(s, LabelKinds.Energy);
        }

        full.Train();
        var sparse = new SparseGaussianProcess(kernel, Noise, SparseGaussianProcessTests.AllClusters(train, kernel), new SparseGaussianProcessOptions { InducingJitterThreshold = 1e-15 });
        sparse.Train(train, LabelKinds.Energy);
        var test = SparseGaussianProcessTests.Structures(1, 82)[0];
        var a = full.Predict(test);
        var b = sparse.Predict(test);
        Assert.Equal(a.EnergyEv, b.EnergyEv, 1e-7);
        for (int i = 0; i < test.AtomCount; i++)
        {
            Assert.Equal(a.ForcesEvPerA[i].X, b.ForcesEvPerA[i].X, 1e-7);
            Assert.Equal(a.LocalEnergiesEv[i], b.LocalEnergiesEv[i], 1e-7);
        }
    }

    [Fact]
    public void SparseB2ModelFileRoundTrips()
    {
        var kernel = B2PlusTwoThree();
        var train = SparseGaussianProcessTests.Structures(3, 91);
        var sparse = new SparseGaussianProcess(kernel, Noise, InducingSelection.GreedyVariance(train, kernel, 8, []));
        sparse.Train(train);
        string dir = Directory.CreateTempSubdirectory("gpff-b2").FullName;
        try
        {
            string path = Path.Combine(dir, "b2.gpff");
            ModelFile.SaveSparse(sparse, path, new Dictionary<string, string>(), LabelKinds.All);
            var loaded = ModelFile.LoadSparse(path, out _);
            Assert.Equal(kernel.ToJson(), loaded.Kernel.ToJson());
            var test = SparseGaussianProcessTests.Structures(1, 92)[0];
            var a = sparse.Predict(test);
            var b = loaded.Predict(test);
            Assert.Equal(a.EnergyEv, b.EnergyEv, 1e-10);
            Assert.Equal(a.ForcesEvPerA[2].Y, b.ForcesEvPerA[2].Y, 1e-10);
            Assert.Equal(a.EnergyStdEv, b.EnergyStdEv, 1e-10);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Theory]
    [InlineData(B2MeanMapForm.Quadratic)]
    [InlineData(B2MeanMapForm.Direct)]
    [InlineData(B2MeanMapForm.Automatic)]
    public void MeanMapEqualsTheSparseGpMean(B2MeanMapForm form)
    {
        var kernel = B2();
        var train = SparseGaussianProcessTests.Structures(4, 101);
        var sparse = new SparseGaussianProcess(kernel, Noise, SparseGaussianProcessTests.AllClusters(train, kernel).Take(15));
        sparse.Train(train);
        var map = new B2MeanMap(sparse, form);
        Assert.Equal(form == B2MeanMapForm.Quadratic ? 2 : 0, map.QuadraticSpecies.Count);
        Assert.Equal(form == B2MeanMapForm.Quadratic ? 2L * 8 * kernel.Settings.Length * kernel.Settings.Length : 0, map.Bytes);
        foreach (var test in SparseGaussianProcessTests.Structures(2, 102))
        {
            var a = sparse.Predict(test, uncertainty: false);
            var b = map.Calculate(test, map.ImplementedProperties);
            Assert.Equal(a.EnergyEv, b.EnergyEv!.Value, 1e-9);
            for (int i = 0; i < test.AtomCount; i++)
            {
                Assert.Equal(a.LocalEnergiesEv[i], b.LocalEnergiesEv![i], 1e-9);
                Assert.True((a.ForcesEvPerA[i] - b.ForcesEvPerA![i]).Length < 1e-9, $"force {i}: {a.ForcesEvPerA[i]} vs {b.ForcesEvPerA[i]}");
            }

            var sa = a.StressEvPerA3!.Value.ToArray();
            var sb = b.StressEvPerA3!.Value.ToArray();
            for (int v = 0; v < 6; v++)
            {
                Assert.Equal(sa[v], sb[v], 1e-11);
            }
        }
    }

    [Fact]
    public void MeanMapRefusesOtherKernelsAndUncertainties()
    {
        var train = SparseGaussianProcessTests.Structures(2, 111);
        var combined = B2PlusTwoThree();
        var sparse = new SparseGaussianProcess(combined, Noise, SparseGaussianProcessTests.AllClusters(train, combined).Take(5));
        sparse.Train(train);
        Assert.False(B2MeanMap.Supports(sparse));
        Assert.Contains("B2 kernel at power 2", Assert.Throws<ArgumentException>(() => new B2MeanMap(sparse)).Message);
        var cubic = new B2Kernel(B2().Settings, 1.0, 3);
        var s3 = new SparseGaussianProcess(cubic, Noise, SparseGaussianProcessTests.AllClusters(train, cubic).Take(5));
        Assert.Contains("untrained", Assert.Throws<ArgumentException>(() => new B2MeanMap(s3)).Message);
        s3.Train(train);
        Assert.Contains("at power 3", Assert.Throws<ArgumentException>(() => new B2MeanMap(s3)).Message);
        var s2 = new SparseGaussianProcess(B2(), Noise, SparseGaussianProcessTests.AllClusters(train, B2()).Take(5));
        s2.Train(train);
        var map = new B2MeanMap(s2);
        Assert.Throws<NotSupportedException>(() => map.Calculate(train[0], CalculatorProperties.Energy | CalculatorProperties.Uncertainty));
    }

    [Fact]
    public void ObjectivesInsideABlockCacheScopeEqualTheDirectOnes()
    {
        // The fit evaluates its objective inside a KernelBlockCache scope (the B2 blocks computed once, rescaled by σ²):
        // values and gradients must be those computed without it, at every σ.
        var gp = new GaussianProcess(B2PlusTwoThree(), Noise);
        foreach (var s in SparseGaussianProcessTests.Structures(4, 131))
        {
            gp.Add(s);
        }

        foreach (double sigma in new[] { 1.5, 0.6 })
        {
            var k = gp.Kernel.WithHyperparameters([sigma, .. gp.Kernel.Hyperparameters.Skip(1)]);
            var direct = new[] { gp.LogMarginalLikelihood(k), gp.LeaveOneStructureOutLogDensity(k) };
            using var scope = KernelBlockCache.Begin();
            var cached = new[] { gp.LogMarginalLikelihood(k), gp.LeaveOneStructureOutLogDensity(k) };
            Assert.True(scope.BlockCount > 0, "the B2 blocks were kept");
            for (int o = 0; o < 2; o++)
            {
                Assert.Equal(direct[o].Value, cached[o].Value, 1e-9 * Math.Abs(direct[o].Value));
                double scale = direct[o].Gradient.Max(Math.Abs);
                for (int i = 0; i < direct[o].Gradient.Length; i++)
                {
                    Assert.True(Math.Abs(direct[o].Gradient[i] - cached[o].Gradient[i]) <= 1e-8 * scale, $"objective {o}, σ {sigma}: gradient {i} {direct[o].Gradient[i]} vs {cached[o].Gradient[i]} in the scope");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Kernels))]
    public void TheFoldedMeanEqualsTheLabelByLabelSum(string name) => AssertFoldedMean(Make(name), name);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void TheFoldedMeanEqualsTheLabelByLabelSumAtOtherPowers(int power) =>
        AssertFoldedMean(new B2Kernel(new B2Settings([14, 32], 4, 3, 4.0), 1.5, power), $"b2 at power {power}");

    private static void AssertFoldedMean(IKernel kernel, string name)
    {
        // The full GP predicts the B2 part of its mean from the training side folded with α (a mean local energy of
        // the descriptor, no test label Jacobians); it must equal Σ_c k(t, c) α_c over the training labels, for every
        // label kind and subset.
        var gp = new GaussianProcess(kernel, Noise);
        foreach (var s in SparseGaussianProcessTests.Structures(4, 141))
        {
            gp.Add(s);
        }

        gp.Train();
        var test = SparseGaussianProcessTests.Structures(1, 142)[0];
        var env = kernel.Describe(test);
        int na = test.AtomCount;
        var all = Enumerable.Range(0, na).ToArray();
        foreach (var sel in new[]
        {
            new LabelSelection { Energy = true, ForceAtoms = all, Stress = true, LocalEnergyAtoms = all },
            LabelSelection.Forces(all),
            LabelSelection.Forces([1, 3]),
            new LabelSelection { Stress = true },
            LabelSelection.TotalEnergy,
        })
        {
            var expected = new double[sel.Count];
            int offset = 0;
            foreach (var entry in gp.Training)
            {
                var block = new double[sel.Count * entry.Labels.Count];
                kernel.Covariance(env, sel, entry.Environments, entry.Labels, block, []);
                for (int r = 0; r < sel.Count; r++)
                {
                    for (int c = 0; c < entry.Labels.Count; c++)
                    {
                        expected[r] += block[r * entry.Labels.Count + c] * gp.Alpha[offset + c];
                    }
                }

                offset += entry.Labels.Count;
            }

            var (mean, _) = gp.PredictLabels(env, sel, uncertainty: false);
            var (meanWithStd, variance) = gp.PredictLabels(env, sel, uncertainty: true);
            double scale = expected.Max(Math.Abs);
            Assert.True(scale > 1e-6, "the test labels have a non-zero mean");
            Assert.NotNull(variance);
            for (int r = 0; r < sel.Count; r++)
            {
                Assert.True(Math.Abs(mean[r] - expected[r]) <= 1e-10 * scale, $"{name}, {sel.Count} labels: label {r} folded {mean[r]}, label by label {expected[r]}");
                Assert.Equal(mean[r], meanWithStd[r]);   // the same mean with or without standard deviations
            }
        }
    }
}
