using Gpff.Geometry;
using Gpff.QuantumEspresso;
using Xunit;

namespace Gpff.Slurm.Tests;

/// <summary>
/// pw.x through sbatch on the local one-node cluster (tools/slurm/start-local-cluster.sh), with Debian's pw.x and
/// Si.pz-vbc.UPF at 12 Ry on 2-atom silicon cells (about a second per run on a quiet machine). Fail, never skip, when the cluster or pw.x is missing.
/// </summary>
public sealed class SlurmPwTests : IDisposable
{
    private const string DebianPseudoDir = "/usr/share/espresso/pseudo";
    private readonly string _dir = Directory.CreateTempSubdirectory("gpff-slurm-pw-").FullName;

    public SlurmPwTests()
    {
        SlurmCluster.Require();
        bool onPath = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => d.Length > 0 && File.Exists(Path.Combine(d, "pw.x")));
        Assert.True(onPath, "pw.x is not on PATH. Install Quantum ESPRESSO: apt-get install quantum-espresso quantum-espresso-data (.ci/run does this).");
        Assert.True(File.Exists(Path.Combine(DebianPseudoDir, "Si.pz-vbc.UPF")), $"{DebianPseudoDir}/Si.pz-vbc.UPF is missing (apt-get install quantum-espresso-data).");
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Structure Silicon(double dxA)
    {
        const double h = 5.43 / 2;
        return new Structure(["Si", "Si"], [new Vec3(dxA, 0, 0), new Vec3(h / 2, h / 2, h / 2)], new Mat3(0, h, h, h, 0, h, h, h, 0), Pbc.All);
    }

    private static PwInputSettings Input(int? electronMaxstep = null)
    {
        var namelists = new PwNamelists();
        if (electronMaxstep is int n)
        {
            namelists.Set("electrons", "electron_maxstep", n);
        }

        return new PwInputSettings
        {
            Pseudopotentials = new Dictionary<string, string> { ["Si"] = "Si.pz-vbc.UPF" },
            PseudoDirectory = DebianPseudoDir,
            EcutwfcRy = 12,
            KPointMesh = new Int3(2, 2, 2),
            ConvThrRy = 1e-9,
            Namelists = namelists,
        };
    }

    // Launcher "": the job starts pw.x plainly (one rank, OpenMPI's singleton start). The local cluster has no PMIx
    // (MpiDefault=none), so Debian's OpenMPI pw.x cannot be started by srun there; real clusters use the default "srun".
    private SlurmPwOptions Options(string name, params string[] setup) => new()
    {
        Slurm = new SlurmSettings { PollSeconds = 0.3, TimeLimitMinutes = 5, Setup = setup, Launcher = "" },
        WorkingDirectory = Path.Combine(_dir, name),
    };

    private static void Same(CalculationResult expected, CalculationResult actual)
    {
        Assert.Equal(expected.EnergyEv!.Value, actual.EnergyEv!.Value, 9);
        for (int i = 0; i < expected.ForcesEvPerA!.Length; i++)
        {
            for (int c = 0; c < 3; c++)
            {
                Assert.Equal(expected.ForcesEvPerA[i][c], actual.ForcesEvPerA![i][c], 9);
            }
        }

        for (int v = 0; v < 6; v++)
        {
            Assert.Equal(expected.StressEvPerA3!.Value[v], actual.StressEvPerA3!.Value[v], 12);
        }
    }

    [Fact]
    public async Task BatchOfPwRunsThroughSbatchEqualsTheSameRunsMadeDirectly()
    {
        var cells = new[] { Silicon(0.0), Silicon(0.06), Silicon(0.12) };
        var direct = new PwCalculator(Input(), new PwRunOptions { WorkingDirectory = Path.Combine(_dir, "direct") });
        var expected = cells.Select(c => direct.Calculate(c)).ToList();

        var slurm = new SlurmPwCalculator(Input(), Options("slurm"));
        var got = await Task.WhenAll(cells.Select(c => slurm.CalculateAsync(c, CalculatorProperties.EnergyForcesStress)));
        for (int i = 0; i < cells.Length; i++)
        {
            Same(expected[i], got[i]);
        }

        Assert.Equal(3, slurm.SubmittedJobs);
        Assert.Equal(3, slurm.Ledger.Records.Count);
        foreach (var r in slurm.Ledger.Records)
        {
            string script = File.ReadAllText(Path.Combine(r.Directory, SlurmJobScript.ScriptFile));
            Assert.Contains("\npw.x -in pw.in > pw.out 2> pw.err\n", script);
            Assert.Equal("0", File.ReadAllText(Path.Combine(r.Directory, SlurmJobScript.ExitCodeFile)).Trim());
            Assert.True(File.Exists(Path.Combine(r.Directory, $"slurm-{r.JobId}.out")));
        }

        // Asked again (a driver run a second time): every answer comes from the recorded jobs, none is submitted.
        var again = new SlurmPwCalculator(Input(), Options("slurm"));
        Same(expected[1], again.Calculate(cells[1], CalculatorProperties.EnergyForcesStress));
        Assert.Equal((0, 1), (again.SubmittedJobs, again.AttachedJobs));
    }

    [Fact]
    public async Task ADriverKilledWhileItsJobsRunReattachesWithoutSubmittingThemAgain()
    {
        var cells = new[] { Silicon(0.03), Silicon(0.09) };
        var options = Options("reattach", "sleep 4"); // the jobs are still running when the second driver starts
        var first = new SlurmPwCalculator(Input(), options);
        var abandoned = cells.Select(c => Task.Run(() => first.CalculateAsync(c, CalculatorProperties.EnergyForcesStress))).ToList();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (first.Ledger.Records.Count < 2)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), "the jobs were not submitted within a minute");
            await Task.Delay(100);
        }

        // The first driver is gone (its state in memory is lost; only the ledger file remains). The jobs still run.
        var ids = new SlurmJobLedger(Path.Combine(options.WorkingDirectory, SlurmJobLedger.FileName)).Records.Select(r => r.JobId).Order().ToList();
        var states = await new SlurmClient().QueryAsync(ids);
        Assert.Contains(states.Values, s => !s.IsFinished);

        var second = new SlurmPwCalculator(Input(), options);
        var got = await Task.WhenAll(cells.Select(c => second.CalculateAsync(c, CalculatorProperties.EnergyForcesStress)));
        Assert.Equal(0, second.SubmittedJobs);
        Assert.Equal(2, second.AttachedJobs);
        Assert.Equal(ids, second.Ledger.Records.Select(r => r.JobId).Order());
        var direct = new PwCalculator(Input(), new PwRunOptions { WorkingDirectory = Path.Combine(_dir, "direct") });
        for (int i = 0; i < cells.Length; i++)
        {
            Same(direct.Calculate(cells[i]), got[i]);
        }

        await Task.WhenAll(abandoned);
        Assert.Equal(2, first.SubmittedJobs);
    }

    [Fact]
    public async Task CancellationCancelsTheJob()
    {
        var calculator = new SlurmPwCalculator(Input(), Options("cancel", "sleep 120"));
        using var cts = new CancellationTokenSource();
        var run = calculator.CalculateAsync(Silicon(0.02), CalculatorProperties.EnergyForcesStress, cts.Token);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (calculator.Ledger.Records.Count == 0)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), "the job was not submitted within a minute");
            await Task.Delay(100);
        }

        string id = calculator.Ledger.Records[0].JobId;
        cts.Cancel();
        var e = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.Contains($"The pw.x job {id}", e.Message);
        Assert.Contains("was cancelled (scancel)", e.Message);
        Assert.Empty(calculator.Ledger.Records);
        SlurmJobStatus status;
        clock.Restart();
        do
        {
            status = (await new SlurmClient().QueryAsync([id]))[id];
            await Task.Delay(200);
        }
        while (!status.IsFinished && clock.Elapsed < TimeSpan.FromSeconds(30));
        Assert.Equal("CANCELLED", status.State);
    }

    [Fact]
    public void AnScfThatDoesNotConvergeIsRetriedByThePwRetryPolicyAsANewJob()
    {
        // electron_maxstep 1 cannot converge; the policy's second attempt adds 100 iterations (and halves mixing_beta).
        var policy = new PwRetryPolicy { MaxAttempts = 2 };
        var cell = Silicon(0.05);
        var direct = new PwCalculator(Input(electronMaxstep: 1), new PwRunOptions { WorkingDirectory = Path.Combine(_dir, "direct"), Retry = policy });
        var expected = direct.Calculate(cell);
        var slurm = new SlurmPwCalculator(Input(electronMaxstep: 1), Options("retry") with { Retry = policy });
        Same(expected, slurm.Calculate(cell));
        Assert.Equal(2, slurm.SubmittedJobs);

        var once = new SlurmPwCalculator(Input(electronMaxstep: 1), Options("retry"));
        var e = Assert.Throws<PwCalculationException>(() => once.Calculate(cell));
        Assert.Equal(PwFailureKind.NotConverged, e.Kind);
        Assert.Contains("pw.x run in", e.Message);
        Assert.Equal(0, once.SubmittedJobs); // the failed first attempt was already recorded: read again, not rerun
    }
}
