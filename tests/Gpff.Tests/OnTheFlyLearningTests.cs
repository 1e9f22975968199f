using System.Globalization;
using Gpff.Dynamics.ActiveLearning;
using Gpff.Dynamics.MolecularDynamics;
using Gpff.Dynamics.Potentials;
using Gpff.Geometry;
using Gpff.Regression;
using Xunit;
using Xunit.Abstractions;

namespace Gpff.Tests;

/// <summary>
/// On-the-fly active learning of the two-species Stillinger–Weber potential (the reference calculator):
/// MD driven by the GP calls the reference only where the GP is uncertain, and learns as well as a model
/// trained on the whole reference trajectory.
/// </summary>
public class OnTheFlyLearningTests(ITestOutputHelper output)
{
    private const double TemperatureK = 1000;
    private const double TimeStepFs = 2.0;

    private static readonly ForceFieldSettings Settings = new()
    {
        PairCutoffA = 4.0, TripletCutoffA = 3.8, Sigma2 = 0.3, Length2A = 0.3, Sigma3 = 0.03, Length3A = 0.3,
        Noise = new NoiseLevels(0.002, 0.05, 0.001),
        Labels = LabelKinds.All,
    };

    /// <summary>32-atom Si–Ge diamond cell (2×2×1 conventional cells, every third atom Ge).</summary>
    private static Structure Crystal()
    {
        const double a = 5.55;
        var basis = new[] { (0.0, 0.0, 0.0), (0.0, 0.5, 0.5), (0.5, 0.0, 0.5), (0.5, 0.5, 0.0), (0.25, 0.25, 0.25), (0.25, 0.75, 0.75), (0.75, 0.25, 0.75), (0.75, 0.75, 0.25) };
        var pos = new List<Vec3>();
        var z = new List<int>();
        for (int i = 0; i < 2; i++)
        {
            for (int j = 0; j < 2; j++)
            {
                foreach (var (x, y, w) in basis)
                {
                    pos.Add(new Vec3((x + i) * a, (y + j) * a, w * a));
                    z.Add(pos.Count % 3 == 0 ? 32 : 14);
                }
            }
        }

        return new Structure(z, pos.ToArray(), Mat3.FromRows(new Vec3(2 * a, 0, 0), new Vec3(0, 2 * a, 0), new Vec3(0, 0, a)), Pbc.All);
    }

    /// <summary>Labelled frames of a reference (SW) Langevin run from the crystal: one every <paramref name="interval"/> steps.</summary>
    private static List<Structure> ReferenceFrames(int steps, int interval, int seed)
    {
        var s = Crystal();
        var v = MaxwellBoltzmann.SampleVelocities(s.MassesAmu(), TemperatureK, seed);
        var md = new Langevin(s, StillingerWeber.DefaultBinary(14, 32), TimeStepFs, TemperatureK, 0.02, seed, v);
        return [.. md.Sample(steps, interval)];
    }

    private static double ForceMaeMevPerA(ForceField ff, IEnumerable<Structure> test) =>
        ErrorSummary.Compute(test.Select(t => (t, ff.Predict(t, uncertainty: false)))).Last().ForceMaeMevPerA;

    private static Structure FirstFrame()
    {
        var s = Crystal();
        var v = MaxwellBoltzmann.SampleVelocities(s.MassesAmu(), TemperatureK, 7);
        var md = new Langevin(s, StillingerWeber.DefaultBinary(14, 32), TimeStepFs, TemperatureK, 0.02, 7, v);
        md.Run(20);
        return md.Snapshot();
    }

    private static (OnTheFlyLearner Learner, Langevin Md) Setup(ForceField model, ICalculator reference, OnTheFlyOptions options)
    {
        var s = Crystal();
        var v = MaxwellBoltzmann.SampleVelocities(s.MassesAmu(), TemperatureK, 3);
        var md = new Langevin(s, model, TimeStepFs, TemperatureK, 0.02, 3, v);
        return (new OnTheFlyLearner(md, model, reference, options), md);
    }

    [Fact]
    public void LearnedModelMatchesAllFramesModelWithFewReferenceCalls()
    {
        const int steps = 300;
        var sw = StillingerWeber.DefaultBinary(14, 32);
        var model = ForceField.Create(Settings);
        model.Train([FirstFrame()]);
        output.WriteLine("start: " + string.Join(", ", model.Model.Kernel.Hyperparameters.Select(h => h.ToString("G3", CultureInfo.InvariantCulture))) + $" noise {model.Model.Noise}");
        var calls = new List<ReferenceCallRecord>();
        var (learner, _) = Setup(model, sw, new OnTheFlyOptions { Steps = steps, ThresholdEvPerA = 0.1, AtomsPerCall = 8, RefitAtEnd = false });
        var started = System.Diagnostics.Stopwatch.StartNew();
        var result = learner.Run(new Progress(calls.Add));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{result.Steps} steps, {result.ReferenceCalls} reference calls, {started.Elapsed.TotalSeconds:F1} s"));
        foreach (var c in result.Calls)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  call {c.Call} at step {c.Step}: max σ_F {c.MaxForceStdEvPerA:F3} eV/Å, {c.Atoms.Length} atoms, GP force MAE before {c.ForceMaeEvPerA * 1000:F1} meV/Å (max {c.ForceMaxErrorEvPerA * 1000:F0}), ΔE {c.EnergyErrorEv * 1000:F1} meV"));
        }

        var test = ReferenceFrames(200, 20, seed: 11);
        var all = ReferenceFrames(steps, 10, seed: 5);
        var full = ForceField.Create(Settings);
        full.Train([FirstFrame(), .. all]);
        // The same budget chosen at random: as many frames of the reference trajectory, each with its energy,
        // stress and the forces of as many random atoms as the on-the-fly call added.
        var rng = new Random(17);
        var random = ForceField.Create(Settings);
        random.Train([FirstFrame()]);
        var frames = all.OrderBy(_ => rng.Next()).Take(result.ReferenceCalls).ToList();
        for (int i = 0; i < frames.Count; i++)
        {
            random.Add(frames[i], Enumerable.Range(0, frames[i].AtomCount).OrderBy(_ => rng.Next()).Take(result.Calls[i].Atoms.Length).ToArray());
        }

        var randomFull = ForceField.Create(Settings);
        randomFull.Train([FirstFrame(), .. frames]);
        double randomFullMae = ForceMaeMevPerA(randomFull, test);
        output.WriteLine("learned: " + string.Join(", ", model.Model.Kernel.Hyperparameters.Select(h => h.ToString("G3", CultureInfo.InvariantCulture))) + $" noise {model.Model.Noise}");
        output.WriteLine("all frames: " + string.Join(", ", full.Model.Kernel.Hyperparameters.Select(h => h.ToString("G3", CultureInfo.InvariantCulture))) + $" noise {full.Model.Noise}");
        double learned = ForceMaeMevPerA(model, test), fullMae = ForceMaeMevPerA(full, test), randomMae = ForceMaeMevPerA(random, test);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"force MAE on {test.Count} held-out frames: on-the-fly {learned:F1} meV/Å, all {all.Count} frames {fullMae:F1}, {result.ReferenceCalls} random frames with as many random atoms {randomMae:F1} (with all atoms {randomFullMae:F1}); total {started.Elapsed.TotalSeconds:F1} s"));

        Assert.Equal(steps, result.Steps);
        Assert.Equal(result.ReferenceCalls, calls.Count);
        Assert.InRange(result.ReferenceCalls, 2, steps / 10);
        Assert.All(result.Calls, c => Assert.True(c.MaxForceStdEvPerA > c.ThresholdEvPerA));
        Assert.True(learned < 1.5 * fullMae, $"on-the-fly {learned:F1} meV/Å vs all frames {fullMae:F1}");
        Assert.True(learned < randomMae, $"on-the-fly {learned:F1} meV/Å vs random frames {randomMae:F1}");
    }

    private sealed class Progress(Action<ReferenceCallRecord> action) : IProgress<ReferenceCallRecord>
    {
        public void Report(ReferenceCallRecord value) => action(value);
    }
}
