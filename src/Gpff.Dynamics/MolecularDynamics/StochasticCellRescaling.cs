using Gpff.Geometry;

namespace Gpff.Dynamics.MolecularDynamics;

/// <summary>
/// Constant pressure and temperature (NPT): Langevin dynamics in the BAOAB splitting (as
/// <see cref="Langevin"/>) with the isotropic stochastic cell rescaling barostat of Bernetti and Bussi,
/// J. Chem. Phys. 153, 114107 (2020). The cell keeps its shape and its volume V follows a first-order
/// stochastic equation whose stationary distribution is the isothermal–isobaric one,
/// p(V) ∝ exp(−(F(V) + P₀V)/k_BT): in ε = ln V,
/// dε = −(β_T/τ_p)(P₀ − P_int)dt + √(2k_BTβ_T/(Vτ_p)) dW (Itô), with P_int = 2K/(3V) − tr(σ)/3 the
/// instantaneous pressure (kinetic part included, σ the calculator's stress). Positions and cell are
/// scaled by μ = exp(Δε/3) and velocities by 1/μ. Reproducible for a given seed.
/// </summary>
/// <remarks>
/// <para>
/// The volume equation is integrated in λ = √V, where the noise is additive (so the discretisation has
/// no Itô ambiguity): Δλ = (β_T/(4τ_p))·2λ·(P_int − P₀ + k_BT/(2V))·Δt + √(k_BTβ_T·Δt/(2τ_p))·ξ, then
/// Δε = 2·ln(1 + Δλ/λ).
/// </para>
/// <para>
/// One step: half kick, half drift, Ornstein–Uhlenbeck velocities, half drift, cell rescaling, new
/// forces and stress, half kick. The rescaling uses the stress of the last evaluation (the start of
/// the step) and the current kinetic energy, so the forces are computed once per step, after it. Every
/// step asks the calculator for forces and stress.
/// </para>
/// <para>
/// β_T (<see cref="CompressibilityPerGpa"/>) and τ_p (<see cref="BarostatTimeFs"/>) set only how fast the
/// volume relaxes (the time scale is τ_p·β_true/β_T), not the distribution it samples.
/// </para>
/// <para>
/// With <see cref="Coupling"/> = <see cref="BarostatCoupling.Anisotropic"/> the cell changes shape too (no
/// rotation): each step it is deformed by A = exp(Δu), Δu symmetric, with
/// Δu_ab = −μ·V·(σ_ab + P₀δ_ab)·Δt + noise, μ = β_T/(3Vτ_p), where σ includes the kinetic stress −Σmv⊗v/V;
/// the noise has variance 2μk_BTΔt on the diagonal and μk_BTΔt off it (one variable per symmetric pair).
/// Its trace is the isotropic equation for ln V (integrated there in ε instead of λ); the deviatoric part
/// drives the mean stress to −P₀·I. The shape distribution is the isothermal–isobaric one up to terms of
/// order k_BT/V in the stress (the choice of measure on the cell shape; see Del Tatto, Raiteri, Bernetti
/// and Bussi, Appl. Sci. 12, 1139 (2022)), far below the statistical errors of a simulation.
/// </para>
/// </remarks>
public sealed class StochasticCellRescaling : Integrator
{
    private readonly GaussianRandom _random;
    private double _temperatureTargetK;
    private double _pressureTargetGpa;

    /// <summary>Sets up NPT dynamics and computes the stress at the initial positions.</summary>
    /// <param name="structure">The structure to move (in place; positions and cell), periodic along all three axes.</param>
    /// <param name="calculator">Forces and stress (energy when read).</param>
    /// <param name="timeStepFs">Time step in fs.</param>
    /// <param name="temperatureK">Target temperature in K (≥ 0).</param>
    /// <param name="pressureGpa">Target pressure in GPa.</param>
    /// <param name="frictionPerFs">Langevin friction γ in 1/fs (e.g. 0.01).</param>
    /// <param name="barostatTimeFs">Barostat relaxation time τ_p in fs (positive; e.g. 100–1000 time steps).</param>
    /// <param name="compressibilityPerGpa">Assumed isothermal compressibility β_T in 1/GPa (positive; ~0.01 for a hard solid).</param>
    /// <param name="seed">Seed of the random forces and the barostat noise.</param>
    /// <param name="velocitiesAPerFs">Initial velocities in Å/fs; null means at rest.</param>
    /// <param name="cancellationToken">Cancels the initial evaluation.</param>
    /// <exception cref="ArgumentException">The calculator has no stress, the cell is not periodic along all axes, or a parameter is out of range.</exception>
    public StochasticCellRescaling(Structure structure, ICalculator calculator, double timeStepFs, double temperatureK, double pressureGpa,
        double frictionPerFs, double barostatTimeFs, double compressibilityPerGpa, int seed, Vec3[]? velocitiesAPerFs = null,
        CancellationToken cancellationToken = default)
        : base(Checked(structure, calculator), calculator, timeStepFs, velocitiesAPerFs, cancellationToken)
    {
        TemperatureTargetK = temperatureK;
        PressureTargetGpa = pressureGpa;
        DynamicsArguments.NonNegative(frictionPerFs, nameof(frictionPerFs), "1/fs", "the friction");
        DynamicsArguments.Positive(barostatTimeFs, nameof(barostatTimeFs), "fs", "the barostat time");
        DynamicsArguments.Positive(compressibilityPerGpa, nameof(compressibilityPerGpa), "1/GPa", "the compressibility");

        FrictionPerFs = frictionPerFs;
        BarostatTimeFs = barostatTimeFs;
        CompressibilityPerGpa = compressibilityPerGpa;
        _random = new GaussianRandom(seed);
        Require(CalculatorProperties.Stress, cancellationToken);
    }

    /// <inheritdoc/>
    private protected override GaussianRandom? RandomSource => _random;

    /// <summary>Target temperature in K (may be changed between steps).</summary>
    public double TemperatureTargetK
    {
        get => _temperatureTargetK;
        set
        {
            DynamicsArguments.NonNegative(value, nameof(TemperatureTargetK), "K", "the target temperature");

            _temperatureTargetK = value;
        }
    }

    /// <summary>Target pressure in GPa (may be changed between steps, e.g. for a compression ramp).</summary>
    public double PressureTargetGpa
    {
        get => _pressureTargetGpa;
        set
        {
            DynamicsArguments.Finite(value, nameof(PressureTargetGpa), "GPa", "the target pressure");

            _pressureTargetGpa = value;
        }
    }

    /// <summary>Langevin friction γ in 1/fs.</summary>
    public double FrictionPerFs { get; }

    /// <summary>Barostat relaxation time τ_p in fs.</summary>
    public double BarostatTimeFs { get; }

    /// <summary>The isothermal compressibility β_T assumed by the barostat, in 1/GPa.</summary>
    public double CompressibilityPerGpa { get; }

    /// <summary>
    /// Whether the cell keeps its shape (<see cref="BarostatCoupling.Isotropic"/>, the default) or relaxes
    /// every stress component to −P₀ (<see cref="BarostatCoupling.Anisotropic"/>). May be changed between steps.
    /// </summary>
    public BarostatCoupling Coupling { get; set; } = BarostatCoupling.Isotropic;

    /// <summary>
    /// Instantaneous pressure tensor in GPa (Voigt, positive = compressive, unlike a stress): the kinetic
    /// term Σmᵢvᵢ⊗vᵢ/V minus the calculator's stress. Its trace/3 is <see cref="PressureGpa"/>.
    /// </summary>
    public Voigt PressureTensorGpa => Units.EvPerA3InGpa * PressureTensorEvPerA3(Require(CalculatorProperties.Stress).StressEvPerA3!.Value);

    /// <summary>3N: the thermostat acts on every component, the centre of mass included.</summary>
    public override int DegreesOfFreedom => 3 * Structure.AtomCount;

    /// <summary>Cell volume in Å³.</summary>
    public double VolumeA3 => Structure.VolumeA3;

    /// <summary>
    /// Instantaneous pressure in GPa at the current positions and velocities: 2K/(3V) − tr(σ)/3, the
    /// kinetic (ideal-gas) part included, σ the calculator's stress (the quantity whose average is the target).
    /// </summary>
    public double PressureGpa => Units.EvPerA3ToGpa(InstantaneousPressureEvPerA3(Require(CalculatorProperties.Stress).StressEvPerA3!.Value));

    /// <summary>Forces and stress at every step.</summary>
    protected override CalculatorProperties IntegratorProperties => CalculatorProperties.Forces | CalculatorProperties.Stress;

    /// <inheritdoc/>
    protected override void Integrate(CancellationToken cancellationToken)
    {
        double dt = TimeStepFs;
        var stress = Current.StressEvPerA3 ?? Require(CalculatorProperties.Stress, cancellationToken).StressEvPerA3!.Value;
        Kick(0.5 * dt);
        Drift(0.5 * dt);

        double kT = MdUnits.BoltzmannEvPerK * TemperatureTargetK;
        double c = Math.Exp(-FrictionPerFs * dt);
        double noise = Math.Sqrt(Math.Max(0, 1 - c * c) * kT * MdUnits.AccelerationAPerFs2);
        var masses = MassesAmu;
        for (int i = 0; i < Velocities.Length; i++)
        {
            double s = noise / Math.Sqrt(masses[i]);
            Velocities[i] = c * Velocities[i] + new Vec3(s * _random.Next(), s * _random.Next(), s * _random.Next());
        }

        Drift(0.5 * dt);
        if (Coupling == BarostatCoupling.Anisotropic)
        {
            Deform(stress, kT);
        }
        else
        {
            Rescale(stress, kT);
        }

        Evaluate(cancellationToken);
        if (Current.StressEvPerA3 is not { IsFinite: true })
        {
            throw new InvalidOperationException($"{Calculator.GetType().Name} returned no finite stress at MD step {StepCount + 1} ({Current.StressEvPerA3}); the barostat needs it.");
        }

        Kick(0.5 * dt);
    }

    private double InstantaneousPressureEvPerA3(Voigt stressEvPerA3)
        => 2 * KineticEnergyEv / (3 * Structure.VolumeA3) + stressEvPerA3.Pressure;

    /// <summary>Kinetic term Σmᵢvᵢ⊗vᵢ/V minus the stress, in eV/Å³ (positive = compressive).</summary>
    private Voigt PressureTensorEvPerA3(Voigt stressEvPerA3)
    {
        double xx = 0, yy = 0, zz = 0, yz = 0, xz = 0, xy = 0;
        var masses = MassesAmu;
        for (int i = 0; i < Velocities.Length; i++)
        {
            var v = Velocities[i];
            double m = masses[i];
            xx += m * v.X * v.X;
            yy += m * v.Y * v.Y;
            zz += m * v.Z * v.Z;
            yz += m * v.Y * v.Z;
            xz += m * v.X * v.Z;
            xy += m * v.X * v.Y;
        }

        double f = MdUnits.AmuA2PerFs2InEv / Structure.VolumeA3;
        return f * new Voigt(xx, yy, zz, yz, xz, xy) - stressEvPerA3;
    }

    /// <summary>One anisotropic step: deforms cell and positions by A = exp(Δu), velocities by A⁻¹.</summary>
    private void Deform(Voigt stressEvPerA3, double kT)
    {
        double dt = TimeStepFs;
        double volume = Structure.VolumeA3;
        double beta = CompressibilityPerGpa * Units.EvPerA3InGpa; // Å³/eV
        double mobility = beta / (3 * volume * BarostatTimeFs);  // 1/(eV·fs)
        var p = PressureTensorEvPerA3(stressEvPerA3);
        double p0 = Units.GpaToEvPerA3(PressureTargetGpa);
        double diagonalNoise = Math.Sqrt(2 * mobility * kT * dt), offNoise = Math.Sqrt(mobility * kT * dt);

        // ∂H/∂u_ab = V·(σ_ab + P₀δ_ab) = V·(P₀δ_ab − P_ab); one variable per symmetric off-diagonal pair.
        double uxx = mobility * volume * (p.XX - p0) * dt + diagonalNoise * _random.Next();
        double uyy = mobility * volume * (p.YY - p0) * dt + diagonalNoise * _random.Next();
        double uzz = mobility * volume * (p.ZZ - p0) * dt + diagonalNoise * _random.Next();
        double uyz = mobility * volume * p.YZ * dt + offNoise * _random.Next();
        double uxz = mobility * volume * p.XZ * dt + offNoise * _random.Next();
        double uxy = mobility * volume * p.XY * dt + offNoise * _random.Next();
        var du = new Mat3(uxx, uxy, uxz, uxy, uyy, uyz, uxz, uyz, uzz);
        double largest = Math.Max(Math.Max(Math.Abs(uxx), Math.Abs(uyy)), Math.Max(Math.Abs(uzz), Math.Max(Math.Abs(uyz), Math.Max(Math.Abs(uxz), Math.Abs(uxy)))));
        if (!(largest < 0.1))
        {
            throw new InvalidOperationException(
                $"The barostat would strain the cell by {largest:G3} in one step at MD step {StepCount + 1} (pressure tensor {Units.EvPerA3InGpa * p} GPa, target {PressureTargetGpa:G4} GPa); lengthen the barostat time or lower the compressibility.");
        }

        var a = Optimization.SymmetricMatrixFunctions.Exp(du);
        var aInverse = Optimization.SymmetricMatrixFunctions.Exp(-1.0 * du);
        Structure.Cell = Structure.Cell * a;
        var r = Structure.Positions;
        for (int i = 0; i < r.Length; i++)
        {
            r[i] = r[i] * a;
            Velocities[i] = Velocities[i] * aInverse;
        }
    }

    /// <summary>One step of the volume equation in λ = √V; scales cell and positions by μ, velocities by 1/μ.</summary>
    private void Rescale(Voigt stressEvPerA3, double kT)
    {
        double dt = TimeStepFs;
        double volume = Structure.VolumeA3;
        double lambda = Math.Sqrt(volume);
        double beta = CompressibilityPerGpa * Units.EvPerA3InGpa; // Å³/eV
        double pInt = InstantaneousPressureEvPerA3(stressEvPerA3);
        double p0 = Units.GpaToEvPerA3(PressureTargetGpa);
        double drift = beta / (4 * BarostatTimeFs) * 2 * lambda * (pInt - p0 + kT / (2 * volume));
        double dLambda = drift * dt + Math.Sqrt(kT * beta * dt / (2 * BarostatTimeFs)) * _random.Next();
        if (!(dLambda > -lambda))
        {
            throw new InvalidOperationException(
                $"The barostat step at MD step {StepCount + 1} would collapse the cell (instantaneous pressure {Units.EvPerA3ToGpa(pInt):G4} GPa, target {PressureTargetGpa:G4} GPa); lengthen the barostat time or lower the compressibility.");
        }

        double mu = Math.Exp(2.0 / 3.0 * double.LogP1(dLambda / lambda));
        Structure.Cell = mu * Structure.Cell;
        var r = Structure.Positions;
        for (int i = 0; i < r.Length; i++)
        {
            r[i] = mu * r[i];
            Velocities[i] = Velocities[i] / mu;
        }
    }

    private static Structure Checked(Structure structure, ICalculator calculator)
    {
        ArgumentNullException.ThrowIfNull(structure);
        ArgumentNullException.ThrowIfNull(calculator);
        if (!calculator.ImplementedProperties.HasFlag(CalculatorProperties.Stress))
        {
            throw new ArgumentException($"{calculator.GetType().Name} does not compute the stress ({calculator.ImplementedProperties}); a barostat needs it.", nameof(calculator));
        }

        if (!structure.Pbc.AllPeriodic)
        {
            throw new ArgumentException($"Constant-pressure dynamics needs a cell periodic along all three axes; got {structure.Pbc}.", nameof(structure));
        }

        return structure;
    }
}

/// <summary>How a barostat changes the cell.</summary>
public enum BarostatCoupling
{
    /// <summary>Uniform scaling: the cell keeps its shape; the mean pressure is controlled.</summary>
    Isotropic,

    /// <summary>Shape and volume: every component of the mean stress is driven to −P (no rotation of the cell).</summary>
    Anisotropic,
}
