using Gpff.Descriptors;

namespace Gpff.Kernels;

/// <summary>
/// A covariance function over local environments, as the GP solver consumes it without knowing
/// which kernel it is (2-body, 3-body, 2+3-body, ...). Total energies, forces and stresses of
/// structures are covariances of sums of local energies: E = Σᵢ εᵢ, F = −∂E/∂r, and stress
/// σ = (1/V) ∂E/∂ε (homogeneous strain ε; ASE sign, positive = tensile).
/// Implementations are immutable and thread-safe: any member may be called from many threads at once.
/// </summary>
public interface IKernel
{
    /// <summary>A short name (e.g. "2-body + 3-body squared exponential").</summary>
    string Name { get; }

    /// <summary>Names of the hyperparameters, in the order of <see cref="Hyperparameters"/> (e.g. sigma2, length2, sigma3, length3).</summary>
    IReadOnlyList<string> HyperparameterNames { get; }

    /// <summary>Current hyperparameter values (all positive; amplitudes σ in eV, length scales ℓ in Å).</summary>
    IReadOnlyList<double> Hyperparameters { get; }

    /// <summary>
    /// The index in <see cref="Hyperparameters"/> of an amplitude that only scales the kernel, k(θ) = θ_a²·k̂(the other θ),
    /// so that ∂k/∂θ_a = (2/θ_a)·k for every pair of labels; null when there is none (the default). A solver may use it
    /// to take that derivative's sums from the covariance's own (the sparse GP's likelihood gradient does).
    /// </summary>
    int? AmplitudeIndex => null;

    /// <summary>The cutoffs and cutoff function of the environments this kernel needs.</summary>
    DescriptorSettings Descriptor { get; }

    /// <summary>The largest cutoff radius in Å any environment of this kernel needs.</summary>
    double CutoffA { get; }

    /// <summary>A copy of this kernel with other hyperparameter values (same order as <see cref="HyperparameterNames"/>; all positive and finite).</summary>
    /// <param name="values">New values.</param>
    IKernel WithHyperparameters(IReadOnlyList<double> values);

    /// <summary>Builds the environments of every atom of a structure, as this kernel needs them. Build once per structure and reuse.</summary>
    /// <param name="structure">The structure.</param>
    StructureEnvironments Describe(Structure structure);

    /// <summary>
    /// Covariance block between the selected labels of two structures, row-major
    /// [<paramref name="rows"/>.Count × <paramref name="columns"/>.Count], written to (not added to)
    /// <paramref name="values"/>. When <paramref name="hyperparameterGradients"/> is not empty it
    /// receives, for each hyperparameter h in order, the block's derivative with respect to that
    /// hyperparameter (not its logarithm) at index h·rows·cols + r·cols + c.
    /// </summary>
    /// <param name="a">Environments of the row structure.</param>
    /// <param name="rows">Row labels.</param>
    /// <param name="b">Environments of the column structure (may be the same object as <paramref name="a"/>).</param>
    /// <param name="columns">Column labels.</param>
    /// <param name="values">Output block, at least rows·cols long.</param>
    /// <param name="hyperparameterGradients">Output derivatives (at least H·rows·cols long), or empty.</param>
    void Covariance(StructureEnvironments a, LabelSelection rows, StructureEnvironments b, LabelSelection columns,
        Span<double> values, Span<double> hyperparameterGradients);

    /// <summary>
    /// The prior variances (the diagonal of the covariance of <paramref name="labels"/> with themselves),
    /// cheaper than the full block: force and local-energy variances cost one environment pair each.
    /// </summary>
    /// <param name="a">Environments of the structure.</param>
    /// <param name="labels">Labels.</param>
    /// <param name="variances">Output, labels.Count long.</param>
    void Variance(StructureEnvironments a, LabelSelection labels, Span<double> variances);

    /// <summary>
    /// Serialises the kernel definition (type, cutoffs, cutoff function, species groups, hyperparameters)
    /// to a JSON object string that <see cref="KernelSerializer.Deserialize"/> turns back into an equal kernel.
    /// </summary>
    string ToJson();
}
