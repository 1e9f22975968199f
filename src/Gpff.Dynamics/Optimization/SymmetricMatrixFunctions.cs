using Gpff.Geometry;

namespace Gpff.Dynamics.Optimization;

/// <summary>
/// The exponential of a symmetric 3×3 matrix and the adjoint of its Fréchet derivative, through the
/// eigen-decomposition U = Q·diag(λ)·Qᵀ (cyclic Jacobi rotations). A diagonal matrix takes no rotation,
/// so exp of a multiple of the identity is exactly a multiple of the identity.
/// </summary>
internal static class SymmetricMatrixFunctions
{
    /// <summary>Eigenvalues and eigenvectors (the columns of Q) of a symmetric matrix: U = Q·diag(λ)·Qᵀ.</summary>
    public static (double[] Values, double[,] Vectors) Eigen(Mat3 u)
    {
        var a = new double[3, 3];
        var q = new double[3, 3];
        for (int i = 0; i < 3; i++)
        {
            for (int j = 0; j < 3; j++)
            {
                a[i, j] = 0.5 * (u[i, j] + u[j, i]);
            }

            q[i, i] = 1;
        }

        for (int sweep = 0; sweep < 64; sweep++)
        {
            double off = a[0, 1] * a[0, 1] + a[0, 2] * a[0, 2] + a[1, 2] * a[1, 2];
            double diag = a[0, 0] * a[0, 0] + a[1, 1] * a[1, 1] + a[2, 2] * a[2, 2];
            if (off == 0 || off <= 1e-36 * diag)
            {
                break;
            }

            for (int p = 0; p < 2; p++)
            {
                for (int r = p + 1; r < 3; r++)
                {
                    if (a[p, r] == 0)
                    {
                        continue;
                    }

                    // Rotation J in the (p, r) plane that zeroes a[p, r]: A ← Jᵀ·A·J, Q ← Q·J.
                    double theta = (a[r, r] - a[p, p]) / (2 * a[p, r]);
                    double t = (theta >= 0 ? 1.0 : -1.0) / (Math.Abs(theta) + Math.Sqrt(theta * theta + 1));
                    double c = 1 / Math.Sqrt(t * t + 1), s = t * c;
                    for (int k = 0; k < 3; k++)
                    {
                        double akp = a[k, p], akr = a[k, r];
                        a[k, p] = c * akp - s * akr;
                        a[k, r] = s * akp + c * akr;
                    }

                    for (int k = 0; k < 3; k++)
                    {
                        double apk = a[p, k], ark = a[r, k];
                        a[p, k] = c * apk - s * ark;
                        a[r, k] = s * apk + c * ark;
                    }

                    a[p, r] = 0;
                    a[r, p] = 0;
                    for (int k = 0; k < 3; k++)
                    {
                        double qkp = q[k, p], qkr = q[k, r];
                        q[k, p] = c * qkp - s * qkr;
                        q[k, r] = s * qkp + c * qkr;
                    }
                }
            }
        }

        return ([a[0, 0], a[1, 1], a[2, 2]], q);
    }

    /// <summary>exp(U) of a symmetric U (symmetric, positive definite).</summary>
    public static Mat3 Exp(Mat3 u)
    {
        var (l, q) = Eigen(u);
        var m = new double[9];
        for (int i = 0; i < 3; i++)
        {
            for (int j = i; j < 3; j++)
            {
                double sum = 0;
                for (int k = 0; k < 3; k++)
                {
                    sum += q[i, k] * Math.Exp(l[k]) * q[j, k];
                }

                m[3 * i + j] = sum;
                m[3 * j + i] = sum;
            }
        }

        return Mat3.FromRowMajor(m);
    }

    /// <summary>
    /// The gradient of a function f(exp(U)) with respect to a symmetric U, given G = ∂f/∂F at F = exp(U):
    /// the symmetric part of L*(U, G), where L(U, E) is the Fréchet derivative of exp at U in direction E.
    /// In the eigenbasis, L acts element-wise with Φᵢⱼ = (e^λᵢ − e^λⱼ)/(λᵢ − λⱼ) (e^λ when equal).
    /// </summary>
    public static Mat3 ExpGradient(Mat3 u, Mat3 g)
    {
        var (l, q) = Eigen(u);
        var gs = new double[3, 3];
        for (int i = 0; i < 3; i++)
        {
            for (int j = 0; j < 3; j++)
            {
                gs[i, j] = 0.5 * (g[i, j] + g[j, i]);
            }
        }

        // Qᵀ·Gs·Q, scaled element-wise by Φ, then back: Q·(…)·Qᵀ.
        var t = new double[3, 3];
        for (int i = 0; i < 3; i++)
        {
            for (int j = 0; j < 3; j++)
            {
                double sum = 0;
                for (int a = 0; a < 3; a++)
                {
                    for (int b = 0; b < 3; b++)
                    {
                        sum += q[a, i] * gs[a, b] * q[b, j];
                    }
                }

                t[i, j] = sum * Phi(l[i], l[j]);
            }
        }

        var m = new double[9];
        for (int i = 0; i < 3; i++)
        {
            for (int j = i; j < 3; j++)
            {
                double sum = 0;
                for (int a = 0; a < 3; a++)
                {
                    for (int b = 0; b < 3; b++)
                    {
                        sum += q[i, a] * t[a, b] * q[j, b];
                    }
                }

                m[3 * i + j] = sum;
                m[3 * j + i] = sum;
            }
        }

        return Mat3.FromRowMajor(m);
    }

    private static double Phi(double a, double b)
    {
        double d = a - b;
        return Math.Abs(d) < 1e-8 ? Math.Exp(0.5 * (a + b)) * (1 + d * d / 24) : Math.Exp(b) * double.ExpM1(d) / d;
    }
}
