using Gpff.IO;
using Gpff.Kernels;

namespace Gpff.Regression.Tests;

/// <summary>Sharded sparse-GP assembly run in-process: shards computed separately, written, read and reduced equal one pass over all the data.</summary>
public sealed class SparseShardTests : IDisposable
{
    private static readonly NoiseLevels Noise = new(0.01, 0.05, 0.002);
    private readonly string _dir = Directory.CreateTempSubdirectory("gpff-shards-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (SparseGaussianProcess Model, List<Structure> Train) Setup(int structures = 9)
    {
        var kernel = GaussianProcessTests.Kernel();
        var train = SparseGaussianProcessTests.Structures(structures, 31);
        var clusters = SparseGaussianProcessTests.AllClusters(train.Take(3), kernel).Where((_, i) => i % 2 == 0).ToList();
        return (new SparseGaussianProcess(kernel, Noise, clusters), train);
    }

    private static void Near(double expected, double actual, double tolerance, string what) =>
        Assert.True(Math.Abs(expected - actual) <= tolerance * Math.Max(1, Math.Abs(expected)), $"{what}: expected {expected:R}, got {actual:R} (difference {expected - actual:G3})");

    private static void SamePredictions(SparseGaussianProcess a, SparseGaussianProcess b, double tolerance)
    {
        foreach (var s in SparseGaussianProcessTests.Structures(2, 77))
        {
            var pa = a.Predict(s);
            var pb = b.Predict(s);
            Near(pa.EnergyEv, pb.EnergyEv, tolerance, "energy");
            Near(pa.EnergyStdEv, pb.EnergyStdEv, tolerance, "energy std");
            for (int i = 0; i < s.AtomCount; i++)
            {
                for (int c = 0; c < 3; c++)
                {
                    Near(pa.ForcesEvPerA[i][c], pb.ForcesEvPerA[i][c], tolerance, $"force {i}.{c}");
                    Near(pa.ForcesStdEvPerA![i][c], pb.ForcesStdEvPerA![i][c], tolerance, $"force std {i}.{c}");
                }
            }

            for (int v = 0; v < 6; v++)
            {
                Near(pa.StressEvPerA3!.Value[v], pb.StressEvPerA3!.Value[v], tolerance, $"stress {v}");
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(5)]
    public void ShardsWrittenReadAndReducedEqualOnePass(int shards)
    {
        var (single, train) = Setup();
        single.Train(train);
        string data = Path.Combine(_dir, "train.extxyz");
        ExtXyz.Write(data, train);
        var plan = SparseShardPlan.For(single, shards, dataFile: data);
        for (int k = 0; k < shards; k++)
        {
            var shard = plan.Compute(k);
            Assert.Equal(train.Where((_, i) => SparseShardPlan.Contains(i, k, shards)).Count(), shard.StructureCount);
            shard.Save(Path.Combine(_dir, SparseShardPlan.ShardFileName(k, shards)));
        }

        Assert.Empty(plan.Problems(_dir));
        var reduced = plan.ReduceDirectory(_dir);
        Assert.Equal(single.LabelCount, reduced.LabelCount);
        Assert.Equal(train.Count, reduced.TrainingStructureCount);
        for (int i = 0; i < single.InducingCount; i++)
        {
            Near(single.Weights[i], reduced.Weights[i], 1e-10, $"weight {i}");
        }

        SamePredictions(single, reduced, 1e-10);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void LikelihoodAndGradientFromShardsEqualOnePass(int count)
    {
        var (model, train) = Setup(8);
        var kernel = model.Kernel.WithHyperparameters(model.Kernel.Hyperparameters.Select(v => v * 1.1).ToArray());
        var noise = new NoiseLevels(0.02, 0.07, 0.003);
        var expected = model.LogMarginalLikelihood(train, LabelKinds.All, kernel, noise, gradient: true);
        var plan = SparseShardPlan.For(model, count).With(kernel, noise, gradient: true);
        var shards = Enumerable.Range(0, count).Select(k => plan.Compute(k, train)).Reverse().ToList();
        foreach (var shard in shards)
        {
            shard.Save(Path.Combine(_dir, SparseShardPlan.ShardFileName(shard.Index, count)));
        }

        var got = plan.ReduceLikelihoodDirectory(_dir);
        // The value is the difference yᵀΣ⁻¹y − cᵀB⁻¹c of two sums much larger than itself (tight energy
        // noise), so adding the shards in another order moves it by round-off of those sums (~1e-8 here);
        // one shard, same order, agrees to 1e-12.
        Near(expected.Value, got.Value, count == 1 ? 1e-12 : 1e-7, "log likelihood");
        Assert.Equal(expected.Gradient.Length, got.Gradient.Length);
        for (int i = 0; i < got.Gradient.Length; i++)
        {
            Near(expected.Gradient[i], got.Gradient[i], 1e-9, $"gradient {i}");
        }
    }

    [Fact]
    public void PlanFileRoundTripsAndKeepsItsFingerprint()
    {
        var (model, train) = Setup(4);
        string data = Path.Combine(_dir, "train.extxyz");
        ExtXyz.Write(data, train);
        var plan = SparseShardPlan.For(model, 3, LabelKinds.Forces | LabelKinds.Energy, data);
        string path = Path.Combine(_dir, "plan.json");
        plan.Save(path);
        var back = SparseShardPlan.Load(path);
        Assert.Equal(plan.Fingerprint, back.Fingerprint);
        Assert.Equal(plan.ShardCount, back.ShardCount);
        Assert.Equal(plan.Kinds, back.Kinds);
        Assert.Equal(plan.Inducing.Count, back.Inducing.Count);
        Assert.Equal(plan.Kernel.Hyperparameters, back.Kernel.Hyperparameters);

        // A shard of the loaded plan is a shard of the original one, bit for bit.
        var a = plan.Compute(1);
        var b = back.Compute(1);
        a.Save(Path.Combine(_dir, "a" + SparseShardPlan.ShardExtension));
        b.Save(Path.Combine(_dir, "b" + SparseShardPlan.ShardExtension));
        Assert.Equal(File.ReadAllBytes(Path.Combine(_dir, "a" + SparseShardPlan.ShardExtension)), File.ReadAllBytes(Path.Combine(_dir, "b" + SparseShardPlan.ShardExtension)));

        // Edited by hand: refused by name.
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"shard_count\": 3", "\"shard_count\": 2"));
        var e = Assert.Throws<SparseShardException>(() => SparseShardPlan.Load(path));
        Assert.Contains("does not match its fingerprint", e.Message);
    }

    [Fact]
    public void IncompleteDamagedOrForeignShardsAreRefusedByName()
    {
        var (model, train) = Setup(8);
        var plan = SparseShardPlan.For(model, 4);
        for (int k = 0; k < 4; k++)
        {
            plan.Compute(k, train).Save(Path.Combine(_dir, SparseShardPlan.ShardFileName(k, 4)));
        }

        string p1 = Path.Combine(_dir, SparseShardPlan.ShardFileName(1, 4)), p2 = Path.Combine(_dir, SparseShardPlan.ShardFileName(2, 4)), p3 = Path.Combine(_dir, SparseShardPlan.ShardFileName(3, 4));
        var good = File.ReadAllBytes(p1);
        File.Delete(p1);                                                      // a task that never ran
        File.WriteAllBytes(p2, File.ReadAllBytes(p2)[..^100]);                // cut short (a non-atomic copy, a full disk)
        var bytes = File.ReadAllBytes(p3);
        bytes[bytes.Length / 2] ^= 0x40;                                      // one bit flipped
        File.WriteAllBytes(p3, bytes);
        var problems = plan.Problems(_dir);
        Assert.Equal([1, 2, 3], problems.Keys);
        Assert.Contains("is missing", problems[1]);
        Assert.Contains("cut short", problems[2]);
        Assert.Contains("checksum does not match", problems[3]);
        var e = Assert.Throws<SparseShardException>(() => plan.ReduceDirectory(_dir));
        Assert.Contains("3 of 4 are not usable (rerun those tasks)", e.Message);

        // In memory: missing, repeated and foreign shards.
        var shards = Enumerable.Range(0, 4).Select(k => plan.Compute(k, train)).ToList();
        Assert.Contains("1 of 4 missing (2)", Assert.Throws<SparseShardException>(() => plan.Reduce(shards.Where(s => s.Index != 2))).Message);
        Assert.Contains("given twice", Assert.Throws<SparseShardException>(() => plan.Reduce([.. shards, shards[0]])).Message);
        var other = SparseShardPlan.For(model, 4).With(model.Kernel, new NoiseLevels(0.02, 0.05, 0.002), gradient: false);
        Assert.Contains("belongs to another training plan", Assert.Throws<SparseShardException>(() => other.Reduce(shards)).Message);

        // A rerun task repairs the folder.
        File.WriteAllBytes(p1, good);
        plan.Compute(2, train).Save(p2);
        plan.Compute(3, train).Save(p3);
        Assert.Empty(plan.Problems(_dir));
        Assert.True(plan.ReduceDirectory(_dir).IsTrained);
    }
}
