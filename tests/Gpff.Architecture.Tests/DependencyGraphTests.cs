using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Text.Json;
using System.Xml.Linq;
using Xunit;

namespace Gpff.Architecture.Tests;

/// <summary>
/// The dependency graph of docs/DESIGN.md, checked on what was built: the C# compiler records an
/// assembly reference only when the code uses something from it, so comparing each assembly's
/// references with its project's <c>ProjectReference</c>s shows an arrow nobody uses and a use with
/// no arrow of its own (one that only compiles through a transitive reference).
/// </summary>
public class DependencyGraphTests
{
    /// <summary>Layers from the bottom up; a project may depend only on projects earlier in the list.</summary>
    private static readonly string[] Layers =
    [
        "Gpff.Core", "Gpff.Descriptors", "Gpff.Kernels", "Gpff.Regression", "Gpff.QuantumEspresso",
        "Gpff.Dynamics", "Gpff.Slurm", "Gpff.Phases", "Gpff.Phases.Plotting", "Gpff", "Gpff.Interactive", "Gpff.Cli",
    ];

    public static TheoryData<string> Projects() => new(Layers);

    [Theory]
    [MemberData(nameof(Projects))]
    public void EveryProjectReferenceIsUsedAndEveryUseHasItsReference(string project)
    {
        var declared = ProjectReferences(project);
        var used = AssemblyReferences(project);
        var unused = declared.Except(used).Order().ToList();
        var undeclared = used.Except(declared).Order().ToList();
        Assert.True(unused.Count == 0, $"{project}.csproj references {string.Join(", ", unused)} but its code uses nothing from it.");
        Assert.True(undeclared.Count == 0, $"{project} uses {string.Join(", ", undeclared)} without a ProjectReference of its own.");
    }

    [Theory]
    [MemberData(nameof(Projects))]
    public void NoLayerDependsOnALayerAboveIt(string project)
    {
        int level = Array.IndexOf(Layers, project);
        var above = ProjectReferences(project).Where(r => Array.IndexOf(Layers, r) >= level || Array.IndexOf(Layers, r) < 0).ToList();
        Assert.True(above.Count == 0, $"{project} depends on {string.Join(", ", above)}, which is not below it in {string.Join(" < ", Layers)}.");
    }

    [Fact]
    public void TheQuantumEspressoAndDynamicsLayersStandOnCoreAlone()
    {
        Assert.Equal(["Gpff.Core"], ProjectReferences("Gpff.QuantumEspresso"));
        Assert.Equal(["Gpff.Core"], ProjectReferences("Gpff.Dynamics"));
    }

    [Theory]
    [InlineData("Gpff")]
    [InlineData("Gpff.Phases")]
    [InlineData("Gpff.Regression")]
    [InlineData("Gpff.Dynamics")]
    [InlineData("Gpff.QuantumEspresso")]
    public void OnlyThePlottingPackagePullsGraphicsLibraries(string project)
    {
        // What `dotnet list package --include-transitive` reads: the restore's resolved packages.
        var packages = ResolvedPackages(project);
        Assert.Contains(ResolvedPackages("Gpff.Phases.Plotting"), p => p.StartsWith("ScottPlot", StringComparison.OrdinalIgnoreCase)); // the check can see them
        var graphics = packages.Where(p => p.StartsWith("ScottPlot", StringComparison.OrdinalIgnoreCase) || p.StartsWith("SkiaSharp", StringComparison.OrdinalIgnoreCase)
            || p.StartsWith("HarfBuzzSharp", StringComparison.OrdinalIgnoreCase)).ToList();
        Assert.True(graphics.Count == 0, $"{project} pulls {string.Join(", ", graphics)}.");
    }

    private static string Root => TestData.RepoRoot;

    private static string ProjectDirectory(string project) =>
        Path.Combine(Root, project == "Gpff.Cli" ? "tools" : "src", project);

    private static HashSet<string> ProjectReferences(string project)
    {
        var csproj = XDocument.Load(Path.Combine(ProjectDirectory(project), project + ".csproj"));
        return csproj.Descendants("ProjectReference")
            .Select(e => Path.GetFileNameWithoutExtension(e.Attribute("Include")!.Value.Replace('\\', '/')))
            .ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>The Gpff assemblies that the built assembly of a project references (its metadata).</summary>
    private static HashSet<string> AssemblyReferences(string project)
    {
        // This test assembly sits in tests/X/bin/CONFIG/TFM/; the project's output in its own bin/CONFIG/TFM/.
        var tfm = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string dll = Path.Combine(ProjectDirectory(project), "bin", tfm.Parent!.Name, tfm.Name, project + ".dll");
        Assert.True(File.Exists(dll), $"{dll} is not built (build the solution first).");
        using var stream = File.OpenRead(dll);
        using var pe = new PEReader(stream);
        var reader = pe.GetMetadataReader();
        return reader.AssemblyReferences
            .Select(h => reader.GetString(reader.GetAssemblyReference(h).Name))
            .Where(n => n == "Gpff" || n.StartsWith("Gpff.", StringComparison.Ordinal))
            .ToHashSet(StringComparer.Ordinal);
    }

    private static List<string> ResolvedPackages(string project)
    {
        string assets = Path.Combine(ProjectDirectory(project), "obj", "project.assets.json");
        Assert.True(File.Exists(assets), $"{assets} is missing (restore the solution first).");
        using var doc = JsonDocument.Parse(File.ReadAllText(assets));
        return doc.RootElement.GetProperty("libraries").EnumerateObject()
            .Where(l => l.Value.GetProperty("type").GetString() == "package")
            .Select(l => l.Name.Split('/')[0])
            .ToList();
    }
}
