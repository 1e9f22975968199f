using System.Diagnostics;
using System.Globalization;
using Gpff.IO;
using Gpff.Regression;

namespace Gpff.Benchmarks;

/// <summary>
/// The comparison behind the default of <c>gpff train --fit</c> (issue 13; docs/DESIGN.md, "Hyperparameter
/// objectives"): for each recipe (kernel and fit objective) and each K, the full GP's K-fold
/// cross-validation over structures, stratified by composition (<see cref="CrossValidation.Run"/>, exactly
/// what <c>gpff cv --fit</c> runs): hyperparameters refitted and σ calibrated on every training fold, every
/// frame predicted once by a model that never saw it, reference-energy prior τ = 1 eV/atom. Prints one
/// row per recipe and K: energy MAE overall and per composition (meV/atom), force MAE (meV/Å), stress
/// MAE (GPa) and the held-out calibration of the σ of a noisy DFT label (rms(error/σ) for energies and
/// force components, fraction of force errors within 1σ).
/// Run: dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- fit-accuracy [DATA] [FOLDS] [RECIPES] [THREADS]
/// (FOLDS e.g. "4,6"; RECIPES e.g. "2+3:loso,b2+2+3:loso,b2+2+3:likelihood"; defaults data/barho-train.extxyz,
/// 4,6, those three, 2 threads). A full GP b2+2+3 fold takes minutes on a shared 2-core machine.
/// </summary>
public static class FitAccuracy
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Runs the cross-validations and prints the table.</summary>
    /// <param name="args">Optional data file, comma-separated fold counts, comma-separated KERNEL:OBJECTIVE recipes, threads.</param>
    public static void Run(string[] args)
    {
        string data = args.Length > 0 ? args[0] : Path.Combine("data", "barho-train.extxyz");
        int[] foldCounts = (args.Length > 1 ? args[1] : "4,6").Split(',').Select(s => int.Parse(s, Inv)).ToArray();
        string[] recipes = (args.Length > 2 ? args[2] : "2+3:loso,b2+2+3:loso,b2+2+3:likelihood").Split(',');
        int threads = args.Length > 3 ? int.Parse(args[3], Inv) : 2;
        var frames = ExtXyz.Read(data).ToList();
        Console.WriteLine($"{frames.Count} frames from {data}; full GP, hyperparameters refitted on every training fold, reference prior τ = {ReferenceEnergyPrior.DefaultStandardDeviationEvPerAtom} eV/atom");
        Console.WriteLine("recipe                  K   E MAE  worst composition     F MAE  stress  rms(e/σ) E, F  F within 1σ   seconds");
        foreach (string recipe in recipes)
        {
            var parts = recipe.Split(':');
            var settings = new ForceFieldSettings { Kernel = ForceFieldSettings.ParseKernelKind(parts[0]) }.WithSpeciesOf(frames);
            var objective = parts.Length > 1 && parts[1] == "likelihood" ? HyperparameterObjective.MarginalLikelihood : HyperparameterObjective.LeaveOneStructureOut;
            foreach (int k in foldCounts)
            {
                var clock = Stopwatch.StartNew();
                var cv = CrossValidation.Run(frames, settings, k, fit: true, new HyperparameterFitOptions { Objective = objective },
                    new GaussianProcessOptions { MaxDegreeOfParallelism = threads, ReferenceEnergyPrior = new ReferenceEnergyPrior(ReferenceEnergyPrior.DefaultStandardDeviationEvPerAtom) },
                    new Progress<string>(line => Console.Error.WriteLine($"{recipe} K={k}: {line}")));
                var all = cv.Errors[^1];
                var worst = cv.Errors.Take(cv.Errors.Count - 1).MaxBy(e => e.EnergyMaeMevPerAtom)!;
                var e = cv.LabelCalibration.FirstOrDefault(c => c.Kind == LabelKinds.Energy);
                var f = cv.LabelCalibration.FirstOrDefault(c => c.Kind == LabelKinds.Forces);
                Console.WriteLine(string.Create(Inv,
                    $"{recipe,-22} {k,2} {all.EnergyMaeMevPerAtom,7:F2}  {worst.EnergyMaeMevPerAtom,6:F2} {worst.Composition,-10} {all.ForceMaeMevPerA,7:F1} {all.StressMaeGpa,7:F3}  {e?.RmsZ,6:F2} {f?.RmsZ,6:F2}  {f?.WithinOneSigma,9:P1} {clock.Elapsed.TotalSeconds,9:F0}"));
                foreach (var r in cv.Errors)
                {
                    Console.WriteLine("    " + r);
                }

                for (int i = 0; i < cv.FoldHyperparameters.Count; i++)
                {
                    Console.WriteLine($"    fold {i + 1}: {cv.FoldHyperparameters[i]}");
                }
            }
        }
    }
}
