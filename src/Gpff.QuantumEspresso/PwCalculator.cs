using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Gpff.QuantumEspresso;

/// <summary>
/// Thrown when a pw.x run gives no usable result. The message names the run directory (kept, with
/// pw.in, pw.out and pw.err) and the reason; no partial result is ever returned.
/// </summary>
public sealed class PwCalculationException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="kind">What went wrong.</param>
    /// <param name="directory">The run directory.</param>
    /// <param name="message">Full message (should name the directory).</param>
    /// <param name="exitCode">pw.x's exit code, when it exited.</param>
    /// <param name="inner">The underlying exception, if any.</param>
    public PwCalculationException(PwFailureKind kind, string directory, string message, int? exitCode = null, Exception? inner = null)
        : base(message, inner)
    {
        Kind = kind;
        Directory = directory;
        ExitCode = exitCode;
    }

    /// <summary>What went wrong.</summary>
    public PwFailureKind Kind { get; }

    /// <summary>The run directory (kept for inspection).</summary>
    public string Directory { get; }

    /// <summary>The exit code of the command, or null when it did not exit by itself.</summary>
    public int? ExitCode { get; }
}

/// <summary>How pw.x is run: the command, where, for how long, with which environment.</summary>
public sealed class PwRunOptions
{
    /// <summary>
    /// The command line that starts pw.x, split like a shell does (quotes group words):
    /// "pw.x", "mpirun -np 8 pw.x", "srun pw.x -nk 2". Gpff appends "-in pw.in"; the output goes to pw.out.
    /// </summary>
    public string Command { get; init; } = "pw.x";

    /// <summary>The folder that holds one numbered sub-folder per calculation (pw-0001, pw-0002, …); created if needed. Default "pw-runs" under the current directory.</summary>
    public string WorkingDirectory { get; init; } = "pw-runs";

    /// <summary>Prefix of the numbered run folders.</summary>
    public string DirectoryPrefix { get; init; } = "pw-";

    /// <summary>Wall-clock limit per calculation; null for none. On expiry the process tree is killed and a <see cref="PwCalculationException"/> (Timeout) is thrown.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>Extra environment variables for pw.x. OMP_NUM_THREADS is set to 1 unless given here or already set in Gpff's environment.</summary>
    public IReadOnlyDictionary<string, string>? Environment { get; init; }

    /// <summary>What to do when a run fails in a way another try may fix (default: no retry, one attempt).</summary>
    public PwRetryPolicy Retry { get; init; } = PwRetryPolicy.None;

    /// <summary>Keep pw.x's scratch folder (outdir: wavefunctions, charge density, data-file-schema.xml) after a successful run. Default false: only pw.in, pw.out, pw.err and run.log are kept.</summary>
    public bool KeepScratch { get; init; }

    /// <summary>Splits a command line into program and arguments: whitespace separates words, single or double quotes group them, backslash escapes the next character outside single quotes.</summary>
    /// <param name="commandLine">The command line.</param>
    /// <exception cref="ArgumentException">Empty command or unbalanced quotes.</exception>
    public static IReadOnlyList<string> SplitCommandLine(string commandLine)
    {
        ArgumentNullException.ThrowIfNull(commandLine);
        var words = new List<string>();
        var cur = new StringBuilder();
        bool inWord = false;
        char quote = '\0';
        for (int i = 0; i < commandLine.Length; i++)
        {
            char c = commandLine[i];
            if (quote == '\'')
            {
                if (c == '\'')
                {
                    quote = '\0';
                }
                else
                {
                    cur.Append(c);
                }
            }
            else if (c == '\\' && i + 1 < commandLine.Length)
            {
                cur.Append(commandLine[++i]);
                inWord = true;
            }
            else if (quote == '"')
            {
                if (c == '"')
                {
                    quote = '\0';
                }
                else
                {
                    cur.Append(c);
                }
            }
            else if (c is '\'' or '"')
            {
                quote = c;
                inWord = true;
            }
            else if (char.IsWhiteSpace(c))
            {
                if (inWord)
                {
                    words.Add(cur.ToString());
                    cur.Clear();
                    inWord = false;
                }
            }
            else
            {
                cur.Append(c);
                inWord = true;
            }
        }

        if (quote != '\0')
        {
            throw new ArgumentException($"Unbalanced {quote} quote in the command '{commandLine}'.", nameof(commandLine));
        }

        if (inWord)
        {
            words.Add(cur.ToString());
        }

        if (words.Count == 0)
        {
            throw new ArgumentException("The pw.x command is empty.", nameof(commandLine));
        }

        return words;
    }
}

/// <summary>
/// Quantum ESPRESSO pw.x as a reference calculator (ASE's Espresso calculator): each call writes
/// pw.in into its own numbered folder under <see cref="PwRunOptions.WorkingDirectory"/>, runs the
/// configured command there (pw.x directly, or through mpirun / srun), and reads energy, forces and
/// stress from pw.out with <see cref="PwOutput"/>. Folders are kept. A failed run — pw.x error,
/// non-converged SCF, crash, timeout — throws <see cref="PwCalculationException"/> naming the folder
/// and the reason; cancellation throws <see cref="OperationCanceledException"/>. Timeout and
/// cancellation kill the whole process tree. Safe to call from several threads (each call gets its own folder).
/// </summary>
public sealed class PwCalculator : ICalculator
{
    private static readonly object Gate = new(); // process-wide: calculators sharing a working folder never pick the same sub-folder
    private readonly IReadOnlyList<string> _command;
    private int _next = 1;

    /// <summary>Creates the calculator.</summary>
    /// <param name="settings">What goes into each input.</param>
    /// <param name="options">How pw.x is run; null for defaults ("pw.x" in ./pw-runs).</param>
    public PwCalculator(PwInputSettings settings, PwRunOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        Settings = settings;
        Options = options ?? new PwRunOptions();
        ArgumentNullException.ThrowIfNull(Options.Retry);
        Options.Retry.Validate();
        _command = PwRunOptions.SplitCommandLine(Options.Command);
    }

    /// <summary>The input settings.</summary>
    public PwInputSettings Settings { get; }

    /// <summary>The run options.</summary>
    public PwRunOptions Options { get; }

    /// <summary>The folder of the most recent call (successful or not), or null before the first.</summary>
    public string? LastDirectory { get; private set; }

    /// <summary>Energy, forces and stress (cells periodic along all axes); no local energies, no uncertainties.</summary>
    public CalculatorProperties ImplementedProperties => CalculatorProperties.EnergyForcesStress;

    /// <summary>
    /// Runs pw.x asking it for forces (<c>tprnfor</c>) and stress (<c>tstress</c>) only when they are
    /// requested. The total energy is always returned (pw.x always prints it), and forces or stress that
    /// pw.out has anyway (e.g. set through <see cref="PwInputSettings.Namelists"/>) are returned too.
    /// </summary>
    /// <param name="structure">The structure; not modified.</param>
    /// <param name="properties">What to compute (a subset of <see cref="ImplementedProperties"/>).</param>
    /// <param name="cancellationToken">Kills pw.x and throws <see cref="OperationCanceledException"/>.</param>
    /// <returns>Energy in eV, forces in eV/Å, stress in eV/Å³ (ASE sign).</returns>
    /// <exception cref="PwCalculationException">pw.x failed, or pw.out lacks a property asked for.</exception>
    /// <exception cref="NotSupportedException">Local energies or uncertainties were asked for.</exception>
    public CalculationResult Calculate(Structure structure, CalculatorProperties properties, CancellationToken cancellationToken = default)
    {
        this.ThrowIfNotImplemented(properties);
        var s = Run(structure, properties, cancellationToken);
        return new CalculationResult
        {
            EnergyEv = s.EnergyEv,
            ForcesEvPerA = s.ForcesEvPerA,
            StressEvPerA3 = s.StressEvPerA3,
        };
    }

    /// <summary>
    /// Runs pw.x on a structure and returns the structure pw.x computed (positions as pw.x read them),
    /// labelled with energy, forces and stress and with the <see cref="PwOutput"/> info keys plus
    /// <c>qe_directory</c>.
    /// </summary>
    /// <param name="structure">The structure; not modified.</param>
    /// <param name="cancellationToken">Kills pw.x and throws <see cref="OperationCanceledException"/>.</param>
    /// <exception cref="PwCalculationException">pw.x failed; the message names the folder and the reason.</exception>
    /// <exception cref="ArgumentException">A species has no pseudopotential.</exception>
    public Structure Run(Structure structure, CancellationToken cancellationToken = default) =>
        Run(structure, CalculatorProperties.EnergyForcesStress, cancellationToken);

    private Structure Run(Structure structure, CalculatorProperties properties, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(structure);
        var policy = Options.Retry;
        var failures = new List<string>();
        for (int attempt = 1; ; attempt++)
        {
            var settings = policy.SettingsForAttempt(Settings, attempt);
            try
            {
                return RunOnce(structure, settings, properties, cancellationToken);
            }
            catch (PwCalculationException e) when (attempt < policy.MaxAttempts && PwRetryPolicy.IsRetried(e.Kind))
            {
                failures.Add($"attempt {attempt} ({policy.Describe(Settings, attempt)}) in {e.Directory}: {e.Kind}");
            }
            catch (PwCalculationException e) when (attempt > 1)
            {
                throw new PwCalculationException(e.Kind, e.Directory,
                    $"{e.Message} This was attempt {attempt} of {policy.MaxAttempts} ({policy.Describe(Settings, attempt)}); earlier: {string.Join("; ", failures)}.", e.ExitCode, e);
            }
        }
    }

    private Structure RunOnce(Structure structure, PwInputSettings settings, CalculatorProperties properties, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        string input;
        using (var w = new StringWriter(CultureInfo.InvariantCulture) { NewLine = "\n" })
        {
            PwInput.Write(w, structure, settings, "./scratch", "gpff", properties);
            input = w.ToString();
        }

        string dir = NewDirectory();
        LastDirectory = dir;
        File.WriteAllText(Path.Combine(dir, "pw.in"), input);
        string outPath = Path.Combine(dir, "pw.out");
        string errPath = Path.Combine(dir, "pw.err");

        var psi = new ProcessStartInfo
        {
            FileName = _command[0],
            WorkingDirectory = dir,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            CreateNoWindow = true,
        };
        foreach (var a in _command.Skip(1))
        {
            psi.ArgumentList.Add(a);
        }

        psi.ArgumentList.Add("-in");
        psi.ArgumentList.Add("pw.in");
        bool ompGiven = Options.Environment?.ContainsKey("OMP_NUM_THREADS") == true
            || System.Environment.GetEnvironmentVariable("OMP_NUM_THREADS") is not null;
        if (!ompGiven)
        {
            psi.Environment["OMP_NUM_THREADS"] = "1";
        }

        if (Options.Environment is not null)
        {
            foreach (var (k, v) in Options.Environment)
            {
                psi.Environment[k] = v;
            }
        }

        var started = DateTimeOffset.Now;
        var log = new StringBuilder();
        log.AppendLine(CultureInfo.InvariantCulture, $"command: {string.Join(' ', _command.Select(Quote))} -in pw.in");
        log.AppendLine(CultureInfo.InvariantCulture, $"started: {started:O}");

        using var process = new Process { StartInfo = psi };
        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            File.AppendAllText(Path.Combine(dir, "run.log"), log + $"could not start: {ex.Message}\n");
            throw new PwCalculationException(PwFailureKind.CouldNotStart, dir,
                $"pw.x run in {dir}: could not start '{_command[0]}' ({ex.Message}). Is Quantum ESPRESSO installed (Debian: apt-get install quantum-espresso) and on PATH, or is PwRunOptions.Command right?",
                null, ex);
        }

        process.StandardInput.Close();
        Task copyOut, copyErr;
        var outFile = new FileStream(outPath, FileMode.Create, FileAccess.Write, FileShare.Read);
        var errFile = new FileStream(errPath, FileMode.Create, FileAccess.Write, FileShare.Read);
        copyOut = process.StandardOutput.BaseStream.CopyToAsync(outFile, CancellationToken.None);
        copyErr = process.StandardError.BaseStream.CopyToAsync(errFile, CancellationToken.None);

        bool timedOut = false, cancelled = false;
        using (var timeoutCts = new CancellationTokenSource())
        using (var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutCts.Token))
        {
            if (Options.Timeout is TimeSpan t)
            {
                timeoutCts.CancelAfter(t);
            }

            try
            {
                process.WaitForExitAsync(linked.Token).GetAwaiter().GetResult();
            }
            catch (OperationCanceledException)
            {
                cancelled = cancellationToken.IsCancellationRequested;
                timedOut = !cancelled;
                KillTree(process);
            }
        }

        process.WaitForExit();
        try
        {
            // Grandchildren (MPI ranks) may hold the pipes a moment longer; they were killed with the tree.
            Task.WaitAll([copyOut, copyErr], TimeSpan.FromSeconds(30));
        }
        catch (AggregateException)
        {
            // Output copying failed (pipe closed); what arrived is on disk.
        }
        finally
        {
            outFile.Dispose();
            errFile.Dispose();
        }

        int exitCode = process.ExitCode;
        log.AppendLine(CultureInfo.InvariantCulture, $"finished: {DateTimeOffset.Now:O} ({(DateTimeOffset.Now - started).TotalSeconds:F1} s)");
        log.AppendLine(CultureInfo.InvariantCulture, $"exit code: {exitCode}{(timedOut ? " (killed: timeout)" : cancelled ? " (killed: cancelled)" : "")}");
        File.WriteAllText(Path.Combine(dir, "run.log"), log.ToString());

        if (cancelled)
        {
            throw new OperationCanceledException($"pw.x run in {dir} was cancelled; its process tree was killed.", cancellationToken);
        }

        if (timedOut)
        {
            throw new PwCalculationException(PwFailureKind.Timeout, dir,
                $"pw.x run in {dir} exceeded the timeout of {Options.Timeout!.Value.TotalSeconds:G4} s; its process tree was killed.", null);
        }

        var result = ReadResult(dir, outPath, errPath, exitCode, structure, properties);
        if (!Options.KeepScratch)
        {
            try
            {
                var scratch = Path.Combine(dir, "scratch");
                if (System.IO.Directory.Exists(scratch))
                {
                    System.IO.Directory.Delete(scratch, recursive: true);
                }
            }
            catch (IOException)
            {
                // Leaving scratch behind is harmless.
            }
        }

        return result;
    }

    /// <summary>
    /// Reads a pw.x run that was made elsewhere (a batch job: pw.in, pw.out and pw.err in <paramref name="directory"/>)
    /// with the same checks as <see cref="Calculate"/>: the same result, or the same <see cref="PwCalculationException"/>.
    /// </summary>
    /// <param name="directory">The run folder.</param>
    /// <param name="exitCode">pw.x's exit code (0 when it is not known but the job completed).</param>
    /// <param name="structure">The structure that was computed.</param>
    /// <param name="properties">What was asked for (forces and stress must be in pw.out when asked).</param>
    /// <returns>The structure pw.x computed, labelled, with <c>qe_directory</c>.</returns>
    /// <exception cref="PwCalculationException">The run failed or pw.out lacks a property asked for.</exception>
    public static Structure ReadRun(string directory, int exitCode, Structure structure, CalculatorProperties properties)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(structure);
        return ReadResult(directory, Path.Combine(directory, "pw.out"), Path.Combine(directory, "pw.err"), exitCode, structure, properties);
    }

    private static Structure ReadResult(string dir, string outPath, string errPath, int exitCode, Structure structure, CalculatorProperties properties)
    {
        var read = PwOutput.ReadTolerant(outPath, null);
        string ExitText() => exitCode == 0 ? "" : $" (exit code {exitCode})";
        if (read.FirstProblem is { } p)
        {
            string tail = p.Kind == PwFailureKind.Truncated ? StderrTail(errPath) : "";
            throw new PwCalculationException(p.Kind, dir, $"pw.x run in {dir} failed{ExitText()}: {p.Message}{tail}", exitCode, p);
        }

        if (exitCode != 0)
        {
            throw new PwCalculationException(PwFailureKind.Crashed, dir,
                $"pw.x run in {dir} exited with code {exitCode} although its output looks complete.{StderrTail(errPath)}", exitCode);
        }

        if (read.Frames.Count == 0)
        {
            throw new PwCalculationException(PwFailureKind.MissingResults, dir, $"pw.x run in {dir}: pw.out has no total energy.", exitCode);
        }

        var s = read.Frames[^1];
        string? missing = s.AtomCount != structure.AtomCount ? $"pw.out has {s.AtomCount} atoms, the structure {structure.AtomCount}"
            : properties.HasFlag(CalculatorProperties.Forces) && s.ForcesEvPerA is null ? "pw.out has no forces"
            : properties.HasFlag(CalculatorProperties.Stress) && structure.Pbc.AllPeriodic && s.StressEvPerA3 is null ? "pw.out has no stress"
            : !s.Symbols().SequenceEqual(structure.Symbols()) ? "the species in pw.out differ from the structure's"
            : null;
        if (missing is not null)
        {
            throw new PwCalculationException(PwFailureKind.MissingResults, dir, $"pw.x run in {dir}: {missing}.", exitCode);
        }

        s.Info["qe_directory"] = dir;
        return s;
    }

    private static string StderrTail(string errPath)
    {
        try
        {
            var lines = File.ReadAllLines(errPath).Where(l => l.Trim().Length > 0).TakeLast(5).ToList();
            return lines.Count == 0 ? "" : " Last lines of pw.err: " + string.Join(" | ", lines.Select(l => l.Trim()));
        }
        catch (IOException)
        {
            return "";
        }
    }

    private static void KillTree(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
        catch (Win32Exception)
        {
            // Some descendant could not be signalled; the direct child was.
        }
    }

    private string NewDirectory()
    {
        lock (Gate)
        {
            string root = Path.GetFullPath(Options.WorkingDirectory);
            System.IO.Directory.CreateDirectory(root);
            while (true)
            {
                string dir = Path.Combine(root, $"{Options.DirectoryPrefix}{_next.ToString("D4", CultureInfo.InvariantCulture)}");
                _next++;
                if (!System.IO.Directory.Exists(dir) && !File.Exists(dir))
                {
                    System.IO.Directory.CreateDirectory(dir);
                    return dir;
                }
            }
        }
    }

    private static string Quote(string s) => s.Any(char.IsWhiteSpace) ? $"'{s}'" : s;
}
