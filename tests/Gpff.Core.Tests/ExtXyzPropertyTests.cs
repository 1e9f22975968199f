using CsCheck;
using Gpff.Geometry;
using Gpff.IO;

namespace Gpff.Core.Tests;

public class ExtXyzPropertyTests
{
    private static readonly string[] Symbols = ["H", "O", "Ba", "Rh", "Cu", "Bi"];

    private static readonly Gen<double> AnyFinite = Gen.Double.Where(double.IsFinite);

    private static readonly Gen<Structure> Structures =
        from n in Gen.Int[0, 12]
        from species in Gen.Int[0, Symbols.Length - 1].Array[n]
        from coords in AnyFinite.Array[3 * n]
        from cell in AnyFinite.Array[9]
        from pbc in Gen.Bool.Array[3]
        from hasEnergy in Gen.Bool
        from energy in AnyFinite
        from hasForces in Gen.Bool
        from forces in AnyFinite.Array[3 * n]
        from stress in Gen.Double[-10, 10].Array[6]
        from tags in Gen.Long.Array[n]
        from note in Gen.String[Gen.Char["abc XYZ=\"\\'_-.,[]{}"], 1, 20]
        from weight in AnyFinite
        select Build(n, species, coords, cell, pbc, hasEnergy ? energy : null, hasForces ? forces : null, stress, tags, note, weight);

    private static Structure Build(int n, int[] species, double[] c, double[] cell, bool[] pbc, double? energy, double[]? f, double[] stress, long[] tags, string note, double weight)
    {
        var s = new Structure(species.Select(i => Symbols[i]), Enumerable.Range(0, n).Select(i => new Vec3(c[3 * i], c[3 * i + 1], c[3 * i + 2])).ToArray(),
            Mat3.FromRowMajor(cell), new Pbc(pbc[0], pbc[1], pbc[2]))
        {
            EnergyEv = energy,
            ForcesEvPerA = f is null ? null : Enumerable.Range(0, n).Select(i => new Vec3(f[3 * i], f[3 * i + 1], f[3 * i + 2])).ToArray(),
            StressEvPerA3 = Voigt.FromSpan(stress),
        };
        s.Info["note"] = note;
        s.Info["weight"] = weight;
        s.AtomProperties["tags"] = AtomProperty.FromIntegers("tags", 1, tags);
        return s;
    }

    [Fact]
    public void AnyStructureRoundTripsExactly()
    {
        Structures.Sample(s =>
        {
            var back = ExtXyz.Parse(ExtXyz.ToText(s) + ExtXyz.ToText(s));
            Assert.Equal(2, back.Count);
            ExtXyzTests.AssertSame(s, back[1]);
        }, iter: 300);
    }
}
