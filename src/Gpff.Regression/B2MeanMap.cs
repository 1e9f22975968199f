using Gpff.Descriptors;
using Gpff.Geometry;
using Gpff.Kernels;
using Gpff.Regression.LinearAlgebra;

namespace Gpff.Regression;

/// <summary>
/// Constant-cost mean prediction of a sparse GP with the B2 kernel at power ζ = 2 (what FLARE++ writes
/// for LAMMPS): the mean local energy of an environment of species c is
/// ε(x) = Σ_u w_u σ² (x̂·û)² = x̂ᵀ Q_c x̂ with Q_c = σ² Σ_{u of species c} w_u û ûᵀ, so it is precomputed once
/// (D × D per species, D the descriptor length) and prediction no longer depends on the number of
/// inducing environments M: O(D²) per atom for the energy, plus the descriptor and its contraction for
/// forces and stress (<see cref="B2Descriptor.ContractGradient"/>). Equal to
/// <see cref="SparseGaussianProcess.Calculate"/>'s mean to round-off; no variance (the SOR variance is a
/// quartic form in x̂, D⁴ numbers, so it stays O(M·D) in the sparse GP itself). Species reference
/// energies (the prior mean) are added as in the sparse GP. Q x̂ = σ² Σ_u w_u (û·x̂) û costs D² with the
/// quadratic form and M_c·D directly, so by default each species uses the quadratic form only when it has
/// more than D/2 inducing environments (<see cref="B2MeanMapForm"/>); either way forces cost the
/// descriptor plus one contraction, never the sparse GP's per-label Jacobians. Immutable and thread-safe.
/// </summary>
public sealed class B2MeanMap : ICalculator
{
    private readonly Dictionary<int, double[]> _q = [];
    private readonly Dictionary<int, (List<double[]> Units, List<double> Weights)> _direct = [];
    private readonly SpeciesReferenceEnergies _reference;
    private readonly double[] _weights;

    /// <summary>Precomputes the quadratic forms of a trained sparse GP whose kernel is a <see cref="B2Kernel"/> with ζ = 2.</summary>
    /// <param name="model">The trained sparse GP.</param>
    /// <param name="form">Quadratic form, direct sum, or (default) per species whichever is cheaper.</param>
    /// <exception cref="ArgumentException">The model is untrained or its kernel is not the B2 kernel at power 2.</exception>
    public B2MeanMap(SparseGaussianProcess model, B2MeanMapForm form = B2MeanMapForm.Automatic)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!Supports(model))
        {
            throw new ArgumentException($"A B2 mean map needs a trained sparse GP with the B2 kernel at power 2; this one has '{model.Kernel.Name}'{(model.Kernel is B2Kernel b ? $" at power {b.Power}" : string.Empty)}{(model.IsTrained ? string.Empty : ", untrained")}.", nameof(model));
        }

        Kernel = (B2Kernel)model.Kernel;
        _weights = model.Weights.ToArray();
        _reference = model.ReferenceEnergies!;
        int d = Kernel.Settings.Length;
        double s2 = Kernel.SigmaEv * Kernel.SigmaEv;
        var w = model.Weights;
        foreach (var u in Enumerable.Range(0, model.InducingCount))
        {
            var e = model.Inducing[u].Describe(Kernel.Descriptor);
            if (!(e.B2Norm >= B2Kernel.EmptyNorm))
            {
                continue;
            }

            if (!_direct.TryGetValue(e.CentralSpecies, out var list))
            {
                _direct[e.CentralSpecies] = list = ([], []);
            }

            var b2 = e.B2;
            double inv = 1 / e.B2Norm;
            var unit = new double[d];
            for (int p = 0; p < d; p++)
            {
                unit[p] = b2[p] * inv;
            }

            list.Units.Add(unit);
            list.Weights.Add(s2 * w[u]);
        }

        foreach (var (z, (units, weights)) in _direct.ToArray())
        {
            bool quadratic = form == B2MeanMapForm.Quadratic || (form == B2MeanMapForm.Automatic && 2 * units.Count > d);
            if (!quadratic)
            {
                continue;
            }

            var q = new double[(long)d * d];
            for (int u = 0; u < units.Count; u++)
            {
                var unit = units[u];
                double f = weights[u];
                for (int r = 0; r < d; r++)
                {
                    double fr = f * unit[r];
                    var row = q.AsSpan(r * d, d);
                    for (int c = 0; c < d; c++)
                    {
                        row[c] += fr * unit[c];
                    }
                }
            }

            _q[z] = q;
            _direct.Remove(z);
        }
    }

    /// <summary>Whether a model can be mapped: trained, kernel <see cref="B2Kernel"/> with power 2.</summary>
    /// <param name="model">The model.</param>
    public static bool Supports(SparseGaussianProcess model) => model is { IsTrained: true, Kernel: B2Kernel { Power: 2 } };

    /// <summary>Whether this map still describes <paramref name="model"/>: the same kernel object and mean weights (not retrained, refitted or grown since).</summary>
    /// <param name="model">The model the map was built from.</param>
    public bool IsCurrent(SparseGaussianProcess model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.IsTrained && ReferenceEquals(model.Kernel, Kernel) && model.Weights.SequenceEqual(_weights);
    }

    /// <summary>The B2 kernel of the mapped model.</summary>
    public B2Kernel Kernel { get; }

    /// <summary>Central species with a quadratic form (the others are summed directly over their inducing environments).</summary>
    public IReadOnlyCollection<int> QuadraticSpecies => _q.Keys;

    /// <summary>Memory of the quadratic forms in bytes (8·D² per species).</summary>
    public long Bytes => _q.Values.Sum(q => (long)q.Length * 8);

    /// <summary>Energy, forces, stress and local energies; no uncertainty.</summary>
    public CalculatorProperties ImplementedProperties => CalculatorProperties.Energy | CalculatorProperties.Forces | CalculatorProperties.Stress | CalculatorProperties.LocalEnergies;

    /// <summary>The mean local energy x̂ᵀQx̂ (without the species reference) of each atom and its derivatives.</summary>
    /// <param name="structure">The structure.</param>
    /// <param name="properties">What to compute (a subset of <see cref="ImplementedProperties"/>).</param>
    /// <param name="cancellationToken">Cancellation.</param>
    public CalculationResult Calculate(Structure structure, CalculatorProperties properties, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(structure);
        this.ThrowIfNotImplemented(properties);
        structure.Validate(Structure.DefaultMinimumDistanceA, allowLeftHandedCell: true);
        var envs = Kernel.Describe(structure);
        int n = structure.AtomCount, d = Kernel.Settings.Length;
        bool wantForces = properties.HasFlag(CalculatorProperties.Forces);
        bool wantStress = properties.HasFlag(CalculatorProperties.Stress) && structure.Pbc.AllPeriodic;
        bool derivatives = wantForces || wantStress;
        var local = new double[n];
        var forces = new Vec3[n];
        Span<double> virial = stackalloc double[6];
        virial.Clear();
        var unit = new double[d];
        var y = new double[d];
        var g = new double[d];
        double[] contracted = [];
        // Q x̂ for every atom of a quadratic-form species at once: each row of Q is read once per structure
        // and used for all of them (Q is D² numbers, far beyond the caches).
        var quadY = new double[n][];
        foreach (var (z, q) in _q)
        {
            var atoms = Enumerable.Range(0, n).Where(i => envs[i].CentralSpecies == z && envs[i].B2Norm >= B2Kernel.EmptyNorm).ToArray();
            var units = atoms.Select(i =>
            {
                var b2 = envs[i].B2;
                double inv = 1 / envs[i].B2Norm;
                var u = new double[d];
                for (int p = 0; p < d; p++)
                {
                    u[p] = b2[p] * inv;
                }

                return u;
            }).ToArray();
            foreach (int i in atoms)
            {
                quadY[i] = new double[d];
            }

            for (int r = 0; r < d; r++)
            {
                var row = q.AsSpan(r * d, d);
                for (int a = 0; a < atoms.Length; a++)
                {
                    quadY[atoms[a]][r] = DenseKernels.Dot(row, units[a]);
                }
            }
        }

        for (int i = 0; i < n; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var e = envs[i];
            local[i] = _reference.EnergyEv(e.CentralSpecies);
            bool quadratic = _q.ContainsKey(e.CentralSpecies);
            if (!(e.B2Norm >= B2Kernel.EmptyNorm) || (!quadratic && !_direct.ContainsKey(e.CentralSpecies)))
            {
                continue;
            }

            var b2 = e.B2;
            double inv = 1 / e.B2Norm;
            for (int p = 0; p < d; p++)
            {
                unit[p] = b2[p] * inv;
            }

            // y = Q x̂ = σ² Σ_u w_u (û·x̂) û.
            if (quadratic)
            {
                quadY[i].CopyTo(y, 0);
            }
            else
            {
                Array.Clear(y);
                var (units, weights) = _direct[e.CentralSpecies];
                for (int u = 0; u < units.Count; u++)
                {
                    double a = weights[u] * DenseKernels.Dot(units[u], unit);
                    var uu = units[u];
                    for (int p = 0; p < d; p++)
                    {
                        y[p] += a * uu[p];
                    }
                }
            }

            double eps = DenseKernels.Dot(unit, y);
            local[i] += eps;
            if (!derivatives)
            {
                continue;
            }

            // ∂ε/∂x = 2 (Q x̂ − ε x̂)/|x|.
            for (int p = 0; p < d; p++)
            {
                g[p] = 2 * (y[p] - eps * unit[p]) * inv;
            }

            int nk = e.ManyBodyNeighborCount;
            if (contracted.Length < 3 * nk)
            {
                contracted = new double[3 * nk];
            }

            B2Descriptor.ContractGradient(e, g, contracted);
            var nb = e.ManyBodyNeighbors;
            for (int k = 0; k < nk; k++)
            {
                var f = new Vec3(contracted[3 * k], contracted[3 * k + 1], contracted[3 * k + 2]);
                forces[nb[k]] -= f;
                forces[i] += f;
                var r = e.ManyBodyVector(k);
                virial[0] += f.X * r.X;
                virial[1] += f.Y * r.Y;
                virial[2] += f.Z * r.Z;
                virial[3] += f.Y * r.Z;
                virial[4] += f.X * r.Z;
                virial[5] += f.X * r.Y;
            }
        }

        double energy = local.Sum();
        double invV = wantStress ? 1 / structure.VolumeA3 : 0;
        return new CalculationResult
        {
            EnergyEv = properties.HasFlag(CalculatorProperties.Energy) ? energy : null,
            ForcesEvPerA = wantForces ? forces : null,
            StressEvPerA3 = wantStress ? Voigt.FromSpan([virial[0] * invV, virial[1] * invV, virial[2] * invV, virial[3] * invV, virial[4] * invV, virial[5] * invV]) : null,
            LocalEnergiesEv = properties.HasFlag(CalculatorProperties.LocalEnergies) ? local : null,
        };
    }
}

/// <summary>How a <see cref="B2MeanMap"/> evaluates Q x̂ for a species.</summary>
public enum B2MeanMapForm
{
    /// <summary>Per species, the quadratic form when it has more than D/2 inducing environments, else the direct sum.</summary>
    Automatic,

    /// <summary>Always the precomputed D × D quadratic form: cost independent of M.</summary>
    Quadratic,

    /// <summary>Always the direct sum over the inducing environments: cost ∝ M.</summary>
    Direct,
}
