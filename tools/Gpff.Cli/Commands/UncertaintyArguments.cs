using System.CommandLine;
using System.Globalization;
using Gpff.Regression;

namespace Gpff.Cli.Commands;

/// <summary>
/// The options about standard deviations shared by <c>gpff train</c>, <c>gpff cv</c> and <c>gpff predict</c>:
/// --sigma (which σ is reported) and --reference-prior (the reference energies' Gaussian prior).
/// </summary>
internal static class UncertaintyArguments
{
    /// <summary>
    /// The σ the CLI reports unless told otherwise: that of a noisy DFT label, the promise about errors
    /// against DFT on unseen structures. Chosen by cross-validation on data/barho-train.extxyz
    /// (docs/DESIGN.md): the calibrated label σ meets rms(error/σ) ≈ 1 and ~70 % of force errors within
    /// 1σ; the latent σ covers under 40 %. The library's own default stays latent
    /// (<see cref="GaussianProcessOptions.Uncertainty"/>: what active-learning thresholds are about).
    /// </summary>
    internal const UncertaintyKind DefaultKind = UncertaintyKind.NoisyLabel;

    /// <summary>The option word of a kind.</summary>
    internal static string Word(UncertaintyKind kind) => kind == UncertaintyKind.NoisyLabel ? "label" : "latent";

    /// <summary>How the output describes a kind.</summary>
    internal static string Describe(UncertaintyKind kind) => kind == UncertaintyKind.NoisyLabel
        ? "σ of a noisy DFT label (latent and label noise, both calibrated): the expected spread of DFT about the prediction"
        : "σ of the latent function (the model's own uncertainty, without DFT-label noise), calibrated";

    /// <summary>The option of the reported standard deviation.</summary>
    internal static Option Kind() => Declare.OneOf("sigma",
        "which standard deviation is reported: label (of a noisy DFT label: latent and label noise, calibrated) or latent (the model's own)",
        Word(DefaultKind), "label", "latent");

    /// <summary>The option of the reference-energy prior.</summary>
    internal static Option Prior() => Declare.Text("reference-prior", "τ|none",
        "the per-species reference energies get a Gaussian prior of width τ eV/atom about their least-squares values and enter the GP as basis functions, " +
        "so that their uncertainty is in every energy σ (large for a composition outside the span of the training compositions); none: fixed reference energies",
        ReferenceEnergyPrior.DefaultStandardDeviationEvPerAtom.ToString("G", CultureInfo.InvariantCulture));

    /// <summary>Reads --sigma.</summary>
    internal static UncertaintyKind ParseKind(ParsedArguments args)
    {
        var text = args.Get("sigma");
        return text switch
        {
            null => DefaultKind,
            "label" => UncertaintyKind.NoisyLabel,
            "latent" => UncertaintyKind.Latent,
            _ => throw new UsageException($"--sigma: unknown kind '{text}'; use label or latent."),
        };
    }

    /// <summary>Reads --reference-prior (default <see cref="ReferenceEnergyPrior.DefaultStandardDeviationEvPerAtom"/>).</summary>
    internal static ReferenceEnergyPrior? ParsePrior(ParsedArguments args)
    {
        var text = args.Get("reference-prior");
        if (text is "none")
        {
            return null;
        }

        if (text is null)
        {
            return new ReferenceEnergyPrior(ReferenceEnergyPrior.DefaultStandardDeviationEvPerAtom);
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double tau) && tau > 0 && double.IsFinite(tau)
            ? new ReferenceEnergyPrior(tau)
            : throw new UsageException($"--reference-prior: '{text}' must be a positive number of eV/atom, or none.");
    }
}
