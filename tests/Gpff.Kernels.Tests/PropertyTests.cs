using Gpff.Descriptors;
using Gpff.Geometry;

namespace Gpff.Kernels.Tests;

public class PropertyTests
{
    private static readonly SumKernel Kernel = TestData.TwoPlusThree();

    private static Mat3 Rotation(double a, double b, double c)
    {
        var rx = new Mat3(1, 0, 0, 0, Math.Cos(a), -Math.Sin(a), 0, Math.Sin(a), Math.Cos(a));
        var ry = new Mat3(Math.Cos(b), 0, Math.Sin(b), 0, 1, 0, -Math.Sin(b), 0, Math.Cos(b));
        var rz = new Mat3(Math.Cos(c), -Math.Sin(c), 0, Math.Sin(c), Math.Cos(c), 0, 0, 0, 1);
        return rz * ry * rx;
    }

    [Fact]
    public void EnergyKernelIsInvariantUnderRotationTranslationAndPermutation()
    {
        var a = TestData.Ternary(51);
        var b = TestData.SmallCell(52);
        double k0 = TestData.EnergyKernel(Kernel, a, b);
        Assert.True(k0 > 1e-3);

        var rot = a.Deformed(Rotation(0.3, -1.1, 2.0));
        TestData.AssertClose(k0, TestData.EnergyKernel(Kernel, rot, b), 1e-12, 0, "rotated");

        var moved = a.CloneWithoutLabels();
        for (int i = 0; i < moved.AtomCount; i++)
        {
            moved.Positions[i] += new Vec3(0.37, -1.9, 5.2);
        }

        TestData.AssertClose(k0, TestData.EnergyKernel(Kernel, moved, b), 1e-12, 0, "translated");

        int[] order = [3, 0, 4, 2, 1];
        var perm = new Structure(order.Select(i => a.AtomicNumbers[i]), order.Select(i => a.Positions[i]).ToArray(), a.Cell, a.Pbc);
        TestData.AssertClose(k0, TestData.EnergyKernel(Kernel, perm, b), 1e-12, 0, "permuted");
        TestData.AssertClose(k0, TestData.EnergyKernel(Kernel, b, perm), 1e-12, 0, "permuted, swapped arguments");
    }

    [Fact]
    public void ForceBlocksRotateAsRKRt()
    {
        var a = TestData.Ternary(53);
        var b = TestData.Binary(54);
        var r = Rotation(0.7, 0.2, -0.4);
        var fa = LabelSelection.Forces(0, 1, 2, 3, 4);
        var fb = LabelSelection.Forces(0, 1, 2, 3);
        var k = TestData.Block(Kernel, a, fa, b, fb);
        var kr = TestData.Block(Kernel, a.Deformed(r), fa, b.Deformed(r), fb);
        int nc = fb.Count;
        for (int i = 0; i < 5; i++)
        {
            for (int m = 0; m < 4; m++)
            {
                var kb = new Mat3(
                    k[(3 * i) * nc + 3 * m], k[(3 * i) * nc + 3 * m + 1], k[(3 * i) * nc + 3 * m + 2],
                    k[(3 * i + 1) * nc + 3 * m], k[(3 * i + 1) * nc + 3 * m + 1], k[(3 * i + 1) * nc + 3 * m + 2],
                    k[(3 * i + 2) * nc + 3 * m], k[(3 * i + 2) * nc + 3 * m + 1], k[(3 * i + 2) * nc + 3 * m + 2]);
                var expected = r * kb * r.Transpose();
                for (int x = 0; x < 3; x++)
                {
                    for (int y = 0; y < 3; y++)
                    {
                        TestData.AssertClose(expected[x, y], kr[(3 * i + x) * nc + 3 * m + y], 1e-9, 1e-12, $"R K Rᵀ [{i},{m}]({x},{y})");
                    }
                }
            }
        }
    }

    [Fact]
    public void MatrixOverFiftyEnvironmentsIsSymmetricPositiveSemidefinite()
    {
        // 50 environments from ten random 5-atom structures: local energies and forces.
        var structures = Enumerable.Range(0, 10).Select(i => TestData.Ternary(100 + i)).ToArray();
        var blocks = structures.Select(s => new LabelBlock(Kernel.Describe(s), new LabelSelection
        {
            ForceAtoms = [0, 1, 2, 3, 4],
            LocalEnergyAtoms = [0, 1, 2, 3, 4],
        })).ToList();
        int n = CovarianceAssembly.LabelCount(blocks);
        Assert.Equal(200, n);
        var k = new double[n * n];
        CovarianceAssembly.Assemble(Kernel, blocks, blocks, k);
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < i; j++)
            {
                TestData.AssertClose(k[i * n + j], k[j * n + i], 1e-12, 1e-14, $"symmetry ({i},{j})");
            }
        }

        var eig = LinearAlgebra.SymmetricEigenvalues(k, n);
        double max = eig.Max();
        Assert.True(max > 0);
        Assert.True(eig.Min() > -1e-10 * max, $"smallest eigenvalue {eig.Min():E3} vs largest {max:E3}");
    }

    [Fact]
    public void VarianceIsTheDiagonalOfTheCovariance()
    {
        var a = TestData.SmallCell(61);
        var sel = TestData.Everything(a.AtomCount);
        var k = TestData.Block(Kernel, a, sel, a, sel);
        var v = new double[sel.Count];
        Kernel.Variance(Kernel.Describe(a), sel, v);
        for (int i = 0; i < sel.Count; i++)
        {
            TestData.AssertClose(k[i * sel.Count + i], v[i], 1e-12, 1e-15, $"variance {i}");
            Assert.True(v[i] > 0);
        }
    }

    [Fact]
    public void ParallelAssemblyEqualsBlockByBlockCovariance()
    {
        var structures = new[] { TestData.Ternary(71), TestData.SmallCell(72), TestData.Binary(73) };
        var blocks = structures.Select(s => new LabelBlock(Kernel.Describe(s), LabelSelection.All(s.AtomCount))).ToList();
        blocks[1] = blocks[1] with { Labels = blocks[1].Labels with { LocalEnergyAtoms = [1] } };
        int n = CovarianceAssembly.LabelCount(blocks), nh = Kernel.HyperparameterCount;
        var k = new double[n * n];
        var g = new double[nh * n * n];
        var progress = new List<double>();
        CovarianceAssembly.AssembleSymmetric(Kernel, blocks, k, g, new AssemblyOptions { MaxDegreeOfParallelism = 3, AtomsPerWorkItem = 1, Progress = new SyncProgress(progress) });
        Assert.Contains(1.0, progress);
        int r0 = 0;
        foreach (var rb in blocks)
        {
            int c0 = 0;
            foreach (var cb in blocks)
            {
                int m = rb.Labels.Count, p = cb.Labels.Count;
                var v = new double[m * p];
                var gv = new double[nh * m * p];
                Kernel.Covariance(rb.Environments, rb.Labels, cb.Environments, cb.Labels, v, gv);
                for (int i = 0; i < m; i++)
                {
                    for (int j = 0; j < p; j++)
                    {
                        TestData.AssertClose(v[i * p + j], k[(r0 + i) * n + c0 + j], 1e-11, 1e-14, $"K[{r0 + i},{c0 + j}]");
                        for (int h = 0; h < nh; h++)
                        {
                            TestData.AssertClose(gv[h * m * p + i * p + j], g[h * n * n + (r0 + i) * n + c0 + j], 1e-11, 1e-14, $"dK/dh{h}[{r0 + i},{c0 + j}]");
                        }
                    }
                }

                c0 += p;
            }

            r0 += rb.Labels.Count;
        }
    }

    [Fact]
    public void AssemblyCanBeCancelled()
    {
        var s = TestData.Ternary(81);
        var blocks = Enumerable.Range(0, 4).Select(_ => new LabelBlock(Kernel.Describe(s), LabelSelection.All(s.AtomCount))).ToList();
        int n = CovarianceAssembly.LabelCount(blocks);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() =>
            CovarianceAssembly.AssembleSymmetric(Kernel, blocks, new double[n * n], null, new AssemblyOptions { CancellationToken = cts.Token }));
    }

    [Fact]
    public void AGroupWithTheDefaultValuesChangesNothing()
    {
        var plain = TestData.TwoPlusThree();
        var grouped = new SumKernel(
            new TwoBodyKernel(3.6, 0.9, 0.7, groups: [new SpeciesGroup(["Rh-O", "O-O"], 0.9, 0.7)]),
            new ThreeBodyKernel(3.1, 0.6, 0.8, groups: [new SpeciesGroup(["Rh-O-O"], 0.6, 0.8)]));
        var a = TestData.Ternary(91);
        var b = TestData.SmallCell(92);
        var sel = TestData.Everything(5);
        var selb = TestData.Everything(2);
        var k1 = TestData.Block(plain, a, sel, b, selb);
        var k2 = TestData.Block(grouped, a, sel, b, selb);
        for (int i = 0; i < k1.Length; i++)
        {
            TestData.AssertClose(k1[i], k2[i], 1e-13, 1e-15, $"entry {i}");
        }
    }

    private sealed class SyncProgress(List<double> list) : IProgress<double>
    {
        public void Report(double value)
        {
            lock (list)
            {
                list.Add(value);
            }
        }
    }
}

internal static class LinearAlgebra
{
    /// <summary>Eigenvalues of a symmetric matrix by cyclic Jacobi rotations.</summary>
    public static double[] SymmetricEigenvalues(double[] matrix, int n)
    {
        var a = (double[])matrix.Clone();
        for (int sweep = 0; sweep < 100; sweep++)
        {
            double off = 0;
            for (int p = 0; p < n; p++)
            {
                for (int q = p + 1; q < n; q++)
                {
                    off += a[p * n + q] * a[p * n + q];
                }
            }

            if (off < 1e-30)
            {
                break;
            }

            for (int p = 0; p < n; p++)
            {
                for (int q = p + 1; q < n; q++)
                {
                    double apq = a[p * n + q];
                    if (Math.Abs(apq) < 1e-300)
                    {
                        continue;
                    }

                    double theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
                    double t = Math.Sign(theta) / (Math.Abs(theta) + Math.Sqrt(theta * theta + 1));
                    if (theta == 0)
                    {
                        t = 1;
                    }

                    double c = 1 / Math.Sqrt(t * t + 1), s = t * c;
                    for (int k = 0; k < n; k++)
                    {
                        double akp = a[k * n + p], akq = a[k * n + q];
                        a[k * n + p] = c * akp - s * akq;
                        a[k * n + q] = s * akp + c * akq;
                    }

                    for (int k = 0; k < n; k++)
                    {
                        double apk = a[p * n + k], aqk = a[q * n + k];
                        a[p * n + k] = c * apk - s * aqk;
                        a[q * n + k] = s * apk + c * aqk;
                    }
                }
            }
        }

        return Enumerable.Range(0, n).Select(i => a[i * n + i]).ToArray();
    }
}
