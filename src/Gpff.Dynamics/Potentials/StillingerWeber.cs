using Gpff.Geometry;

namespace Gpff.Dynamics.Potentials;

/// <summary>
/// Two-body parameters of a Stillinger–Weber species pair:
/// φ₂(r) = A·ε·(B·(σ/r)^p − (σ/r)^q)·exp(σ/(r − aσ)) for r &lt; aσ, and zero beyond; the radial
/// factor of the three-body term is exp(γσ/(r − aσ)). Every derivative vanishes smoothly at the cutoff aσ.
/// </summary>
/// <param name="EpsilonEv">Energy scale ε in eV.</param>
/// <param name="SigmaA">Length scale σ in Å.</param>
/// <param name="A">Dimensionless amplitude A of φ₂.</param>
/// <param name="B">Dimensionless repulsion coefficient B of φ₂.</param>
/// <param name="P">Repulsive exponent p.</param>
/// <param name="Q">Attractive exponent q.</param>
/// <param name="CutoffRatio">a: the cutoff is aσ.</param>
/// <param name="Gamma">γ of the three-body radial factor exp(γσ/(r − aσ)) of bonds of this pair.</param>
public sealed record StillingerWeberPair(double EpsilonEv, double SigmaA, double A, double B, double P, double Q, double CutoffRatio, double Gamma)
{
    /// <summary>The cutoff aσ in Å.</summary>
    public double CutoffA => CutoffRatio * SigmaA;

    /// <summary>The original silicon parameters of Stillinger and Weber, Phys. Rev. B 31, 5262 (1985).</summary>
    public static StillingerWeberPair Silicon { get; } = new(2.1683, 2.0951, 7.049556277, 0.6022245584, 4, 0, 1.80, 1.20);

    /// <summary>Germanium in the Stillinger–Weber form with ε and σ of Ethier and Lewis, J. Mater. Res. 7, 2817 (1992).</summary>
    public static StillingerWeberPair Germanium { get; } = new(1.93, 2.181, 7.049556277, 0.6022245584, 4, 0, 1.80, 1.20);
}

/// <summary>
/// Three-body parameters for a central atom with two neighbours:
/// φ₃ = Λ·(cos θ_jik − cos θ₀)²·exp(γσ_ij/(r_ij − a_ijσ_ij))·exp(γσ_ik/(r_ik − a_ikσ_ik)).
/// </summary>
/// <param name="LambdaEv">Λ = λ·ε in eV (Stillinger–Weber silicon: 21 × 2.1683 eV).</param>
/// <param name="CosTheta0">cos θ₀ (−1/3 for the tetrahedral angle).</param>
public sealed record StillingerWeberTriplet(double LambdaEv, double CosTheta0);

/// <summary>
/// A multi-species Stillinger–Weber potential (Stillinger and Weber, Phys. Rev. B 31, 5262 (1985)) with
/// genuine two- and three-body terms, analytic forces and stress, for periodic, partly periodic or
/// free structures, including cells smaller than the cutoff (an atom then interacts with its own images).
/// E = Σ_pairs φ₂(r_ij) + Σ_i Σ_{j&lt;k} φ₃(i; j, k). Local energies: each pair's φ₂ is split equally
/// between its two atoms, each three-body term goes to its central atom; they sum to the total energy.
/// Stress in eV/Å³, Voigt order, ASE sign: (1/V)·∂E/∂ε, positive = tensile.
/// Meant as the reference potential of tests, examples and learning curves.
/// </summary>
public sealed class StillingerWeber : ICalculator
{
    private readonly int[] _species;
    private readonly StillingerWeberPair[] _pairs;       // [s1 * S + s2]
    private readonly StillingerWeberTriplet[] _triplets; // [c * S * S + s1 * S + s2]
    private readonly Dictionary<int, int> _speciesIndex;

    /// <summary>Creates a potential from its parameters. Every species pair and every (centre, pair of neighbour species) must be given.</summary>
    /// <param name="pairs">Two-body parameters per unordered species pair (atomic numbers).</param>
    /// <param name="triplets">Three-body parameters per central species and unordered pair of neighbour species.</param>
    /// <exception cref="ArgumentException">A parameter is missing, duplicated or not physical.</exception>
    public StillingerWeber(
        IEnumerable<(int Z1, int Z2, StillingerWeberPair Parameters)> pairs,
        IEnumerable<(int Center, int Z1, int Z2, StillingerWeberTriplet Parameters)> triplets)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        ArgumentNullException.ThrowIfNull(triplets);
        var pairList = pairs.ToList();
        var tripletList = triplets.ToList();
        _species = pairList.SelectMany(p => new[] { p.Z1, p.Z2 }).Distinct().Order().ToArray();
        if (_species.Length == 0)
        {
            throw new ArgumentException("A Stillinger–Weber potential needs at least one species pair.", nameof(pairs));
        }

        _speciesIndex = _species.Select((z, i) => (z, i)).ToDictionary(t => t.z, t => t.i);
        int s = _species.Length;
        _pairs = new StillingerWeberPair[s * s];
        foreach (var (z1, z2, p) in pairList)
        {
            ArgumentNullException.ThrowIfNull(p);
            if (!(p.EpsilonEv > 0) || !(p.SigmaA > 0) || !(p.CutoffRatio > 0) || !double.IsFinite(p.CutoffA) || !double.IsFinite(p.A) || !double.IsFinite(p.B)
                || !double.IsFinite(p.P) || !double.IsFinite(p.Q) || !(p.Gamma >= 0))
            {
                throw new ArgumentException($"Invalid Stillinger–Weber parameters for the pair {Elements.Symbol(z1)}–{Elements.Symbol(z2)}: {p}.", nameof(pairs));
            }

            int a = _speciesIndex[z1], b = _speciesIndex[z2];
            if (_pairs[a * s + b] is not null)
            {
                throw new ArgumentException($"The pair {Elements.Symbol(z1)}–{Elements.Symbol(z2)} is given twice.", nameof(pairs));
            }

            _pairs[a * s + b] = p;
            _pairs[b * s + a] = p;
        }

        _triplets = new StillingerWeberTriplet[s * s * s];
        foreach (var (c, z1, z2, t) in tripletList)
        {
            ArgumentNullException.ThrowIfNull(t);
            if (!_speciesIndex.TryGetValue(c, out int ci) || !_speciesIndex.TryGetValue(z1, out int a) || !_speciesIndex.TryGetValue(z2, out int b))
            {
                throw new ArgumentException($"The triplet {Elements.Symbol(c)}({Elements.Symbol(z1)}, {Elements.Symbol(z2)}) names a species without pair parameters.", nameof(triplets));
            }

            if (!double.IsFinite(t.LambdaEv) || !double.IsFinite(t.CosTheta0))
            {
                throw new ArgumentException($"Invalid Stillinger–Weber parameters for the triplet {Elements.Symbol(c)}({Elements.Symbol(z1)}, {Elements.Symbol(z2)}): {t}.", nameof(triplets));
            }

            if (_triplets[(ci * s + a) * s + b] is not null)
            {
                throw new ArgumentException($"The triplet {Elements.Symbol(c)}({Elements.Symbol(z1)}, {Elements.Symbol(z2)}) is given twice.", nameof(triplets));
            }

            _triplets[(ci * s + a) * s + b] = t;
            _triplets[(ci * s + b) * s + a] = t;
        }

        for (int a = 0; a < s; a++)
        {
            for (int b = 0; b < s; b++)
            {
                if (_pairs[a * s + b] is null)
                {
                    throw new ArgumentException($"The pair {Elements.Symbol(_species[a])}–{Elements.Symbol(_species[b])} has no parameters.", nameof(pairs));
                }

                for (int c = 0; c < s; c++)
                {
                    if (_triplets[(c * s + a) * s + b] is null)
                    {
                        throw new ArgumentException(
                            $"The triplet {Elements.Symbol(_species[c])}({Elements.Symbol(_species[a])}, {Elements.Symbol(_species[b])}) has no parameters.", nameof(triplets));
                    }
                }
            }
        }

        CutoffA = _pairs.Max(p => p.CutoffA);
    }

    /// <summary>The atomic numbers this potential knows, ascending.</summary>
    public IReadOnlyList<int> Species => _species;

    /// <summary>The largest pair cutoff aσ in Å.</summary>
    public double CutoffA { get; }

    /// <summary>The two-body parameters of a species pair.</summary>
    /// <param name="z1">Atomic number of one atom.</param>
    /// <param name="z2">Atomic number of the other.</param>
    public StillingerWeberPair PairParameters(int z1, int z2) => _pairs[Index(z1) * _species.Length + Index(z2)];

    /// <summary>The three-body parameters for a central species and two neighbour species.</summary>
    /// <param name="center">Atomic number of the central atom.</param>
    /// <param name="z1">Atomic number of one neighbour.</param>
    /// <param name="z2">Atomic number of the other neighbour.</param>
    public StillingerWeberTriplet TripletParameters(int center, int z1, int z2)
    {
        int s = _species.Length;
        return _triplets[(Index(center) * s + Index(z1)) * s + Index(z2)];
    }

    /// <summary>The original single-species silicon potential of Stillinger and Weber (1985): diamond Si at a = 5.431 Å has E = −4.3366 eV/atom.</summary>
    public static StillingerWeber Silicon()
    {
        var p = StillingerWeberPair.Silicon;
        return new StillingerWeber([(14, 14, p)], [(14, 14, 14, new StillingerWeberTriplet(21.0 * p.EpsilonEv, -1.0 / 3.0))]);
    }

    /// <summary>
    /// The default binary A–B system: Si–Ge-like (Stillinger–Weber silicon; germanium with ε = 1.93 eV,
    /// σ = 2.181 Å, λ = 31 after Ethier and Lewis 1992; mixed pairs with arithmetic-mean σ and geometric-mean ε;
    /// Λ for central atom i and neighbours j, k = λᵢ·√(ε_ij·ε_ik); tetrahedral θ₀). A reference potential with
    /// genuine two- and three-body terms, not a fitted model of SiGe. Any two species may stand in for Si and Ge.
    /// </summary>
    /// <param name="speciesA">Atomic number that takes the silicon parameters (default 14, Si).</param>
    /// <param name="speciesB">Atomic number that takes the germanium parameters (default 32, Ge).</param>
    public static StillingerWeber DefaultBinary(int speciesA = 14, int speciesB = 32)
    {
        if (speciesA == speciesB)
        {
            throw new ArgumentException($"A binary potential needs two different species, got {Elements.Symbol(speciesA)} twice.", nameof(speciesB));
        }

        var pa = StillingerWeberPair.Silicon;
        var pb = StillingerWeberPair.Germanium;
        var pab = pa with { EpsilonEv = Math.Sqrt(pa.EpsilonEv * pb.EpsilonEv), SigmaA = 0.5 * (pa.SigmaA + pb.SigmaA) };
        var lambda = new Dictionary<int, double> { [speciesA] = 21.0, [speciesB] = 31.0 };
        var pair = new Dictionary<(int, int), StillingerWeberPair>
        {
            [(speciesA, speciesA)] = pa, [(speciesB, speciesB)] = pb, [(speciesA, speciesB)] = pab, [(speciesB, speciesA)] = pab,
        };
        int[] z = [speciesA, speciesB];
        var triplets = new List<(int, int, int, StillingerWeberTriplet)>();
        foreach (int c in z)
        {
            for (int a = 0; a < 2; a++)
            {
                for (int b = a; b < 2; b++)
                {
                    double l = lambda[c] * Math.Sqrt(pair[(c, z[a])].EpsilonEv * pair[(c, z[b])].EpsilonEv);
                    triplets.Add((c, z[a], z[b], new StillingerWeberTriplet(l, -1.0 / 3.0)));
                }
            }
        }

        return new StillingerWeber([(speciesA, speciesA, pa), (speciesB, speciesB, pb), (speciesA, speciesB, pab)], triplets);
    }

    /// <summary>Energy, forces, stress (cells periodic along all axes) and local energies; no uncertainties.</summary>
    public CalculatorProperties ImplementedProperties =>
        CalculatorProperties.Energy | CalculatorProperties.Forces | CalculatorProperties.Stress | CalculatorProperties.LocalEnergies;

    /// <summary>
    /// Computes what is asked: the energies come with the pair and triplet terms; the forces and
    /// the virial (stress) are accumulated only when asked.
    /// </summary>
    /// <param name="structure">The structure; not modified.</param>
    /// <param name="properties">What to compute (a subset of <see cref="ImplementedProperties"/>).</param>
    /// <param name="cancellationToken">Cancels the calculation (checked every 64 atoms).</param>
    /// <returns>Energy (eV), forces (eV/Å), stress (eV/Å³) and local energies (eV) as asked; null for the rest.</returns>
    /// <exception cref="ArgumentException">An atom's species has no parameters (the atom is named), or two atoms coincide.</exception>
    /// <exception cref="NotSupportedException">Uncertainty was asked for.</exception>
    public CalculationResult Calculate(Structure structure, CalculatorProperties properties, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(structure);
        this.ThrowIfNotImplemented(properties);
        bool wantForces = properties.HasFlag(CalculatorProperties.Forces);
        bool wantStress = properties.HasFlag(CalculatorProperties.Stress) && structure.Pbc.AllPeriodic;
        int n = structure.AtomCount;
        int s = _species.Length;
        var species = new int[n];
        var z = structure.AtomicNumbers;
        for (int i = 0; i < n; i++)
        {
            if (!_speciesIndex.TryGetValue(z[i], out species[i]))
            {
                throw new UnknownSpeciesException(
                    $"Atom {i} is {Elements.Symbol(z[i])}, which this Stillinger–Weber potential has no parameters for (it knows {string.Join(", ", _species.Select(Elements.Symbol))}).");
            }
        }

        var list = NeighborList.Build(structure, CutoffA, NeighborListKind.Full);
        var forces = new Vec3[n];
        var local = new double[n];
        double wxx = 0, wyy = 0, wzz = 0, wyz = 0, wxz = 0, wxy = 0;
        double energy = 0;

        int maxCount = 0;
        for (int i = 0; i < n; i++)
        {
            maxCount = Math.Max(maxCount, list.Count(i));
        }

        // Per-neighbour scratch: bond inside its pair cutoff, three-body radial factor g and dg/dr.
        var inside = new bool[maxCount];
        var g = new double[maxCount];
        var dg = new double[maxCount];
        var dE = new Vec3[maxCount];

        for (int i = 0; i < n; i++)
        {
            if ((i & 63) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            var neighbors = list.Neighbors(i);
            var vectors = list.Vectors(i);
            var distances = list.Distances(i);
            int si = species[i];
            int count = neighbors.Length;
            double localEnergy = 0;

            for (int a = 0; a < count; a++)
            {
                dE[a] = Vec3.Zero;
                double r = distances[a];
                var p = _pairs[si * s + species[neighbors[a]]];
                double rc = p.CutoffA;
                inside[a] = false;
                if (r >= rc)
                {
                    continue;
                }

                if (r < 1e-6)
                {
                    throw new InvalidStructureException($"Atoms {i} and {neighbors[a]} coincide (distance {r:G3} Å).");
                }

                double sigma = p.SigmaA;
                double x = sigma / (r - rc);              // → −∞ at the cutoff
                double dx = -sigma / ((r - rc) * (r - rc)); // dx/dr
                if (x < -700)
                {
                    continue; // exp underflows: the bond is at the cutoff, every term is zero
                }

                inside[a] = true;

                // Two-body, half to each atom of the pair (this entry is i's half).
                double sr = sigma / r;
                double rep = p.B * Math.Pow(sr, p.P);
                double att = Math.Pow(sr, p.Q);
                double ex = Math.Exp(x);
                double phi = p.A * p.EpsilonEv * (rep - att) * ex;
                double dphi = p.A * p.EpsilonEv * ex * ((-p.P * rep + p.Q * att) / r + (rep - att) * dx);
                localEnergy += 0.5 * phi;
                dE[a] = (0.5 * dphi / r) * vectors[a];

                // Three-body radial factor of this bond.
                double gx = p.Gamma * x;
                g[a] = gx < -700 ? 0 : Math.Exp(gx);
                dg[a] = g[a] * p.Gamma * dx;
            }

            // Three-body terms centred on i.
            for (int a = 0; a < count; a++)
            {
                if (!inside[a] || g[a] == 0)
                {
                    continue;
                }

                var u = vectors[a];
                double ru = distances[a];
                int sa = species[neighbors[a]];
                for (int b = a + 1; b < count; b++)
                {
                    if (!inside[b] || g[b] == 0)
                    {
                        continue;
                    }

                    var t = _triplets[(si * s + sa) * s + species[neighbors[b]]];
                    if (t.LambdaEv == 0)
                    {
                        continue;
                    }

                    var v = vectors[b];
                    double rv = distances[b];
                    double inv = 1.0 / (ru * rv);
                    double cos = Vec3.Dot(u, v) * inv;
                    double d = cos - t.CosTheta0;
                    double gg = g[a] * g[b];
                    localEnergy += t.LambdaEv * d * d * gg;

                    // ∂cos/∂u = v/(|u||v|) − cos·u/|u|²; likewise for v.
                    var dcosdu = inv * v - (cos / (ru * ru)) * u;
                    var dcosdv = inv * u - (cos / (rv * rv)) * v;
                    double angular = 2 * t.LambdaEv * d * gg;
                    double radial = t.LambdaEv * d * d;
                    dE[a] += angular * dcosdu + (radial * dg[a] * g[b] / ru) * u;
                    dE[b] += angular * dcosdv + (radial * g[a] * dg[b] / rv) * v;
                }
            }

            // Forces and virial from dE/d(bond vector) of every bond of i: the bond vector is r_j − r_i.
            for (int a = 0; a < count && (wantForces || wantStress); a++)
            {
                var f = dE[a];
                if (f == Vec3.Zero)
                {
                    continue;
                }

                forces[i] += f;
                forces[neighbors[a]] -= f;
                if (!wantStress)
                {
                    continue;
                }

                var u = vectors[a];
                wxx += f.X * u.X;
                wyy += f.Y * u.Y;
                wzz += f.Z * u.Z;
                wyz += 0.5 * (f.Y * u.Z + f.Z * u.Y);
                wxz += 0.5 * (f.X * u.Z + f.Z * u.X);
                wxy += 0.5 * (f.X * u.Y + f.Y * u.X);
            }

            local[i] = localEnergy;
            energy += localEnergy;
        }

        Voigt? stress = null;
        if (wantStress)
        {
            double volume = structure.VolumeA3;
            stress = (1.0 / volume) * new Voigt(wxx, wyy, wzz, wyz, wxz, wxy);
        }

        return new CalculationResult
        {
            EnergyEv = properties.HasFlag(CalculatorProperties.Energy) ? energy : null,
            ForcesEvPerA = wantForces ? forces : null,
            StressEvPerA3 = stress,
            LocalEnergiesEv = properties.HasFlag(CalculatorProperties.LocalEnergies) ? local : null,
        };
    }

    private int Index(int atomicNumber) => _speciesIndex.TryGetValue(atomicNumber, out int i)
        ? i
        : throw new UnknownSpeciesException($"This Stillinger–Weber potential has no parameters for {Elements.Symbol(atomicNumber)} (it knows {string.Join(", ", _species.Select(Elements.Symbol))}).");
}
