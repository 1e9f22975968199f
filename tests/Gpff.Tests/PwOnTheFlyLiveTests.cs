using Gpff.Dynamics.ActiveLearning;
using Gpff.Dynamics.MolecularDynamics;
using Gpff.Geometry;
using Gpff.Regression;
using Xunit;
using Xunit.Abstractions;

namespace Gpff.Tests;

/// <summary>
/// On-the-fly learning driven by the real pw.x (Debian's quantum-espresso, installed by .ci/run) on a
/// 2-atom silicon cell with Debian's Si.pz-vbc.UPF at 12 Ry: at most 3 reference calls of about a second.
/// Fails (never skips) when pw.x or the pseudopotential is missing.
/// </summary>
public sealed class PwOnTheFlyLiveTests : IDisposable
{
    private const string DebianPseudoDir = "/usr/share/espresso/pseudo";
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("gpff-otf-pw-");
    private readonly ITestOutputHelper _out;

    public PwOnTheFlyLiveTests(ITestOutputHelper output)
    {
        _out = output;
        bool onPath = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => d.Length > 0 && File.Exists(Path.Combine(d, "pw.x")));
        Assert.True(onPath, "pw.x is not on PATH. Install Quantum ESPRESSO: apt-get install quantum-espresso quantum-espresso-data (.ci/run does this).");
        Assert.True(File.Exists(Path.Combine(DebianPseudoDir, "Si.pz-vbc.UPF")), $"{DebianPseudoDir}/Si.pz-vbc.UPF is missing (apt-get install quantum-espresso-data).");
    }

    public void Dispose() => _dir.Delete(recursive: true);

    /// <summary>Diamond Si (a = 5.43 Å, fcc primitive cell), atom 0 displaced along x.</summary>
    private static Structure Silicon(double dxA)
    {
        const double h = 5.43 / 2;
        return new Structure(["Si", "Si"], [new Vec3(dxA, 0, 0), new Vec3(h / 2, h / 2, h / 2)], new Mat3(0, h, h, h, 0, h, h, h, 0), Pbc.All);
    }

    private string SettingsJson => $$"""
        {
          "reference": {
            "working_directory": "pw-runs",
            "pseudo_directory": "{{DebianPseudoDir}}",
            "pseudopotentials": { "Si": "Si.pz-vbc.UPF" },
            "ecutwfc_ry": 12,
            "k_point_mesh": [2, 2, 2],
            "conv_thr_ry": 1e-9
          },
          "retry": { "max_attempts": 2 },
          "threshold_ev_per_a": 0.02,
          "max_reference_calls": 3,
          "checkpoint_directory": "checkpoint"
        }
        """;

    /// <summary>pw.x at a fixed cutoff and k-mesh is precise: label noise well below the forces' scale.</summary>
    private static readonly ForceFieldSettings Settings = new() { PairCutoffA = 4.0, TripletCutoffA = 3.2, Noise = new NoiseLevels(0.002, 0.02, 0.001) };

    private static double ForceMae(ForceField model, Structure labelled)
    {
        var predicted = model.Predict(labelled.CloneWithoutLabels(), uncertainty: false).ForcesEvPerA!;
        return predicted.Zip(labelled.ForcesEvPerA!, (p, r) => Math.Abs(p.X - r.X) + Math.Abs(p.Y - r.Y) + Math.Abs(p.Z - r.Z)).Sum() / (3.0 * predicted.Length);
    }

    [Fact]
    public void ThreeReferenceCallsWithPwxTeachTheModelAndAreCheckpointed()
    {
        string settingsPath = Path.Combine(_dir.FullName, "learn.json");
        File.WriteAllText(settingsPath, SettingsJson);
        var settings = LearningSettings.Load(settingsPath);
        var pw = settings.CreateReference();

        // Start model: one pw.x frame.
        var first = Silicon(0.08);
        pw.Calculate(first).ApplyAsLabels(first);
        var model = ForceField.Create(Settings);
        model.Train([first]);
        model.RefitOptions = new HyperparameterFitOptions { MaxIterations = 3, FitNoise = false }; // 4 small structures cannot tell the noise

        var s = Silicon(0.0);
        var md = new Langevin(s, model, 2.0, 900, 0.02, 5, MaxwellBoltzmann.SampleVelocities(s.MassesAmu(), 900, 5));
        var result = new OnTheFlyLearner(md, model, pw, settings.OnTheFlyOptions(12)).Run();
        foreach (var c in result.Calls)
        {
            _out.WriteLine($"call {c.Call} at step {c.Step}: max σ_F {c.MaxForceStdEvPerA:F3} eV/Å, GP force MAE before {c.ForceMaeEvPerA * 1000:F1} meV/Å, ΔE {c.EnergyErrorEv * 1000:F1} meV");
        }

        Assert.Equal(3, result.ReferenceCalls);
        Assert.Equal(12, result.Steps);
        Assert.Equal(4, Directory.GetDirectories(Path.Combine(_dir.FullName, "pw-runs"), "pw-*").Length); // the start frame and 3 calls
        Assert.Equal(1 + result.ReferenceCalls, model.TrainingStructureCount);
        Assert.True(result.RefittedAtEnd);

        // The model learned the pw.x labels: on the structures pw.x was called on, its forces are far closer to
        // pw.x's than the start model's (one pw.x frame).
        var start = ForceField.Create(Settings);
        start.Train([first]);
        double before = 0, after = 0;
        foreach (var entry in model.Model.Training.Skip(1))
        {
            var labelled = entry.Structure;
            Assert.NotNull(labelled.EnergyEv);
            Assert.NotNull(labelled.StressEvPerA3);
            before += ForceMae(start, labelled);
            after += ForceMae(model, labelled);
        }

        _out.WriteLine($"hyp start {string.Join(",", start.Model.Kernel.Hyperparameters)} {start.Model.Noise}; learned {string.Join(",", model.Model.Kernel.Hyperparameters)} {model.Model.Noise}");
        _out.WriteLine($"force MAE on the called structures: start model {before / 3 * 1000:F1} meV/Å, learned {after / 3 * 1000:F1} meV/Å");
        Assert.True(after < 0.5 * before, $"force MAE {before / 3} → {after / 3} eV/Å");

        string checkpoint = Path.Combine(_dir.FullName, "checkpoint");
        Assert.True(OnTheFlyCheckpoint.Exists(checkpoint));
        Assert.Equal("model-00003.gpff", Path.GetFileName(OnTheFlyCheckpoint.ModelPath(checkpoint)));
        var saved = ForceField.Load(OnTheFlyCheckpoint.ModelPath(checkpoint));
        Assert.Equal(model.Model.Alpha.ToArray(), saved.Model.Alpha.ToArray());
    }
}
