using CsCheck;

namespace Gpff.Phases.Tests;

public class HullPropertyTests
{
    /// <summary>
    /// Binary hulls with many exact degeneracies (compositions on a 1/6 grid, formation enthalpies on a 1/4 grid:
    /// duplicates, polymorphs, collinear points) against a brute-force reference: the hull at x is the minimum of
    /// all two-point mixtures; an entry is a vertex iff it is the first lowest of its composition and lies below
    /// every mixture of other compositions.
    /// </summary>
    [Fact]
    public void BinaryMatchesBruteForce()
    {
        var gen = Gen.Select(Gen.Int[1, 5], Gen.Int[-4, 1]).Array[0, 9];
        gen.Sample(points =>
        {
            var entries = new List<PhaseEntry> { new("Ba", "Ba", -2.0), new("O2", "O2", -10.0) };
            foreach (var (k, q) in points)
            {
                // Ba(6−k) O(k), 6 atoms, formation enthalpy q/4 eV/atom with μ(Ba) = −2, μ(O) = −5.
                double e = (6 - k) * -2.0 + k * -5.0 + 6 * q / 4.0;
                entries.Add(new PhaseEntry($"c{entries.Count}", $"Ba{6 - k}O{k}", e));
            }

            var pd = new PhaseDiagram(entries);
            var xs = pd.Entries.Select(e => e.Coordinates[1]).ToArray();
            var hf = pd.Entries.Select(e => e.FormationEnthalpyPerAtomEv).ToArray();
            int n = xs.Length;

            double Hull(double x, Func<int, bool> allowed)
            {
                double best = double.PositiveInfinity;
                for (int i = 0; i < n; i++)
                {
                    for (int j = 0; j < n; j++)
                    {
                        if (!allowed(i) || !allowed(j) || xs[i] > x + 1e-12 || xs[j] < x - 1e-12)
                        {
                            continue;
                        }

                        double v = Math.Abs(xs[j] - xs[i]) < 1e-12 ? Math.Min(hf[i], hf[j]) : hf[i] + (hf[j] - hf[i]) * (x - xs[i]) / (xs[j] - xs[i]);
                        best = Math.Min(best, v);
                    }
                }

                return best;
            }

            for (int i = 0; i < n; i++)
            {
                double hull = Hull(xs[i], _ => true);
                if (Math.Abs(pd.Entries[i].EnergyAboveHullEvPerAtom - (hf[i] - hull)) > 1e-9)
                {
                    return false;
                }

                bool firstLowest = !Enumerable.Range(0, n).Any(j => Math.Abs(xs[j] - xs[i]) < 1e-12 && (hf[j] < hf[i] - 1e-12 || (j < i && Math.Abs(hf[j] - hf[i]) <= 1e-12)));
                bool terminal = xs[i] is 0 or 1;
                bool vertex = firstLowest && (terminal || hf[i] < Hull(xs[i], j => Math.Abs(xs[j] - xs[i]) > 1e-12) - 1e-8);
                if (vertex != pd.Entries[i].IsStable)
                {
                    return false;
                }

                double sum = pd.Entries[i].Decomposition.Sum(p => p.AtomFraction);
                double hullFromParts = pd.Entries[i].Decomposition.Sum(p => p.AtomFraction * pd[p.Entry].FormationEnthalpyPerAtomEv);
                if (Math.Abs(sum - 1) > 1e-9 || Math.Abs(hullFromParts - hull) > 1e-9 || pd.Entries[i].Decomposition.Any(p => !pd[p.Entry].IsStable))
                {
                    return false;
                }
            }

            return true;
        }, iter: 300);
    }
}
