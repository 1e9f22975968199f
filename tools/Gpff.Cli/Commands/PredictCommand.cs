using System.CommandLine;
using Gpff.Geometry;
using Gpff.IO;

namespace Gpff.Cli.Commands;

/// <summary><c>gpff predict MODEL STRUCTURES.extxyz -o OUT.extxyz</c>: predictions with uncertainties.</summary>
public sealed class PredictCommand : ICommand
{
    /// <inheritdoc/>
    public string Name => "predict";

    /// <inheritdoc/>
    public string Summary => "predict energies, forces and stresses with uncertainties for the frames of an extxyz file";

    /// <inheritdoc/>
    public string Description => """
        Writes every frame of STRUCTURES with the model's predictions, in ASE's conventions and units:
        comment line energy= (eV), energy_std= (eV), stress= and stress_std= (9 numbers, eV/Å³, positive
        = tensile; 3D-periodic frames only); per atom forces:R:3 and forces_std:R:3 (eV/Å) and the local
        energies energies:R:1 (eV). Labels the input already had are kept as ref_energy, ref_stress and
        ref_forces for comparison. Standard deviations are multiplied by the model's calibration scales
        (fitted by gpff train to leave-one-structure-out errors; 1 for older models); which σ it is, is
        written on each frame as std_kind=label|latent and printed. A frame whose composition lies outside
        the span of the training compositions (its reference energy is an extrapolation) gets
        composition_in_span=F and is counted in the output.
        """;

    /// <inheritdoc/>
    public string ArgumentsName => "MODEL STRUCTURES.extxyz";

    /// <inheritdoc/>
    public string ArgumentsDescription => "the model file (full or sparse GP) and the frames to predict (extended XYZ)";

    /// <inheritdoc/>
    public IReadOnlyList<Option> Options =>
    [
        Declare.Text("o|output", "OUT.extxyz", "where the frames with predictions are written (required)"),
        Declare.Flag("no-uncertainty", "skip the standard deviations (faster)"),
        UncertaintyArguments.Kind(),
    ];

    /// <inheritdoc/>
    public int Run(ParsedArguments args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        var output = args.Get("o", "output");
        bool uncertainty = !args.Has("no-uncertainty");
        var kind = UncertaintyArguments.ParseKind(args);
        args.RejectUnknown();
        if (args.Positional.Count != 2)
        {
            throw new UsageException("expected MODEL and STRUCTURES.extxyz (gpff predict --help).");
        }

        if (output is null)
        {
            throw new UsageException("-o OUT.extxyz is required.");
        }

        UsageException.CheckOutput(output, args.Positional, "-o");
        // A sparse model (gpff train --sparse) predicts through its own facade; both are calculators.
        bool isSparse = Regression.ModelFile.IsSparse(args.Positional[0]);
        if (isSparse && kind != Regression.UncertaintyKind.Latent && args.Has("sigma"))
        {
            throw new UsageException($"{args.Positional[0]} is a sparse model: its σ is that of the latent function only (omit --sigma or give --sigma latent).");
        }

        if (isSparse)
        {
            kind = Regression.UncertaintyKind.Latent;
        }

        var ff = isSparse ? null : ForceField.Load(args.Positional[0], new Regression.GaussianProcessOptions { Uncertainty = kind }, cancellationToken);
        var sparseFf = isSparse ? SparseForceField.Load(args.Positional[0]) : null;
        var known = (ff?.Species ?? sparseFf!.Species).ToHashSet();
        var reference = ff is not null ? ff.Model.ReferenceEnergies : sparseFf!.Model!.ReferenceEnergies;
        Regression.GpPrediction Predict(Structure s) => ff is not null ? ff.Predict(s, uncertainty, cancellationToken) : sparseFf!.Predict(s, uncertainty, cancellationToken);
        string structuresPath = args.Positional[1];
        int count = 0, outside = 0;
        CliProgress progress = null!;
        CliProgress.Run(stderr, p =>
        {
            progress = p;
            ExtXyz.Write(output, Predictions());
            p.Complete("predicted frames");
        });
        stdout.WriteLine($"{count} frames predicted, written to {output}");
        if (uncertainty && sparseFf is not null)
        {
            stdout.WriteLine($"standard deviations: latent function of the sparse GP ({sparseFf.Model!.Options.Variance.ToString().ToUpperInvariant()}), uncalibrated");
        }
        else if (uncertainty)
        {
            var c = ff!.Model.Calibration;
            stdout.WriteLine(c.IsNone
                ? $"standard deviations (std_kind={UncertaintyArguments.Word(kind)}): {UncertaintyArguments.Describe(kind)}; this model is uncalibrated"
                : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"standard deviations (std_kind={UncertaintyArguments.Word(kind)}): {UncertaintyArguments.Describe(kind)} (scales energy {c.EnergyScale:F3}, forces {c.ForceScale:F3}, stress {c.StressScale:F3})"));
        }

        if (outside > 0)
        {
            stdout.WriteLine($"note: {outside} frames have a composition outside the span of the training compositions (composition_in_span=F): their energies extrapolate the reference energies{(ff?.Model.Options.ReferenceEnergyPrior is null ? ", and this model's σ does not include that (trained without --reference-prior)" : "; their energy σ includes it")}");
        }

        return 0;

        IEnumerable<Structure> Predictions()
        {
            int index = 0;
            foreach (var s in Inputs.ReadFrames(structuresPath))
            {
                cancellationToken.ThrowIfCancellationRequested();
                Inputs.CheckSpecies(structuresPath, index, s, known, "the model");
                var p = Inputs.AtFrame(structuresPath, index, () => Predict(s));
                index++;
                var o = s.Clone();
                if (s.EnergyEv is double e)
                {
                    o.Info["ref_energy"] = e;
                }

                if (s.StressEvPerA3 is Voigt st)
                {
                    o.Info["ref_stress"] = st.ToMatrix().ToRowMajorArray();
                }

                if (s.ForcesEvPerA is { } f)
                {
                    o.AtomProperties["ref_forces"] = AtomProperty.FromReals("ref_forces", 3, f.SelectMany(v => new[] { v.X, v.Y, v.Z }).ToArray());
                }

                bool inSpan = reference?.IsInSpan(s.AtomicNumbers) ?? true;
                outside += inSpan ? 0 : 1;
                o.Info["composition_in_span"] = inSpan;
                o.EnergyEv = p.EnergyEv;
                o.ForcesEvPerA = p.ForcesEvPerA;
                o.StressEvPerA3 = p.StressEvPerA3;
                if (uncertainty)
                {
                    o.Info["energy_std"] = p.EnergyStdEv;
                    o.Info["std_kind"] = UncertaintyArguments.Word(kind);
                    if (p.StressStdEvPerA3 is Voigt ss)
                    {
                        o.Info["stress_std"] = ss.ToMatrix().ToRowMajorArray();
                    }

                    o.AtomProperties["forces_std"] = AtomProperty.FromReals("forces_std", 3, p.ForcesStdEvPerA!.SelectMany(v => new[] { v.X, v.Y, v.Z }).ToArray());
                }

                o.AtomProperties["energies"] = AtomProperty.FromReals("energies", 1, p.LocalEnergiesEv);
                count++;
                progress.Update("predicted frames", count, 0, count % 10 == 0 ? $"  {count} frames predicted" : null);

                yield return o;
            }
        }
    }
}
