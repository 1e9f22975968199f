namespace Gpff.Cli.Tests;

/// <summary>An output that is a hard link to an input (another name of the same file) is refused before any work, on Linux.</summary>
public sealed class HardLinkOutputTests(BadInputFixture fixture) : IClassFixture<BadInputFixture>, IDisposable
{
    private readonly string _d = Directory.CreateTempSubdirectory("gpff-hardlink-").FullName;

    public void Dispose() => Directory.Delete(_d, recursive: true);

    [Theory]
    [InlineData("train {d}/good.extxyz -o {d}/hard.extxyz --cutoff-2 4 --cutoff-3 0")]
    [InlineData("predict {d}/model.gpff {d}/good.extxyz -o {d}/hard.extxyz")]
    [InlineData("convert {d}/A.out -o {d}/hard.extxyz --append")]
    public void AnOutputThatIsAHardLinkToAnInputIsRefusedAndNoFileChanges(string argLine)
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // hard links are recognised by device and inode on Linux only
        }

        foreach (var f in Directory.GetFiles(fixture.Folder))
        {
            File.Copy(f, Path.Combine(_d, Path.GetFileName(f)));
        }

        string target = Path.Combine(_d, argLine.StartsWith("convert", StringComparison.Ordinal) ? "A.out" : "good.extxyz");
        string hard = Path.Combine(_d, "hard.extxyz");
        using (var ln = System.Diagnostics.Process.Start("ln", [target, hard])!)
        {
            ln.WaitForExit();
            Assert.Equal(0, ln.ExitCode);
        }

        var snapshot = FolderSnapshot.Take(_d);
        string[] args = argLine.Split(' ').Select(a => a.Replace("{d}", _d, StringComparison.Ordinal)).ToArray();
        var (code, stdout, stderr) = Cli.Run(args);
        Assert.Equal(CommandLine.UsageExitCode, code);
        Assert.Equal("", stdout);
        Assert.Equal($"gpff {args[0]}: -o '{hard}' is also an input ('{target}'); writing it would destroy that input. Choose another output name.", stderr.TrimEnd());
        snapshot.AssertUnchanged();
    }
}
