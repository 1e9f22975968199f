using Gpff.Dynamics.MolecularDynamics;
using Gpff.Dynamics.Potentials;
using Gpff.Geometry;

namespace Gpff.Dynamics.Tests.MolecularDynamics;

public class IntegratorStateTests
{
    [Fact]
    public void LangevinRestoredFromACapturedStateContinuesExactly()
    {
        var sw = StillingerWeber.DefaultBinary(14, 32);
        var s = TestStructures.RattledBinary(1);
        var v = MaxwellBoltzmann.SampleVelocities(s.MassesAmu(), 900, 4);
        var a = new Langevin(s, sw, 1.0, 900, 0.05, 9, v);
        a.Run(7);
        var state = a.CaptureState();
        a.Run(13);

        var b = new Langevin(TestStructures.RattledBinary(1), sw, 1.0, 900, 0.05, 9, v);
        b.RestoreState(state);
        Assert.Equal(7, b.StepCount);
        b.Run(13);
        Assert.Equal(a.Structure.Positions, b.Structure.Positions);
        Assert.Equal(a.Velocities, b.Velocities);
        Assert.Equal(20, b.StepCount);
    }

    [Fact]
    public void RestoringAStateWithoutRandomNumbersIntoLangevinIsRefused()
    {
        var sw = StillingerWeber.DefaultBinary(14, 32);
        var state = new VelocityVerlet(TestStructures.RattledBinary(1), sw, 1.0).CaptureState();
        var langevin = new Langevin(TestStructures.RattledBinary(1), sw, 1.0, 300, 0.05, 1);
        Assert.Throws<ArgumentException>(() => langevin.RestoreState(state));
    }

    [Fact]
    public void ReplacingTheForcesRedoesTheLastHalfKick()
    {
        var sw = StillingerWeber.DefaultBinary(14, 32);
        var s = TestStructures.RattledBinary(2);
        var md = new VelocityVerlet(s, sw, 1.0, MaxwellBoltzmann.SampleVelocities(s.MassesAmu(), 600, 2));
        md.Run(3);
        var before = (Vec3[])md.Velocities.Clone();
        var old = md.Current.ForcesEvPerA!;
        md.ReplaceCurrent(new CalculationResult { ForcesEvPerA = new Vec3[s.AtomCount] });
        var m = md.MassesAmu;
        for (int i = 0; i < before.Length; i++)
        {
            var expected = before[i] - (0.5 * 1.0 * MdUnits.AccelerationAPerFs2 / m[i]) * old[i];
            Assert.True((md.Velocities[i] - expected).Length < 1e-12);
        }

        Assert.All(md.Structure.ForcesEvPerA!, f => Assert.Equal(Vec3.Zero, f));
        Assert.Throws<ArgumentException>(() => md.ReplaceCurrent(new CalculationResult { ForcesEvPerA = new Vec3[1] }));
    }
}
