namespace Gpff.Kernels;

/// <summary>
/// The (σ, ℓ) hyperparameters of one n-body kernel: a default pair, plus one pair per species group.
/// Layout of the hyperparameter vector: [σ, ℓ, σ_g1, ℓ_g1, σ_g2, ℓ_g2, ...].
/// </summary>
internal sealed class GroupedHyperparameters
{
    private readonly Dictionary<int, int> _groupOfKey = [];

    public GroupedHyperparameters(int bodyOrder, double sigma, double length, IReadOnlyList<SpeciesGroup>? groups)
    {
        BodyOrder = bodyOrder;
        Groups = groups?.ToArray() ?? [];
        int ng = Groups.Count + 1;
        Sigma = new double[ng];
        Length = new double[ng];
        Sigma[0] = sigma;
        Length[0] = length;
        string suffix = bodyOrder.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var names = new List<string> { "sigma" + suffix, "length" + suffix };
        for (int g = 0; g < Groups.Count; g++)
        {
            var grp = Groups[g] ?? throw new ArgumentNullException(nameof(groups), $"Species group {g} is null.");
            if (grp.Members is null || grp.Members.Count == 0)
            {
                throw new ArgumentException($"Species group {g} has no members.", nameof(groups));
            }

            foreach (var m in grp.Members)
            {
                var z = SpeciesGroup.ParseMember(m, bodyOrder);
                int key = bodyOrder == 2 ? SpeciesGroup.Key(z[0], z[1]) : SpeciesGroup.Key(z[0], z[1], z[2]);
                if (!_groupOfKey.TryAdd(key, g + 1))
                {
                    throw new ArgumentException($"Species group member '{m}' appears in more than one group (or twice).", nameof(groups));
                }
            }

            Sigma[g + 1] = grp.SigmaEv;
            Length[g + 1] = grp.LengthA;
            names.Add($"sigma{suffix}[{grp.Label}]");
            names.Add($"length{suffix}[{grp.Label}]");
        }

        Names = names;
        for (int g = 0; g < ng; g++)
        {
            CheckPositive(Sigma[g], names[2 * g]);
            CheckPositive(Length[g], names[2 * g + 1]);
        }
    }

    public int BodyOrder { get; }

    public IReadOnlyList<SpeciesGroup> Groups { get; }

    public double[] Sigma { get; }

    public double[] Length { get; }

    public IReadOnlyList<string> Names { get; }

    public int Count => 2 * Sigma.Length;

    public bool HasGroups => Groups.Count > 0;

    public double[] Values()
    {
        var v = new double[Count];
        for (int g = 0; g < Sigma.Length; g++)
        {
            v[2 * g] = Sigma[g];
            v[2 * g + 1] = Length[g];
        }

        return v;
    }

    /// <summary>Groups with the given values substituted (same layout as <see cref="Values"/>).</summary>
    public (double Sigma, double Length, SpeciesGroup[] Groups) With(IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count != Count)
        {
            throw new ArgumentException($"The {BodyOrder}-body kernel has {Count} hyperparameters ({string.Join(", ", Names)}), got {values.Count} values.", nameof(values));
        }

        var groups = new SpeciesGroup[Groups.Count];
        for (int g = 0; g < groups.Length; g++)
        {
            groups[g] = Groups[g] with { SigmaEv = values[2 * g + 2], LengthA = values[2 * g + 3] };
        }

        return (values[0], values[1], groups);
    }

    public int GroupOfPair(int a, int b) => HasGroups && _groupOfKey.TryGetValue(SpeciesGroup.Key(a, b), out int g) ? g : 0;

    public int GroupOfTriplet(int a, int b, int c) => HasGroups && _groupOfKey.TryGetValue(SpeciesGroup.Key(a, b, c), out int g) ? g : 0;

    private static void CheckPositive(double v, string name)
    {
        if (!(v > 0) || !double.IsFinite(v))
        {
            throw new ArgumentOutOfRangeException(name, v, $"Hyperparameter {name} must be a positive finite number, got {v}.");
        }
    }
}
