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
/// Offline selection from a pool of Stillinger–Weber MD frames: the most uncertain structures are labelled
/// round by round until the pool is below the threshold or the budget is spent; calls of a round run concurrently.
/// </summary>
public class PoolSelectionTests(ITestOutputHelper output)
{
    private static readonly ForceFieldSettings Settings = new()
    {
        PairCutoffA = 4.0, TripletCutoffA = 3.8, Sigma2 = 0.3, Length2A = 0.3, Sigma3 = 0.03, Length3A = 0.3,
        Noise = new NoiseLevels(0.002, 0.05, 0.001),
        Labels = LabelKinds.All,
    };

    private static readonly GaussianProcessOptions Serial = new() { MaxDegreeOfParallelism = 1 };

    private static readonly StillingerWeber Reference = StillingerWeber.DefaultBinary(14, 32);

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

    /// <summary>Frames of a 1000 K reference run (labels stripped: the pool is unlabelled).</summary>
    private static List<Structure> Pool(int frames, int seed)
    {
        var s = Crystal();
        var md = new Langevin(s, Reference, 2.0, 1000, 0.02, seed, MaxwellBoltzmann.SampleVelocities(s.MassesAmu(), 1000, seed));
        return md.Sample(frames * 10, 10).Select(f => f.CloneWithoutLabels()).ToList();
    }

    private static ForceField StartModel()
    {
        var first = Pool(1, 99)[0];
        Reference.Calculate(first).ApplyAsLabels(first);
        var model = ForceField.Create(Settings, Serial);
        model.Train([first]);
        model.RefitOptions = new HyperparameterFitOptions { MaxIterations = 3 };
        return model;
    }

    private static double ForceMaeMevPerA(ForceField ff, IEnumerable<Structure> frames) =>
        ErrorSummary.Compute(frames.Select(f =>
        {
            var t = f.CloneWithoutLabels();
            Reference.Calculate(t).ApplyAsLabels(t);
            return (t, ff.Predict(t, uncertainty: false));
        })).Last().ForceMaeMevPerA;

    [Fact]
    public async Task SelectionLabelsTheMostUncertainUntilThePoolIsBelowTheThreshold()
    {
        var pool = Pool(24, 5);
        var model = StartModel();
        double before = ForceMaeMevPerA(model, pool);
        var reports = new List<PoolSelectionProgress>();
        var options = new PoolSelectionOptions { ThresholdEvPerA = 0.04, StructuresPerRound = 3, AtomsPerCall = 6, MaxConcurrency = 2, RefitAtEnd = false };
        var result = await PoolSelection.RunAsync(pool, model, Reference, options, new SyncProgress<PoolSelectionProgress>(reports.Add));
        double after = ForceMaeMevPerA(model, pool);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{result.ReferenceCalls} calls in {result.Rounds} rounds, final max σ_F {result.MaxForceStdEvPerA:F3} eV/Å; pool force MAE {before:F1} → {after:F1} meV/Å"));

        Assert.True(result.Converged);
        Assert.True(result.MaxForceStdEvPerA <= 0.04);
        Assert.InRange(result.ReferenceCalls, 2, pool.Count / 2);
        Assert.Equal(1 + result.ReferenceCalls, model.TrainingStructureCount);
        Assert.All(result.Calls, c => Assert.True(c.MaxForceStdEvPerA > c.ThresholdEvPerA));
        Assert.All(result.Calls, c => Assert.Equal(6, c.Atoms.Length));
        Assert.Equal(result.Calls.Count, result.Calls.Select(c => c.PoolIndex).Distinct().Count());
        Assert.All(result.Calls.GroupBy(c => c.Round), g => Assert.InRange(g.Count(), 1, 3));
        Assert.Equal(result.Rounds + 1, reports.Count);
        // Each round takes the most uncertain structures first: the first round's trigger is the largest of all.
        Assert.Equal(reports[0].MaxForceStdEvPerA, result.Calls.Where(c => c.Round == 1).Max(c => c.MaxForceStdEvPerA));
        Assert.True(after < 0.7 * before, $"pool force MAE {before:F1} → {after:F1} meV/Å");
        // The logged errors are those of the model that chose the structures (before the round's updates).
        var start = StartModel();
        Assert.All(result.Calls.Where(c => c.Round == 1), c => Assert.Equal(
            start.Calculate(pool[c.PoolIndex]).EnergyEv!.Value - Reference.Calculate(pool[c.PoolIndex]).EnergyEv!.Value, c.EnergyErrorEv!.Value, 9));
    }

    [Fact]
    public async Task BudgetStopsTheSelectionAndConcurrencyDoesNotChangeTheResult()
    {
        var pool = Pool(12, 8);
        var options = new PoolSelectionOptions { ThresholdEvPerA = 0.01, StructuresPerRound = 3, MaxReferenceCalls = 5, AtomsPerCall = 4, RefitAtEnd = false };
        var serialModel = StartModel();
        var serial = await PoolSelection.RunAsync(pool, serialModel, Reference, options with { MaxConcurrency = 1 });
        var concurrentModel = StartModel();
        var probe = new ConcurrencyProbe(Reference, expected: 3);
        var concurrent = await PoolSelection.RunAsync(pool, concurrentModel, probe, options with { MaxConcurrency = 3 });

        Assert.False(serial.Converged);
        Assert.Equal(5, serial.ReferenceCalls);
        Assert.Equal([3, 2], serial.Calls.GroupBy(c => c.Round).Select(g => g.Count()));
        Assert.Equal(3, probe.MaxInFlight); // the three calls of the first round ran at the same time
        Assert.Equal(serial.Calls.Select(c => (c.PoolIndex, c.Round)), concurrent.Calls.Select(c => (c.PoolIndex, c.Round)));
        Assert.Equal(serialModel.Model.Alpha.ToArray(), concurrentModel.Model.Alpha.ToArray());
    }

    [Fact]
    public async Task FailingStructureIsRetriedThenLeftOutAndListed()
    {
        var pool = Pool(8, 3);
        var model = StartModel();
        var bad = pool[2];
        var failures = new List<ReferenceFailure>();
        var reference = new FailOn(Reference, s => ReferenceEquals(s.Positions, bad.Positions) || s.Positions[0] == bad.Positions[0]);
        var options = new PoolSelectionOptions { ThresholdEvPerA = 0.0, StructuresPerRound = 8, MaxConcurrency = 2, MaxAttempts = 2, RefitAtEnd = false, Retry = f => { lock (failures) { failures.Add(f); } return true; } };
        var result = await PoolSelection.RunAsync(pool, model, reference, options);

        var failure = Assert.Single(result.Failures);
        Assert.Equal(2, failure.PoolIndex);
        Assert.Equal(2, failure.Attempts);
        Assert.Contains("SCF did not converge", failure.Message, StringComparison.Ordinal);
        Assert.Equal(2, Assert.Single(failures).Step);
        Assert.Equal(7, result.ReferenceCalls);
        Assert.DoesNotContain(result.Calls, c => c.PoolIndex == 2);
    }

    [Fact]
    public async Task EveryCallOfARoundFailingStopsWithAClearMessage()
    {
        var pool = Pool(4, 4);
        var model = StartModel();
        var options = new PoolSelectionOptions { ThresholdEvPerA = 0.0, StructuresPerRound = 2, MaxAttempts = 1 };
        var error = await Assert.ThrowsAsync<ReferenceCalculationException>(() => PoolSelection.RunAsync(pool, model, new FailOn(Reference, _ => true), options));
        Assert.Equal("Every reference calculation (FailOn) of round 1 failed (2 structures, 1 attempt(s) each); the selection stopped with 0 structures added. First error (pool structure 1): SCF did not converge", error.Message);
        Assert.Equal(1, model.TrainingStructureCount);
    }

    [Fact]
    public async Task BadOptionsAreRefusedNamingTheOption()
    {
        var model = StartModel();
        var error = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => PoolSelection.RunAsync(Pool(2, 1), model, Reference, new PoolSelectionOptions { MaxConcurrency = 0 }));
        Assert.Equal("PoolSelectionOptions.MaxConcurrency = 0: the concurrency must be a whole number ≥ 1.", error.Message);
    }

    private sealed class SyncProgress<T>(Action<T> action) : IProgress<T>
    {
        public void Report(T value) => action(value);
    }

    /// <summary>Waits (up to 20 s) until <c>expected</c> calls are in flight at once, and records the most seen.</summary>
    private sealed class ConcurrencyProbe(ICalculator inner, int expected) : ICalculator
    {
        private int _inFlight;
        private int _max;

        public int MaxInFlight => _max;

        public CalculatorProperties ImplementedProperties => inner.ImplementedProperties;

        public CalculationResult Calculate(Structure structure, CalculatorProperties properties, CancellationToken cancellationToken = default)
        {
            int now = Interlocked.Increment(ref _inFlight);
            InterlockedMax(ref _max, now);
            SpinWait.SpinUntil(() => Volatile.Read(ref _max) >= expected, TimeSpan.FromSeconds(20));
            try
            {
                return inner.Calculate(structure, properties, cancellationToken);
            }
            finally
            {
                Interlocked.Decrement(ref _inFlight);
            }
        }

        private static void InterlockedMax(ref int target, int value)
        {
            int seen;
            while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
            {
            }
        }
    }

    private sealed class FailOn(ICalculator inner, Func<Structure, bool> fails) : ICalculator
    {
        public CalculatorProperties ImplementedProperties => inner.ImplementedProperties;

        public CalculationResult Calculate(Structure structure, CalculatorProperties properties, CancellationToken cancellationToken = default) =>
            fails(structure) ? throw new InvalidOperationException("SCF did not converge") : inner.Calculate(structure, properties, cancellationToken);
    }
}
