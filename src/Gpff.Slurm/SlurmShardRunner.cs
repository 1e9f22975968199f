using System.Globalization;
using Gpff.QuantumEspresso;
using Gpff.Regression;

namespace Gpff.Slurm;

/// <summary>
/// Computes the shards of a sparse-GP training as the tasks of one Slurm job array: task k runs
/// <c>GPFF sparse-shard --plan PLAN --directory DIR --index k</c> on a node (the same code as
/// <see cref="InProcessShardRunner"/>), writing its shard file atomically. When the array has ended, the shard files
/// are checked (<see cref="SparseShardPlan.Problems"/>): the tasks whose file is missing or damaged — killed, failed,
/// lost with a node — are submitted again, alone, as a smaller array, up to <see cref="SlurmSettings.MaxSubmissions"/>
/// times. The array's id is kept in the shard folder's ledger, so a driver restarted while it runs waits for it
/// instead of submitting it again; cancellation cancels it (<c>scancel</c>).
/// </summary>
public sealed class SlurmShardRunner : ISparseShardRunner
{
    private const string LedgerKey = "sparse-shards";
    private readonly SlurmClient _client;
    private readonly IReadOnlyList<string> _gpff;

    /// <summary>Creates the runner.</summary>
    /// <param name="settings">Resources of each task (cpus_per_task is the threads of a shard), polling, resubmissions.</param>
    /// <param name="gpffCommand">The command that starts gpff on a node (e.g. "gpff" on the PATH, or "dotnet GPFF_DIR/Gpff.Cli.dll" with the folder the tool is installed in), split like a shell does.</param>
    /// <param name="client">The Slurm client (null: a new one).</param>
    public SlurmShardRunner(SlurmSettings settings, string gpffCommand, SlurmClient? client = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        Settings = settings;
        _gpff = PwRunOptions.SplitCommandLine(gpffCommand);
        _client = client ?? new SlurmClient();
    }

    /// <summary>The settings.</summary>
    public SlurmSettings Settings { get; }

    /// <summary>Arrays this runner submitted (a first one, then one per round of reruns).</summary>
    public int SubmittedArrays { get; private set; }

    /// <summary>Tasks submitted in all (reruns included).</summary>
    public int SubmittedTasks { get; private set; }

    /// <summary>Arrays found in the ledger and waited for instead of submitted (a restarted driver).</summary>
    public int AttachedArrays { get; private set; }

    /// <inheritdoc/>
    public async Task RunAsync(SparseShardPlan plan, string planPath, string directory, IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentException.ThrowIfNullOrEmpty(planPath);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        directory = Path.GetFullPath(directory);
        var ledger = new SlurmJobLedger(Path.Combine(directory, SlurmJobLedger.FileName));
        var monitor = new SlurmJobMonitor(_client, Settings.PollInterval);
        var history = new List<string>();
        for (int submission = 1; ; submission++)
        {
            var record = ledger.Find(LedgerKey);
            IReadOnlyCollection<int> tasks;
            if (record is not null)
            {
                tasks = TasksOf(record);
                AttachedArrays++;
                progress?.Report($"re-attaching to job array {record.JobId} (tasks {SlurmJobScript.ArraySpec(tasks)})");
            }
            else
            {
                var problems = plan.Problems(directory);
                if (problems.Count == 0)
                {
                    return;
                }

                if (submission > Settings.MaxSubmissions)
                {
                    throw new SparseShardException(directory, string.Create(CultureInfo.InvariantCulture,
                        $"{problems.Count} of {plan.ShardCount} shards are still missing or damaged after {Settings.MaxSubmissions} submissions (max_submissions): {string.Join("; ", problems.Values.Take(5))}. Tasks: {string.Join("; ", history)}."));
                }

                tasks = problems.Keys.ToList();
                record = await SubmitAsync(plan, planPath, directory, tasks, ledger).ConfigureAwait(false);
                progress?.Report($"submitted job array {record.JobId}: {tasks.Count} shard task(s) ({SlurmJobScript.ArraySpec(tasks)}) of {plan.ShardCount}");
            }

            var statuses = new List<SlurmJobStatus>();
            try
            {
                foreach (int t in tasks)
                {
                    statuses.Add(await monitor.WaitAsync(string.Create(CultureInfo.InvariantCulture, $"{record.JobId}_{t}"), cancellationToken).ConfigureAwait(false));
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                await _client.CancelAsync([record.JobId]).ConfigureAwait(false);
                ledger.Forget(LedgerKey);
                throw new OperationCanceledException($"The shard job array {record.JobId} was cancelled (scancel); the shards already written in {directory} are kept.", cancellationToken);
            }

            ledger.Forget(LedgerKey);
            var failed = statuses.Where(s => s.State != "COMPLETED").ToList();
            string failures = failed.Count == 0 ? ""
                : ", " + string.Join(", ", failed.Select(s => s.JobId + " " + s.State)) + " (logs: " + Path.Combine(directory, "slurm-" + record.JobId + "_N.out") + ")";
            history.Add($"array {record.JobId}: {(statuses.Count - failed.Count).ToString(CultureInfo.InvariantCulture)} completed{failures}");
            progress?.Report(history[^1]);
        }
    }

    private static List<int> TasksOf(SlurmJobRecord record) =>
        File.ReadAllText(Path.Combine(record.Directory, TasksFile(record.JobId))).Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(t => int.Parse(t, CultureInfo.InvariantCulture)).ToList();

    private static string TasksFile(string jobId) => $"tasks-{jobId}.txt";

    private async Task<SlurmJobRecord> SubmitAsync(SparseShardPlan plan, string planPath, string directory, IReadOnlyCollection<int> tasks, SlurmJobLedger ledger)
    {
        string jobName = $"{Settings.JobNamePrefix}-shards-{plan.Fingerprint[..12]}";
        string command = string.Join(' ', _gpff.Concat(new[] { "sparse-shard", "--plan", Path.GetFullPath(planPath), "--directory", directory }).Select(SlurmJobScript.Quote))
            + " --index \"$SLURM_ARRAY_TASK_ID\" --threads \"${SLURM_CPUS_PER_TASK:-1}\"";
        string script = Path.Combine(directory, SlurmJobScript.ScriptFile);
        File.WriteAllText(script, SlurmJobScript.Build(Settings, jobName, directory, command, tasks));
        string id = await _client.SubmitAsync(script).ConfigureAwait(false);
        File.WriteAllText(Path.Combine(directory, TasksFile(id)), string.Join(',', tasks.Select(t => t.ToString(CultureInfo.InvariantCulture))));
        var record = new SlurmJobRecord(LedgerKey, id, directory, DateTime.UtcNow);
        ledger.Record(record);
        SubmittedArrays++;
        SubmittedTasks += tasks.Count;
        return record;
    }
}
