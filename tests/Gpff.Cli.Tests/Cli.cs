using Gpff.Cli;
using Gpff.IO;

namespace Gpff.Cli.Tests;

/// <summary>Shared helpers of the command-line tests: the repository root and an in-process run of <c>gpff</c>.</summary>
internal static class Cli
{
    /// <summary>The repository root (the folder holding Gpff.sln), found above the test binaries.</summary>
    public static string Root => TestData.RepoRoot;

    /// <summary>Runs <c>gpff ARGS</c> in process; returns the exit code and what it wrote to stdout and stderr.</summary>
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = CommandLine.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    /// <summary>A small real data file written into <paramref name="dir"/>: the BaO and RhO2 frames (≤ 6 atoms) of the bundled pw.x set.</summary>
    /// <param name="dir">Where to write small.extxyz.</param>
    public static string SmallData(string dir)
    {
        var frames = ExtXyz.Read(Path.Combine(Root, "data", "barho-train.extxyz"))
            .Where(f => f.AtomCount <= 6 && (string)f.Info["config_type"] is "BaO" or "RhO2").ToList();
        var path = Path.Combine(dir, "small.extxyz");
        ExtXyz.Write(path, frames);
        return path;
    }
}
