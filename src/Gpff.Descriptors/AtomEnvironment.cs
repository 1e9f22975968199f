using Gpff.Geometry;

namespace Gpff.Descriptors;

/// <summary>
/// The local environment of one atom as the n-body kernels consume it, stored as a structure of
/// arrays so that kernel loops vectorise.
/// <para>
/// 2-body part: every neighbour j (periodic images are distinct neighbours, an atom may see its own
/// images) with r_ij &lt; r_c2: species, distance, unit vector û_ij = (r_j − r_i)/r_ij, cutoff value
/// and derivative. Sorted by neighbour species, then distance.
/// </para>
/// <para>
/// 3-body part: every unordered pair (j, k) of neighbours with r_ij, r_ik and r_jk all below r_c3,
/// stored so that species(j) ≤ species(k): the three distances d = (r_ij, r_ik, r_jk), the unit vectors
/// û_ij and û_ik, and the cutoff product f(r_ij) f(r_ik) f(r_jk) with its three partial derivatives.
/// Sorted by the species pair (s_j, s_k).
/// </para>
/// Immutable once built; safe to share between threads.
/// </summary>
public sealed class AtomEnvironment
{
    /// <summary>Extra zeroed elements at the end of every internal array, so that SIMD loads may run past the end.</summary>
    internal const int Padding = 8;

    internal AtomEnvironment(int centralAtom, int centralSpecies)
    {
        CentralAtom = centralAtom;
        CentralSpecies = centralSpecies;
    }

    /// <summary>Index of the central atom in its structure.</summary>
    public int CentralAtom { get; }

    /// <summary>Atomic number of the central atom.</summary>
    public int CentralSpecies { get; }

    /// <summary>Number of 2-body neighbours.</summary>
    public int PairCount { get; internal set; }

    /// <summary>Number of 3-body triplets.</summary>
    public int TripletCount { get; internal set; }

    // ---- 2-body arrays (length PairCount + Padding) ----
    internal int[] PNeighbor = [];
    internal Int3[] PShift = [];
    internal int[] PSpecies = [];
    internal double[] PR = [];
    internal double[] PUx = [];
    internal double[] PUy = [];
    internal double[] PUz = [];
    internal double[] PF = [];
    internal double[] PDF = [];

    /// <summary>Distinct neighbour species, ascending; pairs of species PairSpeciesList[g] occupy [PairRangeStart[g], PairRangeStart[g+1]).</summary>
    internal int[] PairSpeciesList = [];
    internal int[] PairRangeStart = [0];

    /// <summary>
    /// Per species range g: the pairs [PairRangeStart[g], PairFirstVertexEnd[g]) are those whose first vertex (least
    /// atom index, then image shift) is the central atom; they come first in their range. Empty for environments not
    /// built with their structure.
    /// </summary>
    internal int[] PairFirstVertexEnd = [];

    // ---- 3-body arrays (length TripletCount + Padding) ----
    internal int[] TNeighbor1 = [];
    internal int[] TNeighbor2 = [];
    internal int[] TSpecies1 = [];
    internal int[] TSpecies2 = [];
    internal double[] TR1 = [];
    internal double[] TR2 = [];
    internal double[] TR3 = [];
    internal double[] TU1x = [];
    internal double[] TU1y = [];
    internal double[] TU1z = [];
    internal double[] TU2x = [];
    internal double[] TU2y = [];
    internal double[] TU2z = [];
    internal double[] TF = [];
    internal double[] TF1 = [];
    internal double[] TF2 = [];
    internal double[] TF3 = [];

    /// <summary>Distinct (s_j, s_k) species pairs of the triplets (s_j ≤ s_k), in sorted order, with their ranges.</summary>
    internal (int S1, int S2)[] TripletSpeciesList = [];
    internal int[] TripletRangeStart = [0];

    /// <summary>
    /// Per species-pair range g: the triplets [TripletRangeStart[g], TripletFirstVertexEnd[g]) are those of triangles
    /// whose first vertex (least atom index, then image shift) is the central atom; they come first in their range.
    /// Empty for environments not built with their structure (<see cref="SingleTriplet"/>).
    /// </summary>
    internal int[] TripletFirstVertexEnd = [];

    // ---- many-body (B2) arrays, length ManyBodyNeighborCount (empty when the settings have no B2 part) ----
    internal int[] BNeighbor = [];
    internal Int3[] BShift = [];
    internal int[] BSpecies = [];
    internal double[] BX = [];
    internal double[] BY = [];
    internal double[] BZ = [];
    internal double[] B2Values = [];

    /// <summary>The B2 settings the many-body part was built with, or null when it has none.</summary>
    public B2Settings? ManyBodySettings { get; internal set; }

    /// <summary>Number of neighbours within the B2 cutoff (periodic images counted separately; 0 without a B2 part).</summary>
    public int ManyBodyNeighborCount { get; internal set; }

    /// <summary>Atom indices of the B2 neighbours.</summary>
    public ReadOnlySpan<int> ManyBodyNeighbors => BNeighbor.AsSpan(0, ManyBodyNeighborCount);

    /// <summary>Image shifts (lattice vectors) of the B2 neighbours.</summary>
    public ReadOnlySpan<Int3> ManyBodyShifts => BShift.AsSpan(0, ManyBodyNeighborCount);

    /// <summary>Species channels (index into <see cref="B2Settings.Species"/>) of the B2 neighbours.</summary>
    public ReadOnlySpan<int> ManyBodySpeciesChannels => BSpecies.AsSpan(0, ManyBodyNeighborCount);

    /// <summary>The B2 neighbour vector k (relative to the central atom, Å).</summary>
    /// <param name="k">Neighbour index.</param>
    public Vec3 ManyBodyVector(int k) => new(BX[k], BY[k], BZ[k]);

    /// <summary>The B2 descriptor of this environment (<see cref="B2Settings.Length"/> values; empty without a B2 part).</summary>
    public ReadOnlySpan<double> B2 => B2Values;

    /// <summary>The Euclidean norm of <see cref="B2"/>.</summary>
    public double B2Norm { get; internal set; }

    /// <summary>Atom indices of the 2-body neighbours.</summary>
    public ReadOnlySpan<int> PairNeighbors => PNeighbor.AsSpan(0, PairCount);

    /// <summary>Image shifts (lattice vectors) of the 2-body neighbours.</summary>
    public ReadOnlySpan<Int3> PairShifts => PShift.AsSpan(0, PairCount);

    /// <summary>Atomic numbers of the 2-body neighbours.</summary>
    public ReadOnlySpan<int> PairSpecies => PSpecies.AsSpan(0, PairCount);

    /// <summary>Distances r_ij in Å.</summary>
    public ReadOnlySpan<double> PairDistances => PR.AsSpan(0, PairCount);

    /// <summary>x components of the unit vectors û_ij.</summary>
    public ReadOnlySpan<double> PairUnitX => PUx.AsSpan(0, PairCount);

    /// <summary>y components of the unit vectors û_ij.</summary>
    public ReadOnlySpan<double> PairUnitY => PUy.AsSpan(0, PairCount);

    /// <summary>z components of the unit vectors û_ij.</summary>
    public ReadOnlySpan<double> PairUnitZ => PUz.AsSpan(0, PairCount);

    /// <summary>Cutoff function f(r_ij) of each pair.</summary>
    public ReadOnlySpan<double> PairCutoffValues => PF.AsSpan(0, PairCount);

    /// <summary>Cutoff derivative f′(r_ij) of each pair.</summary>
    public ReadOnlySpan<double> PairCutoffDerivatives => PDF.AsSpan(0, PairCount);

    /// <summary>Atom indices of the first neighbour j of each triplet.</summary>
    public ReadOnlySpan<int> TripletNeighbors1 => TNeighbor1.AsSpan(0, TripletCount);

    /// <summary>Atom indices of the second neighbour k of each triplet.</summary>
    public ReadOnlySpan<int> TripletNeighbors2 => TNeighbor2.AsSpan(0, TripletCount);

    /// <summary>Atomic numbers s_j of the first neighbours (s_j ≤ s_k).</summary>
    public ReadOnlySpan<int> TripletSpecies1 => TSpecies1.AsSpan(0, TripletCount);

    /// <summary>Atomic numbers s_k of the second neighbours.</summary>
    public ReadOnlySpan<int> TripletSpecies2 => TSpecies2.AsSpan(0, TripletCount);

    /// <summary>Distances r_ij in Å.</summary>
    public ReadOnlySpan<double> TripletDistances1 => TR1.AsSpan(0, TripletCount);

    /// <summary>Distances r_ik in Å.</summary>
    public ReadOnlySpan<double> TripletDistances2 => TR2.AsSpan(0, TripletCount);

    /// <summary>Distances r_jk in Å.</summary>
    public ReadOnlySpan<double> TripletDistances3 => TR3.AsSpan(0, TripletCount);

    /// <summary>Cutoff products f(r_ij) f(r_ik) f(r_jk).</summary>
    public ReadOnlySpan<double> TripletCutoffValues => TF.AsSpan(0, TripletCount);

    /// <summary>∂/∂r_ij of the cutoff product of each triplet.</summary>
    public ReadOnlySpan<double> TripletCutoffDerivatives1 => TF1.AsSpan(0, TripletCount);

    /// <summary>∂/∂r_ik of the cutoff product of each triplet.</summary>
    public ReadOnlySpan<double> TripletCutoffDerivatives2 => TF2.AsSpan(0, TripletCount);

    /// <summary>∂/∂r_jk of the cutoff product of each triplet.</summary>
    public ReadOnlySpan<double> TripletCutoffDerivatives3 => TF3.AsSpan(0, TripletCount);

    /// <summary>Unit vector û_ij of triplet <paramref name="t"/>.</summary>
    /// <param name="t">Triplet index.</param>
    public Vec3 TripletUnit1(int t) => new(TU1x[t], TU1y[t], TU1z[t]);

    /// <summary>Unit vector û_ik of triplet <paramref name="t"/>.</summary>
    /// <param name="t">Triplet index.</param>
    public Vec3 TripletUnit2(int t) => new(TU2x[t], TU2y[t], TU2z[t]);

    /// <summary>Unit vector û_ij of pair <paramref name="p"/>.</summary>
    /// <param name="p">Pair index.</param>
    public Vec3 PairUnit(int p) => new(PUx[p], PUy[p], PUz[p]);

    /// <summary>
    /// A synthetic environment holding one 2-body pair and nothing else: the central atom of species
    /// <paramref name="centralSpecies"/> and one neighbour of species <paramref name="neighborSpecies"/>
    /// at <paramref name="distanceA"/> along +x. Used to tabulate what a kernel's mean gives one pair
    /// (the mapped GP); it belongs to no structure (neighbour index −1).
    /// </summary>
    /// <param name="centralSpecies">Atomic number of the central atom.</param>
    /// <param name="neighborSpecies">Atomic number of the neighbour.</param>
    /// <param name="distanceA">Distance in Å, positive and below the pair cutoff of <paramref name="settings"/>.</param>
    /// <param name="settings">Cutoffs and cutoff function.</param>
    public static AtomEnvironment SinglePair(int centralSpecies, int neighborSpecies, double distanceA, DescriptorSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (!(distanceA > 0) || !(distanceA < settings.PairCutoffA))
        {
            throw new ArgumentOutOfRangeException(nameof(distanceA), distanceA, $"A pair distance must lie in (0, r_c2 = {settings.PairCutoffA}) Å, got {distanceA}.");
        }

        int len = 1 + Padding;
        var env = new AtomEnvironment(-1, centralSpecies)
        {
            PairCount = 1,
            PNeighbor = new int[len],
            PShift = new Int3[len],
            PSpecies = new int[len],
            PR = new double[len],
            PUx = new double[len],
            PUy = new double[len],
            PUz = new double[len],
            PF = new double[len],
            PDF = new double[len],
            PairSpeciesList = [neighborSpecies],
            PairRangeStart = [0, 1],
        };
        env.PNeighbor[0] = -1;
        env.PSpecies[0] = neighborSpecies;
        env.PR[0] = distanceA;
        env.PUx[0] = 1;
        env.PF[0] = Cutoffs.Evaluate(settings.CutoffFunction, settings.PairCutoffA, distanceA, out env.PDF[0]);
        return env;
    }

    /// <summary>
    /// A synthetic environment holding one 3-body triplet and nothing else (no pairs): central species
    /// <paramref name="centralSpecies"/>, neighbours of species <paramref name="species1"/> ≤
    /// <paramref name="species2"/> at distances <paramref name="r1A"/>, <paramref name="r2A"/> from it and
    /// <paramref name="r12A"/> from each other. The three distances need not form a triangle (a kernel's
    /// energy row depends on the distances alone; the unit vectors are then only placeholders). Used to
    /// tabulate what a kernel's mean gives one triplet (the mapped GP); neighbour indices are −1.
    /// </summary>
    /// <param name="centralSpecies">Atomic number of the central atom.</param>
    /// <param name="species1">Atomic number of the first neighbour (≤ <paramref name="species2"/>).</param>
    /// <param name="species2">Atomic number of the second neighbour.</param>
    /// <param name="r1A">Central–first distance in Å.</param>
    /// <param name="r2A">Central–second distance in Å.</param>
    /// <param name="r12A">First–second distance in Å.</param>
    /// <param name="settings">Cutoffs and cutoff function; all three distances must be below the triplet cutoff.</param>
    public static AtomEnvironment SingleTriplet(int centralSpecies, int species1, int species2, double r1A, double r2A, double r12A, DescriptorSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (species1 > species2)
        {
            throw new ArgumentException($"Triplet neighbour species must be ordered (species1 ≤ species2), got {species1} and {species2}.", nameof(species1));
        }

        double rc = settings.TripletCutoffA;
        foreach (var (r, name) in new[] { (r1A, nameof(r1A)), (r2A, nameof(r2A)), (r12A, nameof(r12A)) })
        {
            if (!(r > 0) || !(r < rc))
            {
                throw new ArgumentOutOfRangeException(name, r, $"A triplet distance must lie in (0, r_c3 = {rc}) Å, got {r}.");
            }
        }

        int len = 1 + Padding;
        var env = new AtomEnvironment(-1, centralSpecies)
        {
            TripletCount = 1,
            TNeighbor1 = new int[len],
            TNeighbor2 = new int[len],
            TSpecies1 = new int[len],
            TSpecies2 = new int[len],
            TR1 = new double[len],
            TR2 = new double[len],
            TR3 = new double[len],
            TU1x = new double[len],
            TU1y = new double[len],
            TU1z = new double[len],
            TU2x = new double[len],
            TU2y = new double[len],
            TU2z = new double[len],
            TF = new double[len],
            TF1 = new double[len],
            TF2 = new double[len],
            TF3 = new double[len],
            TripletSpeciesList = [(species1, species2)],
            TripletRangeStart = [0, 1],
        };
        env.TNeighbor1[0] = env.TNeighbor2[0] = -1;
        env.TSpecies1[0] = species1;
        env.TSpecies2[0] = species2;
        env.TR1[0] = r1A;
        env.TR2[0] = r2A;
        env.TR3[0] = r12A;
        double cos = Math.Clamp((r1A * r1A + r2A * r2A - r12A * r12A) / (2 * r1A * r2A), -1, 1);
        env.TU1x[0] = 1;
        env.TU2x[0] = cos;
        env.TU2y[0] = Math.Sqrt(1 - cos * cos);
        var fn = settings.CutoffFunction;
        double f1 = Cutoffs.Evaluate(fn, rc, r1A, out double d1);
        double f2 = Cutoffs.Evaluate(fn, rc, r2A, out double d2);
        double f3 = Cutoffs.Evaluate(fn, rc, r12A, out double d3);
        env.TF[0] = f1 * f2 * f3;
        env.TF1[0] = d1 * f2 * f3;
        env.TF2[0] = f1 * d2 * f3;
        env.TF3[0] = f1 * f2 * d3;
        return env;
    }

    /// <summary><see cref="PairRange"/> with the end of its first-vertex pairs (<see cref="PairFirstVertexEnd"/>; the start when none are recorded).</summary>
    internal (int Start, int FirstEnd, int End) PairRangeWithFirstVertex(int species)
    {
        int g = Array.IndexOf(PairSpeciesList, species);
        if (g < 0)
        {
            return (0, 0, 0);
        }

        int start = PairRangeStart[g];
        return (start, PairFirstVertexEnd.Length > g ? PairFirstVertexEnd[g] : start, PairRangeStart[g + 1]);
    }

    /// <summary>The range [start, end) of pairs whose neighbour has atomic number <paramref name="species"/> (empty when none).</summary>
    /// <param name="species">Atomic number.</param>
    public (int Start, int End) PairRange(int species)
    {
        var (start, _, end) = PairRangeWithFirstVertex(species);
        return (start, end);
    }

    /// <summary>
    /// <see cref="TripletRange"/> with the end of its first-vertex triplets (<see cref="TripletFirstVertexEnd"/>;
    /// the start when this environment has none recorded).
    /// </summary>
    internal (int Start, int FirstEnd, int End) TripletRangeWithFirstVertex(int species1, int species2)
    {
        var list = TripletSpeciesList;
        for (int g = 0; g < list.Length; g++)
        {
            if (list[g].S1 == species1 && list[g].S2 == species2)
            {
                int start = TripletRangeStart[g];
                return (start, TripletFirstVertexEnd.Length > g ? TripletFirstVertexEnd[g] : start, TripletRangeStart[g + 1]);
            }
        }

        return (0, 0, 0);
    }

    /// <summary>The range [start, end) of triplets with neighbour species (s1, s2), s1 ≤ s2 (empty when none or when s1 &gt; s2).</summary>
    /// <param name="species1">Atomic number of the first neighbour.</param>
    /// <param name="species2">Atomic number of the second neighbour.</param>
    public (int Start, int End) TripletRange(int species1, int species2)
    {
        var (start, _, end) = TripletRangeWithFirstVertex(species1, species2);
        return (start, end);
    }
}
