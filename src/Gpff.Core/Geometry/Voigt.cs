using System.Globalization;

namespace Gpff.Geometry;

/// <summary>
/// A symmetric 3×3 tensor in Voigt order xx, yy, zz, yz, xz, xy (ASE's order). For stress the
/// unit is eV/Å³ and the sign is ASE's: positive = tensile, P = −(xx + yy + zz)/3.
/// </summary>
public readonly record struct Voigt(double XX, double YY, double ZZ, double YZ, double XZ, double XY)
{
    /// <summary>Component by Voigt index 0..5 (xx, yy, zz, yz, xz, xy).</summary>
    /// <param name="index">Voigt index.</param>
    public double this[int index] => index switch
    {
        0 => XX, 1 => YY, 2 => ZZ, 3 => YZ, 4 => XZ, 5 => XY,
        _ => throw new ArgumentOutOfRangeException(nameof(index), index, "A Voigt index must be 0 to 5."),
    };

    /// <summary>The Cartesian index pairs of the six Voigt components.</summary>
    public static ReadOnlySpan<(int Row, int Column)> IndexPairs => new[] { (0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1) };

    /// <summary>Builds from six numbers in Voigt order.</summary>
    /// <param name="values">Six numbers.</param>
    public static Voigt FromSpan(ReadOnlySpan<double> values)
    {
        if (values.Length != 6)
        {
            throw new ArgumentException($"A Voigt tensor needs 6 numbers, got {values.Length}.", nameof(values));
        }

        return new(values[0], values[1], values[2], values[3], values[4], values[5]);
    }

    /// <summary>Builds from a 3×3 matrix, averaging the off-diagonal pairs.</summary>
    /// <param name="m">A (nearly) symmetric matrix.</param>
    public static Voigt FromMatrix(Mat3 m) =>
        new(m.M00, m.M11, m.M22, 0.5 * (m.M12 + m.M21), 0.5 * (m.M02 + m.M20), 0.5 * (m.M01 + m.M10));

    /// <summary>The full symmetric 3×3 matrix.</summary>
    public Mat3 ToMatrix() => new(XX, XY, XZ, XY, YY, YZ, XZ, YZ, ZZ);

    /// <summary>The six numbers in Voigt order.</summary>
    public double[] ToArray() => [XX, YY, ZZ, YZ, XZ, XY];

    /// <summary>Pressure for a stress tensor: −trace/3, in the stress's unit.</summary>
    public double Pressure => -(XX + YY + ZZ) / 3.0;

    /// <summary>True when all components are finite.</summary>
    public bool IsFinite => double.IsFinite(XX) && double.IsFinite(YY) && double.IsFinite(ZZ)
        && double.IsFinite(YZ) && double.IsFinite(XZ) && double.IsFinite(XY);

    /// <summary>Scaling by a number.</summary>
    /// <param name="s">Scale factor.</param>
    /// <param name="v">Tensor.</param>
    public static Voigt operator *(double s, Voigt v) => new(s * v.XX, s * v.YY, s * v.ZZ, s * v.YZ, s * v.XZ, s * v.XY);

    /// <summary>Sum.</summary>
    /// <param name="a">Left operand.</param>
    /// <param name="b">Right operand.</param>
    public static Voigt operator +(Voigt a, Voigt b) => new(a.XX + b.XX, a.YY + b.YY, a.ZZ + b.ZZ, a.YZ + b.YZ, a.XZ + b.XZ, a.XY + b.XY);

    /// <summary>Difference.</summary>
    /// <param name="a">Left operand.</param>
    /// <param name="b">Right operand.</param>
    public static Voigt operator -(Voigt a, Voigt b) => new(a.XX - b.XX, a.YY - b.YY, a.ZZ - b.ZZ, a.YZ - b.YZ, a.XZ - b.XZ, a.XY - b.XY);

    /// <inheritdoc />
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"[{XX:R}, {YY:R}, {ZZ:R}, {YZ:R}, {XZ:R}, {XY:R}]");
}
