namespace Gpff.Descriptors;

/// <summary>
/// What the environments of a structure hold: 2-body neighbours within <see cref="PairCutoffA"/>,
/// 3-body triplets whose three distances are all below <see cref="TripletCutoffA"/>, and the cutoff
/// function evaluated on every distance. A cutoff of 0 switches that body order off.
/// <see cref="ManyBody"/>, when set, adds the B2 many-body descriptor of every atom (with its own
/// cutoff and cutoff function).
/// </summary>
/// <param name="PairCutoffA">2-body cutoff r_c2 in Å (0: no pairs).</param>
/// <param name="TripletCutoffA">3-body cutoff r_c3 in Å (0: no triplets).</param>
/// <param name="CutoffFunction">The cutoff function applied to every distance.</param>
public sealed record DescriptorSettings(double PairCutoffA, double TripletCutoffA, CutoffFunction CutoffFunction = CutoffFunction.Quadratic)
{
    /// <summary>The B2 many-body descriptor to build for every atom, or null (none).</summary>
    public B2Settings? ManyBody { get; init; }

    /// <summary>The largest cutoff in Å (the neighbour-list radius).</summary>
    public double MaxCutoffA => Math.Max(Math.Max(PairCutoffA, TripletCutoffA), ManyBody?.CutoffA ?? 0);

    /// <summary>Throws a clear exception when a cutoff is negative, not finite, or both are zero.</summary>
    public void Validate()
    {
        if (!(PairCutoffA >= 0) || !double.IsFinite(PairCutoffA))
        {
            throw new ArgumentOutOfRangeException(nameof(PairCutoffA), PairCutoffA, $"The 2-body cutoff must be a finite number of Å ≥ 0, got {PairCutoffA}.");
        }

        if (!(TripletCutoffA >= 0) || !double.IsFinite(TripletCutoffA))
        {
            throw new ArgumentOutOfRangeException(nameof(TripletCutoffA), TripletCutoffA, $"The 3-body cutoff must be a finite number of Å ≥ 0, got {TripletCutoffA}.");
        }

        if (PairCutoffA == 0 && TripletCutoffA == 0 && ManyBody is null)
        {
            throw new ArgumentException("At least one of the 2-body and 3-body cutoffs must be positive.");
        }

        ManyBody?.Validate();

        if (!Enum.IsDefined(CutoffFunction))
        {
            throw new ArgumentOutOfRangeException(nameof(CutoffFunction), CutoffFunction, $"Unknown cutoff function {CutoffFunction}.");
        }
    }

    /// <summary>Merges two settings: the larger of each cutoff. The cutoff functions must agree.</summary>
    /// <param name="other">The other settings.</param>
    public DescriptorSettings Union(DescriptorSettings other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.CutoffFunction != CutoffFunction)
        {
            throw new ArgumentException($"Cannot combine descriptors with different cutoff functions ({Cutoffs.Name(CutoffFunction)} and {Cutoffs.Name(other.CutoffFunction)}).", nameof(other));
        }

        if (ManyBody is not null && other.ManyBody is not null && ManyBody != other.ManyBody)
        {
            throw new ArgumentException($"Cannot combine two different B2 descriptors ({ManyBody} and {other.ManyBody}).", nameof(other));
        }

        return new(Math.Max(PairCutoffA, other.PairCutoffA), Math.Max(TripletCutoffA, other.TripletCutoffA), CutoffFunction)
        {
            ManyBody = ManyBody ?? other.ManyBody,
        };
    }
}
