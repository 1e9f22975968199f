using System.CommandLine;
using System.Globalization;
using Gpff.IO;
using Gpff.Phases.Plotting;
using Gpff.Studies;

namespace Gpff.Cli.Commands;

/// <summary><c>gpff study SETTINGS.json -o DIR</c>: the phase-stability study end to end (<see cref="StabilityStudy"/>).</summary>
public sealed class StudyCommand : ICommand
{
    /// <summary>The file name of the energy-above-hull-versus-pressure figure.</summary>
    public const string PressurePlotName = "e-above-hull-vs-pressure.png";

    /// <inheritdoc/>
    public string Name => "study";

    /// <inheritdoc/>
    public string Summary => "train, cross-validate, relax candidates at each pressure, hulls with stability probabilities";

    /// <inheritdoc/>
    public string Description => $"""
        The phase-stability study in one command (e.g. data/barho-study.json, Ba–Rh–O along BaO–RhO2 at 0 and 10 GPa):
          1. train a GP force field (model.kernel, default {ForceFieldSettings.KernelKindName(ForceFieldSettings.DefaultFittedKernel)}) on the training frames with the default fit
             (model.fit_objective) and calibrate its standard deviations on the leave-one-structure-out errors;
          2. cross-validate it (K folds over structures, stratified by composition): errors per composition;
          3. relax every candidate (positions and cell) at every pressure with the force field; a relaxation that
             does not converge, whose structure has a pair closer than {Dynamics.TrainingDistances.CollapseFraction} × the shortest distance of
             that species pair in the training data (a collapse out of the model's range), or whose volume per atom
             exceeds {Dynamics.TrainingDistances.ExpansionFactor} × the largest of its composition in training (an expansion out of it), is left
             out of that hull and listed as failed;
          4. predict the joint distribution of the candidates' energies (σ of a DFT label, calibrated, with the
             correlations between candidates) and build the enthalpy hull at each pressure, with the probability
             that each candidate is stable; list the uncertain ones (recompute those with DFT).
        Prints the tables; writes to the output folder (default ./NAME-study): model.gpff, report.txt, and per
        pressure P relaxed-PGPa.extxyz, entries-PGPa.csv and covariance-PGPa.txt (gpff hull reads both),
        hull-PGPa.json and the plots hull-PGPa.png (error bars ±1σ) and {PressurePlotName}. Progress goes to
        stderr.
        """;

    /// <inheritdoc/>
    public string ArgumentsName => "SETTINGS.json";

    /// <inheritdoc/>
    public string ArgumentsDescription => "the study settings (keys under Conventions)";

    /// <inheritdoc/>
    public IReadOnlyList<Option> Options =>
    [
        Declare.Text("o|output", "DIR", "output folder (created if missing; default ./NAME-study)"),
        Declare.Flag("quick", "a reduced run that still does every step (CI, a first try): at most 3 fit iterations, 2 folds, 60 relaxation steps, 1000 samples"),
        Declare.Flag("no-plots", "skip the figures"),
    ];

    /// <inheritdoc/>
    public string Conventions => $"""
        SETTINGS.json (keys and defaults; paths relative to the settings file's folder):
        {StudySettings.Describe()}
        """;

    /// <inheritdoc/>
    public int Run(ParsedArguments args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        string? output = args.Get("o", "output");
        bool quick = args.Has("quick");
        bool plots = !args.Has("no-plots");
        args.RejectUnknown();
        if (args.Positional.Count != 1)
        {
            throw new UsageException($"expected one SETTINGS.json file, got {args.Positional.Count} positional arguments (gpff study --help).");
        }

        var settings = StudySettings.Load(args.Positional[0]);
        if (quick)
        {
            settings = settings.Quick();
        }

        output ??= Path.Combine(".", string.Concat(settings.Name.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' ? c : '-')) + "-study");
        if (File.Exists(output))
        {
            throw new UsageException($"-o {output} is a file; give a folder.");
        }

        Directory.CreateDirectory(output);
        UsageException.CheckOutput(Path.Combine(output, "report.txt"), [args.Positional[0], .. settings.TrainingData.Select(settings.Resolve), settings.Resolve(settings.Candidates)], "-o");

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var progress = new Reporter(p => stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"[{clock.Elapsed.TotalSeconds,6:F0} s] {p.Stage.ToString().ToLowerInvariant()}{(p.Total > 0 ? $" {p.Done}/{p.Total}" : string.Empty)}: {p.Message}")));
        var result = StabilityStudy.Run(settings, progress, cancellationToken);

        stdout.Write(result.FormatTables());
        var written = result.WriteFiles(output).ToList();
        if (plots)
        {
            foreach (var h in result.Hulls)
            {
                string path = Path.Combine(output, $"hull-{StudyResult.PressureTag(h.PressureGpa)}.png");
                HullPlot.Save(h.Diagram, path, 1000, 700, h.Stability);
                written.Add(path);
            }

            string pressurePlot = Path.Combine(output, PressurePlotName);
            StabilityPlots.SaveEnergyAboveHullVersusPressure(result.Hulls.Select(h => h.Stability).ToArray(), pressurePlot);
            written.Add(pressurePlot);
        }

        stdout.WriteLine($"wrote {string.Join(", ", written.Select(Path.GetFileName))} to {output}");
        return 0;
    }

    private sealed class Reporter(Action<StudyProgress> action) : IProgress<StudyProgress>
    {
        public void Report(StudyProgress value) => action(value);
    }
}
