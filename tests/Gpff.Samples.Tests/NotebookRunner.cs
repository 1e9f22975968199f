using System.Text;
using System.Text.RegularExpressions;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.CSharp;
using Microsoft.DotNet.Interactive.Documents;
using Microsoft.DotNet.Interactive.Documents.Jupyter;
using Microsoft.DotNet.Interactive.Events;

namespace Gpff.Samples.Tests;

/// <summary>What one code cell produced.</summary>
/// <param name="Index">Index of the cell in the notebook (markdown cells count).</param>
/// <param name="Code">The code as submitted (after the package references were rewritten).</param>
/// <param name="Displays">Values displayed or returned: the object and its formatted values by MIME type.</param>
/// <param name="StandardOutput">What the cell wrote to Console.Out.</param>
/// <param name="Failure">The failure message, or null when the cell ran.</param>
public sealed record CellResult(int Index, string Code, IReadOnlyList<(object? Value, IReadOnlyDictionary<string, string> Formatted)> Displays, string StandardOutput, string? Failure);

/// <summary>
/// Runs a notebook (.ipynb) with the real .NET Interactive C# kernel, in process, cell by cell, with the
/// notebook's folder as the current directory (where Polyglot Notebooks runs it too).
/// <para>
/// A test may not download anything, so <c>#r "nuget: P[, version]"</c> is rewritten to <c>#r</c> of the
/// assemblies this test project was built with: P.dll and every assembly it references that lies next to
/// it (what restoring the package would bring). A package with an <c>extension.dib</c> next to its assembly
/// (Gpff.Interactive's, copied to the output from the file that is packed into
/// <c>interactive-extensions/dotnet</c>) has that script run afterwards, as .NET Interactive does when it
/// loads the package. A package this project does not carry fails the cell with a message that says so;
/// <c>#i</c> (package sources) is dropped.
/// </para>
/// </summary>
public static partial class NotebookRunner
{
    private static readonly Lock Gate = new();

    /// <summary>Runs every C# code cell of the notebook in order; stops at the first failing cell.</summary>
    /// <param name="path">The .ipynb file.</param>
    public static async Task<IReadOnlyList<CellResult>> RunAsync(string path)
    {
        var document = Notebook.Parse(await File.ReadAllTextAsync(path), new KernelInfoCollection { new Microsoft.DotNet.Interactive.Documents.KernelInfo("csharp", languageName: "C#", aliases: ["c#", "C#"]) });
        var results = new List<CellResult>();
        string? previous = Environment.CurrentDirectory;
        // The current directory is process-wide: notebooks run one at a time (the assembly disables test parallelism too).
        lock (Gate)
        {
            Environment.CurrentDirectory = Path.GetDirectoryName(Path.GetFullPath(path))!;
            try
            {
                // As Polyglot Notebooks create it: the kernel helpers (HTML(), display(), ...) are in scope.
                using var kernel = new CSharpKernel().UseKernelHelpers();
                for (int i = 0; i < document.Elements.Count; i++)
                {
                    var element = document.Elements[i];
                    if (element.KernelName is "markdown" or "md")
                    {
                        continue;
                    }

                    if (element.KernelName is not (null or "csharp" or "C#"))
                    {
                        results.Add(new CellResult(i, element.Contents, [], string.Empty, $"cell {i} is in kernel '{element.KernelName}'; the samples are run with the C# kernel only."));
                        break;
                    }

                    var (code, extensions, error) = RewritePackageReferences(element.Contents);
                    if (error is not null)
                    {
                        results.Add(new CellResult(i, element.Contents, [], string.Empty, $"cell {i}: {error}"));
                        break;
                    }

                    var result = Submit(kernel, code, i);
                    results.Add(result);
                    if (result.Failure is not null)
                    {
                        break;
                    }

                    foreach (var extension in extensions)
                    {
                        var ext = CodeSubmission.Parse(File.ReadAllText(extension));
                        foreach (var e in ext.Elements.Where(e => e.KernelName is "csharp" && !string.IsNullOrWhiteSpace(e.Contents)))
                        {
                            var r = Submit(kernel, e.Contents, i);
                            if (r.Failure is not null)
                            {
                                results.Add(r with { Failure = $"{extension}: {r.Failure}" });
                                return results;
                            }
                        }
                    }
                }
            }
            finally
            {
                Environment.CurrentDirectory = previous;
            }
        }

        return results;
    }

    private static CellResult Submit(CSharpKernel kernel, string code, int index)
    {
        var result = kernel.SendAsync(new SubmitCode(code)).GetAwaiter().GetResult();
        var displays = new List<(object?, IReadOnlyDictionary<string, string>)>();
        var stdout = new StringBuilder();
        string? failure = null;
        foreach (var e in result.Events)
        {
            switch (e)
            {
                case StandardOutputValueProduced o:
                    stdout.Append(string.Join("", o.FormattedValues.Where(f => f.MimeType == "text/plain").Select(f => f.Value)));
                    break;
                case StandardErrorValueProduced:
                    break;
                case DisplayEvent d:
                    displays.Add((d.Value, d.FormattedValues.ToDictionary(f => f.MimeType, f => f.Value)));
                    break;
                case CommandFailed f:
                    failure = $"cell {index} failed: {f.Message}";
                    break;
            }
        }

        return new CellResult(index, code, displays, stdout.ToString(), failure);
    }

    /// <summary>Rewrites <c>#r "nuget: …"</c> lines to references of built assemblies (see the class remarks).</summary>
    /// <param name="code">A cell's code.</param>
    internal static (string Code, IReadOnlyList<string> Extensions, string? Error) RewritePackageReferences(string code)
    {
        var sb = new StringBuilder();
        var extensions = new List<string>();
        foreach (var line in code.Split('\n'))
        {
            var t = line.Trim();
            if (t.StartsWith("#i ", StringComparison.Ordinal))
            {
                continue;
            }

            var m = NugetReference().Match(t);
            if (!m.Success)
            {
                sb.Append(line).Append('\n');
                continue;
            }

            string package = m.Groups["name"].Value.Trim();
            string dll = Path.Combine(AppContext.BaseDirectory, package + ".dll");
            if (!File.Exists(dll))
            {
                return (code, [], $"#r \"nuget: {package}\" would download {package}; a notebook in samples/ may reference only packages the test project Gpff.Samples.Tests carries (add a reference there).");
            }

            foreach (var assembly in Closure(dll))
            {
                sb.Append("#r \"").Append(assembly).Append("\"\n");
            }

            string extension = Path.Combine(AppContext.BaseDirectory, package + ".extension.dib");
            if (File.Exists(extension))
            {
                extensions.Add(extension);
            }
        }

        return (sb.ToString(), extensions, null);
    }

    /// <summary>The assembly and, recursively, every assembly it references that lies in the test's output folder.</summary>
    private static List<string> Closure(string dll)
    {
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var order = new List<string>();
        void Visit(string path)
        {
            if (!seen.Add(path))
            {
                return;
            }

            order.Add(path);
            foreach (var r in Referenced(path))
            {
                string candidate = Path.Combine(AppContext.BaseDirectory, r + ".dll");
                if (File.Exists(candidate))
                {
                    Visit(candidate);
                }
            }
        }

        Visit(dll);
        return order;
    }

    private static IEnumerable<string> Referenced(string path)
    {
        using var stream = File.OpenRead(path);
        using var pe = new System.Reflection.PortableExecutable.PEReader(stream);
        var md = System.Reflection.Metadata.PEReaderExtensions.GetMetadataReader(pe);
        return md.AssemblyReferences.Select(h => md.GetString(md.GetAssemblyReference(h).Name)).ToList();
    }

    [GeneratedRegex("""^#r\s+"nuget:\s*(?<name>[^,"]+)(,[^"]*)?"\s*$""")]
    private static partial Regex NugetReference();
}
