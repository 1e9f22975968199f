using System.CommandLine;
using System.Globalization;
using System.Reflection;
using Gpff.IO;
using Gpff.Regression;
using Gpff.Slurm;

namespace Gpff.Cli.Commands;

/// <summary>
/// <c>gpff train … --sparse M --slurm SETTINGS.json</c>: the sparse GP's passes over the data run as the tasks of a Slurm
/// job array (<see cref="SlurmShardRunner"/>; each task is <c>gpff sparse-shard</c>), reduced here. The option's
/// parsing and handling live here so that TrainCommand keeps a few hook lines.
/// </summary>
internal static class SlurmTraining
{
    /// <summary>The --slurm option of <c>gpff train</c>.</summary>
    public static Option Declaration() => Declare.Text("slurm", "SLURM.json",
        "with --sparse: split each pass over the training data (training, every likelihood evaluation of --fit) into the shards of a Slurm job array " +
        "and reduce them here; equals the single-process sparse GP up to round-off. The file holds the Slurm settings (JSON; keys under Conventions). " +
        "Shards, plans and job logs go to MODEL.shards/ (kept: a rerun reuses the shards already made; a killed or failed task is rerun alone)");

    /// <summary>The keys of the Slurm settings file, for the help's conventions.</summary>
    public static string Conventions => "Slurm settings file of --slurm (JSON), keys:\n" + SlurmSettings.Describe("  ");


    /// <summary>Reads --slurm (before the unknown-option check); null when absent.</summary>
    public static string? Option(ParsedArguments args) => args.Get("slurm");

    /// <summary>Refuses --slurm without --sparse.</summary>
    public static void Check(string? slurm, int sparse)
    {
        if (slurm is not null && sparse == 0)
        {
            throw new UsageException("--slurm runs the sparse GP's assembly as a Slurm job array; give --sparse M too.");
        }
    }

    /// <summary>The trainer that <see cref="SparseTraining.Run"/> calls instead of in-process training.</summary>
    public static Func<SparseForceField, IProgress<string>, SparseTrainingReport> Trainer(string slurmPath, string output, IReadOnlyList<Structure> train,
        int inducing, InducingSelectionMethod selection, int seed, bool fit, HyperparameterFitOptions fitOptions, CancellationToken ct)
    {
        var slurm = SlurmSettings.Load(slurmPath);
        string work = Path.GetFullPath(output) + ".shards";
        Directory.CreateDirectory(work);
        string data = Path.Combine(work, "train.extxyz");
        WriteIfChanged(data, train);
        var runner = new SlurmShardRunner(slurm, slurm.GpffCommand ?? ThisGpff());
        return (ff, progress) =>
        {
            var report = ff.TrainSharded(data, train, inducing, selection, seed, fit, fitOptions, runner, slurm.Shards, work, progress, ct);
            progress.Report(string.Create(CultureInfo.InvariantCulture,
                $"slurm: {runner.SubmittedArrays} job array(s), {runner.SubmittedTasks} task(s) submitted, {runner.AttachedArrays} re-attached; shards in {work}"));
            return report;
        };
    }

    /// <summary>The training frames the tasks read; rewritten only when they changed, so that a rerun finds its plan (the plan names the file's size and time).</summary>
    private static void WriteIfChanged(string path, IReadOnlyList<Structure> frames)
    {
        string text = string.Concat(frames.Select(ExtXyz.ToText));
        if (File.Exists(path) && File.ReadAllText(path) == text)
        {
            return;
        }

        SafeFile.WriteAtomic(path, s =>
        {
            using var w = new StreamWriter(s, leaveOpen: true);
            w.Write(text);
        });
    }

    /// <summary>The command that starts this gpff: the apphost, or "dotnet gpff.dll" when run through dotnet.</summary>
    internal static string ThisGpff()
    {
        string process = Environment.ProcessPath ?? "gpff";
        string entry = Assembly.GetEntryAssembly()?.Location ?? "";
        bool viaDotnet = Path.GetFileNameWithoutExtension(process).Equals("dotnet", StringComparison.OrdinalIgnoreCase);
        if (viaDotnet && entry.EndsWith("Gpff.Cli.dll", StringComparison.OrdinalIgnoreCase))
        {
            return SlurmJobScript.Quote(process) + " " + SlurmJobScript.Quote(entry);
        }

        return viaDotnet ? "gpff" : SlurmJobScript.Quote(process);
    }
}
