using System.Text.Json;
using Gpff.IO;

namespace Gpff.Slurm;

/// <summary>One submitted piece of work.</summary>
/// <param name="Key">What the job computes (a hash of its input), the ledger's key.</param>
/// <param name="JobId">The Slurm job id.</param>
/// <param name="Directory">The job's folder.</param>
/// <param name="SubmittedUtc">When it was submitted.</param>
public sealed record SlurmJobRecord(string Key, string JobId, string Directory, DateTime SubmittedUtc);

/// <summary>
/// The record of submitted jobs that lets a restarted driver re-attach to them instead of submitting them again:
/// a JSON file (<c>slurm-jobs.json</c> in the driver's working or checkpoint folder), rewritten atomically after
/// every submission, keyed by what each job computes. Thread-safe.
/// </summary>
public sealed class SlurmJobLedger
{
    /// <summary>Default file name of a ledger in a folder.</summary>
    public const string FileName = "slurm-jobs.json";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
    private readonly object _gate = new();
    private readonly Dictionary<string, SlurmJobRecord> _records = new(StringComparer.Ordinal);

    /// <summary>Opens (or starts) the ledger at <paramref name="path"/>.</summary>
    /// <param name="path">The ledger file; read when it exists.</param>
    /// <exception cref="InvalidDataException">The file exists but is not a ledger.</exception>
    public SlurmJobLedger(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Path = System.IO.Path.GetFullPath(path);
        if (File.Exists(Path))
        {
            try
            {
                foreach (var r in JsonSerializer.Deserialize<List<SlurmJobRecord>>(File.ReadAllText(Path), Json) ?? [])
                {
                    _records[r.Key] = r;
                }
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{Path} is not a Slurm job ledger ({e.Message}); move it away to start afresh (jobs it names would then be submitted again).", e);
            }
        }
    }

    /// <summary>The ledger file.</summary>
    public string Path { get; }

    /// <summary>The records, in no particular order.</summary>
    public IReadOnlyList<SlurmJobRecord> Records
    {
        get
        {
            lock (_gate)
            {
                return [.. _records.Values];
            }
        }
    }

    /// <summary>The job recorded for <paramref name="key"/>, or null.</summary>
    /// <param name="key">What the job computes.</param>
    public SlurmJobRecord? Find(string key)
    {
        lock (_gate)
        {
            return _records.GetValueOrDefault(key);
        }
    }

    /// <summary>Records a submission (replacing an earlier one of the same key) and saves the ledger.</summary>
    /// <param name="record">The job.</param>
    public void Record(SlurmJobRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        lock (_gate)
        {
            _records[record.Key] = record;
            Save();
        }
    }

    /// <summary>Forgets a job (cancelled by the driver, or lost by the cluster and to be submitted again) and saves the ledger.</summary>
    /// <param name="key">What the job computes.</param>
    public void Forget(string key)
    {
        lock (_gate)
        {
            if (_records.Remove(key))
            {
                Save();
            }
        }
    }

    private void Save()
    {
        System.IO.Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        var bytes = JsonSerializer.SerializeToUtf8Bytes(_records.Values.OrderBy(r => r.SubmittedUtc).ToList(), Json);
        SafeFile.WriteAtomic(Path, s => s.Write(bytes));
    }
}
