using System.Text;
using Gpff.Geometry;
using Gpff.Phases;
using Gpff.Phases.Plotting;
using Gpff.Regression;
using ScottPlot;
using static Gpff.Interactive.Html;

namespace Gpff.Interactive;

/// <summary>
/// HTML views of the objects a Gpff user looks at in a notebook, in the library's units (Å, eV, eV/Å,
/// GPa; errors in meV/atom, meV/Å and GPa as the reports print them). <see cref="GpffFormatters.Register"/>
/// makes .NET Interactive use them; they are public so that any other HTML front end can too.
/// </summary>
public static class GpffHtml
{
    /// <summary>Atoms listed in a structure's table; the rest are counted.</summary>
    public const int MaxAtomRows = 40;

    /// <summary>Width and height of inline plots, pixels.</summary>
    public const int PlotWidthPx = 640, PlotHeightPx = 460;

    /// <summary>
    /// A structure: formula, atom count, volume, periodicity, labels when present (energy, pressure), the
    /// cell (rows a, b, c in Å with lengths and angles), a picture of the cell and a table of the atoms
    /// (Cartesian positions in Å, forces in eV/Å when labelled).
    /// </summary>
    /// <param name="structure">The structure.</param>
    public static string Structure(Structure structure)
    {
        ArgumentNullException.ThrowIfNull(structure);
        var sb = new StringBuilder("<div class=\"gpff-structure\">");
        sb.Append($"<b>{E(structure.HillFormula())}</b> — {structure.AtomCount} atoms, V = {N(structure.VolumeA3, "F3")} Å³, pbc {Pbc(structure.Pbc)}");
        if (structure.EnergyEv is double e)
        {
            sb.Append($", E = {N(e, "F5")} eV ({N(e / structure.AtomCount, "F5")} eV/atom)");
        }

        if (structure.StressEvPerA3 is Voigt s)
        {
            sb.Append($", P = {N(Units.EvPerA3ToGpa(s.Pressure), "F3")} GPa");
        }

        sb.Append("<div style=\"display:flex;gap:1.5em;align-items:flex-start\"><div>");
        var cell = structure.Cell;
        var rows = new[] { ("a", cell.Row0), ("b", cell.Row1), ("c", cell.Row2) };
        double Angle(Vec3 u, Vec3 v) => u.Length * v.Length == 0 ? double.NaN : Math.Acos(Math.Clamp(Vec3.Dot(u, v) / (u.Length * v.Length), -1, 1)) * 180 / Math.PI;
        var angles = new[] { Angle(cell.Row1, cell.Row2), Angle(cell.Row0, cell.Row2), Angle(cell.Row0, cell.Row1) };
        Table(sb, ["", "x (Å)", "y (Å)", "z (Å)", "length (Å)", "angle (°)"],
            rows.Select((r, i) => new[] { r.Item1, N(r.Item2.X, "F4"), N(r.Item2.Y, "F4"), N(r.Item2.Z, "F4"), N(r.Item2.Length, "F4"), $"{"αβγ"[i]} {N(angles[i], "F2")}" }),
            "cell");
        var forces = structure.ForcesEvPerA;
        var header = new List<string> { "#", "species", "x (Å)", "y (Å)", "z (Å)" };
        if (forces is not null)
        {
            header.AddRange(["F<sub>x</sub> (eV/Å)", "F<sub>y</sub> (eV/Å)", "F<sub>z</sub> (eV/Å)"]);
        }

        var atomRows = Enumerable.Range(0, Math.Min(structure.AtomCount, MaxAtomRows)).Select(i =>
        {
            var p = structure.Positions[i];
            var row = new List<string> { i.ToString(Inv), E(structure.Symbol(i)), N(p.X, "F4"), N(p.Y, "F4"), N(p.Z, "F4") };
            if (forces is not null)
            {
                row.AddRange([N(forces[i].X, "F4"), N(forces[i].Y, "F4"), N(forces[i].Z, "F4")]);
            }

            return row;
        });
        Table(sb, header, atomRows, structure.AtomCount > MaxAtomRows ? $"atoms (first {MaxAtomRows} of {structure.AtomCount})" : "atoms");
        sb.Append("</div><div>").Append(StructurePicture.Svg(structure)).Append("</div></div></div>");
        return sb.ToString();
    }

    /// <summary>Errors per composition (the last row is usually "all"): energy MAE meV/atom, force MAE and RMSE meV/Å, stress MAE GPa.</summary>
    /// <param name="errors">The summaries.</param>
    /// <param name="caption">Table caption.</param>
    public static string Errors(IEnumerable<ErrorSummary> errors, string? caption = null)
    {
        ArgumentNullException.ThrowIfNull(errors);
        var sb = new StringBuilder();
        Table(sb, ["composition", "structures", "E MAE (meV/atom)", "F MAE (meV/Å)", "F RMSE (meV/Å)", "σ MAE (GPa)"],
            errors.Select(r => new[]
            {
                r.Composition == "all" ? "<b>all</b>" : E(r.Composition), r.Structures.ToString(Inv), N(r.EnergyMaeMevPerAtom, "F2"),
                N(r.ForceMaeMevPerA, "F1"), N(r.ForceRmseMevPerA, "F1"), N(r.StressMaeGpa, "F3"),
            }), caption is null ? null : E(caption));
        return sb.ToString();
    }

    /// <summary>
    /// A training report: size, time, jitter, the hyperparameter fit (when done), training residuals,
    /// leave-one-structure-out errors and the uncertainty calibration.
    /// </summary>
    /// <param name="report">The report.</param>
    public static string Training(TrainingReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var sb = new StringBuilder("<div class=\"gpff-training\">");
        sb.Append($"<b>trained</b> on {report.Structures} structures, {report.Labels} labels in {N(report.Seconds, "F2")} s");
        if (report.JitterAdded > 0)
        {
            sb.Append($"; jitter {N(report.JitterAdded, "G3")} added to factor K + Σ");
        }

        if (report.Fit is { } fit)
        {
            sb.Append(Fit(fit));
        }

        sb.Append(Errors(report.Residuals, "training residuals"));
        if (report.LeaveOneOut is { } loso)
        {
            sb.Append(Errors(loso, "leave-one-structure-out errors (an estimate of the errors on unseen structures)"));
        }

        if (report.Calibration is { } cal)
        {
            Table(sb, ["labels", "count", "scale", "rms(e/σ) before", "after", "within 1σ before", "after"],
                cal.Select(c => new[]
                {
                    c.Kind.ToString(), c.Labels.ToString(Inv), N(c.Scale, "F3"), N(c.RmsZBefore, "F3"), N(c.RmsZAfter, "F3"),
                    N(100 * c.WithinOneSigmaBefore, "F1") + " %", N(100 * c.WithinOneSigmaAfter, "F1") + " %",
                }), "uncertainty calibration (σ of a noisy DFT label)");
        }

        return sb.Append("</div>").ToString();
    }

    /// <summary>A hyperparameter fit: objective before and after, the optimiser's report, the fitted values.</summary>
    /// <param name="fit">The fit.</param>
    public static string Fit(HyperparameterFitResult fit)
    {
        ArgumentNullException.ThrowIfNull(fit);
        var sb = new StringBuilder();
        var rows = fit.Kernel.HyperparameterNames.Select((n, i) => new[] { E(n), N(fit.Kernel.Hyperparameters[i], "G6"), n.StartsWith("length", StringComparison.Ordinal) ? "Å" : "eV" })
            .Append([NoiseLevels.EnergyName, N(fit.Noise.EnergyEvPerAtom, "G6"), "eV/atom"])
            .Append([NoiseLevels.ForceName, N(fit.Noise.ForceEvPerA, "G6"), "eV/Å"])
            .Append([NoiseLevels.StressName, N(fit.Noise.StressEvPerA3, "G6"), "eV/Å³"]);
        Table(sb, ["hyperparameter", "value", "unit"], rows,
            E($"fit ({fit.ObjectiveName} {N(fit.InitialLogLikelihood, "F3")} → {N(fit.LogLikelihood, "F3")}; {fit.Optimization})"));
        return sb.ToString();
    }

    /// <summary>A prediction with its standard deviations: energy, stress (GPa) and per-atom forces and local energies.</summary>
    /// <param name="prediction">The prediction.</param>
    public static string Prediction(GpPrediction prediction)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        var sb = new StringBuilder("<div class=\"gpff-prediction\">");
        int n = prediction.ForcesEvPerA.Length;
        sb.Append($"E = {Pm(prediction.EnergyEv, prediction.EnergyStdEv, "F4")} eV");
        if (n > 0)
        {
            sb.Append($" ({Pm(prediction.EnergyEv / n * 1000, prediction.EnergyStdEv / n * 1000, "F1")} meV/atom)");
        }

        if (prediction.StressEvPerA3 is Voigt s)
        {
            var std = prediction.StressStdEvPerA3;
            string[] names = ["xx", "yy", "zz", "yz", "xz", "xy"];
            Table(sb, names.Select(c => $"σ<sub>{c}</sub> (GPa)"),
                [Enumerable.Range(0, 6).Select(v => Pm(Units.EvPerA3ToGpa(s[v]), std is Voigt sd ? Units.EvPerA3ToGpa(sd[v]) : null, "F3"))],
                "stress (positive = tensile)");
        }

        var f = prediction.ForcesEvPerA;
        var fs = prediction.ForcesStdEvPerA;
        var le = prediction.LocalEnergiesEv;
        var les = prediction.LocalEnergiesStdEv;
        Table(sb, ["#", "F<sub>x</sub> (eV/Å)", "F<sub>y</sub> (eV/Å)", "F<sub>z</sub> (eV/Å)", "local energy (eV)"],
            Enumerable.Range(0, Math.Min(n, MaxAtomRows)).Select(i => new[]
            {
                i.ToString(Inv), Pm(f[i].X, fs?[i].X, "F4"), Pm(f[i].Y, fs?[i].Y, "F4"), Pm(f[i].Z, fs?[i].Z, "F4"),
                i < le.Length ? Pm(le[i], les?[i], "F4") : "–",
            }), n > MaxAtomRows ? $"atoms (first {MaxAtomRows} of {n})" : "atoms");
        return sb.Append("</div>").ToString();
    }

    /// <summary>A hull: pressure, terminals, every entry (formation enthalpy, distance above the hull, decomposition), excluded entries, and the plot for two or three components.</summary>
    /// <param name="diagram">The hull.</param>
    public static string Hull(PhaseDiagram diagram) => Hull(diagram, null);

    /// <summary>A hull with the stability probabilities of its entries (Monte Carlo over the energies' uncertainties) in the table and the plot.</summary>
    /// <param name="report">The stability analysis.</param>
    public static string Stability(StabilityReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return Hull(report.Diagram, report);
    }

    private static string Hull(PhaseDiagram diagram, StabilityReport? report)
    {
        ArgumentNullException.ThrowIfNull(diagram);
        var sb = new StringBuilder("<div class=\"gpff-hull\">");
        sb.Append($"<b>hull</b> of {E(string.Join("–", diagram.Terminals.Select(t => t.Formula)))} at {N(diagram.PressureGpa, "0.###")} GPa: {diagram.StableEntries.Count} stable of {diagram.Entries.Count} entries");
        if (report is not null)
        {
            sb.Append($"; stability from {report.Options.Samples} samples of the energies");
        }

        var header = new List<string> { "name", "formula", "ΔH<sub>f</sub> (eV/atom)", "E above hull (meV/atom)", "stable", "decomposes to" };
        if (report is not null)
        {
            header.AddRange(["P(stable)", "E above hull, mean ± sd (meV/atom)"]);
        }

        Table(sb, header, diagram.Entries.OrderBy(e => e.Coordinates[^1]).ThenBy(e => e.EnergyAboveHullEvPerAtom).Select(e =>
        {
            var row = new List<string>
            {
                E(e.Name), E(e.Entry.Composition.Formula), N(e.FormationEnthalpyPerAtomEv, "F4"), N(e.EnergyAboveHullEvPerAtom * 1000, "F1"),
                e.IsStable ? "✔" : "", E(string.Join(" + ", e.Decomposition.Select(d => $"{d.AtomFraction.ToString("0.###", Inv)} {d.Entry.Name}"))),
            };
            if (report is not null)
            {
                var st = report[e.Name];
                row.AddRange([N(st.PStable, "F3"), Pm(st.EnergyAboveHull.Mean * 1000, st.EnergyAboveHull.StandardDeviation * 1000, "F1")]);
            }

            return row;
        }));
        if (diagram.Excluded.Count > 0)
        {
            Table(sb, ["excluded", "why"], diagram.Excluded.Select(x => new[] { E(x.Entry.Name), E(x.Reason) }));
        }

        if (diagram.Dimension is 2 or 3)
        {
            sb.Append("<div>").Append(Plot(HullPlot.Create(diagram, report), "hull plot")).Append("</div>");
        }

        return sb.Append("</div>").ToString();
    }

    /// <summary>A ScottPlot figure as an inline PNG image.</summary>
    /// <param name="plot">The figure.</param>
    /// <param name="alt">Alternative text.</param>
    public static string Plot(Plot plot, string alt = "plot")
    {
        ArgumentNullException.ThrowIfNull(plot);
        return Png(plot.GetImageBytes(PlotWidthPx, PlotHeightPx, ImageFormat.Png), alt);
    }

    private static string Pbc(Pbc pbc) => $"{(pbc.A ? "T" : "F")}{(pbc.B ? "T" : "F")}{(pbc.C ? "T" : "F")}";
}
