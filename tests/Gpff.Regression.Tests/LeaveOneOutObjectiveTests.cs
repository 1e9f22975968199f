using Gpff.Kernels;

namespace Gpff.Regression.Tests;

public class LeaveOneOutObjectiveTests
{
    /// <summary>Five structures with mixed label sets (some without energy or stress, one with two force atoms only).</summary>
    private static GaussianProcess Data(long gradientMemory, NoiseLevels noise, GroupsOf groups = GroupsOf.None)
    {
        var rng = new Random(17);
        IKernel kernel = groups switch
        {
            GroupsOf.None => GaussianProcessTests.Kernel(),
            GroupsOf.B2PlusTwoThree => B2RegressionTests.B2PlusTwoThree(),
            _ => new SumKernel(
                new TwoBodyKernel(4.0, 1.0, 0.6, groups: [new SpeciesGroup(["Si-Ge"], 0.8, 0.5)]),
                new ThreeBodyKernel(3.0, 0.3, 0.7, groups: [new SpeciesGroup(["Si-Si-Ge", "Si-Ge-Ge"], 0.2, 0.9)])),
        };
        var gp = new GaussianProcess(kernel, noise, new GaussianProcessOptions { LikelihoodGradientMemoryBytes = gradientMemory });
        gp.Add(GaussianProcessTests.RandomStructure(rng, 4));
        gp.Add(GaussianProcessTests.RandomStructure(rng, 5), LabelKinds.Forces, forceAtoms: [0, 3]);
        gp.Add(GaussianProcessTests.RandomStructure(rng, 4), LabelKinds.Energy | LabelKinds.Stress);
        gp.Add(GaussianProcessTests.RandomStructure(rng, 4));
        gp.Add(GaussianProcessTests.RandomStructure(rng, 5), LabelKinds.Energy | LabelKinds.Forces);
        return gp;
    }

    public enum GroupsOf
    {
        None,
        PairsAndTriplets,

        /// <summary>The B2 many-body kernel plus 2+3-body (a non-local kernel: whole label blocks, its own σ_B2).</summary>
        B2PlusTwoThree,
    }

    [Fact]
    public void ValueIsTheKindWeightedMeanLogDensityOfTheClosedFormLeaveOneOutPredictions()
    {
        var gp = Data(1L << 30, new NoiseLevels(0.02, 0.08, 0.003));
        gp.Train();
        var loso = gp.LeaveOneStructureOut();
        double expected = 0;
        foreach (var kind in new[] { LabelKinds.Energy, LabelKinds.Forces, LabelKinds.Stress })
        {
            var terms = loso.SelectMany(p => p.Kinds.Select((k, i) => (k, i)).Where(t => t.k == kind)
                .Select(t => -0.5 * Math.Pow(p.Labels[t.i] - p.Mean[t.i], 2) / p.NoisyLabelVariance[t.i] - 0.5 * Math.Log(2 * Math.PI * p.NoisyLabelVariance[t.i]))).ToList();
            Assert.NotEmpty(terms);
            expected += terms.Average();
        }

        var r = gp.LeaveOneStructureOutLogDensity(gradient: false);
        var withGradient = gp.LeaveOneStructureOutLogDensity();
        Assert.True(Math.Abs(r.Value - expected) <= 1e-9 * Math.Abs(expected), $"objective {r.Value:R}, from LeaveOneStructureOut {expected:R}");
        Assert.True(Math.Abs(withGradient.Value - expected) <= 1e-9 * Math.Abs(expected), $"objective with gradient {withGradient.Value:R}, expected {expected:R}");
    }

    // Same steps and tolerance reasoning as the likelihood's finite-difference test: Richardson-extrapolated
    // central differences in log hyperparameters with h = 1e-2 are good to ~1e-8 of the derivative's scale.
    [Theory]
    [InlineData(1L << 30, 0.02, 0.08, 0.003, GroupsOf.None)]
    [InlineData(0L, 0.02, 0.08, 0.003, GroupsOf.None)]
    [InlineData(1L << 30, 0.005, 0.03, 0.001, GroupsOf.PairsAndTriplets)]
    [InlineData(0L, 0.005, 0.03, 0.001, GroupsOf.PairsAndTriplets)]
    [InlineData(1L << 30, 0.02, 0.08, 0.003, GroupsOf.B2PlusTwoThree)]
    [InlineData(0L, 0.02, 0.08, 0.003, GroupsOf.B2PlusTwoThree)]
    public void GradientEqualsItsFiniteDifferenceInLogHyperparameters(long gradientMemory, double energyNoise, double forceNoise, double stressNoise, GroupsOf groups)
    {
        var gp = Data(gradientMemory, new NoiseLevels(energyNoise, forceNoise, stressNoise), groups);
        var r = gp.LeaveOneStructureOutLogDensity();
        Assert.Equal(0, r.JitterAdded);
        var theta = gp.Kernel.Hyperparameters.ToArray();
        var noise = gp.Noise.ToArray();
        Assert.Equal(theta.Length + 3, r.Gradient.Length);
        const double h = 1e-2, tolerance = 1e-6;
        int nonzero = 0;
        for (int k = 0; k < theta.Length + 3; k++)
        {
            double x = k < theta.Length ? theta[k] : noise[k - theta.Length];
            double At(double u)
            {
                var t = (double[])theta.Clone();
                var n = (double[])noise.Clone();
                if (k < t.Length)
                {
                    t[k] = Math.Exp(u);
                }
                else
                {
                    n[k - t.Length] = Math.Exp(u);
                }

                var value = gp.LeaveOneStructureOutLogDensity(gp.Kernel.WithHyperparameters(t), new NoiseLevels(n[0], n[1], n[2]), gradient: false);
                Assert.Equal(0, value.JitterAdded);
                return value.Value;
            }

            double u0 = Math.Log(x);
            double dh = (At(u0 + h) - At(u0 - h)) / (2 * h);
            double dh2 = (At(u0 + h / 2) - At(u0 - h / 2)) / h;
            double fd = (4 * dh2 - dh) / 3;
            double analytic = x * r.Gradient[k];
            nonzero += Math.Abs(fd) > 1e-6 ? 1 : 0;
            Assert.True(Math.Abs(fd - analytic) <= tolerance * Math.Max(1, Math.Abs(fd)),
                $"parameter {k} (log): analytic {analytic}, Richardson finite difference {fd} (central h {dh}, h/2 {dh2})");
        }

        Assert.Equal(theta.Length + 3, nonzero);   // every hyperparameter and noise moves the objective
    }

    [Fact]
    public void OneStructureIsRefusedWithAClearMessage()
    {
        var gp = new GaussianProcess(GaussianProcessTests.Kernel(), new NoiseLevels(0.02, 0.08, 0.003));
        gp.Add(GaussianProcessTests.RandomStructure(new Random(1), 4));
        var ex = Assert.Throws<InvalidOperationException>(() => gp.LeaveOneStructureOutLogDensity());
        Assert.Contains("at least two training structures", ex.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AFitWithTheLeaveOneOutObjectiveRaisesItAndReportsItsValue(bool withPrior)
    {
        var gp = Data(1L << 30, new NoiseLevels(0.02, 0.08, 0.003));
        var prior = withPrior ? new LengthScalePrior(0.5, 0.4) : null;
        var fit = HyperparameterFit.Fit(gp, new HyperparameterFitOptions { Objective = HyperparameterObjective.LeaveOneStructureOut, MaxIterations = 6, LengthScalePrior = prior });
        Assert.Equal(HyperparameterObjective.LeaveOneStructureOut, fit.Objective);
        Assert.Equal("leave-one-structure-out log density", fit.ObjectiveName);
        Assert.True(fit.LogLikelihood > fit.InitialLogLikelihood, $"objective {fit.InitialLogLikelihood} → {fit.LogLikelihood}");
        Assert.Same(fit.Kernel, gp.Kernel);
        Assert.True(gp.IsTrained);

        // The reported value is the objective at the fitted hyperparameters (plus the log prior of the length scales).
        double expected = gp.LeaveOneStructureOutLogDensity(gradient: false).Value;
        if (prior is not null)
        {
            for (int h = 0; h < gp.Kernel.HyperparameterNames.Count; h++)
            {
                if (gp.Kernel.HyperparameterNames[h].StartsWith("length", StringComparison.Ordinal))
                {
                    expected += prior.Evaluate(Math.Log(gp.Kernel.Hyperparameters[h])).Value;
                }
            }
        }

        Assert.Equal(expected, fit.LogLikelihood, 1e-9 * Math.Abs(expected));
    }

    [Fact]
    public void ALengthScalePriorPullsTheFittedLengthScalesTowardsItsMedian()
    {
        var free = Data(1L << 30, new NoiseLevels(0.02, 0.08, 0.003));
        var pulled = Data(1L << 30, new NoiseLevels(0.02, 0.08, 0.003));
        var options = new HyperparameterFitOptions { MaxIterations = 20 };
        HyperparameterFit.Fit(free, options);
        HyperparameterFit.Fit(pulled, options with { LengthScalePrior = new LengthScalePrior(2.0, 0.05) });
        int l2 = free.Kernel.HyperparameterNames.ToList().IndexOf("length2");
        Assert.True(Math.Abs(Math.Log(pulled.Kernel.Hyperparameters[l2] / 2.0)) < Math.Abs(Math.Log(free.Kernel.Hyperparameters[l2] / 2.0)),
            $"length2 free {free.Kernel.Hyperparameters[l2]}, with a tight prior at 2 Å {pulled.Kernel.Hyperparameters[l2]}");
        Assert.Contains("positive median", Assert.Throws<ArgumentException>(() => HyperparameterFit.Fit(pulled, options with { LengthScalePrior = new LengthScalePrior(-1, 0.5) })).Message);
    }

    [Fact]
    public void TheLeaveOneOutFitRefusesASingleStructureAndSaysWhatToDo()
    {
        var gp = new GaussianProcess(GaussianProcessTests.Kernel(), new NoiseLevels(0.02, 0.08, 0.003));
        gp.Add(GaussianProcessTests.RandomStructure(new Random(1), 4));
        var ex = Assert.Throws<InvalidOperationException>(() => HyperparameterFit.Fit(gp, new HyperparameterFitOptions { Objective = HyperparameterObjective.LeaveOneStructureOut }));
        Assert.Contains("at least two training structures; there is 1", ex.Message);
        Assert.Contains("marginal likelihood", ex.Message);
    }
}
