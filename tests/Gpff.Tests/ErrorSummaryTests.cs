using Gpff.Geometry;
using Gpff.Regression;
using Xunit;

namespace Gpff.Tests;

/// <summary>
/// The error table users quote (training residuals, held-out errors): energy MAE per atom in meV/atom,
/// force MAE and RMSE over components in meV/Å, stress MAE over Voigt components in GPa, per reduced
/// formula and overall, on hand-made labels and predictions whose errors are summed here by hand.
/// </summary>
public class ErrorSummaryTests
{
    private const double GpaPerEvPerA3 = 160.21766208; // DESIGN.md: 1 eV/Å³ = 160.21766208 GPa

    private static Structure Labelled(int[] species, double energy, Voigt? stress)
    {
        var positions = species.Select((_, i) => new Vec3(1.2 * i, 0.3 * i, 0.1)).ToArray();
        var cell = Mat3.FromRows(new Vec3(6, 0, 0), new Vec3(0, 6, 0), new Vec3(0, 0, 6));
        return new Structure(species, positions, cell, Pbc.All)
        {
            EnergyEv = energy,
            ForcesEvPerA = new Vec3[species.Length], // true forces all zero: a prediction's force is its error
            StressEvPerA3 = stress,
        };
    }

    private static GpPrediction Prediction(double energy, Vec3[] forces, Voigt stress) => new()
    {
        EnergyEv = energy,
        EnergyStdEv = double.NaN,
        ForcesEvPerA = forces,
        StressEvPerA3 = stress,
        LocalEnergiesEv = new double[forces.Length],
    };

    [Fact]
    public void ErrorSummaryAveragesEnergyErrorsPerAtomAndComponentsOverAllLabels()
    {
        var zero = new Voigt(0, 0, 0, 0, 0, 0);
        var pairs = new List<(Structure Truth, GpPrediction Prediction)>
        {
            // Si2: energy off by 0.3 eV over 2 atoms = 150 meV/atom; force errors 10 and −10 meV/Å
            // (|·| sum 20, squares 200, 6 components); stress xx off by 0.001 eV/Å³.
            (Labelled([14, 14], -10.0, zero),
             Prediction(-10.3, [new Vec3(0.01, 0, 0), new Vec3(-0.01, 0, 0)], new Voigt(0.001, 0, 0, 0, 0, 0))),
            // Si4: 0.4 eV over 4 atoms = 100 meV/atom; forces 20 and −40 meV/Å (sum 60, squares 2000,
            // 12 components); stress off by 0.002 (yy) and −0.003 (xy).
            (Labelled([14, 14, 14, 14], -20.0, zero),
             Prediction(-19.6, [new Vec3(0, 0.02, 0), new Vec3(0, 0, -0.04), new Vec3(0, 0, 0), new Vec3(0, 0, 0)], new Voigt(0, 0.002, 0, 0, 0, -0.003))),
            // SiGe2: 0.9 eV over 3 atoms = 300 meV/atom; forces 3, 4 and −12 meV/Å (sum 19, squares 169,
            // 9 components); stress yz off by 0.004.
            (Labelled([14, 32, 32], -9.0, zero),
             Prediction(-8.1, [new Vec3(0.003, 0.004, 0), new Vec3(0, 0, 0), new Vec3(0, 0, -0.012)], new Voigt(0, 0, 0, 0.004, 0, 0))),
        };

        var table = ErrorSummary.Compute(pairs);

        Assert.Equal(["Ge2Si", "Si", "all"], table.Select(r => r.Composition));
        Assert.Equal([1, 2, 3], table.Select(r => r.Structures));

        var siGe2 = table[0];
        Assert.Equal(300.0, siGe2.EnergyMaeMevPerAtom, 1e-9);
        Assert.Equal(19.0 / 9, siGe2.ForceMaeMevPerA, 1e-9);
        Assert.Equal(Math.Sqrt(169.0 / 9), siGe2.ForceRmseMevPerA, 1e-9);
        Assert.Equal(0.004 * GpaPerEvPerA3 / 6, siGe2.StressMaeGpa, 1e-12);

        // Si2 and Si4 share the reduced formula Si: the mean of 150 and 100 meV/atom, not of 300 and
        // 400 meV per structure, nor 0.7 eV over 6 atoms.
        var si = table[1];
        Assert.Equal(125.0, si.EnergyMaeMevPerAtom, 1e-9);
        Assert.Equal((20.0 + 60.0) / 18, si.ForceMaeMevPerA, 1e-9);
        Assert.Equal(Math.Sqrt((200.0 + 2000.0) / 18), si.ForceRmseMevPerA, 1e-9);
        Assert.Equal((0.001 + 0.002 + 0.003) * GpaPerEvPerA3 / 12, si.StressMaeGpa, 1e-12);

        var all = table[2];
        Assert.Equal((150.0 + 100.0 + 300.0) / 3, all.EnergyMaeMevPerAtom, 1e-9);
        Assert.Equal((20.0 + 60.0 + 19.0) / 27, all.ForceMaeMevPerA, 1e-9);
        Assert.Equal(Math.Sqrt((200.0 + 2000.0 + 169.0) / 27), all.ForceRmseMevPerA, 1e-9);
        Assert.Equal((0.001 + 0.002 + 0.003 + 0.004) * GpaPerEvPerA3 / 18, all.StressMaeGpa, 1e-12);
    }

    [Fact]
    public void ErrorSummaryIsNotANumberForALabelKindNoStructureHas()
    {
        var truth = Labelled([14, 32], -5.0, null);
        truth.ForcesEvPerA = null;
        var table = ErrorSummary.Compute([(truth, Prediction(-5.1, [new Vec3(1, 0, 0), new Vec3(0, 0, 0)], new Voigt(1, 0, 0, 0, 0, 0)))]);
        Assert.Equal(["GeSi", "all"], table.Select(r => r.Composition));
        Assert.Equal(50.0, table[1].EnergyMaeMevPerAtom, 1e-9);
        Assert.True(double.IsNaN(table[1].ForceMaeMevPerA));
        Assert.True(double.IsNaN(table[1].ForceRmseMevPerA));
        Assert.True(double.IsNaN(table[1].StressMaeGpa));
    }
}
