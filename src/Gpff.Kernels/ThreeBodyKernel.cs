using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Gpff.Descriptors;

namespace Gpff.Kernels;

/// <summary>
/// The 3-body squared-exponential kernel (Vandermause et al. 2020, FLARE):
/// k₃(ρᵢ, ρⱼ) = σ₃²/9 · Σ_{t∈ρᵢ} Σ_{t′∈ρⱼ} Σ_P δ(species under P) exp(−‖d − P d′‖²/(2ℓ₃²)) f(d) f(d′),
/// over triplets t = (i; j, k) with d = (r_ij, r_ik, r_jk) all below r_c3 and f(d) the product of the
/// three cutoff factors. P runs over the six permutations of the triangle's three atoms (central atom
/// included, as in FLARE), so that the triplet energy is one symmetric function of the triangle split
/// ⅓ to each of its atoms: energy–energy factor 1/9, force–energy 1/3, force–force 1.
/// σ₃ and ℓ₃ may be given per group of species triplets.
/// </summary>
public sealed class ThreeBodyKernel : NBodyKernel
{
    /// <summary>Vertex maps of the six permutations: side-1 vertex (c, j, k) → side-2 vertex.</summary>
    private static readonly int[][] VertexMaps = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];

    /// <summary>Edge maps P[p] (side-1 edge p → side-2 edge) and their inverses, edges 0 = (c,j), 1 = (c,k), 2 = (j,k).</summary>
    private static readonly int[][] EdgeMaps;
    private static readonly int[][] InverseEdgeMaps;

    static ThreeBodyKernel()
    {
        EdgeMaps = new int[6][];
        InverseEdgeMaps = new int[6][];
        int[][] ends = [[0, 1], [0, 2], [1, 2]];
        for (int p = 0; p < 6; p++)
        {
            var vm = VertexMaps[p];
            EdgeMaps[p] = new int[3];
            InverseEdgeMaps[p] = new int[3];
            for (int e = 0; e < 3; e++)
            {
                int a = vm[ends[e][0]], b = vm[ends[e][1]];
                int q = a + b - 1; // {0,1} → 0, {0,2} → 1, {1,2} → 2
                EdgeMaps[p][e] = q;
                InverseEdgeMaps[p][q] = e;
            }
        }
    }

    /// <summary>Creates a 3-body kernel.</summary>
    /// <param name="cutoffA">Triplet cutoff r_c3 in Å (applies to all three distances).</param>
    /// <param name="sigmaEv">Default signal amplitude σ₃ in eV.</param>
    /// <param name="lengthA">Default length scale ℓ₃ in Å.</param>
    /// <param name="cutoffFunction">Cutoff function (quadratic by default).</param>
    /// <param name="groups">Species-triplet groups with their own σ₃, ℓ₃ (members like "Rh-O-O").</param>
    public ThreeBodyKernel(double cutoffA, double sigmaEv, double lengthA, CutoffFunction cutoffFunction = CutoffFunction.Quadratic, IReadOnlyList<SpeciesGroup>? groups = null)
        : base(3, cutoffA, sigmaEv, lengthA, cutoffFunction, groups)
    {
    }

    /// <inheritdoc />
    public override string Name => "3-body squared exponential";

    /// <summary>Triplet cutoff r_c3 in Å.</summary>
    public double TripletCutoffA => OwnCutoffA;

    /// <inheritdoc />
    public override LocalKernel WithHyperparameters(IReadOnlyList<double> values)
    {
        var (s, l, g) = H.With(values);
        return new ThreeBodyKernel(TripletCutoffA, s, l, CutoffFunction, g);
    }

    /// <summary>
    /// For triplet species (cx; s1, s2) and permutation p: the species pair the side-2 triplets must
    /// have, or false when the side-2 central species does not match.
    /// </summary>
    private static bool Required(int p, int cx, int s1, int s2, int cy, out int q1, out int q2)
    {
        var vm = VertexMaps[p];
        Span<int> req = stackalloc int[3];
        req[vm[0]] = cx;
        req[vm[1]] = s1;
        req[vm[2]] = s2;
        q1 = req[1];
        q2 = req[2];
        return req[0] == cy && q1 <= q2;
    }

    /// <summary>
    /// The permutations under which side-1 triplets of species (cx; s1, s2) meet side-2 triplets of
    /// <paramref name="y"/>, with the side-2 triplet range each matches (non-empty ones only); returns their count.
    /// FirstEnd ends the triplets of the range whose central atom is their triangle's first vertex when
    /// <paramref name="firstVertex"/> is set (<see cref="AtomEnvironment.TripletFirstVertexEnd"/>), else it is End.
    /// </summary>
    private static int Matches(int cx, int s1, int s2, AtomEnvironment y, Span<(int Perm, int Start, int FirstEnd, int End)> matches, bool firstVertex = false)
    {
        int nm = 0;
        for (int perm = 0; perm < 6; perm++)
        {
            if (Required(perm, cx, s1, s2, y.CentralSpecies, out int q1, out int q2))
            {
                var (start, firstEnd, end) = y.TripletRangeWithFirstVertex(q1, q2);
                if (start != end)
                {
                    matches[nm++] = (perm, start, firstVertex ? firstEnd : end, end);
                }
            }
        }

        return nm;
    }

    /// <summary>Label directions of the three distances of triplet t (3 × 10, slot 0 = 0): force −∂d/∂r_c, and w × strain derivative.</summary>
    private static void Directions(AtomEnvironment e, int t, double w, Span<double> g)
    {
        double d1 = e.TR1[t], d2 = e.TR2[t], d3 = e.TR3[t];
        double u1x = e.TU1x[t], u1y = e.TU1y[t], u1z = e.TU1z[t];
        double u2x = e.TU2x[t], u2y = e.TU2y[t], u2z = e.TU2z[t];
        Fill(g[..10], u1x, u1y, u1z, w * d1, u1x, u1y, u1z);
        Fill(g.Slice(10, 10), u2x, u2y, u2z, w * d2, u2x, u2y, u2z);
        double x3 = d2 * u2x - d1 * u1x, y3 = d2 * u2y - d1 * u1y, z3 = d2 * u2z - d1 * u1z;
        double inv = 1 / d3;
        Fill(g.Slice(20, 10), 0, 0, 0, w * d3, x3 * inv, y3 * inv, z3 * inv);

        static void Fill(Span<double> s, double fx, double fy, double fz, double wd, double nx, double ny, double nz)
        {
            s[0] = 0;
            s[1] = fx;
            s[2] = fy;
            s[3] = fz;
            s[4] = wd * nx * nx;
            s[5] = wd * ny * ny;
            s[6] = wd * nz * nz;
            s[7] = wd * ny * nz;
            s[8] = wd * nx * nz;
            s[9] = wd * nx * ny;
        }
    }

    /// <inheritdoc />
    public override void EnvironmentCovariance(AtomEnvironment x, AtomEnvironment y, Span<double> block, Span<double> hyperparameterGradients)
    {
        if (SimdSupport.Use512)
        {
            General<V512>(x, y, block, hyperparameterGradients);
        }
        else
        {
            General<V256>(x, y, block, hyperparameterGradients);
        }
    }

    /// <summary>
    /// The triangle-once form of the block (see <see cref="LocalKernel.SummedEnvironmentCovariance"/>): every
    /// triangle of atoms enters a structure's energy and virial through the environments of its three atoms with
    /// weight 1/3 each, and since the kernel sums over all species-preserving vertex permutations its
    /// contribution to them does not depend on which of its atoms is central. So the energy and virial rows take
    /// the side-1 triplets whose central atom is their triangle's first vertex, with weight 1, and the energy
    /// and virial columns the side-2 triplets of that kind; the force rows and columns take every triplet, as
    /// in <see cref="EnvironmentCovariance"/>. Summed over all environment pairs of two whole structures the
    /// energy, force and stress covariances equal <see cref="EnvironmentCovariance"/>'s; per pair only the
    /// force–force entries do. Environments without first-vertex ranges (not built with their structure) take
    /// the exact block.
    /// </summary>
    internal override void SummedEnvironmentCovariance(AtomEnvironment x, AtomEnvironment y, Span<double> block, Span<double> hyperparameterGradients, bool energyAndStressOnly)
    {
        bool ready = x.TripletFirstVertexEnd.Length == x.TripletSpeciesList.Length && y.TripletFirstVertexEnd.Length == y.TripletSpeciesList.Length;
        var form = !ready ? Form.Exact : energyAndStressOnly ? Form.EnergyStressOnce : Form.TriangleOnce;
        if (SimdSupport.Use512)
        {
            General<V512>(x, y, block, hyperparameterGradients, form);
        }
        else
        {
            General<V256>(x, y, block, hyperparameterGradients, form);
        }
    }

    /// <summary>Which block <see cref="General{TV}(AtomEnvironment, AtomEnvironment, Span{double}, Span{double}, Form)"/> computes.</summary>
    internal enum Form
    {
        /// <summary>The exact per-pair block (<see cref="EnvironmentCovariance"/>).</summary>
        Exact,

        /// <summary>The triangle-once block (<see cref="SummedEnvironmentCovariance"/>).</summary>
        TriangleOnce,

        /// <summary>Its energy and virial entries alone: first-vertex triplets on both sides, nothing else.</summary>
        EnergyStressOnce,
    }

    /// <summary>
    /// The general 10 × 10 block (and its hyperparameter derivatives), vectorised over the side-2
    /// triplets. For each side-1 triplet the rows r0, rp (and ∂/∂ℓ rows dr0, drp) are sums over side-2
    /// triplets m of α_r(m) Y(m) + eab(m) G_{P(r)}(m): the side-2 label directions G_q (force unit vector,
    /// virial weight × n⊗n of edge q; <see cref="SideTwoDirections"/>, computed once per call rather than per
    /// side-1 triplet) are first projected on the per-triplet edge coefficients β_q (Y = Σ_q β_q G_q, and for
    /// ∂/∂ℓ Z = Σ_q Δ'_q G_q), then each of the 4 (8) rows takes one multiply–add per column (plus the matched
    /// edge's term) instead of one per edge: the same sums as <see cref="GeneralReference{TV}"/>, with less
    /// arithmetic and memory traffic. The batches run per permutation and gradient setting
    /// (<see cref="Batch{TVec, TO, TP, TG, TR, TC}"/>); the accumulators are reduced once per side-1 triplet. The
    /// side-1 triplets go by runs of one neighbour-species pair, whose matching permutations and side-2 ranges are
    /// found once; with derivatives, the block and ∂/∂σ take the run's unscaled sum, scaled once per run. The
    /// overload with a <see cref="Form"/> other than <see cref="Form.Exact"/> gives the triangle-once forms of <see cref="SummedEnvironmentCovariance"/>:
    /// energy and virial rows (columns) only for first-vertex side-1 (side-2) triplets, at weight 1 instead of 1/3.
    /// </summary>
    internal void General<TV>(AtomEnvironment x, AtomEnvironment y, Span<double> block, Span<double> hyperparameterGradients)
        where TV : unmanaged, ISimd<TV> => General<TV>(x, y, block, hyperparameterGradients, Form.Exact);

    /// <summary><see cref="General{TV}(AtomEnvironment, AtomEnvironment, Span{double}, Span{double})"/> in the given <paramref name="form"/>.</summary>
    internal void General<TV>(AtomEnvironment x, AtomEnvironment y, Span<double> block, Span<double> hyperparameterGradients, Form form)
        where TV : unmanaged, ISimd<TV>
    {
        if (x.TripletCount == 0 || y.TripletCount == 0)
        {
            return;
        }

        int stride = y.TripletCount + DirectionPadding;
        double[] dirs = ArrayPool<double>.Shared.Rent(DirectionRows * stride);
        try
        {
            double w = form == Form.Exact ? 1.0 / 3.0 : 1; // weight of a triplet in the energy and virial
            SideTwoDirections(y, dirs, stride, w);
            // The hot loops take the raw vector type (IVectorOps): through the ISimd wrappers the JIT adds register copies.
            if (typeof(TV) == typeof(V512))
            {
                GeneralPass<Vector512<double>, Ops512>(x, y, dirs, stride, block, hyperparameterGradients, form);
            }
            else
            {
                GeneralPass<Vector256<double>, Ops256>(x, y, dirs, stride, block, hyperparameterGradients, form);
            }
        }
        finally
        {
            ArrayPool<double>.Shared.Return(dirs);
        }
    }

    /// <summary>Rows of <see cref="SideTwoDirections"/>: 3 edges × 9 label directions (force x, y, z, virial Voigt).</summary>
    private const int DirectionRows = 27;

    /// <summary>Zero tail of each direction row, at least the widest vector, so that the last batch loads within the row.</summary>
    private const int DirectionPadding = 8;

    /// <summary>
    /// The label directions G_q[k] of every triplet m of <paramref name="y"/>, row (9q + k − 1) of
    /// <paramref name="dirs"/> (each row <paramref name="stride"/> long, zero past the last triplet): for k = 1..3 the
    /// force direction (the unit vectors of edges 0 and 1; 0 for edge 2, which does not move the centre),
    /// for k = 4..9 the virial direction w d_q n_q⊗n_q (Voigt xx yy zz yz xz xy), as
    /// <see cref="GeneralReference{TV}"/> computes them per side-1 triplet.
    /// </summary>
    private static void SideTwoDirections(AtomEnvironment y, double[] dirs, int stride, double w)
    {
        int n = y.TripletCount;
        Array.Clear(dirs, 0, DirectionRows * stride);
        y.TU1x.AsSpan(0, n).CopyTo(dirs.AsSpan(0 * stride));
        y.TU1y.AsSpan(0, n).CopyTo(dirs.AsSpan(1 * stride));
        y.TU1z.AsSpan(0, n).CopyTo(dirs.AsSpan(2 * stride));
        y.TU2x.AsSpan(0, n).CopyTo(dirs.AsSpan(9 * stride));
        y.TU2y.AsSpan(0, n).CopyTo(dirs.AsSpan(10 * stride));
        y.TU2z.AsSpan(0, n).CopyTo(dirs.AsSpan(11 * stride));
        for (int m = 0; m < n; m++)
        {
            double e0 = y.TR1[m], e1 = y.TR2[m], e2 = y.TR3[m];
            double n0x = y.TU1x[m], n0y = y.TU1y[m], n0z = y.TU1z[m];
            double n1x = y.TU2x[m], n1y = y.TU2y[m], n1z = y.TU2z[m];
            Virial(dirs, 3 * stride + m, stride, n0x, n0y, n0z, w * e0);
            Virial(dirs, 12 * stride + m, stride, n1x, n1y, n1z, w * e1);
            Virial(dirs, 21 * stride + m, stride, e1 * n1x - e0 * n0x, e1 * n1y - e0 * n0y, e1 * n1z - e0 * n0z, w / Math.Max(e2, 1e-300));
        }

        // wd · (nx², ny², nz², ny nz, nx nz, nx ny), in the order of operations of Directions<TV>.
        static void Virial(double[] g, int o, int stride, double nx, double ny, double nz, double wd)
        {
            double wx = wd * nx, wy = wd * ny;
            g[o] = wx * nx;
            g[o + stride] = wy * ny;
            g[o + 2 * stride] = wd * nz * nz;
            g[o + 3 * stride] = wy * nz;
            g[o + 4 * stride] = wx * nz;
            g[o + 5 * stride] = wx * ny;
        }
    }

    /// <summary>
    /// The side-1 triplets of <see cref="General{TV}(AtomEnvironment, AtomEnvironment, Span{double}, Span{double})"/>, one run of a neighbour-species pair at a time (its triplets
    /// match the same permutations and side-2 ranges and share σ, ℓ, found once per run): per triplet, the matching
    /// permutations' batches, then the reduction and rank update. In the triangle-once forms only first-vertex
    /// side-1 triplets take the energy and virial rows, and only first-vertex side-2 triplets the energy and virial
    /// columns (each run's first part); with <see cref="Form.EnergyStressOnce"/> no other triplets are visited.
    /// </summary>
    private void GeneralPass<TVec, TO>(AtomEnvironment x, AtomEnvironment y, double[] dirs, int stride, Span<double> block, Span<double> hyperparameterGradients, Form form)
        where TVec : unmanaged
        where TO : struct, IVectorOps<TVec>
    {
        bool wantGrad = !hyperparameterGradients.IsEmpty;
        bool summed = form != Form.Exact, energyStressOnly = form == Form.EnergyStressOnce;
        double w = summed ? 1 : 1.0 / 3.0; // weight of a triplet in the energy and virial (1/3: its energy split among its three atoms)
        int rows = wantGrad ? 8 : 4;
        Span<TVec> acc = stackalloc TVec[8 * 10];
        Span<double> gx = stackalloc double[30];
        Span<double> r = stackalloc double[8 * 10];
        Span<double> dx = stackalloc double[3];
        int cx = x.CentralSpecies;
        var zero = TO.Create(0);
        var vw = TO.Create(w);
        Span<(int Perm, int Start, int FirstEnd, int End)> matches = stackalloc (int, int, int, int)[6];
        Span<double> u = stackalloc double[EnvironmentBlockSize];
        ref double g = ref dirs[0];
        var groups = x.TripletSpeciesList;
        for (int sg = 0; sg < groups.Length; sg++)
        {
            var (s1, s2) = groups[sg];
            int nm = Matches(cx, s1, s2, y, matches, summed);

            if (nm == 0)
            {
                continue;
            }

            int grp = H.GroupOfTriplet(cx, s1, s2);
            double sigma = H.Sigma[grp], ell = H.Length[grp];
            double sig2 = sigma * sigma, lam = 1 / (ell * ell);
            var vlam = TO.Create(lam);
            var vc1s = TO.Create(lam / ell);
            var vc2 = TO.Create(2 * lam / ell);
            var gs = wantGrad ? hyperparameterGradients.Slice(2 * grp * EnvironmentBlockSize, EnvironmentBlockSize) : default;
            var gl = wantGrad ? hyperparameterGradients.Slice((2 * grp + 1) * EnvironmentBlockSize, EnvironmentBlockSize) : default;
            if (wantGrad)
            {
                u.Clear();
            }

            int firstEnd = summed ? x.TripletFirstVertexEnd[sg] : x.TripletRangeStart[sg + 1];
            int tEnd = energyStressOnly ? firstEnd : x.TripletRangeStart[sg + 1];
            for (int t = x.TripletRangeStart[sg]; t < tEnd; t++)
            {
                bool energyRows = t < firstEnd;
                double wt = energyRows ? w : 0;
                dx[0] = x.TR1[t];
                dx[1] = x.TR2[t];
                dx[2] = x.TR3[t];
                double a = x.TF[t];
                var va = TO.Create(a);
                var vlama = TO.Create(lam * a);
                var vax0 = TO.Create(x.TF1[t]);
                var vax1 = TO.Create(x.TF2[t]);
                var vax2 = TO.Create(x.TF3[t]);
                var vc2a = TO.Create(2 * lam / ell * a);
                acc[..(rows * 10)].Fill(zero);
                ref TVec ac = ref MemoryMarshal.GetReference(acc);
                foreach (var (perm, start, mid, all) in matches[..nm])
                {
                    int end = energyStressOnly ? mid : all;
                    var pm = EdgeMaps[perm];
                    var pinv = InverseEdgeMaps[perm];
                    var consts = new TripletConstants<TVec>(TO.Create(dx[pinv[0]]), TO.Create(dx[pinv[1]]), TO.Create(dx[pinv[2]]), va, vax0, vax1, vax2, vlam, vlama, vc1s, vc2, vc2a, vw);
                    int code = 9 * pm[0] + 3 * pm[1] + pm[2];
                    if (energyRows)
                    {
                        Permutation<TVec, TO, AllLabels>(code, consts, y, start, mid, end, ref g, stride, ref ac, wantGrad);
                    }
                    else
                    {
                        Permutation<TVec, TO, ForceLabels>(code, consts, y, start, mid, end, ref g, stride, ref ac, wantGrad);
                    }
                }

                Reduce<TVec, TO>(acc, r, rows);
                Directions(x, t, wt, gx);
                if (wantGrad)
                {
                    // The block and ∂/∂σ share the run's unscaled sum, scaled once at the end of the run.
                    Update(u, 1, wt, r[..10], gx, r.Slice(10, 30));
                    Update(gl, sig2, wt, r.Slice(40, 10), gx, r.Slice(50, 30));
                }
                else
                {
                    Update(block, sig2, wt, r[..10], gx, r.Slice(10, 30));
                }
            }

            if (wantGrad)
            {
                for (int i = 0; i < EnvironmentBlockSize; i++)
                {
                    block[i] = Math.FusedMultiplyAdd(sig2, u[i], block[i]);
                    gs[i] = Math.FusedMultiplyAdd(2 * sigma, u[i], gs[i]);
                }
            }
        }
    }

    /// <summary>
    /// One permutation's side-2 range: the batches of [<paramref name="start"/>, <paramref name="mid"/>) with every
    /// column, then of [<paramref name="mid"/>, <paramref name="end"/>) with the force columns alone, for the
    /// permutation's edge map (<paramref name="code"/> = 9 p₀ + 3 p₁ + p₂) as a type constant.
    /// </summary>
    private static void Permutation<TVec, TO, TR>(int code, in TripletConstants<TVec> c, AtomEnvironment y, int start, int mid, int end, ref double g, int stride, ref TVec ac, bool wantGrad)
        where TVec : unmanaged
        where TO : struct, IVectorOps<TVec>
        where TR : struct, ILabelSet
    {
        switch (code)
        {
            case 5:
                Range<TVec, TO, Map012, TR>(c, y, start, mid, end, ref g, stride, ref ac, wantGrad);
                break;
            case 7:
                Range<TVec, TO, Map021, TR>(c, y, start, mid, end, ref g, stride, ref ac, wantGrad);
                break;
            case 11:
                Range<TVec, TO, Map102, TR>(c, y, start, mid, end, ref g, stride, ref ac, wantGrad);
                break;
            case 15:
                Range<TVec, TO, Map120, TR>(c, y, start, mid, end, ref g, stride, ref ac, wantGrad);
                break;
            case 19:
                Range<TVec, TO, Map201, TR>(c, y, start, mid, end, ref g, stride, ref ac, wantGrad);
                break;
            default:
                Range<TVec, TO, Map210, TR>(c, y, start, mid, end, ref g, stride, ref ac, wantGrad);
                break;
        }
    }

    private static void Range<TVec, TO, TP, TR>(in TripletConstants<TVec> c, AtomEnvironment y, int start, int mid, int end, ref double g, int stride, ref TVec ac, bool wantGrad)
        where TVec : unmanaged
        where TO : struct, IVectorOps<TVec>
        where TP : struct, IEdgeMap
        where TR : struct, ILabelSet
    {
        if (wantGrad)
        {
            Batch<TVec, TO, TP, WithGradients, TR, AllLabels>(c, y, start, mid, ref g, stride, ref ac);
            Batch<TVec, TO, TP, WithGradients, TR, ForceLabels>(c, y, mid, end, ref g, stride, ref ac);
        }
        else
        {
            Batch<TVec, TO, TP, ValuesOnly, TR, AllLabels>(c, y, start, mid, ref g, stride, ref ac);
            Batch<TVec, TO, TP, ValuesOnly, TR, ForceLabels>(c, y, mid, end, ref g, stride, ref ac);
        }
    }

    /// <summary>
    /// r = the lane sums of <paramref name="rows"/> rows of 10 accumulators, four at a time and stored in the pieces
    /// (4, 4, 2 of each row) in which <see cref="KernelMath.RankUpdate"/> loads them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Reduce<TVec, TO>(Span<TVec> acc, Span<double> r, int rows)
        where TVec : unmanaged
        where TO : struct, IVectorOps<TVec>
    {
        ref TVec ac = ref MemoryMarshal.GetReference(acc);
        ref double rr = ref MemoryMarshal.GetReference(r);
        for (int row = 0; row < rows; row += 2)
        {
            nint o = 10 * row;
            TO.Sum4(Unsafe.Add(ref ac, o), Unsafe.Add(ref ac, o + 1), Unsafe.Add(ref ac, o + 2), Unsafe.Add(ref ac, o + 3)).StoreUnsafe(ref rr, (nuint)o);
            TO.Sum4(Unsafe.Add(ref ac, o + 4), Unsafe.Add(ref ac, o + 5), Unsafe.Add(ref ac, o + 6), Unsafe.Add(ref ac, o + 7)).StoreUnsafe(ref rr, (nuint)(o + 4));
            TO.Sum4(Unsafe.Add(ref ac, o + 10), Unsafe.Add(ref ac, o + 11), Unsafe.Add(ref ac, o + 12), Unsafe.Add(ref ac, o + 13)).StoreUnsafe(ref rr, (nuint)(o + 10));
            TO.Sum4(Unsafe.Add(ref ac, o + 14), Unsafe.Add(ref ac, o + 15), Unsafe.Add(ref ac, o + 16), Unsafe.Add(ref ac, o + 17)).StoreUnsafe(ref rr, (nuint)(o + 14));
            var tail = TO.Sum4(Unsafe.Add(ref ac, o + 8), Unsafe.Add(ref ac, o + 9), Unsafe.Add(ref ac, o + 18), Unsafe.Add(ref ac, o + 19));
            tail.GetLower().StoreUnsafe(ref rr, (nuint)(o + 8));
            tail.GetUpper().StoreUnsafe(ref rr, (nuint)(o + 18));
        }
    }

    /// <summary>Per-side-1-triplet constants of <see cref="Batch{TVec, TO, TP, TG, TR, TC}"/>; W weighs the energy column.</summary>
    private readonly struct TripletConstants<TVec>(TVec d0, TVec d1, TVec d2, TVec a, TVec ax0, TVec ax1, TVec ax2, TVec lam, TVec lamA, TVec c1s, TVec c2, TVec c2a, TVec w)
        where TVec : unmanaged
    {
        public readonly TVec D0 = d0, D1 = d1, D2 = d2, A = a, Ax0 = ax0, Ax1 = ax1, Ax2 = ax2, Lam = lam, LamA = lamA, C1s = c1s, C2 = c2, C2a = c2a, W = w;
    }

    /// <summary>Side-2 edge p_q matched to side-1 edge q by one of the six permutations, as type constants so that the JIT folds the selections.</summary>
    private interface IEdgeMap
    {
        static abstract int P0 { get; }

        static abstract int P1 { get; }

        static abstract int P2 { get; }
    }

    private readonly struct Map012 : IEdgeMap
    {
        public static int P0 => 0;

        public static int P1 => 1;

        public static int P2 => 2;
    }

    private readonly struct Map021 : IEdgeMap
    {
        public static int P0 => 0;

        public static int P1 => 2;

        public static int P2 => 1;
    }

    private readonly struct Map102 : IEdgeMap
    {
        public static int P0 => 1;

        public static int P1 => 0;

        public static int P2 => 2;
    }

    private readonly struct Map120 : IEdgeMap
    {
        public static int P0 => 1;

        public static int P1 => 2;

        public static int P2 => 0;
    }

    private readonly struct Map201 : IEdgeMap
    {
        public static int P0 => 2;

        public static int P1 => 0;

        public static int P2 => 1;
    }

    private readonly struct Map210 : IEdgeMap
    {
        public static int P0 => 2;

        public static int P1 => 1;

        public static int P2 => 0;
    }

    /// <summary>
    /// Which labels a batch serves, on its rows (all four accumulator rows, or the two force rows of edges 0 and 1)
    /// or its columns (all ten, or the three force columns), as a type constant the JIT folds.
    /// </summary>
    private interface ILabelSet
    {
        static abstract bool All { get; }
    }

    /// <summary>Energy, force and virial labels.</summary>
    private readonly struct AllLabels : ILabelSet
    {
        public static bool All => true;
    }

    /// <summary>Force labels alone.</summary>
    private readonly struct ForceLabels : ILabelSet
    {
        public static bool All => false;
    }

    /// <summary>
    /// The side-2 triplets [start, end) of one permutation, whose side-1 edge q meets side-2 edge TP.P_q, added to the
    /// accumulator rows at <paramref name="ac"/> (see <see cref="General{TV}(AtomEnvironment, AtomEnvironment, Span{double}, Span{double})"/>): rows α, edge 0, 1, 2 (with TG, their
    /// ∂/∂ℓ rows 4–7), or with TR = <see cref="ForceLabels"/> the edge 0 and 1 rows alone; all ten columns, or with
    /// TC = <see cref="ForceLabels"/> the force columns alone.
    /// </summary>
    private static void Batch<TVec, TO, TP, TG, TR, TC>(in TripletConstants<TVec> c, AtomEnvironment y, int start, int end, ref double g, int stride, ref TVec ac)
        where TVec : unmanaged
        where TO : struct, IVectorOps<TVec>
        where TP : struct, IEdgeMap
        where TG : struct, IGradientFlag
        where TR : struct, ILabelSet
        where TC : struct, ILabelSet
    {
        int width = TO.Count;
        var lane = TO.LaneIndex();
        var zero = TO.Create(0);
        var vw = c.W;
        var vd0 = c.D0;
        var vd1 = c.D1;
        var vd2 = c.D2;
        var va = c.A;
        var vax0 = c.Ax0;
        var vax1 = c.Ax1;
        var vax2 = c.Ax2;
        var vlam = c.Lam;
        var vhalf = TO.Multiply(TO.Create(-0.5), vlam);
        var vlama = c.LamA;
        var vc1s = c.C1s;
        var vc2 = c.C2;
        var vc2a = c.C2a;
        var vend = TO.Create(end);
        nint edge = 9 * stride;
        int lastColumn = TC.All ? 10 : 4;
        ref double y1 = ref MemoryMarshal.GetArrayDataReference(y.TR1);
        ref double y2 = ref MemoryMarshal.GetArrayDataReference(y.TR2);
        ref double y3 = ref MemoryMarshal.GetArrayDataReference(y.TR3);
        ref double yf = ref MemoryMarshal.GetArrayDataReference(y.TF);
        ref double yf1 = ref MemoryMarshal.GetArrayDataReference(y.TF1);
        ref double yf2 = ref MemoryMarshal.GetArrayDataReference(y.TF2);
        ref double yf3 = ref MemoryMarshal.GetArrayDataReference(y.TF3);
        for (int m = start; m < end; m += width)
        {
            // Δ'_q = d_{P⁻¹q} − d'_q by side-2 edge q; lanes at or past `end` get e = 0.
            var dq0 = TO.Subtract(vd0, TO.LoadAt(ref y1, m));
            var dq1 = TO.Subtract(vd1, TO.LoadAt(ref y2, m));
            var dq2 = TO.Subtract(vd2, TO.LoadAt(ref y3, m));
            var s = TO.Fma(dq0, dq0, TO.Fma(dq1, dq1, TO.Multiply(dq2, dq2)));
            var e = TO.KeepWhereLess(TO.Exp(TO.Multiply(vhalf, s)), TO.Add(lane, TO.Create(m)), vend);
            var b = TO.LoadAt(ref yf, m);
            var lb = TO.Multiply(vlam, b);
            var v0 = TO.Fma(lb, dq0, TO.LoadAt(ref yf1, m));
            var v1 = TO.Fma(lb, dq1, TO.LoadAt(ref yf2, m));
            var v2 = TO.Fma(lb, dq2, TO.LoadAt(ref yf3, m));
            var dp0 = Pick(TP.P0, dq0, dq1, dq2);
            var dp1 = Pick(TP.P1, dq0, dq1, dq2);
            var dp2 = Pick(TP.P2, dq0, dq1, dq2);
            var ea = TO.Multiply(e, va);
            var eu0 = TO.Multiply(e, TO.Subtract(vax0, TO.Multiply(vlama, dp0)));
            var eu1 = TO.Multiply(e, TO.Subtract(vax1, TO.Multiply(vlama, dp1)));
            var eu2 = TO.Multiply(e, TO.Subtract(vax2, TO.Multiply(vlama, dp2)));
            var eab = TO.Multiply(TO.Multiply(e, vlama), b);
            if (TC.All)
            {
                EnergyColumn<TVec, TO, TR>(ref ac, 0, TO.Multiply(vw, b), ea, eu0, eu1, eu2);
            }

            if (!TG.On)
            {
                for (int k = 1; k < 4; k++)
                {
                    nint o = (k - 1) * stride + m;
                    var g0 = TO.LoadAt(ref g, o);
                    var g1 = TO.LoadAt(ref g, o + edge);
                    var yk = TO.Fma(v0, g0, TO.Multiply(v1, g1)); // edge 2 has no force direction
                    Unsafe.Add(ref ac, 10 + k) = TO.Fma(eu0, yk, TO.Fma(eab, Pick(TP.P0, g0, g1, zero), Unsafe.Add(ref ac, 10 + k)));
                    Unsafe.Add(ref ac, 20 + k) = TO.Fma(eu1, yk, TO.Fma(eab, Pick(TP.P1, g0, g1, zero), Unsafe.Add(ref ac, 20 + k)));
                    if (TR.All)
                    {
                        Unsafe.Add(ref ac, k) = TO.Fma(ea, yk, Unsafe.Add(ref ac, k));
                        Unsafe.Add(ref ac, 30 + k) = TO.Fma(eu2, yk, TO.Fma(eab, Pick(TP.P2, g0, g1, zero), Unsafe.Add(ref ac, 30 + k)));
                    }
                }

                for (int k = 4; k < lastColumn; k++)
                {
                    nint o = (k - 1) * stride + m;
                    var g0 = TO.LoadAt(ref g, o);
                    var g1 = TO.LoadAt(ref g, o + edge);
                    var g2 = TO.LoadAt(ref g, o + 2 * edge);
                    var yk = TO.Fma(v0, g0, TO.Fma(v1, g1, TO.Multiply(v2, g2)));
                    Unsafe.Add(ref ac, 10 + k) = TO.Fma(eu0, yk, TO.Fma(eab, Pick(TP.P0, g0, g1, g2), Unsafe.Add(ref ac, 10 + k)));
                    Unsafe.Add(ref ac, 20 + k) = TO.Fma(eu1, yk, TO.Fma(eab, Pick(TP.P1, g0, g1, g2), Unsafe.Add(ref ac, 20 + k)));
                    if (TR.All)
                    {
                        Unsafe.Add(ref ac, k) = TO.Fma(ea, yk, Unsafe.Add(ref ac, k));
                        Unsafe.Add(ref ac, 30 + k) = TO.Fma(eu2, yk, TO.Fma(eab, Pick(TP.P2, g0, g1, g2), Unsafe.Add(ref ac, 30 + k)));
                    }
                }

                continue;
            }

            // ∂/∂ℓ: the exponent contributes c1 = s λ/ℓ, each λ-weighted Δ the factor c2 = 2λ/ℓ; the rows
            // are α′_r Y − β′_r Z (+ dab G_{p_q}) with Z = Σ_q Δ'_q G_q.
            var c1 = TO.Multiply(vc1s, s);
            var c2b = TO.Multiply(vc2, b);
            var ec2a = TO.Multiply(e, vc2a);
            var al0 = TO.Multiply(c1, ea);
            var al1 = TO.Fma(c1, eu0, TO.Multiply(ec2a, dp0));
            var al2 = TO.Fma(c1, eu1, TO.Multiply(ec2a, dp1));
            var al3 = TO.Fma(c1, eu2, TO.Multiply(ec2a, dp2));
            var nbe0 = TO.Subtract(zero, TO.Multiply(ea, c2b));
            var nbe1 = TO.Subtract(zero, TO.Multiply(eu0, c2b));
            var nbe2 = TO.Subtract(zero, TO.Multiply(eu1, c2b));
            var nbe3 = TO.Subtract(zero, TO.Multiply(eu2, c2b));
            var dab = TO.Multiply(TO.Multiply(TO.Multiply(TO.Subtract(TO.Multiply(c1, vlam), vc2), e), va), b);
            if (TC.All)
            {
                EnergyColumn<TVec, TO, TR>(ref ac, 40, TO.Multiply(vw, b), al0, al1, al2, al3);
            }

            for (int k = 1; k < 4; k++)
            {
                nint o = (k - 1) * stride + m;
                var g0 = TO.LoadAt(ref g, o);
                var g1 = TO.LoadAt(ref g, o + edge);
                var gp0 = Pick(TP.P0, g0, g1, zero);
                var gp1 = Pick(TP.P1, g0, g1, zero);
                var yk = TO.Fma(v0, g0, TO.Multiply(v1, g1)); // edge 2 has no force direction
                var zk = TO.Fma(dq0, g0, TO.Multiply(dq1, g1));
                Unsafe.Add(ref ac, 10 + k) = TO.Fma(eu0, yk, TO.Fma(eab, gp0, Unsafe.Add(ref ac, 10 + k)));
                Unsafe.Add(ref ac, 20 + k) = TO.Fma(eu1, yk, TO.Fma(eab, gp1, Unsafe.Add(ref ac, 20 + k)));
                Unsafe.Add(ref ac, 50 + k) = TO.Fma(nbe1, zk, TO.Fma(al1, yk, TO.Fma(dab, gp0, Unsafe.Add(ref ac, 50 + k))));
                Unsafe.Add(ref ac, 60 + k) = TO.Fma(nbe2, zk, TO.Fma(al2, yk, TO.Fma(dab, gp1, Unsafe.Add(ref ac, 60 + k))));
                if (TR.All)
                {
                    var gp2 = Pick(TP.P2, g0, g1, zero);
                    Unsafe.Add(ref ac, k) = TO.Fma(ea, yk, Unsafe.Add(ref ac, k));
                    Unsafe.Add(ref ac, 30 + k) = TO.Fma(eu2, yk, TO.Fma(eab, gp2, Unsafe.Add(ref ac, 30 + k)));
                    Unsafe.Add(ref ac, 40 + k) = TO.Fma(nbe0, zk, TO.Fma(al0, yk, Unsafe.Add(ref ac, 40 + k)));
                    Unsafe.Add(ref ac, 70 + k) = TO.Fma(nbe3, zk, TO.Fma(al3, yk, TO.Fma(dab, gp2, Unsafe.Add(ref ac, 70 + k))));
                }
            }

            for (int k = 4; k < lastColumn; k++)
            {
                nint o = (k - 1) * stride + m;
                var g0 = TO.LoadAt(ref g, o);
                var g1 = TO.LoadAt(ref g, o + edge);
                var g2 = TO.LoadAt(ref g, o + 2 * edge);
                var gp0 = Pick(TP.P0, g0, g1, g2);
                var gp1 = Pick(TP.P1, g0, g1, g2);
                var yk = TO.Fma(v0, g0, TO.Fma(v1, g1, TO.Multiply(v2, g2)));
                var zk = TO.Fma(dq0, g0, TO.Fma(dq1, g1, TO.Multiply(dq2, g2)));
                Unsafe.Add(ref ac, 10 + k) = TO.Fma(eu0, yk, TO.Fma(eab, gp0, Unsafe.Add(ref ac, 10 + k)));
                Unsafe.Add(ref ac, 20 + k) = TO.Fma(eu1, yk, TO.Fma(eab, gp1, Unsafe.Add(ref ac, 20 + k)));
                Unsafe.Add(ref ac, 50 + k) = TO.Fma(nbe1, zk, TO.Fma(al1, yk, TO.Fma(dab, gp0, Unsafe.Add(ref ac, 50 + k))));
                Unsafe.Add(ref ac, 60 + k) = TO.Fma(nbe2, zk, TO.Fma(al2, yk, TO.Fma(dab, gp1, Unsafe.Add(ref ac, 60 + k))));
                if (TR.All)
                {
                    var gp2 = Pick(TP.P2, g0, g1, g2);
                    Unsafe.Add(ref ac, k) = TO.Fma(ea, yk, Unsafe.Add(ref ac, k));
                    Unsafe.Add(ref ac, 30 + k) = TO.Fma(eu2, yk, TO.Fma(eab, gp2, Unsafe.Add(ref ac, 30 + k)));
                    Unsafe.Add(ref ac, 40 + k) = TO.Fma(nbe0, zk, TO.Fma(al0, yk, Unsafe.Add(ref ac, 40 + k)));
                    Unsafe.Add(ref ac, 70 + k) = TO.Fma(nbe3, zk, TO.Fma(al3, yk, TO.Fma(dab, gp2, Unsafe.Add(ref ac, 70 + k))));
                }
            }
        }
    }

    /// <summary>
    /// The energy column (column 0) of the four accumulator rows from <paramref name="o"/> on (10 apart): row r gets
    /// its coefficient × w b; with TR = <see cref="ForceLabels"/> only the edge 0 and 1 rows.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void EnergyColumn<TVec, TO, TR>(ref TVec ac, nint o, TVec wb, TVec r0, TVec r1, TVec r2, TVec r3)
        where TVec : unmanaged
        where TO : struct, IVectorOps<TVec>
        where TR : struct, ILabelSet
    {
        if (TR.All)
        {
            Unsafe.Add(ref ac, o) = TO.Add(Unsafe.Add(ref ac, o), TO.Multiply(r0, wb));
            Unsafe.Add(ref ac, o + 30) = TO.Add(Unsafe.Add(ref ac, o + 30), TO.Multiply(r3, wb));
        }

        Unsafe.Add(ref ac, o + 10) = TO.Add(Unsafe.Add(ref ac, o + 10), TO.Multiply(r1, wb));
        Unsafe.Add(ref ac, o + 20) = TO.Add(Unsafe.Add(ref ac, o + 20), TO.Multiply(r2, wb));
    }

    /// <summary>The one of (d0, d1, d2) that edge index <paramref name="p"/> names.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T Pick<T>(int p, T d0, T d1, T d2)
        where T : struct => p == 0 ? d0 : (p == 1 ? d1 : d2);

    /// <summary>
    /// The former general pass, kept as the reference of <see cref="General{TV}(AtomEnvironment, AtomEnvironment, Span{double}, Span{double})"/> (tests compare the two):
    /// vectorised over the side-2 triplets, for each side-1 triplet the rows r0, rp (and ∂/∂ℓ rows dr0, drp)
    /// are sums over side-2 triplets of Σ_q W_q(m) G_q(m): per-triplet coefficients W_q of edge q times that
    /// edge's label directions G_q (force unit vector, virial weight × n⊗n), recomputed for every side-1
    /// triplet, contracted by a small 9-column product per row.
    /// </summary>
    internal void GeneralReference<TV>(AtomEnvironment x, AtomEnvironment y, Span<double> block, Span<double> hyperparameterGradients)
        where TV : unmanaged, ISimd<TV>
    {
        if (x.TripletCount == 0 || y.TripletCount == 0)
        {
            return;
        }

        bool wantGrad = !hyperparameterGradients.IsEmpty;
        const double w = 1.0 / 3.0; // triplet energy split among its three atoms
        int rows = wantGrad ? 8 : 4;
        Span<TV> acc = stackalloc TV[8 * 10];
        Span<TV> gq = stackalloc TV[3 * 10];
        Span<TV> coef = stackalloc TV[8 * 4];
        Span<TV> dq = stackalloc TV[3];
        Span<double> gx = stackalloc double[30];
        Span<double> r = stackalloc double[8 * 10];
        Span<double> dx = stackalloc double[3];
        int cx = x.CentralSpecies, cy = y.CentralSpecies;
        int width = TV.Count;
        var lane = TV.LaneIndex();
        var zero = TV.Create(0);
        var vw = TV.Create(w);
        var tiny = TV.Create(1e-300); // keeps w / d2 finite in padding lanes (d2 = 0)
        double[] y1 = y.TR1, y2 = y.TR2, y3 = y.TR3, yf = y.TF, yf1 = y.TF1, yf2 = y.TF2, yf3 = y.TF3;
        double[] y1x = y.TU1x, y1y = y.TU1y, y1z = y.TU1z, y2x = y.TU2x, y2y = y.TU2y, y2z = y.TU2z;
        for (int t = 0; t < x.TripletCount; t++)
        {
            int s1 = x.TSpecies1[t], s2 = x.TSpecies2[t];
            int g = H.GroupOfTriplet(cx, s1, s2);
            double sigma = H.Sigma[g], ell = H.Length[g];
            double sig2 = sigma * sigma, lam = 1 / (ell * ell);
            dx[0] = x.TR1[t];
            dx[1] = x.TR2[t];
            dx[2] = x.TR3[t];
            double a = x.TF[t];
            var va = TV.Create(a);
            var vlam = TV.Create(lam);
            var vhalf = TV.Create(-0.5 * lam);
            var vlama = TV.Create(lam * a);
            var vax0 = TV.Create(x.TF1[t]);
            var vax1 = TV.Create(x.TF2[t]);
            var vax2 = TV.Create(x.TF3[t]);
            var vc1s = TV.Create(lam / ell);
            var vc2 = TV.Create(2 * lam / ell);
            var vc2a = TV.Create(2 * lam / ell * a);
            acc.Fill(zero);
            bool any = false;
            for (int perm = 0; perm < 6; perm++)
            {
                if (!Required(perm, cx, s1, s2, cy, out int q1, out int q2))
                {
                    continue;
                }

                var (start, end) = y.TripletRange(q1, q2);
                if (start == end)
                {
                    continue;
                }

                any = true;
                var pm = EdgeMaps[perm];
                var pinv = InverseEdgeMaps[perm];
                int p0 = pm[0], p1 = pm[1], p2 = pm[2];
                var vd0 = TV.Create(dx[pinv[0]]);
                var vd1 = TV.Create(dx[pinv[1]]);
                var vd2 = TV.Create(dx[pinv[2]]);
                var vend = TV.Create(end);
                for (int m = start; m < end; m += width)
                {
                    // Δ'_q = d_{P⁻¹q} − d'_q by side-2 edge q; lanes at or past `end` get e = 0.
                    var e0 = TV.Load(y1, m);
                    var e1 = TV.Load(y2, m);
                    var e2 = TV.Load(y3, m);
                    var dq0 = vd0 - e0;
                    var dq1 = vd1 - e1;
                    var dq2 = vd2 - e2;
                    dq[0] = dq0;
                    dq[1] = dq1;
                    dq[2] = dq2;
                    var s = TV.Fma(dq0, dq0, TV.Fma(dq1, dq1, dq2 * dq2));
                    var e = TV.KeepWhereLess(TV.Exp(vhalf * s), lane + TV.Create(m), vend);
                    var b = TV.Load(yf, m);
                    var lb = vlam * b;
                    var v0 = TV.Fma(lb, dq0, TV.Load(yf1, m));
                    var v1 = TV.Fma(lb, dq1, TV.Load(yf2, m));
                    var v2 = TV.Fma(lb, dq2, TV.Load(yf3, m));

                    // Side-2 label directions G_q[1..9] (G_2 has no force part: the jk edge does not move the centre).
                    var n0x = TV.Load(y1x, m);
                    var n0y = TV.Load(y1y, m);
                    var n0z = TV.Load(y1z, m);
                    var n1x = TV.Load(y2x, m);
                    var n1y = TV.Load(y2y, m);
                    var n1z = TV.Load(y2z, m);
                    Directions(gq, 0, n0x, n0y, n0z, vw * e0);
                    Directions(gq, 10, n1x, n1y, n1z, vw * e1);
                    Directions(gq, 20, e1 * n1x - e0 * n0x, e1 * n1y - e0 * n0y, e1 * n1z - e0 * n0z, vw / TV.Max(e2, tiny));

                    var ea = e * va;
                    var eu0 = e * (vax0 - vlama * dq[p0]);
                    var eu1 = e * (vax1 - vlama * dq[p1]);
                    var eu2 = e * (vax2 - vlama * dq[p2]);
                    var eab = e * vlama * b;
                    var wb = vw * b;
                    Coefficients(coef, 0, ea * wb, ea, v0, v1, v2);
                    Coefficients(coef, 4, eu0 * wb, eu0, v0, v1, v2);
                    Coefficients(coef, 8, eu1 * wb, eu1, v0, v1, v2);
                    Coefficients(coef, 12, eu2 * wb, eu2, v0, v1, v2);
                    coef[5 + p0] += eab;
                    coef[9 + p1] += eab;
                    coef[13 + p2] += eab;
                    if (wantGrad)
                    {
                        // ∂/∂ℓ: the exponent contributes c1 = s λ/ℓ, each λ-weighted Δ the factor c2 = 2λ/ℓ.
                        var c1 = vc1s * s;
                        var c2b = vc2 * b;
                        var c1ea = c1 * ea;
                        var eac2b = ea * c2b;
                        GradCoefficients(coef, 16, c1ea, eac2b, wb, v0, v1, v2, dq0, dq1, dq2);
                        var ec2a = e * vc2a;
                        GradCoefficients(coef, 20, TV.Fma(c1, eu0, ec2a * dq[p0]), eu0 * c2b, wb, v0, v1, v2, dq0, dq1, dq2);
                        GradCoefficients(coef, 24, TV.Fma(c1, eu1, ec2a * dq[p1]), eu1 * c2b, wb, v0, v1, v2, dq0, dq1, dq2);
                        GradCoefficients(coef, 28, TV.Fma(c1, eu2, ec2a * dq[p2]), eu2 * c2b, wb, v0, v1, v2, dq0, dq1, dq2);
                        var dab = (c1 * vlam - vc2) * e * va * b;
                        coef[21 + p0] += dab;
                        coef[25 + p1] += dab;
                        coef[29 + p2] += dab;
                    }

                    Accumulate(acc, coef, gq, rows);
                }
            }

            if (!any)
            {
                continue;
            }

            for (int k = 0; k < rows * 10; k++)
            {
                r[k] = TV.Sum(acc[k]);
            }

            Directions(x, t, w, gx);
            Update(block, sig2, w, r[..10], gx, r.Slice(10, 30));
            if (wantGrad)
            {
                var gs = hyperparameterGradients.Slice(2 * g * EnvironmentBlockSize, EnvironmentBlockSize);
                var gl = hyperparameterGradients.Slice((2 * g + 1) * EnvironmentBlockSize, EnvironmentBlockSize);
                Update(gs, 2 * sigma, w, r[..10], gx, r.Slice(10, 30));
                Update(gl, sig2, w, r.Slice(40, 10), gx, r.Slice(50, 30));
            }
        }
    }

    /// <inheritdoc />
    public override void LocalEnergyCovariance(AtomEnvironment x, AtomEnvironment y, Span<double> column, Span<double> hyperparameterGradients)
    {
        if (x.TripletCount == 0 || y.TripletCount == 0)
        {
            return;
        }

        if (SimdSupport.Use512)
        {
            LocalEnergy<V512>(x, y, column, hyperparameterGradients);
        }
        else
        {
            LocalEnergy<V256>(x, y, column, hyperparameterGradients);
        }
    }

    /// <summary>
    /// Column 0 of <see cref="General{TV}(AtomEnvironment, AtomEnvironment, Span{double}, Span{double})"/>'s block (labels of x versus the local energy of y): of its
    /// coefficients only the energy-column ones, Σ e a w b (energy row) and Σ e u_q w b for x's three
    /// edges (force and virial rows, times x's edge directions), and their ∂/∂ℓ; none of y's label
    /// directions. The same arithmetic in the same order as the full block.
    /// </summary>
    internal void LocalEnergy<TV>(AtomEnvironment x, AtomEnvironment y, Span<double> column, Span<double> hyperparameterGradients)
        where TV : unmanaged, ISimd<TV>
    {
        bool wantGrad = !hyperparameterGradients.IsEmpty;
        const double w = 1.0 / 3.0;
        Span<double> gx = stackalloc double[30];
        Span<double> r = stackalloc double[8];
        Span<double> dx = stackalloc double[3];
        Span<TV> dq = stackalloc TV[3];
        Span<TV> acc = stackalloc TV[8];
        Span<(int Perm, int Start, int FirstEnd, int End)> matches = stackalloc (int, int, int, int)[6];
        int cx = x.CentralSpecies, cy = y.CentralSpecies;
        int width = TV.Count;
        var lane = TV.LaneIndex();
        var zero = TV.Create(0);
        var vw = TV.Create(w);
        double[] y1 = y.TR1, y2 = y.TR2, y3 = y.TR3, yf = y.TF;
        var groups = x.TripletSpeciesList;
        for (int sg = 0; sg < groups.Length; sg++)
        {
            // Every triplet of one neighbour-species pair matches the same permutations and side-2 ranges.
            var (s1, s2) = groups[sg];
            int nm = Matches(cx, s1, s2, y, matches);

            if (nm == 0)
            {
                continue;
            }

            int g = H.GroupOfTriplet(cx, s1, s2);
            double sigma = H.Sigma[g], ell = H.Length[g];
            double sig2 = sigma * sigma, lam = 1 / (ell * ell);
            var vhalf = TV.Create(-0.5 * lam);
            var vc1s = TV.Create(lam / ell);
            for (int t = x.TripletRangeStart[sg]; t < x.TripletRangeStart[sg + 1]; t++)
            {
                dx[0] = x.TR1[t];
                dx[1] = x.TR2[t];
                dx[2] = x.TR3[t];
                double a = x.TF[t];
                var va = TV.Create(a);
                var vlama = TV.Create(lam * a);
                var vax0 = TV.Create(x.TF1[t]);
                var vax1 = TV.Create(x.TF2[t]);
                var vax2 = TV.Create(x.TF3[t]);
                var vc2a = TV.Create(2 * lam / ell * a);
                acc.Fill(zero);
                foreach (var (perm, start, _, end) in matches[..nm])
                {
                    var pm = EdgeMaps[perm];
                    var pinv = InverseEdgeMaps[perm];
                    int p0 = pm[0], p1 = pm[1], p2 = pm[2];
                    var vd0 = TV.Create(dx[pinv[0]]);
                    var vd1 = TV.Create(dx[pinv[1]]);
                    var vd2 = TV.Create(dx[pinv[2]]);
                    var vend = TV.Create(end);
                    for (int m = start; m < end; m += width)
                    {
                        var dq0 = vd0 - TV.Load(y1, m);
                        var dq1 = vd1 - TV.Load(y2, m);
                        var dq2 = vd2 - TV.Load(y3, m);
                        dq[0] = dq0;
                        dq[1] = dq1;
                        dq[2] = dq2;
                        var s = TV.Fma(dq0, dq0, TV.Fma(dq1, dq1, dq2 * dq2));
                        var e = TV.KeepWhereLess(TV.Exp(vhalf * s), lane + TV.Create(m), vend);
                        var b = TV.Load(yf, m);
                        var ea = e * va;
                        var eu0 = e * (vax0 - vlama * dq[p0]);
                        var eu1 = e * (vax1 - vlama * dq[p1]);
                        var eu2 = e * (vax2 - vlama * dq[p2]);
                        var wb = vw * b;
                        acc[0] += ea * wb;
                        acc[1] += eu0 * wb;
                        acc[2] += eu1 * wb;
                        acc[3] += eu2 * wb;
                        if (wantGrad)
                        {
                            var c1 = vc1s * s;
                            var ec2a = e * vc2a;
                            acc[4] += c1 * ea * wb;
                            acc[5] += TV.Fma(c1, eu0, ec2a * dq[p0]) * wb;
                            acc[6] += TV.Fma(c1, eu1, ec2a * dq[p1]) * wb;
                            acc[7] += TV.Fma(c1, eu2, ec2a * dq[p2]) * wb;
                        }
                    }
                }

                int rows = wantGrad ? 8 : 4;
                for (int k = 0; k < rows; k++)
                {
                    r[k] = TV.Sum(acc[k]);
                }

                Directions(x, t, w, gx);
                ColumnUpdate(column, sig2, w, r[..4], gx);
                if (wantGrad)
                {
                    ColumnUpdate(hyperparameterGradients.Slice(2 * g * EnvironmentLabelCount, EnvironmentLabelCount), 2 * sigma, w, r[..4], gx);
                    ColumnUpdate(hyperparameterGradients.Slice((2 * g + 1) * EnvironmentLabelCount, EnvironmentLabelCount), sig2, w, r.Slice(4, 4), gx);
                }
            }
        }

        // Column 0 of KernelMath.RankUpdate: c[0] += s w r[0], c[i] += Σ_q (s g_q,i) r[1 + q], in the same order.
        static void ColumnUpdate(Span<double> c, double s, double w, ReadOnlySpan<double> r, ReadOnlySpan<double> g)
        {
            c[0] = Math.FusedMultiplyAdd(s * w, r[0], c[0]);
            for (int i = 1; i < EnvironmentLabelCount; i++)
            {
                double v = c[i];
                for (int q = 0; q < 3; q++)
                {
                    double gi = s * g[EnvironmentLabelCount * q + i];
                    if (gi != 0)
                    {
                        v = Math.FusedMultiplyAdd(gi, r[1 + q], v);
                    }
                }

                c[i] = v;
            }
        }
    }

    /// <summary>g[o+1..o+3] = n, g[o+4..o+9] = wd · (nx², ny², nz², ny nz, nx nz, nx ny).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Directions<TV>(Span<TV> g, int o, TV nx, TV ny, TV nz, TV wd)
        where TV : unmanaged, ISimd<TV>
    {
        g[o + 1] = nx;
        g[o + 2] = ny;
        g[o + 3] = nz;
        var wx = wd * nx;
        var wy = wd * ny;
        g[o + 4] = wx * nx;
        g[o + 5] = wy * ny;
        g[o + 6] = wd * nz * nz;
        g[o + 7] = wy * nz;
        g[o + 8] = wx * nz;
        g[o + 9] = wx * ny;
    }

    /// <summary>Row coefficients: energy column, then α v_q for the three side-2 edges.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Coefficients<TV>(Span<TV> c, int o, TV energy, TV alpha, TV v0, TV v1, TV v2)
        where TV : unmanaged, ISimd<TV>
    {
        c[o] = energy;
        c[o + 1] = alpha * v0;
        c[o + 2] = alpha * v1;
        c[o + 3] = alpha * v2;
    }

    /// <summary>∂/∂ℓ row coefficients: energy column α w b, then α v_q − β Δ'_q.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GradCoefficients<TV>(Span<TV> c, int o, TV alpha, TV beta, TV wb, TV v0, TV v1, TV v2, TV dq0, TV dq1, TV dq2)
        where TV : unmanaged, ISimd<TV>
    {
        c[o] = alpha * wb;
        c[o + 1] = alpha * v0 - beta * dq0;
        c[o + 2] = alpha * v1 - beta * dq1;
        c[o + 3] = alpha * v2 - beta * dq2;
    }

    /// <summary>acc[10R] += c[4R]; acc[10R + k] += Σ_q c[4R + 1 + q] g[10q + k] for k = 1..9 (edge 2 from k = 4).</summary>
    private static void Accumulate<TV>(Span<TV> acc, ReadOnlySpan<TV> c, ReadOnlySpan<TV> g, int rows)
        where TV : unmanaged, ISimd<TV>
    {
        for (int row = 0; row < rows; row++)
        {
            var a = acc.Slice(10 * row, 10);
            var w0 = c[4 * row + 1];
            var w1 = c[4 * row + 2];
            var w2 = c[4 * row + 3];
            a[0] += c[4 * row];
            for (int k = 1; k < 4; k++)
            {
                a[k] = TV.Fma(w0, g[k], TV.Fma(w1, g[10 + k], a[k]));
            }

            for (int k = 4; k < 10; k++)
            {
                a[k] = TV.Fma(w0, g[k], TV.Fma(w1, g[10 + k], TV.Fma(w2, g[20 + k], a[k])));
            }
        }
    }

    private static void Update(Span<double> m, double s, double w, ReadOnlySpan<double> r0, ReadOnlySpan<double> gx, ReadOnlySpan<double> rp)
        => KernelMath.RankUpdate(m, s, w, r0, gx[..30], rp[..30]);

    /// <inheritdoc />
    public override void ForceCovariance(AtomEnvironment x, AtomEnvironment y, Span<double> block)
    {
        if (x.TripletCount == 0 || y.TripletCount == 0)
        {
            return;
        }

        if (SimdSupport.Use512)
        {
            Force<V512>(x, y, block);
        }
        else
        {
            Force<V256>(x, y, block);
        }
    }

    /// <inheritdoc />
    public override void ForceCovarianceWithGradients(AtomEnvironment x, AtomEnvironment y, Span<double> block, Span<double> hyperparameterGradients)
    {
        if (x.TripletCount == 0 || y.TripletCount == 0)
        {
            return;
        }

        if (SimdSupport.Use512)
        {
            ForceWithGradients<V512>(x, y, block, hyperparameterGradients);
        }
        else
        {
            ForceWithGradients<V256>(x, y, block, hyperparameterGradients);
        }
    }

    /// <summary>
    /// The force–force block and its σ and ℓ derivatives: <see cref="Force{TV}"/>'s pass with the ∂/∂ℓ
    /// coefficients of the two force rows of <see cref="General{TV}(AtomEnvironment, AtomEnvironment, Span{double}, Span{double})"/> (its gradient rows 5 and 6) carried
    /// alongside; the jk edge has no force direction, so its coefficients are not needed.
    /// </summary>
    internal void ForceWithGradients<TV>(AtomEnvironment x, AtomEnvironment y, Span<double> block, Span<double> hyperparameterGradients)
        where TV : struct, ISimd<TV>
    {
        int cx = x.CentralSpecies, cy = y.CentralSpecies;
        int width = TV.Count;
        var lane = TV.LaneIndex();
        double[] y1 = y.TR1, y2 = y.TR2, y3 = y.TR3, yf = y.TF, yf1 = y.TF1, yf2 = y.TF2;
        double[] y1x = y.TU1x, y1y = y.TU1y, y1z = y.TU1z, y2x = y.TU2x, y2y = y.TU2y, y2z = y.TU2z;
        Span<double> dx = stackalloc double[3];
        Span<double> sums = stackalloc double[12];
        for (int t = 0; t < x.TripletCount; t++)
        {
            int s1 = x.TSpecies1[t], s2 = x.TSpecies2[t];
            int g = H.GroupOfTriplet(cx, s1, s2);
            double sigma = H.Sigma[g], ell = H.Length[g];
            double lam = 1 / (ell * ell);
            dx[0] = x.TR1[t];
            dx[1] = x.TR2[t];
            dx[2] = x.TR3[t];
            double a = x.TF[t];
            var vlam = TV.Create(lam);
            var vhalf = TV.Create(-0.5 * lam);
            var vlama = TV.Create(lam * a);
            var va = TV.Create(a);
            var va0 = TV.Create(x.TF1[t]);
            var va1 = TV.Create(x.TF2[t]);
            var vc1s = TV.Create(lam / ell);
            var vc2 = TV.Create(2 * lam / ell);
            var vc2a = TV.Create(2 * lam / ell * a);
            TV w0x = TV.Create(0), w0y = w0x, w0z = w0x, w1x = w0x, w1y = w0x, w1z = w0x;
            TV d0x = w0x, d0y = w0x, d0z = w0x, d1x = w0x, d1y = w0x, d1z = w0x;
            bool any = false;
            for (int perm = 0; perm < 6; perm++)
            {
                if (!Required(perm, cx, s1, s2, cy, out int q1, out int q2))
                {
                    continue;
                }

                var (start, end) = y.TripletRange(q1, q2);
                if (start == end)
                {
                    continue;
                }

                any = true;
                var pm = EdgeMaps[perm];
                var pinv = InverseEdgeMaps[perm];
                int p0 = pm[0], p1 = pm[1];
                var vd0 = TV.Create(dx[pinv[0]]);
                var vd1 = TV.Create(dx[pinv[1]]);
                var vd2 = TV.Create(dx[pinv[2]]);
                var vend = TV.Create(end);
                for (int m = start; m < end; m += width)
                {
                    var q0 = vd0 - TV.Load(y1, m);
                    var q1v = vd1 - TV.Load(y2, m);
                    var q2v = vd2 - TV.Load(y3, m);
                    var sum = TV.Fma(q0, q0, TV.Fma(q1v, q1v, q2v * q2v));
                    var e = TV.KeepWhereLess(TV.Exp(vhalf * sum), lane + TV.Create(m), vend);
                    var b = TV.Load(yf, m);
                    var lb = vlam * b;
                    var v0 = TV.Fma(lb, q0, TV.Load(yf1, m));
                    var v1 = TV.Fma(lb, q1v, TV.Load(yf2, m));
                    var dp0 = p0 == 0 ? q0 : (p0 == 1 ? q1v : q2v);
                    var dp1 = p1 == 0 ? q0 : (p1 == 1 ? q1v : q2v);
                    var eu0 = e * (va0 - vlama * dp0);
                    var eu1 = e * (va1 - vlama * dp1);
                    var eab = e * vlama * b;

                    // ∂/∂ℓ (General's gradient rows): c1 = s λ/ℓ from the exponent, c2 = 2λ/ℓ per λ-weighted Δ.
                    var c1 = vc1s * sum;
                    var c2b = vc2 * b;
                    var ec2a = e * vc2a;
                    var al0 = TV.Fma(c1, eu0, ec2a * dp0);
                    var al1 = TV.Fma(c1, eu1, ec2a * dp1);
                    var be0 = eu0 * c2b;
                    var be1 = eu1 * c2b;
                    var dab = (c1 * vlam - vc2) * e * va * b;

                    var u1x = TV.Load(y1x, m);
                    var u1y = TV.Load(y1y, m);
                    var u1z = TV.Load(y1z, m);
                    var u2x = TV.Load(y2x, m);
                    var u2y = TV.Load(y2y, m);
                    var u2z = TV.Load(y2z, m);
                    var vx = TV.Fma(v0, u1x, v1 * u2x);
                    var vy = TV.Fma(v0, u1y, v1 * u2y);
                    var vz = TV.Fma(v0, u1z, v1 * u2z);
                    var qx = TV.Fma(q0, u1x, q1v * u2x);
                    var qy = TV.Fma(q0, u1y, q1v * u2y);
                    var qz = TV.Fma(q0, u1z, q1v * u2z);
                    w0x = TV.Fma(eu0, vx, w0x);
                    w0y = TV.Fma(eu0, vy, w0y);
                    w0z = TV.Fma(eu0, vz, w0z);
                    w1x = TV.Fma(eu1, vx, w1x);
                    w1y = TV.Fma(eu1, vy, w1y);
                    w1z = TV.Fma(eu1, vz, w1z);
                    d0x = TV.Fma(al0, vx, d0x) - be0 * qx;
                    d0y = TV.Fma(al0, vy, d0y) - be0 * qy;
                    d0z = TV.Fma(al0, vz, d0z) - be0 * qz;
                    d1x = TV.Fma(al1, vx, d1x) - be1 * qx;
                    d1y = TV.Fma(al1, vy, d1y) - be1 * qy;
                    d1z = TV.Fma(al1, vz, d1z) - be1 * qz;
                    if (p0 == 0)
                    {
                        w0x = TV.Fma(eab, u1x, w0x);
                        w0y = TV.Fma(eab, u1y, w0y);
                        w0z = TV.Fma(eab, u1z, w0z);
                        d0x = TV.Fma(dab, u1x, d0x);
                        d0y = TV.Fma(dab, u1y, d0y);
                        d0z = TV.Fma(dab, u1z, d0z);
                    }
                    else if (p0 == 1)
                    {
                        w0x = TV.Fma(eab, u2x, w0x);
                        w0y = TV.Fma(eab, u2y, w0y);
                        w0z = TV.Fma(eab, u2z, w0z);
                        d0x = TV.Fma(dab, u2x, d0x);
                        d0y = TV.Fma(dab, u2y, d0y);
                        d0z = TV.Fma(dab, u2z, d0z);
                    }

                    if (p1 == 0)
                    {
                        w1x = TV.Fma(eab, u1x, w1x);
                        w1y = TV.Fma(eab, u1y, w1y);
                        w1z = TV.Fma(eab, u1z, w1z);
                        d1x = TV.Fma(dab, u1x, d1x);
                        d1y = TV.Fma(dab, u1y, d1y);
                        d1z = TV.Fma(dab, u1z, d1z);
                    }
                    else if (p1 == 1)
                    {
                        w1x = TV.Fma(eab, u2x, w1x);
                        w1y = TV.Fma(eab, u2y, w1y);
                        w1z = TV.Fma(eab, u2z, w1z);
                        d1x = TV.Fma(dab, u2x, d1x);
                        d1y = TV.Fma(dab, u2y, d1y);
                        d1z = TV.Fma(dab, u2z, d1z);
                    }
                }
            }

            if (!any)
            {
                continue;
            }

            sums[0] = TV.Sum(w0x); sums[1] = TV.Sum(w0y); sums[2] = TV.Sum(w0z);
            sums[3] = TV.Sum(w1x); sums[4] = TV.Sum(w1y); sums[5] = TV.Sum(w1z);
            sums[6] = TV.Sum(d0x); sums[7] = TV.Sum(d0y); sums[8] = TV.Sum(d0z);
            sums[9] = TV.Sum(d1x); sums[10] = TV.Sum(d1y); sums[11] = TV.Sum(d1z);
            double sg2 = sigma * sigma;
            var gs = hyperparameterGradients.Slice(9 * 2 * g, 9);
            var gl = hyperparameterGradients.Slice(9 * (2 * g + 1), 9);
            for (int i = 0; i < 3; i++)
            {
                double a0 = i == 0 ? x.TU1x[t] : i == 1 ? x.TU1y[t] : x.TU1z[t];
                double a1 = i == 0 ? x.TU2x[t] : i == 1 ? x.TU2y[t] : x.TU2z[t];
                for (int j = 0; j < 3; j++)
                {
                    double wv = a0 * sums[j] + a1 * sums[3 + j];
                    block[3 * i + j] += sg2 * wv;
                    gs[3 * i + j] += 2 * sigma * wv;
                    gl[3 * i + j] += sg2 * (a0 * sums[6 + j] + a1 * sums[9 + j]);
                }
            }
        }
    }

    internal void Force<TV>(AtomEnvironment x, AtomEnvironment y, Span<double> block)
        where TV : struct, ISimd<TV>
    {
        int cx = x.CentralSpecies, cy = y.CentralSpecies;
        int width = TV.Count;
        var lane = TV.LaneIndex();
        double[] y1 = y.TR1, y2 = y.TR2, y3 = y.TR3, yf = y.TF, yf1 = y.TF1, yf2 = y.TF2;
        double[] y1x = y.TU1x, y1y = y.TU1y, y1z = y.TU1z, y2x = y.TU2x, y2y = y.TU2y, y2z = y.TU2z;
        Span<double> dx = stackalloc double[3];
        double k00 = 0, k01 = 0, k02 = 0, k10 = 0, k11 = 0, k12 = 0, k20 = 0, k21 = 0, k22 = 0;
        for (int t = 0; t < x.TripletCount; t++)
        {
            int s1 = x.TSpecies1[t], s2 = x.TSpecies2[t];
            int g = H.GroupOfTriplet(cx, s1, s2);
            double sigma = H.Sigma[g], ell = H.Length[g];
            double lam = 1 / (ell * ell);
            dx[0] = x.TR1[t];
            dx[1] = x.TR2[t];
            dx[2] = x.TR3[t];
            double a = x.TF[t];
            var vlam = TV.Create(lam);
            var vhalf = TV.Create(-0.5 * lam);
            var vlama = TV.Create(lam * a);
            var va0 = TV.Create(x.TF1[t]);
            var va1 = TV.Create(x.TF2[t]);
            TV w0x = TV.Create(0), w0y = w0x, w0z = w0x, w1x = w0x, w1y = w0x, w1z = w0x;
            for (int perm = 0; perm < 6; perm++)
            {
                if (!Required(perm, cx, s1, s2, cy, out int q1, out int q2))
                {
                    continue;
                }

                var (start, end) = y.TripletRange(q1, q2);
                if (start == end)
                {
                    continue;
                }

                var pm = EdgeMaps[perm];
                var pinv = InverseEdgeMaps[perm];
                int p0 = pm[0], p1 = pm[1];
                var vd0 = TV.Create(dx[pinv[0]]);
                var vd1 = TV.Create(dx[pinv[1]]);
                var vd2 = TV.Create(dx[pinv[2]]);
                var vend = TV.Create(end);
                for (int m = start; m < end; m += width)
                {
                    var d0 = vd0 - TV.Load(y1, m);
                    var d1 = vd1 - TV.Load(y2, m);
                    var d2 = vd2 - TV.Load(y3, m);
                    var sum = TV.Fma(d0, d0, TV.Fma(d1, d1, d2 * d2));
                    var e = TV.KeepWhereLess(TV.Exp(vhalf * sum), lane + TV.Create(m), vend);
                    var b = TV.Load(yf, m);
                    var lb = vlam * b;
                    var v0 = TV.Fma(lb, d0, TV.Load(yf1, m));
                    var v1 = TV.Fma(lb, d1, TV.Load(yf2, m));
                    var dp0 = p0 == 0 ? d0 : (p0 == 1 ? d1 : d2);
                    var dp1 = p1 == 0 ? d0 : (p1 == 1 ? d1 : d2);
                    var eu0 = e * (va0 - vlama * dp0);
                    var eu1 = e * (va1 - vlama * dp1);
                    var u1x = TV.Load(y1x, m);
                    var u1y = TV.Load(y1y, m);
                    var u1z = TV.Load(y1z, m);
                    var u2x = TV.Load(y2x, m);
                    var u2y = TV.Load(y2y, m);
                    var u2z = TV.Load(y2z, m);
                    var vx = TV.Fma(v0, u1x, v1 * u2x);
                    var vy = TV.Fma(v0, u1y, v1 * u2y);
                    var vz = TV.Fma(v0, u1z, v1 * u2z);
                    w0x = TV.Fma(eu0, vx, w0x);
                    w0y = TV.Fma(eu0, vy, w0y);
                    w0z = TV.Fma(eu0, vz, w0z);
                    w1x = TV.Fma(eu1, vx, w1x);
                    w1y = TV.Fma(eu1, vy, w1y);
                    w1z = TV.Fma(eu1, vz, w1z);
                    var eab = e * vlama * b;
                    if (p0 == 0)
                    {
                        w0x = TV.Fma(eab, u1x, w0x);
                        w0y = TV.Fma(eab, u1y, w0y);
                        w0z = TV.Fma(eab, u1z, w0z);
                    }
                    else if (p0 == 1)
                    {
                        w0x = TV.Fma(eab, u2x, w0x);
                        w0y = TV.Fma(eab, u2y, w0y);
                        w0z = TV.Fma(eab, u2z, w0z);
                    }

                    if (p1 == 0)
                    {
                        w1x = TV.Fma(eab, u1x, w1x);
                        w1y = TV.Fma(eab, u1y, w1y);
                        w1z = TV.Fma(eab, u1z, w1z);
                    }
                    else if (p1 == 1)
                    {
                        w1x = TV.Fma(eab, u2x, w1x);
                        w1y = TV.Fma(eab, u2y, w1y);
                        w1z = TV.Fma(eab, u2z, w1z);
                    }
                }
            }

            double sg2 = sigma * sigma;
            double ax0 = x.TU1x[t], ay0 = x.TU1y[t], az0 = x.TU1z[t];
            double ax1 = x.TU2x[t], ay1 = x.TU2y[t], az1 = x.TU2z[t];
            double s0x = sg2 * TV.Sum(w0x), s0y = sg2 * TV.Sum(w0y), s0z = sg2 * TV.Sum(w0z);
            double s1x = sg2 * TV.Sum(w1x), s1y = sg2 * TV.Sum(w1y), s1z = sg2 * TV.Sum(w1z);
            k00 += ax0 * s0x + ax1 * s1x; k01 += ax0 * s0y + ax1 * s1y; k02 += ax0 * s0z + ax1 * s1z;
            k10 += ay0 * s0x + ay1 * s1x; k11 += ay0 * s0y + ay1 * s1y; k12 += ay0 * s0z + ay1 * s1z;
            k20 += az0 * s0x + az1 * s1x; k21 += az0 * s0y + az1 * s1y; k22 += az0 * s0z + az1 * s1z;
        }

        block[0] += k00; block[1] += k01; block[2] += k02;
        block[3] += k10; block[4] += k11; block[5] += k12;
        block[6] += k20; block[7] += k21; block[8] += k22;
    }
}
