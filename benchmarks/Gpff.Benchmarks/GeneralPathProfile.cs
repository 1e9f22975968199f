using System.Diagnostics;
using System.Globalization;
using Gpff.Descriptors;
using Gpff.Kernels;

namespace Gpff.Benchmarks;

/// <summary>
/// <see cref="GeneralPathBenchmarks"/> and <see cref="GeneralBlockBenchmarks"/> for a machine shared with other
/// work: every case (the symmetric K of the Mg–O cells with forces-only and with energy + forces + stress labels,
/// without and with hyperparameter derivatives; the environment-pair blocks by the forces-only pass, by the
/// former and current general passes and in the summed form the structure covariances take) runs <c>repeats</c> times, interleaved, one thread, and the least CPU time
/// of the process is kept (what one core alone would take). Prints per kernel the times, the per-label ratio
/// general / forces-only, and (2-body, 3-body) the block speed-up of the current general pass over the former one.
/// Run: dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- --general-path-profile [cells [repeats [kernel]]]
/// (kernel "2", "3" or "2+3": that kernel alone; all three by default).
/// </summary>
public static class GeneralPathProfile
{
    /// <summary>Runs the profile and prints one line per kernel and gradient setting.</summary>
    /// <param name="cells">Training cells of the K (32 atoms each); the blocks use the first two.</param>
    /// <param name="repeats">Interleaved repetitions of every case.</param>
    /// <param name="only">"2", "3" or "2+3": profile that kernel alone; null: all three.</param>
    public static void Run(int cells, int repeats, string? only = null)
    {
        var process = Process.GetCurrentProcess();
        double Cpu()
        {
            process.Refresh();
            return process.TotalProcessorTime.TotalMilliseconds;
        }

        var sum = MgOData.Kernel();
        var structures = MgOData.TrainingCells(Math.Max(cells, 2));
        int forcesPerCell = 3 * MgOData.Atoms, allPerCell = 1 + forcesPerCell + 6;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"// {cells} cells: {cells * forcesPerCell} force labels, {cells * allPerCell} energy + force + stress labels; least CPU time of {repeats} interleaved runs, one thread"));
        var kernels = new (string, LocalKernel)[] { ("2-body", sum.Parts[0]), ("3-body", sum.Parts[1]), ("2+3-body", sum) };
        if (only is not null && !kernels.Any(k => k.Item1 == only + "-body"))
        {
            throw new ArgumentException($"--general-path-profile: unknown kernel '{only}'; use 2, 3 or 2+3.");
        }

        foreach (var (name, kernel) in kernels.Where(k => only is null || k.Item1 == only + "-body"))
        {
            var envs = structures.Select(kernel.Describe).ToArray();
            var forces = envs.Take(cells).Select(e => new LabelBlock(e, LabelSelection.Forces(Enumerable.Range(0, e.AtomCount).ToArray()))).ToList();
            var all = envs.Take(cells).Select(e => new LabelBlock(e, LabelSelection.All(e.AtomCount))).ToList();
            var cases = new List<(string Name, Action Run)>();
            foreach (bool grad in new[] { false, true })
            {
                foreach (var (labels, blocks) in new[] { ("F", forces), ("EFS", all) })
                {
                    int n = CovarianceAssembly.LabelCount(blocks);
                    var values = new double[n * n];
                    var gradients = grad ? new double[kernel.HyperparameterCount * n * n] : null;
                    cases.Add(($"{labels}{grad}", () => CovarianceAssembly.AssembleSymmetric(kernel, blocks, values, gradients, new AssemblyOptions { MaxDegreeOfParallelism = 1 })));
                }

                if (kernel is NBodyKernel nbody)
                {
                    cases.AddRange(BlockCases(nbody, envs[0], envs[1], grad));
                }
            }

            var best = new double[cases.Count];
            Array.Fill(best, double.PositiveInfinity);
            for (int r = 0; r < repeats; r++)
            {
                for (int c = 0; c < cases.Count; c++)
                {
                    double t0 = Cpu();
                    cases[c].Run();
                    best[c] = Math.Min(best[c], Cpu() - t0);
                }
            }

            var t = cases.Select((c, i) => (c.Name, best[i])).ToDictionary(x => x.Name, x => x.Item2);
            foreach (bool grad in new[] { false, true })
            {
                double f = t[$"F{grad}"], a = t[$"EFS{grad}"];
                double ratio = a / (cells * allPerCell) / (f / (cells * forcesPerCell));
                string line = string.Create(CultureInfo.InvariantCulture,
                    $"{name,-9} {(grad ? "with gradients" : "values only"),-15} K: forces {f,8:F1} ms, E+F+S {a,8:F1} ms, per label {ratio:F2}x");
                if (kernel is NBodyKernel)
                {
                    double fo = t[$"blockF{grad}"], after = t[$"blockAfter{grad}"];
                    double once = t[$"blockOnce{grad}"];
                    line += string.Create(CultureInfo.InvariantCulture, $"; blocks: forces-only {fo:F1} ms, general {after:F1} ms ({after / fo:F2}x), summed {once:F1} ms ({once / fo:F2}x)");
                    if (t.TryGetValue($"blockBefore{grad}", out double before))
                    {
                        line += string.Create(CultureInfo.InvariantCulture, $", former general {before:F1} ms ({before / fo:F2}x), speed-up {before / after:F2}x");
                    }
                }

                Console.WriteLine(line);
            }
        }
    }

    private delegate void Block(AtomEnvironment x, AtomEnvironment y, Span<double> block, Span<double> gradients);

    /// <summary>Every environment pair of two cells by the forces-only, former general and current general passes.</summary>
    private static IEnumerable<(string, Action)> BlockCases(NBodyKernel kernel, StructureEnvironments a, StructureEnvironments b, bool grad)
    {
        Block? reference = kernel switch
        {
            TwoBodyKernel two => SimdSupport.Use512 ? two.GeneralReference<V512> : two.GeneralReference<V256>,
            ThreeBodyKernel three => SimdSupport.Use512 ? three.GeneralReference<V512> : three.GeneralReference<V256>,
            _ => null,
        };
        var block = new double[LocalKernel.EnvironmentBlockSize];
        var gradients = new double[(grad ? kernel.HyperparameterCount : 0) * LocalKernel.EnvironmentBlockSize];
        Action Pairs(Action<AtomEnvironment, AtomEnvironment> pair) => () =>
        {
            for (int c = 0; c < a.AtomCount; c++)
            {
                for (int d = 0; d < b.AtomCount; d++)
                {
                    Array.Clear(block);
                    Array.Clear(gradients);
                    pair(a[c], b[d]);
                }
            }
        };

        yield return ($"blockF{grad}", Pairs((x, y) =>
        {
            if (grad)
            {
                kernel.ForceCovarianceWithGradients(x, y, block, gradients);
            }
            else
            {
                kernel.ForceCovariance(x, y, block);
            }
        }));
        if (reference is not null)
        {
            yield return ($"blockBefore{grad}", Pairs((x, y) => reference(x, y, block, gradients)));
        }

        yield return ($"blockAfter{grad}", Pairs((x, y) => kernel.EnvironmentCovariance(x, y, block, gradients)));
        yield return ($"blockOnce{grad}", Pairs((x, y) => kernel.SummedEnvironmentCovariance(x, y, block, gradients, energyAndStressOnly: false)));
    }
}
