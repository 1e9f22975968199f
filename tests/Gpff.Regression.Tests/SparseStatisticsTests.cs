using Gpff.Geometry;
using Gpff.Kernels;
using Gpff.Regression.LinearAlgebra;
using static Gpff.Regression.Tests.LinearAlgebra.TestMatrices;

namespace Gpff.Regression.Tests;

/// <summary>
/// The sparse GP's training sums, accumulated in batches (one triangular solve and one rank-k update of B's lower
/// triangle per batch of buffered columns), against their definitions summed label by label, as the accumulation
/// per structure with full products computed them.
/// </summary>
public class SparseStatisticsTests
{
    private const int M = 9;
    private static readonly NoiseLevels Noise = new(0.01, 0.05, 0.002);

    /// <summary>Structures with energy, forces and stress; the first holds only Si, so Ge's target column appears mid-stream.</summary>
    private static List<TrainingEntry> Entries(IKernel kernel)
    {
        var rng = new Random(5);
        int[] atoms = [1, 4, 3, 5, 2, 4, 3];
        return atoms.Select((n, i) => TrainingEntry.Create(GaussianProcessTests.RandomStructure(rng, n), kernel, LabelKinds.All, null, $"structure {i}")).ToList();
    }

    private static (double[] Kus, double[][] Dkus) CrossCovariance(int n, int h, int seed) =>
        (Random(M, n, seed), Enumerable.Range(0, h).Select(i => Random(M, n, 1000 * seed + i)).ToArray());

    private sealed record Reference(double[][] B, double[][] C, double[][] Q, double[][] D, double[][] E, List<int> Species);

    /// <summary>B, C, Q, D (whitened on one side) and E by their definitions, label by label.</summary>
    private static Reference Definitions(List<TrainingEntry> entries, double[] l, int h, bool perKind)
    {
        var species = new List<int>();
        foreach (var e in entries.Where(e => e.Labels.Energy))
        {
            foreach (int z in e.Structure.AtomicNumbers.ToArray().Distinct().Where(z => !species.Contains(z)))
            {
                species.Add(z);
            }
        }

        int tc = 1 + species.Count, kinds = LabelNoise.KindCount;
        var b = Enumerable.Range(0, perKind ? kinds : 1).Select(_ => new double[M * M]).ToArray();
        var c = Enumerable.Range(0, kinds).Select(_ => new double[M * tc]).ToArray();
        var q = Enumerable.Range(0, kinds).Select(_ => new double[tc * tc]).ToArray();
        var d = Enumerable.Range(0, h).Select(_ => new double[M * M]).ToArray();
        var eh = Enumerable.Range(0, h).Select(_ => new double[M * tc]).ToArray();
        for (int s = 0; s < entries.Count; s++)
        {
            var entry = entries[s];
            var (kus, dkus) = CrossCovariance(entry.Count, h, s + 1);
            var sigma2 = LabelNoise.Variances(entry, Noise);
            var z = entry.Structure.AtomicNumbers.ToArray();
            for (int j = 0; j < entry.Count; j++)
            {
                int kind = LabelNoise.Kind(entry, j);
                var t = new double[tc];
                t[0] = entry.Values[j];
                if (j == 0 && entry.Labels.Energy)
                {
                    for (int sp = 0; sp < species.Count; sp++)
                    {
                        t[1 + sp] = -z.Count(x => x == species[sp]);
                    }
                }

                var k = kus.AsSpan(j * M, M).ToArray();
                var v = (double[])k.Clone();
                ForwardSubstitute(l, v);
                var bk = b[perKind ? kind : 0];
                for (int col = 0; col < M; col++)
                {
                    for (int row = 0; row < M; row++)
                    {
                        bk[col * M + row] += v[row] * v[col] / sigma2[j];
                    }
                }

                for (int col = 0; col < tc; col++)
                {
                    for (int row = 0; row < M; row++)
                    {
                        c[kind][col * M + row] += v[row] * t[col] / sigma2[j];
                    }

                    for (int row = 0; row < tc; row++)
                    {
                        q[kind][col * tc + row] += t[row] * t[col] / sigma2[j];
                    }
                }

                for (int i = 0; i < h; i++)
                {
                    var dk = dkus[i].AsSpan(j * M, M).ToArray();
                    for (int col = 0; col < M; col++)
                    {
                        for (int row = 0; row < M; row++)
                        {
                            d[i][col * M + row] += dk[row] * v[col] / sigma2[j];   // Σ ∂K_us Σ⁻¹ K_su L⁻ᵀ
                        }
                    }

                    for (int col = 0; col < tc; col++)
                    {
                        for (int row = 0; row < M; row++)
                        {
                            eh[i][col * M + row] += dk[row] * t[col] / sigma2[j];
                        }
                    }
                }
            }
        }

        return new Reference(b, c, q, d, eh, species);
    }

    private static void ForwardSubstitute(double[] l, double[] x)
    {
        for (int i = 0; i < M; i++)
        {
            double s = x[i];
            for (int j = 0; j < i; j++)
            {
                s -= l[j * M + i] * x[j];
            }

            x[i] = s / l[i * M + i];
        }
    }

    private static SparseStatistics Accumulate(List<TrainingEntry> entries, CholeskyFactorization luu, int h, bool perKind, LinearAlgebraBackendKind backend,
        int? batch, int readAfter = -1)
    {
        var stats = new SparseStatistics(M, h, perKind, gradient: h > 0, backend, batch);
        for (int s = 0; s < entries.Count; s++)
        {
            var (kus, dkus) = CrossCovariance(entries[s].Count, h, s + 1);
            var kusCopy = (double[])kus.Clone();
            stats.Add(entries[s], Noise, luu, kus, dkus);
            Assert.Equal(kusCopy, kus);   // the caller's K_us is not changed
            if (s == readAfter)
            {
                _ = stats.B;   // reading mid-stream adds what waits, and the stream goes on
            }
        }

        return stats;
    }

    private static void Equal(double[] expected, double[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = expected.Max(Math.Abs);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-12 * scale, $"{what}[{i}]: expected {expected[i]:R}, got {actual[i]:R} (scale {scale:G3})");
        }
    }

    [Theory]
    [InlineData(LinearAlgebraBackendKind.OpenBlas, false, 0, 1, -1)]
    [InlineData(LinearAlgebraBackendKind.OpenBlas, false, 0, 7, 2)]
    [InlineData(LinearAlgebraBackendKind.OpenBlas, true, 2, 5, -1)]
    [InlineData(LinearAlgebraBackendKind.OpenBlas, true, 2, null, 3)]
    [InlineData(LinearAlgebraBackendKind.Managed, false, 0, 4, 1)]
    [InlineData(LinearAlgebraBackendKind.Managed, true, 1, 3, -1)]
    public void BatchedSumsEqualTheirDefinitionsLabelByLabel(LinearAlgebraBackendKind backend, bool perKind, int h, int? batch, int readAfter)
    {
        if (backend == LinearAlgebraBackendKind.OpenBlas)
        {
            RequireOpenBlas();
        }

        var entries = Entries(GaussianProcessTests.Kernel());
        var kuu = Spd(M, seed: 3, shift: 0.5);
        var luu = CholeskyFactorization.Factor(kuu, M, new CholeskyOptions { Backend = backend, AllowJitter = false });
        var l = luu.LowerColumnMajor.ToArray();
        var expected = Definitions(entries, l, h, perKind);
        var stats = Accumulate(entries, luu, h, perKind, backend, batch, readAfter);

        Assert.Equal(expected.Species, stats.Species);
        Assert.Equal(expected.B.Length, stats.B.Length);
        for (int g = 0; g < expected.B.Length; g++)
        {
            Equal(expected.B[g], stats.B[g], $"B[{g}]");
        }

        for (int k = 0; k < LabelNoise.KindCount; k++)
        {
            Equal(expected.C[k], stats.C[k], $"C[{k}]");
            Equal(expected.Q[k], stats.Q[k], $"Q[{k}]");
        }

        for (int i = 0; i < h; i++)
        {
            Equal(expected.D[i], stats.D[i], $"D[{i}]");
            Equal(expected.E[i], stats.E[i], $"E[{i}]");
        }

        Assert.Equal(entries.Sum(e => e.Count), stats.LabelCount);
        Assert.Equal(entries.Count, stats.StructureCount);
    }

    [Fact]
    public void BIsExactlySymmetricAndTheBatchSizeDoesNotChangeTheSumsBeyondRounding()
    {
        RequireOpenBlas();
        var entries = Entries(GaussianProcessTests.Kernel());
        var luu = CholeskyFactorization.Factor(Spd(M, seed: 8, shift: 0.5), M, new CholeskyOptions { AllowJitter = false });
        var one = Accumulate(entries, luu, 1, perKind: true, LinearAlgebraBackendKind.OpenBlas, batch: 1);
        var all = Accumulate(entries, luu, 1, perKind: true, LinearAlgebraBackendKind.OpenBlas, batch: 1000);
        for (int g = 0; g < one.B.Length; g++)
        {
            Equal(one.B[g], all.B[g], $"B[{g}]");
            for (int j = 0; j < M; j++)
            {
                for (int i = 0; i < M; i++)
                {
                    Assert.Equal(all.B[g][j * M + i], all.B[g][i * M + j]);
                }
            }
        }

        Equal(one.D[0], all.D[0], "D");
        Equal(one.C[1], all.C[1], "C");
    }

    [Fact]
    public void ABatchSizeBelowOneIsRefusedByName()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new SparseStatistics(M, 0, false, false, LinearAlgebraBackendKind.Managed, batchColumns: 0));
        Assert.Equal("batchColumns", ex.ParamName);
    }
}
