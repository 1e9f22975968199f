using Gpff.Cli;

namespace Gpff.Cli.Tests;

/// <summary>
/// Every command that writes a file, stopped (Ctrl+C: a cancelled token) with a previous output at
/// its path: exit 130, the last line "gpff CMD: cancelled.", nothing on stdout, and the folder exactly as it
/// was (the previous output byte-identical, no temporary file). predict streams its output, so it is
/// stopped inside the atomic write; convert, train and hull finish their work before they write, so
/// they are stopped before it (mid-write failures of their writers are tested with each writer:
/// SafeFileTests, ModelFileTests, ForceFieldSaveTests, HullFilesTests, HullPlotTests).
/// </summary>
public sealed class InterruptedWriteTests(BadInputFixture fixture) : IClassFixture<BadInputFixture>, IDisposable
{
    private readonly string _d = Directory.CreateTempSubdirectory("gpff-interrupt-").FullName;

    public void Dispose() => Directory.Delete(_d, recursive: true);

    [Theory]
    [InlineData("convert {d}/A.out -o {d}/previous.out")]
    [InlineData("convert {d}/A.out -o {d}/previous.out.gz")]
    [InlineData("predict {d}/model.gpff {d}/good.extxyz -o {d}/previous.out")]
    [InlineData("train {d}/good.extxyz -o {d}/previous.out --cutoff-2 4 --cutoff-3 0")]
    [InlineData("hull {d}/entries.csv -o {d}/previous.json --samples 100")]
    [InlineData("hull {d}/entries.csv -o {d}/previous.json --plot {d}/previous.png --samples 100")]
    public void ACancelledRunKeepsThePreviousOutputByteIdenticalAndLeavesNoTemporary(string argLine)
    {
        foreach (var f in Directory.GetFiles(fixture.Folder))
        {
            File.Copy(f, Path.Combine(_d, Path.GetFileName(f)));
        }

        File.WriteAllText(Path.Combine(_d, "previous.out.gz"), "not gzip: the previous output, which must survive\n");
        File.WriteAllText(Path.Combine(_d, "previous.json"), "{\"previous\": true}\n");
        File.WriteAllBytes(Path.Combine(_d, "previous.png"), [0x89, (byte)'P', (byte)'N', (byte)'G', 1, 2, 3]);
        var snapshot = FolderSnapshot.Take(_d);
        string[] args = argLine.Split(' ').Select(a => a.Replace("{d}", _d, StringComparison.Ordinal)).ToArray();
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var o = new StringWriter();
        var e = new StringWriter();

        int code = CommandLine.Run(args, o, e, cts.Token);

        Assert.Equal(130, code);
        Assert.Equal("", o.ToString());
        // train reports what it read before it starts; the last line says why it stopped.
        Assert.Equal($"gpff {args[0]}: cancelled.", e.ToString().TrimEnd().Split('\n')[^1]);
        snapshot.AssertUnchanged();
    }
}
