using System.Text.Json;
using Gpff.Descriptors;

namespace Gpff.Kernels;

/// <summary>
/// What the single-body-order kernels (<see cref="TwoBodyKernel"/>, <see cref="ThreeBodyKernel"/>)
/// share: one cutoff radius and cutoff function, the amplitude σ and length scale ℓ (with optional
/// per-species-group values), their names and serialisation, and the check that environments were
/// built with this kernel's cutoff.
/// </summary>
public abstract class NBodyKernel : LocalKernel
{
    private protected NBodyKernel(int bodyOrder, double cutoffA, double sigmaEv, double lengthA, CutoffFunction cutoffFunction, IReadOnlyList<SpeciesGroup>? groups)
    {
        if (!(cutoffA > 0) || !double.IsFinite(cutoffA))
        {
            throw new ArgumentOutOfRangeException(nameof(cutoffA), cutoffA, $"The {bodyOrder}-body cutoff must be a positive finite number of Å, got {cutoffA}.");
        }

        BodyOrder = bodyOrder;
        Descriptor = bodyOrder == 2 ? new DescriptorSettings(cutoffA, 0, cutoffFunction) : new DescriptorSettings(0, cutoffA, cutoffFunction);
        Descriptor.Validate();
        H = new GroupedHyperparameters(bodyOrder, sigmaEv, lengthA, groups);
    }

    /// <summary>The body order: 2 (pairs) or 3 (triplets).</summary>
    public int BodyOrder { get; }

    /// <summary>This kernel's cutoff radius in Å (r_c2 or r_c3).</summary>
    public double OwnCutoffA => BodyOrder == 2 ? Descriptor.PairCutoffA : Descriptor.TripletCutoffA;

    /// <summary>The cutoff function.</summary>
    public CutoffFunction CutoffFunction => Descriptor.CutoffFunction;

    /// <summary>Default signal amplitude σ in eV.</summary>
    public double SigmaEv => H.Sigma[0];

    /// <summary>Default length scale ℓ in Å.</summary>
    public double LengthA => H.Length[0];

    /// <summary>Species groups with their own hyperparameters.</summary>
    public IReadOnlyList<SpeciesGroup> Groups => H.Groups;

    /// <inheritdoc />
    public override IReadOnlyList<string> HyperparameterNames => H.Names;

    /// <inheritdoc />
    public override IReadOnlyList<double> Hyperparameters => H.Values();

    /// <inheritdoc />
    public override DescriptorSettings Descriptor { get; }

    /// <summary>The hyperparameters, per species group.</summary>
    private protected GroupedHyperparameters H { get; }

    /// <inheritdoc />
    public override void CheckEnvironments(StructureEnvironments environments, string what = "structure")
    {
        ArgumentNullException.ThrowIfNull(environments);
        var t = environments.Settings;
        double theirs = BodyOrder == 2 ? t.PairCutoffA : t.TripletCutoffA;
        if (theirs != OwnCutoffA || t.CutoffFunction != CutoffFunction)
        {
            throw new ArgumentException(
                $"The environments of the {what} were built with r_c{BodyOrder} = {theirs} Å and a {Cutoffs.Name(t.CutoffFunction)} cutoff, but the {BodyOrder}-body kernel needs r_c{BodyOrder} = {OwnCutoffA} Å and a {Cutoffs.Name(CutoffFunction)} cutoff. Build them with kernel.Describe(structure).");
        }
    }

    internal override void WriteJson(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("type", BodyOrder == 2 ? "two-body" : "three-body");
        w.WriteNumber("cutoffA", OwnCutoffA);
        w.WriteString("cutoffFunction", Cutoffs.Name(CutoffFunction));
        w.WriteNumber("sigmaEv", SigmaEv);
        w.WriteNumber("lengthA", LengthA);
        KernelSerializer.WriteGroups(w, Groups);
        w.WriteEndObject();
    }
}
