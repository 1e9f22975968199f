using Gpff.Regression.Mapping;

namespace Gpff.Regression.Tests.Mapping;

/// <summary>The .gpffmap format: a map of a real model round-trips bit for bit; damaged, truncated, foreign and future files are refused with the reason.</summary>
public sealed class MappedForceFieldFileTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("gpff-mgp-");

    public void Dispose() => _dir.Delete(recursive: true);

    private string Saved(out MappedForceField map)
    {
        map = MappedForceFieldTests.BaRhO.Value.Map;
        string path = Path.Combine(_dir.FullName, "barho" + MappedForceFieldFile.Extension);
        MappedForceFieldFile.Save(map, path, new Dictionary<string, string> { ["model"] = "barho.gpff" });
        return path;
    }

    [Fact]
    public void AMapOfAModelTrainedOnTheBundledDataRoundTripsBitForBit()
    {
        string path = Saved(out var map);
        var back = MappedForceFieldFile.Load(path);
        Assert.Equal(map.Descriptor, back.Descriptor);
        Assert.Equal(map.Species, back.Species);
        Assert.Equal(map.PairMaps.Count, back.PairMaps.Count);
        Assert.Equal(map.TripletMaps.Count, back.TripletMaps.Count);
        Assert.True(map.TripletMaps.Count >= 6, "Ba–Rh–O has many species triplets");
        for (int k = 0; k < map.TripletMaps.Count; k++)
        {
            Assert.Equal(map.TripletMaps[k].Name, back.TripletMaps[k].Name);
            Assert.True(map.TripletMaps[k].Spline.Coefficients.SequenceEqual(back.TripletMaps[k].Spline.Coefficients));
            Assert.Equal(map.TripletMaps[k].Spline.LowerA, back.TripletMaps[k].Spline.LowerA);
        }

        var none = Array.Empty<MappingRound>();
        Assert.Equal(map.Report! with { Rounds = none }, back.Report! with { Rounds = none });
        Assert.Equal(map.Report!.Rounds, back.Report.Rounds);
        foreach (var s in MappedForceFieldTests.BaRhO.Value.HeldOut.Take(4))
        {
            var a = map.Calculate(s, CalculatorProperties.EnergyForcesStress | CalculatorProperties.LocalEnergies);
            var b = back.Calculate(s, CalculatorProperties.EnergyForcesStress | CalculatorProperties.LocalEnergies);
            Assert.Equal(a.EnergyEv, b.EnergyEv);
            Assert.Equal(a.ForcesEvPerA, b.ForcesEvPerA);
            Assert.Equal(a.StressEvPerA3, b.StressEvPerA3);
            Assert.Equal(a.LocalEnergiesEv, b.LocalEnergiesEv);
        }
    }

    [Fact]
    public void ADamagedByteIsCaughtByTheChecksum()
    {
        string path = Saved(out _);
        var bytes = File.ReadAllBytes(path);
        bytes[^100] ^= 0x40; // a coefficient
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<ModelFileException>(() => MappedForceFieldFile.Load(path));
        Assert.Contains("checksum does not match", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void ATruncatedFileSaysSo()
    {
        string path = Saved(out _);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length - 1000)]);
        var e = Assert.Throws<ModelFileException>(() => MappedForceFieldFile.Load(path));
        Assert.Contains("truncated or damaged", e.Message);
        File.WriteAllBytes(path, bytes[..10]);
        Assert.Contains("ends early", Assert.Throws<ModelFileException>(() => MappedForceFieldFile.Load(path)).Message);
    }

    [Fact]
    public void AModelFileOrAFutureVersionIsNotLoadedAsAMap()
    {
        string path = Saved(out _);
        var bytes = File.ReadAllBytes(path);
        "GPFFMODL"u8.CopyTo(bytes);
        File.WriteAllBytes(path, bytes);
        Assert.Contains("does not start with GPFFMMAP", Assert.Throws<ModelFileException>(() => MappedForceFieldFile.Load(path)).Message);
        "GPFFMMAP"u8.CopyTo(bytes);
        bytes[8] = 9;
        File.WriteAllBytes(path, bytes);
        Assert.Contains("format version 9 by a newer Gpff", Assert.Throws<ModelFileException>(() => MappedForceFieldFile.Load(path)).Message);
        Assert.Throws<FileNotFoundException>(() => MappedForceFieldFile.Load(Path.Combine(_dir.FullName, "none.gpffmap")));
    }

    [Fact]
    public void ASaveThatFailsMidwayLeavesThePreviousFileAsItWas()
    {
        string path = Saved(out var map);
        var snapshot = FolderSnapshot.Take(_dir.FullName);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => MappedForceFieldFile.Save(map, path, null, cts.Token));
        snapshot.AssertUnchanged();
    }
}
