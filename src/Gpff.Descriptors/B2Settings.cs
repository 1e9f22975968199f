using System.Globalization;

namespace Gpff.Descriptors;

/// <summary>
/// Settings of the B2 many-body descriptor (the atomic cluster expansion's power spectrum as FLARE++
/// defines it, Vandermause et al. 2022): neighbours within <see cref="CutoffA"/>, radial basis
/// g_n(r) = T_n(r/r_c) f_c(r) (Chebyshev polynomials of the first kind of the scaled distance,
/// n = 0 … <see cref="RadialCount"/> − 1, times the cutoff function), real orthonormal spherical harmonics
/// Y_lm up to <see cref="AngularMax"/>, one channel per neighbour species.
/// <para>
/// Neighbour species are numbered by their position in <see cref="Species"/> (FLARE++'s "coded
/// species"): s = index of the atomic number in the list. Radial channel ν = s·N + n. The descriptor is
/// B2[ν₁, ν₂, l] = Σ_m c_{ν₁lm} c_{ν₂lm} over ν₁ ≤ ν₂, in the order ν₁ (outer), ν₂, l (inner), with
/// c_{νlm} = Σ_{neighbours k of species s} g_n(r_k) Y_lm(r̂_k); its length is
/// K(K+1)/2·(l_max + 1) with K = S·N.
/// </para>
/// </summary>
public sealed record B2Settings
{
    private readonly int[] _species;

    /// <summary>Creates B2 settings.</summary>
    /// <param name="species">Atomic numbers of the species, in the order that numbers the descriptor's species channels (no repeats).</param>
    /// <param name="radialCount">N, the number of radial functions (FLARE++'s n_max), ≥ 1.</param>
    /// <param name="angularMax">l_max, the largest angular momentum, ≥ 0.</param>
    /// <param name="cutoffA">Cutoff radius r_c in Å.</param>
    /// <param name="cutoffFunction">Cutoff function multiplying the radial basis (quadratic (r − r_c)² by default, as FLARE++'s "quadratic").</param>
    public B2Settings(IReadOnlyList<int> species, int radialCount, int angularMax, double cutoffA, CutoffFunction cutoffFunction = CutoffFunction.Quadratic)
    {
        ArgumentNullException.ThrowIfNull(species);
        _species = [.. species];
        RadialCount = radialCount;
        AngularMax = angularMax;
        CutoffA = cutoffA;
        CutoffFunction = cutoffFunction;
        Validate();
    }

    /// <summary>The largest l_max accepted (the descriptor grows as (l_max + 1)).</summary>
    public const int MaxAngular = 12;

    /// <summary>The largest number of radial functions accepted.</summary>
    public const int MaxRadial = 32;

    /// <summary>Default number of radial functions N (FLARE++ tutorials' n_max = 8).</summary>
    public const int DefaultRadialCount = 8;

    /// <summary>Default l_max (FLARE++ tutorials' l_max = 3).</summary>
    public const int DefaultAngularMax = 3;

    /// <summary>Atomic numbers of the species channels, in order.</summary>
    public IReadOnlyList<int> Species => _species;

    /// <summary>N, the number of radial functions per species.</summary>
    public int RadialCount { get; }

    /// <summary>l_max, the largest angular momentum.</summary>
    public int AngularMax { get; }

    /// <summary>Cutoff radius r_c in Å.</summary>
    public double CutoffA { get; }

    /// <summary>The cutoff function multiplying the radial basis.</summary>
    public CutoffFunction CutoffFunction { get; }

    /// <summary>Number of species S.</summary>
    public int SpeciesCount => _species.Length;

    /// <summary>Number of radial channels K = S·N.</summary>
    public int ChannelCount => _species.Length * RadialCount;

    /// <summary>Number of spherical harmonics (l_max + 1)².</summary>
    public int HarmonicCount => (AngularMax + 1) * (AngularMax + 1);

    /// <summary>Length of the descriptor, K(K + 1)/2 · (l_max + 1).</summary>
    public int Length => ChannelCount * (ChannelCount + 1) / 2 * (AngularMax + 1);

    /// <summary>The species channel of an atomic number, or −1 when it is not one of <see cref="Species"/>.</summary>
    /// <param name="atomicNumber">Atomic number.</param>
    public int SpeciesIndex(int atomicNumber) => Array.IndexOf(_species, atomicNumber);

    /// <summary>Throws a clear exception when a setting is out of range.</summary>
    public void Validate()
    {
        if (_species.Length == 0)
        {
            throw new ArgumentException("The B2 descriptor needs at least one species.", nameof(Species));
        }

        if (_species.Distinct().Count() != _species.Length)
        {
            throw new ArgumentException($"The B2 species list repeats an element ({string.Join(", ", _species)}).", nameof(Species));
        }

        foreach (int z in _species)
        {
            if (z < 1 || z > 118)
            {
                throw new ArgumentOutOfRangeException(nameof(Species), z, $"The B2 species must be atomic numbers 1–118, got {z}.");
            }
        }

        if (RadialCount < 1 || RadialCount > MaxRadial)
        {
            throw new ArgumentOutOfRangeException(nameof(RadialCount), RadialCount, $"The number of B2 radial functions (n_max) must be 1–{MaxRadial}, got {RadialCount}.");
        }

        if (AngularMax < 0 || AngularMax > MaxAngular)
        {
            throw new ArgumentOutOfRangeException(nameof(AngularMax), AngularMax, $"The B2 l_max must be 0–{MaxAngular}, got {AngularMax}.");
        }

        if (!(CutoffA > 0) || !double.IsFinite(CutoffA))
        {
            throw new ArgumentOutOfRangeException(nameof(CutoffA), CutoffA, $"The B2 cutoff must be a positive finite number of Å, got {CutoffA}.");
        }

        if (!Enum.IsDefined(CutoffFunction))
        {
            throw new ArgumentOutOfRangeException(nameof(CutoffFunction), CutoffFunction, $"Unknown cutoff function {CutoffFunction}.");
        }
    }

    /// <summary>Value equality (the species lists compare element by element).</summary>
    /// <param name="other">The other settings.</param>
    public bool Equals(B2Settings? other) =>
        other is not null && RadialCount == other.RadialCount && AngularMax == other.AngularMax && CutoffA.Equals(other.CutoffA)
        && CutoffFunction == other.CutoffFunction && _species.AsSpan().SequenceEqual(other._species);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var h = new HashCode();
        h.Add(RadialCount);
        h.Add(AngularMax);
        h.Add(CutoffA);
        h.Add(CutoffFunction);
        foreach (int z in _species)
        {
            h.Add(z);
        }

        return h.ToHashCode();
    }

    /// <summary>A one-line description, e.g. "B2 n_max 8, l_max 3, r_c 5 Å, quadratic, species 8 45 56".</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"B2 n_max {RadialCount}, l_max {AngularMax}, r_c {CutoffA} Å, {Cutoffs.Name(CutoffFunction)}, species {string.Join(" ", _species)}");
}
