using ScottPlot;

namespace Gpff.Phases.Plotting;

/// <summary>
/// Stability across pressures: the energy above the hull of every entry against pressure, one line per entry, with the
/// 5–95 % band of its sampled distribution (from <see cref="HullUncertainty"/>) as a vertical bar at each pressure.
/// </summary>
public static class StabilityPlots
{
    /// <summary>Creates the figure from the stability reports of the same entries at several pressures.</summary>
    /// <param name="reports">One report per pressure (entries matched by name; an entry missing at a pressure has no point there).</param>
    /// <param name="title">Figure title; default names the system.</param>
    /// <exception cref="ArgumentException">No reports.</exception>
    public static Plot EnergyAboveHullVersusPressure(IReadOnlyList<StabilityReport> reports, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(reports);
        if (reports.Count == 0)
        {
            throw new ArgumentException("at least one stability report is needed.", nameof(reports));
        }

        var ordered = reports.OrderBy(r => r.Diagram.PressureGpa).ToArray();
        var names = ordered.SelectMany(r => r.Entries.Select(e => e.Name)).Distinct(StringComparer.Ordinal).ToArray();
        title ??= $"{string.Join("–", ordered[0].Diagram.Terminals.Select(t => t.Formula))}: energy above the hull";
        double pMin = ordered[0].Diagram.PressureGpa, pMax = ordered[^1].Diagram.PressureGpa;
        double spread = Math.Max(pMax - pMin, 1.0) * 0.012;   // side-by-side offsets so that bars do not hide each other
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        for (int k = 0; k < names.Length; k++)
        {
            string name = names[k];
            var color = palette.GetColor(k);
            double offset = (k - (names.Length - 1) / 2.0) * spread;
            var xs = new List<double>();
            var ys = new List<double>();
            foreach (var r in ordered)
            {
                var e = r.Entries.FirstOrDefault(x => x.Name == name);
                if (e is null)
                {
                    continue;
                }

                double x = r.Diagram.PressureGpa + offset;
                xs.Add(x);
                ys.Add(e.HullEntry.EnergyAboveHullEvPerAtom * 1000);
                var bar = plot.Add.Line(x, e.EnergyAboveHull.Q05 * 1000, x, e.EnergyAboveHull.Q95 * 1000);
                bar.Color = color.WithAlpha(0.6);
                bar.LineWidth = 2;
            }

            var line = plot.Add.Scatter(xs.ToArray(), ys.ToArray(), color);
            line.MarkerSize = 8;
            line.LegendText = name;
        }

        plot.Add.HorizontalLine(0, 1, Colors.Gray, LinePattern.Dotted);
        plot.Title(title);
        plot.XLabel("pressure (GPa)");
        plot.YLabel("energy above hull (meV/atom); bars: 5–95 %");
        double pad = Math.Max(pMax - pMin, 1.0) * 0.08;
        plot.Axes.SetLimitsX(pMin - pad, pMax + pad);
        plot.ShowLegend(Alignment.UpperLeft);
        return plot;
    }

    /// <summary>Writes <see cref="EnergyAboveHullVersusPressure"/> as PNG or SVG (by extension), atomically.</summary>
    /// <param name="reports">One report per pressure.</param>
    /// <param name="path">Output file, .png or .svg.</param>
    /// <param name="widthPx">Width in pixels.</param>
    /// <param name="heightPx">Height in pixels.</param>
    public static void SaveEnergyAboveHullVersusPressure(IReadOnlyList<StabilityReport> reports, string path, int widthPx = 900, int heightPx = 650) =>
        DiagnosticPlots.Save(EnergyAboveHullVersusPressure(reports), path, widthPx, heightPx);
}
