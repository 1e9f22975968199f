using Gpff.Geometry;

namespace Gpff;

/// <summary>
/// Something that computes the energy, forces and stress of a structure: a GP force field, pw.x,
/// or an analytic potential (ASE's Calculator). Units: eV, eV/Å, eV/Å³ (ASE stress sign).
/// </summary>
public interface ICalculator
{
    /// <summary>Computes energy, forces and (for a cell periodic along all axes) stress.</summary>
    /// <param name="structure">The structure; not modified.</param>
    /// <param name="cancellationToken">Cancels a long calculation.</param>
    CalculationResult Calculate(Structure structure, CancellationToken cancellationToken = default);
}

/// <summary>The result of a calculation, with optional uncertainties (standard deviations) for GP models.</summary>
public sealed record CalculationResult
{
    /// <summary>Total energy in eV.</summary>
    public required double EnergyEv { get; init; }

    /// <summary>Forces in eV/Å, one per atom.</summary>
    public required Vec3[] ForcesEvPerA { get; init; }

    /// <summary>Stress in eV/Å³ (Voigt, positive = tensile), or null when not computed (non-periodic cell).</summary>
    public Voigt? StressEvPerA3 { get; init; }

    /// <summary>Standard deviation of the energy in eV, when the calculator estimates it.</summary>
    public double? EnergyStdEv { get; init; }

    /// <summary>Standard deviations of the force components in eV/Å, when estimated.</summary>
    public Vec3[]? ForcesStdEvPerA { get; init; }

    /// <summary>Standard deviations of the stress components in eV/Å³, when estimated.</summary>
    public Voigt? StressStdEvPerA3 { get; init; }

    /// <summary>Per-atom local energies in eV, when the calculator defines them.</summary>
    public double[]? LocalEnergiesEv { get; init; }

    /// <summary>Standard deviations of the per-atom local energies in eV, when estimated.</summary>
    public double[]? LocalEnergiesStdEv { get; init; }

    /// <summary>Copies energy, forces and stress onto a structure as its labels.</summary>
    /// <param name="structure">Structure with the same atom count.</param>
    public void ApplyAsLabels(Structure structure)
    {
        ArgumentNullException.ThrowIfNull(structure);
        structure.EnergyEv = EnergyEv;
        structure.ForcesEvPerA = (Vec3[])ForcesEvPerA.Clone();
        structure.StressEvPerA3 = StressEvPerA3;
    }
}
