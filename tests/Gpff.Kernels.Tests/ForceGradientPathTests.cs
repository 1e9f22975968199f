using Gpff.Descriptors;

namespace Gpff.Kernels.Tests;

/// <summary>
/// The forces-only path of likelihood gradients (<see cref="LocalKernel.ForceCovarianceWithGradients"/>):
/// the 3 × 3 force block and its σ and ℓ derivatives, at both SIMD widths, must equal the force rows and
/// columns of the general 10 × 10 block and its derivatives (which the finite-difference and FLARE
/// reference tests pin), and <see cref="IKernel.Covariance"/> of force labels with gradients, which now
/// takes this path, must equal the force part of a selection that takes the general one.
/// </summary>
public class ForceGradientPathTests
{
    private static readonly TwoBodyKernel Two = KernelPathCases.Two;
    private static readonly ThreeBodyKernel Three = KernelPathCases.Three;

    private delegate void ForceGradientBlock(AtomEnvironment x, AtomEnvironment y, Span<double> block, Span<double> gradients);

    public static TheoryData<string> Cases => KernelPathCases.Names;

    private static (Structure A, Structure B) Pair(string name) => KernelPathCases.Pair(name, 61);

    [Theory]
    [MemberData(nameof(Cases))]
    public void ForceBlocksWithGradientsEqualTheForcePartOfTheGeneralBlock(string name)
    {
        var (a, b) = Pair(name);
        foreach (var (kernel, wide, narrow, dispatched) in new (LocalKernel, ForceGradientBlock, ForceGradientBlock, ForceGradientBlock)[]
        {
            (Two, Two.ForceWithGradients<V512>, Two.ForceWithGradients<V256>, Two.ForceCovarianceWithGradients),
            (Three, Three.ForceWithGradients<V512>, Three.ForceWithGradients<V256>, Three.ForceCovarianceWithGradients),
        })
        {
            int nh = kernel.HyperparameterCount;
            var ea = kernel.Describe(a);
            var eb = kernel.Describe(b);
            var largest = new double[nh];
            double largestBlock = 0;
            for (int c = 0; c < ea.AtomCount; c++)
            {
                for (int d = 0; d < eb.AtomCount; d++)
                {
                    var full = new double[LocalKernel.EnvironmentBlockSize];
                    var fullGrad = new double[nh * LocalKernel.EnvironmentBlockSize];
                    kernel.EnvironmentCovariance(ea[c], eb[d], full, fullGrad);
                    double scale = full.Max(Math.Abs), gscale = fullGrad.Max(Math.Abs);
                    foreach (var (width, f) in new[] { ("Vector512", wide), ("Vector256", narrow), ("dispatched", dispatched) })
                    {
                        var block = new double[9];
                        var grad = new double[9 * nh];
                        f(ea[c], eb[d], block, grad);
                        for (int i = 0; i < 9; i++)
                        {
                            int k = (1 + i / 3) * LocalKernel.EnvironmentLabelCount + 1 + i % 3;
                            TestData.AssertClose(full[k], block[i], 1e-11, 1e-13 * scale, $"{name} {kernel.Name} {width} force block ({c},{d})[{i}]");
                            largestBlock = Math.Max(largestBlock, Math.Abs(block[i]));
                            for (int h = 0; h < nh; h++)
                            {
                                double expected = fullGrad[h * LocalKernel.EnvironmentBlockSize + k];
                                TestData.AssertClose(expected, grad[9 * h + i], 1e-11, 1e-13 * gscale, $"{name} {kernel.Name} {width} d force block ({c},{d})[{i}] / d {kernel.HyperparameterNames[h]}");
                                largest[h] = Math.Max(largest[h], Math.Abs(grad[9 * h + i]));
                            }
                        }
                    }
                }
            }

            Assert.True(largestBlock > 0, $"{name} {kernel.Name}: the force blocks must not all be zero");
            // Every hyperparameter whose species occur in the pair must have been exercised.
            Assert.True(largest[0] > 0 && largest[1] > 0, $"{name} {kernel.Name}: the default σ and ℓ derivatives must not all be zero");
        }
    }

    [Fact]
    public void CovarianceOfForceLabelsWithGradientsEqualsTheForcePartOfTheGeneralPath()
    {
        var kernel = new SumKernel(Two, Three);
        var a = TestData.Ternary(71);
        var b = TestData.Ternary(72);
        var ea = kernel.Describe(a);
        var eb = kernel.Describe(b);
        int nh = kernel.HyperparameterCount;
        var rows = LabelSelection.Forces([0, 2, 3]);
        var cols = LabelSelection.Forces(Enumerable.Range(0, b.AtomCount).ToArray());
        int nr = rows.Count, nc = cols.Count;
        var values = new double[nr * nc];
        var grads = new double[nh * nr * nc];
        kernel.Covariance(ea, rows, eb, cols, values, grads);   // the forces-only path

        // The same force labels with an energy label added on each side: the general path.
        var rowsGeneral = new LabelSelection { Energy = true, ForceAtoms = rows.ForceAtoms };
        var colsGeneral = new LabelSelection { Energy = true, ForceAtoms = cols.ForceAtoms };
        int gr = rowsGeneral.Count, gc = colsGeneral.Count;
        var gv = new double[gr * gc];
        var gg = new double[nh * gr * gc];
        kernel.Covariance(ea, rowsGeneral, eb, colsGeneral, gv, gg);
        double scale = gv.Max(Math.Abs), gscale = gg.Max(Math.Abs);
        for (int r = 0; r < nr; r++)
        {
            for (int c = 0; c < nc; c++)
            {
                int general = (1 + r) * gc + 1 + c;
                TestData.AssertClose(gv[general], values[r * nc + c], 1e-11, 1e-13 * scale, $"K[{r},{c}]");
                for (int h = 0; h < nh; h++)
                {
                    TestData.AssertClose(gg[h * gr * gc + general], grads[h * nr * nc + r * nc + c], 1e-11, 1e-13 * gscale, $"dK[{r},{c}]/d{kernel.HyperparameterNames[h]}");
                }
            }
        }

        Assert.Contains(grads, g => g != 0);
    }

    [Fact]
    public void TheBaseVersionForKernelsWithoutADirectPassEqualsTheDirectPass()
    {
        var kernel = new SumKernel(Two, Three);
        var wrapped = new GeneralOnly(kernel);   // inherits LocalKernel's extraction from the general block
        var ea = kernel.Describe(TestData.Binary(81));
        var eb = kernel.Describe(TestData.Ternary(82));
        int nh = kernel.HyperparameterCount;
        for (int c = 0; c < ea.AtomCount; c++)
        {
            for (int d = 0; d < eb.AtomCount; d++)
            {
                var direct = new double[9];
                var directGrad = new double[9 * nh];
                var extracted = new double[9];
                var extractedGrad = new double[9 * nh];
                kernel.ForceCovarianceWithGradients(ea[c], eb[d], direct, directGrad);
                wrapped.ForceCovarianceWithGradients(ea[c], eb[d], extracted, extractedGrad);
                double scale = Math.Max(direct.Max(Math.Abs), 1e-300), gscale = Math.Max(directGrad.Max(Math.Abs), 1e-300);
                for (int i = 0; i < 9; i++)
                {
                    TestData.AssertClose(direct[i], extracted[i], 1e-11, 1e-13 * scale, $"block ({c},{d})[{i}]");
                }

                for (int i = 0; i < 9 * nh; i++)
                {
                    TestData.AssertClose(directGrad[i], extractedGrad[i], 1e-11, 1e-13 * gscale, $"gradient ({c},{d})[{i}]");
                }
            }
        }
    }

    /// <summary>A kernel that only supplies the general block (as a new kernel would), delegating to another.</summary>
    private sealed class GeneralOnly(LocalKernel inner) : LocalKernel
    {
        public override string Name => inner.Name;

        public override IReadOnlyList<string> HyperparameterNames => inner.HyperparameterNames;

        public override IReadOnlyList<double> Hyperparameters => inner.Hyperparameters;

        public override DescriptorSettings Descriptor => inner.Descriptor;

        public override LocalKernel WithHyperparameters(IReadOnlyList<double> values) => new GeneralOnly(inner.WithHyperparameters(values));

        public override void EnvironmentCovariance(AtomEnvironment x, AtomEnvironment y, Span<double> block, Span<double> hyperparameterGradients) =>
            inner.EnvironmentCovariance(x, y, block, hyperparameterGradients);

        internal override void WriteJson(System.Text.Json.Utf8JsonWriter writer) => inner.WriteJson(writer);
    }
}
