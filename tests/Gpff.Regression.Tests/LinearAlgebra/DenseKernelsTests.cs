using Gpff.Regression.LinearAlgebra;
using static Gpff.Regression.Tests.LinearAlgebra.TestMatrices;

namespace Gpff.Regression.Tests.LinearAlgebra;

/// <summary>
/// Gpff's OpenBLAS kernels (the ones training and prediction call) against its managed kernels and
/// against the definitions, on the same random problems.
/// </summary>
public class DenseKernelsTests
{
    private static DenseKernels Native()
    {
        RequireOpenBlas();
        return DenseKernels.For(LinearAlgebraBackendKind.OpenBlas);
    }

    private static DenseKernels Managed => DenseKernels.Managed;

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(64)]
    [InlineData(203)]
    public void CholeskyFactorAgreesWithManagedAndReproducesTheMatrix(int n)
    {
        var a = Spd(n, seed: n);
        var native = (double[])a.Clone();
        var managed = (double[])a.Clone();
        Assert.Equal(0, Native().Potrf(native, n));
        Assert.Equal(0, Managed.Potrf(managed, n));
        ZeroUpper(native, n);
        ZeroUpper(managed, n);
        Assert.True(RelativeDifference(native, managed) < 1e-10, $"relative difference {RelativeDifference(native, managed)}");
        Assert.True(RelativeDifference(LLt(native, n), a) < 1e-12);
        Assert.True(RelativeDifference(LLt(managed, n), a) < 1e-12);
    }

    [Theory]
    [InlineData(5, 1, false)]
    [InlineData(50, 3, true)]
    [InlineData(150, 40, false)]
    [InlineData(150, 40, true)]
    public void TriangularSolvesAgreeWithManagedAndSolve(int n, int columns, bool transpose)
    {
        var l = Spd(n, seed: 100 + n);
        Assert.Equal(0, Managed.Potrf(l, n));
        ZeroUpper(l, n);
        var b = Random(n, columns, seed: 200 + n);
        var xNative = (double[])b.Clone();
        var xManaged = (double[])b.Clone();
        Native().TrsmLower(l, n, xNative, columns, transpose);
        Managed.TrsmLower(l, n, xManaged, columns, transpose);
        Assert.True(RelativeDifference(xNative, xManaged) < 1e-10);

        // Residual op(L)·X − B.
        var lx = NaiveMultiply(l, n, n, transpose, xNative, n, columns, false);
        Assert.True(RelativeDifference(lx, b) < 1e-10);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(37, 5)]
    [InlineData(130, 71)]
    public void SyrkUpdatesTheLowerTriangleOnlyAsTheFullProductDoes(int n, int k)
    {
        // A is a prefix of a longer buffer (the sparse GP's batches are).
        var buffer = Random(n, k + 3, seed: 300 + n);
        var a = buffer.AsSpan(0, n * k).ToArray();
        var c0 = Random(n, n, seed: 400 + n);
        var cNative = (double[])c0.Clone();
        var cManaged = (double[])c0.Clone();
        Native().SyrkLower(n, k, 0.7, buffer, cNative);
        Managed.SyrkLower(n, k, 0.7, buffer, cManaged);

        var aat = NaiveMultiply(a, n, k, false, a, n, k, true);
        for (int j = 0; j < n; j++)
        {
            for (int i = 0; i < n; i++)
            {
                double expected = i >= j ? c0[j * n + i] + 0.7 * aat[j * n + i] : c0[j * n + i];
                double tol = 1e-12 * (1 + Math.Abs(expected));
                Assert.True(Math.Abs(cNative[j * n + i] - expected) <= tol, $"OpenBLAS ({i}, {j}): {cNative[j * n + i]:R} against {expected:R}");
                Assert.True(Math.Abs(cManaged[j * n + i] - expected) <= tol, $"managed ({i}, {j}): {cManaged[j * n + i]:R} against {expected:R}");
            }
        }
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(true, false)]
    public void GemmOnSpansReadsOnlyTheMatricesAndLeavesTheRestOfTheBuffers(bool tA, bool tB)
    {
        const int m = 29, n = 17, k = 40;
        int rowsA = tA ? k : m, colsA = tA ? m : k, rowsB = tB ? n : k, colsB = tB ? k : n;
        var a = Random(rowsA, colsA, 11);
        var b = Random(rowsB, colsB, 12);
        var c0 = Random(m, n, 13);
        var expected = (double[])c0.Clone();
        Managed.Gemm(tA, tB, m, n, k, 0.5, a, b, 1.0, expected);
        foreach (var kernels in new[] { Native(), Managed })
        {
            var aBuffer = a.Concat(Enumerable.Repeat(double.NaN, 31)).ToArray();
            var bBuffer = b.Concat(Enumerable.Repeat(double.NaN, 7)).ToArray();
            var cBuffer = c0.Concat(Enumerable.Repeat(-2.5, 9)).ToArray();
            kernels.Gemm(tA, tB, m, n, k, 0.5, aBuffer.AsSpan(), bBuffer.AsSpan(), 1.0, cBuffer.AsSpan());
            Assert.True(RelativeDifference(cBuffer.AsSpan(0, m * n), expected) < 1e-13, $"{kernels.Kind}: relative difference {RelativeDifference(cBuffer.AsSpan(0, m * n), expected)}");
            Assert.All(cBuffer.Skip(m * n), x => Assert.Equal(-2.5, x));
        }
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void GemmWithUpdateAgreesWithManagedAndDefinition(bool tA, bool tB)
    {
        const int m = 37, n = 23, k = 71;
        int rowsA = tA ? k : m, colsA = tA ? m : k, rowsB = tB ? n : k, colsB = tB ? k : n;
        var a = Random(rowsA, colsA, 1);
        var b = Random(rowsB, colsB, 2);
        var c0 = Random(m, n, 3);
        var cNative = (double[])c0.Clone();
        var cManaged = (double[])c0.Clone();
        Native().Gemm(tA, tB, m, n, k, 0.7, a, b, -1.3, cNative);
        Managed.Gemm(tA, tB, m, n, k, 0.7, a, b, -1.3, cManaged);
        Assert.True(RelativeDifference(cNative, cManaged) < 1e-12);

        var ab = NaiveMultiply(a, rowsA, colsA, tA, b, rowsB, colsB, tB);
        var expected = new double[m * n];
        for (int i = 0; i < expected.Length; i++)
        {
            expected[i] = 0.7 * ab[i] - 1.3 * c0[i];
        }

        Assert.True(RelativeDifference(cNative, expected) < 1e-12);
    }

    [Theory]
    [InlineData(6)]
    [InlineData(90)]
    public void InverseFromTheFactorAgreesWithManagedAndInverts(int n)
    {
        var a = Spd(n, seed: 300 + n);
        var native = (double[])a.Clone();
        Assert.Equal(0, Native().Potrf(native, n));
        var managed = (double[])native.Clone();
        Native().PotriFull(native, n);
        Managed.PotriFull(managed, n);
        Assert.True(RelativeDifference(native, managed) < 1e-10);

        var product = NaiveMultiply(a, n, n, false, native, n, n, false);
        var identity = new double[n * n];
        for (int i = 0; i < n; i++)
        {
            identity[i * n + i] = 1;
        }

        Assert.True(RelativeDifference(product, identity) < 1e-10);
    }

    [Fact]
    public void ANonPositiveDefiniteMatrixReportsTheSamePivotOnBothBackEnds()
    {
        var a = WithPivots([2, 1, 3, -0.5, 1, 4], seed: 10);
        Assert.Equal(4, Native().Potrf((double[])a.Clone(), 6)); // 1-based: the 4th pivot (index 3) is negative
        Assert.Equal(4, Managed.Potrf((double[])a.Clone(), 6));

        // Through the public factorisation (jitter off) the message names the pivot.
        var ex = Assert.Throws<MatrixNotPositiveDefiniteException>(() => CholeskyFactorization.Factor(a, 6,
            new CholeskyOptions { Backend = LinearAlgebraBackendKind.OpenBlas, AllowJitter = false }));
        Assert.Equal(3, ex.PivotIndex);
        Assert.Contains("row/column 3", ex.Message);
        Assert.Contains("not positive definite", ex.Message);
    }

    private static void ZeroUpper(double[] a, int n)
    {
        for (int j = 1; j < n; j++)
        {
            for (int i = 0; i < j; i++)
            {
                a[i + j * n] = 0;
            }
        }
    }
}
