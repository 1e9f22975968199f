using Gpff.Kernels;
using MathNet.Numerics.LinearAlgebra;
using static Gpff.Regression.Tests.GaussianProcessTests;

namespace Gpff.Regression.Tests;

/// <summary>
/// The README's convention: the energy noise is per atom, so the total energy of an N-atom structure
/// has noise standard deviation N·σ_E (FLARE's is per structure). Pinned through the likelihood and
/// the predictions, which are what a user sees, against a dense computation written out here.
/// </summary>
public class EnergyNoiseConventionTests
{
    private const double EnergyNoisePerAtom = 0.3;

    /// <summary>Energy labels only, of structures of 2 to 8 atoms, with a fixed prior mean (the Morse labels' per-species offsets).</summary>
    private static GaussianProcess EnergiesOfStructuresOfDifferentSizes()
    {
        var reference = SpeciesReferenceEnergies.FromValues(new Dictionary<int, double> { [14] = -107.3, [32] = -52.9 });
        var gp = new GaussianProcess(Kernel(), new NoiseLevels(EnergyNoisePerAtom, 0.05, 0.002), new GaussianProcessOptions { ReferenceEnergies = reference });
        var rng = new Random(31);
        foreach (int atoms in new[] { 2, 8, 3, 6, 4, 7 })
        {
            gp.Add(RandomStructure(rng, atoms, a: 4.6), LabelKinds.Energy);
        }

        return gp;
    }

    private static Vector<double> Residuals(GaussianProcess gp) => Vector<double>.Build.Dense(gp.Training.Select(e =>
        e.Structure.EnergyEv!.Value - e.Structure.AtomicNumbers.ToArray().Sum(z => z == 14 ? -107.3 : -52.9)).ToArray());

    /// <summary>log N(r; 0, K + diag(v)) by a dense Cholesky factorisation.</summary>
    private static double GaussianLogDensity(Matrix<double> k, IReadOnlyList<double> noiseVariances, Vector<double> r)
    {
        var c = k.Clone();
        for (int i = 0; i < r.Count; i++)
        {
            c[i, i] += noiseVariances[i];
        }

        var chol = c.Cholesky();
        return -0.5 * r.DotProduct(chol.Solve(r)) - 0.5 * chol.DeterminantLn - 0.5 * r.Count * Math.Log(2 * Math.PI);
    }

    [Fact]
    public void TheNoiseOfATotalEnergyIsTheAtomCountTimesTheEnergyNoise()
    {
        var gp = EnergiesOfStructuresOfDifferentSizes();
        var k = PublicKernelAlgebra.Covariance(gp);
        var r = Residuals(gp);
        var atoms = gp.Training.Select(e => (double)e.Structure.AtomCount).ToArray();
        double perAtom = GaussianLogDensity(k, atoms.Select(n => n * n * EnergyNoisePerAtom * EnergyNoisePerAtom).ToArray(), r);
        double perStructure = GaussianLogDensity(k, atoms.Select(_ => EnergyNoisePerAtom * EnergyNoisePerAtom).ToArray(), r);

        double tolerance = 1e-9 * Math.Max(1, Math.Abs(perAtom));
        // The data can tell the two conventions apart by far more than the tolerance.
        Assert.True(Math.Abs(perAtom - perStructure) > 1e4 * tolerance, $"per atom {perAtom}, per structure {perStructure}");

        double value = gp.LogMarginalLikelihood(gradient: false).Value;
        Assert.True(Math.Abs(value - perAtom) < tolerance,
            $"log marginal likelihood {value}; with noise N·σ_E it is {perAtom}, with σ_E per structure (FLARE) {perStructure}");
    }

    [Fact]
    public void PredictionsWeighEachEnergyWithTheNoiseOfItsAtomCount()
    {
        var gp = EnergiesOfStructuresOfDifferentSizes();
        gp.Train();
        var k = PublicKernelAlgebra.Covariance(gp);
        var r = Residuals(gp);
        var c = k.Clone();
        for (int i = 0; i < r.Count; i++)
        {
            double s = gp.Training[i].Structure.AtomCount * EnergyNoisePerAtom;
            c[i, i] += s * s;
        }

        var test = RandomStructure(new Random(32), 5, a: 4.6);
        var env = gp.Kernel.Describe(test);
        var kStar = Vector<double>.Build.Dense(r.Count);
        var one = new double[1];
        for (int i = 0; i < r.Count; i++)
        {
            gp.Kernel.Covariance(env, LabelSelection.TotalEnergy, gp.Training[i].Environments, gp.Training[i].Labels, one, []);
            kStar[i] = one[0];
        }

        gp.Kernel.Covariance(env, LabelSelection.TotalEnergy, env, LabelSelection.TotalEnergy, one, []);
        var chol = c.Cholesky();
        double prior = test.AtomicNumbers.ToArray().Sum(z => z == 14 ? -107.3 : -52.9);
        double mean = prior + kStar.DotProduct(chol.Solve(r));
        double variance = one[0] - kStar.DotProduct(chol.Solve(kStar));

        var p = gp.Predict(test);
        Assert.Equal(mean, p.EnergyEv, 1e-8 * Math.Max(1, Math.Abs(mean)));
        Assert.Equal(Math.Sqrt(variance), p.EnergyStdEv, 1e-8 * Math.Max(1, Math.Sqrt(variance)));
    }
}
