namespace Gpff.Regression.Optimization;

/// <summary>An objective for <see cref="BoundedLbfgs"/>: returns f(x) and writes ∇f(x) into <c>gradient</c>.
/// Return <see cref="double.NaN"/> or ∞ where f cannot be evaluated (the step is then shortened).</summary>
/// <param name="x">The point.</param>
/// <param name="gradient">Receives the gradient (same length as x).</param>
/// <returns>The function value.</returns>
public delegate double ObjectiveWithGradient(ReadOnlySpan<double> x, Span<double> gradient);

/// <summary>Why an optimisation stopped.</summary>
public enum OptimizationStop
{
    /// <summary>The projected gradient fell below the gradient tolerance.</summary>
    GradientTolerance,

    /// <summary>The relative decrease of f over an iteration fell below the function tolerance.</summary>
    FunctionTolerance,

    /// <summary>The step fell below the step tolerance.</summary>
    StepTolerance,

    /// <summary>The maximum number of iterations was reached before convergence.</summary>
    MaximumIterations,

    /// <summary>No step along the search direction decreased f (line search failed at the current point).</summary>
    LineSearchFailed,
}

/// <summary>One iteration of an optimisation, for progress reports.</summary>
/// <param name="Iteration">Iteration number (1-based).</param>
/// <param name="Value">f at the current point.</param>
/// <param name="ProjectedGradientNorm">Largest component of the projected gradient.</param>
/// <param name="X">The current point (a copy).</param>
public sealed record OptimizationProgress(int Iteration, double Value, double ProjectedGradientNorm, double[] X);

/// <summary>The outcome of an optimisation.</summary>
public sealed record OptimizationResult
{
    /// <summary>The best point found.</summary>
    public required double[] X { get; init; }

    /// <summary>f at <see cref="X"/>.</summary>
    public required double Value { get; init; }

    /// <summary>∇f at <see cref="X"/>.</summary>
    public required double[] Gradient { get; init; }

    /// <summary>f at the starting point.</summary>
    public required double InitialValue { get; init; }

    /// <summary>Iterations done.</summary>
    public required int Iterations { get; init; }

    /// <summary>Evaluations of f and ∇f.</summary>
    public required int Evaluations { get; init; }

    /// <summary>Why it stopped.</summary>
    public required OptimizationStop Stop { get; init; }

    /// <summary>True when it stopped on a tolerance (not on the iteration limit or a failed line search).</summary>
    public bool Converged => Stop is OptimizationStop.GradientTolerance or OptimizationStop.FunctionTolerance or OptimizationStop.StepTolerance;

    /// <summary>Indices of the variables that ended on a bound.</summary>
    public required int[] AtBound { get; init; }

    /// <summary>A one-line human-readable summary.</summary>
    public override string ToString() =>
        FormattableString.Invariant($"{(Converged ? "converged" : "NOT converged")} ({Stop}) after {Iterations} iterations, {Evaluations} evaluations: f {InitialValue:G8} → {Value:G8}{(AtBound.Length > 0 ? $"; at a bound: {string.Join(", ", AtBound)}" : string.Empty)}");
}

/// <summary>
/// Limited-memory BFGS with box bounds (projected search directions and a projected backtracking
/// line search), for smooth objectives of a few to a few hundred variables such as a negative log
/// marginal likelihood in log-hyperparameters. Function values that are NaN or infinite (a kernel
/// matrix that is not positive definite, say) shorten the step instead of failing.
/// </summary>
public sealed class BoundedLbfgs
{
    /// <summary>Number of correction pairs kept (default 8).</summary>
    public int Memory { get; init; } = 8;

    /// <summary>Maximum number of iterations (default 100).</summary>
    public int MaxIterations { get; init; } = 100;

    /// <summary>Stop when the largest projected-gradient component is below this (default 1e-5).</summary>
    public double GradientTolerance { get; init; } = 1e-5;

    /// <summary>Stop when (f_old − f_new) / max(|f_old|, |f_new|, 1) is below this (default 1e-10).</summary>
    public double FunctionTolerance { get; init; } = 1e-10;

    /// <summary>Stop when the largest step component is below this (default 1e-10).</summary>
    public double StepTolerance { get; init; } = 1e-10;

    /// <summary>Minimises f within the box [lower, upper].</summary>
    /// <param name="objective">f and its gradient.</param>
    /// <param name="start">Starting point (moved into the box if outside).</param>
    /// <param name="lower">Lower bounds (use −∞ for none).</param>
    /// <param name="upper">Upper bounds (use +∞ for none).</param>
    /// <param name="progress">Receives one report per iteration.</param>
    /// <param name="cancellationToken">Cancels between evaluations.</param>
    /// <returns>The best point and a convergence report.</returns>
    /// <exception cref="ArgumentException">Bounds of the wrong length or crossed, or f not finite at the start.</exception>
    public OptimizationResult Minimize(ObjectiveWithGradient objective, ReadOnlySpan<double> start, ReadOnlySpan<double> lower, ReadOnlySpan<double> upper,
        IProgress<OptimizationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(objective);
        int n = start.Length;
        if (lower.Length != n || upper.Length != n)
        {
            throw new ArgumentException($"The bounds have {lower.Length} and {upper.Length} entries for {n} variables.");
        }

        var lo = lower.ToArray();
        var hi = upper.ToArray();
        for (int i = 0; i < n; i++)
        {
            if (!(lo[i] <= hi[i]))
            {
                throw new ArgumentException($"Variable {i}: lower bound {lo[i]} is above upper bound {hi[i]}.");
            }
        }

        var x = start.ToArray();
        Project(x, lo, hi);
        var g = new double[n];
        int evaluations = 0;
        double f = Evaluate(objective, x, g, ref evaluations, cancellationToken);
        if (!double.IsFinite(f))
        {
            throw new ArgumentException($"The objective is not finite ({f}) at the starting point [{string.Join(", ", x)}].");
        }

        double f0 = f;
        var sList = new List<double[]>();
        var yList = new List<double[]>();
        var d = new double[n];
        var xNew = new double[n];
        var gNew = new double[n];
        int iter = 0;
        OptimizationStop stop = OptimizationStop.MaximumIterations;
        while (true)
        {
            double pg = ProjectedGradientNorm(x, g, lo, hi);
            if (pg < GradientTolerance)
            {
                stop = OptimizationStop.GradientTolerance;
                break;
            }

            if (iter >= MaxIterations)
            {
                stop = OptimizationStop.MaximumIterations;
                break;
            }

            cancellationToken.ThrowIfCancellationRequested();
            iter++;

            // Free variables: not at a bound with the gradient pushing outwards.
            var free = new bool[n];
            for (int i = 0; i < n; i++)
            {
                free[i] = !((x[i] <= lo[i] && g[i] > 0) || (x[i] >= hi[i] && g[i] < 0));
            }

            Direction(g, free, sList, yList, d);
            double slope = Dot(g, d);
            if (!(slope < 0))
            {
                sList.Clear();
                yList.Clear();
                for (int i = 0; i < n; i++)
                {
                    d[i] = free[i] ? -g[i] : 0;
                }

                slope = Dot(g, d);
            }

            // First iteration without curvature information: a cautious unit-length step.
            double alpha = sList.Count == 0 ? Math.Min(1.0, 1.0 / Math.Max(1e-300, Norm(d))) : 1.0;
            double fNew = double.NaN;
            bool accepted = false;
            for (int ls = 0; ls < 60; ls++)
            {
                for (int i = 0; i < n; i++)
                {
                    xNew[i] = Math.Clamp(x[i] + alpha * d[i], lo[i], hi[i]);
                }

                double decrease = 0;
                for (int i = 0; i < n; i++)
                {
                    decrease += g[i] * (xNew[i] - x[i]);
                }

                fNew = Evaluate(objective, xNew, gNew, ref evaluations, cancellationToken);
                if (double.IsFinite(fNew) && fNew <= f + 1e-4 * decrease)
                {
                    accepted = true;
                    break;
                }

                alpha *= double.IsFinite(fNew) ? 0.5 : 0.1;
            }

            if (!accepted)
            {
                stop = OptimizationStop.LineSearchFailed;
                break;
            }

            var s = new double[n];
            var y = new double[n];
            double maxStep = 0;
            for (int i = 0; i < n; i++)
            {
                s[i] = xNew[i] - x[i];
                y[i] = gNew[i] - g[i];
                maxStep = Math.Max(maxStep, Math.Abs(s[i]));
            }

            double fOld = f;
            Array.Copy(xNew, x, n);
            Array.Copy(gNew, g, n);
            f = fNew;
            if (Dot(s, y) > 1e-12 * Dot(y, y))
            {
                sList.Add(s);
                yList.Add(y);
                if (sList.Count > Memory)
                {
                    sList.RemoveAt(0);
                    yList.RemoveAt(0);
                }
            }

            progress?.Report(new OptimizationProgress(iter, f, ProjectedGradientNorm(x, g, lo, hi), (double[])x.Clone()));
            if ((fOld - f) / Math.Max(Math.Max(Math.Abs(fOld), Math.Abs(f)), 1.0) < FunctionTolerance)
            {
                stop = OptimizationStop.FunctionTolerance;
                break;
            }

            if (maxStep < StepTolerance)
            {
                stop = OptimizationStop.StepTolerance;
                break;
            }
        }

        var atBound = Enumerable.Range(0, n).Where(i => x[i] <= lo[i] || x[i] >= hi[i]).ToArray();
        return new OptimizationResult
        {
            X = x,
            Value = f,
            Gradient = g,
            InitialValue = f0,
            Iterations = iter,
            Evaluations = evaluations,
            Stop = stop,
            AtBound = atBound,
        };
    }

    private static double Evaluate(ObjectiveWithGradient objective, double[] x, double[] g, ref int evaluations, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        evaluations++;
        Array.Clear(g);
        double f = objective(x, g);
        if (double.IsFinite(f) && g.Any(v => !double.IsFinite(v)))
        {
            return double.NaN;
        }

        return f;
    }

    /// <summary>Two-loop recursion on the free variables: d = −H g, zero on fixed ones.</summary>
    private static void Direction(double[] g, bool[] free, List<double[]> sList, List<double[]> yList, double[] d)
    {
        int n = g.Length, m = sList.Count;
        for (int i = 0; i < n; i++)
        {
            d[i] = free[i] ? -g[i] : 0;
        }

        var a = new double[m];
        for (int k = m - 1; k >= 0; k--)
        {
            double sy = MaskedDot(sList[k], yList[k], free);
            if (sy <= 0)
            {
                continue;
            }

            a[k] = MaskedDot(sList[k], d, free) / sy;
            for (int i = 0; i < n; i++)
            {
                if (free[i])
                {
                    d[i] -= a[k] * yList[k][i];
                }
            }
        }

        if (m > 0)
        {
            double sy = MaskedDot(sList[m - 1], yList[m - 1], free);
            double yy = MaskedDot(yList[m - 1], yList[m - 1], free);
            double gamma = sy > 0 && yy > 0 ? sy / yy : 1.0;
            for (int i = 0; i < n; i++)
            {
                d[i] *= gamma;
            }
        }

        for (int k = 0; k < m; k++)
        {
            double sy = MaskedDot(sList[k], yList[k], free);
            if (sy <= 0)
            {
                continue;
            }

            double b = MaskedDot(yList[k], d, free) / sy;
            for (int i = 0; i < n; i++)
            {
                if (free[i])
                {
                    d[i] += (a[k] - b) * sList[k][i];
                }
            }
        }
    }

    private static double ProjectedGradientNorm(double[] x, double[] g, double[] lo, double[] hi)
    {
        double m = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double step = Math.Clamp(x[i] - g[i], lo[i], hi[i]) - x[i];
            m = Math.Max(m, Math.Abs(step));
        }

        return m;
    }

    private static void Project(double[] x, double[] lo, double[] hi)
    {
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = Math.Clamp(x[i], lo[i], hi[i]);
        }
    }

    private static double Dot(double[] a, double[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++)
        {
            s += a[i] * b[i];
        }

        return s;
    }

    private static double MaskedDot(double[] a, double[] b, bool[] mask)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++)
        {
            if (mask[i])
            {
                s += a[i] * b[i];
            }
        }

        return s;
    }

    private static double Norm(double[] a) => Math.Sqrt(Dot(a, a));
}
