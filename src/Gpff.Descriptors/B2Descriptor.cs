using Gpff.Geometry;

namespace Gpff.Descriptors;

/// <summary>
/// The B2 descriptor of one local environment (see <see cref="B2Settings"/> for the definition) with
/// its analytic gradients with respect to every neighbour position and to homogeneous strain.
/// Gradients are computed per environment and per neighbour, never for a whole structure at once.
/// </summary>
public static class B2Descriptor
{
    /// <summary>
    /// The descriptor of a central atom with the given neighbours (periodic images as separate
    /// neighbours; neighbours at or beyond the cutoff contribute nothing).
    /// </summary>
    /// <param name="settings">Descriptor settings.</param>
    /// <param name="neighborVectorsA">Neighbour positions relative to the central atom, Å (none at the centre).</param>
    /// <param name="neighborAtomicNumbers">Atomic number of each neighbour (each one of <see cref="B2Settings.Species"/>).</param>
    /// <returns>The descriptor, <see cref="B2Settings.Length"/> long.</returns>
    public static double[] Compute(B2Settings settings, ReadOnlySpan<Vec3> neighborVectorsA, ReadOnlySpan<int> neighborAtomicNumbers)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var values = new double[settings.Length];
        Compute(settings, neighborVectorsA, neighborAtomicNumbers, values, [], []);
        return values;
    }

    /// <summary>
    /// The descriptor and, when the spans are not empty, its gradients: with respect to the position of
    /// neighbour k (component α) at positionGradients[(3k + α)·D + p], and with respect to homogeneous
    /// strain ε (r → (1 + ε) r, Voigt xx, yy, zz, yz, xz, xy; ∂d/∂ε_ab = Σ_k ∂d/∂r_k,a r_k,b) at
    /// strainGradients[v·D + p], D = <see cref="B2Settings.Length"/>. The central atom's gradient is minus
    /// the sum of the neighbours'.
    /// </summary>
    /// <param name="settings">Descriptor settings.</param>
    /// <param name="neighborVectorsA">Neighbour positions relative to the central atom, Å.</param>
    /// <param name="neighborAtomicNumbers">Atomic number of each neighbour.</param>
    /// <param name="values">Output, D long.</param>
    /// <param name="positionGradients">Output, 3·neighbours·D long (1/Å times the descriptor's unit), or empty.</param>
    /// <param name="strainGradients">Output, 6·D long, or empty.</param>
    /// <exception cref="ArgumentException">A neighbour's species is not one of the settings' species, a neighbour sits at the centre, or an output is too short.</exception>
    public static void Compute(B2Settings settings, ReadOnlySpan<Vec3> neighborVectorsA, ReadOnlySpan<int> neighborAtomicNumbers,
        Span<double> values, Span<double> positionGradients, Span<double> strainGradients)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (neighborVectorsA.Length != neighborAtomicNumbers.Length)
        {
            throw new ArgumentException($"{neighborAtomicNumbers.Length} neighbour species were given for {neighborVectorsA.Length} neighbour vectors.", nameof(neighborAtomicNumbers));
        }

        int n = neighborVectorsA.Length, d = settings.Length;
        var x = new double[n];
        var y = new double[n];
        var z = new double[n];
        var s = new int[n];
        for (int k = 0; k < n; k++)
        {
            x[k] = neighborVectorsA[k].X;
            y[k] = neighborVectorsA[k].Y;
            z[k] = neighborVectorsA[k].Z;
            s[k] = settings.SpeciesIndex(neighborAtomicNumbers[k]);
            if (s[k] < 0)
            {
                throw new ArgumentException($"Neighbour {k} is element {neighborAtomicNumbers[k]}, which is not one of the B2 descriptor's species ({string.Join(", ", settings.Species)}).", nameof(neighborAtomicNumbers));
            }
        }

        if (values.Length < d)
        {
            throw new ArgumentException($"The output needs {d} elements, got {values.Length}.", nameof(values));
        }

        if (!positionGradients.IsEmpty && positionGradients.Length < 3 * n * d)
        {
            throw new ArgumentException($"The position-gradient output needs 3 × {n} × {d} elements, got {positionGradients.Length}.", nameof(positionGradients));
        }

        if (!strainGradients.IsEmpty && strainGradients.Length < 6 * d)
        {
            throw new ArgumentException($"The strain-gradient output needs 6 × {d} elements, got {strainGradients.Length}.", nameof(strainGradients));
        }

        var w = new B2Workspace(settings);
        w.Load(x, y, z, s, n);
        w.Values(values);
        if (positionGradients.IsEmpty && strainGradients.IsEmpty)
        {
            return;
        }

        if (!strainGradients.IsEmpty)
        {
            strainGradients[..(6 * d)].Clear();
        }

        var jk = new double[3 * d];
        for (int k = 0; k < n; k++)
        {
            w.NeighborGradient(k, jk);
            if (!positionGradients.IsEmpty)
            {
                jk.CopyTo(positionGradients.Slice(3 * k * d, 3 * d));
            }

            if (!strainGradients.IsEmpty)
            {
                AddVirial(jk, x[k], y[k], z[k], d, strainGradients);
            }
        }
    }

    /// <summary>The descriptor of an environment built with B2 settings (as stored in it), recomputed from its neighbours.</summary>
    /// <param name="environment">An environment built with <see cref="DescriptorSettings.ManyBody"/> set.</param>
    public static double[] Compute(AtomEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var settings = environment.ManyBodySettings ?? throw new ArgumentException("The environment was built without B2 settings (DescriptorSettings.ManyBody).", nameof(environment));
        var w = new B2Workspace(settings);
        w.Load(environment);
        var v = new double[settings.Length];
        w.Values(v);
        return v;
    }

    /// <summary>
    /// The gradient of a scalar function f(d) of an environment's descriptor with respect to each
    /// neighbour position, g · ∂d/∂r_k (3 values per neighbour, in the order of
    /// <see cref="AtomEnvironment.ManyBodyNeighbors"/>), given its gradient g = ∂f/∂d, without forming the
    /// descriptor Jacobian (what force prediction from a fitted model needs).
    /// </summary>
    /// <param name="environment">An environment built with B2 settings.</param>
    /// <param name="descriptorGradient">∂f/∂d, <see cref="B2Settings.Length"/> values.</param>
    /// <param name="neighborGradients">Output, 3 × neighbours.</param>
    public static void ContractGradient(AtomEnvironment environment, ReadOnlySpan<double> descriptorGradient, Span<double> neighborGradients)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var settings = environment.ManyBodySettings ?? throw new ArgumentException("The environment was built without B2 settings (DescriptorSettings.ManyBody).", nameof(environment));
        if (descriptorGradient.Length != settings.Length || neighborGradients.Length < 3 * environment.ManyBodyNeighborCount)
        {
            throw new ArgumentException($"The descriptor gradient needs {settings.Length} values (got {descriptorGradient.Length}) and the output 3 × {environment.ManyBodyNeighborCount} (got {neighborGradients.Length}).");
        }

        var w = new B2Workspace(settings);
        w.Load(environment);
        w.ContractGradient(descriptorGradient, neighborGradients);
    }

    /// <summary>Adds jk (3 × D, ∂d/∂r_k) ⊗ r_k to the 6 × D strain gradient, Voigt xx yy zz yz xz xy.</summary>
    internal static void AddVirial(ReadOnlySpan<double> jk, double x, double y, double z, int d, Span<double> strain)
    {
        var jx = jk[..d];
        var jy = jk.Slice(d, d);
        var jz = jk.Slice(2 * d, d);
        for (int p = 0; p < d; p++)
        {
            strain[p] += jx[p] * x;
            strain[d + p] += jy[p] * y;
            strain[2 * d + p] += jz[p] * z;
            strain[3 * d + p] += jy[p] * z;
            strain[4 * d + p] += jx[p] * z;
            strain[5 * d + p] += jx[p] * y;
        }
    }
}

/// <summary>
/// Scratch space for B2 evaluations of one environment at a time (one per thread): the per-neighbour
/// radial values, harmonics and their derivatives, and the expansion coefficients c_{νlm}.
/// </summary>
internal sealed class B2Workspace
{
    private readonly B2Settings _s;
    private readonly int _n;
    private readonly int _h;
    private readonly int _k;
    private readonly int _l;
    private double[] _g = [];
    private double[] _dg = [];
    private double[] _y = [];
    private double[] _dy = [];
    private double[] _ux = [];
    private double[] _uy = [];
    private double[] _uz = [];
    private int[] _species = [];
    private readonly double[] _c;
    private readonly double[] _dc;
    private readonly double[] _gHat;

    public B2Workspace(B2Settings settings)
    {
        _s = settings;
        _n = settings.RadialCount;
        _h = settings.HarmonicCount;
        _k = settings.ChannelCount;
        _l = settings.AngularMax;
        _c = new double[_k * _h];
        _dc = new double[3 * _n * _h];
        _gHat = new double[_k * _h];
    }

    public B2Settings Settings => _s;

    public int NeighborCount { get; private set; }

    /// <summary>The expansion coefficients c[ν·H + lm].</summary>
    public ReadOnlySpan<double> Coefficients => _c;

    public void Load(AtomEnvironment e) => Load(e.BX, e.BY, e.BZ, e.BSpecies, e.ManyBodyNeighborCount);

    public void Load(ReadOnlySpan<double> x, ReadOnlySpan<double> y, ReadOnlySpan<double> z, ReadOnlySpan<int> species, int count)
    {
        int n = _n, h = _h;
        if (_species.Length < count)
        {
            int cap = Math.Max(count, 2 * _species.Length);
            _g = new double[cap * n];
            _dg = new double[cap * n];
            _y = new double[cap * h];
            _dy = new double[cap * 3 * h];
            _ux = new double[cap];
            _uy = new double[cap];
            _uz = new double[cap];
            _species = new int[cap];
        }

        NeighborCount = count;
        Array.Clear(_c);
        double rc = _s.CutoffA, inv = 1 / rc;
        for (int k = 0; k < count; k++)
        {
            double r = Math.Sqrt(x[k] * x[k] + y[k] * y[k] + z[k] * z[k]);
            if (!(r > 0))
            {
                throw new ArgumentException($"Neighbour {k} of a B2 environment sits at the central atom (distance {r} Å).");
            }

            _species[k] = species[k];
            _ux[k] = x[k] / r;
            _uy[k] = y[k] / r;
            _uz[k] = z[k] / r;
            var g = _g.AsSpan(k * n, n);
            var dg = _dg.AsSpan(k * n, n);
            if (r >= rc)
            {
                g.Clear();
                dg.Clear();
            }
            else
            {
                // Chebyshev T_n(x), x = r/r_c (FLARE++'s "chebyshev" on [0, r_c]), times f_c(r).
                double f = Cutoffs.Evaluate(_s.CutoffFunction, rc, r, out double df);
                double t = r * inv, tPrev = 1, dPrev = 0, tCur = t, dCur = inv;
                for (int i = 0; i < n; i++)
                {
                    double tv, dv;
                    if (i == 0)
                    {
                        tv = 1;
                        dv = 0;
                    }
                    else if (i == 1)
                    {
                        tv = t;
                        dv = inv;
                    }
                    else
                    {
                        tv = 2 * t * tCur - tPrev;
                        dv = 2 * inv * tCur + 2 * t * dCur - dPrev;
                        tPrev = tCur;
                        dPrev = dCur;
                        tCur = tv;
                        dCur = dv;
                    }

                    g[i] = tv * f;
                    dg[i] = dv * f + tv * df;
                }
            }

            RealSphericalHarmonics.Evaluate(_l, x[k], y[k], z[k], _y.AsSpan(k * h, h), _dy.AsSpan(k * 3 * h, 3 * h));
            var yk = _y.AsSpan(k * h, h);
            int baseC = species[k] * n * h;
            for (int i = 0; i < n; i++)
            {
                double gi = g[i];
                var ci = _c.AsSpan(baseC + i * h, h);
                for (int lm = 0; lm < h; lm++)
                {
                    ci[lm] += gi * yk[lm];
                }
            }
        }
    }

    /// <summary>Writes the descriptor (D values) of the loaded environment.</summary>
    public void Values(Span<double> d)
    {
        int h = _h, k = _k, lmax = _l;
        var c = _c;
        int p = 0;
        for (int a = 0; a < k; a++)
        {
            int ca = a * h;
            for (int b = a; b < k; b++)
            {
                int cb = b * h;
                for (int l = 0; l <= lmax; l++)
                {
                    double sum = 0;
                    int start = l * l, end = start + 2 * l + 1;
                    for (int lm = start; lm < end; lm++)
                    {
                        sum += c[ca + lm] * c[cb + lm];
                    }

                    d[p++] = sum;
                }
            }
        }
    }

    /// <summary>
    /// Ĝ_{νlm} = Σ_ν' g(ν, ν', l) c_{ν'lm} of the loaded environment for a covector g over the descriptor
    /// (g symmetrised over the unordered channel pair, its diagonal doubled): the gradient of g · d with
    /// respect to the coefficients c, K × (l_max + 1)² values, layout [ν·H + lm].
    /// </summary>
    public void GradientHat(ReadOnlySpan<double> g, Span<double> gHat)
    {
        int h = _h, kk = _k, lmax = _l;
        var gh = gHat[..(kk * h)];
        gh.Clear();
        var c = _c;
        int p = 0;
        for (int a = 0; a < kk; a++)
        {
            for (int b = a; b < kk; b++)
            {
                for (int l = 0; l <= lmax; l++)
                {
                    double gp = g[p++];
                    if (gp == 0)
                    {
                        continue;
                    }

                    int start = l * l, end = start + 2 * l + 1;
                    if (a == b)
                    {
                        for (int lm = start; lm < end; lm++)
                        {
                            gh[a * h + lm] += 2 * gp * c[a * h + lm];
                        }
                    }
                    else
                    {
                        for (int lm = start; lm < end; lm++)
                        {
                            gh[a * h + lm] += gp * c[b * h + lm];
                            gh[b * h + lm] += gp * c[a * h + lm];
                        }
                    }
                }
            }
        }
    }

    /// <summary>Values per neighbour written by <see cref="NeighborBasis"/>: 2N + 4(l_max + 1)² + 3.</summary>
    public int NeighborBasisLength => 2 * _n + 4 * _h + 3;

    /// <summary>
    /// Writes what ∂c/∂r_k of neighbour <paramref name="neighbor"/> is made of, ∂c_{s n lm}/∂r_k,α = g'_n û_α Y_lm + g_n ∂Y_lm/∂r_α:
    /// [g_n (N), g'_n (N), Y_lm (H), ∂Y_lm/∂x (H), ∂Y_lm/∂y (H), ∂Y_lm/∂z (H), û (3)], <see cref="NeighborBasisLength"/> values.
    /// </summary>
    public void NeighborBasis(int neighbor, Span<double> packed)
    {
        int n = _n, h = _h;
        _g.AsSpan(neighbor * n, n).CopyTo(packed);
        _dg.AsSpan(neighbor * n, n).CopyTo(packed[n..]);
        _y.AsSpan(neighbor * h, h).CopyTo(packed[(2 * n)..]);
        var dy = _dy.AsSpan(neighbor * 3 * h, 3 * h);
        int o = 2 * n + h;
        for (int lm = 0; lm < h; lm++)
        {
            packed[o + lm] = dy[3 * lm];
            packed[o + h + lm] = dy[3 * lm + 1];
            packed[o + 2 * h + lm] = dy[3 * lm + 2];
        }

        o += 3 * h;
        packed[o] = _ux[neighbor];
        packed[o + 1] = _uy[neighbor];
        packed[o + 2] = _uz[neighbor];
    }

    /// <summary>
    /// Writes ∂c_{s n lm}/∂r_k,α of neighbour <paramref name="neighbor"/> (s its species channel; the
    /// coefficients of the other species do not depend on it): 3 × N × (l_max + 1)² values, layout
    /// [(α·N + n)·H + lm].
    /// </summary>
    public void CoefficientGradient(int neighbor, Span<double> dc)
    {
        int n = _n, h = _h;
        var g = _g.AsSpan(neighbor * n, n);
        var dg = _dg.AsSpan(neighbor * n, n);
        var y = _y.AsSpan(neighbor * h, h);
        var dy = _dy.AsSpan(neighbor * 3 * h, 3 * h);
        double ux = _ux[neighbor], uy = _uy[neighbor], uz = _uz[neighbor];
        for (int i = 0; i < n; i++)
        {
            double gi = g[i], dgi = dg[i];
            for (int lm = 0; lm < h; lm++)
            {
                double yv = y[lm];
                dc[(0 * n + i) * h + lm] = dgi * ux * yv + gi * dy[3 * lm];
                dc[(1 * n + i) * h + lm] = dgi * uy * yv + gi * dy[3 * lm + 1];
                dc[(2 * n + i) * h + lm] = dgi * uz * yv + gi * dy[3 * lm + 2];
            }
        }
    }

    /// <summary>
    /// For a covector g over the descriptor, writes g · ∂d/∂r_k (3 values per neighbour k) for every
    /// neighbour of the loaded environment without forming ∂d/∂r_k: with Ĝ_{νlm} = Σ_ν' g(ν, ν', l) c_{ν'lm}
    /// (g symmetrised over the unordered channel pair, its diagonal doubled), g · ∂d/∂r_k =
    /// Σ_{n,lm} Ĝ_{s_k N + n, lm} ∂c_{s_k n lm}/∂r_k. Cost O(K²·(l_max + 1)² + neighbours·N·(l_max + 1)²).
    /// </summary>
    public void ContractGradient(ReadOnlySpan<double> g, Span<double> neighborGradients)
    {
        int n = _n, h = _h;
        var gh = _gHat;
        GradientHat(g, gh);
        for (int k = 0; k < NeighborCount; k++)
        {
            var gk = _g.AsSpan(k * n, n);
            var dgk = _dg.AsSpan(k * n, n);
            var y = _y.AsSpan(k * h, h);
            var dy = _dy.AsSpan(k * 3 * h, 3 * h);
            int baseG = _species[k] * n * h;
            double sr = 0, fx = 0, fy = 0, fz = 0;
            for (int i = 0; i < n; i++)
            {
                var row = gh.AsSpan(baseG + i * h, h);
                double a0 = 0, bx = 0, by = 0, bz = 0;
                for (int lm = 0; lm < h; lm++)
                {
                    double v = row[lm];
                    a0 += v * y[lm];
                    bx += v * dy[3 * lm];
                    by += v * dy[3 * lm + 1];
                    bz += v * dy[3 * lm + 2];
                }

                sr += dgk[i] * a0;
                fx += gk[i] * bx;
                fy += gk[i] * by;
                fz += gk[i] * bz;
            }

            neighborGradients[3 * k] = sr * _ux[k] + fx;
            neighborGradients[3 * k + 1] = sr * _uy[k] + fy;
            neighborGradients[3 * k + 2] = sr * _uz[k] + fz;
        }
    }

    /// <summary>Writes ∂d/∂r_k (3 × D, layout [α·D + p]) for neighbour <paramref name="neighbor"/> of the loaded environment.</summary>
    public void NeighborGradient(int neighbor, Span<double> jk)
    {
        int n = _n, h = _h, kk = _k, lmax = _l, d = _s.Length;
        jk[..(3 * d)].Clear();
        // dc[(α·N + i)·H + lm] = ∂c_{s i lm}/∂r_k,α = g'_i û_α Y_lm + g_i ∂Y_lm/∂r_α.
        var dc = _dc;
        CoefficientGradient(neighbor, dc);
        int lo = _species[neighbor] * n, hi = lo + n;
        var c = _c;
        var jx = jk[..d];
        var jy = jk.Slice(d, d);
        var jz = jk.Slice(2 * d, d);
        int p = 0;
        for (int a = 0; a < kk; a++)
        {
            bool aIn = a >= lo && a < hi;
            for (int b = a; b < kk; b++)
            {
                bool bIn = b >= lo && b < hi;
                if (!aIn && !bIn)
                {
                    p += lmax + 1;
                    continue;
                }

                for (int l = 0; l <= lmax; l++)
                {
                    double sx = 0, sy = 0, sz = 0;
                    int start = l * l, end = start + 2 * l + 1;
                    if (bIn)
                    {
                        int ca = a * h, db = (b - lo) * h;
                        for (int lm = start; lm < end; lm++)
                        {
                            double cv = c[ca + lm];
                            sx += cv * dc[db + lm];
                            sy += cv * dc[n * h + db + lm];
                            sz += cv * dc[2 * n * h + db + lm];
                        }
                    }

                    if (aIn)
                    {
                        int cb = b * h, da = (a - lo) * h;
                        for (int lm = start; lm < end; lm++)
                        {
                            double cv = c[cb + lm];
                            sx += cv * dc[da + lm];
                            sy += cv * dc[n * h + da + lm];
                            sz += cv * dc[2 * n * h + da + lm];
                        }
                    }

                    jx[p] = sx;
                    jy[p] = sy;
                    jz[p] = sz;
                    p++;
                }
            }
        }
    }
}
