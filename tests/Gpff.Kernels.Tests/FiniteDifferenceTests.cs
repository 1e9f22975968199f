namespace Gpff.Kernels.Tests;

/// <summary>Every block equals the corresponding derivative of the total-energy kernel (central differences).</summary>
public class FiniteDifferenceTests
{
    private const double H = 1e-4;
    private const double Rel = 1e-6;

    private static (Structure A, Structure B)[] Pairs =>
    [
        (TestData.SmallCell(31), TestData.Ternary(32)),
        (TestData.Binary(33), TestData.SmallCell(34)),
    ];

    private static readonly SumKernel Kernel = TestData.TwoPlusThree();

    private static double Scale(IKernel k, Structure a, Structure b) =>
        Math.Sqrt(Math.Abs(TestData.EnergyKernel(k, a, a) * TestData.EnergyKernel(k, b, b))) / 9;

    [Fact]
    public void ForceForceIsTheMixedSecondDerivative()
    {
        foreach (var (a, b) in Pairs)
        {
            var block = TestData.Block(Kernel, a, LabelSelection.All(a.AtomCount, false) with { Energy = false }, b, LabelSelection.All(b.AtomCount, false) with { Energy = false });
            int nc = 3 * b.AtomCount;
            double scale = Scale(Kernel, a, b);
            var rng = new Random(5);
            for (int trial = 0; trial < 6; trial++)
            {
                int i = rng.Next(a.AtomCount), al = rng.Next(3), m = rng.Next(b.AtomCount), be = rng.Next(3);
                double pp = TestData.EnergyKernel(Kernel, TestData.Moved(a, i, al, H), TestData.Moved(b, m, be, H));
                double pm = TestData.EnergyKernel(Kernel, TestData.Moved(a, i, al, H), TestData.Moved(b, m, be, -H));
                double mp = TestData.EnergyKernel(Kernel, TestData.Moved(a, i, al, -H), TestData.Moved(b, m, be, H));
                double mm = TestData.EnergyKernel(Kernel, TestData.Moved(a, i, al, -H), TestData.Moved(b, m, be, -H));
                double fd = (pp - pm - mp + mm) / (4 * H * H); // cov(F, F) = +∂²K/∂r∂r′
                TestData.AssertClose(fd, block[(3 * i + al) * nc + 3 * m + be], Rel, 1e-7 * scale, $"F{i}{al}-F{m}{be}");
            }
        }
    }

    [Fact]
    public void EnergyForceIsMinusTheFirstDerivative()
    {
        foreach (var (a, b) in Pairs)
        {
            var cols = LabelSelection.Forces(Enumerable.Range(0, b.AtomCount).ToArray());
            var block = TestData.Block(Kernel, a, LabelSelection.TotalEnergy, b, cols);
            var blockT = TestData.Block(Kernel, b, cols, a, LabelSelection.TotalEnergy);
            double scale = Scale(Kernel, a, b);
            for (int m = 0; m < b.AtomCount; m++)
            {
                for (int be = 0; be < 3; be++)
                {
                    double fd = -(TestData.EnergyKernel(Kernel, a, TestData.Moved(b, m, be, H)) - TestData.EnergyKernel(Kernel, a, TestData.Moved(b, m, be, -H))) / (2 * H);
                    TestData.AssertClose(fd, block[3 * m + be], Rel, 1e-8 * scale, $"E-F{m}{be}");
                    TestData.AssertClose(fd, blockT[3 * m + be], Rel, 1e-8 * scale, $"F{m}{be}-E");
                }
            }
        }
    }

    [Fact]
    public void LocalEnergyForceIsMinusTheFirstDerivative()
    {
        var (a, b) = Pairs[0];
        var rows = LabelSelection.LocalEnergies(0, 1);
        var block = TestData.Block(Kernel, a, rows, b, LabelSelection.Forces(Enumerable.Range(0, b.AtomCount).ToArray()));
        int nc = 3 * b.AtomCount;
        for (int c = 0; c < 2; c++)
        {
            for (int m = 0; m < b.AtomCount; m++)
            {
                for (int be = 0; be < 3; be++)
                {
                    double Le(Structure bb) => TestData.Block(Kernel, a, LabelSelection.LocalEnergies(c), bb, LabelSelection.TotalEnergy)[0];
                    double fd = -(Le(TestData.Moved(b, m, be, H)) - Le(TestData.Moved(b, m, be, -H))) / (2 * H);
                    TestData.AssertClose(fd, block[c * nc + 3 * m + be], Rel, 1e-9, $"eps{c}-F{m}{be}");
                }
            }
        }
    }

    [Fact]
    public void StressBlocksAreStrainDerivativesPerVolume()
    {
        foreach (var (a, b) in Pairs)
        {
            var sa = new LabelSelection { Stress = true };
            var sb = new LabelSelection { Stress = true };
            var se = TestData.Block(Kernel, a, sa, b, LabelSelection.TotalEnergy);
            var ss = TestData.Block(Kernel, a, sa, b, sb);
            var fcols = LabelSelection.Forces(0);
            var sf = TestData.Block(Kernel, a, sa, b, fcols);
            double va = a.VolumeA3, vb = b.VolumeA3;
            double scale = Scale(Kernel, a, b) / (va * vb);
            for (int v = 0; v < 6; v++)
            {
                double fd = (TestData.EnergyKernel(Kernel, TestData.Deformed(a, v, H), b) - TestData.EnergyKernel(Kernel, TestData.Deformed(a, v, -H), b)) / (2 * H) / va;
                TestData.AssertClose(fd, se[v], Rel, 1e-8 * scale * vb, $"S{v}-E");

                // stress–force: −∂/∂r_0β of the stress–energy derivative
                for (int be = 0; be < 3; be++)
                {
                    double D(double hr, double hs) => TestData.EnergyKernel(Kernel, TestData.Deformed(a, v, hs), TestData.Moved(b, 0, be, hr));
                    double fd2 = -(D(H, H) - D(-H, H) - D(H, -H) + D(-H, -H)) / (4 * H * H) / va;
                    TestData.AssertClose(fd2, sf[3 * v + be], Rel, 1e-7 * scale * vb, $"S{v}-F0{be}");
                }

                for (int w = 0; w < 6; w++)
                {
                    // Mixed second difference, Richardson-extrapolated from steps 2h and 4h (error O(h⁴)):
                    // the plain 4-point stencil at h divides round-off of the energy kernel by 4h², which
                    // at h = 1e-4 is as large as the tolerance.
                    double D(double h1, double h2) => TestData.EnergyKernel(Kernel, TestData.Deformed(a, v, h1), TestData.Deformed(b, w, h2));
                    double Mixed(double h) => (D(h, h) - D(h, -h) - D(-h, h) + D(-h, -h)) / (4 * h * h);
                    double fd3 = (4 * Mixed(2 * H) - Mixed(4 * H)) / 3 / (va * vb);
                    TestData.AssertClose(fd3, ss[6 * v + w], Rel, 1e-7 * scale, $"S{v}-S{w}");
                }
            }
        }
    }

    [Fact]
    public void HyperparameterDerivativesMatchFiniteDifferences()
    {
        var groups2 = new[] { new SpeciesGroup(["Rh-O"], 1.1, 0.6) };
        var groups3 = new[] { new SpeciesGroup(["Rh-Rh-O", "O-Ba-O"], 0.4, 0.9) };
        var kernel = new SumKernel(new TwoBodyKernel(3.6, 0.9, 0.7, groups: groups2), new ThreeBodyKernel(3.1, 0.6, 0.8, groups: groups3));
        Assert.Equal(["sigma2", "length2", "sigma2[Rh-O]", "length2[Rh-O]", "sigma3", "length3", "sigma3[Rh-Rh-O,O-Ba-O]", "length3[Rh-Rh-O,O-Ba-O]"], kernel.HyperparameterNames);
        var a = TestData.Ternary(41);
        var b = TestData.Ternary(42);
        var ra = TestData.Everything(a.AtomCount);
        var rb = TestData.Everything(b.AtomCount);
        int n = ra.Count * rb.Count, nh = kernel.HyperparameterCount;
        var ea = kernel.Describe(a);
        var eb = kernel.Describe(b);
        var v = new double[n];
        var g = new double[nh * n];
        kernel.Covariance(ea, ra, eb, rb, v, g);
        var v0 = new double[n];
        kernel.Covariance(ea, ra, eb, rb, v0, []);
        for (int i = 0; i < n; i++)
        {
            Assert.Equal(v0[i], v[i], 12);
        }

        var hp = kernel.Hyperparameters.ToArray();
        for (int h = 0; h < nh; h++)
        {
            double step = 1e-5 * hp[h];
            var up = (double[])hp.Clone();
            var dn = (double[])hp.Clone();
            up[h] += step;
            dn[h] -= step;
            var vu = new double[n];
            var vd = new double[n];
            kernel.WithHyperparameters(up).Covariance(ea, ra, eb, rb, vu, []);
            kernel.WithHyperparameters(dn).Covariance(ea, ra, eb, rb, vd, []);
            double scale = vu.Max(Math.Abs);
            double gmax = 0;
            for (int i = 0; i < n; i++)
            {
                double fd = (vu[i] - vd[i]) / (2 * step);
                gmax = Math.Max(gmax, Math.Abs(fd));
                TestData.AssertClose(fd, g[h * n + i], 1e-6, 1e-9 * scale / hp[h], $"d K[{i / rb.Count},{i % rb.Count}] / d {kernel.HyperparameterNames[h]}");
            }

            Assert.True(gmax > 0, $"{kernel.HyperparameterNames[h]} must influence the block");
        }
    }
}
