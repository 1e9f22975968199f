using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;

namespace Gpff.Slurm;

/// <summary>A Slurm command failed, or Slurm is not there; the message names the command and what it printed.</summary>
public sealed class SlurmException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="inner">The underlying exception, if any.</param>
    public SlurmException(string message, Exception? inner = null) : base(message, inner)
    {
    }
}

/// <summary>What Slurm says of one job (or one task of a job array).</summary>
/// <param name="JobId">"1234", or "1234_5" for task 5 of array job 1234.</param>
/// <param name="State">Slurm's state, upper case: PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT, NODE_FAIL, …;
/// <see cref="SlurmJobStatus.Unknown"/> when neither squeue nor sacct knows the job.</param>
/// <param name="Reason">squeue's reason (e.g. "Resources", "NonZeroExitCode"), or null.</param>
/// <param name="ExitCode">The exit code sacct reports ("2:0" → 2), or null when not known.</param>
public sealed record SlurmJobStatus(string JobId, string State, string? Reason = null, int? ExitCode = null)
{
    /// <summary>State of a job that neither squeue nor sacct knows (it left the controller and there is no accounting).</summary>
    public const string Unknown = "UNKNOWN";

    private static readonly HashSet<string> Terminal = new(StringComparer.Ordinal)
    {
        "COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "PREEMPTED", "BOOT_FAIL", "DEADLINE", "OUT_OF_MEMORY", "REVOKED", "SPECIAL_EXIT", Unknown,
    };

    /// <summary>Whether the job has ended (or is unknown, which a caller must treat as ended).</summary>
    public bool IsFinished => Terminal.Contains(State);

    /// <summary>Whether the state is a terminal one.</summary>
    /// <param name="state">A Slurm state, upper case.</param>
    public static bool IsTerminalState(string state) => Terminal.Contains(state);

    /// <summary>Whether a job that ended in this state lost its work to the cluster, not to the program (a node failure, preemption, a cancellation by someone else, a lost job): submitting it again may succeed.</summary>
    public bool IsLostByCluster => State is "NODE_FAIL" or "PREEMPTED" or "BOOT_FAIL" or "CANCELLED" or "REVOKED" or Unknown;
}

/// <summary>
/// Slurm's commands, run as a user would: <c>sbatch --parsable</c> to submit, <c>squeue</c> and <c>sacct</c>
/// (<c>--parsable2</c>/<c>--format</c> output, parsed by <see cref="ParseSqueue"/> and <see cref="ParseSacct"/>) to follow, <c>scancel</c> to cancel.
/// </summary>
public sealed class SlurmClient
{
    /// <summary>squeue's output format: job id (array tasks as JOB_TASK), state, reason.</summary>
    public const string SqueueFormat = "%i|%T|%r";

    /// <summary>sacct's fields.</summary>
    public const string SacctFormat = "JobID,State,ExitCode";

    /// <summary>How long one Slurm command may take before it counts as failed (default 2 minutes).</summary>
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Submits a batch script: <c>sbatch --parsable SCRIPT</c>.</summary>
    /// <param name="scriptPath">The script (its <c>#SBATCH</c> lines say where it runs).</param>
    /// <param name="cancellationToken">Cancellation (a submission cut short may still have reached Slurm; the caller looks the job up by name).</param>
    /// <returns>The job id.</returns>
    /// <exception cref="SlurmException">sbatch is missing or refused the job (its message is included).</exception>
    public async Task<string> SubmitAsync(string scriptPath, CancellationToken cancellationToken = default)
    {
        var (code, stdout, stderr) = await RunAsync("sbatch", ["--parsable", scriptPath], cancellationToken).ConfigureAwait(false);
        string first = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "";
        string id = first.Split(';')[0];
        if (code != 0 || id.Length == 0 || !id.All(char.IsAsciiDigit))
        {
            throw new SlurmException($"sbatch {scriptPath} failed (exit code {code}): {Trim(stderr + " " + stdout)}");
        }

        return id;
    }

    /// <summary>
    /// The status of each job asked for: squeue first (<c>--states=all --array</c>, which also lists jobs that ended
    /// within the controller's MinJobAge), then sacct for those squeue no longer knows; a job neither knows is
    /// <see cref="SlurmJobStatus.Unknown"/>. An array job id gives one status per task ("1234_0", …).
    /// </summary>
    /// <param name="jobIds">Job ids (plain or array job ids).</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>Status by job id (array tasks by JOB_TASK; an array job whose tasks are all unknown by its plain id).</returns>
    public async Task<IReadOnlyDictionary<string, SlurmJobStatus>> QueryAsync(IEnumerable<string> jobIds, CancellationToken cancellationToken = default)
    {
        var ids = jobIds.Distinct().ToList();
        var result = new Dictionary<string, SlurmJobStatus>(StringComparer.Ordinal);
        if (ids.Count == 0)
        {
            return result;
        }

        var (code, stdout, stderr) = await RunAsync("squeue", ["--noheader", "--array", "--states=all", "--format=" + SqueueFormat, "--jobs=" + string.Join(',', ids)], cancellationToken).ConfigureAwait(false);
        if (code != 0 && !stderr.Contains("Invalid job id", StringComparison.OrdinalIgnoreCase))
        {
            throw new SlurmException($"squeue failed (exit code {code}): {Trim(stderr)}");
        }

        foreach (var s in ParseSqueue(stdout))
        {
            result[s.JobId] = s;
        }

        var missing = ids.Where(id => !result.Keys.Any(k => k == id || k.StartsWith(id + "_", StringComparison.Ordinal))).ToList();
        if (missing.Count > 0)
        {
            var (sc, so, _) = await RunAsync("sacct", ["--noheader", "--parsable2", "--format=" + SacctFormat, "--jobs=" + string.Join(',', missing)], cancellationToken, throwIfMissing: false).ConfigureAwait(false);
            if (sc == 0)
            {
                foreach (var s in ParseSacct(so))
                {
                    result[s.JobId] = s;
                }
            }

            foreach (var id in missing.Where(id => !result.Keys.Any(k => k == id || k.StartsWith(id + "_", StringComparison.Ordinal))))
            {
                result[id] = new SlurmJobStatus(id, SlurmJobStatus.Unknown);
            }
        }

        return result;
    }

    /// <summary>Jobs still queued or running with this name (<c>squeue --name</c>): a job submitted just before a driver was killed, before it could record the id.</summary>
    /// <param name="jobName">The job name.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    public async Task<IReadOnlyList<string>> FindQueuedAsync(string jobName, CancellationToken cancellationToken = default)
    {
        var (code, stdout, stderr) = await RunAsync("squeue", ["--noheader", "--format=%A", "--name=" + jobName], cancellationToken).ConfigureAwait(false);
        if (code != 0)
        {
            throw new SlurmException($"squeue --name={jobName} failed (exit code {code}): {Trim(stderr)}");
        }

        return stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct().ToList();
    }

    /// <summary>Cancels jobs: <c>scancel</c>. Jobs that already ended are no error.</summary>
    /// <param name="jobIds">Job ids.</param>
    public async Task CancelAsync(IEnumerable<string> jobIds)
    {
        var ids = jobIds.Distinct().ToList();
        if (ids.Count == 0)
        {
            return;
        }

        var (code, _, stderr) = await RunAsync("scancel", ids, CancellationToken.None).ConfigureAwait(false);
        if (code != 0 && !stderr.Contains("already completing or completed", StringComparison.OrdinalIgnoreCase) && !stderr.Contains("Invalid job id", StringComparison.OrdinalIgnoreCase))
        {
            throw new SlurmException($"scancel {string.Join(' ', ids)} failed (exit code {code}): {Trim(stderr)}");
        }
    }

    /// <summary>Parses <c>squeue --noheader --format=%i|%T|%r</c> output: one status per line.</summary>
    /// <param name="text">squeue's standard output.</param>
    public static IReadOnlyList<SlurmJobStatus> ParseSqueue(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var list = new List<SlurmJobStatus>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var f = line.Split('|');
            if (f.Length < 2 || f[0].Length == 0)
            {
                throw new SlurmException($"Cannot read squeue's line '{line}' (expected {SqueueFormat}).");
            }

            list.Add(new SlurmJobStatus(f[0], f[1].ToUpperInvariant(), f.Length > 2 && f[2] is { Length: > 0 } r && r != "None" ? r : null));
        }

        return list;
    }

    /// <summary>Parses <c>sacct --noheader --parsable2 --format=JobID,State,ExitCode</c> output; job steps ("1234.batch") are skipped, "CANCELLED by 0" is CANCELLED.</summary>
    /// <param name="text">sacct's standard output.</param>
    public static IReadOnlyList<SlurmJobStatus> ParseSacct(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var list = new List<SlurmJobStatus>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var f = line.Split('|');
            if (f.Length < 3 || f[0].Length == 0)
            {
                throw new SlurmException($"Cannot read sacct's line '{line}' (expected {SacctFormat} with --parsable2).");
            }

            if (f[0].Contains('.', StringComparison.Ordinal))
            {
                continue;
            }

            string state = f[1].Split(' ', 2)[0].TrimEnd('+').ToUpperInvariant();
            int? exit = int.TryParse(f[2].Split(':')[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out int e) ? e : null;
            list.Add(new SlurmJobStatus(f[0], state, null, exit));
        }

        return list;
    }

    private static string Trim(string s)
    {
        s = s.Trim().ReplaceLineEndings(" ");
        return s.Length > 500 ? s[..500] + "…" : s;
    }

    private async Task<(int Code, string Stdout, string Stderr)> RunAsync(string program, IReadOnlyList<string> args, CancellationToken cancellationToken, bool throwIfMissing = true)
    {
        var psi = new ProcessStartInfo { FileName = program, UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var process = new Process { StartInfo = psi };
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            if (!throwIfMissing)
            {
                return (127, "", e.Message);
            }

            throw new SlurmException($"Cannot run '{program}' ({e.Message}): is Slurm installed and on PATH here (Debian: apt-get install slurm-client; a test cluster: tools/slurm/start-local-cluster.sh as root)?", e);
        }

        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(CommandTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // exited meanwhile
            }

            cancellationToken.ThrowIfCancellationRequested();
            throw new SlurmException($"'{program} {string.Join(' ', args)}' did not answer within {CommandTimeout.TotalSeconds:F0} s: is slurmctld up (scontrol ping)?");
        }

        return (process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
    }
}

/// <summary>
/// Follows jobs for many waiters with one <c>squeue</c> call per interval (not one per job): each
/// <see cref="WaitAsync"/> resolves when its job has ended.
/// </summary>
public sealed class SlurmJobMonitor
{
    private readonly SlurmClient _client;
    private readonly TimeSpan _interval;
    private readonly object _gate = new();
    private readonly Dictionary<string, List<TaskCompletionSource<SlurmJobStatus>>> _waiting = new(StringComparer.Ordinal);
    private Task? _loop;

    /// <summary>Creates the monitor.</summary>
    /// <param name="client">The Slurm client.</param>
    /// <param name="interval">Time between two looks at the queue.</param>
    public SlurmJobMonitor(SlurmClient client, TimeSpan interval)
    {
        ArgumentNullException.ThrowIfNull(client);
        _client = client;
        _interval = interval;
    }

    /// <summary>Waits until a job (plain job id, or JOB_TASK) has ended; returns its final status.</summary>
    /// <param name="jobId">The job.</param>
    /// <param name="cancellationToken">Stops waiting (the job is not cancelled here).</param>
    public async Task<SlurmJobStatus> WaitAsync(string jobId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        var tcs = new TaskCompletionSource<SlurmJobStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            if (!_waiting.TryGetValue(jobId, out var list))
            {
                _waiting[jobId] = list = [];
            }

            list.Add(tcs);
            if (_loop is null || _loop.IsCompleted)
            {
                _loop = Task.Run(PollAsync, CancellationToken.None);
            }
        }

        using (cancellationToken.Register(() => tcs.TrySetCanceled(cancellationToken)))
        {
            try
            {
                return await tcs.Task.ConfigureAwait(false);
            }
            finally
            {
                lock (_gate)
                {
                    if (_waiting.TryGetValue(jobId, out var list) && list.Remove(tcs) && list.Count == 0)
                    {
                        _waiting.Remove(jobId);
                    }
                }
            }
        }
    }

    private async Task PollAsync()
    {
        while (true)
        {
            List<string> ids;
            lock (_gate)
            {
                if (_waiting.Count == 0)
                {
                    _loop = null;
                    return;
                }

                ids = [.. _waiting.Keys];
            }

            IReadOnlyDictionary<string, SlurmJobStatus>? statuses = null;
            Exception? error = null;
            try
            {
                statuses = await _client.QueryAsync(ids.Select(i => i.Split('_')[0]).Distinct()).ConfigureAwait(false);
            }
            catch (SlurmException e)
            {
                error = e;
            }

            lock (_gate)
            {
                foreach (var id in ids)
                {
                    if (!_waiting.TryGetValue(id, out var list))
                    {
                        continue;
                    }

                    if (error is not null)
                    {
                        foreach (var t in list)
                        {
                            t.TrySetException(error);
                        }

                        continue;
                    }

                    var status = statuses!.TryGetValue(id, out var s) ? s
                        : statuses.TryGetValue(id.Split('_')[0], out var whole) ? whole with { JobId = id }
                        : new SlurmJobStatus(id, SlurmJobStatus.Unknown);
                    if (status.IsFinished)
                    {
                        foreach (var t in list)
                        {
                            t.TrySetResult(status);
                        }
                    }
                }
            }

            await Task.Delay(_interval).ConfigureAwait(false);
        }
    }
}
