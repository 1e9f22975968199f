using System.Globalization;

namespace Gpff.Regression.LinearAlgebra;

/// <summary>
/// A Cholesky factorisation met a non-positive pivot: the matrix (after any jitter) is not
/// numerically positive definite. Derives from <see cref="ArgumentException"/>, which is what
/// MathNet.Numerics throws for the same condition.
/// </summary>
public sealed class MatrixNotPositiveDefiniteException : ArgumentException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="order">Order of the matrix.</param>
    /// <param name="pivotIndex">0-based row/column of the failing pivot.</param>
    /// <param name="pivotValue">The value of the failing pivot (the Schur-complement diagonal element; ≤ 0 or NaN).</param>
    /// <param name="jitterAdded">The jitter that had been added to the diagonal in the last attempt (0 if none).</param>
    /// <param name="detail">Extra context appended to the message (may be null).</param>
    public MatrixNotPositiveDefiniteException(int order, int pivotIndex, double pivotValue, double jitterAdded, string? detail = null)
        : base(Format(order, pivotIndex, pivotValue, jitterAdded, detail))
    {
        Order = order;
        PivotIndex = pivotIndex;
        PivotValue = pivotValue;
        JitterAdded = jitterAdded;
    }

    /// <summary>Order of the matrix.</summary>
    public int Order { get; }

    /// <summary>0-based row/column of the failing pivot: the leading minor of order <c>PivotIndex + 1</c> is not positive definite.</summary>
    public int PivotIndex { get; }

    /// <summary>The failing pivot value (the diagonal element of the Schur complement, ≤ 0 or NaN).</summary>
    public double PivotValue { get; }

    /// <summary>The jitter that had been added to the diagonal in the last attempt (0 if none).</summary>
    public double JitterAdded { get; }

    private static string Format(int order, int pivotIndex, double pivotValue, double jitterAdded, string? detail)
    {
        var inv = CultureInfo.InvariantCulture;
        string jitter = jitterAdded > 0 ? string.Format(inv, " after adding {0:G3} to the diagonal", jitterAdded) : string.Empty;
        string text = string.Format(inv,
            "The {0}×{0} matrix is not positive definite{1}: the Cholesky pivot at row/column {2} (0-based) is {3:G6}, so the leading minor of order {4} is not positive definite.",
            order, jitter, pivotIndex, pivotValue, pivotIndex + 1);
        return detail is null ? text : text + " " + detail;
    }
}
