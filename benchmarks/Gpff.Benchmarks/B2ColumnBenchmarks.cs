using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Attributes;
using Gpff.Descriptors;
using Gpff.Kernels;
using Gpff.Regression;

namespace Gpff.Benchmarks;

/// <summary>
/// The B2 kernel's local-energy column path alone (the sparse GP's K_nu, issue 14): every label (energy, forces,
/// stress) of streamed Ba–Rh–O training copies (<see cref="ScaleData"/>, the B2 of FLARE++'s measured run) against
/// inducing environments chosen at random from later copies, in column blocks of
/// <see cref="SparseGaussianProcessOptions.DefaultManyBodyInducingPerBlock"/> as the sparse GP assembles them, one
/// thread. µs per (atom × inducing point) = Mean / (atoms · M). The by-hand run <c>b2-columns</c>
/// (<see cref="RunOnce"/>) prints CPU time, the least of interleaved repeats.
/// Run: dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- --filter '*B2Column*'
/// </summary>
[Config(typeof(SparseBenchmarkConfig))]
public class B2ColumnBenchmarks
{
    private ColumnData _data = null!;

    /// <summary>Inducing environments M.</summary>
    [ParamsSource(nameof(MValues))]
    public int M { get; set; }

    /// <summary>Values of <see cref="M"/>.</summary>
    public static IEnumerable<int> MValues => BenchmarkSizes.Pick([512], [16]);

    /// <summary>Builds the training environments (their row data cached by a first pass) and the inducing blocks.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _data = ColumnData.Create(BenchmarkSizes.IsCi ? 1 : 8, M, BenchmarkSizes.IsCi ? 4 : 200);
        _data.Run();
    }

    /// <summary>K_nu of the training structures, every label against every inducing local energy.</summary>
    [Benchmark]
    public double Columns() => _data.Run();

    /// <summary>
    /// <c>b2-columns [STRUCTURES] [M] [REPEATS]</c>: K_nu of STRUCTURES training copies (default 12) against M inducing
    /// environments (default 2000, from the next 2,000 copies), CPU time per (atom × inducing point), least of REPEATS
    /// (default 5), with the statistics that set its cost (same-species share, neighbours per environment).
    /// </summary>
    /// <param name="args">The arguments.</param>
    public static void RunOnce(string[] args)
    {
        var ci = CultureInfo.InvariantCulture;
        int structures = args.Length > 0 ? int.Parse(args[0], ci) : 12;
        int m = args.Length > 1 ? int.Parse(args[1], ci) : 2000;
        int repeats = args.Length > 2 ? int.Parse(args[2], ci) : 5;
        var data = ColumnData.Create(structures, m, 2000);
        Console.WriteLine(data.Describe());
        data.Run();
        double best = double.MaxValue;
        using var self = Process.GetCurrentProcess();
        for (int r = 0; r < repeats; r++)
        {
            self.Refresh();
            var cpu0 = self.TotalProcessorTime;
            data.Run();
            self.Refresh();
            double cpu = (self.TotalProcessorTime - cpu0).TotalSeconds;
            double perPair = cpu * 1e6 / (data.Atoms * (double)data.M);
            best = Math.Min(best, perPair);
            Console.WriteLine(string.Create(ci, $"b2-columns repeat {r}: {cpu:F3} s CPU, {perPair:F3} CPU µs per (atom × inducing point)"));
        }

        Console.WriteLine(string.Create(ci, $"b2-columns least: {best:F3} CPU µs per (atom × inducing point)"));
    }

    /// <summary>The training structures, their labels and the inducing blocks.</summary>
    private sealed class ColumnData
    {
        private readonly B2Kernel _kernel;
        private readonly (StructureEnvironments Env, LabelSelection Labels)[] _rows;
        private readonly (StructureEnvironments Env, LabelSelection Labels)[] _blocks;
        private double[] _out = [];

        private ColumnData(B2Kernel kernel, (StructureEnvironments, LabelSelection)[] rows, (StructureEnvironments, LabelSelection)[] blocks, int m)
        {
            _kernel = kernel;
            _rows = rows;
            _blocks = blocks;
            M = m;
            Atoms = rows.Sum(r => r.Item1.AtomCount);
        }

        public int M { get; }

        public int Atoms { get; }

        public static ColumnData Create(int structures, int m, int pool)
        {
            var kernel = new B2Kernel(ScaleData.B2, 2.0);
            var stream = ScaleData.Stream(int.MaxValue);
            var rows = stream.Take(structures).Select(s => (kernel.Describe(s), LabelSelection.All(s.AtomCount, stress: true))).ToArray();
            var clusters = InducingSelection.Random(stream.Skip(structures).Take(pool), kernel.CutoffA, m, seed: 0);
            var envs = clusters.Select(c => c.Describe(kernel.Descriptor)).ToArray();
            int per = SparseGaussianProcessOptions.DefaultManyBodyInducingPerBlock;
            var blocks = new List<(StructureEnvironments, LabelSelection)>();
            for (int start = 0; start < envs.Length; start += per)
            {
                int count = Math.Min(per, envs.Length - start);
                blocks.Add((StructureEnvironments.FromEnvironments(envs[start..(start + count)], kernel.Descriptor), LabelSelection.LocalEnergies(Enumerable.Range(0, count).ToArray())));
            }

            return new ColumnData(kernel, rows, [.. blocks], envs.Length);
        }

        /// <summary>One pass over every (structure, block) pair; returns a checksum.</summary>
        public double Run()
        {
            double sum = 0;
            foreach (var (env, labels) in _rows)
            {
                foreach (var (block, columns) in _blocks)
                {
                    int size = labels.Count * columns.Count;
                    if (_out.Length < size)
                    {
                        _out = new double[size];
                    }

                    var values = _out.AsSpan(0, size);
                    _kernel.Covariance(env, labels, block, columns, values, []);
                    sum += values[0];
                }
            }

            return sum;
        }

        public string Describe()
        {
            var inducingSpecies = _blocks.SelectMany(b => Enumerable.Range(0, b.Env.AtomCount).Select(i => b.Env[i].CentralSpecies)).GroupBy(z => z).ToDictionary(g => g.Key, g => g.Count());
            long same = 0, neighbours = 0, distinct = 0;
            foreach (var (env, _) in _rows)
            {
                for (int i = 0; i < env.AtomCount; i++)
                {
                    var e = env[i];
                    same += inducingSpecies.GetValueOrDefault(e.CentralSpecies);
                    neighbours += e.ManyBodyNeighbors.Length;
                    distinct += e.ManyBodyNeighbors.ToArray().Distinct().Count();
                }
            }

            return string.Create(CultureInfo.InvariantCulture,
                $"b2-columns: {_rows.Length} structures, {Atoms} atoms, {_rows.Sum(r => r.Labels.Count)} labels, M = {M}, D = {_kernel.Settings.Length}; same-species share {same / ((double)Atoms * M):F3}; neighbours per environment {neighbours / (double)Atoms:F1}, distinct neighbour atoms {distinct / (double)Atoms:F1}");
        }
    }
}
