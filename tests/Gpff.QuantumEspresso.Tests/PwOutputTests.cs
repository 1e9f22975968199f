using System.Globalization;
using Gpff.Geometry;
using Gpff.IO;

namespace Gpff.QuantumEspresso.Tests;

public class PwOutputTests
{
    // pw.x 6.7 (which wrote every test file) uses CODATA 2018; see PwUnits.
    private const double Ry = 13.605693122994;
    private const double Bohr = 0.529177210903;
    private const double Ry2006 = 13.605691930242388;

    private static string Special(string name) => TestData.TestFile("qe", "special", name);

    private static string Generated(string name) => TestData.TestFile("qe", "generated", name);

    /// <summary>|a − b| ≤ 1e-6 · scale, scale = the largest magnitude among the compared values (floor 1e-9).</summary>
    private static void AssertClose(double[] expected, double[] actual, string what, double relative = 1e-6)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = Math.Max(expected.Max(Math.Abs), 1e-9);
        for (int k = 0; k < expected.Length; k++)
        {
            Assert.True(Math.Abs(expected[k] - actual[k]) <= relative * scale,
                $"{what}[{k}]: expected {expected[k]:R}, got {actual[k]:R} (scale {scale:G3})");
        }
    }

    private static double[] Flat(IEnumerable<Vec3> v) => v.SelectMany(x => new[] { x.X, x.Y, x.Z }).ToArray();

    [Fact]
    public void EveryDatasetOutputAgreesWithAseReference()
    {
        var reference = ReferenceExtxyz.Read(TestData.DataFile("barho-train.extxyz"));
        Assert.Equal(36, reference.Count);
        var outputs = Directory.GetFiles(TestData.TestFile("qe", "dataset"), "*.out").Select(p => Path.GetFileName(p)!).Order().ToList();
        Assert.Equal(outputs, reference.Select(r => Path.GetFileName(r.Source)).Order().ToList());

        foreach (var r in reference)
        {
            string path = TestData.TestFile(r.Source.Split('/'));
            var frames = PwOutput.ReadAll(path);
            var s = Assert.Single(frames);
            string name = r.Source;
            Assert.Equal(r.Species, s.Symbols());
            AssertClose([r.Energy], [s.EnergyEv!.Value], name + " energy");
            AssertClose(r.Lattice, s.Cell.ToRowMajorArray(), name + " cell");
            AssertClose(r.Positions.SelectMany(p => p).ToArray(), Flat(s.Positions), name + " positions");
            AssertClose(r.Forces.SelectMany(p => p).ToArray(), Flat(s.ForcesEvPerA!), name + " forces");
            AssertClose(r.Stress9, s.StressEvPerA3!.Value.ToMatrix().ToRowMajorArray(), name + " stress");
            Assert.Equal("scf", s.Info["qe_calculation"]);
            Assert.Equal(0L, s.Info["qe_ionic_step"]);
            Assert.Equal(false, s.Info["qe_final_scf"]);
            Assert.Equal("6.7MaX", s.Info["qe_version"]);
            Assert.Equal("CODATA 2018", s.Info["qe_units"]);
            Assert.Equal(path, s.Info["source"]);
        }
    }

    [Fact]
    public void EnergyIsTheBangLineInRydbergTimesCodata2018AndStressSignFollowsAse()
    {
        // BaOfix_rand00.out: "!    total energy = -95.37238245 Ry", stress row 1 "0.00025927 0.00006008 -0.00002121",
        // P = 26.73 kbar (pw.x: positive = compressive), force on atom 1 "0.00239626 -0.00019989 0.00046145" Ry/bohr.
        var s = PwOutput.ReadLast(TestData.TestFile("qe", "dataset", "BaOfix_rand00.out"));
        Assert.Equal(-95.37238245 * Ry, s.EnergyEv!.Value, 9);
        var st = s.StressEvPerA3!.Value;
        double ryPerBohr3 = Ry / (Bohr * Bohr * Bohr);
        Assert.Equal(-0.00025927 * ryPerBohr3, st.XX, 12);
        Assert.Equal(-0.00006008 * ryPerBohr3, st.XY, 12);
        Assert.Equal(2.673, Units.EvPerA3ToGpa(st.Pressure), 2); // 26.73 kbar = 2.673 GPa, positive under compression
        Assert.Equal(0.00239626 * Ry / Bohr, s.ForcesEvPerA![0].X, 12);
        Assert.Equal(-0.00019989 * Ry / Bohr, s.ForcesEvPerA[0].Y, 12);
        Assert.Equal(19L, s.Info["qe_scf_iterations"]);
        int bangLine = Array.FindIndex(File.ReadAllLines(TestData.TestFile("qe", "dataset", "BaOfix_rand00.out")), l => l.StartsWith('!')) + 1;
        Assert.Equal((long)bangLine, s.Info["qe_energy_line"]);
    }

    [Fact]
    public void RelaxReadsEveryIonicStepWithTheGeometryItRanAt()
    {
        string path = Special("RhO2_relax.out");
        var lines = File.ReadAllLines(path);
        var frames = PwOutput.ReadAll(path);

        // One frame per '!' line, with that energy.
        var bang = lines.Where(l => l.StartsWith("!    total energy", StringComparison.Ordinal)).ToList();
        Assert.Equal(4, bang.Count);
        Assert.Equal(bang.Count, frames.Count);
        for (int k = 0; k < frames.Count; k++)
        {
            double ry = double.Parse(bang[k].Split('=')[1].Replace("Ry", ""), CultureInfo.InvariantCulture);
            Assert.Equal(ry * Ry, frames[k].EnergyEv!.Value, 9);
            Assert.Equal((long)k, frames[k].Info["qe_ionic_step"]);
            Assert.Equal("relax", frames[k].Info["qe_calculation"]);
            Assert.Equal(false, frames[k].Info["qe_final_scf"]);
            Assert.NotNull(frames[k].ForcesEvPerA);
            Assert.NotNull(frames[k].StressEvPerA3);
            Assert.Equal(frames[0].Cell, frames[k].Cell); // fixed cell
        }

        // Step k+1 runs at the k-th ATOMIC_POSITIONS (angstrom) block; the final coordinates equal the last step's.
        var blocks = AtomicPositionBlocks(lines);
        Assert.Equal(frames.Count, blocks.Count); // 3 BFGS updates + final coordinates
        for (int k = 0; k + 1 < frames.Count; k++)
        {
            AssertClose(blocks[k], Flat(frames[k + 1].Positions), $"step {k + 1} positions", 1e-9);
        }

        AssertClose(blocks[^1], Flat(frames[^1].Positions), "final coordinates", 1e-9);
        Assert.NotEqual(frames[0].Positions, frames[1].Positions);
    }

    private static List<double[]> AtomicPositionBlocks(string[] lines, int nat = 6)
    {
        var blocks = new List<double[]>();
        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i].StartsWith("ATOMIC_POSITIONS (angstrom)", StringComparison.Ordinal))
            {
                blocks.Add(lines.Skip(i + 1).Take(nat)
                    .SelectMany(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..4])
                    .Select(x => double.Parse(x, CultureInfo.InvariantCulture)).ToArray());
            }
        }

        return blocks;
    }

    [Fact]
    public void VcRelaxReadsEveryStepAndTellsTheClosingScfApart()
    {
        string path = Special("BaO_vcrelax_10GPa.out");
        var frames = PwOutput.ReadAll(path);
        Assert.Equal(9, frames.Count); // 8 BFGS SCFs + the closing SCF
        Assert.All(frames, f => Assert.Equal("vc-relax", f.Info["qe_calculation"]));
        Assert.Equal(8, frames.Count(f => f.Info["qe_final_scf"] is false));
        var last = frames[^1];
        Assert.Equal(true, last.Info["qe_final_scf"]);
        Assert.Equal(8L, last.Info["qe_ionic_step"]);
        Assert.Equal(-95.36271185 * Ry, last.EnergyEv!.Value, 9);
        Assert.Equal(-95.36282815 * Ry, frames[^2].EnergyEv!.Value, 9);

        // Closing SCF at the final coordinates (9 decimals in Å, not the 6-decimal header reprint).
        var finalCell = new Mat3(0.001955410, 2.690038870, 2.690238384, 2.689335769, 0.002013761, 2.690238384, 2.691291179, 2.692052631, 0);
        AssertClose(finalCell.ToRowMajorArray(), last.Cell.ToRowMajorArray(), "final cell", 1e-12);
        AssertClose([0, 0, 0, 2.6893357692, 0.0020137607, 0], Flat(last.Positions), "final positions", 1e-12);
        // ... which is the geometry of the last BFGS step too.
        AssertClose(frames[^2].Cell.ToRowMajorArray(), last.Cell.ToRowMajorArray(), "last BFGS cell", 1e-12);

        // Step 1 runs at the first CELL_PARAMETERS (angstrom) block.
        var step1Cell = new Mat3(0.011891139, 2.698667561, 2.724227581, 2.749106867, 0.011876620, 2.724227581, 2.760998006, 2.710544181, 0);
        AssertClose(step1Cell.ToRowMajorArray(), frames[1].Cell.ToRowMajorArray(), "step 1 cell", 1e-12);

        // Step 0 from the header: celldm(1) = 7.339293 bohr, a(1) = (0.003553 0.703540 0.710647) alat.
        Assert.Equal(0.003553 * 7.339293 * Bohr, frames[0].Cell.M00, 12);
        Assert.Equal(0.703540 * 7.339293 * Bohr, frames[0].Cell.M01, 12);

        // Pressure ~ 10 GPa at the end ("P= 98.72" kbar in the closing SCF), positive under compression.
        Assert.Equal(9.872, Units.EvPerA3ToGpa(last.StressEvPerA3!.Value.Pressure), 2);
        // The enthalpy of step 0 (enthalpy new = -95.1782842632 Ry) is kept; the '!' energy is E, not H.
        Assert.Equal(-95.1782842632 * Ry, (double)frames[0].Info["qe_enthalpy_ev"], 8);
        Assert.Equal(-95.37115746 * Ry, frames[0].EnergyEv!.Value, 9);
        // Smearing: the Fermi energy is kept.
        Assert.Equal(8.7226, (double)frames[0].Info["qe_fermi_energy_ev"], 6);
    }

    [Fact]
    public void VcRelaxWithIbravAlatCellAndCrystalPositionsAndLabelledSpecies()
    {
        // pw.x 6.7 run made for these tests: ibrav=2, celldm(1)=10.5, species label 'Si1', positions crystal.
        string path = Generated("Si_vcrelax_ibrav2.out");
        var frames = PwOutput.ReadAll(path);
        Assert.Equal(7, frames.Count);
        Assert.True((bool)frames[^1].Info["qe_final_scf"]);
        Assert.All(frames, f => Assert.Equal(["Si", "Si"], f.Symbols()));
        Assert.Equal(["Si1", "Si1"], frames[0].AtomProperties["qe_species"].Strings!);

        // ibrav=2: a1 = (-1, 0, 1) a/2.
        double a = 10.5 * Bohr;
        AssertClose([-a / 2, 0, a / 2, 0, a / 2, a / 2, -a / 2, a / 2, 0], frames[0].Cell.ToRowMajorArray(), "ibrav=2 cell", 1e-6);
        // Input crystal position (0, 0, 0.02) of atom 1.
        AssertClose(Flat([new Vec3(0, 0, 0.02) * frames[0].Cell]), Flat([frames[0].Positions[0]]), "crystal → Å", 1e-5);

        // Final coordinates: CELL_PARAMETERS (alat= 10.50000000) and ATOMIC_POSITIONS (crystal).
        var cell = Mat3.FromRows(
            new Vec3(-0.486032231, 0.000114953, 0.486079888),
            new Vec3(-0.000114953, 0.486032231, 0.486079888),
            new Vec3(-0.485872905, 0.485872905, 0.000272327));
        cell = (10.5 * Bohr) * cell;
        AssertClose(cell.ToRowMajorArray(), frames[^1].Cell.ToRowMajorArray(), "alat cell", 1e-12);
        var frac = new Vec3(0.2500089020, 0.2500089020, 0.2597542649);
        AssertClose(Flat([frac * cell]), Flat([frames[^1].Positions[1]]), "crystal positions", 1e-12);
    }

    [Fact]
    public void MdReadsEveryStepAtTheNewPositions()
    {
        string path = Generated("Si_md.out");
        var frames = PwOutput.ReadAll(path);
        Assert.Equal(3, frames.Count);
        Assert.All(frames, f => Assert.Equal("md", f.Info["qe_calculation"]));
        Assert.Equal(-15.61377447 * Ry, frames[1].EnergyEv!.Value, 9);
        // Step 0: input bohr positions; step 1 at the first "ATOMIC_POSITIONS (bohr)" block.
        Assert.Equal(0.1 * Bohr, frames[0].Positions[0].X, 6);
        Assert.Equal(0.0997201264 * Bohr, frames[1].Positions[0].X, 12);
        Assert.Equal(2.5652798736 * Bohr, frames[1].Positions[1].X, 12);
        Assert.Null(frames[0].StressEvPerA3); // tstress was off
        // Newton's third law in the printed forces (2 atoms).
        Assert.Equal(-frames[2].ForcesEvPerA![0].X, frames[2].ForcesEvPerA![1].X, 8);
    }

    [Fact]
    public void NonConvergedScfGivesItsSpecificErrorDespiteJobDone()
    {
        string path = Special("BaO_noconv.out");
        var ex = Assert.Throws<PwOutputException>(() => PwOutput.ReadAll(path));
        Assert.Equal(PwFailureKind.NotConverged, ex.Kind);
        Assert.Equal(0, ex.IonicStep);
        Assert.Equal(234, ex.LineNumber);
        Assert.Contains(path, ex.Message);
        Assert.Contains("ionic step 0", ex.Message);
        Assert.Contains("line 234", ex.Message);
        Assert.Contains("convergence NOT achieved after   4 iterations", ex.Message);

        Assert.Equal(PwFailureKind.NotConverged, Assert.Throws<PwOutputException>(() => PwOutput.ReadLast(path)).Kind);

        var tolerant = PwOutput.ReadTolerant(path);
        Assert.Empty(tolerant.Frames);
        var skip = Assert.Single(tolerant.Skipped);
        Assert.Equal(PwFailureKind.NotConverged, skip.Kind);
        Assert.Equal(0, skip.IonicStep);
        Assert.Equal(ex.Message, skip.Message);
        Assert.False(tolerant.IsComplete);
    }

    [Fact]
    public void TruncatedRunGivesItsSpecificError()
    {
        string path = Special("Ba2RhO4_truncated.out");
        int lineCount = File.ReadAllLines(path).Length;
        var ex = Assert.Throws<PwOutputException>(() => PwOutput.ReadAll(path));
        Assert.Equal(PwFailureKind.Truncated, ex.Kind);
        Assert.Equal(0, ex.IonicStep);
        Assert.Equal(lineCount, ex.LineNumber);
        Assert.Contains(path, ex.Message);
        Assert.Contains($"line {lineCount}", ex.Message);
        Assert.Contains("killed", ex.Message);

        var tolerant = PwOutput.ReadTolerant(path);
        Assert.Empty(tolerant.Frames);
        Assert.Equal(PwFailureKind.Truncated, Assert.Single(tolerant.Skipped).Kind);
    }

    [Fact]
    public void RelaxCutInsideItsThirdScfKeepsTheFirstTwoStepsWhenTolerant()
    {
        var lines = File.ReadAllLines(Special("RhO2_relax.out"));
        int thirdScf = Array.FindIndex(lines, 1000, l => l.Contains("!    total energy", StringComparison.Ordinal)); // step 2's energy line
        string text = string.Join('\n', lines.Take(thirdScf - 5));

        var tolerant = PwOutput.ReadTolerant(new StringReader(text), "cut.out");
        Assert.Equal(2, tolerant.Frames.Count);
        var skip = Assert.Single(tolerant.Skipped);
        Assert.Equal(PwFailureKind.Truncated, skip.Kind);
        Assert.Equal(2, skip.IonicStep);
        Assert.Contains("cut.out, ionic step 2", skip.Message);

        // The lazy strict reader yields the complete steps before it throws.
        var seen = new List<Structure>();
        var ex = Assert.Throws<PwOutputException>(() =>
        {
            foreach (var s in PwOutput.Read(new StringReader(text), "cut.out"))
            {
                seen.Add(s);
            }
        });
        Assert.Equal(2, seen.Count);
        Assert.Equal(PwFailureKind.Truncated, ex.Kind);
        Assert.Equal(tolerant.Frames[1].EnergyEv, seen[1].EnergyEv);
    }

    [Fact]
    public void KilledBetweenStepsIsTruncatedButKeepsEveryCompleteStep()
    {
        var lines = File.ReadAllLines(Special("RhO2_relax.out"));
        int afterFirstUpdate = Array.FindIndex(lines, l => l.StartsWith("ATOMIC_POSITIONS", StringComparison.Ordinal)) + 8;
        var tolerant = PwOutput.ReadTolerant(new StringReader(string.Join('\n', lines.Take(afterFirstUpdate))), "cut.out");
        Assert.Single(tolerant.Frames);
        Assert.Equal(PwFailureKind.Truncated, Assert.Single(tolerant.Skipped).Kind);
        Assert.Contains("without 'JOB DONE.'", tolerant.Skipped[0].Message);
    }

    [Fact]
    public void NaNForceIsRefusedWithItsLineNotCopiedIntoTrainingData()
    {
        var lines = File.ReadAllLines(Special("RhO2_relax.out"));
        int at = Array.FindIndex(lines, l => l.Contains("atom    1 type", StringComparison.Ordinal) && l.Contains("force =", StringComparison.Ordinal));
        Assert.True(at > 0);
        lines[at] = lines[at][..(lines[at].IndexOf('=', StringComparison.Ordinal) + 1)] + "          NaN    0.00000000    0.00000000";
        var ex = Assert.Throws<PwOutputException>(() => PwOutput.ReadAll(new StringReader(string.Join('\n', lines)), "nan.out"));
        Assert.Equal(PwFailureKind.Malformed, ex.Kind);
        Assert.Contains($"line {at + 1}", ex.Message);
        Assert.Contains("'NaN' is not a finite number", ex.Message);
        Assert.Throws<FormatException>(() => PwOutput.ParseNumbers("1.0 Infinity"));
    }

    [Fact]
    public void PwErrorMessageIsReportedWithRoutineAndLine()
    {
        string path = Generated("Si_badpseudo.out");
        var ex = Assert.Throws<PwOutputException>(() => PwOutput.ReadAll(path));
        Assert.Equal(PwFailureKind.PwError, ex.Kind);
        Assert.Null(ex.IonicStep);
        Assert.Contains("Error in routine readpp (1):", ex.Message);
        Assert.Contains("Si.does-not-exist.UPF not found", ex.Message);
        Assert.Contains(path, ex.Message);
        int errorLine = Array.FindIndex(File.ReadAllLines(path), l => l.Contains("Error in routine", StringComparison.Ordinal)) + 1;
        Assert.Equal(errorLine, ex.LineNumber);

        var tolerant = PwOutput.ReadTolerant(path);
        Assert.Empty(tolerant.Frames);
        Assert.Equal(PwFailureKind.PwError, Assert.Single(tolerant.Skipped).Kind);
    }

    [Fact]
    public void NonConvergedStepInsideARelaxIsSkippedAndTheRestKept()
    {
        // A relax whose second SCF did not converge (scf_must_converge=.false. lets pw.x go on):
        // splice the non-convergence line into step 1 in place of its '!' energy.
        var lines = File.ReadAllLines(Special("RhO2_relax.out")).ToList();
        int second = lines.FindIndex(600, l => l.StartsWith("!    total energy", StringComparison.Ordinal));
        lines[second] = "     convergence NOT achieved after  80 iterations: proceeding";
        var tolerant = PwOutput.ReadTolerant(new StringReader(string.Join('\n', lines)), "spliced.out");
        Assert.Equal(3, tolerant.Frames.Count);
        Assert.Equal([0L, 2L, 3L], tolerant.Frames.Select(f => (long)f.Info["qe_ionic_step"]));
        var skip = Assert.Single(tolerant.Skipped);
        Assert.Equal(PwFailureKind.NotConverged, skip.Kind);
        Assert.Equal(1, skip.IonicStep);
        Assert.Equal(second + 1, skip.LineNumber);
        Assert.Equal(PwFailureKind.NotConverged,
            Assert.Throws<PwOutputException>(() => PwOutput.ReadAll(new StringReader(string.Join('\n', lines)), "spliced.out")).Kind);
    }

    [Fact]
    public void OlderOutputsAreConvertedWithCodata2006()
    {
        string text = File.ReadAllText(TestData.TestFile("qe", "dataset", "BaOfix_ref.out")).Replace("v.6.7MaX", "v.6.4.1");
        var s = PwOutput.ReadAll(new StringReader(text), "v64.out").Single();
        var s67 = PwOutput.ReadLast(TestData.TestFile("qe", "dataset", "BaOfix_ref.out"));
        Assert.Equal("CODATA 2006", s.Info["qe_units"]);
        Assert.Equal(s67.EnergyEv!.Value / Ry * Ry2006, s.EnergyEv!.Value, 9);
        Assert.Equal(s67.Cell.M01 / Bohr * 0.52917720859, s.Cell.M01, 12);
        // Forcing the units overrides the banner.
        var forced = PwOutput.ReadAll(new StringReader(text), "v64.out", PwUnits.Codata2018).Single();
        Assert.Equal(s67.EnergyEv, forced.EnergyEv);
    }

    [Theory]
    [InlineData("6.7MaX", "CODATA 2018")]
    [InlineData("6.8", "CODATA 2018")]
    [InlineData("6.6", "CODATA 2006")]
    [InlineData("6.4.1", "CODATA 2006")]
    [InlineData("5", "CODATA 2006")]
    [InlineData("7.0", "CODATA 2018")]
    [InlineData("7.3.1", "CODATA 2018")]
    public void UnitsFollowTheVersion(string version, string expected) => Assert.Equal(expected, PwUnits.ForVersion(version).Name);

    [Fact]
    public void NumbersRunTogetherAreSplit()
    {
        Assert.Equal([0.0, 0.0, -0.7036], PwOutput.ParseNumbers("0.0000 0.0000-0.7036"));
        Assert.Equal([1e-8, -2.5e3], PwOutput.ParseNumbers("1.0d-8 -2.5E+03"));
        Assert.Throws<FormatException>(() => PwOutput.ParseNumbers("1.0 *****"));
    }

    [Theory]
    [InlineData("Fe1", "Fe")]
    [InlineData("O_up", "O")]
    [InlineData("Ba", "Ba")]
    [InlineData("Rh2", "Rh")]
    [InlineData("OX", "O")]
    [InlineData("si", "Si")]
    public void SpeciesLabelsMapToElements(string label, string symbol)
    {
        Assert.True(PwOutput.TryLabelToSymbol(label, out var s));
        Assert.Equal(symbol, s);
    }

    [Fact]
    public void NotAPwOutputIsReportedClearly()
    {
        var ex = Assert.Throws<PwOutputException>(() => PwOutput.ReadLast(new StringReader("hello\nworld\n"), "notes.txt"));
        Assert.Equal(PwFailureKind.Truncated, ex.Kind);
        Assert.Contains("notes.txt", ex.Message);
        Assert.Contains("not a pw.x output", ex.Message);
        Assert.Throws<FileNotFoundException>(() => PwOutput.ReadAll(Path.Combine(TestData.DataRoot, "missing.out")));
    }

    [Fact]
    public void MalformedForceLineNamesFileStepAndLine()
    {
        var lines = File.ReadAllLines(TestData.TestFile("qe", "dataset", "BaOfix_ref.out")).ToList();
        int f = lines.FindIndex(l => l.Contains("atom    2 type  2   force =", StringComparison.Ordinal));
        lines[f] = "     atom    2 type  2   force =     0.001   abc   0.0";
        var ex = Assert.Throws<PwOutputException>(() => PwOutput.ReadAll(new StringReader(string.Join('\n', lines)), "bad.out"));
        Assert.Equal(PwFailureKind.Malformed, ex.Kind);
        Assert.Equal(f + 1, ex.LineNumber);
        Assert.Contains("bad.out, ionic step 0, line", ex.Message);
        Assert.Contains("abc", ex.Message);
    }
}
