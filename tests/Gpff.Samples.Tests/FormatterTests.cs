using Gpff.Geometry;
using Gpff.Interactive;
using Gpff.IO;
using Gpff.Phases;
using Microsoft.DotNet.Interactive.Formatting;
using Xunit;

namespace Gpff.Samples.Tests;

/// <summary>The views themselves, through the formatter as a notebook calls it and directly.</summary>
public class FormatterTests
{
    private static Structure Frame(int index) => ExtXyz.ReadFrame(TestData.DataFile("barho-train.extxyz"), index);

    [Fact]
    public void AStructureFormatsAsHtmlWithItsCellAtomsAndPicture()
    {
        GpffFormatters.Register();
        GpffFormatters.Register(); // twice is harmless
        var s = Frame(0);
        string html = s.ToDisplayString(HtmlFormatter.MimeType);
        Assert.Contains(System.Net.WebUtility.HtmlEncode(s.HillFormula()), html, StringComparison.Ordinal);
        Assert.Contains("<svg", html, StringComparison.Ordinal);
        Assert.Equal(s.AtomCount + 3, CountRows(html)); // three cell rows, one per atom
        Assert.Contains(s.Positions[0].X.ToString("F4", System.Globalization.CultureInfo.InvariantCulture), html, StringComparison.Ordinal);
        Assert.Contains("F<sub>x</sub> (eV/Å)", html, StringComparison.Ordinal); // the frame carries forces
    }

    [Fact]
    public void ALargeStructureListsTheFirstAtomsAndCountsTheRest()
    {
        var big = Frame(0).Repeat(3, 3, 3);
        string html = GpffHtml.Structure(big);
        Assert.Equal(GpffHtml.MaxAtomRows + 3, CountRows(html));
        Assert.Contains($"first {GpffHtml.MaxAtomRows} of {big.AtomCount}", html, StringComparison.Ordinal);
    }

    [Fact]
    public void ThePictureDrawsTwelveCellEdgesAndOneDiscPerAtom()
    {
        var s = Frame(1);
        string svg = StructurePicture.Svg(s);
        Assert.Equal(12, Count(svg, "<line "));
        Assert.Equal(s.AtomCount, Count(svg, "<circle "));
    }

    [Fact]
    public void ErrorSummariesFormatAsOneRowPerComposition()
    {
        GpffFormatters.Register();
        IReadOnlyList<ErrorSummary> errors = [new("BaO", 3, 1.5, 20, 0.1, 25), new("all", 3, 1.5, 20, 0.1, 25)];
        string html = errors.ToDisplayString(HtmlFormatter.MimeType);
        Assert.Equal(2, CountRows(html));
        Assert.Contains("<td style=\"text-align:right\">1.50</td>", html, StringComparison.Ordinal);
        Assert.Contains("<b>all</b>", html, StringComparison.Ordinal);
    }

    [Fact]
    public void NaNErrorsShowAsADash()
    {
        string html = GpffHtml.Errors([new ErrorSummary("BaO", 1, double.NaN, 20, double.NaN, 25)]);
        Assert.Equal(2, Count(html, ">–<"));
    }

    [Fact]
    public void TheHullViewListsEveryEntryAndEmbedsThePlot()
    {
        var entries = PhaseEntryCsv.Read(TestData.DataFile("barho-hull-example.csv"));
        var hull = new PhaseDiagram(entries, 0, [Composition.Parse("BaO"), Composition.Parse("RhO2")]);
        string html = GpffHtml.Hull(hull);
        Assert.Equal(hull.Entries.Count, CountRows(html));
        Assert.Equal(hull.StableEntries.Count, Count(html, "✔"));
        Assert.Contains("data:image/png;base64,", html, StringComparison.Ordinal);
    }

    [Fact]
    public void ToDumpGivesViewsOfGpffObjectsAndLeavesOthersAlone()
    {
        var s = Frame(2);
        var view = Assert.IsType<StructureView>(GpffDump.ToDump(s));
        Assert.Equal(s.AtomCount, view.Positions.Count);
        Assert.Equal(s.Cell.Row1.Y, view.CellA[1][1]);
        var other = new object();
        Assert.Same(other, GpffDump.ToDump(other));
        Assert.Null(GpffDump.ToDump((object?)null));
    }

    private static int CountRows(string html) => Count(html, "<tr>") - Count(html, "<thead><tr>");

    private static int Count(string s, string what)
    {
        int n = 0;
        for (int i = s.IndexOf(what, StringComparison.Ordinal); i >= 0; i = s.IndexOf(what, i + what.Length, StringComparison.Ordinal))
        {
            n++;
        }

        return n;
    }
}
