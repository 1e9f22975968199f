using System.Diagnostics;
using System.Globalization;
using Gpff.Descriptors;
using Gpff.IO;
using Gpff.Kernels;
using Gpff.Regression;

namespace Gpff.Benchmarks;

/// <summary>
/// Wall-clock per-atom prediction of a B2 model on one thread, for benchmarks/flarepp/speed_b2.py to
/// print side by side with FLARE++ (the BenchmarkDotNet entry is <see cref="B2PredictionBenchmarks"/>):
/// <c>b2-speed DATA NMAX LMAX CUTOFF REPEATS</c>. Trains a sparse GP with every atom of DATA as an
/// inducing environment (as FLARE++'s table), then times energy + forces + stress of every frame
/// (descriptors included), best of REPEATS, for the sparse GP's mean, the mean map's direct sum and its
/// quadratic form.
/// </summary>
internal static class B2Speed
{
    public static void Run(string[] args)
    {
        var ci = CultureInfo.InvariantCulture;
        string data = args.Length > 0 ? args[0] : Path.Combine("data", "barho-train.extxyz");
        int nmax = args.Length > 1 ? int.Parse(args[1], ci) : 8;
        int lmax = args.Length > 2 ? int.Parse(args[2], ci) : 3;
        double rc = args.Length > 3 ? double.Parse(args[3], ci) : 5.0;
        int repeats = args.Length > 4 ? int.Parse(args[4], ci) : 5;
        var frames = ExtXyz.Read(data).ToList();
        int atoms = frames.Sum(f => f.AtomCount);
        var species = frames.SelectMany(f => f.AtomicNumbers.ToArray()).Distinct().Order().ToArray();
        var kernel = new B2Kernel(new B2Settings(species, nmax, lmax, rc), 6.5);
        var inducing = frames.SelectMany(s => EnvironmentCluster.FromStructure(s, Enumerable.Range(0, s.AtomCount).ToArray(), rc)).ToList();
        var sparse = new SparseGaussianProcess(kernel, new NoiseLevels(0.005, 0.09, 0.005), inducing, new SparseGaussianProcessOptions { MaxDegreeOfParallelism = 1 });
        sparse.Train(frames);
        var direct = new B2MeanMap(sparse, B2MeanMapForm.Direct);
        var quadratic = new B2MeanMap(sparse, B2MeanMapForm.Quadratic);
        const CalculatorProperties What = CalculatorProperties.Energy | CalculatorProperties.Forces | CalculatorProperties.Stress;
        double Time(Func<Structure, CalculationResult> f)
        {
            double best = double.MaxValue;
            for (int r = 0; r < repeats; r++)
            {
                var clock = Stopwatch.StartNew();
                foreach (var s in frames)
                {
                    f(s);
                }

                best = Math.Min(best, clock.Elapsed.TotalMilliseconds / atoms);
            }

            return best;
        }

        double descriptor = Time(s => { kernel.Describe(s); return new CalculationResult(); });
        double sp = Time(s => sparse.Calculate(s, What));
        double dm = Time(s => direct.Calculate(s, What));
        double qm = Time(s => quadratic.Calculate(s, What));
        Console.WriteLine(string.Create(ci, $"gpff: {frames.Count} frames, {atoms} atoms, M = {sparse.InducingCount}, D = {kernel.Settings.Length}, one thread, best of {repeats}, ms per atom (energy, forces, stress):"));
        Console.WriteLine(string.Create(ci, $"gpff descriptor only        {descriptor:F4}"));
        Console.WriteLine(string.Create(ci, $"gpff sparse GP mean         {sp:F4}"));
        Console.WriteLine(string.Create(ci, $"gpff mean map, direct sum   {dm:F4}"));
        Console.WriteLine(string.Create(ci, $"gpff mean map, quadratic    {qm:F4}"));
    }
}
