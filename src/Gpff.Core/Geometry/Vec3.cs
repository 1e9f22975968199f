using System.Globalization;
using System.Runtime.CompilerServices;

namespace Gpff.Geometry;

/// <summary>A three-component double-precision vector (Cartesian Å, eV/Å, or fractional, as documented where used).</summary>
/// <param name="X">First component.</param>
/// <param name="Y">Second component.</param>
/// <param name="Z">Third component.</param>
public readonly record struct Vec3(double X, double Y, double Z)
{
    /// <summary>The zero vector.</summary>
    public static Vec3 Zero => default;

    /// <summary>Component by index (0, 1, 2).</summary>
    /// <param name="index">0 for X, 1 for Y, 2 for Z.</param>
    public double this[int index] => index switch
    {
        0 => X,
        1 => Y,
        2 => Z,
        _ => throw new ArgumentOutOfRangeException(nameof(index), index, "A Vec3 index must be 0, 1 or 2."),
    };

    /// <summary>Sum of two vectors.</summary>
    /// <param name="a">Left operand.</param>
    /// <param name="b">Right operand.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec3 operator +(Vec3 a, Vec3 b) => new(a.X + b.X, a.Y + b.Y, a.Z + b.Z);

    /// <summary>Difference of two vectors.</summary>
    /// <param name="a">Left operand.</param>
    /// <param name="b">Right operand.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec3 operator -(Vec3 a, Vec3 b) => new(a.X - b.X, a.Y - b.Y, a.Z - b.Z);

    /// <summary>Negation.</summary>
    /// <param name="a">Operand.</param>
    public static Vec3 operator -(Vec3 a) => new(-a.X, -a.Y, -a.Z);

    /// <summary>Scaling by a number.</summary>
    /// <param name="s">Scale factor.</param>
    /// <param name="a">Vector.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vec3 operator *(double s, Vec3 a) => new(s * a.X, s * a.Y, s * a.Z);

    /// <summary>Scaling by a number.</summary>
    /// <param name="a">Vector.</param>
    /// <param name="s">Scale factor.</param>
    public static Vec3 operator *(Vec3 a, double s) => new(s * a.X, s * a.Y, s * a.Z);

    /// <summary>Division by a number.</summary>
    /// <param name="a">Vector.</param>
    /// <param name="s">Divisor.</param>
    public static Vec3 operator /(Vec3 a, double s) => new(a.X / s, a.Y / s, a.Z / s);

    /// <summary>Dot product.</summary>
    /// <param name="a">Left operand.</param>
    /// <param name="b">Right operand.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Dot(Vec3 a, Vec3 b) => a.X * b.X + a.Y * b.Y + a.Z * b.Z;

    /// <summary>Cross product a × b.</summary>
    /// <param name="a">Left operand.</param>
    /// <param name="b">Right operand.</param>
    public static Vec3 Cross(Vec3 a, Vec3 b) =>
        new(a.Y * b.Z - a.Z * b.Y, a.Z * b.X - a.X * b.Z, a.X * b.Y - a.Y * b.X);

    /// <summary>Euclidean length.</summary>
    public double Length => Math.Sqrt(X * X + Y * Y + Z * Z);

    /// <summary>Squared Euclidean length.</summary>
    public double LengthSquared => X * X + Y * Y + Z * Z;

    /// <summary>True when all three components are finite (no NaN, no infinity).</summary>
    public bool IsFinite => double.IsFinite(X) && double.IsFinite(Y) && double.IsFinite(Z);

    /// <inheritdoc />
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"({X:R}, {Y:R}, {Z:R})");
}
