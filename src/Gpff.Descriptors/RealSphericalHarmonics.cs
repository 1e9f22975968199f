namespace Gpff.Descriptors;

/// <summary>
/// Real orthonormal spherical harmonics Y_lm(r̂) (∫ Y_lm Y_l'm' dΩ = δ_ll' δ_mm') and their gradients with
/// respect to the vector r, for l = 0 … l_max, in the order l², …: index l² + l + m, m = −l … l. The
/// convention is the usual real table without the Condon–Shortley phase (Y_1,−1 ∝ y, Y_10 ∝ z,
/// Y_11 ∝ x; m &gt; 0 ∝ cos mφ, m &lt; 0 ∝ sin |m|φ), the one FLARE++'s y_grad.cpp spells out to l = 10.
/// Evaluated as N_lm Q_l^|m|(ẑ) Re/Im (x̂ + iŷ)^|m| with the associated-Legendre recurrence, so any
/// l_max up to <see cref="B2Settings.MaxAngular"/> works.
/// </summary>
public static class RealSphericalHarmonics
{
    private static readonly double[] Norms = BuildNorms(B2Settings.MaxAngular);

    /// <summary>Number of harmonics up to <paramref name="angularMax"/>: (l_max + 1)².</summary>
    /// <param name="angularMax">l_max.</param>
    public static int Count(int angularMax) => (angularMax + 1) * (angularMax + 1);

    /// <summary>
    /// Evaluates every Y_lm(r̂) for l ≤ <paramref name="angularMax"/> and, when <paramref name="gradients"/>
    /// is not empty, ∂Y_lm/∂r (1/Å) at index 3·(l² + l + m) + α (α = x, y, z).
    /// </summary>
    /// <param name="angularMax">l_max (0 … <see cref="B2Settings.MaxAngular"/>).</param>
    /// <param name="x">x component of r (Å); r must not be zero.</param>
    /// <param name="y">y component of r.</param>
    /// <param name="z">z component of r.</param>
    /// <param name="values">Output, (l_max + 1)² long.</param>
    /// <param name="gradients">Output, 3·(l_max + 1)² long, or empty.</param>
    public static void Evaluate(int angularMax, double x, double y, double z, Span<double> values, Span<double> gradients)
    {
        if (angularMax < 0 || angularMax > B2Settings.MaxAngular)
        {
            throw new ArgumentOutOfRangeException(nameof(angularMax), angularMax, $"l_max must be 0–{B2Settings.MaxAngular}, got {angularMax}.");
        }

        int count = Count(angularMax);
        if (values.Length < count)
        {
            throw new ArgumentException($"The output needs {count} elements, got {values.Length}.", nameof(values));
        }

        bool wantGrad = !gradients.IsEmpty;
        if (wantGrad && gradients.Length < 3 * count)
        {
            throw new ArgumentException($"The gradient output needs {3 * count} elements, got {gradients.Length}.", nameof(gradients));
        }

        double r = Math.Sqrt(x * x + y * y + z * z);
        if (!(r > 0) || !double.IsFinite(r))
        {
            throw new ArgumentException($"Spherical harmonics need a non-zero finite vector, got ({x}, {y}, {z}).");
        }

        double ux = x / r, uy = y / r, uz = z / r, inv = 1 / r;
        int L = angularMax;
        // C_m + i S_m = (ux + i uy)^m and the associated Legendre factor Q_l^m(uz) (P_l^m = sin^m θ · Q_l^m).
        Span<double> c = stackalloc double[L + 1];
        Span<double> s = stackalloc double[L + 1];
        c[0] = 1;
        s[0] = 0;
        for (int m = 1; m <= L; m++)
        {
            c[m] = ux * c[m - 1] - uy * s[m - 1];
            s[m] = ux * s[m - 1] + uy * c[m - 1];
        }

        Span<double> q = stackalloc double[L + 1];
        Span<double> dq = stackalloc double[L + 1];
        double qmm = 1;   // (2m − 1)!!
        for (int m = 0; m <= L; m++)
        {
            if (m > 0)
            {
                qmm *= 2 * m - 1;
            }

            q[m] = qmm;
            dq[m] = 0;
            if (m + 1 <= L)
            {
                q[m + 1] = (2 * m + 1) * uz * qmm;
                dq[m + 1] = (2 * m + 1) * qmm;
            }

            for (int l = m + 2; l <= L; l++)
            {
                q[l] = ((2 * l - 1) * uz * q[l - 1] - (l + m - 1) * q[l - 2]) / (l - m);
                dq[l] = ((2 * l - 1) * (q[l - 1] + uz * dq[l - 1]) - (l + m - 1) * dq[l - 2]) / (l - m);
            }

            for (int l = m; l <= L; l++)
            {
                double norm = Norms[l * (B2Settings.MaxAngular + 1) + m];
                int center = l * l + l;
                if (m == 0)
                {
                    values[center] = norm * q[l];
                    if (wantGrad)
                    {
                        Project(gradients, center, 0, 0, norm * dq[l], ux, uy, uz, inv);
                    }

                    continue;
                }

                values[center + m] = norm * q[l] * c[m];
                values[center - m] = norm * q[l] * s[m];
                if (wantGrad)
                {
                    // ∂C_m/∂ux = m C_{m−1}, ∂C_m/∂uy = −m S_{m−1}; ∂S_m/∂ux = m S_{m−1}, ∂S_m/∂uy = m C_{m−1}.
                    double nq = norm * q[l] * m;
                    Project(gradients, center + m, nq * c[m - 1], -nq * s[m - 1], norm * dq[l] * c[m], ux, uy, uz, inv);
                    Project(gradients, center - m, nq * s[m - 1], nq * c[m - 1], norm * dq[l] * s[m], ux, uy, uz, inv);
                }
            }
        }
    }

    /// <summary>∇_r F(r/|r|) = (I − ûûᵀ)∇_u F / |r|.</summary>
    private static void Project(Span<double> g, int index, double gx, double gy, double gz, double ux, double uy, double uz, double inv)
    {
        double d = gx * ux + gy * uy + gz * uz;
        g[3 * index] = (gx - d * ux) * inv;
        g[3 * index + 1] = (gy - d * uy) * inv;
        g[3 * index + 2] = (gz - d * uz) * inv;
    }

    private static double[] BuildNorms(int lmax)
    {
        var n = new double[(lmax + 1) * (lmax + 1)];
        for (int l = 0; l <= lmax; l++)
        {
            for (int m = 0; m <= l; m++)
            {
                // (l − m)!/(l + m)!
                double ratio = 1;
                for (int k = l - m + 1; k <= l + m; k++)
                {
                    ratio /= k;
                }

                double v = Math.Sqrt((2 * l + 1) / (4 * Math.PI) * ratio);
                n[l * (lmax + 1) + m] = m == 0 ? v : Math.Sqrt(2) * v;
            }
        }

        return n;
    }
}
