using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Gpff.QuantumEspresso;

namespace Gpff.Slurm;

/// <summary>How <see cref="SlurmPwCalculator"/> runs pw.x through Slurm.</summary>
public sealed record SlurmPwOptions
{
    /// <summary>Resources, environment and polling of the jobs.</summary>
    public SlurmSettings Slurm { get; init; } = new();

    /// <summary>The pw.x command inside the job, after <see cref="SlurmSettings.Launcher"/> (default "pw.x"); Gpff appends "-in pw.in".</summary>
    public string Command { get; init; } = "pw.x";

    /// <summary>Folder of the job folders (one per pw.x input: pw-HASH) and, unless <see cref="LedgerPath"/> says otherwise, of the job ledger. Default "pw-slurm".</summary>
    public string WorkingDirectory { get; init; } = "pw-slurm";

    /// <summary>
    /// The job ledger (<see cref="SlurmJobLedger"/>): put it in a checkpoint folder so that the checkpoint and the jobs
    /// go together. Null: <see cref="SlurmJobLedger.FileName"/> in <see cref="WorkingDirectory"/>.
    /// </summary>
    public string? LedgerPath { get; init; }

    /// <summary>What to do when a pw.x run fails in a way another try may fix (the pw.x calculator's policy; default: one attempt).</summary>
    public PwRetryPolicy Retry { get; init; } = PwRetryPolicy.None;

    /// <summary>Keep pw.x's scratch folder after a successful run (default false).</summary>
    public bool KeepScratch { get; init; }
}

/// <summary>
/// pw.x as a reference calculator whose runs are Slurm jobs: each call writes pw.in and a job script (built from
/// <see cref="SlurmSettings"/>) into a folder named by the hash of the input, submits it with <c>sbatch</c>, follows it
/// with <c>squeue</c>/<c>sacct</c> (one query per interval for all running calls, <see cref="SlurmJobMonitor"/>), and
/// reads the result with the pw.x calculator's own reader (<see cref="PwCalculator.ReadRun"/>: the same result, the same
/// errors). Failures that another try may fix are retried by <see cref="PwRetryPolicy"/> (new settings, new job); a job
/// the cluster lost (node failure, preemption, cancelled by someone else) is submitted again, up to
/// <see cref="SlurmSettings.MaxSubmissions"/>; TIMEOUT is a <see cref="PwFailureKind.Timeout"/>, not retried.
/// <para>
/// Every submission is recorded in a ledger (<see cref="SlurmPwOptions.LedgerPath"/>) before the call waits, keyed
/// by the input, so a driver that was killed and restarted (the on-the-fly learner resuming from its checkpoint, a
/// pool selection run again) finds its jobs — running or finished — and re-attaches instead of submitting them again.
/// Cancellation cancels the call's job (<c>scancel</c>) and forgets it. Safe to call from several threads: offline
/// selection's <c>MaxConcurrency</c> is the number of jobs in the queue at once.
/// </para>
/// </summary>
public sealed class SlurmPwCalculator : ICalculator
{
    private readonly SlurmClient _client;
    private readonly SlurmJobMonitor _monitor;
    private readonly SlurmJobLedger _ledger;
    private readonly IReadOnlyList<string> _command;
    private readonly IReadOnlyList<string> _launcher;
    private int _submitted;
    private int _attached;

    /// <summary>Creates the calculator.</summary>
    /// <param name="settings">What goes into each pw.x input.</param>
    /// <param name="options">How the jobs run; null: defaults.</param>
    /// <param name="client">The Slurm client (null: a new one).</param>
    public SlurmPwCalculator(PwInputSettings settings, SlurmPwOptions? options = null, SlurmClient? client = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        Settings = settings;
        Options = options ?? new SlurmPwOptions();
        ArgumentNullException.ThrowIfNull(Options.Slurm);
        ArgumentNullException.ThrowIfNull(Options.Retry);
        Options.Slurm.Validate(nameof(SlurmPwOptions) + "." + nameof(SlurmPwOptions.Slurm));
        Options.Retry.Validate();
        _command = PwRunOptions.SplitCommandLine(Options.Command);
        _launcher = Options.Slurm.Launcher.Trim().Length == 0 ? [] : PwRunOptions.SplitCommandLine(Options.Slurm.Launcher);
        _client = client ?? new SlurmClient();
        _monitor = new SlurmJobMonitor(_client, Options.Slurm.PollInterval);
        _ledger = new SlurmJobLedger(Options.LedgerPath ?? Path.Combine(Path.GetFullPath(Options.WorkingDirectory), SlurmJobLedger.FileName));
    }

    /// <summary>The input settings.</summary>
    public PwInputSettings Settings { get; }

    /// <summary>The options.</summary>
    public SlurmPwOptions Options { get; }

    /// <summary>The job ledger.</summary>
    public SlurmJobLedger Ledger => _ledger;

    /// <summary>Jobs this calculator submitted.</summary>
    public int SubmittedJobs => _submitted;

    /// <summary>Calls answered by a job found in the ledger or the queue (submitted before, e.g. by a driver that was restarted).</summary>
    public int AttachedJobs => _attached;

    /// <summary>Energy, forces and stress (cells periodic along all axes).</summary>
    public CalculatorProperties ImplementedProperties => CalculatorProperties.EnergyForcesStress;

    /// <summary>Runs pw.x as a Slurm job and waits for it (blocking; see <see cref="CalculateAsync"/>).</summary>
    /// <param name="structure">The structure; not modified.</param>
    /// <param name="properties">What to compute.</param>
    /// <param name="cancellationToken">Cancels the job (<c>scancel</c>) and throws <see cref="OperationCanceledException"/>.</param>
    /// <exception cref="PwCalculationException">pw.x failed (every attempt), or Slurm lost the job too often.</exception>
    public CalculationResult Calculate(Structure structure, CalculatorProperties properties, CancellationToken cancellationToken = default) =>
        CalculateAsync(structure, properties, cancellationToken).GetAwaiter().GetResult();

    /// <summary>Runs pw.x as a Slurm job (re-attaching to a recorded one for the same input) and returns its energy, forces and stress.</summary>
    /// <param name="structure">The structure; not modified.</param>
    /// <param name="properties">What to compute.</param>
    /// <param name="cancellationToken">Cancels the job (<c>scancel</c>) and throws <see cref="OperationCanceledException"/>.</param>
    /// <returns>Energy in eV, forces in eV/Å, stress in eV/Å³ (ASE sign).</returns>
    /// <exception cref="PwCalculationException">pw.x failed (every attempt), or Slurm lost the job too often.</exception>
    /// <exception cref="SlurmException">Slurm's commands failed (sbatch refused the job, slurmctld does not answer).</exception>
    public async Task<CalculationResult> CalculateAsync(Structure structure, CalculatorProperties properties, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(structure);
        this.ThrowIfNotImplemented(properties);
        var policy = Options.Retry;
        var failures = new List<string>();
        for (int attempt = 1; ; attempt++)
        {
            var settings = policy.SettingsForAttempt(Settings, attempt);
            try
            {
                var s = await RunOnceAsync(structure, settings, properties, cancellationToken).ConfigureAwait(false);
                return new CalculationResult { EnergyEv = s.EnergyEv, ForcesEvPerA = s.ForcesEvPerA, StressEvPerA3 = s.StressEvPerA3 };
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

    /// <summary>The pw.x input text of a structure (what the job runs, and what its key hashes).</summary>
    private static string InputText(Structure structure, PwInputSettings settings, CalculatorProperties properties)
    {
        using var w = new StringWriter(CultureInfo.InvariantCulture) { NewLine = "\n" };
        PwInput.Write(w, structure, settings, "./scratch", "gpff", properties);
        return w.ToString();
    }

    private string CommandLine() =>
        string.Join(' ', _launcher.Concat(_command).Select(SlurmJobScript.Quote)) + " -in pw.in > pw.out 2> pw.err";

    private async Task<Structure> RunOnceAsync(Structure structure, PwInputSettings settings, CalculatorProperties properties, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        string input = InputText(structure, settings, properties);
        string command = CommandLine();
        string key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(input + "\n#command: " + command)));
        string dir = Path.Combine(Path.GetFullPath(Options.WorkingDirectory), "pw-" + key[..16]);
        string jobName = $"{Options.Slurm.JobNamePrefix}-pw-{key[..16]}";
        for (int submission = 1; ; submission++)
        {
            var record = _ledger.Find(key);
            if (record is null)
            {
                var queued = await _client.FindQueuedAsync(jobName, ct).ConfigureAwait(false);
                if (queued.Count > 0 && File.Exists(Path.Combine(dir, "pw.in")))
                {
                    // Submitted by a driver killed before it could record the id.
                    record = new SlurmJobRecord(key, queued[0], dir, DateTime.UtcNow);
                    _ledger.Record(record);
                    Interlocked.Increment(ref _attached);
                }
                else
                {
                    record = await SubmitAsync(key, dir, jobName, input, command, ct).ConfigureAwait(false);
                }
            }
            else if (submission == 1)
            {
                Interlocked.Increment(ref _attached);
            }

            SlurmJobStatus status;
            try
            {
                status = await _monitor.WaitAsync(record.JobId, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                await _client.CancelAsync([record.JobId]).ConfigureAwait(false);
                _ledger.Forget(key);
                throw new OperationCanceledException($"The pw.x job {record.JobId} in {dir} was cancelled (scancel).", ct);
            }

            int? exitCode = ReadExitCode(dir) ?? status.ExitCode;
            if (status.State == "TIMEOUT")
            {
                throw new PwCalculationException(PwFailureKind.Timeout, dir,
                    $"pw.x job {record.JobId} in {dir} reached its time limit ({Options.Slurm.TimeLimitText}, time_limit_minutes) and was stopped by Slurm.");
            }

            bool lost = exitCode is null && (status.IsLostByCluster || status.State is "FAILED" or "OUT_OF_MEMORY" or "DEADLINE");
            if (lost)
            {
                if (status.State == "OUT_OF_MEMORY")
                {
                    throw new PwCalculationException(PwFailureKind.Crashed, dir, $"pw.x job {record.JobId} in {dir} ran out of memory (Slurm state OUT_OF_MEMORY); ask for more with memory_mb.");
                }

                _ledger.Forget(key);
                if (submission >= Options.Slurm.MaxSubmissions)
                {
                    throw new PwCalculationException(PwFailureKind.Crashed, dir,
                        $"pw.x job {record.JobId} in {dir} ended {status.State}{(status.Reason is { } r ? $" ({r})" : "")} without running pw.x to its end, {submission} time(s) (max_submissions); see {Path.Combine(dir, $"slurm-{record.JobId}.out")}.");
                }

                continue;
            }

            var result = PwCalculator.ReadRun(dir, exitCode ?? 0, structure, properties);
            if (!Options.KeepScratch)
            {
                TryDeleteScratch(dir);
            }

            return result;
        }
    }

    private async Task<SlurmJobRecord> SubmitAsync(string key, string dir, string jobName, string input, string command, CancellationToken ct)
    {
        Directory.CreateDirectory(dir);
        foreach (var stale in new[] { "pw.out", "pw.err", SlurmJobScript.ExitCodeFile })
        {
            File.Delete(Path.Combine(dir, stale));
        }

        File.WriteAllText(Path.Combine(dir, "pw.in"), input);
        string script = Path.Combine(dir, SlurmJobScript.ScriptFile);
        File.WriteAllText(script, SlurmJobScript.Build(Options.Slurm, jobName, dir, command));
        string id = await _client.SubmitAsync(script, CancellationToken.None).ConfigureAwait(false); // never abandon a submission half way
        var record = new SlurmJobRecord(key, id, dir, DateTime.UtcNow);
        _ledger.Record(record);
        Interlocked.Increment(ref _submitted);
        return record; // a cancellation meanwhile is seen by the wait, which cancels the job

    }

    private static int? ReadExitCode(string dir)
    {
        string path = Path.Combine(dir, SlurmJobScript.ExitCodeFile);
        try
        {
            return File.Exists(path) && int.TryParse(File.ReadAllText(path).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int code) ? code : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static void TryDeleteScratch(string dir)
    {
        try
        {
            string scratch = Path.Combine(dir, "scratch");
            if (Directory.Exists(scratch))
            {
                Directory.Delete(scratch, recursive: true);
            }
        }
        catch (IOException)
        {
            // harmless
        }
    }
}
