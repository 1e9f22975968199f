namespace Gpff.Kernels;

/// <summary>
/// Which labels of one structure take part in a covariance block, and in which order. The order of
/// rows (or columns) is fixed: [total energy if selected], [force x, y, z of each selected atom, in
/// the given atom order], [6 stress components in Voigt order xx, yy, zz, yz, xz, xy if selected],
/// [local energy of each selected atom, in the given order].
/// Units of the covariances: energy eV, force eV/Å, stress eV/Å³ (ASE sign, positive = tensile),
/// local energy eV.
/// </summary>
public sealed record LabelSelection
{
    /// <summary>Include the total energy.</summary>
    public bool Energy { get; init; }

    /// <summary>Atoms whose force components are included (3 rows each); no atom twice.</summary>
    public int[] ForceAtoms { get; init; } = [];

    /// <summary>Include the 6 stress components (3D-periodic structures only).</summary>
    public bool Stress { get; init; }

    /// <summary>Atoms whose local energies are included (prediction of per-atom energies); no atom twice.</summary>
    public int[] LocalEnergyAtoms { get; init; } = [];

    /// <summary>Number of rows this selection contributes.</summary>
    public int Count => (Energy ? 1 : 0) + 3 * ForceAtoms.Length + (Stress ? 6 : 0) + LocalEnergyAtoms.Length;

    /// <summary>Row offset of the first force component.</summary>
    public int ForceOffset => Energy ? 1 : 0;

    /// <summary>Row offset of the first stress component.</summary>
    public int StressOffset => ForceOffset + 3 * ForceAtoms.Length;

    /// <summary>Row offset of the first local energy.</summary>
    public int LocalEnergyOffset => StressOffset + (Stress ? 6 : 0);

    /// <summary>True when only forces are selected (the common, fast case).</summary>
    public bool IsForcesOnly => !Energy && !Stress && LocalEnergyAtoms.Length == 0;

    /// <summary>Whether the selection holds local energies and nothing else (the sparse GP's inducing columns).</summary>
    public bool IsLocalEnergiesOnly => !Energy && !Stress && ForceAtoms.Length == 0 && LocalEnergyAtoms.Length > 0;

    /// <summary>Energy, all forces and (optionally) stress of a structure with <paramref name="atomCount"/> atoms.</summary>
    /// <param name="atomCount">Number of atoms.</param>
    /// <param name="stress">Include stress.</param>
    public static LabelSelection All(int atomCount, bool stress = true) => new()
    {
        Energy = true,
        ForceAtoms = Enumerable.Range(0, atomCount).ToArray(),
        Stress = stress,
    };

    /// <summary>The forces of the given atoms only.</summary>
    /// <param name="atoms">Atom indices.</param>
    public static LabelSelection Forces(params int[] atoms) => new() { ForceAtoms = atoms };

    /// <summary>The total energy only.</summary>
    public static LabelSelection TotalEnergy { get; } = new() { Energy = true };

    /// <summary>The local energies of the given atoms only.</summary>
    /// <param name="atoms">Atom indices.</param>
    public static LabelSelection LocalEnergies(params int[] atoms) => new() { LocalEnergyAtoms = atoms };

    /// <summary>Throws a clear exception when an atom index is out of range or repeated.</summary>
    /// <param name="atomCount">Number of atoms of the structure.</param>
    /// <param name="what">How to name the structure in messages.</param>
    public void Validate(int atomCount, string what = "structure")
    {
        Check(ForceAtoms, nameof(ForceAtoms));
        Check(LocalEnergyAtoms, nameof(LocalEnergyAtoms));

        void Check(int[] atoms, string name)
        {
            ArgumentNullException.ThrowIfNull(atoms, name);
            var seen = new HashSet<int>();
            foreach (int a in atoms)
            {
                if (a < 0 || a >= atomCount)
                {
                    throw new ArgumentOutOfRangeException(name, a, $"{name} of the {what} names atom {a}, but it has {atomCount} atoms (0..{atomCount - 1}).");
                }

                if (!seen.Add(a))
                {
                    throw new ArgumentException($"{name} of the {what} names atom {a} twice.", name);
                }
            }
        }
    }
}
