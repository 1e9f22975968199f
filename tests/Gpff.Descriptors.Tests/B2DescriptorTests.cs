using Gpff.Geometry;

namespace Gpff.Descriptors.Tests;

public class B2DescriptorTests
{
    private const int O = 8, Rh = 45, Ba = 56;
    private static readonly B2Settings Settings = new([O, Rh, Ba], 5, 3, 4.5);

    /// <summary>A random cluster: <paramref name="count"/> neighbours of the three species within 0.8 … r_c − 0.05 Å.</summary>
    private static (Vec3[] Vectors, int[] Species) Cluster(int seed, int count, double cutoff = 4.5)
    {
        var rng = new Random(seed);
        var v = new Vec3[count];
        var s = new int[count];
        int[] z = [O, Rh, Ba];
        for (int k = 0; k < count; k++)
        {
            Vec3 u;
            do
            {
                u = new Vec3(2 * rng.NextDouble() - 1, 2 * rng.NextDouble() - 1, 2 * rng.NextDouble() - 1);
            }
            while (u.Length is > 1 or < 0.1);
            v[k] = u / u.Length * (0.8 + (cutoff - 0.85) * rng.NextDouble());
            s[k] = z[rng.Next(3)];
        }

        return (v, s);
    }

    private static double MaxRelativeDifference(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        double scale = 0, diff = 0;
        for (int i = 0; i < a.Length; i++)
        {
            scale = Math.Max(scale, Math.Abs(b[i]));
            diff = Math.Max(diff, Math.Abs(a[i] - b[i]));
        }

        return diff / scale;
    }

    [Fact]
    public void LengthIsHalfTheChannelPairsTimesTheAngularMomenta()
    {
        // K = 3·5 = 15 channels: 15·16/2 pairs × 4 values of l.
        Assert.Equal(480, Settings.Length);
        Assert.Equal(480, B2Descriptor.Compute(Settings, Cluster(1, 10).Vectors, Cluster(1, 10).Species).Length);
        Assert.Equal(1200, new B2Settings([O, Rh, Ba], 8, 3, 5.0).Length);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(9)]
    public void SphericalHarmonicsObeyTheAdditionTheorem(int lmax)
    {
        // Σ_m Y_lm(a) Y_lm(b) = (2l + 1)/(4π) P_l(a·b): orthonormal, complete within each l, and rotation-invariant.
        var rng = new Random(lmax);
        int h = RealSphericalHarmonics.Count(lmax);
        var ya = new double[h];
        var yb = new double[h];
        for (int trial = 0; trial < 20; trial++)
        {
            var a = new Vec3(rng.NextDouble() - 0.5, rng.NextDouble() - 0.5, rng.NextDouble() - 0.5);
            var b = new Vec3(rng.NextDouble() - 0.5, rng.NextDouble() - 0.5, rng.NextDouble() - 0.5);
            RealSphericalHarmonics.Evaluate(lmax, a.X, a.Y, a.Z, ya, []);
            RealSphericalHarmonics.Evaluate(lmax, b.X, b.Y, b.Z, yb, []);
            double t = Vec3.Dot(a, b) / (a.Length * b.Length);
            double p0 = 1, p1 = t;
            for (int l = 0; l <= lmax; l++)
            {
                double pl = l == 0 ? 1 : l == 1 ? t : ((2 * l - 1) * t * p1 - (l - 1) * p0) / l;
                if (l >= 2)
                {
                    (p0, p1) = (p1, pl);
                }

                double sum = 0;
                for (int m = -l; m <= l; m++)
                {
                    sum += ya[l * l + l + m] * yb[l * l + l + m];
                }

                Assert.Equal((2 * l + 1) / (4 * Math.PI) * pl, sum, 1e-12);
            }
        }
    }

    [Fact]
    public void SphericalHarmonicsEqualFlarePlusPlusFormulasToL2()
    {
        // FLARE++ y_grad.cpp: Y_1 = √(3/π)/2 (y, z, x)/r; Y_2,−2 = √(15/π)/2 xy/r², Y_20 = −√(5/π)/4 (x² + y² − 2z²)/r²,
        // Y_22 = √(15/π)/4 (x² − y²)/r², Y_3,−3 = √(35/2π)/4 y(3x² − y²)/r³.
        double x = 0.3, y = -1.1, z = 0.7, r = Math.Sqrt(x * x + y * y + z * z);
        var v = new double[16];
        RealSphericalHarmonics.Evaluate(3, x, y, z, v, []);
        double c1 = Math.Sqrt(3 / Math.PI) / 2, c2 = Math.Sqrt(15 / Math.PI);
        Assert.Equal(0.5 / Math.Sqrt(Math.PI), v[0], 1e-15);
        Assert.Equal(c1 * y / r, v[1], 1e-15);
        Assert.Equal(c1 * z / r, v[2], 1e-15);
        Assert.Equal(c1 * x / r, v[3], 1e-15);
        Assert.Equal(c2 / 2 * x * y / (r * r), v[4], 1e-14);
        Assert.Equal(c2 / 2 * y * z / (r * r), v[5], 1e-14);
        Assert.Equal(-Math.Sqrt(5 / Math.PI) / 4 * (x * x + y * y - 2 * z * z) / (r * r), v[6], 1e-14);
        Assert.Equal(c2 / 2 * x * z / (r * r), v[7], 1e-14);
        Assert.Equal(c2 / 4 * (x * x - y * y) / (r * r), v[8], 1e-14);
        Assert.Equal(Math.Sqrt(35 / (2 * Math.PI)) / 4 * y * (3 * x * x - y * y) / (r * r * r), v[9], 1e-14);
    }

    [Fact]
    public void SphericalHarmonicGradientsMatchFiniteDifferences()
    {
        const int lmax = 6;
        const double h = 1e-6;
        int n = RealSphericalHarmonics.Count(lmax);
        var v = new double[n];
        var g = new double[3 * n];
        var vp = new double[n];
        var vm = new double[n];
        double[][] points = [[0.3, -1.1, 0.7], [0, 0, 1.3], [1e-3, 2e-3, -0.9], [-2.0, 0.5, 0.1]];
        foreach (var p in points)
        {
            RealSphericalHarmonics.Evaluate(lmax, p[0], p[1], p[2], v, g);
            for (int a = 0; a < 3; a++)
            {
                var q = (double[])p.Clone();
                q[a] += h;
                RealSphericalHarmonics.Evaluate(lmax, q[0], q[1], q[2], vp, []);
                q[a] -= 2 * h;
                RealSphericalHarmonics.Evaluate(lmax, q[0], q[1], q[2], vm, []);
                for (int i = 0; i < n; i++)
                {
                    double fd = (vp[i] - vm[i]) / (2 * h);
                    Assert.True(Math.Abs(fd - g[3 * i + a]) < 1e-6 * Math.Max(1, Math.Abs(fd)), $"Y[{i}] ∂/∂{"xyz"[a]} at ({string.Join(", ", p)}): analytic {g[3 * i + a]}, finite difference {fd}");
                }
            }
        }
    }

    [Fact]
    public void OneNeighbourGivesTheRadialProductsTimesTheAdditionTheorem()
    {
        // One Rh neighbour at r along any direction: c_{ν l m} = g_ν(r) Y_lm(r̂), so
        // B2[ν₁, ν₂, l] = g_ν₁ g_ν₂ (2l + 1)/(4π) when both channels are Rh's, else 0, with
        // g_n = T_n(r/r_c)(r − r_c)² and T_0 = 1, T_1 = x, T_2 = 2x² − 1, …
        var s = new B2Settings([O, Rh], 3, 2, 4.0);
        double r = 2.5, x = r / 4.0, f = (r - 4.0) * (r - 4.0);
        double[] g = [f, x * f, (2 * x * x - 1) * f];
        var d = B2Descriptor.Compute(s, [new Vec3(0.6, -1.2, 2.0) / new Vec3(0.6, -1.2, 2.0).Length * r], [Rh]);
        int p = 0;
        for (int a = 0; a < 6; a++)
        {
            for (int b = a; b < 6; b++)
            {
                for (int l = 0; l <= 2; l++)
                {
                    double expected = a >= 3 && b >= 3 ? g[a - 3] * g[b - 3] * (2 * l + 1) / (4 * Math.PI) : 0;
                    Assert.Equal(expected, d[p++], 1e-12);
                }
            }
        }

        Assert.Equal(s.Length, p);
    }

    [Theory]
    [InlineData(11, CutoffFunction.Quadratic)]
    [InlineData(12, CutoffFunction.Cosine)]
    public void PositionGradientsMatchFiniteDifferences(int seed, CutoffFunction fn)
    {
        var s = new B2Settings([O, Rh, Ba], 4, 3, 4.5, fn);
        var (v, z) = Cluster(seed, 9);
        int d = s.Length;
        var values = new double[d];
        var grad = new double[3 * v.Length * d];
        B2Descriptor.Compute(s, v, z, values, grad, []);
        const double h = 1e-5;
        double scale = values.Max(Math.Abs);
        for (int k = 0; k < v.Length; k++)
        {
            for (int a = 0; a < 3; a++)
            {
                var step = a == 0 ? new Vec3(h, 0, 0) : a == 1 ? new Vec3(0, h, 0) : new Vec3(0, 0, h);
                var plus = (Vec3[])v.Clone();
                var minus = (Vec3[])v.Clone();
                plus[k] += step;
                minus[k] -= step;
                var dp = B2Descriptor.Compute(s, plus, z);
                var dm = B2Descriptor.Compute(s, minus, z);
                for (int p = 0; p < d; p++)
                {
                    double fd = (dp[p] - dm[p]) / (2 * h);
                    double an = grad[(3 * k + a) * d + p];
                    Assert.True(Math.Abs(fd - an) < 1e-7 * scale, $"neighbour {k} component {a} descriptor {p}: analytic {an}, finite difference {fd} (scale {scale})");
                }
            }
        }
    }

    [Fact]
    public void StrainGradientsMatchFiniteDifferences()
    {
        var (v, z) = Cluster(21, 10);
        int d = Settings.Length;
        var values = new double[d];
        var strain = new double[6 * d];
        B2Descriptor.Compute(Settings, v, z, values, [], strain);
        const double h = 1e-6;
        double scale = values.Max(Math.Abs);
        (int A, int B)[] voigt = [(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)];
        for (int c = 0; c < 6; c++)
        {
            // A symmetric strain ε with ε_ab = ε_ba = h/2 off the diagonal (h on it) changes d by h·∂d/∂ε_ab (Voigt).
            Vec3[] Strained(double e)
            {
                var (a, b) = voigt[c];
                var m = new double[3, 3];
                m[0, 0] = m[1, 1] = m[2, 2] = 1;
                if (a == b)
                {
                    m[a, a] += e;
                }
                else
                {
                    m[a, b] += e / 2;
                    m[b, a] += e / 2;
                }

                return v.Select(r => new Vec3(
                    m[0, 0] * r.X + m[0, 1] * r.Y + m[0, 2] * r.Z,
                    m[1, 0] * r.X + m[1, 1] * r.Y + m[1, 2] * r.Z,
                    m[2, 0] * r.X + m[2, 1] * r.Y + m[2, 2] * r.Z)).ToArray();
            }

            var dp = B2Descriptor.Compute(Settings, Strained(h), z);
            var dm = B2Descriptor.Compute(Settings, Strained(-h), z);
            for (int p = 0; p < d; p++)
            {
                double fd = (dp[p] - dm[p]) / (2 * h);
                double an = strain[c * d + p];
                Assert.True(Math.Abs(fd - an) < 1e-6 * scale, $"strain {c} descriptor {p}: analytic {an}, finite difference {fd}");
            }
        }
    }

    [Fact]
    public void DescriptorIsInvariantUnderRotationAndNeighbourPermutation()
    {
        var (v, z) = Cluster(31, 14);
        var d0 = B2Descriptor.Compute(Settings, v, z);
        // A rotation about an arbitrary axis (Rodrigues), and an improper one (inversion).
        var axis = new Vec3(0.3, -0.8, 0.5) / new Vec3(0.3, -0.8, 0.5).Length;
        double th = 1.234, c = Math.Cos(th), s = Math.Sin(th);
        Vec3 Rotate(Vec3 r) => c * r + s * new Vec3(axis.Y * r.Z - axis.Z * r.Y, axis.Z * r.X - axis.X * r.Z, axis.X * r.Y - axis.Y * r.X) + (1 - c) * Vec3.Dot(axis, r) * axis;
        Assert.True(MaxRelativeDifference(B2Descriptor.Compute(Settings, v.Select(Rotate).ToArray(), z), d0) < 1e-12);
        Assert.True(MaxRelativeDifference(B2Descriptor.Compute(Settings, v.Select(r => -r).ToArray(), z), d0) < 1e-12);
        var order = Enumerable.Range(0, v.Length).OrderBy(i => (i * 7919) % 13).ToArray();
        Assert.True(MaxRelativeDifference(B2Descriptor.Compute(Settings, order.Select(i => v[i]).ToArray(), order.Select(i => z[i]).ToArray()), d0) < 1e-13);
        // Changing one neighbour's species changes it (the test could fail).
        var z2 = (int[])z.Clone();
        z2[0] = z2[0] == O ? Ba : O;
        Assert.True(MaxRelativeDifference(B2Descriptor.Compute(Settings, v, z2), d0) > 1e-3);
    }

    private static Structure Perovskite(Vec3 shift, double a = 4.0) => new(
        [Ba, Rh, O, O, O],
        new[] { new Vec3(0, 0, 0), new Vec3(a / 2, a / 2, a / 2), new Vec3(a / 2, a / 2, 0), new Vec3(a / 2, 0, a / 2), new Vec3(0, a / 2, a / 2) }.Select(p => p + shift).ToArray(),
        new Mat3(a, 0, 0, 0, a, 0, 0, 0, a), Pbc.All);

    [Fact]
    public void SymmetryEquivalentAtomsOfAPeriodicCellHaveEqualDescriptorsAndTranslationChangesNothing()
    {
        var settings = new DescriptorSettings(0, 0) { ManyBody = new B2Settings([O, Rh, Ba], 6, 4, 5.0) };
        var envs = StructureEnvironments.Build(Perovskite(Vec3.Zero), settings);
        // The three O of cubic BaRhO3 are related by the cube's rotations: equal descriptors.
        Assert.True(MaxRelativeDifference(envs[3].B2, envs[2].B2) < 1e-12);
        Assert.True(MaxRelativeDifference(envs[4].B2, envs[2].B2) < 1e-12);
        Assert.True(MaxRelativeDifference(envs[0].B2, envs[2].B2) > 1e-3);
        // Every atom sees 6 O, 8 Rh, 12 Ba or the like: many neighbours, norms positive.
        Assert.All(envs.Environments, e => Assert.True(e.B2Norm > 0 && e.ManyBodyNeighborCount > 10));

        var moved = StructureEnvironments.Build(Perovskite(new Vec3(0.37, -1.21, 2.9)), settings);
        for (int i = 0; i < 5; i++)
        {
            Assert.True(MaxRelativeDifference(moved[i].B2, envs[i].B2) < 1e-12, $"atom {i}");
        }

        // A 2×1×1 supercell repeats the same environments.
        var p = Perovskite(Vec3.Zero);
        var super = new Structure([.. p.AtomicNumbers, .. p.AtomicNumbers],
            [.. p.Positions.ToArray(), .. p.Positions.ToArray().Select(r => r + new Vec3(4.0, 0, 0))],
            new Mat3(8.0, 0, 0, 0, 4.0, 0, 0, 0, 4.0), Pbc.All);
        var se = StructureEnvironments.Build(super, settings);
        for (int i = 0; i < 10; i++)
        {
            Assert.True(MaxRelativeDifference(se[i].B2, envs[i % 5].B2) < 1e-12, $"supercell atom {i}");
        }
    }

    [Fact]
    public void StoredDescriptorEqualsTheOneFromNeighbourVectorsAndFromTheCluster()
    {
        var mb = new B2Settings([O, Rh, Ba], 4, 2, 4.2);
        var settings = new DescriptorSettings(3.0, 2.5) { ManyBody = mb };
        var p = Perovskite(new Vec3(0.1, 0.2, 0.3), 3.9);
        var distorted = new Structure(p.AtomicNumbers.ToArray(), p.Positions.ToArray().Select((r, i) => r + new Vec3(0.05 * i, -0.03 * i, 0.02)).ToArray(), p.Cell, Pbc.All);
        var envs = StructureEnvironments.Build(distorted, settings);
        for (int i = 0; i < distorted.AtomCount; i++)
        {
            var e = envs[i];
            var vectors = Enumerable.Range(0, e.ManyBodyNeighborCount).Select(e.ManyBodyVector).ToArray();
            var species = e.ManyBodySpeciesChannels.ToArray().Select(c => mb.Species[c]).ToArray();
            Assert.True(MaxRelativeDifference(B2Descriptor.Compute(mb, vectors, species), e.B2) < 1e-14);
            Assert.Equal(Math.Sqrt(e.B2.ToArray().Sum(x => x * x)), e.B2Norm, 1e-12 * e.B2Norm);
            var fromCluster = EnvironmentCluster.FromStructure(distorted, i, settings.MaxCutoffA).Describe(settings);
            Assert.True(MaxRelativeDifference(fromCluster.B2, e.B2) < 1e-12);
            // The 2- and 3-body parts are still built as before.
            Assert.True(e.PairCount > 0 && e.PairCount < e.ManyBodyNeighborCount);
        }
    }

    [Fact]
    public void NeighbourOfAnUnlistedElementIsRefusedWithAClearMessage()
    {
        var settings = new DescriptorSettings(0, 0) { ManyBody = new B2Settings([O, Ba], 4, 2, 5.0) };
        var ex = Assert.Throws<ArgumentException>(() => StructureEnvironments.Build(Perovskite(Vec3.Zero), settings));
        Assert.Contains("element 45 (Rh)", ex.Message);
        Assert.Contains("not one of the B2 descriptor's species (O, Ba)", ex.Message);
        var ex2 = Assert.Throws<ArgumentException>(() => B2Descriptor.Compute(Settings, [new Vec3(1, 0, 0)], [26]));
        Assert.Contains("element 26", ex2.Message);
    }

    [Theory]
    [InlineData(0, 3, 5.0, "n_max")]
    [InlineData(40, 3, 5.0, "n_max")]
    [InlineData(8, -1, 5.0, "l_max")]
    [InlineData(8, 13, 5.0, "l_max")]
    [InlineData(8, 3, 0.0, "cutoff")]
    [InlineData(8, 3, double.NaN, "cutoff")]
    public void BadSettingsAreRefusedNamingTheSetting(int n, int l, double rc, string what)
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => new B2Settings([O], n, l, rc));
        Assert.Contains(what, ex.Message);
        Assert.Contains("repeats", Assert.Throws<ArgumentException>(() => new B2Settings([O, O], 8, 3, 5)).Message);
        Assert.Contains("at least one species", Assert.Throws<ArgumentException>(() => new B2Settings([], 8, 3, 5)).Message);
    }

    [Fact]
    public void SettingsCompareByValue()
    {
        var a = new B2Settings([O, Rh], 8, 3, 5.0);
        var b = new B2Settings(new List<int> { O, Rh }, 8, 3, 5.0);
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, new B2Settings([Rh, O], 8, 3, 5.0));
        Assert.Equal(new DescriptorSettings(0, 0) { ManyBody = a }, new DescriptorSettings(0, 0) { ManyBody = b });
        var u = new DescriptorSettings(5, 3.5).Union(new DescriptorSettings(0, 0) { ManyBody = a });
        Assert.Equal(a, u.ManyBody);
        Assert.Equal(5.0, u.MaxCutoffA);
        Assert.Throws<ArgumentException>(() => u.Union(new DescriptorSettings(0, 0) { ManyBody = new B2Settings([O, Rh], 6, 3, 5.0) }));
    }
}

public class B2ContractionTests
{
    [Fact]
    public void ContractedGradientEqualsTheJacobianTimesTheCovector()
    {
        var mb = new B2Settings([8, 45, 56], 5, 3, 4.6);
        var settings = new DescriptorSettings(0, 0) { ManyBody = mb };
        var s = new Structure([56, 45, 8, 8, 8],
            [new Vec3(0.1, 0, 0), new Vec3(2.0, 2.1, 1.9), new Vec3(2.0, 1.9, 0.2), new Vec3(2.1, 0.1, 2.0), new Vec3(0, 2.0, 2.1)],
            new Mat3(4.0, 0, 0, 0.2, 4.1, 0, 0, 0.1, 3.9), Pbc.All);
        var envs = StructureEnvironments.Build(s, settings);
        var rng = new Random(3);
        var g = Enumerable.Range(0, mb.Length).Select(_ => rng.NextDouble() - 0.5).ToArray();
        foreach (var e in envs.Environments)
        {
            int n = e.ManyBodyNeighborCount;
            var vectors = Enumerable.Range(0, n).Select(e.ManyBodyVector).ToArray();
            var species = e.ManyBodySpeciesChannels.ToArray().Select(c => mb.Species[c]).ToArray();
            var jac = new double[3 * n * mb.Length];
            B2Descriptor.Compute(mb, vectors, species, new double[mb.Length], jac, []);
            var fast = new double[3 * n];
            B2Descriptor.ContractGradient(e, g, fast);
            for (int k = 0; k < 3 * n; k++)
            {
                double slow = 0;
                for (int p = 0; p < mb.Length; p++)
                {
                    slow += jac[k * mb.Length + p] * g[p];
                }

                Assert.Equal(slow, fast[k], 1e-10 * Math.Max(1, Math.Abs(slow)));
            }
        }
    }
}
