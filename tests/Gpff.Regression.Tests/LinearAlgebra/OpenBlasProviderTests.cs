using Gpff.Regression.LinearAlgebra;
using MathNet.Numerics.Providers.LinearAlgebra;
using static Gpff.Regression.Tests.LinearAlgebra.TestMatrices;

namespace Gpff.Regression.Tests.LinearAlgebra;

/// <summary>The OpenBLAS MathNet provider against MathNet's managed provider, on the same random problems.</summary>
public class OpenBlasProviderTests
{
    private static ILinearAlgebraProvider Native()
    {
        RequireOpenBlas();
        return LinearAlgebraBackend.Provider(LinearAlgebraBackendKind.OpenBlas);
    }

    private static ILinearAlgebraProvider Managed => ManagedLinearAlgebraProvider.Instance;

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(64)]
    [InlineData(203)]
    public void CholeskyFactorAgreesWithManaged(int n)
    {
        var a = Spd(n, seed: n);
        var native = (double[])a.Clone();
        var managed = (double[])a.Clone();
        Native().CholeskyFactor(native, n);
        Managed.CholeskyFactor(managed, n);
        Assert.True(RelativeDifference(native, managed) < 1e-10, $"relative difference {RelativeDifference(native, managed)}");

        // Both conventions: L in the lower triangle, zeros above, and L·Lᵀ = A.
        for (int j = 1; j < n; j++)
        {
            for (int i = 0; i < j; i++)
            {
                Assert.Equal(0.0, native[i + j * n]);
            }
        }

        Assert.True(RelativeDifference(LLt(native, n), a) < 1e-12);
    }

    [Theory]
    [InlineData(5, 1)]
    [InlineData(50, 3)]
    [InlineData(150, 40)]
    public void CholeskySolvesAgreeWithManaged(int n, int columns)
    {
        var a = Spd(n, seed: 100 + n);
        var b = Random(n, columns, seed: 200 + n);
        var xNative = (double[])b.Clone();
        var xManaged = (double[])b.Clone();
        Native().CholeskySolve(a, n, xNative, columns);
        Managed.CholeskySolve(a, n, xManaged, columns);
        Assert.True(RelativeDifference(xNative, xManaged) < 1e-10);

        // Residual A·X − B.
        var ax = NaiveMultiply(a, n, n, false, xNative, n, columns, false);
        Assert.True(RelativeDifference(ax, b) < 1e-10);

        var l = (double[])a.Clone();
        Managed.CholeskyFactor(l, n);
        var yNative = (double[])b.Clone();
        var yManaged = (double[])b.Clone();
        Native().CholeskySolveFactored(l, n, yNative, columns);
        Managed.CholeskySolveFactored(l, n, yManaged, columns);
        Assert.True(RelativeDifference(yNative, yManaged) < 1e-10);
    }

    [Theory]
    [InlineData(Transpose.DontTranspose, Transpose.DontTranspose)]
    [InlineData(Transpose.Transpose, Transpose.DontTranspose)]
    [InlineData(Transpose.DontTranspose, Transpose.Transpose)]
    [InlineData(Transpose.Transpose, Transpose.Transpose)]
    public void GemmWithUpdateAgreesWithManagedAndDefinition(Transpose ta, Transpose tb)
    {
        const int m = 37, n = 23, k = 71;
        bool tA = ta == Transpose.Transpose, tB = tb == Transpose.Transpose;
        int rowsA = tA ? k : m, colsA = tA ? m : k, rowsB = tB ? n : k, colsB = tB ? k : n;
        var a = Random(rowsA, colsA, 1);
        var b = Random(rowsB, colsB, 2);
        var c0 = Random(m, n, 3);
        var cNative = (double[])c0.Clone();
        var cManaged = (double[])c0.Clone();
        Native().MatrixMultiplyWithUpdate(ta, tb, 0.7, a, rowsA, colsA, b, rowsB, colsB, -1.3, cNative);
        Managed.MatrixMultiplyWithUpdate(ta, tb, 0.7, a, rowsA, colsA, b, rowsB, colsB, -1.3, cManaged);
        Assert.True(RelativeDifference(cNative, cManaged) < 1e-12);

        var ab = NaiveMultiply(a, rowsA, colsA, tA, b, rowsB, colsB, tB);
        var expected = new double[m * n];
        for (int i = 0; i < expected.Length; i++)
        {
            expected[i] = 0.7 * ab[i] - 1.3 * c0[i];
        }

        Assert.True(RelativeDifference(cNative, expected) < 1e-12);
    }

    [Fact]
    public void MatrixMultiplyAgreesWithManaged()
    {
        var x = Random(30, 40, 4);
        var y = Random(40, 20, 5);
        var rNative = new double[600];
        var rManaged = new double[600];
        Native().MatrixMultiply(x, 30, 40, y, 40, 20, rNative);
        Managed.MatrixMultiply(x, 30, 40, y, 40, 20, rManaged);
        Assert.True(RelativeDifference(rNative, rManaged) < 1e-12);
    }

    [Fact]
    public void SinglePrecisionAgreesWithManaged()
    {
        const int n = 60;
        var a = Spd(n, 6, shift: 1).Select(v => (float)v).ToArray();
        var native = (float[])a.Clone();
        var managed = (float[])a.Clone();
        Native().CholeskyFactor(native, n);
        Managed.CholeskyFactor(managed, n);
        Assert.True(RelativeDifference(native, managed) < 1e-5);

        var b = Random(n, 2, 7).Select(v => (float)v).ToArray();
        var xNative = (float[])b.Clone();
        var xManaged = (float[])b.Clone();
        Native().CholeskySolve(a, n, xNative, 2);
        Managed.CholeskySolve(a, n, xManaged, 2);
        Assert.True(RelativeDifference(xNative, xManaged) < 1e-4);

        var cNative = new float[n * 2];
        var cManaged = new float[n * 2];
        Native().MatrixMultiplyWithUpdate(Transpose.Transpose, Transpose.DontTranspose, 1f, a, n, n, b, n, 2, 0f, cNative);
        Managed.MatrixMultiplyWithUpdate(Transpose.Transpose, Transpose.DontTranspose, 1f, a, n, n, b, n, 2, 0f, cManaged);
        Assert.True(RelativeDifference(cNative, cManaged) < 1e-5);
    }

    [Fact]
    public void ForwardedMembersBehaveLikeManaged()
    {
        // A member that is forwarded (LU solve) gives the managed result exactly.
        const int n = 20;
        var a = Random(n, n, 8);
        var b = Random(n, 1, 9);
        var x1 = (double[])b.Clone();
        var x2 = (double[])b.Clone();
        Native().LUSolve(1, (double[])a.Clone(), n, x1);
        Managed.LUSolve(1, (double[])a.Clone(), n, x2);
        Assert.Equal(x2, x1);
        Assert.Equal(Managed.DotProduct(a, a), Native().DotProduct(a, a));
    }

    [Fact]
    public void NonPositiveDefiniteMatrixNamesThePivot()
    {
        var a = WithPivots([2, 1, 3, -0.5, 1, 4], seed: 10);
        var ex = Assert.Throws<MatrixNotPositiveDefiniteException>(() => Native().CholeskyFactor((double[])a.Clone(), 6));
        Assert.Equal(3, ex.PivotIndex);
        Assert.Equal(-0.5, ex.PivotValue, 1e-9);
        Assert.Contains("row/column 3", ex.Message);
        Assert.Contains("not positive definite", ex.Message);

        // It is an ArgumentException, as MathNet's managed provider throws.
        Assert.ThrowsAny<ArgumentException>(() => Managed.CholeskyFactor((double[])a.Clone(), 6));
    }

    [Fact]
    public void DimensionMismatchIsAClearError()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() =>
            Native().MatrixMultiplyWithUpdate(Transpose.DontTranspose, Transpose.DontTranspose, 1, new double[6], 2, 3, new double[8], 4, 2, 0, new double[4]));
        Assert.Contains("columns of op(a) (3) != rows of op(b) (4)", ex.Message);
        var ex2 = Assert.Throws<ArgumentException>(() => Native().CholeskyFactor(new double[5], 2));
        Assert.Contains("order 2", ex2.Message);
    }
}
