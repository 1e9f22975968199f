using System.Globalization;
using Gpff.Descriptors;
using Gpff.IO;
using Gpff.Kernels;
using Gpff.Regression;

namespace Gpff.Benchmarks;

/// <summary>
/// Accuracy of the sparse GP against the full GP (issue 14), cross-validated over structures on a
/// labelled extxyz file (default data/barho-train.extxyz): K folds (frame i in fold i mod K), the facade's
/// default kernel (2+3-body) and starting values. Three sets of hyperparameters and noises, each fitted once
/// on all frames (the same for every fold, so that within a set only the model differs): the full GP's
/// default fit (<see cref="Gpff.Studies.StudySettings.DefaultFitObjective"/>, leave-one-structure-out), the
/// full GP's marginal-likelihood fit, and the sparse GP's own fits (every environment inducing) by its DTC marginal
/// likelihood and by its leave-one-structure-out log density. For each set and fold: the full GP, the sparse GP with every training environment
/// as an inducing point, and sparse GPs with fractions of them chosen by greedy variance (the curve error
/// versus M). Prints energy MAE (meV/atom), force MAE and RMSE (meV/Å) and stress MAE (GPa) over all
/// held-out frames, and each sparse row relative to the full GP at the same hyperparameters.
/// MAX_FIT_ITERATIONS 0: no fits, both models at the facade's default hyperparameters and noises (one set, minutes).
/// SETS (default all): a comma-separated subset of <c>full-loso</c>, <c>full-likelihood</c>, <c>sparse-likelihood</c>,
/// <c>sparse-loso</c>, the fits to run (each set is measured on its own, so a subset gives the same rows).
/// per-fold (fifth argument): each set is fitted on each fold's training frames instead of once on all frames (the held-out
/// frames never inform the hyperparameters; six times the fits). Per fold, the sparse sets are also fitted at half the
/// environments chosen by greedy variance at the starting hyperparameters (what <c>gpff train --sparse M --fit</c> does),
/// so that each sparse row is the model a user gets with that M; the full sets' sparse rows take the full GP's fit.
/// Run: dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- sparse-accuracy [DATA.extxyz] [FOLDS] [MAX_FIT_ITERATIONS] [SETS] [per-fold]
/// (paths relative to the repository root when run from it).
/// </summary>
public static class SparseAccuracy
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Runs the comparison and prints the table.</summary>
    /// <param name="args">Optional data file, number of folds, and the fits' iteration cap.</param>
    public static void Run(string[] args)
    {
        string data = args.Length > 0 ? args[0] : Path.Combine("data", "barho-train.extxyz");
        int folds = args.Length > 1 ? int.Parse(args[1], Inv) : 6;
        int maxIterations = args.Length > 2 ? int.Parse(args[2], Inv) : 60;
        string[] allSets = ["full-loso", "full-likelihood", "sparse-likelihood", "sparse-loso"];
        var chosen = args.Length > 3 ? args[3].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : allSets;
        if (chosen.FirstOrDefault(c => !allSets.Contains(c)) is { } unknown)
        {
            throw new ArgumentException($"sparse-accuracy: unknown set '{unknown}'; use a comma-separated subset of {string.Join(", ", allSets)}.");
        }

        bool perFold = args.Length > 4 && args[4] == "per-fold";
        if (args.Length > 4 && !perFold)
        {
            throw new ArgumentException($"sparse-accuracy: the fifth argument is per-fold or nothing, got '{args[4]}'.");
        }

        var frames = ExtXyz.Read(data).ToList();
        var settings = new ForceFieldSettings();
        var start = settings.BuildKernel();
        var startNoise = settings.Noise;
        var watch = System.Diagnostics.Stopwatch.StartNew();
        Console.WriteLine($"{frames.Count} frames from {data}; {start.Name}; {folds} folds; fits capped at {maxIterations} iterations");

        string Describe(IKernel k, NoiseLevels n) =>
            string.Join(", ", k.HyperparameterNames.Select((name, i) => $"{name}={k.Hyperparameters[i].ToString("G4", Inv)}")) + $", {n}";

        // Each set fits its hyperparameters on the frames it is given: all frames once (the default), or each fold's
        // training frames (PER_FOLD), so that the held-out frames never inform the hyperparameters.
        // A fit takes the training frames and, for the sparse fits, the inducing set to fit at (null: every environment).
        var sets = new List<(string Name, bool Sparse, Func<List<Structure>, List<EnvironmentCluster>?, (IKernel Kernel, NoiseLevels Noise)> Fit)>();
        if (maxIterations == 0)
        {
            // No fits: the facade's default hyperparameters and noises for both models (the cheap run).
            sets.Add(("facade defaults (no fit)", false, (_, _) => (start, startNoise)));
        }
        else
        {
            foreach (var name in chosen)
            {
                var objective = name.EndsWith("loso", StringComparison.Ordinal) ? HyperparameterObjective.LeaveOneStructureOut : HyperparameterObjective.MarginalLikelihood;
                bool sparse = name.StartsWith("sparse", StringComparison.Ordinal);
                string label = sparse
                    ? $"sparse GP fit ({(objective == HyperparameterObjective.MarginalLikelihood ? "DTC likelihood" : "DTC LOSO")}, all environments)"
                    : $"full GP fit ({HyperparameterFitResult.ObjectiveNameOf(objective)})";
                (IKernel, NoiseLevels) Fit(List<Structure> train, List<EnvironmentCluster>? inducing)
                {
                    var (kernel, noise, fit) = sparse ? SparseFit(train, inducing, start, startNoise, maxIterations, objective) : FullFit(train, start, startNoise, maxIterations, objective);
                    string at = inducing is null ? "" : $" at M = {inducing.Count}";
                    Console.WriteLine(string.Create(Inv, $"{label}{at} on {train.Count} frames: {Describe(kernel, noise)}; {fit.Optimization} [{watch.Elapsed.TotalSeconds:F0} s]"));
                    return (kernel, noise);
                }

                if (perFold)
                {
                    sets.Add((label + ", per fold", sparse, Fit));
                }
                else
                {
                    var once = Fit(frames, null);
                    sets.Add((label, sparse, (_, _) => once));
                }
            }
        }

        double[] fractions = perFold ? [0.5, 1.0] : [0.125, 0.25, 0.5, 0.75, 1.0];
        Console.WriteLine();
        Console.WriteLine($"{"hyperparameters",-50} {"model",-28} {"E MAE meV/atom",15} {"F MAE meV/Å",12} {"F RMSE meV/Å",13} {"S MAE GPa",10}  {"E, F MAE vs full GP",20}");
        foreach (var (setName, sparseSet, fitSet) in sets)
        {
            var errors = new Dictionary<string, Errors>();
            for (int f = 0; f < folds; f++)
            {
                var train = frames.Where((_, i) => i % folds != f).ToList();
                var test = frames.Where((_, i) => i % folds == f).ToList();
                var (kernel, noise) = fitSet(train, null);
                var full = new GaussianProcess(kernel, noise);
                foreach (var s in train)
                {
                    full.Add(s);
                }

                full.Train();
                Add(errors, "full GP", test, s => full.Predict(s, uncertainty: false));
                int atoms = train.Sum(s => s.AtomCount);
                var all = train.SelectMany(s => EnvironmentCluster.FromStructure(s, Enumerable.Range(0, s.AtomCount).ToArray(), kernel.CutoffA)).ToList();
                var ordered = InducingSelection.GreedyVariance(train, kernel, atoms, []);   // greedy order: a prefix is the greedy choice of that size
                foreach (double fraction in fractions)
                {
                    int m = (int)Math.Round(fraction * atoms);
                    var inducing = fraction == 1.0 ? all : ordered.Take(m).ToList();
                    var (sparseKernel, sparseNoise) = (kernel, noise);
                    if (perFold && sparseSet && fraction != 1.0)
                    {
                        // The user's way: M environments by greedy variance at the starting hyperparameters, then the fit at them.
                        inducing = InducingSelection.GreedyVariance(train, start, m, []);
                        (sparseKernel, sparseNoise) = fitSet(train, inducing);
                    }

                    var sparse = new SparseGaussianProcess(sparseKernel, sparseNoise, inducing);
                    sparse.Train(train);
                    string key = fraction == 1.0 ? "sparse, all environments" : $"sparse, {fraction:P1} by variance{(perFold && sparseSet ? ", own fit" : "")}";
                    Add(errors, key, test, s => sparse.Predict(s, uncertainty: false));
                    Console.Error.WriteLine($"{setName}, fold {f}: {key}: M = {inducing.Count} of {atoms} training atoms (greedy variance stopped at {ordered.Count}), jitter {sparse.InducingJitter:G2}");
                }
            }

            var reference = errors["full GP"];
            foreach (var (name, e) in errors)
            {
                Console.WriteLine(string.Create(Inv,
                    $"{setName,-50} {name,-28} {e.EnergyMae * 1000,15:F2} {e.ForceMae * 1000,12:F1} {e.ForceRmse * 1000,13:F1} {e.StressMae * 160.21766208,10:F3}  {100 * (e.EnergyMae / reference.EnergyMae - 1),+9:F1} %, {100 * (e.ForceMae / reference.ForceMae - 1),+6:F1} %"));
            }
        }

        Console.WriteLine(string.Create(Inv, $"[{watch.Elapsed.TotalSeconds:F0} s]"));
    }

    private static (IKernel Kernel, NoiseLevels Noise, HyperparameterFitResult Fit) FullFit(List<Structure> frames, IKernel start, NoiseLevels startNoise, int maxIterations, HyperparameterObjective objective)
    {
        var gp = new GaussianProcess(start, startNoise);
        foreach (var f in frames)
        {
            gp.Add(f);
        }

        var fit = HyperparameterFit.Fit(gp, new HyperparameterFitOptions { Objective = objective, MaxIterations = maxIterations });
        return (gp.Kernel, gp.Noise, fit);
    }

    private static (IKernel Kernel, NoiseLevels Noise, HyperparameterFitResult Fit) SparseFit(List<Structure> frames, List<EnvironmentCluster>? inducing, IKernel start, NoiseLevels startNoise, int maxIterations, HyperparameterObjective objective)
    {
        inducing ??= frames.SelectMany(s => EnvironmentCluster.FromStructure(s, Enumerable.Range(0, s.AtomCount).ToArray(), start.CutoffA)).ToList();
        var own = new SparseGaussianProcess(start, startNoise, inducing);
        own.Train(frames);
        var fit = HyperparameterFit.Fit(own, frames, options: new HyperparameterFitOptions { Objective = objective, MaxIterations = maxIterations });
        return (own.Kernel, own.Noise, fit);
    }

    private static void Add(Dictionary<string, Errors> errors, string key, List<Structure> test, Func<Structure, GpPrediction> predict)
    {
        if (!errors.TryGetValue(key, out var e))
        {
            errors[key] = e = new Errors();
        }

        foreach (var s in test)
        {
            var p = predict(s);
            if (s.EnergyEv is double energy)
            {
                e.EnergySum += Math.Abs(p.EnergyEv - energy) / s.AtomCount;
                e.EnergyCount++;
            }

            if (s.ForcesEvPerA is { } forces)
            {
                for (int i = 0; i < forces.Length; i++)
                {
                    for (int d = 0; d < 3; d++)
                    {
                        double x = p.ForcesEvPerA[i][d] - forces[i][d];
                        e.ForceSquares += x * x;
                        e.ForceAbs += Math.Abs(x);
                        e.ForceCount++;
                    }
                }
            }

            if (s.StressEvPerA3 is { } stress && p.StressEvPerA3 is { } ps)
            {
                var a = stress.ToArray();
                var b = ps.ToArray();
                for (int v = 0; v < 6; v++)
                {
                    e.StressSum += Math.Abs(a[v] - b[v]);
                    e.StressCount++;
                }
            }
        }
    }

    private sealed class Errors
    {
        public double EnergySum;
        public int EnergyCount;
        public double ForceSquares;
        public double ForceAbs;
        public int ForceCount;
        public double StressSum;
        public int StressCount;

        public double EnergyMae => EnergySum / Math.Max(1, EnergyCount);

        public double ForceMae => ForceAbs / Math.Max(1, ForceCount);

        public double ForceRmse => Math.Sqrt(ForceSquares / Math.Max(1, ForceCount));

        public double StressMae => StressSum / Math.Max(1, StressCount);
    }
}
