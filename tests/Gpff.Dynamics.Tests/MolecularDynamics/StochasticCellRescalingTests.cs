using Gpff.Dynamics.MolecularDynamics;
using Gpff.Dynamics.Potentials;
using Gpff.Geometry;

namespace Gpff.Dynamics.Tests.MolecularDynamics;

public class StochasticCellRescalingTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const double GpaPerEvPerA3 = 160.21766208; // typed here on purpose: an independent check of Units
    private const double BoltzmannEvPerK = 8.617333262e-5;

    private sealed class Recording(ICalculator inner, CalculatorProperties? implemented = null) : ICalculator
    {
        public List<CalculatorProperties> Requests { get; } = [];

        public CalculatorProperties ImplementedProperties => implemented ?? inner.ImplementedProperties;

        public CalculationResult Calculate(Structure structure, CalculatorProperties properties, CancellationToken cancellationToken = default)
        {
            this.ThrowIfNotImplemented(properties);
            Requests.Add(properties);
            return inner.Calculate(structure, properties, cancellationToken);
        }
    }

    private static Structure Silicon64() => TestStructures.Diamond(5.431).Repeat(2, 2, 2);

    private static StochasticCellRescaling Npt(Structure s, ICalculator calculator, double pressureGpa, int seed) =>
        new(s, calculator, timeStepFs: 1.0, temperatureK: 300, pressureGpa: pressureGpa, frictionPerFs: 0.02, barostatTimeFs: 100,
            compressibilityPerGpa: 0.01, seed: seed, velocitiesAPerFs: MaxwellBoltzmann.SampleVelocities(s.MassesAmu(), 300, seed));

    /// <summary>
    /// Mean and its standard error from the means of 10 consecutive blocks, each several times longer than the
    /// correlation time of what is averaged (so the block means are nearly independent; 4 standard errors is
    /// then a two-sided tolerance of about 0.3 % for the t distribution with 9 degrees of freedom).
    /// </summary>
    private static (double Mean, double Error) BlockAverage(IReadOnlyList<double> x)
    {
        const int blocks = 10;
        int length = x.Count / blocks;
        var means = Enumerable.Range(0, blocks).Select(b => x.Skip(b * length).Take(length).Average()).ToArray();
        double mean = means.Average();
        double variance = means.Sum(m => (m - mean) * (m - mean)) / (blocks - 1);
        return (mean, Math.Sqrt(variance / blocks));
    }

    [Fact]
    public void NptReachesTheTargetPressureOnAverageAndHigherPressureGivesASmallerVolume()
    {
        // 64 atoms of Stillinger–Weber silicon at 300 K: 1000 steps to equilibrate, 4000 to average, at 0 GPa
        // and then, on the same trajectory, at 10 GPa (the volume relaxes in ~90 fs). Tolerance: the mean pressure
        // within 4 standard errors (10 blocks of 400 fs; ~0.1 GPa here, against instantaneous fluctuations of ~0.6 GPa), and the error
        // itself below 0.3 GPa so that the test cannot pass by being noisy.
        var s = Silicon64();
        var md = Npt(s, StillingerWeber.Silicon(), pressureGpa: 0, seed: 42);
        var results = new List<(double P, double V, double T, double VarV)>();
        foreach (double target in new[] { 0.0, 10.0 })
        {
            md.PressureTargetGpa = target;
            md.Run(1000);
            var p = new List<double>();
            var v = new List<double>();
            var t = new List<double>();
            for (int i = 0; i < 4000; i++)
            {
                md.Step();
                p.Add(md.PressureGpa);
                v.Add(md.VolumeA3);
                t.Add(md.TemperatureK);
            }

            var (mp, ep) = BlockAverage(p);
            var (mv, ev) = BlockAverage(v);
            double varV = v.Sum(x => (x - mv) * (x - mv)) / v.Count;
            output.WriteLine($"target {target} GPa: <P> = {mp:F3} ± {ep:F3} GPa, <V> = {mv:F2} ± {ev:F2} Å³, var V = {varV:F1} Å⁶, <T> = {t.Average():F1} K");
            Assert.True(ep < 0.3, $"standard error {ep} GPa");
            Assert.True(Math.Abs(mp - target) < 4 * ep, $"<P> = {mp} ± {ep} GPa, target {target}");
            Assert.True(Math.Abs(t.Average() - 300) < 20);
            results.Add((mp, mv, t.Average(), varV));
        }

        Assert.True(results[1].V < 0.95 * results[0].V, $"<V> {results[1].V} Å³ at 10 GPa vs {results[0].V} Å³ at 0 GPa");

        // The barostat's noise gives the right volume fluctuations: var V = k_B·T·V·β_T (fluctuation–response),
        // with β_T measured from the two mean volumes. A barostat without noise (Berendsen) fails this by far.
        double beta = Math.Log(results[0].V / results[1].V) / (10 / GpaPerEvPerA3); // Å³/eV
        double expected = BoltzmannEvPerK * 300 * results[0].V * beta;
        output.WriteLine($"var V at 0 GPa {results[0].VarV:F1} Å⁶, k_B·T·V·β_T = {expected:F1} Å⁶ (β_T = {beta / GpaPerEvPerA3:E3} 1/GPa)");
        Assert.InRange(results[0].VarV / expected, 0.5, 2.0);
    }

    [Fact]
    public void AnisotropicNptDrivesEveryStressComponentToMinusThePressureAndRestoresACubicCell()
    {
        // Diamond silicon in a strained, sheared cell. The isotropic barostat keeps that shape (a stress
        // anisotropy of several GPa remains); the anisotropic one relaxes every component of the mean pressure
        // tensor to P₀ within 4 standard errors (block averages) and brings back a cubic cell.
        var strain = new Mat3(1.03, 0.02, 0, 0.02, 1.0, 0, 0, 0, 0.97);
        const double target = 5;
        var sw = StillingerWeber.Silicon();

        var iso = Npt(Silicon64().Deformed(strain), sw, target, seed: 7);
        iso.Run(300);
        var isoP = new List<Voigt>();
        for (int i = 0; i < 1000; i++)
        {
            iso.Step();
            isoP.Add(iso.PressureTensorGpa);
        }

        double isoAnisotropy = isoP.Average(p => p.XX - p.ZZ);
        output.WriteLine($"isotropic: <P_xx − P_zz> = {isoAnisotropy:F2} GPa, <P_xy> = {isoP.Average(p => p.XY):F2} GPa");
        Assert.True(Math.Abs(isoAnisotropy) > 2, "the strained cell should carry an anisotropic stress under the isotropic barostat");

        // The shape relaxes on τ_p·3/(β_T·C′) ≈ 1 ps at β_T = 0.01/GPa (C′ ≈ 37 GPa): a larger β_T makes it ~300 fs,
        // so that 2 ps equilibrate and 800-fs blocks are nearly independent. A 64-atom cell's shape fluctuates by
        // ~1 % (k_BT/(V·C′)), so the mean lengths are compared to 1 % (they start 6 % apart).
        var s = Silicon64().Deformed(strain);
        var md = new StochasticCellRescaling(s, sw, timeStepFs: 1.0, temperatureK: 300, pressureGpa: target, frictionPerFs: 0.02, barostatTimeFs: 100,
            compressibilityPerGpa: 0.03, seed: 7, velocitiesAPerFs: MaxwellBoltzmann.SampleVelocities(s.MassesAmu(), 300, 7))
        {
            Coupling = BarostatCoupling.Anisotropic,
        };
        md.Run(2000);
        var components = Enumerable.Range(0, 6).Select(_ => new List<double>()).ToArray();
        var lengths = Enumerable.Range(0, 3).Select(_ => new List<double>()).ToArray();
        var cosines = new List<double>();
        for (int i = 0; i < 8000; i++)
        {
            md.Step();
            var p = md.PressureTensorGpa;
            for (int k = 0; k < 6; k++)
            {
                components[k].Add(p[k]);
            }

            for (int k = 0; k < 3; k++)
            {
                lengths[k].Add(s.Cell.Row(k).Length);
            }

            cosines.Add(Vec3.Dot(s.Cell.Row0, s.Cell.Row1) / (s.Cell.Row0.Length * s.Cell.Row1.Length));
        }

        for (int k = 0; k < 6; k++)
        {
            var (mean, error) = BlockAverage(components[k]);
            double expected = k < 3 ? target : 0;
            output.WriteLine($"component {k}: <P> = {mean:F3} ± {error:F3} GPa (target {expected})");
            Assert.True(error < 0.4, $"component {k}: standard error {error} GPa");
            Assert.True(Math.Abs(mean - expected) < 4 * error, $"component {k}: <P> = {mean} ± {error} GPa, target {expected}");
        }

        var a = lengths.Select(l => l.Average()).ToArray();
        output.WriteLine($"<|a|>, <|b|>, <|c|> = {a[0]:F4}, {a[1]:F4}, {a[2]:F4} Å; <cos γ> = {cosines.Average():E2}");
        Assert.True(a.Max() - a.Min() < 0.01 * a[0]);
        Assert.True(Math.Abs(cosines.Average()) < 0.01); // 0.039 at the start
    }

    [Fact]
    public void TheSameSeedGivesTheSameTrajectoryAndAnotherSeedAnother()
    {
        var sw = StillingerWeber.Silicon();
        double Run(int seed)
        {
            var s = Silicon64();
            var md = Npt(s, sw, pressureGpa: 5, seed: seed);
            md.Run(200);
            return md.VolumeA3 + s.Positions[7].X;
        }

        Assert.Equal(Run(3), Run(3));
        Assert.NotEqual(Run(3), Run(4));
    }

    [Fact]
    public void TheCellKeepsItsShapeUnderIsotropicRescaling()
    {
        var s = TestStructures.RattledBinary(seed: 5, rattleA: 0.05);
        var shape = s.Cell;
        var md = new StochasticCellRescaling(s, StillingerWeber.DefaultBinary(), 1.0, 300, 20, 0.02, 50, 0.01, seed: 1);
        md.Run(50);
        double scale = Math.Cbrt(s.VolumeA3 / Math.Abs(shape.Determinant));
        Assert.True(Math.Abs(scale - 1) > 1e-3, "the volume should have moved");
        for (int k = 0; k < 9; k++)
        {
            Assert.Equal(scale * shape[k / 3, k % 3], s.Cell[k / 3, k % 3], 1e-10);
        }
    }

    [Fact]
    public void EachStepAsksForForcesAndStressOnly()
    {
        var calc = new Recording(StillingerWeber.Silicon());
        var md = Npt(Silicon64(), calc, pressureGpa: 0, seed: 1);
        calc.Requests.Clear();
        md.Run(5);
        Assert.Equal(Enumerable.Repeat(CalculatorProperties.Forces | CalculatorProperties.Stress, 5), calc.Requests);
        _ = md.PressureGpa; // computed from the stress already there
        Assert.Equal(5, calc.Requests.Count);
        _ = md.PotentialEnergyEv; // one more call, for the energy only
        Assert.Equal(CalculatorProperties.Energy, calc.Requests[^1]);
    }

    [Fact]
    public void PressureIsTheVirialPlusTheKineticTerm()
    {
        var s = Silicon64();
        var md = Npt(s, StillingerWeber.Silicon(), pressureGpa: 0, seed: 9);
        md.Run(10);
        var stress = StillingerWeber.Silicon().Calculate(s, CalculatorProperties.Stress).StressEvPerA3!.Value;
        double kinetic = 0;
        var m = s.MassesAmu();
        for (int i = 0; i < m.Length; i++)
        {
            kinetic += 0.5 * m[i] * md.Velocities[i].LengthSquared * 103.642696562; // amu·Å²/fs² in eV
        }

        double expected = (-(stress.XX + stress.YY + stress.ZZ) / 3 + 2 * kinetic / (3 * s.VolumeA3)) * GpaPerEvPerA3;
        Assert.Equal(expected, md.PressureGpa, 1e-6);
    }

    [Fact]
    public void CalculatorWithoutStressAndNonPeriodicCellsAreClearErrors()
    {
        var noStress = new Recording(StillingerWeber.Silicon(), CalculatorProperties.Energy | CalculatorProperties.Forces);
        var ex = Assert.Throws<ArgumentException>(() => Npt(Silicon64(), noStress, 0, 1));
        Assert.Contains("stress", ex.Message, StringComparison.Ordinal);

        var slab = Silicon64();
        slab.Pbc = new Pbc(true, true, false);
        var ex2 = Assert.Throws<ArgumentException>(() => Npt(slab, StillingerWeber.Silicon(), 0, 1));
        Assert.Contains("periodic", ex2.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new StochasticCellRescaling(Silicon64(), StillingerWeber.Silicon(), 1, 300, 0, 0.01, barostatTimeFs: 0, 0.01, 1));
    }
}
