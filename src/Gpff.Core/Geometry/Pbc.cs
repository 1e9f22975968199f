namespace Gpff.Geometry;

/// <summary>Periodicity along the three lattice vectors a, b, c.</summary>
/// <param name="A">Periodic along lattice vector a.</param>
/// <param name="B">Periodic along lattice vector b.</param>
/// <param name="C">Periodic along lattice vector c.</param>
public readonly record struct Pbc(bool A, bool B, bool C)
{
    /// <summary>Periodic along all three axes (a bulk crystal).</summary>
    public static Pbc All => new(true, true, true);

    /// <summary>Periodic along no axis (a molecule or cluster).</summary>
    public static Pbc None => new(false, false, false);

    /// <summary>Periodicity of an axis by index.</summary>
    /// <param name="axis">0, 1 or 2.</param>
    public bool this[int axis] => axis switch
    {
        0 => A,
        1 => B,
        2 => C,
        _ => throw new ArgumentOutOfRangeException(nameof(axis), axis, "An axis index must be 0, 1 or 2."),
    };

    /// <summary>True when at least one axis is periodic.</summary>
    public bool Any => A || B || C;

    /// <summary>True when all three axes are periodic.</summary>
    public bool AllPeriodic => A && B && C;

    /// <inheritdoc />
    public override string ToString() => $"{(A ? 'T' : 'F')} {(B ? 'T' : 'F')} {(C ? 'T' : 'F')}";
}
