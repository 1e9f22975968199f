#!/usr/bin/env dotnet
// The Ba–Rh–O phase-stability study as a C# file-based program (.NET 10 SDK), from the repository root:
//
//     dotnet run samples/barho.cs                       # the full study, several minutes on 2 cores
//     dotnet run samples/barho.cs -- --quick OUT_DIR    # a reduced run that still does every step
//
// It does what `gpff study data/barho-study.json` does: train a GP force field on the bundled pw.x frames
// (fitted, calibrated), cross-validate it, relax every candidate at 0 and 10 GPa, and build the BaO–RhO2 hulls
// with the probability that each candidate is stable. Copy it and edit the settings for another system.
#:project ../src/Gpff/Gpff.csproj
#:project ../src/Gpff.Phases.Plotting/Gpff.Phases.Plotting.csproj

using Gpff.Phases.Plotting;
using Gpff.Studies;

bool quick = args.Contains("--quick");
string output = args.FirstOrDefault(a => !a.StartsWith("--")) ?? "barho-study";

// The settings file says what to do: training data, candidates, terminals, pressures, fit, cross-validation, hull.
string repo = Path.GetDirectoryName(AppContext.GetData("EntryPointFileDirectoryPath") as string ?? "samples") ?? ".";
var settings = StudySettings.Load(Path.Combine(repo, "data", "barho-study.json"));
if (quick)
{
    settings = settings.Quick();
}

// Run it with progress on stderr; Ctrl+C cancels.
using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
var progress = new Progress<StudyProgress>(p => Console.Error.WriteLine($"{p.Stage} {p.Done}/{p.Total}: {p.Message}"));
var result = StabilityStudy.Run(settings, progress, cts.Token);

// Tables, files and plots.
Console.WriteLine(result.FormatTables());
result.WriteFiles(output);
foreach (var hull in result.Hulls)
{
    HullPlot.Save(hull.Diagram, Path.Combine(output, $"hull-{StudyResult.PressureTag(hull.PressureGpa)}.png"), 1000, 700, hull.Stability);
}

StabilityPlots.SaveEnergyAboveHullVersusPressure(result.Hulls.Select(h => h.Stability).ToArray(), Path.Combine(output, "e-above-hull-vs-pressure.png"));

// What a user does next: recompute with DFT the uncertain candidates, and those the model could not relax (their
// compositions' calls are not settled: a missing polymorph might lie below the hull).
foreach (var u in result.Uncertain)
{
    Console.WriteLine($"recompute with DFT: {u.Name} at {u.PressureGpa} GPa (p_stable = {u.PStable:F2})");
}

foreach (var f in result.Failed)
{
    Console.WriteLine($"recompute with DFT: {f.Name} at {f.PressureGpa} GPa (relaxation failed: {f.Message})");
}
