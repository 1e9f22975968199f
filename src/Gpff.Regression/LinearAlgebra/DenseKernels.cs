using System.Numerics;
using System.Runtime.InteropServices;
using MathNet.Numerics.Providers.LinearAlgebra;

namespace Gpff.Regression.LinearAlgebra;

/// <summary>
/// The handful of dense kernels the GP solver needs, on column-major arrays, in two
/// implementations: managed C# (SIMD, parallel over independent columns) and OpenBLAS.
/// Only the lower triangle of a symmetric / triangular matrix is read or written by
/// <see cref="Potrf"/>; the strict upper triangle is left as it was.
/// </summary>
internal abstract class DenseKernels
{
    /// <summary>The managed kernels.</summary>
    internal static readonly DenseKernels Managed = new ManagedKernels();

    /// <summary>The OpenBLAS kernels (callable only when <see cref="OpenBlasNative.IsLoaded"/>).</summary>
    internal static readonly DenseKernels OpenBlas = new OpenBlasKernels();

    /// <summary>Which back end these are.</summary>
    internal abstract LinearAlgebraBackendKind Kind { get; }

    /// <summary>The kernels of a back end.</summary>
    internal static DenseKernels For(LinearAlgebraBackendKind kind)
    {
        if (kind == LinearAlgebraBackendKind.OpenBlas)
        {
            OpenBlasNative.EnsureLoaded();
            return OpenBlas;
        }

        return Managed;
    }

    /// <summary>
    /// In-place Cholesky factorisation A = L·Lᵀ of the lower triangle of the n×n column-major
    /// <paramref name="a"/> (LAPACK dpotrf, uplo = 'L'). Returns 0 on success, or the 1-based index
    /// of the first non-positive pivot (the leading minor of that order is not positive definite).
    /// </summary>
    internal abstract int Potrf(Span<double> a, int n);

    /// <summary>
    /// Solves L·X = B (<paramref name="transpose"/> false) or Lᵀ·X = B (true) in place, L the lower
    /// triangle of the n×n column-major <paramref name="l"/>, B n×<paramref name="columns"/> column-major.
    /// </summary>
    internal abstract void TrsmLower(ReadOnlySpan<double> l, int n, Span<double> b, int columns, bool transpose);

    /// <summary>C = α·op(A)·op(B) + β·C on exact-size column-major arrays (m×k, k×n, m×n after op).</summary>
    internal abstract void Gemm(bool transposeA, bool transposeB, int m, int n, int k, double alpha, double[] a, double[] b, double beta, double[] c);

    /// <summary>
    /// C = α·op(A)·op(B) + β·C on column-major spans whose leading dimensions are the matrices' row counts
    /// (m or k for A, k or n for B, m for C); a span may be longer than its matrix (a prefix of a buffer).
    /// </summary>
    internal abstract void Gemm(bool transposeA, bool transposeB, int m, int n, int k, double alpha, ReadOnlySpan<double> a, ReadOnlySpan<double> b, double beta, Span<double> c);

    /// <summary>
    /// The lower triangle of the n×n column-major <paramref name="c"/> += α·A·Aᵀ (BLAS dsyrk, uplo 'L', no transpose),
    /// A n×k column-major (a prefix of <paramref name="a"/>): half the multiply-adds of the full product. The strict
    /// upper triangle of C is left as it was.
    /// </summary>
    internal abstract void SyrkLower(int n, int k, double alpha, ReadOnlySpan<double> a, Span<double> c);

    /// <summary>Overwrites the Cholesky factor in the lower triangle of <paramref name="a"/> with the full symmetric inverse A⁻¹.</summary>
    internal abstract void PotriFull(Span<double> a, int n);

    /// <summary>y += α·x.</summary>
    internal static void Axpy(double alpha, ReadOnlySpan<double> x, Span<double> y)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<double>.Count)
        {
            var va = new Vector<double>(alpha);
            var vx = MemoryMarshal.Cast<double, Vector<double>>(x);
            var vy = MemoryMarshal.Cast<double, Vector<double>>(y);
            for (int v = 0; v < vx.Length; v++)
            {
                vy[v] += va * vx[v];
            }

            i = vx.Length * Vector<double>.Count;
        }

        for (; i < x.Length; i++)
        {
            y[i] += alpha * x[i];
        }
    }

    /// <summary>xᵀy.</summary>
    internal static double Dot(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        double sum = 0;
        int i = 0;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<double>.Count)
        {
            var acc = Vector<double>.Zero;
            var vx = MemoryMarshal.Cast<double, Vector<double>>(x);
            var vy = MemoryMarshal.Cast<double, Vector<double>>(y);
            for (int v = 0; v < vx.Length; v++)
            {
                acc += vx[v] * vy[v];
            }

            sum = Vector.Sum(acc);
            i = vx.Length * Vector<double>.Count;
        }

        for (; i < x.Length; i++)
        {
            sum += x[i] * y[i];
        }

        return sum;
    }

    /// <summary>Copies the lower triangle of a column-major n×n matrix into its upper triangle.</summary>
    internal static void SymmetrizeFromLower(Span<double> a, int n)
    {
        for (int j = 0; j < n; j++)
        {
            for (int i = j + 1; i < n; i++)
            {
                a[i * n + j] = a[j * n + i];
            }
        }
    }

    private sealed class ManagedKernels : DenseKernels
    {
        private const int ParallelThreshold = 192;

        internal override LinearAlgebraBackendKind Kind => LinearAlgebraBackendKind.Managed;

        internal override int Potrf(Span<double> a, int n)
        {
            // Right-looking, column by column; the rank-1 update of the trailing lower triangle is
            // parallel over its columns when large.
            var array = a;
            for (int j = 0; j < n; j++)
            {
                int cj = j * n;
                double d = array[cj + j];
                if (!(d > 0) || double.IsInfinity(d))
                {
                    return j + 1;
                }

                d = Math.Sqrt(d);
                array[cj + j] = d;
                double inv = 1.0 / d;
                var below = array.Slice(cj + j + 1, n - j - 1);
                for (int i = 0; i < below.Length; i++)
                {
                    below[i] *= inv;
                }

                int trailing = n - j - 1;
                if (trailing == 0)
                {
                    continue;
                }

                if (trailing < ParallelThreshold)
                {
                    for (int k = j + 1; k < n; k++)
                    {
                        UpdateColumn(array, n, j, k);
                    }
                }
                else
                {
                    unsafe
                    {
                        fixed (double* p = a)
                        {
                            double* ptr = p;
                            int len = a.Length;
                            int jj = j;
                            Parallel.For(0, (trailing + 31) / 32, block =>
                            {
                                var span = new Span<double>(ptr, len);
                                int k0 = jj + 1 + block * 32;
                                int k1 = Math.Min(n, k0 + 32);
                                for (int k = k0; k < k1; k++)
                                {
                                    UpdateColumn(span, n, jj, k);
                                }
                            });
                        }
                    }
                }
            }

            return 0;
        }

        private static void UpdateColumn(Span<double> a, int n, int j, int k)
        {
            // a[k:n, k] -= a[k, j] · a[k:n, j]
            int cj = j * n;
            double f = a[cj + k];
            if (f != 0)
            {
                Axpy(-f, a.Slice(cj + k, n - k), a.Slice(k * n + k, n - k));
            }
        }

        internal override void TrsmLower(ReadOnlySpan<double> l, int n, Span<double> b, int columns, bool transpose)
        {
            if (columns == 0 || n == 0)
            {
                return;
            }

            if (columns == 1 || (long)n * n * columns < 200_000)
            {
                for (int c = 0; c < columns; c++)
                {
                    SolveColumn(l, n, b.Slice(c * n, n), transpose);
                }

                return;
            }

            unsafe
            {
                fixed (double* pl = l)
                fixed (double* pb = b)
                {
                    double* lp = pl, bp = pb;
                    int ll = l.Length;
                    Parallel.For(0, columns, c =>
                    {
                        SolveColumn(new ReadOnlySpan<double>(lp, ll), n, new Span<double>(bp + (long)c * n, n), transpose);
                    });
                }
            }
        }

        private static void SolveColumn(ReadOnlySpan<double> l, int n, Span<double> x, bool transpose)
        {
            if (!transpose)
            {
                for (int j = 0; j < n; j++)
                {
                    double xj = x[j] / l[j * n + j];
                    x[j] = xj;
                    if (xj != 0 && j + 1 < n)
                    {
                        Axpy(-xj, l.Slice(j * n + j + 1, n - j - 1), x.Slice(j + 1));
                    }
                }
            }
            else
            {
                for (int j = n - 1; j >= 0; j--)
                {
                    double s = x[j];
                    if (j + 1 < n)
                    {
                        s -= Dot(l.Slice(j * n + j + 1, n - j - 1), x.Slice(j + 1));
                    }

                    x[j] = s / l[j * n + j];
                }
            }
        }

        internal override void Gemm(bool transposeA, bool transposeB, int m, int n, int k, double alpha, double[] a, double[] b, double beta, double[] c)
        {
            if (m == 0 || n == 0)
            {
                return;
            }

            if (k == 0)
            {
                for (int i = 0; i < c.Length; i++)
                {
                    c[i] *= beta;
                }

                return;
            }

            int rowsA = transposeA ? k : m, colsA = transposeA ? m : k;
            int rowsB = transposeB ? n : k, colsB = transposeB ? k : n;
            ManagedLinearAlgebraProvider.Instance.MatrixMultiplyWithUpdate(
                transposeA ? Transpose.Transpose : Transpose.DontTranspose,
                transposeB ? Transpose.Transpose : Transpose.DontTranspose,
                alpha, a, rowsA, colsA, b, rowsB, colsB, beta, c);
        }

        internal override void Gemm(bool transposeA, bool transposeB, int m, int n, int k, double alpha, ReadOnlySpan<double> a, ReadOnlySpan<double> b, double beta, Span<double> c)
        {
            if (m == 0 || n == 0)
            {
                return;
            }

            // MathNet's product takes exact-size arrays: the managed back end copies (O(size), against O(m·n·k) work).
            var exactC = c[..(m * n)].ToArray();
            Gemm(transposeA, transposeB, m, n, k, alpha, a[..(m * k)].ToArray(), b[..(k * n)].ToArray(), beta, exactC);
            exactC.CopyTo(c);
        }

        internal override void SyrkLower(int n, int k, double alpha, ReadOnlySpan<double> a, Span<double> c)
        {
            if (n == 0 || k == 0)
            {
                return;
            }

            // Panels of 64 columns of C: rows j0…n−1 of A·A[j0…j1)ᵀ by one product, then the lower part added.
            const int panel = 64;
            for (int j0 = 0; j0 < n; j0 += panel)
            {
                int w = Math.Min(panel, n - j0), rows = n - j0;
                var below = new double[(long)rows * k];
                for (int p = 0; p < k; p++)
                {
                    a.Slice(p * n + j0, rows).CopyTo(below.AsSpan(p * rows, rows));
                }

                var cols = new double[(long)w * k];
                for (int p = 0; p < k; p++)
                {
                    a.Slice(p * n + j0, w).CopyTo(cols.AsSpan(p * w, w));
                }

                var product = new double[(long)rows * w];
                Gemm(false, true, rows, w, k, alpha, below, cols, 0.0, product);
                for (int j = 0; j < w; j++)
                {
                    var into = c.Slice((j0 + j) * n + j0 + j, rows - j);
                    var from = product.AsSpan(j * rows + j, rows - j);
                    for (int i = 0; i < into.Length; i++)
                    {
                        into[i] += from[i];
                    }
                }
            }
        }

        internal override void PotriFull(Span<double> a, int n)
        {
            var l = a.ToArray();
            a.Clear();
            for (int i = 0; i < n; i++)
            {
                a[i * n + i] = 1;
            }

            TrsmLower(l, n, a, n, transpose: false);
            TrsmLower(l, n, a, n, transpose: true);

            // Symmetrise exactly (average the two rounding-different halves).
            for (int j = 0; j < n; j++)
            {
                for (int i = j + 1; i < n; i++)
                {
                    double v = 0.5 * (a[j * n + i] + a[i * n + j]);
                    a[j * n + i] = v;
                    a[i * n + j] = v;
                }
            }
        }
    }

    private sealed unsafe class OpenBlasKernels : DenseKernels
    {
        internal override LinearAlgebraBackendKind Kind => LinearAlgebraBackendKind.OpenBlas;

        internal override int Potrf(Span<double> a, int n)
        {
            if (n == 0)
            {
                return 0;
            }

            byte uplo = (byte)'L';
            int nn = n, lda = n, info = 0;
            fixed (double* pa = a)
            {
                OpenBlasNative.Dpotrf(&uplo, &nn, pa, &lda, &info);
            }

            if (info < 0)
            {
                throw new InvalidOperationException($"OpenBLAS dpotrf rejected argument {-info} (n = {n}).");
            }

            return info;
        }

        internal override void TrsmLower(ReadOnlySpan<double> l, int n, Span<double> b, int columns, bool transpose)
        {
            if (n == 0 || columns == 0)
            {
                return;
            }

            fixed (double* pl = l)
            fixed (double* pb = b)
            {
                OpenBlasNative.Dtrsm(OpenBlasNative.ColMajor, OpenBlasNative.Left, OpenBlasNative.Lower,
                    transpose ? OpenBlasNative.Trans : OpenBlasNative.NoTrans, OpenBlasNative.NonUnit,
                    n, columns, 1.0, pl, n, pb, n);
            }
        }

        internal override void Gemm(bool transposeA, bool transposeB, int m, int n, int k, double alpha, double[] a, double[] b, double beta, double[] c)
            => Gemm(transposeA, transposeB, m, n, k, alpha, a.AsSpan(), b.AsSpan(), beta, c.AsSpan());

        internal override void Gemm(bool transposeA, bool transposeB, int m, int n, int k, double alpha, ReadOnlySpan<double> a, ReadOnlySpan<double> b, double beta, Span<double> c)
        {
            if (m == 0 || n == 0)
            {
                return;
            }

            if (a.Length < (long)m * k || b.Length < (long)k * n || c.Length < (long)m * n)
            {
                throw new ArgumentException($"Spans of {a.Length}, {b.Length}, {c.Length} elements are too short for a {m}×{k} by {k}×{n} product.");
            }

            int lda = Math.Max(1, transposeA ? k : m), ldb = Math.Max(1, transposeB ? n : k);
            fixed (double* pa = a)
            fixed (double* pb = b)
            fixed (double* pc = c)
            {
                OpenBlasNative.Dgemm(OpenBlasNative.ColMajor, transposeA ? OpenBlasNative.Trans : OpenBlasNative.NoTrans,
                    transposeB ? OpenBlasNative.Trans : OpenBlasNative.NoTrans, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, m);
            }
        }

        internal override void SyrkLower(int n, int k, double alpha, ReadOnlySpan<double> a, Span<double> c)
        {
            if (n == 0 || k == 0)
            {
                return;
            }

            if (a.Length < (long)n * k || c.Length < (long)n * n)
            {
                throw new ArgumentException($"Spans of {a.Length} and {c.Length} elements are too short for a rank-{k} update of order {n}.");
            }

            fixed (double* pa = a)
            fixed (double* pc = c)
            {
                OpenBlasNative.Dsyrk(OpenBlasNative.ColMajor, OpenBlasNative.Lower, OpenBlasNative.NoTrans, n, k, alpha, pa, n, 1.0, pc, n);
            }
        }

        internal override void PotriFull(Span<double> a, int n)
        {
            if (n == 0)
            {
                return;
            }

            byte uplo = (byte)'L';
            int nn = n, lda = n, info = 0;
            fixed (double* pa = a)
            {
                OpenBlasNative.Dpotri(&uplo, &nn, pa, &lda, &info, 1);
            }

            if (info != 0)
            {
                throw new InvalidOperationException($"OpenBLAS dpotri failed with info = {info} (a zero diagonal element of the factor at {info}).");
            }

            SymmetrizeFromLower(a, n);
        }
    }
}
