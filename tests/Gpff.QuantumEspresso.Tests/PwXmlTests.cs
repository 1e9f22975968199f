using Gpff.Geometry;
using Gpff.IO;

namespace Gpff.QuantumEspresso.Tests;

public class PwXmlTests
{
    private static readonly string Xml = TestData.TestFile("qe", "special", "BaO_vcrelax_10GPa.xml");
    private static readonly string Text = TestData.TestFile("qe", "special", "BaO_vcrelax_10GPa.out");

    private static void Close(Vec3 a, Vec3 b, double tol, string what) =>
        Assert.True((a - b).Length <= tol, $"{what}: {a} vs {b}");

    [Fact]
    public void EveryXmlStepAgreesWithTheTextOutput()
    {
        var xml = PwXml.Read(Xml);
        var text = PwOutput.ReadAll(Text);
        Assert.Equal("vc-relax", xml.Calculation);
        Assert.Equal(8, xml.Steps.Count);
        Assert.Equal(9, text.Count); // + the closing SCF, which the XML does not hold
        for (int k = 0; k < xml.Steps.Count; k++)
        {
            var x = xml.Steps[k];
            var t = text[k];
            // Text: energies to 1e-8 Ry, forces to 1e-8 Ry/bohr, step 0 cell to 1e-6 alat (header), later cells to 1e-9 Å.
            Assert.True(Math.Abs(x.EnergyEv!.Value - t.EnergyEv!.Value) < 2e-7, $"step {k}: E {x.EnergyEv} vs {t.EnergyEv}");
            for (int i = 0; i < x.AtomCount; i++)
            {
                Close(x.ForcesEvPerA![i], t.ForcesEvPerA![i], 5e-7, $"step {k} force {i}");
                Close(x.Positions[i], t.Positions[i], 1e-5, $"step {k} position {i}");
            }

            for (int r = 0; r < 3; r++)
            {
                Close(x.Cell.Row(r), t.Cell.Row(r), 1e-5, $"step {k} cell row {r}");
            }

            Assert.Null(x.StressEvPerA3); // not stored per step
        }
    }

    [Fact]
    public void OutputSectionIsTheLastBfgsStepWithItsEnthalpy()
    {
        var xml = PwXml.Read(Xml);
        var text = PwOutput.ReadAll(Text);
        var o = xml.Output;
        var lastBfgs = text[7];
        double ryPerBohr3 = PwUnits.Codata2018.RyPerBohr3InEvPerA3;
        var d = o.StressEvPerA3!.Value - lastBfgs.StressEvPerA3!.Value;
        Assert.True(d.ToArray().Max(Math.Abs) <= 1e-8 * ryPerBohr3, $"stress {o.StressEvPerA3} vs text {lastBfgs.StressEvPerA3}");
        Assert.True(Math.Abs(Units.EvPerA3ToGpa(o.StressEvPerA3.Value.Pressure) - 10.005) < 0.001); // "P= 100.05" kbar
        // Geometry = 'Begin final coordinates' (9 decimals in Å).
        // pw.x printed these Å values from the same bohr numbers with 0.529177210903 (CODATA 2018):
        // they agree to the printed digits (with the 2006 Bohr they would differ by 1.2e-8 Å).
        Close(o.Positions[1], new Vec3(2.6893357692, 0.0020137607, 0), 1e-10, "final O");
        Close(o.Cell.Row0, new Vec3(0.001955410, 2.690038870, 2.690238384), 1e-9, "final a1");
        // etot holds the enthalpy ("Final enthalpy = -95.1842645020 Ry"), so no energy label.
        Assert.Null(o.EnergyEv);
        Assert.Equal(-95.1842645020 * PwUnits.Codata2018.RydbergEv, (double)o.Info["qe_enthalpy_ev"], 7);
    }

    [Fact]
    public void TruncatedXmlIsReportedWithFileAndLine()
    {
        string cut = Path.Combine(Path.GetTempPath(), $"gpff-cut-{Guid.NewGuid():N}.xml");
        var lines = File.ReadAllLines(Xml);
        File.WriteAllLines(cut, lines.Take(lines.Length / 2));
        try
        {
            var ex = Assert.Throws<PwOutputException>(() => PwXml.Read(cut));
            Assert.Equal(PwFailureKind.Malformed, ex.Kind);
            Assert.Contains(cut, ex.Message);
            Assert.Contains("not well-formed XML", ex.Message);
            Assert.NotNull(ex.LineNumber);
        }
        finally
        {
            File.Delete(cut);
        }
    }
}
