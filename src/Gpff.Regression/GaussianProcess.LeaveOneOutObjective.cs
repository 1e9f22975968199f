using Gpff.Kernels;
using Gpff.Regression.LinearAlgebra;

namespace Gpff.Regression;

public sealed partial class GaussianProcess
{
    /// <summary>
    /// The leave-one-structure-out (LOSO) predictive log density of the training labels, weighted per
    /// label kind, and its analytic gradient: a hyperparameter objective that scores how well each
    /// structure is predicted from all the others (Rasmussen &amp; Williams §5.4.2, generalised to
    /// blocks of labels), so that it rewards hyperparameters that generalise to unseen structures
    /// rather than ones that explain the training labels jointly.
    /// <para>
    /// With C = K + Σ, α = C⁻¹(y − m) and, for structure s with label block B_s, A_s = (C⁻¹)_ss and
    /// V_s = A_s⁻¹, the LOSO error of the labels of s is e_s = V_s α_s and their LOSO noisy-label
    /// covariance V_s (<see cref="LeaveOneStructureOut"/>). The objective is
    /// L = Σ_k (1/n_k) Σ_{i of kind k} log N(e_i; 0, V_ii): the mean marginal log density of the labels
    /// of each kind k (energies, forces, stresses; n_k labels of that kind), summed over the kinds
    /// present, so that 36 energies are not outweighed by thousands of force components, and each
    /// label's density is its own (a kind can be weighted, which a joint block density could not).
    /// </para>
    /// <para>
    /// Gradient (derived in docs/DESIGN.md): ∂L/∂θ = ½ tr(W ∂C/∂θ) with W = Q + Qᵀ + αβᵀ + βαᵀ,
    /// Q = C⁻¹DC⁻¹, β = C⁻¹p, where per structure a_i = w_i e_i/V_ii, b_i = ½ w_i (e_i²/V_ii² − 1/V_ii),
    /// p_s = V_s a_s and D = blockdiag(V_s diag(b_s) V_s − e_s p_sᵀ). Cost: one Cholesky factor, the
    /// inverse and two triangular solves with N right-hand sides, O(N³), as the likelihood gradient.
    /// </para>
    /// <para>
    /// The per-species reference energies are held at their current values (fitted to all training
    /// energies when not fixed), as in <see cref="LeaveOneStructureOut"/>; they do not depend on θ.
    /// </para>
    /// </summary>
    /// <param name="kernel">Kernel with the hyperparameters to evaluate (null: the current one).</param>
    /// <param name="noise">Noise levels to evaluate (null: the current ones).</param>
    /// <param name="gradient">Whether to compute the gradient.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The value (dimensionless: a sum of mean log densities, one per label kind present), its
    /// gradient in the layout of <see cref="LogMarginalLikelihood"/> (kernel hyperparameters, then the
    /// energy, force and stress noises), and any jitter needed.</returns>
    /// <exception cref="InvalidOperationException">Fewer than two training structures.</exception>
    public LikelihoodResult LeaveOneStructureOutLogDensity(IKernel? kernel = null, NoiseLevels? noise = null, bool gradient = true, CancellationToken cancellationToken = default)
    {
        kernel ??= Kernel;
        noise ??= Noise;
        noise.Validate();
        if (_entries.Count < 2)
        {
            throw new InvalidOperationException($"The leave-one-structure-out objective needs at least two training structures; the GP has {_entries.Count}.");
        }

        if (Options.ReferenceEnergies is null && _reference is null)
        {
            FitReferenceEnergies();
        }

        int n = LabelCount;
        int nh = kernel.Hyperparameters.Count;
        long nn = (long)n * n;
        double[]? dkAll = gradient && 8.0 * nh * nn <= Options.LikelihoodGradientMemoryBytes ? new double[nh * nn] : null;
        var c = AssembleCovariance(kernel, null, cancellationToken, dkAll);
        AddNoise(c, noise);
        var factor = CholeskyFactorization.FactorInPlace(c, n, Options.Cholesky);
        var alpha = Targets();
        factor.SolveInPlace(alpha, 1);

        var entries = _entries.ToArray();
        var offsets = _offsets.ToArray();
        var kindCount = new int[LabelNoise.KindCount];
        foreach (var e in entries)
        {
            for (int i = 0; i < e.Count; i++)
            {
                kindCount[LabelNoise.Kind(e, i)]++;
            }
        }

        // The inverse is needed whole for the gradient; for the value alone its diagonal blocks suffice.
        var inv = gradient ? factor.InverseColumnMajor() : null;
        var small = new CholeskyOptions { AllowJitter = false, Backend = LinearAlgebraBackendKind.Managed };
        var terms = new double[entries.Length];
        var d = gradient ? new double[entries.Length][] : null;   // D_s, column-major b × b
        var p = gradient ? new double[n] : null;
        Parallel.For(0, entries.Length, ParallelOptions(cancellationToken), s =>
        {
            var e = entries[s];
            int o = offsets[s], b = e.Count;
            double[] a;
            if (inv is null)
            {
                a = factor.InverseDiagonalBlock(o, b);
            }
            else
            {
                a = new double[b * b];
                for (int j = 0; j < b; j++)
                {
                    for (int i = 0; i < b; i++)
                    {
                        a[j * b + i] = inv[(long)(o + j) * n + o + i];
                    }
                }
            }

            var v = CholeskyFactorization.Factor(a, b, small).InverseColumnMajor();   // V_s = [(C⁻¹)_ss]⁻¹
            var err = new double[b];
            for (int i = 0; i < b; i++)
            {
                double sum = 0;
                for (int j = 0; j < b; j++)
                {
                    sum += v[j * b + i] * alpha[o + j];
                }

                err[i] = sum;
            }

            double term = 0;
            var ai = new double[b];
            var bi = new double[b];
            for (int i = 0; i < b; i++)
            {
                double weight = 1.0 / kindCount[LabelNoise.Kind(e, i)];
                double vii = v[i * b + i];
                term += weight * (-0.5 * err[i] * err[i] / vii - 0.5 * Math.Log(2 * Math.PI * vii));
                ai[i] = weight * err[i] / vii;
                bi[i] = 0.5 * weight * (err[i] * err[i] / (vii * vii) - 1 / vii);
            }

            terms[s] = term;
            if (d is null)
            {
                return;
            }

            var ps = new double[b];
            for (int i = 0; i < b; i++)
            {
                double sum = 0;
                for (int j = 0; j < b; j++)
                {
                    sum += v[j * b + i] * ai[j];
                }

                ps[i] = sum;
                p![o + i] = sum;
            }

            // D_s = V_s diag(b) V_s − e_s p_sᵀ
            var ds = new double[b * b];
            for (int j = 0; j < b; j++)
            {
                for (int i = 0; i < b; i++)
                {
                    double sum = 0;
                    for (int k = 0; k < b; k++)
                    {
                        sum += v[k * b + i] * bi[k] * v[j * b + k];
                    }

                    ds[j * b + i] = sum - err[i] * ps[j];
                }
            }

            d[s] = ds;
        });

        double value = terms.Sum();
        var grad = new double[nh + 3];
        if (d is null)
        {
            return new LikelihoodResult(value, grad, factor.JitterAdded);
        }

        // Y = D C⁻¹ (row block s: D_s times rows s of C⁻¹), then Q = C⁻¹ Y.
        var q = new double[nn];
        Parallel.For(0, n, ParallelOptions(cancellationToken), col =>
        {
            long cn = (long)col * n;
            for (int s = 0; s < entries.Length; s++)
            {
                int o = offsets[s], b = entries[s].Count;
                var ds = d[s];
                for (int i = 0; i < b; i++)
                {
                    double sum = 0;
                    for (int j = 0; j < b; j++)
                    {
                        sum += ds[j * b + i] * inv![cn + o + j];
                    }

                    q[cn + o + i] = sum;
                }
            }
        });
        factor.SolveInPlace(q, n);
        var beta = (double[])p!.Clone();
        factor.SolveInPlace(beta, 1);
        // W = Q + Qᵀ + αβᵀ + βαᵀ, written over inv (no longer needed).
        var w = inv!;
        for (int col = 0; col < n; col++)
        {
            for (int row = col; row < n; row++)
            {
                double x = q[(long)col * n + row] + q[(long)row * n + col] + alpha[row] * beta[col] + beta[row] * alpha[col];
                w[(long)col * n + row] = x;
                w[(long)row * n + col] = x;
            }
        }

        HalfTraceGradient(kernel, noise, w, dkAll, grad, cancellationToken);
        return new LikelihoodResult(value, grad, factor.JitterAdded);
    }
}
