using Gpff.Dynamics.MolecularDynamics;
using Gpff.Geometry;
using Gpff.Regression;
using Xunit;

namespace Gpff.Tests;

/// <summary>The sparse force field through the facade: a calculator for dynamics, saved and loaded as the sparse model kind.</summary>
public class SparseForceFieldTests
{
    private static readonly Lazy<(SparseForceField Ff, Structure Test)> Trained = new(() =>
    {
        var ff = SparseForceField.Create(new ForceFieldSettings
        {
            PairCutoffA = 4.0, TripletCutoffA = 4.0, Sigma2 = 0.3, Length2A = 0.3, Sigma3 = 0.03, Length3A = 0.3,
            Noise = new NoiseLevels(0.002, 0.05, 0.001),
        });
        ff.Train(LearningCurveTests.Snapshots(3, seed: 1), 24, InducingSelectionMethod.Variance);
        return (ff, LearningCurveTests.Snapshots(1, seed: 2)[0].CloneWithoutLabels());
    });

    [Fact]
    public void FitWithoutOptionsUsesTheSparseDefaultObjectiveAndAnExplicitOneIsHonoured()
    {
        var train = LearningCurveTests.Snapshots(3, seed: 1);
        var settings = new ForceFieldSettings { PairCutoffA = 4.0, TripletCutoffA = 4.0, Noise = new NoiseLevels(0.002, 0.05, 0.001) };
        var byDefault = SparseForceField.Create(settings).Train(train, 12, InducingSelectionMethod.Variance, fitHyperparameters: true,
            fitOptions: null);
        Assert.Equal(SparseForceField.DefaultFitObjective, byDefault.Fit!.Objective);
        var other = SparseForceField.DefaultFitObjective == HyperparameterObjective.MarginalLikelihood
            ? HyperparameterObjective.LeaveOneStructureOut
            : HyperparameterObjective.MarginalLikelihood;
        var chosen = SparseForceField.Create(settings).Train(train, 12, InducingSelectionMethod.Variance, fitHyperparameters: true,
            fitOptions: new HyperparameterFitOptions { Objective = other, MaxIterations = 3 });
        Assert.Equal(other, chosen.Fit!.Objective);
        Assert.True(chosen.Fit.LogLikelihood >= chosen.Fit.InitialLogLikelihood, chosen.Fit.ToString());
    }

    [Fact]
    public void ForcesAreTheNegativeGradientOfThePredictedEnergy()
    {
        var (ff, test) = Trained.Value;
        var p = ff.Predict(test, uncertainty: false);
        const double h = 1e-4;
        foreach (int atom in new[] { 0, 7 })
        {
            for (int d = 0; d < 3; d++)
            {
                var up = test.Clone();
                var down = test.Clone();
                var step = new Vec3(d == 0 ? h : 0, d == 1 ? h : 0, d == 2 ? h : 0);
                up.Positions[atom] += step;
                down.Positions[atom] -= step;
                double fd = -(ff.Predict(up, false).EnergyEv - ff.Predict(down, false).EnergyEv) / (2 * h);
                Assert.True(Math.Abs(fd - p.ForcesEvPerA[atom][d]) < 1e-6 * Math.Max(1, Math.Abs(fd)), $"atom {atom} axis {d}: FD {fd} vs {p.ForcesEvPerA[atom][d]}");
            }
        }
    }

    [Fact]
    public void SavedSparseModelLoadsAsACalculatorThatDrivesDynamics()
    {
        var (ff, test) = Trained.Value;
        var dir = Directory.CreateTempSubdirectory("gpff-sparse-ff");
        try
        {
            string path = Path.Combine(dir.FullName, "sparse.gpff");
            ff.Save(path);
            var calc = SparseForceField.LoadCalculator(path);
            Assert.IsType<SparseForceField>(calc);
            var a = ff.Calculate(test, CalculatorProperties.Energy | CalculatorProperties.Forces);
            var b = calc.Calculate(test, CalculatorProperties.Energy | CalculatorProperties.Forces);
            Assert.Equal(a.EnergyEv!.Value, b.EnergyEv!.Value, 1e-10);
            Assert.Null(b.StressEvPerA3);

            // Velocity Verlet on the sparse mean: forces are exact gradients, so the total energy is conserved.
            var md = new VelocityVerlet(test.Clone(), calc, timeStepFs: 0.5);
            double e0 = md.State.TotalEnergyEv;
            md.Run(40);
            double e1 = md.State.TotalEnergyEv;
            Assert.True(Math.Abs(e1 - e0) < 2e-3 * test.AtomCount, $"total energy drifted from {e0} to {e1} eV");
            Assert.True(md.State.KineticEnergyEv > 0);

            var wrong = new Structure([8], [Vec3.Zero], Mat3.Zero, Pbc.None);
            var ex = Assert.Throws<ArgumentException>(() => calc.Calculate(wrong, CalculatorProperties.Energy));
            Assert.Contains("a species the force field was not trained on", ex.Message);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
