using Gpff.Geometry;

namespace Gpff.Dynamics.Tests;

/// <summary><see cref="TrainingDistances"/>: the shortest distance of each species pair in training data, and the collapse check.</summary>
public class TrainingDistancesTests
{
    /// <summary>Rock-salt BaO-like cell (Ba–O = a/2, O–O = Ba–Ba = a/√2), periodic.</summary>
    private static Structure RockSalt(double a)
    {
        var cell = Mat3.Diagonal(a, a, a);
        var fractional = new Vec3[] { new(0, 0, 0), new(0, 0.5, 0.5), new(0.5, 0, 0.5), new(0.5, 0.5, 0), new(0.5, 0, 0), new(0, 0.5, 0), new(0, 0, 0.5), new(0.5, 0.5, 0.5) };
        return new Structure(["Ba", "Ba", "Ba", "Ba", "O", "O", "O", "O"], fractional.Select(f => f * cell).ToArray(), cell, Pbc.All);
    }

    [Fact]
    public void ShortestDistancesArePerSpeciesPairOverAllStructuresAndImages()
    {
        var d = TrainingDistances.FromStructures([RockSalt(5.6), RockSalt(5.4)], radiusA: 5);
        Assert.Equal(2.7, d.Shortest(56, 8)!.Value, 12);
        Assert.Equal(2.7, d.Shortest(8, 56)!.Value, 12);          // either order
        Assert.Equal(5.4 / Math.Sqrt(2), d.Shortest(8, 8)!.Value, 12);
        Assert.Equal(5.4 / Math.Sqrt(2), d.Shortest(56, 56)!.Value, 12);
        Assert.Null(d.Shortest(56, 45));                            // Rh never seen
        Assert.Equal(3, d.ShortestA.Count);

        // Beyond the radius a pair is not recorded (and so not checked).
        var near = TrainingDistances.FromStructures([RockSalt(5.6)], radiusA: 3);
        Assert.Null(near.Shortest(8, 8));
        Assert.Equal(2.8, near.Shortest(8, 56)!.Value, 12);
    }

    [Fact]
    public void AStructureInsideTheTrainingRangePasses()
    {
        var d = TrainingDistances.FromStructures([RockSalt(5.6)], radiusA: 5);
        Assert.Null(d.Check(RockSalt(5.6)));
        Assert.Null(d.Check(RockSalt(5.6 * (TrainingDistances.CollapseFraction + 0.01))));   // compressed, still inside
    }

    [Fact]
    public void ACollapsedPairIsNamedWithItsDistanceAndTheTrainingOne()
    {
        var d = TrainingDistances.FromStructures([RockSalt(5.6)], radiusA: 5);
        var s = RockSalt(5.6);
        var pos = s.Positions.ToArray();
        pos[5] = pos[4] + new Vec3(0.07, 0, 0);                    // O–O at 0.07 Å, as the collapsed 6H cells
        var collapsed = new Structure(s.AtomicNumbers.ToArray(), pos, s.Cell, s.Pbc);
        var v = d.Check(collapsed);
        Assert.NotNull(v);
        Assert.Equal((8, 8), (v.SpeciesA, v.SpeciesB));
        Assert.Equal([4, 5], new[] { v.AtomA, v.AtomB }.Order());
        Assert.Equal(0.07, v.DistanceA, 9);
        Assert.Equal(5.6 / Math.Sqrt(2), v.ShortestInTrainingA, 12);
        Assert.Equal("left the training data: O–O at 0.07 Å (atoms 5 and 6), shortest in training 3.96 Å", v.Message);

        // A uniformly compressed cell below the fraction: the pair furthest below its range is reported.
        var squeezed = d.Check(RockSalt(5.6 * 0.7));
        Assert.NotNull(squeezed);
        Assert.Equal(0.7, squeezed.DistanceA / squeezed.ShortestInTrainingA, 9);
    }

    [Fact]
    public void AnExpandedCellIsNamedWithItsVolumeAndTheLargestInTraining()
    {
        // Training: rock salt at a = 5.4 and 5.6 Å, so the largest BaO volume is 5.6³/8 Å³/atom.
        var d = TrainingDistances.FromStructures([RockSalt(5.4), RockSalt(5.6)], radiusA: 5);
        double largest = 5.6 * 5.6 * 5.6 / 8;
        Assert.Equal(largest, d.LargestVolumePerAtomA3["BaO"], 12);

        // Just inside and just outside ExpansionFactor × the largest volume (edge a·∛factor).
        double edge = 5.6 * Math.Cbrt(TrainingDistances.ExpansionFactor);
        Assert.Null(d.CheckExpansion(RockSalt(edge * 0.999)));
        Assert.Null(d.CheckRange(RockSalt(edge * 0.999)));
        var v = d.CheckExpansion(RockSalt(edge * 1.001));
        Assert.NotNull(v);
        Assert.Equal("BaO", v.Formula);
        Assert.Equal(largest, v.LargestInTrainingA3, 12);
        Assert.Equal(TrainingDistances.ExpansionFactor * 1.001 * 1.001 * 1.001, v.VolumePerAtomA3 / largest, 9);
        Assert.Equal("expanded", v.Outcome);

        // What a user reads: the volume reached, the ratio, the composition and the training's largest.
        var far = d.CheckRange(RockSalt(7.0));
        Assert.IsType<VolumeViolation>(far);
        Assert.Equal("left the training data: expanded to 42.9 Å³/atom, 1.95 × the largest BaO volume in training (22.0 Å³/atom)", far.Message);

        // A collapse is reported before an expansion when a structure has both; a composition without training
        // frames, a sparse model's distances (no cells) and a cluster are not checked for expansion.
        var both = RockSalt(7.0);
        var pos = both.Positions.ToArray();
        pos[5] = pos[4] + new Vec3(0.5, 0, 0);
        var collapsedAndExpanded = new Structure(both.AtomicNumbers.ToArray(), pos, both.Cell, both.Pbc);
        Assert.Equal("collapsed", d.CheckRange(collapsedAndExpanded)!.Outcome);
        var rhodium = new Structure(["Rh"], [Vec3.Zero], Mat3.Diagonal(9, 9, 9), Pbc.All);
        Assert.Null(d.CheckExpansion(rhodium));
        Assert.Null(TrainingDistances.FromPairs([(56, 8, 2.8)], 5).CheckExpansion(RockSalt(7.0)));
        Assert.Empty(TrainingDistances.FromPairs([(56, 8, 2.8)], 5).LargestVolumePerAtomA3);
        var cluster = RockSalt(7.0);
        var open = new Structure(cluster.AtomicNumbers.ToArray(), cluster.Positions.ToArray(), cluster.Cell, Pbc.None);
        Assert.Null(d.CheckExpansion(open));

        Assert.Throws<ArgumentOutOfRangeException>(() => d.CheckExpansion(RockSalt(5.6), factor: 0.9));
    }

    [Fact]
    public void PairsFromEnvironmentsGiveTheSameTable()
    {
        var d = TrainingDistances.FromPairs([(56, 8, 2.9), (8, 56, 2.7), (8, 8, 3.1), (56, 56, 9.0)], radiusA: 5);
        Assert.Equal(2.7, d.Shortest(56, 8));
        Assert.Equal(3.1, d.Shortest(8, 8));
        Assert.Null(d.Shortest(56, 56));
    }

    [Fact]
    public void BadArgumentsAreRefusedWithTheirUnit()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => TrainingDistances.FromStructures([RockSalt(5.6)], radiusA: 0));
        Assert.Contains("positive number of Å", ex.Message);
        var d = TrainingDistances.FromStructures([RockSalt(5.6)], radiusA: 5);
        Assert.Throws<ArgumentOutOfRangeException>(() => d.Check(RockSalt(5.6), fraction: 1.5));
    }
}
