using Gpff.Geometry;

namespace Gpff.Dynamics.MolecularDynamics;

/// <summary>Maxwell–Boltzmann velocities (ASE's MaxwellBoltzmannDistribution + Stationary).</summary>
public static class MaxwellBoltzmann
{
    /// <summary>
    /// Draws velocities (Å/fs) from the Maxwell–Boltzmann distribution at a temperature: each component
    /// is normal with variance k_B·T/m. Reproducible for a given seed.
    /// </summary>
    /// <param name="massesAmu">Atomic masses in amu (positive).</param>
    /// <param name="temperatureK">Temperature in K (≥ 0).</param>
    /// <param name="seed">Seed of the random numbers.</param>
    /// <param name="zeroTotalMomentum">Remove the centre-of-mass velocity (the total momentum is then zero).</param>
    /// <param name="exactTemperature">
    /// Rescale so that the kinetic temperature is exactly <paramref name="temperatureK"/>, counting
    /// 3N − 3 degrees of freedom when the momentum is removed, else 3N.
    /// </param>
    public static Vec3[] SampleVelocities(ReadOnlySpan<double> massesAmu, double temperatureK, int seed, bool zeroTotalMomentum = true, bool exactTemperature = false)
    {
        DynamicsArguments.NonNegative(temperatureK, nameof(temperatureK), "K", "the temperature");

        int n = massesAmu.Length;
        for (int i = 0; i < n; i++)
        {
            if (!(massesAmu[i] > 0) || !double.IsFinite(massesAmu[i]))
            {
                throw new ArgumentOutOfRangeException(nameof(massesAmu), $"Atom {i} has mass {massesAmu[i]} amu; masses must be positive.");
            }
        }

        var rng = new GaussianRandom(seed);
        var v = new Vec3[n];
        double kT = MdUnits.BoltzmannEvPerK * temperatureK;
        for (int i = 0; i < n; i++)
        {
            double sd = Math.Sqrt(kT / massesAmu[i] * MdUnits.AccelerationAPerFs2);
            v[i] = new Vec3(sd * rng.Next(), sd * rng.Next(), sd * rng.Next());
        }

        if (zeroTotalMomentum && n > 0)
        {
            RemoveTotalMomentum(massesAmu, v);
        }

        if (exactTemperature && n > 0 && temperatureK > 0)
        {
            int dof = 3 * n - (zeroTotalMomentum ? 3 : 0);
            double t = KineticTemperatureK(massesAmu, v, dof);
            if (t > 0)
            {
                double f = Math.Sqrt(temperatureK / t);
                for (int i = 0; i < n; i++)
                {
                    v[i] *= f;
                }
            }
        }

        return v;
    }

    /// <summary>Subtracts the centre-of-mass velocity, so that Σ mᵢvᵢ = 0.</summary>
    /// <param name="massesAmu">Masses in amu.</param>
    /// <param name="velocitiesAPerFs">Velocities in Å/fs, changed in place.</param>
    public static void RemoveTotalMomentum(ReadOnlySpan<double> massesAmu, Span<Vec3> velocitiesAPerFs)
    {
        var p = Vec3.Zero;
        double m = 0;
        for (int i = 0; i < massesAmu.Length; i++)
        {
            p += massesAmu[i] * velocitiesAPerFs[i];
            m += massesAmu[i];
        }

        var vcm = p / m;
        for (int i = 0; i < velocitiesAPerFs.Length; i++)
        {
            velocitiesAPerFs[i] -= vcm;
        }
    }

    /// <summary>Kinetic energy Σ ½mᵢvᵢ² in eV.</summary>
    /// <param name="massesAmu">Masses in amu.</param>
    /// <param name="velocitiesAPerFs">Velocities in Å/fs.</param>
    public static double KineticEnergyEv(ReadOnlySpan<double> massesAmu, ReadOnlySpan<Vec3> velocitiesAPerFs)
    {
        double sum = 0;
        for (int i = 0; i < massesAmu.Length; i++)
        {
            sum += massesAmu[i] * velocitiesAPerFs[i].LengthSquared;
        }

        return 0.5 * sum * MdUnits.AmuA2PerFs2InEv;
    }

    /// <summary>Kinetic temperature 2·E_kin/(dof·k_B) in K.</summary>
    /// <param name="massesAmu">Masses in amu.</param>
    /// <param name="velocitiesAPerFs">Velocities in Å/fs.</param>
    /// <param name="degreesOfFreedom">Degrees of freedom (3N, or 3N − 3 with the momentum fixed).</param>
    public static double KineticTemperatureK(ReadOnlySpan<double> massesAmu, ReadOnlySpan<Vec3> velocitiesAPerFs, int degreesOfFreedom)
        => degreesOfFreedom > 0 ? 2 * KineticEnergyEv(massesAmu, velocitiesAPerFs) / (degreesOfFreedom * MdUnits.BoltzmannEvPerK) : 0;
}

/// <summary>
/// Standard normal deviates (Box–Muller over xoshiro256**, seeded by SplitMix64), reproducible per seed,
/// with a state that can be saved and restored (<see cref="State"/>) so that a checkpointed thermostat
/// continues exactly (<see cref="System.Random"/>'s state cannot be saved).
/// </summary>
internal sealed class GaussianRandom
{
    private ulong _s0, _s1, _s2, _s3;
    private double? _spare;

    public GaussianRandom(int seed)
    {
        ulong x = unchecked((ulong)(long)seed);
        _s0 = SplitMix64(ref x);
        _s1 = SplitMix64(ref x);
        _s2 = SplitMix64(ref x);
        _s3 = SplitMix64(ref x);
    }

    /// <summary>The generator's state: four 64-bit words and the spare deviate of Box–Muller (or null).</summary>
    public RandomState State
    {
        get => new([_s0, _s1, _s2, _s3], _spare);
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            if (value.Words is not { Length: 4 } w || (w[0] | w[1] | w[2] | w[3]) == 0)
            {
                throw new ArgumentException("A random-number state has four 64-bit words, not all zero.", nameof(value));
            }

            (_s0, _s1, _s2, _s3) = (w[0], w[1], w[2], w[3]);
            _spare = value.Spare;
        }
    }

    public double Next()
    {
        if (_spare is { } s)
        {
            _spare = null;
            return s;
        }

        double u1 = 1.0 - NextDouble(); // (0, 1]
        double u2 = NextDouble();
        double r = Math.Sqrt(-2.0 * Math.Log(u1));
        _spare = r * Math.Sin(2 * Math.PI * u2);
        return r * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    private double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    private ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    private static ulong SplitMix64(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}

/// <summary>The saved state of a thermostat's random numbers (see <see cref="IntegratorState"/>).</summary>
/// <param name="Words">The four 64-bit words of the xoshiro256** generator.</param>
/// <param name="Spare">The second deviate of the last Box–Muller pair, not yet used (null when none).</param>
public sealed record RandomState(ulong[] Words, double? Spare);
