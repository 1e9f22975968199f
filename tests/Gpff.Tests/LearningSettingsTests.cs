using System.Reflection;
using System.Text.Json;
using Gpff.Dynamics.ActiveLearning;
using Gpff.QuantumEspresso;
using Xunit;

namespace Gpff.Tests;

/// <summary>The settings file of <c>gpff learn</c>: what it builds, and a clear one-line error for every bad key or value.</summary>
public sealed class LearningSettingsTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("gpff-settings-");

    public void Dispose() => _dir.Delete(recursive: true);

    private const string Full = """
        {
          // comments and trailing commas are allowed
          "reference": {
            "command": "mpirun -np 4 pw.x",
            "working_directory": "runs",
            "timeout_minutes": 30,
            "pseudo_directory": "pseudo",
            "pseudopotentials": { "Ba": "Ba.UPF", "O": "O.UPF" },
            "ecutwfc_ry": 45, "ecutrho_ry": 360,
            "k_spacing_per_a": 0.3,
            "smearing": { "kind": "mv", "degauss_ry": 0.01 },
            "conv_thr_ry": 1e-9,
            "starting_magnetization": { "O": 0.1 },
            "namelists": { "electrons": { "mixing_beta": 0.4, "electron_maxstep": 80, "mixing_mode": "local-TF" }, "system": { "nosym": true } },
          },
          "retry": { "max_attempts": 4, "mixing_beta_factor": 0.6, "extra_electron_steps": 50 },
          "threshold_force_noise_multiple": 1.5,
          "atoms_per_call": 8,
          "refit_every": 5,
          "refit_at_end": false,
          "max_reference_calls": 40,
          "checkpoint_directory": "otf",
          "structures_per_round": 6,
          "max_concurrency": 2
        }
        """;

    [Fact]
    public void FileBuildsThePwxCalculatorAndTheLearningOptions()
    {
        string path = Path.Combine(_dir.FullName, "learn.json");
        File.WriteAllText(path, Full);
        var s = LearningSettings.Load(path);
        var pw = s.CreateReference();
        Assert.Equal("mpirun -np 4 pw.x", pw.Options.Command);
        Assert.Equal(Path.Combine(_dir.FullName, "runs"), pw.Options.WorkingDirectory); // relative to the settings file
        Assert.Equal(Path.Combine(_dir.FullName, "pseudo"), pw.Settings.PseudoDirectory);
        Assert.Equal(TimeSpan.FromMinutes(30), pw.Options.Timeout);
        Assert.Equal(new PwRetryPolicy { MaxAttempts = 4, MixingBetaFactor = 0.6, ExtraElectronSteps = 50 }, pw.Options.Retry);
        Assert.Equal("O.UPF", pw.Settings.Pseudopotentials["O"]);
        Assert.Equal((45.0, 360.0, 0.3, 1e-9), (pw.Settings.EcutwfcRy, pw.Settings.EcutrhoRy!.Value, pw.Settings.KSpacingPerA, pw.Settings.ConvThrRy));
        Assert.Equal(new PwSmearing("mv", 0.01), pw.Settings.Smearing);
        Assert.Equal(0.1, pw.Settings.StartingMagnetization!["O"]);
        Assert.Equal(0.4, pw.Settings.Namelists.Get("electrons", "mixing_beta"));
        Assert.Equal(80, pw.Settings.Namelists.Get("electrons", "electron_maxstep")); // an integer stays an integer for Fortran
        Assert.Equal("local-TF", pw.Settings.Namelists.Get("electrons", "mixing_mode"));
        Assert.Equal(true, pw.Settings.Namelists.Get("system", "nosym"));

        var otf = s.OnTheFlyOptions(500);
        Assert.Equal(new OnTheFlyOptions
        {
            Steps = 500, ThresholdForceNoiseMultiple = 1.5, AtomsPerCall = 8, RefitEvery = 5, RefitAtEnd = false, MaxReferenceCalls = 40,
            CheckpointDirectory = Path.Combine(_dir.FullName, "otf"), MaxAttempts = 1,
        }, otf);
        Assert.Equal("/elsewhere", s.OnTheFlyOptions(1, "/elsewhere").CheckpointDirectory);
        var pool = s.PoolOptions();
        Assert.Equal((6, 2, 40, 8, 1), (pool.StructuresPerRound, pool.MaxConcurrency, pool.MaxReferenceCalls, pool.AtomsPerCall!.Value, pool.MaxAttempts));
    }

    [Fact]
    public void KeysLeftOutTakeTheLibraryDefaults()
    {
        var s = LearningSettings.Parse("""{ "reference": { "pseudopotentials": { "Si": "Si.UPF" }, "ecutwfc_ry": 20 } }""");
        var pw = s.CreateReference();
        var defaults = new PwInputSettings { Pseudopotentials = new Dictionary<string, string>(), EcutwfcRy = 1 };
        Assert.Equal((defaults.KSpacingPerA, defaults.ConvThrRy, (PwSmearing?)null), (pw.Settings.KSpacingPerA, pw.Settings.ConvThrRy, pw.Settings.Smearing));
        Assert.Equal(new PwRunOptions().Command, pw.Options.Command);
        Assert.Equal(new PwRetryPolicy(), pw.Options.Retry);
        Assert.Equal(new OnTheFlyOptions { Steps = 7, MaxAttempts = 1 }, s.OnTheFlyOptions(7));
        Assert.Equal(new PoolSelectionOptions { MaxAttempts = 1 }, s.PoolOptions());
    }

    [Fact]
    public void DescribeListsEveryKey()
    {
        // One home: every key the file accepts is documented by Describe (help text and DESIGN.md).
        string text = LearningSettings.Describe();
        foreach (var (prefix, type) in new[] { ("", typeof(LearningSettings)), ("reference.", typeof(ReferenceSettings)), ("retry.", typeof(RetrySettings)), ("slurm.", typeof(Gpff.Slurm.SlurmSettings)) })
        {
            foreach (var p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.GetCustomAttribute<System.Text.Json.Serialization.JsonIgnoreAttribute>() is null))
            {
                string key = prefix + JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name);
                if (key is "reference" or "retry" or "slurm")
                {
                    continue;
                }

                Assert.Contains("  " + key + " ", text, StringComparison.Ordinal);
            }
        }
    }

    [Theory]
    [InlineData("""{ "reference": { "pseudopotentials": { "Si": "Si.UPF" }, "ecutwfc_ry": 20 }, "treshold_ev_per_a": 0.1 }""",
        "learn.json: unknown key 'treshold_ev_per_a'; known keys: reference, retry, threshold_ev_per_a, threshold_force_noise_multiple, atoms_per_call, refit_every, refit_at_end, max_reference_calls, checkpoint_directory, structures_per_round, max_concurrency, slurm.")]
    [InlineData("""{ "reference": { "pseudopotentials": { "Si": "Si.UPF" }, "ecutwfc": 20 } }""",
        "learn.json: unknown key 'reference.ecutwfc' in reference; known keys: command, working_directory, timeout_minutes, pseudo_directory, pseudopotentials, ecutwfc_ry, ecutrho_ry, k_spacing_per_a, k_point_mesh, shift_k_points, smearing, conv_thr_ry, starting_magnetization, namelists.")]
    [InlineData("""{ "reference": { "pseudopotentials": { "Si": "Si.UPF" }, "ecutwfc_ry": "20" } }""", "learn.json: reference.ecutwfc_ry must be a number, got \"20\".")]
    [InlineData("""{ "reference": { "pseudopotentials": { "Si": "Si.UPF" }, "ecutwfc_ry": 20 }, "atoms_per_call": 2.5 }""", "learn.json: atoms_per_call must be a whole number, got 2.5.")]
    [InlineData("""{ "reference": { "pseudopotentials": { "Si": "Si.UPF" }, "ecutwfc_ry": 20 }, "refit_at_end": "yes" }""", "learn.json: refit_at_end must be true or false, got \"yes\".")]
    [InlineData("""{ "reference": { "pseudopotentials": { "Si": "Si.UPF" }, "ecutwfc_ry": 20, "k_point_mesh": 4 } }""", "learn.json: reference.k_point_mesh must be a list [ … ], got 4.")]
    [InlineData("""{ "reference": { "pseudopotentials": { "Si": 3 }, "ecutwfc_ry": 20 } }""", "learn.json: reference.pseudopotentials.Si must be a string, got 3.")]
    [InlineData("""{ "reference": [] }""", "learn.json: reference must be an object { … }, got a list.")]
    [InlineData("""{ }""", "learn.json: reference is required: the pw.x calculator, {\"pseudopotentials\": {…}, \"ecutwfc_ry\": …}.")]
    [InlineData("""{ "reference": { "ecutwfc_ry": 20 } }""", "learn.json: reference.pseudopotentials is required: a file name per element, e.g. {\"Si\": \"Si.pz-vbc.UPF\"}.")]
    [InlineData("""{ "reference": { "pseudopotentials": { "Xx": "X.UPF" }, "ecutwfc_ry": 20 } }""", "learn.json: reference.pseudopotentials: 'Xx' is not a chemical element.")]
    [InlineData("""{ "reference": { "pseudopotentials": { "Si": "Si.UPF" } } }""", "learn.json: reference.ecutwfc_ry is required (the wavefunction cutoff in Ry).")]
    [InlineData("""{ "reference": { "pseudopotentials": { "Si": "Si.UPF" }, "ecutwfc_ry": -5 } }""", "learn.json: reference.ecutwfc_ry = -5: the cutoff must be > 0 Ry.")]
    [InlineData("""{ "reference": { "pseudopotentials": { "Si": "Si.UPF" }, "ecutwfc_ry": 40, "ecutrho_ry": 30 } }""", "learn.json: reference.ecutrho_ry = 30: must be at least ecutwfc_ry (40 Ry); 4× for norm-conserving, 8–12× for ultrasoft/PAW.")]
    [InlineData("""{ "reference": { "pseudopotentials": { "Si": "Si.UPF" }, "ecutwfc_ry": 20, "k_point_mesh": [2, 0, 2] } }""", "learn.json: reference.k_point_mesh = [2, 0, 2]: three whole numbers ≥ 1.")]
    [InlineData("""{ "reference": { "pseudopotentials": { "Si": "Si.UPF" }, "ecutwfc_ry": 20, "smearing": { "kind": "cold-ish", "degauss_ry": 0.01 } } }""", "learn.json: reference.smearing.kind = 'cold-ish': one of mv, gaussian, mp, fd.")]
    [InlineData("""{ "reference": { "pseudopotentials": { "Si": "Si.UPF" }, "ecutwfc_ry": 20, "command": "pw.x 'unclosed" } }""", "learn.json: reference.command: Unbalanced ' quote in the command 'pw.x 'unclosed'.")]
    [InlineData("""{ "reference": { "pseudopotentials": { "Si": "Si.UPF" }, "ecutwfc_ry": 20, "namelists": { "electrons": { "mixing_beta": [1] } } } }""", "learn.json: reference.namelists.electrons.mixing_beta: a number, string or true/false, got array.")]
    [InlineData("""{ "reference": { "pseudopotentials": { "Si": "Si.UPF" }, "ecutwfc_ry": 20 }, "retry": { "mixing_beta_factor": 2 } }""", "learn.json: retry.mixing_beta_factor = 2: must be in (0, 1].")]
    [InlineData("""{ "reference": { "pseudopotentials": { "Si": "Si.UPF" }, "ecutwfc_ry": 20 }, "threshold_ev_per_a": -0.1 }""", "learn.json: threshold_ev_per_a = -0.1: must be ≥ 0 eV/Å.")]
    [InlineData("""{ "reference": { "pseudopotentials": { "Si": "Si.UPF" }, "ecutwfc_ry": 20 }, "max_concurrency": 0 }""", "learn.json: max_concurrency = 0: must be a whole number ≥ 1.")]
    [InlineData("""{ "reference": { "pseudopotentials": { "Si": "Si.UPF" }, "ecutwfc_ry": 20 }, }}""", "learn.json, line 1: not valid JSON ('}' is invalid after a single JSON value. Expected end of data).")]
    public void BadSettingsAreRefusedWithOneLineNamingFileAndKey(string json, string message)
    {
        var ex = Assert.Throws<InvalidDataException>(() => LearningSettings.Parse(json, "learn.json"));
        Assert.Equal(message, ex.Message);
    }

    [Fact]
    public void MissingFileIsNamed()
    {
        string path = Path.Combine(_dir.FullName, "none.json");
        var ex = Assert.Throws<FileNotFoundException>(() => LearningSettings.Load(path));
        Assert.Equal($"settings file '{path}' not found.", ex.Message);
    }
    [Fact]
    public void ASlurmSectionMakesTheReferenceASlurmJobPoolWithTheSameInputAndRetries()
    {
        string path = Path.Combine(_dir.FullName, "learn.json");
        File.WriteAllText(path, """
            {
              "reference": { "command": "pw.x -nk 2", "working_directory": "runs", "pseudopotentials": { "Si": "Si.UPF" }, "ecutwfc_ry": 20, "conv_thr_ry": 1e-9 },
              "retry": { "max_attempts": 4 },
              "slurm": { "partition": "short", "ntasks": 8, "time_limit_minutes": 30, "modules": ["qe/7.2"] }
            }
            """);
        var s = LearningSettings.Load(path);
        var reference = Assert.IsType<Gpff.Slurm.SlurmPwCalculator>(s.CreateReferenceCalculator(Path.Combine(_dir.FullName, "otf")));
        Assert.Equal(("short", 8, 30.0, "qe/7.2"), (reference.Options.Slurm.Partition, reference.Options.Slurm.Ntasks, reference.Options.Slurm.TimeLimitMinutes, reference.Options.Slurm.Modules.Single()));
        Assert.Equal("pw.x -nk 2", reference.Options.Command);
        Assert.Equal(Path.Combine(_dir.FullName, "runs"), reference.Options.WorkingDirectory);
        Assert.Equal(Path.Combine(_dir.FullName, "otf", Gpff.Slurm.SlurmJobLedger.FileName), reference.Ledger.Path);
        Assert.Equal(4, reference.Options.Retry.MaxAttempts);
        Assert.Equal(1e-9, reference.Settings.ConvThrRy);
        Assert.IsType<PwCalculator>(LearningSettings.Parse("""{ "reference": { "pseudopotentials": { "Si": "Si.UPF" }, "ecutwfc_ry": 20 } }""").CreateReferenceCalculator());

        string Error(string slurm) => Assert.Throws<InvalidDataException>(() => LearningSettings.Parse(
            $$"""{ "reference": { "pseudopotentials": { "Si": "Si.UPF" }, "ecutwfc_ry": 20 }, "slurm": {{slurm}} }""", "learn.json")).Message;
        Assert.StartsWith("learn.json: unknown key 'slurm.partion' in slurm; known keys: partition, account, qos, ntasks", Error("""{ "partion": "x" }"""));
        Assert.Equal("learn.json: slurm.modules must be a list [ … ], got \"qe\".", Error("""{ "modules": "qe" }"""));
        Assert.Equal("learn.json: slurm: ntasks = 0: at least 1 task.", Error("""{ "ntasks": 0 }"""));
    }
}
