using Gpff.Phases;
using Gpff.Regression;

namespace Gpff.Interactive;

/// <summary>
/// LINQPad's <c>ToDump</c> convention without a LINQPad dependency: LINQPad calls a static
/// <c>object ToDump(object input)</c> defined in "My Extensions" before it dumps any object, and renders
/// what it returns as nested tables. Add
/// <code>public static object ToDump(object input) => Gpff.Interactive.GpffDump.ToDump(input);</code>
/// to My Extensions, and Gpff's objects dump as plain rows with units in the column names (the same
/// content as the notebook views of <see cref="GpffHtml"/>, without the pictures). Objects of other
/// types are returned unchanged.
/// </summary>
public static class GpffDump
{
    /// <summary>A dump-friendly view of a Gpff object, or the object itself when Gpff has no view of it.</summary>
    /// <param name="input">Any object.</param>
    public static object? ToDump(object? input) => input switch
    {
        Structure s => ToDump(s),
        ErrorSummary e => ToDump([e]),
        IEnumerable<ErrorSummary> e => ToDump(e),
        TrainingReport r => ToDump(r),
        GpPrediction p => ToDump(p),
        StabilityReport r => ToDump(r),
        PhaseDiagram d => ToDump(d),
        _ => input,
    };

    private static double[] Row(Geometry.Vec3 v) => [v.X, v.Y, v.Z];

    /// <summary>A structure: formula, counts, cell rows and the atoms.</summary>
    /// <param name="structure">The structure.</param>
    public static StructureView ToDump(Structure structure)
    {
        ArgumentNullException.ThrowIfNull(structure);
        return new StructureView(structure.HillFormula(), structure.AtomCount, structure.VolumeA3, structure.EnergyEv,
            structure.StressEvPerA3 is { } s ? Units.EvPerA3ToGpa(s.Pressure) : null,
            [Row(structure.Cell.Row0), Row(structure.Cell.Row1), Row(structure.Cell.Row2)],
            Enumerable.Range(0, structure.AtomCount).Select(i => new AtomView(i, structure.Symbol(i), structure.Positions[i].X, structure.Positions[i].Y, structure.Positions[i].Z)).ToList());
    }

    /// <summary>Errors per composition as rows (they already carry their units in their names).</summary>
    /// <param name="errors">The summaries.</param>
    public static IReadOnlyList<ErrorSummary> ToDump(IEnumerable<ErrorSummary> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        return errors.ToList();
    }

    /// <summary>A training report: sizes, time, residuals, LOSO errors and calibration.</summary>
    /// <param name="report">The report.</param>
    public static TrainingView ToDump(TrainingReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return new TrainingView(report.Structures, report.Labels, report.Seconds, report.JitterAdded, report.Fit?.ToString(),
            report.Residuals, report.LeaveOneOut, report.Calibration);
    }

    /// <summary>A prediction: energy ± σ, pressure, and per-atom forces ± σ.</summary>
    /// <param name="prediction">The prediction.</param>
    public static PredictionView ToDump(GpPrediction prediction)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        var f = prediction.ForcesEvPerA;
        var fs = prediction.ForcesStdEvPerA;
        return new PredictionView(prediction.EnergyEv, double.IsNaN(prediction.EnergyStdEv) ? null : prediction.EnergyStdEv,
            prediction.StressEvPerA3 is { } s ? Units.EvPerA3ToGpa(s.Pressure) : null,
            Enumerable.Range(0, f.Length).Select(i => new ForceView(i, f[i].X, f[i].Y, f[i].Z, fs?[i].X, fs?[i].Y, fs?[i].Z)).ToList());
    }

    /// <summary>A hull: one row per entry.</summary>
    /// <param name="diagram">The hull.</param>
    public static IReadOnlyList<HullRowView> ToDump(PhaseDiagram diagram)
    {
        ArgumentNullException.ThrowIfNull(diagram);
        return diagram.Entries.Select(e => new HullRowView(e.Name, e.Entry.Composition.Formula, e.FormationEnthalpyPerAtomEv,
            e.EnergyAboveHullEvPerAtom * 1000, e.IsStable, null)).ToList();
    }

    /// <summary>A hull with stability probabilities: one row per entry.</summary>
    /// <param name="report">The stability analysis.</param>
    public static IReadOnlyList<HullRowView> ToDump(StabilityReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return report.Diagram.Entries.Select(e => new HullRowView(e.Name, e.Entry.Composition.Formula, e.FormationEnthalpyPerAtomEv,
            e.EnergyAboveHullEvPerAtom * 1000, e.IsStable, report[e.Name].PStable)).ToList();
    }
}

/// <summary>A structure as LINQPad dumps it.</summary>
/// <param name="Formula">Hill formula.</param>
/// <param name="Atoms">Number of atoms.</param>
/// <param name="VolumeA3">Cell volume, Å³.</param>
/// <param name="EnergyEv">Energy label, eV.</param>
/// <param name="PressureGpa">Pressure of the stress label, GPa.</param>
/// <param name="CellA">Cell rows a, b, c, Å.</param>
/// <param name="Positions">The atoms.</param>
public sealed record StructureView(string Formula, int Atoms, double VolumeA3, double? EnergyEv, double? PressureGpa, double[][] CellA, IReadOnlyList<AtomView> Positions);

/// <summary>One atom.</summary>
/// <param name="Index">Index in the structure.</param>
/// <param name="Species">Element symbol.</param>
/// <param name="XA">x, Å.</param>
/// <param name="YA">y, Å.</param>
/// <param name="ZA">z, Å.</param>
public sealed record AtomView(int Index, string Species, double XA, double YA, double ZA);

/// <summary>A training report as LINQPad dumps it.</summary>
/// <param name="Structures">Training structures.</param>
/// <param name="Labels">Labels.</param>
/// <param name="Seconds">Time, s.</param>
/// <param name="JitterAdded">Jitter added to factor K + Σ.</param>
/// <param name="Fit">The hyperparameter fit's report, when fitted.</param>
/// <param name="Residuals">Training residuals per composition.</param>
/// <param name="LeaveOneOut">LOSO errors per composition.</param>
/// <param name="Calibration">Uncertainty calibration per label kind.</param>
public sealed record TrainingView(int Structures, int Labels, double Seconds, double JitterAdded, string? Fit,
    IReadOnlyList<ErrorSummary> Residuals, IReadOnlyList<ErrorSummary>? LeaveOneOut, IReadOnlyList<CalibrationCheck>? Calibration);

/// <summary>A prediction as LINQPad dumps it.</summary>
/// <param name="EnergyEv">Energy, eV.</param>
/// <param name="EnergyStdEv">Its standard deviation, eV.</param>
/// <param name="PressureGpa">Pressure, GPa.</param>
/// <param name="Forces">Per-atom forces.</param>
public sealed record PredictionView(double EnergyEv, double? EnergyStdEv, double? PressureGpa, IReadOnlyList<ForceView> Forces);

/// <summary>One atom's force with its standard deviations, eV/Å.</summary>
/// <param name="Index">Atom index.</param>
/// <param name="FxEvPerA">F_x.</param>
/// <param name="FyEvPerA">F_y.</param>
/// <param name="FzEvPerA">F_z.</param>
/// <param name="FxStdEvPerA">σ of F_x.</param>
/// <param name="FyStdEvPerA">σ of F_y.</param>
/// <param name="FzStdEvPerA">σ of F_z.</param>
public sealed record ForceView(int Index, double FxEvPerA, double FyEvPerA, double FzEvPerA, double? FxStdEvPerA, double? FyStdEvPerA, double? FzStdEvPerA);

/// <summary>One hull entry.</summary>
/// <param name="Name">Entry name.</param>
/// <param name="Formula">Formula as given.</param>
/// <param name="FormationEnthalpyEvPerAtom">Formation enthalpy, eV/atom.</param>
/// <param name="EnergyAboveHullMevPerAtom">Distance above the hull, meV/atom.</param>
/// <param name="Stable">On the hull.</param>
/// <param name="PStable">Probability of being on the hull (with a stability analysis).</param>
public sealed record HullRowView(string Name, string Formula, double FormationEnthalpyEvPerAtom, double EnergyAboveHullMevPerAtom, bool Stable, double? PStable);
