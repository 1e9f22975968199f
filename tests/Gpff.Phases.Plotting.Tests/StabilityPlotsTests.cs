using Gpff.Phases.Plotting;

namespace Gpff.Phases.Plotting.Tests;

public class StabilityPlotsTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "gpff-stabplots-" + Guid.NewGuid().ToString("N"));

    public StabilityPlotsTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static StabilityReport At(double pressureGpa, double perovskiteEv)
    {
        var entries = new[]
        {
            new PhaseEntry("BaO-rocksalt", "BaO", -10.0, 40, 0.01),
            new PhaseEntry("RhO2-rutile", "RhO2", -15.0, 30, 0.01),
            new PhaseEntry("BaRhO3-3C", "BaRhO3", perovskiteEv, 66, 0.05),
            new PhaseEntry("BaRhO3-2H", "BaRhO3", -25.2, 70, 0.3),
        };
        return HullUncertainty.Analyze(new PhaseDiagram(entries, pressureGpa, [Composition.Parse("BaO"), Composition.Parse("RhO2")]), new StabilityOptions { Samples = 400 });
    }

    [Fact]
    public void DrawsEveryEntryAtEveryPressureAsPngAndSvg()
    {
        var reports = new[] { At(10, -25.1), At(0, -25.3) };   // any order: sorted by pressure
        string png = Path.Combine(_dir, "e.png"), svg = Path.Combine(_dir, "e.svg");
        StabilityPlots.SaveEnergyAboveHullVersusPressure(reports, png);
        StabilityPlots.SaveEnergyAboveHullVersusPressure(reports, svg);
        var bytes = File.ReadAllBytes(png);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], bytes[..4]);
        Assert.True(bytes.Length > 10_000, $"{bytes.Length} bytes: an empty figure?");
        string text = File.ReadAllText(svg);
        foreach (string name in new[] { "BaO-rocksalt", "RhO2-rutile", "BaRhO3-3C", "BaRhO3-2H", "pressure (GPa)" })
        {
            Assert.Contains(name, text);
        }

        Assert.Equal([".e.png", ".e.svg"], Directory.GetFiles(_dir).Select(f => "." + Path.GetFileName(f)).Order().ToArray()); // no temporaries left
    }

    [Fact]
    public void RefusesNoReportsAndAnUnknownExtension()
    {
        var ex = Assert.Throws<ArgumentException>(() => StabilityPlots.EnergyAboveHullVersusPressure([]));
        Assert.Contains("at least one", ex.Message);
        string bad = Path.Combine(_dir, "e.jpg");
        var nse = Assert.Throws<NotSupportedException>(() => StabilityPlots.SaveEnergyAboveHullVersusPressure([At(0, -25.3)], bad));
        Assert.Contains(".png or .svg", nse.Message);
        Assert.Empty(Directory.GetFiles(_dir));
    }
}
