using Gpff.IO;

namespace Gpff.Regression.Tests;

public class SpeciesReferenceEnergiesTests
{
    [Fact]
    public void RecoversExactReferenceEnergiesFromIndependentCompositions()
    {
        // E = n_Ba·(−700) + n_O·(−430.5) + n_Rh·(−1500.25) exactly, compositions of full rank.
        var mu = new Dictionary<int, double> { [56] = -700, [8] = -430.5, [45] = -1500.25 };
        var data = new[] { new[] { 56, 8 }, [56, 56, 8], [45, 8, 8], [45], [56, 45, 8, 8, 8] }
            .Select(z => ((IReadOnlyList<int>)z, z.Sum(a => mu[a]))).ToList();
        var fit = SpeciesReferenceEnergies.Fit(data);
        Assert.Equal(3, fit.Rank);
        Assert.False(fit.IsRankDeficient);
        foreach (var (z, v) in mu)
        {
            Assert.Equal(v, fit.EnergyEv(z), 8);
        }

        Assert.True(fit.RmsResidualEvPerAtom < 1e-9);
    }

    [Fact]
    public void RealBaRhOEnergiesAreRankDeficientAndThePriorMeanFitsEveryCompositionInTheSpan()
    {
        var frames = ExtXyz.Read(TestData.DataFile("barho-train.extxyz")).ToList();
        var fit = SpeciesReferenceEnergies.Fit(frames.Select(f => ((IReadOnlyList<int>)f.AtomicNumbers.ToArray(), f.EnergyEv!.Value)));
        // BaO, RhO2, BaRhO3 = BaO + RhO2, Ba2RhO4 = 2 BaO + RhO2: only two independent compositions.
        Assert.Equal(2, fit.Rank);
        Assert.True(fit.IsRankDeficient);
        foreach (var f in frames)
        {
            Assert.True(fit.IsInSpan(f.AtomicNumbers));
            // What is left for the GP is a few tenths of an eV per atom, not −1300 eV/atom.
            double residualPerAtom = (f.EnergyEv!.Value - fit.PriorMeanEv(f.AtomicNumbers)) / f.AtomCount;
            Assert.InRange(Math.Abs(residualPerAtom), 0, 0.5);
        }

        Assert.False(fit.IsInSpan([56]));   // elemental Ba is not determined by oxide data
        Assert.True(fit.IsInSpan([56, 56, 8, 8]));
        var e = Assert.Throws<KeyNotFoundException>(() => fit.EnergyEv(29));
        Assert.Contains("No reference energy for Cu", e.Message);
    }

    [Fact]
    public void BadInputIsAClearError()
    {
        Assert.Contains("At least one structure", Assert.Throws<ArgumentException>(() => SpeciesReferenceEnergies.Fit([])).Message);
        Assert.Contains("Structure 1 has a non-finite energy", Assert.Throws<ArgumentException>(() =>
            SpeciesReferenceEnergies.Fit([([8], -400.0), ([8, 8], double.NaN)])).Message);
    }
}
