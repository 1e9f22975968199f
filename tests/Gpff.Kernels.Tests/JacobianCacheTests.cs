using System.Runtime.CompilerServices;
using Gpff.Descriptors;

namespace Gpff.Kernels.Tests;

/// <summary>
/// The cache of σ-independent per-structure data (the B2 label Jacobians): built once per (structure,
/// selection), bounded by its budget, released with the structures, and invisible in the results.
/// </summary>
public class JacobianCacheTests
{
    private static readonly B2Settings Settings = new([8, 45, 56], 4, 3, 3.6);

    [Fact]
    public void EachStructureAndSelectionIsBuiltOnceEvenUnderConcurrentRequests()
    {
        var cache = new JacobianCache<double[]>(v => 8L * v.Length);
        var envs = Enumerable.Range(0, 12).Select(i => Describe(TestData.SmallCell(100 + i))).ToArray();
        var sel = TestData.Everything(envs[0].AtomCount);
        var builds = new int[envs.Length];
        Parallel.For(0, 400, new ParallelOptions { MaxDegreeOfParallelism = 4 }, k =>
        {
            int i = k % envs.Length;
            var v = cache.Get(envs[i], sel, () =>
            {
                Interlocked.Increment(ref builds[i]);
                return new double[100 + i];
            });
            Assert.Equal(100 + i, v.Length);
        });

        Assert.All(builds, b => Assert.Equal(1, b));
        Assert.Equal(envs.Length, cache.KeptCount);
        Assert.Equal(8L * Enumerable.Range(0, envs.Length).Sum(i => 100 + i), cache.KeptBytes);
    }

    [Fact]
    public void SelectionsAreMatchedByReference()
    {
        var cache = new JacobianCache<object>(_ => 8);
        var env = Describe(TestData.SmallCell(7));
        var a = TestData.Everything(env.AtomCount);
        var b = TestData.Everything(env.AtomCount);
        var va = cache.Get(env, a, () => new object());
        var vb = cache.Get(env, b, () => new object());
        Assert.NotSame(va, vb);
        Assert.Same(va, cache.Get(env, a, () => throw new InvalidOperationException("a was cached")));
    }

    [Fact]
    public void TheKeptTierStaysWithinItsBudgetAndTheRestIsRebuiltWhenEvicted()
    {
        const long entryBytes = 1000;
        var cache = new JacobianCache<object>(_ => entryBytes, budgetBytes: 5 * entryBytes);
        var envs = Enumerable.Range(0, 3 * JacobianCache<object>.RecentCapacity + 10).Select(i => Describe(TestData.SmallCell(200 + i))).ToArray();
        var sel = TestData.Everything(envs[0].AtomCount);
        int builds = 0;
        for (int pass = 0; pass < 2; pass++)
        {
            foreach (var e in envs)
            {
                cache.Get(e, sel, () =>
                {
                    builds++;
                    return new object();
                });
            }
        }

        Assert.Equal(5, cache.KeptCount);
        Assert.Equal(5 * entryBytes, cache.KeptBytes);
        // The first five stay for the second pass (kept tier); every other one is built twice.
        Assert.Equal(envs.Length + (envs.Length - 5), builds);

        var recentOnly = new JacobianCache<object>(_ => entryBytes, budgetBytes: 0);
        recentOnly.Get(envs[0], sel, () => new object());
        Assert.Equal(0, recentOnly.KeptCount);
    }

    [Fact]
    public void EntriesGoWithTheirStructures()
    {
        var cache = new JacobianCache<double[]>(v => 8L * v.Length);
        var sel = LabelSelection.TotalEnergy;
        var weak = Fill(cache, sel, 2 * JacobianCache<double[]>.RecentCapacity + 6);
        for (int i = 0; i < 5 && weak.Any(w => w.TryGetTarget(out _)); i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        // Only structures that were collected can be released; the cache itself must not keep them alive.
        Assert.All(weak, w => Assert.False(w.TryGetTarget(out _), "a structure was kept alive by the cache"));
        cache.Get(Describe(TestData.SmallCell(999)), sel, () => new double[1]);
        Assert.Equal(1, cache.KeptCount);
        Assert.Equal(8, cache.KeptBytes);   // the dead entries were dropped before the new one was kept
    }

    [Fact]
    public void KernelsWithOtherHyperparametersGiveTheSameBlocksThroughTheSharedCache()
    {
        var a = TestData.Ternary(41);
        var b = TestData.SmallCell(42);
        var first = new B2Kernel(Settings, 1.3);
        var everythingA = TestData.Everything(a.AtomCount);
        var everythingB = TestData.Everything(b.AtomCount);
        var ea = first.Describe(a);
        var eb = first.Describe(b);
        int size = everythingA.Count * everythingB.Count;
        var warm = new double[size];
        first.Covariance(ea, everythingA, eb, everythingB, warm, []);

        var second = (B2Kernel)first.WithHyperparameters([0.7]);
        var shared = new double[size];
        second.Covariance(ea, everythingA, eb, everythingB, shared, []);
        var cold = new double[size];
        new B2Kernel(Settings, 0.7).Covariance(ea, everythingA, eb, everythingB, cold, []);

        double ratio = 0.7 * 0.7 / (1.3 * 1.3);
        for (int i = 0; i < size; i++)
        {
            Assert.Equal(cold[i], shared[i]);
            Assert.Equal(warm[i] * ratio, shared[i], 1e-12 * (Math.Abs(shared[i]) + 1e-12));
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference<StructureEnvironments>[] Fill(JacobianCache<double[]> cache, LabelSelection sel, int count)
    {
        // The structures stay alive until every entry is in and counted: a collection during the filling (other
        // tests allocate in parallel) would otherwise let the cache drop the earlier, already unreferenced ones.
        var alive = new StructureEnvironments[count];
        var weak = new WeakReference<StructureEnvironments>[count];
        for (int i = 0; i < count; i++)
        {
            var env = alive[i] = Describe(TestData.SmallCell(300 + i));
            cache.Get(env, sel, () => new double[env.AtomCount]);   // the factory captures the structure
            weak[i] = new WeakReference<StructureEnvironments>(env);
        }

        Assert.Equal(count, cache.KeptCount);
        GC.KeepAlive(alive);
        return weak;
    }

    private static StructureEnvironments Describe(Structure s) => new B2Kernel(Settings, 1).Describe(s);
}
