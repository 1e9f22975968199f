namespace Gpff.QuantumEspresso;

/// <summary>
/// Why pw.x gave no usable result: the one vocabulary of the pw.x reader
/// (<see cref="PwOutputException"/>, <see cref="PwSkippedStep"/>) and of the pw.x calculator
/// (<see cref="PwCalculationException"/>).
/// </summary>
public enum PwFailureKind
{
    /// <summary>An SCF cycle stopped with "convergence NOT achieved": its energy and forces are meaningless.</summary>
    NotConverged,

    /// <summary>The output ends before the run finished (job killed, crashed, out of time, still running).</summary>
    Truncated,

    /// <summary>pw.x stopped with an error message (the "%%%%" block: "Error in routine …").</summary>
    PwError,

    /// <summary>The text does not have the expected form (not a pw.x output, an unreadable number, a missing block).</summary>
    Malformed,

    /// <summary>The command could not be started (pw.x / mpirun not found or not executable).</summary>
    CouldNotStart,

    /// <summary>pw.x exited with a non-zero code although its output looks complete.</summary>
    Crashed,

    /// <summary>The run took longer than the timeout; its process tree was killed.</summary>
    Timeout,

    /// <summary>pw.x finished but the output lacks what was asked for (energy, forces, stress) or does not match the structure.</summary>
    MissingResults,
}

/// <summary>
/// Thrown when a pw.x output cannot be read completely: a non-converged SCF, a truncated run, an error
/// reported by pw.x, or malformed text. The message names the file, the ionic step and the line.
/// </summary>
public sealed class PwOutputException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="kind">What went wrong.</param>
    /// <param name="sourceName">The file (or other source) being read.</param>
    /// <param name="ionicStep">The 0-based ionic step concerned, or null when the problem is not tied to a step.</param>
    /// <param name="lineNumber">The 1-based line where the problem shows, or null.</param>
    /// <param name="detail">What is wrong, without the location (added here).</param>
    public PwOutputException(PwFailureKind kind, string sourceName, int? ionicStep, int? lineNumber, string detail)
        : base(Compose(kind, sourceName, ionicStep, lineNumber, detail))
    {
        Kind = kind;
        SourceName = sourceName;
        IonicStep = ionicStep;
        LineNumber = lineNumber;
        Detail = detail;
    }

    /// <summary>What went wrong.</summary>
    public PwFailureKind Kind { get; }

    /// <summary>The file (or other source) that was read.</summary>
    public string SourceName { get; }

    /// <summary>The 0-based ionic step concerned (step 0 is the first SCF), or null.</summary>
    public int? IonicStep { get; }

    /// <summary>The 1-based line number where the problem shows, or null.</summary>
    public int? LineNumber { get; }

    /// <summary>The description of the problem without its location.</summary>
    public string Detail { get; }

    internal static string Compose(PwFailureKind kind, string sourceName, int? ionicStep, int? lineNumber, string detail)
    {
        string what = kind switch
        {
            PwFailureKind.NotConverged => "SCF not converged",
            PwFailureKind.Truncated => "truncated output",
            PwFailureKind.PwError => "pw.x error",
            _ => "malformed output",
        };
        string where = sourceName;
        if (ionicStep is int s)
        {
            where += $", ionic step {s}";
        }

        if (lineNumber is int l)
        {
            where += $", line {l}";
        }

        return $"{where}: {what}: {detail}";
    }
}

/// <summary>An ionic step (or the end of a run) that a tolerant read left out, and why.</summary>
/// <param name="IonicStep">0-based ionic step, or null when the problem is not tied to a step.</param>
/// <param name="LineNumber">1-based line where the problem shows.</param>
/// <param name="Kind">What went wrong.</param>
/// <param name="Message">Full description: file, step, line and reason (as an exception message would say).</param>
public sealed record PwSkippedStep(int? IonicStep, int LineNumber, PwFailureKind Kind, string Message)
{
    internal static PwSkippedStep From(PwFailureKind kind, string sourceName, int? ionicStep, int lineNumber, string detail) =>
        new(ionicStep, lineNumber, kind, PwOutputException.Compose(kind, sourceName, ionicStep, lineNumber, detail));
}

/// <summary>The result of a tolerant read: the complete ionic steps and what was skipped.</summary>
/// <param name="SourceName">The file (or other source) that was read.</param>
/// <param name="Frames">Every complete, converged ionic step, in order.</param>
/// <param name="Skipped">Every step (or run end) that was left out, with the reason, in order.</param>
public sealed record PwReadResult(string SourceName, IReadOnlyList<Structure> Frames, IReadOnlyList<PwSkippedStep> Skipped)
{
    /// <summary>True when nothing was skipped: the run finished and every SCF converged.</summary>
    public bool IsComplete => Skipped.Count == 0;

    /// <summary>
    /// The exception a strict read would have thrown for the first skipped entry (null when complete),
    /// so that a caller can decide later to fail after all.
    /// </summary>
    public PwOutputException? FirstProblem { get; init; }
}
