using System.Globalization;
using System.Text;
using Gpff.Geometry;
using Gpff.IO;

namespace Gpff.Cli.Tests;

/// <summary>
/// The inputs every bad-input case works on, made once: a small labelled data set, a model trained on
/// it, damaged extxyz files, a pw.x output and a damaged copy, hull CSVs. Each case runs on a fresh
/// copy of this folder, so that "nothing changed" can be checked byte for byte.
/// </summary>
public sealed class BadInputFixture : IDisposable
{
    public BadInputFixture()
    {
        Folder = Directory.CreateTempSubdirectory("gpff-bad-").FullName;
        var frames = ExtXyz.Read(Path.Combine(Cli.Root, "data", "barho-train.extxyz"))
            .Where(f => f.AtomCount <= 6 && (string)f.Info["config_type"] is "BaO" or "RhO2").ToList();
        string good = P("good.extxyz");
        ExtXyz.Write(good, frames);
        var (code, _, err) = Cli.Run("train", good, "-o", P("model.gpff"), "--cutoff-2", "4", "--cutoff-3", "0");
        Assert.True(code == 0, err);

        var bao = frames.First(f => f.HillFormula() == "BaO" || f.ReducedFormula() == "BaO");
        var overlap = bao.Clone();
        overlap.Positions[1] = overlap.Positions[0];
        ExtXyz.Write(P("overlap.extxyz"), [overlap]);
        ExtXyz.Write(P("good-then-overlap.extxyz"), [bao, overlap]);
        ExtXyz.Write(P("unseen.extxyz"), [new Structure(new[] { "Si" }, [Vec3.Zero], 5 * Mat3.Identity, Pbc.All) { EnergyEv = -100 }]);
        ExtXyz.Write(P("tiny.extxyz"), [new Structure(new[] { "O" }, [Vec3.Zero], 0.05 * Mat3.Identity, Pbc.All) { EnergyEv = -400 }]);
        ExtXyz.Write(P("tiny-0.11.extxyz"), [new Structure(new[] { "O" }, [Vec3.Zero], 0.11 * Mat3.Identity, Pbc.All)]);
        ExtXyz.Write(P("nolabels.extxyz"), [bao.CloneWithoutLabels()]);
        var slab = bao.CloneWithoutLabels();
        slab.Pbc = new Pbc(true, true, false);
        ExtXyz.Write(P("slab.extxyz"), [slab]);
        File.WriteAllText(P("cov.txt"), "1e-4\n");
        const string header = "Lattice=\"5 0 0 0 5 0 0 0 5\" Properties=species:S:1:pos:R:3:forces:R:3";
        File.WriteAllText(P("nan-force.extxyz"), $"2\n{header} energy=-10 pbc=\"T T T\"\nBa 0 0 0 0.1 nan 0\nO 2.5 0 0 0 0 0\n");
        File.WriteAllText(P("nan-energy.extxyz"), $"2\n{header} energy=nan pbc=\"T T T\"\nBa 0 0 0 0 0 0\nO 2.5 0 0 0 0 0\n");
        File.WriteAllText(P("nan-pos.extxyz"), $"2\n{header} energy=-10 pbc=\"T T T\"\nBa 0 0 0 0 0 0\nO 2.5 Infinity 0 0 0 0\n");
        File.WriteAllText(P("not-extxyz.txt"), "my notes, not a structure file\n");

        string pw = Directory.GetFiles(Path.Combine(Cli.Root, "tests", "data", "qe", "dataset"), "*.out").Order(StringComparer.Ordinal).First();
        File.Copy(pw, P("A.out"));
        var lines = File.ReadAllLines(pw);
        int at = Array.FindIndex(lines, l => l.Contains("atom    1 type", StringComparison.Ordinal) && l.Contains("force =", StringComparison.Ordinal));
        Assert.True(at >= 0);
        PwForceLine = at + 1;
        lines[at] = lines[at][..lines[at].IndexOf('=', StringComparison.Ordinal)] + "=          NaN    0.03139413   -0.02982049";
        File.WriteAllLines(P("nan-force.out"), lines);

        var hull = new StringBuilder("name,formula,energy_ev,volume_a3,energy_std_ev\n");
        hull.Append("Ba,Ba,-10,60,0.01\nO,O,-5,10,0.01\nBaO,BaO,-20,42,0.02\nBaO2,BaO2,-24,50,0.02\n");
        for (int i = 0; i < 40; i++)
        {
            hull.Append(CultureInfo.InvariantCulture, $"BaO-{i},BaO,{-19.9 + 0.01 * i},42,0.02\n");
        }

        File.WriteAllText(P("entries.csv"), hull.ToString());
        File.WriteAllText(P("dup.csv"), "name,formula,energy_ev\nBaO,BaO,-20\nBaO,BaO,-21\nBa,Ba,-10\nO,O,-5\n");
        File.WriteAllText(P("nan.csv"), "name,formula,energy_ev\nBaO,BaO,NaN\nBa,Ba,-10\nO,O,-5\n");
        File.WriteAllText(P("previous.out"), "the previous output, which must survive\n");
    }

    /// <summary>The folder with the inputs.</summary>
    public string Folder { get; }

    /// <summary>The 1-based line of nan-force.out that holds the NaN force.</summary>
    public int PwForceLine { get; }

    public void Dispose() => Directory.Delete(Folder, recursive: true);

    private string P(string name) => Path.Combine(Folder, name);
}

/// <summary>
/// Bad inputs to every gpff command, run in process on a fresh copy of the inputs. Each must end
/// with exit code 1 (or the one given), nothing on stdout, ONE line on stderr that starts "gpff COMMAND: ", names what
/// it must (file, frame, line, option) and leaks no .NET parameter names; and every file in the
/// folder must be byte-identical afterwards, with no file added (no output, no temporary file).
/// </summary>
public sealed class BadInputTests(BadInputFixture fixture) : IClassFixture<BadInputFixture>, IDisposable
{
    private readonly List<string> _cleanup = [];

    public void Dispose()
    {
        foreach (var d in _cleanup)
        {
            Directory.Delete(d, recursive: true);
        }
    }

    /// <summary>A case: arguments with {d} for the case folder, the fragments the error line must contain, and the exit code.</summary>
    public static TheoryData<string, string, string> Cases => new()
    {
        // info
        { "info {d}/missing.extxyz", "{d}/missing.extxyz|does not exist", "1" },
        { "info {d}/nan-force.extxyz", "{d}/nan-force.extxyz, frame 1, line 3|forces|not a finite number", "1" },
        { "info {d}/nan-energy.extxyz", "{d}/nan-energy.extxyz, frame 1, line 2|energy|not a finite number", "1" },
        { "info {d}/overlap.extxyz", "{d}/overlap.extxyz, frame 1|closer than the minimum distance", "1" },
        { "info {d}/tiny-0.11.extxyz", "{d}/tiny-0.11.extxyz, frame 1|751 atoms/Å³|denser than any material", "1" },
        { "info {d}/good.extxyz --cutoff 1e5", "{d}/good.extxyz, frame 1|neighbour list|smaller cutoff", "1" },
        { "info {d}/good.extxyz --cutoff -1", "--cutoff", "2" },
        { "info {d}/good.extxyz --cutoff nan", "--cutoff|finite number|'nan'", "2" },
        { "info {d}/not-extxyz.txt", "{d}/not-extxyz.txt, frame 1, line 1|number of atoms", "1" },
        { "info {d}/slab.extxyz --cutoff 1e6", "{d}/slab.extxyz, frame 1|neighbour list|periodic along a, b|smaller cutoff", "1" },

        // train
        { "train {d}/good.extxyz -o {d}/good.extxyz", "-o '{d}/good.extxyz' is also an input", "2" },
        { "train {d}/good.extxyz -o {d}/./sub/../good.extxyz", "is also an input|{d}/good.extxyz", "2" },
        { "train {d}/good.extxyz -o {d}/link.extxyz", "is also an input", "2" },
        { "train {d}/good.extxyz -o {d}/nofolder/m.gpff", "{d}/nofolder|does not exist", "1" },
        { "train {d}/good.extxyz -o {d}", "is a folder", "2" },
        { "train {d}/good.extxyz -o {d}/previous.out --threads 0", "--threads|between 1 and", "2" },
        { "train {d}/good.extxyz -o {d}/m.gpff --threads -4", "--threads|'-4'", "2" },
        { "train {d}/good.extxyz -o {d}/m.gpff --max-iterations -1", "--max-iterations|'-1'", "2" },
        { "train {d}/good.extxyz -o {d}/m.gpff --max-iterations 2.5", "--max-iterations|whole number|'2.5'", "2" },
        { "train {d}/good.extxyz -o {d}/m.gpff --cutoff-2 nan", "--cutoff-2|finite number", "2" },
        { "train {d}/good.extxyz -o {d}/m.gpff --cutoff-2 1e6", "cutoffs must satisfy|r_c2 = 1000000", "2" },
        { "train {d}/good.extxyz -o {d}/m.gpff --holdout NaN", "--holdout|finite number", "2" },
        { "train {d}/nan-energy.extxyz -o {d}/m.gpff", "{d}/nan-energy.extxyz, frame 1, line 2|energy|finite", "1" },
        { "train {d}/overlap.extxyz -o {d}/m.gpff", "{d}/overlap.extxyz, frame 1|closer than the minimum distance", "1" },
        { "train {d}/tiny.extxyz -o {d}/m.gpff", "{d}/tiny.extxyz, frame 1|its own periodic image|minimum distance", "1" },
        { "train {d}/nolabels.extxyz -o {d}/m.gpff", "{d}/nolabels.extxyz, frame 1|no label", "1" },
        { "train {d}/slab.extxyz -o {d}/m.gpff --labels energy", "{d}/slab.extxyz, frame 1|no label of the kinds selected (Energy)", "1" },
        { "train {d}/good.extxyz -o {d}/m.gpff --test {d}/unseen.extxyz", "{d}/unseen.extxyz, frame 1|atom 1 is Si|training data", "1" },
        { "train {d}/good.extxyz -o {d}/m.gpff --test {d}/good.extxyz --max-iterations x", "--max-iterations|'x'", "2" },

        { "train {d}/unseen.extxyz -o {d}/m.gpff --fit", "--fit with the leave-one-structure-out objective needs at least two training frames; there is 1|--objective likelihood", "2" },
        { "train {d}/good.extxyz -o {d}/m.gpff --objective best", "option --objective expects likelihood or loso, got 'best'", "2" },
        { "train {d}/good.extxyz -o {d}/m.gpff --length-prior 0.5", "--length-prior|'0.5'|MEDIAN:LOGSD", "2" },
        { "train {d}/good.extxyz -o {d}/m.gpff --length-prior -1:0.5", "--length-prior|'-1:0.5'", "2" },
        { "train {d}/good.extxyz -o {d}/m.gpff --sigma both", "option --sigma expects label or latent, got 'both'", "2" },
        { "train {d}/good.extxyz -o {d}/m.gpff --reference-prior 0", "--reference-prior|'0'|positive number of eV/atom", "2" },
        { "train {d}/good.extxyz -o {d}/m.gpff --plots {d}/nofolder", "--plots|'{d}/nofolder' does not exist", "1" },

        // cv
        { "cv {d}/good.extxyz --folds 1", "--folds|'1'", "2" },
        { "cv {d}/good.extxyz --folds 50", "50 folds need at least 50 structures of one composition", "1" },
        { "cv {d}/good.extxyz --objective x", "option --objective expects likelihood or loso, got 'x'", "2" },
        { "cv {d}/missing.extxyz", "{d}/missing.extxyz|does not exist", "1" },
        { "cv {d}/nan-energy.extxyz", "{d}/nan-energy.extxyz, frame 1, line 2|energy|finite", "1" },

        // predict
        { "predict {d}/model.gpff {d}/good.extxyz -o {d}/p.extxyz --sigma noisy", "option --sigma expects label or latent, got 'noisy'", "2" },
        { "predict {d}/model.gpff {d}/good.extxyz -o {d}/model.gpff", "-o '{d}/model.gpff' is also an input", "2" },
        { "predict {d}/model.gpff {d}/good.extxyz -o {d}/good.extxyz", "-o '{d}/good.extxyz' is also an input", "2" },
        { "predict {d}/model.gpff {d}/overlap.extxyz -o {d}/p.extxyz", "{d}/overlap.extxyz, frame 1|closer than the minimum distance", "1" },
        { "predict {d}/model.gpff {d}/tiny.extxyz -o {d}/p.extxyz", "{d}/tiny.extxyz, frame 1|its own periodic image", "1" },
        { "predict {d}/model.gpff {d}/tiny-0.11.extxyz -o {d}/p.extxyz", "{d}/tiny-0.11.extxyz, frame 1|denser than any material", "1" },
        { "predict {d}/model.gpff {d}/unseen.extxyz -o {d}/p.extxyz", "{d}/unseen.extxyz, frame 1|atom 1 is Si|the model", "1" },
        { "predict {d}/model.gpff {d}/nan-pos.extxyz -o {d}/p.extxyz", "{d}/nan-pos.extxyz, frame 1, line 4|'Infinity' is not a finite number", "1" },
        { "predict {d}/model.gpff {d}/good-then-overlap.extxyz -o {d}/previous.out", "{d}/good-then-overlap.extxyz, frame 2|closer than", "1" },
        { "predict {d}/good.extxyz {d}/good.extxyz -o {d}/p.extxyz", "{d}/good.extxyz", "1" },
        { "predict {d}/model.gpff {d}/good.extxyz -o {d}/nofolder/p.extxyz", "{d}/nofolder|does not exist", "1" },
        { "predict {d}/model.gpff {d}/good.extxyz -o {d}/sub", "-o '{d}/sub' is a folder", "2" },

        // convert
        { "convert {d}/A.out -o {d}/A.out", "-o '{d}/A.out' is also an input", "2" },
        { "convert {d} -o {d}/A.out", "-o '{d}/A.out' is also an input", "2" },
        { "convert {d}/nan-force.out -o {d}/c.extxyz", "{d}/nan-force.out|line {pwline}|'NaN' is not a finite number", "1" },
        { "convert {d}/nan-force.out -o {d}/previous.out", "{d}/nan-force.out|not a finite number", "1" },
        { "convert {d}/A.out -o {d}/not-extxyz.txt --append", "Cannot append to '{d}/not-extxyz.txt'|not an extended XYZ file", "1" },
        { "convert {d}/missing.out -o {d}/c.extxyz", "{d}/missing.out|does not exist", "1" },
        { "convert {d}/A.out -o {d}/nofolder/c.extxyz", "{d}/nofolder|does not exist", "1" },

        // hull
        { "hull {d}/entries.csv -o {d}/entries.csv", "-o '{d}/entries.csv' is also an input", "2" },
        { "hull {d}/entries.csv -o {d}/h.png --plot {d}/h.png", "-o '{d}/h.png' is also an input", "2" },
        { "hull {d}/entries.csv --samples 2147483647 -o {d}/h.json", "stability analysis (2147483647 samples × 44 entries × 8 bytes)|reduce the number of samples", "1" },
        { "hull {d}/entries.csv --samples 1e10", "--samples|between 1 and 2147483647", "2" },
        { "hull {d}/entries.csv --samples 2.5", "--samples|whole number|'2.5'", "2" },
        { "hull {d}/entries.csv --samples 0", "--samples|'0'", "2" },
        { "hull {d}/entries.csv --seed 1.5", "--seed|whole number", "2" },
        { "hull {d}/entries.csv --terminals BaO,", "--terminals|empty composition", "2" },
        { "hull {d}/entries.csv --terminals ,BaO,O", "--terminals|empty composition", "2" },
        { "hull {d}/entries.csv --pressure nan", "--pressure|finite number", "2" },
        { "hull {d}/entries.csv --samples 5 --samples 6", "'--samples' expects a single argument but 2 were provided", "2" },
        { "hull {d}/dup.csv", "{d}/dup.csv, line 3|'BaO' is already used on line 2", "1" },
        { "hull {d}/nan.csv", "{d}/nan.csv, line 2|energy_ev 'NaN' is not a finite number", "1" },
        { "hull {d}/entries.csv -o {d}/nofolder/h.json", "{d}/nofolder|does not exist", "1" },
        { "hull {d}/entries.csv --covariance {d}/cov.txt -o {d}/cov.txt", "-o '{d}/cov.txt' is also an input", "2" },
        { "hull {d}/entries.csv --band NaN,0.9", "uncertain band must satisfy", "1" },
        { "hull {d}/entries.csv --tolerance -1", "tolerance must be ≥ 0 and finite", "1" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void BadInputGivesOneClearLineAndChangesNoFile(string argLine, string mustContain, string exitCode)
    {
        string d = CopyInputs();
        if (argLine.Contains("link.extxyz", StringComparison.Ordinal))
        {
            File.CreateSymbolicLink(Path.Combine(d, "link.extxyz"), Path.Combine(d, "good.extxyz"));
        }

        var before = Snapshot(d);
        string[] args = argLine.Split(' ').Select(a => a.Replace("{d}", d, StringComparison.Ordinal)).ToArray();
        var (code, stdout, stderr) = Cli.Run(args);

        Assert.True(code == int.Parse(exitCode, CultureInfo.InvariantCulture), $"exit {code}; stdout: {stdout}; stderr: {stderr}");
        Assert.True(stdout.Length == 0, $"a refused run printed results:\n{stdout}");
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"expected one line on stderr, got {lines.Length}:\n{stderr}");
        Assert.StartsWith($"gpff {args[0]}: ", lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("Parameter '", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Actual value was", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(".tmp", stderr, StringComparison.Ordinal);
        foreach (var fragment in mustContain.Split('|'))
        {
            string expected = fragment.Replace("{d}", d, StringComparison.Ordinal).Replace("{pwline}", fixture.PwForceLine.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
            Assert.True(lines[0].Contains(expected, StringComparison.Ordinal), $"the error line lacks '{expected}':\n{lines[0]}");
        }

        var after = Snapshot(d);
        Assert.Equal(before.Keys.Order(StringComparer.Ordinal), after.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, bytes) in before)
        {
            Assert.True(bytes.AsSpan().SequenceEqual(after[name]), $"{name} changed");
        }
    }

    /// <summary>What a case ended as, worst first.</summary>
    public enum Outcome
    {
        /// <summary>An input or a previous output was changed or deleted.</summary>
        DataLost,

        /// <summary>An unhandled exception, an out-of-memory kill, a hang, or an exit code other than 0, 1, 2.</summary>
        Crash,

        /// <summary>Exit 0: the bad input was accepted.</summary>
        SilentWrongResult,

        /// <summary>Refused, but not with one line naming what it must, or with a file added.</summary>
        UnclearError,

        /// <summary>Refused with one line that names what it must; no file changed or added.</summary>
        ClearError,
    }

    /// <summary>
    /// Runs every case and counts the outcomes; they must all be clear errors. With the environment
    /// variable GPFF_BAD_INPUT_DLL naming another build of Gpff.Cli.dll, the cases run against that
    /// build instead, out of process (3 GiB heap limit, 60 s each), and the counts are only reported:
    /// this is how the numbers before the fix were measured.
    /// </summary>
    [Fact]
    public void TallyOfOutcomesOverAllCases()
    {
        string? other = Environment.GetEnvironmentVariable("GPFF_BAD_INPUT_DLL");
        var counts = Enum.GetValues<Outcome>().ToDictionary(o => o, _ => 0);
        var details = new List<string>();
        foreach (var row in Cases)
        {
            string argLine = (string)row[0], mustContain = (string)row[1];
            var outcome = Classify(argLine, mustContain, other, out string detail);
            counts[outcome]++;
            if (outcome != Outcome.ClearError)
            {
                details.Add($"{outcome}: gpff {argLine} → {detail}");
            }
        }

        string summary = $"{Cases.Count} cases: " + string.Join(", ", counts.Select(kv => $"{kv.Key} {kv.Value}"));
        File.WriteAllText(Path.Combine(Path.GetTempPath(), other is null ? "gpff-bad-input-tally.txt" : "gpff-bad-input-tally-other.txt"),
            summary + "\n" + string.Join("\n", details) + "\n");
        if (other is null)
        {
            Assert.True(counts[Outcome.ClearError] == Cases.Count, summary + "\n" + string.Join("\n", details));
        }
    }

    private Outcome Classify(string argLine, string mustContain, string? otherDll, out string detail)
    {
        string d = CopyInputs();
        if (argLine.Contains("link.extxyz", StringComparison.Ordinal))
        {
            File.CreateSymbolicLink(Path.Combine(d, "link.extxyz"), Path.Combine(d, "good.extxyz"));
        }

        var before = Snapshot(d);
        string[] args = argLine.Split(' ').Select(a => a.Replace("{d}", d, StringComparison.Ordinal)).ToArray();
        int code;
        string stdout, stderr;
        if (otherDll is null)
        {
            try
            {
                (code, stdout, stderr) = Cli.Run(args);
            }
            catch (Exception ex)
            {
                detail = ex.GetType().Name + ": " + ex.Message.Split('\n')[0];
                var afterCrash = Snapshot(d);
                return before.All(kv => afterCrash.TryGetValue(kv.Key, out var b) && b.AsSpan().SequenceEqual(kv.Value)) ? Outcome.Crash : Outcome.DataLost;
            }
        }
        else
        {
            (code, stdout, stderr) = RunOutOfProcess(otherDll, args);
        }

        var after = Snapshot(d);
        string firstLine = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? "";
        detail = $"exit {code}: {(firstLine.Length > 160 ? firstLine[..160] + "…" : firstLine)}";
        if (before.Any(kv => !after.TryGetValue(kv.Key, out var b) || !b.AsSpan().SequenceEqual(kv.Value)))
        {
            return Outcome.DataLost;
        }

        if (code is not (0 or 1 or 2) || stderr.Contains("Unhandled exception", StringComparison.Ordinal) || stderr.Contains("OutOfMemory", StringComparison.Ordinal))
        {
            return Outcome.Crash;
        }

        if (code == 0)
        {
            return Outcome.SilentWrongResult;
        }

        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        bool clear = lines.Length == 1 && stdout.Length == 0 && after.Count == before.Count
            && !stderr.Contains("Parameter '", StringComparison.Ordinal) && !stderr.Contains("Actual value was", StringComparison.Ordinal)
            && mustContain.Split('|').All(f => lines[0].Contains(f.Replace("{d}", d, StringComparison.Ordinal).Replace("{pwline}", fixture.PwForceLine.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal), StringComparison.Ordinal));
        return clear ? Outcome.ClearError : Outcome.UnclearError;
    }

    private static (int Code, string Out, string Err) RunOutOfProcess(string dll, string[] args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["DOTNET_GCHeapHardLimit"] = "0xC0000000"; // 3 GiB: an unbounded allocation fails here, not on the machine
        using var p = System.Diagnostics.Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(60_000))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            return (-1, o.Result, "killed after 60 s (hang or unbounded growth)\n" + e.Result);
        }

        return (p.ExitCode, o.Result, e.Result);
    }

    [Fact]
    public void ErrorLinesDropTheParameterNameAndActualValueThatDotnetAppends()
    {
        var range = new ArgumentOutOfRangeException("cutoffA", 1e6, "The cutoff is too large\nfor this cell.");
        Assert.Contains("(Parameter 'cutoffA')", range.Message, StringComparison.Ordinal);
        Assert.Equal("The cutoff is too large for this cell.", CommandLine.OneLine(range));
        Assert.Equal("Bad value.", CommandLine.OneLine(new ArgumentException("Bad value.", "options")));
        Assert.Equal("plain", CommandLine.OneLine(new IOException("plain")));
    }

    [Fact]
    public void AFileWithoutLineBreaksStopsEveryCommandWithAClearError()
    {
        // /dev/zero on Linux and macOS; elsewhere a 17 MB file of zero bytes does the same.
        string d = CopyInputs();
        string zero = File.Exists("/dev/zero") ? "/dev/zero" : Path.Combine(d, "zeros.extxyz");
        if (zero != "/dev/zero")
        {
            File.WriteAllBytes(zero, new byte[17 << 20]);
        }

        var (code, _, stderr) = Cli.Run("info", zero);
        Assert.Equal(1, code);
        Assert.Equal($"gpff info: {zero}, line 1: longer than {BoundedLineReader.DefaultMaxLineLength} characters without a line break; this is not a text file of the expected format.", stderr.TrimEnd('\n', '\r'));

        // The same for every other reader of a command: training data, structures to predict, pw.x output, hull CSV.
        string tail = $"{zero}, line 1: longer than";
        foreach (var args in new[]
        {
            new[] { "train", zero, "-o", Path.Combine(d, "m.gpff") },
            new[] { "predict", Path.Combine(d, "model.gpff"), zero, "-o", Path.Combine(d, "p.extxyz") },
            new[] { "convert", zero, "-o", Path.Combine(d, "c.extxyz") },
            new[] { "hull", zero },
        })
        {
            var (c, o, e) = Cli.Run(args);
            Assert.True(c == 1, $"gpff {args[0]}: exit {c}: {e}");
            Assert.Empty(o);
            Assert.StartsWith($"gpff {args[0]}: ", e, StringComparison.Ordinal);
            Assert.Contains(tail, e, StringComparison.Ordinal);
            Assert.Single(e.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }

        Assert.False(File.Exists(Path.Combine(d, "m.gpff")) || File.Exists(Path.Combine(d, "p.extxyz")) || File.Exists(Path.Combine(d, "c.extxyz")));
    }

    [Fact]
    public void ConvertToAGzNameWritesGzip()
    {
        string d = CopyInputs();
        string output = Path.Combine(d, "c.extxyz.gz");
        var (code, _, stderr) = Cli.Run("convert", Path.Combine(d, "A.out"), "-o", output);
        Assert.True(code == 0, stderr);
        var bytes = File.ReadAllBytes(output);
        Assert.Equal([0x1f, 0x8b], bytes[..2]); // the gzip magic number
        Assert.Equal(Gpff.QuantumEspresso.PwOutput.ReadAll(Path.Combine(d, "A.out")).Count(), ExtXyz.Read(output).Count());
        Assert.Empty(Directory.GetFiles(d, ".*.tmp"));
    }

    [Fact]
    public void AStaleTemporaryOfADeadProcessIsRemovedOnTheNextWriteAndNothingElse()
    {
        string d = CopyInputs();
        string output = Path.Combine(d, "c.extxyz");
        string dead = Path.Combine(d, $".c.extxyz.{DeadPid()}.{Guid.NewGuid():N}.tmp");
        string alive = Path.Combine(d, $".c.extxyz.1.{Guid.NewGuid():N}.tmp"); // PID 1 is always running
        string other = Path.Combine(d, ".c.extxyz.notes.tmp");
        string otherOutput = Path.Combine(d, $".d.extxyz.{DeadPid()}.{Guid.NewGuid():N}.tmp");
        foreach (var f in new[] { dead, alive, other, otherOutput })
        {
            File.WriteAllText(f, "left behind");
        }

        var (code, _, stderr) = Cli.Run("convert", Path.Combine(d, "A.out"), "-o", output);
        Assert.True(code == 0, stderr);
        Assert.False(File.Exists(dead));
        Assert.True(File.Exists(alive) || OperatingSystem.IsWindows());
        Assert.True(File.Exists(other));
        Assert.True(File.Exists(otherOutput));
    }

    [Fact]
    public async Task APredictKilledMidWriteKeepsThePreviousOutputAndTheNextRunRemovesItsTemporary()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // needs a named pipe (mkfifo) to hold the process in the middle of its write
        }

        string d = CopyInputs();
        string output = Path.Combine(d, "previous.out");
        byte[] previous = File.ReadAllBytes(output);
        string fifo = Path.Combine(d, "frames.extxyz");
        using (var mk = System.Diagnostics.Process.Start("mkfifo", fifo)!)
        {
            mk.WaitForExit();
            Assert.Equal(0, mk.ExitCode);
        }

        // gpff predict, out of process, reads its frames from the pipe: it opens the temporary output,
        // predicts the first frame and waits for the next one, which never comes; then it is killed.
        var tfm = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string dll = Path.Combine(tfm.Parent!.Parent!.Parent!.Parent!.Parent!.FullName, "tools", "Gpff.Cli", "bin", tfm.Parent.Name, tfm.Name, "Gpff.Cli.dll");
        Assert.True(File.Exists(dll), dll);
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { dll, "predict", Path.Combine(d, "model.gpff"), fifo, "-o", output })
        {
            psi.ArgumentList.Add(a);
        }

        using var gpff = System.Diagnostics.Process.Start(psi)!;
        var err = gpff.StandardError.ReadToEndAsync();
        using (var pipe = new FileStream(fifo, FileMode.Open, FileAccess.Write))
        {
            pipe.Write(File.ReadAllBytes(Path.Combine(d, "good.extxyz")).AsSpan(0, FirstFrameLength(Path.Combine(d, "good.extxyz"))));
            pipe.Flush();
            string pattern = $".previous.out.{gpff.Id}.";
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!Directory.GetFiles(d).Any(f => Path.GetFileName(f).StartsWith(pattern, StringComparison.Ordinal)) && DateTime.UtcNow < deadline && !gpff.HasExited)
            {
                Thread.Sleep(50);
            }

            if (gpff.HasExited)
            {
                Assert.Fail("gpff predict exited before it could be killed mid-write: " + await err);
            }

            gpff.Kill(entireProcessTree: true); // SIGKILL: no finally block runs
            gpff.WaitForExit();
        }

        var left = Directory.GetFiles(d).Where(f => SafeFile.IsTemporaryOf(Path.GetFileName(f), "previous.out")).ToList();
        Assert.Single(left);
        Assert.Equal(previous, File.ReadAllBytes(output));

        // The next write to the same output removes what the killed process left, and nothing else.
        File.Delete(fifo);
        var (code, _, stderr) = Cli.Run("predict", Path.Combine(d, "model.gpff"), Path.Combine(d, "good.extxyz"), "-o", output, "--no-uncertainty");
        Assert.True(code == 0, stderr);
        Assert.DoesNotContain(Directory.GetFiles(d), f => Path.GetFileName(f).EndsWith(".tmp", StringComparison.Ordinal));
        Assert.Equal(20, ExtXyz.Read(output).Count());
    }

    private static int FirstFrameLength(string path)
    {
        var text = File.ReadAllText(path);
        int n = int.Parse(text[..text.IndexOf('\n', StringComparison.Ordinal)], CultureInfo.InvariantCulture);
        int at = 0;
        for (int line = 0; line < n + 2; line++)
        {
            at = text.IndexOf('\n', at) + 1;
        }

        return Encoding.UTF8.GetByteCount(text[..at]);
    }

    private static int DeadPid()
    {
        using var p = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("dotnet", "--version") { RedirectStandardOutput = true, UseShellExecute = false })!;
        p.WaitForExit();
        return p.Id;
    }

    private string CopyInputs()
    {
        string d = Directory.CreateTempSubdirectory("gpff-badcase-").FullName;
        _cleanup.Add(d);
        foreach (var f in Directory.GetFiles(fixture.Folder))
        {
            File.Copy(f, Path.Combine(d, Path.GetFileName(f)));
        }

        Directory.CreateDirectory(Path.Combine(d, "sub"));
        return d;
    }

    private static Dictionary<string, byte[]> Snapshot(string folder) =>
        Directory.GetFiles(folder, "*", SearchOption.AllDirectories)
            .Where(f => new FileInfo(f).LinkTarget is null)
            .ToDictionary(f => Path.GetRelativePath(folder, f), File.ReadAllBytes, StringComparer.Ordinal);
}
