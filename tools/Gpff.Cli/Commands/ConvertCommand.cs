using System.CommandLine;
using Gpff.IO;
using Gpff.QuantumEspresso;

namespace Gpff.Cli.Commands;

/// <summary><c>gpff convert OUTPUTS... -o DATA.extxyz</c>: pw.x outputs to the extended XYZ training format.</summary>
public sealed class ConvertCommand : ICommand
{
    /// <inheritdoc/>
    public string Name => "convert";

    /// <inheritdoc/>
    public string Summary => "convert pw.x outputs to extended XYZ training data";

    /// <inheritdoc/>
    public string Description => """
        Reads Quantum ESPRESSO pw.x text outputs (6.x and 7.x; scf, relax, md, vc-relax) and writes
        one extended XYZ frame per ionic step: energy (eV; the free energy with smearing), forces
        (eV/Å), stress (eV/Å³, ASE sign: positive = tensile), cell and positions (Å), plus the keys
        source, qe_calculation, qe_ionic_step, qe_final_scf (the closing SCF of a vc-relax), qe_version.
        The file is written to a temporary name and renamed when complete, so an interrupted
        conversion never leaves a half-written file (except with --append). A file name ending in .gz is
        written gzip-compressed. It must not be one of the OUTPUTs; with --append it must be extended XYZ.
        """;

    /// <inheritdoc/>
    public string ArgumentsName => "OUTPUT";

    /// <inheritdoc/>
    public string ArgumentsDescription => "pw.x output files; a folder stands for every *.out file in it (sorted by name)";

    /// <inheritdoc/>
    public IReadOnlyList<Option> Options =>
    [
        Declare.Text("o|output", "DATA.extxyz", "the extended XYZ file to write (required)"),
        Declare.Flag("last", "only the last ionic step of each output (for vc-relax: the closing SCF)"),
        Declare.Flag("tolerant", "keep the complete steps of outputs with a non-converged SCF, a truncated end or a pw.x error, and list what was skipped on stderr; " +
            "without it the first such problem stops the conversion and nothing is written"),
        Declare.Flag("append", "append to the file instead of replacing it"),
    ];

    /// <inheritdoc/>
    public int Run(ParsedArguments args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        string? output = args.Get("o", "output");
        bool last = args.Has("last");
        bool tolerant = args.Has("tolerant");
        bool append = args.Has("append");
        args.RejectUnknown();
        if (output is null)
        {
            throw new UsageException("missing -o DATA.extxyz (gpff convert --help).");
        }

        if (args.Positional.Count == 0)
        {
            throw new UsageException("no pw.x outputs given (gpff convert --help).");
        }

        var inputs = new List<string>();
        foreach (var p in args.Positional)
        {
            if (Directory.Exists(p))
            {
                var outs = Directory.GetFiles(p, "*.out").Order(StringComparer.Ordinal).ToList();
                if (outs.Count == 0)
                {
                    throw new InvalidDataException($"folder '{p}' has no *.out files.");
                }

                inputs.AddRange(outs);
            }
            else if (File.Exists(p))
            {
                inputs.Add(p);
            }
            else
            {
                throw new FileNotFoundException($"pw.x output '{p}' does not exist.", p);
            }
        }

        UsageException.CheckOutput(output, inputs, "-o");
        if (append)
        {
            ExtXyz.CheckAppendable(output); // before reading the outputs, not after
        }

        var frames = new List<Structure>();
        int skippedCount = 0, filesWithProblems = 0;
        foreach (var path in inputs)
        {
            cancellationToken.ThrowIfCancellationRequested();
            List<Structure> got;
            if (tolerant)
            {
                var r = PwOutput.ReadTolerant(path);
                got = r.Frames.ToList();
                if (!r.IsComplete)
                {
                    filesWithProblems++;
                    foreach (var s in r.Skipped)
                    {
                        skippedCount++;
                        stderr.WriteLine($"gpff convert: skipped: {s.Message}");
                    }
                }
            }
            else
            {
                got = PwOutput.ReadAll(path).ToList();
                if (got.Count == 0)
                {
                    throw new InvalidDataException($"{path}: no ionic step with a total energy; is this a pw.x scf/relax/md output?");
                }
            }

            if (last && got.Count > 0)
            {
                got = [got[^1]];
            }

            frames.AddRange(got);
        }

        // Atomic (a temporary file renamed into place) and gzip-compressed when OUTPUT ends in .gz.
        ExtXyz.Write(output, frames, append);

        string summary = $"wrote {frames.Count} frame{(frames.Count == 1 ? "" : "s")} ({frames.Sum(f => f.AtomCount)} atoms) from {inputs.Count} output{(inputs.Count == 1 ? "" : "s")} to {output}";
        if (tolerant && skippedCount > 0)
        {
            summary += $"; skipped {skippedCount} step{(skippedCount == 1 ? "" : "s")} in {filesWithProblems} output{(filesWithProblems == 1 ? "" : "s")} (see above)";
        }

        stdout.WriteLine(summary);
        return 0;
    }
}
