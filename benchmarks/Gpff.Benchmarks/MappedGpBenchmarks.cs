using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Gpff.Dynamics.MolecularDynamics;
using Gpff.Geometry;
using Gpff.Regression;
using Gpff.Regression.Mapping;

namespace Gpff.Benchmarks;

/// <summary>
/// The mapped GP (issue 15 part 5) against the full GP, side by side in one run: the cost of a
/// velocity-Verlet MD step with the map (forces only; its energy and stress come in the same pass) at
/// training-set sizes GPFF_BENCH_MGP_LABELS (default 48, 480, 4800 force labels: 10× apart; should be
/// flat), and one forces-only prediction of a 64-atom Si–Ge cell by the map and by the GP (the GP's SIMD
/// forces-only path; its cost grows with the training set). Model: <see cref="GpBenchmarkData"/>'s kernel
/// (r_c2 = 5.0 Å, r_c3 = 3.5 Å) trained on the forces of the first labels/3 atoms of 64-atom 800 K SW
/// Si–Ge cells; map built to 10 meV/Å against the GP on 4 rattled training cells (its report is printed
/// with the build time, and its force error against the GP on <see cref="HeldOutCells"/> held-out cells). Runs in process, so each size is trained and mapped once for all its cases (the
/// first setup calls every path 40 times so that no size is measured with tier-0 code).
/// Run: dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- --filter '*MappedGp*'
/// </summary>
[Config(typeof(MappedGpBenchmarkConfig))]
public class MappedGpBenchmarks
{
    /// <summary>MD steps per invocation.</summary>
    public const int Steps = 50;

    /// <summary>Map predictions per invocation.</summary>
    public const int Predictions = 20;

    private static readonly Dictionary<int, (GaussianProcess Gp, MappedForceField Map)> Models = [];
    private GaussianProcess _gp = null!;
    private MappedForceField _map = null!;
    private Structure _cell = null!;
    private Vec3[] _velocities = [];

    /// <summary>Training-set sizes in force labels.</summary>
    public static IEnumerable<int> LabelSizes => GpBenchmarkData.Sizes("GPFF_BENCH_MGP_LABELS", 48, 480, 4800);

    /// <summary>Force labels the GP was trained on.</summary>
    [ParamsSource(nameof(LabelSizes))]
    public int ForceLabels { get; set; }

    /// <summary>Trains the GP on <see cref="ForceLabels"/> labels and maps it (once per size), and prepares the MD cell.</summary>
    [GlobalSetup]
    public void Setup()
    {
        lock (Models)
        {
            if (!Models.TryGetValue(ForceLabels, out var m))
            {
                var sw = Stopwatch.StartNew();
                var gp = TrainGp(ForceLabels);
                double train = sw.Elapsed.TotalSeconds;
                sw.Restart();
                var map = MappedForceFieldBuilder.Build(gp, new MappingOptions { MaxValidationStructures = 4 });
                double mapped = sw.Elapsed.TotalSeconds;
                var (max, rms) = HeldOutForceError(gp, map);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"// {gp.LabelCount} labels: trained in {train:F1} s, mapped in {mapped:F1} s: {map.Report}; on {HeldOutCells} held-out cells (seed 2): map vs GP max |ΔF| {max * 1000:G4} meV/Å, rms {rms * 1000:G4} meV/Å"));
                m = (gp, map);
                Models[ForceLabels] = m;
            }

            (_gp, _map) = m;
            _cell = GpBenchmarkData.Snapshots(1, seed: 2)[0].CloneWithoutLabels();
            _velocities = MaxwellBoltzmann.SampleVelocities(_cell.MassesAmu(), 800, seed: 3);
            if (!_warmed)
            {
                // In process, the first size would otherwise be measured with tier-0 code: call every path
                // often enough for tiered compilation to promote it, and give the background compiler time.
                for (int k = 0; k < 40; k++)
                {
                    GpForces();
                    MapForces();
                }

                MapMdStep();
                Thread.Sleep(500);
                _warmed = true;
            }
        }
    }

    private static bool _warmed;

    /// <summary>Held-out cells (800 K SW snapshots of seed 2, none in the training set) the map is checked on against the GP.</summary>
    public const int HeldOutCells = 3;

    /// <summary>The benchmarks' GP: trained on the forces of the first labels/3 atoms of 64-atom 800 K SW Si–Ge cells (seed 1).</summary>
    internal static GaussianProcess TrainGp(int forceLabels)
    {
        int atoms = (forceLabels + 2) / 3;
        int cells = (atoms + GpBenchmarkData.AtomsPerCell - 1) / GpBenchmarkData.AtomsPerCell;
        var gp = new GaussianProcess(GpBenchmarkData.Kernel(), GpBenchmarkData.Noise);
        foreach (var (s, k) in GpBenchmarkData.Snapshots(cells, seed: 1).Select((s, k) => (s, k)))
        {
            int n = Math.Min(GpBenchmarkData.AtomsPerCell, atoms - k * GpBenchmarkData.AtomsPerCell);
            gp.Add(s, LabelKinds.Forces, Enumerable.Range(0, n).ToArray());
        }

        gp.Train();
        return gp;
    }

    /// <summary>The largest and the rms force-component difference between map and GP on the held-out cells, eV/Å.</summary>
    private static (double Max, double Rms) HeldOutForceError(GaussianProcess gp, MappedForceField map)
    {
        double max = 0, sum = 0;
        int count = 0;
        foreach (var s in GpBenchmarkData.Snapshots(HeldOutCells, seed: 2))
        {
            var cell = s.CloneWithoutLabels();
            var a = gp.PredictForces(cell).ForcesEvPerA;
            var b = map.Calculate(cell, CalculatorProperties.Forces).ForcesEvPerA!;
            for (int i = 0; i < a.Length; i++)
            {
                for (int k = 0; k < 3; k++)
                {
                    double d = Math.Abs(a[i][k] - b[i][k]);
                    max = Math.Max(max, d);
                    sum += d * d;
                    count++;
                }
            }
        }

        return (max, Math.Sqrt(sum / count));
    }

    /// <summary>An MD step with the map (forces only, as the integrators ask).</summary>
    [Benchmark(OperationsPerInvoke = Steps)]
    public double MapMdStep()
    {
        var md = new VelocityVerlet(_cell.Clone(), _map, timeStepFs: 1.0, _velocities);
        md.Run(Steps - 1); // the constructor's evaluation plus Steps − 1 steps: Steps force evaluations
        return md.Structure.Positions[0].X;
    }

    /// <summary>A forces-only prediction of the 64-atom cell by the map (mean of <see cref="Predictions"/>).</summary>
    [Benchmark(OperationsPerInvoke = Predictions)]
    public double MapForces()
    {
        double x = 0;
        for (int k = 0; k < Predictions; k++)
        {
            x += _map.Calculate(_cell, CalculatorProperties.Forces).ForcesEvPerA![0].X;
        }

        return x;
    }

    /// <summary>One forces-only prediction of the 64-atom cell by the full GP.</summary>
    [Benchmark(Baseline = true)]
    public double GpForces() => _gp.PredictForces(_cell).ForcesEvPerA[0].X;
}

/// <summary>In process (the trained models are shared between the cases of one size), three warm-ups and GPFF_BENCH_GP_ITERATIONS (default 5) iterations.</summary>
public sealed class MappedGpBenchmarkConfig : ManualConfig
{
    /// <summary>A short in-process job.</summary>
    public MappedGpBenchmarkConfig()
    {
        int iterations = GpBenchmarkData.Sizes("GPFF_BENCH_GP_ITERATIONS", 5).First();
        AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithLaunchCount(1).WithWarmupCount(3).WithIterationCount(iterations)
            .WithInvocationCount(1).WithUnrollFactor(1).WithId($"inproc-1w{iterations}i"));
    }
}

/// <summary>
/// The variance map's prediction (σ of every local energy and of the total energy of the 64-atom Si–Ge cell)
/// against the GP's own prediction with uncertainty, at training-set sizes GPFF_BENCH_MGP_VAR_LABELS (default
/// 48, 480: building the variance holds grid points × labels doubles, so the default stops at 480). The map's
/// cost should not grow with the training set (the self term k(ε, ε) and R spline components per pair and
/// triplet); the GP's does. Same model and map options as <see cref="MappedGpBenchmarks"/>, plus
/// <see cref="MappingOptions.MapVariance"/> (report printed with the build time).
/// Run: dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- --filter '*MappedVariance*'
/// </summary>
[Config(typeof(MappedGpBenchmarkConfig))]
public class MappedVarianceBenchmarks
{
    private static readonly Dictionary<int, (GaussianProcess Gp, MappedForceField Map)> Models = [];
    private GaussianProcess _gp = null!;
    private MappedForceField _map = null!;
    private Structure _cell = null!;

    /// <summary>Training-set sizes in force labels.</summary>
    public static IEnumerable<int> LabelSizes => GpBenchmarkData.Sizes("GPFF_BENCH_MGP_VAR_LABELS", 48, 480);

    /// <summary>Force labels the GP was trained on.</summary>
    [ParamsSource(nameof(LabelSizes))]
    public int ForceLabels { get; set; }

    /// <summary>Trains and maps (mean and variance) once per size.</summary>
    [GlobalSetup]
    public void Setup()
    {
        lock (Models)
        {
            if (!Models.TryGetValue(ForceLabels, out var m))
            {
                var gp = MappedGpBenchmarks.TrainGp(ForceLabels);
                var sw = Stopwatch.StartNew();
                var map = MappedForceFieldBuilder.Build(gp, new MappingOptions { MaxValidationStructures = 4, MapVariance = true });
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"// {gp.LabelCount} labels: mapped with variance in {sw.Elapsed.TotalSeconds:F1} s: {map.Variance!.Report}"));
                m = (gp, map);
                Models[ForceLabels] = m;
            }

            (_gp, _map) = m;
            _cell = GpBenchmarkData.Snapshots(1, seed: 2)[0].CloneWithoutLabels();
        }
    }

    /// <summary>σ of every local energy and of the total energy by the variance map.</summary>
    [Benchmark]
    public double MapEnergyStd() => _map.Calculate(_cell, CalculatorProperties.Energy | CalculatorProperties.LocalEnergies | CalculatorProperties.Uncertainty).EnergyStdEv!.Value;

    /// <summary>σ of every local energy only by the variance map (no total energy: its self term k(E, E) is a double sum over the atoms).</summary>
    [Benchmark]
    public double MapLocalEnergyStd() => _map.Calculate(_cell, CalculatorProperties.LocalEnergies | CalculatorProperties.Uncertainty).LocalEnergiesStdEv![0];

    /// <summary>The same local-energy σ asked of the GP.</summary>
    [Benchmark]
    public double GpLocalEnergyStd() => _gp.Calculate(_cell, CalculatorProperties.LocalEnergies | CalculatorProperties.Uncertainty).LocalEnergiesStdEv![0];

    /// <summary>The same properties and σ asked of the GP.</summary>
    [Benchmark(Baseline = true)]
    public double GpEnergyStd() => _gp.Calculate(_cell, CalculatorProperties.Energy | CalculatorProperties.LocalEnergies | CalculatorProperties.Uncertainty).EnergyStdEv!.Value;
}
