using Gpff.IO;
using Gpff.Regression;
using Xunit;

namespace Gpff.Cli.Tests;

/// <summary>
/// The command-line side of sharded training that needs no cluster: --slurm's checks and <c>gpff sparse-shard</c>,
/// the command every array task runs (tests/Gpff.Slurm.Tests run it through a real cluster).
/// </summary>
public sealed class SlurmCommandTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("gpff-cli-slurm-");

    public void Dispose() => _dir.Delete(recursive: true);

    private string P(string name) => Path.Combine(_dir.FullName, name);

    [Fact]
    public void SlurmNeedsSparseAndAReadableSettingsFileAndWritesNothingOtherwise()
    {
        string data = Path.Combine(Cli.Root, "data", "barho-train.extxyz");
        File.WriteAllText(P("s.json"), """{ "shards": 4 }""");
        var (code, _, err) = Cli.Run("train", data, "-o", P("m.gpff"), "--slurm", P("s.json"));
        Assert.Equal(2, code); // --slurm without --sparse: a usage error
        Assert.Equal("gpff train: --slurm runs the sparse GP's assembly as a Slurm job array; give --sparse M too.", err.Trim());

        File.WriteAllText(P("bad.json"), """{ "shard": 4 }""");
        (code, _, err) = Cli.Run("train", data, "-o", P("m.gpff"), "--sparse", "10", "--slurm", P("bad.json"));
        Assert.Equal(1, code);
        Assert.StartsWith($"gpff train: {P("bad.json")}: shard: The JSON property 'shard' could not be mapped", err.Trim());
        Assert.Contains("the keys are partition, account", err);
        Assert.Equal(["bad.json", "s.json"], _dir.GetFileSystemInfos().Select(f => f.Name).Order());

        var help = Cli.Run("train", "--help").Out;
        Assert.Contains("--slurm <SLURM.json>", help);
        Assert.Contains("max_submissions", help);
    }

    [Fact]
    public void SparseShardComputesOneShardOfAPlanAsTheLibraryDoes()
    {
        var frames = ExtXyz.Read(Path.Combine(Cli.Root, "data", "barho-train.extxyz")).Take(8).ToList();
        string data = P("train.extxyz");
        ExtXyz.Write(data, frames);
        var kernel = new ForceFieldSettings().BuildKernel();
        var model = new SparseGaussianProcess(kernel, NoiseLevels.Default, InducingSelection.Random(frames, kernel.CutoffA, 10, seed: 1));
        var plan = SparseShardPlan.For(model, 3, dataFile: data);
        plan.Save(P("plan.json"));
        Directory.CreateDirectory(P("shards"));

        var (code, stdout, err) = Cli.Run("sparse-shard", "--plan", P("plan.json"), "--directory", P("shards"), "--index", "1", "--threads", "1");
        Assert.True(code == 0, err);
        Assert.StartsWith("shard 1 of 3: 3 structures", stdout);
        string file = Path.Combine(P("shards"), SparseShardPlan.ShardFileName(1, 3));
        var shard = SparseShard.Load(file);
        Assert.Equal((1, 3, plan.Fingerprint), (shard.Index, shard.ShardCount, shard.Fingerprint));
        plan.Compute(1).Save(P("expected" + SparseShardPlan.ShardExtension));
        Assert.Equal(File.ReadAllBytes(P("expected" + SparseShardPlan.ShardExtension)), File.ReadAllBytes(file));
        Assert.Equal([0, 2], plan.Problems(P("shards")).Keys);

        Assert.Equal("gpff sparse-shard: --index 3: the plan has 3 shards (0 to 2).",
            Cli.Run("sparse-shard", "--plan", P("plan.json"), "--directory", P("shards"), "--index", "3").Err.Trim());
        Assert.Equal("gpff sparse-shard: --plan PLAN.json is required.", Cli.Run("sparse-shard", "--directory", P("shards"), "--index", "0").Err.Trim());
        File.WriteAllText(P("plan.json"), File.ReadAllText(P("plan.json")).Replace("\"gradient\": false", "\"gradient\": true"));
        Assert.Contains("does not match its fingerprint", Cli.Run("sparse-shard", "--plan", P("plan.json"), "--directory", P("shards"), "--index", "0").Err);
    }
}
