using System.Text;
using System.Text.Json;
using Gpff.IO;
using Gpff.Kernels;
using Gpff.Regression.LinearAlgebra;

namespace Gpff.Regression;

/// <summary>
/// Model files of a trained <see cref="GaussianProcess"/>. Layout: the 8-byte magic <c>GPFFMODL</c>, the
/// format version (int32, little-endian), a length-prefixed UTF-8 JSON header (kernel, cutoffs,
/// hyperparameters, noises named as <see cref="NoiseLevels.Names"/>, prior mean, the label kinds that
/// further data are added with, label selection of every training structure, the training
/// structures themselves as extended XYZ text, provenance), then the Cholesky factor L of K + Σ
/// (packed lower triangle, float64) and α, then (format 5 on) the model's mapped GP when one was saved with it
/// (a whole <see cref="Mapping.MappedForceFieldFile"/> image, its length an int64 after the label count, 0 for
/// none), then a SHA-256 of everything before it. Loading restores
/// L and α directly (no refactorisation, only the environments are rebuilt), so a model loads in
/// O(N²) time. Writing goes to a temporary file that is renamed into place.
/// </summary>
public static partial class ModelFile
{
    /// <summary>
    /// The format version this library writes and the newest it reads. Version 2 names the noises as
    /// <see cref="NoiseLevels.Names"/> (version 1: energy_ev_per_atom, force_ev_per_a, stress_ev_per_a3)
    /// and stores the label kinds; version 3 stores the uncertainty calibration
    /// (<see cref="GaussianProcess.Calibration"/>, key <c>calibration</c>: scales <c>energy</c>,
    /// <c>forces</c>, <c>stress</c>); version 4 may store a Gaussian prior on the reference energies
    /// (<see cref="GaussianProcessOptions.ReferenceEnergyPrior"/>: <c>reference_energies.prior_std_ev_per_atom</c>
    /// and the prior mean <c>prior_mean_ev</c>; <c>values_ev</c> is then the posterior mean). Version 1, 2
    /// and 3 files still load (versions 1 and 2 uncalibrated, all scales 1; version 1: their label kinds
    /// are those of the training entries; none has a reference prior). Version 5 may carry the model's
    /// mapped GP (<see cref="Mapping.MappedForceField"/>): after the label count an int64 with the length of the
    /// map section (0: none), which follows α and is a complete <see cref="Mapping.MappedForceFieldFile"/>
    /// image (its own magic, version and checksum); older files load without a map.
    /// </summary>
    public const int FormatVersion = 5;

    /// <summary>The first format version that can carry a mapped GP.</summary>
    public const int MappedGpFormatVersion = 5;

    /// <summary>The noise keys of format version 1, in <see cref="NoiseLevels.ToArray"/> order.</summary>
    private static readonly string[] Version1NoiseKeys = ["energy_ev_per_atom", "force_ev_per_a", "stress_ev_per_a3"];

    /// <summary>Names of the label kinds in the header.</summary>
    private static readonly (LabelKinds Kind, string Name)[] KindNames = [(LabelKinds.Energy, "energy"), (LabelKinds.Forces, "forces"), (LabelKinds.Stress, "stress")];

    private static ReadOnlySpan<byte> Magic => "GPFFMODL"u8;

    /// <summary>Saves a trained GP.</summary>
    /// <param name="gp">The trained model.</param>
    /// <param name="path">Destination; replaced atomically.</param>
    /// <param name="metadata">Free key/value provenance stored in the header (e.g. the training file name).</param>
    /// <param name="labelKinds">The label kinds further data are to be added with (returned by <see cref="Load(string, GaussianProcessOptions?, out LabelKinds, CancellationToken)"/>).</param>
    /// <param name="mapped">The mapped GP of this model to store with it (<see cref="Load(string, GaussianProcessOptions?, out LabelKinds, out Mapping.MappedForceField?, CancellationToken)"/> returns it), or null.</param>
    /// <exception cref="InvalidOperationException">The model is not trained.</exception>
    /// <exception cref="ArgumentException">The map has other cutoffs or species than the model (it is not this model's map).</exception>
    public static void Save(GaussianProcess gp, string path, IReadOnlyDictionary<string, string>? metadata = null, LabelKinds labelKinds = LabelKinds.All,
        Mapping.MappedForceField? mapped = null)
    {
        ArgumentNullException.ThrowIfNull(gp);
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!gp.IsTrained)
        {
            throw new InvalidOperationException("Only a trained model can be saved: call Train() first.");
        }

        byte[] map = [];
        if (mapped is not null)
        {
            var species = gp.ReferenceEnergies?.Species ?? [];
            if (mapped.Descriptor != gp.Kernel.Descriptor || !mapped.Species.Order().SequenceEqual(species.Order()))
            {
                throw new ArgumentException($"The mapped GP (cutoffs {mapped.Descriptor.PairCutoffA}/{mapped.Descriptor.TripletCutoffA} Å, species {string.Join(", ", mapped.Species.Select(Elements.Symbol))}) "
                    + $"is not a map of this model (cutoffs {gp.Kernel.Descriptor.PairCutoffA}/{gp.Kernel.Descriptor.TripletCutoffA} Å, species {string.Join(", ", species.Select(Elements.Symbol))}); nothing was written.", nameof(mapped));
            }

            using var ms = new MemoryStream();
            Mapping.MappedForceFieldFile.Write(mapped, ms, null, CancellationToken.None);
            map = ms.ToArray();
        }

        SafeFile.WriteAtomic(path, stream =>
        {
            using var w = new HashedWriter(stream, Magic, FormatVersion, Header(gp, metadata, labelKinds));
            int n = gp.LabelCount;
            w.WriteInt32(n);
            w.WriteInt64(map.Length);
            var l = gp.Factor!.LowerColumnMajor;
            for (int j = 0; j < n; j++)
            {
                w.WriteDoubles(l.Slice(j * n + j, n - j));
            }

            w.WriteDoubles(gp.Alpha);
            w.Write(map);
            w.Finish();
        });
    }

    /// <summary>Loads a model saved by <see cref="Save"/>.</summary>
    /// <param name="path">The model file.</param>
    /// <param name="options">GP options for the loaded model (threads, jitter policy); the prior mean comes from the file.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The trained GP.</returns>
    /// <exception cref="ModelFileException">Not a model file, a future format version, or damaged (the message says which).</exception>
    public static GaussianProcess Load(string path, GaussianProcessOptions? options = null, CancellationToken cancellationToken = default) =>
        Load(path, options, out _, cancellationToken);

    /// <summary>Loads a model saved by <see cref="Save"/>, with the label kinds it was saved with.</summary>
    /// <param name="path">The model file.</param>
    /// <param name="options">GP options for the loaded model (threads, jitter policy); the prior mean comes from the file.</param>
    /// <param name="labelKinds">The label kinds stored with the model (format version 1: the kinds its training entries have).</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The trained GP.</returns>
    /// <exception cref="ModelFileException">Not a model file, a future format version, or damaged (the message says which).</exception>
    public static GaussianProcess Load(string path, GaussianProcessOptions? options, out LabelKinds labelKinds, CancellationToken cancellationToken = default) =>
        Load(path, options, out labelKinds, out _, cancellationToken);

    /// <summary>Loads a model saved by <see cref="Save"/>, with its label kinds and the mapped GP saved with it.</summary>
    /// <param name="path">The model file.</param>
    /// <param name="options">GP options for the loaded model (threads, jitter policy); the prior mean comes from the file.</param>
    /// <param name="labelKinds">The label kinds stored with the model (format version 1: the kinds its training entries have).</param>
    /// <param name="mapped">The mapped GP saved with the model, or null when none was (always for format versions before <see cref="MappedGpFormatVersion"/>).</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The trained GP.</returns>
    /// <exception cref="ModelFileException">Not a model file, a future format version, or damaged (the message says which).</exception>
    public static GaussianProcess Load(string path, GaussianProcessOptions? options, out LabelKinds labelKinds, out Mapping.MappedForceField? mapped, CancellationToken cancellationToken = default)
    {
        mapped = null;
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Model file '{path}' does not exist.", path);
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        using var reader = new HashedReader(stream, path);
        Span<byte> b8 = stackalloc byte[8];
        try
        {
            reader.Read(b8);
        }
        catch (EndOfStreamException)
        {
            throw new ModelFileException(path, "the file is too short to be a Gpff model file.");
        }

        if (b8.SequenceEqual(SparseMagic))
        {
            throw new ModelFileException(path, "it holds a sparse GP; load it with ModelFile.LoadSparse (ForceField.Load and the gpff commands do so by themselves).");
        }

        if (!b8.SequenceEqual(Magic))
        {
            throw new ModelFileException(path, "not a Gpff model file (it does not start with GPFFMODL).");
        }

        try
        {
            var (version, header) = reader.ReadVersionAndHeader(FormatVersion, stream.Length, "model");
            int n = reader.ReadInt32();
            long mapLength = 0;
            if (version >= MappedGpFormatVersion)
            {
                mapLength = reader.ReadInt64();
                if (mapLength < 0 || mapLength > stream.Length)
                {
                    throw new ModelFileException(path, $"the mapped-GP section length {mapLength} is impossible for a {stream.Length}-byte file (damaged file).");
                }
            }

            long expected = HashedContainer.PreludeBytes + header.Length + 4 + (version >= MappedGpFormatVersion ? 8 : 0) + 8L * ((long)n * (n + 1) / 2 + n) + mapLength + HashedContainer.ChecksumBytes;
            if (n < 0 || expected != stream.Length)
            {
                throw new ModelFileException(path, $"the file has {stream.Length} bytes but its header announces {n} labels{(mapLength > 0 ? $" and a {mapLength}-byte mapped GP" : "")}, i.e. {expected} bytes (truncated or damaged file).");
            }

            var l = new double[(long)n * n];
            for (int j = 0; j < n; j++)
            {
                reader.ReadDoubles(l.AsSpan(j * n + j, n - j));
            }

            var alpha = reader.ReadDoubles(n);
            var mapBytes = new byte[mapLength];
            reader.Read(mapBytes);
            reader.VerifyChecksum();

            if (mapLength > 0)
            {
                using var ms = new MemoryStream(mapBytes, writable: false);
                mapped = Mapping.MappedForceFieldFile.Read(ms, mapLength, path);
            }

            return Build(path, version, header, l, alpha, n, options, out labelKinds, cancellationToken);
        }
        catch (EndOfStreamException)
        {
            throw new ModelFileException(path, "the file ends early (truncated).");
        }
    }

    private static byte[] Header(GaussianProcess gp, IReadOnlyDictionary<string, string>? metadata, LabelKinds labelKinds)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("format", "gpff-model");
            w.WriteNumber("version", FormatVersion);
            w.WriteString("gpff_version", typeof(ModelFile).Assembly.GetName().Version?.ToString() ?? "unknown");
            w.WriteString("created_utc", DateTime.UtcNow.ToString("O"));
            w.WritePropertyName("kernel");
            w.WriteRawValue(gp.Kernel.ToJson());
            w.WriteStartObject("noise");
            var sigma = gp.Noise.ToArray();
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
            var r = gp.ReferenceEnergies!;
            w.WriteStartObject("reference_energies");
            w.WriteBoolean("fitted", gp.Options.ReferenceEnergies is null);
            w.WriteStartArray("species");
            foreach (int z in r.Species)
            {
                w.WriteStringValue(Elements.Symbol(z));
            }

            w.WriteEndArray();
            w.WriteStartArray("values_ev");
            foreach (double v in r.Values())
            {
                w.WriteNumberValue(v);
            }

            w.WriteEndArray();
            w.WriteNumber("rank", r.Rank);
            w.WriteStartArray("span");
            foreach (var row in r.SpanBasis)
            {
                w.WriteStartArray();
                foreach (double v in row)
                {
                    w.WriteNumberValue(v);
                }

                w.WriteEndArray();
            }

            w.WriteEndArray();
            if (double.IsFinite(r.RmsResidualEvPerAtom))
            {
                w.WriteNumber("rms_residual_ev_per_atom", r.RmsResidualEvPerAtom);
            }

            if (gp.Options.ReferenceEnergyPrior is { } prior && gp.ReferenceEnergyPriorMean is { } priorMean)
            {
                w.WriteNumber("prior_std_ev_per_atom", prior.StandardDeviationEvPerAtom);
                w.WriteStartArray("prior_mean_ev");
                foreach (double v in priorMean.Values())
                {
                    w.WriteNumberValue(v);
                }

                w.WriteEndArray();
            }

            w.WriteEndObject();
            w.WriteNumber("jitter", gp.JitterAdded);
            w.WriteStartObject("calibration");
            w.WriteNumber("energy", gp.Calibration.EnergyScale);
            w.WriteNumber("forces", gp.Calibration.ForceScale);
            w.WriteNumber("stress", gp.Calibration.StressScale);
            w.WriteEndObject();
            w.WriteNumber("label_count", gp.LabelCount);
            w.WriteStartArray("training");
            foreach (var e in gp.Training)
            {
                w.WriteStartObject();
                w.WriteBoolean("energy", e.Labels.Energy);
                w.WriteStartArray("force_atoms");
                foreach (int a in e.Labels.ForceAtoms)
                {
                    w.WriteNumberValue(a);
                }

                w.WriteEndArray();
                w.WriteBoolean("stress", e.Labels.Stress);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            if (metadata is not null)
            {
                w.WriteStartObject("metadata");
                foreach (var (k, v) in metadata)
                {
                    w.WriteString(k, v);
                }

                w.WriteEndObject();
            }

            w.WriteString("structures_extxyz", string.Concat(gp.Training.Select(e => ExtXyz.ToText(e.Structure))));
            w.WriteEndObject();
        }

        return ms.ToArray();
    }

    private static GaussianProcess Build(string path, int version, byte[] header, double[] l, double[] alpha, int n, GaussianProcessOptions? options, out LabelKinds labelKinds, CancellationToken ct)
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
            var root = doc.RootElement;
            try
            {
                IKernel kernel = KernelSerializer.DeserializeAny(root.GetProperty("kernel").GetRawText());
                var nz = root.GetProperty("noise");
                var noise = NoiseLevels.FromArray((version == 1 ? Version1NoiseKeys : NoiseLevels.Names).Select(key => nz.GetProperty(key).GetDouble()).ToArray());
                var re = root.GetProperty("reference_energies");
                var species = re.GetProperty("species").EnumerateArray().Select(x => Elements.AtomicNumber(x.GetString()!)).ToArray();
                var values = re.GetProperty("values_ev").EnumerateArray().Select(x => x.GetDouble()).ToArray();
                var span = re.GetProperty("span").EnumerateArray().Select(row => row.EnumerateArray().Select(x => x.GetDouble()).ToArray()).ToArray();
                double rms = re.TryGetProperty("rms_residual_ev_per_atom", out var rr) ? rr.GetDouble() : double.NaN;
                var reference = SpeciesReferenceEnergies.Restore(species, values, re.GetProperty("rank").GetInt32(), span, rms);
                bool fitted = re.GetProperty("fitted").GetBoolean();
                var structures = ExtXyz.Parse(root.GetProperty("structures_extxyz").GetString()!, path + " (embedded training structures)");
                var training = root.GetProperty("training").EnumerateArray().ToList();
                if (training.Count != structures.Count)
                {
                    throw new ModelFileException(path, $"the header lists {training.Count} training label sets for {structures.Count} structures.");
                }

                ReferenceEnergyPrior? referencePrior = null;
                SpeciesReferenceEnergies? priorMean = null;
                if (version >= 4 && re.TryGetProperty("prior_std_ev_per_atom", out var tau))
                {
                    referencePrior = new ReferenceEnergyPrior(tau.GetDouble());
                    referencePrior.Validate();
                    var mean = re.GetProperty("prior_mean_ev").EnumerateArray().Select(x => x.GetDouble()).ToArray();
                    if (mean.Length != species.Length)
                    {
                        throw new InvalidDataException($"the reference prior has {mean.Length} mean values for {species.Length} species.");
                    }

                    priorMean = SpeciesReferenceEnergies.Restore(species, mean, reference.Rank, span, rms);
                }

                var opts = (options ?? new GaussianProcessOptions()) with
                {
                    ReferenceEnergies = fitted ? null : priorMean ?? reference,
                    ReferenceEnergyPrior = referencePrior,
                };
                var gp = new GaussianProcess(kernel, noise, opts);
                var entries = new TrainingEntry[structures.Count];
                Parallel.For(0, structures.Count, new ParallelOptions { CancellationToken = ct, MaxDegreeOfParallelism = Math.Max(1, opts.MaxDegreeOfParallelism) }, i =>
                {
                    var t = training[i];
                    var kinds = (t.GetProperty("energy").GetBoolean() ? LabelKinds.Energy : LabelKinds.None)
                        | (t.GetProperty("stress").GetBoolean() ? LabelKinds.Stress : LabelKinds.None)
                        | LabelKinds.Forces;
                    var atoms = t.GetProperty("force_atoms").EnumerateArray().Select(x => x.GetInt32()).ToArray();
                    if (atoms.Length == 0)
                    {
                        kinds &= ~LabelKinds.Forces;
                    }

                    entries[i] = TrainingEntry.Create(structures[i], kernel, kinds, atoms.Length == 0 ? null : atoms, $"{path}: training structure {i}");
                });
                var factor = CholeskyFactorization.FromLower(l, n, root.GetProperty("jitter").GetDouble(), opts.Cholesky.Backend); // the back end the options ask for, as Train would use
                gp.Restore(entries, factor, alpha, reference);
                if (priorMean is not null)
                {
                    gp.RestoreReferencePrior(priorMean);
                }
                if (version >= 3)
                {
                    var c = root.GetProperty("calibration");
                    gp.Calibration = new UncertaintyCalibration(c.GetProperty("energy").GetDouble(), c.GetProperty("forces").GetDouble(), c.GetProperty("stress").GetDouble());
                }

                labelKinds = version == 1 ? KindsOf(entries) : ReadKinds(root.GetProperty("label_kinds"));
                return gp;
            }
            catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException or ArgumentException or InvalidDataException or JsonException)
            {
                throw new ModelFileException(path, $"the header is incomplete or inconsistent: {e.Message}");
            }
        }
    }

    private static LabelKinds ReadKinds(JsonElement array)
    {
        var kinds = LabelKinds.None;
        foreach (var x in array.EnumerateArray())
        {
            string name = x.GetString() ?? string.Empty;
            int k = Array.FindIndex(KindNames, p => p.Name == name);
            kinds |= k >= 0 ? KindNames[k].Kind : throw new InvalidDataException($"unknown label kind '{name}' (known: {string.Join(", ", KindNames.Select(p => p.Name))}).");
        }

        return kinds;
    }

    /// <summary>The label kinds the training entries have (for format version 1 files, which did not store them).</summary>
    private static LabelKinds KindsOf(IEnumerable<TrainingEntry> entries)
    {
        var present = LabelNoise.Present(entries);
        return (present[LabelNoise.Energy] ? LabelKinds.Energy : LabelKinds.None)
            | (present[LabelNoise.Force] ? LabelKinds.Forces : LabelKinds.None)
            | (present[LabelNoise.Stress] ? LabelKinds.Stress : LabelKinds.None);
    }
}

/// <summary>A model file that cannot be loaded: not a model, a newer format version, or damaged.</summary>
public sealed class ModelFileException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="path">The file.</param>
    /// <param name="reason">What is wrong.</param>
    public ModelFileException(string path, string reason) : base($"Cannot load model '{path}': {reason}")
    {
        FilePath = path;
    }

    /// <summary>The file.</summary>
    public string FilePath { get; }
}
