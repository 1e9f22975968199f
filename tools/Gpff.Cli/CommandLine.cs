using System.CommandLine;

namespace Gpff.Cli;

/// <summary>One sub-command of the gpff tool.</summary>
public interface ICommand
{
    /// <summary>The word after "gpff" that selects the command.</summary>
    string Name { get; }

    /// <summary>One line for the command list.</summary>
    string Summary { get; }

    /// <summary>Full help text (usage, options, units).</summary>
    string Help { get; }

    /// <summary>Option names that never take a value (e.g. "fit"), so that "--fit FILE" leaves FILE positional.</summary>
    IReadOnlyList<string> Flags { get; }

    /// <summary>
    /// Names of the options that take a value, without dashes; "o|output" declares -o and --output as one
    /// option. Every name the command reads must be declared here or in <see cref="Flags"/>: System.CommandLine
    /// parses against these declarations and refuses anything else (docs/DESIGN.md, "The command line").
    /// </summary>
    IReadOnlyList<string> Options { get; }

    /// <summary>Runs the command; returns the process exit code.</summary>
    /// <param name="args">Arguments after the command name.</param>
    /// <param name="stdout">Standard output.</param>
    /// <param name="stderr">Standard error.</param>
    /// <param name="cancellationToken">Cancelled on Ctrl+C.</param>
    int Run(ParsedArguments args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken);
}

/// <summary>Entry point of the gpff tool: dispatches to the sub-commands.</summary>
public static class CommandLine
{
    /// <summary>The known commands. Each lives in its own file under Commands/.</summary>
    public static IReadOnlyList<ICommand> Commands { get; } =
    [
        // One line per command; each command lives in its own file under Commands/.
        new Commands.InfoCommand(),
        new Commands.TrainCommand(),
        new Commands.PredictCommand(),
        new Commands.ConvertCommand(),
        new Commands.HullCommand(),
        new Commands.RelaxCommand(),
        new Commands.MdCommand(),
        new Commands.LearnCommand(),
        new Commands.CrossValidateCommand(),
        new Commands.MapCommand(),
        new Commands.StudyCommand(),
        new Commands.SparseShardCommand(),
    ];

    /// <summary>Exit code of a usage error: an unknown command or option, an option value that is not what the option takes.</summary>
    public const int UsageExitCode = 2;

    /// <summary>
    /// The System.CommandLine tree of the tool: one <see cref="Command"/> per <see cref="ICommand"/>, its
    /// declared options (values as text, one per occurrence, so that a repeated option is reported by name)
    /// and flags, and its positional arguments. It gives response files (<c>gpff train @args.rsp</c>) and
    /// tab completion (<c>[suggest]</c> directive, dotnet-suggest).
    /// </summary>
    public static RootCommand Root { get; } = BuildRoot();

    private static RootCommand BuildRoot()
    {
        var root = new RootCommand("gpff — Gaussian-process interatomic force fields");
        foreach (var c in Commands)
        {
            var command = new Command(c.Name, c.Summary);
            foreach (var spec in c.Options)
            {
                command.Options.Add(ValueOption(spec));
            }

            foreach (var flag in c.Flags)
            {
                command.Options.Add(new Option<bool>(OptionName(flag)) { Arity = ArgumentArity.Zero, Description = "flag" });
            }

            command.Arguments.Add(new Argument<string[]>("arguments") { Arity = ArgumentArity.ZeroOrMore, Description = "files (see gpff " + c.Name + " --help)" });
            root.Subcommands.Add(command);
        }

        return root;
    }

    private static Option<string[]> ValueOption(string spec)
    {
        var names = spec.Split('|');
        var option = new Option<string[]>(OptionName(names[^1]), names[..^1].Select(OptionName).ToArray())
        {
            Arity = ArgumentArity.OneOrMore,
            AllowMultipleArgumentsPerToken = false,
            HelpName = "value",
        };
        return option;
    }

    private static bool LooksLikeOption(string token) =>
        token.Length > 1 && token[0] == '-' && !double.TryParse(token, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out _);

    private static string OptionName(string name) => (name.Length == 1 ? "-" : "--") + name;

    /// <summary>Runs the tool; usage errors become one clear line on stderr and exit code 2, other errors one line and exit code 1.</summary>
    /// <param name="args">Command-line arguments.</param>
    /// <param name="stdout">Standard output.</param>
    /// <param name="stderr">Standard error.</param>
    /// <param name="cancellationToken">Cancellation (Ctrl+C).</param>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            stdout.WriteLine("gpff — Gaussian-process interatomic force fields");
            stdout.WriteLine();
            stdout.WriteLine("usage: gpff COMMAND [options]   (gpff COMMAND --help for details; gpff COMMAND @FILE reads arguments from FILE)");
            stdout.WriteLine();
            foreach (var c in Commands)
            {
                stdout.WriteLine($"  {c.Name,-10} {c.Summary}");
            }

            return args.Length == 0 ? UsageExitCode : 0;
        }

        if (args[0].StartsWith('[') || args[0] == "--version")
        {
            // Directives ([suggest:N] for tab completion, [diagram]) and --version: System.CommandLine's own actions.
            return Root.Parse(args).Invoke(new InvocationConfiguration { Output = stdout, Error = stderr });
        }

        var result = Root.Parse(args);   // expands response files (@FILE) first
        var command = Commands.FirstOrDefault(c => c.Name == result.CommandResult.Command.Name);
        if (command is null)
        {
            string first = result.Tokens.Count > 0 ? result.Tokens[0].Value : args[0];
            stderr.WriteLine($"gpff: unknown command '{first}'. Commands: {string.Join(", ", Commands.Select(c => c.Name))}.");
            return UsageExitCode;
        }

        if (result.Tokens.Skip(1).Any(t => t.Value is "-h" or "--help" or "-?"))
        {
            stdout.WriteLine(command.Help);
            return 0;
        }

        // Positional arguments are collected by one argument of any count, so a misspelt option lands there:
        // anything that looks like an option (a dash, not a number) is one the command does not know.
        var unknown = result.UnmatchedTokens.Concat(result.CommandResult.Children.OfType<System.CommandLine.Parsing.ArgumentResult>().SelectMany(a => a.Tokens).Select(t => t.Value))
            .Where(LooksLikeOption).Distinct().ToList();
        if (unknown.Count > 0)
        {
            stderr.WriteLine($"gpff {command.Name}: unknown option{(unknown.Count > 1 ? "s" : "")} {string.Join(", ", unknown)}. See gpff {command.Name} --help.");
            return UsageExitCode;
        }

        if (result.Errors.Count > 0)
        {
            stderr.WriteLine($"gpff {command.Name}: {result.Errors[0].Message} See gpff {command.Name} --help.");
            return UsageExitCode;
        }

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            cts.Cancel();
        };
        Console.CancelKeyPress += onCancel;

        // SIGTERM (kill PID, Slurm's scancel or time limit) cancels like Ctrl+C, so that long commands stop
        // cleanly: pw.x runs are killed with their process tree and checkpoints stay consistent.
        using var onTerminate = OperatingSystem.IsWindows() ? null : System.Runtime.InteropServices.PosixSignalRegistration.Create(
            System.Runtime.InteropServices.PosixSignal.SIGTERM,
            context =>
            {
                context.Cancel = true;
                cts.Cancel();
            });
        try
        {
            return command.Run(new ParsedArguments(command, result), stdout, stderr, cts.Token);
        }
        catch (OperationCanceledException)
        {
            stderr.WriteLine($"gpff {command.Name}: cancelled.");
            return 130;
        }
        catch (UsageException ex)
        {
            stderr.WriteLine($"gpff {command.Name}: {OneLine(ex)}");
            return UsageExitCode;
        }
        catch (Exception ex) when (ex is ArgumentException or IOException or InvalidDataException or FormatException
            or InvalidOperationException or UnauthorizedAccessException or NotSupportedException or KeyNotFoundException)
        {
            stderr.WriteLine($"gpff {command.Name}: {OneLine(ex)}");
            return 1;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    /// <summary>
    /// The message of an exception as one line for people: without the " (Parameter 'name')" and
    /// "Actual value was …" that .NET appends to argument exceptions, line breaks folded into spaces.
    /// </summary>
    /// <param name="ex">The exception.</param>
    public static string OneLine(Exception ex)
    {
        ArgumentNullException.ThrowIfNull(ex);
        string m = ex.Message;
        if (ex is ArgumentOutOfRangeException { ActualValue: not null })
        {
            int at = m.LastIndexOf("Actual value was", StringComparison.Ordinal);
            if (at >= 0)
            {
                m = m[..at];
            }
        }

        if (ex is ArgumentException { ParamName: { } name })
        {
            m = m.Replace($" (Parameter '{name}')", string.Empty, StringComparison.Ordinal);
        }

        return string.Join(' ', m.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }
}

/// <summary>A wrong option or option value: reported as one line with exit code 2.</summary>
public sealed class UsageException : ArgumentException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong, naming the option.</param>
    public UsageException(string message) : base(message) { }
}

/// <summary>
/// What System.CommandLine parsed for one command, read by option name: positional arguments, flags,
/// and option values converted with the tool's rules (finite numbers; whole numbers in a range, "1e4" is
/// 10000). A bad value throws <see cref="UsageException"/> (exit code 2) naming the option and the value.
/// </summary>
public sealed class ParsedArguments
{
    private readonly ICommand _command;
    private readonly ParseResult _result;
    private readonly Dictionary<string, Option> _options = new(StringComparer.Ordinal);

    internal ParsedArguments(ICommand command, ParseResult result)
    {
        _command = command;
        _result = result;
        foreach (var option in result.CommandResult.Command.Options)
        {
            foreach (var name in option.Aliases.Append(option.Name))
            {
                _options[name.TrimStart('-')] = option;
            }
        }

        var positional = result.CommandResult.Command.Arguments.FirstOrDefault();
        Positional = positional is Argument<string[]> a ? [.. result.GetValue(a) ?? []] : [];
    }

    /// <summary>Positional arguments in order.</summary>
    public List<string> Positional { get; }

    private Option Declared(string name) => _options.TryGetValue(name, out var o)
        ? o
        : throw new InvalidOperationException($"gpff {_command.Name} reads the option --{name} but does not declare it in Options or Flags.");

    /// <summary>True when the option or flag was given (under any of its names).</summary>
    /// <param name="names">Option names without dashes ("o", "output").</param>
    public bool Has(params string[] names) => names.Any(n => _result.GetResult(Declared(n)) is { Implicit: false });

    /// <summary>The value of an option, or null when absent.</summary>
    /// <param name="names">Option names without dashes.</param>
    /// <exception cref="UsageException">The option was given more than once.</exception>
    public string? Get(params string[] names)
    {
        foreach (var n in names)
        {
            if (Declared(n) is Option<string[]> option && _result.GetResult(option) is { Implicit: false })
            {
                var values = _result.GetValue(option) ?? [];
                return values.Length switch
                {
                    0 => throw new UsageException($"option --{n} needs a value."),
                    1 => values[0],
                    _ => throw new UsageException($"option --{n} is given twice."),
                };
            }
        }

        return null;
    }

    /// <summary>A numeric option, or the default.</summary>
    /// <param name="defaultValue">Value when absent.</param>
    /// <param name="names">Option names without dashes.</param>
    public double GetDouble(double defaultValue, params string[] names)
    {
        var s = Get(names);
        if (s is null)
        {
            return defaultValue;
        }

        return double.TryParse(s, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double v) && double.IsFinite(v)
            ? v
            : throw new UsageException($"option --{names[0]} expects a finite number, got '{s}'.");
    }

    /// <summary>A whole-number option in [<paramref name="min"/>, <paramref name="max"/>], or the default; "2.5" and out-of-range values are errors, "1e4" is 10000.</summary>
    /// <param name="defaultValue">Value when absent.</param>
    /// <param name="min">Smallest accepted value.</param>
    /// <param name="max">Largest accepted value.</param>
    /// <param name="names">Option names without dashes.</param>
    public int GetInt(int defaultValue, int min, int max, params string[] names)
    {
        var s = Get(names);
        if (s is null)
        {
            return defaultValue;
        }

        var inv = System.Globalization.CultureInfo.InvariantCulture;
        if (!double.TryParse(s, System.Globalization.NumberStyles.Float, inv, out double v) || !double.IsFinite(v) || v != Math.Floor(v))
        {
            throw new UsageException($"option --{names[0]} expects a whole number, got '{s}'.");
        }

        if (v < min || v > max)
        {
            throw new UsageException($"option --{names[0]} must be between {min.ToString(inv)} and {max.ToString(inv)}, got '{s}'.");
        }

        return (int)v;
    }

    /// <summary>
    /// Does nothing: System.CommandLine refuses options a command does not declare before the command runs.
    /// Kept so that command code written for the earlier parser reads the same.
    /// </summary>
    public void RejectUnknown()
    {
    }
}
