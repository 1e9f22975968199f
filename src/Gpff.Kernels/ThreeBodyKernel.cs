using System.Text.Json;
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
public sealed class ThreeBodyKernel : LocalKernel
{
    /// <summary>Vertex maps of the six permutations: side-1 vertex (c, j, k) → side-2 vertex.</summary>
    private static readonly int[][] VertexMaps = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];

    /// <summary>Edge maps P[p] (side-1 edge p → side-2 edge) and their inverses, edges 0 = (c,j), 1 = (c,k), 2 = (j,k).</summary>
    private static readonly int[][] EdgeMaps;
    private static readonly int[][] InverseEdgeMaps;

    private readonly GroupedHyperparameters _h;

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
    {
        if (!(cutoffA > 0) || !double.IsFinite(cutoffA))
        {
            throw new ArgumentOutOfRangeException(nameof(cutoffA), cutoffA, $"The 3-body cutoff must be a positive finite number of Å, got {cutoffA}.");
        }

        Descriptor = new DescriptorSettings(0, cutoffA, cutoffFunction);
        Descriptor.Validate();
        _h = new GroupedHyperparameters(3, sigmaEv, lengthA, groups);
    }

    /// <inheritdoc />
    public override string Name => "3-body squared exponential";

    /// <summary>Triplet cutoff r_c3 in Å.</summary>
    public double TripletCutoffA => Descriptor.TripletCutoffA;

    /// <summary>The cutoff function.</summary>
    public CutoffFunction CutoffFunction => Descriptor.CutoffFunction;

    /// <summary>Default signal amplitude σ₃ in eV.</summary>
    public double SigmaEv => _h.Sigma[0];

    /// <summary>Default length scale ℓ₃ in Å.</summary>
    public double LengthA => _h.Length[0];

    /// <summary>Species-triplet groups with their own hyperparameters.</summary>
    public IReadOnlyList<SpeciesGroup> Groups => _h.Groups;

    /// <inheritdoc />
    public override IReadOnlyList<string> HyperparameterNames => _h.Names;

    /// <inheritdoc />
    public override IReadOnlyList<double> Hyperparameters => _h.Values();

    /// <inheritdoc />
    public override DescriptorSettings Descriptor { get; }

    /// <inheritdoc />
    public override LocalKernel WithHyperparameters(IReadOnlyList<double> values)
    {
        var (s, l, g) = _h.With(values);
        return new ThreeBodyKernel(TripletCutoffA, s, l, CutoffFunction, g);
    }

    /// <inheritdoc />
    public override void CheckEnvironments(StructureEnvironments environments, string what = "structure")
    {
        ArgumentNullException.ThrowIfNull(environments);
        var t = environments.Settings;
        if (t.TripletCutoffA != TripletCutoffA || t.CutoffFunction != CutoffFunction)
        {
            throw new ArgumentException(
                $"The environments of the {what} were built with r_c3 = {t.TripletCutoffA} Å and a {Cutoffs.Name(t.CutoffFunction)} cutoff, but the 3-body kernel needs r_c3 = {TripletCutoffA} Å and a {Cutoffs.Name(CutoffFunction)} cutoff. Build them with kernel.Describe(structure).");
        }
    }

    internal override void WriteJson(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("type", "three-body");
        w.WriteNumber("cutoffA", TripletCutoffA);
        w.WriteString("cutoffFunction", Cutoffs.Name(CutoffFunction));
        w.WriteNumber("sigmaEv", SigmaEv);
        w.WriteNumber("lengthA", LengthA);
        KernelSerializer.WriteGroups(w, Groups);
        w.WriteEndObject();
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
        if (x.TripletCount == 0 || y.TripletCount == 0)
        {
            return;
        }

        bool wantGrad = !hyperparameterGradients.IsEmpty;
        const double w = 1.0 / 3.0; // triplet energy split among its three atoms
        Span<double> gx = stackalloc double[30];
        Span<double> gy = stackalloc double[30];
        Span<double> yv = stackalloc double[10];
        Span<double> dy = stackalloc double[10];
        Span<double> z = stackalloc double[10];
        Span<double> r0 = stackalloc double[10];
        Span<double> rp = stackalloc double[30];
        Span<double> dr0 = stackalloc double[10];
        Span<double> drp = stackalloc double[30];
        Span<double> dx = stackalloc double[3];
        Span<double> dq = stackalloc double[3];
        Span<double> ax = stackalloc double[3];
        Span<double> bq = stackalloc double[3];
        Span<double> up = stackalloc double[3];
        Span<double> vq = stackalloc double[3];
        int cx = x.CentralSpecies, cy = y.CentralSpecies;
        for (int t = 0; t < x.TripletCount; t++)
        {
            int s1 = x.TSpecies1[t], s2 = x.TSpecies2[t];
            int g = _h.GroupOfTriplet(cx, s1, s2);
            double sigma = _h.Sigma[g], ell = _h.Length[g];
            double sig2 = sigma * sigma, lam = 1 / (ell * ell);
            dx[0] = x.TR1[t];
            dx[1] = x.TR2[t];
            dx[2] = x.TR3[t];
            double a = x.TF[t];
            ax[0] = x.TF1[t];
            ax[1] = x.TF2[t];
            ax[2] = x.TF3[t];
            Directions(x, t, w, gx);
            r0.Clear();
            rp.Clear();
            dr0.Clear();
            drp.Clear();
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
                for (int m = start; m < end; m++)
                {
                    double b = y.TF[m];
                    bq[0] = y.TF1[m];
                    bq[1] = y.TF2[m];
                    bq[2] = y.TF3[m];
                    Directions(y, m, w, gy);

                    // Δ'_q = d_{P⁻¹q} − d'_q, indexed by side-2 edge.
                    dq[0] = dx[pinv[0]] - y.TR1[m];
                    dq[1] = dx[pinv[1]] - y.TR2[m];
                    dq[2] = dx[pinv[2]] - y.TR3[m];
                    double s = dq[0] * dq[0] + dq[1] * dq[1] + dq[2] * dq[2];
                    double e = Math.Exp(-0.5 * lam * s);
                    for (int i = 0; i < 3; i++)
                    {
                        up[i] = ax[i] - lam * dq[pm[i]] * a;
                        vq[i] = bq[i] + lam * dq[i] * b;
                    }

                    yv[0] = w * b;
                    for (int k = 1; k < 10; k++)
                    {
                        yv[k] = vq[0] * gy[k] + vq[1] * gy[10 + k] + vq[2] * gy[20 + k];
                    }

                    double ea = e * a, eab = lam * e * a * b;
                    for (int k = 0; k < 10; k++)
                    {
                        r0[k] += ea * yv[k];
                    }

                    for (int i = 0; i < 3; i++)
                    {
                        double eu = e * up[i];
                        int off = 10 * pm[i];
                        for (int k = 0; k < 10; k++)
                        {
                            rp[10 * i + k] += eu * yv[k] + eab * gy[off + k];
                        }
                    }

                    if (wantGrad)
                    {
                        double c1 = s * lam / ell, c2 = 2 * lam / ell;
                        dy[0] = 0;
                        for (int k = 1; k < 10; k++)
                        {
                            z[k] = dq[0] * gy[k] + dq[1] * gy[10 + k] + dq[2] * gy[20 + k];
                            dy[k] = -c2 * b * z[k];
                        }

                        for (int k = 0; k < 10; k++)
                        {
                            dr0[k] += c1 * ea * yv[k] + ea * dy[k];
                        }

                        double c2eab = c2 * e * a * b;
                        for (int i = 0; i < 3; i++)
                        {
                            double eu = e * up[i];
                            double ec2da = e * c2 * dq[pm[i]] * a;
                            int off = 10 * pm[i];
                            for (int k = 0; k < 10; k++)
                            {
                                drp[10 * i + k] += c1 * (eu * yv[k] + eab * gy[off + k]) + ec2da * yv[k] + eu * dy[k] - c2eab * gy[off + k];
                            }
                        }
                    }
                }
            }

            if (!any)
            {
                continue;
            }

            Update(block, sig2, w, r0, gx, rp);
            if (wantGrad)
            {
                var gs = hyperparameterGradients.Slice(2 * g * EnvironmentBlockSize, EnvironmentBlockSize);
                var gl = hyperparameterGradients.Slice((2 * g + 1) * EnvironmentBlockSize, EnvironmentBlockSize);
                Update(gs, 2 * sigma, w, r0, gx, rp);
                Update(gl, sig2, w, dr0, gx, drp);
            }
        }
    }

    private static void Update(Span<double> m, double s, double w, ReadOnlySpan<double> r0, ReadOnlySpan<double> gx, ReadOnlySpan<double> rp)
    {
        KernelMath.RankUpdate(m, s, w, r0, gx[..10], rp[..10]);
        KernelMath.RankUpdate(m, s, 0, r0, gx.Slice(10, 10), rp.Slice(10, 10));
        KernelMath.RankUpdate(m, s, 0, r0, gx.Slice(20, 10), rp.Slice(20, 10));
    }

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

    private void Force<TV>(AtomEnvironment x, AtomEnvironment y, Span<double> block)
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
            int g = _h.GroupOfTriplet(cx, s1, s2);
            double sigma = _h.Sigma[g], ell = _h.Length[g];
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
