using System.Globalization;
using Gpff.Dynamics.MolecularDynamics;
using Gpff.Dynamics.Optimization;
using Gpff.Geometry;
using Gpff.Regression;
using Gpff.Regression.Mapping;
using Xunit;
using Xunit.Abstractions;

namespace Gpff.Tests;

/// <summary>
/// The mapped GP of a force field trained on an analytic potential (Stillinger–Weber Si–Ge, genuine 2- and
/// 3-body terms): within its tolerance of the GP on held-out MD snapshots, as close to the truth as the GP,
/// and conserving energy in NVE as well as the GP does.
/// </summary>
public class MappedForceFieldMdTests(ITestOutputHelper output)
{
    private const double Tolerance = 0.01; // eV/Å

    private static readonly Lazy<(ForceField Ff, MappedForceField Map)> Trained = new(() =>
    {
        var ff = ForceField.Create(new ForceFieldSettings
        {
            PairCutoffA = 4.0, TripletCutoffA = 4.0, Sigma2 = 0.3, Length2A = 0.3, Sigma3 = 0.03, Length3A = 0.3,
            Noise = new NoiseLevels(0.002, 0.05, 0.001),
            Labels = LabelKinds.All,
        });
        ff.Train(LearningCurveTests.Snapshots(3, seed: 1));
        var map = ff.ToMapped(Tolerance, validation: LearningCurveTests.Snapshots(2, seed: 2));
        return (ff, map);
    });

    private static (double Max, double Mae) ForceError(ICalculator calculator, IEnumerable<(Structure S, Vec3[] F)> reference)
    {
        var d = reference.SelectMany(r => calculator.Calculate(r.S, CalculatorProperties.Forces).ForcesEvPerA!.Zip(r.F, (a, b) => new[] { a.X - b.X, a.Y - b.Y, a.Z - b.Z }))
            .SelectMany(x => x).Select(Math.Abs).ToList();
        return (d.Max(), d.Average());
    }

    [Fact]
    public void OnHeldOutStillingerWeberSnapshotsTheMapIsWithinToleranceOfTheGpAndAsCloseToTheTruth()
    {
        var (ff, map) = Trained.Value;
        output.WriteLine(map.Report!.ToString());
        foreach (var r in map.Report.Rounds)
        {
            output.WriteLine(r.ToString());
        }

        Assert.True(map.Report.MetTolerance);
        Assert.Equal("given validation structures", map.Report.ValidationSource);
        var heldOut = LearningCurveTests.Snapshots(3, seed: 3);
        var vsGp = ForceError(map, heldOut.Select(s => (s.CloneWithoutLabels(), ff.PredictForces(s).ForcesEvPerA)));
        var mapVsTruth = ForceError(map, heldOut.Select(s => (s.CloneWithoutLabels(), s.ForcesEvPerA!)));
        var gpVsTruth = ForceError(ff, heldOut.Select(s => (s.CloneWithoutLabels(), s.ForcesEvPerA!)));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"held-out: map vs GP max {vsGp.Max * 1000:F2} meV/Å; MAE vs Stillinger–Weber: map {mapVsTruth.Mae * 1000:F1}, GP {gpVsTruth.Mae * 1000:F1} meV/Å"));
        Assert.True(vsGp.Max <= Tolerance, $"map vs GP {vsGp.Max} eV/Å on held-out snapshots");
        Assert.True(Math.Abs(mapVsTruth.Mae - gpVsTruth.Mae) <= Tolerance, "the map is as accurate as the GP against the reference potential");
        Assert.True(gpVsTruth.Mae > 0.01, "the GP is not exact: the comparison means something");
    }

    private static double EnergyFluctuation(ICalculator calculator, Structure start, out double drift)
    {
        var s = start.CloneWithoutLabels();
        var masses = s.AtomicNumbers.ToArray().Select(Elements.MassAmu).ToArray();
        var v = MaxwellBoltzmann.SampleVelocities(masses, 300, seed: 7);
        var md = new VelocityVerlet(s, calculator, timeStepFs: 1.0, v);
        var e = new List<double> { md.State.TotalEnergyEv };
        for (int k = 0; k < 150; k++)
        {
            md.Step();
            e.Add(md.State.TotalEnergyEv);
        }

        drift = Math.Abs(e[^10..].Average() - e[..10].Average());
        return e.Max() - e.Min();
    }

    [Fact]
    public void NveEnergyIsConservedWithTheMapAsWellAsWithTheGp()
    {
        var (ff, map) = Trained.Value;
        var start = LearningCurveTests.Snapshots(1, seed: 4)[0];
        double gp = EnergyFluctuation(ff, start, out double gpDrift);
        double mapped = EnergyFluctuation(map, start, out double mapDrift);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"NVE, 16 atoms, 150 × 1 fs: total-energy spread GP {gp * 1000:F3} meV, map {mapped * 1000:F3} meV; drift GP {gpDrift * 1000:F3} meV, map {mapDrift * 1000:F3} meV"));
        Assert.True(mapped <= 1.5 * gp + 1e-3, $"the map's total energy spreads {mapped} eV against the GP's {gp} eV");
        Assert.True(mapDrift <= 1.5 * gpDrift + 1e-3, $"the map's total energy drifts {mapDrift} eV against the GP's {gpDrift} eV");
        Assert.True(mapped < 0.01, "energy is conserved to 10 meV over 150 fs");
    }

    [Fact]
    public void TheMapTravelsWithTheModelFileAndIsDroppedWhenTheModelChanges()
    {
        var (ff, map) = Trained.Value;
        Assert.Same(map, ff.Mapped);
        var dir = Directory.CreateTempSubdirectory("gpff-ff-mgp-");
        try
        {
            string path = Path.Combine(dir.FullName, "sige.gpff");
            ff.Save(path);
            var loaded = ForceField.Load(path);
            Assert.NotNull(loaded.Mapped);
            var probe = LearningCurveTests.Snapshots(1, seed: 6)[0].CloneWithoutLabels();
            var a = map.Calculate(probe, CalculatorProperties.EnergyForcesStress);
            var b = loaded.Mapped.Calculate(probe, CalculatorProperties.EnergyForcesStress);
            Assert.Equal(a.EnergyEv, b.EnergyEv);
            Assert.Equal(a.ForcesEvPerA, b.ForcesEvPerA);
            Assert.Equal(map.Report!.Rounds, loaded.Mapped.Report!.Rounds);

            // New data change α: the old map would now be wrong, so the force field no longer offers or saves it.
            loaded.Add(LearningCurveTests.Snapshots(1, seed: 7)[0]);
            Assert.Null(loaded.Mapped);
            string changed = Path.Combine(dir.FullName, "sige-more.gpff");
            loaded.Save(changed);
            Assert.Null(ForceField.Load(changed).Mapped);
            Regression.ModelFile.Load(changed, null, out _, out var none);
            Assert.Null(none);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void TheMapRelaxesAStructureLikeTheGpDoes()
    {
        var (ff, map) = Trained.Value;
        var start = LearningCurveTests.Snapshots(1, seed: 5)[0].CloneWithoutLabels();
        var options = new RelaxationOptions { CellFreedom = CellFreedom.Fixed, FmaxEvPerA = 0.02, MaxSteps = 400 };
        var byMap = Relaxation.Relax(start.Clone(), map, options);
        var byGp = Relaxation.Relax(start.Clone(), ff, options);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"relaxed energy: map {byMap.EnergyEv:F5} eV ({byMap.Iterations} steps), GP {byGp.EnergyEv:F5} eV ({byGp.Iterations} steps)"));
        Assert.True(byMap.Converged, byMap.Message);
        Assert.True(byMap.MaxForceEvPerA <= 0.02);
        Assert.True(byMap.EnergyEv < map.Calculate(start, CalculatorProperties.Energy).EnergyEv!.Value);
        Assert.True(Math.Abs(byMap.EnergyEv - byGp.EnergyEv) < 0.01, "map and GP relax to the same energy within 10 meV for 16 atoms");
    }
}
