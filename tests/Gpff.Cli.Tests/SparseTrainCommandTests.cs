using Gpff.IO;
using Xunit;

namespace Gpff.Cli.Tests;

public class SparseTrainCommandTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("gpff-cli-sparse-");

    public void Dispose() => _dir.Delete(recursive: true);

    [Theory]
    [InlineData("variance")]
    [InlineData("kmeans")]
    [InlineData("random")]
    public void TrainSparseThenPredictWritesPredictionsWithUncertainties(string select)
    {
        var data = Cli.SmallData(_dir.FullName);
        var model = Path.Combine(_dir.FullName, "sparse.gpff");
        var (code, stdout, stderr) = Cli.Run("train", data, "-o", model, "--cutoff-3", "3.2", "--sparse", "12", "--select", select, "--seed", "2", "--holdout", "0.25");
        Assert.True(code == 0, stderr);
        Assert.Contains($"12 inducing environments ({select})", stdout);
        Assert.Contains("held-out errors", stdout);
        Assert.Matches(@"BaO\s+\d+\s+E\s+\d+\.\d\d meV/atom", stdout);
        Assert.True(Regression.ModelFile.IsSparse(model));

        var output = Path.Combine(_dir.FullName, "pred.extxyz");
        (code, stdout, stderr) = Cli.Run("predict", model, data, "-o", output);
        Assert.True(code == 0, stderr);
        Assert.Contains("sparse GP (DTC)", stdout);
        var frames = ExtXyz.Read(output).ToList();
        Assert.NotEmpty(frames);
        Assert.All(frames, f =>
        {
            Assert.True(f.Info.ContainsKey("energy_std"));
            Assert.True(f.AtomProperties.ContainsKey("forces_std"));
            Assert.NotNull(f.EnergyEv);
        });
    }

    [Fact]
    public void SparseOptionsAreCheckedBeforeAnyWork()
    {
        var data = Cli.SmallData(_dir.FullName);
        var model = Path.Combine(_dir.FullName, "x.gpff");
        var (code, _, stderr) = Cli.Run("train", data, "-o", model, "--sparse", "12", "--select", "best");
        Assert.Equal(2, code); // refused by the parser: the allowed values are declared
        Assert.Contains("option --select expects variance, random or kmeans, got 'best'.", stderr);
        (code, _, stderr) = Cli.Run("train", data, "-o", model, "--select", "random");
        Assert.Equal(2, code);
        Assert.Contains("give --sparse too", stderr);
        (code, _, stderr) = Cli.Run("train", data, "-o", model, "--sparse", "100000");
        Assert.Equal(2, code);
        Assert.Contains("the training frames have only", stderr);
        Assert.False(File.Exists(model));
    }

    [Fact]
    public void SparseModelRunsMdAndRelax()
    {
        var data = Cli.SmallData(_dir.FullName);
        var model = Path.Combine(_dir.FullName, "sparse.gpff");
        var (code, _, stderr) = Cli.Run("train", data, "-o", model, "--cutoff-3", "3.2", "--sparse", "12", "--seed", "1");
        Assert.True(code == 0, stderr);

        var log = Path.Combine(_dir.FullName, "md.csv");
        (code, var stdout, stderr) = Cli.Run("md", model, data, "--ensemble", "nve", "--temperature", "100", "--timestep", "1", "--steps", "10", "--seed", "1", "--log", log);
        Assert.True(code == 0, stderr);
        Assert.Contains("10 steps of 1 fs (nve)", stdout);
        var lines = File.ReadAllLines(log);
        Assert.Equal(Dynamics.MolecularDynamics.MolecularDynamicsLogger.Header, lines[0]);
        Assert.Equal("10", lines[^1].Split(',')[0]);

        var first = Path.Combine(_dir.FullName, "first.extxyz");
        ExtXyz.Write(first, ExtXyz.Read(data).Take(2));
        var relaxed = Path.Combine(_dir.FullName, "relaxed.extxyz");
        (code, stdout, stderr) = Cli.Run("relax", model, first, "-o", relaxed, "--cell", "fixed", "--fmax", "0.05");
        Assert.True(code == 0, stderr);
        var frames = ExtXyz.Read(relaxed).ToList();
        Assert.Equal(2, frames.Count);
        Assert.All(frames, f => Assert.True(f.Info.ContainsKey("enthalpy")));
    }

    [Fact]
    public void SparseTrainingFitsByTheLeaveOneOutObjectiveOnRequest()
    {
        var data = Cli.SmallData(_dir.FullName);
        var model = Path.Combine(_dir.FullName, "loso.gpff");
        var (code, stdout, stderr) = Cli.Run("train", data, "-o", model, "--sparse", "12", "--fit", "--objective", "loso", "--max-iterations", "2");
        Assert.True(code == 0, stderr);
        Assert.Contains("sparse leave-one-structure-out log density", stdout);
        Assert.True(File.Exists(model));
    }

    [Fact]
    public void SparseTrainingRefusesFullGpOnlyOptions()
    {
        var data = Cli.SmallData(_dir.FullName);
        var model = Path.Combine(_dir.FullName, "x.gpff");
        var (code, _, stderr) = Cli.Run("train", data, "-o", model, "--sparse", "12", "--plots", _dir.FullName);
        Assert.Equal(2, code);
        Assert.Contains("--plots applies to the full GP only", stderr);
        Assert.False(File.Exists(model));
    }
}
