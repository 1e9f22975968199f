using System.Buffers.Binary;

namespace Gpff.Regression.Tests;

public class ModelFileTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("gpff-model-");

    public void Dispose() => _dir.Delete(recursive: true);

    private static GaussianProcess Trained()
    {
        var rng = new Random(21);
        var gp = new GaussianProcess(GaussianProcessTests.Kernel(), new NoiseLevels(0.01, 0.05, 0.002));
        gp.Add(GaussianProcessTests.RandomStructure(rng));
        gp.Add(GaussianProcessTests.RandomStructure(rng), LabelKinds.Forces, forceAtoms: [0, 2]);
        gp.Add(GaussianProcessTests.RandomStructure(rng), LabelKinds.Energy | LabelKinds.Stress);
        gp.Train();
        return gp;
    }

    [Fact]
    public void Save_then_load_gives_the_same_predictions_bit_for_bit()
    {
        var gp = Trained();
        var path = Path.Combine(_dir.FullName, "m.gpff");
        ModelFile.Save(gp, path, new Dictionary<string, string> { ["training_file"] = "x.extxyz" });
        Assert.Single(_dir.GetFiles()); // no temporary file left behind
        var back = ModelFile.Load(path);
        Assert.Equal(gp.LabelCount, back.LabelCount);
        Assert.Equal(gp.Kernel.Hyperparameters, back.Kernel.Hyperparameters);
        Assert.Equal(gp.Noise, back.Noise);
        Assert.Equal(gp.ReferenceEnergies!.Values(), back.ReferenceEnergies!.Values());
        Assert.Equal(gp.Alpha.ToArray(), back.Alpha.ToArray());
        var test = GaussianProcessTests.RandomStructure(new Random(3));
        var a = gp.Predict(test);
        var b = back.Predict(test);
        Assert.Equal(a.EnergyEv, b.EnergyEv);
        Assert.Equal(a.EnergyStdEv, b.EnergyStdEv);
        Assert.Equal(a.ForcesEvPerA, b.ForcesEvPerA);
        Assert.Equal(a.StressEvPerA3, b.StressEvPerA3);

        // A loaded model can be extended by a block update like the original.
        var extra = GaussianProcessTests.RandomStructure(new Random(4));
        gp.Add(extra);
        back.Add(extra);
        Assert.Equal(gp.Predict(test).EnergyEv, back.Predict(test).EnergyEv, 10);
    }

    [Fact]
    public void A_damaged_file_is_detected()
    {
        var path = Path.Combine(_dir.FullName, "m.gpff");
        ModelFile.Save(Trained(), path);
        var bytes = File.ReadAllBytes(path);
        bytes[^100] ^= 0x10; // one bit of α
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<ModelFileException>(() => ModelFile.Load(path));
        Assert.Contains("checksum does not match", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void A_truncated_file_is_detected()
    {
        var path = Path.Combine(_dir.FullName, "m.gpff");
        ModelFile.Save(Trained(), path);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length - 500)]);
        Assert.Contains("truncated or damaged", Assert.Throws<ModelFileException>(() => ModelFile.Load(path)).Message);
        File.WriteAllBytes(path, bytes[..5]);
        Assert.Contains("too short", Assert.Throws<ModelFileException>(() => ModelFile.Load(path)).Message);
    }

    [Fact]
    public void A_future_format_version_is_a_clear_error()
    {
        var path = Path.Combine(_dir.FullName, "m.gpff");
        ModelFile.Save(Trained(), path);
        var bytes = File.ReadAllBytes(path);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), ModelFile.FormatVersion + 1);
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<ModelFileException>(() => ModelFile.Load(path));
        Assert.Contains($"format version {ModelFile.FormatVersion + 1} by a newer Gpff", e.Message);
    }

    [Fact]
    public void Other_files_and_untrained_models_are_clear_errors()
    {
        var path = Path.Combine(_dir.FullName, "not-a-model.extxyz");
        File.WriteAllText(path, "1\nProperties=species:S:1:pos:R:3\nO 0 0 0\n");
        Assert.Contains("not a Gpff model file", Assert.Throws<ModelFileException>(() => ModelFile.Load(path)).Message);
        Assert.Contains("does not exist", Assert.Throws<FileNotFoundException>(() => ModelFile.Load(Path.Combine(_dir.FullName, "none.gpff"))).Message);
        var gp = new GaussianProcess(GaussianProcessTests.Kernel(), NoiseLevels.Default);
        var target = Path.Combine(_dir.FullName, "keep.gpff");
        File.WriteAllText(target, "previous");
        Assert.Contains("Only a trained model can be saved", Assert.Throws<InvalidOperationException>(() => ModelFile.Save(gp, target)).Message);
        Assert.Equal("previous", File.ReadAllText(target));
    }
}
