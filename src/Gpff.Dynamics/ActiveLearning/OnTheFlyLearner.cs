using System.Globalization;
using Gpff.Dynamics.MolecularDynamics;
using Gpff.Geometry;

namespace Gpff.Dynamics.ActiveLearning;

/// <summary>
/// On-the-fly active learning (FLARE; Vandermause et al., npj Comput. Mater. 6, 20 (2020)): molecular
/// dynamics driven by a learning model (a GP force field). Before every step the largest predicted
/// force standard deviation is compared with a threshold; above it, the reference calculator (DFT, or an
/// analytic potential in tests) is called on the current structure, its energy, stress and the forces
/// of the most uncertain atoms are added to the model (a block update), the hyperparameters are refitted
/// every n calls, and the MD continues from the reference forces (<see cref="Integrator.ReplaceCurrent"/>).
/// At the end the hyperparameters are refitted once more. Every call is logged (step, uncertainty, the
/// model's error against the new labels before the update) and, with a checkpoint directory, followed
/// by a checkpoint (and one before the first step) from which <see cref="Resume"/> continues exactly, repeating no
/// reference calculation: bit for bit when the model's linear algebra is deterministic (the managed back end;
/// multi-threaded OpenBLAS sums in a varying order, so two uninterrupted runs already differ at round-off).
/// </summary>
/// <example>
/// <code>
/// var md = new Langevin(structure, forceField, 2.0, 1000, 0.02, seed: 1);
/// var learner = new OnTheFlyLearner(md, forceField, dft, new OnTheFlyOptions { Steps = 5000, ThresholdForceNoiseMultiple = 1, CheckpointDirectory = "otf" });
/// var result = learner.Run(progress, ct);
/// </code>
/// </example>
public sealed class OnTheFlyLearner
{
    private readonly List<ReferenceCallRecord> _log = [];
    private bool _finished;

    /// <summary>Sets up a run.</summary>
    /// <param name="dynamics">The integrator; its calculator must be <paramref name="model"/>.</param>
    /// <param name="model">The learning model (trained on at least one structure, so that it has uncertainties).</param>
    /// <param name="reference">The reference calculator (must implement forces; energy and stress are added when it implements them).</param>
    /// <param name="options">Threshold, atoms per call, refits, limits, checkpoints, retries.</param>
    public OnTheFlyLearner(Integrator dynamics, ILearningCalculator model, ICalculator reference, OnTheFlyOptions options)
    {
        ArgumentNullException.ThrowIfNull(dynamics);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (!ReferenceEquals(dynamics.Calculator, model))
        {
            throw new ArgumentException("The integrator must be driven by the learning model (its Calculator is another object).", nameof(dynamics));
        }

        if (!model.ImplementedProperties.HasFlag(CalculatorProperties.Forces | CalculatorProperties.Uncertainty))
        {
            throw new ArgumentException($"{model.GetType().Name} gives no force uncertainties; on-the-fly learning needs them.", nameof(model));
        }

        if (!reference.ImplementedProperties.HasFlag(CalculatorProperties.Forces))
        {
            throw new ArgumentException($"The reference calculator {reference.GetType().Name} computes no forces.", nameof(reference));
        }

        Dynamics = dynamics;
        Model = model;
        Reference = reference;
        Options = options;
    }

    /// <summary>The integrator.</summary>
    public Integrator Dynamics { get; }

    /// <summary>The learning model.</summary>
    public ILearningCalculator Model { get; }

    /// <summary>The reference calculator.</summary>
    public ICalculator Reference { get; }

    /// <summary>The options.</summary>
    public OnTheFlyOptions Options { get; }

    /// <summary>The reference calls so far (resumed ones included).</summary>
    public IReadOnlyList<ReferenceCallRecord> Log => _log;

    /// <summary>
    /// Continues a run from the checkpoint in <see cref="OnTheFlyOptions.CheckpointDirectory"/>: the model must be
    /// loaded from <see cref="OnTheFlyCheckpoint.ModelPath"/> and the integrator built on the same atoms with the same
    /// settings (its calculator that model); the MD state and the log are restored from the checkpoint.
    /// </summary>
    /// <param name="dynamics">A fresh integrator of the same kind and settings, on the loaded model.</param>
    /// <param name="model">The model loaded from the checkpoint.</param>
    /// <param name="reference">The reference calculator.</param>
    /// <param name="options">The options of the interrupted run (with its checkpoint directory).</param>
    /// <exception cref="InvalidDataException">The model does not hold the training data the checkpoint expects.</exception>
    public static OnTheFlyLearner Resume(Integrator dynamics, ILearningCalculator model, ICalculator reference, OnTheFlyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        string directory = options.CheckpointDirectory ?? throw new ArgumentException("Resuming needs the checkpoint directory in the options.", nameof(options));
        var learner = new OnTheFlyLearner(dynamics, model, reference, options);
        var (state, log, training, finished) = OnTheFlyCheckpoint.Load(directory);
        if (model.TrainingStructureCount != training)
        {
            throw new InvalidDataException($"The checkpoint in {directory} expects a model with {training} training structures; the model given has {model.TrainingStructureCount} (load it from {OnTheFlyCheckpoint.ModelPath(directory)}).");
        }

        dynamics.RestoreState(state);
        learner._log.AddRange(log);
        learner._finished = finished;
        return learner;
    }

    /// <summary>
    /// Runs the MD up to <see cref="OnTheFlyOptions.Steps"/> steps, calling the reference where the model is uncertain;
    /// then refits (<see cref="OnTheFlyOptions.RefitAtEnd"/>, when there were reference calls) and writes the final checkpoint.
    /// A run that has finished (resumed from its final checkpoint) does nothing more.
    /// </summary>
    /// <param name="progress">Receives each reference call's record as it is made.</param>
    /// <param name="cancellationToken">Checked before every step; passed to the calculators and the refits.</param>
    /// <returns>Steps, the log of reference calls, whether the hyperparameters were refitted at the end.</returns>
    /// <exception cref="ReferenceCalculationException">A reference calculation failed every attempt; the checkpoint is intact.</exception>
    public OnTheFlyResult Run(IProgress<ReferenceCallRecord>? progress = null, CancellationToken cancellationToken = default)
    {
        var md = Dynamics;
        md.PropertiesEveryStep |= CalculatorProperties.Forces | CalculatorProperties.Uncertainty;
        if (Options.CheckpointDirectory is { } start && !_finished && _log.Count == 0 && md.StepCount == 0)
        {
            // Step 0: a run killed before its first reference call resumes from here, not from scratch.
            OnTheFlyCheckpoint.Write(start, Model, md.CaptureState(), _log, finished: false);
        }

        while (md.StepCount < Options.Steps)
        {
            cancellationToken.ThrowIfCancellationRequested();
            bool calledHere = _log.Count > 0 && _log[^1].Step == md.StepCount; // a resumed run starts right after a call
            if (!calledHere && _log.Count < Options.MaxReferenceCalls)
            {
                var current = md.Require(CalculatorProperties.Forces | CalculatorProperties.Uncertainty, cancellationToken);
                double threshold = Options.ThresholdEvPerA ?? Options.ThresholdForceNoiseMultiple * Model.ForceNoiseEvPerA;
                var std = AtomUncertainties(current.ForcesStdEvPerA!);
                double max = std.Max();
                if (max > threshold)
                {
                    CallReference(current, std, threshold, progress, cancellationToken);
                }
            }

            md.Step(cancellationToken);
        }

        bool refitted = false;
        if (!_finished)
        {
            if (Options.RefitAtEnd && _log.Count > 0)
            {
                Model.Refit(cancellationToken);
                refitted = true;
            }

            _finished = true;
            if (Options.CheckpointDirectory is { } dir)
            {
                OnTheFlyCheckpoint.Write(dir, Model, md.CaptureState(), _log, finished: true);
            }
        }

        return new OnTheFlyResult(md.StepCount, [.. _log], refitted);
    }

    private void CallReference(CalculationResult predicted, double[] std, double threshold, IProgress<ReferenceCallRecord>? progress, CancellationToken cancellationToken)
    {
        var md = Dynamics;
        int step = md.StepCount;
        double? modelEnergy = Reference.ImplementedProperties.HasFlag(CalculatorProperties.Energy)
            ? md.Require(CalculatorProperties.Energy, cancellationToken).EnergyEv
            : null;
        var (result, attempts) = Calculate(step, cancellationToken);

        // The model's errors against the new labels, before the update.
        var fm = predicted.ForcesEvPerA!;
        var fr = result.ForcesEvPerA!;
        double sum = 0, worst = 0;
        for (int i = 0; i < fr.Length; i++)
        {
            for (int c = 0; c < 3; c++)
            {
                double e = Math.Abs(fm[i][c] - fr[i][c]);
                sum += e;
                worst = Math.Max(worst, e);
            }
        }

        var order = Enumerable.Range(0, std.Length).OrderByDescending(i => std[i]).ThenBy(i => i).ToArray();
        int count = Options.AtomsPerCall is int k ? Math.Min(k, order.Length) : Math.Max(1, order.Count(i => std[i] > threshold));
        var atoms = order[..count];
        var labelled = md.Structure.CloneWithoutLabels();
        result.ApplyAsLabels(labelled);
        Model.AddTrainingData(labelled, atoms, cancellationToken);
        int call = _log.Count + 1;
        bool refit = Options.RefitEvery > 0 && call % Options.RefitEvery == 0;
        if (refit)
        {
            Model.Refit(cancellationToken);
        }

        md.ReplaceCurrent(result);
        var record = new ReferenceCallRecord(call, step, std.Max(), threshold, atoms, sum / (3.0 * fr.Length), worst,
            modelEnergy is double em && result.EnergyEv is double er ? em - er : null, attempts, refit);
        _log.Add(record);
        if (Options.CheckpointDirectory is { } dir)
        {
            OnTheFlyCheckpoint.Write(dir, Model, md.CaptureState(), _log, finished: false);
        }

        progress?.Report(record);
    }

    private (CalculationResult Result, int Attempts) Calculate(int step, CancellationToken cancellationToken)
    {
        var md = Dynamics;
        var properties = (CalculatorProperties.EnergyForcesStress & Reference.ImplementedProperties) | CalculatorProperties.Forces;
        for (int attempt = 1; ; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                var result = Reference.Calculate(md.Structure.CloneWithoutLabels(), properties, cancellationToken);
                if (result.ForcesEvPerA is not { } f || f.Length != md.Structure.AtomCount || f.Any(v => !v.IsFinite))
                {
                    throw new InvalidOperationException($"{Reference.GetType().Name} returned no finite force for every atom.");
                }

                return (result, attempt);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception e)
            {
                bool again = attempt < Options.MaxAttempts && (Options.Retry?.Invoke(new ReferenceFailure(step, attempt, e)) ?? true);
                if (!again)
                {
                    string where = Options.CheckpointDirectory is { } dir
                        ? (_log.Count > 0
                            ? $"The checkpoint in {dir} holds the {_log.Count} reference results so far; resume from it."
                            : $"No reference call has completed yet; the checkpoint in {dir} holds the start of the run (step 0); resume from it.")
                        : "No checkpoint directory was set.";
                    throw new ReferenceCalculationException(string.Create(CultureInfo.InvariantCulture,
                        $"The reference calculation ({Reference.GetType().Name}) at MD step {step} failed after {attempt} attempt(s); the on-the-fly run stopped. {where} Last error: {e.Message}"), e)
                    {
                        Step = step,
                        Attempts = attempt,
                    };
                }
            }
        }
    }

    /// <summary>Per atom, the largest standard deviation of its three force components, eV/Å.</summary>
    private static double[] AtomUncertainties(Vec3[] std)
    {
        var u = new double[std.Length];
        for (int i = 0; i < std.Length; i++)
        {
            u[i] = Math.Max(Math.Abs(std[i].X), Math.Max(Math.Abs(std[i].Y), Math.Abs(std[i].Z)));
        }

        return u;
    }
}
