using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Gpff.Descriptors;

namespace Gpff.Kernels;

/// <summary>
/// The 2-body squared-exponential kernel (Vandermause et al. 2020, FLARE):
/// k₂(ρᵢ, ρⱼ) = σ₂²/4 · Σ_{p∈ρᵢ} Σ_{q∈ρⱼ} δ(species) exp(−(r_p − r_q)²/(2ℓ₂²)) f(r_p) f(r_q),
/// where the pair species {sᵢ, s_p} and {sⱼ, s_q} must match as unordered pairs. The factor 1/4 is
/// the pair-energy split ½–½ between the two atoms; force blocks carry each pair with full weight,
/// force–energy ½. σ₂ and ℓ₂ may be given per group of species pairs.
/// </summary>
public sealed class TwoBodyKernel : NBodyKernel
{
    /// <summary>Creates a 2-body kernel.</summary>
    /// <param name="cutoffA">Pair cutoff r_c2 in Å.</param>
    /// <param name="sigmaEv">Default signal amplitude σ₂ in eV.</param>
    /// <param name="lengthA">Default length scale ℓ₂ in Å.</param>
    /// <param name="cutoffFunction">Cutoff function (quadratic by default).</param>
    /// <param name="groups">Species-pair groups with their own σ₂, ℓ₂ (members like "Ba-O").</param>
    public TwoBodyKernel(double cutoffA, double sigmaEv, double lengthA, CutoffFunction cutoffFunction = CutoffFunction.Quadratic, IReadOnlyList<SpeciesGroup>? groups = null)
        : base(2, cutoffA, sigmaEv, lengthA, cutoffFunction, groups)
    {
    }

    /// <inheritdoc />
    public override string Name => "2-body squared exponential";

    /// <summary>Pair cutoff r_c2 in Å.</summary>
    public double PairCutoffA => OwnCutoffA;

    /// <inheritdoc />
    public override LocalKernel WithHyperparameters(IReadOnlyList<double> values)
    {
        var (s, l, g) = H.With(values);
        return new TwoBodyKernel(PairCutoffA, s, l, CutoffFunction, g);
    }

    private static int RequiredSpecies(int cx, int sj, int cy) => cx == cy ? sj : (sj == cy ? cx : -1);

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
    /// The general 10 × 10 block (and its hyperparameter derivatives), vectorised over the side-1 pairs
    /// (the neighbours of <paramref name="x"/>), one species run at a time: for each batch of side-1 pairs in
    /// the SIMD lanes and each side-2 pair m (scalar, broadcast), the per-pair coefficients are computed once
    /// (<see cref="Coefficients{TV, TG}"/>: the energy-column sums are kept, the direction columns' coefficients
    /// stored), then projected on m's label directions (û, w r û⊗û, from a table computed once per block;
    /// <see cref="Project{TV}"/>) three columns at a time, so that each lane ends with its side-1 pair's rows r0, r1
    /// (and ∂/∂ℓ rows dr0, dr1) without a lane reduction per pair. At the end of a run, the rows of all its side-1
    /// pairs n meet their label directions g_n in one small product, U = Σ_n g_n ⊗ r1_n (<see cref="Gram{TV}"/>),
    /// which is scaled by σ² into the block and by 2σ (σ², with the ∂/∂ℓ rows) into the derivatives. The same sums
    /// as <see cref="GeneralReference{TV}"/>, in another order.
    /// </summary>
    internal void General<TV>(AtomEnvironment x, AtomEnvironment y, Span<double> block, Span<double> hyperparameterGradients)
        where TV : unmanaged, ISimd<TV> => General<TV>(x, y, block, hyperparameterGradients, summed: false);

    /// <summary>
    /// The pair-once form of the block (see <see cref="LocalKernel.SummedEnvironmentCovariance"/>): a pair of atoms
    /// enters a structure's energy and virial through the environments of both its atoms with weight ½ each, with
    /// the same contribution, so the energy and virial rows take the side-1 pairs whose central atom is the pair's
    /// first vertex, with weight 1, and the energy and virial columns the side-2 pairs of that kind; the force
    /// rows and columns take every pair. Summed over all environment pairs of two whole structures it gives
    /// <see cref="EnvironmentCovariance"/>'s energy, force and stress covariances; per pair only its force–force
    /// entries are the same. Environments without first-vertex ranges take the exact block.
    /// </summary>
    internal override void SummedEnvironmentCovariance(AtomEnvironment x, AtomEnvironment y, Span<double> block, Span<double> hyperparameterGradients, bool energyAndStressOnly)
    {
        bool ready = x.PairFirstVertexEnd.Length == x.PairSpeciesList.Length && y.PairFirstVertexEnd.Length == y.PairSpeciesList.Length;
        if (SimdSupport.Use512)
        {
            General<V512>(x, y, block, hyperparameterGradients, ready);
        }
        else
        {
            General<V256>(x, y, block, hyperparameterGradients, ready);
        }
    }

    /// <summary><see cref="General{TV}(AtomEnvironment, AtomEnvironment, Span{double}, Span{double})"/>, or with <paramref name="summed"/> its pair-once form.</summary>
    internal void General<TV>(AtomEnvironment x, AtomEnvironment y, Span<double> block, Span<double> hyperparameterGradients, bool summed)
        where TV : unmanaged, ISimd<TV>
    {
        if (x.PairCount == 0 || y.PairCount == 0)
        {
            return;
        }

        bool wantGrad = !hyperparameterGradients.IsEmpty;
        int rows = wantGrad ? 4 : 2;
        int length = 9 * (x.PairCount + TablePadding) + n10 * y.PairCount + y.PairCount * rows * TV.Count + rows * n10 * (x.PairCount + TV.Count);
        double[] scratch = ArrayPool<double>.Shared.Rent(length);
        try
        {
            if (wantGrad)
            {
                GeneralPass<TV, WithGradients>(x, y, scratch, block, hyperparameterGradients, summed);
            }
            else
            {
                GeneralPass<TV, ValuesOnly>(x, y, scratch, block, hyperparameterGradients, summed);
            }
        }
        finally
        {
            ArrayPool<double>.Shared.Return(scratch);
        }
    }

    /// <summary>Labels of one environment (<see cref="LocalKernel.EnvironmentLabelCount"/>), short for the index arithmetic.</summary>
    private const int n10 = EnvironmentLabelCount;

    /// <summary>Zero tail of each row of the side-1 direction table, at least the widest vector.</summary>
    private const int TablePadding = 8;

    /// <summary>
    /// <see cref="General{TV}(AtomEnvironment, AtomEnvironment, Span{double}, Span{double})"/>'s pass. Layout of <paramref name="s"/>: the side-1 direction table (9 rows, one
    /// per direction column, each x.PairCount + <see cref="TablePadding"/> long), the side-2 direction table (10
    /// per pair, <see cref="Directions"/>), the stored coefficients of the side-2 pairs of a run (rows × lanes per
    /// pair: c01, c11 and, with derivatives, d01, d11), and the lane rows of a run ([row][column][side-1 pair],
    /// each column as long as the run rounded up to whole vectors).
    /// </summary>
    private void GeneralPass<TV, TG>(AtomEnvironment x, AtomEnvironment y, double[] s, Span<double> block, Span<double> hyperparameterGradients, bool summed)
        where TV : unmanaged, ISimd<TV>
        where TG : struct, IGradientFlag
    {
        double w = summed ? 1 : 0.5; // weight of a pair in the energy and virial (½: its energy split between its two atoms)
        int width = TV.Count;
        int rows = TG.On ? 4 : 2;
        int sx = x.PairCount + TablePadding;
        int gyo = 9 * sx, co = gyo + n10 * y.PairCount, lo = co + y.PairCount * rows * width;
        SideOneDirections(x, w, s, sx, summed);
        for (int m = 0; m < y.PairCount; m++)
        {
            Directions(y, m, w, s.AsSpan(gyo + n10 * m, n10));
        }

        Span<double> sum = stackalloc double[2 * EnvironmentBlockSize];
        Span<double> u = sum[..EnvironmentBlockSize];
        Span<double> du = sum[EnvironmentBlockSize..];
        int cx = x.CentralSpecies, cy = y.CentralSpecies;
        var lane = TV.LaneIndex();
        for (int run = 0; run < x.PairSpeciesList.Length; run++)
        {
            int sj = x.PairSpeciesList[run];
            int req = RequiredSpecies(cx, sj, cy);
            if (req < 0)
            {
                continue;
            }

            var (ys, ym, ye) = y.PairRangeWithFirstVertex(req);
            if (ys == ye)
            {
                continue;
            }

            ym = summed ? ym : ye; // side-2 pairs [ys, ym) take the energy and virial columns
            int xs = x.PairRangeStart[run], xe = x.PairRangeStart[run + 1];
            int xm = summed ? x.PairFirstVertexEnd[run] : xe; // side-1 pairs [xs, xm) take the energy and virial rows
            int cs = (xe - xs + width - 1) / width * width; // one column of lane rows
            int g = H.GroupOfPair(cx, sj);
            double sigma = H.Sigma[g], ell = H.Length[g];
            double lam = 1 / (ell * ell);
            var c = new PairConstants<TV>(TV.Create(lam), TV.Create(-0.5 * lam), TV.Create(lam / ell), TV.Create(2 * lam / ell), TV.Create(w));
            var vend = TV.Create(xe);
            for (int n0 = xs; n0 < xe; n0 += width)
            {
                // Lanes past the run carry a = a' = 0, hence all-zero coefficients and rows.
                var vstart = lane + TV.Create(n0);
                var va = TV.KeepWhereLess(TV.Load(x.PF, n0), vstart, vend);
                var va1 = TV.KeepWhereLess(TV.Load(x.PDF, n0), vstart, vend);
                int batch = lo + n0 - xs;
                Coefficients<TV, TG>(c, TV.Load(x.PR, n0), va, va1, y, ys, ym, ye, s, co, batch, cs);
                Project<TV>(ys, ym, ye, s, gyo, co, rows * width, batch, cs);
                if (TG.On)
                {
                    Project<TV>(ys, ym, ye, s, gyo, co + 2 * width, rows * width, batch + 2 * n10 * cs, cs);
                }
            }

            if (xm < xe)
            {
                // Side-1 pairs past the first-vertex ones enter no energy row: clear their r0 (and dr0) lanes.
                for (int r = 0; r < rows; r += 2)
                {
                    for (int k = 0; k < n10; k++)
                    {
                        Array.Clear(s, lo + r * n10 * cs + k * cs + (xm - xs), xe - xm);
                    }
                }
            }

            double s2 = sigma * sigma;
            Gram<TV>(s, xs, sx, lo, cs, w, u);
            Axpy(block, s2, u);
            if (TG.On)
            {
                Gram<TV>(s, xs, sx, lo + 2 * n10 * cs, cs, w, du);
                Axpy(hyperparameterGradients.Slice(2 * g * EnvironmentBlockSize, EnvironmentBlockSize), 2 * sigma, u);
                Axpy(hyperparameterGradients.Slice((2 * g + 1) * EnvironmentBlockSize, EnvironmentBlockSize), s2, du);
            }
        }

        static void Axpy(Span<double> target, double a, ReadOnlySpan<double> source)
        {
            for (int i = 0; i < EnvironmentBlockSize; i++)
            {
                target[i] = Math.FusedMultiplyAdd(a, source[i], target[i]);
            }
        }
    }

    /// <summary>Per-run constants of <see cref="Coefficients{TV, TG}"/>: λ = 1/ℓ², −λ/2, λ/ℓ, 2λ/ℓ and the pair-energy weight w.</summary>
    private readonly struct PairConstants<TV>(TV lam, TV half, TV c1s, TV c2, TV w)
        where TV : unmanaged, ISimd<TV>
    {
        public readonly TV Lam = lam, Half = half, C1s = c1s, C2 = c2, W = w;
    }

    /// <summary>
    /// For a batch of side-1 pairs (distances r, cutoff values a, a′ in the lanes) and every side-2 pair m of the
    /// range: e = exp(−λΔ²/2), u = a′ − λaΔ, v = b′ + λΔb; the energy-column sums Σ_m e a w b and Σ_m e u w b
    /// (and their ∂/∂ℓ) go to column 0 of the lane rows at <paramref name="lo"/> (rows 10 <paramref name="cs"/>
    /// apart), the direction-column coefficients e a v and e u v + λ e a b (and their ∂/∂ℓ) are stored per m at
    /// <paramref name="co"/>. The arithmetic of <see cref="GeneralReference{TV}"/>'s coefficients.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Coefficients<TV, TG>(in PairConstants<TV> c, TV vr, TV va, TV va1, AtomEnvironment y, int ys, int ym, int ye, double[] s, int co, int lo, int cs)
        where TV : unmanaged, ISimd<TV>
        where TG : struct, IGradientFlag
    {
        int width = TV.Count;
        int rows = TG.On ? 4 : 2;
        var vlama = c.Lam * va;
        var zero = TV.Create(0);
        TV e0 = zero, e1 = zero, d0 = zero, d1 = zero;
        double[] yr = y.PR, yf = y.PF, ydf = y.PDF;
        int o = co;
        for (int m = ys; m < ye; m++, o += rows * width)
        {
            var b = TV.Create(yf[m]);
            var delta = vr - TV.Create(yr[m]);
            var e = TV.Exp(c.Half * delta * delta);
            var u = va1 - vlama * delta;
            var v = TV.Fma(c.Lam * delta, b, TV.Create(ydf[m]));
            var ea = e * va;
            var eu = e * u;
            var eab = c.Lam * ea * b;
            var wb = m < ym ? c.W * b : zero; // only side-2 pairs before ym take the energy column
            e0 += ea * wb;
            e1 += eu * wb;
            (ea * v).Store(s, o);
            TV.Fma(eu, v, eab).Store(s, o + width);
            if (TG.On)
            {
                // ∂/∂ℓ: the exponent contributes c1 = Δ² λ/ℓ, each λ-weighted Δ the factor c2 = 2λ/ℓ.
                var c1 = c.C1s * delta * delta;
                var c2db = c.C2 * delta * b;
                var c1ea = c1 * ea;
                d0 += c1ea * wb;
                var alpha = TV.Fma(c1, eu, c.C2 * delta * ea);
                d1 += alpha * wb;
                (c1ea * v - ea * c2db).Store(s, o + 2 * width);
                (alpha * v + (c1 * eab - c.C2 * ea * b) - eu * c2db).Store(s, o + 3 * width);
            }
        }

        int row = n10 * cs;
        e0.Store(s, lo);
        e1.Store(s, lo + row);
        if (TG.On)
        {
            d0.Store(s, lo + 2 * row);
            d1.Store(s, lo + 3 * row);
        }
    }

    /// <summary>
    /// Columns 1–9 of two lane rows at <paramref name="lo"/> and <paramref name="lo"/> + 10 <paramref name="cs"/>
    /// (columns <paramref name="cs"/> apart): Σ_m coefficient(m) × direction(m), the two rows' coefficients of m at
    /// <paramref name="co"/> + <paramref name="step"/> (m − start) and one vector later, three columns (force; virial
    /// diagonal; virial off-diagonal) at a time, the directions of m broadcast from the side-2 table at
    /// <paramref name="gyo"/>. Six accumulators, so that they stay in registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Project<TV>(int ys, int ym, int ye, double[] s, int gyo, int co, int step, int lo, int cs)
        where TV : unmanaged, ISimd<TV>
    {
        int width = TV.Count;
        var zero = TV.Create(0);
        for (int k = 1; k < n10; k += 3)
        {
            TV a0 = zero, a1 = zero, a2 = zero, b0 = zero, b1 = zero, b2 = zero;
            int o = co;
            int end = k == 1 ? ye : ym; // the virial columns take the side-2 pairs before ym only
            for (int m = ys; m < end; m++, o += step)
            {
                int gm = gyo + n10 * m + k;
                var g0 = TV.Create(s[gm]);
                var g1 = TV.Create(s[gm + 1]);
                var g2 = TV.Create(s[gm + 2]);
                var ca = TV.Load(s, o);
                var cb = TV.Load(s, o + width);
                a0 = TV.Fma(ca, g0, a0);
                a1 = TV.Fma(ca, g1, a1);
                a2 = TV.Fma(ca, g2, a2);
                b0 = TV.Fma(cb, g0, b0);
                b1 = TV.Fma(cb, g1, b1);
                b2 = TV.Fma(cb, g2, b2);
            }

            int r = lo + k * cs, row = n10 * cs;
            a0.Store(s, r);
            a1.Store(s, r + cs);
            a2.Store(s, r + 2 * cs);
            b0.Store(s, r + row);
            b1.Store(s, r + row + cs);
            b2.Store(s, r + row + 2 * cs);
        }
    }

    /// <summary>
    /// The unscaled 10 × 10 sum of a run, U = w e₀ ⊗ Σ_n r0_n + Σ_n g_n ⊗ r1_n (the form of
    /// <see cref="KernelMath.RankUpdate"/>, summed over the run's side-1 pairs n): r0, r1 are the lane rows at
    /// <paramref name="lo"/> (10 columns of <paramref name="cs"/> pairs each, r1 ten columns later), g the side-1
    /// direction table (rows <paramref name="sx"/> apart) from pair <paramref name="xs"/> on. Vectorised over n,
    /// 3 × 3 entries at a time; padding lanes of r are zero.
    /// </summary>
    private static void Gram<TV>(double[] s, int xs, int sx, int lo, int cs, double w, Span<double> u)
        where TV : unmanaged, ISimd<TV>
    {
        int width = TV.Count;
        var zero = TV.Create(0);
        int r1 = lo + n10 * cs;
        for (int k = 0; k < n10; k += 4)
        {
            // Row 0: w Σ_n r0_n, four columns at a time (the last step recomputes columns 6, 7).
            int k0 = Math.Min(k, n10 - 4);
            TV t0 = zero, t1 = zero, t2 = zero, t3 = zero;
            for (int n = 0; n < cs; n += width)
            {
                int o = lo + k0 * cs + n;
                t0 += TV.Load(s, o);
                t1 += TV.Load(s, o + cs);
                t2 += TV.Load(s, o + 2 * cs);
                t3 += TV.Load(s, o + 3 * cs);
            }

            var t = TV.Sum4(t0, t1, t2, t3);
            for (int j = 0; j < 4; j++)
            {
                u[k0 + j] = w * t.GetElement(j);
            }
        }

        for (int i = 1; i < n10; i += 3)
        {
            int gi = (i - 1) * sx + xs;
            for (int k = 0; k < n10; k += 3)
            {
                // Columns 9, 7, 8 in the last step (7 and 8 again), so that every step is 3 × 3.
                int k0 = Math.Min(k, n10 - 3);
                TV a00 = zero, a01 = zero, a02 = zero, a10 = zero, a11 = zero, a12 = zero, a20 = zero, a21 = zero, a22 = zero;
                for (int n = 0; n < cs; n += width)
                {
                    var g0 = TV.Load(s, gi + n);
                    var g1 = TV.Load(s, gi + sx + n);
                    var g2 = TV.Load(s, gi + 2 * sx + n);
                    int o = r1 + k0 * cs + n;
                    var q0 = TV.Load(s, o);
                    var q1 = TV.Load(s, o + cs);
                    var q2 = TV.Load(s, o + 2 * cs);
                    a00 = TV.Fma(g0, q0, a00);
                    a01 = TV.Fma(g0, q1, a01);
                    a02 = TV.Fma(g0, q2, a02);
                    a10 = TV.Fma(g1, q0, a10);
                    a11 = TV.Fma(g1, q1, a11);
                    a12 = TV.Fma(g1, q2, a12);
                    a20 = TV.Fma(g2, q0, a20);
                    a21 = TV.Fma(g2, q1, a21);
                    a22 = TV.Fma(g2, q2, a22);
                }

                var p = TV.Sum4(a00, a01, a02, a10);
                var q = TV.Sum4(a11, a12, a20, a21);
                int b = n10 * i + k0;
                u[b] = p.GetElement(0);
                u[b + 1] = p.GetElement(1);
                u[b + 2] = p.GetElement(2);
                u[b + n10] = p.GetElement(3);
                u[b + n10 + 1] = q.GetElement(0);
                u[b + n10 + 2] = q.GetElement(1);
                u[b + 2 * n10] = q.GetElement(2);
                u[b + 2 * n10 + 1] = q.GetElement(3);
                u[b + 2 * n10 + 2] = TV.Sum(a22);
            }
        }
    }

    /// <summary>
    /// The label directions 1–9 of every pair n of <paramref name="x"/> (<see cref="Directions"/>), direction k at
    /// (k − 1) <paramref name="sx"/> + n, each row zero past the last pair.
    /// </summary>
    private static void SideOneDirections(AtomEnvironment x, double w, double[] table, int sx, bool summed)
    {
        Span<double> g = stackalloc double[n10];
        int run = 0;
        for (int n = 0; n < x.PairCount; n++)
        {
            while (summed && n >= x.PairRangeStart[run + 1])
            {
                run++;
            }

            // In the pair-once form only first-vertex pairs have virial directions.
            Directions(x, n, summed && n >= x.PairFirstVertexEnd[run] ? 0 : w, g);
            for (int k = 1; k < n10; k++)
            {
                table[(k - 1) * sx + n] = g[k];
            }
        }

        for (int k = 1; k < n10; k++)
        {
            Array.Clear(table, (k - 1) * sx + x.PairCount, sx - x.PairCount);
        }
    }

    /// <summary>
    /// The former general pass, kept as the reference of <see cref="General{TV}(AtomEnvironment, AtomEnvironment, Span{double}, Span{double})"/> in tests and benchmarks:
    /// the 10 × 10 block (and its hyperparameter derivatives), vectorised over the side-2 pairs: for each
    /// side-1 pair the rows r0, r1 (and ∂/∂ℓ rows dr0, dr1) are sums over side-2 pairs of a coefficient times
    /// that pair's label directions (û, w r û⊗û), kept as one SIMD accumulator per row and column and reduced
    /// once per side-1 pair.
    /// </summary>
    internal void GeneralReference<TV>(AtomEnvironment x, AtomEnvironment y, Span<double> block, Span<double> hyperparameterGradients)
        where TV : unmanaged, ISimd<TV>
    {
        if (x.PairCount == 0 || y.PairCount == 0)
        {
            return;
        }

        bool wantGrad = !hyperparameterGradients.IsEmpty;
        const double w = 0.5; // pair energy split between its two atoms
        int rows = wantGrad ? 4 : 2;
        Span<TV> acc = stackalloc TV[4 * 10];
        Span<TV> gy = stackalloc TV[10];
        Span<TV> coef = stackalloc TV[4 * 2];
        Span<double> gx = stackalloc double[10];
        Span<double> rs = stackalloc double[4 * 10];
        int cx = x.CentralSpecies, cy = y.CentralSpecies;
        int width = TV.Count;
        var lane = TV.LaneIndex();
        var zero = TV.Create(0);
        var vw = TV.Create(w);
        double[] yr = y.PR, yf = y.PF, ydf = y.PDF, yux = y.PUx, yuy = y.PUy, yuz = y.PUz;
        for (int n = 0; n < x.PairCount; n++)
        {
            int sj = x.PSpecies[n];
            int req = RequiredSpecies(cx, sj, cy);
            if (req < 0)
            {
                continue;
            }

            var (start, end) = y.PairRange(req);
            if (start == end)
            {
                continue;
            }

            int g = H.GroupOfPair(cx, sj);
            double sigma = H.Sigma[g], ell = H.Length[g];
            double s2 = sigma * sigma, lam = 1 / (ell * ell);
            double r = x.PR[n], a = x.PF[n], a1 = x.PDF[n];
            var vr = TV.Create(r);
            var vlam = TV.Create(lam);
            var vhalf = TV.Create(-0.5 * lam);
            var va = TV.Create(a);
            var va1 = TV.Create(a1);
            var vlama = TV.Create(lam * a);
            var vc1s = TV.Create(lam / ell);
            var vc2 = TV.Create(2 * lam / ell);
            var vend = TV.Create(end);
            acc.Fill(zero);
            for (int m = start; m < end; m += width)
            {
                var rp = TV.Load(yr, m);
                var b = TV.Load(yf, m);
                var delta = vr - rp;
                var e = TV.KeepWhereLess(TV.Exp(vhalf * delta * delta), lane + TV.Create(m), vend);
                var u = va1 - vlama * delta;
                var v = TV.Fma(vlam * delta, b, TV.Load(ydf, m));
                var ux = TV.Load(yux, m);
                var uy = TV.Load(yuy, m);
                var uz = TV.Load(yuz, m);
                var wrx = vw * rp * ux;
                var wry = vw * rp * uy;
                gy[1] = ux;
                gy[2] = uy;
                gy[3] = uz;
                gy[4] = wrx * ux;
                gy[5] = wry * uy;
                gy[6] = vw * rp * uz * uz;
                gy[7] = wry * uz;
                gy[8] = wrx * uz;
                gy[9] = wrx * uy;
                var ea = e * va;
                var eu = e * u;
                var eab = vlam * ea * b;
                var wb = vw * b;
                coef[0] = ea * wb;
                coef[1] = ea * v;
                coef[2] = eu * wb;
                coef[3] = TV.Fma(eu, v, eab);
                if (wantGrad)
                {
                    // ∂/∂ℓ: the exponent contributes c1 = Δ² λ/ℓ, each λ-weighted Δ the factor c2 = 2λ/ℓ.
                    var c1 = vc1s * delta * delta;
                    var c2db = vc2 * delta * b;
                    var c1ea = c1 * ea;
                    coef[4] = c1ea * wb;
                    coef[5] = c1ea * v - ea * c2db;
                    var alpha = TV.Fma(c1, eu, vc2 * delta * ea);
                    coef[6] = alpha * wb;
                    coef[7] = alpha * v + (c1 * eab - vc2 * ea * b) - eu * c2db;
                }

                for (int row = 0; row < rows; row++)
                {
                    var ar = acc.Slice(10 * row, 10);
                    var wk = coef[2 * row + 1];
                    ar[0] += coef[2 * row];
                    for (int k = 1; k < 10; k++)
                    {
                        ar[k] = TV.Fma(wk, gy[k], ar[k]);
                    }
                }
            }

            for (int k = 0; k < rows * 10; k++)
            {
                rs[k] = TV.Sum(acc[k]);
            }

            Directions(x, n, w, gx);
            KernelMath.RankUpdate(block, s2, w, rs[..10], gx, rs.Slice(10, 10));
            if (wantGrad)
            {
                var gs = hyperparameterGradients.Slice(2 * g * LocalKernel.EnvironmentBlockSize, LocalKernel.EnvironmentBlockSize);
                var gl = hyperparameterGradients.Slice((2 * g + 1) * LocalKernel.EnvironmentBlockSize, LocalKernel.EnvironmentBlockSize);
                KernelMath.RankUpdate(gs, 2 * sigma, w, rs[..10], gx, rs.Slice(10, 10));
                KernelMath.RankUpdate(gl, s2, w, rs.Slice(20, 10), gx, rs.Slice(30, 10));
            }
        }
    }

    /// <inheritdoc />
    public override void LocalEnergyCovariance(AtomEnvironment x, AtomEnvironment y, Span<double> column, Span<double> hyperparameterGradients)
    {
        if (x.PairCount == 0 || y.PairCount == 0)
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
    /// Column 0 of <see cref="GeneralReference{TV}"/>'s block (labels of x versus the local energy of y): of its
    /// per-pair coefficients only the energy-column ones, Σ e a w b (energy row) and Σ e u w b (force and
    /// virial rows, times x's pair directions), and their ∂/∂ℓ; the same arithmetic in the same order.
    /// </summary>
    internal void LocalEnergy<TV>(AtomEnvironment x, AtomEnvironment y, Span<double> column, Span<double> hyperparameterGradients)
        where TV : unmanaged, ISimd<TV>
    {
        bool wantGrad = !hyperparameterGradients.IsEmpty;
        const double w = 0.5;
        Span<double> gx = stackalloc double[n10];
        int cx = x.CentralSpecies, cy = y.CentralSpecies;
        int width = TV.Count;
        var lane = TV.LaneIndex();
        var zero = TV.Create(0);
        var vw = TV.Create(w);
        double[] yr = y.PR, yf = y.PF;
        for (int n = 0; n < x.PairCount; n++)
        {
            int sj = x.PSpecies[n];
            int req = RequiredSpecies(cx, sj, cy);
            if (req < 0)
            {
                continue;
            }

            var (start, end) = y.PairRange(req);
            if (start == end)
            {
                continue;
            }

            int g = H.GroupOfPair(cx, sj);
            double sigma = H.Sigma[g], ell = H.Length[g];
            double s2 = sigma * sigma, lam = 1 / (ell * ell);
            double r = x.PR[n], a = x.PF[n], a1 = x.PDF[n];
            var vr = TV.Create(r);
            var vhalf = TV.Create(-0.5 * lam);
            var va = TV.Create(a);
            var va1 = TV.Create(a1);
            var vlama = TV.Create(lam * a);
            var vc1s = TV.Create(lam / ell);
            var vc2 = TV.Create(2 * lam / ell);
            var vend = TV.Create(end);
            TV e0 = zero, e1 = zero, d0 = zero, d1 = zero;
            for (int m = start; m < end; m += width)
            {
                var rp = TV.Load(yr, m);
                var b = TV.Load(yf, m);
                var delta = vr - rp;
                var e = TV.KeepWhereLess(TV.Exp(vhalf * delta * delta), lane + TV.Create(m), vend);
                var u = va1 - vlama * delta;
                var ea = e * va;
                var eu = e * u;
                var wb = vw * b;
                e0 += ea * wb;
                e1 += eu * wb;
                if (wantGrad)
                {
                    var c1 = vc1s * delta * delta;
                    d0 += c1 * ea * wb;
                    d1 += TV.Fma(c1, eu, vc2 * delta * ea) * wb;
                }
            }

            double r0 = TV.Sum(e0), r1 = TV.Sum(e1);
            Directions(x, n, w, gx);
            Update(column, s2, w, r0, gx, r1);
            if (wantGrad)
            {
                Update(hyperparameterGradients.Slice(2 * g * n10, n10), 2 * sigma, w, r0, gx, r1);
                Update(hyperparameterGradients.Slice((2 * g + 1) * n10, n10), s2, w, TV.Sum(d0), gx, TV.Sum(d1));
            }
        }

        // Column 0 of KernelMath.RankUpdate with one direction: c[0] += s w r0, c[i] += (s gᵢ) r1.
        static void Update(Span<double> c, double s, double w, double r0, ReadOnlySpan<double> g, double r1)
        {
            c[0] = Math.FusedMultiplyAdd(s * w, r0, c[0]);
            for (int i = 1; i < n10; i++)
            {
                double gi = s * g[i];
                if (gi != 0)
                {
                    c[i] = Math.FusedMultiplyAdd(gi, r1, c[i]);
                }
            }
        }
    }

    /// <summary>Label directions of pair n: slot 0 unused (0), 1–3 force direction û, 4–9 weighted strain derivative w r û⊗û.</summary>
    private static void Directions(AtomEnvironment e, int n, double w, Span<double> g)
    {
        double ux = e.PUx[n], uy = e.PUy[n], uz = e.PUz[n], wr = w * e.PR[n];
        g[0] = 0;
        g[1] = ux;
        g[2] = uy;
        g[3] = uz;
        g[4] = wr * ux * ux;
        g[5] = wr * uy * uy;
        g[6] = wr * uz * uz;
        g[7] = wr * uy * uz;
        g[8] = wr * ux * uz;
        g[9] = wr * ux * uy;
    }

    /// <inheritdoc />
    public override void ForceCovarianceWithGradients(AtomEnvironment x, AtomEnvironment y, Span<double> block, Span<double> hyperparameterGradients)
    {
        if (x.PairCount == 0 || y.PairCount == 0)
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
    /// coefficient of the force row of <see cref="GeneralReference{TV}"/> (its gradient row 3) carried alongside.
    /// </summary>
    internal void ForceWithGradients<TV>(AtomEnvironment x, AtomEnvironment y, Span<double> block, Span<double> hyperparameterGradients)
        where TV : struct, ISimd<TV>
    {
        int cx = x.CentralSpecies, cy = y.CentralSpecies;
        int width = TV.Count;
        var lane = TV.LaneIndex();
        double[] yr = y.PR, yf = y.PF, ydf = y.PDF, yux = y.PUx, yuy = y.PUy, yuz = y.PUz;
        for (int n = 0; n < x.PairCount; n++)
        {
            int req = RequiredSpecies(cx, x.PSpecies[n], cy);
            if (req < 0)
            {
                continue;
            }

            var (start, end) = y.PairRange(req);
            if (start == end)
            {
                continue;
            }

            int g = H.GroupOfPair(cx, x.PSpecies[n]);
            double sigma = H.Sigma[g], ell = H.Length[g];
            double lam = 1 / (ell * ell);
            double r = x.PR[n], a = x.PF[n], a1 = x.PDF[n];
            var vr = TV.Create(r);
            var vlam = TV.Create(lam);
            var vhalf = TV.Create(-0.5 * lam);
            var va = TV.Create(a);
            var va1 = TV.Create(a1);
            var vlama = TV.Create(lam * a);
            var vc1s = TV.Create(lam / ell);
            var vc2 = TV.Create(2 * lam / ell);
            var vend = TV.Create(end);
            TV wx = TV.Create(0), wy = wx, wz = wx, dx = wx, dy = wx, dz = wx;
            for (int m = start; m < end; m += width)
            {
                var rp = TV.Load(yr, m);
                var b = TV.Load(yf, m);
                var delta = vr - rp;
                var e = TV.KeepWhereLess(TV.Exp(vhalf * delta * delta), lane + TV.Create(m), vend);
                var u = va1 - vlama * delta;
                var v = TV.Fma(vlam * delta, b, TV.Load(ydf, m));
                var ea = e * va;
                var eu = e * u;
                var eab = vlam * ea * b;
                var c = TV.Fma(eu, v, eab);
                var c1 = vc1s * delta * delta;
                var c2db = vc2 * delta * b;
                var alpha = TV.Fma(c1, eu, vc2 * delta * ea);
                var dc = alpha * v + (c1 * eab - vc2 * ea * b) - eu * c2db;
                var ux = TV.Load(yux, m);
                var uy = TV.Load(yuy, m);
                var uz = TV.Load(yuz, m);
                wx = TV.Fma(c, ux, wx);
                wy = TV.Fma(c, uy, wy);
                wz = TV.Fma(c, uz, wz);
                dx = TV.Fma(dc, ux, dx);
                dy = TV.Fma(dc, uy, dy);
                dz = TV.Fma(dc, uz, dz);
            }

            double s2 = sigma * sigma;
            Span<double> w = [TV.Sum(wx), TV.Sum(wy), TV.Sum(wz)];
            Span<double> d = [TV.Sum(dx), TV.Sum(dy), TV.Sum(dz)];
            Span<double> ux0 = [x.PUx[n], x.PUy[n], x.PUz[n]];
            var gs = hyperparameterGradients.Slice(9 * 2 * g, 9);
            var gl = hyperparameterGradients.Slice(9 * (2 * g + 1), 9);
            for (int i = 0; i < 3; i++)
            {
                for (int j = 0; j < 3; j++)
                {
                    block[3 * i + j] += s2 * ux0[i] * w[j];
                    gs[3 * i + j] += 2 * sigma * ux0[i] * w[j];
                    gl[3 * i + j] += s2 * ux0[i] * d[j];
                }
            }
        }
    }

    /// <inheritdoc />
    public override void ForceCovariance(AtomEnvironment x, AtomEnvironment y, Span<double> block)
    {
        if (x.PairCount == 0 || y.PairCount == 0)
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

    internal void Force<TV>(AtomEnvironment x, AtomEnvironment y, Span<double> block)
        where TV : struct, ISimd<TV>
    {
        int cx = x.CentralSpecies, cy = y.CentralSpecies;
        int width = TV.Count;
        var lane = TV.LaneIndex();
        double[] yr = y.PR, yf = y.PF, ydf = y.PDF, yux = y.PUx, yuy = y.PUy, yuz = y.PUz;
        double k00 = 0, k01 = 0, k02 = 0, k10 = 0, k11 = 0, k12 = 0, k20 = 0, k21 = 0, k22 = 0;
        for (int n = 0; n < x.PairCount; n++)
        {
            int req = RequiredSpecies(cx, x.PSpecies[n], cy);
            if (req < 0)
            {
                continue;
            }

            var (start, end) = y.PairRange(req);
            if (start == end)
            {
                continue;
            }

            int g = H.GroupOfPair(cx, x.PSpecies[n]);
            double sigma = H.Sigma[g], ell = H.Length[g];
            double lam = 1 / (ell * ell);
            double r = x.PR[n], a = x.PF[n], a1 = x.PDF[n];
            var vr = TV.Create(r);
            var vlam = TV.Create(lam);
            var vhalf = TV.Create(-0.5 * lam);
            var va = TV.Create(a);
            var va1 = TV.Create(a1);
            var vlama = TV.Create(lam * a);
            var vend = TV.Create(end);
            TV wx = TV.Create(0), wy = wx, wz = wx;
            for (int m = start; m < end; m += width)
            {
                var rp = TV.Load(yr, m);
                var b = TV.Load(yf, m);
                var b1 = TV.Load(ydf, m);
                var d = vr - rp;
                var e = TV.KeepWhereLess(TV.Exp(vhalf * d * d), lane + TV.Create(m), vend);
                var u = va1 - vlama * d;
                var v = TV.Fma(vlam * d, b, b1);
                var c = e * TV.Fma(u, v, vlama * b);
                wx = TV.Fma(c, TV.Load(yux, m), wx);
                wy = TV.Fma(c, TV.Load(yuy, m), wy);
                wz = TV.Fma(c, TV.Load(yuz, m), wz);
            }

            double s2 = sigma * sigma;
            double sx = s2 * TV.Sum(wx), sy = s2 * TV.Sum(wy), sz = s2 * TV.Sum(wz);
            double ux = x.PUx[n], uy = x.PUy[n], uz = x.PUz[n];
            k00 += ux * sx; k01 += ux * sy; k02 += ux * sz;
            k10 += uy * sx; k11 += uy * sy; k12 += uy * sz;
            k20 += uz * sx; k21 += uz * sy; k22 += uz * sz;
        }

        block[0] += k00; block[1] += k01; block[2] += k02;
        block[3] += k10; block[4] += k11; block[5] += k12;
        block[6] += k20; block[7] += k21; block[8] += k22;
    }
}

/// <summary>Small dense helpers shared by the kernels.</summary>
internal static class KernelMath
{
    /// <summary>target += source, element by element (equal lengths).</summary>
    public static void AddTo(Span<double> target, ReadOnlySpan<double> source)
    {
        if (target.Length != source.Length)
        {
            throw new ArgumentException($"AddTo needs equal lengths, got {target.Length} and {source.Length}.");
        }

        ref double t = ref MemoryMarshal.GetReference(target);
        ref double s = ref MemoryMarshal.GetReference(source);
        int i = 0;
        for (; i <= target.Length - Vector256<double>.Count; i += Vector256<double>.Count)
        {
            (Vector256.LoadUnsafe(ref t, (nuint)i) + Vector256.LoadUnsafe(ref s, (nuint)i)).StoreUnsafe(ref t, (nuint)i);
        }

        for (; i < target.Length; i++)
        {
            Unsafe.Add(ref t, i) += Unsafe.Add(ref s, i);
        }
    }

    /// <summary>
    /// M += s · (w e₀ ⊗ r0 + Σ_t g_t ⊗ r1_t), 10 × 10 row-major, where e₀ is the unit vector of the energy
    /// label and g, r1 hold T = g.Length / 10 consecutive 10-vectors g_t, r1_t (slot 0 of each g_t, the
    /// energy label, is not used: it is carried by w e₀). Rows are updated as 4 + 4 + 2 wide vectors.
    /// </summary>
    public static void RankUpdate(Span<double> m, double s, double w, ReadOnlySpan<double> r0, ReadOnlySpan<double> g, ReadOnlySpan<double> r1)
    {
        const int n = LocalKernel.EnvironmentLabelCount;
        int terms = g.Length / n;
        if (m.Length < n * n || r0.Length < n || g.Length != terms * n || r1.Length < g.Length)
        {
            throw new ArgumentException($"RankUpdate needs a 10 × 10 block, a 10-vector r0 and matching 10-vector lists g, r1; got {m.Length}, {r0.Length}, {g.Length}, {r1.Length} elements.");
        }

        ref double mm = ref MemoryMarshal.GetReference(m);
        ref double rr0 = ref MemoryMarshal.GetReference(r0);
        ref double rr1 = ref MemoryMarshal.GetReference(r1);
        var sw = Vector256.Create(s * w);
        Vector256.FusedMultiplyAdd(sw, Vector256.LoadUnsafe(ref rr0), Vector256.LoadUnsafe(ref mm)).StoreUnsafe(ref mm);
        Vector256.FusedMultiplyAdd(sw, Vector256.LoadUnsafe(ref rr0, 4), Vector256.LoadUnsafe(ref mm, 4)).StoreUnsafe(ref mm, 4);
        Vector128.FusedMultiplyAdd(sw.GetLower(), Vector128.LoadUnsafe(ref rr0, 8), Vector128.LoadUnsafe(ref mm, 8)).StoreUnsafe(ref mm, 8);
        for (int i = 1; i < n; i++)
        {
            nuint row = (nuint)(n * i);
            var lo = Vector256.LoadUnsafe(ref mm, row);
            var mid = Vector256.LoadUnsafe(ref mm, row + 4);
            var tail = Vector128.LoadUnsafe(ref mm, row + 8);
            bool any = false;
            for (int t = 0; t < terms; t++)
            {
                double gi = s * g[n * t + i];
                if (gi == 0)
                {
                    continue;
                }

                any = true;
                nuint o = (nuint)(n * t);
                var v = Vector256.Create(gi);
                lo = Vector256.FusedMultiplyAdd(v, Vector256.LoadUnsafe(ref rr1, o), lo);
                mid = Vector256.FusedMultiplyAdd(v, Vector256.LoadUnsafe(ref rr1, o + 4), mid);
                tail = Vector128.FusedMultiplyAdd(v.GetLower(), Vector128.LoadUnsafe(ref rr1, o + 8), tail);
            }

            if (any)
            {
                lo.StoreUnsafe(ref mm, row);
                mid.StoreUnsafe(ref mm, row + 4);
                tail.StoreUnsafe(ref mm, row + 8);
            }
        }
    }
}
