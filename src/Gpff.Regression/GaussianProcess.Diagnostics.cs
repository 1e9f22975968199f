namespace Gpff.Regression;

public sealed partial class GaussianProcess
{
    /// <summary>Logs what a caller should know after training (<see cref="GaussianProcessOptions.Logger"/>; nothing without one).</summary>
    private void LogTrainingDiagnostics()
    {
        if (Options.Logger is not { } logger)
        {
            return;
        }

        if (JitterAdded > 0)
        {
            GpffLog.JitterAdded(logger, JitterAdded, LabelCount);
        }

        if (ReferenceEnergies is { IsRankDeficient: true } r)
        {
            GpffLog.ReferenceEnergiesRankDeficient(logger, r.Rank, r.Species.Count, string.Join(", ", r.Species.Select(Elements.Symbol)));
        }
    }
}
