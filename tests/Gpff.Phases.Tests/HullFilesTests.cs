using System.Text.Json;
using static Gpff.Phases.Tests.HullTestData;

namespace Gpff.Phases.Tests;

public class HullFilesTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "gpff-phases-" + Guid.NewGuid().ToString("N"));

    public HullFilesTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        if (Environment.GetEnvironmentVariable("GPFF_KEEP_PLOTS") is null)
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static string Data(string name) => Path.Combine(AppContext.BaseDirectory, "data", name);

    [Fact]
    public void RealDftFilePseudoBinaryHull()
    {
        // pw.x energies of the unrelaxed reference cells (tests/data/README.md). By hand, at 0 GPa:
        //   μ(BaO) = -1297.6135781636942/2, μ(RhO2) = -7922.82082137719/6 (eV per atom).
        //   BaRhO3 (x = 3/5): [-5259.205983009431 − (-1297.6135781636942 − 7922.82082137719/2)]/5 = -0.0363988314 eV/atom.
        //   Ba2RhO4 (x = 3/7): [-6557.499493246287 − (2·-1297.6135781636942 − 7922.82082137719/2)]/7 = -0.1231323186 eV/atom.
        //   Hull at 3/5 on the Ba2RhO4–RhO2 line: -0.1231323186 · (1 − 3/5)/(1 − 3/7) = 0.7 · -0.1231323186,
        //   so cubic BaRhO3 is 0.0497937916 eV/atom above, decomposing into 0.7 Ba2RhO4 + 0.3 RhO2.
        var entries = PhaseEntryCsv.Read(Data("barho-ref-cells.csv"));
        Assert.Equal(4, entries.Count);
        Assert.Equal(6, entries[1].NumAtoms);
        var pd = new PhaseDiagram(entries, 0, [Composition.Parse("BaO"), Composition.Parse("RhO2")]);
        double eBaO = -1297.6135781636942, eRhO2 = -7922.82082137719, eP = -5259.205983009431, eK = -6557.499493246287;
        double hfP = (eP - (eBaO + eRhO2 / 2)) / 5, hfK = (eK - (2 * eBaO + eRhO2 / 2)) / 7;
        Assert.Equal(-0.0363988314, hfP, 1e-9);
        Assert.Equal(-0.1231323186, hfK, 1e-9);
        Assert.Equal(hfP, pd["BaRhO3-cubic"].FormationEnthalpyPerAtomEv, 1e-9);
        Assert.Equal(hfP - 0.7 * hfK, pd["BaRhO3-cubic"].EnergyAboveHullEvPerAtom, 1e-9);
        Assert.Equal(0.7, Fraction(pd["BaRhO3-cubic"], "Ba2RhO4-I4/mmm"), 1e-9);
        Assert.Equal(["BaO-rocksalt", "RhO2-rutile", "Ba2RhO4-I4/mmm"], pd.StableEntries.Select(e => e.Name));

        // At 10 GPa each entry gains P·V: BaRhO3 formation enthalpy shifts by 10·c·[64 − (42.049152 + 62.294709/2)]/5.
        const double c = Units.GpaA3InEv;
        var pd10 = new PhaseDiagram(entries, 10, [Composition.Parse("BaO"), Composition.Parse("RhO2")]);
        Assert.Equal(hfP + 10 * c * (64.0 - (42.049152 + 62.294709 / 2)) / 5, pd10["BaRhO3-cubic"].FormationEnthalpyPerAtomEv, 1e-9);
    }

    [Fact]
    public void CsvRoundTrip()
    {
        var entries = new[]
        {
            new PhaseEntry("BaO, rocksalt", "BaO", -1297.6135781636942, 42.049152, 0.02),
            new PhaseEntry("Li-half \"x\"", "Li0.5CoO2", -123.456789012345678, null, 1e-3),
            new PhaseEntry("Ba2RhO4", "(BaO)2RhO2", -6557.499493246287, 104.54664),
        };
        string path = Path.Combine(_dir, "entries.csv");
        PhaseEntryCsv.Write(path, entries);
        var back = PhaseEntryCsv.Read(path);
        Assert.Equal(entries.Length, back.Count);
        for (int i = 0; i < entries.Length; i++)
        {
            Assert.Equal(entries[i].Name, back[i].Name);
            Assert.True(entries[i].Composition.Equals(back[i].Composition));
            Assert.Equal(entries[i].EnergyEv, back[i].EnergyEv);
            Assert.Equal(entries[i].VolumeA3, back[i].VolumeA3);
            Assert.Equal(entries[i].EnergyStdEv, back[i].EnergyStdEv);
        }
    }

    [Theory]
    [InlineData("name,formula,energy_ev\nBaO,BaO,abc\n", "line 2, column 3", "energy_ev 'abc' is not a finite number")]
    [InlineData("name,formula,energy_ev\n# comment\nX,XyO2,-1\n", "line 3, column 2", "Unknown element 'Xy' in formula 'XyO2'")]
    [InlineData("name,formula,energy_ev,volume_a3\nBaO,BaO,-1,5,6\n", "line 2, column 5", "5 fields, but the header has 4 columns")]
    [InlineData("name,formula,energy_ev,volume_a3\nBaO,BaO\n", "line 2, column 3", "energy_ev is empty")]
    [InlineData("name,formula\nBaO,BaO\n", "line 1", "lacks the column 'energy_ev'")]
    [InlineData("name,formula,energy,volume_a3\n", "line 1, column 3", "unknown column 'energy'")]
    [InlineData("name,formula,energy_ev,volume_a3\nBaO,BaO,-1,-5\n", "line 2", "volume must be positive")]
    [InlineData("name,formula,energy_ev,energy_std_ev\nBaO,BaO,-1,-0.1\n", "line 2", "standard deviation must be ≥ 0")]
    [InlineData("name,formula,energy_ev\n\"BaO,BaO,-1\n", "line 2", "unterminated")]
    [InlineData("name,formula,energy_ev\n", "", "no entries")]
    [InlineData("name,formula,energy_ev\nBaO,BaO,-1\nO,O,-2\nBaO,BaO,-3\n", "line 4, column 1", "the name 'BaO' is already used on line 2")]
    [InlineData("name,formula,energy_ev\nBaO,BaO,NaN\n", "line 2, column 3", "energy_ev 'NaN' is not a finite number")]
    [InlineData("name,formula,energy_ev,volume_a3\nBaO,BaO,-1,Infinity\n", "line 2, column 4", "volume_a3 'Infinity' is not a finite number")]
    [InlineData("name,formula,energy_ev\nBa\"O,BaO,-1\n", "line 2", "a quote inside an unquoted field")]
    [InlineData("# header follows\n\nname,formula,energy_ev\r\n\"BaO\nrocksalt\",BaO,-1\r\nO,O,x\r\n", "line 6, column 3", "energy_ev 'x' is not a finite number")]
    public void CsvBadInputNamesFileAndLine(string text, string where, string what)
    {
        string path = Path.Combine(_dir, "bad.csv");
        File.WriteAllText(path, text);
        var ex = Assert.Throws<InvalidDataException>(() => PhaseEntryCsv.Read(path));
        Assert.Contains(path, ex.Message);
        Assert.Contains(where, ex.Message);
        Assert.Contains(what, ex.Message);
    }

    [Fact]
    public void CsvQuotedFieldsCommentsBlankLinesAndWindowsLineEndingsAreRead()
    {
        string path = Path.Combine(_dir, "dialect.csv");
        File.WriteAllText(path, "# made by hand\r\nname,formula,energy_std_ev,energy_ev\r\n\r\n\"BaO, rocksalt \"\"B1\"\"\",BaO,,-1.5e3\r\n# a comment between rows\r\n  O2 ,O2, 0.01 ,-9.86\r\n");
        var entries = PhaseEntryCsv.Read(path);
        Assert.Equal(["BaO, rocksalt \"B1\"", "O2"], entries.Select(e => e.Name));
        Assert.Equal([-1500.0, -9.86], entries.Select(e => e.EnergyEv));
        Assert.Equal([null, 0.01], entries.Select(e => e.EnergyStdEv));
    }

    [Fact]
    public void CsvWithoutLineBreaksIsRefusedNotReadIntoMemory()
    {
        string path = Path.Combine(_dir, "binary.csv");
        File.WriteAllBytes(path, new byte[(1 << 20) + 10]);
        var ex = Assert.Throws<InvalidDataException>(() => PhaseEntryCsv.Read(path));
        Assert.Equal($"{path}, line 1: longer than {1 << 20} characters without a line break; this is not a text file of the expected format.", ex.Message);
    }

    [Fact]
    public void JsonIsWrittenAtomicallyAndAFailedWriteKeepsThePreviousFile()
    {
        var pd = new PhaseDiagram([new PhaseEntry("Ba", "Ba", -1), new PhaseEntry("O", "O", -2), new PhaseEntry("BaO", "BaO", -4)]);
        string path = Path.Combine(_dir, "hull.json");
        File.WriteAllText(path, "previous");
        var other = new PhaseDiagram([new PhaseEntry("Ba", "Ba", -1, null, 0.01), new PhaseEntry("O", "O", -2, null, 0.01)]);
        var foreign = HullUncertainty.Analyze(other, new StabilityOptions { Samples = 10 });
        Assert.Throws<ArgumentException>(() => HullJson.Write(path, pd, foreign)); // fails inside the write
        Assert.Equal("previous", File.ReadAllText(path));
        HullJson.Write(path, pd);
        Assert.Equal(3, JsonDocument.Parse(File.ReadAllText(path)).RootElement.GetProperty("entries").GetArrayLength());
        Assert.Equal(["hull.json"], Directory.GetFiles(_dir).Select(Path.GetFileName));
    }

    [Fact]
    public void CsvWriteInterruptedByAFailingEntrySourceKeepsThePreviousFileByteIdenticalAndLeavesNoTemporary()
    {
        string path = Path.Combine(_dir, "entries.csv");
        PhaseEntryCsv.Write(path, [new PhaseEntry("Ba", "Ba", -1), new PhaseEntry("O", "O", -2)]);
        IEnumerable<PhaseEntry> Entries()
        {
            for (int i = 0; i < 1000; i++)
            {
                yield return new PhaseEntry($"BaO-{i}", "BaO", -4 - 0.001 * i);
            }

            throw new InvalidDataException("the energies file ends after 1000 entries");
        }

        var snapshot = FolderSnapshot.Take(_dir);
        var e = Assert.Throws<InvalidDataException>(() => PhaseEntryCsv.Write(path, Entries()));
        Assert.Equal("the energies file ends after 1000 entries", e.Message);
        snapshot.AssertUnchanged();
    }

    [Fact]
    public void JsonWriteThatFailsInsideTheWriteKeepsThePreviousFileByteIdenticalAndLeavesNoTemporary()
    {
        var pd = new PhaseDiagram([new PhaseEntry("Ba", "Ba", -1), new PhaseEntry("O", "O", -2), new PhaseEntry("BaO", "BaO", -4)]);
        string path = Path.Combine(_dir, "hull.json");
        HullJson.Write(path, pd);
        var other = new PhaseDiagram([new PhaseEntry("Ba", "Ba", -1, null, 0.01), new PhaseEntry("O", "O", -2, null, 0.01)]);
        var foreign = HullUncertainty.Analyze(other, new StabilityOptions { Samples = 10 });
        var snapshot = FolderSnapshot.Take(_dir);
        var e = Assert.Throws<ArgumentException>(() => HullJson.Write(path, pd, foreign));
        Assert.Equal("The stability report belongs to another phase diagram. (Parameter 'stability')", e.Message);
        snapshot.AssertUnchanged();
    }

    [Fact]
    public void CovarianceReadsAndRejectsBadShape()
    {
        string path = Path.Combine(_dir, "cov.txt");
        File.WriteAllText(path, "# covariance eV^2\n1e-4, 2e-5\n2e-5 4e-4\n");
        var m = PhaseEntryCsv.ReadCovariance(path, 2);
        Assert.Equal(2e-5, m[1, 0]);
        Assert.Equal(4e-4, m[1, 1]);
        var ex = Assert.Throws<InvalidDataException>(() => PhaseEntryCsv.ReadCovariance(path, 3));
        Assert.Contains("line 2", ex.Message);
        Assert.Contains("expected 3", ex.Message);
    }

    [Fact]
    public void JsonHasTheDocumentedShape()
    {
        var entries = new[] { Element("Ba"), Element("O", 2), Entry("BaO", "BaO", -1.0, stdEv: 0.01), Entry("BaO2", "BaO2", -0.4, stdEv: 0.01) };
        var pd = new PhaseDiagram(entries);
        var report = HullUncertainty.Analyze(pd, new StabilityOptions { Samples = 100 });
        using var ms = new MemoryStream();
        HullJson.Write(ms, pd, report);
        using var doc = JsonDocument.Parse(ms.ToArray());
        var root = doc.RootElement;
        Assert.Equal(0.0, root.GetProperty("pressure_gpa").GetDouble());
        var e = root.GetProperty("entries").EnumerateArray().Single(x => x.GetProperty("name").GetString() == "BaO2");
        Assert.Equal("BaO2", e.GetProperty("formula").GetString());
        Assert.False(e.GetProperty("stable").GetBoolean());
        Assert.Equal(4.0 / 15, e.GetProperty("e_above_hull_ev_per_atom").GetDouble(), 1e-9);
        Assert.Equal(-0.4, e.GetProperty("formation_enthalpy_ev_per_atom").GetDouble(), 1e-9);
        var parts = e.GetProperty("decomposition").EnumerateArray().ToDictionary(p => p.GetProperty("name").GetString()!, p => p.GetProperty("atom_fraction").GetDouble());
        Assert.Equal(2.0 / 3, parts["BaO"], 1e-9);
        Assert.Equal(0.0, e.GetProperty("p_stable").GetDouble());
        Assert.Equal(["name", "formula", "stable", "e_above_hull_ev_per_atom", "formation_enthalpy_ev_per_atom", "decomposition", "p_stable"],
            e.EnumerateObject().Select(p => p.Name));

        using var ms2 = new MemoryStream();
        HullJson.Write(ms2, pd);
        using var doc2 = JsonDocument.Parse(ms2.ToArray());
        Assert.False(doc2.RootElement.GetProperty("entries")[0].TryGetProperty("p_stable", out _));
    }
}
