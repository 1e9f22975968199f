using Gpff.Descriptors;
using Gpff.Geometry;

namespace Gpff.Kernels.Tests;

/// <summary>The B2 normalised dot-product kernel: every block is the matching derivative of the energy kernel.</summary>
public class B2KernelTests
{
    private const double H = 1e-4;
    private const double Rel = 1e-6;
    private static readonly B2Settings Settings = new([8, 45, 56], 4, 3, 3.6);

    public static TheoryData<int> Powers => [2, 3, 1];

    private static B2Kernel Kernel(int power = 2) => new(Settings, 1.3, power);

    private static (Structure A, Structure B)[] Pairs =>
    [
        (TestData.SmallCell(31), TestData.Ternary(32)),
        (TestData.Ternary(33), TestData.Ternary(34)),
    ];

    private static double Scale(IKernel k, Structure a, Structure b) =>
        Math.Sqrt(Math.Abs(TestData.EnergyKernel(k, a, a) * TestData.EnergyKernel(k, b, b)));

    [Theory]
    [MemberData(nameof(Powers))]
    public void EnergyForceIsMinusTheFirstDerivative(int power)
    {
        var k = Kernel(power);
        foreach (var (a, b) in Pairs)
        {
            var cols = LabelSelection.Forces(Enumerable.Range(0, b.AtomCount).ToArray());
            var block = TestData.Block(k, a, LabelSelection.TotalEnergy, b, cols);
            var blockT = TestData.Block(k, b, cols, a, LabelSelection.TotalEnergy);
            double scale = Scale(k, a, b);
            for (int m = 0; m < b.AtomCount; m++)
            {
                for (int be = 0; be < 3; be++)
                {
                    double fd = -(TestData.EnergyKernel(k, a, TestData.Moved(b, m, be, H)) - TestData.EnergyKernel(k, a, TestData.Moved(b, m, be, -H))) / (2 * H);
                    TestData.AssertClose(fd, block[3 * m + be], Rel, 1e-8 * scale, $"E-F{m}{be}");
                    TestData.AssertClose(fd, blockT[3 * m + be], Rel, 1e-8 * scale, $"F{m}{be}-E");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Powers))]
    public void ForceForceIsTheMixedSecondDerivative(int power)
    {
        var k = Kernel(power);
        foreach (var (a, b) in Pairs)
        {
            var block = TestData.Block(k, a, LabelSelection.Forces(Enumerable.Range(0, a.AtomCount).ToArray()), b, LabelSelection.Forces(Enumerable.Range(0, b.AtomCount).ToArray()));
            int nc = 3 * b.AtomCount;
            double scale = Scale(k, a, b);
            var rng = new Random(5 + power);
            for (int trial = 0; trial < 8; trial++)
            {
                int i = rng.Next(a.AtomCount), al = rng.Next(3), m = rng.Next(b.AtomCount), be = rng.Next(3);
                double D(double h1, double h2) => TestData.EnergyKernel(k, TestData.Moved(a, i, al, h1), TestData.Moved(b, m, be, h2));
                double Mixed(double h) => (D(h, h) - D(h, -h) - D(-h, h) + D(-h, -h)) / (4 * h * h);
                double fd = (4 * Mixed(2 * H) - Mixed(4 * H)) / 3;
                TestData.AssertClose(fd, block[(3 * i + al) * nc + 3 * m + be], 1e-5, 1e-7 * scale, $"F{i}{al}-F{m}{be}");
            }
        }
    }

    [Fact]
    public void StressBlocksAreStrainDerivativesPerVolume()
    {
        var k = Kernel();
        foreach (var (a, b) in Pairs)
        {
            var sa = new LabelSelection { Stress = true };
            var se = TestData.Block(k, a, sa, b, LabelSelection.TotalEnergy);
            var ss = TestData.Block(k, a, sa, b, sa);
            var sf = TestData.Block(k, a, sa, b, LabelSelection.Forces(0));
            double va = a.VolumeA3, vb = b.VolumeA3;
            double scale = Scale(k, a, b) / (va * vb);
            for (int v = 0; v < 6; v++)
            {
                double fd = (TestData.EnergyKernel(k, TestData.Deformed(a, v, H), b) - TestData.EnergyKernel(k, TestData.Deformed(a, v, -H), b)) / (2 * H) / va;
                TestData.AssertClose(fd, se[v], Rel, 1e-8 * scale * vb, $"S{v}-E");
                for (int be = 0; be < 3; be++)
                {
                    double D(double hr, double hs) => TestData.EnergyKernel(k, TestData.Deformed(a, v, hs), TestData.Moved(b, 0, be, hr));
                    double fd2 = -(D(H, H) - D(-H, H) - D(H, -H) + D(-H, -H)) / (4 * H * H) / va;
                    TestData.AssertClose(fd2, sf[3 * v + be], 1e-5, 1e-7 * scale * vb, $"S{v}-F0{be}");
                }

                for (int w = 0; w < 6; w++)
                {
                    double D(double h1, double h2) => TestData.EnergyKernel(k, TestData.Deformed(a, v, h1), TestData.Deformed(b, w, h2));
                    double Mixed(double h) => (D(h, h) - D(h, -h) - D(-h, h) + D(-h, -h)) / (4 * h * h);
                    double fd3 = (4 * Mixed(2 * H) - Mixed(4 * H)) / 3 / (va * vb);
                    TestData.AssertClose(fd3, ss[6 * v + w], 1e-5, 1e-7 * scale, $"S{v}-S{w}");
                }
            }
        }
    }

    [Fact]
    public void LocalEnergyBlocksAreTheNormalisedDotProductAndItsDerivatives()
    {
        var k = Kernel();
        var (a, b) = Pairs[1];
        var ea = k.Describe(a);
        var eb = k.Describe(b);
        var block = TestData.Block(k, a, LabelSelection.LocalEnergies(0, 1, 2, 3, 4), b, LabelSelection.LocalEnergies(0, 1, 2, 3, 4));
        for (int i = 0; i < 5; i++)
        {
            for (int j = 0; j < 5; j++)
            {
                double q = B2Kernel.Dot(ea[i].B2, eb[j].B2) / (ea[i].B2Norm * eb[j].B2Norm);
                double expected = a.AtomicNumbers[i] == b.AtomicNumbers[j] ? 1.3 * 1.3 * q * q : 0;
                Assert.Equal(expected, block[5 * i + j], 1e-12);
            }
        }

        // Local energy vs forces: −∂cov(εᵢ, E_B)/∂r_B.
        var le = TestData.Block(k, a, LabelSelection.LocalEnergies(2), b, LabelSelection.Forces(1, 3));
        for (int c = 0; c < 6; c++)
        {
            int m = c < 3 ? 1 : 3, be = c % 3;
            double Le(Structure bb) => TestData.Block(k, a, LabelSelection.LocalEnergies(2), bb, LabelSelection.TotalEnergy)[0];
            double fd = -(Le(TestData.Moved(b, m, be, H)) - Le(TestData.Moved(b, m, be, -H))) / (2 * H);
            TestData.AssertClose(fd, le[c], Rel, 1e-9, $"eps2-F{m}{be}");
        }
    }

    [Fact]
    public void SigmaDerivativeMatchesFiniteDifferenceAndVarianceIsTheDiagonal()
    {
        var k = Kernel();
        var a = TestData.Ternary(41);
        var b = TestData.Ternary(42);
        var ra = TestData.Everything(a.AtomCount);
        var rb = TestData.Everything(b.AtomCount);
        int n = ra.Count * rb.Count;
        var v = new double[n];
        var g = new double[n];
        k.Covariance(k.Describe(a), ra, k.Describe(b), rb, v, g);
        var vp = TestData.Block(k.WithHyperparameters([1.3 + 1e-6]), a, ra, b, rb);
        var vm = TestData.Block(k.WithHyperparameters([1.3 - 1e-6]), a, ra, b, rb);
        double scale = v.Max(Math.Abs);
        Assert.True(scale > 0);
        for (int i = 0; i < n; i++)
        {
            TestData.AssertClose((vp[i] - vm[i]) / 2e-6, g[i], 1e-6, 1e-9 * scale, $"d/dsigma [{i}]");
        }

        var self = TestData.Block(k, a, ra, a, ra);
        var diag = new double[ra.Count];
        k.Variance(k.Describe(a), ra, diag);
        for (int i = 0; i < ra.Count; i++)
        {
            TestData.AssertClose(self[i * ra.Count + i], diag[i], 1e-12, 1e-14, $"variance {i}");
            Assert.True(diag[i] >= 0);
        }

        // Symmetry of the self block.
        for (int i = 0; i < ra.Count; i++)
        {
            for (int j = 0; j < i; j++)
            {
                TestData.AssertClose(self[i * ra.Count + j], self[j * ra.Count + i], 1e-12, 1e-14, $"symmetry {i},{j}");
            }
        }
    }

    [Fact]
    public void KernelIsRotationInvariantAndZeroAcrossSpecies()
    {
        var k = Kernel();
        var (a, b) = Pairs[1];
        double e = TestData.EnergyKernel(k, a, b);
        double t = 0.7;
        var rot = new Mat3(Math.Cos(t), Math.Sin(t), 0, -Math.Sin(t), Math.Cos(t), 0, 0, 0, 1);
        var rb = b.Deformed(rot);
        TestData.AssertClose(e, TestData.EnergyKernel(k, a, rb), 1e-12, 0, "rotated");
        // A cell of only Rh and O has no covariance with one of only Ba.
        var onlyBa = new Structure([56], [Vec3.Zero], new Mat3(3.3, 0, 0, 0, 3.4, 0, 0, 0, 3.5), Pbc.All);
        var rhO = TestData.SmallCell(3);
        Assert.Equal(0, TestData.EnergyKernel(k, onlyBa, rhO));
        Assert.True(TestData.EnergyKernel(k, onlyBa, onlyBa) > 0);
    }

    [Fact]
    public void CombinedKernelIsTheSumOfItsPartsWithConcatenatedGradients()
    {
        var two = TestData.TwoPlusThree();
        var b2 = Kernel();
        var sum = new CombinedKernel(b2, two);
        Assert.Equal(["sigmaB2", "sigma2", "length2", "sigma3", "length3"], sum.HyperparameterNames);
        Assert.Equal(Settings, sum.Descriptor.ManyBody);
        Assert.Equal(3.6, sum.Descriptor.PairCutoffA);
        var a = TestData.Ternary(51);
        var b = TestData.Ternary(52);
        var ra = TestData.Everything(a.AtomCount);
        var rb = LabelSelection.All(b.AtomCount);
        int n = ra.Count * rb.Count;
        var v = new double[n];
        var g = new double[5 * n];
        sum.Covariance(sum.Describe(a), ra, sum.Describe(b), rb, v, g);
        var v1 = new double[n];
        var g1 = new double[n];
        b2.Covariance(sum.Describe(a), ra, sum.Describe(b), rb, v1, g1);
        var v2 = TestData.Block(two, a, ra, b, rb);
        var g2 = new double[4 * n];
        two.Covariance(two.Describe(a), ra, two.Describe(b), rb, new double[n], g2);
        for (int i = 0; i < n; i++)
        {
            TestData.AssertClose(v1[i] + v2[i], v[i], 1e-12, 1e-14, $"value {i}");
            TestData.AssertClose(g1[i], g[i], 1e-12, 1e-14, $"sigmaB2 gradient {i}");
            for (int h = 0; h < 4; h++)
            {
                TestData.AssertClose(g2[h * n + i], g[(h + 1) * n + i], 1e-12, 1e-14, $"gradient {h + 1} [{i}]");
            }
        }

        var back = sum.WithHyperparameters([2.0, 1, 0.5, 0.7, 0.9]);
        Assert.Equal([2.0, 1, 0.5, 0.7, 0.9], back.Hyperparameters);
    }

    [Fact]
    public void KernelsRoundTripThroughJson()
    {
        var b2 = new B2Kernel(new B2Settings([8, 56], 6, 2, 4.5, CutoffFunction.Cosine), 0.8, 3);
        var back = Assert.IsType<B2Kernel>(KernelSerializer.DeserializeAny(b2.ToJson()));
        Assert.Equal(b2.Settings, back.Settings);
        Assert.Equal(0.8, back.SigmaEv);
        Assert.Equal(3, back.Power);
        var sum = new CombinedKernel(b2, TestData.TwoPlusThree(4.5, 3.1, CutoffFunction.Cosine));
        var sumBack = Assert.IsType<CombinedKernel>(KernelSerializer.DeserializeAny(sum.ToJson()));
        Assert.Equal(sum.ToJson(), sumBack.ToJson());
        Assert.Equal(sum.Hyperparameters, sumBack.Hyperparameters);
        // The local kernels still read through DeserializeAny.
        Assert.IsType<SumKernel>(KernelSerializer.DeserializeAny(TestData.TwoPlusThree().ToJson()));
    }

    [Theory]
    [InlineData("""{"type":"b2","species":[],"nmax":8,"lmax":3,"cutoffA":5,"cutoffFunction":"quadratic","power":2,"sigmaEv":1}""", "$.species")]
    [InlineData("""{"type":"b2","species":[8],"nmax":8.5,"lmax":3,"cutoffA":5,"cutoffFunction":"quadratic","power":2,"sigmaEv":1}""", "$.nmax")]
    [InlineData("""{"type":"b2","species":[8],"nmax":8,"lmax":30,"cutoffA":5,"cutoffFunction":"quadratic","power":2,"sigmaEv":1}""", "l_max")]
    [InlineData("""{"type":"b2","species":[8],"nmax":8,"lmax":3,"cutoffA":5,"cutoffFunction":"quadratic","power":0,"sigmaEv":1}""", "power")]
    [InlineData("""{"type":"b2","species":[8],"nmax":8,"lmax":3,"cutoffA":5,"cutoffFunction":"cubic","power":2,"sigmaEv":1}""", "cutoffFunction")]
    [InlineData("""{"type":"combined","parts":[]}""", "$.parts")]
    [InlineData("""{"type":"combined","parts":[{"type":"nine-body"}]}""", "$.parts[0].type")]
    public void BadJsonIsRefusedNamingThePath(string json, string expected)
    {
        var ex = Assert.Throws<FormatException>(() => KernelSerializer.DeserializeAny(json));
        Assert.Contains(expected, ex.Message);
    }

    [Fact]
    public void EnvironmentsWithoutTheB2DescriptorAreRefused()
    {
        var k = Kernel();
        var a = TestData.Ternary(1);
        var plain = TestData.TwoPlusThree().Describe(a);
        var ex = Assert.Throws<ArgumentException>(() => k.Covariance(plain, LabelSelection.TotalEnergy, plain, LabelSelection.TotalEnergy, new double[1], []));
        Assert.Contains("no B2 descriptor", ex.Message);
        Assert.Contains("kernel.Describe", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new B2Kernel(Settings, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new B2Kernel(Settings, 1, 0));
    }
}
