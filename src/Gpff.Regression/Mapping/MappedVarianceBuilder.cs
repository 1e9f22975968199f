using Gpff.Descriptors;
using Gpff.Kernels;

namespace Gpff.Regression.Mapping;

/// <summary>
/// Builds the <see cref="MappedVariance"/> of a mapped GP on the grids of its mean maps: v = L⁻¹k* at every
/// grid point of every map, one orthonormal basis for all of them by pivoted (modified) Gram–Schmidt, each
/// coefficient splined; the rank grows (the left-out threshold falls a hundredfold per round) until the
/// local- and total-energy σ of the validation structures are within the tolerance of the GP's, or nothing is
/// left out; the local energies must meet it, the total energies' error is reported.
/// </summary>
internal static class MappedVarianceBuilder
{
    /// <summary>Grid vectors per triangular solve (one chunk of N × Chunk doubles).</summary>
    private const int Chunk = 256;

    /// <summary>The first round leaves out directions below this fraction of the largest grid vector's squared norm.</summary>
    private const double FirstThreshold = 1e-4;

    /// <summary>Rounds stop when the threshold falls below this fraction (round-off).</summary>
    private const double LastThreshold = 1e-16;

    /// <summary>One map's grid: where its vectors start among all grid vectors, and how to spline them.</summary>
    private sealed record Grid(int Start, int Count, PairMap? Pair, TripletMap? Triplet);

    public static MappedForceField Build(GaussianProcess gp, GpMeanParts mean, MappedForceField map, IReadOnlyList<Structure> validation, MappingOptions options,
        IProgress<MappingProgress>? progress, CancellationToken ct)
    {
        int n = gp.LabelCount;
        var grids = new List<Grid>();
        int total = 0;
        foreach (var p in map.PairMaps)
        {
            grids.Add(new Grid(total, p.Spline.Points, p, null));
            total += p.Spline.Points;
        }

        foreach (var t in map.TripletMaps)
        {
            int count = t.Spline.Points[0] * t.Spline.Points[1] * t.Spline.Points[2];
            grids.Add(new Grid(total, count, null, t));
            total += count;
        }

        // v_g = L⁻¹k*(g), chunk by chunk (each chunk N × Chunk, column-major: one grid vector after another).
        int chunks = (total + Chunk - 1) / Chunk;
        var v = new double[chunks][];
        for (int c = 0; c < chunks; c++)
        {
            v[c] = new double[n * Math.Min(Chunk, total - c * Chunk)];
        }

        Span<double> Row(int g) => v[g / Chunk].AsSpan((g % Chunk) * n, n);
        var po = new ParallelOptions { CancellationToken = ct, MaxDegreeOfParallelism = options.MaxDegreeOfParallelism };
        long done = 0;
        foreach (var grid in grids)
        {
            if (grid.Pair is { } pm)
            {
                var sp = pm.Spline;
                Parallel.For(0, sp.Points - 1, po, () => new double[LocalKernel.EnvironmentBlockSize], (k, _, block) =>
                {
                    double r = sp.LowerA + (sp.UpperA - sp.LowerA) * k / (sp.Points - 1);
                    mean.KStar(mean.Pair!, AtomEnvironment.SinglePair(pm.Species1, pm.Species2, r, mean.Descriptor), block, Row(grid.Start + k));
                    return block;
                }, _ => { }); // the last point is at r_c, where the kernel vanishes: v = 0
            }
            else
            {
                var tm = grid.Triplet!;
                var sp = tm.Spline;
                int m0 = sp.Points[0], m1 = sp.Points[1], m2 = sp.Points[2];
                bool symmetric = tm.Species1 == tm.Species2 && m0 == m1;
                Parallel.For(0, m0 * m1, po, () => new double[LocalKernel.EnvironmentBlockSize], (ij, _, block) =>
                {
                    int i = ij / m1, j = ij % m1;
                    if ((symmetric && j < i) || i == m0 - 1 || j == m1 - 1)
                    {
                        return block;
                    }

                    double r1 = sp.LowerA[0] + (sp.UpperA[0] - sp.LowerA[0]) * i / (m0 - 1);
                    double r2 = sp.LowerA[1] + (sp.UpperA[1] - sp.LowerA[1]) * j / (m1 - 1);
                    for (int k = 0; k < m2 - 1; k++)
                    {
                        double r3 = sp.LowerA[2] + (sp.UpperA[2] - sp.LowerA[2]) * k / (m2 - 1);
                        mean.KStar(mean.Triplet!, AtomEnvironment.SingleTriplet(tm.CentralSpecies, tm.Species1, tm.Species2, r1, r2, r3, mean.Descriptor), block, Row(grid.Start + ij * m2 + k));
                    }

                    return block;
                }, _ => { });
                if (symmetric)
                {
                    for (int i = 0; i < m0; i++)
                    {
                        for (int j = 0; j < i; j++)
                        {
                            for (int k = 0; k < m2; k++)
                            {
                                Row(grid.Start + (j * m1 + i) * m2 + k).CopyTo(Row(grid.Start + (i * m1 + j) * m2 + k));
                            }
                        }
                    }
                }
            }

            done += grid.Count;
            progress?.Report(new MappingProgress("variance grid points", done, total));
        }

        for (int c = 0; c < chunks; c++)
        {
            ct.ThrowIfCancellationRequested();
            gp.Factor!.SolveLowerInPlace(v[c], v[c].Length / n);
        }

        // Pivoted modified Gram–Schmidt: the rows become the residuals, the coefficients are kept per direction.
        var residual = new double[total];
        Parallel.For(0, total, po, g => residual[g] = Dot(Row(g), Row(g)));
        double largest = residual.Max();
        var basis = new List<double[]>();
        var coefficients = new List<double[]>();
        int fullRank = Math.Min(total, n);
        var reference = gp.ReferenceVarianceParts;
        double scale = gp.Calibration.EnergyScale;
        double threshold = FirstThreshold;
        while (true)
        {
            while (basis.Count < fullRank)
            {
                int best = 0;
                for (int g = 1; g < total; g++)
                {
                    if (residual[g] > residual[best])
                    {
                        best = g;
                    }
                }

                if (basis.Count > 0 && !(residual[best] > threshold * largest))
                {
                    break;
                }

                ct.ThrowIfCancellationRequested();
                var w = Row(best).ToArray();
                double norm = Math.Sqrt(Dot(w, w));
                for (int i = 0; i < n; i++)
                {
                    w[i] /= norm;
                }

                var coef = new double[total];
                Parallel.For(0, total, po, g =>
                {
                    var row = Row(g);
                    double d = Dot(row, w);
                    coef[g] = d;
                    double r2 = 0;
                    for (int i = 0; i < n; i++)
                    {
                        row[i] -= d * w[i];
                        r2 += row[i] * row[i];
                    }

                    residual[g] = r2;
                });
                basis.Add(w);
                coefficients.Add(coef);
            }

            var variance = Splines(gp, map, grids, basis, coefficients, reference, scale, null);
            var result = map.WithVariance(variance);
            var report = Check(gp, result, validation, options, basis.Count, fullRank, residual.Max(), ct);
            // The tolerance is on local energies; the total energy's σ, often far smaller, keeps the rank growing
            // while it is off by more, but splines limit it (k(E, E) − |c_E|² cancels), so it is reported, not required.
            bool more = basis.Count < fullRank && threshold > LastThreshold;
            if ((report.MetTolerance && report.MaxEnergyStdErrorEv <= report.ToleranceEv) || !more)
            {
                if (!report.MetTolerance && options.RequireTolerance)
                {
                    throw new MappingToleranceException(report);
                }

                return map.WithVariance(Splines(gp, map, grids, basis, coefficients, reference, scale, report));
            }

            threshold /= 100;
        }
    }

    private static MappedVariance Splines(GaussianProcess gp, MappedForceField map, List<Grid> grids, List<double[]> basis, List<double[]> coefficients,
        (IReadOnlyList<int> Species, double[] BasisLower, double[] PosteriorCovariance)? reference, double scale, VarianceMapReport? report)
    {
        int rank = basis.Count, n = gp.LabelCount;
        var pairs = new List<PairVarianceMap>();
        var triplets = new List<TripletVarianceMap>();
        foreach (var grid in grids)
        {
            if (grid.Pair is { } pm)
            {
                var sp = pm.Spline;
                pairs.Add(new PairVarianceMap(pm.Species1, pm.Species2, coefficients.Select(c => UniformCubicSpline.Interpolate(sp.LowerA, sp.UpperA, c.AsSpan(grid.Start, grid.Count))).ToArray()));
            }
            else
            {
                var tm = grid.Triplet!;
                var sp = tm.Spline;
                triplets.Add(new TripletVarianceMap(tm.CentralSpecies, tm.Species1, tm.Species2,
                    coefficients.Select(c => TricubicSpline.Interpolate(sp.LowerA, sp.UpperA, sp.Points, c.AsSpan(grid.Start, grid.Count))).ToArray()));
            }
        }

        IReadOnlyList<int> species = [];
        double[] projection = [], covariance = [];
        if (reference is { } refs)
        {
            species = refs.Species;
            int p = species.Count;
            projection = new double[p * rank];
            for (int k = 0; k < p; k++)
            {
                for (int r = 0; r < rank; r++)
                {
                    projection[k * rank + r] = Dot(refs.BasisLower.AsSpan(k * n, n), basis[r]);
                }
            }

            covariance = refs.PosteriorCovariance.ToArray();
        }

        return new MappedVariance(gp.Kernel, rank, pairs, triplets, scale, species, projection, covariance, report);
    }

    /// <summary>
    /// The map's σ of local and total energies against the GP's latent ones on the validation structures (a GP
    /// reporting noisy-label σ has its calibrated energy noise taken out again). The total energy's σ is often
    /// far smaller than the local energies' (the data pin sums of local energies), so it is the harder check.
    /// </summary>
    private static VarianceMapReport Check(GaussianProcess gp, MappedForceField map, IReadOnlyList<Structure> validation, MappingOptions options, int rank, int fullRank, double residual, CancellationToken ct)
    {
        double maxLocal = 0, maxTotal = 0;
        foreach (var s in validation)
        {
            var byGp = gp.Calculate(s, CalculatorProperties.Energy | CalculatorProperties.LocalEnergies | CalculatorProperties.Uncertainty, ct);
            var byMap = map.Calculate(s, CalculatorProperties.Energy | CalculatorProperties.LocalEnergies | CalculatorProperties.Uncertainty, ct);
            for (int i = 0; i < s.AtomCount; i++)
            {
                maxLocal = Math.Max(maxLocal, Math.Abs(byGp.LocalEnergiesStdEv![i] - byMap.LocalEnergiesStdEv![i]));
            }

            maxTotal = Math.Max(maxTotal, Math.Abs(LatentEnergyStd(gp, byGp.EnergyStdEv!.Value, s.AtomCount) - byMap.EnergyStdEv!.Value));
        }

        double tol = options.LocalEnergyStdToleranceEv;
        return new VarianceMapReport(tol, maxLocal <= tol, rank, fullRank, residual, maxLocal, maxTotal, validation.Count, validation.Sum(s => s.AtomCount));
    }

    /// <summary>The GP's latent total-energy σ from the one it reported.</summary>
    internal static double LatentEnergyStd(GaussianProcess gp, double reported, int atoms) =>
        gp.Options.Uncertainty == UncertaintyKind.Latent ? reported : Math.Sqrt(Math.Max(0, reported * reported - gp.CalibratedNoiseVariance(LabelKinds.Energy, atoms)));

    private static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++)
        {
            s += a[i] * b[i];
        }

        return s;
    }
}
