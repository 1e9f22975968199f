using System.Globalization;
using ScottPlot;

namespace Gpff.Phases.Plotting;

/// <summary>
/// Convex-hull figures with ScottPlot 5: the binary hull (formation enthalpy per atom against
/// composition, stable phases joined, unstable ones labelled with their distance above the hull,
/// error bars from the energy standard deviations) and the ternary hull (composition triangle with
/// stable phases and tie lines). PNG or SVG by file extension. With more than ten unstable entries
/// only those within <see cref="LabelWindowEvPerAtom"/> of the hull are labelled; all are drawn.
/// </summary>
public static class HullPlot
{
    private static readonly Color StableColor = Color.FromHex("#1f4e99");
    private static readonly Color UnstableColor = Color.FromHex("#c0392b");
    private static readonly Color TieLineColor = Color.FromHex("#7f8c8d");

    /// <summary>
    /// Creates the figure for a two- or three-component hull.
    /// </summary>
    /// <param name="diagram">The hull.</param>
    /// <param name="stability">When given, stability probabilities are added to the labels.</param>
    /// <param name="title">Figure title; default names the system and pressure.</param>
    /// <exception cref="NotSupportedException">The hull has not 2 or 3 components.</exception>
    public static Plot Create(PhaseDiagram diagram, StabilityReport? stability = null, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(diagram);
        title ??= $"{string.Join("–", diagram.Terminals.Select(t => t.Formula))} hull at {diagram.PressureGpa.ToString("0.###", CultureInfo.InvariantCulture)} GPa";
        return diagram.Dimension switch
        {
            2 => CreateBinary(diagram, stability, title),
            3 => CreateTernary(diagram, stability, title),
            _ => throw new NotSupportedException($"Hull plots are drawn for 2 or 3 components; this hull has {diagram.Dimension} ({string.Join(", ", diagram.Terminals.Select(t => t.Formula))})."),
        };
    }

    /// <summary>Writes the figure as PNG (<c>.png</c>) or SVG (<c>.svg</c>), chosen by the extension of <paramref name="path"/>, atomically (a temporary file renamed into place).</summary>
    /// <param name="diagram">The hull.</param>
    /// <param name="path">Output file, ending in .png or .svg.</param>
    /// <param name="widthPx">Width in pixels.</param>
    /// <param name="heightPx">Height in pixels.</param>
    /// <param name="stability">Optional stability probabilities for the labels.</param>
    /// <exception cref="NotSupportedException">Unknown extension or a hull of other than 2 or 3 components.</exception>
    public static void Save(PhaseDiagram diagram, string path, int widthPx = 900, int heightPx = 650, StabilityReport? stability = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(widthPx, 100);
        ArgumentOutOfRangeException.ThrowIfLessThan(heightPx, 100);
        string ext = Path.GetExtension(path).ToLowerInvariant();
        if (ext is not (".png" or ".svg"))
        {
            throw new NotSupportedException($"Cannot write a hull plot to '{path}': use a .png or .svg file name.");
        }

        var plot = Create(diagram, stability);
        byte[] bytes = ext == ".png"
            ? plot.GetImageBytes(widthPx, heightPx, ImageFormat.Png)
            : new System.Text.UTF8Encoding(false).GetBytes(plot.GetSvgXml(widthPx, heightPx));
        Gpff.IO.SafeFile.WriteAtomic(path, stream => stream.Write(bytes)); // never a half-written figure
    }

    private static Plot CreateBinary(PhaseDiagram d, StabilityReport? stability, string title)
    {
        var plot = new Plot();
        string a = d.Terminals[0].Formula, b = d.Terminals[1].Formula;
        var stable = d.StableEntries.OrderBy(e => e.Coordinates[1]).ToArray();
        var unstable = d.UnstableEntries;

        plot.Add.HorizontalLine(0, 1, Colors.Gray, LinePattern.Dotted);

        var hull = plot.Add.Scatter(stable.Select(e => e.Coordinates[1]).ToArray(), stable.Select(e => e.FormationEnthalpyPerAtomEv).ToArray(), StableColor);
        hull.LineWidth = 2;
        hull.MarkerSize = 10;
        hull.MarkerShape = MarkerShape.FilledCircle;
        hull.LegendText = "stable (hull)";

        if (unstable.Count > 0)
        {
            var pts = plot.Add.ScatterPoints(unstable.Select(e => e.Coordinates[1]).ToArray(), unstable.Select(e => e.FormationEnthalpyPerAtomEv).ToArray(), UnstableColor);
            pts.MarkerShape = MarkerShape.OpenCircle;
            pts.MarkerSize = 9;
            pts.LegendText = "above hull";
        }

        var withStd = d.Entries.Where(e => e.Entry.EnergyStdEv is > 0).ToArray();
        if (withStd.Length > 0)
        {
            var bars = plot.Add.ErrorBar(
                withStd.Select(e => e.Coordinates[1]).ToArray(),
                withStd.Select(e => e.FormationEnthalpyPerAtomEv).ToArray(),
                withStd.Select(e => e.Entry.EnergyStdEv!.Value / e.Entry.NumAtoms).ToArray());
            bars.Color = Colors.Black.WithAlpha(0.6);
            bars.LegendText = "±1σ (energy)";
        }

        double yMin = d.Entries.Min(e => e.FormationEnthalpyPerAtomEv);
        double yMax = Math.Max(0, d.Entries.Max(e => e.FormationEnthalpyPerAtomEv));
        double span = Math.Max(yMax - yMin, 1e-3);
        foreach (var e in d.StableEntries.Where(e => Labelled(d, e)))
        {
            string label = e.Name;
            if (stability is not null)
            {
                label += $"\np = {PStable(d, stability, e)}";
            }

            var text = plot.Add.Text(label, e.Coordinates[1], e.FormationEnthalpyPerAtomEv);
            text.LabelFontSize = 12;
            text.LabelFontColor = StableColor;
            text.LabelAlignment = Alignment.UpperCenter;
            text.OffsetY = 10;
        }

        // Unstable entries at one composition whose points lie closer than a label's height (polymorphs within a
        // few meV/atom) share one label, a line each from the highest to the lowest, so that no text overlaps.
        double yLow = yMin - 0.25 * span, yHigh = yMax + 0.3 * span;
        foreach (var group in UnstableLabelGroups(d.UnstableEntries.Where(e => Labelled(d, e)), ClusterFraction * (yHigh - yLow)))
        {
            string label = group.Length == 1
                ? $"{group[0].Name}\n{AboveHull(group[0])}" + (stability is null ? "" : $"\np = {PStable(d, stability, group[0])}")
                : string.Join("\n", group.Select(e => $"{e.Name}  {AboveHull(e)}" + (stability is null ? "" : $", p = {PStable(d, stability, e)}")));
            var text = plot.Add.Text(label, group[0].Coordinates[1], group.Average(e => e.FormationEnthalpyPerAtomEv));
            text.LabelFontSize = 12;
            text.LabelFontColor = UnstableColor;
            text.LabelAlignment = Alignment.MiddleLeft;
            text.OffsetX = 10;
        }

        plot.Axes.SetLimits(-0.08, 1.08, yLow, yHigh);
        plot.Title(title);
        plot.XLabel($"x in ({a})₁₋ₓ({b})ₓ — atom fraction of {b}");
        plot.YLabel("Formation enthalpy (eV/atom)");
        plot.ShowLegend(Alignment.LowerRight);
        return plot;
    }

    private static Plot CreateTernary(PhaseDiagram d, StabilityReport? stability, string title)
    {
        var plot = new Plot();
        Coordinates[] corners = [new(0, 0), new(1, 0), new(0.5, Math.Sqrt(3) / 2)];
        Coordinates Point(IReadOnlyList<double> x) =>
            new(x[0] * corners[0].X + x[1] * corners[1].X + x[2] * corners[2].X, x[0] * corners[0].Y + x[1] * corners[1].Y + x[2] * corners[2].Y);

        var triangle = plot.Add.Polygon([.. corners]);
        triangle.FillColor = Colors.Transparent;
        triangle.LineColor = Colors.Black;
        triangle.LineWidth = 1.5f;

        bool first = true;
        foreach (var (ea, eb) in d.TieLines)
        {
            var line = plot.Add.Line(Point(ea.Coordinates), Point(eb.Coordinates));
            line.Color = TieLineColor;
            line.LineWidth = 1.2f;
            if (first)
            {
                line.LegendText = "tie lines";
                first = false;
            }
        }

        var unstable = d.UnstableEntries;
        if (unstable.Count > 0)
        {
            var pts = plot.Add.Markers(unstable.Select(e => Point(e.Coordinates)).ToArray(), MarkerShape.OpenCircle, 8, UnstableColor);
            pts.LegendText = "above hull";
        }

        var stable = d.StableEntries;
        var sm = plot.Add.Markers(stable.Select(e => Point(e.Coordinates)).ToArray(), MarkerShape.FilledCircle, 11, StableColor);
        sm.LegendText = "stable";

        foreach (var e in d.Entries.Where(e => Labelled(d, e)))
        {
            var p = Point(e.Coordinates);
            string label = e.Name;
            if (!e.IsStable)
            {
                label += $" (+{(e.EnergyAboveHullEvPerAtom * 1000).ToString("0", CultureInfo.InvariantCulture)} meV)";
            }

            if (stability is not null)
            {
                label += $" p={stability.Entries[IndexOf(d, e)].PStable.ToString("0.00", CultureInfo.InvariantCulture)}";
            }

            var text = plot.Add.Text(label, p.X, p.Y);
            text.LabelFontSize = e.IsStable ? 13 : 11;
            text.LabelBold = e.IsStable;
            text.LabelFontColor = e.IsStable ? StableColor : UnstableColor;
            bool top = p.Y > corners[2].Y - 0.05;
            bool left = p.X < 0.5;
            text.LabelAlignment = top ? Alignment.LowerCenter : left ? Alignment.UpperRight : Alignment.UpperLeft;
            text.OffsetX = top ? 0 : left ? -6 : 6;
            text.OffsetY = top ? -8 : 6;
        }

        plot.HideAxesAndGrid();
        plot.Axes.SetLimits(-0.18, 1.18, -0.1, Math.Sqrt(3) / 2 + 0.1);
        plot.Axes.SquareUnits();
        plot.Title(title);
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    /// <summary>Distance above the hull (eV/atom) up to which unstable entries are labelled when there are many.</summary>
    public const double LabelWindowEvPerAtom = 0.05;

    /// <summary>
    /// Stable entries are always labelled; unstable ones too when there are at most 10 of them, otherwise only
    /// the lowest of each composition within <see cref="LabelWindowEvPerAtom"/> of the hull (readability).
    /// </summary>
    private static bool Labelled(PhaseDiagram d, HullEntry e)
    {
        if (e.IsStable || d.UnstableEntries.Count <= 10)
        {
            return true;
        }

        return e.EnergyAboveHullEvPerAtom <= LabelWindowEvPerAtom
            && !d.UnstableEntries.Any(o => !ReferenceEquals(o, e)
                && o.Coordinates.Zip(e.Coordinates).All(z => Math.Abs(z.First - z.Second) < 1e-9)
                && o.EnergyAboveHullEvPerAtom < e.EnergyAboveHullEvPerAtom);
    }

    /// <summary>Fraction of the y-axis range below which two unstable points of one composition share a label (about the height of a three-line label in the default figure).</summary>
    private const double ClusterFraction = 0.1;

    /// <summary>
    /// Groups unstable entries for labelling: entries of one composition (x within 0.005) whose formation enthalpies,
    /// sorted from highest to lowest, are closer than <paramref name="gapEvPerAtom"/> to the previous one.
    /// </summary>
    private static IEnumerable<HullEntry[]> UnstableLabelGroups(IEnumerable<HullEntry> entries, double gapEvPerAtom)
    {
        var sorted = entries.OrderBy(e => e.Coordinates[1]).ThenByDescending(e => e.FormationEnthalpyPerAtomEv).ToList();
        var group = new List<HullEntry>();
        foreach (var e in sorted)
        {
            if (group.Count > 0
                && (Math.Abs(e.Coordinates[1] - group[^1].Coordinates[1]) > 0.005
                    || group[^1].FormationEnthalpyPerAtomEv - e.FormationEnthalpyPerAtomEv > gapEvPerAtom))
            {
                yield return [.. group];
                group.Clear();
            }

            group.Add(e);
        }

        if (group.Count > 0)
        {
            yield return [.. group];
        }
    }

    private static string AboveHull(HullEntry e) => $"+{(e.EnergyAboveHullEvPerAtom * 1000).ToString("0.#", CultureInfo.InvariantCulture)} meV/atom";

    private static string PStable(PhaseDiagram d, StabilityReport stability, HullEntry e) =>
        stability.Entries[IndexOf(d, e)].PStable.ToString("0.00", CultureInfo.InvariantCulture);

    private static int IndexOf(PhaseDiagram d, HullEntry e)
    {
        for (int i = 0; i < d.Entries.Count; i++)
        {
            if (ReferenceEquals(d.Entries[i], e))
            {
                return i;
            }
        }

        return -1;
    }
}
