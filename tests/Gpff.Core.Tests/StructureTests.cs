using Gpff.Geometry;

namespace Gpff.Core.Tests;

public class StructureTests
{
    private static Structure Triclinic(int n = 6, int seed = 1)
    {
        var rng = new Random(seed);
        var cell = Mat3.FromRows(new Vec3(4.2, 0, 0), new Vec3(1.3, 3.9, 0), new Vec3(-0.7, 0.9, 5.1));
        var frac = Enumerable.Range(0, n).Select(_ => new Vec3(rng.NextDouble(), rng.NextDouble(), rng.NextDouble())).ToArray();
        return new Structure(Enumerable.Range(0, n).Select(i => i % 3 == 0 ? "Ba" : i % 3 == 1 ? "Rh" : "O"), frac.Select(f => f * cell).ToArray(), cell, Pbc.All);
    }

    [Fact]
    public void FractionalAndCartesianConversionsInvertEachOther()
    {
        var s = Triclinic();
        var frac = s.FractionalPositions();
        for (int i = 0; i < s.AtomCount; i++)
        {
            Assert.True((s.ToCartesian(frac[i]) - s.Positions[i]).Length < 1e-12);
            Assert.True((s.ToFractional(s.Positions[i]) - frac[i]).Length < 1e-12);
        }

        var copy = s.CloneWithoutLabels();
        copy.SetFractionalPositions(frac);
        Assert.All(Enumerable.Range(0, s.AtomCount), i => Assert.True((copy.Positions[i] - s.Positions[i]).Length < 1e-12));
    }

    [Fact]
    public void VolumeAndPerpendicularWidthsFollowTheCell()
    {
        var s = Triclinic();
        var c = s.Cell;
        Assert.Equal(Vec3.Dot(c.Row0, Vec3.Cross(c.Row1, c.Row2)), s.VolumeA3, 12);
        var w = s.PerpendicularWidthsA();
        // The width along a is the distance between the planes spanned by b and c.
        var nrm = Vec3.Cross(c.Row1, c.Row2);
        Assert.Equal(Math.Abs(Vec3.Dot(c.Row0, nrm / nrm.Length)), w.X, 12);
        Assert.True(w.X < c.Row0.Length && w.Y < c.Row1.Length);
    }

    [Fact]
    public void WrapMovesAtomsIntoTheCellAlongPeriodicAxesOnlyByLatticeVectors()
    {
        var s = Triclinic();
        s.Pbc = new Pbc(true, true, false);
        var original = s.FractionalPositions();
        for (int i = 0; i < s.AtomCount; i++)
        {
            s.Positions[i] += (i - 3) * s.Cell.Row0 - 2 * s.Cell.Row1 + (i + 1) * s.Cell.Row2;
        }

        s.Wrap();
        var f = s.FractionalPositions();
        for (int i = 0; i < s.AtomCount; i++)
        {
            Assert.InRange(f[i].X, 0, 1 - 1e-15);
            Assert.InRange(f[i].Y, 0, 1 - 1e-15);
            Assert.Equal(original[i].X, f[i].X, 10);
            Assert.Equal(original[i].Y, f[i].Y, 10);
            Assert.Equal(original[i].Z + i + 1, f[i].Z, 10); // c is not periodic: untouched
        }
    }

    [Fact]
    public void SupercellRepeatsAtomsAndLabelsAndKeepsNeighbourEnvironments()
    {
        var s = Triclinic(4);
        s.EnergyEv = -10;
        s.ForcesEvPerA = Enumerable.Range(0, 4).Select(i => new Vec3(i, -i, 0.5)).ToArray();
        s.StressEvPerA3 = new Voigt(1, 2, 3, 4, 5, 6);
        var big = s.Repeat(2, 3, 1);
        Assert.Equal(24, big.AtomCount);
        Assert.Equal(-60, big.EnergyEv);
        Assert.Equal(s.StressEvPerA3, big.StressEvPerA3);
        Assert.Equal(6 * s.VolumeA3, big.VolumeA3, 9);
        Assert.Equal(s.ForcesEvPerA[1], big.ForcesEvPerA![5]);
        // Every atom of the supercell sees the same sorted neighbour distances as its original.
        var nl = NeighborList.Build(s, 5.0);
        var nlBig = NeighborList.Build(big, 5.0);
        for (int k = 0; k < big.AtomCount; k++)
        {
            var a = nl.Distances(k % 4).ToArray().Order().ToArray();
            var b = nlBig.Distances(k).ToArray().Order().ToArray();
            Assert.Equal(a.Length, b.Length);
            for (int m = 0; m < a.Length; m++)
            {
                Assert.Equal(a[m], b[m], 9);
            }
        }
    }

    [Fact]
    public void StrainDeformsCellAndPositionsHomogeneously()
    {
        var s = Triclinic();
        var eps = new Voigt(0.01, -0.02, 0.005, 0.003, -0.004, 0.002);
        var t = s.Strained(eps);
        var f = Mat3.Identity + eps.ToMatrix();
        Assert.Equal(s.VolumeA3 * f.Determinant, t.VolumeA3, 9);
        // Fractional coordinates are unchanged by a homogeneous deformation.
        var a = s.FractionalPositions();
        var b = t.FractionalPositions();
        Assert.All(Enumerable.Range(0, s.AtomCount), i => Assert.True((a[i] - b[i]).Length < 1e-12));
        Assert.Null(t.EnergyEv);
    }

    [Fact]
    public void ElementsKnowSymbolsNumbersAndMassesUpToBismuth()
    {
        for (int z = 1; z <= 83; z++)
        {
            var sym = Elements.Symbol(z);
            Assert.Equal(z, Elements.AtomicNumber(sym));
            Assert.True(Elements.MassAmu(z) > Elements.MassAmu(z - 1 > 0 ? z - 1 : z) - 2.0 || z is 19 or 28 or 53 or 90, $"mass of {sym}");
            Assert.True(Elements.MassAmu(z) > 0);
        }

        Assert.Equal(137.327, Elements.MassAmu(Elements.AtomicNumber("Ba")), 3);
        Assert.Equal(102.9055, Elements.MassAmu(Elements.AtomicNumber("Rh")), 3);
        Assert.Equal(15.999, Elements.MassAmu(8), 3);
        Assert.Equal(208.98, Elements.MassAmu(83), 2);
        Assert.Equal("Ba2O4Rh", new Structure(["Ba", "Rh", "O", "O", "Ba", "O", "O"], new Vec3[7], Mat3.Zero, Pbc.None).HillFormula());
        Assert.Equal("BaO4Rh2", new Structure(["Ba", "Rh", "O", "O", "Ba", "O", "O", "Rh", "O", "O", "O", "O", "Rh", "Rh"], new Vec3[14], Mat3.Zero, Pbc.None).ReducedFormula());
        Assert.Equal("O2Rh", new Structure(["Rh", "Rh", "O", "O", "O", "O"], new Vec3[6], Mat3.Zero, Pbc.None).ReducedFormula());
        Assert.Equal("CH4", new Structure(["H", "C", "H", "H", "H"], new Vec3[5], Mat3.Zero, Pbc.None).ReducedFormula());
    }

    [Fact]
    public void UnknownSpeciesIsAClearErrorNamingTheAtom()
    {
        var e = Assert.Throws<UnknownSpeciesException>(() => new Structure(["Ba", "Xq"], [Vec3.Zero, new Vec3(1, 1, 1)], Mat3.Diagonal(4, 4, 4), Pbc.All));
        Assert.Contains("Atom 1", e.Message);
        Assert.Contains("'Xq'", e.Message);
        var e2 = Assert.Throws<UnknownSpeciesException>(() => new Structure([56, 200], [Vec3.Zero, new Vec3(1, 1, 1)], Mat3.Diagonal(4, 4, 4), Pbc.All));
        Assert.Contains("atomic number 200", e2.Message);
    }

    [Fact]
    public void NanOrInfiniteCoordinatesAreAClearErrorNamingTheAtom()
    {
        var s = Triclinic();
        s.Positions[4] = new Vec3(1, double.NaN, 0);
        var e = Assert.Throws<InvalidStructureException>(() => s.Validate());
        Assert.Contains("Atom 4 (Rh)", e.Message);
        Assert.Contains("non-finite", e.Message);
        s.Positions[4] = new Vec3(1, 0, double.PositiveInfinity);
        Assert.Contains("Atom 4", Assert.Throws<InvalidStructureException>(() => s.Validate()).Message);
        s.Positions[4] = Vec3.Zero;
        s.Cell = new Mat3(4, 0, 0, 0, double.NaN, 0, 0, 0, 4);
        Assert.Contains("non-finite element", Assert.Throws<InvalidStructureException>(() => s.Validate()).Message);
    }

    [Fact]
    public void SingularCellIsAClearError()
    {
        var s = Triclinic();
        s.Cell = Mat3.FromRows(new Vec3(4, 0, 0), new Vec3(0, 4, 0), new Vec3(2, 2, 0));
        var e = Assert.Throws<InvalidStructureException>(() => s.Validate(minimumDistanceA: 0));
        Assert.Contains("singular", e.Message);
        Assert.Contains("linearly dependent", e.Message);
    }

    [Fact]
    public void LeftHandedCellIsAnErrorUnlessAllowed()
    {
        var s = Triclinic();
        s.Cell = Mat3.FromRows(s.Cell.Row1, s.Cell.Row0, s.Cell.Row2);
        s.SetFractionalPositions(Enumerable.Range(0, s.AtomCount).Select(i => new Vec3(0.15 * i, 0.1, 0.12 * i)).ToArray());
        var e = Assert.Throws<InvalidStructureException>(() => s.Validate());
        Assert.Contains("left-handed", e.Message);
        Assert.Contains("wrong order", e.Message);
        s.Validate(allowLeftHandedCell: true);
    }

    [Fact]
    public void AtomsCloserThanTheMinimumDistanceAreNamed()
    {
        var s = new Structure(["Ba", "O", "O"], [new Vec3(0, 0, 0), new Vec3(2, 0, 0), new Vec3(2.05, 0, 0)], Mat3.Diagonal(5, 5, 5), Pbc.All);
        var e = Assert.Throws<InvalidStructureException>(() => s.Validate(minimumDistanceA: 0.1));
        Assert.Contains("Atom 1 (O) is 0.05 Å from atom 2 (O)", e.Message);
        Assert.Contains("minimum distance 0.1 Å", e.Message);
        s.Validate(minimumDistanceA: 0.04);

        // Across the periodic boundary, and an atom close to its own image in a thin cell.
        var t = new Structure(["O", "O"], [new Vec3(0.02, 1, 1), new Vec3(4.97, 1, 1)], Mat3.Diagonal(5, 5, 5), Pbc.All);
        Assert.Contains("0.05 Å", Assert.Throws<InvalidStructureException>(() => t.Validate()).Message);
        var thin = new Structure(["O"], [Vec3.Zero], Mat3.Diagonal(5, 5, 0.05), Pbc.All);
        Assert.Contains("its own periodic image", Assert.Throws<InvalidStructureException>(() => thin.Validate()).Message);
    }

    [Fact]
    public void StructureRejectsMismatchedLabelSizes()
    {
        var s = Triclinic(3);
        var e = Assert.Throws<ArgumentException>(() => s.ForcesEvPerA = new Vec3[2]);
        Assert.Contains("2 forces were given for 3 atoms", e.Message);
        Assert.Null(s.ForcesEvPerA);
    }

    [Fact]
    public void UnitConstantsAreConsistent()
    {
        Assert.Equal(160.21766208, Units.EvPerA3ToGpa(1), 10);
        Assert.Equal(0.0062415091, Units.GpaA3InEv, 10);
        Assert.Equal(1.0, Units.GpaToEvPerA3(Units.EvPerA3ToGpa(1)), 14);
        Assert.Equal(0.01 / 160.21766208, Units.KbarInEvPerA3 / 10, 14);
        Assert.Equal(-2.0, new Voigt(2, 2, 2, 1, 1, 1).Pressure);
    }
}
