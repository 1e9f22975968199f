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
    public void PolymorphsCloseInEnthalpyShareOneLabelAndEveryEntryIsNamedOnce()
    {
        // The study's 10 GPa hull (as formation enthalpies, so at 0 GPa here): 4H on the hull, 2H and 6H a few meV/atom
        // above it at the same composition (their three-line labels were drawn over each other), 3C far above.
        var diagram = new PhaseDiagram(
        [
            Entry("BaO-rocksalt", "BaO", 0), Entry("RhO2-rutile", "RhO2", 0), Entry("Ba2RhO4", "Ba2RhO4", -0.204),
            Entry("BaRhO3-4H", "BaRhO3", -0.2088, stdEv: 0.1), Entry("BaRhO3-2H", "BaRhO3", -0.2040, stdEv: 0.08),
            Entry("BaRhO3-6H", "BaRhO3", -0.1976, stdEv: 0.1), Entry("BaRhO3-3C", "BaRhO3", -0.1279, stdEv: 0.04),
        ], 0, [Composition.Parse("BaO"), Composition.Parse("RhO2")]);
        var stability = HullUncertainty.Analyze(diagram, new StabilityOptions { Samples = 200 });
        var labels = HullPlot.Create(diagram, stability).GetPlottables().OfType<ScottPlot.Plottables.Text>().Select(t => t.LabelText).ToArray();

        foreach (var name in new[] { "BaO-rocksalt", "RhO2-rutile", "Ba2RhO4", "BaRhO3-4H", "BaRhO3-2H", "BaRhO3-6H", "BaRhO3-3C" })
        {
            Assert.Single(labels, l => l.Split('\n').Any(line => line.StartsWith(name + " ", StringComparison.Ordinal) || line == name));
        }

        string shared = Assert.Single(labels, l => l.Contains("BaRhO3-2H", StringComparison.Ordinal));
        var lines = shared.Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("BaRhO3-6H  +11.2 meV/atom, p = ", lines[0], StringComparison.Ordinal); // highest first, as drawn
        Assert.StartsWith("BaRhO3-2H  +4.8 meV/atom, p = ", lines[1], StringComparison.Ordinal);
        Assert.DoesNotContain(labels, l => l.Contains("BaRhO3-3C", StringComparison.Ordinal) && l.Contains("BaRhO3-2H", StringComparison.Ordinal));
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
