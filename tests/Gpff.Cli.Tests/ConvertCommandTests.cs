using Gpff.IO;
using Xunit;

namespace Gpff.Cli.Tests;

public sealed class ConvertCommandTests : IDisposable
{
    private readonly string _tmp = Path.Combine(Path.GetTempPath(), "gpff-convert-" + Guid.NewGuid().ToString("N")[..8]);

    public ConvertCommandTests() => Directory.CreateDirectory(_tmp);

    public void Dispose() => Directory.Delete(_tmp, recursive: true);


    private static string Qe(params string[] parts) => Path.Combine([Cli.Root, "tests", "data", "qe", .. parts]);


    [Fact]
    public void DatasetFolderConvertsToTheAseReference()
    {
        string output = Path.Combine(_tmp, "train.extxyz");
        var (code, stdout, stderr) = Cli.Run("convert", Qe("dataset"), "-o", output);
        Assert.Equal(string.Empty, stderr);
        Assert.Equal(0, code);
        Assert.Contains("wrote 36 frames (172 atoms) from 36 outputs", stdout);

        var mine = ExtXyz.Read(output).ToDictionary(s => Path.GetFileName((string)s.Info["source"]));
        var reference = ExtXyz.Read(Path.Combine(Cli.Root, "data", "barho-train.extxyz")).ToList();
        Assert.Equal(36, reference.Count);
        foreach (var r in reference)
        {
            var s = mine[Path.GetFileName((string)r.Info["source"])];
            Assert.Equal(r.Symbols(), s.Symbols());
            Assert.True(Math.Abs(r.EnergyEv!.Value - s.EnergyEv!.Value) <= 1e-6 * Math.Abs(r.EnergyEv.Value));
            double fscale = Math.Max(r.ForcesEvPerA!.Max(f => f.Length), 1e-9);
            for (int i = 0; i < r.AtomCount; i++)
            {
                Assert.True((r.ForcesEvPerA![i] - s.ForcesEvPerA![i]).Length <= 1e-6 * fscale);
                Assert.True((r.Positions[i] - s.Positions[i]).Length <= 1e-6 * 10);
            }

            var ds = r.StressEvPerA3!.Value - s.StressEvPerA3!.Value;
            Assert.True(ds.ToArray().Max(Math.Abs) <= 1e-6 * r.StressEvPerA3!.Value.ToArray().Max(Math.Abs));
            Assert.Equal("scf", s.Info["qe_calculation"]);
        }
    }

    [Fact]
    public void AllStepsOrLastStep()
    {
        string all = Path.Combine(_tmp, "all.extxyz");
        string last = Path.Combine(_tmp, "last.extxyz");
        Assert.Equal(0, Cli.Run("convert", Qe("special", "RhO2_relax.out"), Qe("special", "BaO_vcrelax_10GPa.out"), "-o", all).Code);
        Assert.Equal(0, Cli.Run("convert", Qe("special", "RhO2_relax.out"), Qe("special", "BaO_vcrelax_10GPa.out"), "--last", "-o", last).Code);
        var a = ExtXyz.Read(all).ToList();
        var l = ExtXyz.Read(last).ToList();
        Assert.Equal(4 + 9, a.Count);
        Assert.Equal(2, l.Count);
        Assert.Equal(3L, l[0].Info["qe_ionic_step"]);
        Assert.Equal(true, l[1].Info["qe_final_scf"]);
        Assert.Equal(a[3].EnergyEv, l[0].EnergyEv);
        Assert.Equal(a[^1].EnergyEv, l[1].EnergyEv);
        Assert.Equal("vc-relax", a[^1].Info["qe_calculation"]);

        // --append adds to the file.
        Assert.Equal(0, Cli.Run("convert", Qe("special", "RhO2_relax.out"), "--last", "--append", "-o", last).Code);
        Assert.Equal(3, ExtXyz.Read(last).Count());
    }

    [Fact]
    public void BadOutputStopsTheConversionUnlessTolerant()
    {
        string output = Path.Combine(_tmp, "mixed.extxyz");
        string noconv = Qe("special", "BaO_noconv.out");
        var (code, stdout, stderr) = Cli.Run("convert", Qe("special", "RhO2_relax.out"), noconv, "-o", output);
        Assert.Equal(1, code);
        Assert.Equal(string.Empty, stdout);
        Assert.Contains($"gpff convert: {noconv}, ionic step 0, line 234: SCF not converged", stderr);
        Assert.False(File.Exists(output)); // nothing half-written
        Assert.Empty(Directory.GetFiles(_tmp));

        (code, stdout, stderr) = Cli.Run("convert", Qe("special", "RhO2_relax.out"), noconv, Qe("special", "Ba2RhO4_truncated.out"), "--tolerant", "-o", output);
        Assert.Equal(0, code);
        Assert.Contains("wrote 4 frames", stdout);
        Assert.Contains("skipped 2 steps in 2 outputs", stdout);
        Assert.Contains("SCF not converged", stderr);
        Assert.Contains("truncated output", stderr);
        Assert.Equal(4, ExtXyz.Read(output).Count());
    }

    [Fact]
    public void UsageErrorsAreClear()
    {
        Assert.Contains("missing -o", Cli.Run("convert", Qe("special", "RhO2_relax.out")).Err);
        Assert.Contains("'/no/such.out' does not exist", Cli.Run("convert", "/no/such.out", "-o", Path.Combine(_tmp, "x.extxyz")).Err);
        Assert.Contains("no pw.x outputs given", Cli.Run("convert", "-o", Path.Combine(_tmp, "x.extxyz")).Err);
    }
}
