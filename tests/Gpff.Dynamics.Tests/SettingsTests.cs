using Gpff.Dynamics.MolecularDynamics;
using Gpff.Dynamics.Optimization;
using Gpff.Dynamics.Potentials;

namespace Gpff.Dynamics.Tests;

/// <summary>
/// Every setting of the dynamics out of range: one ArgumentOutOfRangeException line that names the
/// option, its value and unit, and the rule, thrown before any work (no calculator call, no file).
/// </summary>
public sealed class SettingsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gpff-settings-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Structure Si() => TestStructures.Diamond(5.431);

    public static TheoryData<string, string> RelaxationCases => new()
    {
        { "PressureGpa=NaN", "RelaxationOptions.PressureGpa = NaN GPa: the pressure must be a finite number." },
        { "PressureGpa=Inf", "RelaxationOptions.PressureGpa = Infinity GPa: the pressure must be a finite number." },
        { "FmaxEvPerA=0", "RelaxationOptions.FmaxEvPerA = 0 eV/Å: the force tolerance must be a finite number > 0." },
        { "FmaxEvPerA=-0.01", "RelaxationOptions.FmaxEvPerA = -0.01 eV/Å: the force tolerance must be a finite number > 0." },
        { "FmaxEvPerA=NaN", "RelaxationOptions.FmaxEvPerA = NaN eV/Å: the force tolerance must be a finite number > 0." },
        { "StressToleranceGpa=0", "RelaxationOptions.StressToleranceGpa = 0 GPa: the stress tolerance must be a finite number > 0." },
        { "StressToleranceGpa=Inf", "RelaxationOptions.StressToleranceGpa = Infinity GPa: the stress tolerance must be a finite number > 0." },
        { "MaxSteps=0", "RelaxationOptions.MaxSteps = 0: the number of steps must be a whole number ≥ 1." },
        { "MaxSteps=-5", "RelaxationOptions.MaxSteps = -5: the number of steps must be a whole number ≥ 1." },
        { "MaxStepA=0", "RelaxationOptions.MaxStepA = 0 Å: the largest step must be a finite number > 0." },
        { "MaxStepA=NaN", "RelaxationOptions.MaxStepA = NaN Å: the largest step must be a finite number > 0." },
        { "CellFactor=-1", "RelaxationOptions.CellFactor = -1: the cell factor must be a finite number > 0." },
        { "LbfgsMemory=0", "RelaxationOptions.LbfgsMemory = 0: the L-BFGS memory must be a whole number ≥ 1." },
        { "CellFreedom=7", "RelaxationOptions.CellFreedom = 7: not a CellFreedom value." },
        { "Method=9", "RelaxationOptions.Method = 9: not a RelaxationMethod value." },
    };

    private static RelaxationOptions Options(string setting)
    {
        var (name, text) = (setting.Split('=')[0], setting.Split('=')[1]);
        double v = text switch { "NaN" => double.NaN, "Inf" => double.PositiveInfinity, _ => double.Parse(text, System.Globalization.CultureInfo.InvariantCulture) };
        var o = new RelaxationOptions();
        return name switch
        {
            "PressureGpa" => o with { PressureGpa = v },
            "FmaxEvPerA" => o with { FmaxEvPerA = v },
            "StressToleranceGpa" => o with { StressToleranceGpa = v },
            "MaxSteps" => o with { MaxSteps = (int)v },
            "MaxStepA" => o with { MaxStepA = v },
            "CellFactor" => o with { CellFactor = v },
            "LbfgsMemory" => o with { LbfgsMemory = (int)v },
            "CellFreedom" => o with { CellFreedom = (CellFreedom)(int)v },
            _ => o with { Method = (RelaxationMethod)(int)v },
        };
    }

    /// <summary>Counts calls, so that a refused setting is seen to cost no calculation.</summary>
    private sealed class Counting(ICalculator inner) : ICalculator
    {
        public int Calls { get; private set; }

        public CalculatorProperties ImplementedProperties => inner.ImplementedProperties;

        public CalculationResult Calculate(Structure structure, CalculatorProperties properties, CancellationToken cancellationToken = default)
        {
            Calls++;
            return inner.Calculate(structure, properties, cancellationToken);
        }
    }

    [Theory]
    [MemberData(nameof(RelaxationCases))]
    public void RelaxationOptionOutOfRangeIsNamedWithItsValueAndUnitBeforeAnyCalculation(string setting, string message)
    {
        var calc = new Counting(StillingerWeber.Silicon());
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Relaxation.Relax(Si(), calc, Options(setting)));
        Assert.Equal(message, ex.Message);
        Assert.Equal(0, calc.Calls);
    }

    public static TheoryData<string, string> IntegratorCases => new()
    {
        { "verlet dt=0", "timeStepFs = 0 fs: the time step must be a finite number > 0." },
        { "verlet dt=-1", "timeStepFs = -1 fs: the time step must be a finite number > 0." },
        { "verlet dt=NaN", "timeStepFs = NaN fs: the time step must be a finite number > 0." },
        { "verlet dt=Inf", "timeStepFs = Infinity fs: the time step must be a finite number > 0." },
        { "langevin T=-1", "temperatureK = -1 K: the temperature must be a finite number ≥ 0." },
        { "langevin T=NaN", "temperatureK = NaN K: the temperature must be a finite number ≥ 0." },
        { "langevin friction=-0.1", "frictionPerFs = -0.1 1/fs: the friction must be a finite number ≥ 0." },
        { "langevin friction=Inf", "frictionPerFs = Infinity 1/fs: the friction must be a finite number ≥ 0." },
        { "langevin dt=0", "timeStepFs = 0 fs: the time step must be a finite number > 0." },
        { "scr T=-1", "TemperatureTargetK = -1 K: the target temperature must be a finite number ≥ 0." },
        { "scr P=NaN", "PressureTargetGpa = NaN GPa: the target pressure must be a finite number." },
        { "scr P=Inf", "PressureTargetGpa = Infinity GPa: the target pressure must be a finite number." },
        { "scr friction=-1", "frictionPerFs = -1 1/fs: the friction must be a finite number ≥ 0." },
        { "scr tau=0", "barostatTimeFs = 0 fs: the barostat time must be a finite number > 0." },
        { "scr tau=Inf", "barostatTimeFs = Infinity fs: the barostat time must be a finite number > 0." },
        { "scr beta=0", "compressibilityPerGpa = 0 1/GPa: the compressibility must be a finite number > 0." },
        { "scr beta=NaN", "compressibilityPerGpa = NaN 1/GPa: the compressibility must be a finite number > 0." },
        { "maxwell T=-3", "temperatureK = -3 K: the temperature must be a finite number ≥ 0." },
    };

    [Theory]
    [MemberData(nameof(IntegratorCases))]
    public void IntegratorSettingOutOfRangeIsNamedWithItsValueAndUnit(string setting, string message)
    {
        string kind = setting.Split(' ')[0];
        string name = setting.Split(' ')[1].Split('=')[0];
        string text = setting.Split('=')[1];
        double v = text switch { "NaN" => double.NaN, "Inf" => double.PositiveInfinity, _ => double.Parse(text, System.Globalization.CultureInfo.InvariantCulture) };
        double P(string n, double fallback) => n == name ? v : fallback;
        var sw = StillingerWeber.Silicon();
        Action make = kind switch
        {
            "verlet" => () => _ = new VelocityVerlet(Si(), sw, P("dt", 1)),
            "langevin" => () => _ = new Langevin(Si(), sw, P("dt", 1), P("T", 300), P("friction", 0.01), 1),
            "scr" => () => _ = new StochasticCellRescaling(Si(), sw, P("dt", 1), P("T", 300), P("P", 0), P("friction", 0.01), P("tau", 100), P("beta", 0.01), 1),
            _ => () => MaxwellBoltzmann.SampleVelocities([28.0, 28.0], P("T", 300), 1),
        };
        var ex = Assert.Throws<ArgumentOutOfRangeException>(make);
        Assert.Equal(message, ex.Message);
    }

    [Fact]
    public void IntervalsAndStepCountsBelowTheirMinimumAreNamed()
    {
        var md = new VelocityVerlet(Si(), StillingerWeber.Silicon(), 1);
        using var log = new MolecularDynamicsLogger(new StringWriter());
        using var trajectory = new TrajectoryWriter(new StringWriter());
        (Action Act, string Message)[] cases =
        [
            (() => log.Attach(md, 0), "interval = 0: the number of steps between rows must be a whole number ≥ 1."),
            (() => trajectory.Attach(md, -2), "interval = -2: the number of steps between frames must be a whole number ≥ 1."),
            (() => md.Attach(_ => { }, 0), "interval = 0: the number of steps between calls must be a whole number ≥ 1."),
            (() => md.Run(-1), "steps = -1: the number of steps must be a whole number ≥ 0."),
            (() => md.Sample(10, 0), "interval = 0: the number of steps between snapshots must be a whole number ≥ 1."),
            (() => md.Sample(-1, 1), "steps = -1: the number of steps must be a whole number ≥ 0."),
        ];
        foreach (var (act, message) in cases)
        {
            Assert.Equal(message, Assert.Throws<ArgumentOutOfRangeException>(act).Message);
        }

        Assert.Equal(0, md.StepCount);
    }

    [Fact]
    public void LogAndTrajectoryPathsAreCheckedAsOutputsBeforeAnyFileIsCreated()
    {
        string missing = Path.Combine(_dir, "nofolder", "md.csv");
        var snapshot = FolderSnapshot.Take(_dir);
        Assert.Equal($"MD log '{missing}': the folder '{Path.Combine(_dir, "nofolder")}' does not exist.",
            Assert.Throws<DirectoryNotFoundException>(() => MolecularDynamicsLogger.Create(missing)).Message);
        Assert.Equal($"trajectory '{_dir}' is a folder; give a file name.",
            Assert.Throws<ArgumentException>(() => TrajectoryWriter.Create(_dir)).Message);
        snapshot.AssertUnchanged();
    }
}
