using Gpff.Dynamics.Potentials;
using Gpff.Geometry;

namespace Gpff.Dynamics.Tests.Potentials;

public class StillingerWeberTests
{
    private static readonly StillingerWeber Binary = StillingerWeber.DefaultBinary();

    [Fact]
    public void DiamondSiliconHasTheLiteratureCohesiveEnergyAndNoStressAtItsLatticeConstant()
    {
        // Stillinger & Weber (1985): diamond Si, a = 5.431 Å, E = −2ε = −4.3366 eV/atom, the minimum of E(a).
        var sw = StillingerWeber.Silicon();
        var r = sw.Calculate(TestStructures.Diamond(5.431));
        Assert.Equal(-4.3366, r.EnergyEv!.Value / 8, 3e-4);
        Assert.All(r.ForcesEvPerA!, f => Assert.True(f.Length < 1e-10));
        var stress = r.StressEvPerA3!.Value;
        Assert.True(Math.Abs(stress.Pressure) < 2e-4, $"pressure {stress.Pressure} eV/Å³");
        Assert.Equal(stress.XX, stress.YY, 1e-12);
        Assert.Equal(0, stress.XY, 1e-12);

        // Compressed: positive pressure (ASE sign, negative = compressive stress); expanded: negative.
        Assert.True(sw.Calculate(TestStructures.Diamond(5.3)).StressEvPerA3!.Value.Pressure > 0.01);
        Assert.True(sw.Calculate(TestStructures.Diamond(5.55)).StressEvPerA3!.Value.Pressure < -0.005);
    }

    [Fact]
    public void SmallCellsWhereAtomsSeeTheirOwnImagesMatchTheirSupercell()
    {
        // Primitive fcc cell of diamond (2 atoms), edges 3.84 Å, and a simple-cubic 1-atom cell of edge 2.6 Å
        // (its atom's own images are its neighbours).
        double a = 5.431;
        var prim = Mat3.FromRows(new Vec3(0, a / 2, a / 2), new Vec3(a / 2, 0, a / 2), new Vec3(a / 2, a / 2, 0));
        var primitive = new Structure([14, 32], [Vec3.Zero, new Vec3(a / 4, a / 4, a / 4)], prim, Pbc.All);
        var cubic = new Structure([32], [new Vec3(0.1, 0.2, 0.3)], Mat3.Diagonal(2.6, 2.7, 2.8), Pbc.All);
        foreach (var small in new[] { primitive, cubic })
        {
            var big = small.Repeat(2, 3, 2);
            var rs = Binary.Calculate(small);
            var rb = Binary.Calculate(big);
            Assert.Equal(rs.EnergyEv!.Value * 12, rb.EnergyEv!.Value, 1e-9 * Math.Abs(rb.EnergyEv!.Value));
            var ds = rs.StressEvPerA3!.Value - rb.StressEvPerA3!.Value;
            Assert.True(ds.ToArray().All(x => Math.Abs(x) < 1e-10));
            for (int i = 0; i < big.AtomCount; i++)
            {
                Assert.True((rb.ForcesEvPerA![i] - rs.ForcesEvPerA![i % small.AtomCount]).Length < 1e-10);
            }
        }
    }

    public static TheoryData<string> Configurations => new() { "rattled", "self-image", "cluster" };

    private static Structure Configuration(string name) => name switch
    {
        "rattled" => TestStructures.RattledBinary(seed: 1),
        "self-image" => new Structure([14, 32], [new Vec3(0.1, 0.2, 0.05), new Vec3(1.3, 1.25, 1.2)],
            new Mat3(2.9, 0.2, 0.1, 0.3, 2.8, -0.2, 0.1, 0.2, 3.0), Pbc.All),
        "cluster" => new Structure([14, 32, 14, 32, 14], TestStructures.RattledBinary(seed: 2).Positions[..5], Mat3.Diagonal(20, 20, 20), new Pbc(false, false, false)),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Configurations))]
    public void ForcesAreMinusTheFiniteDifferenceGradientOfTheEnergy(string name)
    {
        var s = Configuration(name);
        var r = Binary.Calculate(s);
        const double h = 1e-5;
        double maxForce = r.ForcesEvPerA!.Max(f => f.Length);
        Assert.True(maxForce > 0.1, $"a test configuration with real forces ({maxForce} eV/Å)");
        for (int i = 0; i < s.AtomCount; i++)
        {
            for (int d = 0; d < 3; d++)
            {
                var step = d switch { 0 => new Vec3(h, 0, 0), 1 => new Vec3(0, h, 0), _ => new Vec3(0, 0, h) };
                var plus = s.Clone();
                plus.Positions[i] += step;
                var minus = s.Clone();
                minus.Positions[i] -= step;
                double fd = -(Binary.Calculate(plus).EnergyEv!.Value - Binary.Calculate(minus).EnergyEv!.Value) / (2 * h);
                Assert.True(Math.Abs(fd - r.ForcesEvPerA![i][d]) < 1e-6 * Math.Max(1, maxForce), $"atom {i} axis {d}: analytic {r.ForcesEvPerA![i][d]}, finite difference {fd}");
            }
        }
    }

    [Theory]
    [InlineData("rattled")]
    [InlineData("self-image")]
    public void StressIsTheFiniteDifferenceStrainDerivativeOverVolume(string name)
    {
        var s = Configuration(name);
        var r = Binary.Calculate(s);
        var stress = r.StressEvPerA3!.Value;
        const double h = 1e-6;
        double scale = stress.ToArray().Max(Math.Abs);
        Assert.True(scale > 1e-3, $"a configuration with real stress ({scale} eV/Å³)");
        for (int k = 0; k < 6; k++)
        {
            var e = new double[6];
            e[k] = h;
            var ep = Binary.Calculate(s.Strained(Voigt.FromSpan(e))).EnergyEv!.Value;
            e[k] = -h;
            var em = Binary.Calculate(s.Strained(Voigt.FromSpan(e))).EnergyEv!.Value;

            // Off-diagonal Voigt strain moves both ε_ab and ε_ba: dE/de = 2Vσ_ab.
            double fd = (ep - em) / (2 * h) / s.VolumeA3 / (k < 3 ? 1 : 2);
            Assert.True(Math.Abs(fd - stress[k]) < 1e-6 * Math.Max(scale, 1e-2), $"component {k}: analytic {stress[k]}, finite difference {fd}");
        }
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void LocalEnergiesSumToTheTotalAndForcesSumToZero(string name)
    {
        var r = Binary.Calculate(Configuration(name));
        Assert.Equal(r.EnergyEv!.Value, r.LocalEnergiesEv!.Sum(), 1e-10);
        Assert.True(r.LocalEnergiesEv!.Distinct().Count() > 1);
        var total = r.ForcesEvPerA!.Aggregate(Vec3.Zero, (a, b) => a + b);
        Assert.True(total.Length < 1e-10);
    }

    [Fact]
    public void EnergyForcesAndStressAreInvariantUnderRotationTranslationAndPermutation()
    {
        var s = TestStructures.RattledBinary(seed: 3);
        var r = Binary.Calculate(s);

        // Rotation R (column vectors): positions and cell rows rotate, forces rotate, σ → R σ Rᵀ.
        var rot = TestStructures.RandomRotation(4);
        var rotated = s.Deformed(rot);
        var rr = Binary.Calculate(rotated);
        Assert.Equal(r.EnergyEv!.Value, rr.EnergyEv!.Value, 1e-10);
        for (int i = 0; i < s.AtomCount; i++)
        {
            Assert.True((rr.ForcesEvPerA![i] - rot * r.ForcesEvPerA![i]).Length < 1e-10);
        }

        var sigma = rot * r.StressEvPerA3!.Value.ToMatrix() * rot.Transpose();
        Assert.True((Voigt.FromMatrix(sigma) - rr.StressEvPerA3!.Value).ToArray().All(x => Math.Abs(x) < 1e-12));

        // Translation (also wraps atoms across the cell boundary).
        var shifted = s.Clone();
        for (int i = 0; i < s.AtomCount; i++)
        {
            shifted.Positions[i] += new Vec3(3.3, -7.1, 12.9);
        }

        var rt = Binary.Calculate(shifted);
        Assert.Equal(r.EnergyEv!.Value, rt.EnergyEv!.Value, 1e-10);
        Assert.True(r.ForcesEvPerA!.Zip(rt.ForcesEvPerA!).All(p => (p.First - p.Second).Length < 1e-10));

        // Permutation of the atoms.
        var perm = Enumerable.Range(0, s.AtomCount).OrderBy(i => (i * 7919) % 13).ToArray();
        var permuted = new Structure(perm.Select(i => s.AtomicNumbers[i]), perm.Select(i => s.Positions[i]).ToArray(), s.Cell, s.Pbc);
        var rp = Binary.Calculate(permuted);
        Assert.Equal(r.EnergyEv!.Value, rp.EnergyEv!.Value, 1e-10);
        for (int k = 0; k < perm.Length; k++)
        {
            Assert.True((rp.ForcesEvPerA![k] - r.ForcesEvPerA![perm[k]]).Length < 1e-10);
            Assert.Equal(r.LocalEnergiesEv![perm[k]], rp.LocalEnergiesEv![k], 1e-10);
        }
    }

    [Fact]
    public void ThreeBodyTermIsGenuine()
    {
        // Without the three-body term the energy of a distorted structure changes.
        var s = TestStructures.RattledBinary(seed: 5);
        var p = Binary.PairParameters(14, 32);
        var pairsOnly = new StillingerWeber(
            [(14, 14, Binary.PairParameters(14, 14)), (32, 32, Binary.PairParameters(32, 32)), (14, 32, p)],
            from c in new[] { 14, 32 } from a in new[] { 14, 32 } from b in new[] { 14, 32 } where a <= b select (c, a, b, new StillingerWeberTriplet(0, -1.0 / 3)));
        double e2 = pairsOnly.Calculate(s).EnergyEv!.Value;
        double e = Binary.Calculate(s).EnergyEv!.Value;
        Assert.True(e - e2 > 0.1, $"three-body energy {e - e2} eV");
        Assert.Equal(21.0 * Math.Sqrt(2.1683 * Math.Sqrt(2.1683 * 1.93)), Binary.TripletParameters(14, 14, 32).LambdaEv, 1e-12);
    }

    [Fact]
    public void UnknownSpeciesAndCoincidentAtomsAreClearErrors()
    {
        var s = new Structure([14, 8], [Vec3.Zero, new Vec3(2, 0, 0)], Mat3.Diagonal(10, 10, 10), Pbc.All);
        var ex = Assert.Throws<UnknownSpeciesException>(() => Binary.Calculate(s));
        Assert.Contains("Atom 1 is O", ex.Message);
        Assert.Contains("Si, Ge", ex.Message);

        var c = new Structure([14, 14], [Vec3.Zero, Vec3.Zero], Mat3.Diagonal(10, 10, 10), Pbc.All);
        var ex2 = Assert.Throws<InvalidStructureException>(() => Binary.Calculate(c));
        Assert.Contains("Atoms 0 and 1 coincide", ex2.Message);

        var ex3 = Assert.Throws<ArgumentException>(() => new StillingerWeber([(14, 14, StillingerWeberPair.Silicon)], []));
        Assert.Contains("The triplet Si(Si, Si) has no parameters", ex3.Message);
    }

    [Fact]
    public void CancellationIsHonoured()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.Throws<OperationCanceledException>(() => Binary.Calculate(TestStructures.RattledBinary(1), cts.Token));
    }
}
