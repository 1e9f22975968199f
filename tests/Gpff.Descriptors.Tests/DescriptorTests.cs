using Gpff.Descriptors;
using Gpff.Geometry;

namespace Gpff.Descriptors.Tests;

public class DescriptorTests
{
    [Theory]
    [InlineData(CutoffFunction.Quadratic)]
    [InlineData(CutoffFunction.Cosine)]
    public void CutoffDerivativeMatchesFiniteDifferenceAndVanishesAtTheCutoff(CutoffFunction fn)
    {
        const double rc = 4.0, h = 1e-6;
        for (double r = 0.5; r < rc - 1e-3; r += 0.37)
        {
            double f = Cutoffs.Evaluate(fn, rc, r, out double d);
            Assert.True(f > 0);
            double fd = (Cutoffs.Evaluate(fn, rc, r + h, out _) - Cutoffs.Evaluate(fn, rc, r - h, out _)) / (2 * h);
            Assert.True(Math.Abs(fd - d) < 1e-7 * Math.Max(1, Math.Abs(d)), $"{fn} r={r}: {fd} vs {d}");
        }

        Assert.Equal(0, Cutoffs.Evaluate(fn, rc, rc, out double d0));
        Assert.Equal(0, d0);
        Assert.Equal(0, Cutoffs.Evaluate(fn, rc, rc + 1, out _));
        Assert.True(Cutoffs.Evaluate(fn, rc, rc - 1e-4, out double dn) < 1e-6 && Math.Abs(dn) < 1e-3);
    }

    [Theory]
    [InlineData(4.0)]
    [InlineData(5.5)]
    public void CutoffFunctionsEqualTheirFormulas(double rc)
    {
        // Quadratic, FLARE's default: f = (r_c − r)², f′ = −2 (r_c − r). Cosine, FLARE's cos_cutoff:
        // f = ½ [cos(π r / r_c) + 1], written here as cos²(π r / 2r_c), f′ = −(π / r_c) sin(π r / 2r_c) cos(π r / 2r_c).
        // Both are 0 with a zero derivative at and beyond r_c.
        foreach (double r in new[] { 0.0, 0.3, 1.0, rc / 3, rc / 2, 2.2, rc - 0.4, rc - 1e-3, rc, rc + 0.1, 2 * rc })
        {
            double quadratic = r < rc ? (rc - r) * (rc - r) : 0;
            double quadraticDerivative = r < rc ? -2 * (rc - r) : 0;
            double half = Math.PI * r / (2 * rc);
            double cosine = r < rc ? Math.Cos(half) * Math.Cos(half) : 0;
            double cosineDerivative = r < rc ? -Math.PI / rc * Math.Sin(half) * Math.Cos(half) : 0;

            Assert.Equal(quadratic, Cutoffs.Evaluate(CutoffFunction.Quadratic, rc, r, out double dq), 1e-12);
            Assert.Equal(quadraticDerivative, dq, 1e-12);
            Assert.Equal(cosine, Cutoffs.Evaluate(CutoffFunction.Cosine, rc, r, out double dc), 1e-14);
            Assert.Equal(cosineDerivative, dc, 1e-14);
        }

        // Values by hand: the cosine cutoff is 1 at r = 0, 3/4 at r_c/3, 1/2 with slope −π/(2r_c) at r_c/2;
        // the quadratic one is r_c² at 0 and 1/4 with slope −1 at r_c − 1/2.
        Assert.Equal(1.0, Cutoffs.Evaluate(CutoffFunction.Cosine, rc, 0, out double d0), 1e-15);
        Assert.Equal(0.0, d0, 1e-15);
        Assert.Equal(0.75, Cutoffs.Evaluate(CutoffFunction.Cosine, rc, rc / 3, out _), 1e-15);
        Assert.Equal(0.5, Cutoffs.Evaluate(CutoffFunction.Cosine, rc, rc / 2, out double dHalf), 1e-15);
        Assert.Equal(-Math.PI / (2 * rc), dHalf, 1e-15);
        Assert.Equal(rc * rc, Cutoffs.Evaluate(CutoffFunction.Quadratic, rc, 0, out _), 1e-12);
        Assert.Equal(0.25, Cutoffs.Evaluate(CutoffFunction.Quadratic, rc, rc - 0.5, out double dq2), 1e-12);
        Assert.Equal(-1.0, dq2, 1e-12);
    }

    /// <summary>
    /// Every triangle of atoms within r_c3 appears in the environments of its three atoms, and exactly one of them
    /// (its least vertex by atom index, then image shift) calls it a first-vertex triplet; those come first in their
    /// species-pair range (<see cref="AtomEnvironment.TripletFirstVertexEnd"/>). A cell smaller than the cutoff
    /// (triangles with two images of one atom) and a ternary cell.
    /// </summary>
    [Fact]
    public void EveryTriangleHasExactlyOneFirstVertexTriplet()
    {
        var ternary = new Structure([56, 45, 8, 8, 8],
            [new Vec3(0.2, 0.1, 0.3), new Vec3(2.1, 1.9, 2.2), new Vec3(2.0, 0.1, 0.2), new Vec3(0.3, 2.1, 0.1), new Vec3(0.1, 0.2, 2.3)],
            new Mat3(4.3, 0, 0, 0.3, 4.1, 0, -0.2, 0.4, 4.4), Pbc.All);
        foreach (var (name, s) in new[] { ("small cell", SmallCell()), ("ternary", ternary) })
        {
            var envs = StructureEnvironments.Build(s, new DescriptorSettings(4.0, 3.2));
            var inverse = s.Cell.Inverse();
            var seen = new Dictionary<string, (int Count, int First)>();
            int images = 0;
            for (int i = 0; i < envs.AtomCount; i++)
            {
                var env = envs[i];
                Assert.Equal(env.TripletSpeciesList.Length, env.TripletFirstVertexEnd.Length);
                for (int g = 0; g < env.TripletSpeciesList.Length; g++)
                {
                    Assert.InRange(env.TripletFirstVertexEnd[g], env.TripletRangeStart[g], env.TripletRangeStart[g + 1]);
                }

                for (int t = 0; t < env.TripletCount; t++)
                {
                    // The three vertices as (atom, image shift), the shift read back from the neighbour vectors.
                    var centre = s.Positions[i];
                    var vertices = new List<(int Atom, int A, int B, int C)> { (i, 0, 0, 0) };
                    foreach (var (atom, r, u) in new[] { (env.TripletNeighbors1[t], env.TripletDistances1[t], env.TripletUnit1(t)), (env.TripletNeighbors2[t], env.TripletDistances2[t], env.TripletUnit2(t)) })
                    {
                        var f = (centre + r * u - s.Positions[atom]) * inverse;
                        vertices.Add((atom, (int)Math.Round(f.X), (int)Math.Round(f.Y), (int)Math.Round(f.Z)));
                    }

                    images += vertices.Count(v => v.Atom == i) > 1 ? 1 : 0;
                    Record(seen, vertices, t, env.TripletRangeStart, env.TripletFirstVertexEnd);
                }
            }

            Assert.NotEmpty(seen);
            Assert.All(seen, kv => Assert.True(kv.Value == (3, 1), $"{name}: triangle {kv.Key} appears {kv.Value.Count} times, {kv.Value.First} of them first"));

            // Pairs: each appears in the environments of both its atoms, first in exactly one.
            var pairs = new Dictionary<string, (int Count, int First)>();
            for (int i = 0; i < envs.AtomCount; i++)
            {
                var env = envs[i];
                Assert.Equal(env.PairSpeciesList.Length, env.PairFirstVertexEnd.Length);
                for (int p = 0; p < env.PairCount; p++)
                {
                    var shift = env.PairShifts[p];
                    Record(pairs, [(i, 0, 0, 0), (env.PairNeighbors[p], shift.A, shift.B, shift.C)], p, env.PairRangeStart, env.PairFirstVertexEnd);
                }
            }

            Assert.NotEmpty(pairs);
            Assert.All(pairs, kv => Assert.True(kv.Value == (2, 1), $"{name}: pair {kv.Key} appears {kv.Value.Count} times, {kv.Value.First} of them first"));
            if (name == "small cell")
            {
                Assert.True(images > 0, "the small cell must have triangles with two images of one atom");
            }
        }

        // Counts the pair or triangle (its vertices as atom and image shift, the central atom first, keyed up to a
        // lattice translation) and checks that entry `index` is in the first part of its range exactly when the
        // central atom is the least vertex.
        static void Record(Dictionary<string, (int Count, int First)> seen, IReadOnlyList<(int Atom, int A, int B, int C)> vertices, int index, int[] rangeStart, int[] firstEnd)
        {
            var least = vertices.Min();
            string key = string.Join(";", vertices.Select(v => (v.Atom, v.A - least.A, v.B - least.B, v.C - least.C)).Order());
            bool first = vertices[0] == least;
            int range = Array.FindLastIndex(rangeStart, start => start <= index);
            Assert.Equal(first, index < firstEnd[range]);
            var (count, firsts) = seen.GetValueOrDefault(key);
            seen[key] = (count + 1, firsts + (first ? 1 : 0));
        }
    }

    private static Structure SmallCell()
    {
        var cell = new Mat3(2.9, 0, 0, 0.1, 3.0, 0, 0, 0.2, 3.1);
        return new Structure([45, 8], [new Vec3(0.1, 0.2, 0.3), new Vec3(1.5, 1.4, 1.7)], cell, Pbc.All);
    }

    /// <summary>Brute-force neighbour vectors of atom c over explicit images.</summary>
    private static List<(int Atom, Vec3 X)> Brute(Structure s, int c, double rc)
    {
        var list = new List<(int, Vec3)>();
        for (int j = 0; j < s.AtomCount; j++)
        {
            for (int a = -3; a <= 3; a++)
            {
                for (int b = -3; b <= 3; b++)
                {
                    for (int k = -3; k <= 3; k++)
                    {
                        if (j == c && a == 0 && b == 0 && k == 0)
                        {
                            continue;
                        }

                        var x = s.Positions[j] + new Vec3(a, b, k) * s.Cell - s.Positions[c];
                        if (x.Length < rc)
                        {
                            list.Add((j, x));
                        }
                    }
                }
            }
        }

        return list;
    }

    [Fact]
    public void PairsAndTripletsMatchBruteForceIncludingOwnImages()
    {
        var s = SmallCell();
        var settings = new DescriptorSettings(4.0, 3.3);
        var envs = StructureEnvironments.Build(s, settings);
        Assert.Equal(2, envs.AtomCount);
        for (int c = 0; c < s.AtomCount; c++)
        {
            var env = envs[c];
            Assert.Equal(s.AtomicNumbers[c], env.CentralSpecies);
            var pairs = Brute(s, c, 4.0);
            Assert.Equal(pairs.Count, env.PairCount);
            Assert.Contains(c, env.PairNeighbors.ToArray()); // the atom sees its own images
            var expectedDistances = pairs.Select(p => p.X.Length).OrderBy(x => x).ToArray();
            var actual = env.PairDistances.ToArray().OrderBy(x => x).ToArray();
            for (int i = 0; i < actual.Length; i++)
            {
                Assert.Equal(expectedDistances[i], actual[i], 10);
            }

            // Sorted by species; ranges cover the pairs.
            var sp = env.PairSpecies.ToArray();
            Assert.Equal(sp.OrderBy(x => x).ToArray(), sp);
            var (s0, e0) = env.PairRange(8);
            Assert.Equal(pairs.Count(p => s.AtomicNumbers[p.Atom] == 8), e0 - s0);

            // Triplets: unordered neighbour pairs with all three distances below r_c3.
            var near = Brute(s, c, 3.3);
            int count = 0;
            for (int p = 0; p < near.Count; p++)
            {
                for (int q = p + 1; q < near.Count; q++)
                {
                    count += (near[q].X - near[p].X).Length < 3.3 ? 1 : 0;
                }
            }

            Assert.True(count > 0);
            Assert.Equal(count, env.TripletCount);
            for (int t = 0; t < env.TripletCount; t++)
            {
                Assert.True(env.TripletSpecies1[t] <= env.TripletSpecies2[t]);
                var x1 = env.TripletDistances1[t] * env.TripletUnit1(t);
                var x2 = env.TripletDistances2[t] * env.TripletUnit2(t);
                Assert.Equal((x2 - x1).Length, env.TripletDistances3[t], 10);
                double f = 1;
                foreach (var r in new[] { env.TripletDistances1[t], env.TripletDistances2[t], env.TripletDistances3[t] })
                {
                    Assert.True(r < 3.3);
                    f *= (3.3 - r) * (3.3 - r);
                }

                Assert.Equal(f, env.TripletCutoffValues[t], 12);
            }
        }

        Assert.Equal(envs.TotalPairCount, envs.Environments.Sum(e => e.PairCount));
    }

    [Fact]
    public void UnitVectorsPointFromTheCentreToTheNeighbour()
    {
        var s = new Structure([8, 1], [new Vec3(0, 0, 0), new Vec3(0.96, 0, 0)], Mat3.Diagonal(10, 10, 10), Pbc.None);
        var envs = StructureEnvironments.Build(s, new DescriptorSettings(3, 0));
        Assert.Equal(1, envs[0].PairCount);
        Assert.Equal(new Vec3(1, 0, 0), envs[0].PairUnit(0));
        Assert.Equal(new Vec3(-1, 0, 0), envs[1].PairUnit(0));
        Assert.Equal(0, envs[0].TripletCount);
    }

    [Fact]
    public void BadSettingsAreRejectedClearly()
    {
        var s = SmallCell();
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => StructureEnvironments.Build(s, new DescriptorSettings(-1, 3)));
        Assert.Contains("2-body cutoff", ex.Message);
        var none = Assert.Throws<ArgumentException>(() => StructureEnvironments.Build(s, new DescriptorSettings(0, 0)));
        Assert.Contains("At least one", none.Message);
        var mix = Assert.Throws<ArgumentException>(() => new DescriptorSettings(5, 0).Union(new DescriptorSettings(0, 3, CutoffFunction.Cosine)));
        Assert.Contains("cosine", mix.Message);
        s.Positions[1] = new Vec3(double.NaN, 0, 0);
        var nan = Assert.Throws<InvalidStructureException>(() => StructureEnvironments.Build(s, new DescriptorSettings(4, 3)));
        Assert.Contains("Atom 1", nan.Message);
    }
}
