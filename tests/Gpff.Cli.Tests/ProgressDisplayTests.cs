using Gpff.Regression;
using Spectre.Console.Testing;

namespace Gpff.Cli.Tests;

/// <summary>Progress as a person reads it: bars with rate and time left on a terminal, plain lines when redirected.</summary>
public class ProgressDisplayTests
{
    private static int Work(CliProgress p)
    {
        for (int i = 0; i <= 20; i++)
        {
            p.Report(new GpProgress("covariance assembly", i, 20));
        }

        p.Report("  covariance assembly: done (20)");
        p.Update("MD steps", 5, 10, "  step 5/10", status: "T 300 K");
        p.Update("MD steps", 10, 10, "  step 10/10", status: "T 301 K");
        p.Update("predicted frames", 7, 0, "  7 frames predicted");
        p.Complete("predicted frames");
        return 42;
    }

    [Fact]
    public void AnInteractiveTerminalShowsBarsWithRateAndTimeLeft()
    {
        var console = new TestConsole().Interactive().EmitAnsiSequences().Width(120);
        var lines = new StringWriter();
        int result = CliProgress.Run(lines, Work, console);
        Assert.Equal(42, result);
        string output = console.Output;
        Assert.Contains("covariance assembly", output, StringComparison.Ordinal);
        Assert.Contains("MD steps", output, StringComparison.Ordinal);
        Assert.Contains("T 301 K", output, StringComparison.Ordinal);
        Assert.Contains("100%", output, StringComparison.Ordinal);
        Assert.Contains("━", output, StringComparison.Ordinal);        // the bar
        Assert.Contains("/s", output, StringComparison.Ordinal);       // the rate column
        Assert.Contains('\u001b', output);                              // drawn with ANSI sequences
        Assert.Contains("covariance assembly: done (20)", output, StringComparison.Ordinal); // lines above the bars
        Assert.Equal(string.Empty, lines.ToString());                   // nothing on the plain writer
    }

    [Fact]
    public void RedirectedOutputIsPlainLinesWithoutControlCodes()
    {
        var lines = new StringWriter();
        int result = CliProgress.Run(lines, Work);
        Assert.Equal(42, result);
        string text = lines.ToString();
        Assert.DoesNotContain('\u001b', text);
        // GP stages: the first intermediate count, then at most one line every two seconds; the command's own line at the end.
        Assert.Contains("  covariance assembly: 0/20", text, StringComparison.Ordinal);
        Assert.Contains("  covariance assembly: done (20)", text, StringComparison.Ordinal);
        Assert.Contains("  step 5/10", text, StringComparison.Ordinal);
        Assert.Contains("  step 10/10", text, StringComparison.Ordinal);
        Assert.Contains("  7 frames predicted", text, StringComparison.Ordinal);
        Assert.Single(text.Split('\n'), l => l.StartsWith("  covariance assembly: ", StringComparison.Ordinal) && l.Contains('/'));
    }

    [Fact]
    public void AWriterThatIsNotTheProcessesStandardErrorGetsNoTerminal()
    {
        Assert.Null(CliProgress.TerminalFor(new StringWriter()));
    }
}
