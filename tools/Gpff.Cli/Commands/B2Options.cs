using System.Globalization;
using Gpff.Descriptors;

namespace Gpff.Cli.Commands;

/// <summary>The kernel options of <c>gpff train</c>: <c>--kernel 2+3|b2|b2+2+3 --nmax N --lmax L --cutoff-b2 Å</c>.</summary>
internal sealed record B2Options(ForceFieldKernel Kernel, int RadialCount, int AngularMax, double CutoffA)
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The options these read, for the command's declaration.</summary>
    public static IReadOnlyList<string> Options => ["kernel", "nmax", "lmax", "cutoff-b2"];

    /// <summary>The help lines (appended to <c>gpff train --help</c>); defaults from the library.</summary>
    public static string Help => string.Create(Inv, $"""
          --kernel KIND       {ForceFieldSettings.KernelKindName(ForceFieldKernel.TwoPlusThree)} (2-body + 3-body squared exponential), {ForceFieldSettings.KernelKindName(ForceFieldKernel.B2)} (the B2
                              many-body descriptor with FLARE++'s normalised dot-product kernel, power {Kernels.B2Kernel.DefaultPower}) or
                              {ForceFieldSettings.KernelKindName(ForceFieldKernel.B2PlusTwoPlusThree)} (their sum); B2 species are the training data's elements.
                              Default: {ForceFieldSettings.KernelKindName(ForceFieldSettings.DefaultFittedKernel)} with --fit (chosen by cross-validation over structures),
                              {ForceFieldSettings.KernelKindName(new ForceFieldSettings().Kernel)} without (hand-set hyperparameters are FLARE's 2+3-body ones)
          --nmax N            B2 radial functions (Chebyshev, default {B2Settings.DefaultRadialCount})
          --lmax L            B2 largest angular momentum (default {B2Settings.DefaultAngularMax})
          --cutoff-b2 Å       B2 cutoff (default {ForceFieldSettings.DefaultB2CutoffA:0.0#}); amplitude {Kernels.B2Kernel.SigmaName}={ForceFieldSettings.DefaultSigmaB2:G} eV
                              in --hyperparameters
        """);

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
            throw new ArgumentException("--nmax, --lmax and --cutoff-b2 set the B2 descriptor: give --kernel b2 or --kernel b2+2+3 too.");
        }

        if (!(rc > 0) || rc > TrainCommand.MaxCutoffA)
        {
            throw new ArgumentException($"--cutoff-b2 must be in (0, {TrainCommand.MaxCutoffA}] Å, got {rc.ToString(Inv)} Å.");
        }

        return new B2Options(kind, n, l, rc);
    }

    /// <summary>The settings with this kernel, its B2 species taken from the training frames.</summary>
    /// <param name="settings">Settings from the other options.</param>
    /// <param name="train">Training frames.</param>
    public ForceFieldSettings Apply(ForceFieldSettings settings, IEnumerable<Structure> train) =>
        (settings with { Kernel = Kernel, B2RadialCount = RadialCount, B2AngularMax = AngularMax, B2CutoffA = CutoffA }).WithSpeciesOf(train);
}
