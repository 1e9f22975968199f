using System.Globalization;
using ScottPlot;

namespace Gpff.Phases.Plotting;

/// <summary>One group of points of a parity plot (e.g. one composition): reference (DFT) and predicted values, same unit.</summary>
/// <param name="Name">Legend text.</param>
/// <param name="Reference">Reference values (x).</param>
/// <param name="Predicted">Predicted values (y), one per reference value.</param>
public sealed record ParitySeries(string Name, IReadOnlyList<double> Reference, IReadOnlyList<double> Predicted);

/// <summary>One set of normalised errors z = error/σ of a calibration plot (e.g. one label kind).</summary>
/// <param name="Name">Legend text.</param>
/// <param name="NormalisedErrors">error/σ of each label.</param>
public sealed record CalibrationSeries(string Name, IReadOnlyList<double> NormalisedErrors);

/// <summary>
/// Diagnostic figures of a force field with ScottPlot 5, from plain numbers (so that this layer needs
/// nothing of the GP): parity plots (predicted against reference, one colour per series, the line
/// y = x) and calibration plots (observed fraction of errors within kσ against the fraction a Gaussian
/// with the right σ puts there, erf(k/√2), for k from 0 to <see cref="MaxK"/>: a calibrated σ lies on the
/// diagonal, an overconfident one below it). PNG or SVG by file extension.
/// </summary>
public static class DiagnosticPlots
{
    /// <summary>Largest k (in σ) of the calibration curve.</summary>
    public const double MaxK = 3;

    /// <summary>A parity plot.</summary>
    /// <param name="title">Figure title.</param>
    /// <param name="quantity">Axis quantity with its unit, e.g. "force component (eV/Å)".</param>
    /// <param name="series">Point groups; empty groups are skipped.</param>
    /// <exception cref="ArgumentException">A series has different numbers of reference and predicted values, or a non-finite value.</exception>
    public static Plot Parity(string title, string quantity, IReadOnlyList<ParitySeries> series)
    {
        ArgumentNullException.ThrowIfNull(series);
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        for (int i = 0; i < series.Count; i++)
        {
            var s = series[i];
            if (s.Reference.Count != s.Predicted.Count)
            {
                throw new ArgumentException($"Parity series '{s.Name}' has {s.Reference.Count} reference and {s.Predicted.Count} predicted values.", nameof(series));
            }

            if (s.Reference.Concat(s.Predicted).Any(v => !double.IsFinite(v)))
            {
                throw new ArgumentException($"Parity series '{s.Name}' holds a value that is not a finite number.", nameof(series));
            }

            if (s.Reference.Count == 0)
            {
                continue;
            }

            var pts = plot.Add.ScatterPoints(s.Reference.ToArray(), s.Predicted.ToArray(), palette.GetColor(i));
            pts.MarkerShape = MarkerShape.FilledCircle;
            pts.MarkerSize = 5;
            pts.LegendText = s.Name;
            lo = Math.Min(lo, Math.Min(s.Reference.Min(), s.Predicted.Min()));
            hi = Math.Max(hi, Math.Max(s.Reference.Max(), s.Predicted.Max()));
        }

        if (double.IsFinite(lo))
        {
            double pad = 0.05 * Math.Max(hi - lo, 1e-12);
            var diagonal = plot.Add.Line(lo - pad, lo - pad, hi + pad, hi + pad);
            diagonal.Color = Colors.Gray;
            diagonal.LinePattern = LinePattern.Dashed;
            diagonal.LegendText = "y = x";
            plot.Axes.SetLimits(lo - pad, hi + pad, lo - pad, hi + pad);
        }

        plot.Title(title);
        plot.XLabel($"reference {quantity}");
        plot.YLabel($"predicted {quantity}");
        plot.ShowLegend(Alignment.UpperLeft);
        return plot;
    }

    /// <summary>Observed against expected fraction of |z| ≤ k for k = 0 … <see cref="MaxK"/> in <paramref name="steps"/> steps.</summary>
    /// <param name="normalisedErrors">z = error/σ.</param>
    /// <param name="steps">Number of steps (≥ 1).</param>
    /// <returns>(k, expected erf(k/√2), observed fraction) per step, k ascending from 0.</returns>
    public static IReadOnlyList<(double K, double Expected, double Observed)> CoverageCurve(IReadOnlyList<double> normalisedErrors, int steps = 60)
    {
        ArgumentNullException.ThrowIfNull(normalisedErrors);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        var abs = normalisedErrors.Select(Math.Abs).Order().ToArray();
        var curve = new List<(double, double, double)>();
        for (int i = 0; i <= steps; i++)
        {
            double k = MaxK * i / steps;
            int within = UpperBound(abs, k);
            curve.Add((k, Erf(k / Math.Sqrt(2)), abs.Length == 0 ? double.NaN : within / (double)abs.Length));
        }

        return curve;
    }

    /// <summary>A calibration plot: one curve per series, the diagonal, and the 1σ point marked.</summary>
    /// <param name="title">Figure title.</param>
    /// <param name="series">Normalised errors per series; empty ones are skipped.</param>
    public static Plot Calibration(string title, IReadOnlyList<CalibrationSeries> series)
    {
        ArgumentNullException.ThrowIfNull(series);
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var diagonal = plot.Add.Line(0, 0, 1, 1);
        diagonal.Color = Colors.Gray;
        diagonal.LinePattern = LinePattern.Dashed;
        diagonal.LegendText = "calibrated";
        for (int i = 0; i < series.Count; i++)
        {
            var s = series[i];
            if (s.NormalisedErrors.Count == 0)
            {
                continue;
            }

            var curve = CoverageCurve(s.NormalisedErrors);
            var line = plot.Add.Scatter(curve.Select(c => c.Expected).ToArray(), curve.Select(c => c.Observed).ToArray(), palette.GetColor(i));
            line.MarkerSize = 0;
            line.LineWidth = 2;
            var one = CoverageCurve(s.NormalisedErrors, 3)[1];   // k = 1
            line.LegendText = string.Create(CultureInfo.InvariantCulture, $"{s.Name}: {one.Observed:P0} within 1σ ({s.NormalisedErrors.Count} labels)");
            plot.Add.Marker(one.Expected, one.Observed, MarkerShape.FilledCircle, 8, palette.GetColor(i));
        }

        var mark = plot.Add.VerticalLine(Erf(1 / Math.Sqrt(2)), 1, Colors.LightGray, LinePattern.Dotted);
        mark.LegendText = "1σ (68.3 %)";
        plot.Axes.SetLimits(0, 1, 0, 1);
        plot.Title(title);
        plot.XLabel("expected fraction within kσ (Gaussian)");
        plot.YLabel("observed fraction within kσ");
        plot.ShowLegend(Alignment.LowerRight);
        return plot;
    }

    /// <summary>Writes a figure as PNG (<c>.png</c>) or SVG (<c>.svg</c>) by the extension of <paramref name="path"/>, atomically.</summary>
    /// <param name="plot">The figure.</param>
    /// <param name="path">Output file.</param>
    /// <param name="widthPx">Width in pixels (≥ 100).</param>
    /// <param name="heightPx">Height in pixels (≥ 100).</param>
    /// <exception cref="NotSupportedException">Another extension.</exception>
    public static void Save(Plot plot, string path, int widthPx = 800, int heightPx = 700)
    {
        ArgumentNullException.ThrowIfNull(plot);
        ArgumentNullException.ThrowIfNull(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(widthPx, 100);
        ArgumentOutOfRangeException.ThrowIfLessThan(heightPx, 100);
        string ext = Path.GetExtension(path).ToLowerInvariant();
        if (ext is not (".png" or ".svg"))
        {
            throw new NotSupportedException($"Cannot write a plot to '{path}': use a .png or .svg file name.");
        }

        byte[] bytes = ext == ".png"
            ? plot.GetImageBytes(widthPx, heightPx, ImageFormat.Png)
            : new System.Text.UTF8Encoding(false).GetBytes(plot.GetSvgXml(widthPx, heightPx));
        Gpff.IO.SafeFile.WriteAtomic(path, stream => stream.Write(bytes));
    }

    /// <summary>Number of sorted values ≤ x.</summary>
    private static int UpperBound(double[] sorted, double x)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) / 2;
            if (sorted[mid] <= x)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    private static double Erf(double x) => MathNet.Numerics.SpecialFunctions.Erf(x);
}
