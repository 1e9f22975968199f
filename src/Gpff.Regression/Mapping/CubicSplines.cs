using System.Collections.Concurrent;

namespace Gpff.Regression.Mapping;

/// <summary>
/// An interpolating cubic B-spline on a uniform grid of <see cref="Points"/> values over
/// [<see cref="LowerA"/>, <see cref="UpperA"/>] (Å): s(x) = Σ_j c_j B((x − x₀)/h − j + 1), j = 0 … n + 1,
/// with B the uniform cubic B-spline. The n + 2 coefficients interpolate the n values exactly and the
/// two "not-a-knot" conditions (third derivative continuous at the second and the last-but-one grid
/// point) close the system, so that the error is O(h⁴) up to the ends of the grid (O(h³) for the
/// derivative). s is twice continuously differentiable, and its derivative is analytic. Immutable.
/// </summary>
public sealed class UniformCubicSpline
{
    /// <summary>The fewest grid points a spline takes (the two not-a-knot conditions must be independent).</summary>
    public const int MinimumPoints = 5;

    private readonly double[] _c;
    private readonly double _invH;

    /// <summary>Creates a spline from its coefficients (as stored by <see cref="Coefficients"/>).</summary>
    /// <param name="lowerA">First grid point in Å.</param>
    /// <param name="upperA">Last grid point in Å.</param>
    /// <param name="points">Number of grid points n.</param>
    /// <param name="coefficients">The n + 2 B-spline coefficients.</param>
    public UniformCubicSpline(double lowerA, double upperA, int points, double[] coefficients)
    {
        ArgumentNullException.ThrowIfNull(coefficients);
        SplineSolver.CheckAxis(lowerA, upperA, points, "spline");
        if (coefficients.Length != points + 2)
        {
            throw new ArgumentException($"A cubic spline on {points} points has {points + 2} coefficients, got {coefficients.Length}.", nameof(coefficients));
        }

        LowerA = lowerA;
        UpperA = upperA;
        Points = points;
        _c = coefficients;
        _invH = (points - 1) / (upperA - lowerA);
    }

    /// <summary>First grid point in Å.</summary>
    public double LowerA { get; }

    /// <summary>Last grid point in Å.</summary>
    public double UpperA { get; }

    /// <summary>Number of grid points.</summary>
    public int Points { get; }

    /// <summary>Grid spacing in Å.</summary>
    public double SpacingA => (UpperA - LowerA) / (Points - 1);

    /// <summary>The n + 2 B-spline coefficients (eV for an energy map).</summary>
    public ReadOnlySpan<double> Coefficients => _c;

    /// <summary>The spline that interpolates <paramref name="values"/> at the uniform grid over [lowerA, upperA].</summary>
    /// <param name="lowerA">First grid point.</param>
    /// <param name="upperA">Last grid point.</param>
    /// <param name="values">Values at the n grid points (n ≥ <see cref="MinimumPoints"/>).</param>
    public static UniformCubicSpline Interpolate(double lowerA, double upperA, ReadOnlySpan<double> values)
    {
        int n = values.Length;
        SplineSolver.CheckAxis(lowerA, upperA, n, "spline");
        var c = new double[n + 2];
        SplineSolver.Solve(n, values, c, 1, 1);
        return new UniformCubicSpline(lowerA, upperA, n, c);
    }

    /// <summary>
    /// The value and derivative at <paramref name="x"/>. Inside [<see cref="LowerA"/>, <see cref="UpperA"/>]
    /// the spline interpolates; outside it continues the end polynomial pieces, which callers must not rely on
    /// (the mapped force field checks the range first).
    /// </summary>
    /// <param name="x">Abscissa in Å.</param>
    /// <param name="derivative">ds/dx.</param>
    /// <returns>s(x).</returns>
    public double Evaluate(double x, out double derivative)
    {
        double t = (x - LowerA) * _invH;
        int k = Math.Clamp((int)Math.Floor(t), 0, Points - 2);
        double u = t - k;
        SplineSolver.Basis(u, out double b0, out double b1, out double b2, out double b3, out double d0, out double d1, out double d2, out double d3);
        double c0 = _c[k], c1 = _c[k + 1], c2 = _c[k + 2], c3 = _c[k + 3];
        derivative = (c0 * d0 + c1 * d1 + c2 * d2 + c3 * d3) * _invH;
        return c0 * b0 + c1 * b1 + c2 * b2 + c3 * b3;
    }
}

/// <summary>
/// The tensor-product (tricubic) version of <see cref="UniformCubicSpline"/> over a box
/// [lower₀, upper₀] × [lower₁, upper₁] × [lower₂, upper₂] (Å) with a uniform grid along each axis:
/// interpolating, not-a-knot along every axis, C² with analytic partial derivatives. Coefficients are
/// stored axis 0 slowest: index (i₀ (m₁ + 2) + i₁)(m₂ + 2) + i₂ for mₐ grid points along axis a. Immutable.
/// </summary>
public sealed class TricubicSpline
{
    private readonly double[] _c;
    private readonly double[] _lower;
    private readonly double[] _upper;
    private readonly int[] _points;
    private readonly double[] _invH;
    private readonly int _s1;
    private readonly int _s0;

    /// <summary>Creates a spline from its coefficients (as stored by <see cref="Coefficients"/>).</summary>
    /// <param name="lowerA">First grid point of each axis in Å.</param>
    /// <param name="upperA">Last grid point of each axis in Å.</param>
    /// <param name="points">Grid points along each axis.</param>
    /// <param name="coefficients">(m₀ + 2)(m₁ + 2)(m₂ + 2) coefficients, axis 0 slowest.</param>
    public TricubicSpline(IReadOnlyList<double> lowerA, IReadOnlyList<double> upperA, IReadOnlyList<int> points, double[] coefficients)
    {
        ArgumentNullException.ThrowIfNull(lowerA);
        ArgumentNullException.ThrowIfNull(upperA);
        ArgumentNullException.ThrowIfNull(points);
        ArgumentNullException.ThrowIfNull(coefficients);
        if (lowerA.Count != 3 || upperA.Count != 3 || points.Count != 3)
        {
            throw new ArgumentException("A tricubic spline needs three lower bounds, three upper bounds and three grid sizes.");
        }

        for (int a = 0; a < 3; a++)
        {
            SplineSolver.CheckAxis(lowerA[a], upperA[a], points[a], $"tricubic spline, axis {a}");
        }

        long count = (long)(points[0] + 2) * (points[1] + 2) * (points[2] + 2);
        if (coefficients.Length != count)
        {
            throw new ArgumentException($"A tricubic spline on {points[0]} × {points[1]} × {points[2]} points has {count} coefficients, got {coefficients.Length}.", nameof(coefficients));
        }

        _lower = lowerA.ToArray();
        _upper = upperA.ToArray();
        _points = points.ToArray();
        _invH = [.. Enumerable.Range(0, 3).Select(a => (_points[a] - 1) / (_upper[a] - _lower[a]))];
        _c = coefficients;
        _s1 = _points[2] + 2;
        _s0 = (_points[1] + 2) * _s1;
    }

    /// <summary>First grid point of each axis in Å.</summary>
    public IReadOnlyList<double> LowerA => _lower;

    /// <summary>Last grid point of each axis in Å.</summary>
    public IReadOnlyList<double> UpperA => _upper;

    /// <summary>Grid points along each axis.</summary>
    public IReadOnlyList<int> Points => _points;

    /// <summary>The coefficients, axis 0 slowest (eV for an energy map).</summary>
    public ReadOnlySpan<double> Coefficients => _c;

    /// <summary>
    /// The spline that interpolates <paramref name="values"/> (m₀ × m₁ × m₂ grid values, axis 0 slowest) on
    /// the uniform grid of the box.
    /// </summary>
    /// <param name="lowerA">First grid point of each axis.</param>
    /// <param name="upperA">Last grid point of each axis.</param>
    /// <param name="points">Grid points along each axis (each ≥ <see cref="UniformCubicSpline.MinimumPoints"/>).</param>
    /// <param name="values">The grid values.</param>
    public static TricubicSpline Interpolate(IReadOnlyList<double> lowerA, IReadOnlyList<double> upperA, IReadOnlyList<int> points, ReadOnlySpan<double> values)
    {
        ArgumentNullException.ThrowIfNull(points);
        if (points.Count != 3)
        {
            throw new ArgumentException("A tricubic spline needs three grid sizes.", nameof(points));
        }

        int m0 = points[0], m1 = points[1], m2 = points[2];
        for (int a = 0; a < 3; a++)
        {
            SplineSolver.CheckAxis(lowerA[a], upperA[a], points[a], $"tricubic spline, axis {a}");
        }

        if (values.Length != m0 * m1 * m2)
        {
            throw new ArgumentException($"A {m0} × {m1} × {m2} grid has {m0 * m1 * m2} values, got {values.Length}.", nameof(values));
        }

        // Axis 2 (fastest): values [m0][m1][m2] → a [m0][m1][m2 + 2].
        int n2 = m2 + 2, n1 = m1 + 2, n0 = m0 + 2;
        var a2 = new double[m0 * m1 * n2];
        for (int i = 0; i < m0 * m1; i++)
        {
            SplineSolver.Solve(m2, values.Slice(i * m2, m2), a2.AsSpan(i * n2, n2), 1, 1);
        }

        // Axis 1: a [m0][m1][n2] → b [m0][n1][n2], lines of stride n2.
        var a1 = new double[m0 * n1 * n2];
        var line = new double[Math.Max(m0, Math.Max(m1, m2))];
        for (int i = 0; i < m0; i++)
        {
            for (int k = 0; k < n2; k++)
            {
                for (int j = 0; j < m1; j++)
                {
                    line[j] = a2[(i * m1 + j) * n2 + k];
                }

                SplineSolver.Solve(m1, line.AsSpan(0, m1), a1.AsSpan(i * n1 * n2 + k), n2, 1);
            }
        }

        // Axis 0: b [m0][n1][n2] → c [n0][n1][n2], lines of stride n1 n2.
        var c = new double[n0 * n1 * n2];
        int plane = n1 * n2;
        for (int jk = 0; jk < plane; jk++)
        {
            for (int i = 0; i < m0; i++)
            {
                line[i] = a1[i * plane + jk];
            }

            SplineSolver.Solve(m0, line.AsSpan(0, m0), c.AsSpan(jk), plane, 1);
        }

        return new TricubicSpline(lowerA, upperA, points, c);
    }

    /// <summary>The value and its three partial derivatives at (x₀, x₁, x₂) (see <see cref="UniformCubicSpline.Evaluate"/> for points outside the box).</summary>
    /// <param name="x0">Coordinate along axis 0 (Å).</param>
    /// <param name="x1">Coordinate along axis 1 (Å).</param>
    /// <param name="x2">Coordinate along axis 2 (Å).</param>
    /// <param name="g0">∂s/∂x₀.</param>
    /// <param name="g1">∂s/∂x₁.</param>
    /// <param name="g2">∂s/∂x₂.</param>
    /// <returns>s(x₀, x₁, x₂).</returns>
    public double Evaluate(double x0, double x1, double x2, out double g0, out double g1, out double g2)
    {
        Span<double> b = stackalloc double[12];
        Span<double> d = stackalloc double[12];
        int k0 = Cell(0, x0, b[..4], d[..4]);
        int k1 = Cell(1, x1, b.Slice(4, 4), d.Slice(4, 4));
        int k2 = Cell(2, x2, b.Slice(8, 4), d.Slice(8, 4));
        double v = 0, s0 = 0, s1 = 0, s2 = 0;
        var c = _c;
        for (int i = 0; i < 4; i++)
        {
            double vi = 0, di1 = 0, di2 = 0;
            for (int j = 0; j < 4; j++)
            {
                int o = (k0 + i) * _s0 + (k1 + j) * _s1 + k2;
                double c0 = c[o], c1 = c[o + 1], c2 = c[o + 2], c3 = c[o + 3];
                double w = c0 * b[8] + c1 * b[9] + c2 * b[10] + c3 * b[11];
                double wd = c0 * d[8] + c1 * d[9] + c2 * d[10] + c3 * d[11];
                vi += b[4 + j] * w;
                di1 += d[4 + j] * w;
                di2 += b[4 + j] * wd;
            }

            v += b[i] * vi;
            s0 += d[i] * vi;
            s1 += b[i] * di1;
            s2 += b[i] * di2;
        }

        g0 = s0 * _invH[0];
        g1 = s1 * _invH[1];
        g2 = s2 * _invH[2];
        return v;
    }

    private int Cell(int axis, double x, Span<double> b, Span<double> d)
    {
        double t = (x - _lower[axis]) * _invH[axis];
        int k = Math.Clamp((int)Math.Floor(t), 0, _points[axis] - 2);
        SplineSolver.Basis(t - k, out b[0], out b[1], out b[2], out b[3], out d[0], out d[1], out d[2], out d[3]);
        return k;
    }
}

/// <summary>The uniform cubic B-spline basis and the not-a-knot interpolation solve shared by the splines.</summary>
internal static class SplineSolver
{
    /// <summary>The most grid points along one axis (the dense (n + 2)² solve stays cheap).</summary>
    public const int MaximumPoints = 1024;

    private static readonly ConcurrentDictionary<int, double[]> Inverses = new();

    public static void CheckAxis(double lower, double upper, int points, string what)
    {
        if (!double.IsFinite(lower) || !double.IsFinite(upper) || !(upper > lower))
        {
            throw new ArgumentException($"The {what} needs finite bounds with lower < upper, got [{lower}, {upper}] Å.");
        }

        if (points < UniformCubicSpline.MinimumPoints || points > MaximumPoints)
        {
            throw new ArgumentOutOfRangeException(nameof(points), points, $"The {what} needs {UniformCubicSpline.MinimumPoints} to {MaximumPoints} grid points, got {points}.");
        }
    }

    /// <summary>The four B-spline weights and their derivatives (with respect to u) on a grid interval, u ∈ [0, 1].</summary>
    public static void Basis(double u, out double b0, out double b1, out double b2, out double b3, out double d0, out double d1, out double d2, out double d3)
    {
        double v = 1 - u, u2 = u * u, u3 = u2 * u;
        b0 = v * v * v / 6;
        b1 = (3 * u3 - 6 * u2 + 4) / 6;
        b2 = (-3 * u3 + 3 * u2 + 3 * u + 1) / 6;
        b3 = u3 / 6;
        d0 = -0.5 * v * v;
        d1 = 1.5 * u2 - 2 * u;
        d2 = -1.5 * u2 + u + 0.5;
        d3 = 0.5 * u2;
    }

    /// <summary>
    /// The n + 2 coefficients (written to c[0], c[stride], …) of the not-a-knot cubic B-spline through the n
    /// values y[0], y[yStride], …: c = Q y with Q the (n + 2) × n matrix cached per n.
    /// </summary>
    public static void Solve(int n, ReadOnlySpan<double> y, Span<double> c, int stride, int yStride)
    {
        var q = Inverses.GetOrAdd(n, Build);
        for (int i = 0; i < n + 2; i++)
        {
            double s = 0;
            int row = i * n;
            for (int k = 0; k < n; k++)
            {
                s += q[row + k] * y[k * yStride];
            }

            c[i * stride] = s;
        }
    }

    /// <summary>Q = the columns 1 … n of A⁻¹ for the (n + 2) × (n + 2) system A c = (0, y, 0) (rows: left not-a-knot, interpolation, right not-a-knot).</summary>
    private static double[] Build(int n)
    {
        int m = n + 2;
        var a = new double[m, m];
        double[] nak = [-1, 4, -6, 4, -1];
        for (int j = 0; j < 5; j++)
        {
            a[0, j] = nak[j];
            a[m - 1, m - 5 + j] = nak[j];
        }

        for (int k = 0; k < n; k++)
        {
            a[k + 1, k] = 1.0 / 6;
            a[k + 1, k + 1] = 4.0 / 6;
            a[k + 1, k + 2] = 1.0 / 6;
        }

        // Gauss–Jordan with partial pivoting on [A | I], keeping only the columns of I that carry y.
        var rhs = new double[m, n];
        for (int k = 0; k < n; k++)
        {
            rhs[k + 1, k] = 1;
        }

        for (int col = 0; col < m; col++)
        {
            int p = col;
            for (int r = col + 1; r < m; r++)
            {
                if (Math.Abs(a[r, col]) > Math.Abs(a[p, col]))
                {
                    p = r;
                }
            }

            if (p != col)
            {
                for (int j = 0; j < m; j++)
                {
                    (a[p, j], a[col, j]) = (a[col, j], a[p, j]);
                }

                for (int j = 0; j < n; j++)
                {
                    (rhs[p, j], rhs[col, j]) = (rhs[col, j], rhs[p, j]);
                }
            }

            double inv = 1 / a[col, col];
            for (int r = 0; r < m; r++)
            {
                if (r == col || a[r, col] == 0)
                {
                    continue;
                }

                double f = a[r, col] * inv;
                for (int j = col; j < m; j++)
                {
                    a[r, j] -= f * a[col, j];
                }

                for (int j = 0; j < n; j++)
                {
                    rhs[r, j] -= f * rhs[col, j];
                }
            }
        }

        var q = new double[m * n];
        for (int i = 0; i < m; i++)
        {
            double inv = 1 / a[i, i];
            for (int k = 0; k < n; k++)
            {
                q[i * n + k] = rhs[i, k] * inv;
            }
        }

        return q;
    }
}
