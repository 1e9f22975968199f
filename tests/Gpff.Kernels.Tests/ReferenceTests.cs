using Gpff.Descriptors;

namespace Gpff.Kernels.Tests;

public class ReferenceTests
{
    public static TheoryData<string, CutoffFunction> Cases => new()
    {
        { "ternary-binary", CutoffFunction.Quadratic },
        { "smallcell-binary", CutoffFunction.Quadratic },
        { "smallcell-ternary", CutoffFunction.Cosine },
    };

    private static (Structure A, Structure B) Pair(string name) => name switch
    {
        "ternary-binary" => (TestData.Ternary(11), TestData.Binary(12)),
        "smallcell-binary" => (TestData.SmallCell(13), TestData.Binary(14)),
        _ => (TestData.SmallCell(15), TestData.Ternary(16)),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void AllBlocksMatchTheSlowReference(string name, CutoffFunction fn)
    {
        var (a, b) = Pair(name);
        double rc2 = 3.6, rc3 = 3.1;
        var kernel = new SumKernel(new TwoBodyKernel(rc2, 0.9, 0.7, fn), new ThreeBodyKernel(rc3, 0.6, 0.8, fn));
        var reference = new ReferenceKernel(rc2, rc3, 0.9, 0.7, 0.6, 0.8, fn).Matrix(a, b);
        var ra = TestData.Everything(a.AtomCount);
        var rb = TestData.Everything(b.AtomCount);
        var fast = TestData.Block(kernel, a, ra, b, rb);
        Assert.Equal(reference.GetLength(0), ra.Count);
        Assert.Equal(reference.GetLength(1), rb.Count);
        double scale = 0;
        for (int i = 0; i < ra.Count; i++)
        {
            for (int j = 0; j < rb.Count; j++)
            {
                scale = Math.Max(scale, Math.Abs(reference[i, j]));
            }
        }

        Assert.True(scale > 1e-3, "the test structures must interact");
        int nonzero = 0;
        for (int i = 0; i < ra.Count; i++)
        {
            for (int j = 0; j < rb.Count; j++)
            {
                TestData.AssertClose(reference[i, j], fast[i * rb.Count + j], 1e-9, 1e-12 * scale, $"{name} K[{i},{j}]");
                nonzero += Math.Abs(reference[i, j]) > 1e-8 * scale ? 1 : 0;
            }
        }

        Assert.True(nonzero > ra.Count * rb.Count / 2, "most entries are non-zero");
    }

    [Fact]
    public void FastForcePathMatchesGeneralPath()
    {
        var a = TestData.Ternary(21);
        var b = TestData.Ternary(22);
        var kernel = TestData.TwoPlusThree(4.5, 3.5);
        var ea = kernel.Describe(a);
        var eb = kernel.Describe(b);
        Span<double> f = stackalloc double[9];
        Span<double> full = stackalloc double[100];
        for (int i = 0; i < a.AtomCount; i++)
        {
            for (int m = 0; m < b.AtomCount; m++)
            {
                f.Clear();
                full.Clear();
                kernel.ForceCovariance(ea[i], eb[m], f);
                kernel.EnvironmentCovariance(ea[i], eb[m], full, []);
                for (int x = 0; x < 3; x++)
                {
                    for (int y = 0; y < 3; y++)
                    {
                        TestData.AssertClose(full[(1 + x) * 10 + 1 + y], f[3 * x + y], 1e-11, 1e-13, $"F[{i},{m}] ({x},{y})");
                    }
                }
            }
        }
    }

    [Fact]
    public void AnySingleSpeciesTripletUsesAllSixPermutations()
    {
        // An equilateral triangle of one species against itself: all 6 bijections match and the
        // 3-body local-energy kernel per (t, t') pair is 6 σ² f² /9.
        var cell = Gpff.Geometry.Mat3.Diagonal(30, 30, 30);
        var pos = new[] { new Gpff.Geometry.Vec3(1, 1, 1), new Gpff.Geometry.Vec3(3, 1, 1), new Gpff.Geometry.Vec3(2, 1 + Math.Sqrt(3), 1) };
        var s = new Structure([8, 8, 8], pos, cell, Gpff.Geometry.Pbc.None);
        var k3 = new ThreeBodyKernel(3.0, 1.0, 1.0);
        var env = k3.Describe(s);
        var v = new double[1];
        k3.Covariance(env, LabelSelection.LocalEnergies(0), env, LabelSelection.LocalEnergies(0), v, []);
        double f = Math.Pow(Math.Pow(3.0 - 2.0, 2), 3);
        TestData.AssertClose(6 * f * f / 9, v[0], 1e-12, 0, "local energy kernel");
    }
}
