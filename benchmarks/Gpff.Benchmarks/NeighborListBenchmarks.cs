using BenchmarkDotNet.Attributes;
using Gpff.Geometry;

namespace Gpff.Benchmarks;

/// <summary>
/// Neighbour-list build for liquid-like random boxes at the atom density of an oxide
/// (0.08 atoms/Å³, about that of BaRhO3), cutoff 5 Å (≈ 42 neighbours per atom). The time per
/// atom should stay roughly constant from 1k to 100k atoms (linked cells).
/// </summary>
[MemoryDiagnoser]
public class NeighborListBenchmarks
{
    private Vec3[] _positions = [];
    private Mat3 _cell;

    /// <summary>Number of atoms.</summary>
    [ParamsSource(nameof(Sizes))]
    public int Atoms { get; set; }

    /// <summary>1k, 10k and 100k atoms (1k in the CI run).</summary>
    public static IEnumerable<int> Sizes() => BenchmarkSizes.Pick([1_000, 10_000, 100_000], [1_000]);

    /// <summary>Builds the random box.</summary>
    [GlobalSetup]
    public void Setup()
    {
        const double density = 0.08;
        double l = Math.Cbrt(Atoms / density);
        _cell = Mat3.Diagonal(l, l, l);
        var rng = new Random(42);
        _positions = Enumerable.Range(0, Atoms).Select(_ => new Vec3(l * rng.NextDouble(), l * rng.NextDouble(), l * rng.NextDouble())).ToArray();
    }

    /// <summary>Full list (each pair twice).</summary>
    [Benchmark]
    public int Full() => NeighborList.Build(_positions, _cell, Pbc.All, 5.0, NeighborListKind.Full).EntryCount;

    /// <summary>Half list (each pair once).</summary>
    [Benchmark]
    public int Half() => NeighborList.Build(_positions, _cell, Pbc.All, 5.0, NeighborListKind.Half).EntryCount;
}
