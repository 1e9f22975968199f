using System.CommandLine;

namespace Gpff.Cli.Tests;

/// <summary>What System.CommandLine gives the tool: response files, tab completion, --name=value, usage errors as one line with exit code 2.</summary>
public sealed class CommandLineParsingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gpff-cli-parse-").FullName;

    private static string Data => Path.Combine(Cli.Root, "data", "barho-train.extxyz");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void AResponseFileGivesTheSameRunAsTheArgumentsItHolds()
    {
        string rsp = Path.Combine(_dir, "info.rsp");
        File.WriteAllText(rsp, $"# the arguments of one run\n{Data}\n--cutoff 4.5\n");
        var direct = Cli.Run("info", Data, "--cutoff", "4.5");
        var viaFile = Cli.Run("info", "@" + rsp);
        Assert.Equal(0, viaFile.Code);
        Assert.Equal(direct.Out, viaFile.Out);
        Assert.Contains("within 4.5 Å", viaFile.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void AnOptionValueMayFollowAnEqualsSign()
    {
        var spaced = Cli.Run("info", Data, "--cutoff", "4.5");
        var equals = Cli.Run("info", Data, "--cutoff=4.5");
        Assert.Equal(0, equals.Code);
        Assert.Equal(spaced.Out, equals.Out);
    }

    [Fact]
    public void TabCompletionOffersCommandsAndEachCommandsOptions()
    {
        var commands = CommandLine.Root.Parse("tr").GetCompletions().Select(c => c.Label).ToList();
        Assert.Contains("train", commands);
        var options = CommandLine.Root.Parse("train --cut").GetCompletions().Select(c => c.Label).ToList();
        Assert.Contains("--cutoff-2", options);
        Assert.Contains("--cutoff-3", options);
        Assert.DoesNotContain("--steps", options); // an md option, not train's
    }

    [Theory]
    [InlineData(new[] { "info", "x.extxyz", "--cutoff" }, "--cutoff")]
    [InlineData(new[] { "hull", "e.csv", "--samples", "5", "--samples", "6" }, "option --samples is given twice")]
    [InlineData(new[] { "predict", "m.gpff", "s.extxyz", "--sparse", "3" }, "unknown option --sparse")]
    [InlineData(new[] { "md", "m.gpff", "s.extxyz", "--steps", "ten" }, "option --steps expects a whole number, got 'ten'")]
    public void UsageErrorsAreOneLineWithExitCode2(string[] args, string message)
    {
        var (code, stdout, stderr) = Cli.Run(args);
        Assert.Equal(CommandLine.UsageExitCode, code);
        Assert.Equal(string.Empty, stdout);
        Assert.StartsWith($"gpff {args[0]}: ", stderr, StringComparison.Ordinal);
        Assert.Contains(message, stderr, StringComparison.Ordinal);
        Assert.Single(stderr.TrimEnd().Split('\n'));
    }

    [Fact]
    public void EveryCommandsHelpIsItsOwnTextWithUnits()
    {
        foreach (var command in CommandLine.Commands)
        {
            var (code, stdout, _) = Cli.Run(command.Name, "--help");
            Assert.Equal(0, code);
            Assert.Equal(command.Help.TrimEnd(), stdout.TrimEnd());
        }

        Assert.Contains("Å", Cli.Run("train", "--help").Out, StringComparison.Ordinal);
        Assert.Contains("GPa", Cli.Run("hull", "-h").Out, StringComparison.Ordinal);
    }

    [Fact]
    public void EveryDeclaredOptionIsKnownToTheParser()
    {
        foreach (var command in CommandLine.Commands)
        {
            var parsed = CommandLine.Root.Subcommands.Single(c => c.Name == command.Name);
            var names = parsed.Options.SelectMany(o => o.Aliases.Append(o.Name)).ToHashSet(StringComparer.Ordinal);
            foreach (var spec in command.Options.Concat(command.Flags))
            {
                foreach (var name in spec.Split('|'))
                {
                    Assert.Contains((name.Length == 1 ? "-" : "--") + name, names);
                }
            }
        }
    }
}
