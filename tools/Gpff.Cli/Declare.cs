using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace Gpff.Cli;

/// <summary>
/// The typed System.CommandLine options of the gpff commands, built with the tool's rules, so that the
/// generated help (<c>gpff COMMAND --help</c>), tab completion and validation all come from one declaration:
/// a description with its unit, the default from the library's constant, the allowed values of a choice,
/// and parsing that refuses a bad value before the command runs, as one line naming the option (exit code 2).
/// Numbers are invariant-culture and finite; whole numbers accept "1e4" (10000) but not "2.5".
/// </summary>
public static class Declare
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>An option without a value.</summary>
    /// <param name="name">Names without dashes, "o|output" for -o and --output.</param>
    /// <param name="description">What it does.</param>
    public static Option<bool> Flag(string name, string description)
    {
        var (primary, aliases) = Names(name);
        return new Option<bool>(primary, aliases) { Arity = ArgumentArity.Zero, Description = description };
    }

    /// <summary>An option with a text value (a file, a list).</summary>
    /// <param name="name">Names without dashes.</param>
    /// <param name="helpName">The value as shown in the usage, e.g. FILE or name=lo:hi,...</param>
    /// <param name="description">What it does, with units.</param>
    /// <param name="defaultValue">Default shown in the help (and returned when absent), or null.</param>
    public static Option<string> Text(string name, string helpName, string description, string? defaultValue = null)
    {
        var (primary, aliases) = Names(name);
        var option = new Option<string>(primary, aliases) { Description = description, HelpName = helpName };
        if (defaultValue is not null)
        {
            option.DefaultValueFactory = _ => defaultValue;
        }

        return option;
    }

    /// <summary>
    /// An option that takes one of a few words (matched ignoring case; the value read is the word as declared).
    /// The usage shows them as <c>--name &lt;a|b|c&gt;</c> and tab completion offers them.
    /// </summary>
    /// <param name="name">Names without dashes.</param>
    /// <param name="description">What it does.</param>
    /// <param name="defaultValue">Default word, or null.</param>
    /// <param name="allowed">The words.</param>
    public static Option<string> OneOf(string name, string description, string? defaultValue, params string[] allowed)
    {
        ArgumentNullException.ThrowIfNull(allowed);
        var (primary, aliases) = Names(name);
        var option = new Option<string>(primary, aliases) { Description = description, HelpName = string.Join('|', allowed) };
        if (defaultValue is not null)
        {
            option.DefaultValueFactory = _ => defaultValue;
        }

        option.CustomParser = r =>
        {
            string text = r.Tokens[0].Value;
            var match = allowed.FirstOrDefault(a => string.Equals(a, text, StringComparison.OrdinalIgnoreCase));
            if (match is null)
            {
                r.AddError($"option {primary} expects {Alternatives(allowed)}, got '{text}'.");
            }

            return match ?? text;
        };
        option.CompletionSources.Add(allowed);
        return option;
    }

    /// <summary>An option with a finite real value in <paramref name="unit"/>.</summary>
    /// <param name="name">Names without dashes.</param>
    /// <param name="unit">The unit as shown in the usage (Å, eV/Å, GPa, K, fs), or a placeholder like FRACTION.</param>
    /// <param name="description">What it does.</param>
    /// <param name="defaultValue">Default (from the library's constant), or null.</param>
    public static Option<double> Number(string name, string unit, string description, double? defaultValue = null)
    {
        var (primary, aliases) = Names(name);
        var option = new Option<double>(primary, aliases) { Description = description, HelpName = unit };
        if (defaultValue is double d)
        {
            option.DefaultValueFactory = _ => d;
        }

        option.CustomParser = r =>
        {
            string text = r.Tokens[0].Value;
            if (!double.TryParse(text, NumberStyles.Float, Inv, out double v) || !double.IsFinite(v))
            {
                r.AddError($"option {primary} expects a finite number, got '{text}'.");
                return 0;
            }

            return v;
        };
        return option;
    }

    /// <summary>An option with a whole-number value in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    /// <param name="name">Names without dashes.</param>
    /// <param name="helpName">The value as shown in the usage (N, SEED).</param>
    /// <param name="description">What it does.</param>
    /// <param name="defaultValue">Default, or null.</param>
    /// <param name="min">Smallest accepted value.</param>
    /// <param name="max">Largest accepted value.</param>
    public static Option<int> Whole(string name, string helpName, string description, int? defaultValue, int min = 0, int max = int.MaxValue)
    {
        var (primary, aliases) = Names(name);
        var option = new Option<int>(primary, aliases) { Description = description, HelpName = helpName };
        if (defaultValue is int d)
        {
            option.DefaultValueFactory = _ => d;
        }

        option.CustomParser = r => ParseWhole(r, primary, min, max);
        return option;
    }

    /// <summary>"a, b or c".</summary>
    /// <param name="words">The words.</param>
    internal static string Alternatives(IReadOnlyList<string> words) =>
        words.Count == 1 ? words[0] : string.Join(", ", words.Take(words.Count - 1)) + " or " + words[^1];

    private static int ParseWhole(ArgumentResult r, string primary, int min, int max)
    {
        string text = r.Tokens[0].Value;
        if (!double.TryParse(text, NumberStyles.Float, Inv, out double v) || !double.IsFinite(v) || v != Math.Floor(v))
        {
            r.AddError($"option {primary} expects a whole number, got '{text}'.");
            return 0;
        }

        if (v < min || v > max)
        {
            r.AddError($"option {primary} must be between {min.ToString(Inv)} and {max.ToString(Inv)}, got '{text}'.");
            return 0;
        }

        return (int)v;
    }

    private static (string Primary, string[] Aliases) Names(string spec)
    {
        var names = spec.Split('|').Select(n => (n.Length == 1 ? "-" : "--") + n).ToArray();
        return (names[^1], names[..^1]);
    }
}
