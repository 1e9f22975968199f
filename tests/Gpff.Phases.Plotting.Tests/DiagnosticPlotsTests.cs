using System.Buffers.Binary;

namespace Gpff.Phases.Plotting.Tests;

public sealed class DiagnosticPlotsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gpff-diag-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void TheCoverageCurveOfGaussianErrorsFollowsTheDiagonalAndThatOfOverconfidentOnesFallsBelow()
    {
        var rng = new Random(3);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        var z = Enumerable.Range(0, 20_000).Select(_ => Normal()).ToArray();
        var curve = DiagnosticPlots.CoverageCurve(z, 30);
        Assert.Equal(31, curve.Count);
        Assert.Equal((0.0, 0.0), (curve[0].K, curve[0].Expected));
        Assert.Equal(DiagnosticPlots.MaxK, curve[^1].K);
        var oneSigma = curve[10];   // k = 1
        Assert.Equal(1.0, oneSigma.K, 12);
        Assert.Equal(0.6826894921370859, oneSigma.Expected, 9);
        foreach (var (_, expected, observed) in curve)
        {
            Assert.True(Math.Abs(observed - expected) < 0.015, $"observed {observed}, expected {expected}");
        }

        var overconfident = DiagnosticPlots.CoverageCurve(z.Select(x => 2 * x).ToArray(), 30);   // σ half the true spread
        Assert.InRange(overconfident[10].Observed, 0.36, 0.40);   // P(|x| ≤ ½) = 0.383
    }

    [Fact]
    public void ParityAndCalibrationPlotsAreWrittenAsPngAndSvg()
    {
        var parity = DiagnosticPlots.Parity("Forces", "force component (eV/Å)",
            [new ParitySeries("BaO", [0.1, -0.4, 1.2], [0.12, -0.35, 1.1]), new ParitySeries("RhO2", [2.0, -1.0], [1.8, -1.1]), new ParitySeries("empty", [], [])]);
        var calibration = DiagnosticPlots.Calibration("Calibration", [new CalibrationSeries("forces", [0.3, -1.2, 0.8, 2.1, -0.1]), new CalibrationSeries("energy", [])]);
        string png = Path.Combine(_dir, "parity.png"), svg = Path.Combine(_dir, "calibration.svg");
        DiagnosticPlots.Save(parity, png, 640, 480);
        DiagnosticPlots.Save(calibration, svg);
        var bytes = File.ReadAllBytes(png);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
        Assert.Equal(640, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16, 4)));
        Assert.Equal(480, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20, 4)));
        var doc = System.Xml.Linq.XDocument.Load(svg);
        Assert.Equal("svg", doc.Root!.Name.LocalName);
        Assert.Contains("forces: 60 % within 1σ (5 labels)", File.ReadAllText(svg));
    }

    [Fact]
    public void BadInputsAreClearErrors()
    {
        var ex = Assert.Throws<ArgumentException>(() => DiagnosticPlots.Parity("t", "q", [new ParitySeries("BaO", [1, 2], [1])]));
        Assert.Contains("'BaO' has 2 reference and 1 predicted values", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => DiagnosticPlots.Parity("t", "q", [new ParitySeries("BaO", [double.NaN], [1])]));
        Assert.Contains("'BaO' holds a value that is not a finite number", ex.Message);
        var plot = DiagnosticPlots.Calibration("t", []);
        Assert.Contains(".png or .svg", Assert.Throws<NotSupportedException>(() => DiagnosticPlots.Save(plot, Path.Combine(_dir, "x.jpg"))).Message);
        Assert.Empty(Directory.GetFiles(_dir));
    }
}
