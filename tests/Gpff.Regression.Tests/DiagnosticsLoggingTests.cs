using Gpff.Geometry;
using Microsoft.Extensions.Logging;

namespace Gpff.Regression.Tests;

/// <summary>The regression layer's warnings reach an application's ILogger (GpffLog), each with its event id.</summary>
public class DiagnosticsLoggingTests
{
    /// <summary>An ILogger that keeps what it is given.</summary>
    internal sealed class CapturingLogger : ILogger
    {
        public List<(LogLevel Level, EventId Id, string Message)> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Add((logLevel, eventId, formatter(state, exception)));
    }

    private static readonly NoiseLevels Noise = new(0.01, 0.05, 0.002);

    /// <summary>Structures of 5 and 4 atoms (3:2 and 2:2 Si:Ge), so the two reference energies are determined.</summary>
    private static List<Structure> WellPosed(int count)
    {
        var rng = new Random(7);
        return Enumerable.Range(0, count).Select(i => GaussianProcessTests.RandomStructure(rng, i % 2 == 0 ? 5 : 4)).ToList();
    }

    private static GaussianProcess Train(IEnumerable<Structure> structures, NoiseLevels noise, ILogger? logger)
    {
        var gp = new GaussianProcess(GaussianProcessTests.Kernel(), noise, new GaussianProcessOptions { Logger = logger });
        foreach (var s in structures)
        {
            gp.Add(s);
        }

        gp.Train();
        return gp;
    }

    [Fact]
    public void AWellPosedTrainingLogsNothing()
    {
        var log = new CapturingLogger();
        var gp = Train(WellPosed(4), Noise, log);
        Assert.Equal(0, gp.JitterAdded);
        Assert.False(gp.ReferenceEnergies!.IsRankDeficient);
        Assert.Empty(log.Entries);
    }

    [Fact]
    public void JitterAddedToFactorTheCovarianceIsAWarningWithItsSize()
    {
        var s = GaussianProcessTests.RandomStructure(new Random(13));
        var log = new CapturingLogger();
        var gp = Train([s, s], new NoiseLevels(1e-12, 1e-12, 1e-12), log);
        Assert.True(gp.JitterAdded > 0);
        var entry = Assert.Single(log.Entries, e => e.Id.Id == GpffLog.JitterAddedId);
        Assert.Equal(LogLevel.Warning, entry.Level);
        Assert.Contains(gp.JitterAdded.ToString("G3", System.Globalization.CultureInfo.InvariantCulture), entry.Message, StringComparison.Ordinal);
        Assert.Contains($"{gp.LabelCount} labels", entry.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReferenceEnergiesOfOneCompositionAreReportedAsRankDeficient()
    {
        // Every structure is Si3Ge2: only one combination of the two reference energies is determined.
        var rng = new Random(3);
        var log = new CapturingLogger();
        var gp = Train(Enumerable.Range(0, 3).Select(_ => GaussianProcessTests.RandomStructure(rng, 5)), Noise, log);
        Assert.True(gp.ReferenceEnergies!.IsRankDeficient);
        var entry = Assert.Single(log.Entries);
        Assert.Equal(GpffLog.ReferenceEnergiesRankDeficientId, entry.Id.Id);
        Assert.Equal(LogLevel.Warning, entry.Level);
        Assert.Contains("only 1 combinations of the 2 per-species reference energies (Si, Ge)", entry.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AFitStoppedByItsIterationLimitIsReportedAsNotConverged()
    {
        var gp = Train(WellPosed(4), Noise, null);
        var log = new CapturingLogger();
        var result = HyperparameterFit.Fit(gp, new HyperparameterFitOptions { MaxIterations = 1, Logger = log });
        Assert.False(result.Converged);
        var entry = Assert.Single(log.Entries, e => e.Id.Id == GpffLog.FitNotConvergedId);
        Assert.Equal(LogLevel.Warning, entry.Level);
        Assert.Contains("did not converge", entry.Message, StringComparison.Ordinal);
        Assert.Contains(result.Optimization.ToString()!, entry.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void JitterAddedToTheInducingCovarianceIsAWarning()
    {
        // Two copies of one inducing environment make K_uu singular.
        var kernel = GaussianProcessTests.Kernel(0.8, 0.7, 0.2, 0.9);
        var train = SparseGaussianProcessTests.Structures(3, 61);
        var clusters = SparseGaussianProcessTests.AllClusters(train.Take(1), kernel);
        clusters.Add(clusters[0]);
        var log = new CapturingLogger();
        var sparse = new SparseGaussianProcess(kernel, Noise, clusters, new SparseGaussianProcessOptions { Logger = log });
        sparse.Train(train);
        Assert.True(sparse.InducingJitter > 0);
        var entry = Assert.Single(log.Entries);
        Assert.Equal(GpffLog.InducingJitterAddedId, entry.Id.Id);
        Assert.Contains($"{clusters.Count} inducing environments", entry.Message, StringComparison.Ordinal);
    }
}
