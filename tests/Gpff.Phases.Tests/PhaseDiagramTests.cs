using static Gpff.Phases.Tests.HullTestData;

namespace Gpff.Phases.Tests;

public class PhaseDiagramTests
{
    private const double Tol = 1e-9;

    [Fact]
    public void BinaryStableSetEnergiesAboveHullDecompositions()
    {
        // Ba–O, x = atomic fraction of O. Formation enthalpies (eV/atom) chosen by hand:
        //   Ba (0, 0), Ba2O (1/3, -0.8), BaO (1/2, -1.0), BaO2 (2/3, -0.4), BaO3 (3/4, +0.1), O2 (1, 0).
        // Lower hull: Ba – Ba2O – BaO – O.
        //   Ba2O vertex: the Ba–BaO line at 1/3 is -1.0·(1/3)/(1/2) = -2/3 > -0.8.
        //   BaO vertex: the Ba2O–O line at 1/2 is -0.8·(1-1/2)/(1-1/3) = -0.6 > -1.0.
        //   BaO2: BaO–O line at 2/3 is -1.0·(1-2/3)/(1/2) = -2/3, so E_hull = -0.4 + 2/3 = 4/15;
        //         decomposition: O fraction (2/3-1/2)/(1/2) = 1/3, BaO 2/3.
        //   BaO3: hull at 3/4 is -0.5, so E_hull = 0.1 + 0.5 = 0.6; O 1/2, BaO 1/2.
        var entries = new[]
        {
            Element("Ba"), Entry("Ba2O", "Ba2O", -0.8), Entry("BaO", "BaO", -1.0),
            Entry("BaO2", "BaO2", -0.4), Entry("BaO3", "BaO3", 0.1), Element("O", 2),
        };
        var pd = new PhaseDiagram(entries);

        Assert.Equal(["Ba", "Ba2O", "BaO", "O2"], pd.StableEntries.Select(e => e.Name));
        Assert.Equal(2, pd.Dimension);
        Assert.Equal(0.0, pd["BaO"].EnergyAboveHullEvPerAtom);
        Assert.Equal(4.0 / 15.0, pd["BaO2"].EnergyAboveHullEvPerAtom, Tol);
        Assert.Equal(0.6, pd["BaO3"].EnergyAboveHullEvPerAtom, Tol);
        Assert.Equal(-0.4, pd["BaO2"].FormationEnthalpyPerAtomEv, Tol);
        Assert.Equal(0.1, pd["BaO3"].FormationEnthalpyPerAtomEv, Tol);
        Assert.Equal(2.0 / 3.0, Fraction(pd["BaO2"], "BaO"), Tol);
        Assert.Equal(1.0 / 3.0, Fraction(pd["BaO2"], "O2"), Tol);
        Assert.Equal(2, pd["BaO2"].Decomposition.Count);
        Assert.Equal(0.5, Fraction(pd["BaO3"], "BaO"), Tol);
        Assert.Equal(0.5, Fraction(pd["BaO3"], "O2"), Tol);
        Assert.Equal([1.0], pd["BaO"].Decomposition.Select(p => p.AtomFraction));
        Assert.Equal(new[] { 1.0 / 3.0, 2.0 / 3.0 }, pd["BaO2"].Coordinates, new DoubleComparer(Tol));

        // Decomposition enthalpy of BaO: its formation enthalpy minus the Ba2O–O line at 1/2 (-0.6): -0.4.
        Assert.Equal(-0.4, pd["BaO"].DecompositionEnthalpyEvPerAtom!.Value, Tol);
        Assert.Null(pd["Ba"].DecompositionEnthalpyEvPerAtom);

        // Tie lines of a binary: consecutive stable phases.
        var ties = pd.TieLines.Select(t => string.Join("-", new[] { t.A.Name, t.B.Name }.Order())).Order().ToArray();
        Assert.Equal(["Ba-Ba2O", "Ba2O-BaO", "BaO-O2"], ties);

        // A new candidate BaO2 polymorph at -0.9 eV/atom would lie below the hull by 0.9 - 2/3.
        Assert.Equal(2.0 / 3.0 - 0.9, pd.GetEnergyAboveHull(Entry("BaO2-new", "BaO2", -0.9)), Tol);
        Assert.Equal(-2.0 / 3.0, pd.GetHullFormationEnthalpyPerAtom(Composition.Parse("BaO2")), Tol);
    }

    [Fact]
    public void TernaryStableSetEnergiesAboveHullDecompositions()
    {
        // Ba–Rh–O with formation enthalpies (eV/atom) BaO -1.0, RhO2 -0.9, BaRhO3 -1.04, Ba2RhO4 -1.0.
        // BaRhO3 = 0.4 BaO + 0.6 RhO2 (atom fractions) would give -0.94, so BaRhO3 is 0.1 below.
        // Ba2RhO4 (2/7, 1/7, 4/7) = 2/7 BaO + 5/7 BaRhO3 → -(2 + 5.2)/7 = -7.2/7.
        // That this is the hull: the plane μ' = (Ba -2, Rh -3.2, O 0) passes through BaO, BaRhO3 and O
        // and lies below every other point (Ba 0, Rh 0, RhO2 -3.2/3 < -0.9), so it supports the hull.
        // E_hull(Ba2RhO4) = -1.0 + 7.2/7 = 0.2/7.
        var entries = new[]
        {
            Element("Ba"), Element("Rh"), Element("O", 2),
            Entry("BaO", "BaO", -1.0), Entry("RhO2", "RhO2", -0.9),
            Entry("BaRhO3", "BaRhO3", -1.04), Entry("Ba2RhO4", "Ba2RhO4", -1.0),
        };
        var pd = new PhaseDiagram(entries);

        Assert.Equal(3, pd.Dimension);
        Assert.Equal(["Ba", "Rh", "O2", "BaO", "RhO2", "BaRhO3"], pd.StableEntries.Select(e => e.Name));
        Assert.Equal(0.2 / 7, pd["Ba2RhO4"].EnergyAboveHullEvPerAtom, Tol);
        Assert.Equal(2.0 / 7, Fraction(pd["Ba2RhO4"], "BaO"), Tol);
        Assert.Equal(5.0 / 7, Fraction(pd["Ba2RhO4"], "BaRhO3"), Tol);
        Assert.Equal(-1.04, pd["BaRhO3"].FormationEnthalpyPerAtomEv, Tol);
        // Decomposition enthalpy of BaRhO3 against all other compositions (unstable Ba2RhO4 included, as in
        // Bartel et al.): 0.7 Ba2RhO4 + 0.3 RhO2 = -0.97 beats 0.4 BaO + 0.6 RhO2 = -0.94; the plane
        // (-2.15, -2.7, 0) through Ba2RhO4, RhO2, O lies below Ba, Rh and BaO (-1.075), so -1.04 + 0.97 = -0.07.
        Assert.Equal(-0.07, pd["BaRhO3"].DecompositionEnthalpyEvPerAtom!.Value, Tol);

        // Six vertices, five on the triangle's boundary (Ba, BaO, O, RhO2, Rh) and one inside: any
        // triangulation has 3·6 − 5 − 3 = 10 edges. BaO–BaRhO3 and BaRhO3–RhO2 are edges (planes
        // (-2, -3.2, 0) and (-2.5, -2.7, 0) support them); Ba–O is not (BaO lies on it).
        var ties = pd.TieLines.Select(t => string.Join("-", new[] { t.A.Name, t.B.Name }.Order(StringComparer.Ordinal))).ToHashSet();
        Assert.Equal(10, ties.Count);
        Assert.Contains("BaO-BaRhO3", ties);
        Assert.Contains("BaRhO3-RhO2", ties);
        Assert.Contains("Ba-BaO", ties);
        Assert.DoesNotContain("Ba-O2", ties);
    }

    [Fact]
    public void QuaternaryCompoundOnEdgeOfHull()
    {
        // Ba–Rh–O–Li, every element at formation enthalpy 0. BaRhOLi (¼ each) -1.0, BaO -0.6.
        // Ba2RhO2Li (2,1,2,1)/6 = 1/3 BaO + 2/3 BaRhOLi → -0.2 - 2/3; the plane μ' = (-0.6, -1.4, -0.6, -1.4)
        // passes through BaO and BaRhOLi and below the elements, so that is the hull: with -0.8 the
        // entry is 2/3 + 0.2 - 0.8 = 1/15 above.
        var entries = new[]
        {
            Element("Ba"), Element("Rh"), Element("O", 2), Element("Li"),
            Entry("BaRhOLi", "BaRhOLi", -1.0), Entry("BaO", "BaO", -0.6), Entry("Ba2RhO2Li", "Ba2RhO2Li", -0.8),
        };
        var pd = new PhaseDiagram(entries);
        Assert.Equal(4, pd.Dimension);
        Assert.Equal(6, pd.StableEntries.Count);
        Assert.Equal(1.0 / 15, pd["Ba2RhO2Li"].EnergyAboveHullEvPerAtom, Tol);
        Assert.Equal(1.0 / 3, Fraction(pd["Ba2RhO2Li"], "BaO"), Tol);
        Assert.Equal(2.0 / 3, Fraction(pd["Ba2RhO2Li"], "BaRhOLi"), Tol);
    }

    [Fact]
    public void PseudoBinaryCompoundStableAgainstTerminalsButNotAgainstElements()
    {
        // Elemental formation enthalpies: BaO -1.0, RhO2 -0.9, BaO2 -1.2, BaRhO3 -0.96, Ba2RhO4 -0.97.
        var entries = new[]
        {
            Element("Ba"), Element("Rh"), Element("O", 2),
            Entry("BaO", "BaO", -1.0), Entry("RhO2", "RhO2", -0.9), Entry("BaO2", "BaO2", -1.2),
            Entry("BaRhO3", "BaRhO3", -0.96), Entry("Ba2RhO4", "Ba2RhO4", -0.97),
        };

        // Full ternary: BaRhO3 (0.2, 0.2, 0.6) = 0.6 BaO2 + 0.1 Rh + 0.3 RhO2 → 0.6·(-1.2) + 0.3·(-0.9) = -0.99.
        // The plane μ' = (Ba -0.9, Rh 0, O -1.35) passes through BaO2, Rh, RhO2 and below Ba, O and BaO
        // (-1.125 < -1.0), so the hull at BaRhO3 is -0.99 and E_hull = 0.03.
        var full = new PhaseDiagram(entries);
        Assert.False(full["BaRhO3"].IsStable);
        Assert.Equal(0.03, full["BaRhO3"].EnergyAboveHullEvPerAtom, Tol);
        Assert.Equal(0.6, Fraction(full["BaRhO3"], "BaO2"), Tol);
        Assert.Equal(0.1, Fraction(full["BaRhO3"], "Rh"), Tol);
        Assert.Equal(0.3, Fraction(full["BaRhO3"], "RhO2"), Tol);

        // Pseudo-binary BaO–RhO2 (terminals normalised to one atom): x = RhO2 atom fraction.
        // BaRhO3: x = 3/5, H_f = -0.96 - (0.4·(-1.0) + 0.6·(-0.9)) = -0.02 → stable.
        // Ba2RhO4: x = 3/7, H_f = -0.97 - (4/7·(-1.0) + 3/7·(-0.9)) = -0.09/7; the BaO–BaRhO3 line at 3/7
        // is -0.02·(3/7)/(3/5) = -0.1/7, so E_hull = 0.01/7 with 2/7 BaO + 5/7 BaRhO3.
        var pb = new PhaseDiagram(entries, terminals: [Composition.Parse("BaO"), Composition.Parse("RhO2")]);
        Assert.Equal(["BaO", "RhO2", "BaRhO3"], pb.StableEntries.Select(e => e.Name));
        Assert.Equal(-0.02, pb["BaRhO3"].FormationEnthalpyPerAtomEv, Tol);
        Assert.Equal(new[] { 0.4, 0.6 }, pb["BaRhO3"].Coordinates, new DoubleComparer(Tol));
        Assert.Equal(new[] { 4.0 / 7, 3.0 / 7 }, pb["Ba2RhO4"].Coordinates, new DoubleComparer(Tol));
        Assert.Equal(-0.09 / 7, pb["Ba2RhO4"].FormationEnthalpyPerAtomEv, Tol);
        Assert.Equal(0.01 / 7, pb["Ba2RhO4"].EnergyAboveHullEvPerAtom, Tol);
        Assert.Equal(2.0 / 7, Fraction(pb["Ba2RhO4"], "BaO"), Tol);
        Assert.Equal(5.0 / 7, Fraction(pb["Ba2RhO4"], "BaRhO3"), Tol);

        // Entries outside the BaO–RhO2 line are left out and reported with a reason.
        Assert.Equal(["Ba", "Rh", "O2", "BaO2"], pb.Excluded.Select(x => x.Entry.Name));
        Assert.All(pb.Excluded, x => Assert.Contains("BaO", x.Reason));
        Assert.Contains("not a combination of the terminals BaO, RhO2", pb.Excluded.Single(x => x.Entry.Name == "BaO2").Reason);

        // Inside the span of the terminals but beyond an end: O2 = -2 Ba + 2 BaO (per atom) on a Ba–BaO hull.
        var sub = new PhaseDiagram(entries, terminals: [Composition.Parse("Ba"), Composition.Parse("BaO")]);
        Assert.Contains("negative amount of Ba", sub.Excluded.Single(x => x.Entry.Name == "O2").Reason);
        var ex = Assert.Throws<KeyNotFoundException>(() => pb["BaO2"]);
        Assert.Contains("not on this hull", ex.Message);
    }

    [Fact]
    public void PressureDrivesPolymorphChangeAtHandComputedCrossover()
    {
        // Two BaO polymorphs (2 atoms each): rocksalt E = -10.0 eV, V = 38 Å³; CsCl-type E = -9.9 eV, V = 36 Å³.
        // H_cs − H_rs = 0.1 eV − P·2 Å³ → crossover P* = 0.1 / (2 · 0.0062415091) = 8.010883 GPa.
        const double ev = Units.GpaA3InEv; // eV per GPa·Å³
        Assert.Equal(0.0062415091, ev, 1e-10);
        double pStar = 0.1 / (2 * ev);
        Assert.InRange(pStar, 8.0108, 8.0110);
        var entries = new[]
        {
            new PhaseEntry("Ba", "Ba", -2.0, 63.0), new PhaseEntry("O2", "O2", -10.0, 30.0),
            new PhaseEntry("BaO-rs", "BaO", -10.0, 38.0), new PhaseEntry("BaO-cs", "BaO", -9.9, 36.0),
        };

        // 0 GPa: rocksalt stable, CsCl 0.1/2 = 0.05 eV/atom above.
        var p0 = new PhaseDiagram(entries, 0);
        Assert.True(p0["BaO-rs"].IsStable);
        Assert.Equal(0.05, p0["BaO-cs"].EnergyAboveHullEvPerAtom, Tol);
        Assert.Equal([1.0], p0["BaO-cs"].Decomposition.Select(d => d.AtomFraction));
        Assert.Equal("BaO-rs", p0["BaO-cs"].Decomposition[0].Entry.Name);

        // 10 GPa: CsCl stable, rocksalt (10·2·ev − 0.1)/2 eV/atom above.
        var p10 = new PhaseDiagram(entries, 10);
        Assert.True(p10["BaO-cs"].IsStable);
        Assert.False(p10["BaO-rs"].IsStable);
        Assert.Equal((10 * 2 * ev - 0.1) / 2, p10["BaO-rs"].EnergyAboveHullEvPerAtom, Tol);
        Assert.Equal((-2.0 + 10 * 63 * ev), p10.ReferenceEnthalpiesPerAtomEv[0], Tol);

        // Either side of the crossover.
        Assert.True(new PhaseDiagram(entries, pStar - 1e-3)["BaO-rs"].IsStable);
        Assert.True(new PhaseDiagram(entries, pStar + 1e-3)["BaO-cs"].IsStable);
        Assert.Equal(1e-3 * 2 * ev / 2, new PhaseDiagram(entries, pStar + 1e-3)["BaO-rs"].EnergyAboveHullEvPerAtom, 1e-12);
    }

    [Fact]
    public void CollinearPointOnTieLineIsNotAVertex()
    {
        // Ba2O at (1/3, -2/3) lies exactly on the Ba–BaO line (BaO at (1/2, -1)); BaO2 at (2/3, -2/3) exactly on
        // BaO–O. Both: E_hull 0, not stable; decompositions Ba 1/3 + BaO 2/3 and BaO 2/3 + O 1/3.
        // BaO3 at (3/4, 0) lies on the Ba–O line, above the BaO–O line (-0.5 at 3/4): E_hull = 0.5.
        var entries = new[]
        {
            Element("Ba"), Element("O", 2), Entry("BaO", "BaO", -1.0),
            Entry("Ba2O", "Ba2O", -2.0 / 3), Entry("BaO2", "BaO2", -2.0 / 3), Entry("BaO3", "BaO3", 0.0),
        };
        var pd = new PhaseDiagram(entries);
        Assert.Equal(["Ba", "O2", "BaO"], pd.StableEntries.Select(e => e.Name));
        Assert.False(pd["Ba2O"].IsStable);
        Assert.Equal(0.0, pd["Ba2O"].EnergyAboveHullEvPerAtom, Tol);
        Assert.Equal(1.0 / 3, Fraction(pd["Ba2O"], "Ba"), Tol);
        Assert.Equal(2.0 / 3, Fraction(pd["Ba2O"], "BaO"), Tol);
        Assert.Equal(0.0, pd["BaO2"].EnergyAboveHullEvPerAtom, Tol);
        Assert.Equal(1.0 / 3, Fraction(pd["BaO2"], "O2"), Tol);
        Assert.Equal(0.5, pd["BaO3"].EnergyAboveHullEvPerAtom, Tol);

        // Three collinear points with nothing below: zero formation enthalpy is not stable either.
        var flat = new PhaseDiagram([Element("Ba"), Element("O", 2), Entry("BaO", "BaO", 0.0)]);
        Assert.Equal(["Ba", "O2"], flat.StableEntries.Select(e => e.Name));
        Assert.Equal(0.0, flat["BaO"].EnergyAboveHullEvPerAtom);
        Assert.Single(flat.TieLines);
    }

    [Fact]
    public void CollinearInTernaryCoplanarFaceHasNoDiagonal()
    {
        // Every element at 0, BaO and RhO2 at -1: BaRhO3 = 0.4 BaO + 0.6 RhO2 (atom fractions) at -1 lies exactly
        // on the BaO–RhO2 tie line, so it is on the hull (E_hull 0) but not a vertex.
        var entries = new[]
        {
            Element("Ba"), Element("Rh"), Element("O", 2), Entry("BaO", "BaO", -1.0), Entry("RhO2", "RhO2", -1.0),
            Entry("BaRhO3", "BaRhO3", -1.0),
        };
        var pd = new PhaseDiagram(entries);
        Assert.False(pd["BaRhO3"].IsStable);
        Assert.Equal(0.0, pd["BaRhO3"].EnergyAboveHullEvPerAtom, Tol);
        Assert.Equal(0.4, Fraction(pd["BaRhO3"], "BaO"), Tol);
        Assert.Equal(0.6, Fraction(pd["BaRhO3"], "RhO2"), Tol);
    }

    [Fact]
    public void PolymorphDuplicatesOnlyTheLowestIsStable()
    {
        // Three BaO entries: two identical (-1.0 eV/atom, one written as Ba2O2 with twice the energy) and one
        // 0.05 eV/atom higher. The first of the tie is the vertex; its twin is 0 above hull, not stable, and
        // decomposes into it; the third is 0.05 above.
        var entries = new[]
        {
            Element("Ba"), Element("O", 2), Entry("BaO-a", "BaO", -1.0), Entry("BaO-b", "Ba2O2", -1.0),
            Entry("BaO-c", "BaO", -0.95),
        };
        var pd = new PhaseDiagram(entries);
        Assert.True(pd["BaO-a"].IsStable);
        Assert.False(pd["BaO-b"].IsStable);
        Assert.Equal(0.0, pd["BaO-b"].EnergyAboveHullEvPerAtom);
        Assert.Equal("BaO-a", Assert.Single(pd["BaO-b"].Decomposition).Entry.Name);
        Assert.Equal(0.05, pd["BaO-c"].EnergyAboveHullEvPerAtom, Tol);

        // Polymorphs of an element: the lowest is the reference.
        var el = new PhaseDiagram([Entry("Ba-bcc", "Ba", 0.0), Entry("Ba-fcc", "Ba", -0.01), Element("O", 2), Entry("BaO", "BaO", -1.0)]);
        Assert.Equal("Ba-fcc", el.References[0].Name);
        Assert.Equal(0.01, el["Ba-bcc"].EnergyAboveHullEvPerAtom, Tol);
        Assert.Equal(-1.0 + 0.005, el["BaO"].FormationEnthalpyPerAtomEv, Tol);
    }

    [Fact]
    public void SingleElementSystem()
    {
        // O2 -4.9 eV/atom, O3 -4.8 eV/atom, O atom -4.0 eV: only O2 is stable; 0.1 and 0.9 eV/atom above.
        var entries = new[]
        {
            new PhaseEntry("O2", "O2", -9.8), new PhaseEntry("O3", "O3", -14.4), new PhaseEntry("O", "O", -4.0),
        };
        var pd = new PhaseDiagram(entries);
        Assert.Equal(1, pd.Dimension);
        Assert.Equal(["O2"], pd.StableEntries.Select(e => e.Name));
        Assert.Equal(0.1, pd["O3"].EnergyAboveHullEvPerAtom, Tol);
        Assert.Equal(0.9, pd["O"].EnergyAboveHullEvPerAtom, Tol);
        Assert.Equal(0.1, pd["O3"].FormationEnthalpyPerAtomEv, Tol);
        Assert.Empty(pd.TieLines);
    }

    [Fact]
    public void MissingElementalReferenceIsAClearError()
    {
        var ex = Assert.Throws<ArgumentException>(() => new PhaseDiagram([Element("O", 2), Entry("BaO", "BaO", -1.0)]));
        Assert.Contains("No reference entry for terminal Ba", ex.Message);
    }

    [Fact]
    public void MissingTerminalCompoundIsAClearError()
    {
        var ex = Assert.Throws<ArgumentException>(() => new PhaseDiagram(
            [Entry("BaO", "BaO", -1.0), Entry("BaRhO3", "BaRhO3", -1.0)],
            terminals: [Composition.Parse("BaO"), Composition.Parse("RhO2")]));
        Assert.Contains("RhO2", ex.Message);
        Assert.Contains("No reference entry", ex.Message);
    }

    [Fact]
    public void MissingVolumeAtPressureIsAClearError()
    {
        var entries = new[] { new PhaseEntry("Ba", "Ba", -2.0, 63.0), new PhaseEntry("O2", "O2", -10.0) };
        var ex = Assert.Throws<ArgumentException>(() => new PhaseDiagram(entries, 10));
        Assert.Contains("'O2'", ex.Message);
        Assert.Contains("volume", ex.Message);
        Assert.Equal(2, new PhaseDiagram(entries, 0).StableEntries.Count); // fine at 0 GPa
    }

    [Fact]
    public void DependentTerminalsAreRejected()
    {
        var ex = Assert.Throws<ArgumentException>(() => new PhaseDiagram(
            [Entry("BaO", "BaO", -1.0)],
            terminals: [Composition.Parse("Ba"), Composition.Parse("O"), Composition.Parse("BaO")]));
        Assert.Contains("linearly dependent", ex.Message);
    }

    [Fact]
    public void LargeAbsoluteEnergiesKeepFullPrecision()
    {
        // Real pw.x energies are thousands of eV per atom; formation enthalpies are relative and must keep 1e-9.
        var mu = new Dictionary<string, double> { ["Ba"] = -755.123456789, ["O"] = -567.987654321 };
        PhaseEntry E(string name, string f, double hf)
        {
            var c = Composition.Parse(f);
            return new PhaseEntry(name, c, c.Elements.Sum(s => c[s] * mu[s]) + hf * c.NumAtoms);
        }

        var pd = new PhaseDiagram([E("Ba", "Ba", 0), E("O2", "O2", 0), E("BaO", "Ba4O4", -1.0), E("BaO2", "BaO2", -0.4)]);
        Assert.Equal(4.0 / 15.0, pd["BaO2"].EnergyAboveHullEvPerAtom, 1e-9);
    }

    private sealed class DoubleComparer(double tol) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tol;

        public int GetHashCode(double obj) => 0;
    }
}
