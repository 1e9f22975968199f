using Gpff.Regression;
using Xunit;
using Xunit.Abstractions;

namespace Gpff.Tests;

/// <summary>The facade's leave-one-structure-out errors and uncertainty calibration, checked against actual refits.</summary>
public class LeaveOneOutTests(ITestOutputHelper output)
{
    private static readonly ForceFieldSettings Settings = new()
    {
        PairCutoffA = 4.0, TripletCutoffA = 3.5, Sigma2 = 0.3, Length2A = 0.3, Sigma3 = 0.03, Length3A = 0.3,
        Noise = new NoiseLevels(0.002, 0.05, 0.001),
    };

    private static readonly GaussianProcessOptions FixedReference = new()
    {
        ReferenceEnergies = SpeciesReferenceEnergies.FromValues(new Dictionary<int, double> { [14] = -4.3, [32] = -3.8 }),
    };

    [Fact]
    public void LeaveOneOutErrorsEqualThoseOfModelsRefittedWithoutEachSnapshot()
    {
        var frames = LearningCurveTests.Snapshots(4, seed: 7);
        var ff = ForceField.Create(Settings, FixedReference);
        var report = ff.Train(frames);

        var pairs = new List<(Structure, GpPrediction)>();
        for (int s = 0; s < frames.Count; s++)
        {
            var refit = ForceField.Create(Settings, FixedReference);
            refit.Train(frames.Where((_, j) => j != s), calibrate: false);
            pairs.Add((frames[s], refit.Predict(frames[s], uncertainty: false)));
        }

        var expected = ErrorSummary.Compute(pairs);
        var actual = report.LeaveOneOut!;
        Assert.Equal(expected.Count, actual.Count);
        for (int g = 0; g < expected.Count; g++)
        {
            output.WriteLine($"refit: {expected[g]}\nLOSO:  {actual[g]}");
            Assert.Equal(expected[g].Composition, actual[g].Composition);
            Assert.Equal(expected[g].Structures, actual[g].Structures);
            Assert.Equal(expected[g].EnergyMaeMevPerAtom, actual[g].EnergyMaeMevPerAtom, 1e-8 * expected[g].EnergyMaeMevPerAtom);
            Assert.Equal(expected[g].ForceMaeMevPerA, actual[g].ForceMaeMevPerA, 1e-8 * expected[g].ForceMaeMevPerA);
            Assert.Equal(expected[g].ForceRmseMevPerA, actual[g].ForceRmseMevPerA, 1e-8 * expected[g].ForceRmseMevPerA);
            Assert.Equal(expected[g].StressMaeGpa, actual[g].StressMaeGpa, 1e-8 * expected[g].StressMaeGpa);
        }

        // Unseen structures are harder than the training ones.
        Assert.True(actual[^1].ForceMaeMevPerA > report.Residuals[^1].ForceMaeMevPerA);
    }

    [Fact]
    public void OnUnseenSnapshotsTheCalibratedNoisyLabelStdCoversAboutTwoThirdsOfTheForceErrors()
    {
        var train = LearningCurveTests.Snapshots(12, seed: 3);
        var unseen = LearningCurveTests.Snapshots(6, seed: 11);
        var options = new GaussianProcessOptions { Uncertainty = UncertaintyKind.NoisyLabel };
        var raw = ForceField.Create(Settings, options);
        raw.Train(train, calibrate: false);
        var calibrated = ForceField.Create(Settings, options);
        var report = calibrated.Train(train);

        double Within(ForceField ff)
        {
            int inside = 0, all = 0;
            foreach (var t in unseen)
            {
                var p = ff.Predict(t);
                for (int i = 0; i < t.AtomCount; i++)
                {
                    for (int c = 0; c < 3; c++)
                    {
                        inside += Math.Abs(t.ForcesEvPerA![i][c] - p.ForcesEvPerA[i][c]) <= p.ForcesStdEvPerA![i][c] ? 1 : 0;
                        all++;
                    }
                }
            }

            return inside / (double)all;
        }

        double before = Within(raw), after = Within(calibrated);
        var force = report.Calibration!.Single(c => c.Kind == LabelKinds.Forces);
        output.WriteLine($"force scale {force.Scale:F3}; LOSO within 1σ {force.WithinOneSigmaBefore:P1} → {force.WithinOneSigmaAfter:P1}; unseen snapshots within 1σ {before:P1} → {after:P1}");
        Assert.True(Math.Abs(after - 0.683) < Math.Abs(before - 0.683), $"calibration moved the unseen coverage from {before:P1} to {after:P1}, not nearer 68.3 %");
        Assert.InRange(after, 0.55, 0.80);
    }

    [Fact]
    public void TrainingCalibratesTheReportedStandardDeviationsFromTheLeaveOneOutResiduals()
    {
        var frames = LearningCurveTests.Snapshots(4, seed: 7);
        var plain = ForceField.Create(Settings, FixedReference);
        var plainReport = plain.Train(frames, calibrate: false);
        Assert.Null(plainReport.LeaveOneOut);
        Assert.Null(plainReport.Calibration);
        Assert.True(plain.Model.Calibration.IsNone);

        var ff = ForceField.Create(Settings, FixedReference);
        var report = ff.Train(frames);
        var expected = UncertaintyCalibration.FromLeaveOneOut(plain.Model.LeaveOneStructureOut());
        Assert.Equal(expected, ff.Model.Calibration);
        Assert.Equal(3, report.Calibration!.Count);
        foreach (var c in report.Calibration)
        {
            output.WriteLine($"{c.Kind}: s = {c.Scale:F3}, rms(e/σ) {c.RmsZBefore:F3} → {c.RmsZAfter:F3}, within 1σ {c.WithinOneSigmaBefore:P1} → {c.WithinOneSigmaAfter:P1}");
            Assert.Equal(expected.Scale(c.Kind), c.Scale);
            Assert.Equal(1.0, c.RmsZAfter, 12);
        }

        output.WriteLine($"training {report.Seconds:F2} s, of which LOSO + calibration {report.CalibrationSeconds:F3} s");
        Assert.InRange(report.CalibrationSeconds, 0, report.Seconds);

        // Same means; standard deviations scaled per kind.
        var test = LearningCurveTests.Snapshots(1, seed: 8)[0];
        var a = plain.Predict(test);
        var b = ff.Predict(test);
        Assert.Equal(a.EnergyEv, b.EnergyEv, 1e-10);
        Assert.Equal(expected.EnergyScale * a.EnergyStdEv, b.EnergyStdEv, 1e-12);
        Assert.Equal(expected.ForceScale * a.ForcesStdEvPerA![3].Y, b.ForcesStdEvPerA![3].Y, 1e-12);
        Assert.Equal(expected.StressScale * a.StressStdEvPerA3!.Value[0], b.StressStdEvPerA3!.Value[0], 1e-12);
    }
}
