using Gpff.Geometry;

namespace Gpff.Dynamics.Optimization;

/// <summary>Which cell degrees of freedom a relaxation moves.</summary>
public enum CellFreedom
{
    /// <summary>The cell is fixed: positions only (the stress is never asked for).</summary>
    Fixed,

    /// <summary>Hydrostatic strain only: the cell is scaled uniformly, its shape kept.</summary>
    Hydrostatic,

    /// <summary>The full cell: six symmetric strain components (no rotation).</summary>
    Full,
}

/// <summary>
/// One evaluation of a <see cref="CellFilter"/>: the enthalpy, its gradient with respect to the
/// filter's variables, and the physical forces and stress behind them.
/// </summary>
/// <param name="EnergyEv">Potential energy in eV, or null when it was not asked for.</param>
/// <param name="EnthalpyEv">E + P·V in eV, or null when the energy was not asked for.</param>
/// <param name="Gradient">
/// ∂H/∂x for the variables x of <see cref="CellFilter.GetVariables"/>: eV/Å for the reference
/// positions, eV per unit of the scaled log-strain for the cell entries.
/// </param>
/// <param name="ForcesEvPerA">Cartesian forces in eV/Å on the atoms at their current positions.</param>
/// <param name="StressEvPerA3">Stress in eV/Å³ (ASE sign), or null for a fixed cell.</param>
/// <param name="VolumeA3">Cell volume in Å³.</param>
/// <param name="MaxForceEvPerA">Largest atomic force |Fᵢ| in eV/Å.</param>
/// <param name="MaxStressDeviationGpa">
/// How far the stress is from −P·I in GPa: the largest |σ_ab + P·δ_ab| for a full cell, |P_int − P| for
/// hydrostatic strain, 0 for a fixed cell.
/// </param>
public sealed record CellFilterEvaluation(
    double? EnergyEv, double? EnthalpyEv, double[] Gradient, Vec3[] ForcesEvPerA, Voigt? StressEvPerA3,
    double VolumeA3, double MaxForceEvPerA, double MaxStressDeviationGpa);

/// <summary>
/// Positions and cell of a structure as one vector of variables whose enthalpy H = E + P·V is minimised
/// (in the spirit of ASE's ExpCellFilter / FrechetCellFilter). The cell is the start cell deformed by
/// F = exp(U), U symmetric (a log-strain relative to the start, no rotation): cell = cell₀·F (rows) and
/// rᵢ = sᵢ·F, where the reference positions sᵢ (Å) are the positions undeformed to the start cell.
/// Variables: the 3N components of sᵢ, then c·U (the 9 entries of U, row-major, for a full cell; the
/// one number u of U = u·I for hydrostatic strain; none for a fixed cell), with c the cell factor
/// (default: the atom count, as in ASE) so that cell and atoms converge together.
/// </summary>
/// <remarks>
/// Gradients: ∂H/∂sᵢ = −Fᵢ·F; ∂H/∂F = V·(σ + P·I)·F⁻ᵀ (σ the stress, positive = tensile, so −V(σ + P·I)
/// is ASE's generalised virial force), carried to U through the adjoint of the Fréchet derivative of
/// exp, symmetrised, and divided by c. Only the symmetric part of U moves: the stationary points are
/// the same (zero forces and σ = −P·I) and the crystal never rotates. The structure given is moved in
/// place and its labels set to the calculator's results.
/// </remarks>
public sealed class CellFilter
{
    private readonly Vec3[] _reference;
    private readonly Mat3 _cell0;
    private Mat3 _logStrain = Mat3.Zero;
    private Mat3 _deformation = Mat3.Identity;

    /// <summary>Wraps a structure and a calculator.</summary>
    /// <param name="structure">The structure to move (in place); the current cell and positions are the reference.</param>
    /// <param name="calculator">Forces, and the stress unless the cell is fixed; the energy when the enthalpy is read.</param>
    /// <param name="pressureGpa">External pressure in GPa.</param>
    /// <param name="cellFreedom">Which cell degrees of freedom move.</param>
    /// <param name="cellFactor">The scale c of the cell variables (positive); null means the atom count.</param>
    /// <exception cref="ArgumentException">
    /// The calculator lacks forces (or the stress a moving cell needs), or the cell of a cell relaxation is
    /// not periodic along all three axes.
    /// </exception>
    public CellFilter(Structure structure, ICalculator calculator, double pressureGpa, CellFreedom cellFreedom = CellFreedom.Full, double? cellFactor = null)
    {
        ArgumentNullException.ThrowIfNull(structure);
        ArgumentNullException.ThrowIfNull(calculator);
        if (!double.IsFinite(pressureGpa))
        {
            throw new ArgumentOutOfRangeException(nameof(pressureGpa), pressureGpa, "The pressure must be a finite number of GPa.");
        }

        if (structure.AtomCount == 0)
        {
            throw new ArgumentException("A relaxation needs at least one atom.", nameof(structure));
        }

        if (!calculator.ImplementedProperties.HasFlag(CalculatorProperties.Forces))
        {
            throw new ArgumentException($"{calculator.GetType().Name} does not compute forces ({calculator.ImplementedProperties}); a relaxation needs them.", nameof(calculator));
        }

        if (cellFreedom != CellFreedom.Fixed)
        {
            if (!calculator.ImplementedProperties.HasFlag(CalculatorProperties.Stress))
            {
                throw new ArgumentException(
                    $"{calculator.GetType().Name} does not compute the stress ({calculator.ImplementedProperties}); a {cellFreedom} cell relaxation needs it. Use CellFreedom.Fixed to relax positions only.",
                    nameof(calculator));
            }

            if (!structure.Pbc.AllPeriodic)
            {
                throw new ArgumentException($"A {cellFreedom} cell relaxation needs a cell periodic along all three axes (the stress is undefined otherwise); got {structure.Pbc}.", nameof(structure));
            }
        }

        double factor = cellFactor ?? structure.AtomCount;
        if (!(factor > 0) || !double.IsFinite(factor))
        {
            throw new ArgumentOutOfRangeException(nameof(cellFactor), cellFactor, "The cell factor must be a positive finite number.");
        }

        Structure = structure;
        Calculator = calculator;
        PressureGpa = pressureGpa;
        CellFreedom = cellFreedom;
        CellFactor = factor;
        _cell0 = structure.Cell;
        _reference = (Vec3[])structure.Positions.Clone();
    }

    /// <summary>The structure being moved (in place).</summary>
    public Structure Structure { get; }

    /// <summary>The calculator.</summary>
    public ICalculator Calculator { get; }

    /// <summary>External pressure in GPa.</summary>
    public double PressureGpa { get; }

    /// <summary>Which cell degrees of freedom move.</summary>
    public CellFreedom CellFreedom { get; }

    /// <summary>The scale c of the cell variables.</summary>
    public double CellFactor { get; }

    /// <summary>The deformation F = exp(U) of the cell relative to the start (symmetric).</summary>
    public Mat3 DeformationGradient => _deformation;

    /// <summary>Number of variables: 3N, plus 9 (full cell) or 1 (hydrostatic strain).</summary>
    public int Length => 3 * Structure.AtomCount + CellVariableCount;

    private int CellVariableCount => CellFreedom switch { CellFreedom.Full => 9, CellFreedom.Hydrostatic => 1, _ => 0 };

    /// <summary>The current variables (see the class summary).</summary>
    public double[] GetVariables()
    {
        var x = new double[Length];
        int n = Structure.AtomCount;
        for (int i = 0; i < n; i++)
        {
            x[3 * i] = _reference[i].X;
            x[3 * i + 1] = _reference[i].Y;
            x[3 * i + 2] = _reference[i].Z;
        }

        if (CellFreedom == CellFreedom.Full)
        {
            for (int k = 0; k < 9; k++)
            {
                x[3 * n + k] = CellFactor * _logStrain[k / 3, k % 3];
            }
        }
        else if (CellFreedom == CellFreedom.Hydrostatic)
        {
            x[3 * n] = CellFactor * _logStrain.M00;
        }

        return x;
    }

    /// <summary>
    /// Moves the structure to the given variables: positions rᵢ = sᵢ·F and cell = cell₀·F with F = exp(U)
    /// (U is symmetrised: pairs of off-diagonal entries that differ are averaged).
    /// </summary>
    /// <param name="variables">As many numbers as <see cref="Length"/>.</param>
    /// <exception cref="ArgumentException">Wrong length or a non-finite number.</exception>
    public void SetVariables(ReadOnlySpan<double> variables)
    {
        if (variables.Length != Length)
        {
            throw new ArgumentException($"{variables.Length} variables were given; this filter has {Length}.", nameof(variables));
        }

        for (int k = 0; k < variables.Length; k++)
        {
            if (!double.IsFinite(variables[k]))
            {
                throw new ArgumentException($"Variable {k} is {variables[k]}; relaxation variables must be finite.", nameof(variables));
            }
        }

        int n = Structure.AtomCount;
        for (int i = 0; i < n; i++)
        {
            _reference[i] = new Vec3(variables[3 * i], variables[3 * i + 1], variables[3 * i + 2]);
        }

        if (CellFreedom == CellFreedom.Full)
        {
            var c = variables.Slice(3 * n, 9);
            double inv = 1.0 / CellFactor;
            double u01 = 0.5 * (c[1] + c[3]) * inv, u02 = 0.5 * (c[2] + c[6]) * inv, u12 = 0.5 * (c[5] + c[7]) * inv;
            _logStrain = new Mat3(c[0] * inv, u01, u02, u01, c[4] * inv, u12, u02, u12, c[8] * inv);
            _deformation = SymmetricMatrixFunctions.Exp(_logStrain);
        }
        else if (CellFreedom == CellFreedom.Hydrostatic)
        {
            double u = variables[3 * n] / CellFactor;
            _logStrain = Mat3.Diagonal(u, u, u);
            double e = Math.Exp(u);
            _deformation = Mat3.Diagonal(e, e, e);
        }

        Structure.Cell = _cell0 * _deformation;
        var r = Structure.Positions;
        for (int i = 0; i < n; i++)
        {
            r[i] = _reference[i] * _deformation;
        }
    }

    /// <summary>
    /// Evaluates the calculator at the current variables, asking for the forces, the stress (unless the
    /// cell is fixed) and, when <paramref name="energy"/> is true, the energy; sets the structure's labels.
    /// </summary>
    /// <param name="energy">Whether the energy (and so the enthalpy) is needed.</param>
    /// <param name="cancellationToken">Passed to the calculator.</param>
    /// <exception cref="InvalidOperationException">The calculator returned a non-finite or missing energy, force or stress.</exception>
    public CellFilterEvaluation Evaluate(bool energy = true, CancellationToken cancellationToken = default)
    {
        var properties = CalculatorProperties.Forces
            | (CellFreedom == CellFreedom.Fixed ? CalculatorProperties.None : CalculatorProperties.Stress)
            | (energy ? CalculatorProperties.Energy : CalculatorProperties.None);
        var result = Calculator.Calculate(Structure, properties, cancellationToken);
        string name = Calculator.GetType().Name;
        int n = Structure.AtomCount;
        var forces = result.ForcesEvPerA
            ?? throw new InvalidOperationException($"{name} was asked for {properties} but returned no forces.");
        if (forces.Length != n)
        {
            throw new InvalidOperationException($"{name} returned {forces.Length} forces for {n} atoms.");
        }

        double? e = null;
        if (energy)
        {
            e = result.EnergyEv ?? throw new InvalidOperationException($"{name} was asked for {properties} but returned no energy.");
            if (!double.IsFinite(e.Value))
            {
                throw new InvalidOperationException($"{name} returned a non-finite energy ({e.Value} eV) for the structure being relaxed (volume {Structure.VolumeA3:G6} Å³).");
            }
        }

        double pressure = Units.GpaToEvPerA3(PressureGpa);
        double volume = Structure.VolumeA3;
        var gradient = new double[Length];
        double maxForce = 0;
        for (int i = 0; i < n; i++)
        {
            if (!forces[i].IsFinite)
            {
                throw new InvalidOperationException($"{name} returned a non-finite force {forces[i]} on atom {i} ({Structure.Symbol(i)}).");
            }

            maxForce = Math.Max(maxForce, forces[i].Length);
            var g = -(forces[i] * _deformation); // ∂H/∂sᵢ = −Fᵀ·fᵢ (row vector fᵢ·F, F symmetric)
            gradient[3 * i] = g.X;
            gradient[3 * i + 1] = g.Y;
            gradient[3 * i + 2] = g.Z;
        }

        Voigt? stress = null;
        double deviationGpa = 0;
        if (CellFreedom != CellFreedom.Fixed)
        {
            stress = result.StressEvPerA3 ?? throw new InvalidOperationException($"{name} was asked for {properties} but returned no stress.");
            var sv = stress.Value;
            if (!sv.IsFinite)
            {
                throw new InvalidOperationException($"{name} returned a non-finite stress {sv} eV/Å³.");
            }

            // A = σ + P·I (zero at the target); ∂H/∂F = V·A·F⁻ᵀ.
            var a = sv.ToMatrix() + Mat3.Diagonal(pressure, pressure, pressure);
            if (CellFreedom == CellFreedom.Full)
            {
                var dHdF = volume * (a * _deformation.Inverse());
                var dHdU = SymmetricMatrixFunctions.ExpGradient(_logStrain, dHdF);
                for (int k = 0; k < 9; k++)
                {
                    gradient[3 * n + k] = dHdU[k / 3, k % 3] / CellFactor;
                }

                for (int k = 0; k < 6; k++)
                {
                    deviationGpa = Math.Max(deviationGpa, Math.Abs(Units.EvPerA3ToGpa(a[Voigt.IndexPairs[k].Row, Voigt.IndexPairs[k].Column])));
                }
            }
            else
            {
                // U = u·I: ∂H/∂u = tr(∂H/∂F · F) = V·tr(σ + P·I).
                gradient[3 * n] = volume * a.Trace / CellFactor;
                deviationGpa = Math.Abs(Units.EvPerA3ToGpa(a.Trace / 3));
            }
        }

        result.ApplyAsLabels(Structure);
        double? h = e is { } ev ? ev + pressure * volume : null;
        return new CellFilterEvaluation(e, h, gradient, forces, stress, volume, maxForce, deviationGpa);
    }
}
