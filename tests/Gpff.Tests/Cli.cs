using Gpff.Cli;

namespace Gpff.Tests;

/// <summary>Shared helpers of the command-line tests: the repository root and an in-process run of <c>gpff</c>.</summary>
internal static class Cli
{
    /// <summary>The repository root (the folder holding Gpff.sln), found above the test binaries.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>Runs <c>gpff ARGS</c> in process; returns the exit code and what it wrote to stdout and stderr.</summary>
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = CommandLine.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

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
