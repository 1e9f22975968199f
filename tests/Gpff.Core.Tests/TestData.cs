namespace Gpff.Core.Tests;

/// <summary>Locates files bundled with the repository (data/ at the root), independent of ../shared.</summary>
internal static class TestData
{
    public static string RepoRoot { get; } = FindRoot();

    public static string DataFile(string name) => Path.Combine(RepoRoot, "data", name);

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
