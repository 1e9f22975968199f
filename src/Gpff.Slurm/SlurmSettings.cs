using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Gpff.Slurm;

/// <summary>
/// How Gpff's jobs are submitted to Slurm: the resources asked of <c>sbatch</c> (partition, account, QOS, tasks,
/// cores, time limit, memory), the environment set up in the job script (modules, further shell lines), how a
/// program is started in it (<c>srun</c>, or plainly), and how the driver follows and repeats jobs. The one home of
/// these defaults: the JSON file of <c>gpff train --slurm</c> and the <c>slurm</c> section of <c>gpff learn</c>'s
/// settings map onto it key by key (snake_case, units in the names; <see cref="Describe"/> lists them).
/// </summary>
public sealed record SlurmSettings
{
    /// <summary>Partition (<c>--partition</c>); null: the cluster's default.</summary>
    public string? Partition { get; init; }

    /// <summary>Account charged (<c>--account</c>); null: the user's default.</summary>
    public string? Account { get; init; }

    /// <summary>Quality of service (<c>--qos</c>); null: the default.</summary>
    public string? Qos { get; init; }

    /// <summary>Tasks (MPI ranks) per job (<c>--ntasks</c>, default 1): pw.x runs on this many ranks through <see cref="Launcher"/>.</summary>
    public int Ntasks { get; init; } = 1;

    /// <summary>Cores per task (<c>--cpus-per-task</c>, default 1); OMP_NUM_THREADS is set to it in the job.</summary>
    public int CpusPerTask { get; init; } = 1;

    /// <summary>Wall-clock limit of one job in minutes (<c>--time</c>, default 60). A job past it ends TIMEOUT, which is not retried.</summary>
    public double TimeLimitMinutes { get; init; } = 60;

    /// <summary>Memory per node in MB (<c>--mem</c>); null: the partition's default.</summary>
    public int? MemoryMb { get; init; }

    /// <summary>Environment modules loaded in the job script (<c>module load NAME</c>, in this order), e.g. ["quantum-espresso/7.2"].</summary>
    public string[] Modules { get; init; } = [];

    /// <summary>Further shell lines run in the job script before the program (e.g. "source ~/venv/bin/activate").</summary>
    public string[] Setup { get; init; } = [];

    /// <summary>Further <c>sbatch</c> options, one per entry, written as <c>#SBATCH</c> lines (e.g. "--constraint=avx512").</summary>
    public string[] SbatchOptions { get; init; } = [];

    /// <summary>
    /// Word(s) put before pw.x in the job script (default "srun", which starts <see cref="Ntasks"/> ranks); "" to start
    /// the command plainly (when it is itself a launcher such as "mpirun -np 4 pw.x", or for a serial run).
    /// </summary>
    public string Launcher { get; init; } = "srun";

    /// <summary>Seconds between two looks at the queue (<c>squeue</c>; default 5). One call covers every job the driver follows.</summary>
    public double PollSeconds { get; init; } = 5;

    /// <summary>Prefix of job names (default "gpff"); the rest identifies the work (a hash of the pw.x input, or the shard plan).</summary>
    public string JobNamePrefix { get; init; } = "gpff";

    /// <summary>
    /// Sharded sparse-GP training (<c>gpff train --sparse M --slurm</c>): the number of shards, i.e. tasks of the job array (default 8).
    /// </summary>
    public int Shards { get; init; } = 8;

    /// <summary>
    /// Sharded training: the command that starts gpff on a compute node (default: the gpff running the driver, by its full
    /// path). Gpff appends <c>sparse-shard …</c>.
    /// </summary>
    public string? GpffCommand { get; init; }

    /// <summary>
    /// Most submissions of one piece of work that Slurm lost (a node failure, preemption, a task killed or cancelled by
    /// someone else, a shard file missing or damaged afterwards) before the driver gives up (default 3). pw.x's own
    /// failures follow the pw.x retry policy instead.
    /// </summary>
    public int MaxSubmissions { get; init; } = 3;

    /// <summary>The <c>--time</c> value, [days-]hours:minutes:seconds (rounded up to whole seconds).</summary>
    [JsonIgnore]
    public string TimeLimitText
    {
        get
        {
            long seconds = (long)Math.Ceiling(TimeLimitMinutes * 60);
            long days = seconds / 86400, rest = seconds % 86400;
            string hms = string.Create(CultureInfo.InvariantCulture, $"{rest / 3600:D2}:{rest % 3600 / 60:D2}:{rest % 60:D2}");
            return days > 0 ? string.Create(CultureInfo.InvariantCulture, $"{days}-{hms}") : hms;
        }
    }

    /// <summary>The interval between two looks at the queue.</summary>
    [JsonIgnore]
    public TimeSpan PollInterval => TimeSpan.FromSeconds(PollSeconds);

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        TypeInfoResolver = new DefaultJsonTypeInfoResolver(),
    };

    /// <summary>The JSON keys, in the order <see cref="Describe"/> lists them.</summary>
    public static IReadOnlyList<string> Keys { get; } =
    [
        "partition", "account", "qos", "ntasks", "cpus_per_task", "time_limit_minutes", "memory_mb", "modules", "setup", "sbatch_options",
        "launcher", "poll_seconds", "job_name_prefix", "shards", "gpff_command", "max_submissions",
    ];

    /// <summary>Reads and checks a Slurm settings file (JSON, the keys of <see cref="Describe"/>).</summary>
    /// <param name="path">The file.</param>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">Not JSON, an unknown key, a value of the wrong type or out of range (the message names the file and the key).</exception>
    public static SlurmSettings Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Slurm settings file '{path}' not found.", path);
        }

        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Parses and checks Slurm settings from JSON text.</summary>
    /// <param name="json">The JSON text.</param>
    /// <param name="source">Name used in error messages.</param>
    /// <exception cref="InvalidDataException">As <see cref="Load"/>.</exception>
    public static SlurmSettings Parse(string json, string source = "<slurm settings>")
    {
        ArgumentNullException.ThrowIfNull(json);
        SlurmSettings? settings;
        try
        {
            settings = JsonSerializer.Deserialize<SlurmSettings>(json, Json);
        }
        catch (JsonException e)
        {
            string key = e.Path is { Length: > 1 } p ? p.TrimStart('$', '.') : "";
            string message = e.Message.Split(". Path:", 2)[0];
            if (message.Contains("could not be mapped", StringComparison.Ordinal))
            {
                message = $"{message}; the keys are {string.Join(", ", Keys)}";
            }

            throw new InvalidDataException($"{source}: {(key.Length > 0 ? key + ": " : "")}{message}.", e);
        }

        if (settings is null)
        {
            throw new InvalidDataException($"{source}: the settings are null; give an object, e.g. {{\"partition\": \"compute\"}}.");
        }

        settings.Validate(source);
        return settings;
    }

    /// <summary>Checks the values; throws <see cref="InvalidDataException"/> naming <paramref name="source"/>, the key and the rule.</summary>
    /// <param name="source">The file (or file and section) the settings came from.</param>
    public void Validate(string source = "SlurmSettings")
    {
        string Bad(string key, object value, string rule) => string.Create(CultureInfo.InvariantCulture, $"{source}: {key} = {value}: {rule}.");
        if (Ntasks < 1)
        {
            throw new InvalidDataException(Bad("ntasks", Ntasks, "at least 1 task"));
        }

        if (CpusPerTask < 1)
        {
            throw new InvalidDataException(Bad("cpus_per_task", CpusPerTask, "at least 1 core"));
        }

        if (!(TimeLimitMinutes > 0) || TimeLimitMinutes > 366 * 24 * 60)
        {
            throw new InvalidDataException(Bad("time_limit_minutes", TimeLimitMinutes, "must be > 0 minutes and at most a year"));
        }

        if (MemoryMb is int mem && mem < 1)
        {
            throw new InvalidDataException(Bad("memory_mb", mem, "at least 1 MB"));
        }

        if (!(PollSeconds >= 0.1) || PollSeconds > 3600)
        {
            throw new InvalidDataException(Bad("poll_seconds", PollSeconds, "between 0.1 and 3600 seconds"));
        }

        if (Shards < 1 || Shards > 100_000)
        {
            throw new InvalidDataException(Bad("shards", Shards, "between 1 and 100000"));
        }

        if (MaxSubmissions < 1)
        {
            throw new InvalidDataException(Bad("max_submissions", MaxSubmissions, "at least 1"));
        }

        if (JobNamePrefix.Length == 0 || JobNamePrefix.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')))
        {
            throw new InvalidDataException($"{source}: job_name_prefix = '{JobNamePrefix}': letters, digits, '-', '_' and '.' only.");
        }

        foreach (var (key, value) in new[] { ("partition", Partition), ("account", Account), ("qos", Qos) })
        {
            if (value is not null && (value.Length == 0 || value.Any(c => char.IsWhiteSpace(c) || char.IsControl(c))))
            {
                throw new InvalidDataException($"{source}: {key} = '{value}': a name without spaces (or leave the key out).");
            }
        }

        foreach (var (key, list) in new[] { ("modules", Modules), ("setup", Setup), ("sbatch_options", SbatchOptions) })
        {
            if (list is null)
            {
                throw new InvalidDataException($"{source}: {key} is null; give a list (or leave the key out).");
            }

            foreach (var line in list)
            {
                if (string.IsNullOrWhiteSpace(line) || line.Contains('\n', StringComparison.Ordinal) || line.Contains('\r', StringComparison.Ordinal))
                {
                    throw new InvalidDataException($"{source}: {key} has an empty entry or one with a line break; one line per entry.");
                }
            }
        }

        foreach (var option in SbatchOptions)
        {
            if (!option.StartsWith('-'))
            {
                throw new InvalidDataException($"{source}: sbatch_options entry '{option}' is not an option (it should start with '-', e.g. \"--constraint=avx512\").");
            }
        }

        if (Launcher.Contains('\n', StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{source}: launcher has a line break.");
        }

        if (GpffCommand is { Length: 0 })
        {
            throw new InvalidDataException($"{source}: gpff_command is empty; give the command or leave the key out.");
        }
    }

    /// <summary>One line per key with its meaning and default (for command-line help; a test checks that every key is listed).</summary>
    public static string Describe(string prefix = "")
    {
        var d = new SlurmSettings();
        var inv = CultureInfo.InvariantCulture;
        var b = new StringBuilder();
        void Line(string key, string what) => b.Append("  ").Append((prefix + key).PadRight(34)).Append(' ').AppendLine(what);
        Line("partition", "sbatch --partition (default: the cluster's default)");
        Line("account", "sbatch --account (default: yours)");
        Line("qos", "sbatch --qos (default none)");
        Line("ntasks", $"tasks (MPI ranks) per job (default {d.Ntasks})");
        Line("cpus_per_task", $"cores per task; OMP_NUM_THREADS in the job (default {d.CpusPerTask})");
        Line("time_limit_minutes", string.Create(inv, $"wall-clock limit per job in minutes (default {d.TimeLimitMinutes})"));
        Line("memory_mb", "sbatch --mem in MB (default: the partition's)");
        Line("modules", "modules loaded in the job, [\"quantum-espresso/7.2\"] (default none)");
        Line("setup", "further shell lines before the program (default none)");
        Line("sbatch_options", "further sbatch options, [\"--constraint=avx512\"] (default none)");
        Line("launcher", $"put before pw.x in the job (default \"{d.Launcher}\"; \"\" to run the command plainly)");
        Line("poll_seconds", string.Create(inv, $"seconds between two looks at squeue (default {d.PollSeconds})"));
        Line("job_name_prefix", $"prefix of job names (default \"{d.JobNamePrefix}\")");
        Line("shards", $"gpff train --slurm: tasks of the job array (default {d.Shards})");
        Line("gpff_command", "gpff train --slurm: command starting gpff on a node (default: this gpff)");
        Line("max_submissions", $"submissions of work Slurm lost (node failure, killed task) before giving up (default {d.MaxSubmissions})");
        return b.ToString();
    }
}
