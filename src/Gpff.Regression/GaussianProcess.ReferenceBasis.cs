using Gpff.Descriptors;
using Gpff.Kernels;
using Gpff.Regression.LinearAlgebra;

namespace Gpff.Regression;

/// <summary>
/// A Gaussian prior on the per-species reference energies μ (eV/atom), which turns them into explicit
/// basis functions of the GP (Rasmussen &amp; Williams §2.7): the total energy is
/// E = Σ_s n_s μ_s + Σ_i ε_i with μ ~ N(b, τ² I), b the least-squares reference energies (or the fixed
/// <see cref="GaussianProcessOptions.ReferenceEnergies"/>) and τ = <paramref name="StandardDeviationEvPerAtom"/>.
/// The posterior mean of μ (eq. 2.42) replaces the fixed prior mean, and its posterior covariance enters
/// every predictive variance (eq. 2.41): energies of compositions the training compositions determine
/// get a small addition; a composition outside their span gets a standard deviation of order τ times its
/// component outside the span (<see cref="SpeciesReferenceEnergies.IsInSpan"/> flags it).
/// </summary>
/// <param name="StandardDeviationEvPerAtom">τ, eV/atom: how far the reference energies may lie from b a priori.</param>
public sealed record ReferenceEnergyPrior(double StandardDeviationEvPerAtom)
{
    /// <summary>Default τ: 1 eV/atom, far wider than the spread of formation energies (so the data decide within the span), small enough that an extrapolated composition's σ is finite and plainly large.</summary>
    public const double DefaultStandardDeviationEvPerAtom = 1.0;

    /// <summary>Throws when τ is not positive and finite.</summary>
    public void Validate()
    {
        if (!(StandardDeviationEvPerAtom > 0) || !double.IsFinite(StandardDeviationEvPerAtom))
        {
            throw new ArgumentOutOfRangeException(nameof(StandardDeviationEvPerAtom), StandardDeviationEvPerAtom, "The standard deviation of the reference-energy prior must be positive and finite (eV/atom).");
        }
    }
}

public sealed partial class GaussianProcess
{
    private SpeciesReferenceEnergies? _referencePriorMean;   // b
    private double[]? _basisLower;                           // G = L⁻¹Hᵀ, N × p column-major
    private double[]? _referencePosteriorCovariance;         // A⁻¹ = (B⁻¹ + H C⁻¹ Hᵀ)⁻¹, p × p

    /// <summary>
    /// The reference-energy prior's share of a predictive variance, for the mapped GP's variance map: the species
    /// order, G = L⁻¹Hᵀ (N × p column-major) and A⁻¹ (p × p); null without a prior or before training.
    /// </summary>
    internal (IReadOnlyList<int> Species, double[] BasisLower, double[] PosteriorCovariance)? ReferenceVarianceParts =>
        Options.ReferenceEnergyPrior is null || _basisLower is null || _referencePosteriorCovariance is null
            ? null
            : (_referencePriorMean!.Species, _basisLower, _referencePosteriorCovariance);

    /// <summary>
    /// With a <see cref="GaussianProcessOptions.ReferenceEnergyPrior"/>: the prior mean b of the reference
    /// energies (the least-squares fit, or the fixed ones); <see cref="ReferenceEnergies"/> is then the
    /// posterior mean. Null without a prior or before training.
    /// </summary>
    public SpeciesReferenceEnergies? ReferenceEnergyPriorMean => Options.ReferenceEnergyPrior is null ? null : _referencePriorMean;

    /// <summary>
    /// With a <see cref="GaussianProcessOptions.ReferenceEnergyPrior"/>: the posterior covariance of the
    /// reference energies, (B⁻¹ + H C⁻¹ Hᵀ)⁻¹ in eV² per atom², p × p over
    /// <see cref="SpeciesReferenceEnergies.Species"/> (row-major); null otherwise or before training. Uncalibrated.
    /// </summary>
    public double[,]? ReferenceEnergyCovariance
    {
        get
        {
            if (_referencePosteriorCovariance is not { } a || Options.ReferenceEnergyPrior is null)
            {
                return null;
            }

            int p = _referencePriorMean!.Species.Count;
            var c = new double[p, p];
            for (int i = 0; i < p; i++)
            {
                for (int j = 0; j < p; j++)
                {
                    c[i, j] = a[j * p + i];
                }
            }

            return c;
        }
    }

    /// <summary>
    /// The posterior of the reference energies (R&amp;W eq. 2.42) from the current factor:
    /// β̄ = A⁻¹(H C⁻¹ y + B⁻¹ b), A = B⁻¹ + H C⁻¹ Hᵀ, with H the species counts of the energy labels;
    /// <see cref="ReferenceEnergies"/> becomes β̄ (the span of the training compositions kept from b).
    /// </summary>
    private void UpdateReferencePosterior()
    {
        var prior = Options.ReferenceEnergyPrior!;
        prior.Validate();
        var b = Options.ReferenceEnergies ?? _reference!;
        _referencePriorMean = b;
        var (g, a) = ReferenceSystem(b, prior);
        int n = LabelCount, p = b.Species.Count;
        var y = new double[n];
        for (int j = 0; j < _entries.Count; j++)
        {
            _entries[j].Values.CopyTo(y, _offsets[j]);
        }

        _factor!.SolveLowerInPlace(y, 1);   // L⁻¹y
        double tau2 = prior.StandardDeviationEvPerAtom * prior.StandardDeviationEvPerAtom;
        var bValues = b.Values();
        var z = new double[p];
        for (int k = 0; k < p; k++)
        {
            double sum = 0;
            for (int i = 0; i < n; i++)
            {
                sum += g[(long)k * n + i] * y[i];
            }

            z[k] = sum + bValues[k] / tau2;
        }

        var beta = new double[p];
        for (int k = 0; k < p; k++)
        {
            for (int l = 0; l < p; l++)
            {
                beta[k] += a[l * p + k] * z[l];
            }
        }

        _reference = SpeciesReferenceEnergies.Restore(b.Species.ToArray(), beta, b.Rank, b.SpanBasis, b.RmsResidualEvPerAtom);
    }

    /// <summary>G = L⁻¹Hᵀ and A⁻¹ for prior mean b, stored for predictions; returned too.</summary>
    private (double[] G, double[] AInverse) ReferenceSystem(SpeciesReferenceEnergies b, ReferenceEnergyPrior prior)
    {
        int n = LabelCount, p = b.Species.Count;
        var g = new double[(long)n * p];
        for (int j = 0; j < _entries.Count; j++)
        {
            var e = _entries[j];
            if (!e.Labels.Energy)
            {
                continue;
            }

            var counts = Counts(b, e.Structure.AtomicNumbers);
            for (int k = 0; k < p; k++)
            {
                g[(long)k * n + _offsets[j]] = counts[k];
            }
        }

        _factor!.SolveLowerInPlace(g, p);
        double tau2 = prior.StandardDeviationEvPerAtom * prior.StandardDeviationEvPerAtom;
        var a = new double[p * p];
        for (int k = 0; k < p; k++)
        {
            for (int l = k; l < p; l++)
            {
                double sum = 0;
                for (int i = 0; i < n; i++)
                {
                    sum += g[(long)k * n + i] * g[(long)l * n + i];
                }

                a[l * p + k] = a[k * p + l] = sum + (k == l ? 1 / tau2 : 0);
            }
        }

        var ainv = CholeskyFactorization.Factor(a, p, new CholeskyOptions { AllowJitter = false, Backend = LinearAlgebraBackendKind.Managed }).InverseColumnMajor();
        _basisLower = g;
        _referencePosteriorCovariance = ainv;
        return (g, ainv);
    }

    /// <summary>Restores the reference prior from a model file: b as stored, G and A⁻¹ recomputed from the restored factor.</summary>
    internal void RestoreReferencePrior(SpeciesReferenceEnergies priorMean)
    {
        _referencePriorMean = priorMean;
        ReferenceSystem(priorMean, Options.ReferenceEnergyPrior!);
    }

    /// <summary>Species counts of a structure over the species of b.</summary>
    private static double[] Counts(SpeciesReferenceEnergies b, ReadOnlySpan<int> atomicNumbers)
    {
        var counts = new double[b.Species.Count];
        foreach (int z in atomicNumbers)
        {
            int k = IndexOfSpecies(b, z);
            if (k < 0)
            {
                throw new KeyNotFoundException($"No reference energy for {Elements.Symbol(z)}: the model knows {string.Join(", ", b.Species.Select(Elements.Symbol))}.");
            }

            counts[k]++;
        }

        return counts;
    }

    private static int IndexOfSpecies(SpeciesReferenceEnergies b, int z)
    {
        for (int k = 0; k < b.Species.Count; k++)
        {
            if (b.Species[k] == z)
            {
                return k;
            }
        }

        return -1;
    }

    /// <summary>R = h* − Gᵀ(L⁻¹k*) for one test label, from its basis vector h* and its column L⁻¹k*.</summary>
    private double[] ReferenceResidual(double[] h, ReadOnlySpan<double> lk)
    {
        int n = LabelCount, p = h.Length;
        var g = _basisLower!;
        var r = (double[])h.Clone();
        for (int k = 0; k < p; k++)
        {
            double sum = 0;
            for (int i = 0; i < n; i++)
            {
                sum += g[(long)k * n + i] * lk[i];
            }

            r[k] -= sum;
        }

        return r;
    }

    private double QuadraticForm(double[] r1, double[] r2)
    {
        var a = _referencePosteriorCovariance!;
        int p = r1.Length;
        double s = 0;
        for (int k = 0; k < p; k++)
        {
            for (int l = 0; l < p; l++)
            {
                s += r1[k] * a[l * p + k] * r2[l];
            }
        }

        return s;
    }

    /// <summary>
    /// Adds Rᵀ A⁻¹ R (R&amp;W eq. 2.41) to the latent variance of every predicted label: h* is the species
    /// counts for the total energy, the unit vector of the atom's species for a local energy, 0 for forces
    /// and stresses (their R = −H C⁻¹ k* still carries the correlation with the reference energies).
    /// </summary>
    /// <param name="atomicNumbers">Species of the structure's atoms.</param>
    /// <param name="labels">The labels predicted.</param>
    /// <param name="lk">L⁻¹K*, N × m column-major.</param>
    /// <param name="variance">Variances to add to.</param>
    private void AddReferenceVariance(ReadOnlySpan<int> atomicNumbers, LabelSelection labels, double[] lk, double[] variance)
    {
        if (Options.ReferenceEnergyPrior is null || _basisLower is null)
        {
            return;
        }

        var b = _referencePriorMean!;
        int n = LabelCount, p = b.Species.Count;
        var counts = Counts(b, atomicNumbers);
        var z = atomicNumbers.ToArray();
        for (int r = 0; r < variance.Length; r++)
        {
            var h = new double[p];
            if (r < labels.ForceOffset)
            {
                counts.CopyTo(h, 0);
            }
            else if (r >= labels.LocalEnergyOffset)
            {
                h[IndexOfSpecies(b, z[labels.LocalEnergyAtoms[r - labels.LocalEnergyOffset]])] = 1;
            }

            var res = ReferenceResidual(h, lk.AsSpan((int)((long)r * n), n));
            variance[r] += QuadraticForm(res, res);
        }
    }

    /// <summary>Rᵀ A⁻¹ R over the total energies of several structures (null without a prior); lk = L⁻¹K*, N × m column-major.</summary>
    private double[,]? ReferenceCovariance(IReadOnlyList<Structure> structures, double[] lk)
    {
        if (Options.ReferenceEnergyPrior is null || _basisLower is null)
        {
            return null;
        }

        int n = LabelCount, m = structures.Count;
        var residuals = new double[m][];
        for (int t = 0; t < m; t++)
        {
            residuals[t] = ReferenceResidual(Counts(_referencePriorMean!, structures[t].AtomicNumbers), lk.AsSpan((int)((long)t * n), n));
        }

        var c = new double[m, m];
        for (int a = 0; a < m; a++)
        {
            for (int b = a; b < m; b++)
            {
                c[a, b] = c[b, a] = QuadraticForm(residuals[a], residuals[b]);
            }
        }

        return c;
    }
}
