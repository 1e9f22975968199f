using Gpff.Regression.LinearAlgebra;

namespace Gpff.Regression.Tests.LinearAlgebra;

/// <summary>Random test matrices (column-major) and comparisons.</summary>
internal static class TestMatrices
{
    /// <summary>Requires OpenBLAS: CI installs libopenblas0-pthread, so its absence is a failure with the reason.</summary>
    public static void RequireOpenBlas() =>
        Assert.True(LinearAlgebraBackend.IsOpenBlasAvailable, $"OpenBLAS must be installed for these tests (apt-get install libopenblas0-pthread): {LinearAlgebraBackend.OpenBlasLoadError}");

    public static double[] Random(int rows, int columns, int seed)
    {
        var rng = new Random(seed);
        var a = new double[rows * columns];
        for (int i = 0; i < a.Length; i++)
        {
            a[i] = 2 * rng.NextDouble() - 1;
        }

        return a;
    }

    /// <summary>A = M·Mᵀ/m + shift·I, a random SPD matrix with a controllable condition number (n×n, column-major).</summary>
    public static double[] Spd(int n, int seed, double shift = 0.1)
    {
        int m = n + 3;
        var mm = Random(n, m, seed);
        var a = new double[n * n];
        for (int j = 0; j < n; j++)
        {
            for (int i = j; i < n; i++)
            {
                double s = 0;
                for (int p = 0; p < m; p++)
                {
                    s += mm[i + p * n] * mm[j + p * n];
                }

                s /= m;
                a[i + j * n] = s;
                a[j + i * n] = s;
            }

            a[j + j * n] += shift;
        }

        return a;
    }

    /// <summary>C = op(A)·op(B) by the definition (column-major).</summary>
    public static double[] NaiveMultiply(double[] a, int rowsA, int colsA, bool ta, double[] b, int rowsB, int colsB, bool tb)
    {
        int m = ta ? colsA : rowsA, k = ta ? rowsA : colsA, n = tb ? rowsB : colsB;
        var c = new double[m * n];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++)
                {
                    double av = ta ? a[p + i * rowsA] : a[i + p * rowsA];
                    double bv = tb ? b[j + p * rowsB] : b[p + j * rowsB];
                    s += av * bv;
                }

                c[i + j * m] = s;
            }
        }

        return c;
    }

    /// <summary>max|x − y| / max|y| (or the absolute difference when y is zero).</summary>
    public static double RelativeDifference(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        Assert.Equal(y.Length, x.Length);
        double diff = 0, scale = 0;
        for (int i = 0; i < x.Length; i++)
        {
            diff = Math.Max(diff, Math.Abs(x[i] - y[i]));
            scale = Math.Max(scale, Math.Abs(y[i]));
        }

        return scale > 0 ? diff / scale : diff;
    }

    public static double RelativeDifference(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        var xd = new double[x.Length];
        var yd = new double[y.Length];
        for (int i = 0; i < x.Length; i++)
        {
            xd[i] = x[i];
        }

        for (int i = 0; i < y.Length; i++)
        {
            yd[i] = y[i];
        }

        return RelativeDifference(xd, yd);
    }

    /// <summary>L·Lᵀ from a column-major lower factor.</summary>
    public static double[] LLt(ReadOnlySpan<double> l, int n)
    {
        var a = new double[n * n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p <= Math.Min(i, j); p++)
                {
                    s += l[i + p * n] * l[j + p * n];
                }

                a[i + j * n] = s;
            }
        }

        return a;
    }

    /// <summary>A = U·D·Uᵀ with U unit lower triangular: its Cholesky pivots are exactly the entries of D.</summary>
    public static double[] WithPivots(double[] d, int seed)
    {
        int n = d.Length;
        var u = Random(n, n, seed);
        for (int j = 0; j < n; j++)
        {
            for (int i = 0; i < j; i++)
            {
                u[i + j * n] = 0;
            }

            u[j + j * n] = 1;
        }

        var a = new double[n * n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < n; p++)
                {
                    s += u[i + p * n] * d[p] * u[j + p * n];
                }

                a[i + j * n] = s;
            }
        }

        return a;
    }
}
