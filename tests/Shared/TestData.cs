global using Gpff.Testing;

namespace Gpff.Testing;

/// <summary>
/// Locates files bundled with the repository, independent of ../shared: data/ at the root, and
/// tests/data/ (real pw.x outputs, see tests/data/README.md). Compiled into every test project
/// (Directory.Build.props).
/// </summary>
internal static class TestData
{
    public static string RepoRoot { get; } = FindRoot();

    public static string DataFile(string name) => Path.Combine(RepoRoot, "data", name);

    /// <summary>The tests/data folder.</summary>
    public static string DataRoot => Path.Combine(RepoRoot, "tests", "data");

    /// <summary>A file under tests/data, e.g. TestFile("qe", "special", "RhO2_relax.out").</summary>
    public static string TestFile(params string[] parts) => Path.Combine([DataRoot, .. parts]);

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Gpff.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Cannot find the repository root (Gpff.sln) above " + AppContext.BaseDirectory);
    }
}
