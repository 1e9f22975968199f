using Gpff.Cli;

namespace Gpff.Cli.Tests;

/// <summary>
/// Through the real entry point: every usage error (a bad value, a required option missing, options that conflict),
/// whether System.CommandLine finds it or the command's body does, is one line on stderr and exit code 2; runtime
/// failures (a missing file, a corrupt model) keep exit code 1 with their own clear line. Never a stack trace.
/// </summary>
public sealed class ExitCodeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gpff-cli-exit-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string P(string name) => Path.Combine(_dir, name);

    private static void AssertOneLine(string stderr, string command, string message)
    {
        Assert.StartsWith($"gpff {command}: ", stderr, StringComparison.Ordinal);
        Assert.Contains(message, stderr, StringComparison.Ordinal);
        Assert.Single(stderr.TrimEnd().Split('\n'));
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", stderr, StringComparison.Ordinal);
    }

    public static TheoryData<string[], string> UsageErrors => new()
    {
        // values refused by the parser
        { ["relax", "m.gpff", "x.extxyz", "-o", "o.extxyz", "--cell", "cubic"], "option --cell expects full, hydrostatic or fixed, got 'cubic'." },
        { ["predict", "m.gpff", "x.extxyz", "-o", "o.extxyz", "--sigma", "both"], "option --sigma expects label or latent, got 'both'." },
        { ["train", "x.extxyz", "-o", "m.gpff", "--kernel", "b3"], "option --kernel expects 2+3, b2 or b2+2+3, got 'b3'." },
        { ["hull", "e.csv", "--samples", "0"], "option --samples must be between 1 and" },
        { ["md", "m.gpff", "x.extxyz", "--steps", "10", "--timestep", "1fs"], "option --timestep expects a finite number, got '1fs'." },
        { ["train", "x.extxyz", "-o"], "'-o'" },
        { ["info", "x.extxyz", "--cutof", "3"], "unknown option --cutof" },
        // values and combinations refused by the command's body, before any file is read
        { ["md", "m.gpff", "x.extxyz"], "--steps N is required" },
        { ["train", "x.extxyz"], "-o MODEL is required" },
        { ["md", "m.gpff", "x.extxyz", "--steps", "5", "--ensemble", "nve", "--friction", "0.1"], "option --friction is for --ensemble nvt or npt, not nve." },
        { ["relax", "m.gpff", "x.extxyz", "-o", "o.extxyz", "--fmax", "-1"], "option --fmax must be > 0 eV/Å, got -1." },
        { ["train", "x.extxyz", "-o", "m.gpff", "--hyperparameters", "sigma9=1"], "--hyperparameters: unknown name 'sigma9'" },
        { ["train", "x.extxyz", "-o", "m.gpff", "--holdout", "1.5"], "--holdout must be a fraction in [0, 1)" },
        { ["map", "m.gpff", "-o", "m.gpffmap", "--tolerance", "0"], "--tolerance must be a positive force in eV/Å, got 0." },
    };

    [Theory]
    [MemberData(nameof(UsageErrors))]
    public void UsageErrorsExit2WithOneLine(string[] args, string message)
    {
        var (code, stdout, stderr) = Cli.Run(args);
        Assert.True(code == CommandLine.UsageExitCode, $"exit {code}: {stderr}");
        Assert.Equal(string.Empty, stdout);
        AssertOneLine(stderr, args[0], message);
    }

    [Fact]
    public void ConflictingOptionsFoundAfterReadingTheDataAreUsageErrorsToo()
    {
        string data = Cli.SmallData(_dir);
        var nmax = Cli.Run("train", data, "-o", P("m.gpff"), "--nmax", "6");
        Assert.Equal(CommandLine.UsageExitCode, nmax.Code);
        AssertOneLine(nmax.Err, "train", "--nmax, --lmax and --cutoff-b2 set the B2 descriptor: give --kernel b2 or --kernel b2+2+3 too.");

        var objective = Cli.Run("train", data, "-o", P("m.gpff"), "--sparse", "5", "--fit", "--objective", "loso", "--slurm", P("s.json"));
        Assert.Equal(CommandLine.UsageExitCode, objective.Code);
        AssertOneLine(objective.Err, "train", "--slurm fits the sparse GP by its marginal likelihood only; give --objective likelihood");

        var seed = Cli.Run("train", data, "-o", P("m.gpff"), "--seed", "3");
        Assert.Equal(CommandLine.UsageExitCode, seed.Code);
        AssertOneLine(seed.Err, "train", "give --sparse too");

        foreach (var command in new[] { "train", "cv" })
        {
            string[] extra = command == "train" ? ["-o", P("m.gpff")] : ["--folds", "2"];
            var bounds = Cli.Run([command, data, .. extra, "--fit", "--kernel", "2+3", "--bounds", "sigma9=0.1:1"]);
            Assert.Equal(CommandLine.UsageExitCode, bounds.Code);
            AssertOneLine(bounds.Err, command, "--bounds: 'sigma9' is not a hyperparameter of this model; known: sigma2, length2, sigma3, length3, ");
        }

        Assert.False(File.Exists(P("m.gpff")));
    }

    [Fact]
    public void RuntimeFailuresExit1WithTheirMessage()
    {
        string data = Cli.SmallData(_dir);
        var missing = Cli.Run("info", P("missing.extxyz"));
        Assert.Equal(1, missing.Code);
        AssertOneLine(missing.Err, "info", "missing.extxyz");

        File.WriteAllText(P("corrupt.gpff"), "not a model\n");
        var corrupt = Cli.Run("predict", P("corrupt.gpff"), data, "-o", P("out.extxyz"));
        Assert.Equal(1, corrupt.Code);
        AssertOneLine(corrupt.Err, "predict", "corrupt.gpff");
        Assert.False(File.Exists(P("out.extxyz")));

        var noModel = Cli.Run("relax", P("none.gpff"), data, "-o", P("relaxed.extxyz"));
        Assert.Equal(1, noModel.Code);
        AssertOneLine(noModel.Err, "relax", "none.gpff");

        File.WriteAllText(P("bad.extxyz"), "2\nLattice=\"5 0 0 0 5 0 0 0 5\" Properties=species:S:1:pos:R:3\nBa 0 0 0\n");
        var truncated = Cli.Run("info", P("bad.extxyz"));
        Assert.Equal(1, truncated.Code);
        AssertOneLine(truncated.Err, "info", "bad.extxyz");
    }
}
