using Gpff.Geometry;

namespace Gpff.Dynamics.Optimization;

/// <summary>The minimiser of a <see cref="Relaxation"/>.</summary>
public enum RelaxationMethod
{
    /// <summary>
    /// Limited-memory BFGS with a backtracking (Armijo) line search on the enthalpy: asks for
    /// energy, forces and stress at every trial point; few steps.
    /// </summary>
    Lbfgs,

    /// <summary>
    /// FIRE (Bitzek et al., Phys. Rev. Lett. 97, 170201 (2006)): damped dynamics that needs forces and
    /// stress only (the energy is asked once at the end, or every step when progress is reported).
    /// </summary>
    Fire,
}

/// <summary>Options of <see cref="Relaxation.Relax"/>.</summary>
public sealed record RelaxationOptions
{
    /// <summary>External pressure in GPa (default 0).</summary>
    public double PressureGpa { get; init; }

    /// <summary>Which cell degrees of freedom move (default the full cell).</summary>
    public CellFreedom CellFreedom { get; init; } = CellFreedom.Full;

    /// <summary>The minimiser (default L-BFGS).</summary>
    public RelaxationMethod Method { get; init; } = RelaxationMethod.Lbfgs;

    /// <summary>Converged when every atomic force is below this, in eV/Å (default 0.01).</summary>
    public double FmaxEvPerA { get; init; } = 0.01;

    /// <summary>
    /// Converged when the stress is within this of −P·I, in GPa (default 0.05): every component for a
    /// full cell, the pressure for hydrostatic strain; unused for a fixed cell.
    /// </summary>
    public double StressToleranceGpa { get; init; } = 0.05;

    /// <summary>Most optimiser steps (default 1000); then the result says Converged = false.</summary>
    public int MaxSteps { get; init; } = 1000;

    /// <summary>Largest move of one atom (or one row of the scaled cell strain) per step, in Å (default 0.2).</summary>
    public double MaxStepA { get; init; } = 0.2;

    /// <summary>Scale of the cell variables (see <see cref="CellFilter"/>); null means the atom count.</summary>
    public double? CellFactor { get; init; }

    /// <summary>Number of (step, gradient change) pairs L-BFGS remembers (default 20).</summary>
    public int LbfgsMemory { get; init; } = 20;

    /// <summary>Throws, naming the option, its value and unit, when a setting is out of range.</summary>
    internal void Validate()
    {
        const string o = nameof(RelaxationOptions) + ".";
        DynamicsArguments.Finite(PressureGpa, o + nameof(PressureGpa), "GPa", "the pressure");
        if (!Enum.IsDefined(CellFreedom))
        {
            throw DynamicsArguments.OutOfRange(o + nameof(CellFreedom), (int)CellFreedom, "", "not a CellFreedom value");
        }

        if (!Enum.IsDefined(Method))
        {
            throw DynamicsArguments.OutOfRange(o + nameof(Method), (int)Method, "", "not a RelaxationMethod value");
        }

        DynamicsArguments.Positive(FmaxEvPerA, o + nameof(FmaxEvPerA), "eV/Å", "the force tolerance");
        DynamicsArguments.Positive(StressToleranceGpa, o + nameof(StressToleranceGpa), "GPa", "the stress tolerance");
        DynamicsArguments.AtLeast(MaxSteps, 1, o + nameof(MaxSteps), "the number of steps");
        DynamicsArguments.Positive(MaxStepA, o + nameof(MaxStepA), "Å", "the largest step");
        if (CellFactor is double f)
        {
            DynamicsArguments.Positive(f, o + nameof(CellFactor), "", "the cell factor");
        }

        DynamicsArguments.AtLeast(LbfgsMemory, 1, o + nameof(LbfgsMemory), "the L-BFGS memory");
    }
}

/// <summary>The state after one relaxation step, as reported to <see cref="IProgress{T}"/>.</summary>
/// <param name="Iteration">Steps taken (0 = the start).</param>
/// <param name="EnergyEv">Potential energy in eV.</param>
/// <param name="EnthalpyEv">E + P·V in eV.</param>
/// <param name="VolumeA3">Volume in Å³.</param>
/// <param name="MaxForceEvPerA">Largest atomic force in eV/Å.</param>
/// <param name="MaxStressDeviationGpa">Largest deviation of the stress from −P·I in GPa (0 for a fixed cell).</param>
/// <param name="Structure">A labelled copy of the structure at this step (a trajectory frame).</param>
public sealed record RelaxationStep(int Iteration, double EnergyEv, double EnthalpyEv, double VolumeA3, double MaxForceEvPerA, double MaxStressDeviationGpa, Structure Structure);

/// <summary>The outcome of <see cref="Relaxation.Relax"/>.</summary>
public sealed record RelaxationResult
{
    /// <summary>The relaxed structure (a new object), labelled with its energy, forces and (cell relaxations) stress.</summary>
    public required Structure Structure { get; init; }

    /// <summary>Whether the force and stress criteria were met.</summary>
    public required bool Converged { get; init; }

    /// <summary>Why the relaxation stopped, in words.</summary>
    public required string Message { get; init; }

    /// <summary>Optimiser steps taken.</summary>
    public required int Iterations { get; init; }

    /// <summary>Calculator calls made.</summary>
    public required int CalculatorCalls { get; init; }

    /// <summary>External pressure in GPa.</summary>
    public required double PressureGpa { get; init; }

    /// <summary>Potential energy in eV.</summary>
    public required double EnergyEv { get; init; }

    /// <summary>Volume in Å³.</summary>
    public required double VolumeA3 { get; init; }

    /// <summary>Largest atomic force in eV/Å.</summary>
    public required double MaxForceEvPerA { get; init; }

    /// <summary>Largest deviation of the stress from −P·I in GPa (0 for a fixed cell).</summary>
    public required double MaxStressDeviationGpa { get; init; }

    /// <summary>Enthalpy E + P·V in eV (P·V converted with <see cref="Units.GpaA3InEv"/>).</summary>
    public double EnthalpyEv => EnergyEv + PressureGpa * Units.GpaA3InEv * VolumeA3;

    /// <summary>Enthalpy per atom in eV/atom.</summary>
    public double EnthalpyPerAtomEv => EnthalpyEv / Structure.AtomCount;

    /// <summary>Volume per atom in Å³/atom.</summary>
    public double VolumePerAtomA3 => VolumeA3 / Structure.AtomCount;
}

/// <summary>
/// Relaxation of positions and cell at a given external pressure: minimises H = E + P·V with any
/// calculator (ASE's optimizers on an ExpCellFilter with scalar_pressure).
/// </summary>
/// <remarks>
/// Not converging within <see cref="RelaxationOptions.MaxSteps"/> is an outcome, not an error: the
/// result has <see cref="RelaxationResult.Converged"/> = false and says why, so that a screening run
/// over thousands of candidates keeps the partly relaxed structure and decides what to do with it.
/// Errors are exceptions: a calculator without the stress for a cell relaxation, a non-finite energy,
/// force or stress, cancellation.
/// </remarks>
public static class Relaxation
{
    /// <summary>Relaxes a copy of a structure.</summary>
    /// <param name="structure">The start (not modified).</param>
    /// <param name="calculator">Forces, energy and (unless the cell is fixed) stress.</param>
    /// <param name="options">Pressure, cell freedom, method and criteria; null means the defaults.</param>
    /// <param name="progress">Receives the start and every step (then every step asks for the energy too).</param>
    /// <param name="cancellationToken">Checked before every calculator call and passed to it.</param>
    /// <exception cref="ArgumentException">The calculator lacks forces, energy or the stress a cell relaxation needs; bad options.</exception>
    /// <exception cref="InvalidOperationException">The calculator returned a non-finite or missing value.</exception>
    public static RelaxationResult Relax(Structure structure, ICalculator calculator, RelaxationOptions? options = null,
        IProgress<RelaxationStep>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(structure);
        ArgumentNullException.ThrowIfNull(calculator);
        options ??= new RelaxationOptions();
        options.Validate();

        if (!calculator.ImplementedProperties.HasFlag(CalculatorProperties.Energy))
        {
            throw new ArgumentException($"{calculator.GetType().Name} does not compute the energy ({calculator.ImplementedProperties}); a relaxation reports the enthalpy and needs it.", nameof(calculator));
        }

        var filter = new CellFilter(structure.CloneWithoutLabels(), calculator, options.PressureGpa, options.CellFreedom, options.CellFactor);
        var run = new Run(filter, options, progress, cancellationToken);
        return options.Method == RelaxationMethod.Fire ? run.Fire() : run.Lbfgs();
    }

    private sealed class Run(CellFilter filter, RelaxationOptions options, IProgress<RelaxationStep>? progress, CancellationToken ct)
    {
        private int _calls;

        private CellFilterEvaluation Evaluate(bool energy)
        {
            ct.ThrowIfCancellationRequested();
            _calls++;
            return filter.Evaluate(energy, ct);
        }

        private bool IsConverged(CellFilterEvaluation e) =>
            e.MaxForceEvPerA < options.FmaxEvPerA && (filter.CellFreedom == CellFreedom.Fixed || e.MaxStressDeviationGpa < options.StressToleranceGpa);

        private void Report(int iteration, CellFilterEvaluation e)
        {
            if (progress is not null && e.EnergyEv is { } energy)
            {
                progress.Report(new RelaxationStep(iteration, energy, e.EnthalpyEv!.Value, e.VolumeA3, e.MaxForceEvPerA, e.MaxStressDeviationGpa, filter.Structure.Clone()));
            }
        }

        private RelaxationResult Finish(CellFilterEvaluation e, int iterations, bool converged, string message)
        {
            if (e.EnergyEv is null)
            {
                // FIRE asks for forces and stress only; the result needs the energy at the same point.
                ct.ThrowIfCancellationRequested();
                _calls++;
                var more = filter.Calculator.Calculate(filter.Structure, CalculatorProperties.Energy, ct);
                double energy = more.EnergyEv ?? throw new InvalidOperationException($"{filter.Calculator.GetType().Name} was asked for the energy but returned none.");
                if (!double.IsFinite(energy))
                {
                    throw new InvalidOperationException($"{filter.Calculator.GetType().Name} returned a non-finite energy ({energy} eV) for the relaxed structure.");
                }

                filter.Structure.EnergyEv = energy;
                e = e with { EnergyEv = energy, EnthalpyEv = energy + Units.GpaToEvPerA3(filter.PressureGpa) * e.VolumeA3 };
            }

            return new RelaxationResult
            {
                Structure = filter.Structure.Clone(),
                Converged = converged,
                Message = message,
                Iterations = iterations,
                CalculatorCalls = _calls,
                PressureGpa = filter.PressureGpa,
                EnergyEv = e.EnergyEv!.Value,
                VolumeA3 = e.VolumeA3,
                MaxForceEvPerA = e.MaxForceEvPerA,
                MaxStressDeviationGpa = e.MaxStressDeviationGpa,
            };
        }

        /// <summary>The result when iteration <paramref name="iteration"/> starts converged or at the step limit; null to go on.</summary>
        private RelaxationResult? Stop(CellFilterEvaluation e, int iteration) =>
            IsConverged(e) ? Finish(e, iteration, true, ConvergedMessage(iteration))
            : iteration >= options.MaxSteps ? Finish(e, iteration, false, NotConvergedMessage(e))
            : null;

        private string ConvergedMessage(int steps) => $"Converged in {steps} steps: max force < {options.FmaxEvPerA} eV/Å"
            + (filter.CellFreedom == CellFreedom.Fixed ? "." : $", stress within {options.StressToleranceGpa} GPa of −P.");

        private string NotConvergedMessage(CellFilterEvaluation e) =>
            $"Not converged within {options.MaxSteps} steps: max force {e.MaxForceEvPerA:G3} eV/Å (criterion {options.FmaxEvPerA}), stress deviation {e.MaxStressDeviationGpa:G3} GPa (criterion {options.StressToleranceGpa}).";

        /// <summary>Scales a step so that no atom (and no row of the cell variables) moves more than the maximum step.</summary>
        private void LimitStep(double[] step)
        {
            double largest = 0;
            for (int k = 0; k + 2 < step.Length; k += 3)
            {
                largest = Math.Max(largest, Math.Sqrt(step[k] * step[k] + step[k + 1] * step[k + 1] + step[k + 2] * step[k + 2]));
            }

            if (step.Length % 3 == 1)
            {
                largest = Math.Max(largest, Math.Abs(step[^1]));
            }

            if (largest > options.MaxStepA)
            {
                double f = options.MaxStepA / largest;
                for (int k = 0; k < step.Length; k++)
                {
                    step[k] *= f;
                }
            }
        }

        public RelaxationResult Fire()
        {
            // Parameters of Bitzek et al. (2006): N_min = 5, f_inc = 1.1, f_dec = 0.5, α_start = 0.1, f_α = 0.99.
            const int nMin = 5;
            const double fInc = 1.1, fDec = 0.5, alphaStart = 0.1, fAlpha = 0.99, dtStart = 0.1, dtMax = 1.0;
            bool wantEnergy = progress is not null;
            var x = filter.GetVariables();
            var v = new double[x.Length];
            var step = new double[x.Length];
            double dt = dtStart, alpha = alphaStart;
            int positiveSteps = 0;
            var e = Evaluate(wantEnergy);
            Report(0, e);
            for (int it = 0; ; it++)
            {
                if (Stop(e, it) is { } result)
                {
                    return result;
                }

                var g = e.Gradient;
                double power = 0, vNorm = 0, fNorm = 0;
                for (int k = 0; k < x.Length; k++)
                {
                    power -= v[k] * g[k];
                    vNorm += v[k] * v[k];
                    fNorm += g[k] * g[k];
                }

                if (power > 0)
                {
                    // Mix the velocity towards the force direction: v ← (1 − α)v + α·|v|·F/|F|.
                    double mix = fNorm > 0 ? alpha * Math.Sqrt(vNorm / fNorm) : 0;
                    for (int k = 0; k < x.Length; k++)
                    {
                        v[k] = (1 - alpha) * v[k] - mix * g[k];
                    }

                    if (positiveSteps++ > nMin)
                    {
                        dt = Math.Min(dt * fInc, dtMax);
                        alpha *= fAlpha;
                    }
                }
                else
                {
                    Array.Clear(v);
                    alpha = alphaStart;
                    dt *= fDec;
                    positiveSteps = 0;
                }

                for (int k = 0; k < x.Length; k++)
                {
                    v[k] -= dt * g[k];
                    step[k] = dt * v[k];
                }

                LimitStep(step);
                for (int k = 0; k < x.Length; k++)
                {
                    x[k] += step[k];
                }

                filter.SetVariables(x);
                e = Evaluate(wantEnergy);
                Report(it + 1, e);
            }
        }

        public RelaxationResult Lbfgs()
        {
            const double armijo = 1e-4;
            const double initialCurvatureEvPerA2 = 70; // H₀ = I/70 Å²/eV (ASE's default α)
            int m = options.LbfgsMemory;
            var x = filter.GetVariables();
            int len = x.Length;
            var sList = new List<double[]>();
            var yList = new List<double[]>();
            var rho = new List<double>();
            var alphas = new double[m];
            var d = new double[len];
            var trial = new double[len];
            var e = Evaluate(true);
            Report(0, e);
            bool resetOnce = false;
            for (int it = 0; ; it++)
            {
                if (Stop(e, it) is { } result)
                {
                    return result;
                }

                var g = e.Gradient;

                // Two-loop recursion: d = −H·g.
                for (int k = 0; k < len; k++)
                {
                    d[k] = -g[k];
                }

                for (int j = sList.Count - 1; j >= 0; j--)
                {
                    alphas[j] = rho[j] * Dot(sList[j], d);
                    Axpy(-alphas[j], yList[j], d);
                }

                // A fixed initial inverse Hessian (as ASE's LBFGS), not the usual sᵀy/yᵀy scaling: the cell
                // variables are much softer than the atoms, and a scale learnt from the cell would blow up
                // round-off along stiff atomic directions (and break the symmetry of a symmetric crystal).
                for (int k = 0; k < len; k++)
                {
                    d[k] /= initialCurvatureEvPerA2;
                }

                for (int j = 0; j < sList.Count; j++)
                {
                    double beta = rho[j] * Dot(yList[j], d);
                    Axpy(alphas[j] - beta, sList[j], d);
                }

                double slope = Dot(g, d);
                if (!(slope < 0))
                {
                    // Not a descent direction: forget the curvature and go down the gradient.
                    sList.Clear();
                    yList.Clear();
                    rho.Clear();
                    for (int k = 0; k < len; k++)
                    {
                        d[k] = -g[k] / initialCurvatureEvPerA2;
                    }

                    slope = Dot(g, d);
                }

                LimitStep(d);
                slope = Dot(g, d);

                // Backtracking line search on the enthalpy.
                double h0 = e.EnthalpyEv!.Value;
                double step = 1;
                CellFilterEvaluation? accepted = null;
                for (int tries = 0; tries < 12; tries++)
                {
                    for (int k = 0; k < len; k++)
                    {
                        trial[k] = x[k] + step * d[k];
                    }

                    filter.SetVariables(trial);
                    var te = Evaluate(true);
                    if (te.EnthalpyEv!.Value <= h0 + armijo * step * slope)
                    {
                        accepted = te;
                        break;
                    }

                    step *= 0.5;
                }

                if (accepted is null)
                {
                    filter.SetVariables(x);
                    if (!resetOnce && sList.Count > 0)
                    {
                        // Retry once from the gradient with no memory.
                        resetOnce = true;
                        sList.Clear();
                        yList.Clear();
                        rho.Clear();
                        e = Evaluate(true);
                        it--;
                        continue;
                    }

                    var last = Evaluate(true);
                    return Finish(last, it, false,
                        $"Stopped after {it} steps: the line search found no lower enthalpy along the descent direction (max force {last.MaxForceEvPerA:G3} eV/Å, stress deviation {last.MaxStressDeviationGpa:G3} GPa); the energy may be too noisy for the criteria.");
                }

                resetOnce = false;
                var s = new double[len];
                var y = new double[len];
                for (int k = 0; k < len; k++)
                {
                    s[k] = trial[k] - x[k];
                    y[k] = accepted.Gradient[k] - g[k];
                }

                double sy = Dot(s, y);
                if (sy > 1e-12 * Math.Sqrt(Dot(s, s) * Dot(y, y)))
                {
                    if (sList.Count == m)
                    {
                        sList.RemoveAt(0);
                        yList.RemoveAt(0);
                        rho.RemoveAt(0);
                    }

                    sList.Add(s);
                    yList.Add(y);
                    rho.Add(1 / sy);
                }

                Array.Copy(trial, x, len);
                e = accepted;
                Report(it + 1, e);
            }
        }

        private static double Dot(double[] a, double[] b)
        {
            double sum = 0;
            for (int k = 0; k < a.Length; k++)
            {
                sum += a[k] * b[k];
            }

            return sum;
        }

        private static void Axpy(double a, double[] x, double[] y)
        {
            for (int k = 0; k < y.Length; k++)
            {
                y[k] += a * x[k];
            }
        }
    }
}
