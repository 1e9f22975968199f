using System.Globalization;
using Gpff.Dynamics;
using Gpff.Dynamics.Optimization;
using Gpff.IO;
using Gpff.Phases;
using Gpff.Regression;

namespace Gpff.Studies;

/// <summary>The stages of a <see cref="StabilityStudy"/>, in order.</summary>
public enum StudyStage
{
    /// <summary>Reading the training data and the candidates.</summary>
    Loading,

    /// <summary>Training (and fitting) the force field, leave-one-structure-out calibration.</summary>
    Training,

    /// <summary>K-fold cross-validation.</summary>
    CrossValidation,

    /// <summary>Relaxing every candidate at every pressure.</summary>
    Relaxation,

    /// <summary>Hulls and stability probabilities.</summary>
    Hull,
}

/// <summary>Progress of a study: the stage, how far it is (Done of Total; 0 of 0 where not counted) and a line for people.</summary>
/// <param name="Stage">The stage.</param>
/// <param name="Done">Items done in the stage.</param>
/// <param name="Total">Items in the stage.</param>
/// <param name="Message">A human-readable line.</param>
public readonly record struct StudyProgress(StudyStage Stage, int Done, int Total, string Message);

/// <summary>One candidate relaxed at one pressure, with the GP's energy and its calibrated standard deviation there.</summary>
/// <param name="Name">The candidate's name.</param>
/// <param name="PressureGpa">Pressure, GPa.</param>
/// <param name="Relaxation">The relaxation (structure, convergence, enthalpy).</param>
/// <param name="EnergyEv">GP total energy of the relaxed structure, eV (the hull's).</param>
/// <param name="EnergyStdEv">Its calibrated standard deviation, eV (that of a DFT label, the joint covariance's diagonal).</param>
public sealed record CandidateRelaxation(string Name, double PressureGpa, RelaxationResult Relaxation, double EnergyEv, double EnergyStdEv)
{
    /// <summary>The relaxed structure.</summary>
    public Structure Structure => Relaxation.Structure;

    /// <summary>Enthalpy per atom (E + P·V)/N, eV/atom.</summary>
    public double EnthalpyPerAtomEv => (EnergyEv + PressureGpa * Units.GpaA3InEv * Relaxation.VolumeA3) / Structure.AtomCount;

    /// <summary>Volume per atom, Å³.</summary>
    public double VolumePerAtomA3 => Relaxation.VolumePerAtomA3;
}

/// <summary>The hull at one pressure: the relaxed candidates, the diagram of the mean enthalpies and the stability probabilities.</summary>
/// <param name="PressureGpa">Pressure, GPa.</param>
/// <param name="Candidates">The relaxed candidates, in the candidates file's order.</param>
/// <param name="Diagram">The hull of the GP's mean enthalpies.</param>
/// <param name="Stability">Stability probabilities from the joint (calibrated) energy covariance.</param>
/// <param name="EnergyCovarianceEv2">The joint covariance of the candidates' total energies, eV², in candidate order.</param>
/// <param name="Failed">Candidates whose relaxation failed at this pressure (left out of this hull).</param>
public sealed record StudyHull(double PressureGpa, IReadOnlyList<CandidateRelaxation> Candidates, PhaseDiagram Diagram, StabilityReport Stability, double[,] EnergyCovarianceEv2,
    IReadOnlyList<FailedRelaxation> Failed);

/// <summary>
/// A candidate whose relaxation failed at one pressure: the force field drove it somewhere no structure can be (atoms
/// closer than <see cref="Structure.DefaultMinimumDistanceA"/>, a pair closer than <see cref="TrainingDistances.CollapseFraction"/>
/// × the shortest distance of its species pair in the training data (a collapsed cell), or a volume per atom above
/// <see cref="TrainingDistances.ExpansionFactor"/> × the largest of its composition in training (an expanded one), converged or not), or did not converge,
/// a sign that the model extrapolates there. It is left out of that hull and listed; recompute it with DFT or add data like it.
/// </summary>
/// <param name="Name">The candidate.</param>
/// <param name="PressureGpa">Pressure, GPa.</param>
/// <param name="Message">Why.</param>
public sealed record FailedRelaxation(string Name, double PressureGpa, string Message);

/// <summary>A candidate whose stability the GP cannot decide at one pressure: recompute it with DFT.</summary>
/// <param name="Name">The candidate.</param>
/// <param name="PressureGpa">Pressure, GPa.</param>
/// <param name="PStable">Probability that it is on the hull.</param>
/// <param name="EnergyAboveHullEvPerAtom">Distribution of its energy above the hull over the samples, eV/atom.</param>
public sealed record UncertainCandidate(string Name, double PressureGpa, double PStable, SampleSummary EnergyAboveHullEvPerAtom);

/// <summary>What a study found.</summary>
public sealed class StudyResult
{
    /// <summary>The settings the study ran with.</summary>
    public required StudySettings Settings { get; init; }

    /// <summary>The trained, calibrated force field.</summary>
    public required ForceField ForceField { get; init; }

    /// <summary>Training frames read.</summary>
    public required IReadOnlyList<Structure> TrainingFrames { get; init; }

    /// <summary>Training report: fit, training residuals, leave-one-structure-out errors per composition, calibration.</summary>
    public required TrainingReport Training { get; init; }

    /// <summary>Every candidate's name with its reduced formula (Hill order), in the candidates file's order.</summary>
    public required IReadOnlyDictionary<string, string> CandidateFormulas { get; init; }

    /// <summary>K-fold cross-validation (null with <c>cross_validation.folds</c> 0).</summary>
    public CrossValidationResult? CrossValidation { get; init; }

    /// <summary>The hulls, one per pressure in the settings' order.</summary>
    public required IReadOnlyList<StudyHull> Hulls { get; init; }

    /// <summary>Candidates with a stability probability inside the uncertain band, at any pressure.</summary>
    public IReadOnlyList<UncertainCandidate> Uncertain => Hulls.SelectMany(h => h.Stability.Uncertain.Select(u =>
        new UncertainCandidate(u.Name, h.PressureGpa, u.PStable, u.EnergyAboveHull))).ToArray();

    /// <summary>Relaxations that stopped before converging (kept in the hulls, at the enthalpy reached).</summary>
    public IReadOnlyList<CandidateRelaxation> NotConverged => Hulls.SelectMany(h => h.Candidates).Where(c => !c.Relaxation.Converged).ToArray();

    /// <summary>Relaxations that failed (left out of their hull).</summary>
    public IReadOnlyList<FailedRelaxation> Failed => Hulls.SelectMany(h => h.Failed).ToArray();

    /// <summary>Wall time of the whole study, s.</summary>
    public required double Seconds { get; init; }

    /// <summary>The printed report: errors per composition, relaxations, both hulls with probabilities, uncertain candidates.</summary>
    public string FormatTables() => StudyTables.Format(this);

    /// <summary>
    /// Writes the study's files to a folder (created if missing): <c>model.gpff</c>, and per pressure P
    /// <c>relaxed-PGPa.extxyz</c> (relaxed candidates; enthalpy, energy_std, converged in the comment line),
    /// <c>entries-PGPa.csv</c> and <c>covariance-PGPa.txt</c> (what <c>gpff hull --covariance</c> reads) and
    /// <c>hull-PGPa.json</c>; <c>report.txt</c> holds <see cref="FormatTables"/>. Every file is written atomically.
    /// </summary>
    /// <param name="directory">The folder.</param>
    /// <returns>The files written.</returns>
    public IReadOnlyList<string> WriteFiles(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        Directory.CreateDirectory(directory);
        var written = new List<string>();
        string model = Path.Combine(directory, "model.gpff");
        ForceField.Save(model, new Dictionary<string, string> { ["study"] = Settings.Name });
        written.Add(model);
        foreach (var h in Hulls)
        {
            string p = PressureTag(h.PressureGpa);
            string relaxed = Path.Combine(directory, $"relaxed-{p}.extxyz");
            ExtXyz.Write(relaxed, h.Candidates.Select(c =>
            {
                var s = c.Structure.CloneWithoutLabels();
                s.Info["name"] = c.Name;
                s.EnergyEv = c.EnergyEv;
                s.Info["enthalpy"] = c.EnergyEv + c.PressureGpa * Units.GpaA3InEv * c.Relaxation.VolumeA3;
                s.Info["enthalpy_per_atom"] = c.EnthalpyPerAtomEv;
                s.Info["pressure_GPa"] = c.PressureGpa;
                s.Info["energy_std"] = c.EnergyStdEv;
                s.Info["converged"] = c.Relaxation.Converged;
                s.Info["relax_steps"] = c.Relaxation.Iterations;
                return s;
            }));
            string entries = Path.Combine(directory, $"entries-{p}.csv");
            PhaseEntryCsv.Write(entries, h.Diagram.AllEntries);
            string covariance = Path.Combine(directory, $"covariance-{p}.txt");
            WriteCovariance(covariance, h);
            string json = Path.Combine(directory, $"hull-{p}.json");
            HullJson.Write(json, h.Diagram, h.Stability);
            written.AddRange([relaxed, entries, covariance, json]);
        }

        string report = Path.Combine(directory, "report.txt");
        SafeFile.WriteAtomic(report, s =>
        {
            using var w = new StreamWriter(s, leaveOpen: true);
            w.Write(FormatTables());
        });
        written.Add(report);
        return written;
    }

    /// <summary>The file-name tag of a pressure: <c>0GPa</c>, <c>10GPa</c>, <c>2.5GPa</c>.</summary>
    /// <param name="pressureGpa">Pressure, GPa.</param>
    public static string PressureTag(double pressureGpa) => pressureGpa.ToString("0.###", CultureInfo.InvariantCulture) + "GPa";

    private static void WriteCovariance(string path, StudyHull h)
    {
        SafeFile.WriteAtomic(path, stream =>
        {
            using var w = new StreamWriter(stream, leaveOpen: true);
            w.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"# joint covariance (eV²) of the GP total energies of the relaxed candidates at {h.PressureGpa:G} GPa, rows in the order of the entries file: {string.Join(", ", h.Candidates.Select(c => c.Name))}"));
            int n = h.Candidates.Count;
            for (int i = 0; i < n; i++)
            {
                w.WriteLine(string.Join(' ', Enumerable.Range(0, n).Select(j => h.EnergyCovarianceEv2[i, j].ToString("R", CultureInfo.InvariantCulture))));
            }
        });
    }
}

/// <summary>
/// The phase-stability study end to end (the motivating Ba–Rh–O workflow): train a GP force field on DFT frames with
/// the default fit and calibration, cross-validate it, relax every candidate (positions and cell) at every pressure,
/// predict the candidates' joint energy distribution (calibrated, that of DFT labels), and build the enthalpy hulls with
/// the probability that each candidate is stable. The library writes nothing to the console; progress goes to
/// <see cref="IProgress{T}"/> and the tables come from <see cref="StudyResult.FormatTables"/>.
/// </summary>
public static class StabilityStudy
{
    /// <summary>Runs a study.</summary>
    /// <param name="settings">What to do (<see cref="StudySettings.Load"/>; <see cref="StudySettings.Quick"/> for a reduced run).</param>
    /// <param name="progress">Progress by stage.</param>
    /// <param name="cancellationToken">Checked between and inside the steps.</param>
    /// <returns>The result.</returns>
    /// <exception cref="InvalidDataException">Bad settings, missing labels, a candidate with a species the training data lack.</exception>
    /// <exception cref="FileNotFoundException">A training or candidates file is missing.</exception>
    public static StudyResult Run(StudySettings settings, IProgress<StudyProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var inv = CultureInfo.InvariantCulture;
        void Report(StudyStage stage, int done, int total, string message) => progress?.Report(new StudyProgress(stage, done, total, message));

        // 1. Data.
        var training = new List<Structure>();
        foreach (string file in settings.TrainingData)
        {
            string path = Existing(settings.Resolve(file), "training_data");
            int before = training.Count;
            foreach (var s in ExtXyz.Read(path))
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (s.EnergyEv is null)
                {
                    throw new InvalidDataException($"{path}, frame {training.Count - before + 1}: no energy label; training frames need DFT energies (and forces, stresses).");
                }

                training.Add(s);
            }

            Report(StudyStage.Loading, 0, 0, $"{training.Count - before} training frames from {file}");
        }

        var candidates = ReadCandidates(settings, training);
        Report(StudyStage.Loading, 0, 0, $"{candidates.Count} candidates from {settings.Candidates}: {string.Join(", ", candidates.Select(c => c.Name))}");
        var terminals = settings.TerminalCompositions();
        CheckHullCanBeBuilt(settings, candidates, terminals);

        // 2. Train with the default fit, calibrate on the leave-one-structure-out errors.
        var m = settings.Model;
        var ffSettings = new ForceFieldSettings { PairCutoffA = m.PairCutoffA, TripletCutoffA = m.TripletCutoffA, Kernel = m.Kernel }.WithSpeciesOf(training);
        var gpOptions = new GaussianProcessOptions
        {
            Uncertainty = UncertaintyKind.NoisyLabel,
            ReferenceEnergyPrior = m.ReferencePriorEvPerAtom is double tau ? new ReferenceEnergyPrior(tau) : null,
        };
        var fitOptions = new HyperparameterFitOptions { Objective = m.FitObjective, MaxIterations = m.FitMaxIterations };
        var ff = ForceField.Create(ffSettings, gpOptions);
        Report(StudyStage.Training, 0, 1, m.Fit
            ? $"training a {ForceFieldSettings.KernelKindName(m.Kernel)} GP on {training.Count} frames, fitting hyperparameters ({HyperparameterFitResult.ObjectiveNameOf(m.FitObjective)}, at most {m.FitMaxIterations} iterations)"
            : $"training a {ForceFieldSettings.KernelKindName(m.Kernel)} GP on {training.Count} frames (hyperparameters as given)");
        var report = ff.Train(training, m.Fit, fitOptions, new SyncProgress<string>(line => Report(StudyStage.Training, 0, 1, line)), cancellationToken);
        Report(StudyStage.Training, 1, 1, string.Create(inv, $"trained in {report.Seconds:F1} s"));

        // 3. K-fold cross-validation with the fitted hyperparameters (or refitting in every fold).
        CrossValidationResult? cv = null;
        var folds = settings.CrossValidation.Folds;
        if (folds >= 2)
        {
            var fitted = FittedSettings(ff, ffSettings);
            int done = 0;
            cv = CrossValidation.Run(training, fitted, folds, settings.CrossValidation.Refit, fitOptions, gpOptions with { Uncertainty = UncertaintyKind.Latent },
                new SyncProgress<string>(line =>
                {
                    if (line.StartsWith("fold ", StringComparison.Ordinal))
                    {
                        Report(StudyStage.CrossValidation, done++, folds, line);
                    }
                }), cancellationToken);
            Report(StudyStage.CrossValidation, folds, folds, $"{folds}-fold cross-validation done");
        }

        // 4. Relax every candidate at every pressure; 5. the hulls.
        // A relaxed structure with a pair closer than the training data ever were (a collapsed cell), or a volume per
        // atom far beyond its composition's in training (a cell that ran away by expansion), has left the model's
        // range: a failed relaxation whatever the optimiser reports (TrainingDistances.CollapseFraction, ExpansionFactor).
        var distances = TrainingDistances.FromStructures(training, ff.Model.Kernel.CutoffA, cancellationToken);
        var hulls = new List<StudyHull>();
        int totalRelaxations = candidates.Count * settings.PressuresGpa.Count, relaxed = 0;
        foreach (double pressure in settings.PressuresGpa)
        {
            var options = settings.Relaxation.ToOptions(pressure);
            var done = new List<(string Name, RelaxationResult Result)>();
            var failed = new List<FailedRelaxation>();
            foreach (var (name, start) in candidates)
            {
                cancellationToken.ThrowIfCancellationRequested();
                relaxed++;
                try
                {
                    var r = Relaxation.Relax(start, ff, options, null, cancellationToken);
                    if (distances.CheckRange(r.Structure) is { } left)
                    {
                        string message = string.Create(inv, $"relaxation {left.Outcome}: {left.Message} (H reached {r.EnthalpyPerAtomEv:G6} eV/atom, not used)");
                        failed.Add(new FailedRelaxation(name, pressure, message));
                        Report(StudyStage.Relaxation, relaxed, totalRelaxations, string.Create(inv, $"{name} at {pressure:G} GPa: {message}; left out of this hull"));
                        continue;
                    }

                    if (!r.Converged && !IsTerminal(start, terminals))
                    {
                        // Where the model's forces never settle, the enthalpy reached says nothing (it can run off to
                        // absurd values as atoms collapse): leave it out of the hull, as a failed relaxation. Terminals
                        // are kept (the hull needs them) and listed as not converged.
                        string message = string.Create(inv, $"{r.Message.TrimEnd('.')}; the enthalpy reached, {r.EnthalpyPerAtomEv:G6} eV/atom, is not used");
                        failed.Add(new FailedRelaxation(name, pressure, message));
                        Report(StudyStage.Relaxation, relaxed, totalRelaxations, string.Create(inv, $"{name} at {pressure:G} GPa: {message}; left out of this hull"));
                        continue;
                    }

                    done.Add((name, r));
                    Report(StudyStage.Relaxation, relaxed, totalRelaxations, string.Create(inv,
                        $"{name} at {pressure:G} GPa: {(r.Converged ? "converged" : "NOT converged")} in {r.Iterations} steps, H = {r.EnthalpyPerAtomEv:F4} eV/atom, V = {r.VolumePerAtomA3:F2} Å³/atom"));
                }
                catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or InvalidDataException)
                {
                    // The model drove the structure somewhere no structure can be: a result about the model, not the end of the study.
                    failed.Add(new FailedRelaxation(name, pressure, ex.Message));
                    Report(StudyStage.Relaxation, relaxed, totalRelaxations, string.Create(inv, $"{name} at {pressure:G} GPa: relaxation FAILED ({ex.Message}); left out of this hull"));
                }
            }

            cancellationToken.ThrowIfCancellationRequested();
            var structures = done.Select(d => d.Result.Structure.CloneWithoutLabels()).ToArray();
            var (mean, cov) = ff.PredictEnergies(structures, cancellationToken);
            var relaxations = done.Select((c, i) => new CandidateRelaxation(c.Name, pressure, c.Result, mean[i], Math.Sqrt(Math.Max(0, cov[i, i])))).ToArray();
            var entries = relaxations.Select(c => new PhaseEntry(c.Name, Composition.Parse(c.Structure.HillFormula()), c.EnergyEv, c.Relaxation.VolumeA3, c.EnergyStdEv)).ToArray();
            PhaseDiagram diagram;
            try
            {
                diagram = new PhaseDiagram(entries, pressure, terminals);
            }
            catch (ArgumentException ex)
            {
                throw new InvalidOperationException(string.Create(inv, $"hull at {pressure:G} GPa: {ex.Message} Failed relaxations: {string.Join("; ", failed.Select(f => $"{f.Name}: {f.Message}"))}"), ex);
            }


            Report(StudyStage.Hull, hulls.Count, settings.PressuresGpa.Count, string.Create(inv, $"hull at {pressure:G} GPa: stability probabilities from {settings.Hull.Samples} samples of the joint energy distribution"));
            var stability = HullUncertainty.Analyze(diagram, cov, settings.Hull.ToOptions(), null, cancellationToken);
            hulls.Add(new StudyHull(pressure, relaxations, diagram, stability, cov, failed));
            Report(StudyStage.Hull, hulls.Count, settings.PressuresGpa.Count, string.Create(inv,
                $"hull at {pressure:G} GPa: stable {string.Join(", ", diagram.StableEntries.Select(e => e.Name))}"));
        }

        return new StudyResult
        {
            Settings = settings,
            ForceField = ff,
            TrainingFrames = training,
            CandidateFormulas = candidates.ToDictionary(c => c.Name, c => c.Structure.ReducedFormula(), StringComparer.Ordinal),
            Training = report,
            CrossValidation = cv,
            Hulls = hulls,
            Seconds = clock.Elapsed.TotalSeconds,
        };
    }

    /// <summary>Runs a study on a worker thread (see <see cref="Run"/>).</summary>
    /// <param name="settings">What to do.</param>
    /// <param name="progress">Progress by stage.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    public static Task<StudyResult> RunAsync(StudySettings settings, IProgress<StudyProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Task.Run(() => Run(settings, progress, cancellationToken), cancellationToken);

    /// <summary>The force-field settings of a trained force field's kernel and noises (2+3-body terms without species groups, B2 amplitude).</summary>
    private static ForceFieldSettings FittedSettings(ForceField ff, ForceFieldSettings start)
    {
        var k = ff.Model.Kernel;
        double Get(string name, double fallback)
        {
            int i = k.HyperparameterNames.ToList().IndexOf(name);
            return i >= 0 ? k.Hyperparameters[i] : fallback;
        }

        var fitted = start with
        {
            Sigma2 = Get("sigma2", start.Sigma2),
            Length2A = Get("length2", start.Length2A),
            Sigma3 = Get("sigma3", start.Sigma3),
            Length3A = Get("length3", start.Length3A),
            SigmaB2 = Get(Kernels.B2Kernel.SigmaName, start.SigmaB2),
            Noise = ff.Model.Noise,
        };

        // The cross-validation must train the very kernel that was fitted: a hyperparameter not carried over would
        // silently cross-validate another model.
        var rebuilt = fitted.BuildKernel().Hyperparameters;
        if (rebuilt.Count != k.Hyperparameters.Count || rebuilt.Zip(k.Hyperparameters).Any(t => Math.Abs(t.First - t.Second) > 1e-12 * Math.Abs(t.Second)))
        {
            throw new InvalidOperationException($"The fitted kernel's hyperparameters ({string.Join(", ", k.HyperparameterNames)}) could not all be carried over to the cross-validation.");
        }

        return fitted;
    }

    private static List<(string Name, Structure Structure)> ReadCandidates(StudySettings settings, IReadOnlyList<Structure> training)
    {
        string path = Existing(settings.Resolve(settings.Candidates), "candidates");
        var known = training.SelectMany(s => s.AtomicNumbers.ToArray()).ToHashSet();
        var list = new List<(string, Structure)>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        int frame = 0;
        foreach (var s in ExtXyz.Read(path))
        {
            frame++;
            string name = s.Info.TryGetValue("name", out var n) && n is string ns ? ns
                : s.Info.TryGetValue("config_type", out var t) && t is string ts ? ts
                : $"{s.HillFormula()}-{frame}";
            if (!names.Add(name))
            {
                throw new InvalidDataException($"{path}, frame {frame}: the name '{name}' is used twice; hull entries need their own names.");
            }

            int unknown = s.AtomicNumbers.ToArray().FirstOrDefault(z => !known.Contains(z));
            if (unknown != 0)
            {
                throw new InvalidDataException($"{path}, frame {frame} ({name}): species {Elements.Symbol(unknown)} is not in the training data.");
            }

            s.Validate();
            if (!s.Pbc.AllPeriodic)
            {
                throw new InvalidDataException($"{path}, frame {frame} ({name}): a candidate must be periodic in all three directions (its cell is relaxed under pressure).");
            }

            list.Add((name, s.CloneWithoutLabels()));
        }

        if (list.Count == 0)
        {
            throw new InvalidDataException($"{path}: no candidate structures.");
        }

        return list;
    }

    /// <summary>Whether a candidate is one of the hull's terminals (the elements when none are given).</summary>
    private static bool IsTerminal(Structure candidate, IReadOnlyList<Composition>? terminals)
    {
        var composition = Composition.Parse(candidate.HillFormula());
        return terminals is null ? composition.Elements.Count == 1 : terminals.Any(t => t.IsSameReducedComposition(composition));
    }

    /// <summary>Before any work: every terminal has a candidate and every candidate lies in the terminals' span.</summary>
    private static void CheckHullCanBeBuilt(StudySettings settings, List<(string Name, Structure Structure)> candidates, IReadOnlyList<Composition>? terminals)
    {
        var entries = candidates.Select(c => new PhaseEntry(c.Name, Composition.Parse(c.Structure.HillFormula()), 0, c.Structure.VolumeA3)).ToArray();
        PhaseDiagram probe;
        try
        {
            probe = new PhaseDiagram(entries, 0, terminals);
        }
        catch (ArgumentException ex)
        {
            throw new InvalidDataException($"{settings.Candidates}: {ex.Message}", ex);
        }

        if (probe.Excluded.Count > 0)
        {
            throw new InvalidDataException($"{settings.Candidates}: {string.Join("; ", probe.Excluded.Select(x => $"{x.Entry.Name} ({x.Entry.Composition.Formula}): {x.Reason}"))}. Every candidate must lie within the span of the terminals ({string.Join(", ", settings.Terminals)}).");
        }
    }

    private static string Existing(string path, string key) =>
        File.Exists(path) ? path : throw new FileNotFoundException($"{key}: file '{path}' not found.", path);

    /// <summary>An <see cref="IProgress{T}"/> that reports on the calling thread (no synchronisation context hop).</summary>
    private sealed class SyncProgress<T>(Action<T> action) : IProgress<T>
    {
        public void Report(T value) => action(value);
    }
}
