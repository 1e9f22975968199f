using System.Globalization;

namespace Gpff.Dynamics;

/// <summary>
/// The shortest interatomic distance of each species pair and the largest volume per atom of each composition in a
/// model's training data, and the check that a relaxed (or simulated) structure stays inside that range (neither
/// collapsed nor expanded out of it). A force field knows nothing of distances shorter
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

    /// <summary>
    /// The factor on the largest volume per atom of a composition in the training data above which a structure of
    /// that composition has left the training data by expansion (1.2): a relaxation at P ≥ 0 ends near or below the
    /// zero-pressure volume, and training sets hold cells up to it and a little beyond (strained, rattled); 20 % more
    /// volume (6 % longer bonds) would need a tension of order −B/5, −20 to −40 GPa for oxides, far outside any
    /// relaxation under pressure. The same rule for compressions is <see cref="CollapseFraction"/>.
    /// </summary>
    public const double ExpansionFactor = 1.2;

    private readonly Dictionary<(int, int), double> _shortest;
    private readonly Dictionary<string, double> _largestVolume;

    private TrainingDistances(Dictionary<(int, int), double> shortest, double radiusA, Dictionary<string, double>? largestVolume = null)
    {
        _shortest = shortest;
        RadiusA = radiusA;
        _largestVolume = largestVolume ?? new Dictionary<string, double>(StringComparer.Ordinal);
    }

    /// <summary>The radius in Å within which distances were collected: pairs never that close in training are not checked.</summary>
    public double RadiusA { get; }

    /// <summary>The species pairs (smaller atomic number first) with their shortest training distance in Å.</summary>
    public IReadOnlyDictionary<(int SpeciesA, int SpeciesB), double> ShortestA => _shortest;

    /// <summary>
    /// The largest volume per atom in Å³ of each composition (reduced formula, <see cref="Structure.ReducedFormula"/>)
    /// among the periodic training structures; empty when the structures are not known (<see cref="FromPairs"/>).
    /// </summary>
    public IReadOnlyDictionary<string, double> LargestVolumePerAtomA3 => _largestVolume;

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
        var largestVolume = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var s in structures)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (s.Pbc.AllPeriodic && s.AtomCount > 0)
            {
                string formula = s.ReducedFormula();
                double v = s.VolumeA3 / s.AtomCount;
                if (!largestVolume.TryGetValue(formula, out double current) || v > current)
                {
                    largestVolume[formula] = v;
                }
            }

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

        return new TrainingDistances(shortest, radiusA, largestVolume);
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

    /// <summary>
    /// Whether a periodic structure has expanded beyond its composition's training range: its volume per atom above
    /// <paramref name="factor"/> × the largest volume per atom of the same composition (reduced formula) in the
    /// training data, or null when it is inside the range, not 3D-periodic, or of a composition the training data
    /// lack (nothing to compare with; the distance check still applies) or unknown (<see cref="FromPairs"/>).
    /// </summary>
    /// <param name="structure">A relaxed or simulated structure.</param>
    /// <param name="factor">Factor on the largest training volume per atom, &gt; 1 (default <see cref="ExpansionFactor"/>).</param>
    public VolumeViolation? CheckExpansion(Structure structure, double factor = ExpansionFactor)
    {
        ArgumentNullException.ThrowIfNull(structure);
        if (!(factor >= 1) || !double.IsFinite(factor))
        {
            throw new ArgumentOutOfRangeException(nameof(factor), factor, "The factor on the largest training volume must be a finite number ≥ 1.");
        }

        if (!structure.Pbc.AllPeriodic || structure.AtomCount == 0)
        {
            return null;
        }

        string formula = structure.ReducedFormula();
        double v = structure.VolumeA3 / structure.AtomCount;
        return _largestVolume.TryGetValue(formula, out double largest) && v > factor * largest
            ? new VolumeViolation(formula, v, largest)
            : null;
    }

    /// <summary>
    /// Whether a structure has left the training data by collapse (<see cref="Check"/>, <see cref="CollapseFraction"/>)
    /// or by expansion (<see cref="CheckExpansion"/>, <see cref="ExpansionFactor"/>): the collapse when both, else the
    /// one found, else null. What relaxations and MD runs check.
    /// </summary>
    /// <param name="structure">A relaxed or simulated structure.</param>
    public TrainingRangeViolation? CheckRange(Structure structure) => (TrainingRangeViolation?)Check(structure) ?? CheckExpansion(structure);

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

/// <summary>How a structure has left its model's training data (<see cref="TrainingDistances.CheckRange"/>).</summary>
public abstract record TrainingRangeViolation
{
    /// <summary>One line for people, starting "left the training data: ".</summary>
    public abstract string Message { get; }

    /// <summary>What the structure did, for "relaxation collapsed: …": "collapsed" or "expanded".</summary>
    public abstract string Outcome { get; }
}

/// <summary>A structure expanded beyond the largest volume per atom of its composition in the training data (<see cref="TrainingDistances.CheckExpansion"/>).</summary>
/// <param name="Formula">The reduced formula.</param>
/// <param name="VolumePerAtomA3">The structure's volume per atom, Å³.</param>
/// <param name="LargestInTrainingA3">The largest volume per atom of that composition in the training data, Å³.</param>
public sealed record VolumeViolation(string Formula, double VolumePerAtomA3, double LargestInTrainingA3) : TrainingRangeViolation
{
    /// <summary>"expanded".</summary>
    public override string Outcome => "expanded";

    /// <summary>"left the training data: expanded to 17.7 Å³/atom, 1.22 × the largest BaO3Rh volume in training (14.5 Å³/atom)".</summary>
    public override string Message => string.Create(CultureInfo.InvariantCulture,
        $"left the training data: expanded to {VolumePerAtomA3:0.0} Å³/atom, {VolumePerAtomA3 / LargestInTrainingA3:0.00} × the largest {Formula} volume in training ({LargestInTrainingA3:0.0} Å³/atom)");
}

/// <summary>A pair of atoms closer than the training data allow (<see cref="TrainingDistances.Check"/>).</summary>
/// <param name="SpeciesA">Atomic number of the first atom.</param>
/// <param name="SpeciesB">Atomic number of the second atom.</param>
/// <param name="AtomA">0-based index of the first atom.</param>
/// <param name="AtomB">0-based index of the second atom (equal to <paramref name="AtomA"/> for a periodic image of itself).</param>
/// <param name="DistanceA">Their distance in Å.</param>
/// <param name="ShortestInTrainingA">The shortest distance of this species pair in the training data, in Å.</param>
public sealed record DistanceViolation(int SpeciesA, int SpeciesB, int AtomA, int AtomB, double DistanceA, double ShortestInTrainingA) : TrainingRangeViolation
{
    /// <summary>"collapsed".</summary>
    public override string Outcome => "collapsed";

    /// <summary>"left the training data: Ba–O at 1.21 Å, shortest in training 2.45 Å".</summary>
    public override string Message => string.Create(CultureInfo.InvariantCulture,
        $"left the training data: {Elements.Symbol(SpeciesA)}–{Elements.Symbol(SpeciesB)} at {DistanceA:0.00} Å (atoms {AtomA + 1} and {AtomB + 1}), shortest in training {ShortestInTrainingA:0.00} Å");
}
