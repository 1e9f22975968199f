using Gpff.Descriptors;

namespace Gpff.Kernels.Tests;

/// <summary>
/// The block-cache scope: inside it the B2 kernel computes each σ-independent block once and rescales it,
/// with the same blocks as outside, within the scope's budget, released when the scope ends.
/// </summary>
public class KernelBlockCacheTests
{
    private static readonly B2Settings Settings = new([8, 45, 56], 4, 3, 3.6);

    private static double[] Block(IKernel k, StructureEnvironments a, LabelSelection ra, StructureEnvironments b, LabelSelection rb, bool gradient = false)
    {
        var v = new double[ra.Count * rb.Count];
        var g = gradient ? new double[k.Hyperparameters.Count * v.Length] : [];
        k.Covariance(a, ra, b, rb, v, g);
        return gradient ? [.. v, .. g] : v;
    }

    [Fact]
    public void InsideAScopeBlocksEqualTheDirectOnesForEverySigmaAndAreComputedOnce()
    {
        var first = new B2Kernel(Settings, 1.3);
        var a = first.Describe(TestData.Ternary(51));
        var b = first.Describe(TestData.SmallCell(52));
        var ra = TestData.Everything(a.AtomCount);
        var rb = TestData.Everything(b.AtomCount);
        var sigmas = new[] { 1.3, 0.4, 2.7 };
        var direct = sigmas.Select(s => Block(new B2Kernel(Settings, s), a, ra, b, rb, gradient: true)).ToArray();
        Assert.Null(KernelBlockCache.Current);
        using (var scope = KernelBlockCache.Begin())
        {
            Assert.Same(scope, KernelBlockCache.Current);
            for (int i = 0; i < sigmas.Length; i++)
            {
                var k = first.WithHyperparameters([sigmas[i]]);
                var cached = Block(k, a, ra, b, rb, gradient: true);
                double scale = direct[i].Max(Math.Abs);
                Assert.True(scale > 0);
                for (int j = 0; j < cached.Length; j++)
                {
                    Assert.True(Math.Abs(cached[j] - direct[i][j]) <= 1e-14 * scale, $"σ {sigmas[i]}: entry {j} {cached[j]} in the scope, {direct[i][j]} without");
                }

                // One block for the pair, whatever σ: computed at the first σ, reused for the others.
                Assert.Equal(1, scope.BlockCount);
            }

            // Another selection of the same structures is another block.
            Block(first, a, LabelSelection.TotalEnergy, b, rb);
            Assert.Equal(2, scope.BlockCount);
            Assert.Equal(8L * (ra.Count + 1) * rb.Count + 2 * 64, scope.HeldBytes);

            // A kernel with other fixed settings (power) never takes this kernel's blocks.
            var other = Block(new B2Kernel(Settings, 1.3, power: 3), a, ra, b, rb);
            Assert.Equal(3, scope.BlockCount);
            Assert.NotEqual(direct[0][0], other[0]);
        }

        Assert.Null(KernelBlockCache.Current);
    }

    [Fact]
    public void ABudgetTooSmallForABlockHoldsNothingAndChangesNothing()
    {
        var k = new B2Kernel(Settings, 0.9);
        var a = k.Describe(TestData.Ternary(61));
        var ra = TestData.Everything(a.AtomCount);
        var direct = Block(k, a, ra, a, ra);
        using var scope = KernelBlockCache.Begin(budgetBytes: 100);
        var cached = Block(k, a, ra, a, ra);
        Assert.Equal(0, scope.BlockCount);
        Assert.Equal(0, scope.HeldBytes);
        double scale = direct.Max(Math.Abs);
        Assert.All(direct.Zip(cached), p => Assert.True(Math.Abs(p.First - p.Second) <= 1e-14 * scale, $"{p.First} without a scope, {p.Second} in it"));
    }

    [Fact]
    public void DisposingTheScopeReleasesItsBlocksAndAJoinedHandleLeavesTheOuterScopeOpen()
    {
        var k = new B2Kernel(Settings, 0.9);
        var a = k.Describe(TestData.SmallCell(71));
        var ra = TestData.Everything(a.AtomCount);
        var outer = KernelBlockCache.Begin();
        var inner = KernelBlockCache.Begin(budgetBytes: 0);
        Block(k, a, ra, a, ra);
        Assert.Equal(1, outer.BlockCount);   // the inner handle joined the outer scope (its budget is the outer's)
        inner.Dispose();
        Assert.Same(outer, KernelBlockCache.Current);
        Assert.Equal(1, outer.BlockCount);
        outer.Dispose();
        Assert.Null(KernelBlockCache.Current);
        Assert.Equal(0, outer.BlockCount);
        Assert.Equal(0, outer.HeldBytes);
    }

    [Fact]
    public void TheScopeFlowsIntoParallelWork()
    {
        var k = new B2Kernel(Settings, 0.9);
        var envs = Enumerable.Range(0, 6).Select(i => k.Describe(TestData.SmallCell(80 + i))).ToArray();
        var sel = envs.Select(e => TestData.Everything(e.AtomCount)).ToArray();
        using var scope = KernelBlockCache.Begin();
        Parallel.For(0, envs.Length, new ParallelOptions { MaxDegreeOfParallelism = 3 }, i => Block(k, envs[i], sel[i], envs[0], sel[0]));
        Assert.Equal(envs.Length, scope.BlockCount);
    }

    [Fact]
    public void ANegativeBudgetIsRefusedWithoutOpeningAScope()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => KernelBlockCache.Begin(-1));
        Assert.Contains("zero or more bytes", e.Message);
        Assert.Null(KernelBlockCache.Current);
    }
}
