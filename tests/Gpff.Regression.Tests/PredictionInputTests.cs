using Gpff.Geometry;

namespace Gpff.Regression.Tests;

/// <summary>Predictions check the structure before allocating, and fits their options: bad input gives a clear exception, never NaN or a silent no-op.</summary>
public class PredictionInputTests
{
    private static GaussianProcess Trained()
    {
        var rng = new Random(5);
        var gp = new GaussianProcess(GaussianProcessTests.Kernel(), NoiseLevels.Default);
        gp.Add(GaussianProcessTests.RandomStructure(rng));
        gp.Add(GaussianProcessTests.RandomStructure(rng));
        gp.Train();
        return gp;
    }

    [Fact]
    public void TwoAtomsAtOnePlaceAreRefusedByEveryPredictionInsteadOfGivingNaN()
    {
        var gp = Trained();
        var s = GaussianProcessTests.RandomStructure(new Random(7));
        s.Positions[3] = s.Positions[1];
        const string expected = "Atom 1 (Ge) is 0 Å from atom 3 (Ge), closer than the minimum distance 0.1 Å.";
        Assert.Equal(expected, Assert.Throws<InvalidStructureException>(() => gp.Predict(s)).Message);
        Assert.Equal(expected, Assert.Throws<InvalidStructureException>(() => gp.PredictForces(s)).Message);
        Assert.Equal(expected, Assert.Throws<InvalidStructureException>(() => gp.PredictEnergies([s])).Message);
        Assert.Equal(expected, Assert.Throws<InvalidStructureException>(() => gp.Calculate(s, CalculatorProperties.Forces)).Message);
    }

    [Fact]
    public void ACellSmallerThanTheMinimumDistanceIsRefusedBeforeItsEnvironmentsAreBuilt()
    {
        var gp = Trained();
        var tiny = new Structure(new[] { 14 }, [Vec3.Zero], 0.05 * Mat3.Identity, Pbc.All);
        var e = Assert.Throws<InvalidStructureException>(() => gp.Predict(tiny));
        Assert.StartsWith("Atom 0 (Si) is 0.05 Å from its own periodic image", e.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void AFitOfFewerThanOneIterationIsRefusedNotSilentlySkipped(int iterations)
    {
        var gp = Trained();
        var e = Assert.Throws<ArgumentException>(() => HyperparameterFit.Fit(gp, new HyperparameterFitOptions { MaxIterations = iterations }));
        Assert.StartsWith($"The fit needs at least 1 iteration (MaxIterations), got {iterations}.", e.Message);
    }
}
