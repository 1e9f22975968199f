using System.Globalization;
using MathNet.Numerics.LinearAlgebra;

namespace Gpff.Regression;

/// <summary>
/// The prior mean of the energy: a constant reference energy μ_s per species (eV/atom), so that the
/// prior mean of a structure's total energy is Σ_s n_s μ_s and the GP learns only what is left. This
/// is what lets total energies of different compositions (pw.x totals of about −1300 eV/atom for
/// Ba–Rh–O) be learned together. Fitted by least squares on energies per atom, (E − Σ n_s μ_s)/N, so
/// that small and large cells weigh alike.
/// </summary>
/// <remarks>
/// When the training compositions are linearly dependent (BaO, RhO2, BaRhO3 = BaO + RhO2 and Ba2RhO4
/// span only a plane in (Ba, Rh, O) space), μ is not determined: the minimum-norm solution is taken
/// and <see cref="Rank"/> &lt; the number of species. The prior mean is then exact for every
/// composition in the span of the training compositions and arbitrary outside it; <see
/// cref="IsInSpan"/> tells which.
/// </remarks>
public sealed class SpeciesReferenceEnergies
{
    private readonly Dictionary<int, double> _mu;
    private readonly double[][] _span; // orthonormal basis of the training compositions, over Species

    private SpeciesReferenceEnergies(int[] species, double[] mu, int rank, double[][] span, double rmsResidual)
    {
        Species = species;
        _mu = species.Select((z, i) => (z, mu[i])).ToDictionary(p => p.z, p => p.Item2);
        Rank = rank;
        _span = span;
        RmsResidualEvPerAtom = rmsResidual;
    }

    /// <summary>Atomic numbers with a reference energy, ascending.</summary>
    public IReadOnlyList<int> Species { get; }

    /// <summary>Rank of the composition matrix; equal to the number of species when μ is fully determined.</summary>
    public int Rank { get; }

    /// <summary>True when the training compositions do not determine every μ_s (see remarks).</summary>
    public bool IsRankDeficient => Rank < Species.Count;

    /// <summary>Root-mean-square residual of the fit over the training energies, eV/atom.</summary>
    public double RmsResidualEvPerAtom { get; }

    /// <summary>The reference energy of a species in eV/atom.</summary>
    /// <param name="atomicNumber">Z.</param>
    /// <exception cref="KeyNotFoundException">The species was not in the fit.</exception>
    public double EnergyEv(int atomicNumber) => _mu.TryGetValue(atomicNumber, out double v)
        ? v
        : throw new KeyNotFoundException($"No reference energy for {Elements.Symbol(atomicNumber)}: the model knows {string.Join(", ", Species.Select(Elements.Symbol))}.");

    /// <summary>The prior mean of a total energy, Σ_i μ(Z_i), in eV.</summary>
    /// <param name="atomicNumbers">Z of every atom.</param>
    public double PriorMeanEv(ReadOnlySpan<int> atomicNumbers)
    {
        double e = 0;
        foreach (int z in atomicNumbers)
        {
            e += EnergyEv(z);
        }

        return e;
    }

    /// <summary>True when the composition lies in the span of the training compositions, so that its prior mean is determined by the data.</summary>
    /// <param name="atomicNumbers">Z of every atom.</param>
    public bool IsInSpan(ReadOnlySpan<int> atomicNumbers)
    {
        var c = new double[Species.Count];
        foreach (int z in atomicNumbers)
        {
            int k = IndexOf(z);
            if (k < 0)
            {
                return false;
            }

            c[k]++;
        }

        double norm2 = c.Sum(v => v * v), proj2 = 0;
        foreach (var b in _span)
        {
            double p = 0;
            for (int k = 0; k < c.Length; k++)
            {
                p += b[k] * c[k];
            }

            proj2 += p * p;
        }

        return norm2 - proj2 <= 1e-10 * Math.Max(norm2, 1);
    }

    /// <summary>Fits μ_s by least squares (minimum norm when under-determined) to total energies.</summary>
    /// <param name="structures">Atomic numbers of each structure's atoms with its total energy in eV.</param>
    /// <returns>The fitted reference energies.</returns>
    /// <exception cref="ArgumentException">No structures, an empty structure, or a non-finite energy.</exception>
    public static SpeciesReferenceEnergies Fit(IEnumerable<(IReadOnlyList<int> AtomicNumbers, double EnergyEv)> structures)
    {
        ArgumentNullException.ThrowIfNull(structures);
        var list = structures.ToList();
        if (list.Count == 0)
        {
            throw new ArgumentException("At least one structure with an energy is needed to fit species reference energies.", nameof(structures));
        }

        var species = list.SelectMany(s => s.AtomicNumbers).Distinct().Order().ToArray();
        int m = list.Count, p = species.Length;
        var a = Matrix<double>.Build.Dense(m, p);
        var b = Vector<double>.Build.Dense(m);
        for (int r = 0; r < m; r++)
        {
            var (zs, e) = list[r];
            if (zs.Count == 0)
            {
                throw new ArgumentException($"Structure {r} has no atoms.", nameof(structures));
            }

            if (!double.IsFinite(e))
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Structure {r} has a non-finite energy {e}."), nameof(structures));
            }

            foreach (int z in zs)
            {
                a[r, Array.BinarySearch(species, z)] += 1.0 / zs.Count;
            }

            b[r] = e / zs.Count;
        }

        var svd = a.Svd(computeVectors: true);
        var sv = svd.S;
        double tol = Math.Max(m, p) * sv[0] * 1e-12;
        int rank = sv.Count(v => v > tol);
        var ut = svd.U.TransposeThisAndMultiply(b);
        var mu = Vector<double>.Build.Dense(p);
        var span = new double[rank][];
        for (int k = 0; k < rank; k++)
        {
            var v = svd.VT.Row(k);
            mu += (ut[k] / sv[k]) * v;
            span[k] = v.ToArray();
        }

        var residual = a * mu - b;
        double rms = Math.Sqrt(residual.DotProduct(residual) / m);
        return new SpeciesReferenceEnergies(species, mu.ToArray(), rank, span, rms);
    }

    /// <summary>Reference energies given by the user (e.g. isolated-atom or elemental energies), eV/atom.</summary>
    /// <param name="energiesEvByAtomicNumber">μ per atomic number.</param>
    public static SpeciesReferenceEnergies FromValues(IReadOnlyDictionary<int, double> energiesEvByAtomicNumber)
    {
        ArgumentNullException.ThrowIfNull(energiesEvByAtomicNumber);
        var species = energiesEvByAtomicNumber.Keys.Order().ToArray();
        foreach (int z in species)
        {
            if (!double.IsFinite(energiesEvByAtomicNumber[z]))
            {
                throw new ArgumentException($"The reference energy of {Elements.Symbol(z)} is not finite.", nameof(energiesEvByAtomicNumber));
            }
        }

        var span = species.Select((_, i) => species.Select((_, k) => k == i ? 1.0 : 0.0).ToArray()).ToArray();
        return new SpeciesReferenceEnergies(species, species.Select(z => energiesEvByAtomicNumber[z]).ToArray(), species.Length, span, double.NaN);
    }

    private int IndexOf(int z)
    {
        for (int k = 0; k < Species.Count; k++)
        {
            if (Species[k] == z)
            {
                return k;
            }
        }

        return -1;
    }
}
