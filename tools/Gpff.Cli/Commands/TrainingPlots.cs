using Gpff.Phases.Plotting;
using Gpff.Regression;

namespace Gpff.Cli.Commands;

/// <summary>
/// The figures of <c>gpff train --plots DIR</c>: parity plots of the leave-one-structure-out predictions
/// (each training structure predicted by the model trained on all the others) per label kind, coloured
/// by composition, and the calibration plot of their calibrated standard deviations.
/// </summary>
internal static class TrainingPlots
{
    /// <summary>The file names written (each as .png and .svg).</summary>
    internal static readonly string[] Names = ["parity-energy", "parity-forces", "parity-stress", "calibration"];

    /// <summary>Checks, before any work, that the folder exists and holds no folder in the place of a figure.</summary>
    internal static void Check(string folder)
    {
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"--plots: the folder '{folder}' does not exist; create it first.");
        }

        foreach (var name in Names)
        {
            foreach (var ext in new[] { ".png", ".svg" })
            {
                string path = Path.Combine(folder, name + ext);
                if (Directory.Exists(path))
                {
                    throw new IOException($"--plots: '{path}' is a folder; the figure cannot be written there.");
                }
            }
        }
    }

    /// <summary>Writes the figures; returns the paths written.</summary>
    internal static IReadOnlyList<string> Write(GaussianProcess model, UncertaintyKind kind, string folder, CancellationToken cancellationToken)
    {
        var loso = model.LeaveOneStructureOut(cancellationToken: cancellationToken);
        var byComposition = loso.GroupBy(p => p.Entry.Structure.ReducedFormula()).OrderBy(g => g.Key, StringComparer.Ordinal).ToList();
        ParitySeries Series(IGrouping<string, LeaveOneOutPrediction> g, LabelKinds labelKind, Func<LeaveOneOutPrediction, double, double> scale)
        {
            var x = new List<double>();
            var y = new List<double>();
            foreach (var p in g)
            {
                for (int i = 0; i < p.Kinds.Length; i++)
                {
                    if (p.Kinds[i] == labelKind)
                    {
                        x.Add(scale(p, p.Labels[i]));
                        y.Add(scale(p, p.Mean[i]));
                    }
                }
            }

            return new ParitySeries(g.Key, x, y);
        }

        const string subtitle = " (leave-one-structure-out)";
        var figures = new List<(string Name, ScottPlot.Plot Plot)>
        {
            ("parity-energy", DiagnosticPlots.Parity("Energy" + subtitle, "energy (eV/atom)", byComposition.Select(g => Series(g, LabelKinds.Energy, (p, v) => v / p.Entry.Structure.AtomCount)).ToList())),
            ("parity-forces", DiagnosticPlots.Parity("Forces" + subtitle, "force component (eV/Å)", byComposition.Select(g => Series(g, LabelKinds.Forces, (_, v) => v)).ToList())),
            ("parity-stress", DiagnosticPlots.Parity("Stress" + subtitle, "stress component (GPa)", byComposition.Select(g => Series(g, LabelKinds.Stress, (_, v) => Units.EvPerA3ToGpa(v))).ToList())),
        };

        var calibration = model.Calibration;
        var series = new List<CalibrationSeries>();
        foreach (var (labelKind, name) in new[] { (LabelKinds.Energy, "energy"), (LabelKinds.Forces, "forces"), (LabelKinds.Stress, "stress") })
        {
            double s2 = calibration.Scale(labelKind) * calibration.Scale(labelKind);
            var z = new List<double>();
            foreach (var p in loso)
            {
                for (int i = 0; i < p.Kinds.Length; i++)
                {
                    double v = (kind == UncertaintyKind.NoisyLabel ? p.NoisyLabelVariance[i] : p.LatentVariance[i]) * s2;
                    if (p.Kinds[i] == labelKind && v > 0)
                    {
                        z.Add((p.Labels[i] - p.Mean[i]) / Math.Sqrt(v));
                    }
                }
            }

            series.Add(new CalibrationSeries(name, z));
        }

        figures.Add(("calibration", DiagnosticPlots.Calibration($"Calibration of the {UncertaintyArguments.Word(kind)} σ{subtitle}", series)));
        var written = new List<string>();
        foreach (var (name, plot) in figures)
        {
            foreach (var ext in new[] { ".png", ".svg" })
            {
                cancellationToken.ThrowIfCancellationRequested();
                string path = Path.Combine(folder, name + ext);
                DiagnosticPlots.Save(plot, path);
                written.Add(path);
            }
        }

        return written;
    }
}
