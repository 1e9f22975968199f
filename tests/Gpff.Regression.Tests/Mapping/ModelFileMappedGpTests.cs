using System.Buffers.Binary;
using Gpff.Regression.Mapping;

namespace Gpff.Regression.Tests.Mapping;

/// <summary>
/// Model files carry the model's mapped GP (format version 5): a map of the Ba–Rh–O model round-trips bit for
/// bit inside the model file, a model without a map loads without one, a version-4 file still loads, a
/// damaged map section is caught by the model's checksum, and a map of another model is refused before
/// anything is written.
/// </summary>
public sealed class ModelFileMappedGpTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("gpff-model-mgp-");

    public void Dispose() => _dir.Delete(recursive: true);

    private string SavedWithMap(out GaussianProcess gp, out MappedForceField map)
    {
        (gp, _, map) = MappedForceFieldTests.BaRhO.Value;
        string path = Path.Combine(_dir.FullName, "barho.gpff");
        ModelFile.Save(gp, path, new Dictionary<string, string> { ["training"] = "barho-train.extxyz" }, LabelKinds.All, map);
        return path;
    }

    [Fact]
    public void AModelOfTheBundledDataSavedWithItsMapLoadsBothAndTheMapIsBitForBitTheSame()
    {
        string path = SavedWithMap(out var gp, out var map);
        Assert.Equal(ModelFile.FormatVersion, BinaryPrimitives.ReadInt32LittleEndian(File.ReadAllBytes(path).AsSpan(8)));
        var back = ModelFile.Load(path, null, out var kinds, out var mapBack);
        Assert.Equal(LabelKinds.All, kinds);
        Assert.NotNull(mapBack);
        Assert.Equal(map.Descriptor, mapBack.Descriptor);
        Assert.Equal(map.Species, mapBack.Species);
        Assert.Equal(map.PairMaps.Count, mapBack.PairMaps.Count);
        Assert.Equal(map.TripletMaps.Count, mapBack.TripletMaps.Count);
        for (int k = 0; k < map.PairMaps.Count; k++)
        {
            Assert.Equal(map.PairMaps[k].Name, mapBack.PairMaps[k].Name);
            Assert.True(map.PairMaps[k].Spline.Coefficients.SequenceEqual(mapBack.PairMaps[k].Spline.Coefficients));
        }

        for (int k = 0; k < map.TripletMaps.Count; k++)
        {
            Assert.Equal(map.TripletMaps[k].Name, mapBack.TripletMaps[k].Name);
            Assert.True(map.TripletMaps[k].Spline.Coefficients.SequenceEqual(mapBack.TripletMaps[k].Spline.Coefficients));
        }

        Assert.Equal(map.Report!.Rounds, mapBack.Report!.Rounds);

        // The model itself is unchanged by carrying a map: same α, same predictions.
        Assert.True(gp.Alpha.SequenceEqual(back.Alpha));
        foreach (var s in MappedForceFieldTests.BaRhO.Value.HeldOut.Take(3))
        {
            var a = map.Calculate(s, CalculatorProperties.EnergyForcesStress);
            var b = mapBack.Calculate(s, CalculatorProperties.EnergyForcesStress);
            Assert.Equal(a.EnergyEv, b.EnergyEv);
            Assert.Equal(a.ForcesEvPerA, b.ForcesEvPerA);
            Assert.Equal(a.StressEvPerA3, b.StressEvPerA3);
            Assert.Equal(gp.PredictForces(s).ForcesEvPerA, back.PredictForces(s).ForcesEvPerA);
        }
    }

    [Fact]
    public void AModelSavedWithoutAMapLoadsWithoutOneAndIsShorterByTheMapSection()
    {
        string with = SavedWithMap(out var gp, out var map);
        string without = Path.Combine(_dir.FullName, "plain.gpff");
        ModelFile.Save(gp, without, new Dictionary<string, string> { ["training"] = "barho-train.extxyz" }, LabelKinds.All);
        ModelFile.Load(without, null, out _, out var none);
        Assert.Null(none);
        string alone = Path.Combine(_dir.FullName, "barho" + MappedForceFieldFile.Extension);
        MappedForceFieldFile.Save(map, alone);

        // The section is a .gpffmap image without metadata; the standalone file above has an empty metadata object too.
        Assert.Equal(new FileInfo(with).Length - new FileInfo(without).Length, new FileInfo(alone).Length);
    }

    [Fact]
    public void AFormatVersion4FileStillLoadsWithoutAMap()
    {
        // Written by gpff train with format version 4: three BaO frames of data/barho-train.extxyz, 2+3 at 5/3.5 Å, defaults.
        var path = Path.Combine(AppContext.BaseDirectory, "data", "model-format-v4.gpff");
        Assert.Equal(4, BinaryPrimitives.ReadInt32LittleEndian(File.ReadAllBytes(path).AsSpan(8)));
        var gp = ModelFile.Load(path, null, out var kinds, out var mapped);
        Assert.Null(mapped);
        Assert.Equal(LabelKinds.All, kinds);
        Assert.Equal(3, gp.Training.Count);
        Assert.NotNull(gp.Options.ReferenceEnergyPrior);

        // Saved again it becomes version 5 and predicts the same.
        string again = Path.Combine(_dir.FullName, "v5.gpff");
        ModelFile.Save(gp, again, null, kinds);
        var back = ModelFile.Load(again);
        var test = gp.Training[0].Structure.Clone();
        test.Positions[0] += new Geometry.Vec3(0.04, -0.02, 0.03);
        Assert.Equal(gp.Predict(test).EnergyEv, back.Predict(test).EnergyEv);
        Assert.Equal(gp.Predict(test).ForcesStdEvPerA, back.Predict(test).ForcesStdEvPerA);
    }

    [Fact]
    public void ADamagedMapSectionIsCaughtByTheModelChecksum()
    {
        string path = SavedWithMap(out _, out _);
        var bytes = File.ReadAllBytes(path);
        bytes[^200] ^= 0x20; // a spline coefficient of the last triplet map
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<ModelFileException>(() => ModelFile.Load(path, null, out _, out _));
        Assert.Contains("checksum does not match", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void ATruncatedMapSectionSaysSo()
    {
        string path = SavedWithMap(out _, out _);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length - 5000)]);
        var e = Assert.Throws<ModelFileException>(() => ModelFile.Load(path));
        Assert.Contains("-byte mapped GP", e.Message);
        Assert.Contains("truncated or damaged", e.Message);
    }

    [Fact]
    public void AMapOfAnotherModelIsRefusedAndNothingIsWritten()
    {
        string path = SavedWithMap(out _, out var map);
        var before = File.ReadAllBytes(path);
        var other = ModelFile.Load(Path.Combine(AppContext.BaseDirectory, "data", "model-format-v4.gpff"));
        var e = Assert.Throws<ArgumentException>(() => ModelFile.Save(other, path, null, LabelKinds.All, map));
        Assert.Contains("is not a map of this model", e.Message);
        Assert.Contains("nothing was written", e.Message);
        Assert.Equal(before, File.ReadAllBytes(path));
    }
}
