using Gpff.Descriptors;

namespace Gpff.Kernels.Tests;

/// <summary>
/// The general covariance path (energy, force, virial and local-energy labels; issue 15) against the former one:
/// the 10 × 10 environment blocks and their hyperparameter derivatives of the 2-body and 3-body kernels, at both SIMD widths,
/// must equal those of the former per-pair pass (<c>GeneralReference</c>, which the finite-difference and FLARE
/// reference tests pinned), and <see cref="IKernel.Covariance"/> of the 2-body, 3-body and 2+3-body kernels must
/// equal the sums of the reference blocks over the environment pairs of two structures, scattered here label by label,
/// for every mix of row and column labels (energy, stress, all or some forces in any order, local energies),
/// without and with derivatives.
/// </summary>
public class GeneralPathTests
{
    private static readonly TwoBodyKernel Two = KernelPathCases.Two;
    private static readonly ThreeBodyKernel Three = KernelPathCases.Three;
    private static readonly SumKernel Sum = new(Two, Three);

    private delegate void Block(AtomEnvironment x, AtomEnvironment y, Span<double> block, Span<double> gradients);

    public static TheoryData<string> Cases => KernelPathCases.Names;

    private static (Structure A, Structure B) Pair(string name) => KernelPathCases.Pair(name, 131);

    [Theory]
    [MemberData(nameof(Cases))]
    public void EnvironmentBlocksAndGradientsEqualTheReferencePass(string name)
    {
        var (a, b) = Pair(name);
        foreach (var (kernel, wide, narrow, wideRef, narrowRef) in new (LocalKernel, Block, Block, Block, Block)[]
        {
            (Two, Two.General<V512>, Two.General<V256>, Two.GeneralReference<V512>, Two.GeneralReference<V256>),
            (Three, Three.General<V512>, Three.General<V256>, Three.GeneralReference<V512>, Three.GeneralReference<V256>),
        })
        {
            int nh = kernel.HyperparameterCount;
            var ea = kernel.Describe(a);
            var eb = kernel.Describe(b);
            double largest = 0, largestGradient = 0;
            for (int c = 0; c < ea.AtomCount; c++)
            {
                for (int d = 0; d < eb.AtomCount; d++)
                {
                    foreach (var (width, fast, reference) in new[] { ("Vector512", wide, wideRef), ("Vector256", narrow, narrowRef) })
                    {
                        var expected = new double[LocalKernel.EnvironmentBlockSize];
                        var expectedGrad = new double[nh * LocalKernel.EnvironmentBlockSize];
                        reference(ea[c], eb[d], expected, expectedGrad);
                        largest = Math.Max(largest, expected.Max(Math.Abs));
                        largestGradient = Math.Max(largestGradient, expectedGrad.Max(Math.Abs));
                        AssertEqualsReference(fast, ea[c], eb[d], expected, expectedGrad, kernel.HyperparameterNames, $"{name} {kernel.Name} {width} ({c},{d})");
                    }
                }
            }

            Assert.True(largest > 0 && largestGradient > 0, $"{name} {kernel.Name}: the blocks must not all be zero");
        }
    }

    /// <summary>
    /// Single-triplet environments of every species combination against each other: side-2 ranges of one triplet (a
    /// batch of one lane), permutations that move the central atom, and species pairs with no side-2 triplets (an
    /// all-zero block), at both SIMD widths, without and with derivatives.
    /// </summary>
    [Fact]
    public void SingleTripletBlocksEqualTheReferencePass()
    {
        var settings = Three.Descriptor;
        int[] species = [8, 45];
        var envs = new List<AtomEnvironment>();
        foreach (int c in species)
        {
            envs.Add(AtomEnvironment.SingleTriplet(c, 8, 8, 1.9, 2.4, 2.7, settings));
            envs.Add(AtomEnvironment.SingleTriplet(c, 8, 45, 2.1, 2.2, 2.9, settings));
            envs.Add(AtomEnvironment.SingleTriplet(c, 45, 45, 2.3, 2.0, 2.5, settings));
        }

        int nh = Three.HyperparameterCount, zero = 0, nonzero = 0;
        foreach (var x in envs)
        {
            foreach (var y in envs)
            {
                foreach (var (width, fast, reference) in new (string, Block, Block)[] { ("Vector512", Three.General<V512>, Three.GeneralReference<V512>), ("Vector256", Three.General<V256>, Three.GeneralReference<V256>) })
                {
                    var expected = new double[LocalKernel.EnvironmentBlockSize];
                    var expectedGrad = new double[nh * LocalKernel.EnvironmentBlockSize];
                    reference(x, y, expected, expectedGrad);
                    if (expected.Max(Math.Abs) == 0)
                    {
                        zero++;
                    }
                    else
                    {
                        nonzero++;
                    }

                    string what = $"{width} ({x.CentralSpecies}; {x.TripletSpecies1[0]}, {x.TripletSpecies2[0]}) × ({y.CentralSpecies}; {y.TripletSpecies1[0]}, {y.TripletSpecies2[0]})";
                    AssertEqualsReference(fast, x, y, expected, expectedGrad, Three.HyperparameterNames, what);
                }
            }
        }

        Assert.True(zero > 0 && nonzero > 0, $"the species combinations must give both matching and non-matching pairs ({nonzero} and {zero})");
    }

    /// <summary>
    /// The summed blocks of the 2-body kernel (pair once) and the 3-body kernel (triangle once), what
    /// <see cref="IKernel.Covariance"/> sums for energy, force and stress labels of whole structures, at both SIMD
    /// widths, with derivatives: per environment pair their force–force entries equal the reference block's; summed
    /// over the column structure, their force-row × energy/virial-column entries; summed over the row structure,
    /// their energy/virial-row × force-column entries; summed over both, their energy/virial entries, also in the
    /// energy-and-stress-only form. Per pair the energy entries differ (each pair or triangle is taken once, in the
    /// environment of its first vertex).
    /// </summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void SummedBlocksGiveTheStructureSumsOfTheReferenceBlocks(string name)
    {
        const int n = LocalKernel.EnvironmentLabelCount, bs = LocalKernel.EnvironmentBlockSize;
        int[] energyVirial = [0, 4, 5, 6, 7, 8, 9], force = [1, 2, 3];
        var (sa, sb) = Pair(name);
        foreach (var (kernel, widths) in new (LocalKernel, (string, Summed)[])[]
        {
            (Two, [("Vector512", (x, y, bl, g, only) => Two.General<V512>(x, y, bl, g, summed: true)), ("Vector256", (x, y, bl, g, only) => Two.General<V256>(x, y, bl, g, summed: true))]),
            (Three, [
                ("Vector512", (x, y, bl, g, only) => Three.General<V512>(x, y, bl, g, only ? ThreeBodyKernel.Form.EnergyStressOnce : ThreeBodyKernel.Form.TriangleOnce)),
                ("Vector256", (x, y, bl, g, only) => Three.General<V256>(x, y, bl, g, only ? ThreeBodyKernel.Form.EnergyStressOnce : ThreeBodyKernel.Form.TriangleOnce))]),
        })
        {
            var a = kernel.Describe(sa);
            var b = kernel.Describe(sb);
            int nh = kernel.HyperparameterCount, na = a.AtomCount, nb = b.AtomCount;
            var reference = new double[na, nb][];
            for (int c = 0; c < na; c++)
            {
                for (int d = 0; d < nb; d++)
                {
                    reference[c, d] = new double[(1 + nh) * bs];
                    ReferenceBlock(kernel, a[c], b[d], reference[c, d].AsSpan(0, bs), reference[c, d].AsSpan(bs));
                }
            }

            double scale = reference.Cast<double[]>().Max(r => r.Max(Math.Abs));
            foreach (var (width, summed) in widths)
            {
                var once = new double[na, nb][];
                var energyStressOnly = new double[na, nb][];
                int differ = 0;
                for (int c = 0; c < na; c++)
                {
                    for (int d = 0; d < nb; d++)
                    {
                        once[c, d] = Run(summed, a[c], b[d], false);
                        energyStressOnly[c, d] = Run(summed, a[c], b[d], true);
                        differ += Math.Abs(once[c, d][0] - reference[c, d][0]) > 1e-8 * scale ? 1 : 0;
                        Compare(once, c, c + 1, d, d + 1, force, force, $"force × force ({c},{d})");
                    }
                }

                Assert.True(differ > 0, $"{name} {kernel.Name} {width}: the summed blocks must differ from the exact ones per pair");
                for (int c = 0; c < na; c++)
                {
                    Compare(once, c, c + 1, 0, nb, force, energyVirial, $"force of {c} × energy/virial");
                }

                for (int d = 0; d < nb; d++)
                {
                    Compare(once, 0, na, d, d + 1, energyVirial, force, $"energy/virial × force of {d}");
                }

                Compare(once, 0, na, 0, nb, energyVirial, energyVirial, "energy/virial × energy/virial");
                Compare(energyStressOnly, 0, na, 0, nb, energyVirial, energyVirial, "energy/virial × energy/virial, energy-and-stress-only form");

                void Compare(double[,][] blocks, int c0, int c1, int d0, int d1, int[] rows, int[] columns, string what)
                {
                    foreach (int i in rows)
                    {
                        foreach (int j in columns)
                        {
                            for (int h = 0; h <= nh; h++)
                            {
                                double expected = 0, actual = 0;
                                for (int c = c0; c < c1; c++)
                                {
                                    for (int d = d0; d < d1; d++)
                                    {
                                        expected += reference[c, d][h * bs + i * n + j];
                                        actual += blocks[c, d][h * bs + i * n + j];
                                    }
                                }

                                TestData.AssertClose(expected, actual, 1e-10, 1e-13 * scale, $"{name} {kernel.Name} {width} {what} [{i},{j}]{(h == 0 ? "" : $" ∂/∂{kernel.HyperparameterNames[h - 1]}")}");
                            }
                        }
                    }
                }
            }

            double[] Run(Summed summed, AtomEnvironment x, AtomEnvironment y, bool energyStressOnly)
            {
                var result = new double[(1 + nh) * bs];
                summed(x, y, result.AsSpan(0, bs), result.AsSpan(bs), energyStressOnly);
                return result;
            }
        }
    }

    private delegate void Summed(AtomEnvironment x, AtomEnvironment y, Span<double> block, Span<double> gradients, bool energyStressOnly);

    /// <summary>
    /// The block of <paramref name="fast"/> for (x, y), without and with derivatives, against the reference block and
    /// its derivatives: 1e-10 relative, or 1e-13 of the largest reference entry.
    /// </summary>
    private static void AssertEqualsReference(Block fast, AtomEnvironment x, AtomEnvironment y, double[] expected, double[] expectedGrad, IReadOnlyList<string> names, string what)
    {
        const int bs = LocalKernel.EnvironmentBlockSize;
        double scale = expected.Max(Math.Abs), gscale = expectedGrad.Max(Math.Abs);
        foreach (bool withGradients in new[] { false, true })
        {
            var block = new double[bs];
            var grad = withGradients ? new double[names.Count * bs] : [];
            fast(x, y, block, grad);
            for (int i = 0; i < block.Length; i++)
            {
                TestData.AssertClose(expected[i], block[i], 1e-10, 1e-13 * scale, $"{what} block[{i}]");
            }

            for (int i = 0; i < grad.Length; i++)
            {
                TestData.AssertClose(expectedGrad[i], grad[i], 1e-10, 1e-13 * gscale, $"{what} ∂/∂{names[i / bs]}[{i % bs}]");
            }
        }
    }

    /// <summary>Row and column label mixes: name, rows of A (5 or 2 atoms or more), columns of B.</summary>
    private static IEnumerable<(string Name, Func<int, LabelSelection> Rows, Func<int, LabelSelection> Columns)> Mixes()
    {
        static int[] All(int n) => Enumerable.Range(0, n).ToArray();
        yield return ("E × E", _ => LabelSelection.TotalEnergy, _ => LabelSelection.TotalEnergy);
        yield return ("F × F", n => LabelSelection.Forces(All(n)), n => LabelSelection.Forces(All(n)));
        yield return ("S × S", _ => new LabelSelection { Stress = true }, _ => new LabelSelection { Stress = true });
        yield return ("EFS × EFS", n => LabelSelection.All(n), n => LabelSelection.All(n));
        yield return ("F × EFS", n => LabelSelection.Forces(All(n)), n => LabelSelection.All(n));
        yield return ("EFS × F", n => LabelSelection.All(n), n => LabelSelection.Forces(All(n)));
        yield return ("S × some F", _ => new LabelSelection { Stress = true }, n => LabelSelection.Forces(n - 1, 0));
        yield return ("E + some F × S", n => new LabelSelection { Energy = true, ForceAtoms = [n - 1] }, _ => new LabelSelection { Stress = true });
        yield return ("EFS × local energies", n => LabelSelection.All(n), n => LabelSelection.LocalEnergies(n - 1, 0));
        yield return ("local energies × E + S", n => LabelSelection.LocalEnergies(0, n - 1), _ => new LabelSelection { Energy = true, Stress = true });
        yield return ("everything × everything", TestData.Everything, TestData.Everything);
        yield return ("everything × EFS", TestData.Everything, n => LabelSelection.All(n));
        yield return ("some F, local × E, S", n => new LabelSelection { ForceAtoms = [n - 1], LocalEnergyAtoms = [0, n - 1] }, _ => new LabelSelection { Energy = true, Stress = true });
        yield return ("F, S, local × E, some F, local", n => new LabelSelection { ForceAtoms = [1, 0], Stress = true, LocalEnergyAtoms = [n - 1] },
            n => new LabelSelection { Energy = true, ForceAtoms = [n - 1], LocalEnergyAtoms = [0] });
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void CovarianceEqualsTheSumsOfReferenceBlocksForEveryLabelMix(string name)
    {
        var (a, b) = Pair(name);
        foreach (var kernel in new LocalKernel[] { Two, Three, Sum })
        {
            int nh = kernel.HyperparameterCount;
            var ea = kernel.Describe(a);
            var eb = kernel.Describe(b);
            foreach (var (mix, rowsOf, columnsOf) in Mixes())
            {
                var rows = rowsOf(a.AtomCount);
                var columns = columnsOf(b.AtomCount);
                int size = rows.Count * columns.Count;
                var expected = new double[size];
                var expectedGrad = new double[nh * size];
                ReferenceCovariance(kernel, ea, rows, eb, columns, expected, expectedGrad);
                double scale = expected.Max(Math.Abs), gscale = expectedGrad.Max(Math.Abs);
                Assert.True(scale > 0 && gscale > 0, $"{name} {kernel.Name} {mix}: the reference must not be zero");
                foreach (bool withGradients in new[] { false, true })
                {
                    var values = new double[size];
                    var grad = withGradients ? new double[nh * size] : [];
                    kernel.Covariance(ea, rows, eb, columns, values, grad);
                    for (int i = 0; i < size; i++)
                    {
                        TestData.AssertClose(expected[i], values[i], 1e-10, 1e-13 * scale, $"{name} {kernel.Name} {mix} (gradients {withGradients}) [{i / columns.Count},{i % columns.Count}]");
                    }

                    for (int i = 0; i < grad.Length; i++)
                    {
                        int j = i % size;
                        TestData.AssertClose(expectedGrad[i], grad[i], 1e-10, 1e-13 * gscale, $"{name} {kernel.Name} {mix} ∂/∂{kernel.HyperparameterNames[i / size]} [{j / columns.Count},{j % columns.Count}]");
                    }
                }
            }
        }
    }

    /// <summary>The covariance of two label selections from the reference blocks of every environment pair.</summary>
    private static void ReferenceCovariance(LocalKernel kernel, StructureEnvironments a, LabelSelection rows, StructureEnvironments b, LabelSelection columns,
        double[] values, double[] gradients)
    {
        const int n = LocalKernel.EnvironmentLabelCount, bs = LocalKernel.EnvironmentBlockSize;
        int nh = kernel.HyperparameterCount, nc = columns.Count, size = rows.Count * nc;
        for (int c = 0; c < a.AtomCount; c++)
        {
            var re = Entries(rows, c, a);
            for (int d = 0; d < b.AtomCount; d++)
            {
                var ce = Entries(columns, d, b);
                var block = new double[bs];
                var grad = new double[nh * bs];
                ReferenceBlock(kernel, a[c], b[d], block, grad);
                foreach (var (ri, rl, rf) in re)
                {
                    foreach (var (ci, cl, cf) in ce)
                    {
                        values[ri * nc + ci] += rf * cf * block[rl * n + cl];
                        for (int h = 0; h < nh; h++)
                        {
                            gradients[h * size + ri * nc + ci] += rf * cf * grad[h * bs + rl * n + cl];
                        }
                    }
                }
            }
        }
    }

    /// <summary>(label index, environment label, factor) of the labels that environment <paramref name="atom"/> enters.</summary>
    private static List<(int Index, int Label, double Factor)> Entries(LabelSelection s, int atom, StructureEnvironments e)
    {
        var list = new List<(int, int, double)>();
        if (s.Energy)
        {
            list.Add((0, 0, 1.0));
        }

        int f = Array.IndexOf(s.ForceAtoms, atom);
        if (f >= 0)
        {
            list.AddRange(Enumerable.Range(0, 3).Select(i => (s.ForceOffset + 3 * f + i, 1 + i, 1.0)));
        }

        if (s.Stress)
        {
            list.AddRange(Enumerable.Range(0, 6).Select(v => (s.StressOffset + v, 4 + v, 1 / e.VolumeA3)));
        }

        int l = Array.IndexOf(s.LocalEnergyAtoms, atom);
        if (l >= 0)
        {
            list.Add((s.LocalEnergyOffset + l, 0, 1.0));
        }

        return list;
    }

    private static void ReferenceBlock(LocalKernel kernel, AtomEnvironment x, AtomEnvironment y, Span<double> block, Span<double> gradients)
    {
        switch (kernel)
        {
            case TwoBodyKernel two:
                two.GeneralReference<V256>(x, y, block, gradients);
                break;
            case ThreeBodyKernel three:
                three.GeneralReference<V256>(x, y, block, gradients);
                break;
            case SumKernel sum:
                int offset = 0;
                foreach (var part in sum.Parts)
                {
                    int h = part.HyperparameterCount;
                    ReferenceBlock(part, x, y, block, gradients.Slice(offset * LocalKernel.EnvironmentBlockSize, h * LocalKernel.EnvironmentBlockSize));
                    offset += h;
                }

                break;
            default:
                throw new ArgumentException($"No reference block for {kernel.Name}.");
        }
    }
}
