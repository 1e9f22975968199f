using System.Globalization;
using System.Reflection;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Gpff.Regression;

namespace Gpff.Benchmarks;

/// <summary>
/// The entry point of the benchmarks: BenchmarkDotNet's switcher (every argument passed on), or with
/// <c>--ci</c> the smoke run of <c>.ci/run</c>: every benchmark of the assembly once (BenchmarkDotNet's
/// dry job: one cold invocation, no pilot, no warm-up), in process (no generated project to build), on
/// tiny sizes (<see cref="BenchmarkSizes.IsCi"/>), so that none can rot; the exit code is 1 when any
/// benchmark case failed (an exception in a setup, a benchmark or a clean-up, a validation error) or when
/// none ran, which BenchmarkDotNet itself does not do. Timings are printed, never asserted.
/// <c>--ci-canary</c> runs the deliberately failing <see cref="CiCanaryBenchmarks"/> the same way, so
/// that CI can check that a failure is detected. <c>--write-mgo DIR</c> writes the cells of the FLARE
/// comparison (<see cref="MgOData"/>) as extended XYZ; <c>--train-profile DATA [forces|all]</c> times the
/// steps of <c>gpff train</c> (<see cref="TrainProfile"/>); <c>--general-path-profile [cells [repeats [kernel]]]</c> times the
/// general covariance path against the forces-only one on a shared machine (<see cref="GeneralPathProfile"/>); <c>--flare-side-by-side DIR [cells [repeats]] [--predict-only]</c> is Gpff's
/// half of the FLARE comparison (<see cref="FlareSideBySide"/>).
/// </summary>
public static class BenchmarkProgram
{
    /// <summary>Runs the benchmarks as the arguments say.</summary>
    /// <param name="args">Command-line arguments.</param>
    /// <returns>The process exit code.</returns>
    public static int Run(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        int write = Array.IndexOf(args, "--write-mgo");
        if (write >= 0)
        {
            // The data of the FLARE comparison (benchmarks/flare), as extended XYZ.
            MgOData.Write(write + 1 < args.Length ? args[write + 1] : throw new ArgumentException("--write-mgo needs a folder."));
            return 0;
        }

        int flare = Array.IndexOf(args, "--flare-side-by-side");
        if (flare >= 0)
        {
            // Gpff's half of benchmarks/flare/compare_flare.py.
            string data = flare + 1 < args.Length ? args[flare + 1] : throw new ArgumentException("--flare-side-by-side needs the folder of --write-mgo.");
            FlareSideBySide.Run(data, flare + 2 < args.Length ? int.Parse(args[flare + 2], CultureInfo.InvariantCulture) : 5,
                flare + 3 < args.Length && args[flare + 3] != "--predict-only" ? int.Parse(args[flare + 3], CultureInfo.InvariantCulture) : 3,
                args.Contains("--predict-only"));
            return 0;
        }

        int profile = Array.IndexOf(args, "--train-profile");
        if (profile >= 0)
        {
            // Where the time of `gpff train` goes, step by step (TrainProfile).
            string data = profile + 1 < args.Length ? args[profile + 1] : throw new ArgumentException("--train-profile needs an extended XYZ file.");
            TrainProfile.Run(data, profile + 2 < args.Length && args[profile + 2] == "all" ? LabelKinds.All : LabelKinds.Forces);
            return 0;
        }

        int general = Array.IndexOf(args, "--general-path-profile");
        if (general >= 0)
        {
            // The general path against the forces-only one, least CPU time of interleaved runs (GeneralPathProfile).
            GeneralPathProfile.Run(general + 1 < args.Length ? int.Parse(args[general + 1], CultureInfo.InvariantCulture) : 2,
                general + 2 < args.Length ? int.Parse(args[general + 2], CultureInfo.InvariantCulture) : 15,
                general + 3 < args.Length ? args[general + 3] : null);
            return 0;
        }

        bool ci = args.Contains("--ci"), canary = args.Contains("--ci-canary");
        if (!ci && !canary)
        {
            // The canary is not a benchmark: it is left out of ordinary runs.
            BenchmarkSwitcher.FromTypes(BenchmarkTypes(includeCanary: false).ToArray()).Run(args);
            return 0;
        }

        BenchmarkSizes.EnableCi();
        var types = canary ? [typeof(CiCanaryBenchmarks)] : BenchmarkTypes(includeCanary: false).ToArray();
        string artifacts = Path.Combine(Path.GetTempPath(), $"gpff-bench-ci-{Environment.ProcessId}");
        var config = DefaultConfig.Instance
            .AddJob(Job.Dry.WithToolchain(InProcessEmitToolchain.Instance).AsMutator())
            .WithArtifactsPath(artifacts);
        var started = System.Diagnostics.Stopwatch.StartNew();
        Summary[] summaries;
        try
        {
            summaries = BenchmarkRunner.Run(types, config);
        }
        finally
        {
            TryDelete(artifacts);
        }

        var failures = Failures(summaries, out int cases);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"benchmarks --ci: {cases} benchmark cases of {types.Length} classes in {started.Elapsed.TotalSeconds:F0} s; {failures.Count} failed"));
        foreach (var f in failures)
        {
            Console.WriteLine("  failed: " + f);
        }

        return failures.Count == 0 && cases > 0 ? 0 : 1;
    }

    /// <summary>Every public class of this assembly with a [Benchmark] method; the canary only when asked.</summary>
    /// <param name="includeCanary">Whether to include <see cref="CiCanaryBenchmarks"/>.</param>
    public static IEnumerable<Type> BenchmarkTypes(bool includeCanary) =>
        typeof(BenchmarkProgram).Assembly.GetExportedTypes()
            .Where(t => t.IsClass && !t.IsAbstract && t.GetMethods().Any(m => m.GetCustomAttribute<BenchmarkAttribute>() is not null))
            .Where(t => includeCanary || t != typeof(CiCanaryBenchmarks))
            .OrderBy(t => t.Name, StringComparer.Ordinal);

    /// <summary>
    /// What failed in a set of summaries: critical validation errors, and every benchmark case whose
    /// report is missing, did not build, or has an unsuccessful or measurement-less execution.
    /// </summary>
    /// <param name="summaries">The summaries of a run.</param>
    /// <param name="cases">The number of benchmark cases found.</param>
    /// <returns>One line per failure.</returns>
    public static List<string> Failures(IEnumerable<Summary> summaries, out int cases)
    {
        ArgumentNullException.ThrowIfNull(summaries);
        var failures = new List<string>();
        cases = 0;
        foreach (var summary in summaries)
        {
            foreach (var error in summary.ValidationErrors.Where(e => e.IsCritical))
            {
                failures.Add($"{summary.Title}: validation: {error.Message}");
            }

            foreach (var benchmarkCase in summary.BenchmarksCases)
            {
                cases++;
                var report = summary[benchmarkCase];
                string name = benchmarkCase.DisplayInfo;
                if (report is null)
                {
                    failures.Add($"{name}: no report");
                }
                else if (!report.BuildResult.IsBuildSuccess)
                {
                    failures.Add($"{name}: build failed: {report.BuildResult.ErrorMessage}");
                }
                else if (report.ExecuteResults.Count == 0 || report.ExecuteResults.Any(r => !r.IsSuccess) || !report.AllMeasurements.Any())
                {
                    var errors = report.ExecuteResults.SelectMany(r => r.Errors).Take(3);
                    failures.Add($"{name}: did not run to the end ({string.Join(" | ", errors)})");
                }
            }
        }

        return failures;
    }

    private static void TryDelete(string folder)
    {
        try
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
        catch (IOException)
        {
            // A left-over temporary folder is harmless.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

/// <summary>
/// Problem sizes of the benchmarks: the full ones, or with <c>--ci</c> (<see cref="EnableCi"/>) tiny ones,
/// set through the environment variables the GP benchmarks read (unless already set) and through
/// <see cref="Pick{T}"/> for the others.
/// </summary>
public static class BenchmarkSizes
{
    private const string CiVariable = "GPFF_BENCH_CI";

    /// <summary>The tiny sizes of the CI run, per environment variable.</summary>
    private static readonly (string Variable, string Value)[] CiDefaults =
    [
        ("GPFF_BENCH_GP_LABELS", "192"),
        ("GPFF_BENCH_GP_PREDICT_LABELS", "192"),
        ("GPFF_BENCH_GP_BACKEND_LABELS", "192"),
        ("GPFF_BENCH_MD_CELLS", "1"),
        ("GPFF_BENCH_LINALG_N", "200"),
        ("GPFF_BENCH_MGO_CELLS", "1"),
        ("GPFF_BENCH_MGO_PREDICT_CELLS", "1"),
        ("GPFF_BENCH_GENERAL_CELLS", "1"),
        ("GPFF_BENCH_MGP_LABELS", "48"),
        ("GPFF_BENCH_MGP_VAR_LABELS", "48"),
    ];

    /// <summary>Whether this is the CI smoke run (tiny sizes).</summary>
    public static bool IsCi => Environment.GetEnvironmentVariable(CiVariable) == "1";

    /// <summary>Switches to the tiny sizes for this process (and any benchmark process it starts).</summary>
    public static void EnableCi()
    {
        Environment.SetEnvironmentVariable(CiVariable, "1");
        foreach (var (variable, value) in CiDefaults)
        {
            if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(variable)))
            {
                Environment.SetEnvironmentVariable(variable, value);
            }
        }
    }

    /// <summary>The full sizes, or the CI ones in the CI run.</summary>
    /// <typeparam name="T">Parameter type.</typeparam>
    /// <param name="full">Sizes of an ordinary run.</param>
    /// <param name="ci">Sizes of the CI run.</param>
    public static IEnumerable<T> Pick<T>(T[] full, T[] ci) => IsCi ? ci : full;
}

/// <summary>
/// Deliberately failing benchmarks (not run by ordinary runs nor by <c>--ci</c>): <c>--ci-canary</c>
/// runs them so that CI checks that a benchmark throwing in its setup or in its body makes the run fail.
/// </summary>
public class CiCanaryBenchmarks
{
    /// <summary>Which part throws.</summary>
    [Params("setup", "benchmark")]
    public string Throws { get; set; } = "";

    /// <summary>Throws when <see cref="Throws"/> is "setup".</summary>
    [GlobalSetup]
    public void Setup()
    {
        if (Throws == "setup")
        {
            throw new InvalidOperationException("canary: the global setup throws");
        }
    }

    /// <summary>Throws when <see cref="Throws"/> is "benchmark".</summary>
    [Benchmark]
    public int Fails() => Throws == "benchmark" ? throw new InvalidOperationException("canary: the benchmark throws") : 1;
}
