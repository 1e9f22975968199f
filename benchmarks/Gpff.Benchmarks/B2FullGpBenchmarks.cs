using BenchmarkDotNet.Attributes;
using Gpff.Descriptors;
using Gpff.IO;
using Gpff.Kernels;
using Gpff.Regression;

namespace Gpff.Benchmarks;

// The full GP with the B2 kernel (issue 19, the study's cost): what the kernel keeps between calls.
// Model: B2 n_max 8, l_max 3, r_c 5 Å (D = 1,200), σ = 1.6 eV, on the frames of data/barho-train.extxyz with energy,
// force and stress labels (the first 12 frames; 4 with --ci).
//   - the leave-one-structure-out objective with its gradient (one fit evaluation): with a new kernel each time
//     (label Jacobians built afresh, as before they were kept) and with one kernel (Jacobians kept); five
//     evaluations at five σ without and inside a KernelBlockCache scope (σ-independent blocks kept, as in a fit);
//   - the mean of energy, forces and stress of every training frame: folded (the GP's path) against the
//     label-by-label sum Σ_c k(t, c) α_c.
//   dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- --filter '*B2FullGp*'

/// <summary>Full-GP B2 objective and mean, with and without what the kernel keeps.</summary>
[Config(typeof(SparseBenchmarkConfig))]
public class B2FullGpBenchmarks
{
    private List<Structure> _frames = [];
    private B2Settings _settings = null!;
    private GaussianProcess _gp = null!;
    private B2Kernel _kernel = null!;
    private (Structure Structure, LabelSelection Labels)[] _tests = [];

    /// <summary>Trains the model and warms the caches.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var all = ExtXyz.Read(GpBenchmarkData.BundledData("barho-train.extxyz")).ToList();
        _frames = all.Take(BenchmarkSizes.IsCi ? 4 : 12).ToList();
        var species = all.SelectMany(f => f.AtomicNumbers.ToArray()).Distinct().Order().ToArray();
        _settings = new B2Settings(species, 8, 3, 5.0);
        _kernel = new B2Kernel(_settings, 1.6);
        _gp = new GaussianProcess(_kernel, new NoiseLevels(0.006, 0.01, 0.001));
        foreach (var f in _frames)
        {
            _gp.Add(f);
        }

        _gp.Train();
        _tests = _frames.Select(f =>
        {
            var all = Enumerable.Range(0, f.AtomCount).ToArray();
            return (f, new LabelSelection { Energy = true, ForceAtoms = all, Stress = true });
        }).ToArray();
    }

    /// <summary>One fit evaluation, label Jacobians built afresh (a new kernel, so nothing is kept).</summary>
    [Benchmark]
    public double ObjectiveNothingKept() => _gp.LeaveOneStructureOutLogDensity(new B2Kernel(_settings, 1.6)).Value;

    /// <summary>One fit evaluation with the model's kernel: its label Jacobians kept.</summary>
    [Benchmark(Baseline = true)]
    public double ObjectiveJacobiansKept() => _gp.LeaveOneStructureOutLogDensity(_kernel).Value;

    /// <summary>Five evaluations at five σ, as a fit makes them, with the label Jacobians kept.</summary>
    [Benchmark]
    public double FiveEvaluationsJacobiansKept() => FiveEvaluations();

    /// <summary>The same five inside a block-cache scope, as <see cref="HyperparameterFit"/> runs them: the σ-independent blocks once.</summary>
    [Benchmark]
    public double FiveEvaluationsInAFitScope()
    {
        using var scope = KernelBlockCache.Begin();
        return FiveEvaluations();
    }

    private double FiveEvaluations() => new[] { 1.2, 1.4, 1.6, 1.8, 2.0 }.Sum(sigma => _gp.LeaveOneStructureOutLogDensity(_kernel.WithHyperparameters([sigma])).Value);

    /// <summary>
    /// The mean of every frame's energy, forces and stress from the folded training side (the GP's path), each frame
    /// described afresh (as every step of a relaxation is a new structure).
    /// </summary>
    [Benchmark]
    public double MeanFolded() => _tests.Sum(t => _gp.PredictLabels(_kernel.Describe(t.Structure), t.Labels, uncertainty: false).Mean[0]);

    /// <summary>The same means label by label: Σ_c k(t, c) α_c over the training labels.</summary>
    [Benchmark]
    public double MeanLabelByLabel()
    {
        // The GP's own label-by-label path (the one its 2- and 3-body parts take), on the B2 kernel.
        return _tests.Sum(t => _gp.LabelByLabelMean(_gp.Kernel, _kernel.Describe(t.Structure), t.Labels, null, CancellationToken.None)[0]);
    }
}
