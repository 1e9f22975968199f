using Gpff.Geometry;

namespace Gpff.Dynamics.Tests;

internal static class TestStructures
{
    private static readonly Vec3[] DiamondFractional =
    [
        new(0, 0, 0), new(0, 0.5, 0.5), new(0.5, 0, 0.5), new(0.5, 0.5, 0),
        new(0.25, 0.25, 0.25), new(0.25, 0.75, 0.75), new(0.75, 0.25, 0.75), new(0.75, 0.75, 0.25),
    ];

    /// <summary>The 8-atom conventional diamond cell.</summary>
    public static Structure Diamond(double latticeA, int z = 14)
    {
        var cell = Mat3.Diagonal(latticeA, latticeA, latticeA);
        return new Structure(Enumerable.Repeat(z, 8), DiamondFractional.Select(f => f * cell).ToArray(), cell, Pbc.All);
    }

    /// <summary>
    /// A rattled binary Si/Ge diamond supercell in a slightly sheared (triclinic) cell: a generic
    /// configuration with no symmetry, every atom with neighbours of both species.
    /// </summary>
    public static Structure RattledBinary(int seed, double rattleA = 0.15, int na = 1, int nb = 1, int nc = 1)
    {
        var rng = new Random(seed);
        var s = Diamond(5.55).Repeat(na, nb, nc);
        var shear = new Mat3(1, 0.03, -0.02, 0.01, 1, 0.04, -0.03, 0.02, 1);
        s = s.Deformed(shear);
        var z = Enumerable.Range(0, s.AtomCount).Select(i => i % 2 == 0 ? 14 : (rng.NextDouble() < 0.5 ? 14 : 32)).ToArray();
        var pos = s.Positions.Select(p => p + rattleA * new Vec3(rng.NextDouble() - 0.5, rng.NextDouble() - 0.5, rng.NextDouble() - 0.5) * 2).ToArray();
        return new Structure(z, pos, s.Cell, Pbc.All);
    }

    /// <summary>A random rotation matrix (acting on column vectors).</summary>
    public static Mat3 RandomRotation(int seed)
    {
        var rng = new Random(seed);
        // Random unit quaternion.
        double u1 = rng.NextDouble(), u2 = rng.NextDouble(), u3 = rng.NextDouble();
        double a = Math.Sqrt(1 - u1) * Math.Sin(2 * Math.PI * u2), b = Math.Sqrt(1 - u1) * Math.Cos(2 * Math.PI * u2);
        double c = Math.Sqrt(u1) * Math.Sin(2 * Math.PI * u3), w = Math.Sqrt(u1) * Math.Cos(2 * Math.PI * u3);
        return new Mat3(
            1 - 2 * (b * b + c * c), 2 * (a * b - c * w), 2 * (a * c + b * w),
            2 * (a * b + c * w), 1 - 2 * (a * a + c * c), 2 * (b * c - a * w),
            2 * (a * c - b * w), 2 * (b * c + a * w), 1 - 2 * (a * a + b * b));
    }
}
