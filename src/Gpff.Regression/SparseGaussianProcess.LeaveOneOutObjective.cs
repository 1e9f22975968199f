using Gpff.Geometry;
using Gpff.Kernels;
using Gpff.Regression.LinearAlgebra;

namespace Gpff.Regression;

public sealed partial class SparseGaussianProcess
{
    /// <summary>
    /// The leave-one-structure-out (LOSO) predictive log density of the training labels under the sparse
    /// (DTC) model C = K_nu K_uu⁻¹ K_un + Σ, weighted per label kind exactly as the full GP's
    /// <see cref="GaussianProcess.LeaveOneStructureOutLogDensity"/>: with α = C⁻¹(y − m), A_s = (C⁻¹)_ss,
    /// V_s = A_s⁻¹ and e_s = V_s α_s for the label block of structure s,
    /// L = Σ_k (1/n_k) Σ_{i of kind k} log N(e_i; 0, V_ii); and optionally its analytic gradient with respect to
    /// every kernel hyperparameter and the three noise standard deviations (zero for a kind absent from the data).
    /// <para>
    /// No N × N matrix is formed: whitened by K_uu = L Lᵀ, with V̂_s = L⁻¹K_usΣ_s^-½ and B = I + Σ_s V̂_sV̂_sᵀ (the
    /// training sums), (C⁻¹)_ss = Σ_s^-½(I − V̂_sᵀB⁻¹V̂_s)Σ_s^-½ and α_s = Σ_s^-½(Σ_s^-½r_s − V̂_sᵀŵ) (Woodbury), so each
    /// structure's terms need only its own K_us. Two streamed passes over <paramref name="structures"/> (it must
    /// be enumerable twice, e.g. a list or a file reader): the training sums, then per structure its LOSO terms
    /// and, for the gradient, M × M and M-vector sums that are contracted with ∂K_uu at the end (derivation in
    /// docs/DESIGN.md, "The solver": the sparse GP's LOSO objective). Memory O(H·M²) plus one structure, as the likelihood gradient.
    /// </para>
    /// <para>
    /// The inducing environments are this model's; the reference energies are fitted to the stream's energies
    /// (or fixed by the options) and held fixed, as the full GP's objective does. With jitter on K_uu
    /// (<see cref="LikelihoodResult.JitterAdded"/>, relative to its mean diagonal) the value and gradient are
    /// those of the jittered model. Does not change the model.
    /// </para>
    /// </summary>
    /// <param name="structures">The training structures (read twice).</param>
    /// <param name="kinds">Label kinds to use.</param>
    /// <param name="kernel">Kernel to evaluate (null: the model's).</param>
    /// <param name="noise">Noises to evaluate (null: the model's).</param>
    /// <param name="gradient">Whether to compute the gradient.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The value (dimensionless: a sum of mean log densities, one per label kind present), its gradient
    /// (kernel hyperparameters, then energy, force, stress noise), and the relative jitter of K_uu.</returns>
    /// <exception cref="InvalidOperationException">Fewer than two structures in the stream.</exception>
    public LikelihoodResult LeaveOneStructureOutLogDensity(IEnumerable<Structure> structures, LabelKinds kinds = LabelKinds.All, IKernel? kernel = null,
        NoiseLevels? noise = null, bool gradient = true, CancellationToken cancellationToken = default)
    {
        (kernel, noise) = ObjectiveArguments(structures, kernel, noise);

        int m = InducingCount, nh = gradient ? kernel.Hyperparameters.Count : 0;
        var (luu, rho, dkuu) = FactorInducing(kernel, gradient, cancellationToken);

        // Pass 1: the training sums (B per noise kind for the noise gradient), the reference energies, B's factor and ŵ.
        var stats = new SparseStatistics(m, kernel.Hyperparameters.Count, perKind: gradient, gradient: false, Backend);
        Accumulate(stats, kernel, noise, luu, structures, kinds, null, cancellationToken);
        if (stats.StructureCount < 2)
        {
            throw new InvalidOperationException($"The leave-one-structure-out objective needs at least two training structures; the stream held {stats.StructureCount}. Use the marginal likelihood or add structures.");
        }

        var reference = Reference(stats);
        var (lb, what, _, _) = Solve(stats, reference);
        var w = (double[])what.Clone();
        luu.SolveLowerTransposeInPlace(w, 1);          // w = K_uu⁻¹ K_un α = L⁻ᵀŵ
        var kindWeight = stats.Counts.Select(c => c > 0 ? 1.0 / c : 0.0).ToArray();

        // Pass 2: per structure its LOSO terms; for the gradient the sums Ŝ = Σ V̂_s S̃_s V̂_sᵀ, c_p = Σ V̂_s Σ_s^-½ p_s,
        // a_k = Σ V̂_s,k α̂_s,k, D_h = Σ ∂K_us Σ_s⁻¹ K_su, E_h = Σ ∂K_us α_s and the local parts of every component.
        var pass = new LosoPass(m, nh, gradient, DenseKernels.For(Backend));
        int index = 0;
        foreach (var structure in structures)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (entry, kus, dkus) = StructureCrossCovariance(kernel, structure, kinds, index, nh, cancellationToken);
            pass.Add(entry, noise, reference, luu, lb, what, w, kindWeight, kus, dkus);
            index++;
        }

        if (index != stats.StructureCount)
        {
            throw new InvalidOperationException($"The training stream gave {stats.StructureCount} structures on its first enumeration and {index} on its second: the leave-one-structure-out objective reads it twice.");
        }

        var grad = new double[kernel.Hyperparameters.Count + LabelNoise.KindCount];
        if (!gradient)
        {
            return new LikelihoodResult(pass.Value, grad, rho);
        }

        var dense = DenseKernels.For(Backend);
        var u = (double[])pass.Cp.Clone();
        lb.SolveInPlace(u, 1);                          // û = B⁻¹c_p
        var uk = (double[])u.Clone();
        luu.SolveLowerTransposeInPlace(uk, 1);          // u = L⁻ᵀû = K_uu⁻¹ K_un β
        var binv = lb.InverseColumnMajor();
        var tmp = new double[(long)m * m];
        var x = new double[(long)m * m];               // X̂ = B⁻¹ Ŝ B⁻¹
        dense.Gemm(false, false, m, m, m, 1.0, binv, pass.S, 0.0, tmp);
        dense.Gemm(false, false, m, m, m, 1.0, tmp, binv, 0.0, x);

        // Noises: ∂L/∂σ_k = (2/σ_k)[Σ_{i of k}(S̃_ii − 2(V̂ᵀB⁻¹V̂S̃)_ii + α̂_i p_i/√Σ_ii) + ⟨X̂, B_k⟩ − ûᵀa_k].
        var sigmas = noise.ToArray();
        for (int k = 0; k < LabelNoise.KindCount; k++)
        {
            if (stats.Counts[k] == 0)
            {
                continue;
            }

            grad[nh + k] = 2 / sigmas[k] * (pass.NoiseLocal[k] + DenseKernels.Dot(x, stats.B[k]) - DenseKernels.Dot(u, pass.A[k]));
        }

        // Kernel: ∂L/∂θ_h = local_h − 2⟨X̂, D̃_h⟩ − ŵᵀD̃_hû + uᵀE_h − ⟨X̂, W_h⟩ − ŵᵀW_hû,
        // D̃_h = L⁻¹D_hL⁻ᵀ, W_h = L⁻¹ ∂K_uu/∂θ_h L⁻ᵀ.
        var mv = new double[m];
        for (int h = 0; h < nh; h++)
        {
            var dt = Whiten(luu, pass.D[h], m);      // D̃_hᵀ (Whiten transposes; X̂ is symmetric)
            var wh = Whiten(luu, dkuu[h], m);
            double g = pass.KernelLocal[h] + DenseKernels.Dot(uk, pass.E[h]);
            dense.Gemm(false, false, m, 1, m, 1.0, dt, what, 0.0, mv);
            g -= 2 * DenseKernels.Dot(x, dt) + DenseKernels.Dot(u, mv);
            dense.Gemm(false, false, m, 1, m, 1.0, wh, u, 0.0, mv);
            g -= DenseKernels.Dot(x, wh) + DenseKernels.Dot(what, mv);
            grad[h] = g;
        }

        return new LikelihoodResult(pass.Value, grad, rho);
    }

    /// <summary>The per-structure work and the sums of the second pass of the sparse LOSO objective.</summary>
    private sealed class LosoPass(int m, int nh, bool gradient, DenseKernels dense)
    {
        private static readonly CholeskyOptions Small = new() { AllowJitter = false, Backend = LinearAlgebraBackendKind.Managed };

        public double Value { get; private set; }

        /// <summary>Ŝ = Σ V̂_s S̃_s V̂_sᵀ, column-major M × M.</summary>
        public double[] S { get; } = gradient ? new double[(long)m * m] : [];

        /// <summary>c_p = Σ V̂_s Σ_s^-½ p_s.</summary>
        public double[] Cp { get; } = new double[m];

        /// <summary>a_k = Σ V̂_s,k α̂_s,k per noise kind.</summary>
        public double[][] A { get; } = [.. Enumerable.Range(0, LabelNoise.KindCount).Select(_ => new double[m])];

        /// <summary>Σ_{i of kind k}(S̃_ii − 2(V̂ᵀB⁻¹V̂S̃)_ii + α̂_i p_i/√Σ_ii).</summary>
        public double[] NoiseLocal { get; } = new double[LabelNoise.KindCount];

        /// <summary>D_h = Σ ∂K_us Σ_s⁻¹ K_su, column-major M × M.</summary>
        public double[][] D { get; } = [.. Enumerable.Range(0, nh).Select(_ => new double[(long)m * m])];

        /// <summary>E_h = Σ ∂K_us α_s.</summary>
        public double[][] E { get; } = [.. Enumerable.Range(0, nh).Select(_ => new double[m])];

        /// <summary>Σ_s ⟨2Y_s + w (Σ_s⁻¹p_s)ᵀ, ∂K_us⟩ per hyperparameter, Y_s = L⁻ᵀB⁻¹V̂_sS̃_sΣ_s^-½.</summary>
        public double[] KernelLocal { get; } = new double[nh];

        public void Add(TrainingEntry entry, NoiseLevels noise, SpeciesReferenceEnergies reference, CholeskyFactorization luu, CholeskyFactorization lb,
            double[] what, double[] w, double[] kindWeight, double[] kus, double[][] dkus)
        {
            int n = entry.Count;
            var sigma2 = LabelNoise.Variances(entry, noise);
            var kinds = new int[n];
            var sd = new double[n];
            var isd = new double[n];
            var r = new double[n];
            for (int j = 0; j < n; j++)
            {
                kinds[j] = LabelNoise.Kind(entry, j);
                sd[j] = Math.Sqrt(sigma2[j]);
                isd[j] = 1 / sd[j];
                r[j] = entry.Values[j];
            }

            if (entry.Labels.Energy)
            {
                r[0] -= reference.PriorMeanEv(entry.Structure.AtomicNumbers);
            }

            // D_h += ∂K_us Σ⁻¹ K_su (needs K_us itself, before it is whitened in place).
            if (gradient)
            {
                var scaled = new double[(long)m * n];
                for (int j = 0; j < n; j++)
                {
                    double inv = isd[j] * isd[j];
                    for (int i = 0; i < m; i++)
                    {
                        scaled[(long)j * m + i] = kus[(long)j * m + i] * inv;
                    }
                }

                for (int h = 0; h < nh; h++)
                {
                    dense.Gemm(false, true, m, m, n, 1.0, dkus[h], scaled, 1.0, D[h]);
                }
            }

            // V̂ = L⁻¹ K_us Σ^-½ (in place), G = L_B⁻¹ V̂, H = I − GᵀG = Σ^½ A_s Σ^½.
            var v = kus;
            luu.SolveLowerInPlace(v.AsSpan(0, m * n), n);
            for (int j = 0; j < n; j++)
            {
                for (int i = 0; i < m; i++)
                {
                    v[(long)j * m + i] *= isd[j];
                }
            }

            var g = (double[])v.Clone();
            lb.SolveLowerInPlace(g, n);
            var hs = new double[n * n];
            dense.Gemm(true, false, n, n, m, -1.0, g, g, 0.0, hs);
            for (int i = 0; i < n; i++)
            {
                hs[i * n + i] += 1;
            }

            // α̂ = Σ^-½ r − V̂ᵀŵ (α = Σ^-½ α̂); e = Σ^½ H⁻¹ α̂; V_s = Σ^½ H⁻¹ Σ^½.
            var ahat = new double[n];
            for (int j = 0; j < n; j++)
            {
                ahat[j] = isd[j] * r[j] - DenseKernels.Dot(v.AsSpan(j * m, m), what);
            }

            var hinv = CholeskyFactorization.Factor(hs, n, Small).InverseColumnMajor();
            var err = new double[n];
            var ai = new double[n];
            var bi = new double[n];
            double term = 0;
            for (int i = 0; i < n; i++)
            {
                double sum = 0;
                for (int j = 0; j < n; j++)
                {
                    sum += hinv[j * n + i] * ahat[j];
                }

                err[i] = sd[i] * sum;
                double vii = sigma2[i] * hinv[i * n + i];
                double weight = kindWeight[kinds[i]];
                term += weight * (-0.5 * err[i] * err[i] / vii - 0.5 * Math.Log(2 * Math.PI * vii));
                ai[i] = weight * err[i] / vii;
                bi[i] = 0.5 * weight * (err[i] * err[i] / (vii * vii) - 1 / vii);
            }

            Value += term;
            if (!gradient)
            {
                return;
            }

            // p = V_s a; S̃ = Σ^-½ ½(D_s + D_sᵀ) Σ^-½ with D_s = V_s diag(b) V_s − e pᵀ:
            // Σ^-½ V_s diag(b) V_s Σ^-½ = H⁻¹ diag(Σ b) H⁻¹ and Σ^-½ e pᵀ Σ^-½ = (H⁻¹α̂)(Σ^-½p)ᵀ.
            var p = new double[n];
            var ps = new double[n];     // Σ^-½ p = H⁻¹ Σ^½ a
            var ha = new double[n];     // H⁻¹ α̂ = Σ^-½ e
            for (int i = 0; i < n; i++)
            {
                double sum = 0;
                for (int j = 0; j < n; j++)
                {
                    sum += hinv[j * n + i] * sd[j] * ai[j];
                }

                ps[i] = sum;
                p[i] = sd[i] * sum;
                ha[i] = isd[i] * err[i];
            }

            var st = new double[n * n];
            for (int j = 0; j < n; j++)
            {
                for (int i = 0; i <= j; i++)
                {
                    double sum = 0;
                    for (int k = 0; k < n; k++)
                    {
                        sum += hinv[k * n + i] * sigma2[k] * bi[k] * hinv[j * n + k];
                    }

                    double x = sum - 0.5 * (ha[i] * ps[j] + ha[j] * ps[i]);
                    st[j * n + i] = x;
                    st[i * n + j] = x;
                }
            }

            // Noise, local part: Σ_{i of k} S̃_ii − 2(GᵀG S̃)_ii + α̂_i (Σ^-½p)_i, with GᵀG = I − H.
            for (int i = 0; i < n; i++)
            {
                double hsii = 0;
                for (int k = 0; k < n; k++)
                {
                    hsii += hs[k * n + i] * st[i * n + k];
                }

                NoiseLocal[kinds[i]] += -st[i * n + i] + 2 * hsii + ahat[i] * ps[i];
            }

            // Ŝ += V̂ S̃ V̂ᵀ, c_p += V̂ Σ^-½ p, a_k += V̂_k α̂_k.
            var vs = new double[(long)m * n];
            dense.Gemm(false, false, m, n, n, 1.0, v, st, 0.0, vs);
            dense.Gemm(false, true, m, m, n, 1.0, vs, v, 1.0, S);
            for (int j = 0; j < n; j++)
            {
                var col = v.AsSpan(j * m, m);
                DenseKernels.Axpy(ps[j], col, Cp);
                DenseKernels.Axpy(ahat[j], col, A[kinds[j]]);
            }

            // Y = L⁻ᵀ L_B⁻ᵀ G S̃ Σ^-½; local kernel part ⟨2Y + w (Σ⁻¹p)ᵀ, ∂K_us⟩; E_h += ∂K_us α.
            var y = new double[(long)m * n];
            dense.Gemm(false, false, m, n, n, 1.0, g, st, 0.0, y);
            lb.SolveLowerTransposeInPlace(y, n);
            luu.SolveLowerTransposeInPlace(y, n);
            for (int j = 0; j < n; j++)
            {
                double pj = p[j] / sigma2[j];
                for (int i = 0; i < m; i++)
                {
                    y[(long)j * m + i] = 2 * y[(long)j * m + i] * isd[j] + w[i] * pj;
                }
            }

            var alpha = new double[n];
            for (int j = 0; j < n; j++)
            {
                alpha[j] = isd[j] * ahat[j];
            }

            for (int h = 0; h < nh; h++)
            {
                KernelLocal[h] += DenseKernels.Dot(y, dkus[h]);
                dense.Gemm(false, false, m, 1, n, 1.0, dkus[h], alpha, 1.0, E[h]);
            }
        }
    }
}
