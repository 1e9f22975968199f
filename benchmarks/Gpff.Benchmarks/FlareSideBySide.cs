using System.Diagnostics;
using System.Globalization;
using Gpff.IO;
using Gpff.Regression;

namespace Gpff.Benchmarks;

/// <summary>
/// Gpff's half of the FLARE 1.x comparison (benchmarks/flare/compare_flare.py does FLARE's): the same
/// cells, kernel, hyperparameters and steps, one thread, each step timed by wall clock and by the CPU time
/// of the process (what one core alone would take: the figure to compare on a machine shared with other
/// work), after one untimed warm-up of every step on one cell (JIT). Prints the predicted forces and
/// standard deviations of the first atoms of the test cell, which must equal FLARE's to round-off.
/// Run: OPENBLAS_NUM_THREADS=1 dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- --flare-side-by-side DIR [cells [repeats]] [--predict-only]
/// (DIR written by <c>--write-mgo</c>).
/// </summary>
public static class FlareSideBySide
{
    /// <summary>Runs the comparison steps and prints one line per step.</summary>
    /// <param name="folder">The folder of <see cref="MgOData.Write"/>.</param>
    /// <param name="cells">Training cells (96 force labels each).</param>
    /// <param name="repeats">Runs of each step; the least times are printed.</param>
    /// <param name="predictOnly">Only the predictions (for the cost versus the training-set size).</param>
    public static void Run(string folder, int cells, int repeats, bool predictOnly = false)
    {
        var train = ExtXyz.Read(Path.Combine(folder, "mgo-train-20.extxyz")).Take(cells).ToList();
        var test = ExtXyz.Read(Path.Combine(folder, "mgo-test.extxyz")).First().CloneWithoutLabels();
        var process = Process.GetCurrentProcess();

        // Each step runs `repeats` times; the least wall and CPU time are printed (a shared machine only adds time).
        T Timed<T>(string label, Func<T> step)
        {
            T result = default!;
            double bestWall = double.PositiveInfinity, bestCpu = double.PositiveInfinity;
            for (int r = 0; r < repeats; r++)
            {
                process.Refresh();
                var cpu = process.TotalProcessorTime;
                var wall = Stopwatch.StartNew();
                result = step();
                bestWall = Math.Min(bestWall, wall.Elapsed.TotalSeconds);
                process.Refresh();
                bestCpu = Math.Min(bestCpu, (process.TotalProcessorTime - cpu).TotalSeconds);
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{label,-52} wall {bestWall,9:F3} s   cpu {bestCpu,9:F3} s"));
            return result;
        }

        GaussianProcess Build(IEnumerable<Structure> frames, LabelKinds kinds = LabelKinds.Forces)
        {
            var gp = new GaussianProcess(MgOData.Kernel(), MgOData.Noise, new GaussianProcessOptions { MaxDegreeOfParallelism = 1 });
            foreach (var f in frames)
            {
                gp.Add(f, kinds);
            }

            return gp;
        }

        var properties = CalculatorProperties.Forces | CalculatorProperties.Uncertainty;
        var warm = Build(train.Take(1));   // JIT warm-up of every step, not timed
        warm.Train();
        warm.LogMarginalLikelihood(gradient: true);
        warm.Calculate(test, properties);

        var gp = Build(train);
        Console.WriteLine($"Gpff, {cells} cells of {train[0].AtomCount} atoms: {gp.LabelCount} force labels; test cell of {test.AtomCount} atoms; {Regression.LinearAlgebra.LinearAlgebraBackend.Description}");
        Timed($"K + Cholesky + alpha ({gp.LabelCount} labels)", () => { gp.Train(); return 0; });
        if (!predictOnly)
        {
            Timed($"-log likelihood + gradient ({gp.LabelCount} labels)", () => gp.LogMarginalLikelihood(gradient: true));
        }

        var result = Timed($"forces + std of the {test.AtomCount}-atom test cell", () => gp.Calculate(test, properties));
        Timed($"forces alone of the {test.AtomCount}-atom test cell", () => gp.Calculate(test, CalculatorProperties.Forces));
        Timed($"energy+forces+stress + std of the test cell", () => gp.Calculate(test, CalculatorProperties.Energy | CalculatorProperties.Forces | CalculatorProperties.Stress | CalculatorProperties.Uncertainty));
        if (!predictOnly)
        {
            var general = Build(train, LabelKinds.All);   // energy + forces + stress: the general path (Gpff only)
            Timed($"K + Cholesky + alpha, E+F+S ({general.LabelCount} labels)", () => { general.Train(); return 0; });
            Timed($"-log likelihood + gradient, E+F+S ({general.LabelCount} labels)", () => general.LogMarginalLikelihood(gradient: true));
        }

        Console.WriteLine("forces (eV/A), first 3 atoms:");
        for (int i = 0; i < 3; i++)
        {
            var f = result.ForcesEvPerA![i];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {f.X,16:F10} {f.Y,16:F10} {f.Z,16:F10}"));
        }

        Console.WriteLine("std (eV/A), first 3 atoms:");
        for (int i = 0; i < 3; i++)
        {
            var s = result.ForcesStdEvPerA![i];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {s.X,16:F10} {s.Y,16:F10} {s.Z,16:F10}"));
        }
    }
}
