using Gpff.Dynamics.MolecularDynamics;
using Gpff.Dynamics.Potentials;
using Gpff.Geometry;

namespace Gpff.Dynamics.Tests.MolecularDynamics;

public class IntegratorTests(Xunit.Abstractions.ITestOutputHelper output)
{
    /// <summary>A constant force on every atom (no neighbours needed).</summary>
    private sealed class ConstantForce(Vec3 forceEvPerA) : ICalculator
    {
        public CalculatorProperties ImplementedProperties => CalculatorProperties.Energy | CalculatorProperties.Forces;

        public CalculationResult Calculate(Structure structure, CalculatorProperties properties, CancellationToken cancellationToken = default) => new()
        {
            EnergyEv = -structure.Positions.Sum(p => Vec3.Dot(forceEvPerA, p)),
            ForcesEvPerA = Enumerable.Repeat(forceEvPerA, structure.AtomCount).ToArray(),
        };
    }

    /// <summary>Stillinger–Weber that records what each call asks for and checks it gets nothing else.</summary>
    private sealed class Recording(ICalculator inner) : ICalculator
    {
        public List<CalculatorProperties> Requests { get; } = [];

        public CalculatorProperties ImplementedProperties => inner.ImplementedProperties;

        public CalculationResult Calculate(Structure structure, CalculatorProperties properties, CancellationToken cancellationToken = default)
        {
            Requests.Add(properties);
            return inner.Calculate(structure, properties, cancellationToken);
        }
    }

    private static Structure SiliconCrystal(int seed, int z2 = 14)
    {
        var s = TestStructures.Diamond(5.431).Repeat(2, 2, 2);
        var rng = new Random(seed);
        var z = Enumerable.Range(0, s.AtomCount).Select(i => i % 2 == 0 ? 14 : z2).ToArray();
        var pos = s.Positions.Select(p => p + 0.05 * new Vec3(rng.NextDouble() - 0.5, rng.NextDouble() - 0.5, rng.NextDouble() - 0.5)).ToArray();
        return new Structure(z, pos, s.Cell, Pbc.All);
    }

    [Fact]
    public void UnitsOfAccelerationAndKineticEnergyAreRight()
    {
        // Independent of the code: 1 eV/(Å·amu) = e/(1e-10 m · u) m/s², ×1e10 Å/m ×1e-30 s²/fs².
        double expected = 1.602176634e-19 / (1e-10 * 1.66053906660e-27) * 1e-20;
        Assert.True(Math.Abs(expected - MdUnits.AccelerationAPerFs2) < 1e-15);
        Assert.True(Math.Abs(MdUnits.AmuA2PerFs2InEv - 103.6427) < 1e-4); // 1 amu·Å²/fs² in eV

        // Velocity Verlet is exact for a constant force: x = ½·(F/m)·t², v = (F/m)·t.
        var s = new Structure([18], [Vec3.Zero], Mat3.Diagonal(10, 10, 10), new Pbc(false, false, false));
        double m = s.MassesAmu()[0];
        var md = new VelocityVerlet(s, new ConstantForce(new Vec3(0.5, 0, -0.25)), timeStepFs: 2);
        md.Run(50);
        double t = 100, a = 0.5 / m * expected;
        Assert.Equal(0.5 * a * t * t, s.Positions[0].X, 1e-10);
        Assert.Equal(-0.25 * a * t * t, s.Positions[0].Z, 1e-10);
        Assert.Equal(a * t, md.Velocities[0].X, 1e-12);
        Assert.Equal(100, md.TimeFs, 1e-12);

        // Kinetic energy equals the work done: F·x (energy conservation, exact here).
        Assert.Equal(0.5 * s.Positions[0].X + 0.25 * -s.Positions[0].Z, md.KineticEnergyEv, 1e-10);
    }

    [Fact]
    public void MaxwellBoltzmannVelocitiesHaveTheTemperatureAndNoMomentum()
    {
        const int n = 3000;
        var masses = Enumerable.Range(0, n).Select(i => i % 3 == 0 ? 15.999 : 137.327).ToArray();
        var v = MaxwellBoltzmann.SampleVelocities(masses, 800, seed: 11);
        var p = Vec3.Zero;
        for (int i = 0; i < n; i++)
        {
            p += masses[i] * v[i];
        }

        Assert.True(p.Length < 1e-10);

        // Relative standard deviation of a kinetic temperature over 3N−3 ≈ 9000 components is √(2/9000) ≈ 1.5 %; allow 4σ.
        double t = MaxwellBoltzmann.KineticTemperatureK(masses, v, 3 * n - 3);
        Assert.Equal(800, t, 800 * 4 * Math.Sqrt(2.0 / (3 * n)));

        // Per-species equipartition: ⟨½mv²⟩ is the same for light and heavy atoms.
        double keLight = Enumerable.Range(0, n).Where(i => i % 3 == 0).Average(i => masses[i] * v[i].LengthSquared);
        double keHeavy = Enumerable.Range(0, n).Where(i => i % 3 != 0).Average(i => masses[i] * v[i].LengthSquared);
        Assert.Equal(1, keLight / keHeavy, 0.1);

        var exact = MaxwellBoltzmann.SampleVelocities(masses[..10], 300, seed: 1, exactTemperature: true);
        Assert.Equal(300, MaxwellBoltzmann.KineticTemperatureK(masses[..10], exact, 27), 1e-9);
        Assert.Equal(MaxwellBoltzmann.SampleVelocities(masses, 800, seed: 11), v);
    }

    [Fact]
    public void NveConservesEnergyAndMomentumWithSecondOrderError()
    {
        var sw = StillingerWeber.DefaultBinary();
        (double Fluctuation, double Drift, double Momentum) Run(double dt, int steps)
        {
            var s = SiliconCrystal(seed: 3, z2: 32);
            var v = MaxwellBoltzmann.SampleVelocities(s.MassesAmu(), 600, seed: 4);
            var md = new VelocityVerlet(s, sw, dt, v);
            var energies = new List<double> { md.State.TotalEnergyEv };
            md.Attach(d => energies.Add(d.State.TotalEnergyEv));
            md.Run(steps);
            double e0 = energies[0];
            double fluctuation = energies.Max(e => Math.Abs(e - e0)) / s.AtomCount;
            int q = energies.Count / 4;
            double drift = (energies.TakeLast(q).Average() - energies.Take(q).Average()) / s.AtomCount;
            return (fluctuation, drift, md.TotalMomentum.Length);
        }

        var fine = Run(0.5, 600);
        var coarse = Run(1.0, 300);
        Assert.True(coarse.Fluctuation < 2e-4, $"energy fluctuation {coarse.Fluctuation} eV/atom at 1 fs");
        Assert.True(Math.Abs(coarse.Drift) < 5e-5, $"energy drift {coarse.Drift} eV/atom over 300 fs");
        Assert.True(coarse.Momentum < 1e-10, $"total momentum {coarse.Momentum} amu·Å/fs");

        // Verlet is second order: halving Δt divides the energy error by about 4.
        double ratio = coarse.Fluctuation / fine.Fluctuation;
        output.WriteLine($"NVE 64 atoms, 600 K: fluctuation {coarse.Fluctuation:E2} eV/atom at 1 fs, {fine.Fluctuation:E2} at 0.5 fs (ratio {ratio:F2}); drift {coarse.Drift:E2} eV/atom; |P| {coarse.Momentum:E1}");
        Assert.InRange(ratio, 2.8, 5.5);
    }

    [Fact]
    public void LangevinHoldsTheTargetTemperature()
    {
        var s = SiliconCrystal(seed: 5, z2: 32);
        var md = new Langevin(s, StillingerWeber.DefaultBinary(), timeStepFs: 1, temperatureK: 500, frictionPerFs: 0.05, seed: 6);
        Assert.Equal(0, md.TemperatureK); // starts at rest
        md.Run(400);
        var temperatures = new List<double>();
        md.Attach(d => temperatures.Add(d.TemperatureK));
        md.Run(2400);

        // 64 atoms, 192 components: one sample has relative σ = √(2/192) ≈ 10 %. Velocities decorrelate on
        // 1/(2γ) = 10 fs and the kinetic–potential exchange on phonon periods of ~100 fs, so 2400 fs hold at
        // least ~24 independent samples: σ of the mean ≤ 2 %. Allow 6 % (3σ) for the statistics.
        double mean = temperatures.Average();
        output.WriteLine($"Langevin 500 K: mean {mean:F1} K, min {temperatures.Min():F0}, max {temperatures.Max():F0}");
        Assert.InRange(mean, 470, 530);
        Assert.True(temperatures.Max() > 520 && temperatures.Min() < 480, "the temperature fluctuates as it should");

        // Reproducible for a seed, different for another.
        double Final(int seed)
        {
            var m = new Langevin(SiliconCrystal(seed: 5, z2: 32), StillingerWeber.DefaultBinary(), 1, 500, 0.05, seed);
            m.Run(20);
            return m.Structure.Positions[0].X;
        }

        Assert.Equal(Final(9), Final(9));
        Assert.NotEqual(Final(9), Final(10));
    }

    [Fact]
    public void ObserversProgressSnapshotsAndCancellation()
    {
        var sw = StillingerWeber.Silicon();
        var s = SiliconCrystal(seed: 1);
        var md = new VelocityVerlet(s, sw, 1, MaxwellBoltzmann.SampleVelocities(s.MassesAmu(), 300, seed: 2));
        int calls = 0;
        md.Attach(_ => calls++, interval: 10);
        var reported = new List<MolecularDynamicsStep>();
        md.Run(50, new SynchronousProgress(reported.Add));
        Assert.Equal(5, calls);
        Assert.Equal(Enumerable.Range(1, 50), reported.Select(r => r.Step));
        Assert.Equal(50, md.StepCount);

        var snaps = md.Sample(100, 25).ToList();
        Assert.Equal([75L, 100L, 125L, 150L], snaps.Select(x => (long)x.Info["md_step"]));
        var last = snaps[^1];
        Assert.Equal(150.0, (double)last.Info["time_fs"]);
        var check = sw.Calculate(last);
        Assert.Equal(check.EnergyEv!.Value, last.EnergyEv!.Value, 1e-12);
        Assert.Equal(check.ForcesEvPerA, last.ForcesEvPerA);
        Assert.Equal(check.StressEvPerA3, last.StressEvPerA3);
        Assert.NotSame(s.Positions, snaps[0].Positions);
        Assert.NotEqual(snaps[0].Positions[0], snaps[1].Positions[0]);
        Assert.Equal(3, last.AtomProperties["velocities"].Columns);

        // The moving structure's labels always describe its current positions.
        Assert.Equal(md.PotentialEnergyEv, s.EnergyEv);

        using var cts = new CancellationTokenSource();
        md.Attach(d => { if (d.StepCount == 160) { cts.Cancel(); } });
        Assert.Throws<OperationCanceledException>(() => md.Run(100, cancellationToken: cts.Token));
        Assert.Equal(160, md.StepCount);
    }

    [Fact]
    public void EachStepAsksForForcesOnlyUnlessTheEnergyIsRead()
    {
        const CalculatorProperties f = CalculatorProperties.Forces, e = CalculatorProperties.Energy;
        var sw = StillingerWeber.DefaultBinary();
        var s = SiliconCrystal(seed: 7, z2: 32);
        var calc = new Recording(sw);
        var md = new VelocityVerlet(s, calc, 1, MaxwellBoltzmann.SampleVelocities(s.MassesAmu(), 500, seed: 8));
        Assert.Equal([f], calc.Requests);
        Assert.Null(md.Current.EnergyEv);
        Assert.Null(s.EnergyEv); // no stale label: the energy was not computed

        // An observer that reads the energy every 5 steps: steps 5 and 10 ask for it with the forces.
        var seen = new List<(int Step, double EnergyEv)>();
        md.Attach(d => seen.Add((d.StepCount, d.PotentialEnergyEv)), interval: 5);
        md.Run(10);
        Assert.Equal([f, f, f, f, f, f | e, f, f, f, f, f | e], calc.Requests);
        Assert.Equal([5, 10], seen.Select(x => x.Step));
        Assert.Equal(sw.Calculate(s, e).EnergyEv!.Value, seen[^1].EnergyEv, 1e-12);
        Assert.Equal(seen[^1].EnergyEv, s.EnergyEv);

        // Read after a step nobody observed: one more call, for the energy alone, at the same positions.
        calc.Requests.Clear();
        md.Step();
        Assert.Equal([f], calc.Requests);
        Assert.Null(md.Current.EnergyEv);
        double energy = md.PotentialEnergyEv;
        Assert.Equal([f, e], calc.Requests);
        Assert.Equal(sw.Calculate(s, e).EnergyEv!.Value, energy, 1e-12);
        Assert.Equal(energy, s.EnergyEv);
        Assert.Equal(energy, md.State.PotentialEnergyEv); // now known: no further call
        Assert.Equal([f, e], calc.Requests);

        // Progress reports read the energy after every step; snapshots ask for energy, forces and stress.
        calc.Requests.Clear();
        md.Run(3, new SynchronousProgress(_ => { }));
        Assert.Equal([f | e, f | e, f | e], calc.Requests);
        calc.Requests.Clear();
        var snaps = md.Sample(4, 2).ToList();
        var efs = CalculatorProperties.EnergyForcesStress;
        Assert.Equal([f | e, efs, f, efs], calc.Requests); // steps 15 (the observer's), 16, 17, 18
        Assert.All(snaps, x => Assert.True(x.EnergyEv is not null && x.ForcesEvPerA is not null && x.StressEvPerA3 is not null));

        // An observer declared as reading nothing costs nothing; PropertiesEveryStep adds to every step.
        calc.Requests.Clear();
        var quiet = new VelocityVerlet(SiliconCrystal(seed: 7, z2: 32), calc, 1);
        quiet.Attach(d => _ = d.TemperatureK, properties: CalculatorProperties.None);
        quiet.Run(2);
        quiet.PropertiesEveryStep = CalculatorProperties.Stress;
        quiet.Run(1);
        Assert.Equal([f, f, f, f | CalculatorProperties.Stress], calc.Requests);
        Assert.NotNull(quiet.Current.StressEvPerA3);
    }

    [Fact]
    public void NveEnergyReadEveryTenStepsMatchesTheEnergyComputedEveryStep()
    {
        // The same trajectory whether the energy is asked at every step or only where it is read.
        var sw = StillingerWeber.DefaultBinary();
        double[] Energies(bool everyStep)
        {
            var s = SiliconCrystal(seed: 9, z2: 32);
            var md = new VelocityVerlet(s, sw, 1, MaxwellBoltzmann.SampleVelocities(s.MassesAmu(), 600, seed: 10));
            if (everyStep)
            {
                md.PropertiesEveryStep = CalculatorProperties.EnergyForcesStress;
            }

            var totals = new List<double>();
            md.Attach(d => totals.Add(d.State.TotalEnergyEv), interval: 10);
            md.Run(100);
            return [.. totals];
        }

        var lazy = Energies(everyStep: false);
        Assert.Equal(10, lazy.Length);
        Assert.Equal(Energies(everyStep: true), lazy);
        Assert.True(lazy.Max() - lazy.Min() < 64 * 2e-4, "NVE conserves the energy that is read");
    }

    [Fact]
    public void AskingForAPropertyTheCalculatorLacksIsAClearError()
    {
        var s = SiliconCrystal(seed: 1);
        var sw = StillingerWeber.Silicon();
        var ex = Assert.Throws<NotSupportedException>(() => sw.Calculate(s, CalculatorProperties.Forces | CalculatorProperties.Uncertainty));
        Assert.Contains("StillingerWeber does not compute Uncertainty", ex.Message);

        // A forces-only calculator drives MD; reading the energy it cannot give says so.
        var md = new VelocityVerlet(s, new ForcesOnly(sw), 1);
        md.Run(2);
        var ex2 = Assert.Throws<NotSupportedException>(() => md.PotentialEnergyEv);
        Assert.Contains("ForcesOnly does not compute Energy", ex2.Message);
        Assert.Throws<ArgumentException>(() => new VelocityVerlet(s, new EnergyOnly(sw), 1));
    }

    [Fact]
    public void StillingerWeberComputesOnlyWhatIsAskedAndTheSameValues()
    {
        var s = SiliconCrystal(seed: 2, z2: 32);
        var sw = StillingerWeber.DefaultBinary();
        var full = sw.Calculate(s);
        Assert.NotNull(full.EnergyEv);
        Assert.NotNull(full.StressEvPerA3);
        Assert.NotNull(full.LocalEnergiesEv);
        var forces = sw.Calculate(s, CalculatorProperties.Forces);
        Assert.Null(forces.EnergyEv);
        Assert.Null(forces.StressEvPerA3);
        Assert.Null(forces.LocalEnergiesEv);
        Assert.Equal(full.ForcesEvPerA, forces.ForcesEvPerA);
        var energy = sw.Calculate(s, CalculatorProperties.Energy);
        Assert.Null(energy.ForcesEvPerA);
        Assert.Equal(full.EnergyEv, energy.EnergyEv);
        var stress = sw.Calculate(s, CalculatorProperties.Stress);
        Assert.Null(stress.ForcesEvPerA);
        Assert.Equal(full.StressEvPerA3, stress.StressEvPerA3);

        // Stress of a cell that is not periodic along all axes is not defined: null, not an error.
        var slab = new Structure(s.AtomicNumbers.ToArray(), s.Positions, s.Cell, new Pbc(true, true, false));
        Assert.Null(sw.Calculate(slab, CalculatorProperties.Forces | CalculatorProperties.Stress).StressEvPerA3);
    }

    private sealed class ForcesOnly(ICalculator inner) : ICalculator
    {
        public CalculatorProperties ImplementedProperties => CalculatorProperties.Forces;

        public CalculationResult Calculate(Structure structure, CalculatorProperties properties, CancellationToken cancellationToken = default)
        {
            this.ThrowIfNotImplemented(properties);
            return inner.Calculate(structure, properties, cancellationToken);
        }
    }

    private sealed class EnergyOnly(ICalculator inner) : ICalculator
    {
        public CalculatorProperties ImplementedProperties => CalculatorProperties.Energy;

        public CalculationResult Calculate(Structure structure, CalculatorProperties properties, CancellationToken cancellationToken = default)
        {
            this.ThrowIfNotImplemented(properties);
            return inner.Calculate(structure, properties, cancellationToken);
        }
    }

    [Fact]
    public void BadArgumentsAreClearErrors()
    {
        var s = SiliconCrystal(seed: 1);
        var sw = StillingerWeber.Silicon();
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new VelocityVerlet(s, sw, 0));
        Assert.Equal("timeStepFs = 0 fs: the time step must be a finite number > 0.", ex.Message);
        var ex2 = Assert.Throws<ArgumentException>(() => new VelocityVerlet(s, sw, 1, new Vec3[3]));
        Assert.Contains("3 velocities were given for 64 atoms", ex2.Message);
        var ex3 = Assert.Throws<ArgumentOutOfRangeException>(() => new Langevin(s, sw, 1, -5, 0.01, 1));
        Assert.Contains("temperature", ex3.Message);
        var ex4 = Assert.Throws<ArgumentOutOfRangeException>(() => MaxwellBoltzmann.SampleVelocities([1.0, 0.0], 300, 1));
        Assert.Contains("Atom 1 has mass 0 amu", ex4.Message);
    }

    private sealed class SynchronousProgress(Action<MolecularDynamicsStep> report) : IProgress<MolecularDynamicsStep>
    {
        public void Report(MolecularDynamicsStep value) => report(value);
    }
}
