using System.Diagnostics;
using Xunit;

namespace Gpff.Slurm.Tests;

/// <summary>
/// The one-node Slurm cluster the live tests run against: started (idempotently) by tools/slurm/start-local-cluster.sh
/// when this process is root, else it must be up already. When it cannot be had the tests FAIL with a message that says
/// how to run them; they never pass or skip silently.
/// </summary>
public sealed class SlurmCluster
{
    private static readonly Lazy<string?> Problem = new(Start);

    /// <summary>Fails the calling test unless the cluster accepts jobs.</summary>
    public static void Require()
    {
        Assert.True(Problem.Value is null, Problem.Value);
    }

    /// <summary>The gpff tool as the array tasks run it: dotnet and the built Gpff.Cli.dll.</summary>
    public static string GpffCommand()
    {
        var tfm = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string dll = Path.Combine(TestData.RepoRoot, "tools", "Gpff.Cli", "bin", tfm.Parent!.Name, tfm.Name, "Gpff.Cli.dll");
        Assert.True(File.Exists(dll), $"{dll} is not built (build the solution first).");
        string dotnet = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        return SlurmJobScript.Quote(dotnet) + " " + SlurmJobScript.Quote(dll);
    }

    /// <summary>Runs a command and returns (exit code, stdout + stderr).</summary>
    public static (int Code, string Output) Run(string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        try
        {
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEndAsync();
            string output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, output + err.Result);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (127, e.Message);
        }
    }

    private static string? Start()
    {
        const string how = "The Slurm tests need a running one-node cluster: as root, apt-get install slurm-wlm munge and run tools/slurm/start-local-cluster.sh (.ci/run does both), then rerun the tests.";
        string script = Path.Combine(TestData.RepoRoot, "tools", "slurm", "start-local-cluster.sh");
        bool root = Run("id", "-u").Output.Trim() == "0";
        if (root)
        {
            var (code, output) = Run("bash", script);
            if (code != 0)
            {
                return $"{script} failed (exit code {code}): {output.Trim()} {how}";
            }
        }

        var (sc, so) = Run("sinfo", "--noheader", "--format=%T");
        if (sc != 0 || !so.Split('\n').Any(l => l.Trim() is "idle" or "mixed" or "allocated" or "completing"))
        {
            return $"slurmctld is not reachable or has no usable node (sinfo: exit {sc}, '{so.Trim()}'){(root ? "" : " and this process is not root, so it cannot start it")}. {how}";
        }

        return null;
    }
}
