using System.Globalization;
using Gpff.Descriptors;
using Gpff.Geometry;
using Gpff.Kernels;

namespace Gpff.Regression.Mapping;

/// <summary>
/// The 2-body part of a mapped GP for one unordered species pair: what the GP mean gives one pair at
/// distance r toward the local energy of either of its atoms (half the pair energy), as a cubic spline
/// over [<see cref="UniformCubicSpline.LowerA"/>, r_c2].
/// </summary>
/// <param name="Species1">Atomic number of one atom (≤ <paramref name="Species2"/>).</param>
/// <param name="Species2">Atomic number of the other atom.</param>
/// <param name="Spline">Local-energy contribution in eV against the distance in Å.</param>
public sealed record PairMap(int Species1, int Species2, UniformCubicSpline Spline)
{
    /// <summary>"Ba-O" style name.</summary>
    public string Name => $"{Elements.Symbol(Species1)}-{Elements.Symbol(Species2)}";
}

/// <summary>
/// The 3-body part of a mapped GP for one central species and unordered pair of neighbour species:
/// what the GP mean gives one triplet toward the central atom's local energy (a third of the
/// triplet energy), as a tricubic spline over (r₁, r₂, r₁₂): the distances central–first neighbour,
/// central–second neighbour and between the neighbours, each from its lower bound up to r_c3.
/// </summary>
/// <param name="CentralSpecies">Atomic number of the central atom.</param>
/// <param name="Species1">Atomic number of the first neighbour (≤ <paramref name="Species2"/>; r₁ is its distance).</param>
/// <param name="Species2">Atomic number of the second neighbour.</param>
/// <param name="Spline">Local-energy contribution in eV against (r₁, r₂, r₁₂) in Å.</param>
public sealed record TripletMap(int CentralSpecies, int Species1, int Species2, TricubicSpline Spline)
{
    /// <summary>"Rh(O,O)" style name: the central species, then the neighbours.</summary>
    public string Name => $"{Elements.Symbol(CentralSpecies)}({Elements.Symbol(Species1)},{Elements.Symbol(Species2)})";
}

/// <summary>
/// A structure has a distance the mapped force field has no grid for: below the lower bound of its
/// species pair (the smallest training distance less a margin), or of a species combination the
/// training data never had within the cutoff. The map gives no number there rather than a wrong one.
/// </summary>
public sealed class MapDomainException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is out of range, where, and what to do.</param>
    public MapDomainException(string message) : base(message)
    {
    }
}

/// <summary>
/// A mapped Gaussian process (Vandermause/Xie et al.'s MGP, npj Comput. Mater. 7, 40 (2021)): the mean of
/// a trained 2+3-body GP tabulated once on splines, so that energies, forces and stresses cost the same
/// whatever the size of the training set. The GP mean of a local energy is linear in kernel values, and
/// the 2- and 3-body kernels are sums over the pairs and triplets of the environment, so the mean splits
/// exactly: εᵢ = μ(Zᵢ) + Σ_pairs e₂(r) + Σ_triplets e₃(r₁, r₂, r₁₂), with μ the GP's per-species prior mean.
/// e₂ (per species pair) and e₃ (per central species and neighbour pair) are the GP mean of an
/// environment holding that single pair or triplet; they are interpolated by cubic splines
/// (<see cref="PairMap"/>, <see cref="TripletMap"/>) and forces and stress follow from the splines'
/// analytic derivatives (forces −∂E/∂r, stress (1/V) ∂E/∂ε, ASE sign), so the map conserves energy in MD.
/// Built by <see cref="MappedForceFieldBuilder.Build"/> to a stated force tolerance against the GP;
/// saved and loaded by <see cref="MappedForceFieldFile"/>. With a <see cref="Variance"/> map (built on request,
/// <see cref="MappingOptions.MapVariance"/>) it also gives the latent, calibrated standard deviations of local
/// and total energies (<see cref="MappedVariance"/>); force and stress σ are not mapped.
/// A distance below a map's grid throws <see cref="MapDomainException"/>. Immutable and thread-safe.
/// </summary>
public sealed class MappedForceField : ICalculator
{
    private readonly int[] _species;          // ascending atomic numbers
    private readonly int[] _index;            // atomic number → species index, −1 unknown
    private readonly double[] _reference;     // per species index, eV
    private readonly PairMap?[] _pairTable;   // [a·S + b]
    private readonly TripletMap?[] _tripletTable; // [(c·S + a)·S + b], a ≤ b by atomic number
    private readonly double[] _pairLower;     // [a·S + b] lower bound of the distance of that pair, +∞ when none
    private readonly PairVarianceMap?[] _pairVariance;       // [a·S + b]
    private readonly TripletVarianceMap?[] _tripletVariance; // [(c·S + a)·S + b]

    /// <summary>Creates a map from its parts.</summary>
    /// <param name="descriptor">Cutoffs (r_c2 for the pair maps, r_c3 for the triplet maps) and cutoff function of the mapped GP.</param>
    /// <param name="referenceEnergiesEv">The prior mean μ per atomic number, eV/atom; defines the species the map knows.</param>
    /// <param name="pairLowerBoundsA">The lower bound in Å of each species pair's distances (the smallest training distance less the margin): no pair or triplet edge may be shorter. Keys are "Ba-O" names (either order).</param>
    /// <param name="pairs">The 2-body maps (none when the GP has no 2-body kernel).</param>
    /// <param name="triplets">The 3-body maps (none when the GP has no 3-body kernel).</param>
    /// <param name="report">How the map was built and checked, or null.</param>
    /// <param name="variance">The variance map (one for every pair and triplet map, on their grids), or null.</param>
    public MappedForceField(DescriptorSettings descriptor, IReadOnlyDictionary<int, double> referenceEnergiesEv, IReadOnlyDictionary<string, double> pairLowerBoundsA,
        IReadOnlyList<PairMap> pairs, IReadOnlyList<TripletMap> triplets, MappingReport? report = null, MappedVariance? variance = null)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        ArgumentNullException.ThrowIfNull(referenceEnergiesEv);
        ArgumentNullException.ThrowIfNull(pairLowerBoundsA);
        ArgumentNullException.ThrowIfNull(pairs);
        ArgumentNullException.ThrowIfNull(triplets);
        descriptor.Validate();
        Descriptor = descriptor;
        _species = referenceEnergiesEv.Keys.Order().ToArray();
        if (_species.Length == 0)
        {
            throw new ArgumentException("A mapped force field needs at least one species.", nameof(referenceEnergiesEv));
        }

        _index = new int[Elements.MaxAtomicNumber + 1];
        Array.Fill(_index, -1);
        for (int i = 0; i < _species.Length; i++)
        {
            _index[_species[i]] = i;
        }

        _reference = _species.Select(z => referenceEnergiesEv[z]).ToArray();
        int s = _species.Length;
        _pairLower = new double[s * s];
        Array.Fill(_pairLower, double.PositiveInfinity);
        foreach (var (name, bound) in pairLowerBoundsA)
        {
            var (a, b) = ParsePair(name);
            if (!(bound > 0) || !double.IsFinite(bound))
            {
                throw new ArgumentException($"The lower bound of {name} pairs must be a positive number of Å, got {bound}.", nameof(pairLowerBoundsA));
            }

            _pairLower[a * s + b] = _pairLower[b * s + a] = bound;
        }

        _pairTable = new PairMap?[s * s];
        foreach (var p in pairs)
        {
            int a = Index(p.Species1, "pair map"), b = Index(p.Species2, "pair map");
            if (p.Species1 > p.Species2 || _pairTable[a * s + b] is not null)
            {
                throw new ArgumentException($"The pair map {p.Name} is duplicated or its species are not ordered.", nameof(pairs));
            }

            if (Math.Abs(p.Spline.UpperA - descriptor.PairCutoffA) > 1e-12 || !(p.Spline.LowerA <= _pairLower[a * s + b]))
            {
                throw new ArgumentException($"The pair map {p.Name} covers [{p.Spline.LowerA}, {p.Spline.UpperA}] Å, but must reach from its lower bound {_pairLower[a * s + b]} Å to r_c2 = {descriptor.PairCutoffA} Å.", nameof(pairs));
            }

            _pairTable[a * s + b] = _pairTable[b * s + a] = p;
        }

        _tripletTable = new TripletMap?[s * s * s];
        foreach (var t in triplets)
        {
            int c = Index(t.CentralSpecies, "triplet map"), a = Index(t.Species1, "triplet map"), b = Index(t.Species2, "triplet map");
            if (t.Species1 > t.Species2 || _tripletTable[(c * s + a) * s + b] is not null)
            {
                throw new ArgumentException($"The triplet map {t.Name} is duplicated or its neighbour species are not ordered.", nameof(triplets));
            }

            double[] need = [_pairLower[c * s + a], _pairLower[c * s + b], _pairLower[a * s + b]];
            for (int ax = 0; ax < 3; ax++)
            {
                if (Math.Abs(t.Spline.UpperA[ax] - descriptor.TripletCutoffA) > 1e-12 || !(t.Spline.LowerA[ax] <= need[ax]))
                {
                    throw new ArgumentException($"The triplet map {t.Name} covers [{t.Spline.LowerA[ax]}, {t.Spline.UpperA[ax]}] Å along axis {ax}, but must reach from its lower bound {need[ax]} Å to r_c3 = {descriptor.TripletCutoffA} Å.", nameof(triplets));
                }
            }

            _tripletTable[(c * s + a) * s + b] = t;
        }

        PairMaps = pairs.ToArray();
        TripletMaps = triplets.ToArray();
        Report = report;
        _pairVariance = new PairVarianceMap?[s * s];
        _tripletVariance = new TripletVarianceMap?[s * s * s];
        if (variance is not null)
        {
            variance.CheckKernel(descriptor);
            foreach (var v in variance.PairMaps)
            {
                int a = Index(v.Species1, "pair variance map"), b = Index(v.Species2, "pair variance map");
                var mean = _pairTable[a * s + b] ?? throw new ArgumentException($"The variance map of {Elements.Symbol(v.Species1)}-{Elements.Symbol(v.Species2)} pairs has no mean map.", nameof(variance));
                if (v.Components.Any(c => c.LowerA != mean.Spline.LowerA || c.UpperA != mean.Spline.UpperA || c.Points != mean.Spline.Points))
                {
                    throw new ArgumentException($"The variance map of {mean.Name} pairs is not on the grid of its mean map.", nameof(variance));
                }

                _pairVariance[a * s + b] = _pairVariance[b * s + a] = v;
            }

            foreach (var v in variance.TripletMaps)
            {
                int c = Index(v.CentralSpecies, "triplet variance map"), a = Index(v.Species1, "triplet variance map"), b = Index(v.Species2, "triplet variance map");
                var mean = _tripletTable[(c * s + a) * s + b] ?? throw new ArgumentException($"A triplet variance map has no mean map.", nameof(variance));
                if (v.Components.Any(x => !x.LowerA.SequenceEqual(mean.Spline.LowerA) || !x.UpperA.SequenceEqual(mean.Spline.UpperA) || !x.Points.SequenceEqual(mean.Spline.Points)))
                {
                    throw new ArgumentException($"The variance map of {mean.Name} triplets is not on the grid of its mean map.", nameof(variance));
                }

                _tripletVariance[(c * s + a) * s + b] = v;
            }

            if (PairMaps.Any(m => _pairVariance[Index(m.Species1, "pair map") * s + Index(m.Species2, "pair map")] is null)
                || TripletMaps.Any(m => _tripletVariance[(Index(m.CentralSpecies, "triplet map") * s + Index(m.Species1, "triplet map")) * s + Index(m.Species2, "triplet map")] is null))
            {
                throw new ArgumentException("The variance map needs a map for every pair and triplet map of the mean.", nameof(variance));
            }
        }

        Variance = variance;
    }

    /// <summary>
    /// The variance map (latent, calibrated σ of local and total energies), or null when the map was built
    /// without one (<see cref="MappingOptions.MapVariance"/>).
    /// </summary>
    public MappedVariance? Variance { get; }

    /// <summary>This map with another variance map (or none).</summary>
    /// <param name="variance">The variance map of the same GP, or null.</param>
    public MappedForceField WithVariance(MappedVariance? variance)
    {
        var mu = _species.ToDictionary(z => z, ReferenceEnergyEv);
        var bounds = new Dictionary<string, double>();
        foreach (int a in _species)
        {
            foreach (int b in _species.Where(b => b >= a))
            {
                double v = LowerBoundA(a, b);
                if (double.IsFinite(v))
                {
                    bounds[$"{Elements.Symbol(a)}-{Elements.Symbol(b)}"] = v;
                }
            }
        }

        return new MappedForceField(Descriptor, mu, bounds, PairMaps, TripletMaps, Report, variance);
    }

    /// <summary>Cutoffs and cutoff function of the mapped GP (its environments are built with these).</summary>
    public DescriptorSettings Descriptor { get; }

    /// <summary>Atomic numbers the map knows, ascending.</summary>
    public IReadOnlyList<int> Species => _species;

    /// <summary>The 2-body maps.</summary>
    public IReadOnlyList<PairMap> PairMaps { get; }

    /// <summary>The 3-body maps.</summary>
    public IReadOnlyList<TripletMap> TripletMaps { get; }

    /// <summary>How the map was built and how far it is from the GP on the validation structures (null when not known).</summary>
    public MappingReport? Report { get; }

    /// <summary>
    /// Energy, forces, stress and local energies. <see cref="CalculatorProperties.Uncertainty"/> is not listed,
    /// since forces and stress have no mapped σ; with a <see cref="Variance"/> map, asking for
    /// <see cref="CalculatorProperties.Energy"/> and/or <see cref="CalculatorProperties.LocalEnergies"/> with
    /// <see cref="CalculatorProperties.Uncertainty"/> (and no forces or stress) gives their σ.
    /// </summary>
    public CalculatorProperties ImplementedProperties => CalculatorProperties.Energy | CalculatorProperties.Forces | CalculatorProperties.Stress | CalculatorProperties.LocalEnergies;

    /// <summary>The prior mean μ of a species in eV/atom (the constant part of its local energy).</summary>
    /// <param name="atomicNumber">Z.</param>
    public double ReferenceEnergyEv(int atomicNumber) => _reference[Index(atomicNumber, "structure")];

    /// <summary>The lower bound in Å of the distances between atoms of two species (+∞ when the training data had no such pair within the cutoff).</summary>
    /// <param name="z1">Atomic number of one atom.</param>
    /// <param name="z2">Atomic number of the other.</param>
    public double LowerBoundA(int z1, int z2) => _pairLower[Index(z1, "structure") * _species.Length + Index(z2, "structure")];

    /// <summary>
    /// Energy (eV), forces (eV/Å), stress (eV/Å³, ASE sign; cells periodic along all three axes only) and
    /// local energies (eV) from the map. Everything costs one pass over the pairs and triplets, so the
    /// energy and stress come with the forces whatever is asked; only what was asked is returned.
    /// </summary>
    /// <param name="structure">The structure.</param>
    /// <param name="properties">What to compute.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <exception cref="MapDomainException">A distance lies below its map's grid, or a species combination has no map.</exception>
    /// <exception cref="NotSupportedException">Uncertainty asked without a variance map, or together with forces or stress.</exception>
    public CalculationResult Calculate(Structure structure, CalculatorProperties properties, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(structure);
        bool uncertainty = properties.HasFlag(CalculatorProperties.Uncertainty);
        if (uncertainty)
        {
            if (Variance is null)
            {
                throw new NotSupportedException("This mapped force field has no variance map, so it gives no standard deviations: build it with MappingOptions.MapVariance (gpff map --variance), or use the GP.");
            }

            if ((properties & (CalculatorProperties.Forces | CalculatorProperties.Stress)) != 0)
            {
                throw new NotSupportedException("The mapped force field gives standard deviations of energies and local energies only (force and stress σ are not mapped): ask for Energy | LocalEnergies | Uncertainty, and for forces without Uncertainty, or use the GP.");
            }

            properties &= ~CalculatorProperties.Uncertainty;
        }

        this.ThrowIfNotImplemented(properties);
        structure.Validate(Structure.DefaultMinimumDistanceA, allowLeftHandedCell: true);
        foreach (int z in structure.AtomicNumbers)
        {
            Index(z, "structure");
        }

        var env = StructureEnvironments.Build(structure, Descriptor);
        int n = structure.AtomCount;
        var local = new double[n];
        var grad = new Vec3[n];
        Span<double> virial = stackalloc double[6];
        virial.Clear();
        Accumulate(env, local, grad, virial, cancellationToken);
        bool stress = properties.HasFlag(CalculatorProperties.Stress) && structure.Pbc.AllPeriodic;
        double inv = stress ? 1.0 / structure.VolumeA3 : 0;
        double[]? localStd = null;
        double? energyStd = null;
        if (uncertainty)
        {
            (localStd, energyStd) = EnergyStd(env, properties.HasFlag(CalculatorProperties.Energy), cancellationToken);
        }

        return new CalculationResult
        {
            EnergyStdEv = properties.HasFlag(CalculatorProperties.Energy) ? energyStd : null,
            LocalEnergiesStdEv = properties.HasFlag(CalculatorProperties.LocalEnergies) ? localStd : null,
            EnergyEv = properties.HasFlag(CalculatorProperties.Energy) ? local.Sum() : null,
            ForcesEvPerA = properties.HasFlag(CalculatorProperties.Forces) ? grad.Select(g => -1.0 * g).ToArray() : null,
            StressEvPerA3 = stress ? new Voigt(virial[0] * inv, virial[1] * inv, virial[2] * inv, virial[3] * inv, virial[4] * inv, virial[5] * inv) : null,
            LocalEnergiesEv = properties.HasFlag(CalculatorProperties.LocalEnergies) ? local : null,
        };
    }

    /// <summary>
    /// The local energies, the gradient ∂E/∂r of the total energy and the virial Σ ∂E/∂d · d_a d_b / d
    /// (Voigt) of a structure whose environments were built with <see cref="Descriptor"/>.
    /// </summary>
    /// <param name="env">The environments.</param>
    /// <param name="local">Local energies (written).</param>
    /// <param name="grad">∂E/∂r (added to).</param>
    /// <param name="virial">Virial (added to).</param>
    /// <param name="ct">Cancellation.</param>
    /// <param name="pairs">Whether to include the 2-body maps.</param>
    /// <param name="triplets">Whether to include the 3-body maps.</param>
    internal void Accumulate(StructureEnvironments env, Span<double> local, Span<Vec3> grad, Span<double> virial, CancellationToken ct, bool pairs = true, bool triplets = true)
    {
        int s = _species.Length;
        double vxx = 0, vyy = 0, vzz = 0, vyz = 0, vxz = 0, vxy = 0;
        for (int i = 0; i < env.AtomCount; i++)
        {
            if ((i & 63) == 0)
            {
                ct.ThrowIfCancellationRequested();
            }

            var e = env[i];
            int ci = _index[e.CentralSpecies];
            double eps = _reference[ci];
            var pn = e.PairNeighbors;
            var ps = e.PairSpecies;
            var pr = e.PairDistances;
            var ux = e.PairUnitX;
            var uy = e.PairUnitY;
            var uz = e.PairUnitZ;
            for (int p = 0; p < (pairs ? pn.Length : 0); p++)
            {
                int sj = _index[ps[p]];
                double r = pr[p];
                var map = _pairTable[ci * s + sj];
                if (map is null || r < map.Spline.LowerA)
                {
                    throw OutOfDomain(e.CentralSpecies, ps[p], r, i, pn[p], ci * s + sj, map is null ? "no 2-body map" : null);
                }

                eps += map.Spline.Evaluate(r, out double d);
                double gx = d * ux[p], gy = d * uy[p], gz = d * uz[p];
                grad[pn[p]] += new Vec3(gx, gy, gz);
                grad[i] -= new Vec3(gx, gy, gz);
                vxx += gx * r * ux[p];
                vyy += gy * r * uy[p];
                vzz += gz * r * uz[p];
                vyz += gy * r * uz[p];
                vxz += gx * r * uz[p];
                vxy += gx * r * uy[p];
            }

            var t1 = e.TripletNeighbors1;
            var t2 = e.TripletNeighbors2;
            var ts1 = e.TripletSpecies1;
            var ts2 = e.TripletSpecies2;
            var d1 = e.TripletDistances1;
            var d2 = e.TripletDistances2;
            var d3 = e.TripletDistances3;
            for (int t = 0; t < (triplets ? t1.Length : 0); t++)
            {
                int a = _index[ts1[t]], b = _index[ts2[t]];
                var map = _tripletTable[(ci * s + a) * s + b];
                double r1 = d1[t], r2 = d2[t], r3 = d3[t];
                if (map is null)
                {
                    throw OutOfDomain(e.CentralSpecies, ts1[t], r1, i, t1[t], ci * s + a, $"no 3-body map for {Elements.Symbol(e.CentralSpecies)}({Elements.Symbol(ts1[t])},{Elements.Symbol(ts2[t])}) triplets");
                }

                var lo = map.Spline.LowerA;
                if (r1 < lo[0])
                {
                    throw OutOfDomain(e.CentralSpecies, ts1[t], r1, i, t1[t], ci * s + a, null);
                }

                if (r2 < lo[1])
                {
                    throw OutOfDomain(e.CentralSpecies, ts2[t], r2, i, t2[t], ci * s + b, null);
                }

                if (r3 < lo[2])
                {
                    throw OutOfDomain(ts1[t], ts2[t], r3, t1[t], t2[t], a * s + b, null);
                }

                eps += map.Spline.Evaluate(r1, r2, r3, out double g1, out double g2, out double g3);
                var u1 = e.TripletUnit1(t);
                var u2 = e.TripletUnit2(t);
                var v1 = r1 * u1;
                var v2 = r2 * u2;
                var v3 = v2 - v1; // from the first neighbour to the second
                var f1 = g1 * u1;
                var f2 = g2 * u2;
                var f3 = (g3 / r3) * v3;
                grad[t1[t]] += f1 - f3;
                grad[t2[t]] += f2 + f3;
                grad[i] -= f1 + f2;
                vxx += f1.X * v1.X + f2.X * v2.X + f3.X * v3.X;
                vyy += f1.Y * v1.Y + f2.Y * v2.Y + f3.Y * v3.Y;
                vzz += f1.Z * v1.Z + f2.Z * v2.Z + f3.Z * v3.Z;
                vyz += f1.Y * v1.Z + f2.Y * v2.Z + f3.Y * v3.Z;
                vxz += f1.X * v1.Z + f2.X * v2.Z + f3.X * v3.Z;
                vxy += f1.X * v1.Y + f2.X * v2.Y + f3.X * v3.Y;
            }

            local[i] = eps;
        }

        virial[0] += vxx;
        virial[1] += vyy;
        virial[2] += vzz;
        virial[3] += vyz;
        virial[4] += vxz;
        virial[5] += vxy;
    }

    /// <summary>
    /// The σ of every local energy and (on request) of the total energy from the variance map: c per atom
    /// summed over its pairs and triplets, the self terms from the kernel (see <see cref="MappedVariance"/>).
    /// The environments have passed the mean's domain checks.
    /// </summary>
    private (double[] Local, double? Total) EnergyStd(StructureEnvironments env, bool total, CancellationToken ct)
    {
        var variance = Variance!;
        int s = _species.Length, rank = variance.Rank, n = env.AtomCount;
        var all = Enumerable.Range(0, n).ToArray();
        var self = new double[1 + n];
        variance.Kernel.Variance(env, new LabelSelection { Energy = total, LocalEnergyAtoms = all }, self);
        int selfOffset = total ? 1 : 0;
        var ref_ = variance.ReferenceSpecies;
        int p = ref_.Count;
        var local = new double[n];
        var sum = new double[rank];
        var counts = new double[p];
        var c = new double[rank];
        var h = new double[p];
        for (int i = 0; i < n; i++)
        {
            if ((i & 15) == 0)
            {
                ct.ThrowIfCancellationRequested();
            }

            Array.Clear(c);
            var e = env[i];
            int ci = _index[e.CentralSpecies];
            var ps = e.PairSpecies;
            var pr = e.PairDistances;
            for (int q = 0; q < ps.Length; q++)
            {
                var comps = _pairVariance[ci * s + _index[ps[q]]]!.Components;
                for (int r = 0; r < rank; r++)
                {
                    c[r] += comps[r].Evaluate(pr[q], out _);
                }
            }

            var ts1 = e.TripletSpecies1;
            var ts2 = e.TripletSpecies2;
            var d1 = e.TripletDistances1;
            var d2 = e.TripletDistances2;
            var d3 = e.TripletDistances3;
            for (int t = 0; t < ts1.Length; t++)
            {
                var comps = _tripletVariance[(ci * s + _index[ts1[t]]) * s + _index[ts2[t]]]!.Components;
                for (int r = 0; r < rank; r++)
                {
                    c[r] += comps[r].Evaluate(d1[t], d2[t], d3[t], out _, out _, out _);
                }
            }

            Array.Clear(h);
            int k = IndexIn(ref_, e.CentralSpecies);
            if (k >= 0)
            {
                h[k] = 1;
                counts[k] += 1;
            }

            local[i] = Math.Sqrt(Math.Max(0, variance.Variance(self[selfOffset + i], c, h)));
            for (int r = 0; r < rank; r++)
            {
                sum[r] += c[r];
            }
        }

        double? totalStd = total ? Math.Sqrt(Math.Max(0, variance.Variance(self[0], sum, counts))) : null;
        return (local, totalStd);

        static int IndexIn(IReadOnlyList<int> list, int z)
        {
            for (int k = 0; k < list.Count; k++)
            {
                if (list[k] == z)
                {
                    return k;
                }
            }

            return -1;
        }
    }

    private MapDomainException OutOfDomain(int za, int zb, double r, int atomA, int atomB, int pairIndex, string? why)
    {
        string pair = $"{Elements.Symbol(za)}–{Elements.Symbol(zb)}";
        double bound = _pairLower[pairIndex];
        string where = atomB >= 0 ? $"atoms {atomA} and {atomB}" : $"atom {atomA} and a neighbour";
        string reason = why is not null
            ? $"the map has {why}: the GP's training data had no such combination within the cutoff"
            : double.IsPositiveInfinity(bound)
                ? $"the GP's training data had no {pair} pair within the cutoff"
                : string.Create(CultureInfo.InvariantCulture, $"the {pair} map starts at {bound:F3} Å (the smallest {pair} distance in the training data less the margin); below it the GP has no data and the map gives no number");
        return new MapDomainException(string.Create(CultureInfo.InvariantCulture,
            $"Mapped force field: {where} ({pair}) are {r:F3} Å apart, outside the map: {reason}. Add training data at such distances and rebuild the map, or use the GP itself (whose uncertainty says how far to trust it there)."));
    }

    private int Index(int z, string what)
    {
        int i = z >= 0 && z < _index.Length ? _index[z] : -1;
        if (i < 0)
        {
            throw new MapDomainException($"The {what} has {(z >= 0 && z <= Elements.MaxAtomicNumber ? Elements.Symbol(z) : z.ToString(CultureInfo.InvariantCulture))}, but the mapped force field knows only {string.Join(", ", _species.Select(Elements.Symbol))}.");
        }

        return i;
    }

    private (int A, int B) ParsePair(string name)
    {
        var parts = (name ?? string.Empty).Split('-');
        if (parts.Length != 2 || !Elements.TryGetAtomicNumber(parts[0], out int z1) || !Elements.TryGetAtomicNumber(parts[1], out int z2))
        {
            throw new ArgumentException($"'{name}' is not a species pair like \"Ba-O\".");
        }

        return (Index(z1, "lower bounds"), Index(z2, "lower bounds"));
    }
}
