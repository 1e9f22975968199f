using Gpff.QuantumEspresso;
using Gpff.Geometry;
using Gpff.IO;

namespace Gpff.QuantumEspresso.Tests;

public class PwInputTests
{
    /// <summary>A small hand-written pw.x input: comments, commas, Fortran exponents, a constrained atom.</summary>
    internal const string SiliconInput = """
        &control
          calculation = 'scf' , prefix='x' ! a comment
        /
        &SYSTEM
          ibrav=0, nat=2, ntyp=1, ecutwfc = 3.0d1, celldm(1) = 10.2
          nosym = .TRUE.
        /
        &electrons
        /
        ATOMIC_SPECIES
          Si1 28.086 Si.UPF
        CELL_PARAMETERS alat
          0.0 0.5 0.5
          0.5 0.0 0.5
          0.5 0.5 0.0
        ATOMIC_POSITIONS crystal
          Si1 0.00 0.00 0.00
          Si1 0.25 0.25 0.25 0 0 1
        K_POINTS automatic
          4 4 4 1 1 1
        """;

    private static Structure Perovskite()
    {
        var cell = new Mat3(4.01, 0.02, -0.01, 0.0, 3.98, 0.03, 0.01, 0.0, 4.05);
        var frac = new[] { new Vec3(0.01, 0.02, 0), new Vec3(0.5, 0.49, 0.51), new Vec3(0.5, 0.5, 0.02), new Vec3(0.5, 0.03, 0.5), new Vec3(0.01, 0.5, 0.5) };
        return new Structure(["Ba", "Rh", "O", "O", "O"], frac.Select(f => f * cell).ToArray(), cell, Pbc.All);
    }

    /// <summary>An absolute pseudopotential folder (pw.x needs one; the writer keeps an absolute path as it is).</summary>
    private static readonly string PseudoDir = Path.Combine(Path.GetTempPath(), "gpff-pseudo");

    private static PwInputSettings Settings() => new()
    {
        Pseudopotentials = new Dictionary<string, string> { ["Ba"] = "Ba.UPF", ["Rh"] = "Rh.UPF", ["O"] = "O.UPF" },
        PseudoDirectory = PseudoDir,
        EcutwfcRy = 45,
        EcutrhoRy = 360,
        Smearing = new PwSmearing("mv", 0.02),
        KSpacingPerA = 0.3,
        StartingMagnetization = new Dictionary<string, double> { ["Rh"] = 0.5 },
        Namelists = new PwNamelists().Set("electrons", "mixing_beta", 0.4).Set("electrons", "conv_thr", 1e-10).Set("system", "input_dft", "pbesol"),
    };

    [Theory]
    [InlineData(CalculatorProperties.Energy, false, false)]
    [InlineData(CalculatorProperties.Energy | CalculatorProperties.Forces, true, false)]
    [InlineData(CalculatorProperties.Energy | CalculatorProperties.Stress, false, true)]
    [InlineData(CalculatorProperties.EnergyForcesStress, true, true)]
    public void ForcesAndStressAreAskedFromPwOnlyWhenRequested(CalculatorProperties properties, bool tprnfor, bool tstress)
    {
        using var w = new StringWriter(System.Globalization.CultureInfo.InvariantCulture);
        PwInput.Write(w, Perovskite(), Settings(), properties: properties);
        var nl = PwInput.Read(new StringReader(w.ToString()), "asked.in").Namelists;
        Assert.Equal(tprnfor ? true : null, nl.Get("control", "tprnfor"));
        Assert.Equal(tstress ? true : null, nl.Get("control", "tstress"));

        // A slab has no stress to ask for.
        var slab = Perovskite();
        slab.Pbc = new Pbc(true, true, false);
        using var w2 = new StringWriter(System.Globalization.CultureInfo.InvariantCulture);
        PwInput.Write(w2, slab, Settings(), properties: properties);
        Assert.Null(PwInput.Read(new StringReader(w2.ToString()), "slab.in").Namelists.Get("control", "tstress"));
    }

    [Fact]
    public void PwCalculatorImplementsEnergyForcesAndStressOnly()
    {
        var calc = new PwCalculator(Settings(), new PwRunOptions { WorkingDirectory = Path.Combine(Path.GetTempPath(), "gpff-never-run") });
        Assert.Equal(CalculatorProperties.EnergyForcesStress, calc.ImplementedProperties);
        var ex = Assert.Throws<NotSupportedException>(() => calc.Calculate(Perovskite(), CalculatorProperties.Forces | CalculatorProperties.Uncertainty));
        Assert.Contains("PwCalculator does not compute Uncertainty", ex.Message);
        Assert.Null(calc.LastDirectory); // refused before running anything
    }

    [Fact]
    public void WrittenInputReadsBackToTheSameStructureAndSettings()
    {
        var s = Perovskite();
        string text = PwInput.ToText(s, Settings());
        var back = PwInput.Read(new StringReader(text), "written.in");

        Assert.Equal(s.Symbols(), back.Structure.Symbols());
        Assert.Equal(s.Cell, back.Structure.Cell); // full precision: exact
        Assert.Equal(s.Positions, back.Structure.Positions);
        var nl = back.Namelists;
        Assert.Equal("scf", nl.Get("control", "calculation"));
        Assert.Equal(true, nl.Get("control", "tprnfor"));
        Assert.Equal(true, nl.Get("control", "tstress"));
        Assert.Equal(PseudoDir, nl.Get("control", "pseudo_dir"));
        Assert.Equal(5L, nl.Get("system", "nat"));
        Assert.Equal(3L, nl.Get("system", "ntyp"));
        Assert.Equal(45.0, nl.Get("system", "ecutwfc"));
        Assert.Equal(360.0, nl.Get("system", "ecutrho"));
        Assert.Equal("smearing", nl.Get("system", "occupations"));
        Assert.Equal("mv", nl.Get("system", "smearing"));
        Assert.Equal(0.02, nl.Get("system", "degauss"));
        Assert.Equal(2L, nl.Get("system", "nspin"));
        Assert.Equal(0.5, nl.Get("system", "starting_magnetization(2)")); // Rh is the 2nd species
        Assert.Null(nl.Get("system", "starting_magnetization(1)"));
        Assert.Equal("pbesol", nl.Get("system", "input_dft"));
        Assert.Equal(1e-10, nl.Get("electrons", "conv_thr")); // the extra setting overrides the default
        Assert.Equal(0.4, nl.Get("electrons", "mixing_beta"));
        Assert.Equal("Rh.UPF", back.Pseudopotentials["Rh"]);
        // k mesh from the spacing: widths ≈ 4 Å → 2π/4/0.3 = 5.2 → 6 along each axis.
        Assert.Equal(new Int3(6, 6, 6), back.KPointMesh);
        Assert.Equal(Int3.Zero, back.KPointShift);
    }

    [Fact]
    public void DatasetInputsReadToTheStructureOfTheirOutputs()
    {
        var files = Directory.GetFiles(TestData.TestFile("qe", "dataset"), "*.in");
        Assert.Equal(36, files.Length);
        foreach (var inPath in files)
        {
            var input = PwInput.Read(new StreamReader(inPath), inPath);
            var output = PwOutput.ReadLast(Path.ChangeExtension(inPath, ".out"));
            Assert.Equal(output.Symbols(), input.Structure.Symbols());
            // The output prints the cell to 6 decimals and positions to 7 in alat units (~4–10 Å).
            var a = input.Structure.Cell.ToRowMajorArray();
            var b = output.Cell.ToRowMajorArray();
            for (int k = 0; k < 9; k++)
            {
                Assert.True(Math.Abs(a[k] - b[k]) < 1e-5, $"{inPath}: cell[{k}] {a[k]} vs {b[k]}");
            }

            for (int i = 0; i < output.AtomCount; i++)
            {
                Assert.True((input.Structure.Positions[i] - output.Positions[i]).Length < 1e-5, $"{inPath}: atom {i}");
            }

            Assert.NotNull(input.KPointMesh);
        }
    }

    [Theory]
    [InlineData(4.0, 0.25, 7)]                  // 2π/4/0.25 = 6.28 → 7
    [InlineData(4.0, 0.5235987755982988, 3)]    // exactly 3 (2π/4/(π/6)) stays 3
    [InlineData(10.0, 1.0, 1)]                  // 0.63 → 1
    public void KPointMeshFollowsAseKspacing(double a, double spacing, int n)
    {
        var mesh = PwInput.KPointMeshFromSpacing(Mat3.Diagonal(a, a, 2 * a), new Pbc(true, true, false), spacing);
        Assert.Equal(new Int3(n, n, 1), mesh); // non-periodic c gets 1
    }

    [Fact]
    public void KPointMeshUsesPerpendicularWidthsOfAnObliqueCell()
    {
        // fcc primitive cell of a = 5.52 Å: |b_i| = √3/a, so n = ⌈2π√3/(5.52·0.3)⌉ = ⌈6.57⌉ = 7.
        double h = 5.52 / 2;
        var cell = new Mat3(0, h, h, h, 0, h, h, h, 0);
        Assert.Equal(new Int3(7, 7, 7), PwInput.KPointMeshFromSpacing(cell, Pbc.All, 0.3));
    }

    [Fact]
    public void MissingPseudopotentialIsNamed()
    {
        var settings = new PwInputSettings { Pseudopotentials = new Dictionary<string, string> { ["Ba"] = "Ba.UPF" }, EcutwfcRy = 30 };
        var ex = Assert.Throws<ArgumentException>(() => PwInput.ToText(Perovskite(), settings));
        Assert.Contains("No pseudopotential for Rh, O", ex.Message);
        Assert.Contains("has Ba", ex.Message);
    }

    [Fact]
    public void BadSettingsAreRejectedWithTheValue()
    {
        var p = new Dictionary<string, string> { ["Si"] = "Si.UPF" };
        Assert.Contains("EcutrhoRy (20 Ry)", Assert.Throws<ArgumentException>(() => new PwInputSettings { Pseudopotentials = p, EcutwfcRy = 30, EcutrhoRy = 20 }.Validate()).Message);
        Assert.Contains("KSpacingPerA", Assert.Throws<ArgumentException>(() => new PwInputSettings { Pseudopotentials = p, EcutwfcRy = 30, KSpacingPerA = 0 }.Validate()).Message);
        Assert.Throws<ArgumentException>(() => new PwNamelists().Set("system", "nbnd", new object()));
        Assert.Throws<ArgumentException>(() => new PwNamelists().Set("system", "degauss", double.NaN));
    }

    [Fact]
    public void NamelistValuesUseFortranSyntax()
    {
        Assert.Equal(".true.", PwNamelists.Format(true));
        Assert.Equal("'it''s'", PwNamelists.Format("it's"));
        Assert.Equal("45.0", PwNamelists.Format(45.0));
        Assert.Equal("1E-08", PwNamelists.Format(1e-8));
        Assert.Equal("12", PwNamelists.Format(12));
    }

    [Fact]
    public void ReaderHandlesCommentsCommasAndFortranExponents()
    {
        string text = SiliconInput;
        var f = PwInput.Read(new StringReader(text), "si.in");
        Assert.Equal(30.0, f.Namelists.Get("system", "ecutwfc"));
        Assert.Equal(true, f.Namelists.Get("system", "nosym"));
        Assert.Equal("x", f.Namelists.Get("control", "prefix"));
        double a = 10.2 * PwUnits.Codata2018.BohrA;
        Assert.Equal(a / 2, f.Structure.Cell.M01, 12);
        Assert.Equal(a / 4, f.Structure.Positions[1].X, 12);
        Assert.Equal(["Si", "Si"], f.Structure.Symbols());
        Assert.Equal(new Int3(1, 1, 1), f.KPointShift);

        var ex = Assert.Throws<NotSupportedException>(() => PwInput.Read(new StringReader(text.Replace("ibrav=0", "ibrav=2")), "si.in"));
        Assert.Contains("ibrav=2", ex.Message);
        var bad = Assert.Throws<FormatException>(() => PwInput.Read(new StringReader(text.Replace("Si1 0.25 0.25 0.25 0 0 1", "Si1 0.25 x 0.25")), "si.in"));
        Assert.Contains("si.in, line 18", bad.Message);
    }

    [Theory]
    [InlineData("pw.x", new[] { "pw.x" })]
    [InlineData("mpirun -np 8 pw.x", new[] { "mpirun", "-np", "8", "pw.x" })]
    [InlineData("srun  'my pw.x' -nk 2", new[] { "srun", "my pw.x", "-nk", "2" })]
    [InlineData("sh -c \"exec pw.x \\\"$@\\\"\" sh", new[] { "sh", "-c", "exec pw.x \"$@\"", "sh" })]
    public void CommandLinesSplitLikeAShell(string command, string[] words) =>
        Assert.Equal(words, PwRunOptions.SplitCommandLine(command));

    [Fact]
    public void BadCommandLinesAreRejected()
    {
        Assert.Throws<ArgumentException>(() => PwRunOptions.SplitCommandLine("   "));
        Assert.Contains("Unbalanced", Assert.Throws<ArgumentException>(() => PwRunOptions.SplitCommandLine("mpirun 'pw.x")).Message);
    }
}
