using System.CommandLine;
using System.Globalization;
using Gpff.Descriptors;

namespace Gpff.Cli.Commands;

/// <summary>The kernel options of <c>gpff train</c>: <c>--kernel 2+3|b2|b2+2+3 --nmax N --lmax L --cutoff-b2 Å</c>.</summary>
internal sealed record B2Options(ForceFieldKernel Kernel, int RadialCount, int AngularMax, double CutoffA)
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The kernel options, declared with their defaults from the library.</summary>
    public static Option[] Declarations() =>
    [
        Declare.OneOf("kernel",
            $"{ForceFieldSettings.KernelKindName(ForceFieldKernel.TwoPlusThree)}: 2-body + 3-body squared exponential; {ForceFieldSettings.KernelKindName(ForceFieldKernel.B2)}: the B2 many-body descriptor " +
            $"with FLARE++'s normalised dot-product kernel (power {Kernels.B2Kernel.DefaultPower}); {ForceFieldSettings.KernelKindName(ForceFieldKernel.B2PlusTwoPlusThree)}: their sum. B2 species are the training data's elements. " +
            $"Default: {ForceFieldSettings.KernelKindName(ForceFieldSettings.DefaultFittedKernel)} with --fit (chosen by cross-validation over structures), " +
            $"{ForceFieldSettings.KernelKindName(new ForceFieldSettings().Kernel)} without (the hand-set hyperparameters are FLARE's 2+3-body ones)",
            ForceFieldSettings.KernelKindName(new ForceFieldSettings().Kernel),
            ForceFieldSettings.KernelKindName(ForceFieldKernel.TwoPlusThree), ForceFieldSettings.KernelKindName(ForceFieldKernel.B2), ForceFieldSettings.KernelKindName(ForceFieldKernel.B2PlusTwoPlusThree)),
        Declare.Whole("nmax", "N", "B2 radial functions (Chebyshev); with --kernel b2 or b2+2+3", B2Settings.DefaultRadialCount, 1, B2Settings.MaxRadial),
        Declare.Whole("lmax", "L", "B2 largest angular momentum; with --kernel b2 or b2+2+3", B2Settings.DefaultAngularMax, 0, B2Settings.MaxAngular),
        Declare.Number("cutoff-b2", "Å", string.Create(Inv, $"B2 cutoff in Å, at most {TrainCommand.MaxCutoffA} Å; the B2 amplitude {Kernels.B2Kernel.SigmaName} (eV) is set in --hyperparameters; with --kernel b2 or b2+2+3"),
            ForceFieldSettings.DefaultB2CutoffA),
    ];

    /// <summary>Reads the options (before <see cref="ParsedArguments.RejectUnknown"/>).</summary>
    /// <param name="args">The arguments.</param>
    /// <param name="fit">Whether the hyperparameters are fitted (--fit): the default kernel is then <see cref="ForceFieldSettings.DefaultFittedKernel"/>.</param>
    public static B2Options Read(ParsedArguments args, bool fit)
    {
        var text = args.Get("kernel");
        var kind = text is not null ? ForceFieldSettings.ParseKernelKind(text) : fit ? ForceFieldSettings.DefaultFittedKernel : new ForceFieldSettings().Kernel;
        int n = args.GetInt(B2Settings.DefaultRadialCount, 1, B2Settings.MaxRadial, "nmax");
        int l = args.GetInt(B2Settings.DefaultAngularMax, 0, B2Settings.MaxAngular, "lmax");
        double rc = args.GetDouble(ForceFieldSettings.DefaultB2CutoffA, "cutoff-b2");
        if (!new ForceFieldSettings { Kernel = kind }.HasManyBody && (args.Has("nmax") || args.Has("lmax") || args.Has("cutoff-b2")))
        {
            throw new UsageException("--nmax, --lmax and --cutoff-b2 set the B2 descriptor: give --kernel b2 or --kernel b2+2+3 too.");
        }

        if (!(rc > 0) || rc > TrainCommand.MaxCutoffA)
        {
            throw new UsageException($"--cutoff-b2 must be in (0, {TrainCommand.MaxCutoffA}] Å, got {rc.ToString(Inv)} Å.");
        }

        return new B2Options(kind, n, l, rc);
    }

    /// <summary>The settings with this kernel, its B2 species taken from the training frames.</summary>
    /// <param name="settings">Settings from the other options.</param>
    /// <param name="train">Training frames.</param>
    public ForceFieldSettings Apply(ForceFieldSettings settings, IEnumerable<Structure> train) =>
        (settings with { Kernel = Kernel, B2RadialCount = RadialCount, B2AngularMax = AngularMax, B2CutoffA = CutoffA }).WithSpeciesOf(train);
}
