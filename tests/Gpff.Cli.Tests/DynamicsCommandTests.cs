using System.Globalization;
using Gpff.Dynamics.ActiveLearning;
using Gpff.Geometry;
using Gpff.IO;
using Gpff.Regression;

namespace Gpff.Cli.Tests;

/// <summary><c>gpff relax</c>, <c>gpff md</c> and <c>gpff learn</c> (with the real pw.x on 2-atom silicon; they fail, never skip, without it).</summary>
public sealed class DynamicsCommandTests : IDisposable
{
    private const string DebianPseudoDir = "/usr/share/espresso/pseudo";
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("gpff-cli-dyn-");

    public void Dispose() => _dir.Delete(recursive: true);

    private string P(string name) => Path.Combine(_dir.FullName, name);

    /// <summary>The BaO and RhO2 frames of the bundled pw.x set, and a model trained on them with fixed hyperparameters.</summary>
    private (string Data, string Model) BaRhOModel()
    {
        var frames = ExtXyz.Read(Path.Combine(Cli.Root, "data", "barho-train.extxyz"))
            .Where(f => f.AtomCount <= 6 && (string)f.Info["config_type"] is "BaO" or "RhO2").ToList();
        ExtXyz.Write(P("small.extxyz"), frames);
        var (code, _, err) = Cli.Run("train", P("small.extxyz"), "-o", P("m.gpff"), "--cutoff-3", "3.2",
            "--hyperparameters", "sigma2=0.07,length2=0.45,sigma3=0.004,length3=0.6,energy_noise=0.003,force_noise=0.06,stress_noise=0.002");
        Assert.True(code == 0, err);
        var three = frames.Where((_, i) => i is 0 or 1 or 11).ToList(); // RhO2, BaO, RhO2
        ExtXyz.Write(P("three.extxyz"), three);
        return (P("three.extxyz"), P("m.gpff"));
    }

    [Fact]
    public void ARelaxationThatCollapsesIsReportedAsSuchAndTheOtherFramesAreWritten()
    {
        var (data, model) = BaRhOModel();
        var frames = ExtXyz.Read(data).ToList();
        var rutile = frames[0];
        var oxygens = Enumerable.Range(0, rutile.AtomCount).Where(i => rutile.AtomicNumbers[i] == 8).ToArray();
        var positions = rutile.Positions.ToArray();
        var along = positions[oxygens[1]] - positions[oxygens[0]];
        positions[oxygens[1]] = positions[oxygens[0]] + along * (0.9 / along.Length);   // O–O at 0.9 Å: never in the training data
        var squeezed = new Structure(rutile.AtomicNumbers.ToArray(), positions, rutile.Cell, rutile.Pbc);
        squeezed.Info["name"] = "squeezed";
        ExtXyz.Write(P("four.extxyz"), [.. frames, squeezed]);

        // The model pulls the two O atoms together (it has never seen O–O that short): the relaxation collapses
        // them onto each other. Listed as the model's failure, not the input's; the other frames are written.
        var (code, stdout, stderr) = Cli.Run("relax", model, P("four.extxyz"), "-o", P("relaxed.extxyz"), "--entries", P("entries.csv"));
        Assert.True(code == 0, stderr);
        var line = Assert.Single(stdout.Split('\n'), l => l.StartsWith("relaxation of frame", StringComparison.Ordinal));
        Assert.StartsWith("relaxation of frame 4 (squeezed) collapsed: ", line);
        Assert.Contains("(O)", line);
        Assert.DoesNotContain("four.extxyz, frame 4", stdout + stderr);   // not an error of the input frame
        Assert.Equal(3, ExtXyz.Read(P("relaxed.extxyz")).Count());
        Assert.DoesNotContain("squeezed", File.ReadAllText(P("entries.csv")));

        // Criteria so loose that every frame "converges" where it starts: the squeezed one, and a BaO cell stretched by
        // 25 % along every edge (twice the largest BaO volume in training), have left the training data whatever the
        // optimiser says; they are written with converged=F and why, and kept out of the entries.
        var stretched = frames[1].Strained(new Voigt(0.25, 0.25, 0.25, 0, 0, 0));
        stretched.Info["name"] = "stretched";
        ExtXyz.Write(P("five.extxyz"), [.. frames, squeezed, stretched]);
        (code, stdout, stderr) = Cli.Run("relax", model, P("five.extxyz"), "-o", P("loose.extxyz"), "--entries", P("loose.csv"), "--fmax", "100", "--stress-tolerance", "1000");
        Assert.True(code == 0, stderr);
        var lines = stdout.Split('\n').Where(l => l.StartsWith("relaxation of frame", StringComparison.Ordinal)).ToArray();
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("relaxation of frame 4 (squeezed) collapsed: left the training data: O–O at 0.90 Å", lines[0]);
        Assert.Contains("shortest in training", lines[0]);
        Assert.StartsWith("relaxation of frame 5 (stretched) expanded: left the training data: expanded to", lines[1]);
        Assert.Contains("× the largest BaO volume in training", lines[1]);
        var relaxed = ExtXyz.Read(P("loose.extxyz")).ToList();
        Assert.Equal(5, relaxed.Count);
        foreach (int k in new[] { 3, 4 })
        {
            Assert.Equal(false, relaxed[k].Info["converged"]);
            Assert.Equal(0, Convert.ToInt32(relaxed[k].Info["relax_steps"], CultureInfo.InvariantCulture));
            Assert.StartsWith("left the training data", (string)relaxed[k].Info["left_training_data"]!);
        }

        Assert.All(relaxed.Take(3), r => Assert.False(r.Info.ContainsKey("left_training_data")));
        Assert.Equal(["RhO2", "BaO", "RhO2-3"], File.ReadAllLines(P("loose.csv")).Skip(1).Select(l => l.Split(',')[0]));

        // MD says so too: one femtosecond from the squeezed frame ends outside the training data.
        (code, stdout, stderr) = Cli.Run("md", model, P("four.extxyz"), "--frame", "4", "--ensemble", "nve", "--temperature", "0", "--steps", "1");
        Assert.True(code == 0, stderr);
        Assert.Contains("warning: the final structure left the training data: O–O at 0.9", stdout);
        (code, stdout, stderr) = Cli.Run("md", model, P("four.extxyz"), "--frame", "1", "--ensemble", "nve", "--temperature", "0", "--steps", "1");
        Assert.True(code == 0, stderr);
        Assert.DoesNotContain("warning", stdout);
    }

    [Fact]
    public void RelaxWritesEnthalpiesAndHullEntriesThatGpffHullReads()
    {
        var (data, model) = BaRhOModel();
        var (code, stdout, stderr) = Cli.Run("relax", model, data, "-o", P("relaxed.extxyz"), "--pressure", "10", "--fmax", "0.005", "--entries", P("entries.csv"));
        Assert.True(code == 0, stderr);
        Assert.Contains("relaxing at 10 GPa (full cell, lbfgs, fmax 0.005 eV/Å)", stdout);
        var relaxed = ExtXyz.Read(P("relaxed.extxyz")).ToList();
        Assert.Equal(3, relaxed.Count);
        foreach (var r in relaxed)
        {
            Assert.Equal(true, r.Info["converged"]);
            double expected = r.EnergyEv!.Value + 10 * Units.GpaA3InEv * r.VolumeA3;
            Assert.Equal(expected, (double)r.Info["enthalpy"]!, 9);
            Assert.Equal(expected / r.AtomCount, (double)r.Info["enthalpy_per_atom"]!, 9);
            Assert.True(r.ForcesEvPerA!.Max(f => f.Length) < 0.005 * Math.Sqrt(3));
            Assert.True(Units.EvPerA3ToGpa(Math.Abs(r.StressEvPerA3!.Value.Pressure - Units.GpaToEvPerA3(10))) < 0.05);
        }

        Assert.Equal(["RhO2", "BaO", "RhO2-3"], File.ReadAllLines(P("entries.csv")).Skip(1).Select(l => l.Split(',')[0]));
        var (hullCode, hullOut, hullErr) = Cli.Run("hull", P("entries.csv"), "--pressure", "10", "--terminals", "BaO,RhO2");
        Assert.True(hullCode == 0, hullErr);
        Assert.Contains("BaO–RhO2 hull at 10 GPa: 3 entries", hullOut);

        // The same frames at 0 GPa relax to larger volumes.
        Assert.Equal(0, Cli.Run("relax", model, data, "-o", P("relaxed0.extxyz"), "--optimizer", "fire").Code);
        var zero = ExtXyz.Read(P("relaxed0.extxyz")).ToList();
        Assert.All(zero.Zip(relaxed), p => Assert.True(p.First.VolumeA3 > p.Second.VolumeA3, $"{p.First.VolumeA3} vs {p.Second.VolumeA3} Å³"));
    }

    [Fact]
    public void MdWritesTheLogAndTrajectoryEveryNSteps()
    {
        var (data, model) = BaRhOModel();
        var (code, stdout, stderr) = Cli.Run("md", model, data, "--frame", "2", "--ensemble", "nve", "--temperature", "300", "--timestep", "1",
            "--steps", "40", "--seed", "3", "--log", P("md.csv"), "--trajectory", P("md.extxyz"), "--every", "10");
        Assert.True(code == 0, stderr);
        Assert.Contains("40 steps of 1 fs (nve)", stdout);
        Assert.Contains("step 40/40", stderr);
        Assert.DoesNotContain('\u001b', stderr); // redirected: plain lines, no terminal control codes
        var log = File.ReadAllLines(P("md.csv"));
        Assert.Equal(Dynamics.MolecularDynamics.MolecularDynamicsLogger.Header, log[0]);
        Assert.Equal(["10", "20", "30", "40"], log.Skip(1).Select(l => l.Split(',')[0]));
        var total = log.Skip(1).Select(l => double.Parse(l.Split(',')[4], CultureInfo.InvariantCulture)).ToList();
        Assert.True(total.Max() - total.Min() < 1e-3, $"NVE total energy drifts by {total.Max() - total.Min()} eV over 40 fs");
        var frames = ExtXyz.Read(P("md.extxyz")).ToList();
        Assert.Equal(4, frames.Count);
        Assert.Equal("BaO", frames[0].HillFormula());

        // Same seed, same run.
        Assert.Equal(0, Cli.Run("md", model, data, "--frame", "2", "--ensemble", "nve", "--temperature", "300", "--timestep", "1", "--steps", "40", "--seed", "3", "--log", P("md2.csv"), "--every", "10").Code);
        Assert.Equal(log, File.ReadAllLines(P("md2.csv")));
    }

    [Theory]
    [InlineData(new[] { "--ensemble", "nvt" }, "gpff md: --steps N is required: the number of MD steps.")]
    [InlineData(new[] { "--ensemble", "nph", "--steps", "5" }, "gpff md: option --ensemble expects nve, nvt or npt, got 'nph'.")]
    [InlineData(new[] { "--ensemble", "nvt", "--steps", "5", "--pressure", "10" }, "gpff md: options --pressure, --barostat-time, --compressibility and --anisotropic are for --ensemble npt, not nvt.")]
    [InlineData(new[] { "--steps", "5", "--timestep", "0" }, "gpff md: option --timestep must be > 0 fs, got 0.")]
    [InlineData(new[] { "--steps", "5", "--frame", "9" }, "gpff md: {data} has 3 frames; --frame 9 asked for.")]
    [InlineData(new[] { "--steps", "5", "--ensemble", "nve", "--friction", "0.1" }, "gpff md: option --friction is for --ensemble nvt or npt, not nve.")]
    public void BadMdOptionsAreRefusedAndNothingIsWritten(string[] options, string message)
    {
        var (data, model) = BaRhOModel();
        var snapshot = FolderSnapshot.Take(_dir.FullName);
        var (code, _, stderr) = Cli.Run(["md", model, data, "--log", P("log.csv"), .. options]);
        Assert.Equal(message.Contains("frames; --frame", StringComparison.Ordinal) ? 1 : 2, code); // usage errors exit 2; a frame the file lacks is about the file
        Assert.Equal(message.Replace("{data}", data, StringComparison.Ordinal), stderr.Trim());
        snapshot.AssertUnchanged();
    }

    [Fact]
    public void BadRelaxOptionsAreRefused()
    {
        var (data, model) = BaRhOModel();
        Assert.Equal("gpff relax: option --cell expects full, hydrostatic or fixed, got 'cubic'.", Cli.Run("relax", model, data, "-o", P("o.extxyz"), "--cell", "cubic").Err.Trim());
        Assert.Equal("gpff relax: option --optimizer expects lbfgs or fire, got 'bfgs'.", Cli.Run("relax", model, data, "-o", P("o.extxyz"), "--optimizer", "bfgs").Err.Trim());
        Assert.Equal("gpff relax: option --fmax must be > 0 eV/Å, got -1.", Cli.Run("relax", model, data, "-o", P("o.extxyz"), "--fmax", "-1").Err.Trim());
        Assert.Equal("gpff relax: -o OUT.extxyz is required.", Cli.Run("relax", model, data).Err.Trim());
        Assert.False(File.Exists(P("o.extxyz")));
    }

    // ------------------------------------------------------------------ learn, with pw.x

    private static Structure Silicon(double dxA)
    {
        const double h = 5.43 / 2;
        return new Structure(["Si", "Si"], [new Vec3(dxA, 0, 0), new Vec3(h / 2, h / 2, h / 2)], new Mat3(0, h, h, h, 0, h, h, h, 0), Pbc.All);
    }

    private const string SiSettings = $$"""
        {
          "reference": { "pseudo_directory": "{{DebianPseudoDir}}", "pseudopotentials": { "Si": "Si.pz-vbc.UPF" }, "ecutwfc_ry": 12, "k_point_mesh": [2, 2, 2] },
          "threshold_ev_per_a": 0.02,
          "max_reference_calls": 2,
          "refit_at_end": false
        }
        """;

    /// <summary>A settings file, a start model trained on one pw.x frame, and the start structure.</summary>
    private (string Settings, string Model, string Start) SiliconSetup()
    {
        Assert.True(File.Exists(Path.Combine(DebianPseudoDir, "Si.pz-vbc.UPF")), "Install Debian's quantum-espresso and quantum-espresso-data (.ci/run does this).");
        File.WriteAllText(P("learn.json"), SiSettings);
        var first = Silicon(0.08);
        LearningSettings.Load(P("learn.json")).CreateReference().Calculate(first).ApplyAsLabels(first);
        var model = ForceField.Create(new ForceFieldSettings { PairCutoffA = 4.0, TripletCutoffA = 3.2, Noise = new NoiseLevels(0.002, 0.02, 0.001) });
        model.Train([first]);
        model.Save(P("start.gpff"));
        ExtXyz.Write(P("si.extxyz"), [Silicon(0.0)]);
        return (P("learn.json"), P("start.gpff"), P("si.extxyz"));
    }

    [Fact]
    public void LearnOnTheFlyWithPwxStopsAndResumesFromItsCheckpoint()
    {
        var (settings, model, start) = SiliconSetup();
        string[] md = ["--ensemble", "nvt", "--temperature", "900", "--timestep", "2", "--seed", "5", "--checkpoint", P("ck")];
        var (code, stdout, stderr) = Cli.Run(["learn", model, start, "--settings", settings, "-o", P("half.gpff"), "--steps", "4", .. md]);
        Assert.True(code == 0, stderr);
        int firstCalls = stdout.Split('\n').Count(l => l.StartsWith("call ", StringComparison.Ordinal));
        Assert.InRange(firstCalls, 1, 2);
        Assert.Contains("step 4/4", stderr);
        Assert.Contains("reference calls", stderr);

        // Same folder without --resume: refused; other MD options with --resume: refused.
        var again = Cli.Run(["learn", model, start, "--settings", settings, "-o", P("x.gpff"), "--steps", "4", .. md]);
        Assert.Equal($"gpff learn: {P("ck")} holds a checkpoint of an earlier run: add --resume to continue it, or choose another --checkpoint folder.", again.Err.Trim());
        var other = Cli.Run(["learn", model, start, "--settings", settings, "-o", P("x.gpff"), "--steps", "6", "--resume", .. md.Select(a => a == "900" ? "300" : a)]);
        Assert.Equal(2, other.Code); // options that differ from the checkpoint's: a usage error
        Assert.StartsWith("gpff learn: --resume: the MD options or input differ from those of the run in", other.Err.Trim(), StringComparison.Ordinal);
        Assert.False(File.Exists(P("x.gpff")));

        var (code2, stdout2, stderr2) = Cli.Run(["learn", model, start, "--settings", settings, "-o", P("full.gpff"), "--steps", "8", "--resume", .. md]);
        Assert.True(code2 == 0, stderr2);
        Assert.Contains($"resuming from {P("ck")} at step 4 with {firstCalls} reference calls", stdout2);
        int runs = Directory.GetDirectories(P("pw-runs"), "pw-*").Length;
        int calls = OnTheFlyCheckpointCalls(P("ck"));
        Assert.Equal(1 + calls, runs); // the start frame, then one pw.x run per call: none repeated
        Assert.InRange(calls, firstCalls, 2);
        Assert.Equal(1 + calls, ForceField.Load(P("full.gpff")).TrainingStructureCount);
    }

    private static int OnTheFlyCheckpointCalls(string dir) =>
        ForceField.Load(OnTheFlyCheckpoint.ModelPath(dir)).TrainingStructureCount - 1;

    [Fact]
    public void LearnFromAPoolLabelsTheMostUncertainWithPwx()
    {
        var (settings, model, _) = SiliconSetup();
        ExtXyz.Write(P("pool.extxyz"), [Silicon(0.02), Silicon(0.3), Silicon(-0.25), Silicon(0.1)]);
        var (code, stdout, stderr) = Cli.Run("learn", model, "--pool", P("pool.extxyz"), "--settings", settings, "-o", P("pool.gpff"), "--selected", P("selected.extxyz"));
        Assert.True(code == 0, stderr);
        Assert.Contains("2 of 4 pool structures labelled", stdout);
        Assert.Contains("round 1:", stderr);
        var selected = ExtXyz.Read(P("selected.extxyz")).ToList();
        Assert.Equal(2, selected.Count);
        Assert.All(selected, s => Assert.NotNull(s.EnergyEv));
        Assert.Equal(3, ForceField.Load(P("pool.gpff")).TrainingStructureCount);
        // The far-displaced structures are the uncertain ones.
        Assert.Equal([0.3, -0.25], selected.Select(s => Math.Round(s.Positions[0].X, 2)).Order().Reverse());
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")] // /proc, SIGTERM
    public async Task SigtermStopsLearnCleanlyAndKillsTheRunningPwx()
    {
        var (_, model, _) = SiliconSetup();
        ExtXyz.Write(P("pool.extxyz"), [Silicon(0.3)]);

        // A "pw.x" that never finishes, so that the signal arrives while the reference calculation runs.
        string fake = P("slow-pw.sh");
        File.WriteAllText(fake, "#!/bin/sh\nexec sleep 300\n");
        File.SetUnixFileMode(fake, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.WriteAllText(P("slow.json"), SiSettings.Replace("\"reference\": {", $"\"reference\": {{ \"command\": \"{fake}\",", StringComparison.Ordinal));

        var start = new System.Diagnostics.ProcessStartInfo("dotnet")
        {
            WorkingDirectory = _dir.FullName,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "Gpff.Cli.dll"), "learn", model, "--pool", P("pool.extxyz"), "--settings", P("slow.json"), "-o", P("never.gpff") })
        {
            start.ArgumentList.Add(a);
        }

        using var gpff = System.Diagnostics.Process.Start(start)!;
        var stderrTask = gpff.StandardError.ReadToEndAsync();
        var stdoutTask = gpff.StandardOutput.ReadToEndAsync();
        string? runDir = null;
        for (int i = 0; i < 600 && runDir is null; i++)
        {
            await Task.Delay(100);
            runDir = Directory.Exists(P("pw-runs"))
                ? Directory.GetDirectories(P("pw-runs"), "pw-*").Where(d => Gpff.Testing.LiveProcesses.In(d).Count > 0).FirstOrDefault()
                : null;
        }

        Assert.True(runDir is not null, "the fake pw.x never started; stderr: " + (gpff.HasExited ? await stderrTask : "(running)"));
        Assert.Equal(0, Kill(gpff.Id, 15)); // SIGTERM
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await gpff.WaitForExitAsync(timeout.Token);
        string stderr = await stderrTask;
        _ = await stdoutTask;
        Assert.Equal(130, gpff.ExitCode);
        Assert.Contains("gpff learn: cancelled.", stderr);
        for (int i = 0; i < 50 && Gpff.Testing.LiveProcesses.In(runDir!).Count > 0; i++)
        {
            await Task.Delay(100);
        }

        Assert.Empty(Gpff.Testing.LiveProcesses.In(runDir!));
        Assert.False(File.Exists(P("never.gpff")));
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    [Fact]
    public void BadLearnInputsAreRefusedWithOneLine()
    {
        File.WriteAllText(P("bad.json"), """{ "reference": { "pseudopotentials": { "Si": "Si.UPF" }, "ecutwfc_ry": 12 }, "treshold_ev_per_a": 0.1 }""");
        File.WriteAllText(P("ok.json"), """{ "reference": { "pseudopotentials": { "Si": "Si.UPF" }, "ecutwfc_ry": 12 } }""");
        var (data, model) = BaRhOModel();
        var snapshot = FolderSnapshot.Take(_dir.FullName);
        Assert.Equal("gpff learn: --settings SETTINGS.json is required: the pw.x reference and the learning settings (gpff learn --help lists the keys).",
            Cli.Run("learn", model, data, "-o", P("o.gpff"), "--steps", "5").Err.Trim());
        Assert.StartsWith($"gpff learn: {P("bad.json")}: unknown key 'treshold_ev_per_a'; known keys: reference, retry, threshold_ev_per_a,",
            Cli.Run("learn", model, data, "--settings", P("bad.json"), "-o", P("o.gpff"), "--steps", "5").Err.Trim(), StringComparison.Ordinal);
        Assert.Equal($"gpff learn: {data}, frame 1: Rh has no pseudopotential in the settings (reference.pseudopotentials has Si).",
            Cli.Run("learn", model, data, "--settings", P("ok.json"), "-o", P("o.gpff"), "--steps", "5").Err.Trim());
        Assert.Equal("gpff learn: --resume needs the checkpoint folder: --checkpoint DIR or checkpoint_directory in the settings.",
            Cli.Run("learn", model, data, "--settings", P("ok.json"), "-o", P("o.gpff"), "--steps", "5", "--resume").Err.Trim());
        Assert.Equal("gpff learn: with --pool, expected only MODEL (gpff learn --help).",
            Cli.Run("learn", model, data, "--pool", data, "--settings", P("ok.json"), "-o", P("o.gpff")).Err.Trim());
        snapshot.AssertUnchanged();
    }
}
