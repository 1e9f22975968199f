using Gpff.IO;
using Gpff.Regression;
using Xunit;

namespace Gpff.Tests;

/// <summary>One home for each rule: defaults and names shared by the settings and model files; label kinds kept by a saved model (the CLI side: tests/Gpff.Cli.Tests/DefaultsTests.cs).</summary>
public class ForceFieldRulesTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("gpff-rules-");

    public void Dispose() => _dir.Delete(recursive: true);

    private static List<Structure> SmallFrames() => ExtXyz.Read(TestData.DataFile("barho-train.extxyz"))
        .Where(f => f.AtomCount <= 6 && (string)f.Info["config_type"] is "BaO" or "RhO2").Take(4).ToList();

    [Fact]
    public void AModelTrainedWithDefaultSettingsStoresTheDefaultNoises()
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
    public void AForcesOnlyModelAddsOnlyForcesAfterLoading()
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
