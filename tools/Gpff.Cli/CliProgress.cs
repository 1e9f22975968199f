using System.Globalization;
using Gpff.Regression;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Gpff.Cli;

/// <summary>
/// Progress of a long command as a person reads it. On an interactive terminal (stderr not redirected,
/// ANSI supported): Spectre.Console progress bars, one per stage (covariance assembly, Cholesky,
/// leave-one-structure-out, MD steps, frames…), with the rate, the time left and the time spent, and the
/// commands' progress lines printed above them. Otherwise (redirected, a test's writer): plain lines on
/// stderr, without any terminal control code, as log files want them. The library only reports through
/// <see cref="IProgress{T}"/>; this class is the one place that turns reports into output.
/// </summary>
public sealed class CliProgress : IProgress<string>, IProgress<GpProgress>
{
    private const double PlainIntervalSeconds = 2;
    private readonly TextWriter _lines;
    private readonly IAnsiConsole? _console;
    private readonly ProgressContext? _context;
    private readonly Dictionary<string, ProgressTask> _tasks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, double> _lastPlain = new(StringComparer.Ordinal);
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
    private readonly Lock _gate = new();

    private CliProgress(TextWriter lines, IAnsiConsole? console, ProgressContext? context)
    {
        _lines = lines;
        _console = console;
        _context = context;
    }

    /// <summary>True when progress is drawn as bars on a terminal.</summary>
    public bool IsInteractive => _context is not null;

    /// <summary>
    /// Runs <paramref name="work"/> with a progress display: bars on <paramref name="console"/> (or on the
    /// terminal when <paramref name="stderr"/> is the process's own, unredirected standard error), else plain
    /// lines on <paramref name="stderr"/>.
    /// </summary>
    /// <typeparam name="T">The work's result.</typeparam>
    /// <param name="stderr">Where plain lines go.</param>
    /// <param name="work">The long operation; it reports to the <see cref="CliProgress"/> it is given.</param>
    /// <param name="console">A console to draw on (tests pass Spectre's TestConsole); null: detect.</param>
    public static T Run<T>(TextWriter stderr, Func<CliProgress, T> work, IAnsiConsole? console = null)
    {
        ArgumentNullException.ThrowIfNull(stderr);
        ArgumentNullException.ThrowIfNull(work);
        console ??= TerminalFor(stderr);
        if (console is null)
        {
            return work(new CliProgress(stderr, null, null));
        }

        T result = default!;
        console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                new RateColumn(), new RemainingTimeColumn(), new ElapsedTimeColumn())
            .Start(context =>
            {
                var progress = new CliProgress(stderr, console, context);
                result = work(progress);
                progress.CompleteAll(); // stages of unknown length end with the work
            });
        return result;
    }

    /// <summary>The same as <see cref="Run{T}"/> for work without a result.</summary>
    /// <param name="stderr">Where plain lines go.</param>
    /// <param name="work">The long operation.</param>
    /// <param name="console">A console to draw on; null: detect.</param>
    public static void Run(TextWriter stderr, Action<CliProgress> work, IAnsiConsole? console = null) =>
        Run(stderr, p => { work(p); return 0; }, console);

    /// <summary>A Spectre console on the terminal when <paramref name="stderr"/> is the process's standard error, not redirected, on a terminal that understands ANSI; null otherwise.</summary>
    /// <param name="stderr">The writer the command was given for stderr.</param>
    public static IAnsiConsole? TerminalFor(TextWriter stderr)
    {
        if (!ReferenceEquals(stderr, Console.Error) || Console.IsErrorRedirected || Environment.GetEnvironmentVariable("TERM") is "dumb")
        {
            return null;
        }

        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(Console.Error),
            Ansi = AnsiSupport.Detect,
            Interactive = InteractionSupport.Detect,
        });
        return console.Profile.Capabilities is { Interactive: true, Ansi: true } ? console : null;
    }

    /// <summary>A line of progress: printed as is (above the bars on a terminal).</summary>
    /// <param name="value">The line.</param>
    public void Report(string value)
    {
        lock (_gate)
        {
            if (_console is not null)
            {
                _console.WriteLine(value);
            }
            else
            {
                _lines.WriteLine(value);
                _lines.Flush();
            }
        }
    }

    /// <summary>Progress of a stage of the GP (covariance assembly, factorisation, LOSO): a bar, or on plain output a line at most every two seconds while it runs (the command prints its own line at the end).</summary>
    /// <param name="value">The stage and its counts.</param>
    public void Report(GpProgress value)
    {
        ArgumentNullException.ThrowIfNull(value);
        string? line = value.Done < value.Total
            ? string.Create(CultureInfo.InvariantCulture, $"  {value.Stage}: {value.Done}/{value.Total}")
            : null;
        Update(value.Stage, value.Done, value.Total, line, throttle: true);
    }

    /// <summary>
    /// Moves the bar of <paramref name="task"/> to <paramref name="done"/> of <paramref name="total"/>
    /// (total ≤ 0: unknown, an indeterminate bar counting <paramref name="done"/>); on plain output writes
    /// <paramref name="plainLine"/> when one is given (at most every two seconds with
    /// <paramref name="throttle"/>, and always when the task is complete).
    /// </summary>
    /// <param name="task">The task's name (one bar per name).</param>
    /// <param name="done">Units done.</param>
    /// <param name="total">Units in all, or ≤ 0 when unknown.</param>
    /// <param name="plainLine">The line for plain output, or null for none.</param>
    /// <param name="status">Extra text after the task's name on the bar (temperature, σ…).</param>
    /// <param name="throttle">Limit plain lines to one every two seconds (per task) until the task is complete.</param>
    public void Update(string task, long done, long total, string? plainLine = null, string? status = null, bool throttle = false)
    {
        ArgumentNullException.ThrowIfNull(task);
        lock (_gate)
        {
            if (_context is null)
            {
                if (plainLine is null)
                {
                    return;
                }

                double now = _clock.Elapsed.TotalSeconds;
                bool complete = total > 0 && done >= total;
                if (throttle && !complete && _lastPlain.TryGetValue(task, out double last) && now - last < PlainIntervalSeconds)
                {
                    return;
                }

                _lastPlain[task] = now;
                _lines.WriteLine(plainLine);
                _lines.Flush();
                return;
            }

            if (!_tasks.TryGetValue(task, out var bar))
            {
                bar = _context.AddTask(Markup.Escape(task), autoStart: true, maxValue: total > 0 ? total : 100);
                bar.IsIndeterminate = total <= 0;
                _tasks[task] = bar;
            }

            if (total > 0)
            {
                bar.MaxValue = total;
                bar.IsIndeterminate = false;
            }

            bar.Value = Math.Max(bar.Value, total > 0 ? Math.Min(done, total) : done); // never backwards
            bar.Description = status is null ? Markup.Escape(task) : $"{Markup.Escape(task)} [grey]{Markup.Escape(status)}[/]";
            if (total > 0 && done >= total)
            {
                bar.StopTask();
            }
        }
    }

    /// <summary>Marks a task finished (an indeterminate one, or one that stopped early: converged, cancelled).</summary>
    /// <param name="task">The task's name.</param>
    public void Complete(string task)
    {
        lock (_gate)
        {
            if (_tasks.TryGetValue(task, out var bar))
            {
                bar.IsIndeterminate = false;
                bar.MaxValue = Math.Max(bar.Value, 1);
                bar.Value = bar.MaxValue;
                bar.StopTask();
            }
        }
    }

    private void CompleteAll()
    {
        foreach (var name in _tasks.Where(t => !t.Value.IsFinished).Select(t => t.Key).ToList())
        {
            Complete(name);
        }
    }

    /// <summary>Units per second of the task (Spectre's own estimate).</summary>
    private sealed class RateColumn : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Text(task.Speed is double s ? string.Create(CultureInfo.InvariantCulture, $"{s,8:0.##}/s") : "       –/s", new Style(Color.Grey));
    }
}
