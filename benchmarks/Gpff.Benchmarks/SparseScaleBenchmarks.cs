using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Gpff.Descriptors;
using Gpff.Geometry;
using Gpff.IO;
using Gpff.Regression;

namespace Gpff.Benchmarks;

// Sparse GP at scale (issue 14): training and likelihood + gradient on 10,000 and 100,000 force labels with
// the same M, the peak memory of each run, and the time per (training atom × inducing point).
// The training data are generated on the fly and streamed (never all in memory): copies of the bundled
// Ba–Rh–O cells (data/barho-train.extxyz), each repeated to at least 32 atoms, rattled (0.05 Å) and strained
// (±2 %), seeded by its index. Labels: the frame's own energy, stress and forces plus a harmonic restoring
// term (E + ½kΣu², F − k u, k = 1 eV/Å²): synthetic, but the cost of training does not depend on their values.
// Kernel (parameter Kernel): "2+3", the default 2+3-body of the facade's scale (2-body 5 Å, 3-body 3.5 Å); "b2", FLARE++'s
// B2 as benchmarks/flarepp measured it (N 8, l_max 3, 5 Å, ζ 2); "b2+2+3", their sum. Inducing environments chosen
// at random (reservoir, seed 0) from the first 2,000 generated structures (20 in --ci), so that every size and
// kernel shares them (all three kernels reach 5 Å).
//   GPFF_BENCH_SCALE_LABELS   force labels (default 10000,100000; --ci: 300)
//   GPFF_BENCH_SCALE_M        inducing environments (default 2000; --ci: 16)
//   GPFF_BENCH_SCALE_THREADS  threads of the assembly (default 1: the per-core figure)
//   GPFF_BENCH_SCALE_KERNELS  kernels, comma-separated (default 2+3,b2,b2+2+3; --ci: the same)
//   GPFF_BENCH_SCALE_BLOCK    inducing environments per column block (default: the sparse GP's choice by kernel)
// Run (the 100k case takes minutes; run it niced, in the background):
//   nice dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- --filter '*SparseScale*'
// or once per case without BenchmarkDotNet's extra JIT invocation (half the time at 100k):
//   nice dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- sparse-scale 10000,100000 2000 1 b2,b2+2+3,2+3
// Each benchmark prints GpffScale lines: wall and CPU seconds (the process's, all threads: on a shared machine
// the CPU time is the figure to compare), labels, atoms, M, CPU µs per (atom × inducing point), and the
// peak working set of that run (sampled every 20 ms from its start; Process.PeakWorkingSet64 is the whole
// process's and never goes down).

/// <summary>Sparse GP training and likelihood + gradient at 10,000 and 100,000 streamed force labels.</summary>
[Config(typeof(SparseScaleConfig))]
public class SparseScaleBenchmarks
{
    private List<EnvironmentCluster> _inducing = [];

    /// <summary>Force labels of the training stream.</summary>
    [ParamsSource(nameof(LabelValues))]
    public int Labels { get; set; }

    /// <summary>Inducing environments M.</summary>
    [ParamsSource(nameof(MValues))]
    public int M { get; set; }

    /// <summary>The kernel: "2+3", "b2" or "b2+2+3" (<see cref="ScaleData.KernelNamed"/>).</summary>
    [ParamsSource(nameof(KernelValues))]
    public string Kernel { get; set; } = "2+3";

    /// <summary>Values of <see cref="Kernel"/>.</summary>
    public static IEnumerable<string> KernelValues =>
        (Environment.GetEnvironmentVariable("GPFF_BENCH_SCALE_KERNELS") ?? "2+3,b2,b2+2+3").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Values of <see cref="Labels"/>.</summary>
    public static IEnumerable<int> LabelValues => GpBenchmarkData.Sizes("GPFF_BENCH_SCALE_LABELS", BenchmarkSizes.IsCi ? [300] : [10_000, 100_000]);

    /// <summary>Values of <see cref="M"/>.</summary>
    public static IEnumerable<int> MValues => GpBenchmarkData.Sizes("GPFF_BENCH_SCALE_M", BenchmarkSizes.IsCi ? [16] : [2000]);

    private static int Threads => GpBenchmarkData.Sizes("GPFF_BENCH_SCALE_THREADS", 1).First();

    private static SparseGaussianProcessOptions Options => Environment.GetEnvironmentVariable("GPFF_BENCH_SCALE_BLOCK") is { } block
        ? new() { MaxDegreeOfParallelism = Threads, InducingPerBlock = int.Parse(block, CultureInfo.InvariantCulture) }
        : new() { MaxDegreeOfParallelism = Threads };

    /// <summary>Chooses the inducing environments (the same for every data size).</summary>
    [GlobalSetup]
    public void Setup() =>
        _inducing = InducingSelection.Random(ScaleData.Stream(int.MaxValue).Take(BenchmarkSizes.IsCi ? 20 : 2000), ScaleData.Kernel.CutoffA, M, seed: 0);

    /// <summary>One streamed training pass (K_uu, K_us per structure, the M × M solve).</summary>
    [Benchmark]
    public SparseGaussianProcess Train() => Measure("train", () =>
    {
        var sparse = new SparseGaussianProcess(ScaleData.KernelNamed(Kernel), ScaleData.Noise, _inducing, Options);
        sparse.Train(ScaleData.Stream(Labels));
        return sparse;
    });

    /// <summary>The sparse log marginal likelihood and its analytic gradient (one streamed pass with ∂K/∂θ).</summary>
    [Benchmark]
    public LikelihoodResult LikelihoodAndGradient() => Measure("likelihood+gradient", () =>
    {
        var sparse = new SparseGaussianProcess(ScaleData.KernelNamed(Kernel), ScaleData.Noise, _inducing, Options);
        return sparse.LogMarginalLikelihood(ScaleData.Stream(Labels));
    });

    /// <summary>
    /// The by-hand run (BenchmarkDotNet invokes each case once more to JIT it, which doubles a 100k run):
    /// <c>sparse-scale [LABELS,…] [M] [THREADS] [KERNELS,…]</c> runs training and the likelihood with its gradient once per
    /// size and kernel, the kernels side by side for each size.
    /// </summary>
    /// <param name="args">Comma-separated force-label counts (default 10000,100000), M (default 2000), threads (default 1),
    /// comma-separated kernels (default 2+3).</param>
    public static void RunOnce(string[] args)
    {
        var ci = CultureInfo.InvariantCulture;
        var sizes = (args.Length > 0 ? args[0] : "10000,100000").Split(',').Select(x => int.Parse(x, ci));
        if (args.Length > 2)
        {
            Environment.SetEnvironmentVariable("GPFF_BENCH_SCALE_THREADS", args[2]);
        }

        var kernels = (args.Length > 3 ? args[3] : "2+3").Split(',');
        foreach (int labels in sizes)
        {
            foreach (string kernel in kernels)
            {
                var b = new SparseScaleBenchmarks { Labels = labels, M = args.Length > 1 ? int.Parse(args[1], ci) : 2000, Kernel = kernel };
                b.Setup();
                b.Train();
                b.LikelihoodAndGradient();
            }
        }
    }

    private T Measure<T>(string what, Func<T> run)
    {
        GC.Collect();
        using var peak = new PeakWorkingSet();
        using var self = Process.GetCurrentProcess();
        var cpu0 = self.TotalProcessorTime;
        var watch = Stopwatch.StartNew();
        var result = run();
        double seconds = watch.Elapsed.TotalSeconds;
        self.Refresh();
        double cpu = (self.TotalProcessorTime - cpu0).TotalSeconds;
        long atoms = ScaleData.Stream(Labels).Sum(s => (long)s.AtomCount);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"GpffScale {what} {Kernel}: {seconds:F2} s wall, {cpu:F2} s CPU, {Labels} force labels, {atoms} atoms, M = {M}, {cpu * 1e6 / (atoms * (double)M):F3} CPU µs per (atom × inducing point), {Threads} thread(s), peak working set {peak.PeakBytes / 1048576.0:F0} MiB"));
        return result;
    }
}

/// <summary>One in-process job, cold, no warm-up, one iteration (each case is one long streamed pass).</summary>
public sealed class SparseScaleConfig : ManualConfig
{
    /// <summary>The job.</summary>
    public SparseScaleConfig()
    {
        AddJob(Job.Dry.WithWarmupCount(0).WithToolchain(InProcessEmitToolchain.Instance).WithId("inproc-once"));
        AddDiagnoser(MemoryDiagnoser.Default);
    }
}

/// <summary>The streamed training data of <see cref="SparseScaleBenchmarks"/>.</summary>
public static class ScaleData
{
    private static readonly Lazy<List<Structure>> Frames = new(() =>
        ExtXyz.Read(GpBenchmarkData.BundledData("barho-train.extxyz")).ToList());

    /// <summary>2-body 5 Å, 3-body 3.5 Å (the facade's default cutoffs), σ and ℓ of a Ba–Rh–O fit's order of magnitude.</summary>
    public static Gpff.Kernels.SumKernel Kernel { get; } = new(new Gpff.Kernels.TwoBodyKernel(5.0, 1.0, 0.5), new Gpff.Kernels.ThreeBodyKernel(3.5, 0.1, 0.5));

    /// <summary>The B2 descriptor of FLARE++'s measured run (benchmarks/flarepp): O, Rh, Ba channels (ascending atomic numbers), N 8, l_max 3, 5 Å.</summary>
    public static Gpff.Descriptors.B2Settings B2 { get; } = new([8, 45, 56], 8, 3, 5.0);

    /// <summary>The kernel of a name: "2+3" (<see cref="Kernel"/>), "b2" (σ 2 eV, ζ 2 on <see cref="B2"/>) or "b2+2+3".</summary>
    /// <param name="name">The name.</param>
    public static Gpff.Kernels.IKernel KernelNamed(string name) => name switch
    {
        "2+3" => Kernel,
        "b2" => new Gpff.Kernels.B2Kernel(B2, 2.0),
        "b2+2+3" => new Gpff.Kernels.CombinedKernel(new Gpff.Kernels.B2Kernel(B2, 2.0), Kernel),
        _ => throw new ArgumentException($"Unknown scale-benchmark kernel '{name}': use 2+3, b2 or b2+2+3.", nameof(name)),
    };

    /// <summary>Noise levels (energy per atom, force, stress).</summary>
    public static NoiseLevels Noise { get; } = new(0.005, 0.1, 0.005);

    /// <summary>
    /// The lazily generated structures holding at least <paramref name="forceLabels"/> force labels (copy i is bundled
    /// frame i mod 36, repeated to ≥ 32 atoms, rattled and strained with seed i).
    /// </summary>
    /// <param name="forceLabels">Force labels wanted (int.MaxValue: endless).</param>
    public static IEnumerable<Structure> Stream(int forceLabels)
    {
        var frames = Frames.Value;
        long labels = 0;
        for (int i = 0; labels < forceLabels; i++)
        {
            var copy = Copy(frames[i % frames.Count], i);
            labels += 3L * copy.AtomCount;
            yield return copy;
        }
    }

    private static Structure Copy(Structure frame, int seed)
    {
        var rng = new Random(seed);
        var lengths = new[] { frame.Cell.Row0.Length, frame.Cell.Row1.Length, frame.Cell.Row2.Length };
        int[] n = [1, 1, 1];
        while (frame.AtomCount * n[0] * n[1] * n[2] < 32)
        {
            int shortest = Enumerable.Range(0, 3).MinBy(a => lengths[a] * n[a]);
            n[shortest]++;
        }

        var big = frame.Repeat(n[0], n[1], n[2]);
        double Uniform(double half) => (2 * rng.NextDouble() - 1) * half;
        var strained = big.Strained(new Voigt(Uniform(0.02), Uniform(0.02), Uniform(0.02), Uniform(0.01), Uniform(0.01), Uniform(0.01)));
        const double k = 1.0;
        var positions = strained.Positions.ToArray();
        var forces = new Vec3[positions.Length];
        double energy = big.EnergyEv ?? 0;
        for (int a = 0; a < positions.Length; a++)
        {
            var u = new Vec3(Gauss(rng), Gauss(rng), Gauss(rng)) * 0.05;
            positions[a] += u;
            forces[a] = (big.ForcesEvPerA?[a] ?? default) - u * k;
            energy += 0.5 * k * Vec3.Dot(u, u);
        }

        return new Structure(strained.AtomicNumbers.ToArray(), positions, strained.Cell, strained.Pbc)
        {
            EnergyEv = energy,
            ForcesEvPerA = forces,
            StressEvPerA3 = big.StressEvPerA3,
        };
    }

    private static double Gauss(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}

/// <summary>The largest working set of this process from construction to disposal, sampled every 20 ms.</summary>
internal sealed class PeakWorkingSet : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;
    private long _peak;

    public PeakWorkingSet()
    {
        _thread = new Thread(() =>
        {
            using var self = Process.GetCurrentProcess();
            do
            {
                self.Refresh();
                _peak = Math.Max(_peak, self.WorkingSet64);
            }
            while (!_stop.Token.WaitHandle.WaitOne(20));
        }) { IsBackground = true };
        _thread.Start();
    }

    public long PeakBytes
    {
        get
        {
            Dispose();
            return _peak;
        }
    }

    public void Dispose()
    {
        if (!_stop.IsCancellationRequested)
        {
            _stop.Cancel();
            _thread.Join();
        }
    }
}
