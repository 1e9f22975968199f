using Gpff.IO;
using Xunit;

namespace Gpff.Tests;

/// <summary>A force field's save that stops midway leaves the previous model file as it was.</summary>
public sealed class ForceFieldSaveTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("gpff-ffsave-");

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public void ASaveInterruptedMidwayKeepsThePreviousModelByteIdenticalAndLeavesNoTemporary()
    {
        var frames = ExtXyz.Read(TestData.DataFile("barho-train.extxyz"))
            .Where(f => f.AtomCount <= 6 && (string)f.Info["config_type"] is "BaO" or "RhO2").Take(3).ToList();
        var ff = ForceField.Create(new ForceFieldSettings { PairCutoffA = 4.0, TripletCutoffA = 0 });
        ff.Train(frames);
        string path = Path.Combine(_dir.FullName, "model.gpff");
        ff.Save(path);
        var snapshot = FolderSnapshot.Take(_dir.FullName);
        var e = Assert.Throws<InvalidOperationException>(() => ff.Save(path, new FailingMetadata(new InvalidOperationException("the run was stopped"))));
        Assert.Equal("the run was stopped", e.Message);
        snapshot.AssertUnchanged();
        Assert.Equal(ff.Model.LabelCount, ForceField.Load(path).Model.LabelCount);
    }
}
