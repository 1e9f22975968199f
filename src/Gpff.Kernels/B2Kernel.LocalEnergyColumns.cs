using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Gpff.Descriptors;

namespace Gpff.Kernels;

/// <summary>
/// The B2 kernel's path for columns that are local energies only (the sparse GP's K_nu, k*u and K_uu):
/// any label of a structure against the local energy ε_u of an environment u. With q = x̂ᵢ·û and
/// g = ∂k/∂dᵢ = σ²ζq^{ζ−1}(û − q x̂ᵢ)/|xᵢ|, a force or stress row is g · ∂dᵢ/∂r_k summed over the
/// neighbours k, and that contraction never needs the descriptor's Jacobian (D = K(K+1)/2·(l_max+1) columns):
/// Ĝ_{νlm} = Σ_ν' g(ν, ν', l) c_{ν'lm} (K·(l_max+1)² values) and then Σ_{n,lm} Ĝ_{s_k n lm} ∂c_{s_k n lm}/∂r_k per
/// neighbour, with ∂c/∂r_k = g'_n û Y_lm + g_n ∇Y_lm taken apart (Σ_n g'_n Ĝ_n and Σ_n g_n Ĝ_n first:
/// 2N(l_max+1)² + 4(l_max+1)² multiply-adds, not 3N(l_max+1)²). The whole contraction is linear in g, so it is done
/// for û alone and the column's derivative is a(v(û) − q v(x̂ᵢ)), a = σ²ζq^{ζ−1}/|xᵢ|, with v(x̂ᵢ) (3 values per
/// neighbour) once per environment. Per structure the coefficients c, Ĝ(x̂ᵢ), v(x̂ᵢ) and each neighbour's g, g', Y,
/// ∇Y are built once and cached like the label Jacobians (neighbours sorted by species, so that those reading the
/// same rows of Ĝ follow each other); per column block the inducing units are grouped by central species and stored
/// transposed and, per tile of 16, expanded to every ordered channel pair, so q (for all the structure's
/// environments of the species at once), Ĝ(û) and the neighbour contractions are small matrix products vectorised
/// over the inducing environments. Multiply-adds per (training atom × inducing environment of its species):
/// D + K²(l_max+1)² + neighbours·((2N + 4)(l_max+1)² + 6), against (3·touched atoms + 6)·D for the label-Jacobian
/// path (FLARE++'s order: the kernel's gradient in descriptor space, then its product with the descriptor's
/// gradient).
/// </summary>
public sealed partial class B2Kernel
{
    /// <summary>Inducing environments per tile of Ĝ (its K·(l_max+1)² × tile values stay in cache).</summary>
    private const int TileLanes = 16;

    /// <summary>Column groups are padded to a multiple of this (whole tiles).</summary>
    private const int PadLanes = TileLanes;

    /// <summary>Whether a selection holds local energies only (the columns the contraction path serves).</summary>
    private static bool IsLocalEnergiesOnly(LabelSelection sel) => !sel.Energy && !sel.Stress && sel.ForceAtoms.Length == 0;

    /// <summary>
    /// The rows × columns block for columns that are local energies only, by the Jacobian-free contraction
    /// (see the class notes); <paramref name="values"/> must be cleared. <paramref name="wide"/> picks
    /// Vector512 (true) or Vector256.
    /// </summary>
    internal void LocalEnergyColumns(StructureEnvironments a, LabelSelection rows, StructureEnvironments b, LabelSelection columns, Span<double> values, bool wide)
    {
        var rowSide = GetContractionRows(a, rows);
        var colSide = GetContractionColumns(b, columns);
        if (wide)
        {
            Contract<V512, Ops512, Vector512<double>>(rowSide, colSide, values, columns.Count);
        }
        else
        {
            Contract<V256, Ops256, Vector256<double>>(rowSide, colSide, values, columns.Count);
        }
    }

    private ContractionColumns GetContractionColumns(StructureEnvironments e, LabelSelection sel)
    {
        var cached = _caches.Columns.GetValue(e, env => ContractionColumns.Create(env, sel, Settings));
        return ReferenceEquals(cached.Selection, sel) ? cached : ContractionColumns.Create(e, sel, Settings);
    }

    private ContractionRows GetContractionRows(StructureEnvironments e, LabelSelection sel)
    {
        if (sel.ForceAtoms.Length == 0 && !sel.Stress)
        {
            return ContractionRows.Create(e, sel, new B2Workspace(Settings));
        }

        return _caches.Rows.Get(e, sel, () => ContractionRows.Create(e, sel, new B2Workspace(Settings)));
    }

    private void Contract<TV, TO, TVec>(ContractionRows rs, ContractionColumns cs, Span<double> values, int nc)
        where TV : struct, ISimd<TV>
        where TO : struct, IVectorOps<TVec>
        where TVec : struct
    {
        var st = Settings;
        int d = st.Length, kk = st.ChannelCount, h = st.HarmonicCount, nr = st.RadialCount, z = Power;
        int kh = kk * h, w = TV.Count;
        double s2 = SigmaEv * SigmaEv;
        int rowCount = rs.RowCount;
        var gh = new double[kh * TileLanes];
        var v = new double[3 * TileLanes];
        var pq = new double[2 * h * TileLanes];
        var centre = new double[3 * TileLanes];
        var q = new double[TileLanes];
        var kv = new double[TileLanes];
        var scale = new double[TileLanes];
        foreach (var g in cs.Groups)
        {
            int bp = g.Padded;
            var t = new double[rowCount * bp];
            var stress = rs.StressRow >= 0 ? new double[6 * bp] : null;

            // q = x̂ · û of every environment of the group's species and every member, at once.
            var members = Array.FindAll(rs.Environments, e => e.Species == g.Species);
            var qAll = new double[members.Length * bp];
            Dots<TO, TVec>(members, g.UnitsT, bp, d, qAll);
            for (int t0 = 0; t0 < bp; t0 += TileLanes)
            {
                int tw = Math.Min(TileLanes, bp - t0);
                for (int mi = 0; mi < members.Length; mi++)
                {
                    var env = members[mi];
                    Array.Copy(qAll, mi * bp + t0, q, 0, tw);
                    for (int u = 0; u < tw; u++)
                    {
                        double qz1 = IntPow(q[u], z - 1);
                        kv[u] = s2 * qz1 * q[u];
                        scale[u] = s2 * z * qz1 / env.Norm;
                    }

                    foreach (int r in env.ValueRows)
                    {
                        int o = r * bp + t0;
                        for (int u = 0; u < tw; u++)
                        {
                            t[o + u] += kv[u];
                        }
                    }

                    if (env.NeighbourCount == 0)
                    {
                        continue;
                    }

                    GradientHat<TO, TVec>(env.Coefficients, g.HatUnits, t0 / TileLanes, gh);

                    bool hasCentre = env.CentreRow >= 0;
                    if (hasCentre)
                    {
                        Array.Clear(centre);
                    }

                    var basis = env.NeighbourBases;
                    int bl = env.BasisLength;
                    var vec = env.Vectors;
                    var unitGradients = env.UnitGradients;
                    for (int k = 0; k < env.NeighbourCount; k++)
                    {
                        // v[α, u] = ∂k(xᵢ, u)/∂r_k,α.
                        Neighbour<TO, TVec>(basis, k * bl, nr, h, gh, env.ChannelOffset[k], tw, pq, v);

                        // g = a(û − q x̂ᵢ), a = σ²ζq^{ζ−1}/|xᵢ|, and the contraction is linear in g: v(g) = a(v(û) − q v(x̂ᵢ)),
                        // with v(x̂ᵢ) once per environment (UnitGradients) rather than Ĝ(g) formed per column.
                        TV ex = TV.Create(unitGradients[3 * k]), ey = TV.Create(unitGradients[3 * k + 1]), ez = TV.Create(unitGradients[3 * k + 2]);
                        for (int u = 0; u < tw; u += w)
                        {
                            TV a = TV.Load(scale, u), qa = TV.Load(q, u);
                            (a * (TV.Load(v, u) - qa * ex)).Store(v, u);
                            (a * (TV.Load(v, tw + u) - qa * ey)).Store(v, tw + u);
                            (a * (TV.Load(v, 2 * tw + u) - qa * ez)).Store(v, 2 * tw + u);
                        }

                        int row = env.NeighbourRow[k];
                        if (row >= 0)
                        {
                            for (int al = 0; al < 3; al++)
                            {
                                int o = (row + al) * bp + t0;
                                for (int u = 0; u < tw; u += w)
                                {
                                    (TV.Load(t, o + u) - TV.Load(v, al * tw + u)).Store(t, o + u);
                                }
                            }
                        }

                        if (hasCentre)
                        {
                            for (int u = 0; u < 3 * tw; u += w)
                            {
                                (TV.Load(centre, u) + TV.Load(v, u)).Store(centre, u);
                            }
                        }

                        if (stress is not null)
                        {
                            TV rx = TV.Create(vec[3 * k]), ry = TV.Create(vec[3 * k + 1]), rz = TV.Create(vec[3 * k + 2]);
                            for (int u = 0; u < tw; u += w)
                            {
                                TV vx = TV.Load(v, u), vy = TV.Load(v, tw + u), vz = TV.Load(v, 2 * tw + u);
                                int o = t0 + u;
                                TV.Fma(vx, rx, TV.Load(stress, o)).Store(stress, o);
                                TV.Fma(vy, ry, TV.Load(stress, bp + o)).Store(stress, bp + o);
                                TV.Fma(vz, rz, TV.Load(stress, 2 * bp + o)).Store(stress, 2 * bp + o);
                                TV.Fma(vy, rz, TV.Load(stress, 3 * bp + o)).Store(stress, 3 * bp + o);
                                TV.Fma(vx, rz, TV.Load(stress, 4 * bp + o)).Store(stress, 4 * bp + o);
                                TV.Fma(vx, ry, TV.Load(stress, 5 * bp + o)).Store(stress, 5 * bp + o);
                            }
                        }
                    }

                    if (hasCentre)
                    {
                        for (int al = 0; al < 3; al++)
                        {
                            int o = (env.CentreRow + al) * bp + t0;
                            for (int u = 0; u < tw; u += w)
                            {
                                (TV.Load(t, o + u) + TV.Load(centre, al * tw + u)).Store(t, o + u);
                            }
                        }
                    }
                }
            }

            if (stress is not null)
            {
                for (int s = 0; s < 6; s++)
                {
                    int o = (rs.StressRow + s) * bp;
                    for (int u = 0; u < bp; u++)
                    {
                        t[o + u] += stress[s * bp + u] * rs.InverseVolume;
                    }
                }
            }

            var cols = g.Columns;
            for (int r = 0; r < rowCount; r++)
            {
                int o = r * bp;
                for (int u = 0; u < cols.Length; u++)
                {
                    values[r * nc + cols[u]] = t[o + u];
                }
            }
        }
    }

    /// <summary>
    /// q[e·bp + u] = x̂_e · û_u for every environment e of <paramref name="members"/> and every column: Σ_p x̂_e,p Uᵀ[p, u],
    /// a small matrix product, four environments and two vectors of columns per pass (eight independent sums, each
    /// column vector loaded once for four environments).
    /// </summary>
    private static void Dots<TO, TVec>(ContractionEnvironment[] members, double[] ut, int bp, int d, double[] q)
        where TO : struct, IVectorOps<TVec>
        where TVec : struct
    {
        int w = TO.Count, ne = members.Length;
        if (d * bp > ut.Length || ne * bp > q.Length || bp % (2 * w) != 0 || Array.Exists(members, e => e.Unit.Length < d))
        {
            throw new IndexOutOfRangeException("B2 dot block out of range.");
        }

        ref double ur = ref MemoryMarshal.GetArrayDataReference(ut);
        ref double qr = ref MemoryMarshal.GetArrayDataReference(q);
        int e = 0;
        for (; e + 4 <= ne; e += 4)
        {
            ref double x0 = ref MemoryMarshal.GetArrayDataReference(members[e].Unit);
            ref double x1 = ref MemoryMarshal.GetArrayDataReference(members[e + 1].Unit);
            ref double x2 = ref MemoryMarshal.GetArrayDataReference(members[e + 2].Unit);
            ref double x3 = ref MemoryMarshal.GetArrayDataReference(members[e + 3].Unit);
            for (int u = 0; u < bp; u += 2 * w)
            {
                TVec a0 = TO.Create(0), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0, e0 = a0, e1 = a0;
                ref double col = ref Unsafe.Add(ref ur, u);
                for (nint p = 0; p < d; p++)
                {
                    TVec l0 = TO.LoadAt(ref col, 0), l1 = TO.LoadAt(ref col, w);
                    TVec s0 = TO.Create(Unsafe.Add(ref x0, p));
                    a0 = TO.Fma(l0, s0, a0);
                    a1 = TO.Fma(l1, s0, a1);
                    TVec s1 = TO.Create(Unsafe.Add(ref x1, p));
                    b0 = TO.Fma(l0, s1, b0);
                    b1 = TO.Fma(l1, s1, b1);
                    TVec s2 = TO.Create(Unsafe.Add(ref x2, p));
                    c0 = TO.Fma(l0, s2, c0);
                    c1 = TO.Fma(l1, s2, c1);
                    TVec s3 = TO.Create(Unsafe.Add(ref x3, p));
                    e0 = TO.Fma(l0, s3, e0);
                    e1 = TO.Fma(l1, s3, e1);
                    col = ref Unsafe.Add(ref col, bp);
                }

                ref double t = ref Unsafe.Add(ref qr, e * bp + u);
                TO.StoreAt(a0, ref t, 0);
                TO.StoreAt(a1, ref t, w);
                TO.StoreAt(b0, ref t, bp);
                TO.StoreAt(b1, ref t, bp + w);
                TO.StoreAt(c0, ref t, 2 * bp);
                TO.StoreAt(c1, ref t, 2 * bp + w);
                TO.StoreAt(e0, ref t, 3 * bp);
                TO.StoreAt(e1, ref t, 3 * bp + w);
            }
        }

        for (; e < ne; e++)
        {
            ref double x0 = ref MemoryMarshal.GetArrayDataReference(members[e].Unit);
            for (int u = 0; u < bp; u += 2 * w)
            {
                TVec a0 = TO.Create(0), a1 = a0, b0 = a0, b1 = a0;
                ref double col = ref Unsafe.Add(ref ur, u);
                nint p = 0;
                for (; p + 1 < d; p += 2)
                {
                    TVec s0 = TO.Create(Unsafe.Add(ref x0, p)), s1 = TO.Create(Unsafe.Add(ref x0, p + 1));
                    a0 = TO.Fma(TO.LoadAt(ref col, 0), s0, a0);
                    a1 = TO.Fma(TO.LoadAt(ref col, w), s0, a1);
                    b0 = TO.Fma(TO.LoadAt(ref col, bp), s1, b0);
                    b1 = TO.Fma(TO.LoadAt(ref col, bp + w), s1, b1);
                    col = ref Unsafe.Add(ref col, 2 * bp);
                }

                if (p < d)
                {
                    TVec s0 = TO.Create(Unsafe.Add(ref x0, p));
                    a0 = TO.Fma(TO.LoadAt(ref col, 0), s0, a0);
                    a1 = TO.Fma(TO.LoadAt(ref col, w), s0, a1);
                }

                ref double t = ref Unsafe.Add(ref qr, e * bp + u);
                TO.StoreAt(TO.Add(a0, b0), ref t, 0);
                TO.StoreAt(TO.Add(a1, b1), ref t, w);
            }
        }
    }

    /// <summary>
    /// Ĝ(û_u)[ν·H + lm, u] = Σ_ν' û_u(ν, ν', l) c_{ν'lm} (diagonal pair doubled) for one tile of columns, layout [j·tw + u],
    /// from the tile's symmetric expansion of the units (<see cref="ColumnGroup.HatUnits"/>: rows (l, ν, ν') of
    /// <see cref="TileLanes"/> lanes, read in order).
    /// </summary>
    private void GradientHat<TO, TVec>(double[] c, double[] hu, int tile, double[] gh)
        where TO : struct, IVectorOps<TVec>
        where TVec : struct
    {
        int kk = Settings.ChannelCount, h = Settings.HarmonicCount, lmax = Settings.AngularMax, w = TO.Count;
        int tileBase = tile * (lmax + 1) * kk * kk * TileLanes;
        for (int l = 0; l <= lmax; l++)
        {
            int mc = 2 * l + 1;
            for (int a = 0; a < kk; a++)
            {
                int rowBase = tileBase + (l * kk + a) * kk * TileLanes;

                // Chunks of lm with at least six independent sums each: 1 → 1 (four vectors of lanes), 3 → 3, 5 → 3 + 2
                // (four vectors), 7 → 4 + 3; two vectors of lanes per pass otherwise.
                for (int ms = 0; ms < mc;)
                {
                    int left = mc - ms;
                    int cnt = left == 5 ? 3 : Math.Min(4, left);
                    int lo = l * l + ms;
                    int o = (a * h + lo) * TileLanes;
                    if (cnt <= 2 && 4 * w <= TileLanes)
                    {
                        for (int u = 0; u < TileLanes; u += 4 * w)
                        {
                            if (cnt == 1)
                            {
                                HatTileWide<TO, TVec>(c, hu, rowBase + u, kk, h, lo, gh, o + u, 1);
                            }
                            else
                            {
                                HatTileWide<TO, TVec>(c, hu, rowBase + u, kk, h, lo, gh, o + u, 2);
                            }
                        }
                    }
                    else
                    {
                        for (int u = 0; u < TileLanes; u += 2 * w)
                        {
                            switch (cnt)
                            {
                                case 1: HatTile<TO, TVec>(c, hu, rowBase + u, kk, h, lo, gh, o + u, 1); break;
                                case 2: HatTile<TO, TVec>(c, hu, rowBase + u, kk, h, lo, gh, o + u, 2); break;
                                case 3: HatTile<TO, TVec>(c, hu, rowBase + u, kk, h, lo, gh, o + u, 3); break;
                                default: HatTile<TO, TVec>(c, hu, rowBase + u, kk, h, lo, gh, o + u, 4); break;
                            }
                        }
                    }

                    ms += cnt;
                }
            }
        }
    }

    /// <summary>
    /// <see cref="HatTile{TO, TVec}"/> for one or two lm (<paramref name="cnt"/>) over four vectors of columns, so that a chunk
    /// of few lm still has four or eight independent sums.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void HatTileWide<TO, TVec>(double[] c, double[] hu, int row, int kk, int h, int lo, double[] gh, int o, int cnt)
        where TO : struct, IVectorOps<TVec>
        where TVec : struct
    {
        int w = TO.Count;
        if (row < 0 || row + (kk - 1) * TileLanes + 4 * w > hu.Length || lo < 0 || (kk - 1) * h + lo + cnt > c.Length
            || o < 0 || o + (cnt - 1) * TileLanes + 4 * w > gh.Length)
        {
            throw new IndexOutOfRangeException("B2 Ĝ tile out of range.");
        }

        ref double hr = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(hu), row);
        ref double cr = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(c), lo);
        TVec zero = TO.Create(0);
        TVec a0 = zero, a1 = zero, a2 = zero, a3 = zero, b0 = zero, b1 = zero, b2 = zero, b3 = zero;
        for (int b = 0; b < kk; b++)
        {
            TVec g0 = TO.LoadAt(ref hr, 0), g1 = TO.LoadAt(ref hr, w), g2 = TO.LoadAt(ref hr, 2 * w), g3 = TO.LoadAt(ref hr, 3 * w);
            TVec c0 = TO.Create(cr);
            a0 = TO.Fma(g0, c0, a0);
            a1 = TO.Fma(g1, c0, a1);
            a2 = TO.Fma(g2, c0, a2);
            a3 = TO.Fma(g3, c0, a3);
            if (cnt > 1)
            {
                TVec c1 = TO.Create(Unsafe.Add(ref cr, 1));
                b0 = TO.Fma(g0, c1, b0);
                b1 = TO.Fma(g1, c1, b1);
                b2 = TO.Fma(g2, c1, b2);
                b3 = TO.Fma(g3, c1, b3);
            }

            hr = ref Unsafe.Add(ref hr, TileLanes);
            cr = ref Unsafe.Add(ref cr, h);
        }

        ref double t = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(gh), o);
        TO.StoreAt(a0, ref t, 0);
        TO.StoreAt(a1, ref t, w);
        TO.StoreAt(a2, ref t, 2 * w);
        TO.StoreAt(a3, ref t, 3 * w);
        if (cnt > 1)
        {
            TO.StoreAt(b0, ref t, TileLanes);
            TO.StoreAt(b1, ref t, TileLanes + w);
            TO.StoreAt(b2, ref t, TileLanes + 2 * w);
            TO.StoreAt(b3, ref t, TileLanes + 3 * w);
        }
    }

    /// <summary>
    /// One register tile of <see cref="GradientHat{TO, TVec}"/>: <paramref name="cnt"/> (1–4) consecutive lm of one channel and
    /// degree, two vectors of columns, summed over ν' (rows of <paramref name="hu"/> <see cref="TileLanes"/> apart).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void HatTile<TO, TVec>(double[] c, double[] hu, int row, int kk, int h, int lo, double[] gh, int o, int cnt)
        where TO : struct, IVectorOps<TVec>
        where TVec : struct
    {
        int w = TO.Count;
        if (row < 0 || row + (kk - 1) * TileLanes + 2 * w > hu.Length || lo < 0 || (kk - 1) * h + lo + cnt > c.Length)
        {
            throw new IndexOutOfRangeException("B2 Ĝ tile out of range.");
        }

        // Bounds checked once above; the loop reads through references.
        ref double hr = ref MemoryMarshal.GetArrayDataReference(hu);
        ref double cr = ref MemoryMarshal.GetArrayDataReference(c);
        TVec zero = TO.Create(0);
        TVec a0 = zero, a1 = zero, a2 = zero, a3 = zero, b0 = zero, b1 = zero, b2 = zero, b3 = zero;
        nint p = row, cb = lo;
        for (int b = 0; b < kk; b++, p += TileLanes, cb += h)
        {
            TVec g0 = TO.LoadAt(ref hr, p);
            TVec g1 = TO.LoadAt(ref hr, p + w);
            TVec c0 = TO.Create(Unsafe.Add(ref cr, cb));
            a0 = TO.Fma(g0, c0, a0);
            b0 = TO.Fma(g1, c0, b0);
            if (cnt > 1)
            {
                TVec c1 = TO.Create(Unsafe.Add(ref cr, cb + 1));
                a1 = TO.Fma(g0, c1, a1);
                b1 = TO.Fma(g1, c1, b1);
            }

            if (cnt > 2)
            {
                TVec c2 = TO.Create(Unsafe.Add(ref cr, cb + 2));
                a2 = TO.Fma(g0, c2, a2);
                b2 = TO.Fma(g1, c2, b2);
            }

            if (cnt > 3)
            {
                TVec c3 = TO.Create(Unsafe.Add(ref cr, cb + 3));
                a3 = TO.Fma(g0, c3, a3);
                b3 = TO.Fma(g1, c3, b3);
            }
        }

        TO.StoreAt(a0, ref MemoryMarshal.GetArrayDataReference(gh), o);
        TO.StoreAt(b0, ref MemoryMarshal.GetArrayDataReference(gh), o + w);
        if (cnt > 1)
        {
            TO.StoreAt(a1, ref MemoryMarshal.GetArrayDataReference(gh), o + TileLanes);
            TO.StoreAt(b1, ref MemoryMarshal.GetArrayDataReference(gh), o + TileLanes + w);
        }

        if (cnt > 2)
        {
            TO.StoreAt(a2, ref MemoryMarshal.GetArrayDataReference(gh), o + 2 * TileLanes);
            TO.StoreAt(b2, ref MemoryMarshal.GetArrayDataReference(gh), o + 2 * TileLanes + w);
        }

        if (cnt > 3)
        {
            TO.StoreAt(a3, ref MemoryMarshal.GetArrayDataReference(gh), o + 3 * TileLanes);
            TO.StoreAt(b3, ref MemoryMarshal.GetArrayDataReference(gh), o + 3 * TileLanes + w);
        }
    }

    /// <summary>
    /// v[α·tw + u] = Σ_{n,lm} ∂c_{s n lm}/∂r_k,α Ĝ[offset + n·H + lm, u] for one neighbour, with ∂c/∂r_k,α = g'_n û_α Y_lm
    /// + g_n ∂Y_lm/∂r_α: first P_lm = Σ_n g'_n Ĝ[n, lm] and Q_lm = Σ_n g_n Ĝ[n, lm] (2·N·H multiply-adds; four vectors
    /// of lanes per pass, so that each broadcast of g_n and g'_n serves eight multiply-adds), then
    /// v_α = û_α Σ_lm Y_lm P_lm + Σ_lm ∂Y_lm/∂r_α Q_lm (4·H; two vectors of lanes per pass, eight independent sums),
    /// instead of 3·N·H against the stored ∂c/∂r_k. <paramref name="pq"/> holds P and Q (2·H·tw values).
    /// </summary>
    private static void Neighbour<TO, TVec>(double[] basis, int b0, int n, int h, double[] gh, int offset, int tw, double[] pq, double[] v)
        where TO : struct, IVectorOps<TVec>
        where TVec : struct
    {
        int w = TO.Count;
        int yo = b0 + 2 * n, dyo = yo + h, uo = dyo + 3 * h;
        if (b0 < 0 || uo + 3 > basis.Length || offset < 0 || (offset + n * h) * tw > gh.Length || tw % (2 * w) != 0
            || 2 * h * tw > pq.Length || 3 * tw > v.Length)
        {
            throw new IndexOutOfRangeException("B2 neighbour tile out of range.");
        }

        // Bounds checked once above; the loops read through references.
        ref double gr = ref MemoryMarshal.GetArrayDataReference(gh);
        ref double pr = ref MemoryMarshal.GetArrayDataReference(pq);
        ref double radial = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(basis), b0);
        ref double slope = ref Unsafe.Add(ref radial, n);
        TVec zero = TO.Create(0);
        nint stride = h * tw, qo = h * tw;
        for (int lm = 0; lm < h; lm++)
        {
            ref double column = ref Unsafe.Add(ref gr, (offset + lm) * tw);
            ref double target = ref Unsafe.Add(ref pr, lm * tw);
            int u = 0;
            for (; u + 4 * w <= tw; u += 4 * w)
            {
                TVec p0 = zero, p1 = zero, p2 = zero, p3 = zero, q0 = zero, q1 = zero, q2 = zero, q3 = zero;
                ref double r = ref Unsafe.Add(ref column, u);
                for (nint i = 0; i < n; i++)
                {
                    TVec g0 = TO.LoadAt(ref r, 0), g1 = TO.LoadAt(ref r, w), g2 = TO.LoadAt(ref r, 2 * w), g3 = TO.LoadAt(ref r, 3 * w);
                    TVec dg = TO.Create(Unsafe.Add(ref slope, i));
                    p0 = TO.Fma(g0, dg, p0);
                    p1 = TO.Fma(g1, dg, p1);
                    p2 = TO.Fma(g2, dg, p2);
                    p3 = TO.Fma(g3, dg, p3);
                    TVec g = TO.Create(Unsafe.Add(ref radial, i));
                    q0 = TO.Fma(g0, g, q0);
                    q1 = TO.Fma(g1, g, q1);
                    q2 = TO.Fma(g2, g, q2);
                    q3 = TO.Fma(g3, g, q3);
                    r = ref Unsafe.Add(ref r, stride);
                }

                ref double t = ref Unsafe.Add(ref target, u);
                TO.StoreAt(p0, ref t, 0);
                TO.StoreAt(p1, ref t, w);
                TO.StoreAt(p2, ref t, 2 * w);
                TO.StoreAt(p3, ref t, 3 * w);
                TO.StoreAt(q0, ref t, qo);
                TO.StoreAt(q1, ref t, qo + w);
                TO.StoreAt(q2, ref t, qo + 2 * w);
                TO.StoreAt(q3, ref t, qo + 3 * w);
            }

            for (; u < tw; u += 2 * w)
            {
                TVec p0 = zero, p1 = zero, q0 = zero, q1 = zero;
                ref double r = ref Unsafe.Add(ref column, u);
                for (nint i = 0; i < n; i++)
                {
                    TVec g0 = TO.LoadAt(ref r, 0), g1 = TO.LoadAt(ref r, w);
                    TVec dg = TO.Create(Unsafe.Add(ref slope, i));
                    p0 = TO.Fma(g0, dg, p0);
                    p1 = TO.Fma(g1, dg, p1);
                    TVec g = TO.Create(Unsafe.Add(ref radial, i));
                    q0 = TO.Fma(g0, g, q0);
                    q1 = TO.Fma(g1, g, q1);
                    r = ref Unsafe.Add(ref r, stride);
                }

                ref double t = ref Unsafe.Add(ref target, u);
                TO.StoreAt(p0, ref t, 0);
                TO.StoreAt(p1, ref t, w);
                TO.StoreAt(q0, ref t, qo);
                TO.StoreAt(q1, ref t, qo + w);
            }
        }

        ref double ylm = ref Unsafe.Add(ref radial, 2 * n);
        ref double dx = ref Unsafe.Add(ref ylm, h);
        ref double dy = ref Unsafe.Add(ref dx, h);
        ref double dz = ref Unsafe.Add(ref dy, h);
        TVec ux = TO.Create(basis[uo]), uy = TO.Create(basis[uo + 1]), uz = TO.Create(basis[uo + 2]);
        for (int u = 0; u < tw; u += 2 * w)
        {
            TVec a0 = zero, a1 = zero, x0 = zero, x1 = zero, y0 = zero, y1 = zero, z0 = zero, z1 = zero;
            ref double p = ref Unsafe.Add(ref pr, u);
            for (nint lm = 0; lm < h; lm++)
            {
                TVec p0 = TO.LoadAt(ref p, 0), p1 = TO.LoadAt(ref p, w);
                TVec yl = TO.Create(Unsafe.Add(ref ylm, lm));
                a0 = TO.Fma(p0, yl, a0);
                a1 = TO.Fma(p1, yl, a1);
                TVec q0 = TO.LoadAt(ref p, qo), q1 = TO.LoadAt(ref p, qo + w);
                TVec cx = TO.Create(Unsafe.Add(ref dx, lm));
                x0 = TO.Fma(q0, cx, x0);
                x1 = TO.Fma(q1, cx, x1);
                TVec cy = TO.Create(Unsafe.Add(ref dy, lm));
                y0 = TO.Fma(q0, cy, y0);
                y1 = TO.Fma(q1, cy, y1);
                TVec cz = TO.Create(Unsafe.Add(ref dz, lm));
                z0 = TO.Fma(q0, cz, z0);
                z1 = TO.Fma(q1, cz, z1);
                p = ref Unsafe.Add(ref p, tw);
            }

            TO.StoreAt(TO.Fma(ux, a0, x0), ref MemoryMarshal.GetArrayDataReference(v), u);
            TO.StoreAt(TO.Fma(ux, a1, x1), ref MemoryMarshal.GetArrayDataReference(v), u + w);
            TO.StoreAt(TO.Fma(uy, a0, y0), ref MemoryMarshal.GetArrayDataReference(v), tw + u);
            TO.StoreAt(TO.Fma(uy, a1, y1), ref MemoryMarshal.GetArrayDataReference(v), tw + u + w);
            TO.StoreAt(TO.Fma(uz, a0, z0), ref MemoryMarshal.GetArrayDataReference(v), 2 * tw + u);
            TO.StoreAt(TO.Fma(uz, a1, z1), ref MemoryMarshal.GetArrayDataReference(v), 2 * tw + u + w);
        }
    }

    /// <summary>One structure's environments as the contraction path uses them.</summary>
    private sealed class ContractionRows
    {
        public required ContractionEnvironment[] Environments { get; init; }

        public required int RowCount { get; init; }

        /// <summary>The first stress row, or −1 without stress labels.</summary>
        public required int StressRow { get; init; }

        public required double InverseVolume { get; init; }

        /// <summary>The memory the arrays hold, in bytes (plus a small per-object overhead).</summary>
        public long SizeBytes => Environments.Sum(e => 8L * (e.Unit.Length + e.Vectors.Length + e.NeighbourBases.Length + e.Coefficients.Length + e.UnitHat.Length + e.UnitGradients.Length) + 4L * (e.ValueRows.Length + e.NeighbourRow.Length + e.ChannelOffset.Length) + 200);

        public static ContractionRows Create(StructureEnvironments s, LabelSelection sel, B2Workspace w)
        {
            int n = s.AtomCount;
            var settings = w.Settings;
            int d = settings.Length, h = settings.HarmonicCount, nh = settings.RadialCount * h, kh = settings.ChannelCount * h;
            var (forceRow, localRow) = LabelRows(n, sel);

            // Without force labels the neighbours' atom indices may be those of other structures (inducing sets).
            bool hasForces = sel.ForceAtoms.Length > 0;
            var list = new List<ContractionEnvironment>();
            var keep = new List<int>();
            for (int i = 0; i < n; i++)
            {
                var e = s[i];
                if (ValueRows(e, i, sel, localRow) is not { } value)
                {
                    continue;
                }

                int centreRow = hasForces ? forceRow[e.CentralAtom] : -1;
                var nb = e.ManyBodyNeighbors;
                keep.Clear();
                for (int k = 0; k < nb.Length; k++)
                {
                    if (centreRow >= 0 || sel.Stress || (hasForces && forceRow[nb[k]] >= 0))
                    {
                        keep.Add(k);
                    }
                }

                if (value.Count == 0 && keep.Count == 0)
                {
                    continue;
                }

                // Neighbours of one species in a row: they read the same slice of Ĝ, which then stays in the L1 cache.
                var speciesOf = e.BSpecies;
                keep.Sort((x, y) => speciesOf[x] != speciesOf[y] ? speciesOf[x].CompareTo(speciesOf[y]) : x.CompareTo(y));

                var unit = new double[d];
                var b2 = e.B2;
                double inv = 1 / e.B2Norm;
                for (int p = 0; p < d; p++)
                {
                    unit[p] = b2[p] * inv;
                }

                int m = keep.Count;
                var neighbourRow = new int[m];
                var channel = new int[m];
                var vectors = new double[3 * m];
                int bl = w.NeighborBasisLength;
                var bases = new double[bl * m];
                var unitGradients = new double[3 * m];
                double[] coefficients = [], unitHat = [];
                if (m > 0)
                {
                    w.Load(e);
                    coefficients = w.Coefficients.ToArray();
                    unitHat = new double[kh];
                    w.GradientHat(unit, unitHat);
                    var channels = e.ManyBodySpeciesChannels;
                    for (int j = 0; j < m; j++)
                    {
                        int k = keep[j];
                        neighbourRow[j] = hasForces ? forceRow[nb[k]] : -1;
                        channel[j] = channels[k] * nh;
                        var r = e.ManyBodyVector(k);
                        vectors[3 * j] = r.X;
                        vectors[3 * j + 1] = r.Y;
                        vectors[3 * j + 2] = r.Z;
                        w.NeighborBasis(k, bases.AsSpan(bl * j, bl));
                        UnitGradient(bases.AsSpan(bl * j, bl), unitHat.AsSpan(channel[j], nh), settings.RadialCount, h, unitGradients.AsSpan(3 * j, 3));
                    }
                }

                list.Add(new ContractionEnvironment
                {
                    Species = e.CentralSpecies,
                    Norm = e.B2Norm,
                    Unit = unit,
                    ValueRows = [.. value],
                    CentreRow = centreRow,
                    NeighbourCount = m,
                    NeighbourRow = neighbourRow,
                    ChannelOffset = channel,
                    Vectors = vectors,
                    NeighbourBases = bases,
                    BasisLength = bl,
                    Coefficients = coefficients,
                    UnitHat = unitHat,
                    UnitGradients = unitGradients,
                });
            }

            return new ContractionRows
            {
                Environments = [.. list],
                RowCount = sel.Count,
                StressRow = sel.Stress ? sel.StressOffset : -1,
                InverseVolume = sel.Stress ? 1 / s.VolumeA3 : 0,
            };
        }
    }

    /// <summary>
    /// x̂ · ∂x/∂r_k of one neighbour (3 values) from Ĝ(x̂)'s rows of its species (<paramref name="unitHat"/>, N·H values) and
    /// its basis (<see cref="B2Workspace.NeighborBasis"/>): the same sums as <see cref="Neighbour{TO, TVec}"/>, once per environment.
    /// </summary>
    private static void UnitGradient(ReadOnlySpan<double> basis, ReadOnlySpan<double> unitHat, int n, int h, Span<double> result)
    {
        int yo = 2 * n, dyo = yo + h, uo = dyo + 3 * h;
        double a = 0, x = 0, y = 0, z = 0;
        for (int lm = 0; lm < h; lm++)
        {
            double p = 0, q = 0;
            for (int i = 0; i < n; i++)
            {
                p += basis[n + i] * unitHat[i * h + lm];
                q += basis[i] * unitHat[i * h + lm];
            }

            a += basis[yo + lm] * p;
            x += basis[dyo + lm] * q;
            y += basis[dyo + h + lm] * q;
            z += basis[dyo + 2 * h + lm] * q;
        }

        result[0] = basis[uo] * a + x;
        result[1] = basis[uo + 1] * a + y;
        result[2] = basis[uo + 2] * a + z;
    }

    /// <summary>One environment of <see cref="ContractionRows"/>.</summary>
    private sealed class ContractionEnvironment
    {
        public required int Species { get; init; }

        public required double Norm { get; init; }

        /// <summary>x̂ = d/|d|.</summary>
        public required double[] Unit { get; init; }

        /// <summary>Rows that receive the local energy itself (total energy, own local energy).</summary>
        public required int[] ValueRows { get; init; }

        /// <summary>The first force row of the central atom, or −1.</summary>
        public required int CentreRow { get; init; }

        /// <summary>Neighbours kept (those whose derivative some row needs).</summary>
        public required int NeighbourCount { get; init; }

        /// <summary>Per kept neighbour: its atom's first force row, or −1.</summary>
        public required int[] NeighbourRow { get; init; }

        /// <summary>Per kept neighbour: s_k·N·H, the first Ĝ row of its species.</summary>
        public required int[] ChannelOffset { get; init; }

        /// <summary>Per kept neighbour: its vector from the centre (Å), 3 values.</summary>
        public required double[] Vectors { get; init; }

        /// <summary>Per kept neighbour: what ∂c/∂r_k is made of (<see cref="B2Workspace.NeighborBasis"/>), <see cref="BasisLength"/> values.</summary>
        public required double[] NeighbourBases { get; init; }

        /// <summary>Values per neighbour in <see cref="NeighbourBases"/>.</summary>
        public required int BasisLength { get; init; }

        /// <summary>The coefficients c, K·H values (empty without kept neighbours).</summary>
        public required double[] Coefficients { get; init; }

        /// <summary>Ĝ(x̂), K·H values (empty without kept neighbours).</summary>
        public required double[] UnitHat { get; init; }

        /// <summary>Per kept neighbour: x̂ · ∂x/∂r_k (3 values), the part of every column's derivative along x̂ itself.</summary>
        public required double[] UnitGradients { get; init; }
    }

    /// <summary>A set of column environments (local energies) grouped by central species, units transposed.</summary>
    private sealed class ContractionColumns
    {
        public required LabelSelection Selection { get; init; }

        public required ColumnGroup[] Groups { get; init; }

        public static ContractionColumns Create(StructureEnvironments s, LabelSelection sel, B2Settings settings)
        {
            int d = settings.Length, kk = settings.ChannelCount, l1 = settings.AngularMax + 1;
            var bySpecies = new SortedDictionary<int, List<(int Column, AtomEnvironment Env)>>();
            for (int k = 0; k < sel.LocalEnergyAtoms.Length; k++)
            {
                var e = s[sel.LocalEnergyAtoms[k]];
                if (!(e.B2Norm >= EmptyNorm))
                {
                    continue;
                }

                if (!bySpecies.TryGetValue(e.CentralSpecies, out var list))
                {
                    bySpecies[e.CentralSpecies] = list = [];
                }

                list.Add((sel.LocalEnergyOffset + k, e));
            }

            var groups = new List<ColumnGroup>();
            foreach (var (species, list) in bySpecies)
            {
                int bp = (list.Count + PadLanes - 1) / PadLanes * PadLanes;
                var ut = new double[d * bp];
                for (int u = 0; u < list.Count; u++)
                {
                    var b2 = list[u].Env.B2;
                    double inv = 1 / list[u].Env.B2Norm;
                    for (int p = 0; p < d; p++)
                    {
                        ut[p * bp + u] = b2[p] * inv;
                    }
                }

                // Per tile of TileLanes columns, rows (l, a, b) over all channel pairs (both orders), diagonal doubled.
                var hu = new double[bp * l1 * kk * kk];
                for (int u = 0; u < list.Count; u++)
                {
                    int tileBase = u / TileLanes * l1 * kk * kk * TileLanes, lane = u % TileLanes;
                    int p = 0;
                    for (int a = 0; a < kk; a++)
                    {
                        for (int b = a; b < kk; b++)
                        {
                            for (int l = 0; l < l1; l++)
                            {
                                double x = ut[p++ * bp + u];
                                hu[tileBase + ((l * kk + a) * kk + b) * TileLanes + lane] = a == b ? 2 * x : x;
                                hu[tileBase + ((l * kk + b) * kk + a) * TileLanes + lane] = a == b ? 2 * x : x;
                            }
                        }
                    }
                }

                groups.Add(new ColumnGroup { Species = species, Columns = list.Select(x => x.Column).ToArray(), Padded = bp, UnitsT = ut, HatUnits = hu });
            }

            return new ContractionColumns { Selection = sel, Groups = [.. groups] };
        }
    }

    private sealed class ColumnGroup
    {
        public required int Species { get; init; }

        /// <summary>Column label of each member.</summary>
        public required int[] Columns { get; init; }

        /// <summary>Members padded to a multiple of <see cref="PadLanes"/>.</summary>
        public required int Padded { get; init; }

        /// <summary>The members' unit descriptors, D × Padded (zeros in the padding).</summary>
        public required double[] UnitsT { get; init; }

        /// <summary>Per tile of <see cref="TileLanes"/> members, the units expanded to every ordered channel pair, rows (l, ν, ν') of the tile's lanes, the diagonal pairs doubled (what Ĝ needs, read in order).</summary>
        public required double[] HatUnits { get; init; }
    }
}
