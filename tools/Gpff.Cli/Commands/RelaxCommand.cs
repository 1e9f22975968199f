using System.CommandLine;
using System.Globalization;
using Gpff.Dynamics;
using Gpff.Dynamics.Optimization;
using Gpff.IO;
using Gpff.Phases;

namespace Gpff.Cli.Commands;

/// <summary><c>gpff relax MODEL IN.extxyz -o OUT.extxyz --pressure GPa</c>: relaxes every frame at a pressure, ready for <c>gpff hull</c>.</summary>
public sealed class RelaxCommand : ICommand
{
    private static readonly RelaxationOptions Defaults = new();

    /// <inheritdoc/>
    public string Name => "relax";

    /// <inheritdoc/>
    public string Summary => "relax positions and cell of every frame at a pressure; enthalpies for gpff hull";

    /// <inheritdoc/>
    public string Description => string.Create(CultureInfo.InvariantCulture, $"""
        Minimises the enthalpy H = E + P·V of every frame over positions and cell (log-strain cell filter,
        as ASE's ExpCellFilter) with the model's energy, forces and stress. Converged when every force is
        below --fmax and the stress within --stress-tolerance of −P.

        A frame that does not converge is kept in the output with converged=F, left out of the entries, and
        listed. A frame whose relaxed structure has a pair of atoms closer than {TrainingDistances.CollapseFraction} × the shortest distance of
        that species pair in the model's training data has collapsed into a hole of the model, converged or not;
        one whose volume per atom exceeds {TrainingDistances.ExpansionFactor} × the largest of its composition in the training data has run away
        by expansion (full GP models: a sparse model keeps no training cells). Either is kept in the output with
        converged=F and left_training_data (why), left out of the entries, and listed as "relaxation of frame N
        (name) collapsed: left the training data: ..." (or "expanded: ..."). A relaxation that the
        model drives where no structure can be (atoms on top of each other) is listed as collapsed and its frame
        not written; the other frames are.
        """);

    /// <inheritdoc/>
    public string ArgumentsName => "MODEL IN.extxyz";

    /// <inheritdoc/>
    public string ArgumentsDescription => "the model file (full or sparse GP) and the frames to relax (extended XYZ)";

    /// <inheritdoc/>
    public IReadOnlyList<Option> Options =>
    [
        Declare.Text("o|output", "OUT.extxyz", "relaxed frames (extended XYZ, required): energy (eV), forces, stress, and in the comment line enthalpy (eV, E + P·V), " +
            "enthalpy_per_atom (eV/atom), pressure_GPa, energy_std (eV, the GP's), converged (T/F) and relax_steps"),
        Declare.Number("pressure", "GPa", "external pressure in GPa", 0),
        Declare.Number("fmax", "eV/Å", "converged when every force is below this, eV/Å", Defaults.FmaxEvPerA),
        Declare.Number("stress-tolerance", "GPa", "and the stress within this of −P, GPa", Defaults.StressToleranceGpa),
        Declare.OneOf("cell", "full, hydrostatic (shape kept) or fixed", "full", "full", "hydrostatic", "fixed"),
        Declare.OneOf("optimizer", "L-BFGS or FIRE", "lbfgs", "lbfgs", "fire"),
        Declare.Whole("max-steps", "N", "optimiser steps per frame", Defaults.MaxSteps, 1, int.MaxValue),
        Declare.Text("entries", "ENTRIES.csv", "also write the hull entries CSV (name,formula,energy_ev,volume_a3,energy_std_ev) of the converged frames: " +
            "gpff hull reads it (give it the same --pressure). Names come from the frame's name or config_type, else frame-N; a repeated name gets -N (the frame)"),
    ];

    /// <inheritdoc/>
    public int Run(ParsedArguments args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        string? output = args.Get("o", "output");
        string? entriesPath = args.Get("entries");
        var cell = (args.Get("cell") ?? "full").ToLowerInvariant() switch
        {
            "full" => CellFreedom.Full,
            "hydrostatic" => CellFreedom.Hydrostatic,
            "fixed" => CellFreedom.Fixed,
            var c => throw new UsageException($"option --cell expects full, hydrostatic or fixed, got '{c}'."),
        };
        var method = (args.Get("optimizer") ?? "lbfgs").ToLowerInvariant() switch
        {
            "lbfgs" or "l-bfgs" => RelaxationMethod.Lbfgs,
            "fire" => RelaxationMethod.Fire,
            var m => throw new UsageException($"option --optimizer expects lbfgs or fire, got '{m}'."),
        };
        var options = Defaults with
        {
            PressureGpa = args.GetDouble(0, "pressure"),
            FmaxEvPerA = args.GetDouble(Defaults.FmaxEvPerA, "fmax"),
            StressToleranceGpa = args.GetDouble(Defaults.StressToleranceGpa, "stress-tolerance"),
            MaxSteps = args.GetInt(Defaults.MaxSteps, 1, int.MaxValue, "max-steps"),
            CellFreedom = cell,
            Method = method,
        };
        args.RejectUnknown();
        if (args.Positional.Count != 2)
        {
            throw new UsageException("expected MODEL and IN.extxyz (gpff relax --help).");
        }

        if (output is null)
        {
            throw new UsageException("-o OUT.extxyz is required.");
        }

        if (!(options.FmaxEvPerA > 0))
        {
            throw new UsageException($"option --fmax must be > 0 eV/Å, got {options.FmaxEvPerA.ToString(CultureInfo.InvariantCulture)}.");
        }

        if (!(options.StressToleranceGpa > 0))
        {
            throw new UsageException($"option --stress-tolerance must be > 0 GPa, got {options.StressToleranceGpa.ToString(CultureInfo.InvariantCulture)}.");
        }

        UsageException.CheckOutput(output, [.. args.Positional, entriesPath], "-o");
        if (entriesPath is not null)
        {
            UsageException.CheckOutput(entriesPath, [.. args.Positional, output], "--entries");
        }

        var (ff, known) = Inputs.LoadModel(args.Positional[0], cancellationToken);
        var trainingDistances = ModelTrainingDistances.Of(ff, cancellationToken);
        string input = args.Positional[1];
        var inv = CultureInfo.InvariantCulture;
        var entries = new List<PhaseEntry>();
        var notConverged = new List<string>();
        var failed = new List<string>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        int count = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        stdout.WriteLine(string.Create(inv, $"relaxing at {options.PressureGpa:G} GPa ({cell.ToString().ToLowerInvariant()} cell, {method.ToString().ToLowerInvariant()}, fmax {options.FmaxEvPerA:G} eV/Å)"));
        stdout.WriteLine($"{"frame",5}  {"name",-16} {"steps",5}  {"conv",4}  {"H eV/atom",14}  {"V Å³/atom",10}  {"fmax eV/Å",9}");
        CliProgress progress = null!;
        CliProgress.Run(stderr, p =>
        {
            progress = p;
            ExtXyz.Write(output, Relaxed());
            p.Complete("relaxed frames");
        });
        stdout.WriteLine(string.Create(inv, $"{count} frames relaxed in {clock.Elapsed.TotalSeconds:F1} s, written to {output}"));
        if (notConverged.Count > 0)
        {
            stdout.WriteLine($"not converged ({notConverged.Count}): {string.Join("; ", notConverged)}");
        }

        foreach (var f in failed)
        {
            stdout.WriteLine(f);
        }

        if (entriesPath is not null)
        {
            PhaseEntryCsv.Write(entriesPath, entries);
            stdout.WriteLine(string.Create(inv, $"wrote {entries.Count} hull entries to {entriesPath} (gpff hull {entriesPath} --pressure {options.PressureGpa:G})"));
        }

        return 0;

        IEnumerable<Structure> Relaxed()
        {
            int index = 0;
            foreach (var s in Inputs.ReadFrames(input))
            {
                cancellationToken.ThrowIfCancellationRequested();
                Inputs.CheckSpecies(input, index, s, known, "the model");
                int frame = index;
                string name = s.Info.TryGetValue("name", out var n) && n is string ns ? ns
                    : s.Info.TryGetValue("config_type", out var t) && t is string ts ? ts
                    : $"frame-{frame + 1}";
                if (!names.Add(name))
                {
                    name = $"{name}-{frame + 1}"; // hull entries need their own names
                    names.Add(name);
                }

                RelaxationResult r;
                try
                {
                    r = Relaxation.Relax(s.CloneWithoutLabels(), ff, options, null, cancellationToken);
                }
                catch (Exception ex) when (ex is ArgumentException or InvalidOperationException && ex is not ObjectDisposedException)
                {
                    // The input frame was valid (ReadFrames checked it): the model drove it somewhere no structure can be,
                    // atoms on top of each other (a collapse) or a degenerate cell. A result about the model, not the input.
                    string what = ex is InvalidStructureException ? "collapsed" : "failed";
                    failed.Add($"relaxation of frame {frame + 1} ({name}) {what}: {CommandLine.OneLine(ex).TrimEnd('.')}; frame not written");
                    stdout.WriteLine(string.Create(inv, $"{frame + 1,5}  {Abbreviate(name),-16} {"",5}  {"FAIL",4}  relaxation {what}, frame not written"));
                    index++;
                    continue;
                }

                var collapse = trainingDistances?.CheckRange(r.Structure);
                var o = r.Structure;
                foreach (string key in (string[])["name", "config_type"])
                {
                    if (s.Info.TryGetValue(key, out var v))
                    {
                        o.Info[key] = v; // not the input's other keys: they describe the unrelaxed structure
                    }
                }

                double std = ff.Calculate(o.CloneWithoutLabels(), CalculatorProperties.Energy | CalculatorProperties.Uncertainty, cancellationToken).EnergyStdEv ?? 0;
                o.Info["enthalpy"] = r.EnthalpyEv;
                o.Info["enthalpy_per_atom"] = r.EnthalpyPerAtomEv;
                o.Info["pressure_GPa"] = r.PressureGpa;
                o.Info["energy_std"] = std;
                o.Info["converged"] = r.Converged && collapse is null;
                if (collapse is not null)
                {
                    o.Info["left_training_data"] = collapse.Message;
                }

                o.Info["relax_steps"] = r.Iterations;
                stdout.WriteLine(string.Create(inv, $"{frame + 1,5}  {Abbreviate(name),-16} {r.Iterations,5}  {(collapse is not null ? collapse.Outcome[..4] : r.Converged ? "yes" : "no"),4}  {r.EnthalpyPerAtomEv,14:F6}  {r.VolumePerAtomA3,10:F4}  {r.MaxForceEvPerA,9:F4}"));
                if (collapse is not null)
                {
                    failed.Add($"relaxation of frame {frame + 1} ({name}) {collapse.Outcome}: {collapse.Message}");
                }
                else if (r.Converged)
                {
                    entries.Add(PhaseEntry.FromStructure(o, name, std));
                }
                else
                {
                    notConverged.Add($"frame {frame + 1} ({name}): {r.Message}");
                }

                count++;
                index++;
                progress.Update("relaxed frames", count, 0, string.Create(inv, $"  {count} frames relaxed ({clock.Elapsed.TotalSeconds:F0} s)"));
                yield return o;
            }
        }
    }

    private static string Abbreviate(string s) => s.Length <= 16 ? s : s[..15] + "…";
}
