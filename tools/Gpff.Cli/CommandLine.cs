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
        new Commands.SparseShardCommand(),
    ];

    /// <summary>Runs the tool; errors become one clear line on stderr and a non-zero exit code.</summary>
    /// <param name="args">Command-line arguments.</param>
    /// <param name="stdout">Standard output.</param>
    /// <param name="stderr">Standard error.</param>
    /// <param name="cancellationToken">Cancellation (Ctrl+C).</param>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken = default)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            stdout.WriteLine("gpff — Gaussian-process interatomic force fields");
            stdout.WriteLine();
            stdout.WriteLine("usage: gpff COMMAND [options]   (gpff COMMAND --help for details)");
            stdout.WriteLine();
            foreach (var c in Commands)
            {
                stdout.WriteLine($"  {c.Name,-10} {c.Summary}");
            }

            return args.Length == 0 ? 2 : 0;
        }

        var command = Commands.FirstOrDefault(c => c.Name == args[0]);
        if (command is null)
        {
            stderr.WriteLine($"gpff: unknown command '{args[0]}'. Commands: {string.Join(", ", Commands.Select(c => c.Name))}.");
            return 2;
        }

        if (args.Skip(1).Any(a => a is "-h" or "--help"))
        {
            stdout.WriteLine(command.Help);
            return 0;
        }

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            cts.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            var parsed = ParsedArguments.Parse(args.Skip(1).ToArray(), command.Flags.ToArray());
            return command.Run(parsed, stdout, stderr, cts.Token);
        }
        catch (OperationCanceledException)
        {
            stderr.WriteLine($"gpff {command.Name}: cancelled.");
            return 130;
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

/// <summary>Command-line arguments split into positional arguments and --options.</summary>
public sealed class ParsedArguments
{
    private readonly Dictionary<string, string?> _options = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    /// <summary>Positional arguments in order.</summary>
    public List<string> Positional { get; } = [];

    /// <summary>
    /// Parses "--name value", "--name=value", "-o value" and bare flags ("--fit"). A flag is an option
    /// followed by another option or by nothing; pass flag names so that "--fit FILE" keeps FILE positional.
    /// </summary>
    /// <param name="args">Arguments after the command name.</param>
    /// <param name="flags">Names of options that never take a value.</param>
    public static ParsedArguments Parse(string[] args, params string[] flags)
    {
        var p = new ParsedArguments();
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            if (a.StartsWith('-') && a.Length > 1 && !double.TryParse(a, System.Globalization.CultureInfo.InvariantCulture, out _))
            {
                string name = a.TrimStart('-');
                string? value = null;
                int eq = name.IndexOf('=');
                if (eq >= 0)
                {
                    value = name[(eq + 1)..];
                    name = name[..eq];
                }
                else if (!flags.Contains(name) && i + 1 < args.Length && !(args[i + 1].StartsWith("--") && args[i + 1].Length > 2))
                {
                    value = args[++i];
                }

                if (!p._options.TryAdd(name, value))
                {
                    throw new ArgumentException($"option --{name} is given twice.");
                }
            }
            else
            {
                p.Positional.Add(a);
            }
        }

        return p;
    }

    /// <summary>True when the option or flag was given (under any of its names).</summary>
    /// <param name="names">Option names without dashes ("o", "output").</param>
    public bool Has(params string[] names) => names.Any(n => { bool h = _options.ContainsKey(n); if (h) { _used.Add(n); } return h; });

    /// <summary>The value of an option, or null when absent. A flag given without a value is an error.</summary>
    /// <param name="names">Option names without dashes.</param>
    public string? Get(params string[] names)
    {
        foreach (var n in names)
        {
            if (_options.TryGetValue(n, out var v))
            {
                _used.Add(n);
                return v ?? throw new ArgumentException($"option --{n} needs a value.");
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
            : throw new ArgumentException($"option --{names[0]} expects a finite number, got '{s}'.");
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
        if (!double.TryParse(s, System.Globalization.NumberStyles.Float, inv, out double v) || !double.IsFinite(v))
        {
            throw new ArgumentException($"option --{names[0]} expects a whole number, got '{s}'.");
        }

        if (v != Math.Floor(v))
        {
            throw new ArgumentException($"option --{names[0]} expects a whole number, got '{s}'.");
        }

        if (v < min || v > max)
        {
            throw new ArgumentException($"option --{names[0]} must be between {min.ToString(inv)} and {max.ToString(inv)}, got '{s}'.");
        }

        return (int)v;
    }

    /// <summary>Throws when an option was given that the command did not read (a typo, usually).</summary>
    public void RejectUnknown()
    {
        var unknown = _options.Keys.Where(k => !_used.Contains(k)).ToList();
        if (unknown.Count > 0)
        {
            throw new ArgumentException($"unknown option{(unknown.Count > 1 ? "s" : "")} {string.Join(", ", unknown.Select(u => "--" + u))}.");
        }
    }
}
