using Xunit;

namespace Gpff.Cli.Tests;

public class InfoCommandTests
{


    [Fact]
    public void InfoSummarisesTheBundledTrainingData()
    {
        var (code, stdout, stderr) = Cli.Run("info", Path.Combine(Cli.Root, "data", "barho-train.extxyz"), "--cutoff", "4.5");
        Assert.Equal(0, code);
        Assert.Equal(string.Empty, stderr);
        Assert.Contains("36 frames, 172 atoms, 4 formulas", stdout);
        Assert.Contains("BaO            10 frames      20 atoms", stdout);
        Assert.Contains("within 4.5 Å", stdout);
    }

    [Fact]
    public void ErrorsExitNonZeroWithOneClearLine()
    {
        var (code, stdout, stderr) = Cli.Run("info", "/no/such/file.extxyz");
        Assert.Equal(1, code);
        Assert.Equal(string.Empty, stdout);
        Assert.Equal("gpff info: Extended XYZ file '/no/such/file.extxyz' does not exist.", stderr.TrimEnd());

        (code, _, stderr) = Cli.Run("info", "x.extxyz", "--cutof", "3");
        Assert.Equal(2, code); // a usage error
        Assert.Contains("unknown option --cutof", stderr);

        (code, _, stderr) = Cli.Run("frobnicate");
        Assert.Equal(2, code);
        Assert.Contains("unknown command 'frobnicate'", stderr);
    }

    [Fact]
    public void OverlappingAtomsAreReportedWithFileAndFrame()
    {
        var path = Path.Combine(Path.GetTempPath(), $"gpff-info-{Guid.NewGuid():N}.extxyz");
        File.WriteAllText(path, "2\nLattice=\"4 0 0 0 4 0 0 0 4\" Properties=species:S:1:pos:R:3\nO 0 0 0\nO 0.01 0 0\n");
        try
        {
            var (code, _, stderr) = Cli.Run("info", path);
            Assert.Equal(1, code);
            Assert.Contains($"{path}, frame 1: Atom 0 (O) is 0.01 Å from atom 1 (O)", stderr);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("good,good,overlap", "frame 3: Atom 0 (O) is 0.01 Å from atom 1 (O)")]
    [InlineData("good,nan", "frame 2, line 8: atom 2, column 'pos': 'NaN' is not a finite number.")]
    [InlineData("good,good,good,truncated", "frame 4, line 15: the file ends after 1 of 2 atom lines (truncated file?).")]
    public void ABadFrameAfterGoodOnesPrintsNoTableOnlyItsError(string frames, string where)
    {
        const string good = "2\nLattice=\"4 0 0 0 4 0 0 0 4\" Properties=species:S:1:pos:R:3\nO 0 0 0\nO 1.2 0 0\n";
        var parts = frames.Split(',').Select(f => f switch
        {
            "good" => good,
            "overlap" => "2\nLattice=\"4 0 0 0 4 0 0 0 4\" Properties=species:S:1:pos:R:3\nO 0 0 0\nO 0.01 0 0\n",
            "nan" => "2\nLattice=\"4 0 0 0 4 0 0 0 4\" Properties=species:S:1:pos:R:3\nO 0 0 0\nO NaN 0 0\n",
            _ => "2\nLattice=\"4 0 0 0 4 0 0 0 4\" Properties=species:S:1:pos:R:3\nO 0 0 0\n",
        });
        var path = Path.Combine(Path.GetTempPath(), $"gpff-info-{Guid.NewGuid():N}.extxyz");
        File.WriteAllText(path, string.Concat(parts));
        try
        {
            var (code, stdout, stderr) = Cli.Run("info", path);
            Assert.Equal(1, code);
            Assert.Equal(string.Empty, stdout);
            var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Single(lines);
            if (frames.EndsWith("overlap", StringComparison.Ordinal))
            {
                Assert.StartsWith($"gpff info: {path}, {where}", lines[0], StringComparison.Ordinal); // then the minimum distance rule
            }
            else
            {
                Assert.Equal($"gpff info: {path}, {where}", lines[0]);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }
}
