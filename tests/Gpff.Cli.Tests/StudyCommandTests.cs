using Gpff.Cli.Commands;

namespace Gpff.Cli.Tests;

/// <summary>
/// <c>gpff study</c>: the README's main job. The bundled settings (data/barho-study.json) run with --quick, which keeps
/// every step (fit, cross-validation, relaxation of all seven candidates at 0 and 10 GPa, hulls, plots).
/// </summary>
public class StudyCommandTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "gpff-studycli-" + Guid.NewGuid().ToString("N"));

    public StudyCommandTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void TheBundledStudyRunsQuickAndWritesTablesFilesAndPlots()
    {
        string output = Path.Combine(_dir, "out");
        var (code, stdout, stderr) = Cli.Run("study", Path.Combine(Cli.Root, "data", "barho-study.json"), "--quick", "-o", output);
        Assert.True(code == 0, stderr);
        Assert.Contains("BaO–RhO2 hull at 0 GPa", stdout);
        Assert.Contains("BaO–RhO2 hull at 10 GPa", stdout);
        Assert.Contains("2-fold cross-validation", stdout);
        Assert.Contains("leave-one-structure-out errors", stdout);
        Assert.Contains("recompute these with DFT", stdout);
        var lines = stdout.Split('\n');
        foreach (string name in new[] { "BaO-rocksalt", "RhO2-rutile", "BaRhO3-3C", "BaRhO3-2H", "BaRhO3-4H", "BaRhO3-6H", "Ba2RhO4-K2NiF4" })
        {
            // a row in the table at both pressures: relaxed, or FAILED and then listed with why, its composition not settled
            var rows = lines.Where(l => l.TrimStart().StartsWith(name + " ", StringComparison.Ordinal)).ToArray();
            Assert.Equal(2, rows.Length);
            int failed = rows.Count(r => r.Contains(" FAILED ", StringComparison.Ordinal));
            Assert.Equal(failed, lines.Count(l => l.StartsWith("relaxation failed", StringComparison.Ordinal) && l.Contains($": {name}: ", StringComparison.Ordinal)));
            if (failed > 0)
            {
                Assert.Contains(lines, l => l.TrimStart().StartsWith("NOT SETTLED: ", StringComparison.Ordinal) && l.Contains(name, StringComparison.Ordinal));
                Assert.Contains(lines, l => l.StartsWith("not decided", StringComparison.Ordinal) && l.Contains(name, StringComparison.Ordinal));
            }
        }

        // progress on stderr, by stage, with the relaxations counted
        Assert.Contains("relaxation 14/14", stderr);
        Assert.Contains("cross-validation", stderr);
        foreach (string f in new[] { "model.gpff", "report.txt", "relaxed-0GPa.extxyz", "relaxed-10GPa.extxyz", "entries-10GPa.csv", "covariance-10GPa.txt",
                     "hull-0GPa.json", "hull-10GPa.json", "hull-0GPa.png", "hull-10GPa.png", StudyCommand.PressurePlotName })
        {
            Assert.True(File.Exists(Path.Combine(output, f)), f);
        }

        // no candidate in the hulls has collapsed or expanded out of the training data (the hexagonal cells did)
        var distances = ModelTrainingDistances.Of(ForceField.Load(Path.Combine(output, "model.gpff")))!;
        foreach (string relaxed in new[] { "relaxed-0GPa.extxyz", "relaxed-10GPa.extxyz" })
        {
            Assert.All(Gpff.IO.ExtXyz.Read(Path.Combine(output, relaxed)), s => Assert.Null(distances.CheckRange(s)));
        }

        // what it wrote is what gpff hull reads: the same hull from the entries and the covariance
        var (hullCode, hullOut, hullErr) = Cli.Run("hull", Path.Combine(output, "entries-10GPa.csv"), "--pressure", "10", "--terminals", "BaO,RhO2",
            "--covariance", Path.Combine(output, "covariance-10GPa.txt"), "--samples", "1000");
        Assert.True(hullCode == 0, hullErr);
        string[] Fields(string text, string name) => text.Split('\n').Last(l => l.TrimStart().StartsWith(name + " ", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries);
        foreach (string name in new[] { "BaRhO3-3C", "Ba2RhO4-K2NiF4" })
        {
            double studyEHull = double.Parse(Fields(stdout, name)[8], System.Globalization.CultureInfo.InvariantCulture);
            double hullEHull = double.Parse(Fields(hullOut, name)[3], System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(hullEHull, studyEHull, 0.051);   // the 10 GPa table (the last), printed to 0.1 and 0.001 meV/atom
            Assert.Equal(Fields(hullOut, name)[4] == "yes", studyEHull == 0);
        }
    }

    [Fact]
    public void BadInputIsOneLineAndWritesNothing()
    {
        string missing = Path.Combine(_dir, "none.json");
        var (code, _, err) = Cli.Run("study", missing, "-o", Path.Combine(_dir, "o1"));
        Assert.Equal(1, code);
        Assert.Contains("none.json", err);
        Assert.Single(err.Trim().Split('\n'));
        Assert.False(Directory.Exists(Path.Combine(_dir, "o1")));

        string settings = Path.Combine(_dir, "s.json");
        File.WriteAllText(settings, """{ "training_data": ["x.extxyz"], "candidates": "c.extxyz", "pressures": [0] }""");
        (code, _, err) = Cli.Run("study", settings, "-o", Path.Combine(_dir, "o2"));
        Assert.Equal(1, code);
        Assert.Contains("pressures", err);
        Assert.Contains("pressures_gpa", err);   // the known keys are listed
        Assert.False(Directory.Exists(Path.Combine(_dir, "o2")));

        (code, _, err) = Cli.Run("study", settings, "--pressure", "3");
        Assert.Equal(2, code); // an unknown option is a usage error
        Assert.Contains("--pressure", err);

        string file = Path.Combine(_dir, "a-file");
        File.WriteAllText(file, "keep");
        File.WriteAllText(settings, $$"""{ "training_data": ["{{Path.Combine(Cli.Root, "data", "barho-train.extxyz")}}"], "candidates": "{{Path.Combine(Cli.Root, "data", "barho-candidates.extxyz")}}" }""");
        (code, _, err) = Cli.Run("study", settings, "-o", file);
        Assert.Equal(2, code); // -o names a file, not a folder: a usage error
        Assert.Contains("a-file", err);
        Assert.Equal("keep", File.ReadAllText(file));
    }
}
