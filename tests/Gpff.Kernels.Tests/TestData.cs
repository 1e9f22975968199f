using Gpff.Descriptors;
using Gpff.Geometry;

namespace Gpff.Kernels.Tests;

/// <summary>Small random periodic structures for kernel tests.</summary>
internal static class TestData
{
    /// <summary>Random atoms in a (slightly triclinic) cell, no two closer than minDistance (images included).</summary>
    public static Structure Random(int seed, int[] species, Mat3 cell, double minDistance = 1.4)
    {
        var rng = new Random(seed);
        for (int attempt = 0; attempt < 10_000; attempt++)
        {
            var pos = new Vec3[species.Length];
            for (int i = 0; i < pos.Length; i++)
            {
                pos[i] = new Vec3(rng.NextDouble(), rng.NextDouble(), rng.NextDouble()) * cell;
            }

            var s = new Structure(species, pos, cell, Pbc.All);
            var nl = NeighborList.Build(s, minDistance);
            if (nl.EntryCount == 0)
            {
                return s;
            }
        }

        throw new InvalidOperationException("Could not place atoms.");
    }

    /// <summary>Three species, five atoms, triclinic 4.3 Å cell.</summary>
    public static Structure Ternary(int seed = 1) =>
        Random(seed, [56, 45, 8, 8, 8], new Mat3(4.3, 0, 0, 0.3, 4.1, 0, -0.2, 0.4, 4.4));

    /// <summary>Two species, two atoms in a 2.9 Å cell: atoms see their own images.</summary>
    public static Structure SmallCell(int seed = 2) =>
        Random(seed, [45, 8], new Mat3(2.9, 0, 0, 0.1, 3.0, 0, 0.0, 0.2, 3.1), 1.3);

    /// <summary>Two species, four atoms.</summary>
    public static Structure Binary(int seed = 3) =>
        Random(seed, [45, 8, 8, 45], new Mat3(3.9, 0, 0, 0, 3.7, 0, 0.3, 0, 4.0));

    public static SumKernel TwoPlusThree(double rc2 = 3.6, double rc3 = 3.1, CutoffFunction fn = CutoffFunction.Quadratic) =>
        new(new TwoBodyKernel(rc2, 0.9, 0.7, fn), new ThreeBodyKernel(rc3, 0.6, 0.8, fn));

    public static LabelSelection Everything(int atoms) => new()
    {
        Energy = true,
        ForceAtoms = Enumerable.Range(0, atoms).ToArray(),
        Stress = true,
        LocalEnergyAtoms = Enumerable.Range(0, atoms).ToArray(),
    };

    public static double[] Block(IKernel k, Structure a, LabelSelection ra, Structure b, LabelSelection rb)
    {
        var v = new double[ra.Count * rb.Count];
        k.Covariance(k.Describe(a), ra, k.Describe(b), rb, v, []);
        return v;
    }

    public static double EnergyKernel(IKernel k, Structure a, Structure b) =>
        Block(k, a, LabelSelection.TotalEnergy, b, LabelSelection.TotalEnergy)[0];

    public static Structure Moved(Structure s, int atom, int axis, double h)
    {
        var c = s.CloneWithoutLabels();
        var p = c.Positions[atom];
        c.Positions[atom] = axis switch
        {
            0 => p with { X = p.X + h },
            1 => p with { Y = p.Y + h },
            _ => p with { Z = p.Z + h },
        };
        return c;
    }

    /// <summary>Deformation F = I + h E_ab applied to cell and positions.</summary>
    public static Structure Deformed(Structure s, int voigt, double h)
    {
        var (a, b) = Voigt.IndexPairs[voigt];
        var m = new double[9];
        m[0] = m[4] = m[8] = 1;
        m[3 * a + b] += h;
        return s.Deformed(Mat3.FromRowMajor(m));
    }

    public static void AssertClose(double expected, double actual, double rel, double abs, string what)
    {
        double err = Math.Abs(expected - actual);
        if (err > abs + rel * Math.Abs(expected))
        {
            Assert.Fail($"{what}: expected {expected:R}, got {actual:R} (difference {err:E3}).");
        }
    }
}
