using System.Text.Json;
using Gpff.Descriptors;
using Gpff.Geometry;
using Gpff.IO;
using Gpff.Kernels;
using Gpff.Regression.LinearAlgebra;

namespace Gpff.Regression;

public static partial class ModelFile
{
    /// <summary>
    /// The format version of sparse-GP model files (<see cref="SaveSparse"/>): the same container as a
    /// full GP's (magic, int32 version, length-prefixed JSON header, float64 payload, SHA-256) under its own
    /// magic <c>GPFFSGPM</c>, with its own version sequence, so that either kind can change its format
    /// without the other. <see cref="Load(string, GaussianProcessOptions?, CancellationToken)"/> refuses a
    /// sparse file naming <see cref="LoadSparse"/>, and <see cref="LoadSparse"/> a full one naming <c>Load</c>.
    /// </summary>
    public const int SparseFormatVersion = 1;

    /// <summary>The magic of sparse-GP model files.</summary>
    private static ReadOnlySpan<byte> SparseMagic => "GPFFSGPM"u8;

    /// <summary>Whether a model file holds a sparse GP (reads only its first 12 bytes).</summary>
    /// <param name="path">The model file.</param>
    /// <exception cref="ModelFileException">Not a Gpff model file.</exception>
    public static bool IsSparse(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Model file '{path}' does not exist.", path);
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        Span<byte> b = stackalloc byte[12];
        if (stream.ReadAtLeast(b, 12, throwOnEndOfStream: false) < 12 || !(b[..8].SequenceEqual(Magic) || b[..8].SequenceEqual(SparseMagic)))
        {
            throw new ModelFileException(path, "not a Gpff model file (it does not start with GPFFMODL or GPFFSGPM).");
        }

        return b[..8].SequenceEqual(SparseMagic);
    }

    /// <summary>
    /// Saves a trained sparse GP: kernel, noises, options, the inducing environments (clusters), the
    /// Cholesky factor of K_uu and the training sums (so that structures can be added after loading);
    /// O(M²) bytes whatever the amount of training data. Written atomically.
    /// </summary>
    /// <param name="sparse">The trained model.</param>
    /// <param name="path">Destination; replaced atomically.</param>
    /// <param name="metadata">Free key/value provenance stored in the header.</param>
    /// <param name="labelKinds">The label kinds the model was trained with (returned on load).</param>
    /// <exception cref="InvalidOperationException">The model is not trained.</exception>
    public static void SaveSparse(SparseGaussianProcess sparse, string path, IReadOnlyDictionary<string, string>? metadata = null, LabelKinds labelKinds = LabelKinds.All)
    {
        ArgumentNullException.ThrowIfNull(sparse);
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!sparse.IsTrained)
        {
            throw new InvalidOperationException("Only a trained model can be saved: call Train() first.");
        }

        var stats = sparse.Statistics!;
        if (stats.PerKind)
        {
            throw new InvalidOperationException("The model holds per-kind sums (not a trained model's).");
        }

        var luu = sparse.InducingFactor!;
        int m = sparse.InducingCount;
        SafeFile.WriteAtomic(path, stream =>
        {
            using var w = new HashedWriter(stream, SparseMagic, SparseFormatVersion, SparseHeader(sparse, metadata, labelKinds));
            foreach (var c in sparse.Inducing)
            {
                for (int i = 0; i < c.NeighborCount; i++)
                {
                    w.WriteDouble(c.NeighborSpecies[i]);
                    w.WriteDouble(c.NeighborVectorsA[i].X);
                    w.WriteDouble(c.NeighborVectorsA[i].Y);
                    w.WriteDouble(c.NeighborVectorsA[i].Z);
                }
            }

            var l = luu.LowerColumnMajor;
            foreach (var a in new[] { l.ToArray(), stats.B[0] })
            {
                for (int j = 0; j < m; j++)
                {
                    for (int i = j; i < m; i++)
                    {
                        w.WriteDouble(a[j * m + i]);
                    }
                }
            }

            for (int k = 0; k < LabelNoise.KindCount; k++)
            {
                foreach (double v in stats.C[k])
                {
                    w.WriteDouble(v);
                }

                foreach (double v in stats.Q[k])
                {
                    w.WriteDouble(v);
                }
            }

            w.Finish();
        });
    }

    private static byte[] SparseHeader(SparseGaussianProcess sparse, IReadOnlyDictionary<string, string>? metadata, LabelKinds labelKinds)
    {
        var stats = sparse.Statistics!;
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("format", "gpff-model");
            w.WriteNumber("version", SparseFormatVersion);
            w.WriteString("model", "sparse");
            w.WriteString("gpff_version", typeof(ModelFile).Assembly.GetName().Version?.ToString() ?? "unknown");
            w.WriteString("created_utc", DateTime.UtcNow.ToString("O"));
            w.WritePropertyName("kernel");
            w.WriteRawValue(sparse.Kernel.ToJson());
            w.WriteStartObject("noise");
            var sigma = sparse.Noise.ToArray();
            for (int k = 0; k < sigma.Length; k++)
            {
                w.WriteNumber(NoiseLevels.Names[k], sigma[k]);
            }

            w.WriteEndObject();
            w.WriteStartArray("label_kinds");
            foreach (var (kind, name) in KindNames)
            {
                if (labelKinds.HasFlag(kind))
                {
                    w.WriteStringValue(name);
                }
            }

            w.WriteEndArray();
            w.WriteString("variance", sparse.Options.Variance == SparseVarianceKind.Dtc ? "dtc" : "sor");
            w.WriteNumber("inducing_jitter_threshold", sparse.Options.InducingJitterThreshold);
            w.WriteNumber("inducing_jitter", sparse.InducingJitter);
            if (sparse.Options.ReferenceEnergies is { } fixedReference)
            {
                w.WriteStartObject("fixed_reference_energies_ev");
                foreach (int z in fixedReference.Species)
                {
                    w.WriteNumber(Elements.Symbol(z), fixedReference.EnergyEv(z));
                }

                w.WriteEndObject();
            }

            w.WriteStartArray("inducing");
            foreach (var c in sparse.Inducing)
            {
                w.WriteStartObject();
                w.WriteString("species", Elements.Symbol(c.CentralSpecies));
                w.WriteNumber("radius_a", c.RadiusA);
                w.WriteNumber("neighbors", c.NeighborCount);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartObject("training_sums");
            w.WriteNumber("structures", stats.StructureCount);
            w.WriteStartArray("label_counts");
            foreach (long n in stats.Counts)
            {
                w.WriteNumberValue(n);
            }

            w.WriteEndArray();
            w.WriteNumber("log_det_noise", stats.LogDetNoise);
            w.WriteStartArray("target_species");
            foreach (int z in stats.Species)
            {
                w.WriteStringValue(Elements.Symbol(z));
            }

            w.WriteEndArray();
            w.WriteStartArray("seen_species");
            foreach (int z in stats.SeenSpecies)
            {
                w.WriteStringValue(Elements.Symbol(z));
            }

            w.WriteEndArray();
            w.WriteStartArray("energies");
            foreach (var (zs, e) in stats.Energies)
            {
                w.WriteStartObject();
                w.WriteStartObject("composition");
                foreach (var g in zs.GroupBy(z => z).OrderBy(g => g.Key))
                {
                    w.WriteNumber(Elements.Symbol(g.Key), g.Count());
                }

                w.WriteEndObject();
                w.WriteNumber("energy_ev", e);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
            if (metadata is not null)
            {
                w.WriteStartObject("metadata");
                foreach (var (k, v) in metadata)
                {
                    w.WriteString(k, v);
                }

                w.WriteEndObject();
            }

            w.WriteEndObject();
        }

        return ms.ToArray();
    }

    /// <summary>Loads a sparse GP saved by <see cref="SaveSparse"/>.</summary>
    /// <param name="path">The model file.</param>
    /// <param name="labelKinds">The label kinds stored with the model.</param>
    /// <param name="maxDegreeOfParallelism">Threads of the loaded model (default: all cores).</param>
    /// <returns>The trained sparse GP.</returns>
    /// <exception cref="ModelFileException">Not a sparse model file, a future version, or damaged (the message says which).</exception>
    public static SparseGaussianProcess LoadSparse(string path, out LabelKinds labelKinds, int maxDegreeOfParallelism = -1)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Model file '{path}' does not exist.", path);
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        using var reader = new HashedReader(stream, path);
        var b8 = new byte[8];
        try
        {
            reader.Read(b8);
            if (b8.AsSpan().SequenceEqual(Magic))
            {
                throw new ModelFileException(path, "it holds a full GP, not a sparse one; load it with ModelFile.Load.");
            }

            if (!b8.AsSpan().SequenceEqual(SparseMagic))
            {
                throw new ModelFileException(path, "not a Gpff sparse model file (it does not start with GPFFSGPM).");
            }

            var (_, headerBytes) = reader.ReadVersionAndHeader(SparseFormatVersion, stream.Length, "model");
            using var doc = JsonDocument.Parse(headerBytes);
            var h = doc.RootElement;
            var kernel = KernelSerializer.DeserializeAny(h.GetProperty("kernel").GetRawText());
            var nz = h.GetProperty("noise");
            var noise = NoiseLevels.FromArray(NoiseLevels.Names.Select(key => nz.GetProperty(key).GetDouble()).ToArray());
            labelKinds = ReadKinds(h.GetProperty("label_kinds"));
            SpeciesReferenceEnergies? fixedReference = null;
            if (h.TryGetProperty("fixed_reference_energies_ev", out var fr))
            {
                fixedReference = SpeciesReferenceEnergies.FromValues(fr.EnumerateObject().ToDictionary(p => Elements.AtomicNumber(p.Name), p => p.Value.GetDouble()));
            }

            var options = new SparseGaussianProcessOptions
            {
                MaxDegreeOfParallelism = maxDegreeOfParallelism > 0 ? maxDegreeOfParallelism : Environment.ProcessorCount,
                Variance = h.GetProperty("variance").GetString() == "sor" ? SparseVarianceKind.Sor : SparseVarianceKind.Dtc,
                InducingJitterThreshold = h.GetProperty("inducing_jitter_threshold").GetDouble(),
                ReferenceEnergies = fixedReference,
            };
            var inducingHeader = h.GetProperty("inducing").EnumerateArray().Select(e => (Z: Elements.AtomicNumber(e.GetProperty("species").GetString()!), R: e.GetProperty("radius_a").GetDouble(), N: e.GetProperty("neighbors").GetInt32())).ToArray();
            var sums = h.GetProperty("training_sums");
            var species = sums.GetProperty("target_species").EnumerateArray().Select(e => Elements.AtomicNumber(e.GetString()!)).ToArray();
            int m = inducingHeader.Length, t = 1 + species.Length;
            long doubles = inducingHeader.Sum(c => 4L * c.N) + 2L * m * (m + 1) / 2 + LabelNoise.KindCount * ((long)m * t + (long)t * t);
            long expected = HashedContainer.PreludeBytes + headerBytes.Length + 8 * doubles + HashedContainer.ChecksumBytes;
            if (expected != stream.Length)
            {
                throw new ModelFileException(path, $"the file has {stream.Length} bytes but its header announces {m} inducing environments and {t} target columns, i.e. {expected} bytes (truncated or damaged file).");
            }

            var payload = reader.ReadDoubles(doubles);
            long pos = 0;
            double Next() => payload[pos++];
            var clusters = new List<EnvironmentCluster>(m);
            foreach (var (z, r, n) in inducingHeader)
            {
                var zs = new int[n];
                var vs = new Vec3[n];
                for (int i = 0; i < n; i++)
                {
                    zs[i] = (int)Next();
                    vs[i] = new Vec3(Next(), Next(), Next());
                }

                clusters.Add(new EnvironmentCluster(z, zs, vs, r));
            }

            double[] Packed()
            {
                var a = new double[(long)m * m];
                for (int j = 0; j < m; j++)
                {
                    for (int i = j; i < m; i++)
                    {
                        a[j * m + i] = Next();
                    }
                }

                return a;
            }

            var l = Packed();
            var b = Packed();
            for (int j = 0; j < m; j++)
            {
                for (int i = j + 1; i < m; i++)
                {
                    b[i * m + j] = b[j * m + i];
                }
            }

            var c = new double[LabelNoise.KindCount][];
            var q = new double[LabelNoise.KindCount][];
            for (int k = 0; k < LabelNoise.KindCount; k++)
            {
                c[k] = new double[m * t];
                for (int i = 0; i < c[k].Length; i++)
                {
                    c[k][i] = Next();
                }

                q[k] = new double[t * t];
                for (int i = 0; i < q[k].Length; i++)
                {
                    q[k][i] = Next();
                }
            }

            reader.VerifyChecksum();

            var sparse = new SparseGaussianProcess(kernel, noise, clusters, options);
            var stats = new SparseStatistics(m, kernel.Hyperparameters.Count, perKind: false, gradient: false, options.Backend ?? LinearAlgebraBackend.Active);
            var energies = sums.GetProperty("energies").EnumerateArray().Select(e => (
                e.GetProperty("composition").EnumerateObject().SelectMany(p => Enumerable.Repeat(Elements.AtomicNumber(p.Name), p.Value.GetInt32())).ToArray(),
                e.GetProperty("energy_ev").GetDouble()));
            stats.Restore(species, b, c, q, sums.GetProperty("label_counts").EnumerateArray().Select(e => e.GetInt64()).ToArray(),
                sums.GetProperty("log_det_noise").GetDouble(), sums.GetProperty("structures").GetInt32(), energies,
                sums.GetProperty("seen_species").EnumerateArray().Select(e => Elements.AtomicNumber(e.GetString()!)));
            sparse.Restore(CholeskyFactorization.FromLower(l, m, 0, options.Backend), h.GetProperty("inducing_jitter").GetDouble(), stats);
            return sparse;
        }
        catch (EndOfStreamException)
        {
            throw new ModelFileException(path, "the file ends early (truncated).");
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or ArgumentException or InvalidDataException && e is not ModelFileException)
        {
            throw new ModelFileException(path, $"the header or payload is not valid ({e.Message}).");
        }
    }
}
