using Gpff.Regression;
using Xunit;

namespace Gpff.Tests;

/// <summary>The training residuals <see cref="ForceField.Train"/> reports (read off α) against predicting every training structure again.</summary>
public class TrainingResidualsReportTests
{
    [Fact]
    public void ReportedResidualsEqualThoseOfPredictingEveryTrainingStructureAgain()
    {
        var settings = new ForceFieldSettings
        {
            PairCutoffA = 4.0, TripletCutoffA = 3.5, Sigma2 = 0.3, Length2A = 0.3, Sigma3 = 0.03, Length3A = 0.3,
            Noise = new NoiseLevels(0.002, 0.05, 0.001),
        };
        var frames = LearningCurveTests.Snapshots(3, seed: 11);
        var ff = ForceField.Create(settings);   // reference energies fitted
        var report = ff.Train(frames, calibrate: false);

        // Every frame carries energy, forces and stress and was trained on all three, so the table of
        // re-predictions covers exactly the training labels.
        var expected = ErrorSummary.Compute(frames.Select(f => (f, ff.Predict(f, uncertainty: false))));
        var actual = report.Residuals;
        Assert.Equal(expected.Count, actual.Count);
        for (int g = 0; g < expected.Count; g++)
        {
            Assert.Equal(expected[g].Composition, actual[g].Composition);
            Assert.Equal(expected[g].Structures, actual[g].Structures);
            Assert.True(expected[g].ForceMaeMevPerA > 0 && expected[g].EnergyMaeMevPerAtom > 0 && expected[g].StressMaeGpa > 0, expected[g].ToString());
            Assert.Equal(expected[g].EnergyMaeMevPerAtom, actual[g].EnergyMaeMevPerAtom, 1e-7 * expected[g].EnergyMaeMevPerAtom);
            Assert.Equal(expected[g].ForceMaeMevPerA, actual[g].ForceMaeMevPerA, 1e-7 * expected[g].ForceMaeMevPerA);
            Assert.Equal(expected[g].ForceRmseMevPerA, actual[g].ForceRmseMevPerA, 1e-7 * expected[g].ForceRmseMevPerA);
            Assert.Equal(expected[g].StressMaeGpa, actual[g].StressMaeGpa, 1e-7 * expected[g].StressMaeGpa);
        }
    }
}
