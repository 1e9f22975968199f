using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Gpff.Dynamics.ActiveLearning;
using Gpff.Geometry;
using Gpff.QuantumEspresso;
using Gpff.Slurm;

namespace Gpff;

/// <summary>
/// The settings file of active learning (<c>gpff learn --settings SETTINGS.json</c>; the one home of its schema):
/// the reference calculator (pw.x: command, pseudopotentials, cutoffs, k-points, smearing, retry policy) and the
/// learning settings (threshold, atoms per call, refits, budget, checkpoints, pool rounds). Keys are snake_case with
/// their unit in the name; a key left out takes the library's default (<see cref="PwInputSettings"/>,
/// <see cref="PwRetryPolicy"/>, <see cref="OnTheFlyOptions"/>, <see cref="PoolSelectionOptions"/>), listed by
/// <see cref="Describe"/>. Unknown keys, values of the wrong type and values out of range are errors naming the file
/// and the key. Relative paths (pseudopotential and working folders, checkpoint folder) are relative to the folder of
/// the settings file.
/// </summary>
/// <example>
/// <code>
/// {
///   "reference": {
///     "command": "mpirun -np 4 pw.x",
///     "pseudo_directory": "pseudo",
///     "pseudopotentials": { "Ba": "Ba.pbe-spn-kjpaw_psl.1.0.0.UPF", "O": "O.pbe-n-kjpaw_psl.1.0.0.UPF" },
///     "ecutwfc_ry": 45, "ecutrho_ry": 360, "k_spacing_per_a": 0.3,
///     "smearing": { "kind": "mv", "degauss_ry": 0.01 },
///     "namelists": { "electrons": { "mixing_beta": 0.4 } }
///   },
///   "retry": { "max_attempts": 3, "mixing_beta_factor": 0.5, "extra_electron_steps": 100 },
///   "threshold_force_noise_multiple": 1.5,
///   "checkpoint_directory": "otf"
/// }
/// </code>
/// </example>
public sealed record LearningSettings
{
    /// <summary>The reference calculator (key <c>reference</c>, required).</summary>
    public required ReferenceSettings Reference { get; init; }

    /// <summary>What a failed pw.x run is retried with (key <c>retry</c>); null: <see cref="PwRetryPolicy"/>'s defaults.</summary>
    public RetrySettings? Retry { get; init; }

    /// <summary>Absolute threshold on the largest force standard deviation, eV/Å (<c>threshold_ev_per_a</c>); null: the relative one.</summary>
    public double? ThresholdEvPerA { get; init; }

    /// <summary>Threshold as a multiple of the model's force noise (<c>threshold_force_noise_multiple</c>), used when no absolute one is given.</summary>
    public double? ThresholdForceNoiseMultiple { get; init; }

    /// <summary>Forces of how many of the most uncertain atoms to add per call (<c>atoms_per_call</c>); null: all above the threshold.</summary>
    public int? AtomsPerCall { get; init; }

    /// <summary>Refit the hyperparameters every n calls (on-the-fly) or rounds (pool) (<c>refit_every</c>; 0: never during the run).</summary>
    public int? RefitEvery { get; init; }

    /// <summary>Refit at the end (<c>refit_at_end</c>).</summary>
    public bool? RefitAtEnd { get; init; }

    /// <summary>Budget of reference calls (<c>max_reference_calls</c>).</summary>
    public int? MaxReferenceCalls { get; init; }

    /// <summary>Checkpoint folder of an on-the-fly run (<c>checkpoint_directory</c>); null: none unless given on the command line.</summary>
    public string? CheckpointDirectory { get; init; }

    /// <summary>Pool selection: structures labelled per round (<c>structures_per_round</c>).</summary>
    public int? StructuresPerRound { get; init; }

    /// <summary>Pool selection: reference calculations of a round running at once (<c>max_concurrency</c>).</summary>
    public int? MaxConcurrency { get; init; }

    /// <summary>
    /// Run the pw.x reference calculations as Slurm jobs (key <c>slurm</c>, the keys of <see cref="SlurmSettings"/>); null: run
    /// pw.x directly. With it, <c>reference.command</c> is what the job starts after <c>slurm.launcher</c> ("srun"), and
    /// <c>reference.timeout_minutes</c> is not used (the job's <c>slurm.time_limit_minutes</c> is).
    /// </summary>
    public SlurmSettings? Slurm { get; init; }

    /// <summary>The folder relative paths are taken from (the settings file's); not a key.</summary>
    [JsonIgnore]
    public string BaseDirectory { get; init; } = ".";

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        TypeInfoResolver = new DefaultJsonTypeInfoResolver(),
    };

    /// <summary>Reads and checks a settings file.</summary>
    /// <param name="path">The JSON file.</param>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">Not JSON, an unknown key, a value of the wrong type or out of range (the message names the file and the key).</exception>
    public static LearningSettings Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"settings file '{path}' not found.", path);
        }

        var info = new FileInfo(path);
        if (info.Length > 1 << 20)
        {
            throw new InvalidDataException($"{path}: {info.Length} bytes; a settings file is under 1 MiB.");
        }

        string dir = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
        return Parse(File.ReadAllText(path), path) with { BaseDirectory = dir };
    }

    /// <summary>Parses and checks settings from JSON text (relative paths then count from the current folder).</summary>
    /// <param name="json">The JSON text.</param>
    /// <param name="source">Name used in error messages.</param>
    /// <exception cref="InvalidDataException">Not JSON, an unknown key, a value of the wrong type or out of range.</exception>
    public static LearningSettings Parse(string json, string source = "<settings>")
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source}, line {e.LineNumber + 1}: not valid JSON ({FirstSentence(e.Message)}).", e);
        }

        LearningSettings settings;
        using (doc)
        {
            CheckShape(doc.RootElement, typeof(LearningSettings), "", source);
            if (!doc.RootElement.TryGetProperty("reference", out var reference) || reference.ValueKind == JsonValueKind.Null)
            {
                throw new InvalidDataException($"{source}: reference is required: the pw.x calculator, {{\"pseudopotentials\": {{…}}, \"ecutwfc_ry\": …}}.");
            }

            try
            {
                settings = doc.RootElement.Deserialize<LearningSettings>(Json)!;
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{source}: {(e.Path is { Length: > 1 } p ? p.TrimStart('$', '.') + ": " : "")}{FirstSentence(e.Message)}", e);
            }
        }

        settings.Validate(source);
        return settings;
    }

    /// <summary>Every key with its unit and default, for help texts and docs (one line each).</summary>
    public static string Describe()
    {
        var pw = new PwInputSettings { Pseudopotentials = new Dictionary<string, string>(), EcutwfcRy = 1 };
        var run = new PwRunOptions();
        var retry = new PwRetryPolicy();
        var otf = new OnTheFlyOptions { Steps = 0 };
        var pool = new PoolSelectionOptions();
        var inv = CultureInfo.InvariantCulture;
        var b = new StringBuilder();
        void Line(string key, string what) => b.Append("  ").Append(key.PadRight(34)).Append(' ').AppendLine(what);
        Line("reference.command", $"command that starts pw.x, e.g. \"mpirun -np 4 pw.x\" (default \"{run.Command}\")");
        Line("reference.working_directory", $"folder of the numbered run folders (default \"{run.WorkingDirectory}\")");
        Line("reference.timeout_minutes", "wall-clock limit per pw.x run in minutes (default none)");
        Line("reference.pseudo_directory", "folder of the pseudopotential files (default: pw.x's, $ESPRESSO_PSEUDO)");
        Line("reference.pseudopotentials", "required: file name per element, {\"Ba\": \"Ba.pbe-spn-kjpaw_psl.1.0.0.UPF\", …}");
        Line("reference.ecutwfc_ry", "required: wavefunction cutoff in Ry");
        Line("reference.ecutrho_ry", "charge-density cutoff in Ry (default 4 × ecutwfc_ry; 8–12 × for ultrasoft/PAW)");
        Line("reference.k_spacing_per_a", string.Create(inv, $"k-point spacing in 1/Å, 2π included as ASE's kspacing (default {pw.KSpacingPerA})"));
        Line("reference.k_point_mesh", "explicit Monkhorst–Pack mesh [n1, n2, n3], overrides the spacing (default none)");
        Line("reference.shift_k_points", "shift the mesh by half a step (default false)");
        Line("reference.smearing", "{\"kind\": \"mv\"|\"gaussian\"|\"mp\"|\"fd\", \"degauss_ry\": width in Ry} (default none: fixed occupations)");
        Line("reference.conv_thr_ry", string.Create(inv, $"SCF threshold in Ry (default {pw.ConvThrRy:G3})"));
        Line("reference.starting_magnetization", "per element, −1 to 1; makes the run spin-polarised (default none)");
        Line("reference.namelists", "further pw.x settings, {\"electrons\": {\"mixing_beta\": 0.4}, \"system\": {\"nbnd\": 40}}");
        Line("retry.max_attempts", $"attempts of a pw.x run that did not converge, crashed or was cut short (default {retry.MaxAttempts})");
        Line("retry.mixing_beta_factor", string.Create(inv, $"mixing_beta multiplied by this per retry (default {retry.MixingBetaFactor})"));
        Line("retry.extra_electron_steps", $"electron_maxstep raised by this per retry (default {retry.ExtraElectronSteps})");
        Line("threshold_ev_per_a", "absolute threshold on the largest force σ in eV/Å (default none: the relative one)");
        Line("threshold_force_noise_multiple", string.Create(inv, $"threshold as a multiple of the model's force noise (default {otf.ThresholdForceNoiseMultiple})"));
        Line("atoms_per_call", "forces of this many most uncertain atoms per call (default: every atom above the threshold)");
        Line("refit_every", $"refit hyperparameters every n calls (pool: rounds); 0 never (default {otf.RefitEvery})");
        Line("refit_at_end", $"refit at the end (default {(otf.RefitAtEnd ? "true" : "false")})");
        Line("max_reference_calls", $"budget of reference calls (default: on the fly unlimited, pool {pool.MaxReferenceCalls})");
        Line("checkpoint_directory", "on-the-fly checkpoint folder (default none; --checkpoint overrides)");
        Line("structures_per_round", $"pool: structures labelled per round (default {pool.StructuresPerRound})");
        Line("max_concurrency", $"pool: pw.x runs of a round at the same time (default {pool.MaxConcurrency}; with slurm: jobs in the queue at once)");
        b.Append("  slurm                              run pw.x as Slurm jobs (default: directly); keys:\n");
        b.Append(SlurmSettings.Describe("slurm."));
        return b.ToString();
    }

    /// <summary>The pw.x calculator these settings describe (relative folders resolved against <see cref="BaseDirectory"/>).</summary>
    public PwCalculator CreateReference()
    {
        var r = Reference;
        var namelists = new PwNamelists();
        foreach (var (list, entries) in r.Namelists ?? [])
        {
            foreach (var (key, value) in entries)
            {
                namelists.Set(list, key, NamelistValue(value));
            }
        }

        var input = new PwInputSettings
        {
            Pseudopotentials = r.Pseudopotentials!,
            PseudoDirectory = r.PseudoDirectory is null ? null : Resolve(r.PseudoDirectory),
            EcutwfcRy = r.EcutwfcRy!.Value,
            EcutrhoRy = r.EcutrhoRy,
            Smearing = r.Smearing is { } s ? new PwSmearing(s.Kind!, s.DegaussRy!.Value) : null,
            KPointMesh = r.KPointMesh is { } m ? new Int3(m[0], m[1], m[2]) : null,
            ShiftKPoints = r.ShiftKPoints ?? false,
            StartingMagnetization = r.StartingMagnetization,
            Namelists = namelists,
        };
        input = r.KSpacingPerA is double k ? With(input, kSpacing: k) : input;
        input = r.ConvThrRy is double c ? With(input, convThr: c) : input;
        var defaults = new PwRunOptions();
        var retry = new PwRetryPolicy();
        var options = new PwRunOptions
        {
            Command = r.Command ?? defaults.Command,
            WorkingDirectory = Resolve(r.WorkingDirectory ?? defaults.WorkingDirectory),
            Timeout = r.TimeoutMinutes is double t ? TimeSpan.FromMinutes(t) : null,
            Retry = new PwRetryPolicy
            {
                MaxAttempts = Retry?.MaxAttempts ?? retry.MaxAttempts,
                MixingBetaFactor = Retry?.MixingBetaFactor ?? retry.MixingBetaFactor,
                ExtraElectronSteps = Retry?.ExtraElectronSteps ?? retry.ExtraElectronSteps,
            },
        };
        return new PwCalculator(input, options);
    }

    /// <summary>
    /// The reference calculator: pw.x run directly (<see cref="CreateReference"/>), or, with a <c>slurm</c> section, as Slurm
    /// jobs (<see cref="SlurmPwCalculator"/>) with the same input settings and retry policy, whose job ledger goes into
    /// <paramref name="ledgerDirectory"/> (the checkpoint folder, so that a resumed run re-attaches to its jobs) or else
    /// the working folder.
    /// </summary>
    /// <param name="ledgerDirectory">Folder of the Slurm job ledger; null: the reference's working folder.</param>
    public ICalculator CreateReferenceCalculator(string? ledgerDirectory = null)
    {
        var pw = CreateReference();
        if (Slurm is not { } slurm)
        {
            return pw;
        }

        return new SlurmPwCalculator(pw.Settings, new SlurmPwOptions
        {
            Slurm = slurm,
            Command = pw.Options.Command,
            WorkingDirectory = Reference.WorkingDirectory is null ? Resolve("pw-slurm") : pw.Options.WorkingDirectory,
            LedgerPath = ledgerDirectory is null ? null : Path.Combine(Path.GetFullPath(ledgerDirectory), SlurmJobLedger.FileName),
            Retry = pw.Options.Retry,
        });
    }

    /// <summary>
    /// The options of an on-the-fly run of <paramref name="steps"/> MD steps. pw.x retries its own failures
    /// (<see cref="PwRunOptions.Retry"/>), so the learner makes one attempt per call.
    /// </summary>
    /// <param name="steps">MD steps in all.</param>
    /// <param name="checkpointDirectory">Overrides <see cref="CheckpointDirectory"/> when not null (relative to the current folder).</param>
    public OnTheFlyOptions OnTheFlyOptions(int steps, string? checkpointDirectory = null)
    {
        var d = new OnTheFlyOptions { Steps = steps };
        return d with
        {
            ThresholdEvPerA = ThresholdEvPerA,
            ThresholdForceNoiseMultiple = ThresholdForceNoiseMultiple ?? d.ThresholdForceNoiseMultiple,
            AtomsPerCall = AtomsPerCall,
            RefitEvery = RefitEvery ?? d.RefitEvery,
            RefitAtEnd = RefitAtEnd ?? d.RefitAtEnd,
            MaxReferenceCalls = MaxReferenceCalls ?? d.MaxReferenceCalls,
            CheckpointDirectory = checkpointDirectory ?? (CheckpointDirectory is null ? null : Resolve(CheckpointDirectory)),
            MaxAttempts = 1,
        };
    }

    /// <summary>The options of a pool selection (one attempt per call: pw.x retries its own failures).</summary>
    public PoolSelectionOptions PoolOptions()
    {
        var d = new PoolSelectionOptions();
        return d with
        {
            ThresholdEvPerA = ThresholdEvPerA,
            ThresholdForceNoiseMultiple = ThresholdForceNoiseMultiple ?? d.ThresholdForceNoiseMultiple,
            AtomsPerCall = AtomsPerCall,
            RefitEvery = RefitEvery ?? d.RefitEvery,
            RefitAtEnd = RefitAtEnd ?? d.RefitAtEnd,
            MaxReferenceCalls = MaxReferenceCalls ?? d.MaxReferenceCalls,
            StructuresPerRound = StructuresPerRound ?? d.StructuresPerRound,
            MaxConcurrency = MaxConcurrency ?? d.MaxConcurrency,
            MaxAttempts = 1,
        };
    }

    private string Resolve(string path) => Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(BaseDirectory, path));

    private static PwInputSettings With(PwInputSettings s, double? kSpacing = null, double? convThr = null) => new()
    {
        Pseudopotentials = s.Pseudopotentials,
        PseudoDirectory = s.PseudoDirectory,
        EcutwfcRy = s.EcutwfcRy,
        EcutrhoRy = s.EcutrhoRy,
        Smearing = s.Smearing,
        KSpacingPerA = kSpacing ?? s.KSpacingPerA,
        KPointMesh = s.KPointMesh,
        ShiftKPoints = s.ShiftKPoints,
        ConvThrRy = convThr ?? s.ConvThrRy,
        StartingMagnetization = s.StartingMagnetization,
        Namelists = s.Namelists,
    };

    private static object NamelistValue(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.String => v.GetString()!,
        JsonValueKind.Number when v.TryGetInt32(out int i) && !v.GetRawText().Contains('.', StringComparison.Ordinal)
            && !v.GetRawText().Contains('e', StringComparison.OrdinalIgnoreCase) => i,
        _ => v.GetDouble(),
    };

    private void Validate(string source)
    {
        string Bad(string key, double value, string rule) =>
            $"{source}: {key} = {value.ToString("R", CultureInfo.InvariantCulture)}: {rule}.";
        var r = Reference;
        if (r.Pseudopotentials is null || r.Pseudopotentials.Count == 0)
        {
            throw new InvalidDataException($"{source}: reference.pseudopotentials is required: a file name per element, e.g. {{\"Si\": \"Si.pz-vbc.UPF\"}}.");
        }

        foreach (var (symbol, file) in r.Pseudopotentials)
        {
            if (!Elements.TryGetAtomicNumber(symbol, out _))
            {
                throw new InvalidDataException($"{source}: reference.pseudopotentials: '{symbol}' is not a chemical element.");
            }

            if (string.IsNullOrWhiteSpace(file))
            {
                throw new InvalidDataException($"{source}: reference.pseudopotentials.{symbol} is empty; give the file name.");
            }
        }

        if (r.EcutwfcRy is not double ecut)
        {
            throw new InvalidDataException($"{source}: reference.ecutwfc_ry is required (the wavefunction cutoff in Ry).");
        }

        if (!(ecut > 0))
        {
            throw new InvalidDataException(Bad("reference.ecutwfc_ry", ecut, "the cutoff must be > 0 Ry"));
        }

        if (r.EcutrhoRy is double rho && !(rho >= ecut))
        {
            throw new InvalidDataException(Bad("reference.ecutrho_ry", rho, $"must be at least ecutwfc_ry ({ecut.ToString(CultureInfo.InvariantCulture)} Ry); 4× for norm-conserving, 8–12× for ultrasoft/PAW"));
        }

        if (r.KSpacingPerA is double k && !(k > 0))
        {
            throw new InvalidDataException(Bad("reference.k_spacing_per_a", k, "the spacing must be > 0 per Å"));
        }

        if (r.KPointMesh is { } mesh && (mesh.Length != 3 || mesh.Any(n => n < 1)))
        {
            throw new InvalidDataException($"{source}: reference.k_point_mesh = [{string.Join(", ", mesh)}]: three whole numbers ≥ 1.");
        }

        if (r.Smearing is { } sm)
        {
            if (sm.Kind is not ("mv" or "m-v" or "cold" or "gaussian" or "gauss" or "mp" or "m-p" or "fd" or "f-d"))
            {
                throw new InvalidDataException($"{source}: reference.smearing.kind = '{sm.Kind}': one of mv, gaussian, mp, fd.");
            }

            if (sm.DegaussRy is not double w || !(w > 0))
            {
                throw new InvalidDataException($"{source}: reference.smearing.degauss_ry is required and must be > 0 Ry.");
            }
        }

        if (r.ConvThrRy is double c && !(c > 0))
        {
            throw new InvalidDataException(Bad("reference.conv_thr_ry", c, "must be > 0 Ry"));
        }

        if (r.TimeoutMinutes is double t && !(t > 0))
        {
            throw new InvalidDataException(Bad("reference.timeout_minutes", t, "must be > 0 minutes"));
        }

        if (r.Command is { } cmd)
        {
            try
            {
                PwRunOptions.SplitCommandLine(cmd);
            }
            catch (ArgumentException e)
            {
                throw new InvalidDataException($"{source}: reference.command: {e.Message.Split(" (Parameter", 2)[0]}");
            }
        }

        foreach (var (list, entries) in r.Namelists ?? [])
        {
            foreach (var (key, value) in entries)
            {
                if (value.ValueKind is not (JsonValueKind.Number or JsonValueKind.String or JsonValueKind.True or JsonValueKind.False))
                {
                    throw new InvalidDataException($"{source}: reference.namelists.{list}.{key}: a number, string or true/false, got {value.ValueKind.ToString().ToLowerInvariant()}.");
                }
            }
        }

        if (Retry is { } rp)
        {
            if (rp.MaxAttempts is int a && a < 1)
            {
                throw new InvalidDataException(Bad("retry.max_attempts", a, "at least 1 attempt"));
            }

            if (rp.MixingBetaFactor is double f && !(f > 0 && f <= 1))
            {
                throw new InvalidDataException(Bad("retry.mixing_beta_factor", f, "must be in (0, 1]"));
            }

            if (rp.ExtraElectronSteps is int e && e < 0)
            {
                throw new InvalidDataException(Bad("retry.extra_electron_steps", e, "must be ≥ 0"));
            }
        }

        if (ThresholdEvPerA is double th && !(th >= 0))
        {
            throw new InvalidDataException(Bad("threshold_ev_per_a", th, "must be ≥ 0 eV/Å"));
        }

        if (ThresholdForceNoiseMultiple is double tm && !(tm >= 0))
        {
            throw new InvalidDataException(Bad("threshold_force_noise_multiple", tm, "must be ≥ 0"));
        }

        void AtLeast(int? value, int min, string key)
        {
            if (value is int v && v < min)
            {
                throw new InvalidDataException(Bad(key, v, $"must be a whole number ≥ {min}"));
            }
        }

        AtLeast(AtomsPerCall, 1, "atoms_per_call");
        AtLeast(RefitEvery, 0, "refit_every");
        AtLeast(MaxReferenceCalls, 0, "max_reference_calls");
        AtLeast(StructuresPerRound, 1, "structures_per_round");
        AtLeast(MaxConcurrency, 1, "max_concurrency");
        Slurm?.Validate(source + ": slurm");
        if (CheckpointDirectory is { Length: 0 })
        {
            throw new InvalidDataException($"{source}: checkpoint_directory is empty; give a folder or leave the key out.");
        }
    }

    /// <summary>Checks keys and value kinds against the settings types, naming the key path (System.Text.Json's own messages name .NET types).</summary>
    private static void CheckShape(JsonElement e, Type type, string path, string source)
    {
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        string where = path.Length == 0 ? "the settings" : path;
        if (e.ValueKind == JsonValueKind.Null)
        {
            if (type.IsValueType && Nullable.GetUnderlyingType(type) is null)
            {
                throw new InvalidDataException($"{source}: {where} cannot be null.");
            }

            return;
        }

        if (underlying == typeof(double) || underlying == typeof(int))
        {
            bool ok = e.ValueKind == JsonValueKind.Number && (underlying == typeof(double) ? e.TryGetDouble(out _) : e.TryGetInt32(out _));
            if (!ok)
            {
                throw new InvalidDataException($"{source}: {where} must be {(underlying == typeof(int) ? "a whole number" : "a number")}, got {Show(e)}.");
            }

            return;
        }

        if (underlying == typeof(bool))
        {
            if (e.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                throw new InvalidDataException($"{source}: {where} must be true or false, got {Show(e)}.");
            }

            return;
        }

        if (underlying == typeof(string))
        {
            if (e.ValueKind != JsonValueKind.String)
            {
                throw new InvalidDataException($"{source}: {where} must be a string, got {Show(e)}.");
            }

            return;
        }

        if (underlying == typeof(JsonElement))
        {
            return;
        }

        if (underlying.IsArray)
        {
            if (e.ValueKind != JsonValueKind.Array)
            {
                throw new InvalidDataException($"{source}: {where} must be a list [ … ], got {Show(e)}.");
            }

            int i = 0;
            foreach (var item in e.EnumerateArray())
            {
                CheckShape(item, underlying.GetElementType()!, $"{where}[{i++}]", source);
            }

            return;
        }

        if (e.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException($"{source}: {where} must be an object {{ … }}, got {Show(e)}.");
        }

        if (underlying.IsGenericType && underlying.GetGenericTypeDefinition() == typeof(Dictionary<,>))
        {
            var valueType = underlying.GetGenericArguments()[1];
            foreach (var p in e.EnumerateObject())
            {
                CheckShape(p.Value, valueType, $"{where}.{p.Name}", source);
            }

            return;
        }

        var info = Json.GetTypeInfo(underlying);
        foreach (var p in e.EnumerateObject())
        {
            var keys = info.Properties.Where(q => q.AttributeProvider?.IsDefined(typeof(JsonIgnoreAttribute), true) != true).ToList();
            var property = keys.FirstOrDefault(q => q.Name == p.Name);
            string key = path.Length == 0 ? p.Name : $"{path}.{p.Name}";
            if (property is null)
            {
                string known = string.Join(", ", keys.Select(q => q.Name));
                throw new InvalidDataException($"{source}: unknown key '{key}'{(path.Length == 0 ? "" : $" in {path}")}; known keys: {known}.");
            }

            CheckShape(p.Value, property.PropertyType, key, source);
        }
    }

    private static string Show(JsonElement e)
    {
        string raw = e.GetRawText();
        return e.ValueKind switch
        {
            JsonValueKind.Object => "an object",
            JsonValueKind.Array => "a list",
            _ => raw.Length > 40 ? raw[..37] + "..." : raw,
        };
    }

    private static string FirstSentence(string message)
    {
        int at = message.IndexOf(" Path:", StringComparison.Ordinal);
        at = at > 0 ? at : message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return (at > 0 ? message[..at] : message).TrimEnd('.');
    }
}

/// <summary>The pw.x reference calculator of <see cref="LearningSettings"/> (key <c>reference</c>); see <see cref="LearningSettings.Describe"/> for every key.</summary>
public sealed record ReferenceSettings
{
    /// <summary>Command that starts pw.x (<c>command</c>).</summary>
    public string? Command { get; init; }

    /// <summary>Folder of the numbered run folders (<c>working_directory</c>).</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>Wall-clock limit per run in minutes (<c>timeout_minutes</c>).</summary>
    public double? TimeoutMinutes { get; init; }

    /// <summary>Folder of the pseudopotentials (<c>pseudo_directory</c>).</summary>
    public string? PseudoDirectory { get; init; }

    /// <summary>File name per element (<c>pseudopotentials</c>, required).</summary>
    public Dictionary<string, string>? Pseudopotentials { get; init; }

    /// <summary>Wavefunction cutoff in Ry (<c>ecutwfc_ry</c>, required).</summary>
    public double? EcutwfcRy { get; init; }

    /// <summary>Charge-density cutoff in Ry (<c>ecutrho_ry</c>).</summary>
    public double? EcutrhoRy { get; init; }

    /// <summary>k-point spacing in 1/Å, 2π included (<c>k_spacing_per_a</c>).</summary>
    public double? KSpacingPerA { get; init; }

    /// <summary>Explicit Monkhorst–Pack mesh (<c>k_point_mesh</c>).</summary>
    public int[]? KPointMesh { get; init; }

    /// <summary>Half-step shift of the mesh (<c>shift_k_points</c>).</summary>
    public bool? ShiftKPoints { get; init; }

    /// <summary>Smearing (<c>smearing</c>).</summary>
    public SmearingSettings? Smearing { get; init; }

    /// <summary>SCF threshold in Ry (<c>conv_thr_ry</c>).</summary>
    public double? ConvThrRy { get; init; }

    /// <summary>Starting magnetisation per element (<c>starting_magnetization</c>).</summary>
    public Dictionary<string, double>? StartingMagnetization { get; init; }

    /// <summary>Further pw.x namelist settings (<c>namelists</c>): namelist → key → number, string or bool.</summary>
    public Dictionary<string, Dictionary<string, JsonElement>>? Namelists { get; init; }
}

/// <summary>Smearing of <see cref="ReferenceSettings"/> (key <c>reference.smearing</c>).</summary>
public sealed record SmearingSettings
{
    /// <summary>pw.x smearing name (<c>kind</c>): mv, gaussian, mp, fd.</summary>
    public string? Kind { get; init; }

    /// <summary>Width in Ry (<c>degauss_ry</c>).</summary>
    public double? DegaussRy { get; init; }
}

/// <summary>The retry policy of <see cref="LearningSettings"/> (key <c>retry</c>; see <see cref="PwRetryPolicy"/>).</summary>
public sealed record RetrySettings
{
    /// <summary>Attempts in all (<c>max_attempts</c>).</summary>
    public int? MaxAttempts { get; init; }

    /// <summary>Factor on mixing_beta per retry (<c>mixing_beta_factor</c>).</summary>
    public double? MixingBetaFactor { get; init; }

    /// <summary>SCF iterations added per retry (<c>extra_electron_steps</c>).</summary>
    public int? ExtraElectronSteps { get; init; }
}
