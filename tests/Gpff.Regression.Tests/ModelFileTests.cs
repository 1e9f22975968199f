using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

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
    public void SaveThenLoadGivesTheSamePredictionsBitForBit()
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
    public void ASaveInterruptedMidwayKeepsThePreviousModelByteIdenticalAndLeavesNoTemporary()
    {
        var path = Path.Combine(_dir.FullName, "m.gpff");
        var gp = Trained();
        ModelFile.Save(gp, path);
        var snapshot = FolderSnapshot.Take(_dir.FullName);
        var e = Assert.Throws<IOException>(() => ModelFile.Save(gp, path, new FailingMetadata(new IOException("the provenance source failed"))));
        Assert.Equal("the provenance source failed", e.Message);
        snapshot.AssertUnchanged();
        Assert.Equal(gp.LabelCount, ModelFile.Load(path).LabelCount);
    }

    [Fact]
    public void ADamagedFileIsDetected()
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
    public void ATruncatedFileIsDetected()
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
    public void AFutureFormatVersionIsAClearError()
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
    public void OtherFilesAndUntrainedModelsAreClearErrors()
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

    [Fact]
    public void TheHeaderNamesTheNoisesAsNoiseLevelsDoesAndStoresTheLabelKinds()
    {
        var path = Path.Combine(_dir.FullName, "m.gpff");
        var gp = Trained();
        ModelFile.Save(gp, path, labelKinds: LabelKinds.Forces | LabelKinds.Stress);
        var bytes = File.ReadAllBytes(path);
        Assert.Equal(ModelFile.FormatVersion, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8)));
        long length = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(12));
        using var header = JsonDocument.Parse(Encoding.UTF8.GetString(bytes, 20, (int)length));
        var noise = header.RootElement.GetProperty("noise");
        Assert.Equal(NoiseLevels.Names, noise.EnumerateObject().Select(p => p.Name));
        Assert.Equal(gp.Noise.ToArray(), NoiseLevels.Names.Select(n => noise.GetProperty(n).GetDouble()));
        var back = ModelFile.Load(path, null, out var kinds);
        Assert.Equal(LabelKinds.Forces | LabelKinds.Stress, kinds);
        Assert.Equal(gp.Noise, back.Noise);
    }

    [Fact]
    public void AFormatVersion1FileStillLoads()
    {
        // Written by Gpff before format version 2 (noise keys energy_ev_per_atom, ..., no label kinds):
        // two 4-atom structures, one with all labels, one with the forces of atoms 0 and 2.
        var path = Path.Combine(AppContext.BaseDirectory, "data", "model-format-v1.gpff");
        Assert.Equal(1, BinaryPrimitives.ReadInt32LittleEndian(File.ReadAllBytes(path).AsSpan(8)));
        var gp = ModelFile.Load(path, null, out var kinds);
        Assert.Equal(new NoiseLevels(0.01, 0.05, 0.002), gp.Noise);
        Assert.Equal(LabelKinds.All, kinds);   // the kinds its training entries have
        Assert.Equal(2, gp.Training.Count);
        Assert.Equal([0, 2], gp.Training[1].Labels.ForceAtoms);

        // Its stored factor and α are those of its data: retraining from scratch predicts the same.
        var scratch = new GaussianProcess(gp.Kernel, gp.Noise);
        foreach (var e in gp.Training)
        {
            scratch.Add(e.Structure, e.Labels.Energy ? LabelKinds.All : LabelKinds.Forces, e.Labels.Energy ? null : e.Labels.ForceAtoms);
        }

        scratch.Train();
        var test = GaussianProcessTests.RandomStructure(new Random(3), 4);
        var a = gp.Predict(test);
        var b = scratch.Predict(test);
        Assert.Equal(b.EnergyEv, a.EnergyEv, 1e-8 * Math.Max(1, Math.Abs(b.EnergyEv)));
        Assert.Equal(b.EnergyStdEv, a.EnergyStdEv, 1e-8);
        Assert.True(gp.Calibration.IsNone);   // written before calibration existed
    }

    [Fact]
    public void AFormatVersion2FileStillLoadsUncalibrated()
    {
        // Written by Gpff with format version 2 (before calibration was stored): two 4-atom structures,
        // one with all labels, one with the forces of atoms 0 and 2; label kinds energy and forces.
        var path = Path.Combine(AppContext.BaseDirectory, "data", "model-format-v2.gpff");
        Assert.Equal(2, BinaryPrimitives.ReadInt32LittleEndian(File.ReadAllBytes(path).AsSpan(8)));
        var gp = ModelFile.Load(path, null, out var kinds);
        Assert.Equal(new NoiseLevels(0.01, 0.05, 0.002), gp.Noise);
        Assert.Equal(LabelKinds.Energy | LabelKinds.Forces, kinds);
        Assert.Equal([0, 2], gp.Training[1].Labels.ForceAtoms);
        Assert.True(gp.Calibration.IsNone);

        // Its standard deviations are the uncalibrated ones of a model retrained from scratch.
        var scratch = new GaussianProcess(gp.Kernel, gp.Noise);
        scratch.Add(gp.Training[0].Structure);
        scratch.Add(gp.Training[1].Structure, LabelKinds.Forces, [0, 2]);
        scratch.Train();
        var test = GaussianProcessTests.RandomStructure(new Random(3), 4);
        var a = gp.Predict(test);
        var b = scratch.Predict(test);
        Assert.Equal(b.EnergyEv, a.EnergyEv, 1e-8 * Math.Max(1, Math.Abs(b.EnergyEv)));
        Assert.Equal(b.EnergyStdEv, a.EnergyStdEv, 1e-8);
        Assert.Equal(b.ForcesStdEvPerA![1].X, a.ForcesStdEvPerA![1].X, 1e-8);
    }

    [Fact]
    public void TheCalibrationIsSavedAndLoadedWithTheModel()
    {
        var gp = Trained();
        var test = GaussianProcessTests.RandomStructure(new Random(3));
        var uncalibrated = gp.Predict(test);
        gp.Calibration = new UncertaintyCalibration(1.7, 0.6, 2.5);
        var path = Path.Combine(_dir.FullName, "m.gpff");
        ModelFile.Save(gp, path);
        var bytes = File.ReadAllBytes(path);
        Assert.Equal(ModelFile.FormatVersion, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8)));
        var back = ModelFile.Load(path);
        Assert.Equal(gp.Calibration, back.Calibration);
        var p = back.Predict(test);
        Assert.Equal(1.7 * uncalibrated.EnergyStdEv, p.EnergyStdEv, 12);
        Assert.Equal(0.6 * uncalibrated.ForcesStdEvPerA![0].Y, p.ForcesStdEvPerA![0].Y, 12);
        Assert.Equal(2.5 * uncalibrated.StressStdEvPerA3!.Value[3], p.StressStdEvPerA3!.Value[3], 12);
    }

    [Fact]
    public void AFullGpWithTheB2PlusTwoThreeKernelRoundTripsWithItsPriorAndCalibration()
    {
        var rng = new Random(23);
        var gp = new GaussianProcess(B2RegressionTests.B2PlusTwoThree(), new NoiseLevels(0.01, 0.05, 0.002),
            new GaussianProcessOptions { ReferenceEnergyPrior = new ReferenceEnergyPrior(1.0) });
        gp.Add(GaussianProcessTests.RandomStructure(rng));
        gp.Add(GaussianProcessTests.RandomStructure(rng), LabelKinds.Forces, forceAtoms: [0, 2]);
        gp.Add(GaussianProcessTests.RandomStructure(rng), LabelKinds.Energy | LabelKinds.Stress);
        gp.Add(GaussianProcessTests.RandomStructure(rng, 4));
        gp.Train();
        gp.Calibration = new UncertaintyCalibration(1.3, 0.8, 1.9);
        var path = Path.Combine(_dir.FullName, "b2.gpff");
        ModelFile.Save(gp, path);
        var back = ModelFile.Load(path);
        Assert.Equal(gp.Kernel.ToJson(), back.Kernel.ToJson());
        Assert.IsType<Gpff.Kernels.CombinedKernel>(back.Kernel);
        Assert.Equal(gp.Calibration, back.Calibration);
        Assert.Equal(gp.ReferenceEnergies!.Values(), back.ReferenceEnergies!.Values());
        var tests = new[] { GaussianProcessTests.RandomStructure(new Random(5)), GaussianProcessTests.RandomStructure(new Random(6), 4) };
        var a = gp.Predict(tests[0]);
        var b = back.Predict(tests[0]);
        Assert.True(a.ForcesEvPerA.Any(f => f.Length > 1e-4), "the model predicts non-zero forces");
        Assert.Equal(a.EnergyEv, b.EnergyEv, 1e-10);
        Assert.Equal(a.EnergyStdEv, b.EnergyStdEv, 1e-10);
        Assert.Equal(a.ForcesEvPerA[1].Z, b.ForcesEvPerA[1].Z, 1e-10);
        Assert.Equal(a.ForcesStdEvPerA![1].Z, b.ForcesStdEvPerA![1].Z, 1e-10);
        Assert.Equal(a.StressEvPerA3!.Value[2], b.StressEvPerA3!.Value[2], 1e-10);

        // The joint energy covariance the hull uses comes back too (reference prior and calibration included).
        var (m1, c1) = gp.PredictEnergies(tests);
        var (m2, c2) = back.PredictEnergies(tests);
        Assert.Equal(m1[1], m2[1], 1e-10);
        Assert.Equal(c1[0, 1], c2[0, 1], 1e-10);
        Assert.Equal(c1[1, 1], c2[1, 1], 1e-10);
        Assert.True(c1[0, 0] > 0 && c1[1, 1] > 0);
    }
}
