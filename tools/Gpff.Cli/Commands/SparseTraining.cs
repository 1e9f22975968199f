using System.CommandLine;
using System.Globalization;
using Gpff.IO;
using Gpff.Regression;

namespace Gpff.Cli.Commands;

/// <summary>The sparse branch of <c>gpff train --sparse M [--select random|variance|kmeans] [--seed N]</c>.</summary>
internal static class SparseTraining
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The sparse-GP options of <c>gpff train</c>.</summary>
    public static Option[] Declarations() =>
    [
        Declare.Whole("sparse", "M",
            "train a sparse GP (projected process, DTC) with M inducing local environments chosen among the training atoms: memory O(M²) whatever the data size. " +
            "Its standard deviations are the latent DTC ones, uncalibrated (no LOSO step). " +
            $"--fit without --objective fits it by {FitArguments.Word(SparseForceField.DefaultFitObjective)}", null, 1, 1_000_000),
        Declare.OneOf("select",
            $"how --sparse chooses them: {InducingSelection.Name(InducingSelectionMethod.Variance)} (greedy largest predictive variance), {InducingSelection.Name(InducingSelectionMethod.Random)}, " +
            $"{InducingSelection.Name(InducingSelectionMethod.KMeansPlusPlus)} (k-means++ in the kernel's feature space)",
            InducingSelection.Name(InducingSelectionMethod.Variance),
            InducingSelection.Name(InducingSelectionMethod.Variance), InducingSelection.Name(InducingSelectionMethod.Random), InducingSelection.Name(InducingSelectionMethod.KMeansPlusPlus)),
        Declare.Whole("seed", "N", "seed of the random and kmeans selections of --sparse", 0, 0, int.MaxValue),
    ];

    /// <summary>Trains, saves and reports a sparse force field.</summary>
    public static int Run(ForceFieldSettings settings, List<Structure> train, List<Structure> held, string? testFile, double holdoutFraction, string dataPath, string output,
        int inducing, InducingSelectionMethod selection, int seed, bool fit, HyperparameterFitOptions fitOptions, int threads, TextWriter stdout, TextWriter stderr, CancellationToken ct,
        Func<SparseForceField, IProgress<string>, SparseTrainingReport>? trainer = null)
    {
        int atoms = train.Sum(s => s.AtomCount);
        if (inducing > atoms)
        {
            throw new UsageException($"--sparse {inducing}: the training frames have only {atoms} atoms to choose inducing environments from.");
        }

        var ff = SparseForceField.Create(settings, new SparseGaussianProcessOptions { MaxDegreeOfParallelism = Math.Max(1, threads) });
        var report = CliProgress.Run(stderr, progress => trainer is not null ? trainer(ff, progress) : ff.Train(train, inducing, selection, seed, fit, fitOptions, progress, ct));
        ff.Save(output, new Dictionary<string, string> { ["training_file"] = Path.GetFileName(dataPath), ["command"] = "gpff train --sparse" });
        var model = ff.Model!;
        stdout.WriteLine(string.Create(Inv, $"trained a sparse GP on {report.Structures} structures, {report.Labels} labels, {report.InducingCount} inducing environments ({InducingSelection.Name(selection)}) in {report.Seconds:F1} s; model written to {output}"));
        stdout.WriteLine("hyperparameters:");
        var k = model.Kernel;
        for (int i = 0; i < k.HyperparameterNames.Count; i++)
        {
            stdout.WriteLine(string.Create(Inv, $"  {k.HyperparameterNames[i],-14} {k.Hyperparameters[i]:G6}"));
        }

        var n = model.Noise;
        stdout.WriteLine(string.Create(Inv, $"  {NoiseLevels.EnergyName,-14} {n.EnergyEvPerAtom:G6} eV/atom\n  {NoiseLevels.ForceName,-14} {n.ForceEvPerA:G6} eV/Å\n  {NoiseLevels.StressName,-14} {n.StressEvPerA3:G6} eV/Å³"));
        stdout.WriteLine(string.Create(Inv, $"  cutoffs r_c2 = {settings.PairCutoffA} Å, r_c3 = {settings.TripletCutoffA} Å"));
        if (report.Fit is { } f)
        {
            stdout.WriteLine(string.Create(Inv, $"  fit: {f.Optimization}; sparse {f.ObjectiveName} {f.InitialLogLikelihood:F2} → {f.LogLikelihood:F2}"));
        }

        if (report.InducingJitter > 0)
        {
            stdout.WriteLine(string.Create(Inv, $"  note: K_uu needed a jitter of {report.InducingJitter:G3} of its mean diagonal (near-duplicate inducing environments)"));
        }

        stdout.WriteLine("training residuals:");
        foreach (var r in report.Residuals)
        {
            stdout.WriteLine("  " + r);
        }

        if (held.Count > 0)
        {
            stderr.WriteLine($"predicting {held.Count} held-out frames...");
            var errors = ErrorSummary.Compute(held.Select(h => (h, ff.Predict(h, uncertainty: false, ct))));
            stdout.WriteLine(testFile is null ? $"held-out errors ({held.Count} frames, fraction {holdoutFraction.ToString(Inv)} of each composition):" : $"errors on {testFile}:");
            foreach (var r in errors)
            {
                stdout.WriteLine("  " + r);
            }
        }

        return 0;
    }
}
