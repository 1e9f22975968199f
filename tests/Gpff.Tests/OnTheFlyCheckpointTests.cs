using Gpff.Dynamics.ActiveLearning;
using Gpff.Dynamics.MolecularDynamics;
using Gpff.Dynamics.Potentials;
using Gpff.Geometry;
using Gpff.Regression;
using Xunit;

namespace Gpff.Tests;

/// <summary>
/// Checkpoints and retries of on-the-fly learning: a run stopped by a failing reference calculation and
/// resumed from its checkpoint ends exactly as an uninterrupted run, repeating no reference calculation.
/// </summary>
public class OnTheFlyCheckpointTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "gpff-otf-" + Guid.NewGuid().ToString("N"));

    private static readonly ForceFieldSettings Settings = new()
    {
        PairCutoffA = 4.0, TripletCutoffA = 3.8, Sigma2 = 0.3, Length2A = 0.3, Sigma3 = 0.03, Length3A = 0.3,
        Noise = new NoiseLevels(0.002, 0.05, 0.001),
        Labels = LabelKinds.All,
    };

    private static readonly GaussianProcessOptions Serial = new() { MaxDegreeOfParallelism = 1 };

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>16-atom Si–Ge diamond cell, every third atom Ge.</summary>
    private static Structure Crystal()
    {
        const double a = 5.55;
        var basis = new[] { (0.0, 0.0, 0.0), (0.0, 0.5, 0.5), (0.5, 0.0, 0.5), (0.5, 0.5, 0.0), (0.25, 0.25, 0.25), (0.25, 0.75, 0.75), (0.75, 0.25, 0.75), (0.75, 0.75, 0.25) };
        var pos = new List<Vec3>();
        var z = new List<int>();
        for (int c = 0; c < 2; c++)
        {
            foreach (var (x, y, w) in basis)
            {
                pos.Add(new Vec3((x + c) * a, y * a, w * a));
                z.Add(pos.Count % 3 == 0 ? 32 : 14);
            }
        }

        return new Structure(z, pos.ToArray(), Mat3.FromRows(new Vec3(2 * a, 0, 0), new Vec3(0, a, 0), new Vec3(0, 0, a)), Pbc.All);
    }

    private static ForceField StartModel()
    {
        var s = Crystal();
        var md = new Langevin(s, StillingerWeber.DefaultBinary(14, 32), 2.0, 1000, 0.02, 7, MaxwellBoltzmann.SampleVelocities(s.MassesAmu(), 1000, 7));
        md.Run(20);
        var model = ForceField.Create(Settings, Serial);
        model.Train([md.Snapshot()]);
        model.RefitOptions = new HyperparameterFitOptions { MaxIterations = 2 };
        return model;
    }

    private static Langevin Dynamics(ForceField model)
    {
        var s = Crystal();
        return new Langevin(s, model, 2.0, 1000, 0.02, 3, MaxwellBoltzmann.SampleVelocities(s.MassesAmu(), 1000, 3));
    }

    private OnTheFlyOptions Options(string? directory) => new()
    {
        Steps = 16, ThresholdEvPerA = 0.07, AtomsPerCall = 3, RefitEvery = 2, RefitAtEnd = true, MaxAttempts = 2, CheckpointDirectory = directory,
    };

    [Fact]
    public void RunResumedAfterAFailedReferenceCalculationEndsAsAnUninterruptedRun()
    {
        // Uninterrupted.
        var modelA = StartModel();
        var referenceA = new FaultyReference(StillingerWeber.DefaultBinary(14, 32), _ => false);
        var mdA = Dynamics(modelA);
        var resultA = new OnTheFlyLearner(mdA, modelA, referenceA, Options(null)).Run();
        Assert.True(resultA.ReferenceCalls >= 4, $"only {resultA.ReferenceCalls} reference calls; the test needs a few");
        Assert.Equal(resultA.ReferenceCalls, referenceA.Calls);

        // Interrupted: from the third call on the reference fails, both attempts.
        const int failFrom = 3;
        var modelB = StartModel();
        var failures = new List<ReferenceFailure>();
        var referenceB = new FaultyReference(StillingerWeber.DefaultBinary(14, 32), call => call >= failFrom);
        var options = Options(_directory) with { Retry = f => { failures.Add(f); return true; } };
        var error = Assert.Throws<ReferenceCalculationException>(() => new OnTheFlyLearner(Dynamics(modelB), modelB, referenceB, options).Run());
        Assert.Equal(2, error.Attempts);
        Assert.Equal(resultA.Calls[failFrom - 1].Step, error.Step);
        Assert.Contains(_directory, error.Message, StringComparison.Ordinal);
        Assert.Equal([1], failures.Select(f => f.Attempt));
        Assert.True(OnTheFlyCheckpoint.Exists(_directory));
        Assert.Single(Directory.GetFiles(_directory, "*.gpff"));

        // Resume from the checkpoint with a working reference.
        var modelC = ForceField.Load(OnTheFlyCheckpoint.ModelPath(_directory), Serial);
        modelC.RefitOptions = modelB.RefitOptions;
        var referenceC = new FaultyReference(StillingerWeber.DefaultBinary(14, 32), _ => false);
        var mdC = Dynamics(modelC);
        var learnerC = OnTheFlyLearner.Resume(mdC, modelC, referenceC, Options(_directory));
        Assert.Equal(failFrom - 1, learnerC.Log.Count);
        var resultC = learnerC.Run();

        Assert.Equal(resultA.ReferenceCalls, failFrom - 1 + referenceC.Calls); // no reference calculation repeated
        // The model file stores the factor to ~1e-11 relative, not bit for bit, so the resumed run agrees to round-off.
        Assert.Equal(resultA.Calls.Select(c => (c.Step, c.Atoms.Length)), resultC.Calls.Select(c => (c.Step, c.Atoms.Length)));
        Assert.All(resultA.Calls.Zip(resultC.Calls), p => Assert.Equal(p.First.ForceMaeEvPerA, p.Second.ForceMaeEvPerA, 1e-8));
        Assert.Equal(mdA.StepCount, mdC.StepCount);
        AssertClose(mdA.Structure.Positions, mdC.Structure.Positions, 1e-7);
        AssertClose(mdA.Velocities, mdC.Velocities, 1e-8);
        Assert.Equal(modelA.Model.Kernel.Hyperparameters.Count, modelC.Model.Kernel.Hyperparameters.Count);
        Assert.All(modelA.Model.Kernel.Hyperparameters.Zip(modelC.Model.Kernel.Hyperparameters), p => Assert.Equal(p.First, p.Second, 1e-6 * p.First));
        Assert.Equal(modelA.Model.Training.Count, modelC.Model.Training.Count);
        var probe = Crystal();
        AssertClose(modelA.Calculate(probe).ForcesEvPerA!, modelC.Calculate(probe).ForcesEvPerA!, 1e-6);

        // The final checkpoint is of a finished run: resuming it does nothing more.
        var modelD = ForceField.Load(OnTheFlyCheckpoint.ModelPath(_directory), Serial);
        var referenceD = new FaultyReference(StillingerWeber.DefaultBinary(14, 32), _ => false);
        var resultD = OnTheFlyLearner.Resume(Dynamics(modelD), modelD, referenceD, Options(_directory)).Run();
        Assert.Equal(0, referenceD.Calls);
        Assert.False(resultD.RefittedAtEnd);
        Assert.Equal(resultA.ReferenceCalls, resultD.ReferenceCalls);
    }

    [Fact]
    public void FailedAttemptIsRetriedAndLogged()
    {
        var model = StartModel();
        var reference = new FaultyReference(StillingerWeber.DefaultBinary(14, 32), call => call == 1);
        var result = new OnTheFlyLearner(Dynamics(model), model, reference, Options(null) with { Steps = 20 }).Run();
        Assert.NotEmpty(result.Calls);
        Assert.Equal(2, result.Calls[0].Attempts);
        Assert.All(result.Calls.Skip(1), c => Assert.Equal(1, c.Attempts));
    }

    [Fact]
    public void CancellationStopsTheRunBetweenSteps()
    {
        var model = StartModel();
        using var cts = new CancellationTokenSource();
        var md = Dynamics(model);
        var learner = new OnTheFlyLearner(md, model, StillingerWeber.DefaultBinary(14, 32), Options(_directory));
        Assert.ThrowsAny<OperationCanceledException>(() => learner.Run(new CancelOnFirstCall(cts), cts.Token));
        Assert.Single(learner.Log);
        Assert.True(md.StepCount < 16);
    }

    private static void AssertClose(Vec3[] expected, Vec3[] actual, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True((expected[i] - actual[i]).Length < tolerance, $"atom {i}: {expected[i]} vs {actual[i]}");
        }
    }

    private sealed class CancelOnFirstCall(CancellationTokenSource cts) : IProgress<ReferenceCallRecord>
    {
        public void Report(ReferenceCallRecord value) => cts.Cancel();
    }

    /// <summary>The SW reference whose n-th attempt (1-based, counting every attempt) fails when <c>fails(n)</c>; counts successful calls.</summary>
    private sealed class FaultyReference(ICalculator inner, Func<int, bool> fails) : ICalculator
    {
        private int _attempts;

        public int Calls { get; private set; }

        public CalculatorProperties ImplementedProperties => inner.ImplementedProperties;

        public CalculationResult Calculate(Structure structure, CalculatorProperties properties, CancellationToken cancellationToken = default)
        {
            if (fails(++_attempts))
            {
                throw new InvalidOperationException($"SCF did not converge (attempt {_attempts})");
            }

            Calls++;
            return inner.Calculate(structure, properties, cancellationToken);
        }
    }
}
