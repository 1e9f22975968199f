using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Text;
using System.Text.Json;
using Gpff.Descriptors;

namespace Gpff.Kernels;

/// <summary>
/// The normalised dot-product kernel on B2 descriptors (FLARE++'s NormalizedDotProduct):
/// k(εᵢ, εⱼ) = σ² (d̂ᵢ · d̂ⱼ)^ζ when atoms i and j have the same species, 0 otherwise, with d̂ = d/|d| the
/// normalised B2 descriptor (<see cref="B2Settings"/>); environments whose descriptor norm is below
/// 10⁻⁸ (no neighbours) have zero covariance with everything, as in FLARE++. σ (eV) is the only
/// hyperparameter; the power ζ is a fixed positive integer (2 by default).
/// <para>
/// Unlike the 2- and 3-body kernels, the force on an atom depends on the environments of all its
/// neighbours (F_m = −Σᵢ ∂εᵢ/∂r_m), so the kernel works on whole structures: per environment it forms
/// the derivative of its descriptor for each selected force and stress label (streamed, one
/// environment at a time, never the whole structure's Jacobian), and contracts it with
/// ∂k/∂d (value–derivative blocks) or with ∂²k/∂dᵢ∂dⱼ (derivative–derivative blocks).
/// </para>
/// Immutable and thread-safe.
/// </summary>
public sealed partial class B2Kernel : IKernel
{
    /// <summary>Default power ζ of the normalised dot product.</summary>
    public const int DefaultPower = 2;

    /// <summary>Descriptor norms below this count as empty environments (FLARE++'s empty_thresh).</summary>
    public const double EmptyNorm = 1e-8;

    /// <summary>The name of the amplitude hyperparameter, "sigmaB2".</summary>
    public const string SigmaName = "sigmaB2";

    private static readonly string[] Names = [SigmaName];

    /// <summary>Creates the kernel.</summary>
    /// <param name="settings">The B2 descriptor.</param>
    /// <param name="sigmaEv">Signal amplitude σ in eV (positive).</param>
    /// <param name="power">The power ζ, a positive integer (≤ 8).</param>
    public B2Kernel(B2Settings settings, double sigmaEv, int power = DefaultPower)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        if (!(sigmaEv > 0) || !double.IsFinite(sigmaEv))
        {
            throw new ArgumentOutOfRangeException(nameof(sigmaEv), sigmaEv, $"The B2 kernel's σ must be a positive finite number of eV, got {sigmaEv}.");
        }

        if (power < 1 || power > 8)
        {
            throw new ArgumentOutOfRangeException(nameof(power), power, $"The B2 kernel's power ζ must be an integer 1–8, got {power}.");
        }

        Settings = settings;
        SigmaEv = sigmaEv;
        Power = power;
        Descriptor = new DescriptorSettings(0, 0, settings.CutoffFunction) { ManyBody = settings };
        _caches = new Caches();
    }

    /// <summary>A kernel with another σ that shares <paramref name="source"/>'s caches (they do not depend on σ).</summary>
    private B2Kernel(B2Kernel source, double sigmaEv)
        : this(source.Settings, sigmaEv, source.Power)
    {
        _caches = source._caches;
    }

    /// <summary>The B2 descriptor settings.</summary>
    public B2Settings Settings { get; }

    /// <summary>Signal amplitude σ in eV.</summary>
    public double SigmaEv { get; }

    /// <summary>The power ζ.</summary>
    public int Power { get; }

    /// <inheritdoc />
    public string Name => "B2 normalised dot product";

    /// <inheritdoc />
    public IReadOnlyList<string> HyperparameterNames => Names;

    /// <inheritdoc />
    public IReadOnlyList<double> Hyperparameters => [SigmaEv];

    /// <summary>0: the kernel is σ² times a function of the descriptors alone (the gradient below uses ∂k/∂σ = 2k/σ too).</summary>
    public int? AmplitudeIndex => 0;

    /// <inheritdoc />
    public DescriptorSettings Descriptor { get; }

    /// <inheritdoc />
    public double CutoffA => Settings.CutoffA;

    /// <inheritdoc />
    public IKernel WithHyperparameters(IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count != 1)
        {
            throw new ArgumentException($"The B2 kernel has 1 hyperparameter (sigmaB2), got {values.Count} values.", nameof(values));
        }

        return new B2Kernel(this, values[0]);
    }

    /// <inheritdoc />
    public StructureEnvironments Describe(Structure structure) => StructureEnvironments.Build(structure, Descriptor);

    /// <summary>Throws an <see cref="ArgumentException"/> unless the environments carry this kernel's B2 descriptor.</summary>
    /// <param name="environments">The environments.</param>
    /// <param name="what">How to name them in the message.</param>
    public void CheckEnvironments(StructureEnvironments environments, string what = "structure")
    {
        ArgumentNullException.ThrowIfNull(environments);
        if (environments.Settings.ManyBody != Settings)
        {
            string theirs = environments.Settings.ManyBody?.ToString() ?? "no B2 descriptor";
            throw new ArgumentException($"The environments of the {what} were built with {theirs}, but the kernel '{Name}' needs {Settings}. Build them with kernel.Describe(structure).");
        }
    }

    /// <inheritdoc />
    public string ToJson()
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            WriteJson(w);
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    internal void WriteJson(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("type", "b2");
        w.WritePropertyName("species");
        w.WriteStartArray();
        foreach (int z in Settings.Species)
        {
            w.WriteNumberValue(z);
        }

        w.WriteEndArray();
        w.WriteNumber("nmax", Settings.RadialCount);
        w.WriteNumber("lmax", Settings.AngularMax);
        w.WriteNumber("cutoffA", Settings.CutoffA);
        w.WriteString("cutoffFunction", Cutoffs.Name(Settings.CutoffFunction));
        w.WriteNumber("power", Power);
        w.WriteNumber("sigmaEv", SigmaEv);
        w.WriteEndObject();
    }

    /// <inheritdoc />
    public void Covariance(StructureEnvironments a, LabelSelection rows, StructureEnvironments b, LabelSelection columns,
        Span<double> values, Span<double> hyperparameterGradients)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(columns);
        rows.Validate(a.AtomCount, "row structure");
        columns.Validate(b.AtomCount, "column structure");
        CheckEnvironments(a, "row structure");
        CheckEnvironments(b, "column structure");
        CheckStress(a, rows, "row structure");
        CheckStress(b, columns, "column structure");
        int nr = rows.Count, nc = columns.Count, size = nr * nc;
        if (values.Length < size)
        {
            throw new ArgumentException($"The output block needs {nr} × {nc} = {size} elements, got {values.Length}.", nameof(values));
        }

        bool wantGrad = !hyperparameterGradients.IsEmpty;
        if (wantGrad && hyperparameterGradients.Length < size)
        {
            throw new ArgumentException($"The gradient output needs 1 × {nr} × {nc} = {size} elements, got {hyperparameterGradients.Length}.", nameof(hyperparameterGradients));
        }

        values[..size].Clear();
        if (IsLocalEnergiesOnly(columns))
        {
            // K_nu, k*u, K_uu: the Jacobian-free contraction (B2Kernel.LocalEnergyColumns.cs).
            LocalEnergyColumns(a, rows, b, columns, values, SimdSupport.Use512);
        }
        else
        {
            JacobianCovariance(a, rows, b, columns, values);
        }

        if (wantGrad)
        {
            double f = 2 / SigmaEv;
            for (int i = 0; i < size; i++)
            {
                hyperparameterGradients[i] = f * values[i];
            }
        }
    }

    /// <summary>
    /// The block by the label Jacobians (the general path: every row and column kind), added to
    /// <paramref name="values"/> (cleared by the caller); arguments already checked.
    /// </summary>
    internal void JacobianCovariance(StructureEnvironments a, LabelSelection rows, StructureEnvironments b, LabelSelection columns, Span<double> values)
    {
        int nc = columns.Count;
        if (KernelBlockCache.Current is { } scope)
        {
            // Inside a block-cache scope (a hyperparameter fit): the σ-independent block once, then σ² times it.
            var unit = scope.GetOrCompute(_caches, a, rows, b, columns, () =>
            {
                var u = new double[rows.Count * nc];
                Accumulate(a, rows, b, columns, u, 1);
                return u;
            });
            double s2 = SigmaEv * SigmaEv;
            for (int i = 0; i < unit.Length; i++)
            {
                values[i] += s2 * unit[i];
            }

            return;
        }

        Accumulate(a, rows, b, columns, values, SigmaEv * SigmaEv);
    }

    /// <summary>The Jacobian-path block of rows of <paramref name="a"/> × columns of <paramref name="b"/> with amplitude² <paramref name="s2"/>, added to <paramref name="values"/>.</summary>
    private void Accumulate(StructureEnvironments a, LabelSelection rows, StructureEnvironments b, LabelSelection columns, Span<double> values, double s2)
    {
        var rowSide = GetSide(a, rows);
        var colSide = ReferenceEquals(a, b) && ReferenceEquals(rows, columns) ? rowSide : GetSide(b, columns);
        Accumulate(rowSide, colSide, values, columns.Count, diagonal: false, s2);
    }

    /// <inheritdoc />
    public void Variance(StructureEnvironments a, LabelSelection labels, Span<double> variances)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(labels);
        labels.Validate(a.AtomCount);
        CheckEnvironments(a);
        CheckStress(a, labels, "structure");
        if (variances.Length < labels.Count)
        {
            throw new ArgumentException($"The output needs {labels.Count} elements, got {variances.Length}.", nameof(variances));
        }

        variances[..labels.Count].Clear();
        var side = Side.Create(a, labels, new B2Workspace(Settings));
        Accumulate(side, side, variances, 0, diagonal: true, SigmaEv * SigmaEv);
    }

    /// <summary>
    /// The label Jacobians of a structure's environments for a label selection, from the cache
    /// (<see cref="JacobianCache{T}"/>): the assembly engine pairs every row structure with every column
    /// structure, and a hyperparameter fit repeats the assembly, so each structure's Jacobians would
    /// otherwise be rebuilt once per pair and evaluation. Selections without force or stress labels are
    /// cheap and not cached.
    /// </summary>
    private Side GetSide(StructureEnvironments e, LabelSelection sel)
    {
        if (sel.ForceAtoms.Length == 0 && !sel.Stress)
        {
            return Side.Create(e, sel, new B2Workspace(Settings));
        }

        return _caches.Sides.Get(e, sel, () => Side.Create(e, sel, new B2Workspace(Settings)));
    }

    /// <summary>The σ-independent per-structure data, shared by the kernels <see cref="WithHyperparameters"/> makes.</summary>
    private readonly Caches _caches;

    private sealed class Caches
    {
        /// <summary>Label Jacobians for the general path.</summary>
        public JacobianCache<Side> Sides { get; } = new(s => s.SizeBytes);

        /// <summary>
        /// Row data of the local-energy-column contraction (B2Kernel.LocalEnergyColumns.cs): the recent entries only, since
        /// the sparse GP streams its training structures once per pass and keeps its memory independent of their number.
        /// </summary>
        public JacobianCache<ContractionRows> Rows { get; } = new(r => r.SizeBytes, budgetBytes: 0);

        /// <summary>Column data of the local-energy-column contraction, one selection per structure.</summary>
        public ConditionalWeakTable<StructureEnvironments, ContractionColumns> Columns { get; } = new();
    }

    /// <summary>
    /// The training side of a GP folded with its weights α, for the predictive mean: the mean of a label t is
    /// Σ_c k(t, c) α_c, linear in each training label's row, so each training environment j's value labels fold
    /// into one weight w_j (Σ α of the labels that take its local energy) and its force and stress rows into one
    /// descriptor-space vector g_j (Σ α_r ∂d/∂label_r). The mean is then the derivative of a mean local energy
    /// ε(d) = σ² Σ_j [w_j q_j^ζ + ζ q_j^(ζ−1) (g_j·d̂ − q_j g_j·d̂_j)/|d_j|], q_j = d̂·d̂_j, over the training
    /// environments of d's species, so a test structure needs no label Jacobians: ∂ε/∂d per environment and one
    /// contraction with the descriptor's gradient (<see cref="ContractedMean"/>). Equal to the label-by-label sum to
    /// round-off.
    /// </summary>
    /// <param name="training">Each training structure's environments, labels and their weights α (in label order).</param>
    /// <returns>The contraction, for <see cref="ContractedMean"/>; its σ is this kernel's.</returns>
    internal MeanContraction ContractTraining(IEnumerable<(StructureEnvironments Environments, LabelSelection Labels, ReadOnlyMemory<double> Weights)> training)
    {
        int d = Settings.Length;
        var bySpecies = new Dictionary<int, (List<double[]> Units, List<double[]> H, List<double> W, List<double> C)>();
        foreach (var (env, sel, weights) in training)
        {
            if (sel.Count == 0)
            {
                continue;
            }

            var alpha = weights.Span;
            var side = sel.ForceAtoms.Length == 0 && !sel.Stress ? Side.Create(env, sel, new B2Workspace(Settings)) : GetSide(env, sel);
            foreach (var e in side.Environments)
            {
                double w = 0;
                foreach (int c in e.ValueLabels)
                {
                    w += alpha[c];
                }

                // h = g/|d_j| and c = (g·d̂_j)/|d_j|, g = Σ_r α_r P_r.
                var h = new double[d];
                double gu = 0;
                for (int r = 0; r < e.DerivativeLabels.Length; r++)
                {
                    double a = alpha[e.DerivativeLabels[r]];
                    var pr = e.P.AsSpan(r * d, d);
                    for (int p = 0; p < d; p++)
                    {
                        h[p] += a * pr[p];
                    }

                    gu += a * e.PUnit[r];
                }

                double invNorm = 1 / e.Norm;
                for (int p = 0; p < d; p++)
                {
                    h[p] *= invNorm;
                }

                if (!bySpecies.TryGetValue(e.Species, out var list))
                {
                    bySpecies[e.Species] = list = ([], [], [], []);
                }

                list.Units.Add(e.Unit);
                list.H.Add(h);
                list.W.Add(w);
                list.C.Add(gu * invNorm);
            }
        }

        return new MeanContraction(this, bySpecies.ToDictionary(
            kv => kv.Key,
            kv => new FoldedSpecies([.. kv.Value.Units.SelectMany(u => u)], [.. kv.Value.H.SelectMany(h => h)], [.. kv.Value.W], [.. kv.Value.C])));
    }

    /// <summary>
    /// Adds the B2 part of the predictive mean of <paramref name="labels"/> of a structure (without the prior mean)
    /// to <paramref name="mean"/>, from a training side folded with the GP weights (<see cref="ContractTraining"/>):
    /// per environment the mean local energy and its descriptor gradient, then forces and stress by one contraction
    /// with the descriptor's gradient per environment (no label Jacobians).
    /// </summary>
    internal void ContractedMean(MeanContraction contraction, StructureEnvironments environments, LabelSelection labels, Span<double> mean, int maxDegreeOfParallelism, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(contraction);
        labels.Validate(environments.AtomCount);
        CheckEnvironments(environments);
        CheckStress(environments, labels, "structure");
        int n = environments.AtomCount, d = Settings.Length, z = Power;
        if (labels.Count == 0)
        {
            return;
        }

        bool derivatives = labels.ForceAtoms.Length > 0 || labels.Stress;
        double s2 = contraction.Kernel.SigmaEv * contraction.Kernel.SigmaEv;
        var local = new double[n];
        var gradients = derivatives ? new double[n][] : null;
        Parallel.For(0, n, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, maxDegreeOfParallelism), CancellationToken = cancellationToken }, i =>
        {
            var e = environments[i];
            if (!(e.B2Norm >= EmptyNorm) || !contraction.Species.TryGetValue(e.CentralSpecies, out var folded))
            {
                return;
            }

            var x = new double[d];
            double invNorm = 1 / e.B2Norm;
            var b2 = e.B2;
            for (int p = 0; p < d; p++)
            {
                x[p] = b2[p] * invNorm;
            }

            // ε = σ² Σ_j [w q^ζ + ζ q^(ζ−1) (h·x̂) − ζ q^ζ c]; ∂ε/∂x̂ = σ² Σ_j [(ζ w q^(ζ−1) + ζ(ζ−1) q^(ζ−2) (h·x̂) − ζ² q^(ζ−1) c) û + ζ q^(ζ−1) h].
            var gx = derivatives ? new double[d] : null;
            double eps = 0;
            for (int j = 0; j < folded.W.Length; j++)
            {
                var u = folded.Units.AsSpan(j * d, d);
                var h = folded.H.AsSpan(j * d, d);
                double q = Dot(x, u), hx = Dot(h, x);
                double qz2 = z >= 2 ? IntPow(q, z - 2) : 0, qz1 = IntPow(q, z - 1), qz = qz1 * q;
                double w = folded.W[j], c = folded.C[j];
                eps += w * qz + z * qz1 * hx - z * qz * c;
                if (gx is null)
                {
                    continue;
                }

                double cu = z * w * qz1 + (z >= 2 ? z * (z - 1) * qz2 * hx : 0) - z * z * qz1 * c;
                double ch = z * qz1;
                for (int p = 0; p < d; p++)
                {
                    gx[p] += cu * u[p] + ch * h[p];
                }
            }

            local[i] = s2 * eps;
            if (gx is not null)
            {
                // ∂ε/∂d = σ² (I − x̂x̂ᵀ) ∂ε/∂x̂ / |d|.
                double radial = Dot(gx, x);
                for (int p = 0; p < d; p++)
                {
                    gx[p] = s2 * (gx[p] - radial * x[p]) * invNorm;
                }

                gradients![i] = gx;
            }
        });

        if (labels.Energy)
        {
            mean[0] += local.Sum();
        }

        for (int k = 0; k < labels.LocalEnergyAtoms.Length; k++)
        {
            mean[labels.LocalEnergyOffset + k] += local[labels.LocalEnergyAtoms[k]];
        }

        if (gradients is null)
        {
            return;
        }

        // Forces −∂E/∂r and stress (1/V) ∂E/∂ε (ASE sign) from each environment's ∂ε/∂r_k (k its neighbours).
        var forces = new double[3 * n];
        Span<double> virial = stackalloc double[6];
        var w2 = new B2Workspace(Settings);
        var neighbour = Array.Empty<double>();
        for (int i = 0; i < n; i++)
        {
            if (gradients[i] is not { } g)
            {
                continue;
            }

            var e = environments[i];
            int nk = e.ManyBodyNeighborCount;
            if (neighbour.Length < 3 * nk)
            {
                neighbour = new double[3 * nk];
            }

            w2.Load(e);
            w2.ContractGradient(g, neighbour);
            var nb = e.ManyBodyNeighbors;
            for (int k = 0; k < nk; k++)
            {
                double fx = neighbour[3 * k], fy = neighbour[3 * k + 1], fz = neighbour[3 * k + 2];
                forces[3 * nb[k]] -= fx;
                forces[3 * nb[k] + 1] -= fy;
                forces[3 * nb[k] + 2] -= fz;
                forces[3 * i] += fx;
                forces[3 * i + 1] += fy;
                forces[3 * i + 2] += fz;
                var r = e.ManyBodyVector(k);
                virial[0] += fx * r.X;
                virial[1] += fy * r.Y;
                virial[2] += fz * r.Z;
                virial[3] += fy * r.Z;
                virial[4] += fx * r.Z;
                virial[5] += fx * r.Y;
            }
        }

        for (int k = 0; k < labels.ForceAtoms.Length; k++)
        {
            int a = labels.ForceAtoms[k];
            for (int axis = 0; axis < 3; axis++)
            {
                mean[labels.ForceOffset + 3 * k + axis] += forces[3 * a + axis];
            }
        }

        if (labels.Stress)
        {
            double invV = 1 / environments.VolumeA3;
            for (int v = 0; v < 6; v++)
            {
                mean[labels.StressOffset + v] += virial[v] * invV;
            }
        }
    }

    /// <summary>A training side folded with GP weights (<see cref="ContractTraining"/>).</summary>
    internal sealed class MeanContraction
    {
        internal MeanContraction(B2Kernel kernel, Dictionary<int, FoldedSpecies> species)
        {
            Kernel = kernel;
            Species = species;
        }

        /// <summary>The kernel that made it (its σ).</summary>
        public B2Kernel Kernel { get; }

        /// <summary>Per central species, its folded training environments.</summary>
        internal Dictionary<int, FoldedSpecies> Species { get; }
    }

    /// <summary>The folded training environments of one species: d̂_j, h_j = g_j/|d_j| (row-major n × D), w_j and c_j = g_j·d̂_j/|d_j|.</summary>
    internal sealed record FoldedSpecies(double[] Units, double[] H, double[] W, double[] C);

    private static void CheckStress(StructureEnvironments e, LabelSelection sel, string what)
    {
        if (sel.Stress && (!e.Pbc.AllPeriodic || !(e.VolumeA3 > 0)))
        {
            throw new ArgumentException($"Stress labels were requested for the {what}, but it is not periodic along all three axes with a positive volume (pbc {e.Pbc}, volume {e.VolumeA3} Å³).");
        }
    }

    /// <summary>
    /// Adds the covariance of every environment pair (same central species, both non-empty) to
    /// <paramref name="output"/>: the rows × <paramref name="nc"/> block, or, when <paramref name="diagonal"/>,
    /// only the entries whose row and column label are the same label (rows and columns one side), with the
    /// amplitude <paramref name="s2"/> in place of σ² (1: the σ-independent block).
    /// </summary>
    private void Accumulate(Side rows, Side cols, Span<double> output, int nc, bool diagonal, double s2)
    {
        int d = Settings.Length, z = Power;
        var pyj = new double[rows.MaxDerivativeRows];
        var pxi = new double[cols.MaxDerivativeRows];
        var ra = new double[rows.MaxDerivativeRows];
        var cb = new double[cols.MaxDerivativeRows];
        foreach (var ei in rows.Environments)
        {
            int ndi = ei.DerivativeLabels.Length;
            foreach (var ej in cols.Environments)
            {
                if (ej.Species != ei.Species)
                {
                    continue;
                }

                int ndj = ej.DerivativeLabels.Length;
                double q = Dot(ei.Unit, ej.Unit);
                double qz1 = IntPow(q, z - 1);
                double kv = s2 * qz1 * q;
                double k1 = s2 * z * qz1;
                double k2 = z >= 2 ? s2 * z * (z - 1) * IntPow(q, z - 2) : 0;
                foreach (int r in ei.ValueLabels)
                {
                    foreach (int c in ej.ValueLabels)
                    {
                        Add(output, nc, diagonal, r, c, kv);
                    }
                }

                // p_r·a with a = ∂q/∂dᵢ = (ŷ − q x̂)/|x|; p_c·b with b = ∂q/∂dⱼ = (x̂ − q ŷ)/|y|.
                for (int r = 0; r < ndi; r++)
                {
                    pyj[r] = Dot(ei.P.AsSpan(r * d, d), ej.Unit);
                    ra[r] = (pyj[r] - q * ei.PUnit[r]) / ei.Norm;
                    foreach (int c in ej.ValueLabels)
                    {
                        Add(output, nc, diagonal, ei.DerivativeLabels[r], c, k1 * ra[r]);
                    }
                }

                for (int c = 0; c < ndj; c++)
                {
                    pxi[c] = Dot(ej.P.AsSpan(c * d, d), ei.Unit);
                    cb[c] = (pxi[c] - q * ej.PUnit[c]) / ej.Norm;
                    foreach (int r in ei.ValueLabels)
                    {
                        Add(output, nc, diagonal, r, ej.DerivativeLabels[c], k1 * cb[c]);
                    }
                }

                if (ndi == 0 || ndj == 0)
                {
                    continue;
                }

                // p_r H p_c = k2 (p_r·a)(p_c·b) + k1/(|x||y|) [p_r·p_c − (p_r·ŷ)(p_c·ŷ) − (p_r·x̂)(p_c·(x̂ − q ŷ))].
                double k1n = k1 / (ei.Norm * ej.Norm);
                for (int r = 0; r < ndi; r++)
                {
                    int lr = ei.DerivativeLabels[r];
                    var pr = ei.P.AsSpan(r * d, d);
                    for (int c = 0; c < ndj; c++)
                    {
                        int lc = ej.DerivativeLabels[c];
                        if (diagonal && lr != lc)
                        {
                            continue;
                        }

                        double pp = Dot(pr, ej.P.AsSpan(c * d, d));
                        double v = k2 * ra[r] * cb[c] + k1n * (pp - pyj[r] * ej.PUnit[c] - ei.PUnit[r] * (pxi[c] - q * ej.PUnit[c]));
                        Add(output, nc, diagonal, lr, lc, v);
                    }
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Add(Span<double> output, int nc, bool diagonal, int r, int c, double v)
    {
        if (diagonal)
        {
            if (r == c)
            {
                output[r] += v;
            }
        }
        else
        {
            output[r * nc + c] += v;
        }
    }

    private static double IntPow(double x, int n)
    {
        double p = 1;
        for (int i = 0; i < n; i++)
        {
            p *= x;
        }

        return p;
    }

    internal static double Dot(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        int n = x.Length, i = 0;
        double sum = 0;
        if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            var acc0 = Vector256<double>.Zero;
            var acc1 = Vector256<double>.Zero;
            ref double rx = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(x);
            ref double ry = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(y);
            for (; i <= n - 8; i += 8)
            {
                acc0 += Vector256.LoadUnsafe(ref rx, (nuint)i) * Vector256.LoadUnsafe(ref ry, (nuint)i);
                acc1 += Vector256.LoadUnsafe(ref rx, (nuint)(i + 4)) * Vector256.LoadUnsafe(ref ry, (nuint)(i + 4));
            }

            sum = Vector256.Sum(acc0 + acc1);
        }

        for (; i < n; i++)
        {
            sum += x[i] * y[i];
        }

        return sum;
    }

    /// <summary>One environment as the kernel uses it: normalised descriptor, label roles and the label Jacobian.</summary>
    private sealed class EnvironmentData
    {
        public required int Species { get; init; }

        public required double Norm { get; init; }

        public required double[] Unit { get; init; }

        /// <summary>Labels that receive this environment's local energy (the total energy, its own local energy).</summary>
        public required int[] ValueLabels { get; init; }

        /// <summary>Labels that receive a derivative of this environment's local energy (forces, stress).</summary>
        public required int[] DerivativeLabels { get; init; }

        /// <summary>Row r: the derivative of the (unnormalised) descriptor that label DerivativeLabels[r] takes (−∂d/∂r_m,α for forces, (1/V)∂d/∂ε_v for stress).</summary>
        public required double[] P { get; init; }

        /// <summary>P · d̂.</summary>
        public required double[] PUnit { get; init; }
    }

    /// <summary>
    /// Row of each atom's first force label and of its local-energy label in a label selection (−1 where it has none):
    /// the bookkeeping both the Jacobian path and the contraction path start from.
    /// </summary>
    private static (int[] ForceRow, int[] LocalRow) LabelRows(int atomCount, LabelSelection sel)
    {
        var forceRow = new int[atomCount];
        Array.Fill(forceRow, -1);
        for (int k = 0; k < sel.ForceAtoms.Length; k++)
        {
            forceRow[sel.ForceAtoms[k]] = sel.ForceOffset + 3 * k;
        }

        var localRow = new int[atomCount];
        Array.Fill(localRow, -1);
        for (int k = 0; k < sel.LocalEnergyAtoms.Length; k++)
        {
            localRow[sel.LocalEnergyAtoms[k]] = sel.LocalEnergyOffset + k;
        }

        return (forceRow, localRow);
    }

    /// <summary>
    /// The value rows (total energy, the atom's local energy) environment <paramref name="index"/> contributes to, or
    /// null when its descriptor is empty (no covariance). Force labels need the environments of one whole structure.
    /// </summary>
    private static List<int>? ValueRows(AtomEnvironment e, int index, LabelSelection sel, int[] localRow)
    {
        if (sel.ForceAtoms.Length > 0 && e.CentralAtom != index)
        {
            throw new ArgumentException($"Force labels of the B2 kernel need the environments of one whole structure, but environment {index} of this set is atom {e.CentralAtom} of another (a set of inducing environments has local-energy labels only).");
        }

        if (!(e.B2Norm >= EmptyNorm))
        {
            return null;
        }

        var value = new List<int>(2);
        if (sel.Energy)
        {
            value.Add(0);
        }

        if (localRow[index] >= 0)
        {
            value.Add(localRow[index]);
        }

        return value;
    }

    private sealed class Side
    {
        public required List<EnvironmentData> Environments { get; init; }

        public int MaxDerivativeRows { get; init; }

        /// <summary>The memory the arrays hold, in bytes (plus a small per-object overhead).</summary>
        public long SizeBytes => Environments.Sum(e => 8L * (e.Unit.Length + e.P.Length + e.PUnit.Length) + 4L * (e.ValueLabels.Length + e.DerivativeLabels.Length) + 160);

        public static Side Create(StructureEnvironments s, LabelSelection sel, B2Workspace w)
        {
            int n = s.AtomCount, d = w.Settings.Length;
            var (forceRow, localRow) = LabelRows(n, sel);

            double invV = sel.Stress ? 1 / s.VolumeA3 : 0;
            var list = new List<EnvironmentData>();
            int maxRows = 0;
            var jk = new double[3 * d];
            var localOf = new Dictionary<int, int>();
            for (int i = 0; i < n; i++)
            {
                var e = s[i];
                if (ValueRows(e, i, sel, localRow) is not { } value)
                {
                    continue;
                }

                // Force atoms this environment touches: its centre and its neighbours.
                localOf.Clear();
                var deriv = new List<int>();
                void Touch(int atom)
                {
                    if (forceRow[atom] >= 0 && !localOf.ContainsKey(atom))
                    {
                        localOf[atom] = deriv.Count;
                        deriv.Add(forceRow[atom]);
                        deriv.Add(forceRow[atom] + 1);
                        deriv.Add(forceRow[atom] + 2);
                    }
                }

                var nb = e.ManyBodyNeighbors;
                if (sel.ForceAtoms.Length > 0)
                {
                    Touch(e.CentralAtom);
                    for (int k = 0; k < nb.Length; k++)
                    {
                        Touch(nb[k]);
                    }
                }

                int stressStart = deriv.Count;
                if (sel.Stress)
                {
                    for (int v = 0; v < 6; v++)
                    {
                        deriv.Add(sel.StressOffset + v);
                    }
                }

                if (value.Count == 0 && deriv.Count == 0)
                {
                    continue;
                }

                var unit = new double[d];
                var b2 = e.B2;
                double inv = 1 / e.B2Norm;
                for (int p = 0; p < d; p++)
                {
                    unit[p] = b2[p] * inv;
                }

                var pm = new double[deriv.Count * d];
                if (deriv.Count > 0)
                {
                    w.Load(e);
                    bool centreForce = localOf.TryGetValue(e.CentralAtom, out int centreRow);
                    var stress = sel.Stress ? pm.AsSpan(stressStart * d, 6 * d) : [];
                    for (int k = 0; k < nb.Length; k++)
                    {
                        w.NeighborGradient(k, jk);
                        if (localOf.TryGetValue(nb[k], out int row))
                        {
                            // F_m = −∂E/∂r_m: minus the neighbour's gradient.
                            Subtract(pm.AsSpan(row * d, 3 * d), jk);
                        }

                        if (centreForce)
                        {
                            // ∂d/∂r_centre = −Σ_k ∂d/∂r_k, so the centre's force row gains +∂d/∂r_k.
                            AddTo(pm.AsSpan(centreRow * d, 3 * d), jk);
                        }

                        if (sel.Stress)
                        {
                            var v = e.ManyBodyVector(k);
                            B2Descriptor.AddVirial(jk, v.X, v.Y, v.Z, d, stress);
                        }
                    }

                    if (sel.Stress)
                    {
                        foreach (ref double x in stress)
                        {
                            x *= invV;
                        }
                    }
                }

                var pu = new double[deriv.Count];
                for (int r = 0; r < deriv.Count; r++)
                {
                    pu[r] = Dot(pm.AsSpan(r * d, d), unit);
                }

                maxRows = Math.Max(maxRows, deriv.Count);
                list.Add(new EnvironmentData
                {
                    Species = e.CentralSpecies,
                    Norm = e.B2Norm,
                    Unit = unit,
                    ValueLabels = [.. value],
                    DerivativeLabels = [.. deriv],
                    P = pm,
                    PUnit = pu,
                });
            }

            return new Side { Environments = list, MaxDerivativeRows = maxRows };
        }

        private static void Subtract(Span<double> target, ReadOnlySpan<double> x)
        {
            for (int i = 0; i < target.Length; i++)
            {
                target[i] -= x[i];
            }
        }

        private static void AddTo(Span<double> target, ReadOnlySpan<double> x)
        {
            for (int i = 0; i < target.Length; i++)
            {
                target[i] += x[i];
            }
        }
    }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Name} (σ {SigmaEv} eV, ζ {Power}; {Settings})");
}
