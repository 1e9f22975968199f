using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gpff.Descriptors;
using Gpff.Geometry;
using Gpff.IO;
using Gpff.Kernels;
using Gpff.Regression.LinearAlgebra;

namespace Gpff.Regression;

/// <summary>
/// A sparse-GP training split into shards (for a Slurm job array, or run one after the other in one
/// process): everything a shard task needs to compute its partial sums — the kernel with its
/// hyperparameters, the noises, the inducing environments, the label kinds, the number of shards and
/// the training file — and what the reduce checks them against (<see cref="Fingerprint"/>).
/// <para>
/// The sparse GP's normal equations and the terms of its likelihood and gradient are sums over training
/// structures (see <see cref="SparseGaussianProcess"/>), so shard k of n takes the structures with index
/// i ≡ k (mod n) of the training stream, accumulates their sums (<see cref="Compute"/>) into a
/// <see cref="SparseShard"/>, written atomically with a SHA-256 checksum (<see cref="SparseShard.Save"/>);
/// <see cref="Reduce"/> adds the n shards into the trained model, <see cref="ReduceLikelihood"/> into the
/// likelihood and its gradient. The sums are whitened by K_uu's Cholesky factor, which every task and the
/// reduce compute from the same inducing set: the result equals single-process training up to the
/// order of floating-point additions.
/// </para>
/// </summary>
public sealed class SparseShardPlan
{
    /// <summary>
    /// Version of the plan and shard file formats. 2: a shard's likelihood-gradient sums D_h are whitened on one side
    /// (Σ ∂K_us Σ⁻¹ K_su L⁻ᵀ; version 1 held Σ ∂K_us Σ⁻¹ K_su), so a version-1 shard cannot be reduced with them.
    /// </summary>
    public const int FormatVersion = 2;

    /// <summary>File name extension of shard files.</summary>
    public const string ShardExtension = ".gpffshard";

    private SparseShardPlan(IKernel kernel, NoiseLevels noise, IReadOnlyList<EnvironmentCluster> inducing, LabelKinds kinds, int shardCount, bool gradient,
        double jitterThreshold, SparseVarianceKind variance, SpeciesReferenceEnergies? fixedReference, string? dataFile, string? dataIdentity)
    {
        Kernel = kernel;
        Noise = noise;
        Inducing = inducing;
        Kinds = kinds;
        ShardCount = shardCount;
        Gradient = gradient;
        InducingJitterThreshold = jitterThreshold;
        Variance = variance;
        FixedReferenceEnergies = fixedReference;
        DataFile = dataFile;
        DataIdentity = dataIdentity;
        Fingerprint = ComputeFingerprint();
    }

    /// <summary>The kernel and its hyperparameters.</summary>
    public IKernel Kernel { get; }

    /// <summary>The label noises.</summary>
    public NoiseLevels Noise { get; }

    /// <summary>The inducing environments.</summary>
    public IReadOnlyList<EnvironmentCluster> Inducing { get; }

    /// <summary>The label kinds used.</summary>
    public LabelKinds Kinds { get; }

    /// <summary>Number of shards n (shard k takes the structures i ≡ k mod n).</summary>
    public int ShardCount { get; }

    /// <summary>Whether the shards also hold the likelihood gradient's sums (per noise kind, D_h, E_h).</summary>
    public bool Gradient { get; }

    /// <summary>The jitter policy of K_uu (<see cref="SparseGaussianProcessOptions.InducingJitterThreshold"/>).</summary>
    public double InducingJitterThreshold { get; }

    /// <summary>The variance the trained model reports (does not enter the sums).</summary>
    public SparseVarianceKind Variance { get; }

    /// <summary>Fixed per-species reference energies, or null to fit them at the reduce (they do not enter the sums).</summary>
    public SpeciesReferenceEnergies? FixedReferenceEnergies { get; }

    /// <summary>The training file (extxyz, full path) the shard tasks read, or null when the caller passes the structures.</summary>
    public string? DataFile { get; }

    /// <summary>Length and last write time of <see cref="DataFile"/> when the plan was made ("bytes@ticks"), so that shards of an edited file are refused.</summary>
    public string? DataIdentity { get; }

    /// <summary>SHA-256 (hex) of everything the sums depend on: kernel, hyperparameters, noises, inducing environments, label kinds, shard count, gradient, jitter policy, data file identity.</summary>
    public string Fingerprint { get; }

    /// <summary>Makes a plan for the inducing set, kernel and noises of <paramref name="model"/> (trained or not).</summary>
    /// <param name="model">The sparse GP.</param>
    /// <param name="shardCount">Number of shards, ≥ 1.</param>
    /// <param name="kinds">Label kinds to use.</param>
    /// <param name="dataFile">The extxyz training file the shard tasks read (null: the caller passes the structures to <see cref="Compute"/>).</param>
    /// <param name="gradient">Whether the shards hold the likelihood gradient's sums too.</param>
    public static SparseShardPlan For(SparseGaussianProcess model, int shardCount, LabelKinds kinds = LabelKinds.All, string? dataFile = null, bool gradient = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(shardCount, 1);
        string? full = dataFile is null ? null : Path.GetFullPath(dataFile);
        if (full is not null && !File.Exists(full))
        {
            throw new FileNotFoundException($"The training file '{dataFile}' does not exist.", dataFile);
        }

        return new SparseShardPlan(model.Kernel, model.Noise, model.Inducing.ToArray(), kinds, shardCount, gradient, model.Options.InducingJitterThreshold,
            model.Options.Variance, model.Options.ReferenceEnergies, full, full is null ? null : Identity(full));
    }

    /// <summary>The same plan at other hyperparameters and noises (one evaluation of a hyperparameter fit).</summary>
    /// <param name="kernel">The kernel (same cutoffs).</param>
    /// <param name="noise">The noises.</param>
    /// <param name="gradient">Whether the shards hold the gradient's sums.</param>
    public SparseShardPlan With(IKernel kernel, NoiseLevels noise, bool gradient)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        ArgumentNullException.ThrowIfNull(noise);
        if (!kernel.Descriptor.Equals(Kernel.Descriptor))
        {
            throw new ArgumentException("The kernel needs other environments than the inducing ones were built for (cutoffs or cutoff function differ).", nameof(kernel));
        }

        return new SparseShardPlan(kernel, noise, Inducing, Kinds, ShardCount, gradient, InducingJitterThreshold, Variance, FixedReferenceEnergies, DataFile, DataIdentity);
    }

    /// <summary>Whether structure <paramref name="structureIndex"/> (0-based, in stream order) belongs to shard <paramref name="shard"/> of <paramref name="shardCount"/>.</summary>
    /// <param name="structureIndex">Index in the training stream.</param>
    /// <param name="shard">0-based shard index.</param>
    /// <param name="shardCount">Number of shards.</param>
    public static bool Contains(int structureIndex, int shard, int shardCount) => structureIndex % shardCount == shard;

    /// <summary>"shard-0003-of-0008.gpffshard": the file of shard <paramref name="index"/> in a shard folder.</summary>
    /// <param name="index">0-based shard index.</param>
    /// <param name="count">Number of shards.</param>
    public static string ShardFileName(int index, int count) =>
        string.Create(CultureInfo.InvariantCulture, $"shard-{index:D4}-of-{count:D4}{ShardExtension}");

    /// <summary>A new, untrained sparse GP with this plan's kernel, noises, inducing environments and options.</summary>
    /// <param name="maxDegreeOfParallelism">Threads of the covariance assembly (≤ 0: all cores).</param>
    public SparseGaussianProcess CreateModel(int maxDegreeOfParallelism = -1) => new(Kernel, Noise, Inducing, new SparseGaussianProcessOptions
    {
        MaxDegreeOfParallelism = maxDegreeOfParallelism > 0 ? maxDegreeOfParallelism : Environment.ProcessorCount,
        InducingJitterThreshold = InducingJitterThreshold,
        Variance = Variance,
        ReferenceEnergies = FixedReferenceEnergies,
    });

    /// <summary>
    /// Computes shard <paramref name="index"/>: the sums of the structures i ≡ index (mod <see cref="ShardCount"/>)
    /// of <paramref name="structures"/> (the whole training stream, read once; the others are skipped unread beyond parsing).
    /// Memory O(M²) plus one structure.
    /// </summary>
    /// <param name="index">0-based shard index.</param>
    /// <param name="structures">The whole training stream (null: read <see cref="DataFile"/>).</param>
    /// <param name="maxDegreeOfParallelism">Threads (≤ 0: all cores).</param>
    /// <param name="progress">Reports (stage, structures of the shard done, −1).</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The shard's sums.</returns>
    public SparseShard Compute(int index, IEnumerable<Structure>? structures = null, int maxDegreeOfParallelism = -1, IProgress<GpProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, ShardCount);
        if (structures is null)
        {
            CheckDataFile();
            structures = ExtXyz.Read(DataFile!);
        }

        var model = CreateModel(maxDegreeOfParallelism);
        var mine = structures.Select((s, i) => (s, i)).Where(p => Contains(p.i, index, ShardCount));
        var (stats, rho) = model.AccumulateShard(mine, Kinds, Gradient, progress, cancellationToken);
        return new SparseShard(index, ShardCount, Fingerprint, rho, stats);
    }

    /// <summary>What one shard task does: computes shard <paramref name="index"/> from <see cref="DataFile"/> and writes it (atomically) into <paramref name="directory"/> as <see cref="ShardFileName"/>.</summary>
    /// <param name="index">0-based shard index.</param>
    /// <param name="directory">The shard folder.</param>
    /// <param name="maxDegreeOfParallelism">Threads (≤ 0: all cores).</param>
    /// <param name="cancellationToken">Cancellation (nothing is written then).</param>
    /// <returns>The shard written.</returns>
    public SparseShard ComputeAndSave(int index, string directory, int maxDegreeOfParallelism = -1, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var shard = Compute(index, null, maxDegreeOfParallelism, null, cancellationToken);
        shard.Save(Path.Combine(directory, ShardFileName(index, ShardCount)), cancellationToken);
        return shard;
    }

    /// <summary>
    /// The trained model from the shards of this plan: checks that they are exactly shards 0 … n−1 of this
    /// plan (fingerprint, count, no duplicate, the same K_uu jitter), adds them and solves.
    /// </summary>
    /// <param name="shards">The shards (any order).</param>
    /// <param name="maxDegreeOfParallelism">Threads of the model (≤ 0: all cores).</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <exception cref="SparseShardException">A shard is missing, repeated, of another plan, or made with the gradient sums when they are not wanted (or the other way round).</exception>
    public SparseGaussianProcess Reduce(IEnumerable<SparseShard> shards, int maxDegreeOfParallelism = -1, CancellationToken cancellationToken = default)
    {
        var model = CreateModel(maxDegreeOfParallelism);
        var (stats, rho) = Merge(shards);
        model.TrainFromStatistics(stats, rho, cancellationToken);
        return model;
    }

    /// <summary>The sparse log marginal likelihood and (with <see cref="Gradient"/>) its gradient, from the shards: equal to <see cref="SparseGaussianProcess.LogMarginalLikelihood"/> on all the data.</summary>
    /// <param name="shards">The shards (any order).</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <exception cref="SparseShardException">As <see cref="Reduce"/>.</exception>
    public LikelihoodResult ReduceLikelihood(IEnumerable<SparseShard> shards, CancellationToken cancellationToken = default)
    {
        var model = CreateModel();
        var (stats, rho) = Merge(shards);
        return model.LikelihoodFromStatistics(stats, rho, Gradient, cancellationToken);
    }

    /// <summary>Reads every shard file of a folder (<see cref="ShardFileName"/>) and reduces them into the trained model.</summary>
    /// <param name="directory">The shard folder.</param>
    /// <param name="maxDegreeOfParallelism">Threads of the model.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <exception cref="SparseShardException">A shard file is missing, damaged or of another plan; the message lists every such shard.</exception>
    public SparseGaussianProcess ReduceDirectory(string directory, int maxDegreeOfParallelism = -1, CancellationToken cancellationToken = default) =>
        Reduce(ReadAll(directory), maxDegreeOfParallelism, cancellationToken);

    /// <summary>The likelihood (and gradient) from the shard files of a folder.</summary>
    /// <param name="directory">The shard folder.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <exception cref="SparseShardException">As <see cref="ReduceDirectory"/>.</exception>
    public LikelihoodResult ReduceLikelihoodDirectory(string directory, CancellationToken cancellationToken = default) =>
        ReduceLikelihood(ReadAll(directory), cancellationToken);

    /// <summary>
    /// Which shard files of a folder are usable: the indices whose file is missing, and those whose file is
    /// damaged (wrong length or checksum, a partial write) or belongs to another plan, with the reason.
    /// A task to rerun is one of these.
    /// </summary>
    /// <param name="directory">The shard folder.</param>
    public IReadOnlyDictionary<int, string> Problems(string directory)
    {
        var problems = new SortedDictionary<int, string>();
        for (int i = 0; i < ShardCount; i++)
        {
            string path = Path.Combine(directory, ShardFileName(i, ShardCount));
            if (!File.Exists(path))
            {
                problems[i] = $"{path} is missing";
                continue;
            }

            try
            {
                Check(SparseShard.Load(path), path, i);
            }
            catch (SparseShardException e)
            {
                problems[i] = e.Message;
            }
        }

        return problems;
    }

    private List<SparseShard> ReadAll(string directory)
    {
        var problems = Problems(directory);
        if (problems.Count > 0)
        {
            throw new SparseShardException(directory, string.Create(CultureInfo.InvariantCulture,
                $"Cannot reduce the shards in {directory}: {problems.Count} of {ShardCount} are not usable (rerun those tasks): {string.Join("; ", problems.Values)}."));
        }

        return Enumerable.Range(0, ShardCount).Select(i => SparseShard.Load(Path.Combine(directory, ShardFileName(i, ShardCount)))).ToList();
    }

    private void Check(SparseShard shard, string where, int? expectedIndex = null)
    {
        if (shard.Fingerprint != Fingerprint)
        {
            throw new SparseShardException(where, $"{where} belongs to another training plan (fingerprint {shard.Fingerprint[..12]}…, this plan {Fingerprint[..12]}…: other inducing set, hyperparameters, noises, label kinds, shard count or training file).");
        }

        if (shard.ShardCount != ShardCount || shard.Index < 0 || shard.Index >= ShardCount || (expectedIndex is int e && shard.Index != e))
        {
            throw new SparseShardException(where, $"{where} holds shard {shard.Index} of {shard.ShardCount}, expected {(expectedIndex is int x ? x.ToString(CultureInfo.InvariantCulture) : "one")} of {ShardCount}.");
        }

        if (shard.HasGradient != Gradient)
        {
            throw new SparseShardException(where, $"{where} {(shard.HasGradient ? "holds" : "lacks")} the likelihood gradient's sums, which this plan {(Gradient ? "needs" : "does not use")}.");
        }

        if (shard.Statistics.M != Inducing.Count)
        {
            throw new SparseShardException(where, $"{where} has sums of {shard.Statistics.M} inducing environments, the plan {Inducing.Count}.");
        }
    }

    private (SparseStatistics Stats, double Rho) Merge(IEnumerable<SparseShard> shards)
    {
        ArgumentNullException.ThrowIfNull(shards);
        var byIndex = new SparseShard?[ShardCount];
        foreach (var s in shards)
        {
            ArgumentNullException.ThrowIfNull(s);
            string where = s.SourcePath ?? string.Create(CultureInfo.InvariantCulture, $"shard {s.Index}");
            Check(s, where);
            if (byIndex[s.Index] is not null)
            {
                throw new SparseShardException(where, string.Create(CultureInfo.InvariantCulture, $"Shard {s.Index} of {ShardCount} was given twice."));
            }

            byIndex[s.Index] = s;
        }

        var missing = Enumerable.Range(0, ShardCount).Where(i => byIndex[i] is null).ToList();
        if (missing.Count > 0)
        {
            throw new SparseShardException("", $"Cannot reduce an incomplete set of shards: {missing.Count} of {ShardCount} missing ({string.Join(", ", missing.Take(20))}{(missing.Count > 20 ? ", …" : "")}).");
        }

        double rho = byIndex[0]!.RelativeJitter;
        var bad = byIndex.FirstOrDefault(s => s!.RelativeJitter != rho);
        if (bad is not null)
        {
            throw new SparseShardException(bad.SourcePath ?? "", string.Create(CultureInfo.InvariantCulture,
                $"Shard {bad.Index} factored K_uu with a jitter of {bad.RelativeJitter:G3}, shard 0 with {rho:G3}: the tasks ran different builds or linear-algebra back ends; rerun them alike."));
        }

        var first = byIndex[0]!.Statistics;
        var total = new SparseStatistics(first.M, Kernel.Hyperparameters.Count, first.PerKind, Gradient, LinearAlgebraBackend.Active);
        foreach (var s in byIndex)
        {
            total.Merge(s!.Statistics);
        }

        total.SortEnergiesByStreamOrder();

        if (total.StructureCount == 0)
        {
            throw new SparseShardException("", "The shards hold no training structure: is the training file empty?");
        }

        return (total, rho);
    }

    private void CheckDataFile()
    {
        if (DataFile is null)
        {
            throw new InvalidOperationException("The plan names no training file: pass the structures.");
        }

        if (!File.Exists(DataFile))
        {
            throw new FileNotFoundException($"The training file '{DataFile}' of the plan does not exist (on this node?).", DataFile);
        }

        if (Identity(DataFile) != DataIdentity)
        {
            throw new InvalidOperationException($"The training file '{DataFile}' changed since the plan was made (size or modification time {Identity(DataFile)}, plan {DataIdentity}); make a new plan.");
        }
    }

    private static string Identity(string path)
    {
        var info = new FileInfo(path);
        return string.Create(CultureInfo.InvariantCulture, $"{info.Length}@{info.LastWriteTimeUtc.Ticks}");
    }

    // ------------------------------------------------------------------ plan file (JSON)

    /// <summary>Writes the plan as JSON (atomically): what a shard task reads.</summary>
    /// <param name="path">Destination.</param>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var bytes = ToJson(includeInfo: true);
        SafeFile.WriteAtomic(path, s => s.Write(bytes));
    }

    /// <summary>Reads a plan written by <see cref="Save"/>.</summary>
    /// <param name="path">The plan file.</param>
    /// <exception cref="SparseShardException">Not a plan, another version, or a damaged one (the message says which).</exception>
    public static SparseShardPlan Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        try
        {
            var root = JsonNode.Parse(File.ReadAllText(path))?.AsObject() ?? throw new JsonException("empty document");
            if ((string?)root["format"] != "gpff-sparse-shard-plan")
            {
                throw new SparseShardException(path, $"{path} is not a sparse shard plan (no \"format\": \"gpff-sparse-shard-plan\").");
            }

            int version = (int)root["version"]!;
            if (version != FormatVersion)
            {
                throw new SparseShardException(path, $"{path} is a shard plan of version {version}; this Gpff reads version {FormatVersion}.");
            }

            var kernel = KernelSerializer.Read(root["kernel"], "$.kernel");
            var n = root["noise"]!.AsObject();
            var noise = new NoiseLevels((double)n[NoiseLevels.EnergyName]!, (double)n[NoiseLevels.ForceName]!, (double)n[NoiseLevels.StressName]!);
            var kinds = (LabelKinds)(int)root["label_kinds"]!;
            var inducing = root["inducing"]!.AsArray().Select(c =>
            {
                var o = c!.AsObject();
                var zs = o["neighbor_species"]!.AsArray().Select(z => (int)z!).ToArray();
                var v = o["neighbor_vectors_a"]!.AsArray().Select(x => (double)x!).ToArray();
                var vs = Enumerable.Range(0, zs.Length).Select(i => new Vec3(v[3 * i], v[3 * i + 1], v[3 * i + 2])).ToArray();
                return new EnvironmentCluster((int)o["species"]!, zs, vs, (double)o["radius_a"]!);
            }).ToArray();
            SpeciesReferenceEnergies? fixedReference = root["fixed_reference_energies_ev"] is JsonObject fr
                ? SpeciesReferenceEnergies.FromValues(fr.ToDictionary(p => Elements.AtomicNumber(p.Key), p => (double)p.Value!))
                : null;
            var plan = new SparseShardPlan(kernel, noise, inducing, kinds, (int)root["shard_count"]!, (bool)root["gradient"]!, (double)root["inducing_jitter_threshold"]!,
                (string?)root["variance"] == "sor" ? SparseVarianceKind.Sor : SparseVarianceKind.Dtc, fixedReference, (string?)root["data_file"], (string?)root["data_identity"]);
            if ((string?)root["fingerprint"] != plan.Fingerprint)
            {
                throw new SparseShardException(path, $"{path}: its content does not match its fingerprint (edited by hand or damaged); make the plan again.");
            }

            return plan;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException or FormatException or ArgumentException or KeyNotFoundException)
        {
            throw new SparseShardException(path, $"{path} is not a readable sparse shard plan: {e.Message}");
        }
    }

    private byte[] ToJson(bool includeInfo)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = includeInfo }))
        {
            w.WriteStartObject();
            w.WriteString("format", "gpff-sparse-shard-plan");
            w.WriteNumber("version", FormatVersion);
            if (includeInfo)
            {
                w.WriteString("fingerprint", Fingerprint);
            }

            w.WritePropertyName("kernel");
            w.WriteRawValue(Kernel.ToJson());
            w.WriteStartObject("noise");
            w.WriteNumber(NoiseLevels.EnergyName, Noise.EnergyEvPerAtom);
            w.WriteNumber(NoiseLevels.ForceName, Noise.ForceEvPerA);
            w.WriteNumber(NoiseLevels.StressName, Noise.StressEvPerA3);
            w.WriteEndObject();
            w.WriteNumber("label_kinds", (int)Kinds);
            w.WriteNumber("shard_count", ShardCount);
            w.WriteBoolean("gradient", Gradient);
            w.WriteNumber("inducing_jitter_threshold", InducingJitterThreshold);
            w.WriteString("data_file", DataFile);
            w.WriteString("data_identity", DataIdentity);
            if (includeInfo)
            {
                // Not part of the sums: the trained model's variance and prior mean.
                w.WriteString("variance", Variance == SparseVarianceKind.Sor ? "sor" : "dtc");
                if (FixedReferenceEnergies is { } fr)
                {
                    w.WriteStartObject("fixed_reference_energies_ev");
                    foreach (int z in fr.Species)
                    {
                        w.WriteNumber(Elements.Symbol(z), fr.EnergyEv(z));
                    }

                    w.WriteEndObject();
                }
            }

            w.WriteStartArray("inducing");
            foreach (var c in Inducing)
            {
                w.WriteStartObject();
                w.WriteNumber("species", c.CentralSpecies);
                w.WriteNumber("radius_a", c.RadiusA);
                w.WriteStartArray("neighbor_species");
                foreach (int z in c.NeighborSpecies)
                {
                    w.WriteNumberValue(z);
                }

                w.WriteEndArray();
                w.WriteStartArray("neighbor_vectors_a");
                foreach (var v in c.NeighborVectorsA)
                {
                    w.WriteNumberValue(v.X);
                    w.WriteNumberValue(v.Y);
                    w.WriteNumberValue(v.Z);
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return ms.ToArray();
    }

    private string ComputeFingerprint() => Convert.ToHexStringLower(SHA256.HashData(ToJson(includeInfo: false)));
}

/// <summary>
/// One shard's partial sums of a sparse-GP training (<see cref="SparseShardPlan"/>): the M × M normal-equation
/// and likelihood statistics of its structures, with the plan's fingerprint and the shard's index.
/// </summary>
public sealed class SparseShard
{
    private static ReadOnlySpan<byte> Magic => "GPFFSHRD"u8;

    internal SparseShard(int index, int shardCount, string fingerprint, double relativeJitter, SparseStatistics statistics, string? sourcePath = null)
    {
        Index = index;
        ShardCount = shardCount;
        Fingerprint = fingerprint;
        RelativeJitter = relativeJitter;
        Statistics = statistics;
        SourcePath = sourcePath;
    }

    /// <summary>0-based index of the shard.</summary>
    public int Index { get; }

    /// <summary>Number of shards of the plan.</summary>
    public int ShardCount { get; }

    /// <summary>The fingerprint of the plan it was computed for.</summary>
    public string Fingerprint { get; }

    /// <summary>The jitter the task added to K_uu, relative to its mean diagonal.</summary>
    public double RelativeJitter { get; }

    /// <summary>Number of training structures in the shard.</summary>
    public int StructureCount => Statistics.StructureCount;

    /// <summary>Number of labels in the shard.</summary>
    public long LabelCount => Statistics.LabelCount;

    /// <summary>Whether it holds the likelihood gradient's sums.</summary>
    public bool HasGradient => Statistics.H > 0;

    /// <summary>The file it was read from (null when computed in this process).</summary>
    public string? SourcePath { get; }

    internal SparseStatistics Statistics { get; }

    /// <summary>
    /// Writes the shard: a hidden temporary file in the same folder, renamed when complete (a task killed
    /// mid-write leaves no shard file), ending with the SHA-256 of everything before it (a damaged or
    /// partial file is refused on reading).
    /// </summary>
    /// <param name="path">Destination.</param>
    /// <param name="cancellationToken">Checked before the rename.</param>
    public void Save(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var s = Statistics;
        SafeFile.WriteAtomic(path, stream =>
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            void Put(ReadOnlySpan<byte> bytes)
            {
                stream.Write(bytes);
                hash.AppendData(bytes);
            }

            var buffer = new byte[1 << 16];
            int used = 0;
            void Flush()
            {
                Put(buffer.AsSpan(0, used));
                used = 0;
            }

            void Doubles(double[] a)
            {
                foreach (double v in a)
                {
                    if (used + 8 > buffer.Length)
                    {
                        Flush();
                    }

                    BinaryPrimitives.WriteDoubleLittleEndian(buffer.AsSpan(used), v);
                    used += 8;
                }
            }

            Put(Magic);
            Span<byte> b8 = stackalloc byte[8];
            BinaryPrimitives.WriteInt32LittleEndian(b8, SparseShardPlan.FormatVersion);
            Put(b8[..4]);
            var header = Header();
            BinaryPrimitives.WriteInt64LittleEndian(b8, header.Length);
            Put(b8);
            Put(header);
            foreach (var a in s.B)
            {
                Doubles(a);
            }

            for (int k = 0; k < LabelNoise.KindCount; k++)
            {
                Doubles(s.C[k]);
                Doubles(s.Q[k]);
            }

            for (int h = 0; h < s.H; h++)
            {
                Doubles(s.D[h]);
                Doubles(s.E[h]);
            }

            Flush();
            stream.Write(hash.GetHashAndReset());
        }, cancellationToken);
    }

    private byte[] Header()
    {
        var s = Statistics;
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteString("format", "gpff-sparse-shard");
            w.WriteString("fingerprint", Fingerprint);
            w.WriteNumber("index", Index);
            w.WriteNumber("shard_count", ShardCount);
            w.WriteNumber("inducing", s.M);
            w.WriteNumber("hyperparameters", s.H);
            w.WriteBoolean("per_kind", s.PerKind);
            w.WriteNumber("relative_jitter", RelativeJitter);
            w.WriteNumber("structures", s.StructureCount);
            w.WriteNumber("log_det_noise", s.LogDetNoise);
            w.WriteStartArray("label_counts");
            foreach (long n in s.Counts)
            {
                w.WriteNumberValue(n);
            }

            w.WriteEndArray();
            w.WriteStartArray("target_species");
            foreach (int z in s.Species)
            {
                w.WriteNumberValue(z);
            }

            w.WriteEndArray();
            w.WriteStartArray("seen_species");
            foreach (int z in s.SeenSpecies)
            {
                w.WriteNumberValue(z);
            }

            w.WriteEndArray();
            w.WriteStartArray("energies");
            foreach (var (zs, e) in s.Energies)
            {
                w.WriteStartArray();
                w.WriteNumberValue(e);
                foreach (int z in zs)
                {
                    w.WriteNumberValue(z);
                }

                w.WriteEndArray();
            }

            w.WriteEndArray();
            w.WriteStartArray("energy_stream_indices");
            foreach (long i in s.EnergyOrder)
            {
                w.WriteNumberValue(i);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return ms.ToArray();
    }

    /// <summary>Reads a shard file written by <see cref="Save"/>, checking its length and checksum.</summary>
    /// <param name="path">The shard file.</param>
    /// <returns>The shard.</returns>
    /// <exception cref="SparseShardException">Not a shard file, another version, or damaged or partly written (the message says which).</exception>
    public static SparseShard Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        try
        {
            var bytes = File.ReadAllBytes(path);
            if (bytes.Length < 20 + 32 || !bytes.AsSpan(0, 8).SequenceEqual(Magic))
            {
                throw new SparseShardException(path, $"{path} is not a shard file ({bytes.Length} bytes, no GPFFSHRD magic): partly written or another file.");
            }

            int version = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8));
            if (version != SparseShardPlan.FormatVersion)
            {
                throw new SparseShardException(path, $"{path} is a shard of format version {version}; this Gpff reads version {SparseShardPlan.FormatVersion}.");
            }

            long headerLength = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(12));
            if (headerLength < 2 || 20 + headerLength + 32 > bytes.Length)
            {
                throw new SparseShardException(path, $"{path} is cut short ({bytes.Length} bytes; its header alone needs {20 + headerLength + 32}): the task that wrote it did not finish; rerun it.");
            }

            var computed = SHA256.HashData(bytes.AsSpan(0, bytes.Length - 32));
            using var doc = JsonDocument.Parse(bytes.AsMemory(20, (int)headerLength));
            var h = doc.RootElement;
            int m = h.GetProperty("inducing").GetInt32(), nh = h.GetProperty("hyperparameters").GetInt32();
            bool perKind = h.GetProperty("per_kind").GetBoolean();
            var species = h.GetProperty("target_species").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            int t = 1 + species.Length, groups = perKind ? LabelNoise.KindCount : 1;
            long doubles = groups * (long)m * m + LabelNoise.KindCount * ((long)m * t + (long)t * t) + nh * ((long)m * m + (long)m * t);
            long expected = 20 + headerLength + 8 * doubles + 32;
            if (expected != bytes.Length)
            {
                throw new SparseShardException(path, $"{path} has {bytes.Length} bytes but its header announces {expected} ({m} inducing environments, {t} target columns): cut short or damaged; rerun its task.");
            }

            if (!computed.AsSpan().SequenceEqual(bytes.AsSpan(bytes.Length - 32)))
            {
                throw new SparseShardException(path, $"{path}: the checksum does not match (damaged after it was written); rerun its task.");
            }

            long pos = 20 + headerLength;
            double[] Next(long count)
            {
                var a = new double[count];
                for (long i = 0; i < count; i++)
                {
                    a[i] = BinaryPrimitives.ReadDoubleLittleEndian(bytes.AsSpan((int)(pos + 8 * i)));
                }

                pos += 8 * count;
                return a;
            }

            var b = new double[groups][];
            for (int g = 0; g < groups; g++)
            {
                b[g] = Next((long)m * m);
            }

            var c = new double[LabelNoise.KindCount][];
            var q = new double[LabelNoise.KindCount][];
            for (int k = 0; k < LabelNoise.KindCount; k++)
            {
                c[k] = Next((long)m * t);
                q[k] = Next((long)t * t);
            }

            var d = new double[nh][];
            var e = new double[nh][];
            for (int i = 0; i < nh; i++)
            {
                d[i] = Next((long)m * m);
                e[i] = Next((long)m * t);
            }

            var stats = new SparseStatistics(m, nh, perKind, nh > 0, LinearAlgebraBackend.Active);
            var energies = h.GetProperty("energies").EnumerateArray().Select(a =>
            {
                var items = a.EnumerateArray().ToArray();
                return (items.Skip(1).Select(z => z.GetInt32()).ToArray(), items[0].GetDouble());
            }).ToList();
            stats.RestoreAll(species, b, c, q, d, e, h.GetProperty("label_counts").EnumerateArray().Select(x => x.GetInt64()).ToArray(),
                h.GetProperty("log_det_noise").GetDouble(), h.GetProperty("structures").GetInt32(), energies,
                h.GetProperty("energy_stream_indices").EnumerateArray().Select(x => x.GetInt64()),
                h.GetProperty("seen_species").EnumerateArray().Select(x => x.GetInt32()));
            return new SparseShard(h.GetProperty("index").GetInt32(), h.GetProperty("shard_count").GetInt32(), h.GetProperty("fingerprint").GetString()!,
                h.GetProperty("relative_jitter").GetDouble(), stats, path);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException or FormatException or InvalidDataException)
        {
            throw new SparseShardException(path, $"{path} is not a readable shard file: {e.Message}");
        }
    }
}

/// <summary>A shard or shard plan that cannot be used: missing, damaged, partly written, of another plan, or an incomplete set.</summary>
public sealed class SparseShardException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="path">The file or folder concerned ("" when none).</param>
    /// <param name="message">What is wrong and what to do.</param>
    public SparseShardException(string path, string message) : base(message)
    {
        FilePath = path;
    }

    /// <summary>The file or folder concerned ("" when none).</summary>
    public string FilePath { get; }
}
