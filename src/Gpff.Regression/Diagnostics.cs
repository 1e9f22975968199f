using Microsoft.Extensions.Logging;

namespace Gpff.Regression;

/// <summary>
/// The warnings the regression layer logs through <c>Microsoft.Extensions.Logging</c> (an
/// <see cref="ILogger"/> in <see cref="GaussianProcessOptions.Logger"/>,
/// <see cref="SparseGaussianProcessOptions.Logger"/> or <see cref="HyperparameterFitOptions.Logger"/>;
/// none by default, so the library is silent). One method per message, each with its own event id, so
/// that an application can filter them; the numbers in the messages are in the library's units.
/// </summary>
public static partial class GpffLog
{
    /// <summary>Event id of <see cref="JitterAdded"/>.</summary>
    public const int JitterAddedId = 1701;

    /// <summary>Event id of <see cref="ReferenceEnergiesRankDeficient"/>.</summary>
    public const int ReferenceEnergiesRankDeficientId = 1702;

    /// <summary>Event id of <see cref="FitNotConverged"/>.</summary>
    public const int FitNotConvergedId = 1703;

    /// <summary>Event id of <see cref="InducingJitterAdded"/>.</summary>
    public const int InducingJitterAddedId = 1704;

    /// <summary>Event id of <see cref="FitFailedEvaluations"/>.</summary>
    public const int FitFailedEvaluationsId = 1705;

    /// <summary>K + Σ needed a jitter on its diagonal to be factored.</summary>
    /// <param name="logger">The logger.</param>
    /// <param name="jitter">The jitter added to the diagonal (in the units of the covariance).</param>
    /// <param name="labels">Order of the matrix.</param>
    [LoggerMessage(EventId = JitterAddedId, Level = LogLevel.Warning,
        Message = "K + Σ over {Labels} labels was not numerically positive definite: a jitter of {Jitter:G3} was added to its diagonal to factor it (duplicate structures or very small noises do this; predictions are slightly smoothed).")]
    public static partial void JitterAdded(ILogger logger, double jitter, int labels);

    /// <summary>The training compositions do not determine one reference energy per species.</summary>
    /// <param name="logger">The logger.</param>
    /// <param name="rank">Rank of the composition matrix.</param>
    /// <param name="species">Number of species.</param>
    /// <param name="speciesList">The species, as element symbols.</param>
    [LoggerMessage(EventId = ReferenceEnergiesRankDeficientId, Level = LogLevel.Warning,
        Message = "The training compositions determine only {Rank} combinations of the {Species} per-species reference energies ({SpeciesList}): energies of compositions outside their span are extrapolated (composition_in_span=F in predictions); a reference-energy prior gives them an honest σ.")]
    public static partial void ReferenceEnergiesRankDeficient(ILogger logger, int rank, int species, string speciesList);

    /// <summary>A hyperparameter fit stopped without converging.</summary>
    /// <param name="logger">The logger.</param>
    /// <param name="objective">The objective's name.</param>
    /// <param name="report">The optimiser's report (iterations, why it stopped).</param>
    [LoggerMessage(EventId = FitNotConvergedId, Level = LogLevel.Warning,
        Message = "The hyperparameter fit ({Objective}) did not converge: {Report}. The last hyperparameters are used; raise the iteration limit or check the bounds.")]
    public static partial void FitNotConverged(ILogger logger, string objective, string report);

    /// <summary>Trial points of a fit whose matrix could not be factored.</summary>
    /// <param name="logger">The logger.</param>
    /// <param name="count">Number of such evaluations.</param>
    [LoggerMessage(EventId = FitFailedEvaluationsId, Level = LogLevel.Information,
        Message = "{Count} trial points of the hyperparameter fit gave a matrix that was not positive definite; the optimiser stepped back.")]
    public static partial void FitFailedEvaluations(ILogger logger, int count);

    /// <summary>K_uu of a sparse GP needed a jitter.</summary>
    /// <param name="logger">The logger.</param>
    /// <param name="relativeJitter">Jitter relative to the mean diagonal of K_uu.</param>
    /// <param name="inducing">Number of inducing environments.</param>
    [LoggerMessage(EventId = InducingJitterAddedId, Level = LogLevel.Warning,
        Message = "K_uu of the {Inducing} inducing environments was nearly singular: a jitter of {RelativeJitter:G3} of its mean diagonal was added (near-duplicate inducing environments; select fewer or with --select variance).")]
    public static partial void InducingJitterAdded(ILogger logger, double relativeJitter, int inducing);
}
