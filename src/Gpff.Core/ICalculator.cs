using Gpff.Geometry;

namespace Gpff;

/// <summary>
/// What a caller asks a calculator to compute (ASE's <c>get_property</c> and
/// <c>implemented_properties</c>). Combine with <c>|</c>; <see cref="Uncertainty"/> is a modifier:
/// with it, the standard deviations of the other properties asked are computed too.
/// </summary>
[Flags]
public enum CalculatorProperties
{
    /// <summary>Nothing.</summary>
    None = 0,

    /// <summary>Total energy in eV (<see cref="CalculationResult.EnergyEv"/>).</summary>
    Energy = 1,

    /// <summary>Forces in eV/Å (<see cref="CalculationResult.ForcesEvPerA"/>).</summary>
    Forces = 2,

    /// <summary>
    /// Stress in eV/Å³ (<see cref="CalculationResult.StressEvPerA3"/>). Defined for cells periodic along
    /// all three axes only: for other cells the result carries null stress, and asking is no error.
    /// </summary>
    Stress = 4,

    /// <summary>Per-atom local energies in eV (<see cref="CalculationResult.LocalEnergiesEv"/>).</summary>
    LocalEnergies = 8,

    /// <summary>Modifier: the standard deviations of the other properties asked (GP models).</summary>
    Uncertainty = 16,

    /// <summary>Energy, forces and stress: what a training label or a relaxation step needs.</summary>
    EnergyForcesStress = Energy | Forces | Stress,

    /// <summary>Every property there is.</summary>
    All = Energy | Forces | Stress | LocalEnergies | Uncertainty,
}

/// <summary>
/// Something that computes the energy, forces and stress of a structure: a GP force field, pw.x,
/// or an analytic potential (ASE's Calculator). The caller says what it needs, so that a calculator
/// can skip the rest (a GP asked for forces only takes its fast forces-only path).
/// Units: eV, eV/Å, eV/Å³ (ASE stress sign).
/// </summary>
/// <remarks>
/// Contract of <see cref="Calculate"/>: every property asked and implemented is in the result (stress
/// only for cells periodic along all three axes); a property not asked is null unless the calculator
/// got it for free (pw.x always prints the total energy, for instance) — callers must not rely on
/// either. Asking for a property outside <see cref="ImplementedProperties"/> throws
/// <see cref="NotSupportedException"/> naming the calculator and the property
/// (see <see cref="CalculatorExtensions.ThrowIfNotImplemented"/>). The extension
/// <see cref="CalculatorExtensions.Calculate(ICalculator, Structure, CancellationToken)"/> asks for
/// everything the calculator implements.
/// </remarks>
public interface ICalculator
{
    /// <summary>The properties this calculator can compute (ASE's <c>implemented_properties</c>).</summary>
    CalculatorProperties ImplementedProperties { get; }

    /// <summary>Computes the properties asked for (see the interface remarks for the contract).</summary>
    /// <param name="structure">The structure; not modified.</param>
    /// <param name="properties">What to compute; a subset of <see cref="ImplementedProperties"/>.</param>
    /// <param name="cancellationToken">Cancels a long calculation.</param>
    /// <exception cref="NotSupportedException">A property asked for is not implemented.</exception>
    CalculationResult Calculate(Structure structure, CalculatorProperties properties, CancellationToken cancellationToken = default);
}

/// <summary>Conveniences over <see cref="ICalculator"/>.</summary>
public static class CalculatorExtensions
{
    /// <summary>Computes everything the calculator implements (its <see cref="ICalculator.ImplementedProperties"/>).</summary>
    /// <param name="calculator">The calculator.</param>
    /// <param name="structure">The structure; not modified.</param>
    /// <param name="cancellationToken">Cancels a long calculation.</param>
    public static CalculationResult Calculate(this ICalculator calculator, Structure structure, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(calculator);
        return calculator.Calculate(structure, calculator.ImplementedProperties, cancellationToken);
    }

    /// <summary>
    /// Throws <see cref="NotSupportedException"/> naming the calculator and the properties when
    /// <paramref name="properties"/> asks for one the calculator does not implement. For implementers.
    /// </summary>
    /// <param name="calculator">The calculator.</param>
    /// <param name="properties">The properties asked for.</param>
    public static void ThrowIfNotImplemented(this ICalculator calculator, CalculatorProperties properties)
    {
        ArgumentNullException.ThrowIfNull(calculator);
        var implemented = calculator.ImplementedProperties;
        var missing = properties & ~implemented;
        if (missing != CalculatorProperties.None)
        {
            throw new NotSupportedException(
                $"{calculator.GetType().Name} does not compute {missing} (asked for {properties}; it implements {implemented}).");
        }
    }
}

/// <summary>
/// The result of a calculation: what was asked for, with optional uncertainties (standard deviations)
/// for GP models. A property that was not asked for is null (or present, when it came for free).
/// </summary>
public sealed record CalculationResult
{
    /// <summary>Total energy in eV, or null when not computed.</summary>
    public double? EnergyEv { get; init; }

    /// <summary>Forces in eV/Å, one per atom, or null when not computed.</summary>
    public Vec3[]? ForcesEvPerA { get; init; }

    /// <summary>Stress in eV/Å³ (Voigt, positive = tensile), or null when not computed or not defined (cell not periodic along all axes).</summary>
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

    /// <summary>
    /// The properties of <paramref name="requested"/> this result lacks: a value that is null, or with
    /// <see cref="CalculatorProperties.Uncertainty"/> asked, a standard deviation that is null (then
    /// the property and <see cref="CalculatorProperties.Uncertainty"/> are both in the answer).
    /// Stress asked for a cell that is not periodic along all axes is never missing.
    /// </summary>
    /// <param name="requested">The properties wanted.</param>
    /// <param name="allPeriodic">Whether the structure is periodic along all three axes (stress defined).</param>
    /// <returns>The missing properties; <see cref="CalculatorProperties.None"/> when none.</returns>
    public CalculatorProperties Missing(CalculatorProperties requested, bool allPeriodic)
    {
        bool std = requested.HasFlag(CalculatorProperties.Uncertainty);
        var missing = CalculatorProperties.None;
        Check(CalculatorProperties.Energy, EnergyEv is not null, EnergyStdEv is not null);
        Check(CalculatorProperties.Forces, ForcesEvPerA is not null, ForcesStdEvPerA is not null);
        if (allPeriodic)
        {
            Check(CalculatorProperties.Stress, StressEvPerA3 is not null, StressStdEvPerA3 is not null);
        }

        Check(CalculatorProperties.LocalEnergies, LocalEnergiesEv is not null, LocalEnergiesStdEv is not null);
        return missing;

        void Check(CalculatorProperties p, bool value, bool deviation)
        {
            if (!requested.HasFlag(p))
            {
                return;
            }

            if (!value)
            {
                missing |= p;
            }

            if (std && !deviation)
            {
                missing |= p | CalculatorProperties.Uncertainty;
            }
        }
    }

    /// <summary>
    /// This result with every null value taken from <paramref name="other"/>: joins two calculations
    /// of the same structure at the same positions (e.g. forces first, the energy later when read).
    /// </summary>
    /// <param name="other">Another result for the same structure and positions.</param>
    public CalculationResult Merge(CalculationResult other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return new CalculationResult
        {
            EnergyEv = EnergyEv ?? other.EnergyEv,
            ForcesEvPerA = ForcesEvPerA ?? other.ForcesEvPerA,
            StressEvPerA3 = StressEvPerA3 ?? other.StressEvPerA3,
            EnergyStdEv = EnergyStdEv ?? other.EnergyStdEv,
            ForcesStdEvPerA = ForcesStdEvPerA ?? other.ForcesStdEvPerA,
            StressStdEvPerA3 = StressStdEvPerA3 ?? other.StressStdEvPerA3,
            LocalEnergiesEv = LocalEnergiesEv ?? other.LocalEnergiesEv,
            LocalEnergiesStdEv = LocalEnergiesStdEv ?? other.LocalEnergiesStdEv,
        };
    }

    /// <summary>
    /// Copies energy, forces and stress onto a structure as its labels; a property this result lacks
    /// clears the structure's label (it would belong to other positions).
    /// </summary>
    /// <param name="structure">Structure with the same atom count.</param>
    public void ApplyAsLabels(Structure structure)
    {
        ArgumentNullException.ThrowIfNull(structure);
        structure.EnergyEv = EnergyEv;
        structure.ForcesEvPerA = (Vec3[]?)ForcesEvPerA?.Clone();
        structure.StressEvPerA3 = StressEvPerA3;
    }
}
