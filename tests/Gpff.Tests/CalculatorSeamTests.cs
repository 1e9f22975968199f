using Gpff.Dynamics.MolecularDynamics;
using Gpff.Geometry;
using Gpff.Regression;
using Xunit;

namespace Gpff.Tests;

/// <summary>
/// The force field as a calculator computes only what it is asked, and each partial prediction equals
/// the corresponding part of the full one (energy, forces, stress, local energies and their deviations).
/// </summary>
public class CalculatorSeamTests
{
    private static readonly Lazy<(ForceField Ff, Structure Test)> Trained = new(() =>
    {
        var ff = ForceField.Create(new ForceFieldSettings
        {
            PairCutoffA = 4.0, TripletCutoffA = 4.0, Sigma2 = 0.3, Length2A = 0.3, Sigma3 = 0.03, Length3A = 0.3,
            Noise = new NoiseLevels(0.002, 0.05, 0.001),
            Labels = LabelKinds.All,
        });
        ff.Train(LearningCurveTests.Snapshots(3, seed: 1));
        return (ff, LearningCurveTests.Snapshots(1, seed: 2)[0].CloneWithoutLabels());
    });

    private static void Close(double expected, double? actual, string what)
    {
        Assert.NotNull(actual);
        Assert.True(Math.Abs(expected - actual.Value) <= 1e-12 * Math.Max(1, Math.Abs(expected)), $"{what}: {actual} vs {expected}");
    }

    private static void Close(Vec3[] expected, Vec3[]? actual, string what)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            for (int d = 0; d < 3; d++)
            {
                Close(expected[i][d], actual[i][d], $"{what} of atom {i}, axis {d}");
            }
        }
    }

    [Fact]
    public void ForcesOnlyIsTheFastPathAndEqualsTheFullPrediction()
    {
        var (ff, s) = Trained.Value;
        var full = ff.Calculate(s); // everything it implements: the old Calculate
        Assert.NotNull(full.EnergyEv);
        Assert.NotNull(full.StressEvPerA3);
        Assert.NotNull(full.ForcesStdEvPerA);
        Assert.NotNull(full.LocalEnergiesStdEv);
        Assert.Contains(full.ForcesEvPerA!, f => f.Length > 0.05); // real forces, not zeros

        var forces = ff.Calculate(s, CalculatorProperties.Forces);
        Assert.Equal(ff.PredictForces(s).ForcesEvPerA, forces.ForcesEvPerA); // bit for bit: the same path
        Close(full.ForcesEvPerA!, forces.ForcesEvPerA, "force");
        Assert.Null(forces.EnergyEv);
        Assert.Null(forces.StressEvPerA3);
        Assert.Null(forces.LocalEnergiesEv);
        Assert.Null(forces.ForcesStdEvPerA);
        Assert.Null(forces.EnergyStdEv);

        var withStd = ff.Calculate(s, CalculatorProperties.Forces | CalculatorProperties.Uncertainty);
        Close(full.ForcesEvPerA!, withStd.ForcesEvPerA, "force");
        Close(full.ForcesStdEvPerA!, withStd.ForcesStdEvPerA, "force std");
        Assert.Null(withStd.EnergyEv);
        Assert.Null(withStd.EnergyStdEv);
    }

    [Fact]
    public void EveryPartialRequestEqualsItsPartOfTheFullPrediction()
    {
        var (ff, s) = Trained.Value;
        var full = ff.Predict(s, uncertainty: true);

        var ef = ff.Calculate(s, CalculatorProperties.Energy | CalculatorProperties.Forces);
        Close(full.EnergyEv, ef.EnergyEv, "energy");
        Close(full.ForcesEvPerA, ef.ForcesEvPerA, "force");
        Assert.Null(ef.StressEvPerA3);
        Assert.Null(ef.EnergyStdEv);
        Assert.Null(ef.LocalEnergiesEv);

        var rest = ff.Calculate(s, CalculatorProperties.Energy | CalculatorProperties.Stress | CalculatorProperties.LocalEnergies | CalculatorProperties.Uncertainty);
        Assert.Null(rest.ForcesEvPerA);
        Close(full.EnergyEv, rest.EnergyEv, "energy");
        Close(full.EnergyStdEv, rest.EnergyStdEv, "energy std");
        for (int v = 0; v < 6; v++)
        {
            Close(full.StressEvPerA3!.Value[v], rest.StressEvPerA3?[v], $"stress {v}");
            Close(full.StressStdEvPerA3!.Value[v], rest.StressStdEvPerA3?[v], $"stress std {v}");
        }

        for (int i = 0; i < s.AtomCount; i++)
        {
            Close(full.LocalEnergiesEv[i], rest.LocalEnergiesEv?[i], $"local energy {i}");
            Close(full.LocalEnergiesStdEv![i], rest.LocalEnergiesStdEv?[i], $"local energy std {i}");
        }

        // Stress is not defined without full periodicity: null, not an error; nothing asked, nothing computed.
        var slab = new Structure(s.AtomicNumbers.ToArray(), (Vec3[])s.Positions.Clone(), s.Cell, new Pbc(true, true, false));
        var slabResult = ff.Calculate(slab, CalculatorProperties.Forces | CalculatorProperties.Stress);
        Assert.Null(slabResult.StressEvPerA3);
        Assert.NotNull(slabResult.ForcesEvPerA);
        Assert.Equal(new CalculationResult(), ff.Calculate(s, CalculatorProperties.None));
    }

    [Fact]
    public void MolecularDynamicsWithTheForceFieldUsesTheForcesOnlyPath()
    {
        var (ff, test) = Trained.Value;
        var s = test.Clone();
        var recorder = new Recording(ff);
        var md = new VelocityVerlet(s, recorder, timeStepFs: 1);
        md.Run(3);
        Assert.Equal(Enumerable.Repeat(CalculatorProperties.Forces, 4), recorder.Requests);

        // The trajectory is the one the forces-only predictions give, and the energy read is the GP's.
        var check = test.Clone();
        var v = new Vec3[check.AtomCount];
        var masses = check.MassesAmu();
        var f = ff.PredictForces(check).ForcesEvPerA;
        for (int step = 0; step < 3; step++)
        {
            for (int i = 0; i < v.Length; i++)
            {
                v[i] += (0.5 * MdUnits.AccelerationAPerFs2 / masses[i]) * f[i];
                check.Positions[i] += v[i];
            }

            f = ff.PredictForces(check).ForcesEvPerA;
            for (int i = 0; i < v.Length; i++)
            {
                v[i] += (0.5 * MdUnits.AccelerationAPerFs2 / masses[i]) * f[i];
            }
        }

        Assert.Equal(check.Positions, s.Positions);
        Assert.Equal(ff.Predict(s, uncertainty: false).EnergyEv, md.PotentialEnergyEv, 1e-9);
        Assert.Equal(CalculatorProperties.Energy, recorder.Requests[^1]);
    }

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
}
