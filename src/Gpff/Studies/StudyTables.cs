using System.Globalization;
using System.Text;

namespace Gpff.Studies;

/// <summary>The text report of a study (what <c>gpff study</c> prints and <c>report.txt</c> holds).</summary>
internal static class StudyTables
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    internal static string Format(StudyResult r)
    {
        var o = new StringBuilder();
        var s = r.Settings;
        o.AppendLine(Inv, $"study {s.Name}: {ForceFieldSettings.KernelKindName(s.Model.Kernel)} GP, {r.TrainingFrames.Count} training frames, {r.Hulls.Select(h => h.Candidates.Count + h.Failed.Count).DefaultIfEmpty(0).Max()} candidates, pressures {string.Join(", ", s.PressuresGpa.Select(p => p.ToString("G", Inv)))} GPa ({r.Seconds:F0} s)");
        o.AppendLine();

        var t = r.Training;
        if (t.Fit is { } fit)
        {
            o.AppendLine(Inv, $"fit ({fit.ObjectiveName}): {fit.Optimization}; {string.Join(", ", fit.Names.Select((n, i) => $"{n} {ValueOf(r, n)}"))}");
        }
        else
        {
            o.AppendLine("hyperparameters as given (no fit)");
        }

        if (t.LeaveOneOut is { } loso)
        {
            o.AppendLine("leave-one-structure-out errors (closed form, fitted hyperparameters):");
            AppendErrors(o, loso);
        }

        if (t.Calibration is { } cal)
        {
            o.AppendLine("calibration of the σ of a DFT label (scales from the leave-one-structure-out errors): " +
                string.Join("; ", cal.Select(c => string.Create(Inv, $"{c.Kind.ToString().ToLowerInvariant()} ×{c.Scale:F2}, within 1σ {c.WithinOneSigmaAfter * 100:F0} %"))));
        }

        if (r.CrossValidation is { } cv)
        {
            o.AppendLine(Inv, $"{cv.Folds}-fold cross-validation over structures, stratified by composition ({(s.CrossValidation.Refit ? "hyperparameters refitted in every fold" : "hyperparameters fitted on all the data")}):");
            AppendErrors(o, cv.Errors);
            o.AppendLine("  held-out σ of a DFT label: " + string.Join("; ", cv.LabelCalibration.Select(c => c.ToString())));
        }

        o.AppendLine();
        foreach (var h in r.Hulls)
        {
            var d = h.Diagram;
            string system = string.Join("–", d.Terminals.Select(x => x.Formula));
            o.AppendLine(Inv, $"{system} hull at {h.PressureGpa:G} GPa (GP, σ of a DFT label, joint covariance; {h.Stability.Options.Samples} samples, seed {h.Stability.Options.Seed}):");
            int w = Math.Max(9, h.Candidates.Select(c => c.Name.Length).Concat(h.Failed.Select(f => f.Name.Length)).Max());
            o.AppendLine($"  {"candidate".PadRight(w)}  {"formula",-8} {"conv",4} {"steps",5}  {"V Å³/at",8}  {"H eV/atom",11}  {"σ_E meV/at",10}  {"H_f meV/at",10}  {"E_hull meV/at",13}  {"[5 %, 95 %]",15}  {"p_stable",8}  call");
            // A candidate whose relaxation failed is missing from this hull: the calls of its composition hold only
            // against the polymorphs that were relaxed (it might be lower than all of them), so they are marked.
            var failedFormulas = h.Failed.Select(f => r.CandidateFormulas[f.Name]).ToHashSet(StringComparer.Ordinal);

            for (int i = 0; i < h.Candidates.Count; i++)
            {
                var c = h.Candidates[i];
                var e = d.Entries.First(x => x.Name == c.Name);
                var st = h.Stability[c.Name];
                string call = st.PStable >= s.Hull.UncertainHigh ? "stable" : st.PStable <= s.Hull.UncertainLow ? "unstable" : "UNCERTAIN";
                if (failedFormulas.Contains(c.Structure.ReducedFormula()))
                {
                    call += " (NOT SETTLED)";
                }

                int atoms = c.Structure.AtomCount;
                o.AppendLine(Inv,
                    $"  {c.Name.PadRight(w)}  {c.Structure.ReducedFormula(),-8} {(c.Relaxation.Converged ? "yes" : "NO"),4} {c.Relaxation.Iterations,5}  {c.VolumePerAtomA3,8:F3}  {c.EnthalpyPerAtomEv,11:F4}  {c.EnergyStdEv / atoms * 1000,10:F1}  {e.FormationEnthalpyPerAtomEv * 1000,10:F1}  {e.EnergyAboveHullEvPerAtom * 1000,13:F1}  {Band(st.EnergyAboveHull.Q05, st.EnergyAboveHull.Q95),15}  {st.PStable,8:F3}  {call}");
            }

            foreach (var f in h.Failed)
            {
                o.AppendLine(Inv, $"  {f.Name.PadRight(w)}  {r.CandidateFormulas[f.Name],-8} {"FAILED",4}  relaxation failed, not in this hull (below)");
            }

            if (h.Failed.Count > 0)
            {
                o.AppendLine(Inv, $"  NOT SETTLED: {string.Join(", ", h.Failed.Select(f => f.Name))} could not be relaxed at {h.PressureGpa:G} GPa; {(h.Failed.Count == 1 ? "it" : "any of them")} might lie on or below this hull, so the calls of {string.Join(", ", failedFormulas.Order(StringComparer.Ordinal))} hold only against the candidates relaxed. Recompute them with DFT or add training data like them.");
            }

            o.AppendLine();
        }

        var uncertain = r.Uncertain;
        o.AppendLine(string.Create(Inv, $"uncertain (p_stable in [{s.Hull.UncertainLow:G}, {s.Hull.UncertainHigh:G}]; recompute these with DFT): ") +
            (uncertain.Count == 0 ? "none" : string.Join(", ", uncertain.Select(u => string.Create(Inv, $"{u.Name} at {u.PressureGpa:G} GPa (p = {u.PStable:F2})")))));
        if (r.Failed.Count > 0)
        {
            o.AppendLine("not decided (relaxation failed; recompute these with DFT too): " +
                string.Join(", ", r.Failed.Select(f => string.Create(Inv, $"{f.Name} at {f.PressureGpa:G} GPa"))));
        }

        foreach (var f in r.Failed)
        {
            o.AppendLine(string.Create(Inv, $"relaxation failed, left out of the {f.PressureGpa:G} GPa hull (the model extrapolates there: recompute with DFT): {f.Name}: {f.Message}"));
        }

        var notConverged = r.NotConverged;
        if (notConverged.Count > 0)
        {
            o.AppendLine("not converged (a terminal, kept at the enthalpy reached): " +
                string.Join("; ", notConverged.Select(c => string.Create(Inv, $"{c.Name} at {c.PressureGpa:G} GPa: {c.Relaxation.Message}"))));
        }

        return o.ToString();
    }

    private static string Band(double q05, double q95) => string.Create(Inv, $"[{q05 * 1000:F1}, {q95 * 1000:F1}]");

    private static string ValueOf(StudyResult r, string name)
    {
        var k = r.ForceField.Model.Kernel;
        int i = k.HyperparameterNames.ToList().IndexOf(name);
        if (i >= 0)
        {
            return k.Hyperparameters[i].ToString("G4", Inv);
        }

        var noise = r.ForceField.Model.Noise;
        int j = Regression.NoiseLevels.Names.ToList().IndexOf(name);
        return j >= 0 ? noise.ToArray()[j].ToString("G4", Inv) : "?";
    }

    private static void AppendErrors(StringBuilder o, IReadOnlyList<ErrorSummary> errors)
    {
        o.AppendLine($"  {"composition",-12} {"frames",6}  {"E MAE meV/atom",14}  {"F MAE meV/Å",11}  {"σ MAE GPa",9}");
        foreach (var e in errors)
        {
            o.AppendLine(Inv, $"  {e.Composition,-12} {e.Structures,6}  {e.EnergyMaeMevPerAtom,14:F2}  {e.ForceMaeMevPerA,11:F1}  {e.StressMaeGpa,9:F3}");
        }
    }
}
