using Gpff.Descriptors;

namespace Gpff.Kernels.Tests;

/// <summary>
/// The B2 kernel's Jacobian-free path for local-energy columns (the sparse GP's K_nu, k*u and K_uu) against the
/// label-Jacobian path it replaced there, at both SIMD widths, for every row kind, powers ζ 1–3 and two
/// descriptor sizes (one with l_max 5, whose 11 m values split into register tiles of 4, 4 and 3).
/// </summary>
public class B2LocalEnergyPathTests
{
    private static readonly B2Settings Small = new([8, 45, 56], 4, 3, 3.6);
    private static readonly B2Settings Wide = new([8, 45, 56], 3, 5, 3.3);

    public static TheoryData<string, int, bool> Cases()
    {
        var data = new TheoryData<string, int, bool>();
        foreach (string name in KernelPathCases.Names)
        {
            foreach (int power in new[] { 1, 2, 3 })
            {
                data.Add(name, power, power == 2);
            }
        }

        return data;
    }

    private static LabelSelection[] RowSelections(int atoms) =>
    [
        TestData.Everything(atoms),
        new() { Energy = true, ForceAtoms = Enumerable.Range(0, atoms).ToArray(), Stress = true },
        LabelSelection.Forces(1, atoms - 1),
        new() { Stress = true },
        LabelSelection.TotalEnergy,
        LabelSelection.LocalEnergies(Enumerable.Range(0, atoms).Reverse().ToArray()),
    ];

    [Theory]
    [MemberData(nameof(Cases))]
    public void ContractionEqualsTheJacobianPathAtBothWidths(string name, int power, bool wideDescriptor)
    {
        var kernel = new B2Kernel(wideDescriptor ? Wide : Small, 1.7, power);
        var (a, b) = KernelPathCases.Pair(name, 71);
        var ea = kernel.Describe(a);
        var eb = kernel.Describe(b);

        // Columns: every local energy of b, and an inducing-style set of environments from both structures.
        var clusterEnvs = Enumerable.Range(0, eb.AtomCount).Where(i => i % 2 == 0).Select(i => eb[i])
            .Concat(Enumerable.Range(0, ea.AtomCount).Where(i => i % 3 == 1).Select(i => ea[i])).ToArray();
        var cluster = StructureEnvironments.FromEnvironments(clusterEnvs, kernel.Descriptor);
        var columnSets = new (StructureEnvironments Env, LabelSelection Sel)[]
        {
            (eb, LabelSelection.LocalEnergies(Enumerable.Range(0, eb.AtomCount).ToArray())),
            (cluster, LabelSelection.LocalEnergies(Enumerable.Range(0, cluster.AtomCount).ToArray())),
        };

        // Rows: the labels of a, and the inducing-style set itself (K_uu: its neighbours' atom indices are other structures').
        var rowSets = RowSelections(a.AtomCount).Select(r => (Env: ea, Sel: r)).Append(columnSets[1]);
        double largest = 0;
        foreach (var (rowEnv, rows) in rowSets)
        {
            foreach (var (env, cols) in columnSets)
            {
                int size = rows.Count * cols.Count;
                var reference = new double[size];
                kernel.JacobianCovariance(rowEnv, rows, env, cols, reference);
                double scale = reference.Max(Math.Abs);
                largest = Math.Max(largest, scale);
                foreach (bool wide in new[] { false, true })
                {
                    var fast = new double[size];
                    kernel.LocalEnergyColumns(rowEnv, rows, env, cols, fast, wide);
                    for (int i = 0; i < size; i++)
                    {
                        Assert.True(Math.Abs(fast[i] - reference[i]) <= 1e-10 * scale,
                            $"{name} ζ {power} rows {rows.Count} (energy {rows.Energy}, forces {rows.ForceAtoms.Length}, stress {rows.Stress}) × {cols.Count} columns, " +
                            $"{(wide ? "Vector512" : "Vector256")}: element {i / cols.Count},{i % cols.Count} is {fast[i]}, the Jacobian path gives {reference[i]}");
                    }
                }
            }
        }

        Assert.True(largest > 0, "the blocks compared must not all be zero");
    }

    [Fact]
    public void CovarianceTakesTheContractionWithItsSigmaDerivative()
    {
        var kernel = new B2Kernel(Small, 1.7);
        var (a, b) = KernelPathCases.Pair("ternary-ternary", 81);
        var ea = kernel.Describe(a);
        var eb = kernel.Describe(b);
        var rows = TestData.Everything(a.AtomCount);
        var cols = LabelSelection.LocalEnergies(Enumerable.Range(0, eb.AtomCount).ToArray());
        int size = rows.Count * cols.Count;
        var values = new double[size];
        var gradients = new double[size];
        kernel.Covariance(ea, rows, eb, cols, values, gradients);
        var reference = new double[size];
        kernel.JacobianCovariance(ea, rows, eb, cols, reference);
        double scale = reference.Max(Math.Abs);

        // ∂K/∂σ by central differences of the public block.
        const double h = 1e-5;
        var up = new double[size];
        var down = new double[size];
        kernel.WithHyperparameters([1.7 + h]).Covariance(ea, rows, eb, cols, up, []);
        kernel.WithHyperparameters([1.7 - h]).Covariance(ea, rows, eb, cols, down, []);
        for (int i = 0; i < size; i++)
        {
            Assert.True(Math.Abs(values[i] - reference[i]) <= 1e-10 * scale, $"element {i}: {values[i]} against {reference[i]}");
            double fd = (up[i] - down[i]) / (2 * h);
            Assert.True(Math.Abs(fd - gradients[i]) <= 1e-7 * (Math.Abs(fd) + scale), $"∂/∂σ of element {i}: {gradients[i]} against {fd} by differences");
        }
    }
}
