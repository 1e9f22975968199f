using System.Globalization;
using Gpff.Descriptors;
using Gpff.Kernels;

namespace Gpff;

/// <summary>Which kernel a force field uses.</summary>
public enum ForceFieldKernel
{
    /// <summary>2-body + 3-body squared exponential (FLARE's), "2+3".</summary>
    TwoPlusThree,

    /// <summary>The B2 normalised dot product alone (FLARE++'s), "b2".</summary>
    B2,

    /// <summary>B2 plus the 2-body + 3-body kernel, "b2+2+3".</summary>
    B2PlusTwoPlusThree,
}

public sealed partial record ForceFieldSettings
{
    /// <summary>Default B2 cutoff, Å (the cutoff of FLARE++'s Ba–Rh–O model in issue 16).</summary>
    public const double DefaultB2CutoffA = 5.0;

    /// <summary>Default B2 amplitude σ_B2, eV (the kernel of an environment with itself is σ²).</summary>
    public const double DefaultSigmaB2 = 2.0;

    /// <summary>
    /// The kernel of a force field fitted to a data set: what <c>gpff train --fit</c>, <c>gpff cv --fit</c> and
    /// the fit accuracy benchmark use unless told otherwise. B2 + 2+3, chosen by cross-validation over the
    /// structures of data/barho-train.extxyz with hyperparameters refitted on every training fold (4-fold:
    /// energy 4.00 meV/atom, force 29.5 meV/Å against 4.93 and 119.8 for 2+3; docs/DESIGN.md,
    /// "Hyperparameter objectives"). <see cref="Kernel"/>'s own default stays 2+3: its kernel needs no
    /// species to be built, works from a single structure on (on-the-fly learning) and can be mapped.
    /// </summary>
    public const ForceFieldKernel DefaultFittedKernel = ForceFieldKernel.B2PlusTwoPlusThree;

    /// <summary>
    /// The kernel (default 2-body + 3-body; for a fit to a data set the cross-validated choice is
    /// <see cref="DefaultFittedKernel"/>).
    /// </summary>
    public ForceFieldKernel Kernel { get; init; } = ForceFieldKernel.TwoPlusThree;

    /// <summary>Number of B2 radial functions n_max (default <see cref="B2Settings.DefaultRadialCount"/>).</summary>
    public int B2RadialCount { get; init; } = B2Settings.DefaultRadialCount;

    /// <summary>B2 l_max (default <see cref="B2Settings.DefaultAngularMax"/>).</summary>
    public int B2AngularMax { get; init; } = B2Settings.DefaultAngularMax;

    /// <summary>B2 cutoff in Å (default <see cref="DefaultB2CutoffA"/>); its cutoff function is <see cref="CutoffFunction"/>.</summary>
    public double B2CutoffA { get; init; } = DefaultB2CutoffA;

    /// <summary>B2 amplitude σ_B2 in eV (default <see cref="DefaultSigmaB2"/>).</summary>
    public double SigmaB2 { get; init; } = DefaultSigmaB2;

    /// <summary>The power ζ of the B2 normalised dot product (default <see cref="B2Kernel.DefaultPower"/>).</summary>
    public int B2Power { get; init; } = B2Kernel.DefaultPower;

    /// <summary>
    /// Atomic numbers of the B2 species channels, ascending (the order FLARE++ codes species in). Null:
    /// taken from the training data by <see cref="SparseForceField.Train"/>; <see cref="BuildKernel"/>
    /// needs them for the B2 kernels.
    /// </summary>
    public IReadOnlyList<int>? B2Species { get; init; }

    /// <summary>Whether the kernel has a B2 part.</summary>
    public bool HasManyBody => Kernel != ForceFieldKernel.TwoPlusThree;

    /// <summary>The CLI and model-file name of a kernel kind: "2+3", "b2" or "b2+2+3".</summary>
    /// <param name="kind">The kind.</param>
    public static string KernelKindName(ForceFieldKernel kind) => kind switch
    {
        ForceFieldKernel.TwoPlusThree => "2+3",
        ForceFieldKernel.B2 => "b2",
        ForceFieldKernel.B2PlusTwoPlusThree => "b2+2+3",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, $"Unknown kernel kind {kind}."),
    };

    /// <summary>Parses "2+3", "b2" or "b2+2+3" (case-insensitive).</summary>
    /// <param name="name">The name.</param>
    /// <exception cref="ArgumentException">Not one of the names.</exception>
    public static ForceFieldKernel ParseKernelKind(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        foreach (var k in Enum.GetValues<ForceFieldKernel>())
        {
            if (string.Equals(KernelKindName(k), name.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                return k;
            }
        }

        throw new ArgumentException($"Unknown kernel '{name}': expected 2+3, b2 or b2+2+3.", nameof(name));
    }

    /// <summary>These settings with the B2 species taken from the structures when they have none (ascending atomic numbers).</summary>
    /// <param name="structures">Training structures.</param>
    public ForceFieldSettings WithSpeciesOf(IEnumerable<Structure> structures)
    {
        ArgumentNullException.ThrowIfNull(structures);
        if (!HasManyBody || B2Species is not null)
        {
            return this;
        }

        var set = new SortedSet<int>();
        foreach (var s in structures)
        {
            foreach (int z in s.AtomicNumbers)
            {
                set.Add(z);
            }
        }

        return this with { B2Species = [.. set] };
    }

    private IKernel WithManyBody(LocalKernel local)
    {
        if (!HasManyBody)
        {
            return local;
        }

        if (B2Species is not { Count: > 0 } species)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"The {KernelKindName(Kernel)} kernel needs its species (ForceFieldSettings.B2Species, or WithSpeciesOf(training structures)) to number the B2 channels."));
        }

        var b2 = new B2Kernel(new B2Settings(species, B2RadialCount, B2AngularMax, B2CutoffA, CutoffFunction), SigmaB2, B2Power);
        return Kernel == ForceFieldKernel.B2 ? b2 : new CombinedKernel(b2, local);
    }
}
