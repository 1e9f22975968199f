using System.CommandLine;
using System.Globalization;
using Gpff.Regression;

namespace Gpff.Cli.Commands;

/// <summary><c>gpff cv</c>: K-fold cross-validation over structures (stratified by composition) of a training recipe.</summary>
public sealed class CrossValidateCommand : ICommand
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Default number of folds.</summary>
    internal const int DefaultFolds = 4;

    /// <inheritdoc/>
    public string Name => "cv";

    /// <inheritdoc/>
    public string Summary => "cross-validate a training recipe over structures (errors and σ calibration on unseen structures)";

    /// <inheritdoc/>
    public string Description => """
        Splits the frames of DATA into K folds, stratified by composition (the j-th frame of each reduced
        formula goes to fold j mod K), trains a force field on all folds but one exactly as gpff train
        would (same options and defaults), predicts the left-out fold, and reports the errors of every
        frame predicted by a model that never saw it, per composition (energy meV/atom, force meV/Å,
        stress GPa), the hyperparameters of each fold, and how the calibrated standard deviations did:
        rms(error/σ) and the fraction of errors within 1σ, for the latent σ and for the σ of a noisy DFT
        label, for energies and force components.
        """;

    /// <inheritdoc/>
    public string ArgumentsName => "DATA.extxyz";

    /// <inheritdoc/>
    public string ArgumentsDescription => "labelled structures (extended XYZ: energy eV, forces eV/Å, stress eV/Å³)";

    /// <inheritdoc/>
    public IReadOnlyList<Option> Options =>
    [
        Declare.Whole("folds", "K", "number of folds (at least 2)", DefaultFolds, 2, 1000),
        .. TrainCommand.RecipeDeclarations(),
        UncertaintyArguments.Prior(),
        .. B2Options.Declarations(),
    ];

    /// <inheritdoc/>
    public string Conventions => TrainCommand.RecipeConventions;

    /// <inheritdoc/>
    public int Run(ParsedArguments args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        int folds = args.GetInt(DefaultFolds, 2, 1000, "folds");
        double rc2 = args.GetDouble(ForceFieldSettings.DefaultPairCutoffA, "cutoff-2");
        double rc3 = args.GetDouble(ForceFieldSettings.DefaultTripletCutoffA, "cutoff-3");
        var hyper = args.Get("hyperparameters");
        bool fit = args.Has("fit");
        bool pairGroups = args.Has("pair-groups");
        int maxIterations = args.GetInt(HyperparameterFitOptions.DefaultMaxIterations, 1, 100_000, "max-iterations");
        var bounds = TrainCommand.ParseBounds(args.Get("bounds"));
        var labels = TrainCommand.ParseLabels(args.Get("labels"));
        int threads = args.GetInt(Environment.ProcessorCount, 1, 4096, "threads");
        var fitOptions = FitArguments.Parse(args, new HyperparameterFitOptions { MaxIterations = maxIterations, Bounds = bounds });
        var referencePrior = UncertaintyArguments.ParsePrior(args);
        var kernelOptions = B2Options.Read(args, fit);
        args.RejectUnknown();
        if (args.Positional.Count != 1)
        {
            throw new UsageException("expected one data file (gpff cv --help).");
        }

        var settings = TrainCommand.ParseSettings(hyper, rc2, rc3, labels);
        string dataPath = args.Positional[0];
        var frames = Inputs.ReadFrames(dataPath).ToList();
        if (frames.Count == 0)
        {
            throw new InvalidDataException($"{dataPath} holds no frames.");
        }

        CrossValidation.CheckFolds(frames, folds);
        settings = kernelOptions.Apply(settings, frames);
        if (pairGroups)
        {
            settings = settings.WithPerPairGroups(frames.SelectMany(f => f.AtomicNumbers.ToArray()));
        }

        TrainCommand.CheckBoundNames(bounds, settings);

        string recipe = fit
            ? $"--fit, objective {FitArguments.Word(fitOptions.Objective)}, length prior {(fitOptions.LengthScalePrior is { } p ? string.Create(Inv, $"{p.MedianA:G}:{p.LogStandardDeviation:G}") : "none")}{(pairGroups ? ", per-pair groups" : "")}"
            : "fixed hyperparameters";
        recipe = $"kernel {ForceFieldSettings.KernelKindName(settings.Kernel)}; " + recipe;
        recipe += referencePrior is null ? "; fixed reference energies" : string.Create(Inv, $"; reference prior τ = {referencePrior.StandardDeviationEvPerAtom:G} eV/atom");
        stderr.WriteLine(string.Create(Inv, $"gpff cv: {frames.Count} frames from {dataPath}, {folds} folds stratified by composition; {recipe}"));
        var result = CliProgress.Run(stderr, progress => CrossValidation.Run(frames, settings, folds, fit, fitOptions, new GaussianProcessOptions { MaxDegreeOfParallelism = Math.Max(1, threads), ReferenceEnergyPrior = referencePrior }, progress, cancellationToken));

        stdout.WriteLine(string.Create(Inv, $"cross-validation of {dataPath}: {frames.Count} frames, {folds} folds stratified by composition; {recipe}"));
        stdout.WriteLine("hyperparameters per fold:");
        for (int k = 0; k < result.FoldHyperparameters.Count; k++)
        {
            stdout.WriteLine(string.Create(Inv, $"  fold {k + 1}: {result.FoldHyperparameters[k]}"));
        }

        stdout.WriteLine("errors on unseen structures (each predicted by the fold model that left it out):");
        foreach (var r in result.Errors)
        {
            stdout.WriteLine("  " + r);
        }

        stdout.WriteLine("calibration on unseen structures (σ calibrated on each fold's leave-one-structure-out errors):");
        foreach (var (name, list) in new[] { ("latent σ", result.LatentCalibration), ("label σ", result.LabelCalibration) })
        {
            foreach (var c in list)
            {
                stdout.WriteLine($"  {name,-9} {c}");
            }
        }

        return 0;
    }
}
