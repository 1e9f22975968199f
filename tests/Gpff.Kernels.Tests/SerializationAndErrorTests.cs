using Gpff.Descriptors;
using Gpff.Geometry;

namespace Gpff.Kernels.Tests;

public class SerializationAndErrorTests
{
    [Fact]
    public void KernelJsonRoundTripGivesAnEqualKernel()
    {
        var kernel = new SumKernel(
            new TwoBodyKernel(5.0, 1.2, 0.6, CutoffFunction.Cosine, [new SpeciesGroup(["Ba-O"], 0.8, 0.5)]),
            new ThreeBodyKernel(3.5, 0.1, 0.9, CutoffFunction.Cosine, [new SpeciesGroup(["Rh-O-O", "Ba-O-O"], 0.2, 0.7)]));
        string json = kernel.ToJson();
        var back = KernelSerializer.Deserialize(json);
        Assert.IsType<SumKernel>(back);
        Assert.Equal(kernel.HyperparameterNames, back.HyperparameterNames);
        Assert.Equal(kernel.Hyperparameters, back.Hyperparameters);
        Assert.Equal(kernel.Descriptor, back.Descriptor);
        Assert.Equal(json, back.ToJson());
        var a = TestData.Ternary(3);
        var sel = TestData.Everything(5);
        var k1 = TestData.Block(kernel, a, sel, a, sel);
        var k2 = TestData.Block(back, a, sel, a, sel);
        Assert.Equal(k1, k2);
    }

    [Theory]
    [InlineData("{\"type\":\"sum\",\"parts\":[{\"type\":\"two-body\",\"cutoffA\":5,\"cutoffFunction\":\"quadratic\",\"sigmaEv\":1,\"lengthA\":-0.5}]}", "$.parts[0].lengthA", "positive")]
    [InlineData("{\"type\":\"four-body\"}", "$.type", "four-body")]
    [InlineData("{\"type\":\"three-body\",\"cutoffA\":3.5,\"cutoffFunction\":\"gaussian\",\"sigmaEv\":1,\"lengthA\":1}", "$.cutoffFunction", "gaussian")]
    [InlineData("{\"type\":\"three-body\",\"cutoffA\":3.5,\"cutoffFunction\":\"cosine\",\"sigmaEv\":1,\"lengthA\":1,\"groups\":[{\"members\":[\"Rh-O\"],\"sigmaEv\":1,\"lengthA\":1}]}", "$.groups[0].members[0]", "Rh-O")]
    [InlineData("{\"type\":\"two-body\",\"cutoffA\":5,\"cutoffFunction\":\"cosine\",\"sigmaEv\":1,\"lengthA\":1,\"groups\":[{\"members\":[\"Xx-O\"],\"sigmaEv\":1,\"lengthA\":1}]}", "$.groups[0].members[0]", "Xx")]
    [InlineData("{\"type\":\"sum\",\"parts\":[]}", "$.parts", "non-empty")]
    [InlineData("{\"type\":\"two-body\",\"cutoffA\":5", "malformed", "")]
    public void LoadingErrorsNameWhatIsWrong(string json, string where, string what)
    {
        var ex = Assert.Throws<FormatException>(() => KernelSerializer.Deserialize(json));
        Assert.Contains(where, ex.Message);
        Assert.Contains(what, ex.Message);
    }

    [Fact]
    public void EnvironmentsOfAnotherKernelAreRejectedClearly()
    {
        var k = TestData.TwoPlusThree(3.6, 3.1);
        var other = TestData.TwoPlusThree(4.0, 3.1);
        var s = TestData.Binary(1);
        var env = other.Describe(s);
        var ex = Assert.Throws<ArgumentException>(() => k.Covariance(env, LabelSelection.TotalEnergy, env, LabelSelection.TotalEnergy, new double[1], []));
        Assert.Contains("r_c2 = 4", ex.Message);
        Assert.Contains("r_c2 = 3.6", ex.Message);

        // A 2-body kernel accepts environments built by a 2+3-body kernel with the same pair cutoff.
        var two = new TwoBodyKernel(3.6, 1, 1);
        var envSum = k.Describe(s);
        var v = new double[1];
        two.Covariance(envSum, LabelSelection.TotalEnergy, envSum, LabelSelection.TotalEnergy, v, []);
        Assert.True(v[0] > 0);
    }

    [Fact]
    public void BadLabelSelectionsAreRejectedClearly()
    {
        var k = TestData.TwoPlusThree();
        var env = k.Describe(TestData.Binary(1));
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => k.Covariance(env, LabelSelection.Forces(7), env, LabelSelection.TotalEnergy, new double[3], []));
        Assert.Contains("atom 7", ex.Message);
        Assert.Contains("4 atoms", ex.Message);
        var dup = Assert.Throws<ArgumentException>(() => k.Covariance(env, LabelSelection.Forces(1, 1), env, LabelSelection.TotalEnergy, new double[6], []));
        Assert.Contains("atom 1 twice", dup.Message);
        var small = Assert.Throws<ArgumentException>(() => k.Covariance(env, LabelSelection.Forces(1), env, LabelSelection.Forces(0, 1), new double[5], []));
        Assert.Contains("3 × 6", small.Message);
    }

    [Fact]
    public void StressOfAMoleculeIsRejectedClearly()
    {
        var k = TestData.TwoPlusThree();
        var mol = new Structure([8, 8], [new Vec3(0, 0, 0), new Vec3(1.2, 0, 0)], Mat3.Diagonal(10, 10, 10), Pbc.None);
        var env = k.Describe(mol);
        var ex = Assert.Throws<ArgumentException>(() => k.Covariance(env, new LabelSelection { Stress = true }, env, LabelSelection.TotalEnergy, new double[6], []));
        Assert.Contains("not periodic", ex.Message);
    }

    [Fact]
    public void BadHyperparametersAndPartsAreRejectedClearly()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new ThreeBodyKernel(3.5, 0.1, 0));
        Assert.Contains("length3", ex.Message);
        var k = TestData.TwoPlusThree();
        var count = Assert.Throws<ArgumentException>(() => k.WithHyperparameters([1, 2, 3]));
        Assert.Contains("4 hyperparameters", count.Message);
        var mix = Assert.Throws<ArgumentException>(() => new SumKernel(new TwoBodyKernel(5, 1, 1), new ThreeBodyKernel(3, 1, 1, CutoffFunction.Cosine)));
        Assert.Contains("cutoff function", mix.Message);
        var dupGroup = Assert.Throws<ArgumentException>(() => new TwoBodyKernel(5, 1, 1, groups: [new SpeciesGroup(["Ba-O"], 1, 1), new SpeciesGroup(["O-Ba"], 1, 1)]));
        Assert.Contains("O-Ba", dupGroup.Message);
    }

    [Fact]
    public void KernelsAreSafeToUseFromManyThreads()
    {
        var k = TestData.TwoPlusThree();
        var s = TestData.Ternary(5);
        var env = k.Describe(s);
        var sel = TestData.Everything(5);
        var expected = new double[sel.Count * sel.Count];
        k.Covariance(env, sel, env, sel, expected, []);
        Parallel.For(0, 16, _ =>
        {
            var v = new double[expected.Length];
            k.Covariance(env, sel, env, sel, v, []);
            Assert.Equal(expected, v);
        });
    }
}
