using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Gpff.Geometry;
using Gpff.IO;

namespace Gpff.Core.Tests;

public class ExtXyzTests
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private static string TrainFile => TestData.DataFile("barho-train.extxyz");

    [Fact]
    public void EveryFrameOfTheRealASEFileIsReadWithTheLabelsInTheFile()
    {
        var frames = ExtXyz.Read(TrainFile).ToList();
        Assert.Equal(36, frames.Count);

        // An independent reading of the raw text: count line, comment line, atom lines.
        var lines = File.ReadAllLines(TrainFile);
        int at = 0;
        foreach (var s in frames)
        {
            int n = int.Parse(lines[at], Inv);
            string comment = lines[at + 1];
            Assert.Equal(n, s.AtomCount);
            double energy = double.Parse(Regex.Match(comment, @"(?<![_\w])energy=(\S+)").Groups[1].Value, Inv);
            Assert.Equal(energy, s.EnergyEv);
            var stress = Regex.Match(comment, "stress=\"([^\"]+)\"").Groups[1].Value.Split(' ').Select(x => double.Parse(x, Inv)).ToArray();
            var st = s.StressEvPerA3!.Value;
            Assert.Equal(stress[0], st.XX);
            Assert.Equal(stress[4], st.YY);
            Assert.Equal(stress[8], st.ZZ);
            Assert.Equal(stress[5], st.YZ, 15);
            Assert.Equal(stress[2], st.XZ, 15);
            Assert.Equal(stress[1], st.XY, 15);
            var lattice = Regex.Match(comment, "Lattice=\"([^\"]+)\"").Groups[1].Value.Split(' ').Select(x => double.Parse(x, Inv)).ToArray();
            Assert.Equal(lattice, s.Cell.ToRowMajorArray());
            Assert.Equal(Pbc.All, s.Pbc);
            Assert.Equal(Regex.Match(comment, @"label=(\S+)").Groups[1].Value, s.Info["label"]);
            Assert.Equal(double.Parse(Regex.Match(comment, @"pressure_QE_kbar=(\S+)").Groups[1].Value, Inv), s.Info["pressure_QE_kbar"]);
            Assert.Equal("pw.x 6.7 (Debian 6.7-2)", s.Info["code"]);
            for (int i = 0; i < n; i++)
            {
                var t = lines[at + 2 + i].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                Assert.Equal(t[0], s.Symbol(i));
                Assert.Equal(new Vec3(double.Parse(t[1], Inv), double.Parse(t[2], Inv), double.Parse(t[3], Inv)), s.Positions[i]);
                Assert.Equal(new Vec3(double.Parse(t[4], Inv), double.Parse(t[5], Inv), double.Parse(t[6], Inv)), s.ForcesEvPerA![i]);
            }

            at += n + 2;
        }

        Assert.Equal(lines.Length, at);
        Assert.Equal(["RhO2", "BaO", "BaRhO3", "Ba2RhO4"], frames.Select(f => (string)f.Info["config_type"]).Distinct().Order(StringComparer.Ordinal).Reverse().Take(4).OrderBy(x => x == "RhO2" ? 0 : x == "BaO" ? 1 : x == "BaRhO3" ? 2 : 3).ToArray());
    }

    [Fact]
    public void WriteThenReadIsExactForTheRealFile()
    {
        var frames = ExtXyz.Read(TrainFile).ToList();
        var text = string.Concat(frames.Select(ExtXyz.ToText));
        var back = ExtXyz.Parse(text);
        Assert.Equal(frames.Count, back.Count);
        for (int f = 0; f < frames.Count; f++)
        {
            AssertSame(frames[f], back[f]);
        }
    }

    [Fact]
    public void WriteThenReadIsExactForAwkwardNumbersTypesAndStrings()
    {
        var rng = new Random(11);
        var s = new Structure(["Ba", "Rh", "O", "O"],
            Enumerable.Range(0, 4).Select(_ => new Vec3(rng.NextDouble() * 1e-7, -rng.NextDouble() * 1e5, Math.PI * rng.NextDouble())).ToArray(),
            Mat3.FromRows(new Vec3(4.1, 0, 0), new Vec3(0.1, 3.9, 0), new Vec3(1.0 / 3, 0.2, 5)), new Pbc(true, true, false))
        {
            EnergyEv = -20123.456789012345,
            ForcesEvPerA = Enumerable.Range(0, 4).Select(_ => new Vec3(rng.NextDouble() - 0.5, 1e-300, -0.0)).ToArray(),
            StressEvPerA3 = new Voigt(0.1, 0.2, 0.3, 1.0 / 7, -1e-9, 2.5e-17),
        };
        s.Info["note"] = "a \"quoted\" string with spaces and = signs";
        s.Info["count"] = 42L;
        s.Info["weight"] = 5.0;
        s.Info["flag"] = false;
        s.Info["bare"] = true;
        s.Info["vector"] = new[] { 1.0, 2.0, 3.5 };
        s.Info["ints"] = new long[] { 1, -2, 3 };
        s.Info["bools"] = new[] { true, false };
        s.AtomProperties["masses"] = AtomProperty.FromReals("masses", 1, [137.327, 102.9055, 15.999, 16.0]);
        s.AtomProperties["tags"] = AtomProperty.FromIntegers("tags", 1, [0, 1, 2, -3]);
        s.AtomProperties["fixed"] = AtomProperty.FromLogicals("fixed", 3, [true, false, true, false, false, false, true, true, true, false, true, false]);
        s.AtomProperties["site"] = AtomProperty.FromStrings("site", 1, ["A", "B", "X1", "X2"]);

        var path = Path.Combine(Path.GetTempPath(), $"gpff-rt-{Guid.NewGuid():N}.extxyz");
        try
        {
            ExtXyz.Write(path, [s, s]);
            var back = ExtXyz.Read(path).ToList();
            Assert.Equal(2, back.Count);
            AssertSame(s, back[1]);
            Assert.Equal(new Pbc(true, true, false), back[0].Pbc);

            // Appending adds frames; .gz files round-trip too.
            ExtXyz.Write(path, [s], append: true);
            Assert.Equal(3, ExtXyz.Read(path).Count());
            var gz = path + ".gz";
            ExtXyz.Write(gz, [s]);
            AssertSame(s, ExtXyz.Read(gz).Single());
            File.Delete(gz);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ReadsSixComponentStressVirialBareKeysAndNoLattice()
    {
        const string text = """
            2
            Properties=species:S:1:pos:R:3 energy=-1.5 stress="1 2 3 4 5 6" isolated
            H 0 0 0
            H 0 0 0.74
            1
            Lattice="2 0 0 0 2 0 0 0 2" Properties=species:S:1:pos:R:3 virial="8 0 0 0 8 0 0 0 8"
            Cu 0 0 0
            """;
        var f = ExtXyz.Parse(text);
        Assert.Equal(Pbc.None, f[0].Pbc);
        Assert.Equal(Mat3.Zero, f[0].Cell);
        Assert.Equal(new Voigt(1, 2, 3, 4, 5, 6), f[0].StressEvPerA3);
        Assert.Equal(true, f[0].Info["isolated"]);
        Assert.Equal(Pbc.All, f[1].Pbc);
        Assert.Equal(new Voigt(-1, -1, -1, 0, 0, 0), f[1].StressEvPerA3); // −virial / V with V = 8 Å³
    }

    [Fact]
    public void ReadingIsStreamedFrameByFrame()
    {
        // A reader that fails if asked for more than the first frame's lines before the first frame is used.
        var text = string.Concat(Enumerable.Repeat("1\nLattice=\"3 0 0 0 3 0 0 0 3\" Properties=species:S:1:pos:R:3\nO 0 0 0\n", 1000));
        var counting = new CountingReader(new StringReader(text));
        using var e = ExtXyz.Read(counting, "stream").GetEnumerator();
        Assert.True(e.MoveNext());
        Assert.True(counting.LinesRead <= 4, $"read {counting.LinesRead} lines for one frame");
    }

    private sealed class CountingReader(TextReader inner) : TextReader
    {
        public int LinesRead { get; private set; }

        public override string? ReadLine()
        {
            LinesRead++;
            return inner.ReadLine();
        }
    }

    public static TheoryData<string, string, int, int> Malformed => new()
    {
        { "x\nProperties=species:S:1:pos:R:3\nO 0 0 0\n", "expected the number of atoms", 1, 1 },
        { "2\nProperties=species:S:1:pos:R:3\nO 0 0 0\n", "ends after 1 of 2 atom lines", 1, 3 },
        { "1\nProperties=species:S:1:pos:R:3\nO 0 0\n", "atom 1 has 3 columns; Properties declares 4", 1, 3 },
        { "1\nProperties=species:S:1:pos:R:3\nO 0 zero 0\n", "'zero' is not a number", 1, 3 },
        { "1\nProperties=species:S:1:pos:R:3\nXx 0 0 0\n", "unknown chemical symbol 'Xx'", 1, 3 },
        { "1\nProperties=species:S:1:pos:Q:3\nO 0 0 0\n", "type 'Q'", 1, 2 },
        { "1\nLattice=\"1 0 0 0 1 0\" Properties=species:S:1:pos:R:3\nO 0 0 0\n", "Lattice needs 9 numbers", 1, 2 },
        { "1\nProperties=species:S:1:pos:R:3 note=\"unterminated\nO 0 0 0\n", "unterminated quoted string", 1, 2 },
        { "1\nProperties=species:S:1:pos:R:3\nO 0 0 0\n1\nProperties=species:S:1:pos:R:3 stress=\"1 2\"\nO 0 0 0\n", "stress needs 9 or 6 numbers", 2, 5 },
        { "1\nProperties=species:S:1:pos:R:3 pbc=\"T T\"\nO 0 0 0\n", "pbc needs 3 logical values", 1, 2 },
        { "1\n", "comment line is missing", 1, 1 },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void MalformedFilesNameTheFileFrameAndLine(string text, string what, int frame, int line)
    {
        var path = Path.Combine(Path.GetTempPath(), $"gpff-bad-{Guid.NewGuid():N}.extxyz");
        File.WriteAllText(path, text);
        try
        {
            var e = Assert.Throws<ExtXyzFormatException>(() => ExtXyz.Read(path).ToList());
            Assert.Contains(what, e.Message);
            Assert.StartsWith($"{path}, frame {frame}, line {line}:", e.Message);
            Assert.Equal(frame - 1, e.Frame);
            Assert.Equal(line, e.LineNumber);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void FramesBeforeAMalformedOneAreDelivered()
    {
        var text = "1\nProperties=species:S:1:pos:R:3\nO 0 0 0\n1\nProperties=species:S:1:pos:R:3\nO 0 0\n";
        var got = new List<Structure>();
        Assert.Throws<ExtXyzFormatException>(() =>
        {
            foreach (var s in ExtXyz.Read(new StringReader(text), "t"))
            {
                got.Add(s);
            }
        });
        Assert.Single(got);
    }

    [Fact]
    public void MissingFileIsAClearError()
    {
        var e = Assert.Throws<FileNotFoundException>(() => ExtXyz.Read("/nonexistent/dir/x.extxyz"));
        Assert.Contains("/nonexistent/dir/x.extxyz", e.Message);
    }

    [Fact]
    public void AFailedWriteLeavesTheExistingFileUntouched()
    {
        var path = Path.Combine(Path.GetTempPath(), $"gpff-keep-{Guid.NewGuid():N}.extxyz");
        File.WriteAllText(path, "original");
        try
        {
            var bad = new Structure(["O"], [Vec3.Zero], Mat3.Diagonal(3, 3, 3), Pbc.All);
            bad.Info["weird"] = new object();
            var e = Assert.Throws<InvalidOperationException>(() => ExtXyz.Write(path, [bad]));
            Assert.Contains("'weird'", e.Message);
            Assert.Equal("original", File.ReadAllText(path));
            Assert.Empty(Directory.GetFiles(Path.GetTempPath(), $".{Path.GetFileName(path)}*"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ASEReadsWhatWeWriteAndWeReadWhatASEWrites()
    {
        // Real ASE (Debian's python3-ase, installed by .ci/run) on both sides of the format.
        var frames = ExtXyz.Read(TrainFile).Take(5).ToList();
        frames[1].AtomProperties["tags"] = AtomProperty.FromIntegers("tags", 1, Enumerable.Range(0, frames[1].AtomCount).Select(i => (long)i).ToArray());
        var dir = Directory.CreateTempSubdirectory("gpff-ase-");
        try
        {
            var ours = Path.Combine(dir.FullName, "ours.extxyz");
            var theirs = Path.Combine(dir.FullName, "theirs.extxyz");
            ExtXyz.Write(ours, frames);
            string script = $$"""
                import json
                from ase.io import read, write
                fr = read({{Py(ours)}}, index=':')
                out = []
                for a in fr:
                    out.append(dict(e=a.get_potential_energy(), f=a.get_forces().tolist(), s=a.get_stress(voigt=True).tolist(),
                                    cell=a.cell.array.tolist(), pos=a.positions.tolist(), sym=a.get_chemical_symbols(),
                                    pbc=[bool(x) for x in a.pbc], label=a.info.get('label'), tags=a.get_tags().tolist()))
                write({{Py(theirs)}}, fr)
                print(json.dumps(out))
                """;
            var json = RunPython(script);
            var parsed = System.Text.Json.JsonDocument.Parse(json).RootElement;
            Assert.Equal(frames.Count, parsed.GetArrayLength());
            for (int f = 0; f < frames.Count; f++)
            {
                var a = parsed[f];
                var s = frames[f];
                Assert.Equal(s.EnergyEv!.Value, a.GetProperty("e").GetDouble());
                var sv = a.GetProperty("s").EnumerateArray().Select(x => x.GetDouble()).ToArray();
                Assert.Equal(s.StressEvPerA3!.Value.ToArray(), sv);
                Assert.Equal((string)s.Info["label"], a.GetProperty("label").GetString());
                for (int i = 0; i < s.AtomCount; i++)
                {
                    var fi = a.GetProperty("f")[i].EnumerateArray().Select(x => x.GetDouble()).ToArray();
                    Assert.Equal(new Vec3(fi[0], fi[1], fi[2]), s.ForcesEvPerA![i]);
                    var pi = a.GetProperty("pos")[i].EnumerateArray().Select(x => x.GetDouble()).ToArray();
                    Assert.Equal(new Vec3(pi[0], pi[1], pi[2]), s.Positions[i]);
                    Assert.Equal(s.Symbol(i), a.GetProperty("sym")[i].GetString());
                }

                if (f == 1)
                {
                    Assert.Equal(Enumerable.Range(0, s.AtomCount), a.GetProperty("tags").EnumerateArray().Select(x => x.GetInt32()));
                }
            }

            var back = ExtXyz.Read(theirs).ToList();
            Assert.Equal(frames.Count, back.Count);
            for (int f = 0; f < frames.Count; f++)
            {
                Assert.Equal(frames[f].EnergyEv, back[f].EnergyEv);
                Assert.Equal(frames[f].StressEvPerA3!.Value.ToArray(), back[f].StressEvPerA3!.Value.ToArray());
                Assert.Equal(frames[f].ForcesEvPerA, back[f].ForcesEvPerA);
                Assert.Equal(frames[f].Positions, back[f].Positions);
                Assert.Equal(frames[f].Cell, back[f].Cell);
                Assert.Equal(frames[f].Info["label"], back[f].Info["label"]);
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static string Py(string path) => "'" + path.Replace("\\", "\\\\").Replace("'", "\\'") + "'";

    internal static string RunPython(string script)
    {
        const string python = "/usr/bin/python3";
        Assert.True(File.Exists(python), "Debian's /usr/bin/python3 with python3-ase is needed (apt-get install python3-ase; .ci/run installs it).");
        var psi = new ProcessStartInfo(python) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-");
        psi.Environment.Remove("PYTHONPATH");
        psi.Environment.Remove("PYTHONHOME");
        using var p = Process.Start(psi)!;
        p.StandardInput.Write(script);
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"python3 with ASE failed (apt-get install python3-ase; .ci/run installs it):\n{stderr}");
        return stdout.Result;
    }

    internal static void AssertSame(Structure expected, Structure actual)
    {
        Assert.Equal(expected.AtomCount, actual.AtomCount);
        Assert.Equal(expected.Symbols(), actual.Symbols());
        Assert.Equal(expected.Positions, actual.Positions);
        Assert.Equal(expected.Cell, actual.Cell);
        Assert.Equal(expected.Pbc, actual.Pbc);
        Assert.Equal(expected.EnergyEv, actual.EnergyEv);
        Assert.Equal(expected.ForcesEvPerA, actual.ForcesEvPerA);
        Assert.Equal(expected.StressEvPerA3, actual.StressEvPerA3);
        Assert.Equal(expected.Info.Keys, actual.Info.Keys);
        foreach (var (k, v) in expected.Info)
        {
            Assert.Equal(v, actual.Info[k]);
            Assert.Equal(v.GetType(), actual.Info[k].GetType());
        }

        Assert.Equal(expected.AtomProperties.Keys, actual.AtomProperties.Keys);
        foreach (var (k, p) in expected.AtomProperties)
        {
            var q = actual.AtomProperties[k];
            Assert.Equal(p.Type, q.Type);
            Assert.Equal(p.Columns, q.Columns);
            Assert.Equal(p.Reals, q.Reals);
            Assert.Equal(p.Integers, q.Integers);
            Assert.Equal(p.Logicals, q.Logicals);
            Assert.Equal(p.Strings, q.Strings);
        }
    }
}
