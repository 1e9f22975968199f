using Gpff.Regression.Mapping;

namespace Gpff.Regression.Tests.Mapping;

/// <summary>The uniform cubic B-splines of the mapped GP: interpolation, exactness on cubics, convergence, analytic derivatives.</summary>
public class CubicSplineTests
{
    private static double Cubic(double x) => 0.3 - 1.2 * x + 0.7 * x * x - 0.25 * x * x * x;

    private static double[] Grid(double lo, double hi, int n, Func<double, double> f) => Enumerable.Range(0, n).Select(k => f(lo + (hi - lo) * k / (n - 1))).ToArray();

    [Fact]
    public void OneDimensionalSplineReproducesACubicExactlyUpToTheEnds()
    {
        // Not-a-knot end conditions reproduce any cubic; natural ones would not (f'' ≠ 0 at the ends).
        var s = UniformCubicSpline.Interpolate(1.5, 4.0, Grid(1.5, 4.0, 9, Cubic));
        foreach (double x in new[] { 1.5, 1.5001, 1.77, 2.9, 3.999, 4.0 })
        {
            double v = s.Evaluate(x, out double d);
            Assert.Equal(Cubic(x), v, 12);
            Assert.Equal(-1.2 + 1.4 * x - 0.75 * x * x, d, 11);
        }
    }

    [Fact]
    public void OneDimensionalSplineInterpolatesAndConvergesAtFourthOrder()
    {
        static double F(double x) => Math.Exp(-x) * Math.Sin(3 * x);
        double Error(int n)
        {
            var s = UniformCubicSpline.Interpolate(0, 2, Grid(0, 2, n, F));
            for (int k = 0; k < n; k++)
            {
                Assert.Equal(F(2.0 * k / (n - 1)), s.Evaluate(2.0 * k / (n - 1), out _), 12);
            }

            return Enumerable.Range(0, 997).Select(i => 2.0 * i / 996).Max(x => Math.Abs(s.Evaluate(x, out _) - F(x)));
        }

        double coarse = Error(16), fine = Error(32);
        Assert.True(coarse / fine > 10, $"halving h should cut the error about 16×: {coarse:E2} → {fine:E2}");
    }

    [Fact]
    public void OneDimensionalDerivativeIsTheDerivativeOfTheSpline()
    {
        var s = UniformCubicSpline.Interpolate(0, 2, Grid(0, 2, 11, x => Math.Cos(2 * x) / (1 + x)));
        const double h = 1e-6;
        foreach (double x in new[] { 0.013, 0.41, 0.999, 1.37, 1.9 })
        {
            s.Evaluate(x, out double d);
            double fd = (s.Evaluate(x + h, out _) - s.Evaluate(x - h, out _)) / (2 * h);
            Assert.True(Math.Abs(d - fd) < 1e-8, $"x = {x}: analytic {d}, finite difference {fd}");
        }
    }

    private static double Tri(double x, double y, double z) => Cubic(x) * (1 + 0.5 * y * y * y - y) + z * z * z * x - 2 * y * z;

    private static double[] Grid3(double[] lo, double[] hi, int[] n, Func<double, double, double, double> f)
    {
        var v = new double[n[0] * n[1] * n[2]];
        for (int i = 0; i < n[0]; i++)
        {
            for (int j = 0; j < n[1]; j++)
            {
                for (int k = 0; k < n[2]; k++)
                {
                    v[(i * n[1] + j) * n[2] + k] = f(lo[0] + (hi[0] - lo[0]) * i / (n[0] - 1), lo[1] + (hi[1] - lo[1]) * j / (n[1] - 1), lo[2] + (hi[2] - lo[2]) * k / (n[2] - 1));
                }
            }
        }

        return v;
    }

    [Fact]
    public void TricubicSplineReproducesATricubicPolynomialWithItsGradient()
    {
        double[] lo = [1.0, 1.2, 0.8], hi = [3.0, 3.5, 3.0];
        int[] n = [6, 7, 8];
        var s = TricubicSpline.Interpolate(lo, hi, n, Grid3(lo, hi, n, Tri));
        var rng = new Random(3);
        const double h = 1e-6;
        for (int trial = 0; trial < 20; trial++)
        {
            double x = lo[0] + rng.NextDouble() * 2, y = lo[1] + rng.NextDouble() * 2.3, z = lo[2] + rng.NextDouble() * 2.2;
            double v = s.Evaluate(x, y, z, out double gx, out double gy, out double gz);
            Assert.Equal(Tri(x, y, z), v, 10);
            Assert.Equal((Tri(x + h, y, z) - Tri(x - h, y, z)) / (2 * h), gx, 6);
            Assert.Equal((Tri(x, y + h, z) - Tri(x, y - h, z)) / (2 * h), gy, 6);
            Assert.Equal((Tri(x, y, z + h) - Tri(x, y, z - h)) / (2 * h), gz, 6);
        }
    }

    [Fact]
    public void TricubicGradientIsTheFiniteDifferenceOfTheSplineOnASmoothFunction()
    {
        static double F(double x, double y, double z) => Math.Exp(-(x - 2) * (x - 2) - 0.5 * (y - 1.8) * (y - 1.8)) * Math.Cos(z);
        double[] lo = [1, 1, 1], hi = [3, 3, 3];
        var s = TricubicSpline.Interpolate(lo, hi, [9, 9, 9], Grid3(lo, hi, [9, 9, 9], F));
        const double h = 1e-6;
        foreach (var (x, y, z) in new[] { (1.01, 2.2, 2.9), (2.5, 1.3, 1.7), (2.999, 2.999, 1.0001) })
        {
            s.Evaluate(x, y, z, out double gx, out double gy, out double gz);
            double Fd(int axis) => (s.Evaluate(x + (axis == 0 ? h : 0), y + (axis == 1 ? h : 0), z + (axis == 2 ? h : 0), out _, out _, out _)
                - s.Evaluate(x - (axis == 0 ? h : 0), y - (axis == 1 ? h : 0), z - (axis == 2 ? h : 0), out _, out _, out _)) / (2 * h);
            Assert.True(Math.Abs(gx - Fd(0)) < 1e-7 && Math.Abs(gy - Fd(1)) < 1e-7 && Math.Abs(gz - Fd(2)) < 1e-7, $"gradient at ({x}, {y}, {z})");
            Assert.True(Math.Abs(s.Evaluate(x, y, z, out _, out _, out _) - F(x, y, z)) < 5e-3, "a 9³ grid interpolates a smooth function closely");
        }
    }

    [Fact]
    public void BadGridsAreRefusedWithTheReason()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => UniformCubicSpline.Interpolate(0, 1, [1, 2, 3, 4]));
        Assert.Contains("5 to 1024 grid points, got 4", e.Message);
        var b = Assert.Throws<ArgumentException>(() => UniformCubicSpline.Interpolate(2, 1, new double[6]));
        Assert.Contains("lower < upper", b.Message);
        var c = Assert.Throws<ArgumentException>(() => new UniformCubicSpline(0, 1, 6, new double[6]));
        Assert.Contains("has 8 coefficients, got 6", c.Message);
        var t = Assert.Throws<ArgumentException>(() => TricubicSpline.Interpolate([0, 0, 0], [1, 1, 1], [5, 5, 5], new double[124]));
        Assert.Contains("has 125 values, got 124", t.Message);
    }
}
