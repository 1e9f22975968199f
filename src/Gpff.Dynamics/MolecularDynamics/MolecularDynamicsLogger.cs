using System.Globalization;
using Gpff.IO;

namespace Gpff.Dynamics.MolecularDynamics;

/// <summary>
/// Writes a CSV log of a molecular-dynamics run (ASE's MDLogger), one row every n steps:
/// <c>step, time_fs, potential_energy_eV, kinetic_energy_eV, total_energy_eV, temperature_K,
/// pressure_GPa, volume_A3, max_force_std_eV_per_A</c>. Numbers use the invariant culture and round-trip
/// precision; a quantity that does not exist for the run is an empty field: pressure and volume need a cell
/// periodic along all axes (and, for the pressure, a calculator with stress), the force standard deviation a
/// calculator that reports uncertainties. The pressure includes the kinetic term 2K/(3V), as the
/// barostat's (<see cref="StochasticCellRescaling.PressureGpa"/>).
/// </summary>
/// <remarks>
/// What the log reads is asked from the calculator in the same call as the forces of the steps it
/// writes (energy; stress; with uncertainties, <see cref="CalculatorProperties.Uncertainty"/>, which makes
/// a GP give the standard deviations of everything asked on those steps). Rows are flushed as written,
/// so a long run can be watched.
/// </remarks>
public sealed class MolecularDynamicsLogger : IDisposable
{
    /// <summary>The header line (column names, units in the names).</summary>
    public const string Header = "step,time_fs,potential_energy_eV,kinetic_energy_eV,total_energy_eV,temperature_K,pressure_GPa,volume_A3,max_force_std_eV_per_A";

    private readonly TextWriter _writer;
    private readonly bool _ownsWriter;
    private bool _disposed;

    /// <summary>Starts a log on a text writer and writes the header.</summary>
    /// <param name="writer">Destination of the CSV text.</param>
    /// <param name="ownsWriter">Dispose the writer with the logger.</param>
    public MolecularDynamicsLogger(TextWriter writer, bool ownsWriter = false)
    {
        ArgumentNullException.ThrowIfNull(writer);
        _writer = writer;
        _ownsWriter = ownsWriter;
        _writer.WriteLine(Header);
        _writer.Flush();
    }

    /// <summary>Starts a log in a new file (an existing file is replaced).</summary>
    /// <param name="path">The CSV file.</param>
    /// <exception cref="ArgumentException">The path names a folder (see <see cref="SafeFile.CheckOutput"/>).</exception>
    /// <exception cref="IOException">The folder does not exist or cannot be written.</exception>
    public static MolecularDynamicsLogger Create(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        SafeFile.CheckOutput(path, what: "MD log");
        return new MolecularDynamicsLogger(new StreamWriter(path, append: false), ownsWriter: true);
    }

    /// <summary>What a row of <paramref name="dynamics"/> reads from its calculator.</summary>
    /// <param name="dynamics">The dynamics to log.</param>
    public static CalculatorProperties PropertiesRead(Integrator dynamics)
    {
        ArgumentNullException.ThrowIfNull(dynamics);
        var implemented = dynamics.Calculator.ImplementedProperties;
        var p = CalculatorProperties.Energy;
        if (dynamics.Structure.Pbc.AllPeriodic && implemented.HasFlag(CalculatorProperties.Stress))
        {
            p |= CalculatorProperties.Stress;
        }

        if (implemented.HasFlag(CalculatorProperties.Uncertainty))
        {
            p |= CalculatorProperties.Forces | CalculatorProperties.Uncertainty;
        }

        return p;
    }

    /// <summary>Writes a row after every <paramref name="interval"/>-th step of <paramref name="dynamics"/> (and none now).</summary>
    /// <param name="dynamics">The dynamics to log.</param>
    /// <param name="interval">Steps between rows (≥ 1).</param>
    public void Attach(Integrator dynamics, int interval = 1)
    {
        ArgumentNullException.ThrowIfNull(dynamics);
        DynamicsArguments.AtLeast(interval, 1, nameof(interval), "the number of steps between rows");
        dynamics.Attach(Write, interval, PropertiesRead(dynamics));
    }

    /// <summary>Writes one row for the current state of <paramref name="dynamics"/>.</summary>
    /// <param name="dynamics">The dynamics.</param>
    public void Write(Integrator dynamics)
    {
        ArgumentNullException.ThrowIfNull(dynamics);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var result = dynamics.Require(PropertiesRead(dynamics));
        double potential = result.EnergyEv!.Value;
        double kinetic = dynamics.KineticEnergyEv;
        string pressure = "", volume = "", forceStd = "";
        if (dynamics.Structure.Pbc.AllPeriodic)
        {
            double v = dynamics.Structure.VolumeA3;
            volume = Format(v);
            if (result.StressEvPerA3 is { } stress)
            {
                pressure = Format(Units.EvPerA3ToGpa(stress.Pressure + 2 * kinetic / (3 * v)));
            }
        }

        if (result.ForcesStdEvPerA is { } std)
        {
            double max = 0;
            foreach (var s in std)
            {
                max = Math.Max(max, Math.Max(Math.Abs(s.X), Math.Max(Math.Abs(s.Y), Math.Abs(s.Z))));
            }

            forceStd = Format(max);
        }

        _writer.WriteLine(string.Join(',',
            dynamics.StepCount.ToString(CultureInfo.InvariantCulture), Format(dynamics.TimeFs), Format(potential), Format(kinetic),
            Format(potential + kinetic), Format(dynamics.TemperatureK), pressure, volume, forceStd));
        _writer.Flush();
    }

    /// <summary>Closes the writer when the logger owns it.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_ownsWriter)
        {
            _writer.Dispose();
        }
    }

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}

/// <summary>
/// Streams a molecular-dynamics trajectory as extended XYZ (<see cref="IO.ExtXyz"/>): every n steps a frame
/// (<see cref="Integrator.Snapshot"/>) with energy, forces and stress as labels (those the calculator
/// implements, asked in the same call as that step's forces), velocities and the step, time and temperature.
/// Frames are flushed as written.
/// </summary>
public sealed class TrajectoryWriter : IDisposable
{
    private readonly TextWriter _writer;
    private readonly bool _ownsWriter;
    private bool _disposed;

    /// <summary>Streams frames to a text writer.</summary>
    /// <param name="writer">Destination of the extended XYZ text.</param>
    /// <param name="ownsWriter">Dispose the writer with this object.</param>
    public TrajectoryWriter(TextWriter writer, bool ownsWriter = false)
    {
        ArgumentNullException.ThrowIfNull(writer);
        _writer = writer;
        _ownsWriter = ownsWriter;
    }

    /// <summary>Streams frames to a new file (an existing file is replaced).</summary>
    /// <param name="path">The .xyz / .extxyz file.</param>
    /// <exception cref="ArgumentException">The path names a folder (see <see cref="SafeFile.CheckOutput"/>).</exception>
    /// <exception cref="IOException">The folder does not exist or cannot be written.</exception>
    public static TrajectoryWriter Create(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        SafeFile.CheckOutput(path, what: "trajectory");
        return new TrajectoryWriter(new StreamWriter(path, append: false), ownsWriter: true);
    }

    /// <summary>Frames written so far.</summary>
    public int FrameCount { get; private set; }

    /// <summary>Writes a frame after every <paramref name="interval"/>-th step of <paramref name="dynamics"/>.</summary>
    /// <param name="dynamics">The dynamics.</param>
    /// <param name="interval">Steps between frames (≥ 1).</param>
    public void Attach(Integrator dynamics, int interval = 1)
    {
        ArgumentNullException.ThrowIfNull(dynamics);
        DynamicsArguments.AtLeast(interval, 1, nameof(interval), "the number of steps between frames");
        dynamics.Attach(Write, interval, CalculatorProperties.EnergyForcesStress);
    }

    /// <summary>Writes the current state of <paramref name="dynamics"/> as one frame.</summary>
    /// <param name="dynamics">The dynamics.</param>
    public void Write(Integrator dynamics)
    {
        ArgumentNullException.ThrowIfNull(dynamics);
        ObjectDisposedException.ThrowIf(_disposed, this);
        IO.ExtXyz.Write(_writer, [dynamics.Snapshot()]);
        _writer.Flush();
        FrameCount++;
    }

    /// <summary>Closes the writer when this object owns it.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_ownsWriter)
        {
            _writer.Dispose();
        }
    }
}
