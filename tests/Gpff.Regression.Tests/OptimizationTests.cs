using Gpff.Regression.Optimization;

namespace Gpff.Regression.Tests;

public class OptimizationTests
{
    private static double Rosenbrock(ReadOnlySpan<double> x, Span<double> g)
    {
        double f = 0;
        g.Clear();
        for (int i = 0; i + 1 < x.Length; i++)
        {
            double a = x[i + 1] - x[i] * x[i], b = 1 - x[i];
            f += 100 * a * a + b * b;
            g[i] += -400 * a * x[i] - 2 * b;
            g[i + 1] += 200 * a;
        }

        return f;
    }

    [Fact]
    public void FindsTheRosenbrockMinimumWithoutActiveBounds()
    {
        var r = new BoundedLbfgs { MaxIterations = 500, GradientTolerance = 1e-8 }
            .Minimize(Rosenbrock, [-1.2, 1.0, -0.5, 0.8], [-5, -5, -5, -5], [5, 5, 5, 5]);
        Assert.True(r.Converged, r.ToString());
        Assert.All(r.X, v => Assert.Equal(1.0, v, 5));
        Assert.Empty(r.AtBound);
        Assert.True(r.Value < r.InitialValue);
    }

    [Fact]
    public void StopsOnAnActiveBoundWithTheConstrainedMinimum()
    {
        // min (x-3)² + (y+1)² on [0,2]×[0,2]: the constrained minimum is (2, 0), both on bounds.
        static double F(ReadOnlySpan<double> x, Span<double> g)
        {
            g[0] = 2 * (x[0] - 3);
            g[1] = 2 * (x[1] + 1);
            return (x[0] - 3) * (x[0] - 3) + (x[1] + 1) * (x[1] + 1);
        }

        var r = new BoundedLbfgs().Minimize(F, [0.5, 1.5], [0, 0], [2, 2]);
        Assert.True(r.Converged, r.ToString());
        Assert.Equal(2.0, r.X[0], 12);
        Assert.Equal(0.0, r.X[1], 12);
        Assert.Equal([0, 1], r.AtBound);
    }

    [Fact]
    public void NonFiniteValuesShortenTheStepInsteadOfFailing()
    {
        // f is undefined (NaN) for x > 1, like a likelihood whose kernel matrix stops being positive definite.
        static double F(ReadOnlySpan<double> x, Span<double> g)
        {
            if (x[0] > 1)
            {
                return double.NaN;
            }

            g[0] = 2 * (x[0] - 0.9);
            return (x[0] - 0.9) * (x[0] - 0.9);
        }

        var r = new BoundedLbfgs().Minimize(F, [-3], [double.NegativeInfinity], [double.PositiveInfinity]);
        Assert.True(r.Converged, r.ToString());
        Assert.Equal(0.9, r.X[0], 5);
    }

    [Fact]
    public void ReportsTheIterationLimitAndProgressAndHonoursCancellation()
    {
        var reports = new List<OptimizationProgress>();
        var progress = new SyncProgress<OptimizationProgress>(reports.Add);
        var r = new BoundedLbfgs { MaxIterations = 3 }.Minimize(Rosenbrock, [-1.2, 1.0], [-5, -5], [5, 5], progress);
        Assert.False(r.Converged);
        Assert.Equal(OptimizationStop.MaximumIterations, r.Stop);
        Assert.Contains("NOT converged", r.ToString());
        Assert.Equal(3, reports.Count);
        Assert.True(reports[^1].Value <= reports[0].Value);

        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.Throws<OperationCanceledException>(() => new BoundedLbfgs().Minimize(Rosenbrock, [0, 0], [-5, -5], [5, 5], cancellationToken: cts.Token));
    }

    [Fact]
    public void BadInputIsAClearError()
    {
        var e = Assert.Throws<ArgumentException>(() => new BoundedLbfgs().Minimize(Rosenbrock, [0, 0], [1, 0], [0, 1]));
        Assert.Contains("Variable 0: lower bound 1 is above upper bound 0", e.Message);
        e = Assert.Throws<ArgumentException>(() => new BoundedLbfgs().Minimize((x, g) => double.NaN, [0.5], [0], [1]));
        Assert.Contains("not finite", e.Message);
        Assert.Contains("starting point", e.Message);
    }

    private sealed class SyncProgress<T>(Action<T> action) : IProgress<T>
    {
        public void Report(T value) => action(value);
    }
}
