using System.Globalization;
using System.Text;
using Gpff.IO;

namespace Gpff.Regression.Mapping;

/// <summary>
/// Export of a <see cref="MappedForceField"/>'s mean to the text coefficient file that LAMMPS
/// <c>pair_style mgp</c> reads (FLARE's lammps_plugins/pair_mgp.cpp; <c>pair_coeff * * FILE Ba O Rh yes yes</c>).
/// Layout: three comment lines, a line with the number of 2-body and 3-body maps, then per 2-body map a line
/// <c>elem1 elem2 lower upper points</c> and its points + 2 coefficients, per 3-body map a line
/// <c>centre elem1 elem2 lower₁ lower₂ lower₁₂ upper₁ upper₂ upper₁₂ points₁ points₂ points₁₂</c> and its
/// (points₁ + 2)(points₂ + 2)(points₁₂ + 2) coefficients (axis r₁ slowest), five numbers a line.
/// The spline convention is Gpff's own (<see cref="UniformCubicSpline"/>: uniform cubic B-splines with points + 2
/// coefficients, the same basis and index), so the coefficients are copied, not resampled. pair_style mgp
/// wants a 3-body map for every ordered (centre, first, second) species triple: the maps of the unordered
/// neighbour pairs are written once as they are and once with r₁ and r₂ exchanged (a transposition of the
/// coefficients, exact). A species pair or triple the training data never had gets a zero map whose lower
/// bound is just below the cutoff, so LAMMPS stops with its lower-bound error instead of computing a silent 0.
/// Not exported: the per-species reference energies μ (pair_style mgp has none: its energies are lower by
/// Σᵢ μ(Zᵢ), a constant that changes no force; the values are in the first comment line) and the variance map
/// (FLARE's LAMMPS σ file uses another variance scheme).
/// pair_style mgp's forces take the 3-body term as symmetric across the triplet's three atoms (three times the
/// centre's own derivative along r₁ and r₂), as FLARE's 3-body kernel makes it; Gpff's 3-body kernel is the same.
/// </summary>
public static class LammpsMgpFile
{
    /// <summary>The conventional file extension.</summary>
    public const string Extension = ".mgp";

    /// <summary>Writes the mean of a map as a pair_style mgp coefficient file (atomically).</summary>
    /// <param name="map">The map.</param>
    /// <param name="path">Destination.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    public static void Write(MappedForceField map, string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(map);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var species = map.Species;
        double rc2 = map.Descriptor.PairCutoffA, rc3 = map.Descriptor.TripletCutoffA;
        bool pairs = map.PairMaps.Count > 0, triplets = map.TripletMaps.Count > 0;
        int nPairs = pairs ? species.Count * (species.Count + 1) / 2 : 0;
        int nTriplets = triplets ? species.Count * species.Count * species.Count : 0;
        SafeFile.WriteAtomic(path, stream =>
        {
            using var w = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true) { NewLine = "\n" };
            w.WriteLine(Invariant($"# #2bodyarray #3bodyarray; Gpff mapped GP, cutoffs {rc2}/{rc3} Å; energies without the reference energies (eV/atom) {string.Join(" ", species.Select(z => Invariant($"{Elements.Symbol(z)} {map.ReferenceEnergyEv(z):R}")))}"));
            w.WriteLine("# elem1 elem2 a b order");
            w.WriteLine();
            w.WriteLine(Invariant($"{nPairs} {nTriplets}"));
            if (pairs)
            {
                for (int i = 0; i < species.Count; i++)
                {
                    for (int j = i; j < species.Count; j++)
                    {
                        int a = species[i], b = species[j];
                        var m = map.PairMaps.FirstOrDefault(p => p.Species1 == a && p.Species2 == b);
                        var spline = m?.Spline ?? Closed(rc2);
                        w.WriteLine(Invariant($"{Elements.Symbol(a)} {Elements.Symbol(b)} {spline.LowerA:R} {spline.UpperA:R} {spline.Points}"));
                        Coefficients(w, spline.Coefficients);
                    }
                }
            }

            if (triplets)
            {
                foreach (int c in species)
                {
                    foreach (int a in species)
                    {
                        foreach (int b in species)
                        {
                            cancellationToken.ThrowIfCancellationRequested();
                            var m = map.TripletMaps.FirstOrDefault(t => t.CentralSpecies == c && t.Species1 == Math.Min(a, b) && t.Species2 == Math.Max(a, b));
                            var (lower, upper, points, coefficients) = m is null ? Closed3(rc3) : a <= b ? Copy(m.Spline) : Swapped(m.Spline);
                            w.WriteLine(Invariant($"{Elements.Symbol(c)} {Elements.Symbol(a)} {Elements.Symbol(b)} {lower[0]:R} {lower[1]:R} {lower[2]:R} {upper[0]:R} {upper[1]:R} {upper[2]:R} {points[0]} {points[1]} {points[2]}"));
                            Coefficients(w, coefficients);
                        }
                    }
                }
            }
        }, cancellationToken);
    }

    /// <summary>A zero map starting just below the cutoff (any shorter distance is LAMMPS's lower-bound error).</summary>
    private static UniformCubicSpline Closed(double rc) => new(rc * (1 - 1e-9), rc, UniformCubicSpline.MinimumPoints, new double[UniformCubicSpline.MinimumPoints + 2]);

    private static (double[] Lower, double[] Upper, int[] Points, double[] Coefficients) Closed3(double rc)
    {
        int n = UniformCubicSpline.MinimumPoints;
        return ([rc * (1 - 1e-9), rc * (1 - 1e-9), rc * (1 - 1e-9)], [rc, rc, rc], [n, n, n], new double[(n + 2) * (n + 2) * (n + 2)]);
    }

    private static (double[] Lower, double[] Upper, int[] Points, double[] Coefficients) Copy(TricubicSpline s) =>
        (s.LowerA.ToArray(), s.UpperA.ToArray(), s.Points.ToArray(), s.Coefficients.ToArray());

    /// <summary>The same function with axes 0 and 1 exchanged: f'(x₁, x₀, x₂) = f(x₀, x₁, x₂).</summary>
    private static (double[] Lower, double[] Upper, int[] Points, double[] Coefficients) Swapped(TricubicSpline s)
    {
        int n0 = s.Points[0] + 2, n1 = s.Points[1] + 2, n2 = s.Points[2] + 2;
        var c = s.Coefficients;
        var t = new double[c.Length];
        for (int i = 0; i < n0; i++)
        {
            for (int j = 0; j < n1; j++)
            {
                for (int k = 0; k < n2; k++)
                {
                    t[(j * n0 + i) * n2 + k] = c[(i * n1 + j) * n2 + k];
                }
            }
        }

        return ([s.LowerA[1], s.LowerA[0], s.LowerA[2]], [s.UpperA[1], s.UpperA[0], s.UpperA[2]], [s.Points[1], s.Points[0], s.Points[2]], t);
    }

    private static void Coefficients(StreamWriter w, ReadOnlySpan<double> c)
    {
        var line = new StringBuilder();
        for (int i = 0; i < c.Length; i++)
        {
            line.Append(' ').Append(c[i].ToString("R", CultureInfo.InvariantCulture));
            if (i % 5 == 4 || i == c.Length - 1)
            {
                w.WriteLine(line.ToString());
                line.Clear();
            }
        }
    }

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
