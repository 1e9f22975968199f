using System.Globalization;

namespace Gpff.Geometry;

/// <summary>
/// A 3×3 double-precision matrix stored by rows. As a cell, the rows are the lattice vectors
/// a, b, c in Å (ASE's convention), so Cartesian = fractional · M.
/// </summary>
public readonly record struct Mat3(
    double M00, double M01, double M02,
    double M10, double M11, double M12,
    double M20, double M21, double M22)
{
    /// <summary>The identity matrix.</summary>
    public static Mat3 Identity => new(1, 0, 0, 0, 1, 0, 0, 0, 1);

    /// <summary>The zero matrix.</summary>
    public static Mat3 Zero => default;

    /// <summary>Builds a matrix from three row vectors.</summary>
    /// <param name="r0">Row 0.</param>
    /// <param name="r1">Row 1.</param>
    /// <param name="r2">Row 2.</param>
    public static Mat3 FromRows(Vec3 r0, Vec3 r1, Vec3 r2) =>
        new(r0.X, r0.Y, r0.Z, r1.X, r1.Y, r1.Z, r2.X, r2.Y, r2.Z);

    /// <summary>Builds a diagonal matrix.</summary>
    /// <param name="a">Element (0,0).</param>
    /// <param name="b">Element (1,1).</param>
    /// <param name="c">Element (2,2).</param>
    public static Mat3 Diagonal(double a, double b, double c) => new(a, 0, 0, 0, b, 0, 0, 0, c);

    /// <summary>Builds a matrix from 9 numbers in row-major order.</summary>
    /// <param name="values">Exactly 9 numbers.</param>
    public static Mat3 FromRowMajor(ReadOnlySpan<double> values)
    {
        if (values.Length != 9)
        {
            throw new ArgumentException($"A 3×3 matrix needs 9 numbers, got {values.Length}.", nameof(values));
        }

        return new(values[0], values[1], values[2], values[3], values[4], values[5], values[6], values[7], values[8]);
    }

    /// <summary>Element by row and column.</summary>
    /// <param name="row">Row 0..2.</param>
    /// <param name="column">Column 0..2.</param>
    public double this[int row, int column] => (row * 3 + column) switch
    {
        0 => M00, 1 => M01, 2 => M02,
        3 => M10, 4 => M11, 5 => M12,
        6 => M20, 7 => M21, 8 => M22,
        _ => throw new ArgumentOutOfRangeException(nameof(row), $"Index ({row}, {column}) is outside a 3×3 matrix."),
    };

    /// <summary>Row 0 (lattice vector a for a cell).</summary>
    public Vec3 Row0 => new(M00, M01, M02);

    /// <summary>Row 1 (lattice vector b for a cell).</summary>
    public Vec3 Row1 => new(M10, M11, M12);

    /// <summary>Row 2 (lattice vector c for a cell).</summary>
    public Vec3 Row2 => new(M20, M21, M22);

    /// <summary>Row by index.</summary>
    /// <param name="i">0, 1 or 2.</param>
    public Vec3 Row(int i) => i switch
    {
        0 => Row0,
        1 => Row1,
        2 => Row2,
        _ => throw new ArgumentOutOfRangeException(nameof(i), i, "A row index must be 0, 1 or 2."),
    };

    /// <summary>Determinant (the signed cell volume in Å³ for a cell).</summary>
    public double Determinant =>
        M00 * (M11 * M22 - M12 * M21) - M01 * (M10 * M22 - M12 * M20) + M02 * (M10 * M21 - M11 * M20);

    /// <summary>Trace.</summary>
    public double Trace => M00 + M11 + M22;

    /// <summary>Transpose.</summary>
    public Mat3 Transpose() => new(M00, M10, M20, M01, M11, M21, M02, M12, M22);

    /// <summary>Inverse; throws when the matrix is singular.</summary>
    public Mat3 Inverse()
    {
        double det = Determinant;
        if (det == 0 || !double.IsFinite(det))
        {
            throw new InvalidOperationException("The 3×3 matrix is singular and has no inverse.");
        }

        double inv = 1.0 / det;
        return new(
            (M11 * M22 - M12 * M21) * inv, (M02 * M21 - M01 * M22) * inv, (M01 * M12 - M02 * M11) * inv,
            (M12 * M20 - M10 * M22) * inv, (M00 * M22 - M02 * M20) * inv, (M02 * M10 - M00 * M12) * inv,
            (M10 * M21 - M11 * M20) * inv, (M01 * M20 - M00 * M21) * inv, (M00 * M11 - M01 * M10) * inv);
    }

    /// <summary>Matrix product a·b.</summary>
    /// <param name="a">Left operand.</param>
    /// <param name="b">Right operand.</param>
    public static Mat3 operator *(Mat3 a, Mat3 b) => new(
        a.M00 * b.M00 + a.M01 * b.M10 + a.M02 * b.M20, a.M00 * b.M01 + a.M01 * b.M11 + a.M02 * b.M21, a.M00 * b.M02 + a.M01 * b.M12 + a.M02 * b.M22,
        a.M10 * b.M00 + a.M11 * b.M10 + a.M12 * b.M20, a.M10 * b.M01 + a.M11 * b.M11 + a.M12 * b.M21, a.M10 * b.M02 + a.M11 * b.M12 + a.M12 * b.M22,
        a.M20 * b.M00 + a.M21 * b.M10 + a.M22 * b.M20, a.M20 * b.M01 + a.M21 * b.M11 + a.M22 * b.M21, a.M20 * b.M02 + a.M21 * b.M12 + a.M22 * b.M22);

    /// <summary>Element-wise sum.</summary>
    /// <param name="a">Left operand.</param>
    /// <param name="b">Right operand.</param>
    public static Mat3 operator +(Mat3 a, Mat3 b) => new(
        a.M00 + b.M00, a.M01 + b.M01, a.M02 + b.M02,
        a.M10 + b.M10, a.M11 + b.M11, a.M12 + b.M12,
        a.M20 + b.M20, a.M21 + b.M21, a.M22 + b.M22);

    /// <summary>Element-wise difference.</summary>
    /// <param name="a">Left operand.</param>
    /// <param name="b">Right operand.</param>
    public static Mat3 operator -(Mat3 a, Mat3 b) => new(
        a.M00 - b.M00, a.M01 - b.M01, a.M02 - b.M02,
        a.M10 - b.M10, a.M11 - b.M11, a.M12 - b.M12,
        a.M20 - b.M20, a.M21 - b.M21, a.M22 - b.M22);

    /// <summary>Scaling by a number.</summary>
    /// <param name="s">Scale factor.</param>
    /// <param name="a">Matrix.</param>
    public static Mat3 operator *(double s, Mat3 a) => new(
        s * a.M00, s * a.M01, s * a.M02, s * a.M10, s * a.M11, s * a.M12, s * a.M20, s * a.M21, s * a.M22);

    /// <summary>Row vector times matrix, v·M (fractional → Cartesian for a cell).</summary>
    /// <param name="v">Row vector.</param>
    /// <param name="m">Matrix.</param>
    public static Vec3 operator *(Vec3 v, Mat3 m) => new(
        v.X * m.M00 + v.Y * m.M10 + v.Z * m.M20,
        v.X * m.M01 + v.Y * m.M11 + v.Z * m.M21,
        v.X * m.M02 + v.Y * m.M12 + v.Z * m.M22);

    /// <summary>Matrix times column vector, M·v.</summary>
    /// <param name="m">Matrix.</param>
    /// <param name="v">Column vector.</param>
    public static Vec3 operator *(Mat3 m, Vec3 v) => new(
        m.M00 * v.X + m.M01 * v.Y + m.M02 * v.Z,
        m.M10 * v.X + m.M11 * v.Y + m.M12 * v.Z,
        m.M20 * v.X + m.M21 * v.Y + m.M22 * v.Z);

    /// <summary>True when all elements are finite.</summary>
    public bool IsFinite => Row0.IsFinite && Row1.IsFinite && Row2.IsFinite;

    /// <summary>Copies the 9 elements in row-major order.</summary>
    public double[] ToRowMajorArray() => [M00, M01, M02, M10, M11, M12, M20, M21, M22];

    /// <inheritdoc />
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"[{Row0}, {Row1}, {Row2}]");
}
