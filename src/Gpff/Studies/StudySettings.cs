using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Gpff.Dynamics.Optimization;
using Gpff.IO;
using Gpff.Phases;
using Gpff.Regression;

namespace Gpff.Studies;

/// <summary>
/// What a phase-stability study does (<see cref="StabilityStudy"/>, <c>gpff study SETTINGS.json</c>): train a GP force
/// field on DFT frames, cross-validate it, relax candidate structures at each pressure and build the enthalpy hulls with
/// stability probabilities. Stored as JSON with snake_case keys whose names carry their units; a key left out takes the
/// default written here (the one home of the study's defaults). Relative paths count from the settings file's folder.
/// </summary>
/// <example>
/// <code>
/// {
///   "name": "Ba-Rh-O",
///   "training_data": ["barho-train.extxyz", "barho-hex.extxyz"],
///   "candidates": "barho-candidates.extxyz",
///   "terminals": ["BaO", "RhO2"],
///   "pressures_gpa": [0, 10]
/// }
/// </code>
/// </example>
public sealed record StudySettings
{
    /// <summary>
    /// The objective of the study's hyperparameter fit unless <see cref="StudyModelSettings.FitObjective"/> says otherwise: the
    /// leave-one-structure-out predictive log density, chosen by cross-validation on the bundled Ba–Rh–O data
    /// (docs/DESIGN.md, "Hyperparameter objectives"); <c>gpff train --fit</c> uses the same.
    /// </summary>
    public const HyperparameterObjective DefaultFitObjective = HyperparameterObjective.LeaveOneStructureOut;

    /// <summary>The file's keys and values: snake_case, strict (an unknown key is an error).</summary>
    internal static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,   // a file for people: "b2+2+3", not "b2\u002B2\u002B3" (never embedded in HTML)
        Converters = { new JsonStringEnumConverter<HyperparameterObjective>(JsonNamingPolicy.SnakeCaseLower), new KernelKindJsonConverter() },
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        TypeInfoResolver = StudySettingsJsonContext.Default,   // source-generated: works where reflection-based JSON is off (AOT, file-based apps)
    };

    /// <summary>A name for the study, used in titles (default "study").</summary>
    public string Name { get; set; } = "study";

    /// <summary>Extended-XYZ files of labelled DFT frames (energies, forces, stresses) to train on; at least one.</summary>
    public IReadOnlyList<string> TrainingData { get; set; } = [];

    /// <summary>Extended-XYZ file of the candidate structures (each frame named by its <c>name</c> or <c>config_type</c> key).</summary>
    public string Candidates { get; set; } = "";

    /// <summary>Terminal compositions of the hull (e.g. BaO, RhO2 for the pseudo-binary); empty: the elements.</summary>
    public IReadOnlyList<string> Terminals { get; set; } = [];

    /// <summary>Pressures in GPa at which every candidate is relaxed and the hull built (default 0 and 10).</summary>
    public IReadOnlyList<double> PressuresGpa { get; set; } = [0, 10];

    /// <summary>The force field: cutoffs and the starting hyperparameters of the fit.</summary>
    public StudyModelSettings Model { get; set; } = new();

    /// <summary>Cross-validation of the trained recipe.</summary>
    public StudyCrossValidationSettings CrossValidation { get; set; } = new();

    /// <summary>Relaxation of the candidates.</summary>
    public StudyRelaxationSettings Relaxation { get; set; } = new();

    /// <summary>Stability probabilities.</summary>
    public StudyHullSettings Hull { get; set; } = new();

    /// <summary>The folder of the settings file; relative paths count from it (not stored in the file).</summary>
    [JsonIgnore]
    public string BaseDirectory { get; set; } = ".";

    /// <summary>Loads a settings file; every problem is one message naming the file and the key.</summary>
    /// <param name="path">The JSON file.</param>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">Malformed JSON, an unknown key, a value of the wrong kind or out of range.</exception>
    public static StudySettings Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"study settings file '{path}' not found.", path);
        }

        string dir = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
        return Parse(File.ReadAllText(path), path) with { BaseDirectory = dir };
    }

    /// <summary>Reads settings from JSON text (relative paths then count from the current folder).</summary>
    /// <param name="json">The JSON.</param>
    /// <param name="source">The name used in messages.</param>
    /// <exception cref="InvalidDataException">Malformed JSON, an unknown key, a value of the wrong kind or out of range.</exception>
    public static StudySettings Parse(string json, string source = "<settings>")
    {
        ArgumentNullException.ThrowIfNull(json);
        StudySettings? s;
        try
        {
            s = JsonSerializer.Deserialize<StudySettings>(json, Json);
        }
        catch (JsonException ex)
        {
            string where = ex.Path is { Length: > 0 } p ? $" at {p}" : string.Empty;
            string line = ex.LineNumber is long l ? string.Create(CultureInfo.InvariantCulture, $", line {l + 1}") : string.Empty;
            throw new InvalidDataException($"{source}{line}: {FirstSentence(ex.Message)}{where}. Keys: {string.Join(", ", KeyNames())}.", ex);
        }

        if (s is null)
        {
            throw new InvalidDataException($"{source}: the settings are empty (null).");
        }

        s.Validate(source);
        return s;
    }

    /// <summary>The settings as JSON (what <see cref="Parse"/> reads back).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Writes the settings atomically to a file.</summary>
    /// <param name="path">The file.</param>
    public void Save(string path) =>
        SafeFile.WriteAtomic(path, stream =>
        {
            using var w = new StreamWriter(stream, leaveOpen: true);
            w.Write(ToJson());
            w.WriteLine();
        });

    /// <summary>
    /// A reduced run that still does every step (for CI and a first try): at most 3 fit iterations, 2 cross-validation
    /// folds without refits, at most 60 relaxation steps, 1000 Monte-Carlo samples.
    /// </summary>
    public StudySettings Quick() => this with
    {
        Model = Model with { FitMaxIterations = Math.Min(Model.FitMaxIterations, 3) },
        CrossValidation = CrossValidation with { Folds = CrossValidation.Folds == 0 ? 0 : 2, Refit = false },
        Relaxation = Relaxation with { MaxSteps = Math.Min(Relaxation.MaxSteps, 60) },
        Hull = Hull with { Samples = Math.Min(Hull.Samples, 1000) },
    };

    /// <summary>A path of the settings made absolute against <see cref="BaseDirectory"/>.</summary>
    /// <param name="path">A path as written in the settings.</param>
    public string Resolve(string path) => Path.GetFullPath(path, Path.GetFullPath(BaseDirectory));

    /// <summary>The terminal compositions (null: the elements).</summary>
    public IReadOnlyList<Composition>? TerminalCompositions() =>
        Terminals.Count == 0 ? null : Terminals.Select(Composition.Parse).ToArray();

    /// <summary>Checks values and ranges.</summary>
    /// <param name="source">The name used in messages.</param>
    /// <exception cref="InvalidDataException">The first problem, naming the key.</exception>
    public void Validate(string source = "<settings>")
    {
        void Fail(string key, string why) => throw new InvalidDataException($"{source}: {key}: {why}.");
        static string G(double v) => v.ToString("G", CultureInfo.InvariantCulture);
        if (TrainingData is null || TrainingData.Count == 0 || TrainingData.Any(string.IsNullOrWhiteSpace))
        {
            Fail("training_data", "give at least one extended-XYZ file of labelled frames");
        }

        if (string.IsNullOrWhiteSpace(Candidates))
        {
            Fail("candidates", "give the extended-XYZ file of the candidate structures");
        }

        if (PressuresGpa is null || PressuresGpa.Count == 0)
        {
            Fail("pressures_gpa", "give at least one pressure in GPa");
        }

        foreach (double p in PressuresGpa!)
        {
            if (!double.IsFinite(p) || p < -100 || p > 1000)
            {
                Fail("pressures_gpa", $"{G(p)} GPa is outside [-100, 1000] GPa");
            }
        }

        if (PressuresGpa.Distinct().Count() != PressuresGpa.Count)
        {
            Fail("pressures_gpa", "a pressure is repeated");
        }

        foreach (string t in Terminals ?? [])
        {
            if (!Composition.TryParse(t, out _))
            {
                Fail("terminals", $"'{t}' is not a formula (e.g. BaO)");
            }
        }

        var m = Model ?? new();
        if (!(m.PairCutoffA > 0) || !(m.TripletCutoffA > 0) || m.TripletCutoffA > m.PairCutoffA)
        {
            Fail("model", $"cutoffs must be > 0 Å with triplet ≤ pair, got pair {G(m.PairCutoffA)} Å, triplet {G(m.TripletCutoffA)} Å");
        }

        if (m.FitMaxIterations < 1)
        {
            Fail("model.fit_max_iterations", $"must be ≥ 1, got {m.FitMaxIterations}");
        }

        if (m.ReferencePriorEvPerAtom is double tau && !(tau > 0 && double.IsFinite(tau)))
        {
            Fail("model.reference_prior_ev_per_atom", $"must be > 0 eV/atom (or null for fixed reference energies), got {G(tau)}");
        }

        var cv = CrossValidation ?? new();
        if (cv.Folds is < 0 or 1)
        {
            Fail("cross_validation.folds", $"must be 0 (none) or ≥ 2, got {cv.Folds}");
        }

        var r = Relaxation ?? new();
        if (!(r.FmaxEvPerA > 0) || !(r.StressToleranceGpa > 0) || r.MaxSteps < 1)
        {
            Fail("relaxation", $"fmax_ev_per_a and stress_tolerance_gpa must be > 0 and max_steps ≥ 1, got {G(r.FmaxEvPerA)} eV/Å, {G(r.StressToleranceGpa)} GPa, {r.MaxSteps}");
        }

        var h = Hull ?? new();
        if (h.Samples < 1)
        {
            Fail("hull.samples", $"must be ≥ 1, got {h.Samples}");
        }

        if (!(h.UncertainLow >= 0 && h.UncertainLow < h.UncertainHigh && h.UncertainHigh <= 1))
        {
            Fail("hull", $"uncertain_low and uncertain_high must satisfy 0 ≤ low < high ≤ 1, got {G(h.UncertainLow)}, {G(h.UncertainHigh)}");
        }
    }

    /// <summary>One line per key with its default, for help texts (read from the records' initialisers).</summary>
    public static string Describe()
    {
        var d = new StudySettings();
        var w = new StringWriter(CultureInfo.InvariantCulture);
        foreach (var (key, value) in Flatten(JsonSerializer.SerializeToElement(d, Json), string.Empty))
        {
            w.WriteLine($"  {key} (default {value})");
        }

        return w.ToString();
    }

    /// <summary>Every key of the file, dotted, in order.</summary>
    public static IReadOnlyList<string> KeyNames() =>
        Flatten(JsonSerializer.SerializeToElement(new StudySettings(), Json), string.Empty).Select(k => k.Key).ToArray();

    private static IEnumerable<(string Key, string Value)> Flatten(JsonElement e, string prefix)
    {
        foreach (var p in e.EnumerateObject())
        {
            string key = prefix + p.Name;
            if (p.Value.ValueKind == JsonValueKind.Object)
            {
                foreach (var x in Flatten(p.Value, key + "."))
                {
                    yield return x;
                }
            }
            else
            {
                yield return (key, p.Value.GetRawText());
            }
        }
    }

    private static string FirstSentence(string message)
    {
        int i = message.IndexOf(". Path:", StringComparison.Ordinal);
        return (i > 0 ? message[..i] : message).TrimEnd('.');
    }
}

/// <summary>The force field of a study.</summary>
public sealed record StudyModelSettings
{
    /// <summary>2-body cutoff, Å.</summary>
    public double PairCutoffA { get; set; } = ForceFieldSettings.DefaultPairCutoffA;

    /// <summary>3-body cutoff, Å.</summary>
    public double TripletCutoffA { get; set; } = ForceFieldSettings.DefaultTripletCutoffA;

    /// <summary>
    /// The kernel, written as in <c>gpff train --kernel</c>: "2+3", "b2" or "b2+2+3" (default
    /// <see cref="ForceFieldSettings.DefaultFittedKernel"/>, the kernel a fit to a data set uses, chosen by cross-validation).
    /// The B2 part takes its species from the training data and the library's descriptor defaults.
    /// </summary>
    public ForceFieldKernel Kernel { get; set; } = ForceFieldSettings.DefaultFittedKernel;

    /// <summary>Fit the hyperparameters and noises (default true); false uses the library's defaults as given.</summary>
    public bool Fit { get; set; } = true;

    /// <summary>The fit's objective (default <see cref="StudySettings.DefaultFitObjective"/>).</summary>
    public HyperparameterObjective FitObjective { get; set; } = StudySettings.DefaultFitObjective;

    /// <summary>Iteration limit of the fit (default <see cref="HyperparameterFitOptions.DefaultMaxIterations"/>).</summary>
    public int FitMaxIterations { get; set; } = HyperparameterFitOptions.DefaultMaxIterations;

    /// <summary>Width τ (eV/atom) of the reference energies' Gaussian prior; null for fixed reference energies.</summary>
    public double? ReferencePriorEvPerAtom { get; set; } = ReferenceEnergyPrior.DefaultStandardDeviationEvPerAtom;
}

/// <summary>The cross-validation of a study.</summary>
public sealed record StudyCrossValidationSettings
{
    /// <summary>K of the K-fold cross-validation over structures, stratified by composition (default 4; 0: none).</summary>
    public int Folds { get; set; } = 4;

    /// <summary>
    /// Refit the hyperparameters in every fold (default false: each fold uses those fitted on all the data, which
    /// leaks a little information into the held-out errors but costs no further fits).
    /// </summary>
    public bool Refit { get; set; }
}

/// <summary>The relaxation of the candidates (positions and cell; the library's defaults).</summary>
public sealed record StudyRelaxationSettings
{
    private static readonly RelaxationOptions Defaults = new();

    /// <summary>Converged when every force is below this, eV/Å.</summary>
    public double FmaxEvPerA { get; set; } = Defaults.FmaxEvPerA;

    /// <summary>... and the stress within this of −P, GPa.</summary>
    public double StressToleranceGpa { get; set; } = Defaults.StressToleranceGpa;

    /// <summary>Optimiser steps per candidate and pressure.</summary>
    public int MaxSteps { get; set; } = Defaults.MaxSteps;

    /// <summary>The relaxation options at a pressure.</summary>
    /// <param name="pressureGpa">Pressure, GPa.</param>
    public RelaxationOptions ToOptions(double pressureGpa) => Defaults with
    {
        PressureGpa = pressureGpa,
        FmaxEvPerA = FmaxEvPerA,
        StressToleranceGpa = StressToleranceGpa,
        MaxSteps = MaxSteps,
    };
}

/// <summary>The stability probabilities of a study.</summary>
public sealed record StudyHullSettings
{
    private static readonly StabilityOptions Defaults = new();

    /// <summary>Monte-Carlo samples of the joint energy distribution.</summary>
    public int Samples { get; set; } = Defaults.Samples;

    /// <summary>Random seed.</summary>
    public int Seed { get; set; } = Defaults.Seed;

    /// <summary>Stability probabilities in [uncertain_low, uncertain_high] are called uncertain: recompute with DFT.</summary>
    public double UncertainLow { get; set; } = Defaults.UncertainLow;

    /// <summary>Upper end of the uncertain band.</summary>
    public double UncertainHigh { get; set; } = Defaults.UncertainHigh;

    /// <summary>The stability options.</summary>
    public StabilityOptions ToOptions() => Defaults with { Samples = Samples, Seed = Seed, UncertainLow = UncertainLow, UncertainHigh = UncertainHigh };
}

/// <summary>A kernel kind in JSON as its CLI name ("2+3", "b2", "b2+2+3"; <see cref="ForceFieldSettings.KernelKindName"/>).</summary>
internal sealed class KernelKindJsonConverter : JsonConverter<ForceFieldKernel>
{
    public override ForceFieldKernel Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw new JsonException($"expected a kernel name ({KindList()})");
        }

        string name = reader.GetString()!;
        try
        {
            return ForceFieldSettings.ParseKernelKind(name);
        }
        catch (ArgumentException)
        {
            throw new JsonException($"unknown kernel '{name}': expected {KindList()}");
        }
    }

    public override void Write(Utf8JsonWriter writer, ForceFieldKernel value, JsonSerializerOptions options) =>
        writer.WriteStringValue(ForceFieldSettings.KernelKindName(value));

    private static string KindList() => string.Join(", ", Enum.GetValues<ForceFieldKernel>().Select(ForceFieldSettings.KernelKindName));
}

/// <summary>Source-generated JSON metadata of the study settings (no reflection at run time).</summary>
[JsonSerializable(typeof(StudySettings))]
internal sealed partial class StudySettingsJsonContext : JsonSerializerContext;
