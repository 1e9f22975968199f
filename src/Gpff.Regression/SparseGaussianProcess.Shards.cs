using System.Globalization;

namespace Gpff.Regression;

/// <summary>The sparse GP's side of sharded training (<see cref="SparseShardPlan"/>).</summary>
public sealed partial class SparseGaussianProcess
{
    /// <summary>The sums of a stream of structures (one shard) and K_uu's jitter, without changing the model.</summary>
    internal (SparseStatistics Stats, double RelativeJitter) AccumulateShard(IEnumerable<(Structure Structure, int StreamIndex)> structures, LabelKinds kinds, bool gradient,
        IProgress<GpProgress>? progress, CancellationToken cancellationToken)
    {
        var (luu, rho, _) = FactorInducing(Kernel, gradient: false, cancellationToken);
        var stats = new SparseStatistics(InducingCount, Kernel.Hyperparameters.Count, perKind: gradient, gradient: gradient, Backend);
        foreach (var (structure, index) in structures)
        {
            int energies = stats.Energies.Count;
            Accumulate(stats, Kernel, Noise, luu, [structure], kinds, null, cancellationToken);
            if (stats.Energies.Count > energies)
            {
                stats.EnergyOrder.Add(index);
            }

            progress?.Report(new GpProgress("shard structures", stats.StructureCount, -1));
        }

        return (stats, rho);
    }

    /// <summary>Trains from the sums of all the data (reduced shards): factor K_uu, check the jitter the shards used, solve.</summary>
    internal void TrainFromStatistics(SparseStatistics stats, double shardJitter, CancellationToken cancellationToken)
    {
        Invalidate();
        var (luu, rho, _) = FactorInducing(Kernel, gradient: false, cancellationToken);
        CheckJitter(rho, shardJitter);
        _luu = luu;
        _inducingRelativeJitter = rho;
        _stats = stats;
        Finish();
    }

    /// <summary>The likelihood (and gradient) from the sums of all the data (reduced shards).</summary>
    internal LikelihoodResult LikelihoodFromStatistics(SparseStatistics stats, double shardJitter, bool gradient, CancellationToken cancellationToken)
    {
        var (luu, rho, dkuu) = FactorInducing(Kernel, gradient, cancellationToken);
        CheckJitter(rho, shardJitter);
        return Likelihood(stats, Kernel, Noise, luu, rho, dkuu, gradient);
    }

    private static void CheckJitter(double here, double shards)
    {
        if (here != shards)
        {
            throw new SparseShardException("", string.Create(CultureInfo.InvariantCulture,
                $"The shards factored K_uu with a jitter of {shards:G3} of its mean diagonal, the reduce with {here:G3}: the tasks ran another build or linear-algebra back end; rerun them alike."));
        }
    }
}
