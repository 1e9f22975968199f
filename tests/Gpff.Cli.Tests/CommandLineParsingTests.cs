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
    [InlineData(new[] { "hull", "e.csv", "--samples", "5", "--samples", "6" }, "'--samples' expects a single argument but 2 were provided")]
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

    /// <summary>Option names as they appear in help text: -o, --cutoff-2 (not "2-body", "non-converged", "−P").</summary>
    private static readonly System.Text.RegularExpressions.Regex OptionToken = new(@"(?<![\w\-−])(--[a-z][a-z0-9\-]*[a-z0-9]|-[a-z?])(?![\w\-])");

    [Fact]
    public void EveryCommandsHelpIsGeneratedFromItsDeclarations()
    {
        foreach (var command in CommandLine.Commands)
        {
            var (code, stdout, _) = Cli.Run(command.Name, "--help");
            Assert.Equal(0, code);
            Assert.Equal(CommandLine.HelpText(command.Name), stdout);
            Assert.Contains(command.ArgumentsName.Length > 0 ? $"gpff {command.Name} [<{command.ArgumentsName}>...] [options]" : $"gpff {command.Name} [options]",
                stdout, StringComparison.Ordinal);

            // every declared option is in the help, and every option the help names is declared
            var parsed = CommandLine.Root.Subcommands.Single(c => c.Name == command.Name);
            var declared = parsed.Options.Concat(CommandLine.Root.Options.Where(o => o.Recursive))
                .SelectMany(o => o.Aliases.Append(o.Name)).ToHashSet(StringComparer.Ordinal);
            foreach (var option in command.Options)
            {
                foreach (var name in option.Aliases.Append(option.Name))
                {
                    Assert.True(stdout.Contains(name, StringComparison.Ordinal), $"gpff {command.Name} --help does not show {name}");
                }
            }

            // (the conventions section may quote other programs' options: sbatch's --partition)
            int conventions = stdout.IndexOf("\nConventions:", StringComparison.Ordinal);
            string generated = conventions < 0 ? stdout : stdout[..conventions];
            Assert.Equal(command.Conventions is not null, conventions >= 0);
            foreach (var name in OptionToken.Matches(generated).Select(m => m.Value).Distinct())
            {
                Assert.True(declared.Contains(name), $"gpff {command.Name} --help names {name}, which the command does not declare");
            }
        }
    }

    [Fact]
    public void HelpKeepsUnitsDefaultsChoicesAndConventions()
    {
        string train = Cli.Run("train", "--help").Out;
        foreach (string text in new[]
                 {
                     "--cutoff-2 <Å>", "Å", "eV", "eV/Å³", "eV per ATOM", "FLARE's energy noise is per structure", "σ₂, σ₃", "Conventions:",
                     "--sigma <label|latent>", "--kernel <2+3|b2|b2+2+3>", "--objective <likelihood|loso>", "--select <variance|random|kmeans>",
                     $"[default: {ForceFieldSettings.DefaultPairCutoffA}]", $"[default: {Regression.HyperparameterFitOptions.DefaultMaxIterations}]",
                 })
        {
            Assert.Contains(text, train, StringComparison.Ordinal);
        }

        Assert.Contains("--pressure <GPa>", Cli.Run("hull", "-h").Out, StringComparison.Ordinal);
        Assert.Contains("--fmax <eV/Å>", Cli.Run("relax", "--help").Out, StringComparison.Ordinal);
        Assert.Contains("--cell <full|hydrostatic|fixed>", Cli.Run("relax", "--help").Out, StringComparison.Ordinal);
        Assert.Contains("--timestep <fs>", Cli.Run("md", "--help").Out, StringComparison.Ordinal);
        Assert.Contains("name,formula,energy_ev,volume_a3,energy_std_ev", Cli.Run("hull", "--help").Out, StringComparison.Ordinal);
        Assert.Contains("2+3", Cli.Run("cv", "--help").Out, StringComparison.Ordinal);
    }

    [Fact]
    public void TheSuggestDirectiveCompletesOptionsAndTheirValues()
    {
        // as dotnet-suggest calls it: the directive with the cursor position, then the command line as one argument
        var (code, stdout, _) = Cli.Run("[suggest:11]", "train --sig");
        Assert.Equal(0, code);
        Assert.Contains("--sigma", stdout.Split('\n').Select(l => l.Trim()));
        var values = CommandLine.Root.Parse("train --sigma ").GetCompletions().Select(c => c.Label).ToList();
        Assert.Equal(["label", "latent"], values.Order());
        var ensembles = CommandLine.Root.Parse("md --ensemble n").GetCompletions().Select(c => c.Label).ToList();
        Assert.Contains("npt", ensembles);
    }

    [Fact]
    public void AResponseFileWithABadValueIsAUsageError()
    {
        string rsp = Path.Combine(_dir, "bad.rsp");
        File.WriteAllText(rsp, $"{Data}\n--cutoff\nfive\n");
        var (code, _, stderr) = Cli.Run("info", "@" + rsp);
        Assert.Equal(CommandLine.UsageExitCode, code);
        Assert.Equal("gpff info: option --cutoff expects a finite number, got 'five'.", stderr.Trim());
    }
}
