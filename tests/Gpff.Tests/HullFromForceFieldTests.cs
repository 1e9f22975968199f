using Gpff.IO;
using Gpff.Phases;
using Gpff.Regression;
using MathNet.Numerics;
using Xunit;
using Xunit.Abstractions;

namespace Gpff.Tests;

/// <summary>
/// The GP's uncertainty flowing all the way to the hull: a force field trained on real pw.x frames of
/// the BaO–RhO2 pseudo-binary predicts the energies of unseen reference cells with their joint
/// covariance, and the Monte-Carlo stability probabilities are checked against closed forms.
/// </summary>
public class HullFromForceFieldTests(ITestOutputHelper output)
{
    private const int Samples = 20_000;

    /// <summary>Standard normal CDF, Φ(x) = ½ erfc(−x/√2).</summary>
    private static double Phi(double x) => 0.5 * SpecialFunctions.Erfc(-x / Math.Sqrt(2));

    private static PhaseEntry Entry(Structure s, string name, double energyEv)
    {
        var e = s.CloneWithoutLabels();
        e.EnergyEv = energyEv;
        return PhaseEntry.FromStructure(e, name);
    }

    [Fact]
    public void StabilityProbabilitiesUseTheJointEnergyCovarianceOfTheForceField()
    {
        var frames = ExtXyz.Read(TestData.DataFile("barho-train.extxyz")).ToList();
        string Label(Structure s) => (string)s.Info["label"];
        var training = frames.Where(f => Label(f).EndsWith("_rand00", StringComparison.Ordinal) || Label(f).EndsWith("_rand01", StringComparison.Ordinal)).ToList();
        Structure Reference(string prefix) => frames.Single(f => Label(f).StartsWith(prefix, StringComparison.Ordinal) && Label(f).EndsWith("_ref", StringComparison.Ordinal));
        var bao = Reference("BaO");
        var rho2 = Reference("RhO2");
        var barho3 = Reference("BaRhO3");
        var ba2rho4 = Reference("Ba2RhO4");
        var barho3Compressed = frames.Single(f => Label(f) == "BaRhO3_comp00");
        Assert.Equal(8, training.Count);
        Assert.DoesNotContain(barho3Compressed, training);

        var ff = ForceField.Create(new ForceFieldSettings
        {
            PairCutoffA = 5.0, TripletCutoffA = 3.2, Sigma2 = 0.07, Length2A = 0.45, Sigma3 = 0.004, Length3A = 0.6,
            Noise = new NoiseLevels(0.003, 0.06, 0.002),
        });
        ff.Train(training);
        var (mean, cov) = ff.PredictEnergies([bao, rho2, barho3, ba2rho4, barho3Compressed]);
        int nBaO = bao.AtomCount, nRhO2 = rho2.AtomCount, nBaRhO3 = barho3.AtomCount, nBa2RhO4 = ba2rho4.AtomCount;
        Assert.Equal(nBaRhO3, barho3Compressed.AtomCount);
        var terminals = new[] { Composition.Parse("BaO"), Composition.Parse("RhO2") };
        var options = new StabilityOptions { Samples = Samples, Seed = 7 };
        double se = Math.Sqrt(0.25 / Samples); // the largest standard error of a Monte-Carlo probability
        var diagonal = new double[5, 5];
        for (int i = 0; i < 5; i++)
        {
            diagonal[i, i] = cov[i, i];
        }

        // (1) Formation enthalpy per atom of BaRhO3 = BaO + RhO2 (2 of its 5 atoms from BaO, 3 from RhO2)
        // at 0 GPa: f = E₂/N₂ − ⅖ E₀/N₀ − ⅗ E₁/N₁, a linear function w·E of the energies, so with the
        // Gaussian joint prediction P(f < 0) = Φ(−E[f]/σ(f)), σ(f)² = wᵀΣw. Terminals at their predicted
        // energies, BaRhO3 placed one σ(f) below the tie line (so its probability is Φ(1), neither 0 nor
        // 1), Ba2RhO4 1 eV/atom above its prediction (far above the hull).
        double[] w = [-0.4 / nBaO, -0.6 / nRhO2, 1.0 / nBaRhO3];
        double varF = 0;
        for (int i = 0; i < 3; i++)
        {
            for (int j = 0; j < 3; j++)
            {
                varF += w[i] * w[j] * cov[i, j];
            }
        }

        double sdF = Math.Sqrt(varF);
        output.WriteLine($"energies {string.Join(", ", mean)}; σ(f) {sdF * 1000:F3} meV/atom");
        Assert.True(sdF > 1e-5, "the predicted energies must carry some uncertainty");
        double tieLine = 0.4 * mean[0] / nBaO + 0.6 * mean[1] / nRhO2;
        var terminalEntries = new[] { Entry(bao, "BaO", mean[0]), Entry(rho2, "RhO2", mean[1]) };
        var high = Entry(ba2rho4, "Ba2RhO4-high", mean[3] + 1.0 * nBa2RhO4);
        var belowTieLine = new PhaseDiagram([.. terminalEntries, Entry(barho3, "BaRhO3", (tieLine - sdF) * nBaRhO3), high, Entry(barho3Compressed, "unused", mean[4] + 5.0 * nBaRhO3)], 0, terminals);
        var formation = HullUncertainty.Analyze(belowTieLine, cov, options);
        Assert.Equal(Phi(1.0), formation["BaRhO3"].PStable, 4.5 * se);
        Assert.Equal(1.0, formation["BaO"].PStable);
        Assert.Equal(1.0, formation["RhO2"].PStable);
        Assert.Equal(0.0, formation["Ba2RhO4-high"].PStable);

        // (2) Two BaRhO3 cells predicted by one model are strongly correlated. Both placed 0.5 eV/atom below the
        // tie line (always below it), the reference cell one σ(h₂ − h₄) below the compressed one, so that
        // P(reference stable) = P(h₂ < h₄) = Φ(1) with the joint covariance, but Φ(σ(h₂ − h₄)/σ_diag) — close to ½ —
        // with only the diagonal, σ_diag² = Σ₂₂/N² + Σ₄₄/N².
        double n2 = (double)nBaRhO3 * nBaRhO3;
        double sdDifference = Math.Sqrt((cov[2, 2] + cov[4, 4] - 2 * cov[2, 4]) / n2);
        double sdDiagonal = Math.Sqrt((cov[2, 2] + cov[4, 4]) / n2);
        output.WriteLine($"σ(h₂ − h₄) {sdDifference * 1000:F3} meV/atom with the joint covariance, {sdDiagonal * 1000:F3} with its diagonal");
        double eCompressed = (tieLine - 0.5) * nBaRhO3;
        var polymorphs = new PhaseDiagram(
            [.. terminalEntries, Entry(barho3, "BaRhO3-ref", eCompressed - sdDifference * nBaRhO3), high, Entry(barho3Compressed, "BaRhO3-comp", eCompressed)], 0, terminals);
        var joint = HullUncertainty.Analyze(polymorphs, cov, options);
        var independent = HullUncertainty.Analyze(polymorphs, diagonal, options);
        double expectedJoint = Phi(1.0), expectedIndependent = Phi(sdDifference / sdDiagonal);
        Assert.True(expectedJoint - expectedIndependent > 20 * se,
            $"the correlation must matter for this test to discriminate: Φ(1) = {expectedJoint:F4}, Φ(σ/σ_diag) = {expectedIndependent:F4}");
        Assert.Equal(expectedJoint, joint["BaRhO3-ref"].PStable, 4.5 * se);
        Assert.Equal(1 - expectedJoint, joint["BaRhO3-comp"].PStable, 4.5 * se);
        Assert.Equal(expectedIndependent, independent["BaRhO3-ref"].PStable, 4.5 * se);

        // The same with the per-entry standard deviations (the hull command's std column): the diagonal case exactly.
        var withStd = new PhaseDiagram(polymorphs.AllEntries.Select((e, i) => new PhaseEntry(e.Name, e.Composition, e.EnergyEv, e.VolumeA3, Math.Sqrt(cov[i, i]))), 0, terminals);
        Assert.Equal(independent["BaRhO3-ref"].PStable, HullUncertainty.Analyze(withStd, options)["BaRhO3-ref"].PStable);

        // (3) 1 eV/atom below its prediction, Ba2RhO4 is on the hull in every sample.
        var low = new PhaseDiagram([.. terminalEntries, Entry(barho3, "BaRhO3", mean[2]), Entry(ba2rho4, "Ba2RhO4-low", mean[3] - 1.0 * nBa2RhO4), Entry(barho3Compressed, "BaRhO3-comp", mean[4])], 0, terminals);
        Assert.Equal(1.0, HullUncertainty.Analyze(low, cov, options)["Ba2RhO4-low"].PStable);
    }
}
