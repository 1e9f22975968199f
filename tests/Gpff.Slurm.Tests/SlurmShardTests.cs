using Gpff.IO;
using Gpff.Regression;
using Xunit;

namespace Gpff.Slurm.Tests;

/// <summary>
/// Sharded sparse-GP training as a Slurm job array on the local one-node cluster: every task is the real
/// <c>gpff sparse-shard</c> (the built Gpff.Cli.dll run by dotnet), on the bundled Ba–Rh–O training file.
/// Fail, never skip, when the cluster is missing.
/// </summary>
public sealed class SlurmShardTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gpff-slurm-shards-").FullName;
    private readonly string _data;
    private readonly List<Structure> _train;
    private readonly SparseGaussianProcess _single;

    public SlurmShardTests()
    {
        SlurmCluster.Require();
        _data = Path.Combine(_dir, "train.extxyz");
        File.Copy(TestData.DataFile("barho-train.extxyz"), _data);
        _train = ExtXyz.Read(_data).ToList();
        var kernel = new ForceFieldSettings().BuildKernel();
        var inducing = InducingSelection.Random(_train, kernel.CutoffA, 40, seed: 3);
        _single = new SparseGaussianProcess(kernel, NoiseLevels.Default, inducing, new SparseGaussianProcessOptions { MaxDegreeOfParallelism = 1 });
        _single.Train(_train);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static SlurmSettings Settings(params string[] setup) => new() { PollSeconds = 0.3, TimeLimitMinutes = 10, Setup = setup };

    private void EqualsSingleProcess(SparseGaussianProcess sharded)
    {
        Assert.Equal(_single.LabelCount, sharded.LabelCount);
        Assert.Equal(_single.TrainingStructureCount, sharded.TrainingStructureCount);
        // The weights w = K_uu⁻ᵀ… are not compared: with 40 inducing environments of these crystals K_uu is
        // ill-conditioned (the jitter policy allows condition numbers up to ~1e6), so the order of the sums moves them by
        // ~6e-9 relative here, while every prediction agrees to about 1e-10 (what the model is: energies, forces and
        // their σ). With condition numbers ~1e6 the round-off of a prediction is ~1e6 × 1e-16 relative to the terms
        // summed, so the force tolerance is 1e-9 eV/Å (1.15e-10 was seen in one run); a wrong
        // merge of the shards' sums moves predictions by many orders more.
        foreach (var s in _train.Where((_, i) => i % 9 == 0))
        {
            var a = _single.Predict(s);
            var b = sharded.Predict(s);
            Assert.True(Math.Abs(a.EnergyEv - b.EnergyEv) <= 1e-10 * Math.Abs(a.EnergyEv), $"energy {a.EnergyEv:R} vs {b.EnergyEv:R}");
            Assert.True(Math.Abs(a.EnergyStdEv - b.EnergyStdEv) <= 1e-10, $"energy std {a.EnergyStdEv:R} vs {b.EnergyStdEv:R}");
            for (int i = 0; i < s.AtomCount; i++)
            {
                for (int c = 0; c < 3; c++)
                {
                    Assert.True(Math.Abs(a.ForcesEvPerA[i][c] - b.ForcesEvPerA[i][c]) <= 1e-9, $"force {i}.{c}: {a.ForcesEvPerA[i][c]:R} vs {b.ForcesEvPerA[i][c]:R}");
                }
            }
        }
    }

    [Fact]
    public async Task ShardedTrainingOverFourArrayTasksEqualsTheSingleProcessSparseGp()
    {
        var runner = new SlurmShardRunner(Settings(), SlurmCluster.GpffCommand());
        var sharded = await ShardedSparseTraining.TrainAsync(_single, _data, 4, Path.Combine(_dir, "work"), runner);
        EqualsSingleProcess(sharded);
        Assert.Equal((1, 4, 0), (runner.SubmittedArrays, runner.SubmittedTasks, runner.AttachedArrays));

        var plan = SparseShardPlan.For(_single, 4, dataFile: _data);
        string dir = ShardedSparseTraining.PlanDirectory(plan, Path.Combine(_dir, "work"));
        for (int k = 0; k < 4; k++)
        {
            Assert.Equal("0", File.ReadAllText(Path.Combine(dir, $"{SlurmJobScript.ExitCodeFile}.{k}")).Trim());
        }

        // Run again: the shards are there, nothing is submitted.
        var again = new SlurmShardRunner(Settings(), SlurmCluster.GpffCommand());
        EqualsSingleProcess(await ShardedSparseTraining.TrainAsync(_single, _data, 4, Path.Combine(_dir, "work"), again));
        Assert.Equal(0, again.SubmittedTasks);
    }

    [Fact]
    public async Task ATaskKilledWhileItRunsIsDetectedAndRerunAlone()
    {
        // Each task waits for its release file first (a setup line of the job script), so that task 3 is killed while
        // it runs, before it can write its shard, whatever the load of the machine.
        string release = Path.Combine(_dir, "release-");
        var runner = new SlurmShardRunner(Settings($"while [ ! -e {SlurmJobScript.Quote(release)}$SLURM_ARRAY_TASK_ID ]; do sleep 0.2; done"), SlurmCluster.GpffCommand());
        foreach (int k in new[] { 0, 1, 2 })
        {
            File.WriteAllText(release + k, "");
        }

        var plan = SparseShardPlan.For(_single, 4, dataFile: _data);
        string work = Path.Combine(_dir, "work");
        string dir = ShardedSparseTraining.PlanDirectory(plan, work);
        var run = ShardedSparseTraining.RunAsync(plan, work, runner);
        var client = new SlurmClient();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        string? job = null;
        while (true)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromMinutes(3), "task 3 did not start within 3 minutes");
            Assert.False(run.IsCompleted, "the array finished before task 3 could be killed");
            job ??= File.Exists(Path.Combine(dir, SlurmJobLedger.FileName)) ? new SlurmJobLedger(Path.Combine(dir, SlurmJobLedger.FileName)).Records.FirstOrDefault()?.JobId : null;
            if (job is not null && (await client.QueryAsync([job])).TryGetValue(job + "_3", out var s) && s.State == "RUNNING")
            {
                break;
            }

            await Task.Delay(100);
        }

        Assert.Equal(0, SlurmCluster.Run("scancel", job + "_3").Code);
        clock.Restart();
        while (!(await client.QueryAsync([job]))[job + "_3"].IsFinished)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromMinutes(1), "task 3 did not end within a minute of scancel");
            await Task.Delay(100);
        }

        Assert.False(File.Exists(Path.Combine(dir, SparseShardPlan.ShardFileName(3, 4))));
        File.WriteAllText(release + 3, ""); // the rerun of task 3 may go on
        await run;
        Assert.Equal((2, 5), (runner.SubmittedArrays, runner.SubmittedTasks)); // all 4, then task 3 alone
        Assert.Empty(plan.Problems(dir));
        EqualsSingleProcess(plan.ReduceDirectory(dir));
    }

    [Fact]
    public async Task AShardLeftHalfWrittenOrMissingIsRecomputedAloneByTheArray()
    {
        // Every shard made in-process first (the same code as a task), then two of them lost: shard 1 never written,
        // shard 2 cut short in place (what a kill mid-write leaves with a writer that is not atomic), and the
        // hidden temporary file a task killed inside the atomic write leaves behind.
        var plan = SparseShardPlan.For(_single, 4, dataFile: _data);
        string work = Path.Combine(_dir, "work");
        string dir = await ShardedSparseTraining.RunAsync(plan, work, new InProcessShardRunner(1));
        string shard1 = Path.Combine(dir, SparseShardPlan.ShardFileName(1, 4)), shard2 = Path.Combine(dir, SparseShardPlan.ShardFileName(2, 4));
        File.Delete(shard1);
        var bytes = File.ReadAllBytes(shard2);
        File.WriteAllBytes(shard2, bytes[..(bytes.Length / 2)]);
        string leftover = Path.Combine(dir, $".{Path.GetFileName(shard1)}.999999.{Guid.NewGuid():N}.tmp");
        File.WriteAllBytes(leftover, bytes[..100]);
        var problems = plan.Problems(dir);
        Assert.Equal([1, 2], problems.Keys);
        Assert.Contains("cut short", problems[2]);
        var refused = Assert.Throws<SparseShardException>(() => plan.ReduceDirectory(dir));
        Assert.Contains("2 of 4 are not usable (rerun those tasks)", refused.Message);

        var runner = new SlurmShardRunner(Settings(), SlurmCluster.GpffCommand());
        await ShardedSparseTraining.RunAsync(plan, work, runner);
        Assert.Equal((1, 2), (runner.SubmittedArrays, runner.SubmittedTasks));
        Assert.Contains("#SBATCH --array=1-2", File.ReadAllText(Path.Combine(dir, SlurmJobScript.ScriptFile)));
        Assert.False(File.Exists(leftover), "the dead task's temporary file was not removed");
        EqualsSingleProcess(plan.ReduceDirectory(dir));
    }
    [Fact]
    public void GpffTrainWithSlurmEqualsGpffTrainInOneProcess()
    {
        var tfm = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string dll = Path.Combine(TestData.RepoRoot, "tools", "Gpff.Cli", "bin", tfm.Parent!.Name, tfm.Name, "Gpff.Cli.dll");
        string dotnet = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        string slurm = Path.Combine(_dir, "slurm.json");
        File.WriteAllText(slurm, """{ "shards": 5, "poll_seconds": 0.3, "time_limit_minutes": 10 }""");
        string[] common = ["train", _data, "--sparse", "30", "--threads", "1"]; // inducing set by largest variance (the default): a well-conditioned K_uu
        var (c1, o1) = SlurmCluster.Run(dotnet, [dll, .. common, "-o", Path.Combine(_dir, "one.gpff")]);
        Assert.True(c1 == 0, o1);
        var (c2, o2) = SlurmCluster.Run(dotnet, [dll, .. common, "-o", Path.Combine(_dir, "slurm.gpff"), "--slurm", slurm]);
        Assert.True(c2 == 0, o2);
        Assert.Contains("1 job array(s), 5 task(s) submitted", o2);
        Assert.True(File.Exists(Path.Combine(_dir, "slurm.gpff.shards", "train.extxyz")));
        // Through files and separate processes (the driver's BLAS may run several threads, the tasks one), the sums are
        // added in other orders than in one pass: measured ~1e-10 relative on forces here, so 1e-9 relative is asked.
        var one = SparseForceField.Load(Path.Combine(_dir, "one.gpff"));
        var sharded = SparseForceField.Load(Path.Combine(_dir, "slurm.gpff"));
        foreach (var s in _train.Where((_, i) => i % 7 == 0))
        {
            var a = one.Predict(s);
            var b = sharded.Predict(s);
            Assert.True(Math.Abs(a.EnergyEv - b.EnergyEv) <= 1e-10 * Math.Abs(a.EnergyEv), $"energy {a.EnergyEv:R} vs {b.EnergyEv:R}");
            for (int i = 0; i < s.AtomCount; i++)
            {
                Assert.True((a.ForcesEvPerA[i] - b.ForcesEvPerA[i]).Length <= 1e-9 * Math.Max(1, a.ForcesEvPerA[i].Length), $"force {i}: {a.ForcesEvPerA[i]} vs {b.ForcesEvPerA[i]}");
                Assert.True(Math.Abs(a.ForcesStdEvPerA![i].X - b.ForcesStdEvPerA![i].X) <= 1e-9, $"force std {i}");
            }
        }
    }
}
