using Gpff.Dynamics.MolecularDynamics;
using Gpff.Kernels;
using Gpff.Regression;
using Xunit;

namespace Gpff.Tests;

/// <summary>The B2 kernel through the facade: species from the data, the mean map in dynamics, save and load.</summary>
public class B2ForceFieldTests
{
    [Fact]
    public void B2ForceFieldDrivesDynamicsThroughItsMeanMapAndRoundTrips()
    {
        var ff = SparseForceField.Create(new ForceFieldSettings
        {
            Kernel = ForceFieldKernel.B2, B2RadialCount = 5, B2AngularMax = 2, B2CutoffA = 4.0, SigmaB2 = 1.0,
            Noise = new NoiseLevels(0.002, 0.05, 0.001),
        });
        var train = LearningCurveTests.Snapshots(3, seed: 1);
        ff.Train(train, 20, InducingSelectionMethod.Variance);
        var kernel = Assert.IsType<B2Kernel>(ff.Model!.Kernel);
        Assert.Equal(train.SelectMany(s => s.AtomicNumbers.ToArray()).Distinct().Order(), kernel.Settings.Species);

        var test = LearningCurveTests.Snapshots(1, seed: 2)[0].CloneWithoutLabels();
        var viaMap = ff.Calculate(test, CalculatorProperties.Energy | CalculatorProperties.Forces | CalculatorProperties.Stress);
        var viaGp = ff.Calculate(test, CalculatorProperties.Energy | CalculatorProperties.Forces | CalculatorProperties.Stress | CalculatorProperties.Uncertainty);
        Assert.NotNull(viaGp.EnergyStdEv);
        Assert.Null(viaMap.EnergyStdEv);
        Assert.Equal(viaGp.EnergyEv!.Value, viaMap.EnergyEv!.Value, 1e-9);
        for (int i = 0; i < test.AtomCount; i++)
        {
            Assert.True((viaGp.ForcesEvPerA![i] - viaMap.ForcesEvPerA![i]).Length < 1e-9);
        }

        var md = new VelocityVerlet(test.Clone(), ff, timeStepFs: 0.5);
        double e0 = md.State.TotalEnergyEv;
        md.Run(30);
        Assert.True(Math.Abs(md.State.TotalEnergyEv - e0) < 2e-3 * test.AtomCount, $"total energy drifted from {e0} to {md.State.TotalEnergyEv} eV");

        var dir = Directory.CreateTempSubdirectory("gpff-b2-ff");
        try
        {
            string path = Path.Combine(dir.FullName, "b2.gpff");
            ff.Save(path);
            var calc = SparseForceField.LoadCalculator(path);
            Assert.Equal(viaMap.EnergyEv!.Value, calc.Calculate(test, CalculatorProperties.Energy).EnergyEv!.Value, 1e-10);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void B2KernelWithoutSpeciesSaysWhatItNeeds()
    {
        var settings = new ForceFieldSettings { Kernel = ForceFieldKernel.B2PlusTwoPlusThree };
        var ex = Assert.Throws<InvalidOperationException>(() => settings.BuildKernel());
        Assert.Contains("needs its species", ex.Message);
        var k = Assert.IsType<CombinedKernel>(settings with { B2Species = [8, 56] } is var s ? s.BuildKernel() : null);
        Assert.Equal(["sigmaB2", "sigma2", "length2", "sigma3", "length3"], k.HyperparameterNames);
        Assert.Equal(ForceFieldKernel.B2, ForceFieldSettings.ParseKernelKind(" B2 "));
        Assert.Equal("b2+2+3", ForceFieldSettings.KernelKindName(ForceFieldKernel.B2PlusTwoPlusThree));
    }
}
