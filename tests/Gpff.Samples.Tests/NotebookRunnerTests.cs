using System.Text.Json;
using Xunit;

namespace Gpff.Samples.Tests;

/// <summary>The runner itself: a failing cell is reported and stops the run; a package the tests do not carry is refused by name.</summary>
public sealed class NotebookRunnerTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("gpff-notebook-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Notebook(params string[] cells)
    {
        var json = new
        {
            cells = cells.Select(c => new Dictionary<string, object?>
            {
                ["cell_type"] = "code", ["execution_count"] = null, ["outputs"] = Array.Empty<object>(), ["source"] = c,
                ["metadata"] = new { polyglot_notebook = new { kernelName = "csharp" } },
            }),
            metadata = new { kernelspec = new { display_name = ".NET (C#)", language = "C#", name = ".net-csharp" } },
            nbformat = 4, nbformat_minor = 5,
        };
        string path = Path.Combine(_folder, "n.ipynb");
        File.WriteAllText(path, JsonSerializer.Serialize(json));
        return path;
    }

    [Fact]
    public async Task AThrowingCellIsReportedWithItsMessageAndStopsTheRun()
    {
        var cells = await NotebookRunner.RunAsync(Notebook("var x = 1 + 1;\nx", "throw new InvalidOperationException(\"the pw.x run diverged\");", "x"));
        Assert.Equal(2, cells.Count);
        Assert.Null(cells[0].Failure);
        Assert.Contains(cells[0].Displays, d => Equals(d.Value, 2));
        Assert.Contains("the pw.x run diverged", cells[1].Failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ACompileErrorFailsTheCell()
    {
        var cells = await NotebookRunner.RunAsync(Notebook("int y = \"not a number\";"));
        Assert.NotNull(cells.Single().Failure);
    }

    [Fact]
    public async Task APackageTheTestsDoNotCarryIsRefusedByName()
    {
        var cells = await NotebookRunner.RunAsync(Notebook("#r \"nuget: No.Such.Package, 1.0.0\"\n1"));
        var failure = cells.Single().Failure;
        Assert.Contains("No.Such.Package", failure, StringComparison.Ordinal);
        Assert.Contains("would download", failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CellsRunInTheNotebooksFolder()
    {
        File.WriteAllText(Path.Combine(_folder, "here.txt"), "found");
        var cells = await NotebookRunner.RunAsync(Notebook("System.IO.File.ReadAllText(\"here.txt\")"));
        Assert.Null(cells.Single().Failure);
        Assert.Contains(cells.Single().Displays, d => Equals(d.Value, "found"));
    }

    [Fact]
    public void AGpffPackageReferenceBecomesReferencesToTheBuiltAssembliesAndRunsTheExtension()
    {
        var (code, extensions, error) = NotebookRunner.RewritePackageReferences("#r \"nuget: Gpff.Interactive, 0.1.0\"\nvar a = 1;");
        Assert.Null(error);
        Assert.DoesNotContain("nuget:", code, StringComparison.Ordinal);
        Assert.Contains("Gpff.Interactive.dll\"", code, StringComparison.Ordinal);
        Assert.Contains("Gpff.Core.dll\"", code, StringComparison.Ordinal); // a dependency, as restoring the package brings it
        Assert.Contains("var a = 1;", code, StringComparison.Ordinal);
        Assert.EndsWith("Gpff.Interactive.extension.dib", Assert.Single(extensions), StringComparison.Ordinal);
    }
}
