using Gpff.Kernels;

namespace Gpff.Regression.Tests;

/// <summary>
/// The training residuals read off the factorisation, y − mean = (Σ + δI)α, against what predicting
/// every training structure's labels again gives: energies, forces and stresses, fitted and fixed prior
/// means, after a block update, and after a model-file round trip.
/// </summary>
public class TrainingResidualsTests
{
    private static readonly NoiseLevels Noise = new(0.01, 0.05, 0.002);

    /// <summary>Six structures with mixed label sets (one with the forces of two atoms only); reference energies fitted unless given.</summary>
    private static GaussianProcess Trained(SpeciesReferenceEnergies? reference = null, bool train = true)
    {
        var rng = new Random(41);
        var gp = new GaussianProcess(GaussianProcessTests.Kernel(), Noise, new GaussianProcessOptions { ReferenceEnergies = reference });
        gp.Add(GaussianProcessTests.RandomStructure(rng, 4));
        gp.Add(GaussianProcessTests.RandomStructure(rng, 5), LabelKinds.Forces, forceAtoms: [0, 3]);
        gp.Add(GaussianProcessTests.RandomStructure(rng, 4), LabelKinds.Energy | LabelKinds.Stress);
        gp.Add(GaussianProcessTests.RandomStructure(rng, 6));
        gp.Add(GaussianProcessTests.RandomStructure(rng, 4), LabelKinds.Energy | LabelKinds.Forces);
        if (train)
        {
            gp.Train();
        }

        return gp;
    }

    /// <summary>Predicts every training structure's own labels through the general path and compares, label by label.</summary>
    private static void AssertEqualsRePrediction(GaussianProcess gp)
    {
        var residuals = gp.TrainingResiduals();
        Assert.Equal(gp.Training.Count, residuals.Count);
        var seen = LabelKinds.None;
        for (int s = 0; s < gp.Training.Count; s++)
        {
            var e = gp.Training[s];
            var r = residuals[s];
            Assert.Equal(s, r.StructureIndex);
            Assert.Same(e, r.Entry);
            Assert.Equal(e.Count, r.Mean.Length);
            var (mean, _) = gp.PredictLabels(e.Environments, e.Labels, uncertainty: false);
            if (e.Labels.Energy)
            {
                mean[0] += gp.ReferenceEnergies!.PriorMeanEv(e.Structure.AtomicNumbers);
            }

            var errors = r.Errors();
            for (int i = 0; i < e.Count; i++)
            {
                seen |= r.Kinds[i];
                Assert.Equal(e.Values[i], r.Labels[i]);
                Assert.True(Math.Abs(mean[i] - r.Mean[i]) <= 1e-10,
                    $"structure {s}, label {i} ({r.Kinds[i]}): re-predicted {mean[i]:R}, from α {r.Mean[i]:R}");
                Assert.Equal(e.Values[i] - r.Mean[i], errors[i]);
            }

            // The residuals are not zero: the noise keeps the GP off its labels.
            Assert.Contains(errors, x => Math.Abs(x) > 1e-6);
        }

        Assert.Equal(LabelKinds.All, seen);
    }

    [Fact]
    public void ResidualsFromAlphaEqualRePredictionWithFittedReferenceEnergies() => AssertEqualsRePrediction(Trained());

    [Fact]
    public void ResidualsFromAlphaEqualRePredictionWithFixedReferenceEnergies() =>
        AssertEqualsRePrediction(Trained(SpeciesReferenceEnergies.FromValues(new Dictionary<int, double> { [14] = -107.0, [32] = -53.2 })));

    [Fact]
    public void ResidualsFromAlphaEqualRePredictionAfterABlockUpdate()
    {
        var gp = Trained();
        gp.Add(GaussianProcessTests.RandomStructure(new Random(42), 5));
        Assert.True(gp.IsTrained);
        AssertEqualsRePrediction(gp);
    }

    [Fact]
    public void ResidualsFromAlphaEqualRePredictionAfterAModelFileRoundTrip()
    {
        var path = Path.Combine(Path.GetTempPath(), $"gpff-residuals-{Guid.NewGuid():N}.gpff");
        try
        {
            var gp = Trained();
            ModelFile.Save(gp, path);
            var loaded = ModelFile.Load(path);
            AssertEqualsRePrediction(loaded);
            var a = gp.TrainingResiduals();
            var b = loaded.TrainingResiduals();
            for (int s = 0; s < a.Count; s++)
            {
                for (int i = 0; i < a[s].Mean.Length; i++)
                {
                    Assert.Equal(a[s].Mean[i], b[s].Mean[i], 1e-10);
                }
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ResidualsOfAnUntrainedModelAreRefusedWithAClearMessage()
    {
        var gp = Trained(train: false);
        var ex = Assert.Throws<InvalidOperationException>(() => gp.TrainingResiduals());
        Assert.Contains("not trained", ex.Message);
        Assert.Equal(5, gp.Training.Count);   // nothing was lost
    }
}
