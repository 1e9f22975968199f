using System.Runtime.CompilerServices;
using Gpff.Geometry;

namespace Gpff;

/// <summary>Whether a neighbour list holds every pair from both sides, or each pair once.</summary>
public enum NeighborListKind
{
    /// <summary>Each atom lists all its neighbours: the pair (i, j, S) appears under i, and (j, i, −S) under j.</summary>
    Full,

    /// <summary>Each pair once: under i when i &lt; j, or under i for a self-image with a positive shift.</summary>
    Half,
}

/// <summary>
/// All neighbours within a cutoff, with their periodic image shifts, for any triclinic cell,
/// including cells much smaller than the cutoff and mixed periodic / non-periodic axes. Built by a
/// linked-cell (binning) method whose cost grows linearly with the number of atoms; the number of
/// images searched comes from the perpendicular widths of the cell. Neighbour j of atom i with shift
/// S sits at r_j + S·cell; the stored vector is r_j + S·cell − r_i (Å), the distance its length.
/// Positions are used as given (they need not be wrapped). Storage is compressed rows (CSR).
/// </summary>
public sealed class NeighborList
{
    private readonly int[] _offsets;
    private readonly int[] _neighbors;
    private readonly Int3[] _shifts;
    private readonly Vec3[] _vectors;
    private readonly double[] _distances;

    private NeighborList(double cutoffA, NeighborListKind kind, int[] offsets, int[] neighbors, Int3[] shifts, Vec3[] vectors, double[] distances)
    {
        CutoffA = cutoffA;
        Kind = kind;
        _offsets = offsets;
        _neighbors = neighbors;
        _shifts = shifts;
        _vectors = vectors;
        _distances = distances;
    }

    /// <summary>The cutoff in Å; pairs with distance strictly below it are listed.</summary>
    public double CutoffA { get; }

    /// <summary>Full or half list.</summary>
    public NeighborListKind Kind { get; }

    /// <summary>Number of atoms.</summary>
    public int AtomCount => _offsets.Length - 1;

    /// <summary>Total number of entries (pairs in a half list; twice the pairs in a full list).</summary>
    public int EntryCount => _neighbors.Length;

    /// <summary>Row offsets: the entries of atom i are [Offsets[i], Offsets[i+1]).</summary>
    public ReadOnlySpan<int> Offsets => _offsets;

    /// <summary>Neighbour indices of atom <paramref name="i"/>.</summary>
    /// <param name="i">Atom index.</param>
    public ReadOnlySpan<int> Neighbors(int i) => _neighbors.AsSpan(_offsets[i], _offsets[i + 1] - _offsets[i]);

    /// <summary>Image shifts of the neighbours of atom <paramref name="i"/>, in lattice vectors.</summary>
    /// <param name="i">Atom index.</param>
    public ReadOnlySpan<Int3> Shifts(int i) => _shifts.AsSpan(_offsets[i], _offsets[i + 1] - _offsets[i]);

    /// <summary>Vectors r_j + S·cell − r_i (Å) from atom <paramref name="i"/> to its neighbours.</summary>
    /// <param name="i">Atom index.</param>
    public ReadOnlySpan<Vec3> Vectors(int i) => _vectors.AsSpan(_offsets[i], _offsets[i + 1] - _offsets[i]);

    /// <summary>Distances (Å) from atom <paramref name="i"/> to its neighbours.</summary>
    /// <param name="i">Atom index.</param>
    public ReadOnlySpan<double> Distances(int i) => _distances.AsSpan(_offsets[i], _offsets[i + 1] - _offsets[i]);

    /// <summary>Number of neighbours of atom <paramref name="i"/>.</summary>
    /// <param name="i">Atom index.</param>
    public int Count(int i) => _offsets[i + 1] - _offsets[i];

    /// <summary>Builds the neighbour list of a structure.</summary>
    /// <param name="structure">The structure.</param>
    /// <param name="cutoffA">Cutoff radius in Å (positive, finite).</param>
    /// <param name="kind">Full or half list.</param>
    public static NeighborList Build(Structure structure, double cutoffA, NeighborListKind kind = NeighborListKind.Full)
    {
        ArgumentNullException.ThrowIfNull(structure);
        return Build(structure.Positions, structure.Cell, structure.Pbc, cutoffA, kind);
    }

    /// <summary>Builds the neighbour list of bare positions.</summary>
    /// <param name="positionsA">Cartesian positions in Å.</param>
    /// <param name="cellA">Cell, rows are lattice vectors in Å (vectors of non-periodic axes are ignored and may be zero).</param>
    /// <param name="pbc">Periodicity per axis.</param>
    /// <param name="cutoffA">Cutoff radius in Å (positive, finite).</param>
    /// <param name="kind">Full or half list.</param>
    public static NeighborList Build(ReadOnlySpan<Vec3> positionsA, Mat3 cellA, Pbc pbc, double cutoffA, NeighborListKind kind = NeighborListKind.Full)
    {
        if (!(cutoffA > 0) || !double.IsFinite(cutoffA))
        {
            throw new ArgumentOutOfRangeException(nameof(cutoffA), cutoffA, $"The neighbour-list cutoff must be a positive finite number of Å, got {cutoffA}.");
        }

        int n = positionsA.Length;
        for (int i = 0; i < n; i++)
        {
            if (!positionsA[i].IsFinite)
            {
                throw new InvalidStructureException($"Atom {i} has a non-finite position {positionsA[i]}.");
            }
        }

        var work = WorkingCell(cellA, pbc);
        var inv = work.Inverse();
        var widths = Structure.PerpendicularWidths(work);
        if (pbc.AllPeriodic && n > 0)
        {
            // Entries ≈ n · ρ · (4/3)π r_c³ (half that for a half list), about 48 bytes each: refuse before
            // allocating when a cell far smaller than the cutoff's reach would need more than the machine has.
            double entries = n * (n / Math.Abs(work.Determinant)) * 4.0 / 3.0 * Math.PI * cutoffA * cutoffA * cutoffA * (kind == NeighborListKind.Half ? 0.5 : 1);
            if (entries * 48 > 1e8)
            {
                ResourceGuard.EnsureFits(entries * 48,
                    string.Create(System.Globalization.CultureInfo.InvariantCulture,
                        $"The neighbour list of this {n}-atom cell ({Math.Abs(work.Determinant):G4} Å³, perpendicular widths {widths.X:G3}, {widths.Y:G3}, {widths.Z:G3} Å) within {cutoffA:G4} Å ({entries:G3} neighbour entries)"),
                    "check the cell, which is far smaller than the cutoff's reach, or use a smaller cutoff");
            }
        }
        else if (pbc.Any && n > 0)
        {
            // Partly periodic (a slab, a wire): no density to go by, but each atom sees at most the n atoms
            // of every periodic image the cutoff reaches. Checked only when a periodic axis is narrower than
            // the cutoff (more than 3 images along it), where this bound is the blow-up it describes.
            double images = 1;
            for (int a = 0; a < 3; a++)
            {
                images *= pbc[a] ? 2 * Math.Ceiling(cutoffA / widths[a]) + 1 : 1;
            }

            double entries = (double)n * n * images * (kind == NeighborListKind.Half ? 0.5 : 1);
            if (images > 27 && entries * 48 > 1e8)
            {
                ResourceGuard.EnsureFits(entries * 48,
                    string.Create(System.Globalization.CultureInfo.InvariantCulture,
                        $"The neighbour list of this {n}-atom cell, periodic along {string.Join(", ", Enumerable.Range(0, 3).Where(a => pbc[a]).Select(a => "abc"[a]))} (perpendicular widths {widths.X:G3}, {widths.Y:G3}, {widths.Z:G3} Å), within {cutoffA:G4} Å ({images:G3} periodic images, up to {entries:G3} neighbour entries)"),
                    "check the cell, which is far narrower than the cutoff's reach along a periodic axis, or use a smaller cutoff");
            }
        }


        // Fractional coordinates, wrapped along periodic axes; wrapOffset records the wrap so that
        // shifts refer to the positions as given.
        var frac = new Vec3[n];
        var wrapOffset = new Int3[n];
        Span<double> lo = stackalloc double[3];
        Span<double> hi = stackalloc double[3];
        for (int a = 0; a < 3; a++)
        {
            lo[a] = pbc[a] ? 0 : double.PositiveInfinity;
            hi[a] = pbc[a] ? 1 : double.NegativeInfinity;
        }

        for (int i = 0; i < n; i++)
        {
            var f = positionsA[i] * inv;
            int oa = 0, ob = 0, oc = 0;
            double fx = f.X, fy = f.Y, fz = f.Z;
            if (pbc.A) { oa = (int)Math.Floor(fx); fx -= oa; if (fx >= 1) { fx -= 1; oa++; } }
            if (pbc.B) { ob = (int)Math.Floor(fy); fy -= ob; if (fy >= 1) { fy -= 1; ob++; } }
            if (pbc.C) { oc = (int)Math.Floor(fz); fz -= oc; if (fz >= 1) { fz -= 1; oc++; } }
            frac[i] = new Vec3(fx, fy, fz);
            wrapOffset[i] = new Int3(oa, ob, oc);
            for (int a = 0; a < 3; a++)
            {
                if (!pbc[a])
                {
                    lo[a] = Math.Min(lo[a], frac[i][a]);
                    hi[a] = Math.Max(hi[a], frac[i][a]);
                }
            }
        }

        // Bin grid: bins at least one cutoff wide (perpendicular), capped in number.
        Span<int> nbins = stackalloc int[3];
        Span<double> extentA = stackalloc double[3];
        for (int a = 0; a < 3; a++)
        {
            if (n == 0 || hi[a] < lo[a])
            {
                lo[a] = 0;
                hi[a] = 1;
            }

            extentA[a] = (hi[a] - lo[a]) * widths[a];
            // Bins slightly wider than the cutoff, so that one bin on each side is enough when they fit.
            nbins[a] = (int)Math.Clamp(Math.Floor(extentA[a] / (cutoffA * (1 + 1e-9))), 1, 1 << 20);
        }

        long maxBins = Math.Max(27, 2L * n);
        while ((long)nbins[0] * nbins[1] * nbins[2] > maxBins)
        {
            int big = nbins[0] >= nbins[1] ? (nbins[0] >= nbins[2] ? 0 : 2) : (nbins[1] >= nbins[2] ? 1 : 2);
            nbins[big] = Math.Max(1, nbins[big] / 2);
        }

        Span<int> search = stackalloc int[3];
        for (int a = 0; a < 3; a++)
        {
            double binWidthA = extentA[a] / nbins[a];
            if (!pbc[a] && nbins[a] == 1)
            {
                search[a] = 0;
            }
            else
            {
                // Atoms k bins apart are more than (k − 1) bin widths apart; the margin covers rounding at bin edges.
                search[a] = binWidthA > 0 ? (int)Math.Min(Math.Ceiling(cutoffA / binWidthA * (1 + 1e-10)), 1 << 20) : 0;
            }
        }

        if (pbc.Any && (long)(2 * search[0] + 1) * (2 * search[1] + 1) * (2 * search[2] + 1) > 50_000_000)
        {
            throw new ArgumentOutOfRangeException(nameof(cutoffA), cutoffA,
                $"The cutoff {cutoffA:G6} Å needs too many periodic images of a cell whose perpendicular widths are {widths} Å.");
        }

        int nba = nbins[0], nbb = nbins[1], nbc = nbins[2];
        int totalBins = nba * nbb * nbc;
        var binOf = new int[n];
        var binStart = new int[totalBins + 1];
        for (int i = 0; i < n; i++)
        {
            int ba = BinIndex(frac[i].X, lo[0], hi[0], nba);
            int bb = BinIndex(frac[i].Y, lo[1], hi[1], nbb);
            int bc = BinIndex(frac[i].Z, lo[2], hi[2], nbc);
            binOf[i] = (ba * nbb + bb) * nbc + bc;
            binStart[binOf[i] + 1]++;
        }

        for (int b = 0; b < totalBins; b++)
        {
            binStart[b + 1] += binStart[b];
        }

        var binAtoms = new int[n];
        var fill = (int[])binStart.Clone();
        for (int i = 0; i < n; i++)
        {
            binAtoms[fill[binOf[i]]++] = i;
        }

        var offsets = new int[n + 1];
        var builder = new Builder(Math.Max(16, n * 16));
        double cut2 = cutoffA * cutoffA;
        bool half = kind == NeighborListKind.Half;
        int sa = search[0], sb = search[1], sc = search[2];
        Vec3 a0 = pbc.A ? cellA.Row0 : Vec3.Zero, a1 = pbc.B ? cellA.Row1 : Vec3.Zero, a2 = pbc.C ? cellA.Row2 : Vec3.Zero;
        for (int i = 0; i < n; i++)
        {
            int bi = binOf[i];
            int ba = bi / (nbb * nbc), bb = bi / nbc % nbb, bc = bi % nbc;
            var pi = positionsA[i];
            var oi = wrapOffset[i];
            for (int da = -sa; da <= sa; da++)
            {
                if (!NeighborBin(ba + da, nba, pbc.A, out int wa, out int ia))
                {
                    continue;
                }

                for (int db = -sb; db <= sb; db++)
                {
                    if (!NeighborBin(bb + db, nbb, pbc.B, out int wb, out int ib))
                    {
                        continue;
                    }

                    for (int dc = -sc; dc <= sc; dc++)
                    {
                        if (!NeighborBin(bc + dc, nbc, pbc.C, out int wc, out int ic))
                        {
                            continue;
                        }

                        int bin = (wa * nbb + wb) * nbc + wc;
                        for (int m = binStart[bin]; m < binStart[bin + 1]; m++)
                        {
                            int j = binAtoms[m];
                            if (j == i && ia == 0 && ib == 0 && ic == 0)
                            {
                                continue;
                            }

                            var oj = wrapOffset[j];
                            var shift = new Int3(ia - oj.A + oi.A, ib - oj.B + oi.B, ic - oj.C + oi.C);
                            if (half && (j < i || (j == i && !shift.IsPositive)))
                            {
                                continue;
                            }

                            // The vector from the positions as given (shift components along free axes are zero).
                            var v = positionsA[j] + (shift.A * a0 + shift.B * a1 + shift.C * a2) - pi;
                            double r2 = v.LengthSquared;
                            if (r2 >= cut2)
                            {
                                continue;
                            }

                            builder.Add(j, shift, v, Math.Sqrt(r2));
                        }
                    }
                }
            }

            offsets[i + 1] = builder.Count;
        }

        return new NeighborList(cutoffA, kind, offsets, builder.Neighbors(), builder.Shifts(), builder.Vectors(), builder.Distances());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int BinIndex(double f, double lo, double hi, int nb)
    {
        double span = hi - lo;
        int b = span > 0 ? (int)Math.Floor((f - lo) / span * nb) : 0;
        return Math.Clamp(b, 0, nb - 1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool NeighborBin(int b, int nb, bool periodic, out int wrapped, out int image)
    {
        if (periodic)
        {
            image = (int)Math.Floor((double)b / nb);
            wrapped = b - image * nb;
            return true;
        }

        image = 0;
        wrapped = b;
        return b >= 0 && b < nb;
    }

    /// <summary>
    /// The cell used for binning: periodic lattice vectors as given; non-periodic ones replaced by an
    /// orthonormal completion, so that a zero or degenerate vector along a free axis does no harm.
    /// </summary>
    private static Mat3 WorkingCell(Mat3 cell, Pbc pbc)
    {
        Structure.ValidateCell(cell, pbc, allowLeftHandedCell: true);
        var rows = new[] { cell.Row0, cell.Row1, cell.Row2 };
        var periodic = Enumerable.Range(0, 3).Where(a => pbc[a]).ToArray();
        var free = Enumerable.Range(0, 3).Where(a => !pbc[a]).ToArray();
        if (free.Length == 0)
        {
            return cell;
        }

        var basis = periodic.Select(a => rows[a]).ToList();
        if (periodic.Length == 2 && Vec3.Cross(basis[0], basis[1]).Length < 1e-12 * basis[0].Length * basis[1].Length)
        {
            throw new InvalidStructureException($"The two periodic lattice vectors are parallel: {basis[0]} and {basis[1]}.");
        }

        // Gram-Schmidt completion with Cartesian axes as candidates.
        var ortho = new List<Vec3>();
        foreach (var v in basis)
        {
            var u = v;
            foreach (var e in ortho)
            {
                u -= Vec3.Dot(u, e) * e;
            }

            ortho.Add(u / u.Length);
        }

        foreach (int a in free)
        {
            Vec3 best = Vec3.Zero;
            foreach (var cand in new[] { new Vec3(1, 0, 0), new Vec3(0, 1, 0), new Vec3(0, 0, 1) })
            {
                var u = cand;
                foreach (var e in ortho)
                {
                    u -= Vec3.Dot(u, e) * e;
                }

                if (u.Length > best.Length)
                {
                    best = u;
                }
            }

            best /= best.Length;
            ortho.Add(best);
            rows[a] = best;
        }

        return Mat3.FromRows(rows[0], rows[1], rows[2]);
    }

    private sealed class Builder(int capacity)
    {
        private int[] _j = new int[capacity];
        private Int3[] _s = new Int3[capacity];
        private Vec3[] _v = new Vec3[capacity];
        private double[] _d = new double[capacity];

        public int Count { get; private set; }

        public void Add(int j, Int3 shift, Vec3 v, double d)
        {
            if (Count == _j.Length)
            {
                int cap = _j.Length * 2;
                Array.Resize(ref _j, cap);
                Array.Resize(ref _s, cap);
                Array.Resize(ref _v, cap);
                Array.Resize(ref _d, cap);
            }

            _j[Count] = j;
            _s[Count] = shift;
            _v[Count] = v;
            _d[Count] = d;
            Count++;
        }

        public int[] Neighbors() => _j[..Count];

        public Int3[] Shifts() => _s[..Count];

        public Vec3[] Vectors() => _v[..Count];

        public double[] Distances() => _d[..Count];
    }
}
