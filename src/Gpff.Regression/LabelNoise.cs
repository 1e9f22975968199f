namespace Gpff.Regression;

/// <summary>
/// The one home of the label-noise model: which noise level applies to each label of a training
/// entry, the variance it gives that label, the derivative of that variance with respect to the noise
/// level, and which noise kinds a training set has labels for. Convention (see
/// <see cref="NoiseLevels"/>): the energy noise is per atom, so the standard deviation of the total
/// energy of an N-atom structure is N × <see cref="NoiseLevels.EnergyEvPerAtom"/> and its variance
/// N²σ²; each force component has variance σ_F², each stress component σ_S².
/// </summary>
internal static class LabelNoise
{
    /// <summary>Index of the energy noise in <see cref="NoiseLevels.ToArray"/> order.</summary>
    public const int Energy = 0;

    /// <summary>Index of the force noise in <see cref="NoiseLevels.ToArray"/> order.</summary>
    public const int Force = 1;

    /// <summary>Index of the stress noise in <see cref="NoiseLevels.ToArray"/> order.</summary>
    public const int Stress = 2;

    /// <summary>Number of noise kinds.</summary>
    public const int KindCount = 3;

    /// <summary>The noise kind (<see cref="Energy"/>, <see cref="Force"/> or <see cref="Stress"/>) of label <paramref name="index"/> of an entry.</summary>
    /// <param name="entry">The entry.</param>
    /// <param name="index">Label index within the entry.</param>
    public static int Kind(TrainingEntry entry, int index)
    {
        var l = entry.Labels;
        return l.Energy && index == 0 ? Energy : index < l.StressOffset ? Force : Stress;
    }

    /// <summary>The label kind (<see cref="LabelKinds.Energy"/>, <see cref="LabelKinds.Forces"/> or <see cref="LabelKinds.Stress"/>) of label <paramref name="index"/> of an entry.</summary>
    /// <param name="entry">The entry.</param>
    /// <param name="index">Label index within the entry.</param>
    public static LabelKinds LabelKind(TrainingEntry entry, int index) => Kind(entry, index) switch
    {
        Energy => LabelKinds.Energy,
        Force => LabelKinds.Forces,
        _ => LabelKinds.Stress,
    };

    /// <summary>
    /// The factor s of a label's variance, σ²·s with σ the noise level of its kind: N_atoms² for a
    /// total energy (the energy noise is per atom), 1 for force and stress components.
    /// </summary>
    /// <param name="entry">The entry.</param>
    /// <param name="kind">The label's noise kind.</param>
    public static double Scale(TrainingEntry entry, int kind)
    {
        double atoms = entry.Structure.AtomCount;
        return kind == Energy ? atoms * atoms : 1.0;
    }

    /// <summary>The noise variance of each label of an entry, in label order (eV², eV²/Å², eV²/Å⁶).</summary>
    /// <param name="entry">The entry.</param>
    /// <param name="noise">The noise levels.</param>
    public static double[] Variances(TrainingEntry entry, NoiseLevels noise)
    {
        var v = new double[entry.Count];
        for (int i = 0; i < v.Length; i++)
        {
            int kind = Kind(entry, i);
            double s = Level(noise, kind);
            v[i] = kind == Energy ? Square(s * entry.Structure.AtomCount) : s * s;
        }

        return v;
    }

    /// <summary>
    /// ∂Σ_ii/∂σ_kind of label <paramref name="index"/> of an entry: 2σ·s for the noise level of its own
    /// kind (s from <see cref="Scale"/>), zero for the other two kinds.
    /// </summary>
    /// <param name="entry">The entry.</param>
    /// <param name="index">Label index within the entry.</param>
    /// <param name="noise">The noise levels.</param>
    /// <returns>The kind whose derivative is non-zero, and that derivative.</returns>
    public static (int Kind, double Derivative) VarianceDerivative(TrainingEntry entry, int index, NoiseLevels noise)
    {
        int kind = Kind(entry, index);
        return (kind, 2 * Level(noise, kind) * Scale(entry, kind));
    }

    /// <summary>Which noise kinds have at least one label in the training set, in <see cref="NoiseLevels.ToArray"/> order.</summary>
    /// <param name="entries">The training entries.</param>
    public static bool[] Present(IEnumerable<TrainingEntry> entries)
    {
        var present = new bool[KindCount];
        foreach (var e in entries)
        {
            present[Energy] |= e.Labels.Energy;
            present[Force] |= e.Labels.ForceAtoms.Length > 0;
            present[Stress] |= e.Labels.Stress;
        }

        return present;
    }

    /// <summary>The noise level (standard deviation) of a kind.</summary>
    /// <param name="noise">The noise levels.</param>
    /// <param name="kind">The kind.</param>
    public static double Level(NoiseLevels noise, int kind) => kind switch
    {
        Energy => noise.EnergyEvPerAtom,
        Force => noise.ForceEvPerA,
        _ => noise.StressEvPerA3,
    };

    private static double Square(double x) => x * x;
}
