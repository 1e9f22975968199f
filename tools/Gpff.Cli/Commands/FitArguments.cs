using System.CommandLine;
using System.Globalization;
using Gpff.Regression;

namespace Gpff.Cli.Commands;

/// <summary>The hyperparameter-fit options shared by <c>gpff train</c> and <c>gpff cv</c>: --objective, --length-prior, --pair-groups.</summary>
internal static class FitArguments
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The option words of the objectives.</summary>
    internal const string LikelihoodWord = "likelihood";

    /// <summary>The option word of the leave-one-structure-out objective.</summary>
    internal const string LeaveOneOutWord = "loso";

    /// <summary>
    /// The objective of <c>gpff train --fit</c> and <c>gpff cv --fit</c> unless --objective says otherwise:
    /// the leave-one-structure-out predictive log density, chosen by cross-validation over the structures
    /// of data/barho-train.extxyz (docs/DESIGN.md, "Hyperparameter objectives"). The library's own default
    /// (<see cref="HyperparameterFitOptions.Objective"/>) stays the marginal likelihood, which also works
    /// on a single structure, as on-the-fly learning starts.
    /// </summary>
    internal const HyperparameterObjective DefaultObjective = Gpff.Studies.StudySettings.DefaultFitObjective;

    /// <summary>The fit options, declared with their defaults from the library.</summary>
    internal static Option[] Declarations()
    {
        var d = new HyperparameterFitOptions();
        string prior = d.LengthScalePrior is { } p ? string.Create(Inv, $"{p.MedianA:G}:{p.LogStandardDeviation:G}") : "none";
        return
        [
            Declare.OneOf("objective", $"what --fit maximises: {LikelihoodWord} (log marginal likelihood) or {LeaveOneOutWord} (leave-one-structure-out predictive log density, each label kind weighted by its count)",
                Word(DefaultObjective), LikelihoodWord, LeaveOneOutWord),
            Declare.Text("length-prior", "M:S|none", "log-normal prior on every length scale: median M Å, log standard deviation S; none for no prior", prior),
            Declare.Flag("pair-groups", "one σ₂, ℓ₂ per species pair (the first pair keeps sigma2, length2)"),
        ];
    }

    /// <summary>The option word of an objective.</summary>
    internal static string Word(HyperparameterObjective objective) => objective == HyperparameterObjective.LeaveOneStructureOut ? LeaveOneOutWord : LikelihoodWord;

    /// <summary>Reads --objective (default <see cref="DefaultObjective"/>) and --length-prior (default: that of <paramref name="baseOptions"/>) into fit options.</summary>
    internal static HyperparameterFitOptions Parse(ParsedArguments args, HyperparameterFitOptions baseOptions)
    {
        var objectiveText = args.Get("objective");
        var priorText = args.Get("length-prior");
        var objective = objectiveText switch
        {
            null => DefaultObjective,
            LikelihoodWord => HyperparameterObjective.MarginalLikelihood,
            LeaveOneOutWord => HyperparameterObjective.LeaveOneStructureOut,
            _ => throw new UsageException($"--objective: unknown objective '{objectiveText}'; use {LikelihoodWord} or {LeaveOneOutWord}."),
        };
        var prior = baseOptions.LengthScalePrior;
        if (priorText is "none")
        {
            prior = null;
        }
        else if (priorText is not null)
        {
            var parts = priorText.Split(':');
            if (parts.Length != 2
                || !double.TryParse(parts[0], NumberStyles.Float, Inv, out double median)
                || !double.TryParse(parts[1], NumberStyles.Float, Inv, out double spread)
                || !(median > 0) || !(spread > 0) || !double.IsFinite(median) || !double.IsFinite(spread))
            {
                throw new UsageException($"--length-prior: '{priorText}' must read MEDIAN:LOGSD (Å and a dimensionless spread, both positive), or none.");
            }

            prior = new LengthScalePrior(median, spread);
        }

        return baseOptions with { Objective = objective, LengthScalePrior = prior };
    }
}
