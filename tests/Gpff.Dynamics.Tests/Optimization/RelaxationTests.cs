using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gpff.Dynamics.Optimization;
using Gpff.Dynamics.Potentials;
using Gpff.Geometry;

namespace Gpff.Dynamics.Tests.Optimization;

public class RelaxationTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const double GpaPerEvPerA3 = 160.21766208; // typed here on purpose: an independent check of Units

    /// <summary>A calculator that hides some of another's properties, or spoils its energy.</summary>
    private sealed class Restricted(ICalculator inner, CalculatorProperties implemented, bool nanEnergy = false) : ICalculator
    {
        public List<CalculatorProperties> Requests { get; } = [];

        public CalculatorProperties ImplementedProperties => implemented;

        public CalculationResult Calculate(Structure structure, CalculatorProperties properties, CancellationToken cancellationToken = default)
        {
            this.ThrowIfNotImplemented(properties);
            Requests.Add(properties);
            var r = inner.Calculate(structure, properties, cancellationToken);
            return nanEnergy && r.EnergyEv is not null ? r with { EnergyEv = double.NaN } : r;
        }
    }

    private static double Enthalpy(CellFilter filter) => filter.Evaluate(true).EnthalpyEv!.Value;

    [Theory]
    [InlineData(CellFreedom.Full, 0.0)]
    [InlineData(CellFreedom.Full, 10.0)]
    [InlineData(CellFreedom.Hydrostatic, 10.0)]
    [InlineData(CellFreedom.Fixed, 10.0)]
    public void GradientOfTheEnthalpyMatchesFiniteDifferences(CellFreedom freedom, double pressureGpa)
    {
        var sw = StillingerWeber.DefaultBinary();
        var filter = new CellFilter(TestStructures.RattledBinary(seed: 4, rattleA: 0.1), sw, pressureGpa, freedom);
        var rng = new Random(17);
        var x = filter.GetVariables();
        int n3 = 3 * filter.Structure.AtomCount;

        // Move away from the start: a finite log-strain (not symmetric about the identity) and displaced atoms.
        var u = new double[9];
        for (int a = 0; a < 3; a++)
        {
            for (int b = a; b < 3; b++)
            {
                u[3 * a + b] = u[3 * b + a] = 0.04 * (rng.NextDouble() - 0.5);
            }
        }

        for (int k = 0; k < x.Length; k++)
        {
            x[k] += k < n3 ? 0.05 * (rng.NextDouble() - 0.5) : freedom == CellFreedom.Full ? filter.CellFactor * u[k - n3] : filter.CellFactor * 0.013;
        }

        filter.SetVariables(x);
        var g = filter.Evaluate(true).Gradient;

        // Directional derivatives: along the cell only, the atoms only, and both.
        for (int trial = 0; trial < 6; trial++)
        {
            var d = new double[x.Length];
            for (int k = 0; k < x.Length; k++)
            {
                bool cell = k >= n3;
                bool use = trial % 3 == 0 ? cell : trial % 3 == 1 ? !cell : true;
                d[k] = use ? rng.NextDouble() - 0.5 : 0;
            }

            if (freedom == CellFreedom.Full)
            {
                // Symmetric cell directions (the filter symmetrises U).
                d[n3 + 3] = d[n3 + 1];
                d[n3 + 6] = d[n3 + 2];
                d[n3 + 7] = d[n3 + 5];
            }

            if (d.All(v => v == 0))
            {
                continue; // a fixed cell has no cell direction
            }

            const double h = 1e-4;
            var xp = x.Zip(d, (a, b) => a + h * b).ToArray();
            var xm = x.Zip(d, (a, b) => a - h * b).ToArray();
            filter.SetVariables(xp);
            double hp = Enthalpy(filter);
            filter.SetVariables(xm);
            double hm = Enthalpy(filter);
            double fd = (hp - hm) / (2 * h);
            double analytic = g.Zip(d, (a, b) => a * b).Sum();
            output.WriteLine($"{freedom} P={pressureGpa} trial {trial}: analytic {analytic:G10}, finite difference {fd:G10}");
            Assert.True(Math.Abs(fd - analytic) < 1e-6 * Math.Max(1, Math.Abs(analytic)), $"trial {trial}: analytic {analytic}, finite difference {fd}");
            Assert.True(Math.Abs(analytic) > 1e-3, "the test direction should have a non-trivial slope");
        }
    }

    [Fact]
    public void ExponentialOfTheLogStrainIsRightAndItsGradientMatchesFiniteDifferences()
    {
        // exp(U) for a symmetric U against the Taylor series, and d/dU ⟨G, exp(U)⟩ against central differences.
        var u = new Mat3(0.3, -0.1, 0.05, -0.1, -0.2, 0.12, 0.05, 0.12, 0.1);
        var series = Mat3.Identity;
        var term = Mat3.Identity;
        for (int k = 1; k < 30; k++)
        {
            term = (1.0 / k) * (term * u);
            series += term;
        }

        var e = SymmetricMatrixFunctions.Exp(u);
        for (int i = 0; i < 3; i++)
        {
            for (int j = 0; j < 3; j++)
            {
                Assert.Equal(series[i, j], e[i, j], 1e-13);
            }
        }

        var g = new Mat3(1.0, 0.3, -0.7, 0.2, -0.4, 0.5, 0.9, -0.6, 0.8); // not symmetric, as ∂H/∂F is not
        var grad = SymmetricMatrixFunctions.ExpGradient(u, g);
        var dir = new Mat3(0.2, 0.5, -0.3, 0.5, 0.1, 0.4, -0.3, 0.4, -0.6);
        const double h = 1e-5;
        double f(Mat3 m) => Enumerable.Range(0, 9).Sum(k => g[k / 3, k % 3] * SymmetricMatrixFunctions.Exp(m)[k / 3, k % 3]);
        double fd = (f(u + h * dir) - f(u - h * dir)) / (2 * h);
        double analytic = Enumerable.Range(0, 9).Sum(k => grad[k / 3, k % 3] * dir[k / 3, k % 3]);
        Assert.Equal(fd, analytic, 1e-8);

        // A multiple of the identity stays one exactly.
        var iso = SymmetricMatrixFunctions.Exp(Mat3.Diagonal(0.1, 0.1, 0.1));
        Assert.Equal(Mat3.Diagonal(iso.M00, iso.M00, iso.M00), iso);
    }

    [Theory]
    [InlineData(RelaxationMethod.Lbfgs)]
    [InlineData(RelaxationMethod.Fire)]
    public void RelaxationAt0And10GpaMeetsTheForceAndStressCriteria(RelaxationMethod method)
    {
        var sw = StillingerWeber.DefaultBinary();
        var start = TestStructures.RattledBinary(seed: 8, rattleA: 0.1, na: 2, nb: 1, nc: 1);
        foreach (double p in new[] { 0.0, 10.0 })
        {
            var options = new RelaxationOptions { PressureGpa = p, Method = method, FmaxEvPerA = 0.01, StressToleranceGpa = 0.05, MaxSteps = 2000 };
            var r = Relaxation.Relax(start, sw, options);
            output.WriteLine($"{method} P={p} GPa: {r.Message} iterations {r.Iterations}, calls {r.CalculatorCalls}, fmax {r.MaxForceEvPerA:E3} eV/Å, stress dev {r.MaxStressDeviationGpa:E3} GPa, V/atom {r.VolumePerAtomA3:F5} Å³, H/atom {r.EnthalpyPerAtomEv:F6} eV");
            Assert.True(r.Converged, r.Message);

            // Check the criteria independently of the optimiser's own bookkeeping: a fresh calculation.
            var check = sw.Calculate(r.Structure, CalculatorProperties.All & ~CalculatorProperties.Uncertainty & ~CalculatorProperties.LocalEnergies);
            Assert.True(check.ForcesEvPerA!.Max(f => f.Length) < 0.01);
            var s = check.StressEvPerA3!.Value;
            for (int k = 0; k < 6; k++)
            {
                double target = k < 3 ? -p : 0;
                Assert.True(Math.Abs(s[k] * GpaPerEvPerA3 - target) < 0.05, $"stress component {k} is {s[k] * GpaPerEvPerA3} GPa, target {target}");
            }

            // Enthalpy per atom, with P·V converted independently.
            double h = (check.EnergyEv!.Value + p / GpaPerEvPerA3 * r.Structure.VolumeA3) / r.Structure.AtomCount;
            Assert.Equal(h, r.EnthalpyPerAtomEv, 1e-10);
            Assert.Equal(r.Structure.VolumeA3, r.VolumeA3, 1e-10);
        }
    }

    [Fact]
    public void RelaxedVolumeAt10GpaIsSmallerThanAt0Gpa()
    {
        var sw = StillingerWeber.DefaultBinary();
        var start = TestStructures.RattledBinary(seed: 2, rattleA: 0.1);
        var r0 = Relaxation.Relax(start, sw, new RelaxationOptions { PressureGpa = 0 });
        var r10 = Relaxation.Relax(start, sw, new RelaxationOptions { PressureGpa = 10 });
        output.WriteLine($"V/atom: {r0.VolumePerAtomA3:F4} Å³ at 0 GPa, {r10.VolumePerAtomA3:F4} Å³ at 10 GPa; H/atom {r0.EnthalpyPerAtomEv:F5}, {r10.EnthalpyPerAtomEv:F5} eV");
        Assert.True(r0.Converged && r10.Converged);
        Assert.True(r10.VolumeA3 < r0.VolumeA3 * 0.97, $"{r10.VolumeA3} Å³ at 10 GPa vs {r0.VolumeA3} Å³ at 0 GPa");

        // Each is the minimum of its own enthalpy: the other's structure has a higher enthalpy at this pressure.
        double pv = 10 / GpaPerEvPerA3;
        double h10Of0 = sw.Calculate(r0.Structure, CalculatorProperties.Energy).EnergyEv!.Value + pv * r0.VolumeA3;
        Assert.True(h10Of0 > r10.EnthalpyEv);
    }

    [Theory]
    [InlineData(RelaxationMethod.Lbfgs, CellFreedom.Full)]
    [InlineData(RelaxationMethod.Fire, CellFreedom.Full)]
    [InlineData(RelaxationMethod.Lbfgs, CellFreedom.Hydrostatic)]
    public void CubicCellStaysCubic(RelaxationMethod method, CellFreedom freedom)
    {
        // Zincblende-ordered Si/Ge diamond, 64 atoms, far from its equilibrium lattice constant.
        var d = TestStructures.Diamond(5.25).Repeat(2, 2, 2);
        var z = Enumerable.Range(0, d.AtomCount).Select(i => (i % 8) < 4 ? 14 : 32).ToArray();
        var start = new Structure(z, d.Positions, d.Cell, Pbc.All);
        var r = Relaxation.Relax(start, StillingerWeber.DefaultBinary(), new RelaxationOptions { PressureGpa = 10, Method = method, CellFreedom = freedom });
        var c = r.Structure.Cell;
        output.WriteLine($"{method} {freedom}: {r.Message} cell {c}");
        Assert.True(r.Converged, r.Message);
        Assert.True(Math.Abs(c.M00 - start.Cell.M00) > 0.05, "the lattice constant should have changed");
        double a = c.M00;
        Assert.True(Math.Abs(c.M11 - a) < 1e-10 * a && Math.Abs(c.M22 - a) < 1e-10 * a, $"diagonal {c.M00}, {c.M11}, {c.M22}");
        foreach (double off in new[] { c.M01, c.M02, c.M10, c.M12, c.M20, c.M21 })
        {
            Assert.True(Math.Abs(off) < 1e-10 * a, $"off-diagonal {off}");
        }
    }

    [Fact]
    public void HydrostaticStrainKeepsTheCellShape()
    {
        var start = TestStructures.RattledBinary(seed: 6, rattleA: 0.1);
        var r = Relaxation.Relax(start, StillingerWeber.DefaultBinary(), new RelaxationOptions { PressureGpa = 5, CellFreedom = CellFreedom.Hydrostatic });
        Assert.True(r.Converged, r.Message);
        double scale = Math.Cbrt(r.VolumeA3 / start.VolumeA3);
        Assert.True(Math.Abs(scale - 1) > 1e-3);
        for (int k = 0; k < 9; k++)
        {
            Assert.Equal(scale * start.Cell[k / 3, k % 3], r.Structure.Cell[k / 3, k % 3], 1e-10);
        }

        Assert.Equal(5, r.Structure.StressEvPerA3!.Value.Pressure * GpaPerEvPerA3, 0.05);
    }

    [Fact]
    public void FireAndLbfgsReachTheSameEnthalpy()
    {
        var sw = StillingerWeber.DefaultBinary();
        var start = TestStructures.RattledBinary(seed: 10, rattleA: 0.08);
        var options = new RelaxationOptions { PressureGpa = 10, FmaxEvPerA = 1e-3, StressToleranceGpa = 5e-3 };
        var lbfgs = Relaxation.Relax(start, sw, options);
        var fire = Relaxation.Relax(start, sw, options with { Method = RelaxationMethod.Fire, MaxSteps = 5000 });
        output.WriteLine($"L-BFGS {lbfgs.Iterations} steps / {lbfgs.CalculatorCalls} calls; FIRE {fire.Iterations} steps / {fire.CalculatorCalls} calls; ΔH/atom {fire.EnthalpyPerAtomEv - lbfgs.EnthalpyPerAtomEv:E2} eV");
        Assert.True(lbfgs.Converged && fire.Converged);
        Assert.Equal(lbfgs.EnthalpyPerAtomEv, fire.EnthalpyPerAtomEv, 1e-5);
        Assert.Equal(lbfgs.VolumeA3, fire.VolumeA3, 1e-2);
    }

    [Fact]
    public void FixedCellRelaxationNeedsNoStressAndKeepsTheCell()
    {
        var calc = new Restricted(StillingerWeber.DefaultBinary(), CalculatorProperties.Energy | CalculatorProperties.Forces);
        var start = TestStructures.RattledBinary(seed: 3, rattleA: 0.1);
        var r = Relaxation.Relax(start, calc, new RelaxationOptions { CellFreedom = CellFreedom.Fixed, PressureGpa = 10 });
        Assert.True(r.Converged, r.Message);
        Assert.Equal(start.Cell, r.Structure.Cell);
        Assert.All(calc.Requests, p => Assert.False(p.HasFlag(CalculatorProperties.Stress)));
        Assert.True(r.EnergyEv < StillingerWeber.DefaultBinary().Calculate(start, CalculatorProperties.Energy).EnergyEv);
    }

    [Fact]
    public void FireAsksForTheEnergyOnlyOnceWhenNobodyWatches()
    {
        var calc = new Restricted(StillingerWeber.DefaultBinary(), CalculatorProperties.Energy | CalculatorProperties.Forces | CalculatorProperties.Stress);
        var r = Relaxation.Relax(TestStructures.RattledBinary(seed: 3, rattleA: 0.1), calc, new RelaxationOptions { Method = RelaxationMethod.Fire });
        Assert.True(r.Converged, r.Message);
        Assert.Equal(1, calc.Requests.Count(p => p.HasFlag(CalculatorProperties.Energy)));
        Assert.Equal(r.CalculatorCalls, calc.Requests.Count);
        Assert.Equal(calc.Requests.Count - 1, calc.Requests.Count(p => p == (CalculatorProperties.Forces | CalculatorProperties.Stress)));
    }

    [Fact]
    public void CellRelaxationWithACalculatorWithoutStressIsAClearError()
    {
        var calc = new Restricted(StillingerWeber.DefaultBinary(), CalculatorProperties.Energy | CalculatorProperties.Forces);
        var ex = Assert.Throws<ArgumentException>(() => Relaxation.Relax(TestStructures.RattledBinary(1), calc, new RelaxationOptions { CellFreedom = CellFreedom.Hydrostatic }));
        Assert.Contains("stress", ex.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(Restricted), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NonFiniteEnergyIsAClearError()
    {
        var calc = new Restricted(StillingerWeber.DefaultBinary(), CalculatorProperties.Energy | CalculatorProperties.Forces | CalculatorProperties.Stress, nanEnergy: true);
        var ex = Assert.Throws<InvalidOperationException>(() => Relaxation.Relax(TestStructures.RattledBinary(1), calc));
        Assert.Contains("non-finite energy", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RunningOutOfStepsGivesAnUnconvergedResultNotAnException()
    {
        var start = TestStructures.RattledBinary(seed: 1, rattleA: 0.15);
        var steps = new List<RelaxationStep>();
        var r = Relaxation.Relax(start, StillingerWeber.DefaultBinary(), new RelaxationOptions { MaxSteps = 3, PressureGpa = 10 }, new SyncProgress<RelaxationStep>(steps.Add));
        Assert.False(r.Converged);
        Assert.Equal(3, r.Iterations);
        Assert.Contains("Not converged within 3 steps", r.Message, StringComparison.Ordinal);
        Assert.Equal([0, 1, 2, 3], steps.Select(s => s.Iteration));
        Assert.True(steps[^1].EnthalpyEv < steps[0].EnthalpyEv);
        Assert.Equal(r.EnthalpyEv, steps[^1].EnthalpyEv, 1e-12);
        Assert.NotSame(steps[1].Structure, steps[2].Structure);
    }

    [Fact]
    public void CancellationStopsTheRelaxation()
    {
        using var cts = new CancellationTokenSource();
        var progress = new SyncProgress<RelaxationStep>(s =>
        {
            if (s.Iteration == 2)
            {
                cts.Cancel();
            }
        });
        Assert.Throws<OperationCanceledException>(() => Relaxation.Relax(TestStructures.RattledBinary(1), StillingerWeber.DefaultBinary(), null, progress, cts.Token));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(10.0)]
    public void EnthalpyAgreesWithAseExpCellFilterOnTheSamePotential(double pressureGpa)
    {
        var sw = StillingerWeber.DefaultBinary();
        var start = TestStructures.RattledBinary(seed: 12, rattleA: 0.1);
        var ours = Relaxation.Relax(start, sw, new RelaxationOptions { PressureGpa = pressureGpa, FmaxEvPerA = 1e-3, StressToleranceGpa = 5e-3 });
        Assert.True(ours.Converged, ours.Message);

        var ase = RunAse(start, sw, pressureGpa, "BFGS", fmax: 1e-4);
        double aseH = ase["enthalpy_per_atom"]!.GetValue<double>();
        double aseV = ase["volume"]!.GetValue<double>();
        output.WriteLine($"P={pressureGpa} GPa: H/atom ours {ours.EnthalpyPerAtomEv:F8}, ASE {aseH:F8} eV (Δ {ours.EnthalpyPerAtomEv - aseH:E2}); V ours {ours.VolumeA3:F5}, ASE {aseV:F5} Å³; ASE steps {ase["steps"]}, P {ase["pressure_gpa"]} GPa");
        Assert.True(Math.Abs(ase["pressure_gpa"]!.GetValue<double>() - pressureGpa) < 0.05, "ASE should have reached the target pressure");
        Assert.Equal(aseH, ours.EnthalpyPerAtomEv, 1e-3);
        Assert.Equal(aseV, ours.VolumeA3, 0.01 * aseV);

        // The starting energy agrees exactly: the same potential on both sides.
        var startAse = RunAse(start, sw, pressureGpa, "BFGS", fmax: 1e9);
        Assert.Equal(sw.Calculate(start, CalculatorProperties.Energy).EnergyEv!.Value, startAse["energy"]!.GetValue<double>(), 1e-9);
    }

    private static JsonNode RunAse(Structure s, StillingerWeber sw, double pressureGpa, string optimizer, double fmax)
    {
        var pairs = new JsonArray();
        var triplets = new JsonArray();
        foreach (int a in sw.Species)
        {
            foreach (int b in sw.Species)
            {
                var p = sw.PairParameters(a, b);
                pairs.Add(new JsonArray(a, b, p.EpsilonEv, p.SigmaA, p.A, p.B, p.P, p.Q, p.CutoffRatio, p.Gamma));
                foreach (int c in sw.Species)
                {
                    var t = sw.TripletParameters(c, a, b);
                    triplets.Add(new JsonArray(c, a, b, t.LambdaEv, t.CosTheta0));
                }
            }
        }

        var input = new JsonObject
        {
            ["numbers"] = new JsonArray(s.AtomicNumbers.ToArray().Select(z => (JsonNode)z).ToArray()),
            ["positions"] = new JsonArray(s.Positions.Select(p => (JsonNode)new JsonArray(p.X, p.Y, p.Z)).ToArray()),
            ["cell"] = new JsonArray(Enumerable.Range(0, 3).Select(i => (JsonNode)new JsonArray(s.Cell.Row(i).X, s.Cell.Row(i).Y, s.Cell.Row(i).Z)).ToArray()),
            ["pressure_gpa"] = pressureGpa,
            ["optimizer"] = optimizer,
            ["fmax"] = fmax,
            ["pairs"] = pairs,
            ["triplets"] = triplets,
        };

        const string python = "/usr/bin/python3";
        Assert.True(File.Exists(python), "Debian's /usr/bin/python3 with python3-ase is needed (apt-get install python3-ase; .ci/run installs it).");
        string script = Path.Combine(AppContext.BaseDirectory, "Optimization", "ase_sw_relax.py");
        var psi = new ProcessStartInfo(python) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(script);
        psi.Environment.Remove("PYTHONPATH");
        psi.Environment.Remove("PYTHONHOME");
        using var proc = Process.Start(psi)!;
        proc.StandardInput.Write(input.ToJsonString(new JsonSerializerOptions { WriteIndented = false }));
        proc.StandardInput.Close();
        var stdout = proc.StandardOutput.ReadToEndAsync();
        string stderr = proc.StandardError.ReadToEnd();
        proc.WaitForExit();
        Assert.True(proc.ExitCode == 0, $"python3 with ASE failed (apt-get install python3-ase; .ci/run installs it):\n{stderr}");
        return JsonNode.Parse(stdout.Result) ?? throw new InvalidOperationException("ASE script printed nothing.");
    }

    /// <summary>IProgress that reports synchronously (Progress&lt;T&gt; posts to the thread pool).</summary>
    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
