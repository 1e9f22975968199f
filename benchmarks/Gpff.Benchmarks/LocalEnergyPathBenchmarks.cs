using BenchmarkDotNet.Attributes;
using Gpff.Descriptors;
using Gpff.Kernels;

namespace Gpff.Benchmarks;

/// <summary>
/// The sparse GP's K_nu kernel work, side by side in one run: every environment of two streamed Ba–Rh–O
/// training copies (<see cref="ScaleData"/>) against 64 inducing environments, by the label-versus-local-energy
/// column (<see cref="LocalKernel.LocalEnergyCovariance"/>, what K_nu now uses) and by the full 10 × 10 block
/// from which the column used to be taken (<see cref="LocalKernel.EnvironmentCovariance"/>), without and with
/// the hyperparameter derivatives (training and likelihood gradient), for the sum and each part. µs per (atom × inducing
/// point) = Mean / (atoms · 64).
/// Run: dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- --filter '*LocalEnergyPath*'
/// </summary>
[Config(typeof(SparseBenchmarkConfig))]
public class LocalEnergyPathBenchmarks
{
    private AtomEnvironment[] _training = [];
    private AtomEnvironment[] _inducing = [];
    private readonly double[] _block = new double[LocalKernel.EnvironmentBlockSize];
    private readonly double[] _blockGradients = new double[4 * LocalKernel.EnvironmentBlockSize];
    private readonly double[] _column = new double[LocalKernel.EnvironmentLabelCount];
    private readonly double[] _columnGradients = new double[4 * LocalKernel.EnvironmentLabelCount];

    private LocalKernel _kernel = ScaleData.Kernel;

    /// <summary>Which part of the 2+3-body kernel: "2+3", "2" or "3".</summary>
    [ParamsSource(nameof(PartValues))]
    public string Part { get; set; } = "2+3";

    /// <summary>Values of <see cref="Part"/> (the sum only in --ci).</summary>
    public static IEnumerable<string> PartValues => BenchmarkSizes.Pick(["2+3", "2", "3"], ["2+3"]);

    /// <summary>Training atoms of one operation.</summary>
    public int Atoms => _training.Length;

    /// <summary>Builds the environments.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var kernel = ScaleData.Kernel;
        _kernel = Part switch { "2" => kernel.Parts[0], "3" => kernel.Parts[1], _ => kernel };
        var stream = ScaleData.Stream(int.MaxValue).Take(40).ToList();
        _training = stream.Take(2).SelectMany(s => { var e = kernel.Describe(s); return Enumerable.Range(0, s.AtomCount).Select(i => e[i]); }).ToArray();
        var inducing = Gpff.Regression.InducingSelection.Random(stream.Skip(2), kernel.CutoffA, 64, seed: 0);
        _inducing = inducing.Select(c => c.Describe(kernel.Descriptor)).ToArray();
        Console.WriteLine($"GpffLocalEnergyPath: {_training.Length} training atoms × {_inducing.Length} inducing environments");
    }

    /// <summary>The full 10 × 10 block of every pair (the former path).</summary>
    [Benchmark(Baseline = true)]
    public double FullBlock() => Run((x, y) => { Array.Clear(_block); _kernel.EnvironmentCovariance(x, y, _block, []); return _block[0]; });

    /// <summary>The local-energy column of every pair.</summary>
    [Benchmark]
    public double LocalEnergyColumn() => Run((x, y) => { Array.Clear(_column); _kernel.LocalEnergyCovariance(x, y, _column, []); return _column[0]; });

    /// <summary>The full block with its 4 hyperparameter derivatives.</summary>
    [Benchmark]
    public double FullBlockWithGradients() => Run((x, y) => { Array.Clear(_block); Array.Clear(_blockGradients); _kernel.EnvironmentCovariance(x, y, _block, _blockGradients); return _block[0]; });

    /// <summary>The local-energy column with its 4 hyperparameter derivatives.</summary>
    [Benchmark]
    public double LocalEnergyColumnWithGradients() => Run((x, y) => { Array.Clear(_column); Array.Clear(_columnGradients); _kernel.LocalEnergyCovariance(x, y, _column, _columnGradients); return _column[0]; });

    private double Run(Func<AtomEnvironment, AtomEnvironment, double> pair)
    {
        double sum = 0;
        foreach (var x in _training)
        {
            foreach (var y in _inducing)
            {
                sum += pair(x, y);
            }
        }

        return sum;
    }
}
