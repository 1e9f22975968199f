using System.Globalization;
using Gpff.IO;
using Gpff.Regression.Mapping;

namespace Gpff.Cli.Tests;

/// <summary><c>gpff map</c>: a model trained on the bundled pw.x frames becomes a checked .gpffmap; bad input changes no file.</summary>
public sealed class MapCommandTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("gpff-cli-map-");

    public void Dispose() => _dir.Delete(recursive: true);

    private (string Model, string HeldOut) Trained()
    {
        var frames = ExtXyz.Read(Path.Combine(Cli.Root, "data", "barho-train.extxyz"))
            .Where(f => f.AtomCount <= 6 && (string)f.Info["config_type"] is "BaO" or "RhO2").ToList();
        var train = Path.Combine(_dir.FullName, "train.extxyz");
        var heldOut = Path.Combine(_dir.FullName, "heldout.extxyz");
        ExtXyz.Write(train, frames.Where((_, i) => i % 2 == 0));
        ExtXyz.Write(heldOut, frames.Where((_, i) => i % 2 == 1));
        var model = Path.Combine(_dir.FullName, "m.gpff");
        var (code, _, stderr) = Cli.Run("train", train, "-o", model, "--cutoff-3", "3.2");
        Assert.True(code == 0, stderr);
        return (model, heldOut);
    }

    [Fact]
    public void MapWritesAMapWithinToleranceOfTheModelOnHeldOutFrames()
    {
        var (model, heldOut) = Trained();
        var output = Path.Combine(_dir.FullName, "m.gpffmap");
        var lammps = Path.Combine(_dir.FullName, "m.mgp");
        var (code, stdout, stderr) = Cli.Run("map", model, "-o", output, "--tolerance", "0.02", "--validation", heldOut, "--lammps", lammps);
        Assert.True(code == 0, stderr);
        Assert.Contains($"pair_style mgp file {lammps}", stdout);
        Assert.StartsWith("# #2bodyarray #3bodyarray", File.ReadAllText(lammps));
        Assert.Contains("tolerance 20 meV/Å met on", stdout);
        Assert.Contains("given validation structures", stdout);
        Assert.Matches(@"\d+ pair maps and \d+ triplet maps written to", stdout);
        var map = MappedForceFieldFile.Load(output);
        var ff = ForceField.Load(model);
        double worst = ExtXyz.Read(heldOut).Max(s => map.Calculate(s, CalculatorProperties.Forces).ForcesEvPerA!
            .Zip(ff.PredictForces(s).ForcesEvPerA, (a, b) => Math.Max(Math.Abs(a.X - b.X), Math.Max(Math.Abs(a.Y - b.Y), Math.Abs(a.Z - b.Z)))).Max());
        Assert.True(worst <= 0.02, string.Create(CultureInfo.InvariantCulture, $"held-out force difference {worst} eV/Å"));
    }

    [Fact]
    public void MapWithVarianceIntoAModelFileGivesAModelThatCarriesIt()
    {
        var (model, heldOut) = Trained();
        var output = Path.Combine(_dir.FullName, "m-mapped.gpff");
        var (code, stdout, stderr) = Cli.Run("map", model, "-o", output, "--tolerance", "0.02", "--variance", "--std-tolerance", "0.002", "--validation", heldOut);
        Assert.True(code == 0, stderr);
        Assert.Contains("variance map, rank", stdout);
        Assert.Contains("tolerance 2 meV met on", stdout);
        Assert.Contains("(a copy of the model that carries them)", stdout);
        var ff = ForceField.Load(output);
        var map = ff.Mapped;
        Assert.NotNull(map);
        Assert.NotNull(map.Variance);
        foreach (var s in ExtXyz.Read(heldOut))
        {
            var byGp = ff.Predict(s);
            var byMap = map.Calculate(s, CalculatorProperties.LocalEnergies | CalculatorProperties.Uncertainty);
            Assert.True(byGp.LocalEnergiesStdEv!.Zip(byMap.LocalEnergiesStdEv!, (a, b) => Math.Abs(a - b)).Max() <= 0.002);
        }
    }

    [Fact]
    public void BadMapArgumentsAreOneLineAndChangeNoFile()
    {
        var (model, heldOut) = Trained();
        var snapshot = FolderSnapshot.Take(_dir.FullName);
        (string[] Args, string Message)[] cases =
        [
            ([model], "-o MAP.gpffmap is required."),
            ([model, "-o", model], "-o"),
            ([model, "-o", "x.gpffmap", "--lammps", model], "--lammps"),
            ([model, "-o", "x.gpffmap", "--tolerance", "-0.01"], "--tolerance must be a positive force in eV/Å, got -0.01."),
            ([model, "-o", "x.gpffmap", "--variance", "--std-tolerance", "0"], "--std-tolerance must be a positive energy in eV, got 0."),
            ([model, "-o", "x.gpffmap", "--triplet-points", "3"], "--triplet-points"),
            ([heldOut, "-o", "x.gpffmap"], "Cannot load model"),
            ([model, "-o", "x.gpffmap", "--tolerance", "1e-9", "--max-triplet-points", "6", "--triplet-points", "6", "--validation", heldOut], "misses the force tolerance"),
        ];
        foreach (var (args, message) in cases)
        {
            var full = args.Select(a => a == "x.gpffmap" ? Path.Combine(_dir.FullName, a) : a).ToArray();
            var (code, _, stderr) = Cli.Run(["map", .. full]);
            Assert.Equal(message is "Cannot load model" or "misses the force tolerance" ? 1 : 2, code); // a bad option value, a required option missing, an output that is an input: usage errors (2); a file that is not a model, a tolerance not met: runtime failures (1)
            Assert.StartsWith("gpff map: ", stderr);
            Assert.Contains(message, stderr);
            Assert.Single(stderr.TrimEnd().Split('\n'));
            snapshot.AssertUnchanged();
        }
    }
}
