using System.Globalization;
using Gpff.Dynamics.Potentials;
using Gpff.Geometry;
using Gpff.Phases;
using Gpff.Regression;
using Xunit;
using Xunit.Abstractions;

namespace Gpff.Tests;

/// <summary>
/// Stability probabilities mean what they say: with the analytic two-species Stillinger–Weber potential
/// as the truth, a force field trained on some Si–Ge cells predicts the energies (and their calibrated
/// joint covariance) of unseen candidate cells at every composition; over many candidates, the number of
/// wrong stability calls (stable predicted unstable or the reverse, against the true hull of the SW
/// energies) matches what the predicted probabilities expect, within its statistical error.
/// </summary>
public class HullFrequencyTests(ITestOutputHelper output)
{
    private static readonly StillingerWeber Sw = StillingerWeber.DefaultBinary(14, 32);

    /// <summary>An 8-atom diamond cell with nGe Ge atoms in random sites, a random strain and random displacements, labelled by SW.</summary>
    internal static Structure Cell(Random rng, int nGe, double displacementA, double strain)
    {
        double a = 5.43 + 0.23 * nGe / 8.0;   // Vegard-like between Si and Ge
        var basis = new[] { (0.0, 0.0, 0.0), (0.0, 0.5, 0.5), (0.5, 0.0, 0.5), (0.5, 0.5, 0.0), (0.25, 0.25, 0.25), (0.25, 0.75, 0.75), (0.75, 0.25, 0.75), (0.75, 0.75, 0.25) };
        var e = new double[3, 3];
        for (int i = 0; i < 3; i++)
        {
            for (int j = i; j < 3; j++)
            {
                e[i, j] = e[j, i] = strain * (2 * rng.NextDouble() - 1) * (i == j ? 1 : 0.5);
            }
        }

        var cell = Mat3.FromRows(new Vec3(a * (1 + e[0, 0]), a * e[0, 1], a * e[0, 2]), new Vec3(a * e[1, 0], a * (1 + e[1, 1]), a * e[1, 2]), new Vec3(a * e[2, 0], a * e[2, 1], a * (1 + e[2, 2])));
        var species = Enumerable.Repeat(32, nGe).Concat(Enumerable.Repeat(14, 8 - nGe)).OrderBy(_ => rng.Next()).ToArray();
        var pos = basis.Select(b => new Vec3(b.Item1, b.Item2, b.Item3) * cell
            + displacementA * new Vec3(2 * rng.NextDouble() - 1, 2 * rng.NextDouble() - 1, 2 * rng.NextDouble() - 1)).ToArray();
        var s = new Structure(species, pos, cell, Pbc.All);
        var r = Sw.Calculate(s);
        s.EnergyEv = r.EnergyEv;
        s.ForcesEvPerA = r.ForcesEvPerA;
        s.StressEvPerA3 = r.StressEvPerA3;
        return s;
    }

    [Fact]
    public void WrongStabilityCallsAreAsFrequentAsThePredictedProbabilitiesSay()
    {
        var rng = new Random(2026);
        var training = Enumerable.Range(0, 36).Select(i => Cell(rng, i % 9, 0.12, 0.02)).ToList();
        var ff = ForceField.Create(new ForceFieldSettings
        {
            PairCutoffA = 4.0, TripletCutoffA = 4.0, Sigma2 = 0.3, Length2A = 0.4, Sigma3 = 0.05, Length3A = 0.4,
            Noise = new NoiseLevels(0.002, 0.05, 0.001),
        }, new GaussianProcessOptions { Uncertainty = UncertaintyKind.NoisyLabel, ReferenceEnergyPrior = new ReferenceEnergyPrior(1.0) });
        var report = ff.Train(training);
        foreach (var c in report.Calibration!)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{c.Kind}: LOSO scale {c.Scale:F3}"));
        }

        // Worlds of candidates: pure Si and Ge terminals plus two polymorphs at each intermediate composition.
        double expectedWrong = 0, variance = 0;
        int observedWrong = 0, calls = 0, uncertain = 0;
        for (int world = 0; world < 12; world++)
        {
            var candidates = new List<Structure> { Cell(rng, 0, 0.04, 0.01), Cell(rng, 8, 0.04, 0.01) };
            for (int n = 1; n < 8; n++)
            {
                candidates.Add(Cell(rng, n, 0.04, 0.01));
                candidates.Add(Cell(rng, n, 0.04, 0.01));
            }

            var (mean, cov) = ff.PredictEnergies(candidates);
            PhaseEntry Entry(int i, double energy)
            {
                var s = candidates[i].CloneWithoutLabels();
                s.EnergyEv = energy;
                return PhaseEntry.FromStructure(s, $"c{i}");
            }

            var predicted = new PhaseDiagram(candidates.Select((_, i) => Entry(i, mean[i])));
            var truth = new PhaseDiagram(candidates.Select((s, i) => Entry(i, s.EnergyEv!.Value)));
            var stability = HullUncertainty.Analyze(predicted, cov, new StabilityOptions { Samples = 4000, Seed = world + 1 });
            for (int i = 2; i < candidates.Count; i++)   // the terminals are stable by construction
            {
                double p = stability.Entries[i].PStable;
                bool call = p > 0.5;
                double pWrong = call ? 1 - p : p;
                expectedWrong += pWrong;
                variance += pWrong * (1 - pWrong);
                observedWrong += call != truth.Entries[i].IsStable ? 1 : 0;
                uncertain += p is > 0.05 and < 0.95 ? 1 : 0;
                calls++;
            }
        }

        double sd = Math.Sqrt(variance);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{calls} stability calls ({uncertain} with 0.05 < p < 0.95): {observedWrong} wrong, {expectedWrong:F1} ± {sd:F1} expected"));
        Assert.True(uncertain >= 10, $"only {uncertain} calls were uncertain: the test would not test anything");
        Assert.True(expectedWrong >= 5, $"the probabilities expect only {expectedWrong:F1} wrong calls: too few to test");
        Assert.True(Math.Abs(observedWrong - expectedWrong) <= 3 * sd + 1, $"{observedWrong} wrong calls, but the probabilities expect {expectedWrong:F1} ± {sd:F1}");
    }
}

/// <summary>
/// The acceptance line for calibrated standard deviations, on the analytic Stillinger–Weber truth: by
/// cross-validation over structures, the σ of a noisy label (the CLI's default) has rms(error/σ) in
/// 0.7–1.5 for energies and forces and 55–80 % of force errors within 1σ; the latent σ is printed beside it.
/// </summary>
public class AnalyticCalibrationTests(ITestOutputHelper output)
{
    /// <summary>The 2+3 kernel (the library's default) and b2+2+3 (the default of a fit, <see cref="ForceFieldSettings.DefaultFittedKernel"/>).</summary>
    [Theory]
    [InlineData(ForceFieldKernel.TwoPlusThree)]
    [InlineData(ForceFieldKernel.B2PlusTwoPlusThree)]
    public void CrossValidatedLabelSigmaMeetsTheAcceptanceLine(ForceFieldKernel kernel)
    {
        var rng = new Random(77);
        var cells = Enumerable.Range(0, 27).Select(i => HullFrequencyTests.Cell(rng, i % 9, 0.12, 0.02)).ToList();
        var settings = new ForceFieldSettings
        {
            PairCutoffA = 4.0, TripletCutoffA = 4.0, Sigma2 = 0.3, Length2A = 0.4, Sigma3 = 0.05, Length3A = 0.4,
            Noise = new NoiseLevels(0.002, 0.05, 0.001),
            Kernel = kernel, B2CutoffA = 4.0, B2RadialCount = 5, B2AngularMax = 3, SigmaB2 = 0.5,
        }.WithSpeciesOf(cells);
        var cv = CrossValidation.Run(cells, settings, folds: 3, fit: false, options: new GaussianProcessOptions { ReferenceEnergyPrior = new ReferenceEnergyPrior(1.0) });
        foreach (var c in cv.LatentCalibration)
        {
            output.WriteLine("latent " + c);
        }

        foreach (var c in cv.LabelCalibration)
        {
            output.WriteLine("label  " + c);
        }

        output.WriteLine(cv.Errors[^1].ToString());
        var energy = cv.LabelCalibration.Single(c => c.Kind == LabelKinds.Energy);
        var forces = cv.LabelCalibration.Single(c => c.Kind == LabelKinds.Forces);
        Assert.Equal(27, energy.Labels);
        Assert.InRange(energy.RmsZ, 0.7, 1.5);
        Assert.InRange(forces.RmsZ, 0.7, 1.5);
        Assert.InRange(forces.WithinOneSigma, 0.55, 0.80);
    }
}
