using System.Globalization;
using System.Text;

namespace Gpff.Slurm;

/// <summary>
/// Batch scripts for <c>sbatch</c>, built from <see cref="SlurmSettings"/>: the <c>#SBATCH</c> resource lines, the
/// environment (modules, setup lines, OMP_NUM_THREADS), the command, and a file with the command's exit status
/// (<see cref="ExitCodeFile"/>), which tells a finished job's outcome even where the cluster keeps no accounting
/// (<c>sacct</c>) and the job has left <c>squeue</c>.
/// </summary>
public static class SlurmJobScript
{
    /// <summary>Name of the file that receives the exit status of the job's command (an array task: with "." and its index appended).</summary>
    public const string ExitCodeFile = "exit-code";

    /// <summary>Name of the script file written into the job's folder.</summary>
    public const string ScriptFile = "job.sh";

    /// <summary>Builds a job script.</summary>
    /// <param name="settings">Resources and environment.</param>
    /// <param name="jobName">Job name (<c>--job-name</c>).</param>
    /// <param name="directory">The job's working folder (<c>--chdir</c>); output goes to slurm-JOBID.out there.</param>
    /// <param name="command">The command line, already quoted for the shell (see <see cref="Quote"/>).</param>
    /// <param name="arrayIndices">Task indices of a job array (null: a single job); the command can use $SLURM_ARRAY_TASK_ID.</param>
    /// <returns>The script text (LF line ends).</returns>
    public static string Build(SlurmSettings settings, string jobName, string directory, string command, IReadOnlyCollection<int>? arrayIndices = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentException.ThrowIfNullOrEmpty(jobName);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentException.ThrowIfNullOrEmpty(command);
        if (jobName.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)) || directory.Contains('\n', StringComparison.Ordinal) || command.Contains('\n', StringComparison.Ordinal))
        {
            throw new ArgumentException("Job name, folder and command must be single lines (and the name without spaces).");
        }

        var inv = CultureInfo.InvariantCulture;
        var b = new StringBuilder();
        b.Append("#!/bin/bash\n");
        b.Append("# written by Gpff (Gpff.Slurm.SlurmJobScript)\n");
        b.Append(inv, $"#SBATCH --job-name={jobName}\n");
        b.Append(inv, $"#SBATCH --chdir={directory}\n");
        b.Append(arrayIndices is null ? "#SBATCH --output=slurm-%j.out\n" : "#SBATCH --output=slurm-%A_%a.out\n");
        b.Append(inv, $"#SBATCH --ntasks={settings.Ntasks}\n");
        b.Append(inv, $"#SBATCH --cpus-per-task={settings.CpusPerTask}\n");
        b.Append(inv, $"#SBATCH --time={settings.TimeLimitText}\n");
        if (settings.Partition is { } p)
        {
            b.Append(inv, $"#SBATCH --partition={p}\n");
        }

        if (settings.Account is { } a)
        {
            b.Append(inv, $"#SBATCH --account={a}\n");
        }

        if (settings.Qos is { } q)
        {
            b.Append(inv, $"#SBATCH --qos={q}\n");
        }

        if (settings.MemoryMb is int mem)
        {
            b.Append(inv, $"#SBATCH --mem={mem}M\n");
        }

        if (arrayIndices is not null)
        {
            b.Append(inv, $"#SBATCH --array={ArraySpec(arrayIndices)}\n");
        }

        foreach (var o in settings.SbatchOptions)
        {
            b.Append(inv, $"#SBATCH {o}\n");
        }

        b.Append("set -u\n");
        foreach (var m in settings.Modules)
        {
            b.Append(inv, $"module load {m} || exit 97\n");
        }

        foreach (var line in settings.Setup)
        {
            b.Append(line).Append('\n');
        }

        b.Append("export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}\n");
        b.Append(command).Append('\n');
        b.Append("status=$?\n");
        string exitFile = arrayIndices is null ? ExitCodeFile : ExitCodeFile + ".${SLURM_ARRAY_TASK_ID}";
        b.Append(inv, $"echo \"$status\" > {exitFile}.tmp && mv -f {exitFile}.tmp {exitFile}\n");
        b.Append("exit \"$status\"\n");
        return b.ToString();
    }

    /// <summary>"0-3,7,9-10": the <c>--array</c> value of a set of task indices.</summary>
    /// <param name="indices">Indices ≥ 0.</param>
    public static string ArraySpec(IEnumerable<int> indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        var sorted = indices.Distinct().Order().ToList();
        if (sorted.Count == 0 || sorted[0] < 0)
        {
            throw new ArgumentException("A job array needs at least one task index, all ≥ 0.", nameof(indices));
        }

        var parts = new List<string>();
        for (int i = 0; i < sorted.Count;)
        {
            int j = i;
            while (j + 1 < sorted.Count && sorted[j + 1] == sorted[j] + 1)
            {
                j++;
            }

            parts.Add(j == i ? sorted[i].ToString(CultureInfo.InvariantCulture) : string.Create(CultureInfo.InvariantCulture, $"{sorted[i]}-{sorted[j]}"));
            i = j + 1;
        }

        return string.Join(',', parts);
    }

    /// <summary>Quotes one word for bash: unchanged when it has only safe characters, else in single quotes.</summary>
    /// <param name="word">The word.</param>
    public static string Quote(string word)
    {
        ArgumentNullException.ThrowIfNull(word);
        if (word.Length > 0 && word.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '/' or '=' or ':' or ',' or '+' or '@'))
        {
            return word;
        }

        return "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
    }
}
