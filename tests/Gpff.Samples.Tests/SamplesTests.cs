using System.Collections.Concurrent;
using Gpff.Phases;
using Gpff.Regression;
using Xunit;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Gpff.Samples.Tests;

/// <summary>
/// Every notebook in samples/ runs with the real C# kernel: a cell that throws or does not compile fails
/// the test, and every Gpff object a cell displays is rendered as HTML with a table or a picture, not as
/// its type name.
/// </summary>
public class SamplesTests
{
    private static readonly ConcurrentDictionary<string, Lazy<IReadOnlyList<CellResult>>> Runs = new();

    private static string SamplesFolder => Path.Combine(TestData.RepoRoot, "samples");

    public static TheoryData<string> Notebooks() => new(NotebookNames());

    private static List<string> NotebookNames() =>
        Directory.EnumerateFiles(SamplesFolder, "*.ipynb").Select(p => Path.GetFileName(p)).Order(StringComparer.Ordinal).ToList();

    /// <summary>Each notebook runs once per test run; the tests below look at the same results.</summary>
    internal static IReadOnlyList<CellResult> Run(string name) =>
        Runs.GetOrAdd(name, n => new Lazy<IReadOnlyList<CellResult>>(() => NotebookRunner.RunAsync(Path.Combine(SamplesFolder, n)).GetAwaiter().GetResult())).Value;

    [Fact]
    public void TheSamplesFolderHoldsTheTrainingAndHullNotebooks()
    {
        var names = NotebookNames();
        Assert.Contains("train-and-predict.ipynb", names);
        Assert.Contains("hull.ipynb", names);
    }

    [Theory]
    [MemberData(nameof(Notebooks))]
    public void EveryCellRunsAndGpffObjectsRenderAsHtml(string notebook)
    {
        var cells = Run(notebook);
        Assert.NotEmpty(cells);
        var failed = cells.FirstOrDefault(c => c.Failure is not null);
        Assert.True(failed is null, $"{notebook}: {failed?.Failure}\n--- code ---\n{failed?.Code}");
        foreach (var cell in cells)
        {
            foreach (var (value, formatted) in cell.Displays)
            {
                if (value is null || !IsGpffType(value.GetType()))
                {
                    continue;
                }

                Assert.True(formatted.TryGetValue("text/html", out var html), $"{notebook}, cell {cell.Index}: a {value.GetType().Name} was displayed without HTML (MIME types: {string.Join(", ", formatted.Keys)}).");
                Assert.True(IsRichHtml(html!), $"{notebook}, cell {cell.Index}: a {value.GetType().Name} was rendered without a table or a picture: {Shorten(html!)}");
                Assert.DoesNotContain(value.GetType().FullName!, html!, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public void TrainAndPredictShowsTheStructureTheReportAPredictionTheErrorsAndAPlot()
    {
        var displays = Run("train-and-predict.ipynb").SelectMany(c => c.Displays).ToList();
        string Html<T>() => displays.Where(d => d.Value is T).Select(d => d.Formatted["text/html"]).FirstOrDefault()
            ?? throw new Xunit.Sdk.XunitException($"train-and-predict.ipynb displays no {typeof(T).Name}.");
        var structure = Html<Structure>();
        Assert.Contains("<svg", structure, StringComparison.Ordinal);
        Assert.Contains("x (Å)", structure, StringComparison.Ordinal);
        var report = Html<TrainingReport>();
        Assert.Contains("leave-one-structure-out", report, StringComparison.Ordinal);
        Assert.Contains("<b>all</b>", report, StringComparison.Ordinal);
        Assert.Contains(" ± ", Html<GpPrediction>(), StringComparison.Ordinal);
        Assert.Contains("E MAE (meV/atom)", Html<IEnumerable<ErrorSummary>>(), StringComparison.Ordinal);
        Assert.Contains("data:image/png;base64,", Html<ScottPlot.Plot>(), StringComparison.Ordinal);
        Assert.Contains(Run("train-and-predict.ipynb").Select(c => c.StandardOutput), s => s.Contains("held out", StringComparison.Ordinal));
    }

    [Fact]
    public void TheHullNotebookShowsTheHullTableAndPlotAndStabilityProbabilities()
    {
        var displays = Run("hull.ipynb").SelectMany(c => c.Displays).ToList();
        var hull = displays.Single(d => d.Value is PhaseDiagram).Formatted["text/html"];
        Assert.Contains("BaRhO3-cubic", hull, StringComparison.Ordinal);
        Assert.Contains("data:image/png;base64,", hull, StringComparison.Ordinal);
        var stability = displays.Single(d => d.Value is StabilityReport).Formatted["text/html"];
        Assert.Contains("P(stable)", stability, StringComparison.Ordinal);
        Assert.Contains("data:image/png;base64,", stability, StringComparison.Ordinal);
    }

    internal static bool IsGpffType(Type t) =>
        (t.Namespace ?? string.Empty).StartsWith("Gpff", StringComparison.Ordinal) || t == typeof(ScottPlot.Plot)
        || t.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>) && IsGpffType(i.GetGenericArguments()[0]) && i.GetGenericArguments()[0] != typeof(object));

    internal static bool IsRichHtml(string html) =>
        html.Contains("<table", StringComparison.Ordinal) || html.Contains("<img", StringComparison.Ordinal) || html.Contains("<svg", StringComparison.Ordinal);

    private static string Shorten(string s) => s.Length > 300 ? s[..300] + "…" : s;
}
