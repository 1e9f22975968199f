using Gpff.Regression.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra;
using static Gpff.Regression.Tests.LinearAlgebra.TestMatrices;

namespace Gpff.Regression.Tests.LinearAlgebra;

/// <summary>Gpff's Cholesky operations on both back ends, on the same random SPD problems.</summary>
public class CholeskyFactorizationTests
{
    public static TheoryData<LinearAlgebraBackendKind> Backends => new() { LinearAlgebraBackendKind.Managed, LinearAlgebraBackendKind.OpenBlas };

    private static CholeskyOptions On(LinearAlgebraBackendKind kind)
    {
        if (kind == LinearAlgebraBackendKind.OpenBlas)
        {
            RequireOpenBlas();
        }

        return new CholeskyOptions { Backend = kind };
    }

    [Theory]
    [InlineData(1)]
    [InlineData(33)]
    [InlineData(250)]
    [InlineData(401)]
    public void BothBackEndsAgreeOnFactorSolvesLogDeterminantAndInverse(int n)
    {
        RequireOpenBlas();
        var a = Spd(n, seed: 7 * n);
        var b = Random(n, 5, seed: n);
        var managed = CholeskyFactorization.Factor(a, n, On(LinearAlgebraBackendKind.Managed));
        var native = CholeskyFactorization.Factor(a, n, On(LinearAlgebraBackendKind.OpenBlas));
        Assert.Equal(LinearAlgebraBackendKind.Managed, managed.Backend);
        Assert.Equal(LinearAlgebraBackendKind.OpenBlas, native.Backend);
        Assert.Equal(0, managed.JitterAdded);
        Assert.Equal(1, native.Attempts);

        Assert.True(RelativeDifference(native.LowerColumnMajor, managed.LowerColumnMajor) < 1e-10);
        Assert.True(RelativeDifference(LLt(native.LowerColumnMajor, n), a) < 1e-12);
        Assert.Equal(managed.LogDeterminant, native.LogDeterminant, 1e-10 * Math.Max(1, Math.Abs(managed.LogDeterminant)));

        // log det against MathNet's own (managed) factorisation.
        var mathNetLogDet = Matrix<double>.Build.Dense(n, n, (double[])a.Clone()).Cholesky().DeterminantLn;
        Assert.Equal(mathNetLogDet, native.LogDeterminant, 1e-9 * Math.Max(1, Math.Abs(mathNetLogDet)));

        foreach (var solve in new Action<CholeskyFactorization, double[]>[]
                 {
                     (f, x) => f.SolveInPlace(x, 5),
                     (f, x) => f.SolveLowerInPlace(x, 5),
                     (f, x) => f.SolveLowerTransposeInPlace(x, 5),
                 })
        {
            var xm = (double[])b.Clone();
            var xn = (double[])b.Clone();
            solve(managed, xm);
            solve(native, xn);
            Assert.True(RelativeDifference(xn, xm) < 1e-10, $"solve differs by {RelativeDifference(xn, xm)}");
        }

        // A·x = b and L·y = b residuals.
        var x = native.Solve(Matrix<double>.Build.Dense(n, 5, (double[])b.Clone()));
        Assert.True(RelativeDifference(NaiveMultiply(a, n, n, false, x.ToColumnMajorArray(), n, 5, false), b) < 1e-10);
        var y = managed.SolveLower(Matrix<double>.Build.Dense(n, 5, (double[])b.Clone()));
        Assert.True(RelativeDifference(NaiveMultiply(managed.LowerColumnMajor.ToArray(), n, n, false, y.ToColumnMajorArray(), n, 5, false), b) < 1e-10);

        var invManaged = managed.InverseColumnMajor();
        var invNative = native.InverseColumnMajor();
        Assert.True(RelativeDifference(invNative, invManaged) < 1e-10);
        var identity = NaiveMultiply(a, n, n, false, invNative, n, n, false);
        Assert.True(RelativeDifference(identity, Matrix<double>.Build.DenseIdentity(n).ToColumnMajorArray()) < 1e-9);
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                Assert.Equal(invNative[i + j * n], invNative[j + i * n]);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void BlockUpdateEqualsFactorisationFromScratch(LinearAlgebraBackendKind kind)
    {
        var options = On(kind);
        foreach (var (n, k) in new[] { (0, 3), (1, 1), (40, 1), (120, 9), (200, 57) })
        {
            int m = n + k;
            var full = Spd(m, seed: 31 * m + k);
            var (a, cross, block) = Split(full, n, k);

            var extended = CholeskyFactorization.Factor(a, n, options).Extend(cross, block, k);
            var scratch = CholeskyFactorization.Factor(full, m, options);
            Assert.Equal(m, extended.Order);
            Assert.Equal(kind, extended.Backend);
            double diff = RelativeDifference(extended.LowerColumnMajor, scratch.LowerColumnMajor);
            Assert.True(diff < 1e-10, $"N = {n}, k = {k}: block update differs from scratch by {diff}");
            Assert.Equal(scratch.LogDeterminant, extended.LogDeterminant, 1e-10 * Math.Max(1, Math.Abs(scratch.LogDeterminant)));
        }
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void RepeatedBlockUpdatesThroughMatricesMatchScratch(LinearAlgebraBackendKind kind)
    {
        var options = On(kind);
        const int m = 90;
        var full = Matrix<double>.Build.Dense(m, m, Spd(m, seed: 77));
        var factor = CholeskyFactorization.Factor(full.SubMatrix(0, 30, 0, 30), options);
        foreach (var (start, k) in new[] { (30, 20), (50, 1), (51, 39) })
        {
            factor = factor.Extend(full.SubMatrix(0, start, start, k), full.SubMatrix(start, k, start, k));
        }

        var scratch = CholeskyFactorization.Factor(full, options);
        Assert.True(RelativeDifference(factor.LowerColumnMajor, scratch.LowerColumnMajor) < 1e-10);
        Assert.True(RelativeDifference(factor.ToLowerMatrix().ToColumnMajorArray(), scratch.LowerColumnMajor) < 1e-10);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void NonPositiveDefiniteMatrixGivesAClearErrorNamingThePivot(LinearAlgebraBackendKind kind)
    {
        var a = WithPivots([2, 1, 3, 0.5, -0.25, 1, 4], seed: 5);
        var noJitter = On(kind) with { AllowJitter = false };
        var ex = Assert.Throws<MatrixNotPositiveDefiniteException>(() => CholeskyFactorization.Factor(a, 7, noJitter));
        Assert.Equal(4, ex.PivotIndex);
        Assert.Equal(-0.25, ex.PivotValue, 1e-9);
        Assert.Equal(7, ex.Order);
        Assert.Contains("The 7×7 matrix is not positive definite", ex.Message);
        Assert.Contains("row/column 4 (0-based) is -0.25", ex.Message);
        Assert.Contains("Jitter was not allowed", ex.Message);

        // Jitter far below the negative pivot cannot help: the error says what was tried.
        var ex2 = Assert.Throws<MatrixNotPositiveDefiniteException>(() => CholeskyFactorization.Factor(a, 7, On(kind)));
        Assert.Equal(4, ex2.PivotIndex);
        Assert.True(ex2.JitterAdded > 0);
        Assert.True(ex2.Message.Contains("Tried 8 factorisation(s) with jitter up to 0.0001"), ex2.Message);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void SingularMatrixIsFactoredWithReportedJitter(LinearAlgebraBackendKind kind)
    {
        // Rank-deficient Gram matrix: duplicate points in a GP give exactly this.
        const int n = 40;
        var x = Random(n, 10, seed: 3);
        var a = NaiveMultiply(x, n, 10, false, x, n, 10, true);
        var factor = CholeskyFactorization.Factor(a, n, On(kind));
        Assert.True(factor.JitterAdded > 0);
        Assert.True(factor.Attempts > 1);
        var shifted = (double[])a.Clone();
        for (int i = 0; i < n; i++)
        {
            shifted[i + i * n] += factor.JitterAdded;
        }

        Assert.True(RelativeDifference(LLt(factor.LowerColumnMajor, n), shifted) < 1e-10);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void ExtendKeepsTheJitterOfAJitteredFactor(LinearAlgebraBackendKind kind)
    {
        // A rank-8 Gram matrix of order 40, as duplicated training data give: the leading 30×30 block
        // needs jitter, and so does the whole. The extended factor must be that of M + δ·I with the δ
        // of the first factor on every diagonal element, old rows and new alike. The jitter policy
        // starts at 1e-6 of the mean diagonal so that δ stands far above round-off (1e-16·‖M‖).
        const int n = 30, k = 10, m = n + k, rank = 8;
        var x = Random(m, rank, seed: 21);
        var full = NaiveMultiply(x, m, rank, false, x, m, rank, true);
        var (a, cross, block) = Split(full, n, k);

        var options = On(kind) with { InitialRelativeJitter = 1e-6, MaxRelativeJitter = 1e-3 };
        var factor = CholeskyFactorization.Factor(a, n, options);
        double delta = factor.JitterAdded;
        Assert.True(delta > 0, "the leading block is singular, so the factor must have needed jitter");

        var extended = factor.Extend(cross, block, k);
        Assert.Equal(delta, extended.JitterAdded);

        // L·Lᵀ = M + δ·I element by element, the new diagonal included.
        var shifted = (double[])full.Clone();
        for (int i = 0; i < m; i++)
        {
            shifted[i + i * m] += delta;
        }

        var product = LLt(extended.LowerColumnMajor, m);
        double scale = Enumerable.Range(0, m).Average(i => full[i + i * m]);
        for (int j = 0; j < m; j++)
        {
            for (int i = 0; i < m; i++)
            {
                double error = Math.Abs(product[i + j * m] - shifted[i + j * m]);
                Assert.True(error < 1e-3 * delta, $"(L·Lᵀ − (M + δI))[{i}, {j}] = {product[i + j * m] - shifted[i + j * m]:G3}, δ = {delta:G3}, mean diagonal {scale:G3}");
            }
        }

        // The same as factoring M + δ·I from scratch, which is positive definite and needs no jitter of its own.
        var scratch = CholeskyFactorization.Factor(shifted, m, On(kind) with { AllowJitter = false });
        Assert.Equal(scratch.LogDeterminant, extended.LogDeterminant, 1e-9 * Math.Abs(scratch.LogDeterminant));
        var mathNet = Matrix<double>.Build.Dense(m, m, (double[])shifted.Clone()).Cholesky().DeterminantLn;
        Assert.Equal(mathNet, extended.LogDeterminant, 1e-9 * Math.Abs(mathNet));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void BlockUpdateWithDependentRowsNamesThePivotInTheExtendedMatrix(LinearAlgebraBackendKind kind)
    {
        const int n = 12;
        var a = Spd(n, seed: 9);
        var factor = CholeskyFactorization.Factor(a, n, On(kind));

        // New row 1 duplicates existing row 4 but with a smaller variance: C − L₂₁L₂₁ᵀ < 0 there.
        var cross = new double[n * 2];
        var block = new double[4];
        for (int i = 0; i < n; i++)
        {
            cross[i] = a[i + 2 * n] * 0.1;
            cross[i + n] = a[i + 4 * n];
        }

        block[0] = 10;
        block[3] = a[4 + 4 * n] - 0.5;
        block[1] = block[2] = 0.01;
        var ex = Assert.Throws<MatrixNotPositiveDefiniteException>(() => factor.Extend(cross, block, 2));
        Assert.Equal(n + 1, ex.PivotIndex);
        Assert.Contains("block update of 2 new row(s) onto an order-12 factor (new row 1)", ex.Message);
    }

    [Fact]
    public void NonFiniteElementIsNamed()
    {
        var a = Spd(5, seed: 1);
        a[3 + 1 * 5] = double.NaN;
        var ex = Assert.Throws<ArgumentException>(() => CholeskyFactorization.Factor(a, 5, new CholeskyOptions { Backend = LinearAlgebraBackendKind.Managed }));
        Assert.Contains("non-finite element NaN at (3, 1)", ex.Message);
    }

    [Fact]
    public void ShapeErrorsAreClear()
    {
        var ex = Assert.Throws<ArgumentException>(() => CholeskyFactorization.Factor(Matrix<double>.Build.Dense(3, 4)));
        Assert.Contains("square matrix, got 3×4", ex.Message);
        var f = CholeskyFactorization.Factor(Spd(4, 2), 4);
        var ex2 = Assert.Throws<ArgumentException>(() => f.SolveInPlace(new double[7], 2));
        Assert.Contains("N×m = 4×2 = 8 elements, got 7", ex2.Message);
        var ex3 = Assert.Throws<ArgumentException>(() => f.Extend(Matrix<double>.Build.Dense(3, 2), Matrix<double>.Build.Dense(2, 2)));
        Assert.Contains("got B 3×2", ex3.Message);
    }

    [Fact]
    public void FromLowerRoundTripsAFactor()
    {
        var a = Spd(30, seed: 12);
        var f = CholeskyFactorization.Factor(a, 30);
        var g = CholeskyFactorization.FromLower(f.LowerColumnMajor.ToArray(), 30, f.JitterAdded);
        Assert.Equal(f.LogDeterminant, g.LogDeterminant);
        var b = Random(30, 1, 1);
        Assert.Equal(f.Solve(b), g.Solve(b));
        var bad = f.LowerColumnMajor.ToArray();
        bad[5 + 5 * 30] = 0;
        var ex = Assert.Throws<ArgumentException>(() => CholeskyFactorization.FromLower(bad, 30));
        Assert.Contains("element (5, 5) is 0", ex.Message);
    }

    /// <summary>The leading n×n block, the n×k cross block and the trailing k×k block of a column-major (n+k)×(n+k) matrix.</summary>
    private static (double[] A, double[] Cross, double[] Block) Split(double[] full, int n, int k)
    {
        int m = n + k;
        var a = new double[n * n];
        var cross = new double[n * k];
        var block = new double[k * k];
        for (int j = 0; j < m; j++)
        {
            for (int i = 0; i < m; i++)
            {
                double v = full[i + j * m];
                if (i < n && j < n)
                {
                    a[i + j * n] = v;
                }
                else if (i < n && j >= n)
                {
                    cross[i + (j - n) * n] = v;
                }
                else if (i >= n && j >= n)
                {
                    block[i - n + (j - n) * k] = v;
                }
            }
        }

        return (a, cross, block);
    }
}
