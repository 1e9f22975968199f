using System.Text.Json;
using Gpff.Descriptors;

namespace Gpff.Kernels;

/// <summary>
/// The sum of local kernels, e.g. 2-body + 3-body: k = Σ_parts k_part. Its hyperparameters are the
/// parts' hyperparameters concatenated in part order; its environments carry everything every part
/// needs (the larger pair cutoff, the larger triplet cutoff). All parts must use the same cutoff
/// function, and parts of the same body order the same cutoff.
/// </summary>
public sealed class SumKernel : LocalKernel
{
    private readonly LocalKernel[] _parts;
    private readonly int[] _offsets;
    private readonly string[] _names;

    /// <summary>Creates the sum of the given kernels.</summary>
    /// <param name="parts">At least one kernel.</param>
    public SumKernel(params IReadOnlyList<LocalKernel> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Count == 0)
        {
            throw new ArgumentException("A sum kernel needs at least one part.", nameof(parts));
        }

        _parts = parts.ToArray();
        _offsets = new int[_parts.Length + 1];
        var names = new List<string>();
        DescriptorSettings? d = null;
        for (int p = 0; p < _parts.Length; p++)
        {
            var part = _parts[p] ?? throw new ArgumentNullException(nameof(parts), $"Part {p} of the sum kernel is null.");
            var pd = part.Descriptor;
            if (d is not null)
            {
                if (pd.CutoffFunction != d.CutoffFunction)
                {
                    throw new ArgumentException($"Part {p} ({part.Name}) uses a {Cutoffs.Name(pd.CutoffFunction)} cutoff but earlier parts use {Cutoffs.Name(d.CutoffFunction)}; all parts of a sum kernel must use the same cutoff function.", nameof(parts));
                }

                if (pd.PairCutoffA > 0 && d.PairCutoffA > 0 && pd.PairCutoffA != d.PairCutoffA)
                {
                    throw new ArgumentException($"Part {p} ({part.Name}) has r_c2 = {pd.PairCutoffA} Å but an earlier part has r_c2 = {d.PairCutoffA} Å; parts of the same body order must share their cutoff.", nameof(parts));
                }

                if (pd.TripletCutoffA > 0 && d.TripletCutoffA > 0 && pd.TripletCutoffA != d.TripletCutoffA)
                {
                    throw new ArgumentException($"Part {p} ({part.Name}) has r_c3 = {pd.TripletCutoffA} Å but an earlier part has r_c3 = {d.TripletCutoffA} Å; parts of the same body order must share their cutoff.", nameof(parts));
                }
            }

            d = d is null ? pd : d.Union(pd);
            _offsets[p + 1] = _offsets[p] + part.HyperparameterCount;
            names.AddRange(part.HyperparameterNames);
        }

        if (names.Distinct(StringComparer.Ordinal).Count() != names.Count)
        {
            throw new ArgumentException($"The parts of the sum kernel have clashing hyperparameter names ({string.Join(", ", names)}); combine at most one kernel of each body order.", nameof(parts));
        }

        Descriptor = d!;
        _names = names.ToArray();
    }

    /// <summary>The parts, in order.</summary>
    public IReadOnlyList<LocalKernel> Parts => _parts;

    /// <inheritdoc />
    public override string Name => string.Join(" + ", _parts.Select(p => p.Name));

    /// <inheritdoc />
    public override IReadOnlyList<string> HyperparameterNames => _names;

    /// <inheritdoc />
    public override IReadOnlyList<double> Hyperparameters => _parts.SelectMany(p => p.Hyperparameters).ToArray();

    /// <inheritdoc />
    public override DescriptorSettings Descriptor { get; }

    /// <inheritdoc />
    public override LocalKernel WithHyperparameters(IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count != _names.Length)
        {
            throw new ArgumentException($"The kernel has {_names.Length} hyperparameters ({string.Join(", ", _names)}), got {values.Count} values.", nameof(values));
        }

        var parts = new LocalKernel[_parts.Length];
        for (int p = 0; p < parts.Length; p++)
        {
            parts[p] = _parts[p].WithHyperparameters(values.Skip(_offsets[p]).Take(_offsets[p + 1] - _offsets[p]).ToArray());
        }

        return new SumKernel(parts);
    }

    /// <inheritdoc />
    public override void CheckEnvironments(StructureEnvironments environments, string what = "structure")
    {
        foreach (var p in _parts)
        {
            p.CheckEnvironments(environments, what);
        }
    }

    /// <inheritdoc />
    public override void EnvironmentCovariance(AtomEnvironment x, AtomEnvironment y, Span<double> block, Span<double> hyperparameterGradients)
    {
        for (int p = 0; p < _parts.Length; p++)
        {
            var g = hyperparameterGradients.IsEmpty
                ? []
                : hyperparameterGradients.Slice(_offsets[p] * EnvironmentBlockSize, (_offsets[p + 1] - _offsets[p]) * EnvironmentBlockSize);
            _parts[p].EnvironmentCovariance(x, y, block, g);
        }
    }

    /// <inheritdoc />
    internal override void SummedEnvironmentCovariance(AtomEnvironment x, AtomEnvironment y, Span<double> block, Span<double> hyperparameterGradients, bool energyAndStressOnly)
    {
        for (int p = 0; p < _parts.Length; p++)
        {
            var g = hyperparameterGradients.IsEmpty
                ? []
                : hyperparameterGradients.Slice(_offsets[p] * EnvironmentBlockSize, (_offsets[p + 1] - _offsets[p]) * EnvironmentBlockSize);
            _parts[p].SummedEnvironmentCovariance(x, y, block, g, energyAndStressOnly);
        }
    }

    /// <inheritdoc />
    public override void LocalEnergyCovariance(AtomEnvironment x, AtomEnvironment y, Span<double> column, Span<double> hyperparameterGradients)
    {
        for (int p = 0; p < _parts.Length; p++)
        {
            var g = hyperparameterGradients.IsEmpty
                ? []
                : hyperparameterGradients.Slice(_offsets[p] * EnvironmentLabelCount, (_offsets[p + 1] - _offsets[p]) * EnvironmentLabelCount);
            _parts[p].LocalEnergyCovariance(x, y, column, g);
        }
    }

    /// <inheritdoc />
    public override void ForceCovarianceWithGradients(AtomEnvironment x, AtomEnvironment y, Span<double> block, Span<double> hyperparameterGradients)
    {
        for (int p = 0; p < _parts.Length; p++)
        {
            _parts[p].ForceCovarianceWithGradients(x, y, block, hyperparameterGradients.Slice(9 * _offsets[p], 9 * (_offsets[p + 1] - _offsets[p])));
        }
    }

    /// <inheritdoc />
    public override void ForceCovariance(AtomEnvironment x, AtomEnvironment y, Span<double> block)
    {
        foreach (var p in _parts)
        {
            p.ForceCovariance(x, y, block);
        }
    }

    internal override void WriteJson(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("type", "sum");
        w.WritePropertyName("parts");
        w.WriteStartArray();
        foreach (var p in _parts)
        {
            p.WriteJson(w);
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }
}
