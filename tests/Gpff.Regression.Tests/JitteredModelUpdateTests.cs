using Gpff.Regression.LinearAlgebra;
using static Gpff.Regression.Tests.GaussianProcessTests;

namespace Gpff.Regression.Tests;

/// <summary>
/// Active learning adds data to a model whose covariance needed jitter when it was trained (near
/// duplicates, tiny noise). The block update must keep that jitter on the whole diagonal, so that
/// the model after Add is the one a from-scratch training with the same jitter gives.
/// </summary>
public class JitteredModelUpdateTests
{
    // One jitter step of 1e-6 of the mean diagonal: far above round-off, so a lost δ cannot hide in it,
    // and the same δ whenever the mean diagonal is the same.
    private static readonly GaussianProcessOptions Options = new()
    {
        Cholesky = new CholeskyOptions { InitialRelativeJitter = 1e-6, MaxRelativeJitter = 1e-6 },
    };

    private static readonly NoiseLevels TinyNoise = new(1e-12, 1e-12, 1e-12);

    [Fact]
    public void AddingToAJitteredModelEqualsTrainingFromScratchWithTheSameJitter()
    {
        var s = RandomStructure(new Random(13));
        var t = RandomStructure(new Random(14));

        // Trained on a structure twice: K + Σ is singular, so it is factored with jitter.
        var updated = new GaussianProcess(Kernel(), TinyNoise, Options);
        updated.Add(s);
        updated.Add(s);
        updated.Train();
        double delta = updated.JitterAdded;
        Assert.True(delta > 0, "two copies of a structure with 1e-12 noise must need jitter");

        // The same structure a third time (what an active-learning loop meets on a revisited configuration):
        // the mean diagonal is unchanged, so a from-scratch training picks the same δ.
        updated.Add(s);
        Assert.True(updated.IsTrained);
        Assert.Equal(delta, updated.JitterAdded);

        var scratch = new GaussianProcess(Kernel(), TinyNoise, Options);
        scratch.Add(s);
        scratch.Add(s);
        scratch.Add(s);
        scratch.Train();
        Assert.Equal(delta, scratch.JitterAdded, 1e-12 * delta);

        var pu = updated.Predict(t);
        var ps = scratch.Predict(t);
        Assert.Equal(ps.EnergyEv, pu.EnergyEv, 1e-6 * Math.Max(1, Math.Abs(ps.EnergyEv)));
        Assert.Equal(ps.EnergyStdEv, pu.EnergyStdEv, 1e-6 * Math.Max(1, ps.EnergyStdEv));
        for (int i = 0; i < t.AtomCount; i++)
        {
            Assert.True((ps.ForcesEvPerA[i] - pu.ForcesEvPerA[i]).Length < 1e-6, $"force {i}: scratch {ps.ForcesEvPerA[i]}, updated {pu.ForcesEvPerA[i]}");
            Assert.True((ps.ForcesStdEvPerA![i] - pu.ForcesStdEvPerA![i]).Length < 1e-6, $"force std {i}: scratch {ps.ForcesStdEvPerA[i]}, updated {pu.ForcesStdEvPerA[i]}");
        }

        // A new structure next: the factor must be that of K + Σ + δ·I over all labels, K taken from the
        // kernel's public API, with δ on the old and the new diagonal alike.
        updated.Add(t);
        Assert.Equal(delta, updated.JitterAdded);
        var expected = PublicKernelAlgebra.Covariance(updated);
        var noise = PublicKernelAlgebra.DocumentedNoiseVariances(updated);
        int n = updated.LabelCount;
        Assert.Equal(n, expected.RowCount);
        for (int i = 0; i < n; i++)
        {
            expected[i, i] += noise[i] + delta;
        }

        var l = updated.Factor!.ToLowerMatrix();
        var product = l * l.Transpose();
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j <= i; j++)
            {
                double error = product[i, j] - expected[i, j];
                Assert.True(Math.Abs(error) < 1e-3 * delta, $"(L·Lᵀ − (K + Σ + δI))[{i}, {j}] = {error:G3} with δ = {delta:G3}");
            }
        }
    }
}
