namespace Gpff.Geometry;

/// <summary>An integer triple: a periodic image shift in units of the lattice vectors a, b, c.</summary>
/// <param name="A">Shift along a.</param>
/// <param name="B">Shift along b.</param>
/// <param name="C">Shift along c.</param>
public readonly record struct Int3(int A, int B, int C)
{
    /// <summary>The zero shift (the atom itself, not an image).</summary>
    public static Int3 Zero => default;

    /// <summary>True when all components are zero.</summary>
    public bool IsZero => A == 0 && B == 0 && C == 0;

    /// <summary>The shift as a fractional vector.</summary>
    public Vec3 ToVec3() => new(A, B, C);

    /// <summary>Negation.</summary>
    /// <param name="s">Shift.</param>
    public static Int3 operator -(Int3 s) => new(-s.A, -s.B, -s.C);

    /// <summary>True when this shift is lexicographically greater than zero (first non-zero component positive).</summary>
    public bool IsPositive => A > 0 || (A == 0 && (B > 0 || (B == 0 && C > 0)));

    /// <inheritdoc />
    public override string ToString() => $"({A}, {B}, {C})";
}
