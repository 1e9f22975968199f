using System.Buffers.Binary;
using Gpff.Kernels;
using MathNet.Numerics.LinearAlgebra;

namespace Gpff.Regression.Tests;

/// <summary>Reference energies as explicit basis functions with a Gaussian prior (Rasmussen &amp; Williams §2.7).</summary>
public sealed class ReferenceEnergyPriorTests : IDisposable
{
    private static readonly NoiseLevels Noise = new(0.01, 0.05, 0.002);
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("gpff-prior-");

    public void Dispose() => _dir.Delete(recursive: true);

    /// <summary>Training structures of 4 and 5 atoms (Si2Ge2 and Si3Ge2: the compositions span both species), or of 4 only (one direction).</summary>
    private static GaussianProcess Trained(double tau, bool fullSpan, SpeciesReferenceEnergies? fixedReference = null)
    {
        var rng = new Random(41);
        var gp = new GaussianProcess(GaussianProcessTests.Kernel(), Noise, new GaussianProcessOptions
        {
            ReferenceEnergyPrior = new ReferenceEnergyPrior(tau),
            ReferenceEnergies = fixedReference,
        });
        gp.Add(GaussianProcessTests.RandomStructure(rng, 4));
        gp.Add(GaussianProcessTests.RandomStructure(rng, fullSpan ? 5 : 4));
        gp.Add(GaussianProcessTests.RandomStructure(rng, 4), LabelKinds.Forces, forceAtoms: [1, 2]);
        gp.Add(GaussianProcessTests.RandomStructure(rng, 4), LabelKinds.Energy | LabelKinds.Stress);
        gp.Train();
        return gp;
    }

    private static Matrix<double> CrossCovariance(GaussianProcess gp, Descriptors.StructureEnvironments env, LabelSelection sel)
    {
        int n = gp.LabelCount, m = sel.Count;
        var k = Matrix<double>.Build.Dense(n, m);
        int row = 0;
        foreach (var e in gp.Training)
        {
            var block = new double[e.Count * m];
            gp.Kernel.Covariance(e.Environments, e.Labels, env, sel, block, []);
            for (int r = 0; r < e.Count; r++)
            {
                for (int c = 0; c < m; c++)
                {
                    k[row + r, c] = block[r * m + c];
                }
            }

            row += e.Count;
        }

        return k;
    }

    /// <summary>Species counts over the prior mean's species.</summary>
    private static Vector<double> Counts(IReadOnlyList<int> species, ReadOnlySpan<int> atomicNumbers)
    {
        var h = Vector<double>.Build.Dense(species.Count);
        foreach (int z in atomicNumbers)
        {
            h[species.ToList().IndexOf(z)] += 1;
        }

        return h;
    }

    /// <summary>β̄, A⁻¹, C⁻¹, H and y of R&amp;W eqs. 2.41–2.42, by dense algebra on the public kernel API.</summary>
    private static (Vector<double> Beta, Matrix<double> AInverse, Matrix<double> CInverse, Matrix<double> H, Vector<double> Y) ClosedForm(GaussianProcess gp, double tau)
    {
        var b = gp.ReferenceEnergyPriorMean!;
        var species = b.Species;
        var c = PublicKernelAlgebra.Covariance(gp) + Matrix<double>.Build.DenseOfDiagonalArray(PublicKernelAlgebra.DocumentedNoiseVariances(gp));
        var cinv = c.Inverse();
        int n = gp.LabelCount, p = species.Count;
        var h = Matrix<double>.Build.Dense(p, n);
        var y = Vector<double>.Build.Dense(n);
        int o = 0;
        foreach (var e in gp.Training)
        {
            for (int i = 0; i < e.Count; i++)
            {
                y[o + i] = e.Values[i];
            }

            if (e.Labels.Energy)
            {
                h.SetColumn(o, Counts(species, e.Structure.AtomicNumbers));
            }

            o += e.Count;
        }

        var binv = Matrix<double>.Build.DenseIdentity(p) / (tau * tau);
        var a = binv + h * cinv * h.Transpose();
        var ainv = a.Inverse();
        var beta = ainv * (h * cinv * y + binv * Vector<double>.Build.DenseOfArray(b.Values()));
        return (beta, ainv, cinv, h, y);
    }

    [Theory]
    [InlineData(1.0, true)]
    [InlineData(0.05, true)]
    [InlineData(1.0, false)]
    public void PredictionsEqualTheClosedFormOfRasmussenAndWilliams241And242(double tau, bool fullSpan)
    {
        var gp = Trained(tau, fullSpan);
        var (beta, ainv, cinv, h, y) = ClosedForm(gp, tau);
        var species = gp.ReferenceEnergyPriorMean!.Species;
        var betaGp = gp.ReferenceEnergies!.Values();
        for (int k = 0; k < species.Count; k++)
        {
            Assert.True(Math.Abs(beta[k] - betaGp[k]) <= 1e-8 * Math.Max(1, Math.Abs(beta[k])), $"β̄[{k}]: GP {betaGp[k]:R}, closed form {beta[k]:R}");
        }
        var cov = gp.ReferenceEnergyCovariance!;
        for (int i = 0; i < species.Count; i++)
        {
            for (int j = 0; j < species.Count; j++)
            {
                Assert.True(Math.Abs(cov[i, j] - ainv[i, j]) <= 1e-8 * Math.Abs(ainv[i, i]), $"posterior covariance [{i},{j}]: {cov[i, j]:R} vs {ainv[i, j]:R}");
            }
        }

        var test = GaussianProcessTests.RandomStructure(new Random(5), 5);
        var env = gp.Kernel.Describe(test);
        var all = Enumerable.Range(0, test.AtomCount).ToArray();
        var sel = new LabelSelection { Energy = true, ForceAtoms = all, Stress = true, LocalEnergyAtoms = all };
        var kstar = CrossCovariance(gp, env, sel);
        var kss = new double[sel.Count * sel.Count];
        gp.Kernel.Covariance(env, sel, env, sel, kss, []);
        var hstar = Matrix<double>.Build.Dense(species.Count, sel.Count);
        hstar.SetColumn(0, Counts(species, test.AtomicNumbers));
        for (int i = 0; i < all.Length; i++)
        {
            hstar[species.ToList().IndexOf(test.AtomicNumbers[i]), sel.LocalEnergyOffset + i] = 1;
        }

        var mean = hstar.Transpose() * beta + kstar.Transpose() * cinv * (y - h.Transpose() * beta);
        var r = hstar - h * cinv * kstar;
        var variance = Matrix<double>.Build.Dense(sel.Count, sel.Count, kss) - kstar.Transpose() * cinv * kstar + r.Transpose() * ainv * r;

        var p = gp.Predict(test);
        void Check(double expected, double actual, string what) =>
            Assert.True(Math.Abs(expected - actual) <= 1e-8 * Math.Max(1, Math.Abs(expected)), $"{what}: GP {actual:R}, closed form {expected:R}");

        // A predictive variance is the prior variance minus a nearly equal term (plus the basis term): both
        // ways of computing it lose digits to that cancellation, so variances are compared to 1e-8 of the
        // prior variance k(x*, x*), through σ.
        void CheckSigma(int row, double actual, string what)
        {
            double expected = variance[row, row];
            Assert.True(Math.Abs(expected - actual * actual) <= 1e-8 * Math.Max(1e-6, kss[row * sel.Count + row]), $"{what}: GP σ² {actual * actual:R}, closed form {expected:R} (prior {kss[row * sel.Count + row]:R})");
        }

        Check(mean[0], p.EnergyEv, "energy");
        CheckSigma(0, p.EnergyStdEv, "energy σ");
        for (int i = 0; i < all.Length; i++)
        {
            for (int c = 0; c < 3; c++)
            {
                Check(mean[sel.ForceOffset + 3 * i + c], p.ForcesEvPerA[i][c], $"force {i},{c}");
                CheckSigma(sel.ForceOffset + 3 * i + c, p.ForcesStdEvPerA![i][c], $"force σ {i},{c}");
            }

            Check(mean[sel.LocalEnergyOffset + i], p.LocalEnergiesEv[i], $"local energy {i}");
            CheckSigma(sel.LocalEnergyOffset + i, p.LocalEnergiesStdEv![i], $"local energy σ {i}");
        }

        for (int v = 0; v < 6; v++)
        {
            Check(mean[sel.StressOffset + v], p.StressEvPerA3!.Value[v], $"stress {v}");
            CheckSigma(sel.StressOffset + v, p.StressStdEvPerA3!.Value[v], $"stress σ {v}");
        }

        // The joint covariance of two total energies (the hull's), off-diagonal included.
        var other = GaussianProcessTests.RandomStructure(new Random(6), 4);
        var (means, joint) = gp.PredictEnergies([test, other]);
        var envs = new[] { env, gp.Kernel.Describe(other) };
        var k2 = Matrix<double>.Build.Dense(gp.LabelCount, 2);
        var h2 = Matrix<double>.Build.Dense(species.Count, 2);
        var prior2 = Matrix<double>.Build.Dense(2, 2);
        for (int t = 0; t < 2; t++)
        {
            k2.SetColumn(t, CrossCovariance(gp, envs[t], LabelSelection.TotalEnergy).Column(0));
            h2.SetColumn(t, Counts(species, (t == 0 ? test : other).AtomicNumbers));
            for (int u = 0; u < 2; u++)
            {
                var one = new double[1];
                gp.Kernel.Covariance(envs[t], LabelSelection.TotalEnergy, envs[u], LabelSelection.TotalEnergy, one, []);
                prior2[t, u] = one[0];
            }
        }

        var r2 = h2 - h * cinv * k2;
        var jointExpected = prior2 - k2.Transpose() * cinv * k2 + r2.Transpose() * ainv * r2;
        var meansExpected = h2.Transpose() * beta + k2.Transpose() * cinv * (y - h.Transpose() * beta);
        for (int t = 0; t < 2; t++)
        {
            Check(meansExpected[t], means[t], $"joint mean {t}");
            for (int u = 0; u < 2; u++)
            {
                Assert.True(Math.Abs(jointExpected[t, u] - joint[t, u]) <= 1e-8 * prior2[t, t], $"joint covariance [{t},{u}]: GP {joint[t, u]:R}, closed form {jointExpected[t, u]:R}");
            }
        }
    }

    [Fact]
    public void ACompositionOutsideTheSpanOfTheTrainingCompositionsGetsALargeEnergySigmaAndIsFlagged()
    {
        const double tau = 1.0;
        var gp = Trained(tau, fullSpan: false);   // Si2Ge2 only: one direction of (Si, Ge) is determined
        var inside = GaussianProcessTests.RandomStructure(new Random(8), 4);
        var outside = GaussianProcessTests.RandomStructure(new Random(8), 5);   // Si3Ge2
        Assert.True(gp.ReferenceEnergies!.IsInSpan(inside.AtomicNumbers));
        Assert.False(gp.ReferenceEnergies.IsInSpan(outside.AtomicNumbers));
        double sigmaInside = gp.Predict(inside).EnergyStdEv;
        double sigmaOutside = gp.Predict(outside).EnergyStdEv;
        // Si3Ge2 = (3, 2) in (Si, Ge) counts; the span is (1, 1)/√2; the component outside it, (½, −½), has
        // norm 1/√2, so σ ≥ τ/√2 whatever the GP part; inside the span the data fix the reference energies.
        Assert.True(sigmaOutside >= tau / Math.Sqrt(2) * 0.99, $"σ outside the span {sigmaOutside} eV (inside {sigmaInside} eV)");

        // The same GP without the prior: its σ knows nothing of the undetermined reference energy.
        var plain = new GaussianProcess(gp.Kernel, gp.Noise);
        foreach (var e in gp.Training)
        {
            plain.Add(e.Structure, (e.Labels.Energy ? LabelKinds.Energy : LabelKinds.None) | (e.Labels.Stress ? LabelKinds.Stress : LabelKinds.None) | (e.Labels.ForceAtoms.Length > 0 ? LabelKinds.Forces : LabelKinds.None),
                e.Labels.ForceAtoms.Length > 0 ? e.Labels.ForceAtoms : null);
        }

        plain.Train();
        // The basis adds Rᵀ A⁻¹ R ≥ τ²·(component outside the span)² = τ²/2 outside the span, and little inside it.
        double addedOutside = sigmaOutside * sigmaOutside - Math.Pow(plain.Predict(outside).EnergyStdEv, 2);
        double addedInside = sigmaInside * sigmaInside - Math.Pow(plain.Predict(inside).EnergyStdEv, 2);
        Assert.True(addedOutside >= 0.5 * tau * tau * (1 - 1e-6), $"variance added outside the span {addedOutside} eV²");
        Assert.True(addedInside >= 0 && addedInside < 0.01 * addedOutside, $"variance added inside the span {addedInside} eV²");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TheModelFileRoundTripsThePriorAndItsPredictions(bool fixedReference)
    {
        var reference = fixedReference ? SpeciesReferenceEnergies.FromValues(new Dictionary<int, double> { [14] = -107.0, [32] = -53.0 }) : null;
        var gp = Trained(0.3, fullSpan: true, reference);
        gp.Calibration = new UncertaintyCalibration(1.3, 0.8, 1.1);
        var path = Path.Combine(_dir.FullName, "prior.gpff");
        ModelFile.Save(gp, path);
        Assert.Equal(ModelFile.FormatVersion, BinaryPrimitives.ReadInt32LittleEndian(File.ReadAllBytes(path).AsSpan(8)));
        var back = ModelFile.Load(path);
        Assert.Equal(0.3, back.Options.ReferenceEnergyPrior!.StandardDeviationEvPerAtom);
        Assert.Equal(gp.ReferenceEnergyPriorMean!.Values(), back.ReferenceEnergyPriorMean!.Values());
        Assert.Equal(gp.ReferenceEnergies!.Values(), back.ReferenceEnergies!.Values());
        var test = GaussianProcessTests.RandomStructure(new Random(9), 5);
        var a = gp.Predict(test);
        var b = back.Predict(test);
        Assert.Equal(a.EnergyEv, b.EnergyEv, 1e-9 * Math.Abs(a.EnergyEv));
        Assert.Equal(a.EnergyStdEv, b.EnergyStdEv, 1e-10);
        Assert.Equal(a.ForcesStdEvPerA![2].Y, b.ForcesStdEvPerA![2].Y, 1e-10);

        // A block update of the loaded model equals the original's.
        var more = GaussianProcessTests.RandomStructure(new Random(10), 4);
        gp.Add(more);
        back.Add(more);
        Assert.Equal(gp.Predict(test).EnergyStdEv, back.Predict(test).EnergyStdEv, 1e-9);
    }

    [Fact]
    public void AFormatVersion3FileStillLoadsCalibratedAndWithoutAPrior()
    {
        // Written by gpff train with format version 3 (calibration, no reference prior): three BaO frames
        // of data/barho-train.extxyz, cutoffs 5/0 Å, default hyperparameters.
        var path = Path.Combine(AppContext.BaseDirectory, "data", "model-format-v3.gpff");
        Assert.Equal(3, BinaryPrimitives.ReadInt32LittleEndian(File.ReadAllBytes(path).AsSpan(8)));
        var gp = ModelFile.Load(path, null, out var kinds);
        Assert.Equal(LabelKinds.All, kinds);
        Assert.Null(gp.Options.ReferenceEnergyPrior);
        Assert.Null(gp.ReferenceEnergyCovariance);
        Assert.False(gp.Calibration.IsNone);
        Assert.Equal(3, gp.Training.Count);

        // Its factor and α are those of its data: a model trained from scratch predicts the same means and
        // (with the stored calibration) standard deviations.
        var scratch = new GaussianProcess(gp.Kernel, gp.Noise);
        foreach (var e in gp.Training)
        {
            scratch.Add(e.Structure);
        }

        scratch.Train();
        scratch.Calibration = gp.Calibration;
        var test = gp.Training[1].Structure.Clone();
        test.Positions[0] += new Geometry.Vec3(0.05, -0.03, 0.02);
        var a = gp.Predict(test);
        var b = scratch.Predict(test);
        Assert.Equal(b.EnergyEv, a.EnergyEv, 1e-8 * Math.Abs(b.EnergyEv));
        Assert.Equal(b.EnergyStdEv, a.EnergyStdEv, 1e-8);
        Assert.Equal(b.ForcesStdEvPerA![0].X, a.ForcesStdEvPerA![0].X, 1e-8);
    }

    [Fact]
    public void ANonPositivePriorWidthIsRefusedWithAClearMessage()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Trained(0, fullSpan: true));
        Assert.Contains("reference-energy prior must be positive and finite (eV/atom)", ex.Message);
    }
}
