using Gpff.Geometry;

namespace Gpff.Core.Tests;

public class CalculationResultTests
{
    private sealed class EnergyOnly : ICalculator
    {
        public CalculatorProperties ImplementedProperties => CalculatorProperties.Energy;

        public CalculationResult Calculate(Structure structure, CalculatorProperties properties, CancellationToken cancellationToken = default)
        {
            this.ThrowIfNotImplemented(properties);
            return new CalculationResult { EnergyEv = -1.5 };
        }
    }

    [Fact]
    public void MissingNamesWhatAResultLacksAndMergeFillsIt()
    {
        const CalculatorProperties e = CalculatorProperties.Energy, f = CalculatorProperties.Forces, s = CalculatorProperties.Stress, u = CalculatorProperties.Uncertainty;
        var forces = new CalculationResult { ForcesEvPerA = [new Vec3(1, 2, 3)] };
        Assert.Equal(CalculatorProperties.None, forces.Missing(f, allPeriodic: true));
        Assert.Equal(e, forces.Missing(e | f, allPeriodic: true));
        Assert.Equal(e | s, forces.Missing(e | f | s, allPeriodic: true));
        Assert.Equal(e, forces.Missing(e | f | s, allPeriodic: false)); // no stress to miss without periodicity
        Assert.Equal(f | u, forces.Missing(f | u, allPeriodic: true));  // the deviations are missing

        var merged = forces.Merge(new CalculationResult { EnergyEv = 2.5, ForcesEvPerA = [Vec3.Zero], StressEvPerA3 = new Voigt(1, 1, 1, 0, 0, 0) });
        Assert.Equal(2.5, merged.EnergyEv);
        Assert.Equal([new Vec3(1, 2, 3)], merged.ForcesEvPerA!); // what the result had is kept
        Assert.Equal(CalculatorProperties.None, merged.Missing(e | f | s, allPeriodic: true));

        var structure = new Structure([14], [Vec3.Zero], Mat3.Diagonal(5, 5, 5), Pbc.All) { EnergyEv = 9 };
        forces.ApplyAsLabels(structure);
        Assert.Null(structure.EnergyEv); // a stale energy is cleared, not kept
        Assert.Equal(forces.ForcesEvPerA, structure.ForcesEvPerA);
        Assert.NotSame(forces.ForcesEvPerA, structure.ForcesEvPerA);
    }

    [Fact]
    public void AskingForWhatIsNotImplementedNamesTheCalculatorAndTheProperty()
    {
        var calc = new EnergyOnly();
        var s = new Structure([14], [Vec3.Zero], Mat3.Diagonal(5, 5, 5), Pbc.All);
        Assert.Equal(-1.5, calc.Calculate(s).EnergyEv); // the extension asks for what is implemented
        var ex = Assert.Throws<NotSupportedException>(() => calc.Calculate(s, CalculatorProperties.Energy | CalculatorProperties.Forces));
        Assert.Equal("EnergyOnly does not compute Forces (asked for Energy, Forces; it implements Energy).", ex.Message);
    }
}
