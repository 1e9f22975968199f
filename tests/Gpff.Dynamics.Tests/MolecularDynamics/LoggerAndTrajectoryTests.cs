using System.Globalization;
using Gpff.Dynamics.MolecularDynamics;
using Gpff.Dynamics.Potentials;
using Gpff.Geometry;
using Gpff.IO;

namespace Gpff.Dynamics.Tests.MolecularDynamics;

public class LoggerAndTrajectoryTests
{
    /// <summary>Stillinger–Weber plus made-up standard deviations (0.01 + 0.05·|F_component|), recording every request.</summary>
    private sealed class WithUncertainty(ICalculator inner) : ICalculator
    {
        public List<CalculatorProperties> Requests { get; } = [];

        public CalculatorProperties ImplementedProperties => inner.ImplementedProperties | CalculatorProperties.Uncertainty;

        public CalculationResult Calculate(Structure structure, CalculatorProperties properties, CancellationToken cancellationToken = default)
        {
            Requests.Add(properties);
            var r = inner.Calculate(structure, properties & ~CalculatorProperties.Uncertainty, cancellationToken);
            if (!properties.HasFlag(CalculatorProperties.Uncertainty))
            {
                return r;
            }

            return r with
            {
                EnergyStdEv = r.EnergyEv is null ? null : 0.02,
                ForcesStdEvPerA = r.ForcesEvPerA?.Select(Std).ToArray(),
                StressStdEvPerA3 = r.StressEvPerA3 is null ? null : new Voigt(1e-4, 1e-4, 1e-4, 1e-4, 1e-4, 1e-4),
            };
        }

        public static Vec3 Std(Vec3 f) => new(0.01 + 0.05 * Math.Abs(f.X), 0.01 + 0.05 * Math.Abs(f.Y), 0.01 + 0.05 * Math.Abs(f.Z));
    }

    private static Structure Silicon64(int seed)
    {
        var s = TestStructures.Diamond(5.431).Repeat(2, 2, 2);
        var rng = new Random(seed);
        var pos = s.Positions.Select(p => p + 0.05 * new Vec3(rng.NextDouble() - 0.5, rng.NextDouble() - 0.5, rng.NextDouble() - 0.5)).ToArray();
        return new Structure(Enumerable.Repeat(14, s.AtomCount), pos, s.Cell, Pbc.All);
    }

    [Fact]
    public void LogRowsHoldTheStateOfTheStepsTheyLogAndCostNoExtraCalculatorCalls()
    {
        var calc = new WithUncertainty(StillingerWeber.Silicon());
        var s = Silicon64(1);
        var md = new StochasticCellRescaling(s, calc, 1.0, 500, 5, 0.02, 100, 0.01, seed: 3, MaxwellBoltzmann.SampleVelocities(s.MassesAmu(), 500, 3));
        var text = new StringWriter();
        using var log = new MolecularDynamicsLogger(text);
        log.Attach(md, interval: 4);
        var expected = new List<(int Step, double Epot, double Ekin, double T, double P, double V, double MaxStd)>();
        md.Attach(d =>
        {
            // Read after the logger, from the same calculator result (no new call).
            var r = d.Current;
            double maxStd = r.ForcesEvPerA!.Select(WithUncertainty.Std).Max(v => Math.Max(v.X, Math.Max(v.Y, v.Z)));
            expected.Add((d.StepCount, r.EnergyEv!.Value, d.KineticEnergyEv, d.TemperatureK, md.PressureGpa, d.Structure.VolumeA3, maxStd));
        }, 4, CalculatorProperties.None);
        int before = calc.Requests.Count;
        md.Run(12);
        Assert.Equal(12, calc.Requests.Count - before); // one call per step: what the log reads comes with that step's forces
        Assert.Equal(3, calc.Requests.Skip(before).Count(p => p.HasFlag(CalculatorProperties.Uncertainty) && p.HasFlag(CalculatorProperties.Energy)));

        var lines = text.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(MolecularDynamicsLogger.Header, lines[0]);
        Assert.Equal(4, lines.Length);
        for (int k = 0; k < 3; k++)
        {
            var f = lines[k + 1].Split(',');
            Assert.Equal(9, f.Length);
            double P(int i) => double.Parse(f[i], CultureInfo.InvariantCulture);
            var e = expected[k];
            Assert.Equal(e.Step, int.Parse(f[0], CultureInfo.InvariantCulture));
            Assert.Equal(4.0 * (k + 1), P(1));
            Assert.Equal(e.Epot, P(2));
            Assert.Equal(e.Ekin, P(3));
            Assert.Equal(e.Epot + e.Ekin, P(4), 1e-12);
            Assert.Equal(e.T, P(5));
            Assert.Equal(e.P, P(6), 1e-9);
            Assert.Equal(e.V, P(7));
            Assert.Equal(e.MaxStd, P(8));
        }
    }

    [Fact]
    public void LogLeavesPressureVolumeAndUncertaintyEmptyWhenTheyDoNotExist()
    {
        var s = Silicon64(2);
        s.Pbc = new Pbc(false, false, false);
        var md = new VelocityVerlet(s, StillingerWeber.Silicon(), 1.0);
        var text = new StringWriter();
        using (var log = new MolecularDynamicsLogger(text))
        {
            log.Attach(md);
            md.Run(2);
        }

        var row = text.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)[2].Split(',');
        Assert.Equal("2", row[0]);
        Assert.Equal(["", "", ""], row[6..]);
        Assert.Equal(CalculatorProperties.Energy, MolecularDynamicsLogger.PropertiesRead(md));
    }

    [Fact]
    public void TrajectoryFramesAreTheStatesOfEveryNthStep()
    {
        var calc = new WithUncertainty(StillingerWeber.Silicon());
        var s = Silicon64(4);
        var md = new Langevin(s, calc, 1.0, 600, 0.01, seed: 5);
        string path = Path.Combine(Path.GetTempPath(), $"gpff-traj-{Guid.NewGuid():N}.extxyz");
        var positions = new List<Vec3[]>();
        try
        {
            using (var traj = TrajectoryWriter.Create(path))
            {
                traj.Attach(md, interval: 5);
                md.Attach(d => positions.Add((Vec3[])d.Structure.Positions.Clone()), 5, CalculatorProperties.None);
                int before = calc.Requests.Count;
                md.Run(20);
                Assert.Equal(20, calc.Requests.Count - before);
                Assert.Equal(4, traj.FrameCount);
            }

            var frames = ExtXyz.Read(path).ToList();
            Assert.Equal(4, frames.Count);
            for (int k = 0; k < 4; k++)
            {
                Assert.Equal(5L * (k + 1), Convert.ToInt64(frames[k].Info["md_step"], CultureInfo.InvariantCulture));
                Assert.NotNull(frames[k].EnergyEv);
                Assert.NotNull(frames[k].ForcesEvPerA);
                Assert.NotNull(frames[k].StressEvPerA3);
                for (int i = 0; i < s.AtomCount; i++)
                {
                    Assert.True((frames[k].Positions[i] - positions[k][i]).Length < 1e-7);
                }

                // The labels are those of the positions written.
                Assert.Equal(StillingerWeber.Silicon().Calculate(frames[k], CalculatorProperties.Energy).EnergyEv!.Value, frames[k].EnergyEv!.Value, 1e-5);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }
}
