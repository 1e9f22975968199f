namespace Gpff.Core.Tests;

/// <summary>Finds the repository's tests/data folder (copied real pw.x data; see tests/data/README.md).</summary>
internal static class TestData
{
    private static readonly Lazy<string> Root = new(() =>
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(System.IO.Path.Combine(dir.FullName, "Gpff.sln")))
        {
            dir = dir.Parent;
        }

        return dir is null
            ? throw new DirectoryNotFoundException($"No Gpff.sln above {AppContext.BaseDirectory}: cannot find tests/data.")
            : System.IO.Path.Combine(dir.FullName, "tests", "data");
    });

    public static string DataRoot => Root.Value;

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root.Value, .. parts]);
}
