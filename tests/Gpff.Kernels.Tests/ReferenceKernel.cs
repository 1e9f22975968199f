using Gpff.Descriptors;
using Gpff.Geometry;

namespace Gpff.Kernels.Tests;

/// <summary>
/// A slow, obviously-correct 2+3-body reference written straight from the formulas: own brute-force
/// image enumeration, local energies as sums over every centre, forces as derivatives with respect
/// to the real atom (moving all its images), stress as the strain derivative over the volume, the
/// 3-body permutation sum over all six bijections of the two triangles' atoms. Plain doubles.
/// Labels: [E, F_0x..F_(N-1)z, S (6 Voigt), ε_0..ε_(N-1)].
/// </summary>
internal sealed class ReferenceKernel(double rc2, double rc3, double sig2, double ell2, double sig3, double ell3, CutoffFunction fn)
{
    private sealed class Term
    {
        public int[] Species = [];          // vertex species: [centre, j] or [centre, j, k]
        public double[] D = [];             // distances: 1 (pair) or 3 (r_cj, r_ck, r_jk)
        public double[][] Grad = [];        // per distance: derivative wrt each label (dense, length L)
        public int Centre;
    }

    /// <summary>
    /// The cutoff function and its derivative, written out here rather than taken from the library:
    /// quadratic (r − r_c)², derivative 2(r − r_c); cosine ½[cos(π r/r_c) + 1], derivative
    /// −(π/2r_c) sin(π r/r_c); both 0 from r_c on.
    /// </summary>
    private static double Fc(CutoffFunction f, double rc, double r, out double d)
    {
        if (r >= rc)
        {
            d = 0;
            return 0;
        }

        switch (f)
        {
            case CutoffFunction.Quadratic:
                d = 2 * (r - rc);
                return (r - rc) * (r - rc);
            case CutoffFunction.Cosine:
                d = -Math.PI / (2 * rc) * Math.Sin(Math.PI * r / rc);
                return 0.5 * (Math.Cos(Math.PI * r / rc) + 1);
            default:
                throw new ArgumentOutOfRangeException(nameof(f), f, "The reference kernel knows the quadratic and cosine cutoffs.");
        }
    }

    public static int LabelCount(int n) => 1 + 3 * n + 6 + n;

    private List<Term>[] Terms(Structure s, bool threeBody)
    {
        int n = s.AtomCount;
        int nl = LabelCount(n);
        double rc = threeBody ? rc3 : rc2;
        var cell = s.Cell;
        double vol = s.VolumeA3;
        var w = Structure.PerpendicularWidths(cell);
        int na = (int)Math.Ceiling(rc / w.X) + 1, nb = (int)Math.Ceiling(rc / w.Y) + 1, nc = (int)Math.Ceiling(rc / w.Z) + 1;
        var result = new List<Term>[n];
        for (int c = 0; c < n; c++)
        {
            result[c] = [];
            var neigh = new List<(int Atom, Vec3 X)>();
            for (int j = 0; j < n; j++)
            {
                for (int a = -na; a <= na; a++)
                {
                    for (int b = -nb; b <= nb; b++)
                    {
                        for (int k = -nc; k <= nc; k++)
                        {
                            if (j == c && a == 0 && b == 0 && k == 0)
                            {
                                continue;
                            }

                            var x = s.Positions[j] + new Vec3(a, b, k) * cell - s.Positions[c];
                            if (x.Length < rc)
                            {
                                neigh.Add((j, x));
                            }
                        }
                    }
                }
            }

            // Derivative of |x| (x from atom p to atom q) wrt every label.
            double[] DistGrad(int p, int q, Vec3 x)
            {
                var g = new double[nl];
                double r = x.Length;
                var u = x / r;
                for (int al = 0; al < 3; al++)
                {
                    // F = −∂/∂r_atom; d|x|/dr_q = u, d|x|/dr_p = −u.
                    g[1 + 3 * q + al] -= u[al];
                    g[1 + 3 * p + al] += u[al];
                }

                for (int v = 0; v < 6; v++)
                {
                    var (a, b) = Voigt.IndexPairs[v];
                    g[1 + 3 * n + v] = x[a] * x[b] / r / vol;
                }

                return g;
            }

            if (!threeBody)
            {
                foreach (var (j, x) in neigh)
                {
                    result[c].Add(new Term { Centre = c, Species = [s.AtomicNumbers[c], s.AtomicNumbers[j]], D = [x.Length], Grad = [DistGrad(c, j, x)] });
                }
            }
            else
            {
                for (int p = 0; p < neigh.Count; p++)
                {
                    for (int q = p + 1; q < neigh.Count; q++)
                    {
                        var x3 = neigh[q].X - neigh[p].X;
                        if (x3.Length >= rc3)
                        {
                            continue;
                        }

                        result[c].Add(new Term
                        {
                            Centre = c,
                            Species = [s.AtomicNumbers[c], s.AtomicNumbers[neigh[p].Atom], s.AtomicNumbers[neigh[q].Atom]],
                            D = [neigh[p].X.Length, neigh[q].X.Length, x3.Length],
                            Grad = [DistGrad(c, neigh[p].Atom, neigh[p].X), DistGrad(c, neigh[q].Atom, neigh[q].X), DistGrad(neigh[p].Atom, neigh[q].Atom, x3)],
                        });
                    }
                }
            }
        }

        return result;
    }

    /// <summary>The full covariance matrix between all labels of a and all labels of b.</summary>
    public double[,] Matrix(Structure sa, Structure sb)
    {
        int na = sa.AtomCount, nb = sb.AtomCount;
        var k = new double[LabelCount(na), LabelCount(nb)];
        Add(k, sa, sb, false, 0.5, sig2, ell2, rc2);
        Add(k, sa, sb, true, 1.0 / 3.0, sig3, ell3, rc3);
        return k;
    }

    private void Add(double[,] k, Structure sa, Structure sb, bool three, double w, double sig, double ell, double rc)
    {
        var ta = Terms(sa, three);
        var tb = Terms(sb, three);
        int la = k.GetLength(0), lb = k.GetLength(1);
        int na = sa.AtomCount, nb = sb.AtomCount;
        int nd = three ? 3 : 1;

        // Edges of a triangle with vertices (0 = centre, 1 = j, 2 = k): 0 = (0,1), 1 = (0,2), 2 = (1,2).
        int Edge(int u, int v) => (Math.Min(u, v), Math.Max(u, v)) switch { (0, 1) => 0, (0, 2) => 1, _ => 2 };
        int[][] perms = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];

        for (int c = 0; c < na; c++)
        {
            foreach (var t in ta[c])
            {
                for (int cp = 0; cp < nb; cp++)
                {
                    foreach (var tp in tb[cp])
                    {
                        if (!three)
                        {
                            // A bond matches when its unordered species pair matches; one distance to compare.
                            bool same = t.Species[0] == tp.Species[0] && t.Species[1] == tp.Species[1];
                            bool swapped = t.Species[0] == tp.Species[1] && t.Species[1] == tp.Species[0];
                            if (same || swapped)
                            {
                                Accumulate(k, t, tp, [0], 1, w, sig, ell, rc, la, lb, na, nb, c, cp);
                            }

                            continue;
                        }

                        foreach (var perm in perms)
                        {
                            // Species of every vertex must match its image.
                            bool ok = true;
                            for (int v = 0; v < perm.Length; v++)
                            {
                                ok &= t.Species[v] == tp.Species[perm[v]];
                            }

                            if (!ok)
                            {
                                continue;
                            }

                            // map[p] = the distance of tp compared with distance p of t.
                            var map = new int[nd];
                            for (int p = 0; p < nd; p++)
                            {
                                map[p] = Edge(perm[p == 2 ? 1 : 0], perm[p == 0 ? 1 : 2]);
                            }

                            Accumulate(k, t, tp, map, nd, w, sig, ell, rc, la, lb, na, nb, c, cp);
                        }
                    }
                }
            }
        }
    }

    private void Accumulate(double[,] k, Term t, Term tp, int[] map, int nd, double w, double sig, double ell, double rc,
        int la, int lb, int na, int nb, int c, int cp)
    {
        double l2 = ell * ell;
        double s = 0;
        var delta = new double[nd];
        for (int p = 0; p < nd; p++)
        {
            delta[p] = t.D[p] - tp.D[map[p]];
            s += delta[p] * delta[p];
        }

        double e = sig * sig * Math.Exp(-s / (2 * l2));

        // Cutoff products and their partial derivatives.
        double F = 1, G = 1;
        var dF = new double[nd];
        var dG = new double[nd];
        var fv = new double[nd];
        var fd = new double[nd];
        var gv = new double[nd];
        var gd = new double[nd];
        for (int p = 0; p < nd; p++)
        {
            fv[p] = Fc(fn, rc, t.D[p], out fd[p]);
            gv[p] = Fc(fn, rc, tp.D[p], out gd[p]);
            F *= fv[p];
            G *= gv[p];
        }

        for (int p = 0; p < nd; p++)
        {
            dF[p] = fd[p];
            dG[p] = gd[p];
            for (int q = 0; q < nd; q++)
            {
                if (q != p)
                {
                    dF[p] *= fv[q];
                    dG[p] *= gv[q];
                }
            }
        }

        // de/dd_p, de/dd'_q, d²e/dd_p dd'_q.
        var ep = new double[nd];
        var eq = new double[nd];
        var epq = new double[nd, nd];
        var inv = new int[nd];
        for (int p = 0; p < nd; p++)
        {
            inv[map[p]] = p;
        }

        for (int p = 0; p < nd; p++)
        {
            ep[p] = -e * delta[p] / l2;
            eq[p] = e * delta[inv[p]] / l2;
        }

        for (int p = 0; p < nd; p++)
        {
            for (int q = 0; q < nd; q++)
            {
                epq[p, q] = -e * delta[p] / l2 * delta[inv[q]] / l2 + (map[p] == q ? e / l2 : 0);
            }
        }

        double T = e * F * G;
        var tpd = new double[nd];
        var tqd = new double[nd];
        var tpq = new double[nd, nd];
        for (int p = 0; p < nd; p++)
        {
            tpd[p] = ep[p] * F * G + e * dF[p] * G;
            tqd[p] = eq[p] * F * G + e * F * dG[p];
            for (int q = 0; q < nd; q++)
            {
                tpq[p, q] = epq[p, q] * F * G + ep[p] * F * dG[q] + eq[q] * dF[p] * G + e * dF[p] * dG[q];
            }
        }

        // Label derivative vectors, local-energy weight w on each side.
        int leA = 1 + 3 * na + 6, leB = 1 + 3 * nb + 6;
        var left = new double[la];
        left[0] = 1;
        left[leA + c] = 1;
        var right = new double[lb];
        right[0] = 1;
        right[leB + cp] = 1;
        for (int i = 0; i < la; i++)
        {
            for (int j = 0; j < lb; j++)
            {
                double v = left[i] * right[j] * T;
                for (int q = 0; q < nd; q++)
                {
                    v += left[i] * tqd[q] * tp.Grad[q][j];
                }

                for (int p = 0; p < nd; p++)
                {
                    v += t.Grad[p][i] * tpd[p] * right[j];
                    for (int q = 0; q < nd; q++)
                    {
                        v += t.Grad[p][i] * tpq[p, q] * tp.Grad[q][j];
                    }
                }

                k[i, j] += w * w * v;
            }
        }
    }
}
