using System.Buffers.Binary;
using Gpff.Phases.Plotting;
using static Gpff.Phases.Tests.HullTestData;

namespace Gpff.Phases.Plotting.Tests;

public class HullPlotTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "gpff-plots-" + Guid.NewGuid().ToString("N"));

    public HullPlotTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        if (Environment.GetEnvironmentVariable("GPFF_KEEP_PLOTS") is null)
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static string Data(string name) => Path.Combine(AppContext.BaseDirectory, "data", name);

    [Fact]
    public void PlotsBinaryAndTernaryPngAndSvg()
    {
        string dir = Environment.GetEnvironmentVariable("GPFF_KEEP_PLOTS") ?? _dir;
        Directory.CreateDirectory(dir);

        var example = PhaseEntryCsv.Read(Data("barho-hull-example.csv"));
        var binary = new PhaseDiagram(example, 10, [Composition.Parse("BaO"), Composition.Parse("RhO2")]);
        var stability = HullUncertainty.Analyze(binary, new StabilityOptions { Samples = 300 });
        string bPng = Path.Combine(dir, "binary.png"), bSvg = Path.Combine(dir, "binary.svg");
        HullPlot.Save(binary, bPng, 900, 600, stability);
        HullPlot.Save(binary, bSvg, 900, 600);

        var ternary = new PhaseDiagram(
        [
            Element("Ba"), Element("Rh"), Element("O", 2), Entry("BaO", "BaO", -1.0), Entry("RhO2", "RhO2", -0.9),
            Entry("BaRhO3", "BaRhO3", -1.04), Entry("Ba2RhO4", "Ba2RhO4", -1.0), Entry("BaO2", "BaO2", -0.8),
            Entry("Rh2O3", "Rh2O3", -0.6),
        ]);
        string tPng = Path.Combine(dir, "ternary.png"), tSvg = Path.Combine(dir, "ternary.svg");
        HullPlot.Save(ternary, tPng, 800, 700);
        HullPlot.Save(ternary, tSvg, 800, 700);

        AssertPng(bPng, 900, 600);
        AssertPng(tPng, 800, 700);
        foreach (var svg in new[] { bSvg, tSvg })
        {
            string text = File.ReadAllText(svg);
            Assert.Contains("<svg", text);
            Assert.Contains("BaRhO3", text);
        }

        var ex = Assert.Throws<NotSupportedException>(() => HullPlot.Save(ternary, Path.Combine(dir, "x.jpg")));
        Assert.Contains(".png or .svg", ex.Message);
        var quaternary = new PhaseDiagram([Element("Ba"), Element("Rh"), Element("O", 2), Element("Li")]);
        ex = Assert.Throws<NotSupportedException>(() => HullPlot.Create(quaternary));
        Assert.Contains("2 or 3 components", ex.Message);
    }

    [Fact]
    public void APlotWhoseRenameFailsLeavesTheFolderAsItWasAndNoTemporary()
    {
        // The figure is rendered in memory first, so the only place a save can stop midway is the
        // file system: here the rename, onto a folder of that name.
        var diagram = new PhaseDiagram(PhaseEntryCsv.Read(Data("barho-hull-example.csv")), 10, [Composition.Parse("BaO"), Composition.Parse("RhO2")]);
        string path = Path.Combine(_dir, "hull.png");
        Directory.CreateDirectory(path);
        File.WriteAllText(Path.Combine(path, "notes.txt"), "kept");
        var snapshot = FolderSnapshot.Take(_dir);
        var e = Assert.Throws<IOException>(() => HullPlot.Save(diagram, path));
        Assert.Equal($"Cannot write '{path}': it is a folder.", e.Message);
        snapshot.AssertUnchanged();
    }

    private static void AssertPng(string path, int width, int height)
    {
        var bytes = File.ReadAllBytes(path);
        Assert.True(bytes.Length > 5000, $"{path} is only {bytes.Length} bytes");
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
        Assert.Equal(width, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16, 4)));
        Assert.Equal(height, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20, 4)));
    }
}
