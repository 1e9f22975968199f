using Gpff.Geometry;

namespace Gpff.Dynamics.MolecularDynamics;

/// <summary>The state after one molecular-dynamics step (energies in eV, time in fs, temperature in K).</summary>
/// <param name="Step">Number of steps taken since the start (0 = the initial state).</param>
/// <param name="TimeFs">Simulated time in fs.</param>
/// <param name="PotentialEnergyEv">Potential energy in eV.</param>
/// <param name="KineticEnergyEv">Kinetic energy in eV.</param>
/// <param name="TemperatureK">Kinetic temperature in K.</param>
public readonly record struct MolecularDynamicsStep(int Step, double TimeFs, double PotentialEnergyEv, double KineticEnergyEv, double TemperatureK)
{
    /// <summary>Potential + kinetic energy in eV (conserved in NVE).</summary>
    public double TotalEnergyEv => PotentialEnergyEv + KineticEnergyEv;
}

/// <summary>
/// Everything a molecular-dynamics run needs to continue exactly where it was (see
/// <see cref="Integrator.CaptureState"/>): positions in Å, cell in Å, velocities in Å/fs, the step count,
/// the calculator's result at these positions and, for the stochastic integrators, the state of their
/// random numbers. Settings (time step, temperature, friction, seed) are the integrator's, not the state's.
/// </summary>
/// <param name="StepCount">Steps taken.</param>
/// <param name="PositionsA">Positions in Å.</param>
/// <param name="CellA">Cell vectors (rows) in Å.</param>
/// <param name="VelocitiesAPerFs">Velocities in Å/fs.</param>
/// <param name="Current">The calculator's result at these positions (forces at least).</param>
/// <param name="Random">The thermostat's random-number state; null for deterministic integrators.</param>
public sealed record IntegratorState(int StepCount, Vec3[] PositionsA, Mat3 CellA, Vec3[] VelocitiesAPerFs, CalculationResult Current, RandomState? Random);

/// <summary>
/// Molecular dynamics of a structure driven by any <see cref="ICalculator"/> (ASE's MolecularDynamics):
/// the structure given is moved in place, its labels (energy, forces, stress) kept equal to the
/// calculator's results at the current positions. Units: fs, Å, Å/fs, amu, eV, K. Observers attached
/// with <see cref="Attach"/> run every n steps; <see cref="Run"/> reports progress and can be
/// cancelled between steps; <see cref="Sample"/> yields labelled snapshots every n steps.
/// Not thread-safe: one trajectory, one thread.
/// </summary>
/// <remarks>
/// What the calculator is asked (<see cref="ICalculator.Calculate(Structure, CalculatorProperties, CancellationToken)"/>):
/// each step asks for the forces (and the stress, for a barostat), plus <see cref="PropertiesEveryStep"/>, plus what is known in advance
/// to be read after that step — the properties of the observers due (<see cref="Attach"/>), the energy
/// when <see cref="Run"/> reports progress, energy, forces and stress on the steps
/// <see cref="Sample"/> yields. Anything else read later at the same positions
/// (<see cref="PotentialEnergyEv"/>, <see cref="State"/>, <see cref="Snapshot"/>, <see cref="Require"/>)
/// is computed then, by one more call asking only for what is missing. So a GP force field runs its
/// forces-only path on the steps nobody looks at, and every energy that is read is the energy at the
/// current positions, as before.
/// </remarks>
public abstract class Integrator
{
    private readonly List<(Action<Integrator> Observer, int Interval, CalculatorProperties Properties)> _observers = [];
    private readonly double[] _massesAmu;
    private CalculatorProperties _stepProperties = CalculatorProperties.Forces;

    /// <summary>Sets up the dynamics and evaluates the forces at the initial positions.</summary>
    /// <param name="structure">The structure to move (in place). Masses come from <see cref="Structure.MassesAmu"/>.</param>
    /// <param name="calculator">Forces (and on request energy, stress) of a structure; it must implement forces.</param>
    /// <param name="timeStepFs">Time step in fs (positive).</param>
    /// <param name="velocitiesAPerFs">Initial velocities in Å/fs (copied); null means at rest.</param>
    /// <param name="cancellationToken">Cancels the initial force evaluation.</param>
    protected Integrator(Structure structure, ICalculator calculator, double timeStepFs, Vec3[]? velocitiesAPerFs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(structure);
        ArgumentNullException.ThrowIfNull(calculator);
        DynamicsArguments.Positive(timeStepFs, nameof(timeStepFs), "fs", "the time step");

        if (structure.AtomCount == 0)
        {
            throw new ArgumentException("Molecular dynamics needs at least one atom.", nameof(structure));
        }

        if (velocitiesAPerFs is not null && velocitiesAPerFs.Length != structure.AtomCount)
        {
            throw new ArgumentException($"{velocitiesAPerFs.Length} velocities were given for {structure.AtomCount} atoms.", nameof(velocitiesAPerFs));
        }

        if (!calculator.ImplementedProperties.HasFlag(CalculatorProperties.Forces))
        {
            throw new ArgumentException($"{calculator.GetType().Name} does not compute forces ({calculator.ImplementedProperties}); molecular dynamics needs them.", nameof(calculator));
        }

        Structure = structure;
        Calculator = calculator;
        TimeStepFs = timeStepFs;
        _massesAmu = structure.MassesAmu();
        for (int i = 0; i < _massesAmu.Length; i++)
        {
            if (!(_massesAmu[i] > 0))
            {
                throw new ArgumentException($"Atom {i} ({structure.Symbol(i)}) has mass {_massesAmu[i]} amu; molecular dynamics needs positive masses.", nameof(structure));
            }
        }

        Velocities = velocitiesAPerFs is null ? new Vec3[structure.AtomCount] : (Vec3[])velocitiesAPerFs.Clone();
        Current = Evaluate(cancellationToken);
    }

    /// <summary>The structure being moved (positions in Å, updated in place every step).</summary>
    public Structure Structure { get; }

    /// <summary>The calculator that gives the forces.</summary>
    public ICalculator Calculator { get; }

    /// <summary>Time step in fs.</summary>
    public double TimeStepFs { get; }

    /// <summary>Velocities in Å/fs, one per atom (may be changed between steps).</summary>
    public Vec3[] Velocities { get; }

    /// <summary>Masses in amu.</summary>
    public ReadOnlySpan<double> MassesAmu => _massesAmu;

    /// <summary>
    /// The calculator's result at the current positions: the forces always, the other properties when
    /// they were asked at this step (see the class remarks); <see cref="Require"/> completes it.
    /// </summary>
    public CalculationResult Current { get; private set; }

    /// <summary>
    /// Properties asked from the calculator at every step besides the forces (default none: e.g. set
    /// <see cref="CalculatorProperties.Forces"/> | <see cref="CalculatorProperties.Uncertainty"/> to
    /// watch the GP's force uncertainties, or <see cref="CalculatorProperties.Energy"/> when the energy
    /// is read after every step anyway). May be changed between steps.
    /// </summary>
    public CalculatorProperties PropertiesEveryStep { get; set; }

    /// <summary>
    /// What the integrator itself needs from the calculator at every step: the forces (a barostat adds
    /// the stress). Asked together with <see cref="PropertiesEveryStep"/> and what is read after the step.
    /// </summary>
    protected virtual CalculatorProperties IntegratorProperties => CalculatorProperties.Forces;

    /// <summary>Steps taken so far.</summary>
    public int StepCount { get; private set; }

    /// <summary>Simulated time so far in fs.</summary>
    public double TimeFs => StepCount * TimeStepFs;

    /// <summary>Degrees of freedom counted by <see cref="TemperatureK"/>: 3N, minus 3 when the integrator conserves a zero total momentum.</summary>
    public abstract int DegreesOfFreedom { get; }

    /// <summary>Potential energy in eV at the current positions (asks the calculator for it when this step did not).</summary>
    public double PotentialEnergyEv => Require(CalculatorProperties.Energy).EnergyEv!.Value;

    /// <summary>Kinetic energy in eV.</summary>
    public double KineticEnergyEv => MaxwellBoltzmann.KineticEnergyEv(_massesAmu, Velocities);

    /// <summary>Kinetic temperature in K (2 E_kin / (dof·k_B)).</summary>
    public double TemperatureK => MaxwellBoltzmann.KineticTemperatureK(_massesAmu, Velocities, DegreesOfFreedom);

    /// <summary>Total momentum Σ mᵢvᵢ in amu·Å/fs.</summary>
    public Vec3 TotalMomentum
    {
        get
        {
            var p = Vec3.Zero;
            for (int i = 0; i < _massesAmu.Length; i++)
            {
                p += _massesAmu[i] * Velocities[i];
            }

            return p;
        }
    }

    /// <summary>The current state as a record.</summary>
    public MolecularDynamicsStep State => new(StepCount, TimeFs, PotentialEnergyEv, KineticEnergyEv, TemperatureK);

    /// <summary>Calls <paramref name="observer"/> after every <paramref name="interval"/>-th step (ASE's dyn.attach).</summary>
    /// <param name="observer">The callback; it sees the dynamics after the step.</param>
    /// <param name="interval">Steps between calls (≥ 1).</param>
    /// <param name="properties">
    /// What the observer reads, asked from the calculator in the same call as the forces on the steps it
    /// runs (default: the energy, as a logger reads it; <see cref="CalculatorProperties.None"/> for an
    /// observer that reads neither energy nor stress). Reading more is still correct, at the cost of one
    /// more calculator call.
    /// </param>
    public void Attach(Action<Integrator> observer, int interval = 1, CalculatorProperties properties = CalculatorProperties.Energy)
    {
        ArgumentNullException.ThrowIfNull(observer);
        DynamicsArguments.AtLeast(interval, 1, nameof(interval), "the number of steps between calls");
        _observers.Add((observer, interval, properties));
    }

    /// <summary>
    /// The calculator's result at the current positions with at least <paramref name="properties"/>:
    /// <see cref="Current"/> when it has them, otherwise <see cref="Current"/> completed by one calculator
    /// call asking only for what is missing (then stored as <see cref="Current"/> and as the structure's labels).
    /// </summary>
    /// <param name="properties">The properties wanted (stress only where the cell is periodic along all axes).</param>
    /// <param name="cancellationToken">Passed to the calculator.</param>
    /// <exception cref="NotSupportedException">The calculator does not implement a property asked for.</exception>
    public CalculationResult Require(CalculatorProperties properties, CancellationToken cancellationToken = default)
    {
        var missing = Current.Missing(properties, Structure.Pbc.AllPeriodic);
        if (missing == CalculatorProperties.None)
        {
            return Current;
        }

        var more = Calculator.Calculate(Structure, missing, cancellationToken);
        var merged = Current.Merge(more);
        if (merged.Missing(properties, Structure.Pbc.AllPeriodic) is var still && still != CalculatorProperties.None)
        {
            throw new InvalidOperationException($"{Calculator.GetType().Name} was asked for {missing} at MD step {StepCount} but did not return {still}.");
        }

        merged.ApplyAsLabels(Structure);
        Current = merged;
        return merged;
    }

    /// <summary>
    /// Replaces the calculator's result at the current positions by another one — the hook of active
    /// learning, where a reference calculation (DFT) supersedes the model's prediction at a step. The
    /// last half-kick of the step just taken (every integrator here ends a step with a half-kick of
    /// ½Δt with the new forces) is redone with the new forces, v += ½Δt·(F_new − F_old)/m, so that the
    /// state is that of a step taken with them; the next step starts from them. Stored as
    /// <see cref="Current"/> and as the structure's labels.
    /// </summary>
    /// <param name="result">Forces (required, one finite vector per atom) and whatever else at the current positions.</param>
    public void ReplaceCurrent(CalculationResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        CheckForces(result, "The replacement result");
        if (StepCount > 0)
        {
            var old = Current.ForcesEvPerA!;
            var f = result.ForcesEvPerA!;
            double t = 0.5 * TimeStepFs * MdUnits.AccelerationAPerFs2;
            for (int i = 0; i < Velocities.Length; i++)
            {
                Velocities[i] += (t / _massesAmu[i]) * (f[i] - old[i]);
            }
        }

        result.ApplyAsLabels(Structure);
        Current = result;
    }

    /// <summary>The state of the run, copied: enough for <see cref="RestoreState"/> to continue it exactly (checkpoints).</summary>
    public IntegratorState CaptureState() => new(StepCount, (Vec3[])Structure.Positions.Clone(), Structure.Cell, (Vec3[])Velocities.Clone(),
        Current with { }, RandomSource?.State);

    /// <summary>
    /// Continues from a captured state: sets positions, cell, velocities, step count, the current result
    /// and the random numbers. The integrator must have the same atoms and settings as the one captured.
    /// </summary>
    /// <param name="state">A state from <see cref="CaptureState"/> of an integrator of the same kind.</param>
    /// <exception cref="ArgumentException">Atom counts differ, or random numbers are missing or unexpected.</exception>
    public void RestoreState(IntegratorState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        int n = Structure.AtomCount;
        if (state.PositionsA.Length != n || state.VelocitiesAPerFs.Length != n)
        {
            throw new ArgumentException($"The state has {state.PositionsA.Length} positions and {state.VelocitiesAPerFs.Length} velocities; the structure has {n} atoms.", nameof(state));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(state.StepCount);
        CheckForces(state.Current, "The state's current result");
        if ((state.Random is null) != (RandomSource is null))
        {
            throw new ArgumentException($"The state {(state.Random is null ? "has no" : "has")} random-number state; {GetType().Name} {(RandomSource is null ? "uses none" : "needs one")}.", nameof(state));
        }

        state.PositionsA.CopyTo(Structure.Positions, 0);
        Structure.Cell = state.CellA;
        state.VelocitiesAPerFs.CopyTo(Velocities, 0);
        StepCount = state.StepCount;
        if (state.Random is not null)
        {
            RandomSource!.State = state.Random;
        }

        var current = state.Current with { };
        current.ApplyAsLabels(Structure);
        Current = current;
    }

    /// <summary>The integrator's random numbers (for <see cref="CaptureState"/>); null when it uses none.</summary>
    private protected virtual GaussianRandom? RandomSource => null;

    private void CheckForces(CalculationResult result, string what)
    {
        if (result.ForcesEvPerA is not { } f || f.Length != Structure.AtomCount)
        {
            throw new ArgumentException($"{what} has {(result.ForcesEvPerA is null ? "no" : result.ForcesEvPerA.Length.ToString(System.Globalization.CultureInfo.InvariantCulture))} forces for {Structure.AtomCount} atoms.");
        }

        for (int i = 0; i < f.Length; i++)
        {
            if (!f[i].IsFinite)
            {
                throw new ArgumentException($"{what} has a non-finite force {f[i]} on atom {i}.");
            }
        }
    }

    /// <summary>Runs a number of steps.</summary>
    /// <param name="steps">Number of steps (≥ 0).</param>
    /// <param name="progress">Receives the state after every step (then every step asks for the energy too).</param>
    /// <param name="cancellationToken">Checked before every step and passed to the calculator.</param>
    public void Run(int steps, IProgress<MolecularDynamicsStep>? progress = null, CancellationToken cancellationToken = default)
    {
        DynamicsArguments.AtLeast(steps, 0, nameof(steps), "the number of steps");
        var read = progress is null ? CalculatorProperties.None : CalculatorProperties.Energy;
        for (int s = 0; s < steps; s++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Step(read, cancellationToken);
            if (progress is not null)
            {
                progress.Report(State);
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="steps"/> steps lazily and yields a labelled copy of the structure
    /// (see <see cref="Snapshot"/>) after every <paramref name="interval"/>-th step: MD-like training configurations.
    /// </summary>
    /// <param name="steps">Number of steps.</param>
    /// <param name="interval">Steps between snapshots (≥ 1).</param>
    /// <param name="cancellationToken">Checked before every step.</param>
    public IEnumerable<Structure> Sample(int steps, int interval, CancellationToken cancellationToken = default)
    {
        DynamicsArguments.AtLeast(steps, 0, nameof(steps), "the number of steps");
        DynamicsArguments.AtLeast(interval, 1, nameof(interval), "the number of steps between snapshots");
        return Iterate();

        IEnumerable<Structure> Iterate()
        {
            for (int s = 1; s <= steps; s++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                Step(s % interval == 0 ? SnapshotProperties : CalculatorProperties.None, cancellationToken);
                if (s % interval == 0)
                {
                    yield return Snapshot();
                }
            }
        }
    }

    /// <summary>
    /// A copy of the current structure labelled with the calculator's energy, forces and stress (those
    /// it implements; computed now when this step did not ask for them), the velocities as the per-atom
    /// property <c>velocities</c> (Å/fs), and <c>Info</c> entries <c>md_step</c>, <c>time_fs</c> and <c>temperature_K</c>.
    /// </summary>
    public Structure Snapshot()
    {
        var s = Structure.CloneWithoutLabels();
        foreach (var (key, value) in Structure.Info)
        {
            s.Info[key] = value;
        }

        Require(SnapshotProperties).ApplyAsLabels(s);
        var v = new double[3 * Velocities.Length];
        for (int i = 0; i < Velocities.Length; i++)
        {
            v[3 * i] = Velocities[i].X;
            v[3 * i + 1] = Velocities[i].Y;
            v[3 * i + 2] = Velocities[i].Z;
        }

        s.AtomProperties["velocities"] = AtomProperty.FromReals("velocities", 3, v);
        s.Info["md_step"] = (long)StepCount;
        s.Info["time_fs"] = TimeFs;
        s.Info["temperature_K"] = TemperatureK;
        return s;
    }

    /// <summary>The labels of a snapshot: energy, forces and stress, as far as the calculator implements them.</summary>
    private CalculatorProperties SnapshotProperties => CalculatorProperties.EnergyForcesStress & Calculator.ImplementedProperties;

    /// <summary>
    /// Advances one time step, asking the calculator for the forces, <see cref="PropertiesEveryStep"/>
    /// and what the observers due after this step read.
    /// </summary>
    /// <param name="cancellationToken">Passed to the calculator.</param>
    public void Step(CancellationToken cancellationToken = default) => Step(CalculatorProperties.None, cancellationToken);

    private void Step(CalculatorProperties read, CancellationToken cancellationToken)
    {
        int next = StepCount + 1;
        var properties = IntegratorProperties | PropertiesEveryStep | read;
        foreach (var (_, interval, observed) in _observers)
        {
            if (next % interval == 0)
            {
                properties |= observed;
            }
        }

        // Ask only for what the calculator has; reading an unimplemented property later is the clear error.
        _stepProperties = properties & Calculator.ImplementedProperties;
        try
        {
            Integrate(cancellationToken);
        }
        finally
        {
            _stepProperties = (IntegratorProperties | PropertiesEveryStep) & Calculator.ImplementedProperties;
        }

        StepCount++;
        foreach (var (observer, interval, _) in _observers)
        {
            if (StepCount % interval == 0)
            {
                observer(this);
            }
        }
    }

    /// <summary>One step of the integrator: move positions and velocities, calling <see cref="Evaluate"/> for new forces.</summary>
    /// <param name="cancellationToken">Passed to the calculator.</param>
    protected abstract void Integrate(CancellationToken cancellationToken);

    /// <summary>
    /// Evaluates the calculator at the current positions, asking for the forces and what this step
    /// needs (see the class remarks), and stores the result as <see cref="Current"/> and as the structure's labels.
    /// </summary>
    /// <param name="cancellationToken">Passed to the calculator.</param>
    protected CalculationResult Evaluate(CancellationToken cancellationToken)
    {
        var result = Calculator.Calculate(Structure, _stepProperties, cancellationToken);
        if (result.ForcesEvPerA is null)
        {
            throw new InvalidOperationException($"{Calculator.GetType().Name} was asked for {_stepProperties} at MD step {StepCount} but returned no forces.");
        }

        if (result.ForcesEvPerA.Length != Structure.AtomCount)
        {
            throw new InvalidOperationException($"The calculator returned {result.ForcesEvPerA.Length} forces for {Structure.AtomCount} atoms.");
        }

        for (int i = 0; i < result.ForcesEvPerA.Length; i++)
        {
            if (!result.ForcesEvPerA[i].IsFinite)
            {
                throw new InvalidOperationException($"The calculator returned a non-finite force {result.ForcesEvPerA[i]} on atom {i} at MD step {StepCount}.");
            }
        }

        result.ApplyAsLabels(Structure);
        Current = result;
        return result;
    }

    /// <summary>vᵢ += scale·Fᵢ/mᵢ (the half-kick, with the unit conversion eV/(Å·amu) → Å/fs²).</summary>
    /// <param name="timeFs">Duration of the kick in fs.</param>
    protected void Kick(double timeFs)
    {
        var f = Current.ForcesEvPerA!;
        for (int i = 0; i < Velocities.Length; i++)
        {
            Velocities[i] += (timeFs * MdUnits.AccelerationAPerFs2 / _massesAmu[i]) * f[i];
        }
    }

    /// <summary>rᵢ += t·vᵢ.</summary>
    /// <param name="timeFs">Duration of the drift in fs.</param>
    protected void Drift(double timeFs)
    {
        var r = Structure.Positions;
        for (int i = 0; i < r.Length; i++)
        {
            r[i] += timeFs * Velocities[i];
        }
    }
}

/// <summary>
/// Velocity Verlet (NVE): v += ½Δt·F/m; r += Δt·v; new F; v += ½Δt·F/m. Symplectic and time
/// reversible: the total energy fluctuates with an amplitude ∝ Δt² and does not drift; the total
/// momentum is conserved when the forces sum to zero.
/// </summary>
public sealed class VelocityVerlet : Integrator
{
    /// <summary>Sets up NVE dynamics.</summary>
    /// <param name="structure">The structure to move (in place).</param>
    /// <param name="calculator">Energy and forces.</param>
    /// <param name="timeStepFs">Time step in fs.</param>
    /// <param name="velocitiesAPerFs">Initial velocities in Å/fs (e.g. from <see cref="MaxwellBoltzmann.SampleVelocities"/>); null means at rest.</param>
    /// <param name="cancellationToken">Cancels the initial force evaluation.</param>
    public VelocityVerlet(Structure structure, ICalculator calculator, double timeStepFs, Vec3[]? velocitiesAPerFs = null, CancellationToken cancellationToken = default)
        : base(structure, calculator, timeStepFs, velocitiesAPerFs, cancellationToken)
    {
    }

    /// <summary>3N − 3: the centre of mass moves freely and carries no thermal energy.</summary>
    public override int DegreesOfFreedom => Math.Max(1, 3 * Structure.AtomCount - 3);

    /// <inheritdoc/>
    protected override void Integrate(CancellationToken cancellationToken)
    {
        Kick(0.5 * TimeStepFs);
        Drift(TimeStepFs);
        Evaluate(cancellationToken);
        Kick(0.5 * TimeStepFs);
    }
}

/// <summary>
/// Langevin dynamics (NVT) with the BAOAB splitting of Leimkuhler and Matthews (2013): half kick,
/// half drift, exact Ornstein–Uhlenbeck velocity update v ← c·v + √((1 − c²)·k_B·T/m)·ξ with
/// c = exp(−γΔt), half drift, new forces, half kick. Samples the canonical ensemble at the target
/// temperature; reproducible for a given seed.
/// </summary>
public sealed class Langevin : Integrator
{
    private readonly GaussianRandom _random;
    private double _temperatureTargetK;

    /// <summary>Sets up Langevin dynamics.</summary>
    /// <param name="structure">The structure to move (in place).</param>
    /// <param name="calculator">Energy and forces.</param>
    /// <param name="timeStepFs">Time step in fs.</param>
    /// <param name="temperatureK">Target temperature in K (≥ 0).</param>
    /// <param name="frictionPerFs">Friction γ in 1/fs (e.g. 0.01 fs⁻¹: velocities decorrelate in ~100 fs).</param>
    /// <param name="seed">Seed of the random forces.</param>
    /// <param name="velocitiesAPerFs">Initial velocities in Å/fs; null means at rest.</param>
    /// <param name="cancellationToken">Cancels the initial force evaluation.</param>
    public Langevin(Structure structure, ICalculator calculator, double timeStepFs, double temperatureK, double frictionPerFs, int seed,
        Vec3[]? velocitiesAPerFs = null, CancellationToken cancellationToken = default)
        : base(structure, calculator, timeStepFs, velocitiesAPerFs, cancellationToken)
    {
        DynamicsArguments.NonNegative(temperatureK, nameof(temperatureK), "K", "the temperature");
        DynamicsArguments.NonNegative(frictionPerFs, nameof(frictionPerFs), "1/fs", "the friction");

        _temperatureTargetK = temperatureK;
        FrictionPerFs = frictionPerFs;
        _random = new GaussianRandom(seed);
    }

    /// <summary>Target temperature in K (may be changed between steps, e.g. for annealing).</summary>
    public double TemperatureTargetK
    {
        get => _temperatureTargetK;
        set
        {
            DynamicsArguments.NonNegative(value, nameof(TemperatureTargetK), "K", "the target temperature");

            _temperatureTargetK = value;
        }
    }

    /// <summary>Friction γ in 1/fs.</summary>
    public double FrictionPerFs { get; }

    /// <summary>3N: the thermostat acts on every component, the centre of mass included.</summary>
    public override int DegreesOfFreedom => 3 * Structure.AtomCount;

    /// <inheritdoc/>
    private protected override GaussianRandom? RandomSource => _random;

    /// <inheritdoc/>
    protected override void Integrate(CancellationToken cancellationToken)
    {
        double dt = TimeStepFs;
        Kick(0.5 * dt);
        Drift(0.5 * dt);

        double c = Math.Exp(-FrictionPerFs * dt);
        double noise = Math.Sqrt(Math.Max(0, 1 - c * c) * MdUnits.BoltzmannEvPerK * TemperatureTargetK * MdUnits.AccelerationAPerFs2);
        var masses = MassesAmu;
        for (int i = 0; i < Velocities.Length; i++)
        {
            double s = noise / Math.Sqrt(masses[i]);
            Velocities[i] = c * Velocities[i] + new Vec3(s * _random.Next(), s * _random.Next(), s * _random.Next());
        }

        Drift(0.5 * dt);
        Evaluate(cancellationToken);
        Kick(0.5 * dt);
    }
}
