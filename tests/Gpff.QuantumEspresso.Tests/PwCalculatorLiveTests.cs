using System.Diagnostics;
using Gpff.QuantumEspresso;
using Gpff.Geometry;
using Xunit.Abstractions;

namespace Gpff.QuantumEspresso.Tests;

/// <summary>
/// End-to-end tests with the real pw.x (Debian's quantum-espresso 6.7, installed by .ci/run) and
/// Debian's Si.pz-vbc.UPF: a 2-atom silicon cell, 12–20 Ry, 2×2×2 k-points, about a second per run.
/// They fail (never skip) when pw.x is missing.
/// </summary>
public sealed class PwCalculatorLiveTests : IDisposable
{
    private const string DebianPseudoDir = "/usr/share/espresso/pseudo";
    private readonly string _root = Path.Combine(Path.GetTempPath(), "gpff-pw-tests-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly ITestOutputHelper _out;

    public PwCalculatorLiveTests(ITestOutputHelper output)
    {
        _out = output;
        RequirePwX();
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static void RequirePwX()
    {
        bool onPath = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
            .Any(d => d.Length > 0 && File.Exists(Path.Combine(d, "pw.x")));
        Assert.True(onPath, "pw.x is not on PATH. Install Quantum ESPRESSO: apt-get install quantum-espresso quantum-espresso-data (.ci/run does this).");
        Assert.True(File.Exists(Path.Combine(DebianPseudoDir, "Si.pz-vbc.UPF")),
            $"{DebianPseudoDir}/Si.pz-vbc.UPF is missing. Install Debian's quantum-espresso-data (apt-get install quantum-espresso-data).");
    }

    private static PwInputSettings SiSettings(double ecutRy = 12, string pseudo = "Si.pz-vbc.UPF", Int3? mesh = null) => new()
    {
        Pseudopotentials = new Dictionary<string, string> { ["Si"] = pseudo },
        PseudoDirectory = DebianPseudoDir,
        EcutwfcRy = ecutRy,
        KPointMesh = mesh ?? new Int3(2, 2, 2),
        ConvThrRy = 1e-11,
    };

    /// <summary>Diamond Si (a = 5.43 Å, fcc primitive cell) with atom 0 displaced along x.</summary>
    private static Structure Silicon(double dxA = 0.05, double strainXX = 0)
    {
        const double h = 5.43 / 2;
        var cell = new Mat3(0, h, h, h, 0, h, h, h, 0);
        var s = new Structure(["Si", "Si"], [new Vec3(dxA, 0, 0), new Vec3(h / 2, h / 2, h / 2)], cell, Pbc.All);
        return strainXX == 0 ? s : s.Strained(new Voigt(strainXX, 0, 0, 0, 0, 0));
    }

    private PwCalculator Calculator(PwInputSettings? settings = null, string command = "pw.x", TimeSpan? timeout = null) =>
        new(settings ?? SiSettings(), new PwRunOptions { Command = command, WorkingDirectory = _root, Timeout = timeout });

    [Fact]
    public void TwoRunsOfTheSameInputAgreeAndEachKeepsItsFolder()
    {
        var calc = Calculator();
        var s = Silicon();
        var r1 = calc.Calculate(s);
        string d1 = calc.LastDirectory!;
        var r2 = calc.Calculate(s);
        string d2 = calc.LastDirectory!;

        Assert.Equal(Path.Combine(_root, "pw-0001"), d1);
        Assert.Equal(Path.Combine(_root, "pw-0002"), d2);
        foreach (var d in new[] { d1, d2 })
        {
            Assert.True(File.Exists(Path.Combine(d, "pw.in")));
            Assert.Contains("JOB DONE.", File.ReadAllText(Path.Combine(d, "pw.out")));
            Assert.False(Directory.Exists(Path.Combine(d, "scratch"))); // scratch removed by default
        }

        _out.WriteLine($"E1 = {r1.EnergyEv!.Value:R} eV, E2 = {r2.EnergyEv!.Value:R} eV");
        Assert.InRange(r1.EnergyEv!.Value, -15.7 * 13.6057, -15.5 * 13.6057); // Si2 with this pseudo: ≈ −15.6 Ry
        Assert.Equal(r1.EnergyEv!.Value, r2.EnergyEv!.Value, 6); // to 1e-6 eV
        Assert.Equal(r1.ForcesEvPerA![0].X, r2.ForcesEvPerA![0].X, 5);
        Assert.NotNull(r1.StressEvPerA3);
        // Newton's third law, and the displaced atom is pushed back toward its site (−x).
        Assert.Equal(0, (r1.ForcesEvPerA![0] + r1.ForcesEvPerA![1]).Length, 4);
        Assert.True(r1.ForcesEvPerA![0].X < -0.1, $"force on the displaced atom: {r1.ForcesEvPerA![0]}");
        // The structure was written exactly and read back from the output (header precision).
        var run = calc.Run(s);
        Assert.Equal(s.Positions[0].X, run.Positions[0].X, 5);
        Assert.Equal(Path.Combine(_root, "pw-0003"), run.Info["qe_directory"]);
    }

    [Fact]
    public void ForceAgreesWithFiniteDifferenceOfTotalEnergies()
    {
        var calc = Calculator();
        const double x0 = 0.05, h = 0.01;
        double force = calc.Calculate(Silicon(x0)).ForcesEvPerA![0].X;
        double ePlus = calc.Calculate(Silicon(x0 + h)).EnergyEv!.Value;
        double eMinus = calc.Calculate(Silicon(x0 - h)).EnergyEv!.Value;
        double fd = -(ePlus - eMinus) / (2 * h);
        _out.WriteLine($"F_x = {force:R} eV/Å, −dE/dx = {fd:R} eV/Å");
        Assert.True(Math.Sign(force) == Math.Sign(fd) && Math.Abs(force) > 0.1, $"F_x = {force}, FD = {fd}");
        Assert.True(Math.Abs(force - fd) < 0.03 * Math.Abs(fd) + 2e-3, $"F_x = {force} eV/Å vs −dE/dx = {fd} eV/Å");
    }

    [Fact]
    public void StressAgreesWithFiniteDifferenceOfTotalEnergiesUnderStrain()
    {
        // ASE sign: σ_xx = (1/V) ∂E/∂ε_xx (positive = tensile). A converged cutoff keeps the Pulay stress small.
        var calc = Calculator(SiSettings(ecutRy: 30));
        const double eps = 0.004;
        var s = Silicon(0.0);
        var stress = calc.Calculate(s).StressEvPerA3!.Value;
        double ePlus = calc.Calculate(Silicon(0.0, eps)).EnergyEv!.Value;
        double eMinus = calc.Calculate(Silicon(0.0, -eps)).EnergyEv!.Value;
        double fd = (ePlus - eMinus) / (2 * eps) / s.VolumeA3;
        _out.WriteLine($"σ_xx = {Units.EvPerA3ToGpa(stress.XX):R} GPa, (1/V) dE/dε = {Units.EvPerA3ToGpa(fd):R} GPa");
        Assert.True(Math.Sign(stress.XX) == Math.Sign(fd), $"σ_xx = {stress.XX}, FD = {fd} eV/Å³");
        Assert.True(Math.Abs(stress.XX - fd) < 0.1 * Math.Abs(fd) + Units.GpaToEvPerA3(0.3), $"σ_xx = {stress.XX} vs FD {fd} eV/Å³");
    }

    [Fact]
    public void FailingRunNamesTheFolderAndPwxReason()
    {
        var calc = Calculator(SiSettings(pseudo: "Si.no-such-file.UPF"));
        var ex = Assert.Throws<PwCalculationException>(() => calc.Calculate(Silicon()));
        _out.WriteLine(ex.Message);
        Assert.Equal(PwFailureKind.PwError, ex.Kind);
        Assert.Equal(calc.LastDirectory, ex.Directory);
        Assert.Contains(ex.Directory, ex.Message);
        Assert.Contains("Si.no-such-file.UPF not found", ex.Message);
        Assert.Contains("Error in routine readpp", ex.Message);
        Assert.True(File.Exists(Path.Combine(ex.Directory, "pw.out")));
        Assert.Empty(Gpff.Testing.LiveProcesses.In(ex.Directory));
    }

    [Fact]
    public void TimeoutKillsTheWholeProcessTree()
    {
        // The wrapper shell keeps pw.x as its child (no exec), so only a tree kill stops pw.x.
        string wrapper = Wrapper();
        var slow = SiSettings(ecutRy: 50, mesh: new Int3(10, 10, 10)); // ~25 s on one core
        var calc = Calculator(slow, $"/bin/sh {wrapper}", TimeSpan.FromSeconds(2));
        var sw = Stopwatch.StartNew();
        var ex = Assert.Throws<PwCalculationException>(() => calc.Calculate(Silicon()));
        _out.WriteLine($"{ex.Message} after {sw.Elapsed.TotalSeconds:F1} s");
        Assert.Equal(PwFailureKind.Timeout, ex.Kind);
        Assert.Contains(ex.Directory, ex.Message);
        Assert.Contains("timeout of 2 s", ex.Message);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(20), $"took {sw.Elapsed}");
        Assert.True(File.ReadAllText(Path.Combine(ex.Directory, "pw.err")).Contains("wrapper started", StringComparison.Ordinal));
        AssertNoProcessLeft(ex.Directory);
    }

    [Fact]
    public void CancellationKillsTheWholeProcessTree()
    {
        string wrapper = Wrapper();
        var slow = SiSettings(ecutRy: 50, mesh: new Int3(10, 10, 10));
        var calc = Calculator(slow, $"/bin/sh {wrapper}");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        var ex = Assert.Throws<OperationCanceledException>(() => calc.Calculate(Silicon(), cts.Token));
        _out.WriteLine(ex.Message);
        Assert.Contains(calc.LastDirectory!, ex.Message);
        Assert.Equal(cts.Token, ex.CancellationToken);
        AssertNoProcessLeft(calc.LastDirectory!);
    }

    [Fact]
    public void CommandWithArgumentsAndOmpDefault()
    {
        // A command line with quoted arguments; the shell reports OMP_NUM_THREADS on stderr.
        var calc = Calculator(command: "/bin/sh -c \"echo OMP=$OMP_NUM_THREADS >&2; exec pw.x \\\"\\$@\\\"\" sh");
        var r = calc.Calculate(Silicon());
        Assert.True(r.EnergyEv!.Value < 0);
        string expected = Environment.GetEnvironmentVariable("OMP_NUM_THREADS") ?? "1";
        Assert.Contains($"OMP={expected}", File.ReadAllText(Path.Combine(calc.LastDirectory!, "pw.err")));
    }

    [Fact]
    public void MissingProgramSaysHowToInstall()
    {
        var calc = Calculator(command: "no-such-pw-program.x");
        var ex = Assert.Throws<PwCalculationException>(() => calc.Calculate(Silicon()));
        Assert.Equal(PwFailureKind.CouldNotStart, ex.Kind);
        Assert.Contains("no-such-pw-program.x", ex.Message);
        Assert.Contains("quantum-espresso", ex.Message);
        Assert.Contains(ex.Directory, ex.Message);
    }

    [Fact]
    public void NonConvergedScfIsAFailureNotAResult()
    {
        var settings = SiSettings();
        settings.Namelists.Set("electrons", "electron_maxstep", 2);
        var calc = Calculator(settings);
        var ex = Assert.Throws<PwCalculationException>(() => calc.Calculate(Silicon()));
        _out.WriteLine(ex.Message);
        Assert.Equal(PwFailureKind.NotConverged, ex.Kind);
        Assert.Contains("convergence NOT achieved", ex.Message);
        Assert.Contains(ex.Directory, ex.Message);
    }

    [Fact]
    public void NonConvergedScfIsRetriedWithMoreStepsAndSmallerMixing()
    {
        var settings = SiSettings();
        settings.Namelists.Set("electrons", "electron_maxstep", 2);
        var calc = new PwCalculator(settings, new PwRunOptions
        {
            WorkingDirectory = _root,
            Retry = new PwRetryPolicy { MaxAttempts = 2, MixingBetaFactor = 0.5, ExtraElectronSteps = 60 },
        });
        var result = calc.Calculate(Silicon());
        Assert.InRange(result.EnergyEv!.Value, -15.7 * 13.6057, -15.5 * 13.6057);
        Assert.Equal(Path.Combine(_root, "pw-0002"), calc.LastDirectory);
        Assert.Contains("convergence NOT achieved", File.ReadAllText(Path.Combine(_root, "pw-0001", "pw.out")));
        string retried = File.ReadAllText(Path.Combine(_root, "pw-0002", "pw.in"));
        Assert.Contains("mixing_beta = 0.35", retried);
        Assert.Contains("electron_maxstep = 62", retried);
        Assert.Equal(2, settings.Namelists.Get("electrons", "electron_maxstep")); // the caller's settings are not changed
    }

    [Fact]
    public void RetriesThatAllFailNameEveryAttempt()
    {
        var settings = SiSettings();
        settings.Namelists.Set("electrons", "electron_maxstep", 1);
        var calc = new PwCalculator(settings, new PwRunOptions { WorkingDirectory = _root, Retry = new PwRetryPolicy { MaxAttempts = 2, ExtraElectronSteps = 0 } });
        var ex = Assert.Throws<PwCalculationException>(() => calc.Calculate(Silicon()));
        _out.WriteLine(ex.Message);
        Assert.Equal(PwFailureKind.NotConverged, ex.Kind);
        Assert.Equal(Path.Combine(_root, "pw-0002"), ex.Directory);
        Assert.EndsWith($"This was attempt 2 of 2 (mixing_beta 0.35, electron_maxstep 1); earlier: attempt 1 (mixing_beta 0.7, electron_maxstep 1) in {Path.Combine(_root, "pw-0001")}: NotConverged.", ex.Message);
    }

    private string Wrapper()
    {
        Directory.CreateDirectory(_root);
        string path = Path.Combine(_root, "wrapper.sh");
        File.WriteAllText(path, "echo wrapper started >&2\npw.x \"$@\"\necho wrapper done >&2\n");
        return path;
    }

    private static void AssertNoProcessLeft(string dir)
    {
        var left = Gpff.Testing.LiveProcesses.In(dir);
        for (int i = 0; i < 20 && left.Count > 0; i++)
        {
            Thread.Sleep(100);
            left = Gpff.Testing.LiveProcesses.In(dir);
        }

        Assert.True(left.Count == 0, $"processes still running in {dir}: {string.Join(", ", left)}");
    }
}
