using Gpff.Geometry;

namespace Gpff.Descriptors;

/// <summary>
/// A local environment kept apart from its structure: the central atom's species and every
/// neighbour (periodic images as separate atoms) within a radius, as species and positions relative
/// to the central atom in Å. It is what a sparse GP stores for an inducing environment: small, and
/// enough to rebuild the <see cref="AtomEnvironment"/> for any cutoffs up to <see cref="RadiusA"/>
/// (<see cref="Describe"/>), so a model file holds the clusters, not whole training structures.
/// Immutable.
/// </summary>
public sealed class EnvironmentCluster
{
    private readonly int[] _species;
    private readonly Vec3[] _vectors;

    /// <summary>Creates a cluster.</summary>
    /// <param name="centralSpecies">Atomic number of the central atom.</param>
    /// <param name="neighborSpecies">Atomic number of each neighbour.</param>
    /// <param name="neighborVectorsA">Position of each neighbour relative to the central atom, Å (finite, no two at one place, none at the centre).</param>
    /// <param name="radiusA">The radius within which all neighbours were taken, Å.</param>
    public EnvironmentCluster(int centralSpecies, IReadOnlyList<int> neighborSpecies, IReadOnlyList<Vec3> neighborVectorsA, double radiusA)
    {
        ArgumentNullException.ThrowIfNull(neighborSpecies);
        ArgumentNullException.ThrowIfNull(neighborVectorsA);
        if (neighborSpecies.Count != neighborVectorsA.Count)
        {
            throw new ArgumentException($"{neighborSpecies.Count} neighbour species were given for {neighborVectorsA.Count} neighbour vectors.", nameof(neighborVectorsA));
        }

        if (!(radiusA > 0) || !double.IsFinite(radiusA))
        {
            throw new ArgumentOutOfRangeException(nameof(radiusA), radiusA, $"The cluster radius must be a positive finite number of Å, got {radiusA}.");
        }

        for (int i = 0; i < neighborVectorsA.Count; i++)
        {
            var v = neighborVectorsA[i];
            if (!double.IsFinite(v.X) || !double.IsFinite(v.Y) || !double.IsFinite(v.Z))
            {
                throw new ArgumentException($"Neighbour {i} of the cluster has a non-finite position ({v.X}, {v.Y}, {v.Z}).", nameof(neighborVectorsA));
            }

            if (v.Length >= radiusA)
            {
                throw new ArgumentException($"Neighbour {i} of the cluster is {v.Length} Å from the centre, not within its radius {radiusA} Å.", nameof(neighborVectorsA));
            }
        }

        CentralSpecies = centralSpecies;
        _species = [.. neighborSpecies];
        _vectors = [.. neighborVectorsA];
        RadiusA = radiusA;
    }

    /// <summary>Atomic number of the central atom.</summary>
    public int CentralSpecies { get; }

    /// <summary>The radius in Å within which every neighbour was taken (the cluster serves cutoffs up to it).</summary>
    public double RadiusA { get; }

    /// <summary>Number of neighbours.</summary>
    public int NeighborCount => _species.Length;

    /// <summary>Atomic numbers of the neighbours.</summary>
    public ReadOnlySpan<int> NeighborSpecies => _species;

    /// <summary>Positions of the neighbours relative to the central atom, Å.</summary>
    public ReadOnlySpan<Vec3> NeighborVectorsA => _vectors;

    /// <summary>The environment of atom <paramref name="atom"/> of a structure: every neighbour (with periodic images) closer than <paramref name="radiusA"/>.</summary>
    /// <param name="structure">The structure.</param>
    /// <param name="atom">Atom index.</param>
    /// <param name="radiusA">Radius in Å (the largest cutoff the cluster is to serve).</param>
    public static EnvironmentCluster FromStructure(Structure structure, int atom, double radiusA)
    {
        ArgumentNullException.ThrowIfNull(structure);
        ArgumentOutOfRangeException.ThrowIfNegative(atom);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(atom, structure.AtomCount);
        var list = NeighborList.Build(structure, radiusA, NeighborListKind.Full);
        return FromNeighborList(structure, list, atom, radiusA);
    }

    /// <summary>The clusters of several atoms of one structure, sharing one neighbour list.</summary>
    /// <param name="structure">The structure.</param>
    /// <param name="atoms">Atom indices.</param>
    /// <param name="radiusA">Radius in Å.</param>
    public static EnvironmentCluster[] FromStructure(Structure structure, IReadOnlyList<int> atoms, double radiusA)
    {
        ArgumentNullException.ThrowIfNull(structure);
        ArgumentNullException.ThrowIfNull(atoms);
        var list = NeighborList.Build(structure, radiusA, NeighborListKind.Full);
        return atoms.Select(a => FromNeighborList(structure, list, a, radiusA)).ToArray();
    }

    private static EnvironmentCluster FromNeighborList(Structure structure, NeighborList list, int atom, double radiusA)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(atom);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(atom, structure.AtomCount);
        var nb = list.Neighbors(atom);
        var vecs = list.Vectors(atom);
        var dist = list.Distances(atom);
        var species = new List<int>();
        var vectors = new List<Vec3>();
        for (int e = 0; e < nb.Length; e++)
        {
            if (dist[e] < radiusA)
            {
                species.Add(structure.AtomicNumbers[nb[e]]);
                vectors.Add(vecs[e]);
            }
        }

        return new EnvironmentCluster(structure.AtomicNumbers[atom], species, vectors, radiusA);
    }

    /// <summary>The cluster as a non-periodic structure: the central atom (index 0) at the origin, then the neighbours.</summary>
    public Structure ToStructure()
    {
        var pos = new Vec3[1 + _vectors.Length];
        _vectors.CopyTo(pos, 1);
        return new Structure([CentralSpecies, .. _species], pos, Mat3.Zero, Pbc.None);
    }

    /// <summary>The central atom's environment for the given cutoffs (equal, to round-off in the order of sums, to the one built in the original structure).</summary>
    /// <param name="settings">Cutoffs and cutoff function; the largest cutoff must not exceed <see cref="RadiusA"/>.</param>
    /// <exception cref="ArgumentException">The cutoffs reach beyond the cluster.</exception>
    public AtomEnvironment Describe(DescriptorSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.MaxCutoffA > RadiusA)
        {
            throw new ArgumentException($"The cutoff {settings.MaxCutoffA} Å reaches beyond the cluster's radius {RadiusA} Å: the environment would miss neighbours.", nameof(settings));
        }

        return StructureEnvironments.BuildAtom(ToStructure(), 0, settings);
    }
}
