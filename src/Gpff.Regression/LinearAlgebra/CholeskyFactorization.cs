using MathNet.Numerics.LinearAlgebra;

namespace Gpff.Regression.LinearAlgebra;

/// <summary>How a Cholesky factorisation reacts to a matrix that is not numerically positive definite.</summary>
public sealed record CholeskyOptions
{
    /// <summary>The default options: jitter allowed, from 1e-10 up to 1e-4 of the mean diagonal, ×10 per attempt.</summary>
    public static CholeskyOptions Default { get; } = new();

    /// <summary>The back end to compute with; null means <see cref="LinearAlgebraBackend.Active"/> at the time of the call.</summary>
    public LinearAlgebraBackendKind? Backend { get; init; }

    /// <summary>Whether to retry with jitter (a multiple of the identity added to the matrix) after a non-positive pivot.</summary>
    public bool AllowJitter { get; init; } = true;

    /// <summary>The first jitter tried, relative to the mean diagonal element of the matrix.</summary>
    public double InitialRelativeJitter { get; init; } = 1e-10;

    /// <summary>The largest jitter tried, relative to the mean diagonal element; beyond it the factorisation fails.</summary>
    public double MaxRelativeJitter { get; init; } = 1e-4;

    /// <summary>The factor by which the jitter grows between attempts (&gt; 1).</summary>
    public double JitterGrowth { get; init; } = 10;
}

/// <summary>
/// The Cholesky factor L (lower triangular, A + δ·I = L·Lᵀ, δ the jitter, usually 0) of a symmetric
/// positive-definite matrix, with the operations a Gaussian-process solver needs: solves with A, L and
/// Lᵀ for many right-hand sides, the log-determinant, the inverse, and a block update that extends
/// the factor to new rows and columns in O(N²k). Storage is one column-major N×N array (the strict
/// upper triangle is zero), so it interoperates with MathNet.Numerics dense matrices. Computed on the
/// back end chosen at creation (OpenBLAS or managed); immutable and thread-safe once created.
/// </summary>
public sealed class CholeskyFactorization
{
    private readonly double[] _l;
    private readonly DenseKernels _kernels;

    private CholeskyFactorization(double[] l, int order, DenseKernels kernels, double jitter, int attempts)
    {
        _l = l;
        Order = order;
        _kernels = kernels;
        JitterAdded = jitter;
        Attempts = attempts;
        double logDet = 0;
        for (int i = 0; i < order; i++)
        {
            logDet += Math.Log(l[i * order + i]);
        }

        LogDeterminant = 2 * logDet;
    }

    /// <summary>Order N of the matrix.</summary>
    public int Order { get; }

    /// <summary>The back end this factor computes with.</summary>
    public LinearAlgebraBackendKind Backend => _kernels.Kind;

    /// <summary>The jitter δ added to every diagonal element (0 when the matrix was positive definite as given); in the units of the matrix.</summary>
    public double JitterAdded { get; }

    /// <summary>How many factorisations were attempted (1 when no jitter was needed).</summary>
    public int Attempts { get; }

    /// <summary>log det(A + δ·I) = 2 Σ log Lᵢᵢ.</summary>
    public double LogDeterminant { get; }

    /// <summary>L in column-major order (element (i, j) at <c>i + j·N</c>; zero above the diagonal). Do not modify.</summary>
    public ReadOnlySpan<double> LowerColumnMajor => _l;

    /// <summary>A copy of L as a dense matrix.</summary>
    public Matrix<double> ToLowerMatrix() => Matrix<double>.Build.Dense(Order, Order, (double[])_l.Clone());

    /// <summary>Factors a symmetric matrix (only its lower triangle is read), with jitter retry.</summary>
    /// <param name="a">The symmetric positive-definite matrix (not modified).</param>
    /// <param name="options">Back end and jitter policy (default: <see cref="CholeskyOptions.Default"/>).</param>
    /// <exception cref="MatrixNotPositiveDefiniteException">Not positive definite even with the largest jitter allowed; names the pivot.</exception>
    public static CholeskyFactorization Factor(Matrix<double> a, CholeskyOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(a);
        if (a.RowCount != a.ColumnCount)
        {
            throw new ArgumentException($"A Cholesky factorisation needs a square matrix, got {a.RowCount}×{a.ColumnCount}.", nameof(a));
        }

        return FactorInPlace(a.ToColumnMajorArray(), a.RowCount, options);
    }

    /// <summary>Factors a symmetric matrix given in column-major order (only its lower triangle is read; the input is copied).</summary>
    /// <param name="aColumnMajor">The N×N matrix, element (i, j) at <c>i + j·N</c>.</param>
    /// <param name="order">N.</param>
    /// <param name="options">Back end and jitter policy.</param>
    /// <exception cref="MatrixNotPositiveDefiniteException">Not positive definite even with the largest jitter allowed.</exception>
    public static CholeskyFactorization Factor(ReadOnlySpan<double> aColumnMajor, int order, CholeskyOptions? options = null)
        => FactorInPlace(aColumnMajor.ToArray(), order, options);

    /// <summary>
    /// Factors a symmetric matrix in place, without a second N×N copy (for large kernel matrices):
    /// the array is taken over and becomes the factor's storage. Its lower triangle is the matrix; its
    /// upper triangle is overwritten (first with the mirror of the lower one, the back-up for jitter
    /// retries; at the end with zeros).
    /// </summary>
    /// <param name="aColumnMajor">The N×N matrix, element (i, j) at <c>i + j·N</c>; owned by the result afterwards.</param>
    /// <param name="order">N.</param>
    /// <param name="options">Back end and jitter policy.</param>
    /// <exception cref="MatrixNotPositiveDefiniteException">Not positive definite even with the largest jitter allowed.</exception>
    /// <exception cref="ArgumentException">The matrix holds a NaN or infinity (named by row and column), or a non-positive diagonal.</exception>
    public static CholeskyFactorization FactorInPlace(double[] aColumnMajor, int order, CholeskyOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(aColumnMajor);
        CheckSquare(aColumnMajor.Length, order, nameof(aColumnMajor));
        options ??= CholeskyOptions.Default;
        if (!(options.JitterGrowth > 1) || !(options.InitialRelativeJitter > 0) || !(options.MaxRelativeJitter >= options.InitialRelativeJitter))
        {
            throw new ArgumentException($"Invalid jitter policy: initial {options.InitialRelativeJitter}, maximum {options.MaxRelativeJitter}, growth {options.JitterGrowth}.", nameof(options));
        }

        var kernels = DenseKernels.For(options.Backend ?? LinearAlgebraBackend.Active);
        var a = aColumnMajor;
        int n = order;

        // Mirror the lower triangle into the upper one (the back-up for retries), check finiteness,
        // and keep the diagonal.
        var diagonal = new double[n];
        double diagonalSum = 0;
        for (int j = 0; j < n; j++)
        {
            double d = a[j * n + j];
            if (!double.IsFinite(d))
            {
                throw new ArgumentException($"The matrix to factor has a non-finite element {d} at ({j}, {j}).", nameof(aColumnMajor));
            }

            diagonal[j] = d;
            diagonalSum += d;
            for (int i = j + 1; i < n; i++)
            {
                double v = a[j * n + i];
                if (!double.IsFinite(v))
                {
                    throw new ArgumentException($"The matrix to factor has a non-finite element {v} at ({i}, {j}).", nameof(aColumnMajor));
                }

                a[i * n + j] = v;
            }
        }

        double scale = n > 0 ? diagonalSum / n : 0;
        double jitter = 0;
        int attempts = 0;
        while (true)
        {
            attempts++;
            int info = kernels.Potrf(a, n);
            if (info == 0)
            {
                ZeroStrictUpper(a, n);
                return new CholeskyFactorization(a, n, kernels, jitter, attempts);
            }

            int pivot = info - 1;
            double pivotValue = a[pivot * n + pivot];
            double next = jitter == 0 ? options.InitialRelativeJitter * scale : jitter * options.JitterGrowth;
            if (!options.AllowJitter || !(scale > 0) || next > options.MaxRelativeJitter * scale * (1 + 1e-12))
            {
                string detail = !options.AllowJitter
                    ? "Jitter was not allowed."
                    : !(scale > 0)
                        ? $"The mean diagonal element is {scale:G6}, so no relative jitter can help."
                        : $"Tried {attempts} factorisation(s) with jitter up to {options.MaxRelativeJitter:G3} × the mean diagonal {scale:G6}; check for duplicate training points or too small a noise.";
                throw new MatrixNotPositiveDefiniteException(n, pivot, pivotValue, jitter, detail);
            }

            // Restore the lower triangle from the mirrored upper one and add the new jitter.
            jitter = next;
            for (int j = 0; j < n; j++)
            {
                a[j * n + j] = diagonal[j] + jitter;
                for (int i = j + 1; i < n; i++)
                {
                    a[j * n + i] = a[i * n + j];
                }
            }
        }
    }

    /// <summary>
    /// Wraps an existing lower-triangular factor (e.g. read from a model file), taking over the array.
    /// </summary>
    /// <param name="lowerColumnMajor">L, column-major; its strict upper triangle is set to zero.</param>
    /// <param name="order">N.</param>
    /// <param name="jitterAdded">The jitter δ the factor was computed with.</param>
    /// <param name="backend">Back end for later operations; null means the active one.</param>
    /// <exception cref="ArgumentException">A diagonal element is not positive and finite.</exception>
    public static CholeskyFactorization FromLower(double[] lowerColumnMajor, int order, double jitterAdded = 0, LinearAlgebraBackendKind? backend = null)
    {
        ArgumentNullException.ThrowIfNull(lowerColumnMajor);
        CheckSquare(lowerColumnMajor.Length, order, nameof(lowerColumnMajor));
        for (int i = 0; i < order; i++)
        {
            double d = lowerColumnMajor[i * order + i];
            if (!(d > 0) || !double.IsFinite(d))
            {
                throw new ArgumentException($"A Cholesky factor needs positive finite diagonal elements; element ({i}, {i}) is {d}.", nameof(lowerColumnMajor));
            }
        }

        ZeroStrictUpper(lowerColumnMajor, order);
        return new CholeskyFactorization(lowerColumnMajor, order, DenseKernels.For(backend ?? LinearAlgebraBackend.Active), jitterAdded, 0);
    }

    /// <summary>Solves (A + δI)·X = B in place for B holding <paramref name="columns"/> right-hand sides (column-major, N rows).</summary>
    /// <param name="bColumnMajor">B on entry, X on exit.</param>
    /// <param name="columns">Number of right-hand sides.</param>
    public void SolveInPlace(Span<double> bColumnMajor, int columns)
    {
        CheckRhs(bColumnMajor.Length, columns);
        _kernels.TrsmLower(_l, Order, bColumnMajor, columns, transpose: false);
        _kernels.TrsmLower(_l, Order, bColumnMajor, columns, transpose: true);
    }

    /// <summary>Solves L·X = B in place (forward substitution), e.g. v = L⁻¹k* for a predictive variance.</summary>
    /// <param name="bColumnMajor">B on entry, X on exit (N rows, column-major).</param>
    /// <param name="columns">Number of right-hand sides.</param>
    public void SolveLowerInPlace(Span<double> bColumnMajor, int columns)
    {
        CheckRhs(bColumnMajor.Length, columns);
        _kernels.TrsmLower(_l, Order, bColumnMajor, columns, transpose: false);
    }

    /// <summary>Solves Lᵀ·X = B in place (back substitution).</summary>
    /// <param name="bColumnMajor">B on entry, X on exit (N rows, column-major).</param>
    /// <param name="columns">Number of right-hand sides.</param>
    public void SolveLowerTransposeInPlace(Span<double> bColumnMajor, int columns)
    {
        CheckRhs(bColumnMajor.Length, columns);
        _kernels.TrsmLower(_l, Order, bColumnMajor, columns, transpose: true);
    }

    /// <summary>x = (A + δI)⁻¹·b for one right-hand side.</summary>
    /// <param name="b">Vector of length N.</param>
    public double[] Solve(ReadOnlySpan<double> b)
    {
        var x = b.ToArray();
        SolveInPlace(x, 1);
        return x;
    }

    /// <summary>X = (A + δI)⁻¹·B.</summary>
    /// <param name="b">N×m matrix (not modified).</param>
    public Matrix<double> Solve(Matrix<double> b) => ApplyToCopy(b, SolveInPlace);

    /// <summary>X = L⁻¹·B.</summary>
    /// <param name="b">N×m matrix (not modified).</param>
    public Matrix<double> SolveLower(Matrix<double> b) => ApplyToCopy(b, SolveLowerInPlace);

    /// <summary>X = L⁻ᵀ·B.</summary>
    /// <param name="b">N×m matrix (not modified).</param>
    public Matrix<double> SolveLowerTranspose(Matrix<double> b) => ApplyToCopy(b, SolveLowerTransposeInPlace);

    /// <summary>The full symmetric inverse (A + δI)⁻¹ (e.g. for the likelihood gradient), column-major.</summary>
    public double[] InverseColumnMajor()
    {
        var inv = (double[])_l.Clone();
        _kernels.PotriFull(inv, Order);
        return inv;
    }

    /// <summary>The full symmetric inverse (A + δI)⁻¹ as a dense matrix.</summary>
    public Matrix<double> Inverse() => Matrix<double>.Build.Dense(Order, Order, InverseColumnMajor());

    /// <summary>
    /// One diagonal block of the inverse, [(A + δI)⁻¹] over rows and columns offset … offset+size−1,
    /// without forming the whole inverse: X = L⁻¹E for the block's unit columns E (X is zero above row
    /// offset + c in column c, so the forward substitution starts there), then XᵀX. Costs
    /// O((N − offset)²·size) time and O((N − offset)·size) memory, on the calling thread only (managed
    /// code), so that a caller may run several blocks in parallel with reproducible results.
    /// </summary>
    /// <param name="offset">First row/column of the block.</param>
    /// <param name="size">Rows/columns of the block.</param>
    /// <returns>The size × size block, column-major (symmetric).</returns>
    public double[] InverseDiagonalBlock(int offset, int size)
    {
        int n = Order;
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        if (offset + size > n)
        {
            throw new ArgumentOutOfRangeException(nameof(size), $"The block {offset}…{offset + size - 1} lies outside a matrix of order {n}.");
        }

        int m = n - offset;   // rows offset … N−1 of X; the rows above are zero
        var x = new double[(long)m * size];
        ReadOnlySpan<double> l = _l;
        for (int c = 0; c < size; c++)
        {
            var col = x.AsSpan(c * m, m);
            col[c] = 1;
            for (int j = c; j < m; j++)
            {
                int g = offset + j;   // global row/column of L
                double xj = col[j] / l[g * n + g];
                col[j] = xj;
                if (xj != 0 && j + 1 < m)
                {
                    DenseKernels.Axpy(-xj, l.Slice(g * n + g + 1, m - j - 1), col.Slice(j + 1));
                }
            }
        }

        var block = new double[size * size];
        for (int a = 0; a < size; a++)
        {
            for (int b = a; b < size; b++)
            {
                int from = Math.Max(a, b);   // column a is zero above row a
                double dot = DenseKernels.Dot(x.AsSpan(a * m + from, m - from), x.AsSpan(b * m + from, m - from));
                block[a * size + b] = dot;
                block[b * size + a] = dot;
            }
        }

        return block;
    }

    /// <summary>
    /// The factor of the matrix bordered by k new rows and columns, [[A, B], [Bᵀ, C]], from this
    /// factor of A in O(N²k) instead of O((N+k)³): L₂₁ = Bᵀ·L₁₁⁻ᵀ, L₂₂ = chol(C + δI − L₂₁·L₂₁ᵀ). The
    /// same jitter δ as this factor is added to C's diagonal, so the result equals a factorisation of
    /// the whole matrix from scratch with that jitter. This factor is unchanged.
    /// </summary>
    /// <param name="crossCovariance">B, N×k: the covariance between the existing and the new rows.</param>
    /// <param name="newBlock">C, k×k, symmetric: the covariance among the new rows (lower triangle read).</param>
    /// <exception cref="MatrixNotPositiveDefiniteException">C − L₂₁L₂₁ᵀ is not positive definite (pivot index counted in the extended matrix).</exception>
    public CholeskyFactorization Extend(Matrix<double> crossCovariance, Matrix<double> newBlock)
    {
        ArgumentNullException.ThrowIfNull(crossCovariance);
        ArgumentNullException.ThrowIfNull(newBlock);
        if (crossCovariance.RowCount != Order || crossCovariance.ColumnCount != newBlock.RowCount || newBlock.RowCount != newBlock.ColumnCount)
        {
            throw new ArgumentException(
                $"A block update of an order-{Order} factor needs B of N×k = {Order}×k and C of k×k; got B {crossCovariance.RowCount}×{crossCovariance.ColumnCount} and C {newBlock.RowCount}×{newBlock.ColumnCount}.");
        }

        return Extend(crossCovariance.ToColumnMajorArray(), newBlock.ToColumnMajorArray(), newBlock.RowCount);
    }

    /// <summary>The block update of <see cref="Extend(Matrix{double}, Matrix{double})"/> on column-major arrays.</summary>
    /// <param name="crossColumnMajor">B, N×k column-major.</param>
    /// <param name="newBlockColumnMajor">C, k×k column-major (lower triangle read).</param>
    /// <param name="newCount">k.</param>
    /// <exception cref="MatrixNotPositiveDefiniteException">C − L₂₁L₂₁ᵀ is not positive definite.</exception>
    public CholeskyFactorization Extend(ReadOnlySpan<double> crossColumnMajor, ReadOnlySpan<double> newBlockColumnMajor, int newCount)
    {
        int n = Order, k = newCount;
        ArgumentOutOfRangeException.ThrowIfNegative(newCount);
        if (crossColumnMajor.Length != (long)n * k)
        {
            throw new ArgumentException($"B must hold N×k = {n}×{k} = {(long)n * k} elements, got {crossColumnMajor.Length}.", nameof(crossColumnMajor));
        }

        if (newBlockColumnMajor.Length != (long)k * k)
        {
            throw new ArgumentException($"C must hold k×k = {k}×{k} elements, got {newBlockColumnMajor.Length}.", nameof(newBlockColumnMajor));
        }

        if (k == 0)
        {
            return this;
        }

        // X = L₁₁⁻¹ B (N×k); L₂₁ = Xᵀ.
        var x = crossColumnMajor.ToArray();
        _kernels.TrsmLower(_l, n, x, k, transpose: false);

        // S = C + δI − XᵀX (k×k), lower triangle authoritative.
        var s = new double[k * k];
        for (int j = 0; j < k; j++)
        {
            for (int i = j; i < k; i++)
            {
                double v = newBlockColumnMajor[j * k + i];
                if (!double.IsFinite(v))
                {
                    throw new ArgumentException($"C has a non-finite element {v} at ({i}, {j}).", nameof(newBlockColumnMajor));
                }

                s[j * k + i] = v;
                s[i * k + j] = v;
            }

            s[j * k + j] += JitterAdded;
        }

        for (int i = 0; i < x.Length; i++)
        {
            if (!double.IsFinite(x[i]))
            {
                throw new ArgumentException($"B has a non-finite element at ({i % n}, {i / n}) or produced one in L⁻¹B.", nameof(crossColumnMajor));
            }
        }

        _kernels.Gemm(transposeA: true, transposeB: false, k, k, n, -1.0, x, x, 1.0, s);
        int info = _kernels.Potrf(s, k);
        if (info != 0)
        {
            int p = info - 1;
            throw new MatrixNotPositiveDefiniteException(n + k, n + p, s[p * k + p], JitterAdded,
                $"This happened in the block update of {k} new row(s) onto an order-{n} factor (new row {p}); the new rows are (numerically) linearly dependent on the existing ones — refactorise from scratch with jitter instead.");
        }

        int m = n + k;
        var l = new double[(long)m * m];
        for (int j = 0; j < n; j++)
        {
            // Column j: L₁₁ then L₂₁ = Xᵀ (row n+i is X[j, i]).
            Array.Copy(_l, j * n + j, l, j * m + j, n - j);
            for (int i = 0; i < k; i++)
            {
                l[j * m + n + i] = x[i * n + j];
            }
        }

        for (int j = 0; j < k; j++)
        {
            Array.Copy(s, j * k + j, l, (n + j) * m + n + j, k - j);
        }

        return new CholeskyFactorization(l, m, _kernels, JitterAdded, 1);
    }

    private Matrix<double> ApplyToCopy(Matrix<double> b, SpanAction solve)
    {
        ArgumentNullException.ThrowIfNull(b);
        if (b.RowCount != Order)
        {
            throw new ArgumentException($"The right-hand side has {b.RowCount} rows; the factor has order {Order}.", nameof(b));
        }

        var values = b.ToColumnMajorArray();
        solve(values, b.ColumnCount);
        return Matrix<double>.Build.Dense(b.RowCount, b.ColumnCount, values);
    }

    private void CheckRhs(int length, int columns)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        if (length != (long)Order * columns)
        {
            throw new ArgumentException($"The right-hand side must hold N×m = {Order}×{columns} = {(long)Order * columns} elements, got {length}.");
        }
    }

    private static void CheckSquare(int length, int order, string name)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(order);
        if (length != (long)order * order)
        {
            throw new ArgumentException($"An order-{order} matrix needs {(long)order * order} elements, got {length}.", name);
        }
    }

    private static void ZeroStrictUpper(double[] a, int n)
    {
        for (int j = 1; j < n; j++)
        {
            Array.Clear(a, j * n, j);
        }
    }

    private delegate void SpanAction(Span<double> values, int columns);
}
