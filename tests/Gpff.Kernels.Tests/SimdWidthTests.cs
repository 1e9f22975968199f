using Gpff.Descriptors;

namespace Gpff.Kernels.Tests;

/// <summary>
/// The kernels pick Vector512 or Vector256 at start-up (<see cref="SimdSupport.Use512"/>), so the rest of
/// the suite runs only one width on a given machine. These tests run both widths explicitly on every
/// environment pair (Vector512 is emulated, and still exact, where the hardware lacks it) and require
/// the same blocks and hyperparameter derivatives to round-off, so the width the suite did not
/// exercise is held to the one it checked against the reference and finite differences.
/// </summary>
public class SimdWidthTests
{
    public static TheoryData<string> Cases => new() { "ternary-ternary", "smallcell-binary", "binary-ternary" };

    private static (Structure A, Structure B) Pair(string name) => name switch
    {
        "ternary-ternary" => (TestData.Ternary(51), TestData.Ternary(52)),
        "smallcell-binary" => (TestData.SmallCell(53), TestData.Binary(54)),
        _ => (TestData.Binary(55), TestData.Ternary(56)),
    };

    private static readonly TwoBodyKernel Two = new(3.6, 0.9, 0.7, groups: [new SpeciesGroup(["Rh-O"], 1.1, 0.6)]);
    private static readonly ThreeBodyKernel Three = new(3.1, 0.6, 0.8, groups: [new SpeciesGroup(["Rh-Rh-O", "O-Ba-O"], 0.4, 0.9)]);

    [Theory]
    [MemberData(nameof(Cases))]
    public void GeneralBlocksAndGradientsAgreeAcrossWidths(string name)
    {
        var (a, b) = Pair(name);
        var two = Check(a, b, Two.HyperparameterCount, Two.General<V512>, Two.General<V256>, Two.EnvironmentCovariance, $"{name} 2-body");
        var three = Check(a, b, Three.HyperparameterCount, Three.General<V512>, Three.General<V256>, Three.EnvironmentCovariance, $"{name} 3-body");
        Assert.True(two > 0, "the 2-body blocks must be non-zero");
        Assert.True(three > 0, "the 3-body blocks must be non-zero");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ForceBlocksAgreeAcrossWidthsAndWithTheGeneralBlock(string name)
    {
        var (a, b) = Pair(name);
        foreach (var (kernel, wide, narrow) in new (LocalKernel, ForceBlock, ForceBlock)[]
        {
            (Two, Two.Force<V512>, Two.Force<V256>),
            (Three, Three.Force<V512>, Three.Force<V256>),
        })
        {
            var ea = kernel.Describe(a);
            var eb = kernel.Describe(b);
            for (int c = 0; c < ea.AtomCount; c++)
            {
                for (int d = 0; d < eb.AtomCount; d++)
                {
                    var w = new double[9];
                    var n = new double[9];
                    var full = new double[LocalKernel.EnvironmentBlockSize];
                    wide(ea[c], eb[d], w);
                    narrow(ea[c], eb[d], n);
                    kernel.EnvironmentCovariance(ea[c], eb[d], full, []);
                    for (int i = 0; i < 9; i++)
                    {
                        double g = full[(1 + i / 3) * LocalKernel.EnvironmentLabelCount + 1 + i % 3];
                        TestData.AssertClose(g, w[i], 1e-11, 1e-13, $"{name} {kernel.Name} Vector512 force block ({c},{d})[{i}]");
                        TestData.AssertClose(g, n[i], 1e-11, 1e-13, $"{name} {kernel.Name} Vector256 force block ({c},{d})[{i}]");
                    }
                }
            }
        }
    }

    private delegate void GeneralBlock(AtomEnvironment x, AtomEnvironment y, Span<double> block, Span<double> gradients);

    private delegate void ForceBlock(AtomEnvironment x, AtomEnvironment y, Span<double> block);

    /// <summary>Compares both widths (and the dispatching public method) on every environment pair; returns the largest |entry|.</summary>
    private static double Check(Structure a, Structure b, int nh, GeneralBlock wide, GeneralBlock narrow, GeneralBlock dispatched, string what)
    {
        var settings = new DescriptorSettings(3.6, 3.1, CutoffFunction.Quadratic);
        var ea = StructureEnvironments.Build(a, settings);
        var eb = StructureEnvironments.Build(b, settings);
        const int size = LocalKernel.EnvironmentBlockSize;
        double largest = 0;
        for (int c = 0; c < ea.AtomCount; c++)
        {
            for (int d = 0; d < eb.AtomCount; d++)
            {
                var bw = new double[size];
                var bn = new double[size];
                var bd = new double[size];
                var gw = new double[nh * size];
                var gn = new double[nh * size];
                var plain = new double[size];
                wide(ea[c], eb[d], bw, gw);
                narrow(ea[c], eb[d], bn, gn);
                dispatched(ea[c], eb[d], bd, []);
                narrow(ea[c], eb[d], plain, []);
                double scale = bw.Max(Math.Abs);
                largest = Math.Max(largest, scale);
                for (int i = 0; i < size; i++)
                {
                    TestData.AssertClose(bw[i], bn[i], 1e-11, 1e-13 * scale, $"{what} block ({c},{d})[{i}], Vector256 vs Vector512");
                    TestData.AssertClose(bw[i], bd[i], 1e-11, 1e-13 * scale, $"{what} block ({c},{d})[{i}], dispatched vs Vector512");
                    TestData.AssertClose(bn[i], plain[i], 1e-12, 1e-14 * scale, $"{what} block ({c},{d})[{i}] with vs without gradients");
                }

                double gscale = gw.Max(Math.Abs);
                for (int i = 0; i < nh * size; i++)
                {
                    TestData.AssertClose(gw[i], gn[i], 1e-11, 1e-13 * gscale, $"{what} d block ({c},{d})[{i % size}] / d h{i / size}, Vector256 vs Vector512");
                }
            }
        }

        return largest;
    }
}
