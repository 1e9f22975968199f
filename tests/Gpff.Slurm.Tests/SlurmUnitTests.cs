using System.Reflection;
using System.Text.Json;
using Xunit;

namespace Gpff.Slurm.Tests;

/// <summary>Job scripts, settings and the parsing of Slurm's outputs (no cluster needed).</summary>
public sealed class SlurmUnitTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gpff-slurm-unit-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void JobScriptHasTheResourcesEnvironmentAndExitCodeFileOfTheSettings()
    {
        var settings = new SlurmSettings
        {
            Partition = "compute", Account = "mat123", Qos = "normal", Ntasks = 4, CpusPerTask = 2, TimeLimitMinutes = 90.5, MemoryMb = 8000,
            Modules = ["quantum-espresso/7.2", "openmpi"], Setup = ["export ESPRESSO_TMPDIR=$TMPDIR"], SbatchOptions = ["--constraint=avx512"],
        };
        string script = SlurmJobScript.Build(settings, "gpff-pw-abc", "/scratch/run 1", "srun pw.x -in pw.in > pw.out 2> pw.err");
        var lines = script.Split('\n');
        Assert.Equal("#!/bin/bash", lines[0]);
        foreach (var expected in new[]
        {
            "#SBATCH --job-name=gpff-pw-abc", "#SBATCH --chdir=/scratch/run 1", "#SBATCH --output=slurm-%j.out", "#SBATCH --ntasks=4", "#SBATCH --cpus-per-task=2",
            "#SBATCH --time=01:30:30", "#SBATCH --partition=compute", "#SBATCH --account=mat123", "#SBATCH --qos=normal", "#SBATCH --mem=8000M",
            "#SBATCH --constraint=avx512", "module load quantum-espresso/7.2 || exit 97", "module load openmpi || exit 97", "export ESPRESSO_TMPDIR=$TMPDIR",
            "export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}", "srun pw.x -in pw.in > pw.out 2> pw.err", "status=$?",
            "echo \"$status\" > exit-code.tmp && mv -f exit-code.tmp exit-code", "exit \"$status\"",
        })
        {
            Assert.Contains(expected, lines);
        }

        // Every #SBATCH line comes before the first command (sbatch stops reading them there).
        int lastSbatch = Array.FindLastIndex(lines, l => l.StartsWith("#SBATCH", StringComparison.Ordinal));
        int firstCommand = Array.FindIndex(lines, l => l.Length > 0 && !l.StartsWith('#'));
        Assert.True(lastSbatch < firstCommand);

        // Defaults: no partition/account lines, one task, one hour; arrays write per-task exit codes.
        string array = SlurmJobScript.Build(new SlurmSettings(), "gpff-shards", "/w", "gpff sparse-shard", [0, 1, 2, 5, 7, 8]);
        Assert.Contains("#SBATCH --array=0-2,5,7-8\n", array);
        Assert.Contains("#SBATCH --output=slurm-%A_%a.out\n", array);
        Assert.Contains("#SBATCH --time=01:00:00\n", array);
        Assert.DoesNotContain("--partition", array);
        Assert.Contains("> exit-code.${SLURM_ARRAY_TASK_ID}.tmp", array);
        Assert.Equal("2-00:00:00", new SlurmSettings { TimeLimitMinutes = 2880 }.TimeLimitText);
    }

    [Fact]
    public void WordsAreQuotedForTheShell()
    {
        Assert.Equal("pw.x", SlurmJobScript.Quote("pw.x"));
        Assert.Equal("/opt/qe-7.2/bin/pw.x", SlurmJobScript.Quote("/opt/qe-7.2/bin/pw.x"));
        Assert.Equal("'my dir/pw.x'", SlurmJobScript.Quote("my dir/pw.x"));
        Assert.Equal("'it'\\''s'", SlurmJobScript.Quote("it's"));
        Assert.Equal("'$HOME'", SlurmJobScript.Quote("$HOME"));
        Assert.Equal("''", SlurmJobScript.Quote(""));
        Assert.Throws<ArgumentException>(() => SlurmJobScript.ArraySpec([]));
        Assert.Equal("3", SlurmJobScript.ArraySpec([3, 3]));
    }

    [Fact]
    public void SqueueAndSacctOutputsAreRead()
    {
        // As printed by Slurm 22.05 (squeue --noheader --array --states=all --format=%i|%T|%r; sacct --noheader --parsable2 --format=JobID,State,ExitCode).
        var q = SlurmClient.ParseSqueue("12_0|COMPLETED|None\n12_1|RUNNING|None\n12_3|PENDING|Resources\n13|FAILED|NonZeroExitCode\n");
        Assert.Equal(["12_0", "12_1", "12_3", "13"], q.Select(s => s.JobId));
        Assert.Equal([true, false, false, true], q.Select(s => s.IsFinished));
        Assert.Null(q[0].Reason);
        Assert.Equal("Resources", q[2].Reason);

        var a = SlurmClient.ParseSacct("1234|COMPLETED|0:0\n1234.batch|COMPLETED|0:0\n1234.0|COMPLETED|0:0\n1235_3|CANCELLED by 0|0:15\n1236|FAILED|2:0\n1237|NODE_FAIL|0:0\n");
        Assert.Equal(["1234", "1235_3", "1236", "1237"], a.Select(s => s.JobId));
        Assert.Equal(["COMPLETED", "CANCELLED", "FAILED", "NODE_FAIL"], a.Select(s => s.State));
        Assert.Equal([0, 0, 2, 0], a.Select(s => s.ExitCode ?? -1));
        Assert.True(a[1].IsLostByCluster);
        Assert.False(a[2].IsLostByCluster);
        Assert.True(a[3].IsLostByCluster);

        var bad = Assert.Throws<SlurmException>(() => SlurmClient.ParseSqueue("JOBID PARTITION NAME\n"));
        Assert.Contains("Cannot read squeue's line 'JOBID PARTITION NAME'", bad.Message);
        Assert.Contains("%i|%T|%r", bad.Message);
    }

    [Fact]
    public void SettingsFileRoundTripsAndBadKeysAreNamed()
    {
        string path = Path.Combine(_dir, "slurm.json");
        File.WriteAllText(path, """
            // comments are allowed
            { "partition": "short", "account": "m1", "ntasks": 2, "cpus_per_task": 4, "time_limit_minutes": 30, "memory_mb": 4000,
              "modules": ["qe"], "setup": ["ulimit -s unlimited"], "sbatch_options": ["--exclusive"], "launcher": "", "poll_seconds": 2,
              "job_name_prefix": "barho", "shards": 16, "gpff_command": "tools/gpff", "max_submissions": 5, }
            """);
        var s = SlurmSettings.Load(path);
        Assert.Equal(("short", "m1", 2, 4, 30.0, 4000, "", 2.0, "barho", 16, "tools/gpff", 5),
            (s.Partition, s.Account, s.Ntasks, s.CpusPerTask, s.TimeLimitMinutes, s.MemoryMb, s.Launcher, s.PollSeconds, s.JobNamePrefix, s.Shards, s.GpffCommand, s.MaxSubmissions));
        Assert.Equal(["qe"], s.Modules);
        Assert.Equal(["ulimit -s unlimited"], s.Setup);
        Assert.Equal(["--exclusive"], s.SbatchOptions);
        Assert.Equal(new SlurmSettings().Launcher, SlurmSettings.Parse("{}").Launcher);

        string Error(string json) => Assert.Throws<InvalidDataException>(() => SlurmSettings.Parse(json, "s.json")).Message;
        Assert.StartsWith("s.json: partitoin: The JSON property 'partitoin' could not be mapped", Error("""{ "partitoin": "x" }"""));
        Assert.Contains("the keys are partition, account, qos", Error("""{ "partitoin": "x" }"""));
        Assert.StartsWith("s.json: ntasks: The JSON value could not be converted", Error("""{ "ntasks": "4" }"""));
        Assert.Equal("s.json: ntasks = 0: at least 1 task.", Error("""{ "ntasks": 0 }"""));
        Assert.Equal("s.json: time_limit_minutes = -5: must be > 0 minutes and at most a year.", Error("""{ "time_limit_minutes": -5 }"""));
        Assert.Equal("s.json: poll_seconds = 0.01: between 0.1 and 3600 seconds.", Error("""{ "poll_seconds": 0.01 }"""));
        Assert.Equal("s.json: partition = 'a b': a name without spaces (or leave the key out).", Error("""{ "partition": "a b" }"""));
        Assert.Equal("s.json: sbatch_options entry 'exclusive' is not an option (it should start with '-', e.g. \"--constraint=avx512\").", Error("""{ "sbatch_options": ["exclusive"] }"""));
        Assert.Equal("s.json: setup has an empty entry or one with a line break; one line per entry.", Error("""{ "setup": ["a\nb"] }"""));
        Assert.Equal("s.json: job_name_prefix = 'a/b': letters, digits, '-', '_' and '.' only.", Error("""{ "job_name_prefix": "a/b" }"""));
        Assert.StartsWith("s.json: ", Error("[1, 2]"));
        Assert.Throws<FileNotFoundException>(() => SlurmSettings.Load(Path.Combine(_dir, "missing.json")));
    }

    [Fact]
    public void DescribeListsEveryKey()
    {
        string text = SlurmSettings.Describe();
        var keys = typeof(SlurmSettings).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetCustomAttribute<System.Text.Json.Serialization.JsonIgnoreAttribute>() is null)
            .Select(p => JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name)).ToList();
        Assert.Equal(keys.Order(), SlurmSettings.Keys.Order());
        foreach (var key in keys)
        {
            Assert.Contains("  " + key + " ", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void LedgerSurvivesARestartAndRefusesAForeignFile()
    {
        string path = Path.Combine(_dir, "sub", SlurmJobLedger.FileName);
        var a = new SlurmJobLedger(path);
        a.Record(new SlurmJobRecord("k1", "101", "/w/pw-1", new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc)));
        a.Record(new SlurmJobRecord("k2", "102", "/w/pw-2", new DateTime(2026, 1, 1, 0, 0, 1, DateTimeKind.Utc)));
        a.Forget("k1");
        var b = new SlurmJobLedger(path);
        Assert.Null(b.Find("k1"));
        Assert.Equal(new SlurmJobRecord("k2", "102", "/w/pw-2", new DateTime(2026, 1, 1, 0, 0, 1, DateTimeKind.Utc)), b.Find("k2"));
        Assert.DoesNotContain(Directory.GetFiles(Path.GetDirectoryName(path)!), f => f.EndsWith(".tmp", StringComparison.Ordinal));

        File.WriteAllText(path, "{ not a ledger");
        var e = Assert.Throws<InvalidDataException>(() => new SlurmJobLedger(path));
        Assert.Contains("is not a Slurm job ledger", e.Message);
        Assert.Contains("would then be submitted again", e.Message);
    }
}
