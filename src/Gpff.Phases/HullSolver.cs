namespace Gpff.Phases;

/// <summary>
/// The hull computation on fixed composition coordinates and variable enthalpies, shared by
/// <see cref="PhaseDiagram"/> (once) and the Monte-Carlo stability analysis (once per sample).
/// </summary>
/// <remarks>
/// Algorithm (exact, facet-free, any number of terminals K):
/// <list type="number">
/// <item>Entries are grouped by composition; the lowest enthalpy of a group (the first one on
/// ties) is its candidate; the other polymorphs can never be vertices.</item>
/// <item>μₖ = enthalpy per atom of the candidate of terminal k; formation enthalpies
/// h_f = h − Σₖ xₖ μₖ (kept O(1) eV/atom, which is what keeps the LPs accurate even when absolute
/// DFT energies are thousands of eV per atom).</item>
/// <item>A non-terminal candidate p is a hull vertex iff h_f(p) &lt; min{Σ λⱼ h_f(j) : Σ λⱼ xⱼ =
/// x_p, λ ≥ 0, j ranging over the candidates of the other compositions} − tolerance. Points on a
/// tie line or facet (collinear, coplanar) are therefore not vertices. Terminal candidates are
/// always vertices.</item>
/// <item>The energy above hull of any entry is h_f minus the same LP over the vertices only, and
/// the optimal λ is its decomposition (atom fractions).</item>
/// </list>
/// </remarks>
internal sealed class HullSolver
{
    public HullSolver(int terminalCount, double[][] groupCoordinates, int[] groupOfEntry, int[] terminalGroup, double toleranceEvPerAtom)
    {
        K = terminalCount;
        GroupCoordinates = groupCoordinates;
        GroupOfEntry = groupOfEntry;
        TerminalGroup = terminalGroup;
        Tolerance = toleranceEvPerAtom;
        int groups = groupCoordinates.Length;
        var members = new List<int>[groups];
        for (int g = 0; g < groups; g++)
        {
            members[g] = [];
        }

        for (int e = 0; e < groupOfEntry.Length; e++)
        {
            members[groupOfEntry[e]].Add(e);
        }

        GroupMembers = members.Select(l => l.ToArray()).ToArray();
        GroupIsTerminal = new bool[groups];
        foreach (int g in terminalGroup)
        {
            GroupIsTerminal[g] = true;
        }
    }

    public int K { get; }

    public double[][] GroupCoordinates { get; }

    public int[] GroupOfEntry { get; }

    public int[][] GroupMembers { get; }

    public int[] TerminalGroup { get; }

    public bool[] GroupIsTerminal { get; }

    public double Tolerance { get; }

    public int GroupCount => GroupCoordinates.Length;

    public int EntryCount => GroupOfEntry.Length;

    /// <summary>Scratch space for one thread.</summary>
    public sealed class Workspace
    {
        public Workspace(HullSolver solver)
        {
            Lp = new HullLinearProgram(solver.K);
            int g = solver.GroupCount;
            GroupMin = new int[g];
            GroupFormation = new double[g];
            Vertex = new bool[g];
            Allowed = new int[g];
            Weights = [];
        }

        public HullLinearProgram Lp { get; }

        public int[] GroupMin { get; }

        public double[] GroupFormation { get; }

        public bool[] Vertex { get; }

        public int[] Allowed { get; }

        public List<(int Index, double Weight)> Weights { get; }
    }

    /// <summary>
    /// Evaluates the hull for enthalpies per atom <paramref name="h"/> (one per entry).
    /// </summary>
    /// <param name="h">Enthalpy per atom of every entry, eV/atom.</param>
    /// <param name="ws">Scratch space.</param>
    /// <param name="formation">Receives the formation enthalpy per atom of every entry.</param>
    /// <param name="stable">Receives whether each entry is a hull vertex.</param>
    /// <param name="eAboveHull">Receives the energy above hull of every entry (≥ 0).</param>
    /// <param name="decomposition">When not null, receives each entry's decomposition as (group, weight) pairs.</param>
    /// <param name="decompositionEnthalpy">When not null, receives h_f minus the hull of the other compositions (NaN for terminals).</param>
    public void Evaluate(ReadOnlySpan<double> h, Workspace ws, Span<double> formation, Span<bool> stable, Span<double> eAboveHull,
        List<(int Group, double Weight)>[]? decomposition = null, Span<double> decompositionEnthalpy = default)
    {
        int groups = GroupCount;
        var groupMin = ws.GroupMin;
        for (int g = 0; g < groups; g++)
        {
            int best = -1;
            foreach (int e in GroupMembers[g])
            {
                if (best < 0 || h[e] < h[best])
                {
                    best = e;
                }
            }

            groupMin[g] = best;
        }

        Span<double> mu = stackalloc double[K];
        for (int k = 0; k < K; k++)
        {
            mu[k] = h[groupMin[TerminalGroup[k]]];
        }

        for (int e = 0; e < EntryCount; e++)
        {
            var x = GroupCoordinates[GroupOfEntry[e]];
            double reference = 0;
            for (int k = 0; k < K; k++)
            {
                reference += x[k] * mu[k];
            }

            formation[e] = h[e] - reference;
        }

        var gf = ws.GroupFormation;
        for (int g = 0; g < groups; g++)
        {
            gf[g] = formation[groupMin[g]];
        }

        // Vertex test: each non-terminal candidate against the hull of all other candidates.
        var allowed = ws.Allowed;
        var vertex = ws.Vertex;
        for (int g = 0; g < groups; g++)
        {
            if (GroupIsTerminal[g])
            {
                vertex[g] = true;
                if (!decompositionEnthalpy.IsEmpty)
                {
                    foreach (int e in GroupMembers[g])
                    {
                        decompositionEnthalpy[e] = double.NaN;
                    }
                }

                continue;
            }

            int n = 0;
            for (int o = 0; o < groups; o++)
            {
                if (o != g)
                {
                    allowed[n++] = o;
                }
            }

            ws.Lp.Minimize(GroupCoordinates, gf, allowed.AsSpan(0, n), GroupCoordinates[g], out double others);
            vertex[g] = gf[g] < others - Tolerance;
            if (!decompositionEnthalpy.IsEmpty)
            {
                foreach (int e in GroupMembers[g])
                {
                    decompositionEnthalpy[e] = formation[e] - others;
                }
            }
        }

        int nv = 0;
        for (int g = 0; g < groups; g++)
        {
            if (vertex[g])
            {
                allowed[nv++] = g;
            }
        }

        for (int g = 0; g < groups; g++)
        {
            int min = groupMin[g];
            double hull;
            if (vertex[g])
            {
                hull = gf[g];
                if (decomposition is not null)
                {
                    foreach (int e in GroupMembers[g])
                    {
                        decomposition[e].Clear();
                        decomposition[e].Add((g, 1.0));
                    }
                }
            }
            else
            {
                ws.Lp.Minimize(GroupCoordinates, gf, allowed.AsSpan(0, nv), GroupCoordinates[g], out hull, decomposition is null ? null : ws.Weights);
                if (decomposition is not null)
                {
                    foreach (int e in GroupMembers[g])
                    {
                        decomposition[e].Clear();
                        decomposition[e].AddRange(ws.Weights);
                    }
                }
            }

            foreach (int e in GroupMembers[g])
            {
                bool isVertex = vertex[g] && e == min;
                stable[e] = isVertex;
                eAboveHull[e] = isVertex ? 0.0 : Math.Max(0.0, formation[e] - hull);
            }
        }
    }

    /// <summary>
    /// Tie lines: pairs of vertex groups (a, b) joined by an edge of the lower hull. The midpoint m
    /// of a and b must lie on the hull, and no mixture of the other vertices may reach it at the
    /// same energy (which rules out the diagonals of coplanar faces).
    /// </summary>
    public List<(int A, int B)> TieLines(ReadOnlySpan<double> groupFormation, IReadOnlyList<int> vertexGroups, Workspace ws)
    {
        var result = new List<(int, int)>();
        var mid = new double[K];
        var allowed = new int[vertexGroups.Count];
        for (int i = 0; i < vertexGroups.Count; i++)
        {
            for (int j = i + 1; j < vertexGroups.Count; j++)
            {
                int a = vertexGroups[i], b = vertexGroups[j];
                for (int k = 0; k < K; k++)
                {
                    mid[k] = 0.5 * (GroupCoordinates[a][k] + GroupCoordinates[b][k]);
                }

                double hm = 0.5 * (groupFormation[a] + groupFormation[b]);
                int n = 0;
                foreach (int v in vertexGroups)
                {
                    allowed[n++] = v;
                }

                ws.Lp.Minimize(GroupCoordinates, groupFormation, allowed.AsSpan(0, n), mid, out double all);
                if (all < hm - Tolerance)
                {
                    continue; // the segment passes above the hull
                }

                n = 0;
                foreach (int v in vertexGroups)
                {
                    if (v != a && v != b)
                    {
                        allowed[n++] = v;
                    }
                }

                bool reachable = ws.Lp.Minimize(GroupCoordinates, groupFormation, allowed.AsSpan(0, n), mid, out double others);
                if (!reachable || others > hm + Tolerance)
                {
                    result.Add((a, b));
                }
            }
        }

        return result;
    }
}
