using System.Diagnostics;
using System.Globalization;
using Gpff.Descriptors;
using Gpff.IO;
using Gpff.Kernels;
using Gpff.Regression;

namespace Gpff.Benchmarks;

/// <summary>
/// Accuracy of the B2 kernel (issue 16) cross-validated over structures: K folds of a labelled extxyz
/// file (frame i in fold i mod K; default data/barho-train.extxyz, 6 folds), for each fold a sparse GP with
/// every training environment as an inducing point (as FLARE++'s table), hyperparameters and noises fitted
/// by the sparse marginal likelihood on the training folds only, errors on the held-out fold.
/// Kernels: "2+3" (ForceFieldSettings defaults), "b2" and "b2+2+3" (n_max, l_max, r_c as given).
/// Prints energy MAE (meV/atom, overall and per composition), force MAE (meV/Å) and stress MAE (GPa).
/// Run: dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- b2-accuracy [DATA] [FOLDS] [KERNELS] [NMAX] [LMAX] [CUTOFF] [TEST]
/// (TEST: an extra labelled file predicted by models trained on all of DATA).
/// </summary>
public static class B2Accuracy
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Runs the cross-validation and prints the table.</summary>
    /// <param name="args">Optional data file, folds, comma-separated kernels, n_max, l_max, cutoff, test file.</param>
    public static void Run(string[] args)
    {
        string data = args.Length > 0 ? args[0] : Path.Combine("data", "barho-train.extxyz");
        int folds = args.Length > 1 ? int.Parse(args[1], Inv) : 6;
        string[] kernels = (args.Length > 2 ? args[2] : "2+3,b2,b2+2+3").Split(',');
        int nmax = args.Length > 3 ? int.Parse(args[3], Inv) : B2Settings.DefaultRadialCount;
        int lmax = args.Length > 4 ? int.Parse(args[4], Inv) : B2Settings.DefaultAngularMax;
        double cutoff = args.Length > 5 ? double.Parse(args[5], Inv) : ForceFieldSettings.DefaultB2CutoffA;
        string? testFile = args.Length > 6 ? args[6] : null;
        var frames = ExtXyz.Read(data).ToList();
        var species = frames.SelectMany(f => f.AtomicNumbers.ToArray()).Distinct().Order().ToArray();
        Console.WriteLine($"{frames.Count} frames from {data}; {folds} folds; B2 n_max {nmax}, l_max {lmax}, r_c {cutoff} Å; species {string.Join(" ", species)}");
        foreach (string name in kernels)
        {
            var settings = new ForceFieldSettings
            {
                Kernel = ForceFieldSettings.ParseKernelKind(name),
                B2RadialCount = nmax,
                B2AngularMax = lmax,
                B2CutoffA = cutoff,
                B2Species = species,
            };
            var errors = new List<(Structure, GpPrediction)>();
            var clock = Stopwatch.StartNew();
            for (int f = 0; f < folds; f++)
            {
                var train = frames.Where((_, i) => i % folds != f).ToList();
                var test = frames.Where((_, i) => i % folds == f).ToList();
                var sparse = TrainFitted(settings, train, out var fit);
                Console.Error.WriteLine($"{name} fold {f}: {string.Join(", ", fit.Kernel.HyperparameterNames.Select((n, i) => $"{n}={fit.Kernel.Hyperparameters[i].ToString("G4", Inv)}"))}, {fit.Noise}; {fit.Optimization}");
                errors.AddRange(test.Select(s => (s, sparse.Predict(s, uncertainty: false))));
            }

            Console.WriteLine($"{name}: cross-validated ({clock.Elapsed.TotalSeconds:F0} s)");
            foreach (var r in ErrorSummary.Compute(errors))
            {
                Console.WriteLine("  " + r);
            }

            if (testFile is not null)
            {
                var sparse = TrainFitted(settings, frames, out _);
                Console.WriteLine($"{name}: trained on all of {data}, predicting {testFile}");
                foreach (var r in ErrorSummary.Compute(ExtXyz.Read(testFile).Select(s => (s, sparse.Predict(s, uncertainty: false)))))
                {
                    Console.WriteLine("  " + r);
                }
            }
        }
    }

    private static SparseGaussianProcess TrainFitted(ForceFieldSettings settings, List<Structure> train, out HyperparameterFitResult fit)
    {
        var kernel = settings.BuildKernel();
        var inducing = train.SelectMany(s => EnvironmentCluster.FromStructure(s, Enumerable.Range(0, s.AtomCount).ToArray(), kernel.CutoffA)).ToList();
        var sparse = new SparseGaussianProcess(kernel, settings.Noise, inducing);
        sparse.Train(train);
        fit = HyperparameterFit.Fit(sparse, train, LabelKinds.All, new HyperparameterFitOptions());
        return sparse;
    }
}
