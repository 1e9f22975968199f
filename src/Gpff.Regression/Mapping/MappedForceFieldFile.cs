using System.Globalization;
using System.Text.Json;
using Gpff.Descriptors;
using Gpff.IO;
using Gpff.Kernels;

namespace Gpff.Regression.Mapping;

/// <summary>
/// Files of a <see cref="MappedForceField"/> (conventionally <c>NAME.gpffmap</c>, next to the model it
/// maps). Layout, all little-endian:
/// <list type="number">
/// <item>the 8-byte magic <c>GPFFMMAP</c> and the format version (int32, <see cref="FormatVersion"/>);</item>
/// <item>the header length (int64) and the header, UTF-8 JSON: <c>format</c> ("gpff-mapped-gp"),
/// <c>version</c>, <c>pair_cutoff_a</c>, <c>triplet_cutoff_a</c>, <c>cutoff_function</c>,
/// <c>reference_energies_ev</c> (symbol → μ, eV/atom), <c>lower_bounds_a</c> ("Ba-O" → Å),
/// <c>pair_maps</c> (each: <c>species</c> [two symbols], <c>lower_a</c>, <c>upper_a</c>, <c>points</c>),
/// <c>triplet_maps</c> (each: <c>species</c> [central, first, second], <c>lower_a</c>, <c>upper_a</c>,
/// <c>points</c>, three values each, axes r₁, r₂, r₁₂), <c>report</c> (how it was built; optional),
/// <c>metadata</c> (free strings), and from version 2 on, when the map has a variance map, <c>variance</c>:
/// <c>rank</c> R, <c>energy_calibration_scale</c>, <c>kernel</c> (the GP's kernel, as in model files: the self
/// term k(ε, ε) needs its hyperparameters), <c>reference_species</c> (symbols; empty without a reference prior)
/// and <c>report</c>;</item>
/// <item>the spline coefficients as float64, map after map in header order: n + 2 per pair map, and
/// (m₀ + 2)(m₁ + 2)(m₂ + 2) per triplet map, axis 0 slowest; then, with a variance map, R coefficient sets of
/// the same size per pair map and per triplet map (component after component, on the mean map's grid),
/// M = GᵀW (p × R, row-major) and A⁻¹ (p × p) for the p reference species (see <see cref="MappedVariance"/>);</item>
/// <item>a SHA-256 of everything before it.</item>
/// </list>
/// The coefficients are those of uniform cubic B-splines (see <see cref="UniformCubicSpline"/>): on grid
/// interval k with u = (x − x_k)/h, s = Σ_{m=0..3} c_{k+m} B_m(u), B₀ = (1−u)³/6, B₁ = (3u³ − 6u² + 4)/6,
/// B₂ = (−3u³ + 3u² + 3u + 1)/6, B₃ = u³/6; the tricubic map is the tensor product. A pair map's value is
/// the pair's contribution to each of its atoms' local energies (eV), a triplet map's the triplet's
/// contribution to its central atom's; E = Σᵢ (μ(Zᵢ) + Σ pairs + Σ triplets). Written atomically.
/// </summary>
public static class MappedForceFieldFile
{
    /// <summary>
    /// The format version this library writes and the newest it reads. Version 2 may carry a variance map
    /// (header <c>variance</c> and its coefficients after the mean's); version 1 files load without one.
    /// </summary>
    public const int FormatVersion = 2;

    /// <summary>The conventional file extension.</summary>
    public const string Extension = ".gpffmap";

    private static ReadOnlySpan<byte> Magic => "GPFFMMAP"u8;

    /// <summary>Saves a map.</summary>
    /// <param name="map">The map.</param>
    /// <param name="path">Destination; replaced atomically.</param>
    /// <param name="metadata">Free key/value provenance (e.g. the model file it maps).</param>
    /// <param name="cancellationToken">Cancellation.</param>
    public static void Save(MappedForceField map, string path, IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(map);
        ArgumentException.ThrowIfNullOrEmpty(path);
        SafeFile.WriteAtomic(path, stream => Write(map, stream, metadata, cancellationToken), cancellationToken);
    }

    /// <summary>Writes a map in this format (the bytes of a whole file) to a stream: the body of <see cref="Save"/> and of the map section of a model file.</summary>
    /// <param name="map">The map.</param>
    /// <param name="stream">Where to write.</param>
    /// <param name="metadata">Free key/value provenance.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    internal static void Write(MappedForceField map, Stream stream, IReadOnlyDictionary<string, string>? metadata, CancellationToken cancellationToken)
    {
        using var w = new HashedWriter(stream, Magic, FormatVersion, Header(map, metadata));
        foreach (var p in map.PairMaps)
        {
            w.WriteDoubles(p.Spline.Coefficients);
        }

        foreach (var t in map.TripletMaps)
        {
            cancellationToken.ThrowIfCancellationRequested();
            w.WriteDoubles(t.Spline.Coefficients);
        }

        if (map.Variance is { } variance)
        {
            foreach (var p in map.PairMaps)
            {
                foreach (var c in variance.PairMaps.Single(v => v.Species1 == p.Species1 && v.Species2 == p.Species2).Components)
                {
                    w.WriteDoubles(c.Coefficients);
                }
            }

            foreach (var t in map.TripletMaps)
            {
                cancellationToken.ThrowIfCancellationRequested();
                foreach (var c in variance.TripletMaps.Single(v => v.CentralSpecies == t.CentralSpecies && v.Species1 == t.Species1 && v.Species2 == t.Species2).Components)
                {
                    w.WriteDoubles(c.Coefficients);
                }
            }

            w.WriteDoubles(variance.ReferenceProjection);
            w.WriteDoubles(variance.ReferenceCovarianceEv2);
        }

        w.Finish();
    }

    /// <summary>Loads a map saved by <see cref="Save"/>.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The map (with its build report when the file has one).</returns>
    /// <exception cref="ModelFileException">Not a map file, a future format version, or damaged (the message says which).</exception>
    public static MappedForceField Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Mapped force field file '{path}' does not exist.", path);
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        return Read(stream, stream.Length, path);
    }

    /// <summary>
    /// Reads a map in this format from the next <paramref name="length"/> bytes of a stream (a whole file,
    /// or the map section of a model file).
    /// </summary>
    /// <param name="stream">Positioned at the magic.</param>
    /// <param name="length">Bytes of the map.</param>
    /// <param name="path">The file, for messages.</param>
    /// <exception cref="ModelFileException">Not a map, a future format version, or damaged (the message says which).</exception>
    internal static MappedForceField Read(Stream stream, long length, string path)
    {
        using var reader = new HashedReader(stream, path);
        Span<byte> b8 = stackalloc byte[8];
        try
        {
            reader.Read(b8);
            if (!b8.SequenceEqual(Magic))
            {
                throw new ModelFileException(path, "not a Gpff mapped force field file (it does not start with GPFFMMAP).");
            }

            var (_, header) = reader.ReadVersionAndHeader(FormatVersion, length, "mapped-GP", "map");
            var parsed = ParseHeader(path, header);
            long meanCoefficients = parsed.Pairs.Sum(p => (long)p.Points[0] + 2) + parsed.Triplets.Sum(t => (long)(t.Points[0] + 2) * (t.Points[1] + 2) * (t.Points[2] + 2));
            int rank = parsed.Variance?.Rank ?? 0, refs = parsed.Variance?.ReferenceSpecies.Length ?? 0;
            long coefficients = meanCoefficients * (1 + rank) + (long)refs * rank + (long)refs * refs;
            long expected = HashedContainer.PreludeBytes + header.Length + 8 * coefficients + HashedContainer.ChecksumBytes;
            if (expected != length)
            {
                throw new ModelFileException(path, $"the map has {length} bytes but its header announces {coefficients} spline coefficients, i.e. {expected} bytes (truncated or damaged file).");
            }

            double[] Doubles(long count)
            {
                var v = reader.ReadDoubles(count);
                for (long i = 0; i < count; i++)
                {
                    if (!double.IsFinite(v[i]))
                    {
                        throw new ModelFileException(path, $"a spline coefficient is not finite ({v[i]}): damaged file.");
                    }
                }

                return v;
            }

            var pairs = parsed.Pairs.Select(p => new PairMap(p.Species[0], p.Species[1], new UniformCubicSpline(p.Lower[0], p.Upper[0], p.Points[0], Doubles(p.Points[0] + 2)))).ToList();
            var triplets = parsed.Triplets.Select(t => new TripletMap(t.Species[0], t.Species[1], t.Species[2],
                new TricubicSpline(t.Lower, t.Upper, t.Points, Doubles((long)(t.Points[0] + 2) * (t.Points[1] + 2) * (t.Points[2] + 2))))).ToList();
            MappedVariance? variance = null;
            if (parsed.Variance is { } vh)
            {
                var pairVariance = parsed.Pairs.Select(p => new PairVarianceMap(p.Species[0], p.Species[1],
                    Enumerable.Range(0, rank).Select(_ => new UniformCubicSpline(p.Lower[0], p.Upper[0], p.Points[0], Doubles(p.Points[0] + 2))).ToArray())).ToList();
                var tripletVariance = parsed.Triplets.Select(t => new TripletVarianceMap(t.Species[0], t.Species[1], t.Species[2],
                    Enumerable.Range(0, rank).Select(_ => new TricubicSpline(t.Lower, t.Upper, t.Points, Doubles((long)(t.Points[0] + 2) * (t.Points[1] + 2) * (t.Points[2] + 2)))).ToArray())).ToList();
                var projection = Doubles((long)refs * rank);
                var covariance = Doubles((long)refs * refs);
                try
                {
                    variance = new MappedVariance(vh.Kernel, rank, pairVariance, tripletVariance, vh.EnergyCalibrationScale, vh.ReferenceSpecies, projection, covariance, vh.Report);
                }
                catch (ArgumentException e)
                {
                    throw new ModelFileException(path, $"the variance map is inconsistent: {e.Message}");
                }
            }

            reader.VerifyChecksum();

            try
            {
                return new MappedForceField(parsed.Descriptor, parsed.Reference, parsed.Bounds, pairs, triplets, parsed.Report, variance);
            }
            catch (ArgumentException e)
            {
                throw new ModelFileException(path, $"the maps are inconsistent: {e.Message}");
            }
        }
        catch (EndOfStreamException)
        {
            throw new ModelFileException(path, "the file ends early (truncated).");
        }
    }

    private sealed record MapHeader(int[] Species, double[] Lower, double[] Upper, int[] Points);

    private sealed record VarianceHeader(int Rank, double EnergyCalibrationScale, IKernel Kernel, int[] ReferenceSpecies, VarianceMapReport? Report);

    private sealed record ParsedHeader(DescriptorSettings Descriptor, Dictionary<int, double> Reference, Dictionary<string, double> Bounds,
        List<MapHeader> Pairs, List<MapHeader> Triplets, MappingReport? Report, VarianceHeader? Variance);

    private static byte[] Header(MappedForceField map, IReadOnlyDictionary<string, string>? metadata)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("format", "gpff-mapped-gp");
            w.WriteNumber("version", FormatVersion);
            w.WriteString("gpff_version", typeof(MappedForceFieldFile).Assembly.GetName().Version?.ToString() ?? "unknown");
            w.WriteString("created_utc", DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture));
            w.WriteNumber("pair_cutoff_a", map.Descriptor.PairCutoffA);
            w.WriteNumber("triplet_cutoff_a", map.Descriptor.TripletCutoffA);
            w.WriteString("cutoff_function", Cutoffs.Name(map.Descriptor.CutoffFunction));
            w.WriteStartObject("reference_energies_ev");
            foreach (int z in map.Species)
            {
                w.WriteNumber(Elements.Symbol(z), map.ReferenceEnergyEv(z));
            }

            w.WriteEndObject();
            w.WriteStartObject("lower_bounds_a");
            foreach (int a in map.Species)
            {
                foreach (int b in map.Species.Where(b => b >= a))
                {
                    double v = map.LowerBoundA(a, b);
                    if (double.IsFinite(v))
                    {
                        w.WriteNumber($"{Elements.Symbol(a)}-{Elements.Symbol(b)}", v);
                    }
                }
            }

            w.WriteEndObject();
            w.WriteStartArray("pair_maps");
            foreach (var p in map.PairMaps)
            {
                WriteMap(w, [p.Species1, p.Species2], [p.Spline.LowerA], [p.Spline.UpperA], [p.Spline.Points]);
            }

            w.WriteEndArray();
            w.WriteStartArray("triplet_maps");
            foreach (var t in map.TripletMaps)
            {
                WriteMap(w, [t.CentralSpecies, t.Species1, t.Species2], t.Spline.LowerA, t.Spline.UpperA, t.Spline.Points);
            }

            w.WriteEndArray();
            if (map.Report is { } r)
            {
                w.WriteStartObject("report");
                w.WriteNumber("tolerance_ev_per_a", r.ToleranceEvPerA);
                w.WriteBoolean("met_tolerance", r.MetTolerance);
                w.WriteNumber("validation_structures", r.ValidationStructures);
                w.WriteNumber("validation_atoms", r.ValidationAtoms);
                w.WriteString("validation_source", r.ValidationSource);
                w.WriteNumber("training_labels", r.TrainingLabels);
                w.WriteStartArray("rounds");
                foreach (var x in r.Rounds)
                {
                    w.WriteStartObject();
                    w.WriteNumber("pair_points", x.PairGridPoints);
                    w.WriteNumber("triplet_points", x.TripletGridPoints);
                    w.WriteNumber("max_pair_force_error_ev_per_a", x.MaxPairForceErrorEvPerA);
                    w.WriteNumber("max_triplet_force_error_ev_per_a", x.MaxTripletForceErrorEvPerA);
                    w.WriteNumber("max_force_error_ev_per_a", x.MaxForceErrorEvPerA);
                    w.WriteNumber("rms_force_error_ev_per_a", x.RmsForceErrorEvPerA);
                    w.WriteNumber("max_local_energy_error_ev", x.MaxLocalEnergyErrorEv);
                    w.WriteNumber("seconds", x.Seconds);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteStartObject("metadata");
            foreach (var (k, v) in metadata ?? new Dictionary<string, string>())
            {
                w.WriteString(k, v);
            }

            w.WriteEndObject();
            if (map.Variance is { } variance)
            {
                w.WriteStartObject("variance");
                w.WriteNumber("rank", variance.Rank);
                w.WriteNumber("energy_calibration_scale", variance.EnergyCalibrationScale);
                w.WritePropertyName("kernel");
                w.WriteRawValue(variance.Kernel.ToJson());
                w.WriteStartArray("reference_species");
                foreach (int z in variance.ReferenceSpecies)
                {
                    w.WriteStringValue(Elements.Symbol(z));
                }

                w.WriteEndArray();
                if (variance.Report is { } vr)
                {
                    w.WriteStartObject("report");
                    w.WriteNumber("tolerance_ev", vr.ToleranceEv);
                    w.WriteBoolean("met_tolerance", vr.MetTolerance);
                    w.WriteNumber("full_rank", vr.FullRank);
                    w.WriteNumber("grid_residual_ev2", vr.GridResidualEv2);
                    w.WriteNumber("max_local_energy_std_error_ev", vr.MaxLocalEnergyStdErrorEv);
                    w.WriteNumber("max_energy_std_error_ev", vr.MaxEnergyStdErrorEv);
                    w.WriteNumber("validation_structures", vr.ValidationStructures);
                    w.WriteNumber("validation_atoms", vr.ValidationAtoms);
                    w.WriteEndObject();
                }

                w.WriteEndObject();
            }

            w.WriteEndObject();
        }

        return ms.ToArray();

        static void WriteMap(Utf8JsonWriter w, int[] species, IReadOnlyList<double> lower, IReadOnlyList<double> upper, IReadOnlyList<int> points)
        {
            w.WriteStartObject();
            w.WriteStartArray("species");
            foreach (int z in species)
            {
                w.WriteStringValue(Elements.Symbol(z));
            }

            w.WriteEndArray();
            Write("lower_a", lower);
            Write("upper_a", upper);
            w.WriteStartArray("points");
            foreach (int n in points)
            {
                w.WriteNumberValue(n);
            }

            w.WriteEndArray();
            w.WriteEndObject();

            void Write(string name, IReadOnlyList<double> values)
            {
                w.WriteStartArray(name);
                foreach (double v in values)
                {
                    w.WriteNumberValue(v);
                }

                w.WriteEndArray();
            }
        }
    }

    /// <summary>Reads the header, turning every malformed or missing entry into a <see cref="ModelFileException"/> that names it.</summary>
    private static ParsedHeader ParseHeader(string path, byte[] header)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(header);
        }
        catch (JsonException e)
        {
            throw new ModelFileException(path, $"the header is not valid JSON ({e.Message}).");
        }

        using (doc)
        {
            string where = "header";
            try
            {
                var root = doc.RootElement;
                if (root.GetProperty("format").GetString() != "gpff-mapped-gp")
                {
                    throw new ModelFileException(path, $"the header's format is '{root.GetProperty("format").GetString()}', not 'gpff-mapped-gp'.");
                }

                where = "cutoffs";
                if (!Cutoffs.TryParse(root.GetProperty("cutoff_function").GetString(), out var fn))
                {
                    throw new ModelFileException(path, $"unknown cutoff function '{root.GetProperty("cutoff_function").GetString()}'.");
                }

                var descriptor = new DescriptorSettings(root.GetProperty("pair_cutoff_a").GetDouble(), root.GetProperty("triplet_cutoff_a").GetDouble(), fn);
                descriptor.Validate();
                where = "reference_energies_ev";
                var reference = root.GetProperty("reference_energies_ev").EnumerateObject().ToDictionary(p => Symbol(p.Name), p => p.Value.GetDouble());
                where = "lower_bounds_a";
                var bounds = root.GetProperty("lower_bounds_a").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble());
                where = "pair_maps";
                var pairs = root.GetProperty("pair_maps").EnumerateArray().Select(m => Map(m, 2, 1)).ToList();
                where = "triplet_maps";
                var triplets = root.GetProperty("triplet_maps").EnumerateArray().Select(m => Map(m, 3, 3)).ToList();
                MappingReport? report = null;
                if (root.TryGetProperty("report", out var r))
                {
                    where = "report";
                    var rounds = r.GetProperty("rounds").EnumerateArray().Select(x => new MappingRound(
                        x.GetProperty("pair_points").GetInt32(), x.GetProperty("triplet_points").GetInt32(),
                        x.GetProperty("max_pair_force_error_ev_per_a").GetDouble(), x.GetProperty("max_triplet_force_error_ev_per_a").GetDouble(),
                        x.GetProperty("max_force_error_ev_per_a").GetDouble(), x.GetProperty("rms_force_error_ev_per_a").GetDouble(),
                        x.GetProperty("max_local_energy_error_ev").GetDouble(), x.GetProperty("seconds").GetDouble())).ToList();
                    report = rounds.Count == 0 ? null : new MappingReport(r.GetProperty("tolerance_ev_per_a").GetDouble(), r.GetProperty("met_tolerance").GetBoolean(),
                        r.GetProperty("validation_structures").GetInt32(), r.GetProperty("validation_atoms").GetInt32(), r.GetProperty("validation_source").GetString() ?? string.Empty,
                        rounds, r.GetProperty("training_labels").GetInt32());
                }

                VarianceHeader? variance = null;
                if (root.TryGetProperty("variance", out var v))
                {
                    where = "variance";
                    int rank = v.GetProperty("rank").GetInt32();
                    if (rank < 1)
                    {
                        throw new FormatException($"rank {rank} is not positive");
                    }

                    var kernel = KernelSerializer.DeserializeAny(v.GetProperty("kernel").GetRawText());
                    var species = v.GetProperty("reference_species").EnumerateArray().Select(x => Symbol(x.GetString()!)).ToArray();
                    VarianceMapReport? vreport = null;
                    if (v.TryGetProperty("report", out var vr))
                    {
                        vreport = new VarianceMapReport(vr.GetProperty("tolerance_ev").GetDouble(), vr.GetProperty("met_tolerance").GetBoolean(), rank,
                            vr.GetProperty("full_rank").GetInt32(), vr.GetProperty("grid_residual_ev2").GetDouble(), vr.GetProperty("max_local_energy_std_error_ev").GetDouble(),
                            vr.GetProperty("max_energy_std_error_ev").GetDouble(), vr.GetProperty("validation_structures").GetInt32(), vr.GetProperty("validation_atoms").GetInt32());
                    }

                    variance = new VarianceHeader(rank, v.GetProperty("energy_calibration_scale").GetDouble(), kernel, species, vreport);
                }

                return new ParsedHeader(descriptor, reference, bounds, pairs, triplets, report, variance);
            }
            catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException or ArgumentException)
            {
                throw new ModelFileException(path, $"the header's {where} entry is missing or malformed ({e.Message}).");
            }
        }

        MapHeader Map(JsonElement m, int species, int axes)
        {
            var z = m.GetProperty("species").EnumerateArray().Select(s => Symbol(s.GetString()!)).ToArray();
            var lower = m.GetProperty("lower_a").EnumerateArray().Select(v => v.GetDouble()).ToArray();
            var upper = m.GetProperty("upper_a").EnumerateArray().Select(v => v.GetDouble()).ToArray();
            var points = m.GetProperty("points").EnumerateArray().Select(v => v.GetInt32()).ToArray();
            if (z.Length != species || lower.Length != axes || upper.Length != axes || points.Length != axes)
            {
                throw new FormatException($"a map needs {species} species and {axes} lower bounds, upper bounds and grid sizes");
            }

            for (int a = 0; a < axes; a++)
            {
                SplineSolver.CheckAxis(lower[a], upper[a], points[a], "map");
            }

            return new MapHeader(z, lower, upper, points);
        }

        static int Symbol(string s) => Elements.TryGetAtomicNumber(s, out int z) ? z : throw new FormatException($"'{s}' is not a chemical symbol");
    }
}
