using Gpff.Geometry;

namespace Gpff.Descriptors;

/// <summary>
/// The local environments of every atom of one structure, as the kernels consume them: kernels
/// never see a <see cref="Structure"/>, only this. Built once per structure (see <see cref="Build"/>)
/// and reused for every covariance; immutable and safe to share between threads.
/// </summary>
public sealed class StructureEnvironments
{
    private readonly AtomEnvironment[] _environments;
    private readonly int[] _atomicNumbers;

    private StructureEnvironments(int[] atomicNumbers, Mat3 cellA, Pbc pbc, DescriptorSettings settings, AtomEnvironment[] environments)
    {
        _atomicNumbers = atomicNumbers;
        CellA = cellA;
        Pbc = pbc;
        Settings = settings;
        _environments = environments;
    }

    /// <summary>
    /// True when these are the environments of every atom of one structure, built together (<see cref="Build"/>):
    /// then each triangle of atoms within r_c3 appears in the environments of its three atoms, and sums over the
    /// structure may take it once (its triplet in the environment of its first vertex,
    /// <see cref="AtomEnvironment.TripletFirstVertexEnd"/>). False for a set of environments from any structures.
    /// </summary>
    internal bool IsWholeStructure { get; private init; }

    /// <summary>Number of atoms (= number of environments).</summary>
    public int AtomCount => _atomicNumbers.Length;

    /// <summary>Atomic number of each atom.</summary>
    public ReadOnlySpan<int> AtomicNumbers => _atomicNumbers;

    /// <summary>Cell in Å (rows are lattice vectors).</summary>
    public Mat3 CellA { get; }

    /// <summary>Periodicity.</summary>
    public Pbc Pbc { get; }

    /// <summary>Cutoffs and cutoff function the environments were built with.</summary>
    public DescriptorSettings Settings { get; }

    /// <summary>Cell volume in Å³ (stress covariances are per unit volume); meaningful for 3D-periodic structures.</summary>
    public double VolumeA3 => Math.Abs(CellA.Determinant);

    /// <summary>The environment of atom <paramref name="atom"/>.</summary>
    /// <param name="atom">Atom index.</param>
    public AtomEnvironment this[int atom] => _environments[atom];

    /// <summary>All environments, in atom order.</summary>
    public IReadOnlyList<AtomEnvironment> Environments => _environments;

    /// <summary>Total number of 2-body neighbour entries over all atoms.</summary>
    public int TotalPairCount => _environments.Sum(e => e.PairCount);

    /// <summary>Total number of 3-body triplets over all atoms.</summary>
    public int TotalTripletCount => _environments.Sum(e => e.TripletCount);

    /// <summary>
    /// Builds the environments of every atom of <paramref name="structure"/>.
    /// </summary>
    /// <param name="structure">The structure (positions must be finite).</param>
    /// <param name="settings">Cutoffs and cutoff function.</param>
    /// <exception cref="InvalidStructureException">A position is not finite, or the cell cannot honour the cutoff.</exception>
    public static StructureEnvironments Build(Structure structure, DescriptorSettings settings)
    {
        ArgumentNullException.ThrowIfNull(structure);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        EnsureMemory(structure, settings);
        var z = structure.AtomicNumbers.ToArray();
        var list = NeighborList.Build(structure, settings.MaxCutoffA, NeighborListKind.Full);
        var envs = new AtomEnvironment[z.Length];
        var scratch = new Scratch();
        for (int i = 0; i < z.Length; i++)
        {
            envs[i] = BuildOne(i, z, list, settings, scratch);
        }

        return new StructureEnvironments(z, structure.Cell, structure.Pbc, settings, envs) { IsWholeStructure = true };
    }

    /// <summary>
    /// A set of environments taken from any structures (e.g. the inducing environments of a sparse GP),
    /// as one block the kernels can take: atom i of the set is environment i, its atomic number the
    /// central species. The set has no cell (not periodic, volume 0), so only local-energy and
    /// force labels of it are meaningful, never total energy or stress.
    /// </summary>
    /// <param name="environments">The environments, all built with <paramref name="settings"/>.</param>
    /// <param name="settings">Cutoffs and cutoff function they were built with.</param>
    public static StructureEnvironments FromEnvironments(IReadOnlyList<AtomEnvironment> environments, DescriptorSettings settings)
    {
        ArgumentNullException.ThrowIfNull(environments);
        ArgumentNullException.ThrowIfNull(settings);
        var envs = environments.ToArray();
        for (int i = 0; i < envs.Length; i++)
        {
            ArgumentNullException.ThrowIfNull(envs[i], $"environments[{i}]");
        }

        return new StructureEnvironments(envs.Select(e => e.CentralSpecies).ToArray(), Mat3.Zero, Pbc.None, settings, envs);
    }

    /// <summary>Builds the environment of one atom of a structure only (as <see cref="Build"/> would build it).</summary>
    /// <param name="structure">The structure.</param>
    /// <param name="atom">Atom index.</param>
    /// <param name="settings">Cutoffs and cutoff function.</param>
    public static AtomEnvironment BuildAtom(Structure structure, int atom, DescriptorSettings settings)
    {
        ArgumentNullException.ThrowIfNull(structure);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentOutOfRangeException.ThrowIfNegative(atom);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(atom, structure.AtomCount);
        settings.Validate();
        var z = structure.AtomicNumbers.ToArray();
        var list = NeighborList.Build(structure, settings.MaxCutoffA, NeighborListKind.Full);
        return BuildOne(atom, z, list, settings, new Scratch());
    }

    /// <summary>
    /// Estimated memory of the environments of a 3D-periodic structure in bytes, from its atom density:
    /// neighbours per atom ρ·(4/3)π·r_c³ (neighbour list and pair arrays, about 120 bytes each) and
    /// triplets per atom about half the square of the neighbours within r_c3 (about 136 bytes each).
    /// Structures that are not 3D-periodic return 0 (their neighbours are bounded by their atoms).
    /// </summary>
    /// <param name="structure">The structure.</param>
    /// <param name="settings">Cutoffs.</param>
    public static double EstimateBytes(Structure structure, DescriptorSettings settings)
    {
        ArgumentNullException.ThrowIfNull(structure);
        ArgumentNullException.ThrowIfNull(settings);
        if (!structure.Pbc.AllPeriodic || structure.AtomCount == 0)
        {
            return 0;
        }

        double density = structure.AtomCount / structure.VolumeA3;
        double ball = 4.0 / 3.0 * Math.PI;
        double neighbours = density * ball * Math.Pow(settings.MaxCutoffA, 3);
        double near3 = density * ball * Math.Pow(settings.TripletCutoffA, 3);
        return structure.AtomCount * (neighbours * 120.0 + 0.5 * near3 * near3 * 136.0);
    }

    private static void EnsureMemory(Structure structure, DescriptorSettings settings)
    {
        double bytes = EstimateBytes(structure, settings);
        if (bytes > 1e8)
        {
            var w = structure.PerpendicularWidthsA();
            ResourceGuard.EnsureFits(bytes,
                string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"The environments of this {structure.AtomCount}-atom cell ({structure.VolumeA3:G4} Å³, {structure.AtomCount / structure.VolumeA3:G3} atoms/Å³, perpendicular widths {w.X:G3}, {w.Y:G3}, {w.Z:G3} Å) within the {settings.MaxCutoffA:G4} Å cutoff"),
                "check the cell (Lattice), which is far denser than any material, or use smaller cutoffs");
        }
    }

    private sealed class Scratch
    {
        public readonly List<int> Pairs = [];
        public readonly List<int> Near = [];
        public readonly List<(int A, int B, double R3, bool First)> Triplets = [];
        public B2Workspace? B2;
    }

    /// <summary>The B2 part: every neighbour within the B2 cutoff (in neighbour-list order) and the descriptor.</summary>
    private static void BuildManyBody(AtomEnvironment env, int[] z, ReadOnlySpan<int> nb, ReadOnlySpan<Int3> shifts, ReadOnlySpan<Vec3> vecs, ReadOnlySpan<double> dist,
        B2Settings mb, Scratch scratch)
    {
        double rc = mb.CutoffA;
        int count = 0;
        for (int e = 0; e < nb.Length; e++)
        {
            if (dist[e] < rc)
            {
                count++;
            }
        }

        env.ManyBodySettings = mb;
        env.ManyBodyNeighborCount = count;
        env.BNeighbor = new int[count];
        env.BShift = new Int3[count];
        env.BSpecies = new int[count];
        env.BX = new double[count];
        env.BY = new double[count];
        env.BZ = new double[count];
        int k = 0;
        for (int e = 0; e < nb.Length; e++)
        {
            if (dist[e] >= rc)
            {
                continue;
            }

            int ch = mb.SpeciesIndex(z[nb[e]]);
            if (ch < 0)
            {
                throw new ArgumentException($"Atom {env.CentralAtom} has a neighbour of element {z[nb[e]]} ({Elements.Symbol(z[nb[e]])}), which is not one of the B2 descriptor's species ({string.Join(", ", mb.Species.Select(Elements.Symbol))}); list every element of the data in the B2 settings.");
            }

            env.BNeighbor[k] = nb[e];
            env.BShift[k] = shifts[e];
            env.BSpecies[k] = ch;
            env.BX[k] = vecs[e].X;
            env.BY[k] = vecs[e].Y;
            env.BZ[k] = vecs[e].Z;
            k++;
        }

        var w = scratch.B2 is { } ws && ws.Settings == mb ? ws : (scratch.B2 = new B2Workspace(mb));
        w.Load(env);
        env.B2Values = new double[mb.Length];
        w.Values(env.B2Values);
        double n2 = 0;
        foreach (double v in env.B2Values)
        {
            n2 += v * v;
        }

        env.B2Norm = Math.Sqrt(n2);
    }

    /// <summary>
    /// Whether atom <paramref name="i"/> (image 0) is the first vertex of the triangle it forms with neighbours
    /// <paramref name="j"/> and <paramref name="k"/> at their image shifts: the least of the three vertices ordered
    /// by atom index, then image shift. The order does not change when the triangle is translated by a lattice
    /// vector, so exactly one of the three environments the triangle appears in calls it first.
    /// </summary>
    private static bool FirstVertex(int i, int j, Int3 shiftJ, int k, Int3 shiftK) => FirstVertex(i, j, shiftJ) && FirstVertex(i, k, shiftK);

    /// <summary>
    /// Whether atom <paramref name="i"/> (image 0) comes before neighbour <paramref name="other"/> at image
    /// <paramref name="shift"/> by atom index, then image shift: the first vertex of their pair, in exactly one of
    /// the two environments the pair appears in.
    /// </summary>
    private static bool FirstVertex(int i, int other, Int3 shift)
    {
        if (i != other)
        {
            return i < other;
        }

        // Same atom: (i, 0) comes first when the other image's shift is lexicographically positive.
        if (shift.A != 0)
        {
            return shift.A > 0;
        }

        return shift.B != 0 ? shift.B > 0 : shift.C > 0;
    }

    private static AtomEnvironment BuildOne(int i, int[] z, NeighborList list, DescriptorSettings s, Scratch scratch)
    {
        var env = new AtomEnvironment(i, z[i]);
        var nb = list.Neighbors(i);
        var shifts = list.Shifts(i);
        var vecs = list.Vectors(i);
        var dist = list.Distances(i);
        double rc2 = s.PairCutoffA, rc3 = s.TripletCutoffA;
        var fn = s.CutoffFunction;

        // 2-body: neighbours within rc2, sorted by species then distance (then index, for determinism).
        var pairs = scratch.Pairs;
        pairs.Clear();
        for (int e = 0; e < nb.Length; e++)
        {
            if (dist[e] < rc2)
            {
                pairs.Add(e);
            }
        }

        var nbArr = nb.ToArray();
        var distArr = dist.ToArray();
        var shiftArr = shifts.ToArray();
        pairs.Sort((p, q) =>
        {
            int c = z[nbArr[p]].CompareTo(z[nbArr[q]]);
            if (c != 0)
            {
                return c;
            }

            // Within a species, the pairs this atom is the first vertex of come first.
            c = FirstVertex(i, nbArr[q], shiftArr[q]).CompareTo(FirstVertex(i, nbArr[p], shiftArr[p]));
            if (c != 0)
            {
                return c;
            }

            c = distArr[p].CompareTo(distArr[q]);
            return c != 0 ? c : p.CompareTo(q);
        });

        int np = pairs.Count;
        int len = np + AtomEnvironment.Padding;
        env.PairCount = np;
        env.PNeighbor = new int[len];
        env.PShift = new Int3[len];
        env.PSpecies = new int[len];
        env.PR = new double[len];
        env.PUx = new double[len];
        env.PUy = new double[len];
        env.PUz = new double[len];
        env.PF = new double[len];
        env.PDF = new double[len];
        var speciesList = new List<int>();
        var rangeStart = new List<int>();
        var firstEnd = new List<int>();
        for (int n = 0; n < np; n++)
        {
            int e = pairs[n];
            int sj = z[nb[e]];
            double r = dist[e];
            var u = vecs[e] / r;
            env.PNeighbor[n] = nb[e];
            env.PShift[n] = shifts[e];
            env.PSpecies[n] = sj;
            env.PR[n] = r;
            env.PUx[n] = u.X;
            env.PUy[n] = u.Y;
            env.PUz[n] = u.Z;
            env.PF[n] = Cutoffs.Evaluate(fn, rc2, r, out env.PDF[n]);
            if (speciesList.Count == 0 || speciesList[^1] != sj)
            {
                speciesList.Add(sj);
                rangeStart.Add(n);
                firstEnd.Add(n);
            }

            if (FirstVertex(i, nb[e], shifts[e]))
            {
                firstEnd[^1] = n + 1;
            }
        }

        rangeStart.Add(np);
        env.PairSpeciesList = speciesList.ToArray();
        env.PairRangeStart = rangeStart.ToArray();
        env.PairFirstVertexEnd = firstEnd.ToArray();

        // 3-body: unordered pairs of neighbours within rc3 whose mutual distance is also below rc3.
        var near = scratch.Near;
        near.Clear();
        for (int e = 0; e < nb.Length; e++)
        {
            if (dist[e] < rc3)
            {
                near.Add(e);
            }
        }

        var trip = scratch.Triplets;
        trip.Clear();
        for (int a = 0; a < near.Count; a++)
        {
            var va = vecs[near[a]];
            for (int b = a + 1; b < near.Count; b++)
            {
                var d = vecs[near[b]] - va;
                double r3 = d.Length;
                if (r3 < rc3)
                {
                    // Order so that species(first) <= species(second).
                    int ea = near[a], eb = near[b];
                    if (z[nb[ea]] > z[nb[eb]])
                    {
                        (ea, eb) = (eb, ea);
                    }

                    trip.Add((ea, eb, r3, FirstVertex(i, nb[ea], shifts[ea], nb[eb], shifts[eb])));
                }
            }
        }

        trip.Sort((p, q) =>
        {
            int c = z[nbArr[p.A]].CompareTo(z[nbArr[q.A]]);
            if (c != 0)
            {
                return c;
            }

            c = z[nbArr[p.B]].CompareTo(z[nbArr[q.B]]);
            if (c != 0)
            {
                return c;
            }

            c = q.First.CompareTo(p.First); // within a species pair, the triangles this atom is the first vertex of come first
            if (c != 0)
            {
                return c;
            }

            c = p.A.CompareTo(q.A);
            return c != 0 ? c : p.B.CompareTo(q.B);
        });

        int nt = trip.Count;
        len = nt + AtomEnvironment.Padding;
        env.TripletCount = nt;
        env.TNeighbor1 = new int[len];
        env.TNeighbor2 = new int[len];
        env.TSpecies1 = new int[len];
        env.TSpecies2 = new int[len];
        env.TR1 = new double[len];
        env.TR2 = new double[len];
        env.TR3 = new double[len];
        env.TU1x = new double[len];
        env.TU1y = new double[len];
        env.TU1z = new double[len];
        env.TU2x = new double[len];
        env.TU2y = new double[len];
        env.TU2z = new double[len];
        env.TF = new double[len];
        env.TF1 = new double[len];
        env.TF2 = new double[len];
        env.TF3 = new double[len];
        var tlist = new List<(int, int)>();
        var tstart = new List<int>();
        var tfirst = new List<int>();
        for (int t = 0; t < nt; t++)
        {
            var (ea, eb, r3, first) = trip[t];
            double r1 = dist[ea], r2 = dist[eb];
            var u1 = vecs[ea] / r1;
            var u2 = vecs[eb] / r2;
            int s1 = z[nb[ea]], s2 = z[nb[eb]];
            env.TNeighbor1[t] = nb[ea];
            env.TNeighbor2[t] = nb[eb];
            env.TSpecies1[t] = s1;
            env.TSpecies2[t] = s2;
            env.TR1[t] = r1;
            env.TR2[t] = r2;
            env.TR3[t] = r3;
            env.TU1x[t] = u1.X;
            env.TU1y[t] = u1.Y;
            env.TU1z[t] = u1.Z;
            env.TU2x[t] = u2.X;
            env.TU2y[t] = u2.Y;
            env.TU2z[t] = u2.Z;
            double f1 = Cutoffs.Evaluate(fn, rc3, r1, out double d1);
            double f2 = Cutoffs.Evaluate(fn, rc3, r2, out double d2);
            double f3 = Cutoffs.Evaluate(fn, rc3, r3, out double d3);
            env.TF[t] = f1 * f2 * f3;
            env.TF1[t] = d1 * f2 * f3;
            env.TF2[t] = f1 * d2 * f3;
            env.TF3[t] = f1 * f2 * d3;
            if (tlist.Count == 0 || tlist[^1] != (s1, s2))
            {
                tlist.Add((s1, s2));
                tstart.Add(t);
                tfirst.Add(t);
            }

            if (first)
            {
                tfirst[^1] = t + 1;
            }
        }

        tstart.Add(nt);
        env.TripletSpeciesList = tlist.ToArray();
        env.TripletRangeStart = tstart.ToArray();
        env.TripletFirstVertexEnd = tfirst.ToArray();
        if (s.ManyBody is { } mb)
        {
            BuildManyBody(env, z, nb, shifts, vecs, dist, mb, scratch);
        }

        return env;
    }
}
