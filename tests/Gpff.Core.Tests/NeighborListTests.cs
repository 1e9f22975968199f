using Gpff.Geometry;

namespace Gpff.Core.Tests;

public class NeighborListTests
{
    /// <summary>Brute force: every atom pair and every image shift within a safe range.</summary>
    private static SortedDictionary<(int I, int J, int A, int B, int C), double> BruteForce(Vec3[] pos, Mat3 cell, Pbc pbc, double rc)
    {
        var result = new SortedDictionary<(int, int, int, int, int), double>();
        var widths = Structure.PerpendicularWidths(cell);
        // Positions are inside the cell (fractional 0..1 along periodic axes), so |shift| <= ceil(rc/w) + 1.
        int na = pbc.A ? (int)Math.Ceiling(rc / widths.X) + 1 : 0;
        int nb = pbc.B ? (int)Math.Ceiling(rc / widths.Y) + 1 : 0;
        int nc = pbc.C ? (int)Math.Ceiling(rc / widths.Z) + 1 : 0;
        for (int i = 0; i < pos.Length; i++)
        {
            for (int j = 0; j < pos.Length; j++)
            {
                for (int a = -na; a <= na; a++)
                {
                    for (int b = -nb; b <= nb; b++)
                    {
                        for (int c = -nc; c <= nc; c++)
                        {
                            if (i == j && a == 0 && b == 0 && c == 0)
                            {
                                continue;
                            }

                            var v = pos[j] + a * cell.Row0 + b * cell.Row1 + c * cell.Row2 - pos[i];
                            double d = v.Length;
                            if (d < rc)
                            {
                                result[(i, j, a, b, c)] = d;
                            }
                        }
                    }
                }
            }
        }

        return result;
    }

    private static Mat3 RandomCell(Random rng, double minAngleDeg)
    {
        // Lengths 2..6 Å, angles between minAngle and 180 - minAngle, kept valid (positive volume).
        while (true)
        {
            double la = 2 + 4 * rng.NextDouble(), lb = 2 + 4 * rng.NextDouble(), lc = 2 + 4 * rng.NextDouble();
            double Ang() => (minAngleDeg + (180 - 2 * minAngleDeg) * rng.NextDouble()) * Math.PI / 180;
            double alpha = Ang(), beta = Ang(), gamma = Ang();
            double cx = Math.Cos(beta), cy = (Math.Cos(alpha) - Math.Cos(beta) * Math.Cos(gamma)) / Math.Sin(gamma);
            double cz2 = 1 - cx * cx - cy * cy;
            if (cz2 < 0.05)
            {
                continue;
            }

            var a = new Vec3(la, 0, 0);
            var b = new Vec3(lb * Math.Cos(gamma), lb * Math.Sin(gamma), 0);
            var c = lc * new Vec3(cx, cy, Math.Sqrt(cz2));
            // A random rotation so that no axis is special.
            var r = RandomRotation(rng);
            return Mat3.FromRows(r * a, r * b, r * c);
        }
    }

    internal static Mat3 RandomRotation(Random rng)
    {
        // Uniform random rotation from a random unit quaternion.
        double u1 = rng.NextDouble(), u2 = rng.NextDouble(), u3 = rng.NextDouble();
        double q0 = Math.Sqrt(1 - u1) * Math.Sin(2 * Math.PI * u2), q1 = Math.Sqrt(1 - u1) * Math.Cos(2 * Math.PI * u2);
        double q2 = Math.Sqrt(u1) * Math.Sin(2 * Math.PI * u3), q3 = Math.Sqrt(u1) * Math.Cos(2 * Math.PI * u3);
        return new Mat3(
            1 - 2 * (q2 * q2 + q3 * q3), 2 * (q1 * q2 - q0 * q3), 2 * (q1 * q3 + q0 * q2),
            2 * (q1 * q2 + q0 * q3), 1 - 2 * (q1 * q1 + q3 * q3), 2 * (q2 * q3 - q0 * q1),
            2 * (q1 * q3 - q0 * q2), 2 * (q2 * q3 + q0 * q1), 1 - 2 * (q1 * q1 + q2 * q2));
    }

    [Fact]
    public void MatchesBruteForceOn500RandomCells()
    {
        var rng = new Random(20261124);
        int cases = 0, withSelfImages = 0, partial = 0, skewed = 0;
        long totalPairs = 0;
        for (int t = 0; t < 520; t++)
        {
            var cell = RandomCell(rng, minAngleDeg: t % 4 == 0 ? 30 : 60);
            var pbc = (t % 5) switch
            {
                0 => new Pbc(true, false, true),
                1 => new Pbc(false, true, false),
                2 => Pbc.None,
                _ => Pbc.All,
            };
            // Many atoms with modest cutoffs, few atoms with cutoffs up to 4 cell widths.
            int n = t % 3 == 0 ? 1 + rng.Next(200) : 1 + rng.Next(12);
            double wmin = Structure.PerpendicularWidths(cell).X;
            var w = Structure.PerpendicularWidths(cell);
            wmin = Math.Min(w.X, Math.Min(w.Y, w.Z));
            double ratio = n > 40 ? 0.5 + 0.7 * rng.NextDouble() : 0.5 + 3.5 * rng.NextDouble();
            double rc = ratio * wmin;
            var pos = new Vec3[n];
            for (int i = 0; i < n; i++)
            {
                // Non-periodic axes get coordinates somewhat outside [0,1) too.
                double F(bool p) => p ? rng.NextDouble() : -0.5 + 2 * rng.NextDouble();
                pos[i] = new Vec3(F(pbc.A), F(pbc.B), F(pbc.C)) * cell;
            }

            var expected = BruteForce(pos, cell, pbc, rc);
            var nl = NeighborList.Build(pos, cell, pbc, rc, NeighborListKind.Full);
            var got = new SortedDictionary<(int, int, int, int, int), double>();
            for (int i = 0; i < n; i++)
            {
                var js = nl.Neighbors(i);
                var sh = nl.Shifts(i);
                var d = nl.Distances(i);
                var vec = nl.Vectors(i);
                for (int k = 0; k < js.Length; k++)
                {
                    Assert.True(got.TryAdd((i, js[k], sh[k].A, sh[k].B, sh[k].C), d[k]), $"case {t}: duplicate entry {i}->{js[k]} {sh[k]}");
                    Assert.Equal(d[k], vec[k].Length, 12);
                }
            }

            Assert.True(expected.Count == got.Count, $"case {t}: n={n}, pbc={pbc}, rc={rc:G4}, cell={cell}: brute force has {expected.Count} entries, list has {got.Count}");
            foreach (var (key, dist) in expected)
            {
                Assert.True(got.TryGetValue(key, out double g), $"case {t}: missing {key}");
                Assert.True(Math.Abs(g - dist) < 1e-12, $"case {t}: distance {g} vs {dist}");
            }

            // The half list holds each pair exactly once.
            var half = NeighborList.Build(pos, cell, pbc, rc, NeighborListKind.Half);
            Assert.Equal(expected.Count, 2 * half.EntryCount);
            for (int i = 0; i < n; i++)
            {
                var js = half.Neighbors(i);
                var sh = half.Shifts(i);
                for (int k = 0; k < js.Length; k++)
                {
                    Assert.True(expected.ContainsKey((i, js[k], sh[k].A, sh[k].B, sh[k].C)));
                    Assert.True(expected.ContainsKey((js[k], i, -sh[k].A, -sh[k].B, -sh[k].C)));
                    Assert.True(js[k] > i || (js[k] == i && sh[k].IsPositive));
                }
            }

            cases++;
            totalPairs += expected.Count;
            withSelfImages += expected.Keys.Any(k => k.I == k.J) ? 1 : 0;
            partial += pbc.Any && !pbc.AllPeriodic ? 1 : 0;
            skewed += t % 4 == 0 ? 1 : 0;
        }

        Assert.True(cases >= 500);
        Assert.True(withSelfImages > 100, $"only {withSelfImages} cases where atoms see their own images");
        Assert.True(partial > 150);
        Assert.True(skewed > 100);
        Assert.True(totalPairs > 100_000, $"the cases hold only {totalPairs} pairs");
    }

    [Fact]
    public void OneAtomCellWithCutoffOfThreeLatticeLengthsCountsLatticePoints()
    {
        // Simple cubic a = 2 Å, cutoff 6 Å: neighbours are the lattice points with 0 < |n|·a < 6,
        // i.e. integer vectors with 0 < n² < 9.
        var s = new Structure(["Cu"], [new Vec3(0.3, 0.2, 0.1)], Mat3.Diagonal(2, 2, 2), Pbc.All);
        var nl = NeighborList.Build(s, 6.0);
        int expected = 0;
        for (int a = -3; a <= 3; a++)
        {
            for (int b = -3; b <= 3; b++)
            {
                for (int c = -3; c <= 3; c++)
                {
                    int n2 = a * a + b * b + c * c;
                    expected += n2 > 0 && n2 < 9 ? 1 : 0;
                }
            }
        }

        Assert.Equal(expected, nl.Count(0));
        Assert.All(nl.Neighbors(0).ToArray(), j => Assert.Equal(0, j));
        Assert.Equal(expected / 2, NeighborList.Build(s, 6.0, NeighborListKind.Half).Count(0));
    }

    [Fact]
    public void UnwrappedPositionsGiveTheSamePairsWithShiftsRelativeToTheGivenPositions()
    {
        var rng = new Random(7);
        var cell = Mat3.FromRows(new Vec3(4, 0, 0), new Vec3(1, 3.5, 0), new Vec3(0.5, 0.7, 5));
        var pos = Enumerable.Range(0, 20).Select(_ => new Vec3(rng.NextDouble(), rng.NextDouble(), rng.NextDouble()) * cell).ToArray();
        var moved = pos.Select((p, i) => p + (i % 3 - 1) * cell.Row0 + (i % 2) * 2 * cell.Row2).ToArray();
        var a = NeighborList.Build(pos, cell, Pbc.All, 3.7);
        var b = NeighborList.Build(moved, cell, Pbc.All, 3.7);
        for (int i = 0; i < pos.Length; i++)
        {
            var va = a.Vectors(i).ToArray().Select(v => (Math.Round(v.X, 9), Math.Round(v.Y, 9), Math.Round(v.Z, 9))).Order().ToArray();
            var vb = b.Vectors(i).ToArray().Select(v => (Math.Round(v.X, 9), Math.Round(v.Y, 9), Math.Round(v.Z, 9))).Order().ToArray();
            Assert.Equal(va, vb);
            // Each stored vector is reproduced from the given positions and the shift.
            var js = b.Neighbors(i);
            var sh = b.Shifts(i);
            var vecs = b.Vectors(i);
            for (int k = 0; k < js.Length; k++)
            {
                var v = moved[js[k]] + sh[k].A * cell.Row0 + sh[k].B * cell.Row1 + sh[k].C * cell.Row2 - moved[i];
                Assert.True((v - vecs[k]).Length < 1e-12);
            }
        }
    }

    [Fact]
    public void LargeCellUsesBinningAndGivesTheExpectedNeighbourCount()
    {
        // 4000 atoms on a perturbed simple-cubic lattice of spacing 2 Å: the count within 2.5 Å is 6
        // for almost every atom when perturbations are tiny.
        int m = 16;
        var rng = new Random(3);
        var pos = new List<Vec3>();
        for (int a = 0; a < m; a++)
        {
            for (int b = 0; b < m; b++)
            {
                for (int c = 0; c < m; c++)
                {
                    pos.Add(new Vec3(2 * a + 0.01 * rng.NextDouble(), 2 * b + 0.01 * rng.NextDouble(), 2 * c + 0.01 * rng.NextDouble()));
                }
            }
        }

        var nl = NeighborList.Build(pos.ToArray(), Mat3.Diagonal(2 * m, 2 * m, 2 * m), Pbc.All, 2.5);
        for (int i = 0; i < pos.Count; i++)
        {
            Assert.Equal(6, nl.Count(i));
        }
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void NonPositiveOrNonFiniteCutoffIsAClearError(double cutoff)
    {
        var s = new Structure(["O"], [Vec3.Zero], Mat3.Diagonal(3, 3, 3), Pbc.All);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => NeighborList.Build(s, cutoff));
        Assert.Contains("cutoff must be a positive finite number", e.Message);
    }

    [Fact]
    public void NanPositionIsAClearErrorNamingTheAtom()
    {
        var e = Assert.Throws<InvalidStructureException>(() => NeighborList.Build([Vec3.Zero, new Vec3(double.NaN, 0, 0)], Mat3.Diagonal(3, 3, 3), Pbc.All, 2.0));
        Assert.Contains("Atom 1", e.Message);
        Assert.Contains("non-finite", e.Message);
    }

    [Fact]
    public void SingularPeriodicCellIsAClearError()
    {
        var cell = Mat3.FromRows(new Vec3(3, 0, 0), new Vec3(0, 3, 0), new Vec3(3, 3, 0));
        var e = Assert.Throws<InvalidStructureException>(() => NeighborList.Build([Vec3.Zero], cell, Pbc.All, 2.0));
        Assert.Contains("singular", e.Message);
    }
}
