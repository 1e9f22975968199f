using System.Globalization;
using Gpff.Descriptors;
using Gpff.Kernels;

namespace Gpff.Regression.Mapping;

/// <summary>
/// The variance map of one unordered species pair: the <see cref="MappedVariance.Rank"/> components of the
/// compressed vector L⁻¹k*(pair) at distance r, one cubic spline each (on the grid of the pair's mean map).
/// </summary>
/// <param name="Species1">Atomic number of one atom (≤ <paramref name="Species2"/>).</param>
/// <param name="Species2">Atomic number of the other atom.</param>
/// <param name="Components">One spline per component (eV; dimension of a GP standard deviation).</param>
public sealed record PairVarianceMap(int Species1, int Species2, IReadOnlyList<UniformCubicSpline> Components);

/// <summary>
/// The variance map of one central species and neighbour pair: the components of the compressed
/// L⁻¹k*(triplet) over (r₁, r₂, r₁₂), one tricubic spline each (on the grid of the triplet's mean map).
/// </summary>
/// <param name="CentralSpecies">Atomic number of the central atom.</param>
/// <param name="Species1">Atomic number of the first neighbour (≤ <paramref name="Species2"/>).</param>
/// <param name="Species2">Atomic number of the second neighbour.</param>
/// <param name="Components">One spline per component (eV).</param>
public sealed record TripletVarianceMap(int CentralSpecies, int Species1, int Species2, IReadOnlyList<TricubicSpline> Components);

/// <summary>How a variance map was built and how close its standard deviations are to the GP's.</summary>
/// <param name="ToleranceEv">The largest difference of a local-energy standard deviation to the GP's allowed on the validation structures, eV.</param>
/// <param name="MetTolerance">Whether every validation atom meets it (total energies are reported, not required: see <see cref="MaxEnergyStdErrorEv"/>).</param>
/// <param name="Rank">Components kept (R).</param>
/// <param name="FullRank">The most components there could be: min(grid points of all maps, training labels).</param>
/// <param name="GridResidualEv2">The largest squared norm, over all grid points, of the part of L⁻¹k* the R components leave out, eV².</param>
/// <param name="MaxLocalEnergyStdErrorEv">Largest |σ_map − σ_GP| of a local energy on the validation structures, eV.</param>
/// <param name="MaxEnergyStdErrorEv">Largest |σ_map − σ_GP| of a total energy on the validation structures, eV (against the GP's latent σ). Often larger than the local energies' error: the total energy's σ is small where the data pin the sum, and k(E, E) − |Σᵢcᵢ|² then cancels the spline errors of every atom.</param>
/// <param name="ValidationStructures">Validation structures.</param>
/// <param name="ValidationAtoms">Validation atoms.</param>
public sealed record VarianceMapReport(double ToleranceEv, bool MetTolerance, int Rank, int FullRank, double GridResidualEv2,
    double MaxLocalEnergyStdErrorEv, double MaxEnergyStdErrorEv, int ValidationStructures, int ValidationAtoms)
{
    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"variance map, rank {Rank} of {FullRank} (grid residual {GridResidualEv2:G3} eV²): max |Δσ| local energy {MaxLocalEnergyStdErrorEv * 1000:G4} meV, total energy {MaxEnergyStdErrorEv * 1000:G4} meV; tolerance {ToleranceEv * 1000:G4} meV {(MetTolerance ? "met" : "NOT met")} on {ValidationAtoms} atoms of {ValidationStructures} structures");
}

/// <summary>
/// The mapped variance of a 2+3-body GP (FLARE's MGP variance, Xie et al. 2021, with one basis shared by all
/// maps). The GP's latent variance of a local energy is k(ε, ε) − |L⁻¹k*(ε)|² (+ the reference-energy prior's
/// term), and k*(ε), like the mean, is a sum over the environment's pairs and triplets; so v = L⁻¹k* is a sum
/// of per-pair and per-triplet vectors in ℝᴺ. They are compressed onto R orthonormal directions W (pivoted
/// Gram–Schmidt over the grid vectors of every map, until the largest left-out part is below a threshold) and
/// each coefficient c = Wᵀv is splined on the mean map's grid, so that
/// σ²(εᵢ) = s² [k(εᵢ, εᵢ) − |cᵢ|² + (hᵢ − M cᵢ)ᵀ A⁻¹ (hᵢ − M cᵢ)], cᵢ = Σ_pairs c₂(r) + Σ_triplets c₃(r₁, r₂, r₁₂),
/// with k(εᵢ, εᵢ) computed by the kernel from the environment alone (no training data), s the model's energy
/// calibration scale, and, with a reference-energy prior, hᵢ the unit vector of the atom's species, M = GᵀW
/// (G = L⁻¹Hᵀ) and A⁻¹ the posterior covariance of the reference energies. The total energy's variance is the
/// same with cᵢ replaced by Σᵢ cᵢ, k(εᵢ, εᵢ) by k(E, E) and hᵢ by the species counts. This is the latent σ
/// (no label noise), calibrated like the GP's own (<see cref="GaussianProcess.Calibration"/>'s energy scale):
/// what <see cref="GaussianProcess"/> reports for local and total energies with <see cref="UncertaintyKind.Latent"/>.
/// The cost per atom is independent of the training set (R per pair and triplet, plus the self term). Forces
/// have no mapped σ. Immutable.
/// </summary>
public sealed class MappedVariance
{
    private readonly double[] _projection;
    private readonly double[] _covariance;

    /// <summary>Creates a variance map from its parts.</summary>
    /// <param name="kernel">The GP's kernel (its hyperparameters give the self term k(ε, ε)).</param>
    /// <param name="rank">Components R of every map.</param>
    /// <param name="pairs">Per species pair, R splines.</param>
    /// <param name="triplets">Per central species and neighbour pair, R tricubic splines.</param>
    /// <param name="energyCalibrationScale">The model's energy calibration scale s (1: uncalibrated).</param>
    /// <param name="referenceSpecies">Species order of the reference-energy prior terms (empty without a prior).</param>
    /// <param name="referenceProjection">M = GᵀW, p × R row-major (empty without a prior).</param>
    /// <param name="referenceCovarianceEv2">A⁻¹, p × p (empty without a prior), eV².</param>
    /// <param name="report">How it was built, or null.</param>
    public MappedVariance(IKernel kernel, int rank, IReadOnlyList<PairVarianceMap> pairs, IReadOnlyList<TripletVarianceMap> triplets,
        double energyCalibrationScale, IReadOnlyList<int> referenceSpecies, double[] referenceProjection, double[] referenceCovarianceEv2, VarianceMapReport? report = null)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        ArgumentNullException.ThrowIfNull(pairs);
        ArgumentNullException.ThrowIfNull(triplets);
        ArgumentNullException.ThrowIfNull(referenceSpecies);
        ArgumentNullException.ThrowIfNull(referenceProjection);
        ArgumentNullException.ThrowIfNull(referenceCovarianceEv2);
        if (rank < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(rank), rank, "A variance map needs at least one component.");
        }

        if (pairs.Any(p => p.Components.Count != rank) || triplets.Any(t => t.Components.Count != rank))
        {
            throw new ArgumentException($"Every variance map needs {rank} components.", nameof(pairs));
        }

        int p = referenceSpecies.Count;
        if (referenceProjection.Length != p * rank || referenceCovarianceEv2.Length != p * p)
        {
            throw new ArgumentException($"The reference-energy terms of {p} species need {p} × {rank} and {p} × {p} values, got {referenceProjection.Length} and {referenceCovarianceEv2.Length}.", nameof(referenceProjection));
        }

        if (!(energyCalibrationScale > 0) || !double.IsFinite(energyCalibrationScale))
        {
            throw new ArgumentOutOfRangeException(nameof(energyCalibrationScale), energyCalibrationScale, "The energy calibration scale must be positive.");
        }

        Kernel = kernel;
        Rank = rank;
        PairMaps = pairs.ToArray();
        TripletMaps = triplets.ToArray();
        EnergyCalibrationScale = energyCalibrationScale;
        ReferenceSpecies = referenceSpecies.ToArray();
        _projection = referenceProjection;
        _covariance = referenceCovarianceEv2;
        Report = report;
    }

    /// <summary>The GP's kernel: the self term k(ε, ε) is computed with it.</summary>
    public IKernel Kernel { get; }

    /// <summary>Components R of every map.</summary>
    public int Rank { get; }

    /// <summary>Per species pair, R splines.</summary>
    public IReadOnlyList<PairVarianceMap> PairMaps { get; }

    /// <summary>Per central species and neighbour pair, R tricubic splines.</summary>
    public IReadOnlyList<TripletVarianceMap> TripletMaps { get; }

    /// <summary>The model's energy calibration scale s (standard deviations are multiplied by it).</summary>
    public double EnergyCalibrationScale { get; }

    /// <summary>Species order of the reference-energy prior terms (empty without a prior).</summary>
    public IReadOnlyList<int> ReferenceSpecies { get; }

    /// <summary>M = GᵀW, p × R row-major (empty without a prior).</summary>
    public ReadOnlySpan<double> ReferenceProjection => _projection;

    /// <summary>A⁻¹, the posterior covariance of the reference energies, p × p, eV² (empty without a prior).</summary>
    public ReadOnlySpan<double> ReferenceCovarianceEv2 => _covariance;

    /// <summary>How it was built (null when not known).</summary>
    public VarianceMapReport? Report { get; }

    /// <summary>
    /// σ² = s² [self − |c|² + (h − M c)ᵀ A⁻¹ (h − M c)] for one local or total energy; h: the species counts
    /// (a unit vector for a local energy) in <see cref="ReferenceSpecies"/> order.
    /// </summary>
    internal double Variance(double self, ReadOnlySpan<double> c, ReadOnlySpan<double> h)
    {
        double v = self;
        for (int r = 0; r < Rank; r++)
        {
            v -= c[r] * c[r];
        }

        int p = ReferenceSpecies.Count;
        if (p > 0)
        {
            Span<double> res = stackalloc double[p];
            for (int k = 0; k < p; k++)
            {
                double s = h[k];
                for (int r = 0; r < Rank; r++)
                {
                    s -= _projection[k * Rank + r] * c[r];
                }

                res[k] = s;
            }

            for (int k = 0; k < p; k++)
            {
                for (int l = 0; l < p; l++)
                {
                    v += res[k] * _covariance[k * p + l] * res[l];
                }
            }
        }

        return EnergyCalibrationScale * EnergyCalibrationScale * v;
    }

    /// <summary>Checks that the kernel is a 2-/3-body kernel with the map's descriptor.</summary>
    internal void CheckKernel(DescriptorSettings descriptor)
    {
        if (Kernel.Descriptor != descriptor)
        {
            throw new ArgumentException($"The variance map's kernel has cutoffs {Kernel.Descriptor.PairCutoffA}/{Kernel.Descriptor.TripletCutoffA} Å, the mean map {descriptor.PairCutoffA}/{descriptor.TripletCutoffA} Å.");
        }
    }
}
