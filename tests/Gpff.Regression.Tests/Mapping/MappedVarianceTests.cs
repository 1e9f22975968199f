using System.Globalization;
using Gpff.IO;
using Gpff.Regression.Mapping;
using Xunit.Abstractions;

namespace Gpff.Regression.Tests.Mapping;

/// <summary>
/// The variance map of a 2+3-body GP trained on the bundled Ba–Rh–O pw.x frames, with a reference-energy prior and
/// an energy calibration scale (so that every term of the latent σ is exercised): its local-energy and total-energy
/// σ agree with the GP's own on held-out frames, and asking for what it does not map is a clear error.
/// </summary>
public class MappedVarianceTests(ITestOutputHelper output)
{
    internal const double StdTolerance = 0.001; // eV, on local-energy σ

    /// <summary>Every third bundled frame trains, the rest are held out.</summary>
    internal static readonly Lazy<(GaussianProcess Gp, List<Structure> HeldOut, MappedForceField Map)> BaRhO = new(() =>
    {
        var frames = ExtXyz.Read(TestData.DataFile("barho-train.extxyz")).ToList();
        var gp = new GaussianProcess(MappedForceFieldTests.BaRhOKernel(), new NoiseLevels(0.005, 0.1, 0.002));
        for (int i = 0; i < frames.Count; i += 3)
        {
            gp.Add(frames[i]);
        }

        gp.Train();
        gp.Calibration = new UncertaintyCalibration(1.7, 1.3, 1.1);
        var heldOut = frames.Where((_, i) => i % 3 != 0).Select(f => f.CloneWithoutLabels()).ToList();
        var map = MappedForceFieldBuilder.Build(gp, new MappingOptions { ForceToleranceEvPerA = 0.02, MapVariance = true, LocalEnergyStdToleranceEv = StdTolerance });
        return (gp, heldOut, map);
    });

    /// <summary>The Ba–O frames (two atoms each) with a reference-energy prior: every other one trains.</summary>
    internal static readonly Lazy<(GaussianProcess Gp, List<Structure> HeldOut, MappedForceField Map)> BaOWithPrior = new(() =>
    {
        var frames = ExtXyz.Read(TestData.DataFile("barho-train.extxyz")).Where(f => !f.AtomicNumbers.ToArray().Contains(45)).ToList();
        var gp = new GaussianProcess(MappedForceFieldTests.BaRhOKernel(), new NoiseLevels(0.005, 0.1, 0.002),
            new GaussianProcessOptions { ReferenceEnergyPrior = new ReferenceEnergyPrior(1.0) });
        for (int i = 0; i < frames.Count; i += 2)
        {
            gp.Add(frames[i]);
        }

        gp.Train();
        gp.Calibration = new UncertaintyCalibration(1.7, 1.3, 1.1);
        var heldOut = frames.Where((_, i) => i % 2 != 0).Select(f => f.CloneWithoutLabels()).ToList();
        var map = MappedForceFieldBuilder.Build(gp, new MappingOptions { ForceToleranceEvPerA = 0.02, MapVariance = true, LocalEnergyStdToleranceEv = StdTolerance });
        return (gp, heldOut, map);
    });

    private static (double Local, double Total, double Smallest, double Largest) Errors(GaussianProcess gp, MappedForceField map, IEnumerable<Structure> structures)
    {
        double maxLocal = 0, maxTotal = 0, smallest = double.MaxValue, largest = 0;
        foreach (var s in structures)
        {
            var byGp = gp.Predict(s);
            var byMap = map.Calculate(s, CalculatorProperties.Energy | CalculatorProperties.LocalEnergies | CalculatorProperties.Uncertainty);
            for (int i = 0; i < s.AtomCount; i++)
            {
                maxLocal = Math.Max(maxLocal, Math.Abs(byGp.LocalEnergiesStdEv![i] - byMap.LocalEnergiesStdEv![i]));
                smallest = Math.Min(smallest, byGp.LocalEnergiesStdEv[i]);
                largest = Math.Max(largest, byGp.LocalEnergiesStdEv[i]);
            }

            maxTotal = Math.Max(maxTotal, Math.Abs(byGp.EnergyStdEv - byMap.EnergyStdEv!.Value));
        }

        return (maxLocal, maxTotal, smallest, largest);
    }

    [Fact]
    public void LocalAndTotalEnergyStandardDeviationsAgreeWithTheGpsOnHeldOutFrames()
    {
        var (gp, heldOut, map) = BaRhO.Value;
        var variance = map.Variance!;
        output.WriteLine(map.Report!.ToString());
        output.WriteLine(variance.Report!.ToString());
        Assert.True(variance.Report.MetTolerance);
        Assert.True(variance.Rank < variance.Report.FullRank, "the basis compresses");
        Assert.Empty(variance.ReferenceSpecies);
        Assert.Equal(1.7, variance.EnergyCalibrationScale);
        var (local, total, smallest, largest) = Errors(gp, map, heldOut);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{heldOut.Count} held-out frames: GP local-energy σ {smallest * 1000:F2}–{largest * 1000:F2} meV; map vs GP max |Δσ| local {local * 1000:F4} meV, total {total * 1000:F4} meV"));
        Assert.True(largest > 10 * StdTolerance, "the σ compared reach well above the tolerance");
        Assert.True(local <= StdTolerance, $"local-energy σ differs by {local} eV");
        Assert.True(total <= 2 * Math.Max(StdTolerance, variance.Report.MaxEnergyStdErrorEv), $"total-energy σ differs by {total} eV, against {variance.Report.MaxEnergyStdErrorEv} eV on the validation structures");
    }

    [Fact]
    public void WithAReferenceEnergyPriorTheMapCarriesItsShareOfTheVariance()
    {
        var (gp, heldOut, map) = BaOWithPrior.Value;
        var v = map.Variance!;
        output.WriteLine(v.Report!.ToString());
        Assert.NotEmpty(v.ReferenceSpecies);
        var (local, total, _, _) = Errors(gp, map, heldOut);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{heldOut.Count} held-out Ba–O frames: max |Δσ| local {local * 1000:F4} meV, total {total * 1000:F4} meV"));
        Assert.True(local <= StdTolerance, $"local-energy σ differs by {local} eV");
        Assert.True(total <= StdTolerance, $"total-energy σ differs by {total} eV");

        // The same map without the prior's terms and the calibration misses the GP by far more than the tolerance.
        var bare = map.WithVariance(new MappedVariance(v.Kernel, v.Rank, v.PairMaps, v.TripletMaps, 1.0, [], [], []));
        var (bareLocal, bareTotal, _, _) = Errors(gp, bare, heldOut);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"without the prior's terms and the calibration: max |Δσ| local {bareLocal * 1000:F3} meV, total {bareTotal * 1000:F3} meV"));
        Assert.True(bareLocal > 10 * StdTolerance, "the prior's share of a local energy's σ is large");
        Assert.True(bareTotal > 10 * total, "the total energy's σ needs the prior's share and the calibration");
    }

    [Fact]
    public void TheVarianceMapRoundTripsBitForBitInItsOwnFileAndInTheModelFile()
    {
        var (gp, heldOut, map) = BaOWithPrior.Value;
        var dir = Directory.CreateTempSubdirectory("gpff-mgp-var-");
        try
        {
            string alone = Path.Combine(dir.FullName, "bao" + MappedForceFieldFile.Extension);
            MappedForceFieldFile.Save(map, alone);
            string model = Path.Combine(dir.FullName, "bao.gpff");
            ModelFile.Save(gp, model, null, LabelKinds.All, map);
            ModelFile.Load(model, null, out _, out var fromModel);
            foreach (var back in new[] { MappedForceFieldFile.Load(alone), fromModel! })
            {
                var v = back.Variance!;
                Assert.Equal(map.Variance!.Rank, v.Rank);
                Assert.Equal(map.Variance.Kernel.ToJson(), v.Kernel.ToJson());
                Assert.Equal(map.Variance.ReferenceSpecies, v.ReferenceSpecies);
                Assert.True(map.Variance.ReferenceProjection.SequenceEqual(v.ReferenceProjection));
                Assert.True(map.Variance.ReferenceCovarianceEv2.SequenceEqual(v.ReferenceCovarianceEv2));
                Assert.Equal(map.Variance.Report, v.Report);
                foreach (var s in heldOut)
                {
                    var a = map.Calculate(s, CalculatorProperties.Energy | CalculatorProperties.LocalEnergies | CalculatorProperties.Uncertainty);
                    var b = back.Calculate(s, CalculatorProperties.Energy | CalculatorProperties.LocalEnergies | CalculatorProperties.Uncertainty);
                    Assert.Equal(a.EnergyStdEv, b.EnergyStdEv);
                    Assert.Equal(a.LocalEnergiesStdEv, b.LocalEnergiesStdEv);
                }
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void AFormatVersion1MapStillLoadsWithoutVariance()
    {
        // Written by gpff map (format 1) from data/model-format-v4.gpff with the defaults.
        var path = Path.Combine(AppContext.BaseDirectory, "data", "mapped-format-v1.gpffmap");
        Assert.Equal(1, System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(File.ReadAllBytes(path).AsSpan(8)));
        var map = MappedForceFieldFile.Load(path);
        Assert.Null(map.Variance);
        Assert.Equal(3, map.PairMaps.Count);

        // It is the map of that model: forces within the map's own reported error of the GP's.
        var gp = ModelFile.Load(Path.Combine(AppContext.BaseDirectory, "data", "model-format-v4.gpff"));
        var s = gp.Training[0].Structure.CloneWithoutLabels();
        s.Positions[0] += new Geometry.Vec3(0.02, -0.01, 0.015);
        var f = map.Calculate(s, CalculatorProperties.Forces).ForcesEvPerA!;
        var g = gp.PredictForces(s).ForcesEvPerA;
        double err = f.Zip(g, (x, y) => Math.Max(Math.Abs(x.X - y.X), Math.Max(Math.Abs(x.Y - y.Y), Math.Abs(x.Z - y.Z)))).Max();
        Assert.True(err <= map.Report!.ToleranceEvPerA, $"{err} eV/Å");
        Assert.True(g.Max(x => x.Length) > 10 * err, "the forces compared are not negligible");
    }

    [Fact]
    public void ForceUncertaintyOrAMapWithoutVarianceIsAClearError()
    {
        var (_, heldOut, map) = BaRhO.Value;
        var s = heldOut[0];
        var e = Assert.Throws<NotSupportedException>(() => map.Calculate(s, CalculatorProperties.Forces | CalculatorProperties.Uncertainty));
        Assert.Contains("energies and local energies only", e.Message);
        var none = map.WithVariance(null);
        Assert.Null(none.Variance);
        var e2 = Assert.Throws<NotSupportedException>(() => none.Calculate(s, CalculatorProperties.Energy | CalculatorProperties.Uncertainty));
        Assert.Contains("no variance map", e2.Message);

        // Forces without uncertainty are unchanged by the variance map.
        Assert.Equal(map.Calculate(s, CalculatorProperties.Forces).ForcesEvPerA, none.Calculate(s, CalculatorProperties.Forces).ForcesEvPerA);
    }
}
