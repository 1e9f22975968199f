using System.Globalization;
using Gpff.IO;
using Xunit;

namespace Gpff.Cli.Tests;

public class TrainPredictCommandTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("gpff-cli-");

    public void Dispose() => _dir.Delete(recursive: true);



    [Fact]
    public void TrainUsesGivenHyperparametersExactlyAndReportsResidualsAndHeldOutErrors()
    {
        var data = Cli.SmallData(_dir.FullName);
        var model = Path.Combine(_dir.FullName, "m.gpff");
        var (code, stdout, stderr) = Cli.Run("train", data, "-o", model, "--cutoff-3", "3.2",
            "--hyperparameters", "sigma2=0.07,length2=0.45,sigma3=0.004,length3=0.6,energy_noise=0.003,force_noise=0.06,stress_noise=0.002",
            "--holdout", "0.25");
        Assert.True(code == 0, stderr);
        Assert.True(File.Exists(model));
        Assert.Contains("sigma2         0.07", stdout);
        Assert.Contains("length3        0.6", stdout);
        Assert.Contains("energy_noise   0.003 eV/atom", stdout);
        Assert.Contains("r_c3 = 3.2 Å", stdout);
        Assert.Contains("training residuals:", stdout);
        Assert.Contains("held-out errors (4 frames, every 4th frame of each composition):", stdout);
        Assert.Matches(@"BaO\s+2\s+E\s+\d+\.\d\d meV/atom", stdout);
        Assert.Matches(@"O2Rh\s+\d+\s+E", stdout);
        Assert.Contains("covariance assembly", stderr);
        Assert.DoesNotContain('\u001b', stderr); // redirected: plain lines, no terminal control codes

        var ff = ForceField.Load(model);
        Assert.Equal([0.07, 0.45, 0.004, 0.6], ff.Model.Kernel.Hyperparameters);
        Assert.Equal(new Regression.NoiseLevels(0.003, 0.06, 0.002), ff.Model.Noise);
    }

    [Fact]
    public void TrainPrintsLeaveOneOutErrorsAndTheCalibrationItStoresInTheModel()
    {
        var data = Cli.SmallData(_dir.FullName);
        var model = Path.Combine(_dir.FullName, "loso.gpff");
        var (code, stdout, stderr) = Cli.Run("train", data, "-o", model, "--cutoff-3", "3.2");
        Assert.True(code == 0, stderr);
        var lines = stdout.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        int start = lines.FindIndex(l => l.StartsWith("leave-one-structure-out errors", StringComparison.Ordinal));
        Assert.True(start > lines.FindIndex(l => l == "training residuals:"), stdout);

        // The printed LOSO table is that of the saved model, recomputed here.
        var ff = ForceField.Load(model);
        var loso = ff.Model.LeaveOneStructureOut();
        var expected = ErrorSummary.FromLeaveOneOut(loso);
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.Equal("  " + expected[i], lines[start + 1 + i]);
        }

        // The printed scales are the ones stored, and fit the LOSO errors: rms(error/σ) = 1 afterwards.
        var c = ff.Model.Calibration;
        Assert.False(c.IsNone);
        Assert.Equal(Regression.UncertaintyCalibration.FromLeaveOneOut(loso).ForceScale, c.ForceScale, 12);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"forces  scale s = {c.ForceScale,6:F3}"), stdout);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"energy  scale s = {c.EnergyScale,6:F3}"), stdout);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"stress  scale s = {c.StressScale,6:F3}"), stdout);
        Assert.Matches(@"rms\(error/σ\)\s+\d+\.\d{3} → 1\.000", stdout);
        Assert.Contains("reported standard deviations (--sigma label): σ of a noisy DFT label", stdout);
        Assert.Contains($"leave-one-structure-out: done ({ff.Model.Training.Count} structures)", stderr);
    }

    [Theory]
    [InlineData(null, "leave-one-structure-out log density")]   // the default of gpff train --fit
    [InlineData("likelihood", "log-likelihood")]
    [InlineData("loso", "leave-one-structure-out log density")]
    public void TrainWithFitImprovesItsObjectiveAndSaysSo(string? objective, string name)
    {
        var data = Cli.SmallData(_dir.FullName);
        var model = Path.Combine(_dir.FullName, "fit.gpff");
        string[] args = ["train", data, "-o", model, "--kernel", "2+3", "--cutoff-3", "0", "--fit", "--max-iterations", "4", "--labels", "energy,forces"];
        var (code, stdout, stderr) = Cli.Run(objective is null ? args : [.. args, "--objective", objective]);
        Assert.True(code == 0, stderr);
        Assert.Matches(@"fit: (NOT )?converged .* " + name + @" -?\d+\.\d\d → -?\d+\.\d\d", stdout);
        Assert.Contains($"fitting hyperparameters (maximum {name} over energies, forces and stresses)", stderr);
        Assert.Contains("fit iteration   1", stderr);
        var line = stdout.Split('\n').First(l => l.Contains(name + " "));
        var parts = line[(line.IndexOf(name, StringComparison.Ordinal) + name.Length + 1)..].Split('→');
        Assert.True(double.Parse(parts[1], CultureInfo.InvariantCulture) > double.Parse(parts[0], CultureInfo.InvariantCulture));
        var ff = ForceField.Load(model);
        Assert.Equal(2, ff.Model.Kernel.Hyperparameters.Count); // 2-body only
        Assert.DoesNotContain(ff.Model.Training, e => e.Labels.Stress);
    }

    [Fact]
    public void PredictWritesEnergiesForcesStressesAndTheirUncertainties()
    {
        var data = Cli.SmallData(_dir.FullName);
        var model = Path.Combine(_dir.FullName, "m.gpff");
        Assert.Equal(0, Cli.Run("train", data, "-o", model, "--cutoff-3", "3.2").Code);
        var output = Path.Combine(_dir.FullName, "pred.extxyz");
        var (code, stdout, stderr) = Cli.Run("predict", model, data, "-o", output);
        Assert.True(code == 0, stderr);
        Assert.Contains("frames predicted", stdout);
        var c = ForceField.Load(model).Model.Calibration;
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"standard deviations (std_kind=label): σ of a noisy DFT label (latent and label noise, both calibrated): the expected spread of DFT about the prediction (scales energy {c.EnergyScale:F3}, forces {c.ForceScale:F3}"), stdout);
        var input = ExtXyz.Read(data).ToList();
        var frames = ExtXyz.Read(output).ToList();
        Assert.Equal(input.Count, frames.Count);
        var ff = ForceField.Load(model, new Regression.GaussianProcessOptions { Uncertainty = Regression.UncertaintyKind.NoisyLabel });
        for (int f = 0; f < frames.Count; f++)
        {
            var p = ff.Predict(input[f]);
            var o = frames[f];
            Assert.Equal(p.EnergyEv, o.EnergyEv);
            Assert.Equal(p.EnergyStdEv, (double)o.Info["energy_std"]);
            Assert.Equal(p.StressEvPerA3, o.StressEvPerA3);
            Assert.Equal(9, ((double[])o.Info["stress_std"]).Length);
            Assert.Equal(input[f].EnergyEv, (double)o.Info["ref_energy"]);
            Assert.Equal(p.ForcesEvPerA, o.ForcesEvPerA);
            Assert.Equal(3, o.AtomProperties["forces_std"].Columns);
            Assert.Equal(p.ForcesStdEvPerA![0].X, o.AtomProperties["forces_std"].Reals![0]);
            Assert.Equal(p.LocalEnergiesEv, o.AtomProperties["energies"].Reals);
            Assert.Equal(input[f].ForcesEvPerA![1].Y, o.AtomProperties["ref_forces"].Reals![4]);
            Assert.Equal("label", (string)o.Info["std_kind"]);
            Assert.True((bool)o.Info["composition_in_span"]);
        }

        // --sigma latent: the latent σ, smaller than the label σ by the calibrated noise, said so in the file and the output.
        var latentOut = Path.Combine(_dir.FullName, "latent.extxyz");
        (code, stdout, stderr) = Cli.Run("predict", model, data, "-o", latentOut, "--sigma", "latent");
        Assert.True(code == 0, stderr);
        Assert.Contains("standard deviations (std_kind=latent): σ of the latent function", stdout);
        var latentFrame = ExtXyz.Read(latentOut).First();
        var latent = ForceField.Load(model).Predict(input[0]);
        Assert.Equal("latent", (string)latentFrame.Info["std_kind"]);
        Assert.Equal(latent.EnergyStdEv, (double)latentFrame.Info["energy_std"]);
        double noise = ff.Model.CalibratedNoiseVariance(Regression.LabelKinds.Energy, input[0].AtomCount);
        Assert.Equal(Math.Sqrt(latent.EnergyStdEv * latent.EnergyStdEv + noise), (double)frames[0].Info["energy_std"], 1e-12);
    }

    [Fact]
    public void TrainWritesParityAndCalibrationPlotsAsPngAndSvg()
    {
        var data = Cli.SmallData(_dir.FullName);
        var plots = Directory.CreateDirectory(Path.Combine(_dir.FullName, "plots")).FullName;
        var (code, stdout, stderr) = Cli.Run("train", data, "-o", Path.Combine(_dir.FullName, "m.gpff"), "--cutoff-3", "0", "--plots", plots);
        Assert.True(code == 0, stderr);
        Assert.Contains($"plots: 8 files written to {plots}", stdout);
        foreach (var name in new[] { "parity-energy", "parity-forces", "parity-stress", "calibration" })
        {
            var png = File.ReadAllBytes(Path.Combine(plots, name + ".png"));
            Assert.True(png.Length > 5000, $"{name}.png is only {png.Length} bytes");
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, png[..8]);
            Assert.Equal(800, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16, 4)));
            var svg = System.Xml.Linq.XDocument.Load(Path.Combine(plots, name + ".svg"));   // well-formed XML
            Assert.Equal("svg", svg.Root!.Name.LocalName);
        }

        Assert.Contains("BaO", File.ReadAllText(Path.Combine(plots, "parity-forces.svg")));   // coloured by composition, in the legend
        Assert.Contains("within 1σ", File.ReadAllText(Path.Combine(plots, "calibration.svg")));
        Assert.Empty(Directory.GetFiles(plots, "*.tmp"));
    }

    [Fact]
    public void CrossValidationPrintsWhatTheLibraryComputes()
    {
        var data = Cli.SmallData(_dir.FullName);
        var (code, stdout, stderr) = Cli.Run("cv", data, "--folds", "2", "--cutoff-3", "0", "--reference-prior", "none");
        Assert.True(code == 0, stderr);
        var frames = ExtXyz.Read(data).ToList();
        var expected = CrossValidation.Run(frames, new ForceFieldSettings { TripletCutoffA = 0 }, 2, fit: false);
        var lines = stdout.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        int start = lines.FindIndex(l => l.StartsWith("errors on unseen structures", StringComparison.Ordinal));
        Assert.True(start > 0, stdout);
        for (int i = 0; i < expected.Errors.Count; i++)
        {
            Assert.Equal("  " + expected.Errors[i], lines[start + 1 + i]);
        }

        Assert.Contains("  latent σ  " + expected.LatentCalibration[1], lines);
        Assert.Contains("  label σ   " + expected.LabelCalibration[0], lines);
        Assert.Contains("fold 2/2: training on", stderr);
        Assert.Equal(frames.Count, expected.Predictions.Count);
    }

    [Fact]
    public void ErrorsExitNonZeroWithOneClearLine()
    {
        var data = Cli.SmallData(_dir.FullName);
        var (code, _, stderr) = Cli.Run("train", data);
        Assert.Equal(2, code); // a required option missing is a usage error
        Assert.Equal("gpff train: -o MODEL is required: where to write the trained model.", stderr.Trim());
        (code, _, stderr) = Cli.Run("train", data, "-o", "x.gpff", "--hyperparameters", "sigma4=1");
        Assert.Equal(2, code);
        Assert.Contains("unknown name 'sigma4'", stderr);
        (code, _, stderr) = Cli.Run("train", data, "-o", "x.gpff", "--labels", "energy,charges");
        Assert.Contains("unknown label kind 'charges'", stderr);
        (code, _, stderr) = Cli.Run("train", data, "-o", "x.gpff", "--fit", "--bounds", "lenght3=0.1:1");
        Assert.Equal(CommandLine.UsageExitCode, code);
        Assert.Contains("--bounds: 'lenght3' is not a hyperparameter of this model", stderr);
        (code, _, stderr) = Cli.Run("train", data, "-o", "x.gpff", "--fit", "--bounds", "length3=1:0.1");
        Assert.Contains("must read name=lower:upper with 0 < lower ≤ upper", stderr);
        (code, _, stderr) = Cli.Run("train", data, "-o", "x.gpff", "--cutoff-3", "6");
        Assert.Contains("0 ≤ r_c3 ≤ r_c2", stderr);
        var notModel = Path.Combine(_dir.FullName, "fake.gpff");
        File.WriteAllText(notModel, "hello, this is not a model file at all");
        (code, _, stderr) = Cli.Run("predict", notModel, data, "-o", Path.Combine(_dir.FullName, "out.extxyz"));
        Assert.Equal(1, code);
        Assert.Contains("not a Gpff model file", stderr);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.False(File.Exists(Path.Combine(_dir.FullName, "out.extxyz")));
    }
}
