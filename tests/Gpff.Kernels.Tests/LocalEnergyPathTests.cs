using Gpff.Descriptors;

namespace Gpff.Kernels.Tests;

/// <summary>
/// The label-versus-local-energy path of the sparse GP (<see cref="LocalKernel.LocalEnergyCovariance"/>):
/// the 10 × 1 column and its σ and ℓ derivatives, at both SIMD widths, must equal column 0 of the general
/// 10 × 10 block and its derivatives (which the finite-difference and FLARE reference tests pin), and
/// <see cref="IKernel.Covariance"/> against local-energy columns, which now takes this path, must equal
/// the local-energy columns of a selection that takes the general one.
/// </summary>
public class LocalEnergyPathTests
{
    private static readonly TwoBodyKernel Two = KernelPathCases.Two;
    private static readonly ThreeBodyKernel Three = KernelPathCases.Three;

    private delegate void ColumnWithGradients(AtomEnvironment x, AtomEnvironment y, Span<double> column, Span<double> gradients);

    public static TheoryData<string> Cases => KernelPathCases.Names;

    private static (Structure A, Structure B) Pair(string name) => KernelPathCases.Pair(name, 91);

    [Theory]
    [MemberData(nameof(Cases))]
    public void LocalEnergyColumnsWithGradientsEqualColumnZeroOfTheGeneralBlock(string name)
    {
        var (a, b) = Pair(name);
        foreach (var (kernel, wide, narrow, dispatched) in new (LocalKernel, ColumnWithGradients, ColumnWithGradients, ColumnWithGradients)[]
        {
            (Two, Two.LocalEnergy<V512>, Two.LocalEnergy<V256>, Two.LocalEnergyCovariance),
            (Three, Three.LocalEnergy<V512>, Three.LocalEnergy<V256>, Three.LocalEnergyCovariance),
        })
        {
            int nh = kernel.HyperparameterCount;
            const int n = LocalKernel.EnvironmentLabelCount;
            var ea = kernel.Describe(a);
            var eb = kernel.Describe(b);
            var largest = new double[nh];
            double largestForce = 0;
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
                        foreach (bool withGradients in new[] { true, false })
                        {
                            var column = new double[n];
                            var grad = withGradients ? new double[n * nh] : [];
                            f(ea[c], eb[d], column, grad);
                            for (int i = 0; i < n; i++)
                            {
                                TestData.AssertClose(full[i * n], column[i], 1e-11, 1e-13 * scale, $"{name} {kernel.Name} {width} column ({c},{d})[{i}]");
                                if (i is >= 1 and <= 3)
                                {
                                    largestForce = Math.Max(largestForce, Math.Abs(column[i]));
                                }

                                for (int h = 0; h < nh && withGradients; h++)
                                {
                                    double expected = fullGrad[h * LocalKernel.EnvironmentBlockSize + i * n];
                                    TestData.AssertClose(expected, grad[n * h + i], 1e-11, 1e-13 * gscale, $"{name} {kernel.Name} {width} d column ({c},{d})[{i}] / d {kernel.HyperparameterNames[h]}");
                                    largest[h] = Math.Max(largest[h], Math.Abs(grad[n * h + i]));
                                }
                            }
                        }
                    }
                }
            }

            Assert.True(largestForce > 0, $"{name} {kernel.Name}: the force–local-energy covariances must not all be zero");
            Assert.True(largest[0] > 0 && largest[1] > 0, $"{name} {kernel.Name}: the default σ and ℓ derivatives must not all be zero");
        }
    }

    [Fact]
    public void CovarianceAgainstLocalEnergiesEqualsTheLocalEnergyColumnsOfTheGeneralPath()
    {
        var kernel = new SumKernel(Two, Three);
        var a = TestData.Ternary(97);
        var b = TestData.Ternary(98);
        var ea = kernel.Describe(a);
        var eb = kernel.Describe(b);
        int nh = kernel.HyperparameterCount;
        var rows = new LabelSelection { Energy = true, ForceAtoms = [0, 2, 3], Stress = true, LocalEnergyAtoms = [1, 3] };
        var cols = LabelSelection.LocalEnergies([2, 0, 4]);
        int nr = rows.Count, nc = cols.Count;
        var values = new double[nr * nc];
        var grads = new double[nh * nr * nc];
        kernel.Covariance(ea, rows, eb, cols, values, grads);   // the local-energy path

        // The same local energies after an energy label and one force: the general path.
        var colsGeneral = new LabelSelection { Energy = true, ForceAtoms = [1], LocalEnergyAtoms = cols.LocalEnergyAtoms };
        int gc = colsGeneral.Count;
        var gv = new double[nr * gc];
        var gg = new double[nh * nr * gc];
        kernel.Covariance(ea, rows, eb, colsGeneral, gv, gg);
        double scale = gv.Max(Math.Abs), gscale = gg.Max(Math.Abs);
        for (int r = 0; r < nr; r++)
        {
            for (int c = 0; c < nc; c++)
            {
                int general = r * gc + colsGeneral.LocalEnergyOffset + c;
                TestData.AssertClose(gv[general], values[r * nc + c], 1e-11, 1e-13 * scale, $"K[{r},{c}]");
                for (int h = 0; h < nh; h++)
                {
                    TestData.AssertClose(gg[h * nr * gc + general], grads[h * nr * nc + r * nc + c], 1e-11, 1e-13 * gscale, $"dK[{r},{c}]/d{kernel.HyperparameterNames[h]}");
                }
            }
        }

        Assert.Contains(values, v => v != 0);
        Assert.Contains(grads, g => g != 0);
    }

    [Fact]
    public void TheBaseVersionForKernelsWithoutADirectPassEqualsTheDirectPass()
    {
        var kernel = new SumKernel(Two, Three);
        var wrapped = new GeneralOnly(kernel);   // inherits LocalKernel's extraction from the general block
        var ea = kernel.Describe(TestData.Binary(99));
        var eb = kernel.Describe(TestData.Ternary(100));
        int nh = kernel.HyperparameterCount;
        const int n = LocalKernel.EnvironmentLabelCount;
        for (int c = 0; c < ea.AtomCount; c++)
        {
            for (int d = 0; d < eb.AtomCount; d++)
            {
                var direct = new double[n];
                var directGrad = new double[n * nh];
                var extracted = new double[n];
                var extractedGrad = new double[n * nh];
                kernel.LocalEnergyCovariance(ea[c], eb[d], direct, directGrad);
                wrapped.LocalEnergyCovariance(ea[c], eb[d], extracted, extractedGrad);
                double scale = Math.Max(direct.Max(Math.Abs), 1e-300), gscale = Math.Max(directGrad.Max(Math.Abs), 1e-300);
                for (int i = 0; i < n; i++)
                {
                    TestData.AssertClose(direct[i], extracted[i], 1e-11, 1e-13 * scale, $"column ({c},{d})[{i}]");
                }

                for (int i = 0; i < n * nh; i++)
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
