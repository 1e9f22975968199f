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

    /// <summary>One thread and the managed linear algebra: sums in a fixed order, so runs repeat bit for bit (multi-threaded OpenBLAS does not).</summary>
    private static readonly GaussianProcessOptions Serial = new()
    {
        MaxDegreeOfParallelism = 1,
        Cholesky = new Gpff.Regression.LinearAlgebra.CholeskyOptions { Backend = Gpff.Regression.LinearAlgebra.LinearAlgebraBackendKind.Managed },
    };

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

    private static Langevin Dynamics(ForceField model, Dictionary<int, Vec3[]>? trajectory = null)
    {
        var s = Crystal();
        var md = new Langevin(s, model, 2.0, 1000, 0.02, 3, MaxwellBoltzmann.SampleVelocities(s.MassesAmu(), 1000, 3));
        if (trajectory is not null)
        {
            md.Attach(m => trajectory[m.StepCount] = (Vec3[])m.Structure.Positions.Clone(), 1, CalculatorProperties.Forces);
        }

        return md;
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
        var trajectoryA = new Dictionary<int, Vec3[]>();
        var mdA = Dynamics(modelA, trajectoryA);
        var resultA = new OnTheFlyLearner(mdA, modelA, referenceA, Options(null)).Run();
        Assert.True(resultA.ReferenceCalls >= 4, $"only {resultA.ReferenceCalls} reference calls; the test needs a few");
        Assert.Equal(resultA.ReferenceCalls, referenceA.Calls);

        // Interrupted: from the third call on the reference fails, both attempts.
        const int failFrom = 3;
        var modelB = StartModel();
        var failures = new List<ReferenceFailure>();
        var referenceB = new FaultyReference(StillingerWeber.DefaultBinary(14, 32), call => call >= failFrom);
        var options = Options(_directory) with { Retry = f => { failures.Add(f); return true; } };
        var trajectory = new Dictionary<int, Vec3[]>(); // steps redone after the resume overwrite the lost ones
        var error = Assert.Throws<ReferenceCalculationException>(() => new OnTheFlyLearner(Dynamics(modelB, trajectory), modelB, referenceB, options).Run());
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
        var mdC = Dynamics(modelC, trajectory);
        var learnerC = OnTheFlyLearner.Resume(mdC, modelC, referenceC, Options(_directory));
        Assert.Equal(failFrom - 1, learnerC.Log.Count);
        var resultC = learnerC.Run();

        Assert.Equal(resultA.ReferenceCalls, failFrom - 1 + referenceC.Calls); // no reference calculation repeated
        // Bit for bit: the model file stores the factor, α and every number exactly, and the state the MD and its random numbers.
        Assert.Equal(resultA.Calls, resultC.Calls, RecordComparer.Instance);
        Assert.Equal(mdA.StepCount, mdC.StepCount);
        Assert.Equal(Enumerable.Range(1, 16), trajectoryA.Keys.Order());
        Assert.Equal(trajectoryA.Keys.Order(), trajectory.Keys.Order());
        Assert.All(trajectoryA, p => Assert.Equal(p.Value, trajectory[p.Key]));
        Assert.Equal(mdA.Velocities, mdC.Velocities);
        Assert.Equal(modelA.Model.Kernel.Hyperparameters, modelC.Model.Kernel.Hyperparameters);
        Assert.Equal(modelA.Model.Noise, modelC.Model.Noise);
        Assert.Equal(modelA.Model.Training.Count, modelC.Model.Training.Count);
        Assert.Equal(modelA.Model.Alpha.ToArray(), modelC.Model.Alpha.ToArray());
        Assert.Equal(modelA.Model.Factor!.LowerColumnMajor.ToArray(), modelC.Model.Factor!.LowerColumnMajor.ToArray());
        var probe = Crystal();
        Assert.Equal(modelA.Calculate(probe).ForcesEvPerA!, modelC.Calculate(probe).ForcesEvPerA!);

        // The final checkpoint is of a finished run: resuming it does nothing more.
        var modelD = ForceField.Load(OnTheFlyCheckpoint.ModelPath(_directory), Serial);
        var referenceD = new FaultyReference(StillingerWeber.DefaultBinary(14, 32), _ => false);
        var resultD = OnTheFlyLearner.Resume(Dynamics(modelD), modelD, referenceD, Options(_directory)).Run();
        Assert.Equal(0, referenceD.Calls);
        Assert.False(resultD.RefittedAtEnd);
        Assert.Equal(resultA.ReferenceCalls, resultD.ReferenceCalls);
    }

    [Fact]
    public void RunStoppedBeforeItsFirstReferenceCallResumesFromTheStepZeroCheckpoint()
    {
        var modelA = StartModel();
        var trajectoryA = new Dictionary<int, Vec3[]>();
        var mdA = Dynamics(modelA, trajectoryA);
        var resultA = new OnTheFlyLearner(mdA, modelA, StillingerWeber.DefaultBinary(14, 32), Options(null) with { Steps = 8 }).Run();

        var modelB = StartModel();
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var learnerB = new OnTheFlyLearner(Dynamics(modelB), modelB, StillingerWeber.DefaultBinary(14, 32), Options(_directory) with { Steps = 8 });
        Assert.ThrowsAny<OperationCanceledException>(() => learnerB.Run(null, cts.Token));
        Assert.True(OnTheFlyCheckpoint.Exists(_directory));
        Assert.Equal("model-00000.gpff", Path.GetFileName(OnTheFlyCheckpoint.ModelPath(_directory)));

        var modelC = ForceField.Load(OnTheFlyCheckpoint.ModelPath(_directory), Serial);
        modelC.RefitOptions = modelB.RefitOptions;
        var trajectoryC = new Dictionary<int, Vec3[]>();
        var mdC = Dynamics(modelC, trajectoryC);
        var resultC = OnTheFlyLearner.Resume(mdC, modelC, StillingerWeber.DefaultBinary(14, 32), Options(_directory) with { Steps = 8 }).Run();

        Assert.NotEmpty(resultA.Calls);
        Assert.Equal(resultA.Calls, resultC.Calls, RecordComparer.Instance);
        Assert.Equal(trajectoryA.Keys.Order(), trajectoryC.Keys.Order());
        Assert.All(trajectoryA, p => Assert.Equal(p.Value, trajectoryC[p.Key]));
        Assert.Equal(modelA.Model.Alpha.ToArray(), modelC.Model.Alpha.ToArray());
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

    /// <summary>Records equal field by field (the atoms array by content).</summary>
    private sealed class RecordComparer : IEqualityComparer<ReferenceCallRecord>
    {
        public static readonly RecordComparer Instance = new();

        public bool Equals(ReferenceCallRecord? x, ReferenceCallRecord? y) =>
            x is not null && y is not null && x with { Atoms = [] } == y with { Atoms = [] } && x.Atoms.SequenceEqual(y.Atoms);

        public int GetHashCode(ReferenceCallRecord obj) => obj.Step;
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
