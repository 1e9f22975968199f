using CsCheck;
using Gpff.Geometry;

namespace Gpff.Phases.Tests;

public class CompositionTests
{
    [Theory]
    [InlineData("Ba2RhO4", "Ba", 2, 7)]
    [InlineData("BaO", "O", 1, 2)]
    [InlineData("Rh", "Rh", 1, 1)]
    [InlineData("(BaO)2", "Ba", 2, 4)]
    [InlineData("(BaO)2RhO2", "O", 4, 7)]
    [InlineData("Ca3(PO4)2", "O", 8, 13)]
    [InlineData("Li0.5CoO2", "Li", 0.5, 3.5)]
    [InlineData("Ba4 Rh4 O12", "O", 12, 20)]
    [InlineData("[Rh(O)2]3", "O", 6, 9)]
    public void ParseCountsAtoms(string formula, string element, double amount, double atoms)
    {
        var c = Composition.Parse(formula);
        Assert.Equal(amount, c[element], 12);
        Assert.Equal(atoms, c.NumAtoms, 12);
    }

    [Theory]
    [InlineData("XyO2", "Unknown element 'Xy' in formula 'XyO2'")]
    [InlineData("bao", "Unexpected 'b' at position 1 of formula 'bao'")]
    [InlineData("Ba(O2", "Unclosed '(' in formula 'Ba(O2'")]
    [InlineData("BaO)2", "Unbalanced ')' at position 4")]
    [InlineData("Ba0O", "Bad count '0' at position 3")]
    [InlineData("Ba1.2.3", "Bad count '1.2.3'")]
    [InlineData("", "Empty chemical formula")]
    [InlineData("Ba-O", "Unexpected character '-'")]
    public void ParseBadFormulaIsAClearError(string formula, string message)
    {
        var ex = Assert.Throws<FormatException>(() => Composition.Parse(formula));
        Assert.Contains(message, ex.Message);
    }

    [Fact]
    public void FormulaReducedFractions()
    {
        var c = Composition.Parse("Ba4Rh4O12");
        Assert.Equal("Ba4Rh4O12", c.Formula);
        Assert.Equal("BaRhO3", c.ReducedFormula);
        Assert.Equal(0.6, c.AtomicFraction("O"), 12);
        Assert.True(c.IsSameReducedComposition(Composition.Parse("BaRhO3")));
        Assert.False(c.IsSameReducedComposition(Composition.Parse("Ba2RhO4")));
        Assert.Equal(Composition.Parse("OBa"), Composition.Parse("BaO"));
        Assert.Equal(0.0, c["Li"]);
    }

    [Fact]
    public void FormulaRoundTripsThroughParse()
    {
        // Property: for any composition, Parse(Formula) gives the same amounts.
        var symbols = new[] { "Ba", "Rh", "O", "Li", "H", "Co" };
        Gen.Select(Gen.Int[0, symbols.Length - 1], Gen.Int[1, 40].Select(i => i / 4.0)).Array[1, 5]
            .Sample(parts =>
            {
                var c = new Composition(parts.Select(p => new KeyValuePair<string, double>(symbols[p.Item1], p.Item2)));
                return Composition.Parse(c.Formula).Equals(c);
            });
    }

    [Fact]
    public void EntryFromStructureUsesEnergyVolumeAndComposition()
    {
        var s = new Structure(["Ba", "O"], [new Vec3(0, 0, 0), new Vec3(2.76, 0, 0)],
            Mat3.FromRows(new Vec3(0, 2.76, 2.76), new Vec3(2.76, 0, 2.76), new Vec3(2.76, 2.76, 0)), Pbc.All)
        { EnergyEv = -1297.6135781636942 };
        var e = PhaseEntry.FromStructure(s, "BaO-rocksalt", 0.01);
        Assert.Equal("BaO", e.Composition.Formula);
        Assert.Equal(2 * 2.76 * 2.76 * 2.76, e.VolumeA3!.Value, 9);
        Assert.Equal(-1297.6135781636942 / 2 + 10 * Units.GpaA3InEv * 2 * 2.76 * 2.76 * 2.76 / 2, e.EnthalpyPerAtomEv(10), 9);

        s.EnergyEv = null;
        var ex = Assert.Throws<ArgumentException>(() => PhaseEntry.FromStructure(s, "BaO"));
        Assert.Contains("'BaO' has no energy", ex.Message);
    }
}
