using Gpff.Phases;
using Gpff.Regression;
using Microsoft.DotNet.Interactive.Formatting;

namespace Gpff.Interactive;

/// <summary>
/// Registers Gpff's HTML views (<see cref="GpffHtml"/>) with .NET Interactive's formatter, so that a
/// structure, an error summary, a training report, a hull, a stability analysis, a prediction and a
/// ScottPlot figure render as tables and pictures in Polyglot and Jupyter notebooks. Loading the
/// package with <c>#r "nuget: Gpff.Interactive"</c> runs its <c>extension.dib</c>, which calls
/// <see cref="Register"/>; with a plain <c>#r "Gpff.Interactive.dll"</c>, call it once yourself.
/// </summary>
public static class GpffFormatters
{
    private static readonly Lock Gate = new();
    private static bool _registered;

    /// <summary>The MIME type the views are registered for.</summary>
    public const string MimeType = HtmlFormatter.MimeType;

    /// <summary>The types that get a view, most specific first.</summary>
    public static IReadOnlyList<Type> FormattedTypes { get; } =
    [
        typeof(Structure), typeof(ErrorSummary), typeof(IEnumerable<ErrorSummary>), typeof(TrainingReport), typeof(HyperparameterFitResult),
        typeof(GpPrediction), typeof(PhaseDiagram), typeof(StabilityReport), typeof(ScottPlot.Plot),
    ];

    /// <summary>Registers the views (once; later calls do nothing) and makes HTML the preferred MIME type of these types.</summary>
    public static void Register()
    {
        lock (Gate)
        {
            if (_registered)
            {
                return;
            }

            Formatter.Register<Structure>((s, w) => w.Write(GpffHtml.Structure(s)), MimeType);
            Formatter.Register<ErrorSummary>((e, w) => w.Write(GpffHtml.Errors([e])), MimeType);
            Formatter.Register<IEnumerable<ErrorSummary>>((e, w) => w.Write(GpffHtml.Errors(e)), MimeType);
            Formatter.Register<TrainingReport>((r, w) => w.Write(GpffHtml.Training(r)), MimeType);
            Formatter.Register<HyperparameterFitResult>((r, w) => w.Write(GpffHtml.Fit(r)), MimeType);
            Formatter.Register<GpPrediction>((p, w) => w.Write(GpffHtml.Prediction(p)), MimeType);
            Formatter.Register<PhaseDiagram>((d, w) => w.Write(GpffHtml.Hull(d)), MimeType);
            Formatter.Register<StabilityReport>((r, w) => w.Write(GpffHtml.Stability(r)), MimeType);
            Formatter.Register<ScottPlot.Plot>((p, w) => w.Write(GpffHtml.Plot(p)), MimeType);
            foreach (var t in FormattedTypes)
            {
                Formatter.SetPreferredMimeTypesFor(t, MimeType);
            }

            _registered = true;
        }
    }
}
