using System.Globalization;

namespace Gpff.Dynamics;

/// <summary>
/// The shortest interatomic distance of each species pair in a model's training data, and the check that a
/// relaxed (or simulated) structure stays inside that range. A force field knows nothing of distances shorter
/// than any it was trained on: a relaxation that reaches them has not found a minimum of the material but a hole
/// in the model (hexagonal BaRhO3 cells "converged" to O–O at 0.07 Å with σ_E of 850 meV/atom), whatever the
/// optimiser's convergence flag says. docs/DESIGN.md, "Relaxations that leave the training data".
/// </summary>
public sealed class TrainingDistances
{
    /// <summary>
    /// The fraction of the shortest training distance below which a pair has left the training data (0.8): a
    /// relaxed structure with a pair closer than 0.8 × the shortest distance of that species pair in training is a
    /// failed relaxation. Compression under pressure stays well above it (10 GPa shortens bonds by a few per cent).
    /// </summary>
    public const double CollapseFraction = 0.8;

    private readonly Dictionary<(int, int), double> _shortest;

    private TrainingDistances(Dictionary<(int, int), double> shortest, double radiusA)
    {
        _shortest = shortest;
        RadiusA = radiusA;
    }

    /// <summary>The radius in Å within which distances were collected: pairs never that close in training are not checked.</summary>
    public double RadiusA { get; }

    /// <summary>The species pairs (smaller atomic number first) with their shortest training distance in Å.</summary>
    public IReadOnlyDictionary<(int SpeciesA, int SpeciesB), double> ShortestA => _shortest;

    /// <summary>The shortest training distance of a species pair in Å, or null when the pair was never within <see cref="RadiusA"/>.</summary>
    /// <param name="speciesA">Atomic number.</param>
    /// <param name="speciesB">Atomic number.</param>
    public double? Shortest(int speciesA, int speciesB) => _shortest.TryGetValue(Key(speciesA, speciesB), out double d) ? d : null;

    /// <summary>The shortest distance of each species pair over training structures (periodic images included).</summary>
    /// <param name="structures">The training structures.</param>
    /// <param name="radiusA">Largest distance collected in Å, typically the model's cutoff.</param>
    /// <param name="cancellationToken">Checked between structures.</param>
    public static TrainingDistances FromStructures(IEnumerable<Structure> structures, double radiusA, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(structures);
        CheckRadius(radiusA);
        var shortest = new Dictionary<(int, int), double>();
        foreach (var s in structures)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var nl = NeighborList.Build(s, radiusA, NeighborListKind.Half);
            for (int i = 0; i < s.AtomCount; i++)
            {
                var neighbors = nl.Neighbors(i);
                var distances = nl.Distances(i);
                for (int k = 0; k < neighbors.Length; k++)
                {
                    Add(shortest, s.AtomicNumbers[i], s.AtomicNumbers[neighbors[k]], distances[k]);
                }
            }
        }

        return new TrainingDistances(shortest, radiusA);
    }

    /// <summary>
    /// The shortest distance of each species pair over (species, species, distance) samples, e.g. the central
    /// atom and neighbours of a sparse model's inducing environments. Samples beyond <paramref name="radiusA"/> are ignored.
    /// </summary>
    /// <param name="pairs">Atomic numbers of the two atoms and their distance in Å.</param>
    /// <param name="radiusA">Largest distance collected in Å.</param>
    public static TrainingDistances FromPairs(IEnumerable<(int SpeciesA, int SpeciesB, double DistanceA)> pairs, double radiusA)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        CheckRadius(radiusA);
        var shortest = new Dictionary<(int, int), double>();
        foreach (var (a, b, d) in pairs)
        {
            if (d <= radiusA)
            {
                Add(shortest, a, b, d);
            }
        }

        return new TrainingDistances(shortest, radiusA);
    }

    /// <summary>
    /// The pair of <paramref name="structure"/> furthest below its training range: closer than
    /// <paramref name="fraction"/> × the shortest training distance of its species pair (the smallest ratio when
    /// several are), or null when every pair is inside the range. Species pairs absent from training are not checked.
    /// </summary>
    /// <param name="structure">A relaxed or simulated structure.</param>
    /// <param name="fraction">Fraction of the shortest training distance (default <see cref="CollapseFraction"/>).</param>
    public DistanceViolation? Check(Structure structure, double fraction = CollapseFraction)
    {
        ArgumentNullException.ThrowIfNull(structure);
        if (!(fraction > 0) || fraction > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "The fraction must be in (0, 1].");
        }

        if (_shortest.Count == 0 || structure.AtomCount == 0)
        {
            return null;
        }

        double radius = fraction * _shortest.Values.Max();
        var nl = NeighborList.Build(structure, radius, NeighborListKind.Half);
        DistanceViolation? worst = null;
        for (int i = 0; i < structure.AtomCount; i++)
        {
            var neighbors = nl.Neighbors(i);
            var distances = nl.Distances(i);
            for (int k = 0; k < neighbors.Length; k++)
            {
                int j = neighbors[k];
                if (_shortest.TryGetValue(Key(structure.AtomicNumbers[i], structure.AtomicNumbers[j]), out double reference)
                    && distances[k] < fraction * reference
                    && (worst is null || distances[k] / reference < worst.DistanceA / worst.ShortestInTrainingA))
                {
                    var (a, b) = i <= j ? (i, j) : (j, i);
                    worst = new DistanceViolation(structure.AtomicNumbers[a], structure.AtomicNumbers[b], a, b, distances[k], reference);
                }
            }
        }

        return worst;
    }

    private static (int, int) Key(int a, int b) => a <= b ? (a, b) : (b, a);

    private static void Add(Dictionary<(int, int), double> shortest, int a, int b, double d)
    {
        var key = Key(a, b);
        if (!shortest.TryGetValue(key, out double current) || d < current)
        {
            shortest[key] = d;
        }
    }

    private static void CheckRadius(double radiusA)
    {
        if (!(radiusA > 0) || !double.IsFinite(radiusA))
        {
            throw new ArgumentOutOfRangeException(nameof(radiusA), radiusA, "The radius must be a positive number of Å.");
        }
    }
}

/// <summary>A pair of atoms closer than the training data allow (<see cref="TrainingDistances.Check"/>).</summary>
/// <param name="SpeciesA">Atomic number of the first atom.</param>
/// <param name="SpeciesB">Atomic number of the second atom.</param>
/// <param name="AtomA">0-based index of the first atom.</param>
/// <param name="AtomB">0-based index of the second atom (equal to <paramref name="AtomA"/> for a periodic image of itself).</param>
/// <param name="DistanceA">Their distance in Å.</param>
/// <param name="ShortestInTrainingA">The shortest distance of this species pair in the training data, in Å.</param>
public sealed record DistanceViolation(int SpeciesA, int SpeciesB, int AtomA, int AtomB, double DistanceA, double ShortestInTrainingA)
{
    /// <summary>"left the training data: Ba–O at 1.21 Å, shortest in training 2.45 Å".</summary>
    public string Message => string.Create(CultureInfo.InvariantCulture,
        $"left the training data: {Elements.Symbol(SpeciesA)}–{Elements.Symbol(SpeciesB)} at {DistanceA:0.00} Å (atoms {AtomA + 1} and {AtomB + 1}), shortest in training {ShortestInTrainingA:0.00} Å");
}
