using System.Globalization;
using System.Text.Json;
using Gpff.Dynamics.MolecularDynamics;
using Gpff.Geometry;

namespace Gpff.Dynamics.ActiveLearning;

/// <summary>
/// The checkpoint of an on-the-fly run, a directory holding the model after the n-th reference call
/// (<c>model-00n.gpff</c>) and <c>state.json</c>: which model file is current, the number of training
/// structures it holds, the MD state (<see cref="IntegratorState"/>: positions, cell, velocities, step
/// count, the reference result at the current positions, the thermostat's random numbers), the log and
/// whether the run finished.
/// Both are written to a temporary file and renamed; the model comes first under a new name, then the
/// state that names it, then the older model is deleted — so the state always names a complete model
/// that matches it, and a crash at any point leaves a consistent checkpoint.
/// </summary>
public static class OnTheFlyCheckpoint
{
    /// <summary>File name of the state in the checkpoint directory.</summary>
    public const string StateFileName = "state.json";

    private const int FormatVersion = 1;

    /// <summary>Whether a directory holds a checkpoint (its state file).</summary>
    /// <param name="directory">The checkpoint directory.</param>
    public static bool Exists(string directory) => File.Exists(Path.Combine(directory, StateFileName));

    /// <summary>The path of the model file of the checkpoint in a directory: load the model from it to resume.</summary>
    /// <param name="directory">The checkpoint directory.</param>
    /// <exception cref="FileNotFoundException">No checkpoint there.</exception>
    public static string ModelPath(string directory) => Path.Combine(directory, Read(directory).Model);

    internal static void Write(string directory, ILearningCalculator model, IntegratorState state, IReadOnlyList<ReferenceCallRecord> log, bool finished)
    {
        Directory.CreateDirectory(directory);
        string modelName = string.Create(CultureInfo.InvariantCulture, $"model-{log.Count:D5}.gpff");
        string previous = Exists(directory) ? Read(directory).Model : "";
        model.SaveModel(Path.Combine(directory, modelName));
        var dto = new StateDto
        {
            Version = FormatVersion,
            Model = modelName,
            TrainingStructures = model.TrainingStructureCount,
            StepCount = state.StepCount,
            Positions = Flatten(state.PositionsA),
            Cell = state.CellA.ToRowMajorArray(),
            Velocities = Flatten(state.VelocitiesAPerFs),
            Energy = state.Current.EnergyEv,
            Forces = Flatten(state.Current.ForcesEvPerA!),
            Stress = state.Current.StressEvPerA3 is { } s ? [s.XX, s.YY, s.ZZ, s.YZ, s.XZ, s.XY] : null,
            RandomWords = state.Random?.Words,
            RandomSpare = state.Random?.Spare,
            Log = [.. log],
            Finished = finished,
        };
        string path = Path.Combine(directory, StateFileName);
        string tmp = Path.Combine(directory, $".{StateFileName}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            File.WriteAllBytes(tmp, JsonSerializer.SerializeToUtf8Bytes(dto, Json));
            File.Move(tmp, path, overwrite: true);
        }
        finally
        {
            File.Delete(tmp);
        }

        if (previous.Length > 0 && previous != modelName)
        {
            File.Delete(Path.Combine(directory, previous));
        }
    }

    internal static (IntegratorState State, List<ReferenceCallRecord> Log, int TrainingStructures, bool Finished) Load(string directory)
    {
        var dto = Read(directory);
        string where = Path.Combine(directory, StateFileName);
        var current = new CalculationResult
        {
            EnergyEv = dto.Energy,
            ForcesEvPerA = Unflatten(dto.Forces, where, "forces"),
            StressEvPerA3 = dto.Stress is { Length: 6 } s ? new Voigt(s[0], s[1], s[2], s[3], s[4], s[5]) : null,
        };
        if (dto.Cell is not { Length: 9 } c)
        {
            throw new InvalidDataException($"{where}: the cell needs 9 numbers.");
        }

        var state = new IntegratorState(dto.StepCount, Unflatten(dto.Positions, where, "positions"),
            Mat3.FromRows(new Vec3(c[0], c[1], c[2]), new Vec3(c[3], c[4], c[5]), new Vec3(c[6], c[7], c[8])),
            Unflatten(dto.Velocities, where, "velocities"), current,
            dto.RandomWords is null ? null : new RandomState(dto.RandomWords, dto.RandomSpare));
        return (state, dto.Log ?? [], dto.TrainingStructures, dto.Finished);
    }

    private static StateDto Read(string directory)
    {
        string path = Path.Combine(directory, StateFileName);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"No on-the-fly checkpoint in {directory} (no {StateFileName}).", path);
        }

        StateDto? dto;
        try
        {
            dto = JsonSerializer.Deserialize<StateDto>(File.ReadAllBytes(path), Json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path} is not an on-the-fly checkpoint state: {e.Message}", e);
        }

        if (dto is null || dto.Version != FormatVersion || string.IsNullOrEmpty(dto.Model))
        {
            throw new InvalidDataException($"{path}: unsupported or incomplete checkpoint state (format version {dto?.Version}; this library reads {FormatVersion}).");
        }

        return dto;
    }

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    private static double[] Flatten(Vec3[] v)
    {
        var a = new double[3 * v.Length];
        for (int i = 0; i < v.Length; i++)
        {
            (a[3 * i], a[3 * i + 1], a[3 * i + 2]) = (v[i].X, v[i].Y, v[i].Z);
        }

        return a;
    }

    private static Vec3[] Unflatten(double[]? a, string where, string what)
    {
        if (a is null || a.Length % 3 != 0)
        {
            throw new InvalidDataException($"{where}: {what} need 3 numbers per atom.");
        }

        var v = new Vec3[a.Length / 3];
        for (int i = 0; i < v.Length; i++)
        {
            v[i] = new Vec3(a[3 * i], a[3 * i + 1], a[3 * i + 2]);
        }

        return v;
    }

    private sealed class StateDto
    {
        public int Version { get; set; }

        public string Model { get; set; } = "";

        public int TrainingStructures { get; set; }

        public int StepCount { get; set; }

        public double[]? Positions { get; set; }

        public double[]? Cell { get; set; }

        public double[]? Velocities { get; set; }

        public double? Energy { get; set; }

        public double[]? Forces { get; set; }

        public double[]? Stress { get; set; }

        public ulong[]? RandomWords { get; set; }

        public double? RandomSpare { get; set; }

        public List<ReferenceCallRecord>? Log { get; set; }

        public bool Finished { get; set; }
    }
}
