using Gpff.Descriptors;
using Gpff.Kernels;

namespace Gpff.Regression;

/// <summary>Which kinds of labels of a structure to train on.</summary>
[Flags]
public enum LabelKinds
{
    /// <summary>None.</summary>
    None = 0,

    /// <summary>The total energy (eV).</summary>
    Energy = 1,

    /// <summary>Forces (eV/Å), of all atoms or of selected atoms.</summary>
    Forces = 2,

    /// <summary>The stress (Voigt, eV/Å³, ASE sign), for 3D-periodic structures.</summary>
    Stress = 4,

    /// <summary>Energy, forces and stress.</summary>
    All = Energy | Forces | Stress,
}

/// <summary>
/// Noise standard deviations of the three label kinds. The energy noise is per atom: the noise of
/// the total energy of an N-atom structure is N × <see cref="EnergyEvPerAtom"/>, i.e. the energy per
/// atom E/N carries noise <see cref="EnergyEvPerAtom"/> whatever the cell size (FLARE instead applies
/// its energy noise to the total energy; divide a FLARE value by N to convert).
/// </summary>
/// <param name="EnergyEvPerAtom">Energy noise per atom, eV/atom.</param>
/// <param name="ForceEvPerA">Force noise per component, eV/Å.</param>
/// <param name="StressEvPerA3">Stress noise per Voigt component, eV/Å³.</param>
public sealed record NoiseLevels(double EnergyEvPerAtom, double ForceEvPerA, double StressEvPerA3)
{
    /// <summary>Default energy noise, eV/atom (5 meV/atom).</summary>
    public const double DefaultEnergyEvPerAtom = 0.005;

    /// <summary>Default force noise, eV/Å per component.</summary>
    public const double DefaultForceEvPerA = 0.1;

    /// <summary>Default stress noise, eV/Å³ per Voigt component (0.32 GPa).</summary>
    public const double DefaultStressEvPerA3 = 0.002;

    /// <summary>Name of the energy noise (eV/atom) wherever noises are named: fit bounds and reports, the command line, model files.</summary>
    public const string EnergyName = "energy_noise";

    /// <summary>Name of the force noise (eV/Å).</summary>
    public const string ForceName = "force_noise";

    /// <summary>Name of the stress noise (eV/Å³).</summary>
    public const string StressName = "stress_noise";

    /// <summary>
    /// Typical values for DFT data: <see cref="DefaultEnergyEvPerAtom"/>, <see cref="DefaultForceEvPerA"/>,
    /// <see cref="DefaultStressEvPerA3"/> (5 meV/atom, 0.1 eV/Å, 0.002 eV/Å³).
    /// </summary>
    public static NoiseLevels Default { get; } = new(DefaultEnergyEvPerAtom, DefaultForceEvPerA, DefaultStressEvPerA3);

    /// <summary>The names of the three noises (<see cref="EnergyName"/>, <see cref="ForceName"/>, <see cref="StressName"/>), in the order of <see cref="ToArray"/>.</summary>
    public static IReadOnlyList<string> Names { get; } = [EnergyName, ForceName, StressName];

    /// <summary>The three values in the order energy (eV/atom), force (eV/Å), stress (eV/Å³).</summary>
    public double[] ToArray() => [EnergyEvPerAtom, ForceEvPerA, StressEvPerA3];

    /// <summary>Noise levels from three values in the order of <see cref="ToArray"/>.</summary>
    /// <param name="values">Energy (eV/atom), force (eV/Å), stress (eV/Å³).</param>
    public static NoiseLevels FromArray(IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count != 3)
        {
            throw new ArgumentException($"Noise levels are three values (energy, force, stress), got {values.Count}.", nameof(values));
        }

        return new NoiseLevels(values[0], values[1], values[2]);
    }

    /// <summary>Throws when a noise is not positive and finite.</summary>
    public void Validate()
    {
        foreach (var (name, v) in new[] { ("energy", EnergyEvPerAtom), ("force", ForceEvPerA), ("stress", StressEvPerA3) })
        {
            if (!(v > 0) || !double.IsFinite(v))
            {
                throw new ArgumentOutOfRangeException(name + "Noise", v, $"The {name} noise must be a positive finite standard deviation, got {v}.");
            }
        }
    }
}

/// <summary>One training structure with the labels the GP uses from it.</summary>
public sealed class TrainingEntry
{
    internal TrainingEntry(Structure structure, StructureEnvironments environments, LabelSelection labels, double[] values)
    {
        Structure = structure;
        Environments = environments;
        Labels = labels;
        Values = values;
        Block = new LabelBlock(environments, labels);
    }

    /// <summary>The structure (a private copy, with its labels).</summary>
    public Structure Structure { get; }

    /// <summary>Its environments, built by the kernel.</summary>
    public StructureEnvironments Environments { get; }

    /// <summary>The labels used, in the kernel's label order (energy, forces of the selected atoms, stress).</summary>
    public LabelSelection Labels { get; }

    /// <summary>The raw label values in label order: total energy (eV), force components (eV/Å), stress (eV/Å³).</summary>
    public double[] Values { get; }

    /// <summary>Number of labels.</summary>
    public int Count => Labels.Count;

    /// <summary>Its environments and labels as a block of the covariance assembly (<see cref="CovarianceAssembly"/>).</summary>
    public LabelBlock Block { get; }

    /// <summary>Selects the labels of a structure and builds the entry.</summary>
    /// <param name="structure">The structure with labels.</param>
    /// <param name="kernel">The kernel (builds the environments).</param>
    /// <param name="kinds">Label kinds to use where present.</param>
    /// <param name="forceAtoms">Atoms whose forces to use (null: all).</param>
    /// <param name="name">How to name the structure in errors.</param>
    /// <exception cref="ArgumentException">No label of the requested kinds is present, or a label is not finite.</exception>
    public static TrainingEntry Create(Structure structure, IKernel kernel, LabelKinds kinds, IReadOnlyList<int>? forceAtoms, string name)
    {
        ArgumentNullException.ThrowIfNull(structure);
        ArgumentNullException.ThrowIfNull(kernel);
        var s = structure.Clone();
        bool energy = kinds.HasFlag(LabelKinds.Energy) && s.EnergyEv is not null;
        int[] atoms = kinds.HasFlag(LabelKinds.Forces) && s.ForcesEvPerA is not null
            ? (forceAtoms ?? Enumerable.Range(0, s.AtomCount).ToArray()).ToArray()
            : [];
        if (forceAtoms is not null && kinds.HasFlag(LabelKinds.Forces) && s.ForcesEvPerA is null)
        {
            throw new ArgumentException($"{name}: forces of atoms {string.Join(", ", forceAtoms)} were requested but the structure has no force labels.");
        }

        foreach (int a in atoms)
        {
            if (a < 0 || a >= s.AtomCount)
            {
                throw new ArgumentOutOfRangeException(nameof(forceAtoms), a, $"{name}: atom {a} does not exist (it has {s.AtomCount} atoms).");
            }
        }

        if (atoms.Distinct().Count() != atoms.Length)
        {
            throw new ArgumentException($"{name}: an atom is listed twice among the force atoms.", nameof(forceAtoms));
        }

        bool stress = kinds.HasFlag(LabelKinds.Stress) && s.StressEvPerA3 is not null && s.Pbc.AllPeriodic;
        var labels = new LabelSelection { Energy = energy, ForceAtoms = atoms, Stress = stress };
        if (labels.Count == 0)
        {
            throw new ArgumentException($"{name} has no labels of the kinds requested ({kinds}): energy {(s.EnergyEv is null ? "absent" : "present")}, forces {(s.ForcesEvPerA is null ? "absent" : "present")}, stress {(s.StressEvPerA3 is null ? "absent" : s.Pbc.AllPeriodic ? "present" : "present but the structure is not 3D-periodic")}.");
        }

        var values = new double[labels.Count];
        if (energy)
        {
            values[0] = s.EnergyEv!.Value;
        }

        for (int k = 0; k < atoms.Length; k++)
        {
            var f = s.ForcesEvPerA![atoms[k]];
            values[labels.ForceOffset + 3 * k] = f.X;
            values[labels.ForceOffset + 3 * k + 1] = f.Y;
            values[labels.ForceOffset + 3 * k + 2] = f.Z;
        }

        if (stress)
        {
            s.StressEvPerA3!.Value.ToArray().CopyTo(values, labels.StressOffset);
        }

        for (int i = 0; i < values.Length; i++)
        {
            if (!double.IsFinite(values[i]))
            {
                throw new ArgumentException($"{name}: label {i} ({LabelName(labels, i)}) is not finite ({values[i]}).");
            }
        }

        s.Validate(minimumDistanceA: Structure.DefaultMinimumDistanceA, allowLeftHandedCell: true);
        return new TrainingEntry(s, kernel.Describe(s), labels, values);
    }

    /// <summary>Names label <paramref name="index"/> of a selection ("energy", "force 3 y", "stress xz").</summary>
    /// <param name="labels">The selection.</param>
    /// <param name="index">Label index.</param>
    public static string LabelName(LabelSelection labels, int index)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (labels.Energy && index == 0)
        {
            return "energy";
        }

        if (index < labels.StressOffset)
        {
            int k = index - labels.ForceOffset;
            return $"force of atom {labels.ForceAtoms[k / 3]} {"xyz"[k % 3]}";
        }

        if (index < labels.LocalEnergyOffset)
        {
            return "stress " + new[] { "xx", "yy", "zz", "yz", "xz", "xy" }[index - labels.StressOffset];
        }

        return $"local energy of atom {labels.LocalEnergyAtoms[index - labels.LocalEnergyOffset]}";
    }
}
