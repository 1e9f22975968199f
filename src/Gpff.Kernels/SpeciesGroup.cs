namespace Gpff.Kernels;

/// <summary>
/// A group of species pairs (2-body, members like "Ba-O") or species triplets (3-body, members like
/// "Rh-O-O") that get their own signal amplitude and length scale instead of the kernel's default
/// ones. Members are unordered: "O-Ba" is the same pair as "Ba-O". A pair or triplet may belong to at
/// most one group; those in no group use the default hyperparameters.
/// </summary>
/// <param name="Members">Species pairs or triplets, element symbols joined by '-'.</param>
/// <param name="SigmaEv">Signal amplitude σ in eV (the kernel uses σ²).</param>
/// <param name="LengthA">Length scale ℓ in Å.</param>
public sealed record SpeciesGroup(IReadOnlyList<string> Members, double SigmaEv, double LengthA)
{
    /// <summary>The label used in hyperparameter names: the members joined by ','.</summary>
    public string Label => string.Join(",", Members);

    /// <summary>Parses a member into sorted atomic numbers, checking its arity.</summary>
    /// <param name="member">"Ba-O" or "Ba-O-O".</param>
    /// <param name="bodyOrder">2 or 3.</param>
    internal static int[] ParseMember(string member, int bodyOrder)
    {
        var parts = (member ?? string.Empty).Split('-', StringSplitOptions.TrimEntries);
        if (parts.Length != bodyOrder)
        {
            throw new ArgumentException($"Species group member '{member}' must name {bodyOrder} elements joined by '-' (e.g. {(bodyOrder == 2 ? "\"Ba-O\"" : "\"Rh-O-O\"")}).");
        }

        var z = new int[bodyOrder];
        for (int i = 0; i < bodyOrder; i++)
        {
            if (!Elements.TryGetAtomicNumber(parts[i], out z[i]))
            {
                throw new ArgumentException($"Species group member '{member}': '{parts[i]}' is not a chemical symbol.");
            }
        }

        Array.Sort(z);
        return z;
    }

    /// <summary>Packs sorted atomic numbers (each &lt; 128) into one key.</summary>
    internal static int Key(int a, int b) => a <= b ? (a << 7) | b : (b << 7) | a;

    /// <summary>Packs three atomic numbers, in any order, into one key.</summary>
    internal static int Key(int a, int b, int c)
    {
        if (a > b)
        {
            (a, b) = (b, a);
        }

        if (b > c)
        {
            (b, c) = (c, b);
        }

        if (a > b)
        {
            (a, b) = (b, a);
        }

        return (((a << 7) | b) << 7) | c;
    }
}
