using System.Globalization;
using Gpff.Regression;

namespace Gpff.Cli.Tests;

/// <summary>The CLI's help shows the library's defaults and names, not numbers of its own.</summary>
public class DefaultsTests
{
    [Fact]
    public void DefaultsAgreeBetweenSettingsNoiseLevelsAndCliHelp()
    {
        var d = new ForceFieldSettings();
        Assert.Equal(NoiseLevels.Default, d.Noise);
        Assert.Equal(new NoiseLevels(NoiseLevels.DefaultEnergyEvPerAtom, NoiseLevels.DefaultForceEvPerA, NoiseLevels.DefaultStressEvPerA3), d.Noise);
        Assert.Equal(["sigma2", "length2", "sigma3", "length3"], d.BuildKernel().HyperparameterNames);
        Assert.Equal([d.Sigma2, d.Length2A, d.Sigma3, d.Length3A], d.BuildKernel().Hyperparameters);

        var (code, help, _) = Cli.Run("train", "--help");
        Assert.Equal(0, code);
        string F(double x) => x.ToString(CultureInfo.InvariantCulture);
        string flat = System.Text.RegularExpressions.Regex.Replace(help, @"\s+", " ");   // rows wrapped at any width read the same
        void Row(string option, string text, double defaultValue) =>
            Assert.Matches($@"{System.Text.RegularExpressions.Regex.Escape(option)} [^\[]*{System.Text.RegularExpressions.Regex.Escape(text)}[^\[]*\[default: {System.Text.RegularExpressions.Regex.Escape(F(defaultValue))}\]", flat);
        Row("--cutoff-2 <Å>", "2-body cutoff r_c2 in Å", ForceFieldSettings.DefaultPairCutoffA);
        Row("--cutoff-3 <Å>", "3-body cutoff r_c3 in Å", ForceFieldSettings.DefaultTripletCutoffA);
        Assert.Contains($"sigma2={F(d.Sigma2)} ", help);
        Assert.Contains($"length2={F(d.Length2A)} ", help);
        Assert.Contains($"sigma3={F(d.Sigma3)} ", help);
        Assert.Contains($"length3={F(d.Length3A)} ", help);
        Assert.Contains($"{NoiseLevels.EnergyName}={F(NoiseLevels.DefaultEnergyEvPerAtom)} ", help);
        Assert.Contains($"{NoiseLevels.ForceName}={F(NoiseLevels.DefaultForceEvPerA)} ", help);
        Assert.Contains($"{NoiseLevels.StressName}={F(NoiseLevels.DefaultStressEvPerA3)} ", help);
        Row("--max-iterations <N>", "limit of the fit", HyperparameterFitOptions.DefaultMaxIterations);
        var (lo, hi) = HyperparameterFit.DefaultBounds(NoiseLevels.ForceName);
        Assert.Contains($"{NoiseLevels.ForceName} {F(lo)}:{F(hi)}", help);

        // gpff train --fit fits the leave-one-structure-out objective, whose length scales start at 0.3 Å.
        Assert.Contains("[default: loso]", flat);
        Assert.Equal((HyperparameterFit.LeaveOneOutMinLengthA, 20.0), HyperparameterFit.DefaultBounds("length3", HyperparameterObjective.LeaveOneStructureOut));
        Assert.Equal((0.2, 20.0), HyperparameterFit.DefaultBounds("length3"));
        Assert.Contains($"length* {F(HyperparameterFit.LeaveOneOutMinLengthA)}:20 Å (lower bound 0.2 Å with", flat);
        Row("--reference-prior <τ|none>", "eV/atom", ReferenceEnergyPrior.DefaultStandardDeviationEvPerAtom);
        Assert.Contains("--sigma <label|latent>", flat);
        Assert.Contains("[default: label]", flat);
    }
}
