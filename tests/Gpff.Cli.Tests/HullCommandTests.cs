using System.Diagnostics;
using System.Text.Json;

namespace Gpff.Cli.Tests;

public class HullCommandTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "gpff-hullcli-" + Guid.NewGuid().ToString("N"));

    public HullCommandTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>
    /// The gpff tool built next to this test assembly (same configuration): tests/Gpff.Phases.Tests/bin/CONFIG/TFM/
    /// → tools/Gpff.Cli/bin/CONFIG/TFM/Gpff.Cli.dll, run out of process as users run it.
    /// </summary>
    private static string GpffDll()
    {
        var tfm = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var config = tfm.Parent!;
        var root = config.Parent!.Parent!.Parent!.Parent!;
        string dll = Path.Combine(root.FullName, "tools", "Gpff.Cli", "bin", config.Name, tfm.Name, "Gpff.Cli.dll");
        Assert.True(File.Exists(dll), $"gpff tool not built at {dll}");
        return dll;
    }

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(GpffDll());
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr);
    }

    private string Write(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void HullPrintsTableWritesJsonAndPlot()
    {
        // Hand-checked binary (see PhaseDiagramTests.Binary_…): Ba 0, BaO -1.0, BaO2 -0.4 eV/atom formation
        // enthalpy with μ(Ba) = -2, μ(O) = -5 eV/atom → BaO2 is 4/15 eV/atom above, 2/3 BaO + 1/3 O2.
        string csv = Write("e.csv", """
            name,formula,energy_ev,volume_a3,energy_std_ev
            Ba,Ba,-2.0,63,
            O2,O2,-10.0,30,
            BaO,BaO,-9.0,42,
            BaO2,BaO2,-13.2,50,
            """);
        string json = Path.Combine(_dir, "r.json"), png = Path.Combine(_dir, "h.png");
        var (code, stdout, stderr) = Run("hull", csv, "-o", json, "--plot", png);
        Assert.True(code == 0, stderr);
        Assert.Contains("Ba–O hull at 0 GPa: 4 entries, 3 stable", stdout);
        Assert.Contains("266.667", stdout); // 4/15 eV/atom in meV/atom
        Assert.Contains("0.6667 BaO + 0.3333 O2", stdout);
        Assert.DoesNotContain("p_stable", stdout);
        Assert.True(new FileInfo(png).Length > 1000);

        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal(0.0, doc.RootElement.GetProperty("pressure_gpa").GetDouble());
        var baO2 = doc.RootElement.GetProperty("entries")[3];
        Assert.Equal("BaO2", baO2.GetProperty("name").GetString());
        Assert.Equal(4.0 / 15, baO2.GetProperty("e_above_hull_ev_per_atom").GetDouble(), 1e-9);
        Assert.False(baO2.TryGetProperty("p_stable", out _));

        // At 10 GPa the formation enthalpy of BaO2 shifts by P·c·(V/N − Σ x·v_ref) with per-atom reference volumes
        // 63 (Ba) and 30/2 = 15 (O): 10·c·(50/3 − (1/3)·63 − (2/3)·15) = 10·c·(50 − 63 − 30)/3 = −10·c·43/3.
        (code, stdout, stderr) = Run("hull", csv, "--pressure", "10", "-o", json);
        Assert.True(code == 0, stderr);
        using var doc10 = JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal(10.0, doc10.RootElement.GetProperty("pressure_gpa").GetDouble());
        Assert.Equal(-0.4 - 10 * Units.GpaA3InEv * 43 / 3,
            doc10.RootElement.GetProperty("entries")[3].GetProperty("formation_enthalpy_ev_per_atom").GetDouble(), 1e-9);
    }

    [Fact]
    public void HullExampleFilePseudoBinaryWithProbabilities()
    {
        string example = Path.Combine(AppContext.BaseDirectory, "data", "barho-hull-example.csv");
        string json = Path.Combine(_dir, "r.json");
        var (code, stdout, stderr) = Run("hull", example, "--terminals", "BaO,RhO2", "--pressure", "10", "--samples", "2000", "-o", json);
        Assert.True(code == 0, stderr);
        Assert.Contains("p_stable", stdout);
        Assert.Contains("uncertain", stdout);
        // By hand at 10 GPa (c = 0.0062415091 eV/(GPa·Å³)):
        //   BaO-CsCl vs rocksalt (2 atoms): (0.32 eV − 10·c·4.5 Å³)/2 = 0.0195660 eV/atom above, decomposes into rocksalt.
        //   BaRhO3-cubic vs 4H (per 5 atoms: E 0.2 eV higher, V 1 Å³ larger): 0.04 + 10·c·1/5 = 0.0524830 eV/atom above.
        const double c = Units.GpaA3InEv;
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var byName = doc.RootElement.GetProperty("entries").EnumerateArray().ToDictionary(e => e.GetProperty("name").GetString()!);
        Assert.Equal((0.32 - 10 * c * 4.5) / 2, byName["BaO-CsCl"].GetProperty("e_above_hull_ev_per_atom").GetDouble(), 1e-9);
        Assert.Equal(0.04 + 10 * c / 5, byName["BaRhO3-cubic"].GetProperty("e_above_hull_ev_per_atom").GetDouble(), 1e-9);
        Assert.Equal("BaRhO3-4H", byName["BaRhO3-cubic"].GetProperty("decomposition")[0].GetProperty("name").GetString());
        Assert.True(byName["BaRhO3-4H"].GetProperty("stable").GetBoolean());
        Assert.All(byName.Values, e => Assert.InRange(e.GetProperty("p_stable").GetDouble(), 0, 1));
        Assert.True(byName["Ba2RhO4-I4/mmm"].GetProperty("p_stable").GetDouble() > 0.99);

        // Without --terminals the elements are the terminals, and the example has no elemental references.
        (code, _, stderr) = Run("hull", example);
        Assert.Equal(1, code);
        Assert.Contains("No reference entry for terminals Ba, O, Rh", stderr);
    }

    [Fact]
    public void HullCovarianceFromFile()
    {
        string csv = Write("e.csv", "name,formula,energy_ev\nBa,Ba,-2\nO2,O2,-10\nBaO,BaO,-7.04\n");
        // Every entry shifted by the same error per atom (Σᵢⱼ = s² Nᵢ Nⱼ, s = 0.3): cancels exactly → p = 1.
        string cov = Write("cov.txt", "0.09 0.18 0.18\n0.18 0.36 0.36\n0.18 0.36 0.36\n");
        string json = Path.Combine(_dir, "r.json");
        var (code, _, stderr) = Run("hull", csv, "--covariance", cov, "--samples", "300", "-o", json);
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal(1.0, doc.RootElement.GetProperty("entries")[2].GetProperty("p_stable").GetDouble());
    }

    [Theory]
    [InlineData("name,formula,energy_ev\nBa,Ba,-2\nO2,O2,x\n", new string[0], "line 3", "energy_ev 'x' is not a finite number")]
    [InlineData("name,formula,energy_ev\nBa,Ba,-2\nO2,Oq2,-10\n", new string[0], "line 3", "Unknown element")]
    [InlineData("name,formula,energy_ev\nO2,O2,-10\nBaO,BaO,-9\n", new string[0], "", "No reference entry for terminal Ba")]
    [InlineData("name,formula,energy_ev\nBa,Ba,-2\nO2,O2,-10\n", new[] { "--pressure", "5" }, "", "needs a volume for every entry; missing for 'Ba', 'O2'")]
    [InlineData("name,formula,energy_ev\nBa,Ba,-2\nO2,O2,-10\n", new[] { "--terminals", "Ba,Xx" }, "", "Unknown element 'Xx'")]
    [InlineData("name,formula,energy_ev\nBa,Ba,-2\nO2,O2,-10\n", new[] { "--plot", "h.jpg" }, "", ".png or .svg")]
    [InlineData("name,formula,energy_ev\nBa,Ba,-2\nO2,O2,-10\n", new[] { "--presure", "5" }, "", "unknown option --presure")]
    public void HullErrorsAreOneClearLine(string text, string[] extra, string where, string what)
    {
        string csv = Write("bad.csv", text);
        var (code, stdout, stderr) = Run(["hull", csv, .. extra]);
        bool usage = what is "Unknown element 'Xx'" or ".png or .svg" || what.StartsWith("unknown option", StringComparison.Ordinal);
        Assert.Equal(usage ? 2 : 1, code); // usage errors (a bad option or value) exit with 2, errors in the data with 1
        Assert.StartsWith("gpff hull: ", stderr);
        Assert.Contains(what, stderr);
        if (where.Length > 0)
        {
            Assert.Contains($"{csv}, {where}", stderr);
        }

        Assert.DoesNotContain("(Parameter", stderr);
        Assert.Equal(string.Empty, stdout);
    }

    [Fact]
    public void HullMissingFileAndHelp()
    {
        var (code, _, stderr) = Run("hull", Path.Combine(_dir, "none.csv"));
        Assert.Equal(1, code);
        Assert.Contains("none.csv' not found", stderr);
        (code, string stdout, _) = Run("hull", "--help");
        Assert.Equal(0, code);
        Assert.Contains("--terminals", stdout);
        Assert.Contains("energy_std_ev", stdout);
    }
}
