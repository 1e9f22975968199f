using System.Diagnostics;

namespace Gpff.Cli.Tests;

/// <summary>
/// samples/barho.cs, the study as a file-based C# program, runs as a user runs it (<c>dotnet run samples/barho.cs</c>,
/// with the .NET 10 SDK that builds this repository) in its reduced mode, and writes the tables and the plots.
/// </summary>
public class SampleScriptTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "gpff-sample-" + Guid.NewGuid().ToString("N"));

    public SampleScriptTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task TheBaRhOScriptRunsQuickAndWritesTheHullsAndPlots()
    {
        // The configuration of this test build, so that the referenced projects are already built.
        var tfm = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string configuration = tfm.Parent!.Name;
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Cli.Root,
        };
        foreach (string a in new[] { "run", "-c", configuration, "samples/barho.cs", "--", "--quick", _dir })
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(20));
        await p.WaitForExitAsync(timeout.Token);
        string o = await stdout, e = await stderr;
        Assert.True(p.ExitCode == 0, $"exit {p.ExitCode}\n{o}\n{e}");
        Assert.Contains("BaO–RhO2 hull at 0 GPa", o);
        Assert.Contains("BaO–RhO2 hull at 10 GPa", o);
        Assert.Contains("Relaxation 14/14", e);
        foreach (string f in new[] { "hull-0GPa.png", "hull-10GPa.png", "e-above-hull-vs-pressure.png", "report.txt", "entries-10GPa.csv" })
        {
            Assert.True(File.Exists(Path.Combine(_dir, f)), f);
        }

        Assert.StartsWith(File.ReadAllText(Path.Combine(_dir, "report.txt"))[..40], o);
    }
}
