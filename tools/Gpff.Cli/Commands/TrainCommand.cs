using System.CommandLine;
using System.Globalization;
using Gpff.IO;
using Gpff.Regression;

namespace Gpff.Cli.Commands;

/// <summary><c>gpff train</c>: trains a GP force field on an extended XYZ file and saves it.</summary>
public sealed class TrainCommand : ICommand
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <inheritdoc/>
    public string Name => "train";

    /// <inheritdoc/>
    public string Summary => "train a GP force field on labelled structures (extxyz) and save it";

    /// <inheritdoc/>
    public string Description => """
        Trains a Gaussian-process force field (by default FLARE's 2-body + 3-body kernels) on every frame of DATA
        (energies, forces and stresses present in the file, as selected by --labels) and writes the model.
        Prints the hyperparameters, the training residuals, the leave-one-structure-out errors and the held-out
        errors per composition (energy meV/atom, force meV/Å, stress GPa), and the uncertainty calibration fitted
        to the leave-one-structure-out errors. Progress goes to stderr.
        """;

    /// <inheritdoc/>
    public string ArgumentsName => "DATA.extxyz";

    /// <inheritdoc/>
    public string ArgumentsDescription => "labelled training structures (extended XYZ: energy eV, forces eV/Å, stress eV/Å³)";

    /// <inheritdoc/>
    public IReadOnlyList<Option> Options =>
    [
        Declare.Text("o|output", "MODEL", "where the trained model is written (required)"),
        .. RecipeDeclarations(),
        Declare.Number("holdout", "FRACTION", "keep this fraction of the frames of each composition out of training (every k-th frame, k = round(1/FRACTION)) and report the errors on them", 0),
        Declare.Text("test", "TEST.extxyz", "report errors on the labelled frames of this file"),
        Declare.Text("plots", "DIR", "write diagnostic figures to the folder DIR (PNG and SVG): parity-energy, parity-forces, parity-stress (leave-one-structure-out " +
            "predictions against the labels, coloured by composition) and calibration (observed against expected fraction of those errors within kσ, for the σ chosen by --sigma)"),
        UncertaintyArguments.Prior(),
        UncertaintyArguments.Kind(),
        .. SparseTraining.Declarations(),
        .. B2Options.Declarations(),
        SlurmTraining.Declaration(),
    ];

    /// <inheritdoc/>
    public string Conventions => RecipeConventions + "\n\n" + SlurmTraining.Conventions;

    /// <summary>The options of a training recipe, shared by <c>gpff train</c> and <c>gpff cv</c>, with their defaults from the library.</summary>
    internal static Option[] RecipeDeclarations() =>
    [
        Declare.Number("cutoff-2", "Å", string.Create(Inv, $"2-body cutoff r_c2 in Å (at most {MaxCutoffA} Å)"), ForceFieldSettings.DefaultPairCutoffA),
        Declare.Number("cutoff-3", "Å", "3-body cutoff r_c3 in Å, at most r_c2 (0: 2-body only)", ForceFieldSettings.DefaultTripletCutoffA),
        Declare.Text("hyperparameters", "name=value,...", "comma-separated name=value pairs (names, units and defaults under Conventions); any not given keep their defaults. " +
            "Without --fit they are used exactly as given, so a published model can be reproduced; with --fit they are the starting point"),
        Declare.Flag("fit", "fit hyperparameters and noises (the objective of --objective), using all selected label kinds (energies, forces and stresses)"),
        .. FitArguments.Declarations(),
        Declare.Whole("max-iterations", "N", "limit of the fit", HyperparameterFitOptions.DefaultMaxIterations, 1, 100_000),
        Declare.Text("bounds", "name=lo:hi,...", "bounds of the fit (defaults under Conventions)"),
        Declare.Text("labels", "energy,forces,stress", "label kinds to train on", "energy,forces,stress"),
        Declare.Whole("threads", "N", "threads for covariance assembly (default: all cores)", null, 1, 4096),
    ];

    /// <summary>
    /// The conventions of the hyperparameters and noises (names, units, defaults, FLARE's per-structure energy noise)
    /// and the default bounds of the fit, shared by <c>gpff train</c> and <c>gpff cv</c>. Every name and number comes from
    /// the library (ForceFieldSettings, NoiseLevels, HyperparameterFit), so the help cannot drift from what the code does.
    /// </summary>
    internal static string RecipeConventions
    {
        get
        {
            var d = new ForceFieldSettings();
            var h = d.BuildKernel().HyperparameterNames;   // sigma2, length2, sigma3, length3
            string B(string name)
            {
                var (lo, hi) = HyperparameterFit.DefaultBounds(name, FitArguments.DefaultObjective);
                static string N(double x) => x.ToString(x < 1e-3 ? "0.###e0" : "G", Inv);
                return $"{N(lo)}:{N(hi)}";
            }

            return string.Create(Inv, $"""
            Hyperparameters (--hyperparameters name=value,...; defaults):
              {h[0]}={d.Sigma2,-5:G} {h[2]}={d.Sigma3,-7:G} amplitudes σ₂, σ₃ in eV (kernel ∝ σ², as in FLARE)
              {h[1]}={d.Length2A,-4:G} {h[3]}={d.Length3A,-6:G} length scales ℓ₂, ℓ₃ in Å
              {Kernels.B2Kernel.SigmaName}={d.SigmaB2,-19:G} amplitude of the B2 kernel in eV (--kernel b2 or b2+2+3)
              {NoiseLevels.EnergyName}={d.Noise.EnergyEvPerAtom,-14:G} eV per ATOM: the noise of a total energy of N atoms is
                                          N × {NoiseLevels.EnergyName} (FLARE's energy noise is per structure: divide it by N)
              {NoiseLevels.ForceName}={d.Noise.ForceEvPerA,-15:G} eV/Å per component
              {NoiseLevels.StressName}={d.Noise.StressEvPerA3,-14:G} eV/Å³ per Voigt component
            The 3-body kernel sums over all six matchings of the two triangles, as FLARE's code does, so σ₃ means what
            it means in FLARE (a sum with the central atom held fixed would be 1/3 of it on total energies).
            Default bounds of --fit (--bounds name=lo:hi,...): sigma* {B(h[0])} eV, length* {B(h[1])} Å (lower bound
            {HyperparameterFit.DefaultBounds(h[1]).Lower.ToString(Inv)} Å with --objective {FitArguments.LikelihoodWord}), {NoiseLevels.EnergyName} {B(NoiseLevels.EnergyName)} eV/atom,
            {NoiseLevels.ForceName} {B(NoiseLevels.ForceName)} eV/Å, {NoiseLevels.StressName} {B(NoiseLevels.StressName)} eV/Å³.
            """);
        }
    }

    /// <inheritdoc/>
    public int Run(ParsedArguments args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        var output = args.Get("o", "output");
        double rc2 = args.GetDouble(ForceFieldSettings.DefaultPairCutoffA, "cutoff-2");
        double rc3 = args.GetDouble(ForceFieldSettings.DefaultTripletCutoffA, "cutoff-3");
        var hyper = args.Get("hyperparameters");
        bool fit = args.Has("fit");
        int maxIterations = args.GetInt(HyperparameterFitOptions.DefaultMaxIterations, 1, 100_000, "max-iterations");
        var bounds = ParseBounds(args.Get("bounds"));
        bool pairGroups = args.Has("pair-groups");
        var fitOptions = FitArguments.Parse(args, new HyperparameterFitOptions { MaxIterations = maxIterations, Bounds = bounds });
        var sigmaKind = UncertaintyArguments.ParseKind(args);
        var referencePrior = UncertaintyArguments.ParsePrior(args);
        var plots = args.Get("plots");
        var labelsText = args.Get("labels");
        double holdout = args.GetDouble(0, "holdout");
        var testFile = args.Get("test");
        int threads = args.GetInt(Environment.ProcessorCount, 1, 4096, "threads");
        int sparse = args.GetInt(0, 1, 1_000_000, "sparse");
        var selectText = args.Get("select");
        int seed = args.GetInt(0, 0, int.MaxValue, "seed");
        var kernelOptions = B2Options.Read(args, fit);
        var slurm = SlurmTraining.Option(args);
        args.RejectUnknown();
        SlurmTraining.Check(slurm, sparse);
        var selection = selectText is null ? InducingSelectionMethod.Variance : InducingSelection.Parse(selectText);
        if (sparse == 0 && (selectText is not null || args.Has("seed")))
        {
            throw new UsageException("--select and --seed choose the inducing environments of --sparse M; give --sparse too.");
        }
        if (args.Positional.Count != 1)
        {
            throw new UsageException("expected one training file (gpff train --help).");
        }

        if (output is null)
        {
            throw new UsageException("-o MODEL is required: where to write the trained model.");
        }

        if (holdout < 0 || holdout >= 1)
        {
            throw new UsageException($"--holdout must be a fraction in [0, 1), got {holdout.ToString(Inv)}.");
        }

        var settings = ParseSettings(hyper, rc2, rc3, ParseLabels(labelsText));
        string dataPath = args.Positional[0];

        // Everything is checked before the work starts: the output, every frame, the test frames' species.
        UsageException.CheckOutput(output, [dataPath, testFile], "-o");
        if (plots is not null)
        {
            TrainingPlots.Check(plots);
        }

        var frames = Inputs.ReadFrames(dataPath).ToList();
        if (frames.Count == 0)
        {
            throw new InvalidDataException($"{dataPath} holds no frames.");
        }

        for (int i = 0; i < frames.Count; i++)
        {
            var fr = frames[i];
            bool any = (settings.Labels.HasFlag(LabelKinds.Energy) && fr.EnergyEv is not null)
                || (settings.Labels.HasFlag(LabelKinds.Forces) && fr.ForcesEvPerA is not null)
                || (settings.Labels.HasFlag(LabelKinds.Stress) && fr.StressEvPerA3 is not null && fr.Pbc.AllPeriodic);
            if (!any)
            {
                throw new InvalidDataException($"{dataPath}, frame {i + 1}: no label of the kinds selected ({settings.Labels}); energy {(fr.EnergyEv is null ? "absent" : "present")}, forces {(fr.ForcesEvPerA is null ? "absent" : "present")}, stress {(fr.StressEvPerA3 is null ? "absent" : "present")}.");
            }
        }

        if (pairGroups)
        {
            settings = settings.WithPerPairGroups(frames.SelectMany(f => f.AtomicNumbers.ToArray()));
        }

        var (train, held) = Split(frames, holdout);
        settings = kernelOptions.Apply(settings, train);
        CheckBoundNames(bounds, settings);
        // The sparse GP's fit has its own default objective (the one home: SparseForceField.DefaultFitObjective).
        var objective = sparse > 0 && !args.Has("objective") ? SparseForceField.DefaultFitObjective : fitOptions.Objective;
        if (fit && objective == HyperparameterObjective.LeaveOneStructureOut && train.Count < 2)
        {
            throw new UsageException($"--fit with the leave-one-structure-out objective needs at least two training frames; there is {train.Count}. Use --objective likelihood or add frames.");
        }

        var trainedSpecies = train.SelectMany(f => f.AtomicNumbers.ToArray()).ToHashSet();
        if (testFile is not null)
        {
            held = Inputs.ReadFrames(testFile).ToList();
            for (int i = 0; i < held.Count; i++)
            {
                Inputs.CheckSpecies(testFile, i, held[i], trainedSpecies, "the training data");
            }
        }

        if (sparse > 0)
        {
            // The full GP's LOSO reports, plots and reference prior do not exist for a sparse GP, and a sharded fit
            // evaluates the likelihood only.
            if (fit && slurm is not null && objective != HyperparameterObjective.MarginalLikelihood)
            {
                throw new UsageException($"--slurm fits the sparse GP by its marginal likelihood only; give --objective {FitArguments.LikelihoodWord}, or drop --slurm to fit by --objective {FitArguments.Word(objective)}.");
            }

            foreach (var full in new[] { "plots", "reference-prior", "sigma" })
            {
                if (args.Has(full))
                {
                    throw new UsageException($"--{full} applies to the full GP only; it is not available with --sparse.");
                }
            }

            var sparseFit = fitOptions with { Objective = objective };
            return SparseTraining.Run(settings, train, held, testFile, holdout, dataPath, output, sparse, selection, seed, fit,
                sparseFit, threads, stdout, stderr, cancellationToken,
                slurm is null ? null : SlurmTraining.Trainer(slurm, output, train, sparse, selection, seed, fit, sparseFit, cancellationToken));
        }

        stderr.WriteLine(string.Create(Inv, $"gpff train: {frames.Count} frames from {dataPath}; training on {train.Count}, testing on {held.Count}; linear algebra: {Regression.LinearAlgebra.LinearAlgebraBackend.Description}"));
        var ff = ForceField.Create(settings, new GaussianProcessOptions { MaxDegreeOfParallelism = Math.Max(1, threads), ReferenceEnergyPrior = referencePrior, Uncertainty = sigmaKind });
        var report = CliProgress.Run(stderr, progress => ff.Train(train, fit, fitOptions, progress, cancellationToken));
        ff.Save(output, new Dictionary<string, string> { ["training_file"] = Path.GetFileName(dataPath), ["command"] = "gpff train" });

        stdout.WriteLine(string.Create(Inv, $"trained on {report.Structures} structures, {report.Labels} labels in {report.Seconds:F1} s; model written to {output}"));
        stdout.WriteLine("hyperparameters:");
        var k = ff.Model.Kernel;
        for (int i = 0; i < k.HyperparameterNames.Count; i++)
        {
            stdout.WriteLine(string.Create(Inv, $"  {k.HyperparameterNames[i],-14} {k.Hyperparameters[i]:G6}"));
        }

        var n = ff.Model.Noise;
        stdout.WriteLine(string.Create(Inv, $"  {NoiseLevels.EnergyName,-14} {n.EnergyEvPerAtom:G6} eV/atom\n  {NoiseLevels.ForceName,-14} {n.ForceEvPerA:G6} eV/Å\n  {NoiseLevels.StressName,-14} {n.StressEvPerA3:G6} eV/Å³"));
        stdout.WriteLine(string.Create(Inv, $"  cutoffs r_c2 = {settings.PairCutoffA} Å, r_c3 = {settings.TripletCutoffA} Å"));
        if (report.Fit is { } f)
        {
            stdout.WriteLine(string.Create(Inv, $"  fit: {f.Optimization}; {f.ObjectiveName} {f.InitialLogLikelihood:F2} → {f.LogLikelihood:F2}"));
        }

        if (report.JitterAdded > 0)
        {
            stdout.WriteLine(string.Create(Inv, $"  note: a jitter of {report.JitterAdded:G3} was added to the covariance diagonal to factor it"));
        }

        if (ff.Model.ReferenceEnergies is { IsRankDeficient: true } re)
        {
            stdout.WriteLine($"  note: the training compositions determine only {re.Rank} of {re.Species.Count} species reference energies; energies of compositions outside their span are extrapolations");
        }

        stdout.WriteLine("training residuals:");
        foreach (var r in report.Residuals)
        {
            stdout.WriteLine("  " + r);
        }

        if (report.LeaveOneOut is { } loso)
        {
            stdout.WriteLine("leave-one-structure-out errors (each structure predicted by the model trained on all the others, same hyperparameters and reference energies):");
            foreach (var r in loso)
            {
                stdout.WriteLine("  " + r);
            }
        }

        if (report.Calibration is { } checks)
        {
            stdout.WriteLine("uncertainty calibration from the leave-one-structure-out errors (σ of a noisy DFT label: latent and noise):");
            foreach (var c in checks)
            {
                string kind = c.Kind switch { LabelKinds.Energy => "energy", LabelKinds.Forces => "forces", _ => "stress" };
                stdout.WriteLine(string.Create(Inv, $"  {kind,-7} scale s = {c.Scale,6:F3}   rms(error/σ) {c.RmsZBefore,6:F3} → {c.RmsZAfter,5:F3}   within 1σ {c.WithinOneSigmaBefore,6:P1} → {c.WithinOneSigmaAfter,6:P1}   ({c.Labels} labels; {c.WithinOneLatentSigmaAfter:P1} within the reported latent σ·s)"));
            }

            stdout.WriteLine(string.Create(Inv, $"  reported standard deviations (--sigma {UncertaintyArguments.Word(sigmaKind)}): {UncertaintyArguments.Describe(sigmaKind)}; LOSO and calibration took {report.CalibrationSeconds:F2} s of {report.Seconds:F1} s"));
        }

        if (held.Count > 0)
        {
            stderr.WriteLine($"predicting {held.Count} held-out frames...");
            var predictions = held.Select(h => (h, ff.Predict(h, uncertainty: true, cancellationToken))).ToList();
            var errors = ErrorSummary.Compute(predictions);
            stdout.WriteLine(testFile is null ? $"held-out errors ({held.Count} frames, every {HoldoutStride(holdout)}th frame of each composition):" : $"errors on {testFile}:");
            foreach (var r in errors)
            {
                stdout.WriteLine("  " + r);
            }

            stdout.WriteLine($"  standard deviations on them ({UncertaintyArguments.Word(sigmaKind)}: {UncertaintyArguments.Describe(sigmaKind)}):");
            foreach (var c in HeldOutCalibration.Compute(predictions))
            {
                stdout.WriteLine("    " + c);
            }
        }

        if (plots is not null)
        {
            stderr.WriteLine($"writing diagnostic plots to {plots}...");
            var written = TrainingPlots.Write(ff.Model, sigmaKind, plots, cancellationToken);
            stdout.WriteLine($"plots: {written.Count} files written to {plots} ({string.Join(", ", TrainingPlots.Names)}; .png and .svg)");
        }

        return 0;
    }

    /// <summary>The largest cutoff accepted, 30 Å: far beyond any interatomic force field's reach, and the neighbour lists grow as its cube.</summary>
    internal const double MaxCutoffA = 30;

    private static int HoldoutStride(double fraction) => fraction > 0 ? Math.Max(2, (int)Math.Round(1 / fraction)) : 0;

    /// <summary>Every k-th frame of each composition (by reduced formula) is held out.</summary>
    internal static (List<Structure> Train, List<Structure> Held) Split(List<Structure> frames, double fraction)
    {
        if (fraction <= 0)
        {
            return (frames, []);
        }

        int k = HoldoutStride(fraction);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        var train = new List<Structure>();
        var held = new List<Structure>();
        foreach (var f in frames)
        {
            string key = f.ReducedFormula();
            int c = seen.TryGetValue(key, out int v) ? v : 0;
            seen[key] = c + 1;
            (c % k == k - 1 ? held : train).Add(f);
        }

        if (train.Count == 0)
        {
            throw new UsageException("the hold-out leaves no frame to train on.");
        }

        return (train, held);
    }

    internal static Dictionary<string, (double Lower, double Upper)> ParseBounds(string? text)
    {
        var result = new Dictionary<string, (double, double)>(StringComparer.Ordinal);
        foreach (var part in (text ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = part.IndexOf('=');
            var range = eq > 0 ? part[(eq + 1)..].Split(':') : [];
            if (range.Length != 2
                || !double.TryParse(range[0], NumberStyles.Float, Inv, out double lo)
                || !double.TryParse(range[1], NumberStyles.Float, Inv, out double hi)
                || !(lo > 0) || !(hi >= lo))
            {
                throw new UsageException($"--bounds: '{part}' must read name=lower:upper with 0 < lower ≤ upper.");
            }

            result[part[..eq].Trim()] = (lo, hi);
        }

        return result;
    }

    /// <summary>--bounds may only name hyperparameters of the model being trained (its kernel's and the noises).</summary>
    internal static void CheckBoundNames(IReadOnlyDictionary<string, (double Lower, double Upper)> bounds, ForceFieldSettings settings)
    {
        var known = settings.BuildKernel().HyperparameterNames.Concat(NoiseLevels.Names).ToList();
        foreach (var name in bounds.Keys.Where(k => !known.Contains(k, StringComparer.Ordinal)))
        {
            throw new UsageException($"--bounds: '{name}' is not a hyperparameter of this model; known: {string.Join(", ", known)}.");
        }
    }

    internal static LabelKinds ParseLabels(string? text)
    {
        if (text is null)
        {
            return LabelKinds.All;
        }

        var kinds = LabelKinds.None;
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            kinds |= part switch
            {
                "energy" or "energies" => LabelKinds.Energy,
                "forces" or "force" => LabelKinds.Forces,
                "stress" or "stresses" => LabelKinds.Stress,
                _ => throw new UsageException($"--labels: unknown label kind '{part}'; use energy, forces and/or stress."),
            };
        }

        return kinds == LabelKinds.None ? throw new UsageException("--labels selects no label kind.") : kinds;
    }

    internal static ForceFieldSettings ParseSettings(string? text, double rc2, double rc3, LabelKinds labels)
    {
        var d = new ForceFieldSettings();
        var h = d.BuildKernel().HyperparameterNames;   // sigma2, length2, sigma3, length3: the kernels' own names
        var values = new Dictionary<string, double>(StringComparer.Ordinal)
        {
            [h[0]] = d.Sigma2, [h[1]] = d.Length2A, [h[2]] = d.Sigma3, [h[3]] = d.Length3A,
            [NoiseLevels.EnergyName] = d.Noise.EnergyEvPerAtom, [NoiseLevels.ForceName] = d.Noise.ForceEvPerA, [NoiseLevels.StressName] = d.Noise.StressEvPerA3,
            [Kernels.B2Kernel.SigmaName] = d.SigmaB2,
        };
        foreach (var part in (text ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = part.IndexOf('=');
            string name = eq > 0 ? part[..eq].Trim() : part;
            if (!values.ContainsKey(name))
            {
                throw new UsageException($"--hyperparameters: unknown name '{name}'; known: {string.Join(", ", values.Keys)}.");
            }

            if (eq < 0 || !double.TryParse(part[(eq + 1)..], NumberStyles.Float, Inv, out double v) || !(v > 0) || !double.IsFinite(v))
            {
                throw new UsageException($"--hyperparameters: '{part}' needs a positive number after '='.");
            }

            values[name] = v;
        }

        if (!(rc2 > 0) || rc3 < 0 || rc3 > rc2 || rc2 > MaxCutoffA)
        {
            throw new UsageException($"cutoffs must satisfy 0 ≤ r_c3 ≤ r_c2 and 0 < r_c2 ≤ {MaxCutoffA} Å; got r_c2 = {rc2.ToString(Inv)} Å, r_c3 = {rc3.ToString(Inv)} Å.");
        }

        return d with
        {
            PairCutoffA = rc2,
            TripletCutoffA = rc3,
            Sigma2 = values[h[0]],
            Length2A = values[h[1]],
            Sigma3 = values[h[2]],
            Length3A = values[h[3]],
            SigmaB2 = values[Kernels.B2Kernel.SigmaName],
            Noise = NoiseLevels.FromArray(NoiseLevels.Names.Select(name => values[name]).ToArray()),
            Labels = labels,
        };
    }
}
