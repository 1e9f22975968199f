using MathNet.Numerics.Distributions;
using static Gpff.Phases.Tests.HullTestData;

namespace Gpff.Phases.Tests;

public class HullUncertaintyTests
{
    // Ba (1 atom), O2 (2 atoms), BaO (2 atoms, formation enthalpy -0.02 eV/atom).
    private static PhaseEntry[] BaOSystem() =>
        [Element("Ba"), Element("O", 2), Entry("BaO", "BaO", -0.02)];

    // Standard deviations of the total energies and their correlations (Ba, O2, BaO).
    private const double S1 = 0.02, S2 = 0.04, S3 = 0.05, R12 = 0.2, R13 = 0.5, R23 = 0.3;

    private static double[,] Covariance(bool correlated) => new[,]
    {
        { S1 * S1, correlated ? R12 * S1 * S2 : 0, correlated ? R13 * S1 * S3 : 0 },
        { correlated ? R12 * S1 * S2 : 0, S2 * S2, correlated ? R23 * S2 * S3 : 0 },
        { correlated ? R13 * S1 * S3 : 0, correlated ? R23 * S2 * S3 : 0, S3 * S3 },
    };

    [Fact]
    public void TwoPhaseMonteCarloMatchesAnalyticGaussianWithCorrelatedErrors()
    {
        // BaO is stable iff D = E_BaO/2 − E_Ba/2 − E_O2/4 < 0 (below the Ba–O line at x = 1/2), i.e. D = wᵀE with
        // w = (−1/2, −1/4, 1/2). D is Gaussian with mean −0.02 eV/atom and variance wᵀΣw =
        //   ¼·4e-4 + 1/16·1.6e-3 + ¼·2.5e-3 + 2·(1/8)·1.6e-4 − 2·(1/4)·5e-4 − 2·(1/8)·6e-4 = 4.65e-4 eV²,
        // so P(stable) = Φ(0.02/√4.65e-4) = Φ(0.9275) ≈ 0.823. Ignoring the correlations (8.25e-4) would
        // give Φ(0.6963) ≈ 0.757 — far outside the sampling error.
        double varD = 0.25 * S1 * S1 + S2 * S2 / 16 + 0.25 * S3 * S3
            + 2 * 0.125 * R12 * S1 * S2 - 2 * 0.25 * R13 * S1 * S3 - 2 * 0.125 * R23 * S2 * S3;
        Assert.Equal(4.65e-4, varD, 1e-15);
        double sd = Math.Sqrt(varD);
        double expected = Normal.CDF(0, 1, 0.02 / sd);
        double uncorrelated = Normal.CDF(0, 1, 0.02 / Math.Sqrt(8.25e-4));

        const int n = 20_000;
        var pd = new PhaseDiagram(BaOSystem());
        var report = HullUncertainty.Analyze(pd, Covariance(correlated: true), new StabilityOptions { Samples = n, Seed = 7 });
        double p = report["BaO"].PStable;
        double se = Math.Sqrt(expected * (1 - expected) / n);
        Assert.InRange(p, expected - 4 * se, expected + 4 * se);
        Assert.True(Math.Abs(p - uncorrelated) > 10 * se);
        Assert.Equal(1.0, report["Ba"].PStable);
        Assert.Equal(1.0, report["O2"].PStable);

        // E_hull = max(0, D): E[max(0, D)] = m Φ(m/s) + s φ(m/s) with m = −0.02, s = sd.
        double m = -0.02;
        double meanAbove = m * Normal.CDF(0, 1, m / sd) + sd * Normal.PDF(0, 1, m / sd);
        var above = report["BaO"].EnergyAboveHull;
        Assert.InRange(above.Mean, meanAbove - 4 * above.StandardDeviation / Math.Sqrt(n), meanAbove + 4 * above.StandardDeviation / Math.Sqrt(n));
        Assert.Equal(0.0, above.Min);
        Assert.Equal(0.0, above.Quantile(expected - 0.02)); // stable in a fraction p of the samples
        Assert.True(above.Q95 > 0);

        // The diagonal analysis (per-entry std only) matches the uncorrelated Gaussian instead.
        var diag = HullUncertainty.Analyze(pd, Covariance(correlated: false), new StabilityOptions { Samples = n, Seed = 7 });
        double seU = Math.Sqrt(uncorrelated * (1 - uncorrelated) / n);
        Assert.InRange(diag["BaO"].PStable, uncorrelated - 4 * seU, uncorrelated + 4 * seU);
    }

    [Fact]
    public void TwoPolymorphsMonteCarloMatchesAnalyticGaussian()
    {
        // BaO-β lies 0.01 eV/atom above BaO-α; total-energy std 0.04 eV each (0.02 eV/atom), correlation 0.75.
        // Var(h_β − h_α) = 4e-4 + 4e-4 − 2·0.75·4e-4 = 2e-4 → P(β stable) = Φ(−0.01/√2e-4) = Φ(−0.7071) ≈ 0.240.
        // (BaO at −1 eV/atom never leaves the hull, so the polymorphs only compete with each other.)
        var entries = new[] { Element("Ba"), Element("O", 2), Entry("BaO-a", "BaO", -1.0), Entry("BaO-b", "BaO", -0.99) };
        var cov = new double[4, 4];
        cov[2, 2] = cov[3, 3] = 0.04 * 0.04;
        cov[2, 3] = cov[3, 2] = 0.75 * 0.04 * 0.04;
        const int n = 20_000;
        var report = HullUncertainty.Analyze(new PhaseDiagram(entries), cov, new StabilityOptions { Samples = n, Seed = 3 });
        double expected = Normal.CDF(0, 1, -0.01 / Math.Sqrt(2e-4));
        double se = Math.Sqrt(expected * (1 - expected) / n);
        Assert.InRange(report["BaO-b"].PStable, expected - 4 * se, expected + 4 * se);
        Assert.Equal(1.0, report["BaO-a"].PStable + report["BaO-b"].PStable, 1e-12); // exactly one of them per sample
        Assert.Equal(report["BaO-b"].PStable, report["BaO-b"].EnergyAboveHull.SortedSamples.Count(v => v == 0) / (double)n, 1e-12);
    }

    [Fact]
    public void ZeroStdGivesProbabilitiesZeroOrOne()
    {
        var entries = new[]
        {
            Element("Ba"), Element("O", 2), Entry("BaO", "BaO", -1.0), Entry("BaO2", "BaO2", -0.4), Entry("BaO-hi", "BaO", -0.9),
        };
        var pd = new PhaseDiagram(entries);
        var report = HullUncertainty.Analyze(pd, new StabilityOptions { Samples = 200 });
        foreach (var e in report.Entries)
        {
            Assert.Equal(e.HullEntry.IsStable ? 1.0 : 0.0, e.PStable);
            Assert.Equal(e.HullEntry.EnergyAboveHullEvPerAtom, e.EnergyAboveHull.Min, 12);
            Assert.Equal(e.HullEntry.EnergyAboveHullEvPerAtom, e.EnergyAboveHull.Max, 12);
            Assert.Equal(0.0, e.EnergyAboveHull.StandardDeviation, 12);
        }

        Assert.Empty(report.Uncertain);
    }

    [Fact]
    public void CommonPerAtomErrorCancelsInFormationEnergies()
    {
        // Σᵢⱼ = s² Nᵢ Nⱼ: every entry shifted by the same error per atom, which cancels exactly in formation
        // enthalpies. The full covariance must give certain answers; the diagonal alone would not.
        var entries = BaOSystem();
        const double s = 0.5;
        var n = entries.Select(e => e.NumAtoms).ToArray();
        var cov = new double[3, 3];
        for (int i = 0; i < 3; i++)
        {
            for (int j = 0; j < 3; j++)
            {
                cov[i, j] = s * s * n[i] * n[j];
            }
        }

        var pd = new PhaseDiagram(entries);
        var report = HullUncertainty.Analyze(pd, cov, new StabilityOptions { Samples = 500 });
        Assert.Equal(1.0, report["BaO"].PStable);
        var diagOnly = (double[,])cov.Clone();
        diagOnly[0, 1] = diagOnly[1, 0] = diagOnly[0, 2] = diagOnly[2, 0] = diagOnly[1, 2] = diagOnly[2, 1] = 0;
        Assert.InRange(HullUncertainty.Analyze(pd, diagOnly, new StabilityOptions { Samples = 500 })["BaO"].PStable, 0.3, 0.7);
    }

    [Fact]
    public void UncertainBandListsEntriesToRecomputeMostUncertainFirst()
    {
        var entries = new[]
        {
            Element("Ba"), Element("O", 2), Entry("BaO", "BaO", -1.0, stdEv: 0.001),
            Entry("Ba2O", "Ba2O", -0.66, stdEv: 0.03), Entry("BaO2", "BaO2", -0.3, stdEv: 0.01),
        };
        var pd = new PhaseDiagram(entries);
        var report = HullUncertainty.Analyze(pd, new StabilityOptions { Samples = 2000, UncertainLow = 0.05, UncertainHigh = 0.95 });

        // Ba2O sits 2/3 − 0.66 = 0.00667 eV/atom above the Ba–BaO line with a per-atom std of 0.01: P ≈ Φ(−0.67) ≈ 0.25.
        Assert.Equal("Ba2O", Assert.Single(report.Uncertain).Name);
        Assert.Equal(1.0, report["BaO"].PStable);
        Assert.Equal(0.0, report["BaO2"].PStable);
        Assert.Equal(["Ba2O"], report.GetUncertain(0.01, 0.99).Select(e => e.Name));
    }

    [Fact]
    public void SameSeedSameResultAnyThreadCount()
    {
        var pd = new PhaseDiagram(BaOSystem());
        var a = HullUncertainty.Analyze(pd, Covariance(true), new StabilityOptions { Samples = 1000, Seed = 11, MaxDegreeOfParallelism = 1 });
        var b = HullUncertainty.Analyze(pd, Covariance(true), new StabilityOptions { Samples = 1000, Seed = 11 });
        var c = HullUncertainty.Analyze(pd, Covariance(true), new StabilityOptions { Samples = 1000, Seed = 12 });
        Assert.Equal(a["BaO"].PStable, b["BaO"].PStable);
        Assert.Equal(a["BaO"].EnergyAboveHull.SortedSamples, b["BaO"].EnergyAboveHull.SortedSamples);
        Assert.NotEqual(a["BaO"].EnergyAboveHull.SortedSamples, c["BaO"].EnergyAboveHull.SortedSamples);
    }

    [Fact]
    public void ReportsProgressAndCanBeCancelled()
    {
        var pd = new PhaseDiagram(BaOSystem());
        var seen = new List<StabilityProgress>();
        var progress = new SyncProgress(p => { lock (seen) { seen.Add(p); } });
        HullUncertainty.Analyze(pd, Covariance(true), new StabilityOptions { Samples = 1000 }, progress);
        Assert.Contains(seen, p => p.CompletedSamples == 1000 && p.TotalSamples == 1000);

        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => HullUncertainty.Analyze(pd, Covariance(true), null, null, cts.Token));
    }

    [Fact]
    public void BadCovarianceIsAClearError()
    {
        var pd = new PhaseDiagram(BaOSystem());
        var ex = Assert.Throws<ArgumentException>(() => HullUncertainty.Analyze(pd, new double[2, 2]));
        Assert.Contains("2×2", ex.Message);
        Assert.Contains("3 entries", ex.Message);

        var asym = Covariance(true);
        asym[0, 2] += 1e-3;
        ex = Assert.Throws<ArgumentException>(() => HullUncertainty.Analyze(pd, asym));
        Assert.Contains("not symmetric", ex.Message);

        var indefinite = Covariance(false);
        indefinite[0, 2] = indefinite[2, 0] = 2 * S1 * S3; // correlation 2
        ex = Assert.Throws<ArgumentException>(() => HullUncertainty.Analyze(pd, indefinite));
        Assert.Contains("not positive semidefinite", ex.Message);

        var nan = Covariance(false);
        nan[1, 1] = double.NaN;
        ex = Assert.Throws<ArgumentException>(() => HullUncertainty.Analyze(pd, nan));
        Assert.Contains("not finite", ex.Message);
        Assert.Contains("'O2'", ex.Message);

        ex = Assert.Throws<ArgumentException>(() => HullUncertainty.Analyze(pd, new StabilityOptions { Samples = 0 }));
        Assert.Contains("samples", ex.Message);
    }

    private sealed class SyncProgress(Action<StabilityProgress> action) : IProgress<StabilityProgress>
    {
        public void Report(StabilityProgress value) => action(value);
    }
}
