namespace Gpff.Kernels;

/// <summary>
/// Which labels of one structure take part in a covariance block, and in which order. The order of
/// rows (or columns) is fixed: [total energy if selected], [force x, y, z of each selected atom, in
/// the given atom order], [6 stress components in Voigt order xx, yy, zz, yz, xz, xy if selected],
/// [local energy of each selected atom, in the given order].
/// </summary>
public sealed record LabelSelection
{
    /// <summary>Include the total energy.</summary>
    public bool Energy { get; init; }

    /// <summary>Atoms whose force components are included (3 rows each).</summary>
    public int[] ForceAtoms { get; init; } = [];

    /// <summary>Include the 6 stress components.</summary>
    public bool Stress { get; init; }

    /// <summary>Atoms whose local energies are included (prediction only).</summary>
    public int[] LocalEnergyAtoms { get; init; } = [];

    /// <summary>Number of rows this selection contributes.</summary>
    public int Count => (Energy ? 1 : 0) + 3 * ForceAtoms.Length + (Stress ? 6 : 0) + LocalEnergyAtoms.Length;

    /// <summary>Row offset of the first force component.</summary>
    public int ForceOffset => Energy ? 1 : 0;

    /// <summary>Row offset of the first stress component.</summary>
    public int StressOffset => ForceOffset + 3 * ForceAtoms.Length;

    /// <summary>Row offset of the first local energy.</summary>
    public int LocalEnergyOffset => StressOffset + (Stress ? 6 : 0);

    /// <summary>Energy, all forces and (optionally) stress of a structure with <paramref name="atomCount"/> atoms.</summary>
    /// <param name="atomCount">Number of atoms.</param>
    /// <param name="stress">Include stress.</param>
    public static LabelSelection All(int atomCount, bool stress = true) => new()
    {
        Energy = true,
        ForceAtoms = Enumerable.Range(0, atomCount).ToArray(),
        Stress = stress,
    };
}
