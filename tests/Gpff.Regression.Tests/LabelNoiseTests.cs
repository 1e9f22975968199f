using Gpff.Kernels;

namespace Gpff.Regression.Tests;

/// <summary>The label-noise model (<see cref="LabelNoise"/>): one home for the variance of every label.</summary>
public class LabelNoiseTests
{
    private static readonly IKernel Kernel = new TwoBodyKernel(4.0, 1.0, 0.6);

    [Fact]
    public void VariancesFollowThePerAtomEnergyConvention()
    {
        var s = GaussianProcessTests.RandomStructure(new Random(3), n: 5);
        var noise = new NoiseLevels(0.01, 0.05, 0.002);
        var entry = TrainingEntry.Create(s, Kernel, LabelKinds.All, null, "test");
        var v = LabelNoise.Variances(entry, noise);
        Assert.Equal(1 + 15 + 6, v.Length);
        Assert.Equal((5 * 0.01) * (5 * 0.01), v[0], 15);                // total energy of 5 atoms: (N σ_E)²
        Assert.All(v[1..16], x => Assert.Equal(0.05 * 0.05, x, 15));
        Assert.All(v[16..], x => Assert.Equal(0.002 * 0.002, x, 15));

        var gp = new GaussianProcess(Kernel, noise);
        var added = gp.Add(s);
        Assert.Equal(v, gp.NoiseVariances(added));
    }

    [Fact]
    public void DerivativesAreThoseOfTheVariances()
    {
        var s = GaussianProcessTests.RandomStructure(new Random(4), n: 4);
        var noise = new NoiseLevels(0.02, 0.08, 0.003);
        var entry = TrainingEntry.Create(s, Kernel, LabelKinds.Energy | LabelKinds.Stress, null, "test");
        var sigma = noise.ToArray();
        for (int i = 0; i < entry.Count; i++)
        {
            var (kind, d) = LabelNoise.VarianceDerivative(entry, i, noise);
            Assert.Equal(i == 0 ? LabelNoise.Energy : LabelNoise.Stress, kind);
            double h = 1e-6 * sigma[kind];
            var up = (double[])sigma.Clone();
            var down = (double[])sigma.Clone();
            up[kind] += h;
            down[kind] -= h;
            double fd = (LabelNoise.Variances(entry, new NoiseLevels(up[0], up[1], up[2]))[i] - LabelNoise.Variances(entry, new NoiseLevels(down[0], down[1], down[2]))[i]) / (2 * h);
            Assert.Equal(fd, d, 1e-6 * Math.Abs(d));
        }
    }

    [Fact]
    public void PresentKindsAreThoseOfTheEntries()
    {
        var rng = new Random(5);
        var forces = TrainingEntry.Create(GaussianProcessTests.RandomStructure(rng), Kernel, LabelKinds.Forces, null, "a");
        var energy = TrainingEntry.Create(GaussianProcessTests.RandomStructure(rng), Kernel, LabelKinds.Energy, null, "b");
        Assert.Equal([false, true, false], LabelNoise.Present([forces]));
        Assert.Equal([true, true, false], LabelNoise.Present([forces, energy]));
        Assert.Equal([false, false, false], LabelNoise.Present([]));
    }
}
