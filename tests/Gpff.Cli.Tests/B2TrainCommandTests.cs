using System.Globalization;
using Gpff.Descriptors;
using Gpff.IO;
using Gpff.Kernels;
using Xunit;

namespace Gpff.Cli.Tests;

public class B2TrainCommandTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("gpff-cli-b2-");

    public void Dispose() => _dir.Delete(recursive: true);

    [Theory]
    [InlineData("b2")]
    [InlineData("b2+2+3")]
    public void TrainSparseB2SavesTheDescriptorSettingsAndPredicts(string kernel)
    {
        var data = Cli.SmallData(_dir.FullName);
        var model = Path.Combine(_dir.FullName, "b2.gpff");
        var (code, stdout, stderr) = Cli.Run("train", data, "-o", model, "--kernel", kernel, "--nmax", "5", "--lmax", "2", "--cutoff-b2", "4.5",
            "--hyperparameters", "sigmaB2=1.5", "--sparse", "10", "--holdout", "0.25");
        Assert.True(code == 0, stderr);
        Assert.Contains("sigmaB2", stdout);
        Assert.Contains("held-out errors", stdout);
        var loaded = Regression.ModelFile.LoadSparse(model, out _);
        var b2 = kernel == "b2" ? Assert.IsType<B2Kernel>(loaded.Kernel) : Assert.IsType<B2Kernel>(Assert.IsType<CombinedKernel>(loaded.Kernel).Parts[0]);
        Assert.Equal(new B2Settings([8, 45, 56], 5, 2, 4.5), b2.Settings);
        Assert.Equal(1.5, b2.SigmaEv);

        var output = Path.Combine(_dir.FullName, "pred.extxyz");
        (code, stdout, stderr) = Cli.Run("predict", model, data, "-o", output);
        Assert.True(code == 0, stderr);
        Assert.All(ExtXyz.Read(output).ToList(), f => Assert.NotNull(f.EnergyEv));
    }

    [Fact]
    public void KernelOptionsAreCheckedBeforeAnyWork()
    {
        var data = Cli.SmallData(_dir.FullName);
        var model = Path.Combine(_dir.FullName, "x.gpff");
        var (code, _, stderr) = Cli.Run("train", data, "-o", model, "--kernel", "b3", "--sparse", "10");
        Assert.Equal(2, code); // refused by the parser: the allowed values are declared
        Assert.Contains("option --kernel expects 2+3, b2 or b2+2+3, got 'b3'.", stderr);
        (code, _, stderr) = Cli.Run("train", data, "-o", model, "--nmax", "6", "--sparse", "10");
        Assert.Equal(2, code); // conflicting options are a usage error
        Assert.Contains("give --kernel b2 or --kernel b2+2+3 too", stderr);
        (code, _, stderr) = Cli.Run("train", data, "-o", model, "--kernel", "b2", "--lmax", "40");
        Assert.Equal(2, code); // an out-of-range value is a usage error (System.CommandLine's exit code)
        Assert.Contains("--lmax", stderr);
        (code, _, stderr) = Cli.Run("train", data, "-o", model, "--kernel", "b2", "--cutoff-b2", "-1");
        Assert.Equal(2, code);
        Assert.Contains("--cutoff-b2 must be in", stderr);
        Assert.False(File.Exists(model));
    }

    [Fact]
    public void HelpShowsTheLibraryDefaults()
    {
        var (code, help, _) = Cli.Run("train", "--help");
        Assert.Equal(0, code);
        string flat = System.Text.RegularExpressions.Regex.Replace(help, @"\s+", " ");   // rows wrapped at any width read the same
        Assert.Contains($"--nmax <N> B2 radial functions (Chebyshev); with --kernel b2 or b2+2+3 [default: {B2Settings.DefaultRadialCount}]", flat);
        Assert.Contains($"--lmax <L> B2 largest angular momentum; with --kernel b2 or b2+2+3 [default: {B2Settings.DefaultAngularMax}]", flat);
        Assert.Matches($@"--cutoff-b2 <Å> B2 cutoff in Å[^\[]*\[default: {ForceFieldSettings.DefaultB2CutoffA.ToString(CultureInfo.InvariantCulture)}\]", flat);
        Assert.Contains($"{B2Kernel.SigmaName}={ForceFieldSettings.DefaultSigmaB2.ToString(CultureInfo.InvariantCulture)} amplitude of the B2 kernel in eV", flat);
        Assert.Contains("--kernel <2+3|b2|b2+2+3>", flat);
    }

    [Fact]
    public void AFitDefaultsToTheCrossValidatedKernelAndHandSetHyperparametersTo2Plus3()
    {
        var data = Cli.SmallData(_dir.FullName);
        var fitted = Path.Combine(_dir.FullName, "fit.gpff");
        var (code, stdout, stderr) = Cli.Run("train", data, "-o", fitted, "--fit", "--max-iterations", "2", "--cutoff-3", "0", "--labels", "energy,forces", "--threads", "1");
        Assert.True(code == 0, stderr);
        Assert.Equal(ForceFieldKernel.B2PlusTwoPlusThree, ForceFieldSettings.DefaultFittedKernel);
        var combined = Assert.IsType<CombinedKernel>(ForceField.Load(fitted).Model.Kernel);
        Assert.IsType<B2Kernel>(combined.Parts[0]);
        Assert.Contains(B2Kernel.SigmaName, stdout);   // the fitted B2 amplitude is printed with the others

        var plain = Path.Combine(_dir.FullName, "plain.gpff");
        (code, _, stderr) = Cli.Run("train", data, "-o", plain, "--cutoff-3", "0", "--threads", "1");
        Assert.True(code == 0, stderr);
        Assert.Equal(["sigma2", "length2"], ForceField.Load(plain).Model.Kernel.HyperparameterNames);

        var (_, help, _) = Cli.Run("train", "--help");
        Assert.Contains($"Default: {ForceFieldSettings.KernelKindName(ForceFieldSettings.DefaultFittedKernel)} with --fit", help);
    }
}
