using Gpff.Descriptors;

namespace Gpff.Kernels.Tests;

/// <summary>
/// The kernels and structure pairs on which a specialised kernel path (forces-only with gradients, label vs local
/// energy) is compared with the general 10 × 10 block: grouped 2- and 3-body kernels, and pairs of a ternary with a
/// ternary, a cell smaller than the cutoff with a binary, a binary with a ternary.
/// </summary>
internal static class KernelPathCases
{
    /// <summary>A 2-body kernel with one species group.</summary>
    public static readonly TwoBodyKernel Two = new(3.6, 0.9, 0.7, groups: [new SpeciesGroup(["Rh-O"], 1.1, 0.6)]);

    /// <summary>A 3-body kernel with one species group.</summary>
    public static readonly ThreeBodyKernel Three = new(3.1, 0.6, 0.8, groups: [new SpeciesGroup(["Rh-Rh-O", "O-Ba-O"], 0.4, 0.9)]);

    /// <summary>The names of the structure pairs.</summary>
    public static TheoryData<string> Names => new() { "ternary-ternary", "smallcell-binary", "binary-ternary" };

    /// <summary>The structure pair of a name, random structures seeded from <paramref name="firstSeed"/> on.</summary>
    public static (Structure A, Structure B) Pair(string name, int firstSeed) => name switch
    {
        "ternary-ternary" => (TestData.Ternary(firstSeed), TestData.Ternary(firstSeed + 1)),
        "smallcell-binary" => (TestData.SmallCell(firstSeed + 2), TestData.Binary(firstSeed + 3)),
        _ => (TestData.Binary(firstSeed + 4), TestData.Ternary(firstSeed + 5)),
    };
}
