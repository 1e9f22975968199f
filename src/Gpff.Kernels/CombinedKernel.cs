using System.Buffers;
using System.Text;
using System.Text.Json;
using Gpff.Descriptors;

namespace Gpff.Kernels;

/// <summary>
/// The sum of kernels of different kinds, k = Σ_parts k_part, e.g. the B2 kernel plus a 2+3-body
/// <see cref="SumKernel"/> ("b2+2+3"). Where <see cref="SumKernel"/> adds environment-pair blocks of local
/// kernels, this one adds whole label blocks, so any <see cref="IKernel"/> of this library may be a
/// part. Its hyperparameters are the parts' concatenated in part order; its environments carry what
/// every part needs (<see cref="DescriptorSettings.Union"/>).
/// </summary>
public sealed class CombinedKernel : IKernel
{
    private readonly IKernel[] _parts;
    private readonly int[] _offsets;
    private readonly string[] _names;

    /// <summary>Creates the sum of the given kernels.</summary>
    /// <param name="parts">At least one kernel; hyperparameter names must not clash.</param>
    public CombinedKernel(params IReadOnlyList<IKernel> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Count == 0)
        {
            throw new ArgumentException("A combined kernel needs at least one part.", nameof(parts));
        }

        _parts = [.. parts];
        _offsets = new int[_parts.Length + 1];
        var names = new List<string>();
        DescriptorSettings? d = null;
        for (int p = 0; p < _parts.Length; p++)
        {
            var part = _parts[p] ?? throw new ArgumentNullException(nameof(parts), $"Part {p} of the combined kernel is null.");
            d = d is null ? part.Descriptor : d.Union(part.Descriptor);
            _offsets[p + 1] = _offsets[p] + part.HyperparameterNames.Count;
            names.AddRange(part.HyperparameterNames);
        }

        if (names.Distinct(StringComparer.Ordinal).Count() != names.Count)
        {
            throw new ArgumentException($"The parts of the combined kernel have clashing hyperparameter names ({string.Join(", ", names)}).", nameof(parts));
        }

        Descriptor = d!;
        _names = [.. names];
    }

    /// <summary>The parts, in order.</summary>
    public IReadOnlyList<IKernel> Parts => _parts;

    /// <inheritdoc />
    public string Name => string.Join(" + ", _parts.Select(p => p.Name));

    /// <inheritdoc />
    public IReadOnlyList<string> HyperparameterNames => _names;

    /// <inheritdoc />
    public IReadOnlyList<double> Hyperparameters => _parts.SelectMany(p => p.Hyperparameters).ToArray();

    /// <inheritdoc />
    public DescriptorSettings Descriptor { get; }

    /// <inheritdoc />
    public double CutoffA => Descriptor.MaxCutoffA;

    /// <inheritdoc />
    public IKernel WithHyperparameters(IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count != _names.Length)
        {
            throw new ArgumentException($"The kernel has {_names.Length} hyperparameters ({string.Join(", ", _names)}), got {values.Count} values.", nameof(values));
        }

        return new CombinedKernel(_parts.Select((p, i) => p.WithHyperparameters(values.Skip(_offsets[i]).Take(_offsets[i + 1] - _offsets[i]).ToArray())).ToArray());
    }

    /// <inheritdoc />
    public StructureEnvironments Describe(Structure structure) => StructureEnvironments.Build(structure, Descriptor);

    /// <inheritdoc />
    public void Covariance(StructureEnvironments a, LabelSelection rows, StructureEnvironments b, LabelSelection columns,
        Span<double> values, Span<double> hyperparameterGradients)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(columns);
        int size = rows.Count * columns.Count;
        if (values.Length < size)
        {
            throw new ArgumentException($"The output block needs {rows.Count} × {columns.Count} = {size} elements, got {values.Length}.", nameof(values));
        }

        bool wantGrad = !hyperparameterGradients.IsEmpty;
        if (wantGrad && hyperparameterGradients.Length < _names.Length * size)
        {
            throw new ArgumentException($"The gradient output needs {_names.Length} × {size} elements, got {hyperparameterGradients.Length}.", nameof(hyperparameterGradients));
        }

        var buffer = ArrayPool<double>.Shared.Rent(Math.Max(1, size));
        try
        {
            values[..size].Clear();
            for (int p = 0; p < _parts.Length; p++)
            {
                var g = wantGrad ? hyperparameterGradients.Slice(_offsets[p] * size, (_offsets[p + 1] - _offsets[p]) * size) : [];
                var v = buffer.AsSpan(0, size);
                _parts[p].Covariance(a, rows, b, columns, v, g);
                for (int i = 0; i < size; i++)
                {
                    values[i] += v[i];
                }
            }
        }
        finally
        {
            ArrayPool<double>.Shared.Return(buffer);
        }
    }

    /// <inheritdoc />
    public void Variance(StructureEnvironments a, LabelSelection labels, Span<double> variances)
    {
        ArgumentNullException.ThrowIfNull(labels);
        int n = labels.Count;
        if (variances.Length < n)
        {
            throw new ArgumentException($"The output needs {n} elements, got {variances.Length}.", nameof(variances));
        }

        var buffer = new double[n];
        variances[..n].Clear();
        foreach (var p in _parts)
        {
            p.Variance(a, labels, buffer);
            for (int i = 0; i < n; i++)
            {
                variances[i] += buffer[i];
            }
        }
    }

    /// <inheritdoc />
    public string ToJson()
    {
        var sb = new StringBuilder("{\"type\":\"combined\",\"parts\":[");
        sb.AppendJoin(',', _parts.Select(p => p.ToJson()));
        sb.Append("]}");
        return sb.ToString();
    }
}
