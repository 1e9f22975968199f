using System.Globalization;
using Gpff.IO;
using Gpff.Regression;
using Xunit;

namespace Gpff.Tests;

/// <summary>One home for each rule: defaults and names shared by the settings, the CLI and model files; label kinds kept by a saved model.</summary>
public class ForceFieldRulesTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("gpff-rules-");

    public void Dispose() => _dir.Delete(recursive: true);

    private static List<Structure> SmallFrames() => ExtXyz.Read(Path.Combine(Cli.Root, "data", "barho-train.extxyz"))
        .Where(f => f.AtomCount <= 6 && (string)f.Info["config_type"] is "BaO" or "RhO2").Take(4).ToList();

    [Fact]
    public void Defaults_agree_between_settings_noise_levels_and_cli_help()
    {
        var d = new ForceFieldSettings();
        Assert.Equal(NoiseLevels.Default, d.Noise);
        Assert.Equal(new NoiseLevels(NoiseLevels.DefaultEnergyEvPerAtom, NoiseLevels.DefaultForceEvPerA, NoiseLevels.DefaultStressEvPerA3), d.Noise);
        Assert.Equal(["sigma2", "length2", "sigma3", "length3"], d.BuildKernel().HyperparameterNames);
        Assert.Equal([d.Sigma2, d.Length2A, d.Sigma3, d.Length3A], d.BuildKernel().Hyperparameters);

        var (code, help, _) = Cli.Run("train", "--help");
        Assert.Equal(0, code);
        string F(double x) => x.ToString(CultureInfo.InvariantCulture);
        Assert.Contains($"--cutoff-2 Å        2-body cutoff r_c2 (default {ForceFieldSettings.DefaultPairCutoffA.ToString("0.0#", CultureInfo.InvariantCulture)})", help);
        Assert.Contains($"3-body cutoff r_c3 (default {ForceFieldSettings.DefaultTripletCutoffA.ToString("0.0#", CultureInfo.InvariantCulture)};", help);
        Assert.Contains($"sigma2={F(d.Sigma2)} ", help);
        Assert.Contains($"length2={F(d.Length2A)} ", help);
        Assert.Contains($"sigma3={F(d.Sigma3)} ", help);
        Assert.Contains($"length3={F(d.Length3A)} ", help);
        Assert.Contains($"{NoiseLevels.EnergyName}={F(NoiseLevels.DefaultEnergyEvPerAtom)} ", help);
        Assert.Contains($"{NoiseLevels.ForceName}={F(NoiseLevels.DefaultForceEvPerA)} ", help);
        Assert.Contains($"{NoiseLevels.StressName}={F(NoiseLevels.DefaultStressEvPerA3)} ", help);
        Assert.Contains($"limit of the fit (default {HyperparameterFitOptions.DefaultMaxIterations})", help);
        var (lo, hi) = HyperparameterFit.DefaultBounds(NoiseLevels.ForceName);
        Assert.Contains($"{NoiseLevels.ForceName} {F(lo)}:{F(hi)}", help);
    }

    [Fact]
    public void A_model_trained_with_default_settings_stores_the_default_noises()
    {
        var ff = ForceField.Create(new ForceFieldSettings { PairCutoffA = 4.0, TripletCutoffA = 0 });
        ff.Train(SmallFrames());
        var path = Path.Combine(_dir.FullName, "default.gpff");
        ff.Save(path);
        var back = ForceField.Load(path);
        Assert.Equal(NoiseLevels.Default, back.Model.Noise);
        Assert.Equal(LabelKinds.All, back.Labels);
    }

    [Fact]
    public void A_forces_only_model_adds_only_forces_after_loading()
    {
        var frames = SmallFrames();
        var ff = ForceField.Create(new ForceFieldSettings { PairCutoffA = 4.0, TripletCutoffA = 0, Labels = LabelKinds.Forces });
        ff.Train(frames.Take(3));
        Assert.All(ff.Model.Training, e => Assert.False(e.Labels.Energy || e.Labels.Stress));
        var path = Path.Combine(_dir.FullName, "forces.gpff");
        ff.Save(path);

        var back = ForceField.Load(path);
        Assert.Equal(LabelKinds.Forces, back.Labels);
        var extra = frames[3];
        Assert.NotNull(extra.EnergyEv);
        Assert.NotNull(extra.StressEvPerA3);
        int before = back.Model.LabelCount;
        back.Add(extra);
        var added = back.Model.Training[^1];
        Assert.False(added.Labels.Energy);
        Assert.False(added.Labels.Stress);
        Assert.Equal(3 * extra.AtomCount, added.Count);
        Assert.Equal(before + 3 * extra.AtomCount, back.Model.LabelCount);
    }
}
