using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Gpff.Dynamics.ActiveLearning;
using Gpff.Dynamics.MolecularDynamics;
using Gpff.IO;

namespace Gpff.Cli.Commands;

/// <summary>
/// <c>gpff learn MODEL IN.extxyz --settings SETTINGS.json -o OUT.gpff --steps N</c>: on-the-fly active learning with pw.x;
/// <c>gpff learn MODEL --pool POOL.extxyz --settings SETTINGS.json -o OUT.gpff</c>: offline selection from a pool.
/// </summary>
public sealed class LearnCommand : ICommand
{
    /// <summary>The file in the checkpoint folder that holds the MD options of the run, compared on --resume.</summary>
    public const string RunFileName = "gpff-learn.json";

    /// <inheritdoc/>
    public string Name => "learn";

    /// <inheritdoc/>
    public string Summary => "active learning with pw.x: on the fly during MD, or offline from a pool (--pool)";

    /// <inheritdoc/>
    public string Description => """
        On the fly (gpff learn MODEL IN.extxyz --settings SETTINGS.json -o OUT.gpff --steps N), as FLARE: MD
        driven by the model; before each step, where the largest force σ exceeds the threshold, pw.x is run on
        the current structure, its energy, stress and the forces of the most uncertain atoms are added to the
        model (block update), and the MD continues from the pw.x forces. After every pw.x call (and at step 0) a
        checkpoint is written; --resume continues a stopped run from it with the same command line, repeating no
        pw.x run (the MD options must match; --steps may grow). The resumed run equals an uninterrupted one bit
        for bit with GPFF_LINALG=managed (multi-threaded OpenBLAS sums in a varying order: then to round-off).

        From a pool (gpff learn MODEL --pool POOL.extxyz --settings SETTINGS.json -o OUT.gpff): the most
        uncertain structures of POOL are labelled with pw.x round by round (up to max_concurrency runs at once)
        until every one is below the threshold or the budget is spent.

        MODEL is a trained model (gpff train on at least one pw.x frame) and is not changed; OUT gets the
        result. Progress (step, temperature, largest σ, reference calls, time left) goes to stderr, each
        reference call to stdout.
        """;

    /// <inheritdoc/>
    public string ArgumentsName => "MODEL [IN.extxyz]";

    /// <inheritdoc/>
    public string ArgumentsDescription => "the model to start from, and the MD start structure (on the fly; not with --pool)";

    /// <inheritdoc/>
    public IReadOnlyList<Option> Options =>
    [
        Declare.Text("o|output", "OUT.gpff", "where the learned model is written (required)"),
        Declare.Text("settings", "SETTINGS.json", "the learning settings: pw.x, thresholds, budget (keys under Conventions; required)"),
        Declare.Text("pool", "POOL.extxyz", "learn offline from this pool of structures instead of on the fly"),
        Declare.Text("selected", "SEL.extxyz", "with --pool: write the structures labelled, with the pw.x energies, forces and stresses"),
        Declare.Text("checkpoint", "DIR", "checkpoint folder (overrides the settings' checkpoint_directory)"),
        Declare.Flag("resume", "continue from the checkpoint (MODEL is then ignored: the checkpoint's model is used)"),
        .. MdArguments.Declarations(),
        Declare.Text("log", "LOG.csv", $"CSV log of the MD: {MolecularDynamicsLogger.Header}"),
        Declare.Text("trajectory", "OUT.extxyz", "extended XYZ frames of the MD with energy, forces, stress, velocities (streamed)"),
        Declare.Whole("every", "N", "steps between log rows and trajectory frames", 10, 1, int.MaxValue),
    ];

    /// <inheritdoc/>
    public string Conventions => $"""
        SETTINGS.json (keys; a key left out takes the default; paths are relative to the settings file's folder):
        {LearningSettings.Describe()}
        """;

    /// <inheritdoc/>
    public int Run(ParsedArguments args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        string? settingsPath = args.Get("settings");
        string? output = args.Get("o", "output");
        string? pool = args.Get("pool");
        if (pool is not null)
        {
            string? selected = args.Get("selected");
            args.RejectUnknown();
            return Pool(args, settingsPath, output, pool, selected, stdout, stderr, cancellationToken);
        }

        var md = MdArguments.Read(args);
        string? checkpoint = args.Get("checkpoint");
        bool resume = args.Has("resume");
        string? logPath = args.Get("log");
        string? trajectoryPath = args.Get("trajectory");
        int every = args.GetInt(10, 1, int.MaxValue, "every");
        args.RejectUnknown();
        if (args.Positional.Count != 2)
        {
            throw new UsageException("expected MODEL and IN.extxyz, or MODEL --pool POOL.extxyz (gpff learn --help).");
        }

        var (settings, outputPath) = Common(settingsPath, output, args.Positional);
        foreach (var (path, option) in new[] { (logPath, "--log"), (trajectoryPath, "--trajectory") })
        {
            if (path is not null)
            {
                UsageException.CheckOutput(path, [.. args.Positional, outputPath, settingsPath, logPath == path ? trajectoryPath : logPath], option);
            }
        }

        var options = settings.OnTheFlyOptions(md.Steps, checkpoint is null ? null : Path.GetFullPath(checkpoint));
        string? dir = options.CheckpointDirectory;
        if (resume && dir is null)
        {
            throw new UsageException("--resume needs the checkpoint folder: --checkpoint DIR or checkpoint_directory in the settings.");
        }

        if (!resume && dir is not null && OnTheFlyCheckpoint.Exists(dir))
        {
            throw new UsageException($"{dir} holds a checkpoint of an earlier run: add --resume to continue it, or choose another --checkpoint folder.");
        }

        string input = args.Positional[1];
        var start = md.StartFrame(input);
        var ff = ForceField.Load(resume ? OnTheFlyCheckpoint.ModelPath(dir!) : args.Positional[0], cancellationToken: cancellationToken);
        Inputs.CheckSpecies(input, md.Frame - 1, start, ff.Species.ToHashSet(), "the model");
        CheckPseudopotentials(settings, input, start);
        if (dir is not null)
        {
            CheckRun(dir, md, input, resume);
        }

        var reference = settings.CreateReferenceCalculator(dir);
        var structure = start.CloneWithoutLabels();
        var dynamics = Inputs.AtFrame(input, md.Frame - 1, () => md.Build(structure, ff, cancellationToken));
        var learner = resume ? OnTheFlyLearner.Resume(dynamics, ff, reference, options) : new OnTheFlyLearner(dynamics, ff, reference, options);
        if (resume)
        {
            stdout.WriteLine($"resuming from {dir} at step {dynamics.StepCount} with {learner.Log.Count} reference calls");
        }

        using var log = logPath is null ? null : MolecularDynamicsLogger.Create(logPath);
        using var trajectory = trajectoryPath is null ? null : TrajectoryWriter.Create(trajectoryPath);
        log?.Attach(dynamics, every);
        trajectory?.Attach(dynamics, every);
        var inv = CultureInfo.InvariantCulture;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        OnTheFlyResult result;
        try
        {
            result = CliProgress.Run(stderr, progress =>
            {
                MdArguments.AttachProgress(dynamics, md.Steps, progress, () => learner.Log.Count);
                return learner.Run(new SyncProgress(c => stdout.WriteLine(string.Create(inv,
                $"call {c.Call} at step {c.Step}: max σ_F {c.MaxForceStdEvPerA:F3} eV/Å > {c.ThresholdEvPerA:F3}; GP force MAE before {c.ForceMaeEvPerA * 1000:F1} meV/Å (max {c.ForceMaxErrorEvPerA * 1000:F0}), ΔE {(c.EnergyErrorEv is double e ? (e * 1000).ToString("F1", inv) + " meV" : "-")}, {c.Atoms.Length} atoms added{(c.Refitted ? ", refitted" : "")}"))), cancellationToken);
            });
        }
        catch (ReferenceCalculationException e)
        {
            throw new InvalidOperationException(e.Message, e);
        }
        catch (OperationCanceledException) when (dir is not null)
        {
            stderr.WriteLine($"gpff learn: stopped at step {dynamics.StepCount}; the checkpoint in {dir} holds {learner.Log.Count} reference calls: rerun with --resume to continue.");
            throw;
        }

        ff.Save(outputPath, new Dictionary<string, string> { ["learned_from"] = Path.GetFileName(input), ["reference_calls"] = result.ReferenceCalls.ToString(inv) });
        stdout.WriteLine(string.Create(inv, $"{result.Steps} steps, {result.ReferenceCalls} reference calls{(result.RefittedAtEnd ? ", refitted at the end" : "")} in {clock.Elapsed.TotalSeconds:F1} s; {ff.TrainingStructureCount} training structures; wrote {outputPath}"));
        return 0;
    }

    private static int Pool(ParsedArguments args, string? settingsPath, string? output, string pool, string? selected, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        if (args.Positional.Count != 1)
        {
            throw new UsageException("with --pool, expected only MODEL (gpff learn --help).");
        }

        var (settings, outputPath) = Common(settingsPath, output, [args.Positional[0], pool]);
        if (selected is not null)
        {
            UsageException.CheckOutput(selected, [args.Positional[0], pool, settingsPath, outputPath], "--selected");
        }

        var ff = ForceField.Load(args.Positional[0], cancellationToken: ct);
        var known = ff.Species.ToHashSet();
        var frames = new List<Structure>();
        foreach (var s in Inputs.ReadFrames(pool))
        {
            Inputs.CheckSpecies(pool, frames.Count, s, known, "the model");
            CheckPseudopotentials(settings, pool, s, frames.Count);
            frames.Add(s.CloneWithoutLabels());
        }

        int before = ff.TrainingStructureCount;
        var inv = CultureInfo.InvariantCulture;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        CliProgress bar = null!;
        var progress = new SyncProgress<PoolSelectionProgress>(p => bar.Report(p.Selected > 0
            ? string.Create(inv, $"  round {p.Round}: {p.AboveThreshold} of the unlabelled structures above {p.ThresholdEvPerA:F3} eV/Å (max σ_F {p.MaxForceStdEvPerA:F3}); labelling {p.Selected}; reference calls so far {p.ReferenceCalls}; {clock.Elapsed.TotalSeconds:F0} s")
            : string.Create(inv, $"  done: max σ_F {p.MaxForceStdEvPerA:F3} eV/Å, threshold {p.ThresholdEvPerA:F3}; {p.ReferenceCalls} reference calls")));
        PoolSelectionResult result;
        try
        {
            result = CliProgress.Run(stderr, p =>
            {
                bar = p;
                return PoolSelection.RunAsync(frames, ff, settings.CreateReferenceCalculator(), settings.PoolOptions(), progress, ct).GetAwaiter().GetResult();
            });
        }
        catch (ReferenceCalculationException e)
        {
            throw new InvalidOperationException(e.Message, e);
        }

        foreach (var c in result.Calls)
        {
            stdout.WriteLine(string.Create(inv, $"call {c.Call} (round {c.Round}): pool structure {c.PoolIndex + 1}, max σ_F {c.MaxForceStdEvPerA:F3} eV/Å; GP force MAE before {c.ForceMaeEvPerA * 1000:F1} meV/Å, {c.Atoms.Length} atoms added"));
        }

        foreach (var f in result.Failures)
        {
            stdout.WriteLine($"left out: pool structure {f.PoolIndex + 1} (round {f.Round}, {f.Attempts} attempt(s)): {f.Message}");
        }

        ff.Save(outputPath, new Dictionary<string, string> { ["selected_from"] = Path.GetFileName(pool), ["reference_calls"] = result.ReferenceCalls.ToString(inv) });
        if (selected is not null)
        {
            ExtXyz.Write(selected, ff.Model.Training.Skip(before).Select(e => e.Structure));
        }

        string outcome = result.Converged
            ? "every structure left is below the threshold"
            : string.Create(inv, $"budget spent with max σ_F {result.MaxForceStdEvPerA:F3} eV/Å still above the threshold");
        stdout.WriteLine(string.Create(inv, $"{result.ReferenceCalls} of {frames.Count} pool structures labelled in {result.Rounds} rounds ({clock.Elapsed.TotalSeconds:F1} s); {outcome}; wrote {outputPath}{(selected is null ? "" : " and " + selected)}"));
        return 0;
    }

    private static (LearningSettings Settings, string Output) Common(string? settingsPath, string? output, IReadOnlyList<string> inputs)
    {
        if (settingsPath is null)
        {
            throw new UsageException("--settings SETTINGS.json is required: the pw.x reference and the learning settings (gpff learn --help lists the keys).");
        }

        if (output is null)
        {
            throw new UsageException("-o OUT.gpff is required: where to write the learned model.");
        }

        UsageException.CheckOutput(output, [.. inputs, settingsPath], "-o");
        return (LearningSettings.Load(settingsPath), output);
    }

    private static void CheckPseudopotentials(LearningSettings settings, string path, Structure s, int index = 0)
    {
        var known = settings.Reference.Pseudopotentials!.Keys.ToHashSet(StringComparer.Ordinal);
        foreach (string symbol in s.Symbols().Distinct())
        {
            if (!known.Contains(symbol))
            {
                throw new InvalidDataException($"{path}, frame {index + 1}: {symbol} has no pseudopotential in the settings (reference.pseudopotentials has {string.Join(", ", known.Order())}).");
            }
        }
    }

    /// <summary>Writes the MD options of a fresh run next to its checkpoint; on --resume, refuses options that differ.</summary>
    private static void CheckRun(string dir, MdArguments md, string input, bool resume)
    {
        string path = Path.Combine(dir, RunFileName);
        var now = new RunRecord(md.ForResume(), Path.GetFileName(input));
        if (!resume)
        {
            Directory.CreateDirectory(dir);
            SafeFile.WriteAtomic(path, stream => JsonSerializer.Serialize(stream, now, Json));
            return;
        }

        RunRecord? then;
        try
        {
            then = JsonSerializer.Deserialize<RunRecord>(File.ReadAllBytes(path), Json);
        }
        catch (Exception e) when (e is IOException or JsonException)
        {
            throw new InvalidDataException($"{path}: cannot read the options of the run to resume ({e.Message}).", e);
        }

        if (then != now)
        {
            throw new UsageException($"--resume: the MD options or input differ from those of the run in {dir} (was: {Describe(then)}; now: {Describe(now)}). Resume with the same options.");
        }
    }

    private static string Describe(RunRecord? r)
    {
        if (r is null)
        {
            return "unknown";
        }

        var inv = CultureInfo.InvariantCulture;
        string npt = r.Md.Ensemble == "npt"
            ? string.Create(inv, $", barostat {r.Md.BarostatTimeFs} fs, compressibility {r.Md.CompressibilityPerGpa}/GPa{(r.Md.Anisotropic ? ", anisotropic" : "")}")
            : "";
        return string.Create(inv, $"{r.Input} frame {r.Md.Frame}, {r.Md.Ensemble}, {r.Md.TemperatureK} K, {r.Md.PressureGpa} GPa, {r.Md.TimeStepFs} fs, seed {r.Md.Seed}, friction {r.Md.FrictionPerFs}/fs{npt}");
    }

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    private sealed record RunRecord(MdArguments Md, string Input);

    private sealed class SyncProgress(Action<ReferenceCallRecord> action) : IProgress<ReferenceCallRecord>
    {
        public void Report(ReferenceCallRecord value) => action(value);
    }

    private sealed class SyncProgress<T>(Action<T> action) : IProgress<T>
    {
        public void Report(T value) => action(value);
    }
}
