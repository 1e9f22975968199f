using Gpff.Geometry;
using Gpff.Kernels;
using Gpff.Regression.LinearAlgebra;

namespace Gpff.Regression.Tests;

public class GaussianProcessTests
{
    internal static IKernel Kernel(double s2 = 1.0, double l2 = 0.6, double s3 = 0.3, double l3 = 0.7) =>
        new SumKernel(new TwoBodyKernel(4.0, s2, l2), new ThreeBodyKernel(3.0, s3, l3));

    /// <summary>A random two-species periodic cell, atoms at least 1.9 Å apart, labelled by a Morse-like pair potential plus noise-free random-ish terms.</summary>
    internal static Structure RandomStructure(Random rng, int n = 5, double a = 4.2)
    {
        var cell = Mat3.FromRows(new Vec3(a, 0, 0), new Vec3(0.3 * rng.NextDouble(), a * 0.95, 0), new Vec3(0.2 * rng.NextDouble(), 0.1, a * 1.05));
        var pos = new List<Vec3>();
        while (pos.Count < n)
        {
            var p = new Vec3(rng.NextDouble(), rng.NextDouble(), rng.NextDouble()) * cell;
            var trial = new Structure(Enumerable.Repeat(14, pos.Count + 1), [.. pos, p], cell, Pbc.All);
            if (NeighborList.Build(trial, 1.9, NeighborListKind.Half).EntryCount == 0)
            {
                pos.Add(p);
            }
        }

        var s = new Structure(Enumerable.Range(0, n).Select(i => i % 2 == 0 ? 14 : 32), pos.ToArray(), cell, Pbc.All);
        LabelWithMorse(s);
        return s;
    }

    /// <summary>Labels: a Morse pair potential (species-dependent depth) with analytic forces and stress, plus per-species offsets.</summary>
    internal static void LabelWithMorse(Structure s)
    {
        const double rc = 4.0, r0 = 2.4, alpha = 1.4;
        var nl = NeighborList.Build(s, rc, NeighborListKind.Half);
        double e = s.AtomicNumbers.ToArray().Sum(z => z == 14 ? -107.3 : -52.9);
        var f = new Vec3[s.AtomCount];
        var virial = Mat3.Zero;
        for (int i = 0; i < s.AtomCount; i++)
        {
            var js = nl.Neighbors(i);
            var vs = nl.Vectors(i);
            var ds = nl.Distances(i);
            for (int k = 0; k < js.Length; k++)
            {
                int j = js[k];
                double d0 = s.AtomicNumbers[i] == s.AtomicNumbers[j] ? 0.4 : 0.6;
                double r = ds[k];
                double x = Math.Exp(-alpha * (r - r0));
                double sw = (rc - r) * (rc - r) / (rc * rc);
                double v = d0 * (x * x - 2 * x) * sw;
                double dv = d0 * ((-2 * alpha * x * x + 2 * alpha * x) * sw + (x * x - 2 * x) * (-2 * (rc - r) / (rc * rc)));
                e += v;
                var u = vs[k] / r;
                f[i] += dv * u;        // −∂V/∂r_i = +V'(r) u (u points from i to j)
                f[j] -= dv * u;
                var g = dv / r;
                virial += g * new Mat3(vs[k].X * vs[k].X, vs[k].X * vs[k].Y, vs[k].X * vs[k].Z, vs[k].Y * vs[k].X, vs[k].Y * vs[k].Y, vs[k].Y * vs[k].Z, vs[k].Z * vs[k].X, vs[k].Z * vs[k].Y, vs[k].Z * vs[k].Z);
            }
        }

        s.EnergyEv = e;
        s.ForcesEvPerA = f;
        s.StressEvPerA3 = (1.0 / s.VolumeA3) * Voigt.FromMatrix(virial);
    }

    private static GaussianProcess Trained(int structures, int seed, NoiseLevels? noise = null, IKernel? kernel = null)
    {
        var rng = new Random(seed);
        var gp = new GaussianProcess(kernel ?? Kernel(), noise ?? new NoiseLevels(0.01, 0.05, 0.002));
        for (int i = 0; i < structures; i++)
        {
            gp.Add(RandomStructure(rng));
        }

        gp.Train();
        return gp;
    }

    [Fact]
    public void PredictedForcesAndStressAreTheDerivativesOfThePredictedEnergy()
    {
        var gp = Trained(4, 1);
        var rng = new Random(99);
        var s = RandomStructure(rng, 6);
        var p = gp.Predict(s, uncertainty: false);
        const double h = 1e-4;
        for (int i = 0; i < s.AtomCount; i++)
        {
            for (int c = 0; c < 3; c++)
            {
                var plus = s.CloneWithoutLabels();
                var minus = s.CloneWithoutLabels();
                var d = c == 0 ? new Vec3(h, 0, 0) : c == 1 ? new Vec3(0, h, 0) : new Vec3(0, 0, h);
                plus.Positions[i] += d;
                minus.Positions[i] -= d;
                double fd = -(gp.Predict(plus, false).EnergyEv - gp.Predict(minus, false).EnergyEv) / (2 * h);
                double an = p.ForcesEvPerA[i][c];
                Assert.True(Math.Abs(fd - an) <= 1e-6 * Math.Max(1, Math.Abs(an)) + 1e-8, $"atom {i} {c}: analytic {an}, finite difference {fd}");
            }
        }

        for (int v = 0; v < 6; v++)
        {
            var (row, col) = Voigt.IndexPairs[v];
            var eps = new double[6];
            eps[v] = h;
            // Symmetric strain: the off-diagonal tensor component ε_ab = ε_ba = h/2 gives dE = V σ_ab h.
            if (row != col)
            {
                eps[v] = h / 2;
            }

            var plus = s.Strained(Voigt.FromSpan(eps));
            var minus = s.Strained(Voigt.FromSpan(eps.Select(x => -x).ToArray()));
            double fd = (gp.Predict(plus, false).EnergyEv - gp.Predict(minus, false).EnergyEv) / (2 * h) / s.VolumeA3;
            double an = p.StressEvPerA3!.Value[v];
            Assert.True(Math.Abs(fd - an) <= 1e-6 * Math.Max(1e-2, Math.Abs(an)) + 1e-9, $"stress {v}: analytic {an}, finite difference {fd}");
        }

        Assert.Equal(p.EnergyEv, p.LocalEnergiesEv.Sum(), 8);
    }

    [Fact]
    public void ASingularCovarianceIsFactoredWithJitterAndSaysSo()
    {
        // The same structure twice with (almost) no noise: K + Σ is singular to working precision.
        var s = RandomStructure(new Random(13));
        var gp = new GaussianProcess(Kernel(), new NoiseLevels(1e-12, 1e-12, 1e-12));
        gp.Add(s);
        gp.Add(s);
        gp.Train();
        Assert.True(gp.JitterAdded > 0);
        Assert.True(gp.IsTrained);
        var p = gp.Predict(s);
        Assert.Equal(s.EnergyEv!.Value, p.EnergyEv, 3);

        var noJitter = new GaussianProcess(Kernel(), new NoiseLevels(1e-12, 1e-12, 1e-12), new GaussianProcessOptions { Cholesky = new() { AllowJitter = false } });
        noJitter.Add(s);
        noJitter.Add(s);
        var e = Assert.Throws<MatrixNotPositiveDefiniteException>(() => noJitter.Train());
        Assert.Contains("pivot", e.Message);
    }

    [Fact]
    public void ForcesOnlyPredictionEqualsTheFullPrediction()
    {
        var gp = Trained(3, 11);
        var s = RandomStructure(new Random(12), 6);
        var full = gp.Predict(s);
        var (f, sd) = gp.PredictForces(s, uncertainty: true);
        for (int i = 0; i < s.AtomCount; i++)
        {
            Assert.True((f[i] - full.ForcesEvPerA[i]).Length < 1e-12);
            Assert.True((sd![i] - full.ForcesStdEvPerA![i]).Length < 1e-10);
        }

        Assert.Null(gp.PredictForces(s).ForcesStdEvPerA);
    }

    [Fact]
    public void WithTinyNoiseATrainingPointIsReproduced()
    {
        var gp = Trained(3, 2, new NoiseLevels(1e-7, 1e-6, 1e-7));
        foreach (var e in gp.Training)
        {
            var p = gp.Predict(e.Structure);
            Assert.Equal(e.Structure.EnergyEv!.Value, p.EnergyEv, 4);
            for (int i = 0; i < e.Structure.AtomCount; i++)
            {
                Assert.True((p.ForcesEvPerA[i] - e.Structure.ForcesEvPerA![i]).Length < 1e-4, $"force {i}: {p.ForcesEvPerA[i]} vs {e.Structure.ForcesEvPerA[i]}");
                Assert.True(p.ForcesStdEvPerA![i].Length < 1e-3);
            }

            for (int v = 0; v < 6; v++)
            {
                Assert.Equal(e.Structure.StressEvPerA3!.Value[v], p.StressEvPerA3!.Value[v], 5);
            }
        }
    }

    [Fact]
    public void PredictiveVarianceIsPriorFarFromDataAndSmallNearIt()
    {
        var gp = Trained(3, 3);
        var near = gp.Training[0].Structure.CloneWithoutLabels();
        var far = RandomStructure(new Random(5), 5, a: 6.5); // sparse: other distances
        var pn = gp.Predict(near);
        var pf = gp.Predict(far);
        Assert.True(pn.ForcesStdEvPerA!.Max(v => v.Length) < pf.ForcesStdEvPerA!.Max(v => v.Length));
        var (mean, cov) = gp.PredictEnergies([near, far, near]);
        Assert.Equal(pn.EnergyEv, mean[0], 8);
        Assert.Equal(pn.EnergyStdEv * pn.EnergyStdEv, cov[0, 0], 6);
        Assert.Equal(pf.EnergyStdEv * pf.EnergyStdEv, cov[1, 1], 6);
        Assert.Equal(cov[0, 0], cov[0, 2], 6); // the same structure twice: perfectly correlated
        Assert.Equal(cov[0, 1], cov[1, 0]);
    }

    [Fact]
    public void BlockUpdatedModelEqualsAModelTrainedFromScratch()
    {
        var rng = new Random(4);
        var data = Enumerable.Range(0, 5).Select(_ => RandomStructure(rng)).ToList();
        var noise = new NoiseLevels(0.01, 0.05, 0.002);
        var updated = new GaussianProcess(Kernel(), noise);
        updated.Add(data[0]);
        updated.Add(data[1]);
        updated.Train();
        updated.Add(data[2]);
        updated.Add(data[3], LabelKinds.Forces, forceAtoms: [1, 3]);
        updated.Add(data[4], LabelKinds.Energy | LabelKinds.Stress);
        Assert.True(updated.IsTrained);

        var scratch = new GaussianProcess(Kernel(), noise);
        scratch.Add(data[0]);
        scratch.Add(data[1]);
        scratch.Add(data[2]);
        scratch.Add(data[3], LabelKinds.Forces, forceAtoms: [1, 3]);
        scratch.Add(data[4], LabelKinds.Energy | LabelKinds.Stress);
        scratch.Train();

        Assert.Equal(scratch.LabelCount, updated.LabelCount);
        var la = scratch.Factor!.LowerColumnMajor;
        var lb = updated.Factor!.LowerColumnMajor;
        for (int i = 0; i < la.Length; i++)
        {
            Assert.True(Math.Abs(la[i] - lb[i]) < 1e-8 * Math.Max(1, Math.Abs(la[i])), $"L[{i}]: {la[i]} vs {lb[i]}");
        }

        for (int i = 0; i < scratch.LabelCount; i++)
        {
            Assert.True(Math.Abs(scratch.Alpha[i] - updated.Alpha[i]) < 1e-8 * Math.Max(1, Math.Abs(scratch.Alpha[i])));
        }

        var test = RandomStructure(new Random(77));
        var pa = scratch.Predict(test);
        var pb = updated.Predict(test);
        Assert.Equal(pa.EnergyEv, pb.EnergyEv, 8);
        Assert.Equal(pa.EnergyStdEv, pb.EnergyStdEv, 8);
        for (int i = 0; i < test.AtomCount; i++)
        {
            Assert.True((pa.ForcesEvPerA[i] - pb.ForcesEvPerA[i]).Length < 1e-8);
        }
    }

    // Steps and tolerances. Ordinary noise: with h = 1e-2 the Richardson truncation, ~(h/2)⁴·|∂⁵log p/∂u⁵|,
    // is ~1e-8 of the derivatives' scale and the round-off, ~ε·|log p|/h, ~1e-13 of it (observed
    // agreement ~1e-7): 1e-6 leaves a margin. Noise 10× smaller: K + Σ is ~100× worse conditioned, log p
    // (≈ −7e2) carries more round-off, and the quotient's error has a floor of ~1e-6 relative for h from
    // 5e-3 to 2e-2 (truncation would fall as h⁴, so this is round-off): 1e-5. A step at round-off level
    // (h = 1e-5·σ in σ itself, with 1e-5 relative, as this test once had) is off by 1.4e-4 there.
    [Theory]
    [InlineData(1L << 30, 0.02, 0.08, 0.003, 1e-2, 1e-6)]
    [InlineData(0L, 0.02, 0.08, 0.003, 1e-2, 1e-6)]
    [InlineData(1L << 30, 0.002, 0.008, 0.0003, 1e-2, 1e-5)]
    [InlineData(0L, 0.002, 0.008, 0.0003, 1e-2, 1e-5)]
    public void LikelihoodGradientEqualsItsFiniteDifferenceInLogHyperparameters(long gradientMemory, double energyNoise, double forceNoise, double stressNoise, double h, double tolerance)
    {
        // One covariance pass keeping every ∂K/∂θ, and the two-pass path used for large N; ordinary
        // noise, and small noise, where log p is steep and ill-conditioned in the hyperparameters.
        var rng = new Random(6);
        var gp = new GaussianProcess(Kernel(), new NoiseLevels(energyNoise, forceNoise, stressNoise), new GaussianProcessOptions { LikelihoodGradientMemoryBytes = gradientMemory });
        for (int i = 0; i < 3; i++)
        {
            gp.Add(RandomStructure(rng, 4));
        }

        var r = gp.LogMarginalLikelihood();
        Assert.Equal(0, r.JitterAdded);
        var theta = gp.Kernel.Hyperparameters.ToArray();
        var noise = gp.Noise.ToArray();
        for (int k = 0; k < theta.Length + 3; k++)
        {
            double x = k < theta.Length ? theta[k] : noise[k - theta.Length];

            // log p as a function of u = log x, where the fit works: ∂log p/∂u = x·∂log p/∂x.
            double At(double u)
            {
                var t = (double[])theta.Clone();
                var n = (double[])noise.Clone();
                if (k < t.Length)
                {
                    t[k] = Math.Exp(u);
                }
                else
                {
                    n[k - t.Length] = Math.Exp(u);
                }

                var value = gp.LogMarginalLikelihood(gp.Kernel.WithHyperparameters(t), new NoiseLevels(n[0], n[1], n[2]), gradient: false);
                Assert.Equal(0, value.JitterAdded); // a jittered point would make log p jump
                return value.Value;
            }

            // Central differences with steps h and h/2 in log space, Richardson-extrapolated:
            // D(h) = g + c₂h² + c₄h⁴ + …, so (4D(h/2) − D(h))/3 = g + O(h⁴).
            double u0 = Math.Log(x);
            double dh = (At(u0 + h) - At(u0 - h)) / (2 * h);
            double dh2 = (At(u0 + h / 2) - At(u0 - h / 2)) / h;
            double fd = (4 * dh2 - dh) / 3;
            double analytic = x * r.Gradient[k];
            Assert.True(Math.Abs(fd - analytic) <= tolerance * Math.Max(1, Math.Abs(fd)),
                $"parameter {k} (log): analytic {analytic}, Richardson finite difference {fd} (central h {dh}, h/2 {dh2})");
        }
    }

    [Fact]
    public void FitRecoversHyperparametersOfDataSampledFromThePrior()
    {
        // Draw force labels from the GP prior with known σ₂, ℓ₂ (2-body kernel) and noise, then fit from elsewhere.
        var rng = new Random(8);
        var truth = new TwoBodyKernel(4.0, 0.8, 0.45);
        var noise = new NoiseLevels(0.01, 0.02, 0.002);
        var structures = Enumerable.Range(0, 14).Select(_ => RandomStructure(rng, 6)).ToList();
        var sampler = new GaussianProcess(truth, noise);
        foreach (var s in structures)
        {
            sampler.Add(s, LabelKinds.Forces);
        }

        // K + Σ = L Lᵀ, y = L z.
        int n = sampler.LabelCount;
        var k = new double[n * n];
        int row = 0;
        foreach (var a in sampler.Training)
        {
            int col = 0;
            foreach (var b in sampler.Training)
            {
                var buf = new double[a.Count * b.Count];
                truth.Covariance(a.Environments, a.Labels, b.Environments, b.Labels, buf, []);
                for (int r = 0; r < a.Count; r++)
                {
                    for (int c = 0; c < b.Count; c++)
                    {
                        k[(col + c) * n + row + r] = buf[r * b.Count + c];
                    }
                }

                col += b.Count;
            }

            row += a.Count;
        }

        for (int i = 0; i < n; i++)
        {
            k[i * n + i] += noise.ForceEvPerA * noise.ForceEvPerA;
        }

        var l = CholeskyFactorization.Factor(k, n);
        var z = Enumerable.Range(0, n).Select(_ => Gauss(rng)).ToArray();
        var y = new double[n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j <= i; j++)
            {
                y[i] += l.LowerColumnMajor[j * n + i] * z[j];
            }
        }

        var gp = new GaussianProcess(new TwoBodyKernel(4.0, 2.0, 0.9), new NoiseLevels(0.01, 0.1, 0.002));
        int at = 0;
        foreach (var s in structures)
        {
            var t = s.CloneWithoutLabels();
            t.ForcesEvPerA = Enumerable.Range(0, s.AtomCount).Select(i => new Vec3(y[at + 3 * i], y[at + 3 * i + 1], y[at + 3 * i + 2])).ToArray();
            at += 3 * s.AtomCount;
            gp.Add(t, LabelKinds.Forces);
        }

        var fit = HyperparameterFit.Fit(gp, new HyperparameterFitOptions { Objective = HyperparameterObjective.MarginalLikelihood });
        Assert.True(fit.Converged, fit.ToString());
        Assert.True(fit.LogLikelihood > fit.InitialLogLikelihood);
        // With N = 252 labels the statistical errors are a few per cent; allow 25 %.
        Assert.InRange(fit.Kernel.Hyperparameters[0], 0.8 * 0.75, 0.8 * 1.25);
        Assert.InRange(fit.Kernel.Hyperparameters[1], 0.45 * 0.75, 0.45 * 1.25);
        Assert.InRange(fit.Noise.ForceEvPerA, 0.02 * 0.75, 0.02 * 1.25);
        Assert.True(gp.IsTrained);
        Assert.Equal(fit.Kernel.Hyperparameters, gp.Kernel.Hyperparameters);
    }

    private static double Gauss(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    [Fact]
    public void ErrorsAreClear()
    {
        var gp = new GaussianProcess(Kernel(), NoiseLevels.Default);
        var s = RandomStructure(new Random(10));
        Assert.Contains("no training data", Assert.Throws<InvalidOperationException>(() => gp.Predict(s)).Message);
        Assert.Contains("no training data", Assert.Throws<InvalidOperationException>(() => gp.Train()).Message);
        var bare = s.CloneWithoutLabels();
        var e = Assert.Throws<ArgumentException>(() => gp.Add(bare));
        Assert.Contains("has no labels of the kinds requested", e.Message);
        Assert.Equal(0, gp.LabelCount);
        var bad = s.Clone();
        bad.EnergyEv = double.NaN;
        Assert.Contains("label 0 (energy) is not finite", Assert.Throws<ArgumentException>(() => gp.Add(bad)).Message);
        Assert.Contains("atom 9 does not exist", Assert.Throws<ArgumentOutOfRangeException>(() => gp.Add(s, forceAtoms: [9])).Message);
        Assert.Contains("force noise must be a positive", Assert.Throws<ArgumentOutOfRangeException>(() => new GaussianProcess(Kernel(), new NoiseLevels(0.1, -1, 0.1))).Message);
        Assert.Equal(0, gp.LabelCount);
        gp.Add(s);
        Assert.Contains("call Train()", Assert.Throws<InvalidOperationException>(() => gp.Predict(s)).Message);
    }
}
