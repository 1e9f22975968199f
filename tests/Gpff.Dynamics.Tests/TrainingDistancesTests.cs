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
