using Gpff.Kernels;
using MathNet.Numerics.LinearAlgebra;

namespace Gpff.Regression.Tests;

/// <summary>
/// The GP's covariance matrix rebuilt from the kernel's public API (<see cref="IKernel.Covariance"/>
/// on the training entries), with the label noise added by the documented convention, for tests
/// that check the solver against an independent dense computation.
/// </summary>
internal static class PublicKernelAlgebra
{
    /// <summary>K over all training labels of <paramref name="gp"/>, in label order, without noise.</summary>
    public static Matrix<double> Covariance(GaussianProcess gp)
    {
        var entries = gp.Training;
        int n = entries.Sum(e => e.Count);
        var k = Matrix<double>.Build.Dense(n, n);
        int row = 0;
        foreach (var a in entries)
        {
            int col = 0;
            foreach (var b in entries)
            {
                var block = new double[a.Count * b.Count];
                gp.Kernel.Covariance(a.Environments, a.Labels, b.Environments, b.Labels, block, []);
                for (int r = 0; r < a.Count; r++)
                {
                    for (int c = 0; c < b.Count; c++)
                    {
                        k[row + r, col + c] = block[r * b.Count + c];
                    }
                }

                col += b.Count;
            }

            row += a.Count;
        }

        return k;
    }

    /// <summary>
    /// The noise variance of every training label as the README documents it: the energy noise is per
    /// atom, so the total energy of an N-atom structure has standard deviation N·σ_E; forces σ_F, stresses σ_S.
    /// </summary>
    public static double[] DocumentedNoiseVariances(GaussianProcess gp)
    {
        var v = new List<double>();
        foreach (var e in gp.Training)
        {
            var l = e.Labels;
            if (l.Energy)
            {
                double s = e.Structure.AtomCount * gp.Noise.EnergyEvPerAtom;
                v.Add(s * s);
            }

            for (int i = 0; i < 3 * l.ForceAtoms.Length; i++)
            {
                v.Add(gp.Noise.ForceEvPerA * gp.Noise.ForceEvPerA);
            }

            if (l.Stress)
            {
                for (int i = 0; i < 6; i++)
                {
                    v.Add(gp.Noise.StressEvPerA3 * gp.Noise.StressEvPerA3);
                }
            }
        }

        return [.. v];
    }
}
