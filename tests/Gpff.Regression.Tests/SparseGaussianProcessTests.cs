using Gpff.Descriptors;
using Gpff.Geometry;
using Gpff.IO;
using Gpff.Kernels;
using MathNet.Numerics.LinearAlgebra;

namespace Gpff.Regression.Tests;

public class SparseGaussianProcessTests
{
    private static readonly NoiseLevels Noise = new(0.01, 0.05, 0.002);

    internal static List<Structure> Structures(int count, int seed, int atoms = 5)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => GaussianProcessTests.RandomStructure(rng, atoms)).ToList();
    }

    internal static List<EnvironmentCluster> AllClusters(IEnumerable<Structure> structures, IKernel kernel) =>
        structures.SelectMany(s => EnvironmentCluster.FromStructure(s, Enumerable.Range(0, s.AtomCount).ToArray(), kernel.CutoffA)).ToList();

    private static void Near(double expected, double actual, double relative, string what)
    {
        double tol = relative * Math.Max(1.0, Math.Abs(expected));
        Assert.True(Math.Abs(expected - actual) <= tol, $"{what}: expected {expected:R}, got {actual:R} (difference {expected - actual:G3}, tolerance {tol:G3})");
    }

    [Fact]
    public void AllEnvironmentsAsInducingEqualsFullGpForEnergyLabels()
    {
        var kernel = GaussianProcessTests.Kernel();
        var train = Structures(6, 11);
        var full = new GaussianProcess(kernel, Noise);
        foreach (var s in train)
        {
            full.Add(s, LabelKinds.Energy);
        }

        full.Train();
        // Energy labels only constrain sums of local energies: K_uu of all 30 environments is far from
        // singular in exact arithmetic but badly conditioned, so the exactness check turns the jitter
        // policy down to (almost) nothing.
        var sparse = new SparseGaussianProcess(kernel, Noise, AllClusters(train, kernel), new SparseGaussianProcessOptions { InducingJitterThreshold = 1e-15 });
        sparse.Train(train, LabelKinds.Energy);
        Assert.Equal(0, sparse.InducingJitter);

        var test = Structures(2, 99);
        foreach (var s in test)
        {
            var a = full.Predict(s);
            var b = sparse.Predict(s);
            Near(a.EnergyEv, b.EnergyEv, 1e-8, "energy");
            Near(a.EnergyStdEv, b.EnergyStdEv, 1e-6, "energy std");
            for (int i = 0; i < s.AtomCount; i++)
            {
                Near(a.LocalEnergiesEv[i], b.LocalEnergiesEv[i], 1e-8, $"local energy {i}");
                Near(a.ForcesEvPerA[i].X, b.ForcesEvPerA[i].X, 1e-8, $"force {i} x");
                Near(a.ForcesEvPerA[i].Z, b.ForcesEvPerA[i].Z, 1e-8, $"force {i} z");
            }
        }

        var lf = full.LogMarginalLikelihood();
        var ls = sparse.LogMarginalLikelihood(train, LabelKinds.Energy);
        Near(lf.Value, ls.Value, 1e-8, "log marginal likelihood");
        // The gradient's terms involve K_uu⁻¹, so its round-off grows with K_uu's condition number
        // (here without jitter): equal to the full GP's to 1e-3 relative.
        for (int h = 0; h < lf.Gradient.Length; h++)
        {
            Near(lf.Gradient[h], ls.Gradient[h], 1e-3, $"likelihood gradient {h}");
        }
    }

    /// <summary>The projected-process model written out densely: Q = K_nu K_uu⁻¹ K_un + Σ over all labels at once.</summary>
    private static (double LogLikelihood, Func<StructureEnvironments, LabelSelection, (double[] Mean, double[] Variance)> Predict) DenseReference(
        IKernel kernel, NoiseLevels noise, IReadOnlyList<Structure> train, IReadOnlyList<EnvironmentCluster> inducing)
    {
        var entries = train.Select((s, i) => TrainingEntry.Create(s, kernel, LabelKinds.All, null, $"s{i}")).ToList();
        var blocks = entries.Select(e => e.Block).ToList();
        var envs = inducing.Select(c => c.Describe(kernel.Descriptor)).ToArray();
        var u = new LabelBlock(StructureEnvironments.FromEnvironments(envs, kernel.Descriptor), LabelSelection.LocalEnergies(Enumerable.Range(0, envs.Length).ToArray()));
        int n = blocks.Sum(b => b.Labels.Count), m = envs.Length;
        var knu = new double[n * m];
        CovarianceAssembly.Assemble(kernel, blocks, [u], knu);
        var kuu = new double[m * m];
        CovarianceAssembly.AssembleSymmetric(kernel, [u], kuu);
        var Knu = Matrix<double>.Build.Dense(m, n, knu).Transpose();   // row-major n × m
        var Kuu = Matrix<double>.Build.Dense(m, m, kuu);
        var reference = SpeciesReferenceEnergies.Fit(train.Select(s => ((IReadOnlyList<int>)s.AtomicNumbers.ToArray(), s.EnergyEv!.Value)));
        var y = Vector<double>.Build.Dense(n);
        var sigma = Vector<double>.Build.Dense(n);
        int o = 0;
        foreach (var e in entries)
        {
            var v = LabelNoise.Variances(e, noise);
            for (int j = 0; j < e.Count; j++)
            {
                y[o + j] = e.Values[j] - (j == 0 ? reference.PriorMeanEv(e.Structure.AtomicNumbers) : 0);
                sigma[o + j] = v[j];
            }

            o += e.Count;
        }

        var kuuInv = Kuu.Inverse();
        var q = Knu * kuuInv * Knu.Transpose() + Matrix<double>.Build.DenseOfDiagonalVector(sigma);
        var chol = q.Cholesky();
        var alpha = chol.Solve(y);
        double ll = -0.5 * y.DotProduct(alpha) - 0.5 * chol.DeterminantLn - 0.5 * n * Math.Log(2 * Math.PI);
        var a = Kuu + Knu.Transpose() * Matrix<double>.Build.DenseOfDiagonalVector(sigma.Map(x => 1 / x)) * Knu;
        var ainv = a.Inverse();
        // Mean weights in the form of Quiñonero-Candela & Rasmussen (2005), A⁻¹ K_un Σ⁻¹ y, equal to K_uu⁻¹ K_un α but
        // better conditioned than through the explicit K_uu⁻¹ (which moved with the order of the kernel's sums at 1e-9).
        var w = a.Cholesky().Solve(Knu.Transpose() * y.PointwiseDivide(sigma));
        return (ll, (env, sel) =>
        {
            int r = sel.Count;
            var ks = new double[r * m];
            CovarianceAssembly.Assemble(kernel, [new LabelBlock(env, sel)], [u], ks);
            var Ks = Matrix<double>.Build.Dense(m, r, ks).Transpose();
            var mean = (Ks * w).ToArray();
            var prior = new double[r];
            kernel.Variance(env, sel, prior);
            var var = new double[r];
            for (int i = 0; i < r; i++)
            {
                var k = Ks.Row(i);
                var[i] = prior[i] - k.DotProduct(kuuInv * k) + k.DotProduct(ainv * k);
            }

            return (mean, var);
        });
    }

    [Fact]
    public void StreamedTrainingEqualsDenseProjectedProcessWithAllLabelKinds()
    {
        var kernel = GaussianProcessTests.Kernel();
        var train = Structures(5, 21);
        var clusters = AllClusters(train.Take(2), kernel).Where((_, i) => i % 2 == 0).ToList();
        var (ll, predict) = DenseReference(kernel, Noise, train, clusters);

        // Stream the training set from extxyz text, read lazily one frame at a time.
        string text = string.Concat(train.Select(ExtXyz.ToText));
        var sparse = new SparseGaussianProcess(kernel, Noise, clusters);
        using (var reader = new StringReader(text))
        {
            sparse.Train(ExtXyz.Read(reader, "train.extxyz"));
        }

        var inMemory = new SparseGaussianProcess(kernel, Noise, clusters);
        inMemory.Train(train);
        Assert.Equal(train.Count, sparse.TrainingStructureCount);

        var test = Structures(1, 5)[0];
        var env = kernel.Describe(test);
        var all = Enumerable.Range(0, test.AtomCount).ToArray();
        var sel = new LabelSelection { Energy = true, ForceAtoms = all, Stress = true, LocalEnergyAtoms = all };
        var (mean, variance) = predict(env, sel);
        var (sm, sv) = sparse.PredictLabels(env, sel);
        var (im, iv) = inMemory.PredictLabels(env, sel);
        for (int r = 0; r < sel.Count; r++)
        {
            Near(mean[r], sm[r], 1e-9, $"mean {TrainingEntry.LabelName(sel, r)}");
            Near(variance[r], sv![r], 1e-7, $"DTC variance {TrainingEntry.LabelName(sel, r)}");
            Near(sm[r], im[r], 1e-10, $"streamed vs in-memory mean {r}");
            Near(sv[r], iv![r], 1e-10, $"streamed vs in-memory variance {r}");
        }

        Near(ll, sparse.LogMarginalLikelihood(train).Value, 1e-9, "log marginal likelihood");
    }

    [Fact]
    public void SorVarianceIsTheDtcVarianceWithoutThePriorResidual()
    {
        var kernel = GaussianProcessTests.Kernel();
        var train = Structures(3, 31);
        var clusters = AllClusters(train.Take(1), kernel);
        var dtc = new SparseGaussianProcess(kernel, Noise, clusters);
        var sor = new SparseGaussianProcess(kernel, Noise, clusters, new SparseGaussianProcessOptions { Variance = SparseVarianceKind.Sor });
        dtc.Train(train);
        sor.Train(train);
        var test = Structures(1, 8)[0];
        var a = dtc.Predict(test);
        var b = sor.Predict(test);
        Assert.Equal(a.EnergyEv, b.EnergyEv, 12);
        Assert.True(b.EnergyStdEv < a.EnergyStdEv, $"SOR σ {b.EnergyStdEv} should be below DTC σ {a.EnergyStdEv}");

        // Far from every inducing environment (an isolated atom), DTC returns to the prior, SOR to zero.
        var lone = new Structure([14], [new Vec3(0, 0, 0)], Mat3.Zero, Pbc.None);
        var prior = new double[1];
        kernel.Variance(kernel.Describe(lone), LabelSelection.LocalEnergies(0), prior);
        Near(Math.Sqrt(prior[0]), dtc.Predict(lone).LocalEnergiesStdEv![0], 1e-9, "DTC σ of an isolated atom");
        Assert.Equal(0, sor.Predict(lone).LocalEnergiesStdEv![0], 12);
    }

    [Fact]
    public void AddingStructuresEqualsTrainingFromScratch()
    {
        var kernel = GaussianProcessTests.Kernel();
        var train = Structures(6, 41);
        var clusters = AllClusters(train.Take(2), kernel);
        var once = new SparseGaussianProcess(kernel, Noise, clusters);
        once.Train(train);
        var grown = new SparseGaussianProcess(kernel, Noise, clusters);
        grown.Train(train.Take(2));
        grown.Add(train.Skip(2).Take(3));
        grown.Add([train[5]]);
        Assert.Equal(6, grown.TrainingStructureCount);
        var test = Structures(1, 3)[0];
        var a = once.Predict(test);
        var b = grown.Predict(test);
        Near(a.EnergyEv, b.EnergyEv, 1e-8, "energy");
        Near(a.EnergyStdEv, b.EnergyStdEv, 1e-8, "energy std");
        for (int i = 0; i < test.AtomCount; i++)
        {
            Near(a.ForcesEvPerA[i].Y, b.ForcesEvPerA[i].Y, 1e-8, $"force {i} y");
        }
    }

    private static void CheckGradient(SparseGaussianProcess sparse, IReadOnlyList<Structure> train, IKernel kernel, NoiseLevels noise, double tolerance)
    {
        var r = sparse.LogMarginalLikelihood(train, LabelKinds.All, kernel, noise);
        var theta = kernel.Hyperparameters.ToArray();
        for (int h = 0; h < theta.Length; h++)
        {
            double step = 1e-5 * theta[h];
            var up = (double[])theta.Clone();
            var down = (double[])theta.Clone();
            up[h] += step;
            down[h] -= step;
            double fd = (sparse.LogMarginalLikelihood(train, LabelKinds.All, kernel.WithHyperparameters(up), noise, gradient: false).Value
                - sparse.LogMarginalLikelihood(train, LabelKinds.All, kernel.WithHyperparameters(down), noise, gradient: false).Value) / (2 * step);
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
            double fd = (sparse.LogMarginalLikelihood(train, LabelKinds.All, kernel, NoiseLevels.FromArray(up), gradient: false).Value
                - sparse.LogMarginalLikelihood(train, LabelKinds.All, kernel, NoiseLevels.FromArray(down), gradient: false).Value) / (2 * step);
            Near(fd, r.Gradient[theta.Length + k], tolerance, $"∂/∂{NoiseLevels.Names[k]}");
        }
    }

    [Fact]
    public void LikelihoodGradientEqualsFiniteDifferences()
    {
        var kernel = GaussianProcessTests.Kernel(0.8, 0.7, 0.2, 0.9);
        var train = Structures(4, 51);
        var sparse = new SparseGaussianProcess(kernel, Noise, AllClusters(train.Take(2), kernel).Take(7));
        CheckGradient(sparse, train, kernel, Noise, 1e-5);
    }

    [Fact]
    public void LikelihoodGradientEqualsFiniteDifferencesWithNearSingularInducingCovariance()
    {
        // A perfect rock-salt cell: the four cations are symmetry-equivalent (identical environments),
        // and one cluster is given twice, so K_uu is singular and needs jitter.
        var kernel = GaussianProcessTests.Kernel(0.8, 0.7, 0.2, 0.9);
        double a = 5.4;
        var frac = new[] { (0.0, 0.0, 0.0), (0.5, 0.5, 0.0), (0.5, 0.0, 0.5), (0.0, 0.5, 0.5) };
        var pos = frac.Select(f => new Vec3(f.Item1, f.Item2, f.Item3) * a).Concat(frac.Select(f => new Vec3(f.Item1 + 0.5, f.Item2, f.Item3) * a)).ToArray();
        var crystal = new Structure(Enumerable.Repeat(14, 4).Concat(Enumerable.Repeat(32, 4)), pos, Mat3.FromRows(new Vec3(a, 0, 0), new Vec3(0, a, 0), new Vec3(0, 0, a)), Pbc.All);
        var clusters = AllClusters([crystal], kernel);
        clusters.Add(clusters[0]);
        var train = Structures(3, 61);
        var sparse = new SparseGaussianProcess(kernel, Noise, clusters.Concat(AllClusters(train.Take(1), kernel)));
        sparse.Train(train);
        Assert.True(sparse.InducingJitter > 0, "K_uu with duplicate environments should have needed jitter");
        var r = sparse.LogMarginalLikelihood(train);
        Assert.Equal(sparse.InducingJitter, r.JitterAdded);
        Assert.All(r.Gradient, g => Assert.True(double.IsFinite(g)));
        // With the default jitter (1e-6 of the mean diagonal) the gradient's round-off is ~1e-5 relative.
        CheckGradient(sparse, train, kernel, Noise, 1e-4);
    }

    [Fact]
    public void BadInputsAreRefusedClearly()
    {
        var kernel = GaussianProcessTests.Kernel();
        var ex = Assert.Throws<ArgumentException>(() => new SparseGaussianProcess(kernel, Noise, []));
        Assert.Contains("at least one inducing environment", ex.Message);
        var s = Structures(1, 1)[0];
        var small = EnvironmentCluster.FromStructure(s, 0, 2.0);
        ex = Assert.Throws<ArgumentException>(() => new SparseGaussianProcess(kernel, Noise, [small]));
        Assert.Contains("less than the kernel's cutoff 4", ex.Message);
        var huge = Assert.Throws<ResourceLimitException>(() => new SparseGaussianProcess(kernel, Noise, Enumerable.Repeat(AllClusters([s], kernel)[0], 3_000_000)));
        Assert.Contains("3000000 inducing environments", huge.Message);
        Assert.Contains("use fewer inducing environments", huge.Message);
        var sparse = new SparseGaussianProcess(kernel, Noise, AllClusters([s], kernel));
        var ie = Assert.Throws<InvalidOperationException>(() => sparse.Predict(s));
        Assert.Contains("not trained", ie.Message);
        ie = Assert.Throws<InvalidOperationException>(() => sparse.Train([]));
        Assert.Contains("no training data", ie.Message);
    }
}

public class SparseSelectionAndFitTests
{
    private static readonly NoiseLevels Noise = new(0.01, 0.05, 0.002);

    [Fact]
    public void ClusterEnvironmentHasTheCovariancesOfTheOriginal()
    {
        var kernel = GaussianProcessTests.Kernel();
        var s = SparseGaussianProcessTests.Structures(1, 71)[0];
        var env = kernel.Describe(s);
        var cluster = EnvironmentCluster.FromStructure(s, 2, kernel.CutoffA);
        var set = StructureEnvironments.FromEnvironments([cluster.Describe(kernel.Descriptor)], kernel.Descriptor);
        var sel = LabelSelection.All(s.AtomCount);
        var a = new double[sel.Count];
        var b = new double[sel.Count];
        kernel.Covariance(env, sel, env, LabelSelection.LocalEnergies(2), a, []);
        kernel.Covariance(env, sel, set, LabelSelection.LocalEnergies(0), b, []);
        for (int i = 0; i < a.Length; i++)
        {
            Assert.Equal(a[i], b[i], 1e-12 * Math.Max(1, Math.Abs(a[i])));
        }

        var ex = Assert.Throws<ArgumentException>(() => cluster.Describe(new DescriptorSettings(5.0, 3.0)));
        Assert.Contains("reaches beyond the cluster's radius", ex.Message);
    }

    [Fact]
    public void SelectionMethodsAreSeededAndAvoidDuplicates()
    {
        var kernel = GaussianProcessTests.Kernel();
        var train = SparseGaussianProcessTests.Structures(4, 81);
        var r1 = InducingSelection.Random(train, kernel.CutoffA, 7, seed: 3);
        var r2 = InducingSelection.Random(train, kernel.CutoffA, 7, seed: 3);
        Assert.Equal(7, r1.Count);
        Assert.Equal(r1.Select(c => c.NeighborVectorsA[0]), r2.Select(c => c.NeighborVectorsA[0]));

        // Fewer environments than one structure holds (replacements within a structure), and every one distinct.
        foreach (int m in new[] { 1, 3, 19, 20 })
        {
            var r = InducingSelection.Random(train, kernel.CutoffA, m, seed: 5);
            Assert.Equal(m, r.Count);
            Assert.Equal(m, r.Distinct().Count());
            Assert.All(r, c => Assert.NotNull(c));
        }

        var few = Assert.Throws<ArgumentException>(() => InducingSelection.Random(train, kernel.CutoffA, 21));
        Assert.Contains("only 20 atoms", few.Message);

        // A crystal with four identical cations and four identical anions has two distinct environments.
        double a = 5.4;
        var frac = new[] { (0.0, 0.0, 0.0), (0.5, 0.5, 0.0), (0.5, 0.0, 0.5), (0.0, 0.5, 0.5) };
        var pos = frac.Select(f => new Vec3(f.Item1, f.Item2, f.Item3) * a).Concat(frac.Select(f => new Vec3(f.Item1 + 0.5, f.Item2, f.Item3) * a)).ToArray();
        var crystal = new Structure(Enumerable.Repeat(14, 4).Concat(Enumerable.Repeat(32, 4)), pos, Mat3.FromRows(new Vec3(a, 0, 0), new Vec3(0, a, 0), new Vec3(0, 0, a)), Pbc.All);
        var v = InducingSelection.GreedyVariance([crystal], kernel, 5, []);
        Assert.Equal(2, v.Count);
        Assert.NotEqual(v[0].CentralSpecies, v[1].CentralSpecies);
        var k = InducingSelection.KMeansPlusPlus([crystal], kernel, 5, seed: 1);
        Assert.Equal(2, k.Count);

        // Conditioning on the model's inducing environments: the first new point is not one of them.
        var more = InducingSelection.GreedyVariance([crystal], kernel, 1, [v[0]]);
        Assert.Single(more);
        Assert.Equal(v[1].CentralSpecies, more[0].CentralSpecies);
    }

    [Fact]
    public void AddingInducingEnvironmentsEqualsTrainingFromScratch()
    {
        var kernel = GaussianProcessTests.Kernel();
        var train = SparseGaussianProcessTests.Structures(4, 91);
        var all = InducingSelection.GreedyVariance(train, kernel, 12, []);
        var scratch = new SparseGaussianProcess(kernel, Noise, all);
        scratch.Train(train);
        var grown = new SparseGaussianProcess(kernel, Noise, all.Take(8));
        grown.Train(train);
        grown.AddInducing(all.Skip(8), train);
        Assert.Equal(12, grown.InducingCount);
        var test = SparseGaussianProcessTests.Structures(1, 4)[0];
        var p = scratch.Predict(test);
        var q = grown.Predict(test);
        Assert.Equal(p.EnergyEv, q.EnergyEv, 1e-8);
        Assert.Equal(p.EnergyStdEv, q.EnergyStdEv, 1e-8);
        Assert.Equal(p.ForcesEvPerA[1].X, q.ForcesEvPerA[1].X, 1e-8);
    }

    [Fact]
    public void HyperparameterFitRaisesTheSparseLikelihoodWithinBounds()
    {
        var kernel = GaussianProcessTests.Kernel(0.5, 1.5, 0.1, 1.5);
        var train = SparseGaussianProcessTests.Structures(4, 101);
        var sparse = new SparseGaussianProcess(kernel, Noise, InducingSelection.GreedyVariance(train, kernel, 10, []));
        sparse.Train(train);
        var fit = HyperparameterFit.Fit(sparse, train, options: new HyperparameterFitOptions { MaxIterations = 15 });
        Assert.True(fit.LogLikelihood > fit.InitialLogLikelihood + 1, fit.ToString());
        Assert.Equal(fit.LogLikelihood, sparse.LogMarginalLikelihood(train, gradient: false).Value, 1e-6 * Math.Abs(fit.LogLikelihood));
        Assert.All(sparse.Kernel.HyperparameterNames.Select((n, i) => (n, v: sparse.Kernel.Hyperparameters[i])), p =>
        {
            var (lo, hi) = HyperparameterFit.DefaultBounds(p.n);
            Assert.InRange(p.v, lo * (1 - 1e-9), hi * (1 + 1e-9));
        });
        Assert.True(sparse.IsTrained);
    }
}

public class SparseModelFileTests
{
    private static readonly NoiseLevels Noise = new(0.01, 0.05, 0.002);

    [Fact]
    public void SparseModelRoundTripsAndKeepsLearning()
    {
        var kernel = GaussianProcessTests.Kernel();
        var train = SparseGaussianProcessTests.Structures(5, 111);
        var inducing = InducingSelection.GreedyVariance(train, kernel, 9, []);
        var sparse = new SparseGaussianProcess(kernel, Noise, inducing);
        sparse.Train(train.Take(3));
        string dir = Directory.CreateTempSubdirectory("gpff-sparse").FullName;
        try
        {
            string path = Path.Combine(dir, "m.gpff");
            ModelFile.SaveSparse(sparse, path, new Dictionary<string, string> { ["source"] = "test" }, LabelKinds.All);
            Assert.True(ModelFile.IsSparse(path));
            var loaded = ModelFile.LoadSparse(path, out var kinds);
            Assert.Equal(LabelKinds.All, kinds);
            Assert.Equal(sparse.InducingCount, loaded.InducingCount);
            Assert.Equal(3, loaded.TrainingStructureCount);
            var test = SparseGaussianProcessTests.Structures(1, 7)[0];
            var a = sparse.Predict(test);
            var b = loaded.Predict(test);
            Assert.Equal(a.EnergyEv, b.EnergyEv, 1e-10);
            Assert.Equal(a.EnergyStdEv, b.EnergyStdEv, 1e-10);
            Assert.Equal(a.StressEvPerA3!.Value.ToArray()[5], b.StressEvPerA3!.Value.ToArray()[5], 1e-12);

            // Structures added after loading: as if trained on all of them at once.
            loaded.Add(train.Skip(3));
            var all = new SparseGaussianProcess(kernel, Noise, inducing);
            all.Train(train);
            Assert.Equal(all.Predict(test).EnergyEv, loaded.Predict(test).EnergyEv, 1e-8);

            var full = Assert.Throws<ModelFileException>(() => ModelFile.Load(path));
            Assert.Contains("sparse GP", full.Message);
            var bytes = File.ReadAllBytes(path);
            bytes[^40] ^= 1;
            string damaged = Path.Combine(dir, "damaged.gpff");
            File.WriteAllBytes(damaged, bytes);
            var ex = Assert.Throws<ModelFileException>(() => ModelFile.LoadSparse(damaged, out _));
            Assert.Contains("checksum", ex.Message);
            File.WriteAllBytes(damaged, bytes[..(bytes.Length / 2)]);
            ex = Assert.Throws<ModelFileException>(() => ModelFile.LoadSparse(damaged, out _));
            Assert.Contains("truncated", ex.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void BundledSparseModelFileLoadsAndEqualsItsRetrainedModel()
    {
        // Written by SaveSparse (sparse format version 1; converted from the pre-release version 4 by rewriting magic, version and checksum): 3 seeded random 4-atom Si–Ge cells (seed 121), energy and
        // force labels, 6 inducing environments chosen by greedy variance.
        var path = Path.Combine(AppContext.BaseDirectory, "data", "sparse-model-v1.gpff");
        Assert.Equal(ModelFile.SparseFormatVersion, System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(File.ReadAllBytes(path).AsSpan(8)));
        Assert.True(ModelFile.IsSparse(path));
        var loaded = ModelFile.LoadSparse(path, out var kinds);
        Assert.Equal(LabelKinds.Energy | LabelKinds.Forces, kinds);
        Assert.Equal(6, loaded.InducingCount);
        Assert.Equal(3, loaded.TrainingStructureCount);
        var train = SparseGaussianProcessTests.Structures(3, 121, 4);
        var scratch = new SparseGaussianProcess(loaded.Kernel, loaded.Noise, loaded.Inducing);
        scratch.Train(train, kinds);
        var test = SparseGaussianProcessTests.Structures(1, 9, 4)[0];
        var a = scratch.Predict(test);
        var b = loaded.Predict(test);
        Assert.Equal(a.EnergyEv, b.EnergyEv, 1e-8 * Math.Max(1, Math.Abs(a.EnergyEv)));
        Assert.Equal(a.EnergyStdEv, b.EnergyStdEv, 1e-8);
        Assert.Equal(a.ForcesEvPerA[2].Y, b.ForcesEvPerA[2].Y, 1e-8);
    }
}
