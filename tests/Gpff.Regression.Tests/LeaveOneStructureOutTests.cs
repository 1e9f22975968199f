using Xunit.Abstractions;
using Gpff.Kernels;
using Gpff.Regression.LinearAlgebra;

namespace Gpff.Regression.Tests;

public class LeaveOneStructureOutTests(ITestOutputHelper output)
{
    private static readonly NoiseLevels Noise = new(0.01, 0.05, 0.002);

    /// <summary>Six structures with mixed label sets and fixed reference energies (so that the closed form is exact).</summary>
    private static GaussianProcess Trained(SpeciesReferenceEnergies? reference = null, IKernel? kernel = null)
    {
        var rng = new Random(31);
        var gp = new GaussianProcess(kernel ?? GaussianProcessTests.Kernel(), Noise, new GaussianProcessOptions
        {
            ReferenceEnergies = reference ?? SpeciesReferenceEnergies.FromValues(new Dictionary<int, double> { [14] = -107.0, [32] = -53.2 }),
        });
        gp.Add(GaussianProcessTests.RandomStructure(rng, 4));
        gp.Add(GaussianProcessTests.RandomStructure(rng, 5), LabelKinds.Forces, forceAtoms: [0, 3]);
        gp.Add(GaussianProcessTests.RandomStructure(rng, 4), LabelKinds.Energy | LabelKinds.Stress);
        gp.Add(GaussianProcessTests.RandomStructure(rng, 6));
        gp.Add(GaussianProcessTests.RandomStructure(rng, 4), LabelKinds.Energy | LabelKinds.Forces);
        gp.Add(GaussianProcessTests.RandomStructure(rng, 5));
        gp.Train();
        return gp;
    }

    /// <summary>The GP trained with the same kernel, noises and reference energies on every structure but one.</summary>
    private static GaussianProcess Refit(GaussianProcess gp, int leftOut)
    {
        var refit = new GaussianProcess(gp.Kernel, gp.Noise, gp.Options with { ReferenceEnergies = gp.ReferenceEnergies });
        for (int j = 0; j < gp.Training.Count; j++)
        {
            if (j == leftOut)
            {
                continue;
            }

            var l = gp.Training[j].Labels;
            var kinds = (l.Energy ? LabelKinds.Energy : LabelKinds.None) | (l.Stress ? LabelKinds.Stress : LabelKinds.None) | (l.ForceAtoms.Length > 0 ? LabelKinds.Forces : LabelKinds.None);
            refit.Add(gp.Training[j].Structure, kinds, l.ForceAtoms.Length > 0 ? l.ForceAtoms : null);
        }

        refit.Train();
        return refit;
    }

    [Theory]
    [InlineData("2+3")]
    [InlineData("b2+2+3")]
    public void ClosedFormPredictionsEqualRefittingWithoutEachStructure(string kernel)
    {
        var gp = Trained(kernel: kernel == "2+3" ? GaussianProcessTests.Kernel() : B2RegressionTests.B2PlusTwoThree());
        var loso = gp.LeaveOneStructureOut();
        Assert.Equal(gp.Training.Count, loso.Count);
        var seen = LabelKinds.None;
        double worstMean = 0, worstVariance = 0;
        for (int s = 0; s < gp.Training.Count; s++)
        {
            var entry = gp.Training[s];
            var p = loso[s];
            Assert.Equal(s, p.StructureIndex);
            var refit = Refit(gp, s);
            var (mean, latent) = refit.PredictLabels(entry.Environments, entry.Labels);
            var noise = gp.NoiseVariances(entry);
            for (int i = 0; i < entry.Count; i++)
            {
                double expected = mean[i] + (p.Kinds[i] == LabelKinds.Energy ? gp.ReferenceEnergies!.PriorMeanEv(entry.Structure.AtomicNumbers) : 0);
                seen |= p.Kinds[i];
                worstMean = Math.Max(worstMean, Math.Abs(expected - p.Mean[i]));
                worstVariance = Math.Max(worstVariance, Math.Abs(latent![i] - p.LatentVariance[i]) / latent[i]);
                Assert.Equal(entry.Values[i], p.Labels[i]);
                Assert.True(Math.Abs(expected - p.Mean[i]) <= 1e-8 * Math.Max(1, Math.Abs(expected)), $"structure {s} label {i} ({p.Kinds[i]}): LOSO mean {p.Mean[i]:R}, refit {expected:R}");
                Assert.True(Math.Abs(latent![i] - p.LatentVariance[i]) <= 1e-8 * Math.Max(1e-6, latent[i]), $"structure {s} label {i}: LOSO latent variance {p.LatentVariance[i]:R}, refit {latent[i]:R}");
                Assert.True(Math.Abs(latent[i] + noise[i] - p.NoisyLabelVariance[i]) <= 1e-8 * (latent[i] + noise[i]), $"structure {s} label {i}: noisy variance");
            }
        }

        Assert.Equal(LabelKinds.All, seen);   // energies, forces and stresses were all checked
        output.WriteLine($"largest |LOSO − refit| of a mean: {worstMean:G3}; largest relative difference of a latent variance: {worstVariance:G3}");
    }

    [Fact]
    public void LeaveOneOutErrorsAreLargerThanTrainingResiduals()
    {
        var gp = Trained();
        var loso = gp.LeaveOneStructureOut();
        double losoForce = 0, trainForce = 0;
        foreach (var p in loso)
        {
            var (mean, _) = gp.PredictLabels(p.Entry.Environments, p.Entry.Labels, uncertainty: false);
            for (int i = 0; i < p.Kinds.Length; i++)
            {
                if (p.Kinds[i] == LabelKinds.Forces)
                {
                    losoForce += Math.Pow(p.Labels[i] - p.Mean[i], 2);
                    trainForce += Math.Pow(p.Labels[i] - mean[i], 2);
                }
            }
        }

        Assert.True(losoForce > 2 * trainForce, $"LOSO force SSE {losoForce:G4} vs training {trainForce:G4}");
    }

    [Fact]
    public void ProgressCountsEveryStructureAndCancellationStopsTheComputation()
    {
        var gp = Trained();
        var reports = new List<GpProgress>();
        gp.LeaveOneStructureOut(new SyncProgress(reports.Add));
        Assert.Equal(gp.Training.Count, reports.Max(r => r.Done));
        Assert.All(reports, r => Assert.Equal(gp.Training.Count, r.Total));
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => gp.LeaveOneStructureOut(cancellationToken: cts.Token));
    }

    [Fact]
    public void TheCalibrationScaleIsTheRootMeanSquareOfNormalisedErrorsPerKind()
    {
        var gp = Trained();
        var loso = gp.LeaveOneStructureOut();
        var c = UncertaintyCalibration.FromLeaveOneOut(loso);
        foreach (var kind in new[] { LabelKinds.Energy, LabelKinds.Forces, LabelKinds.Stress })
        {
            // Independently: collect (error, noisy std) by kind from the label-wise arrays.
            var z2 = new List<double>();
            foreach (var p in loso)
            {
                for (int i = 0; i < p.Kinds.Length; i++)
                {
                    if (p.Kinds[i] == kind)
                    {
                        double e = p.Labels[i] - p.Mean[i];
                        z2.Add(e * e / p.NoisyLabelVariance[i]);
                    }
                }
            }

            Assert.Equal(Math.Sqrt(z2.Average()), c.Scale(kind), 12);
            var check = c.Check(loso).Single(x => x.Kind == kind);
            Assert.Equal(z2.Count, check.Labels);
            Assert.Equal(1.0, check.RmsZAfter, 12);
            Assert.Equal(Math.Sqrt(z2.Average()), check.RmsZBefore, 12);
            Assert.Equal(z2.Count(x => x <= 1) / (double)z2.Count, check.WithinOneSigmaBefore, 12);
            double s = c.Scale(kind);
            var latentWithin = loso.SelectMany(p => p.Kinds.Select((k, i) => (k, i)).Where(x => x.k == kind)
                .Select(x => Math.Abs(p.Labels[x.i] - p.Mean[x.i]) <= s * Math.Sqrt(p.LatentVariance[x.i]))).Count(b => b);
            Assert.Equal(latentWithin / (double)z2.Count, check.WithinOneLatentSigmaAfter, 12);
            Assert.True(check.WithinOneLatentSigmaAfter <= check.WithinOneSigmaAfter);
        }
    }

    [Fact]
    public void TheCoverageEstimatorPutsTwoThirdsOfTheLeaveOneOutErrorsWithinOneCalibratedSigma()
    {
        var gp = Trained();
        var loso = gp.LeaveOneStructureOut();
        var c = UncertaintyCalibration.FromLeaveOneOut(loso, CalibrationEstimator.Coverage);
        var checks = c.Check(loso);
        var forces = checks.Single(x => x.Kind == LabelKinds.Forces);
        output.WriteLine(forces.ToString());
        // With n labels the fraction within the interpolated quantile is within 1/n of 68.27 %.
        Assert.InRange(forces.WithinOneSigmaAfter, UncertaintyCalibration.OneSigmaCoverage - 1.0 / forces.Labels, UncertaintyCalibration.OneSigmaCoverage + 1.0 / forces.Labels);
        // Independently: the scale is bracketed by the two order statistics around the 68.27 % point.
        var z = loso.SelectMany(p => p.Kinds.Select((k, i) => (k, i)).Where(x => x.k == LabelKinds.Forces)
            .Select(x => Math.Abs(p.Labels[x.i] - p.Mean[x.i]) / Math.Sqrt(p.NoisyLabelVariance[x.i]))).Order().ToArray();
        double h = (z.Length - 1) * UncertaintyCalibration.OneSigmaCoverage;
        Assert.InRange(c.ForceScale, z[(int)Math.Floor(h)], z[(int)Math.Ceiling(h)]);
        Assert.NotEqual(UncertaintyCalibration.FromLeaveOneOut(loso).ForceScale, c.ForceScale);
    }

    [Fact]
    public void ACalibrationScalesEveryReportedStandardDeviationAndLeavesMeansAlone()
    {
        var gp = Trained();
        var test = GaussianProcessTests.RandomStructure(new Random(99), 5);
        var other = GaussianProcessTests.RandomStructure(new Random(98), 4);
        var before = gp.Predict(test);
        var forcesBefore = gp.PredictForces(test, uncertainty: true);
        var (meanBefore, covBefore) = gp.PredictEnergies([test, other]);
        gp.Calibration = new UncertaintyCalibration(2.0, 3.0, 0.5);
        var after = gp.Predict(test);
        var forcesAfter = gp.PredictForces(test, uncertainty: true);
        var (meanAfter, covAfter) = gp.PredictEnergies([test, other]);
        var calc = gp.Calculate(test, CalculatorProperties.All | CalculatorProperties.Uncertainty);

        Assert.Equal(before.EnergyEv, after.EnergyEv);
        Assert.Equal(before.ForcesEvPerA, after.ForcesEvPerA);
        Assert.Equal(2.0 * before.EnergyStdEv, after.EnergyStdEv, 12);
        Assert.Equal(2.0 * before.EnergyStdEv, calc.EnergyStdEv!.Value, 12);
        for (int i = 0; i < test.AtomCount; i++)
        {
            Assert.Equal(3.0 * before.ForcesStdEvPerA![i].X, after.ForcesStdEvPerA![i].X, 12);
            Assert.Equal(3.0 * forcesBefore.ForcesStdEvPerA![i].Z, forcesAfter.ForcesStdEvPerA![i].Z, 12);
            Assert.Equal(2.0 * before.LocalEnergiesStdEv![i], after.LocalEnergiesStdEv![i], 12);
            Assert.Equal(3.0 * before.ForcesStdEvPerA![i].Y, calc.ForcesStdEvPerA![i].Y, 12);
        }

        for (int v = 0; v < 6; v++)
        {
            Assert.Equal(0.5 * before.StressStdEvPerA3!.Value[v], after.StressStdEvPerA3!.Value[v], 14);
        }

        Assert.Equal(meanBefore, meanAfter);
        for (int a = 0; a < 2; a++)
        {
            for (int b = 0; b < 2; b++)
            {
                Assert.Equal(4.0 * covBefore[a, b], covAfter[a, b], 12);
            }
        }

        Assert.Equal(9.0 * 0.05 * 0.05, gp.CalibratedNoiseVariance(LabelKinds.Forces, 5), 14);
        Assert.Equal(4.0 * Math.Pow(5 * 0.01, 2), gp.CalibratedNoiseVariance(LabelKinds.Energy, 5), 14);

        // New hyperparameters make the old calibration meaningless: it is dropped.
        gp.SetHyperparameters(gp.Kernel, gp.Noise);
        Assert.True(gp.Calibration.IsNone);
    }

    [Fact]
    public void NoisyLabelUncertaintyAddsTheCalibratedLabelNoiseToTheLatentVariance()
    {
        var latent = Trained();
        var noisy = new GaussianProcess(latent.Kernel, latent.Noise, latent.Options with { Uncertainty = UncertaintyKind.NoisyLabel });
        foreach (var e in latent.Training)
        {
            var l = e.Labels;
            noisy.Add(e.Structure, (l.Energy ? LabelKinds.Energy : LabelKinds.None) | (l.Stress ? LabelKinds.Stress : LabelKinds.None) | (l.ForceAtoms.Length > 0 ? LabelKinds.Forces : LabelKinds.None), l.ForceAtoms.Length > 0 ? l.ForceAtoms : null);
        }

        noisy.Train();
        var c = new UncertaintyCalibration(1.5, 2.0, 0.8);
        latent.Calibration = c;
        noisy.Calibration = c;
        var test = GaussianProcessTests.RandomStructure(new Random(99), 5);
        var other = GaussianProcessTests.RandomStructure(new Random(98), 4);
        var a = latent.Predict(test);
        var b = noisy.Predict(test);
        Assert.Equal(a.EnergyEv, b.EnergyEv);
        Assert.Equal(Math.Sqrt(a.EnergyStdEv * a.EnergyStdEv + Math.Pow(1.5 * 5 * Noise.EnergyEvPerAtom, 2)), b.EnergyStdEv, 12);
        Assert.Equal(Math.Sqrt(Math.Pow(a.ForcesStdEvPerA![2].Z, 2) + Math.Pow(2.0 * Noise.ForceEvPerA, 2)), b.ForcesStdEvPerA![2].Z, 12);
        Assert.Equal(Math.Sqrt(Math.Pow(a.StressStdEvPerA3!.Value[4], 2) + Math.Pow(0.8 * Noise.StressEvPerA3, 2)), b.StressStdEvPerA3!.Value[4], 14);
        Assert.Equal(a.LocalEnergiesStdEv!, b.LocalEnergiesStdEv!);   // no DFT label: latent either way
        var (_, ca) = latent.PredictEnergies([test, other]);
        var (_, cb) = noisy.PredictEnergies([test, other]);
        Assert.Equal(ca[0, 1], cb[0, 1], 14);   // label noise is independent between structures
        Assert.Equal(ca[1, 1] + Math.Pow(1.5 * 4 * Noise.EnergyEvPerAtom, 2), cb[1, 1], 12);
    }

    [Fact]
    public void InverseDiagonalBlocksEqualTheBlocksOfTheFullInverse()
    {
        const int n = 57;
        var a = LinearAlgebra.TestMatrices.Spd(n, seed: 5);
        var factor = CholeskyFactorization.Factor(a, n);
        var inverse = factor.InverseColumnMajor();
        foreach (var (offset, size) in new[] { (0, 7), (13, 1), (20, 12), (50, 7), (56, 1) })
        {
            var block = factor.InverseDiagonalBlock(offset, size);
            for (int i = 0; i < size; i++)
            {
                for (int j = 0; j < size; j++)
                {
                    double expected = inverse[(long)(offset + j) * n + offset + i];
                    Assert.Equal(expected, block[j * size + i], 1e-12 * Math.Max(1, Math.Abs(expected)));
                }
            }
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => factor.InverseDiagonalBlock(50, 8));
    }

    private sealed class SyncProgress(Action<GpProgress> action) : IProgress<GpProgress>
    {
        public void Report(GpProgress value)
        {
            lock (this)
            {
                action(value);
            }
        }
    }
}
