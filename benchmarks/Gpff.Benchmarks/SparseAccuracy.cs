using System.Globalization;
using Gpff.Descriptors;
using Gpff.IO;
using Gpff.Regression;

namespace Gpff.Benchmarks;

/// <summary>
/// Accuracy of the sparse GP against the full GP (issue 14), cross-validated over structures on a
/// labelled extxyz file (default data/barho-train.extxyz): K folds (frame i in fold i mod K), the
/// kernel and noises of a model file (default barho.gpff, fitted on the same data) held fixed, so
/// that only the approximation differs. For each fold: the full GP, the sparse GP with every training
/// environment as an inducing point, and sparse GPs with fractions of them chosen by greedy variance.
/// Prints energy MAE (meV/atom), force RMSE (meV/Å) and stress MAE (GPa) over all held-out frames.
/// Run: dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- sparse-accuracy [DATA.extxyz] [MODEL.gpff] [FOLDS]
/// (paths relative to the repository root when run from it).
/// </summary>
public static class SparseAccuracy
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Runs the comparison and prints the table.</summary>
    /// <param name="args">Optional data file, model file and number of folds.</param>
    public static void Run(string[] args)
    {
        string data = args.Length > 0 ? args[0] : Path.Combine("data", "barho-train.extxyz");
        string modelPath = args.Length > 1 ? args[1] : "barho.gpff";
        int folds = args.Length > 2 ? int.Parse(args[2], Inv) : 6;
        var frames = ExtXyz.Read(data).ToList();
        var reference = ForceField.Load(modelPath).Model;
        var kernel = reference.Kernel;
        var noise = reference.Noise;
        Console.WriteLine($"{frames.Count} frames from {data}; kernel and noises of {modelPath}: {string.Join(", ", kernel.HyperparameterNames.Select((n, i) => $"{n}={kernel.Hyperparameters[i].ToString("G4", Inv)}"))}, {noise}; {folds} folds");
        double[] fractions = [0.125, 0.25, 0.5, 0.75, 1.0];
        var errors = new Dictionary<string, Errors>();
        for (int f = 0; f < folds; f++)
        {
            var train = frames.Where((_, i) => i % folds != f).ToList();
            var test = frames.Where((_, i) => i % folds == f).ToList();
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
                var sparse = new SparseGaussianProcess(kernel, noise, inducing);
                sparse.Train(train);
                string key = fraction == 1.0 ? "sparse, all environments" : $"sparse, {fraction:P1} by variance";
                Add(errors, key, test, s => sparse.Predict(s, uncertainty: false));
                Console.Error.WriteLine($"fold {f}: {key}: M = {inducing.Count} of {atoms} training atoms (greedy variance stopped at {ordered.Count}), jitter {sparse.InducingJitter:G2}");
            }
        }

        Console.WriteLine($"{"model",-30} {"E MAE meV/atom",15} {"F RMSE meV/Å",13} {"S MAE GPa",10}");
        foreach (var (name, e) in errors)
        {
            Console.WriteLine(string.Create(Inv, $"{name,-30} {e.EnergyMae * 1000,15:F2} {e.ForceRmse * 1000,13:F1} {e.StressMae * 160.21766208,10:F3}"));
        }
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
        public int ForceCount;
        public double StressSum;
        public int StressCount;

        public double EnergyMae => EnergySum / Math.Max(1, EnergyCount);

        public double ForceRmse => Math.Sqrt(ForceSquares / Math.Max(1, ForceCount));

        public double StressMae => StressSum / Math.Max(1, StressCount);
    }
}
