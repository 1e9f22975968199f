using System.Globalization;
using MathNet.Numerics.LinearAlgebra;

namespace Gpff.Phases;

/// <summary>
/// The lower convex hull of formation enthalpy per atom over composition, at one pressure, in any
/// number of components (pymatgen's <c>PhaseDiagram</c>; with compound terminals its
/// <c>CompoundPhaseDiagram</c> with normalised terminals; ASE's <c>PhaseDiagram</c>).
/// </summary>
/// <remarks>
/// <para><b>Composition space.</b> The hull lives on the simplex spanned by the terminals: the
/// elements (default, in order of first appearance among the entries) or chosen terminal
/// compounds such as BaO and RhO2. Each terminal is normalised to one atom (pymatgen's
/// <c>normalize_terminal_compositions=True</c>), so a coordinate is the fraction of the real atoms
/// that come from that terminal and every "per atom" quantity stays per real atom: Ba2RhO4 =
/// 2 BaO + RhO2 sits at x(RhO2) = 3/7. Entries that are not non-negative combinations of the
/// terminals are left out and listed in <see cref="Excluded"/>.</para>
/// <para><b>References.</b> The chemical potential μₖ of terminal k is the enthalpy per atom of
/// the lowest entry of that composition; a terminal without any entry is an error, never a
/// silent zero. Formation enthalpy per atom: H/N − Σₖ xₖ μₖ.</para>
/// <para><b>Stability.</b> Stable entries are the vertices of the lower hull. Only the lowest
/// polymorph of a composition can be stable (an exact duplicate of it is reported with energy
/// above hull 0 but not stable, as pymatgen does); an entry lying exactly on a tie line or facet
/// is not a vertex either (energy above hull 0, not stable). The hull is computed exactly with
/// small linear programs, not with a tessellation, so collinear, coplanar and duplicate points
/// need no joggling.</para>
/// <para><b>Tolerances.</b> A candidate counts as a vertex only when it lies more than
/// <see cref="ToleranceEvPerAtom"/> (default 1e-8 eV/atom, pymatgen's <c>numerical_tol</c>) below
/// the hull of the other compositions; energies above hull that come out negative by rounding are
/// clamped to 0. Compositions whose coordinates agree to 1e-9 are the same composition.
/// Decomposition fractions below 1e-12 are dropped.</para>
/// </remarks>
public sealed class PhaseDiagram
{
    /// <summary>Default vertex tolerance, eV/atom.</summary>
    public const double DefaultToleranceEvPerAtom = 1e-8;

    /// <summary>Coordinates closer than this (atom fraction) are the same composition.</summary>
    public const double CompositionTolerance = 1e-9;

    private readonly HullSolver _solver;
    private readonly HullEntry[] _entries;
    private readonly double[] _groupFormation;
    private readonly int[] _groupMin;
    private readonly string[] _elements;
    private readonly Matrix<double> _terminalMatrix;
    private readonly double[] _mu;
    private List<(HullEntry A, HullEntry B)>? _tieLines;

    /// <summary>Builds the hull of <paramref name="entries"/> at <paramref name="pressureGpa"/>.</summary>
    /// <param name="entries">The phases. Energies, volumes and stds refer to each entry's composition as written.</param>
    /// <param name="pressureGpa">Pressure in GPa; H = E + P·V. Every entry used needs a volume when it is not 0.</param>
    /// <param name="terminals">Terminal compositions (e.g. BaO and RhO2 for a pseudo-binary), or null for the elements of the entries.</param>
    /// <param name="toleranceEvPerAtom">Vertex tolerance in eV/atom (see remarks).</param>
    /// <exception cref="ArgumentException">No entries, a missing reference, linearly dependent terminals, or a missing volume at non-zero pressure; the message names what is missing.</exception>
    public PhaseDiagram(IEnumerable<PhaseEntry> entries, double pressureGpa = 0, IReadOnlyList<Composition>? terminals = null,
        double toleranceEvPerAtom = DefaultToleranceEvPerAtom)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (!double.IsFinite(pressureGpa))
        {
            throw new ArgumentOutOfRangeException(nameof(pressureGpa), pressureGpa, "The pressure must be finite.");
        }

        if (!(toleranceEvPerAtom >= 0) || !double.IsFinite(toleranceEvPerAtom))
        {
            throw new ArgumentOutOfRangeException(nameof(toleranceEvPerAtom), toleranceEvPerAtom, "The tolerance must be ≥ 0 and finite.");
        }

        var all = entries.ToList();
        if (all.Count == 0)
        {
            throw new ArgumentException("A phase diagram needs at least one entry.", nameof(entries));
        }

        if (all.Any(e => e is null))
        {
            throw new ArgumentException("The entry list contains null.", nameof(entries));
        }

        AllEntries = all;
        PressureGpa = pressureGpa;
        ToleranceEvPerAtom = toleranceEvPerAtom;
        UserTerminals = terminals is not null;

        // Terminals: elements in order of first appearance, or the given compounds.
        var terminalList = terminals?.ToList()
            ?? all.SelectMany(e => e.Composition.Elements).Distinct(StringComparer.Ordinal)
                .Select(s => new Composition([new KeyValuePair<string, double>(s, 1)])).ToList();
        if (terminalList.Count == 0)
        {
            throw new ArgumentException("At least one terminal composition is needed.", nameof(terminals));
        }

        Terminals = terminalList;
        int kCount = terminalList.Count;
        _elements = terminalList.SelectMany(t => t.Elements).Distinct(StringComparer.Ordinal).ToArray();
        _terminalMatrix = Matrix<double>.Build.Dense(_elements.Length, kCount, (i, k) => terminalList[k].AtomicFraction(_elements[i]));
        for (int a = 0; a < kCount; a++)
        {
            for (int b = a + 1; b < kCount; b++)
            {
                if (terminalList[a].IsSameReducedComposition(terminalList[b]))
                {
                    throw new ArgumentException($"Terminals {terminalList[a].Formula} and {terminalList[b].Formula} are the same composition.");
                }
            }
        }

        if (kCount > _elements.Length || _terminalMatrix.Rank() < kCount)
        {
            throw new ArgumentException(
                $"The terminal compositions {string.Join(", ", terminalList.Select(t => t.Formula))} are linearly dependent: one is a mixture of the others, so they do not span a simplex.");
        }

        // Place every entry in terminal coordinates.
        var excluded = new List<ExcludedEntry>();
        var placed = new List<(PhaseEntry Entry, int Index, double[] X)>();
        for (int i = 0; i < all.Count; i++)
        {
            if (TryGetCoordinates(all[i].Composition, out var x, out string? reason))
            {
                placed.Add((all[i], i, x));
            }
            else
            {
                excluded.Add(new ExcludedEntry(all[i], reason!));
            }
        }

        Excluded = excluded;

        var noVolume = placed.Where(p => pressureGpa != 0 && p.Entry.VolumeA3 is null).Select(p => $"'{p.Entry.Name}'").ToList();
        if (noVolume.Count > 0)
        {
            throw new ArgumentException(
                $"The enthalpy E + P·V at {pressureGpa.ToString("G", CultureInfo.InvariantCulture)} GPa needs a volume for every entry; missing for {string.Join(", ", noVolume)}.");
        }

        // Group by composition.
        var groupCoords = new List<double[]>();
        var groupOf = new int[placed.Count];
        for (int i = 0; i < placed.Count; i++)
        {
            int g = groupCoords.FindIndex(c => SameCoordinates(c, placed[i].X));
            if (g < 0)
            {
                g = groupCoords.Count;
                groupCoords.Add(placed[i].X);
            }

            groupOf[i] = g;
        }

        var terminalGroup = new int[kCount];
        var missing = new List<string>();
        for (int k = 0; k < kCount; k++)
        {
            var unit = new double[kCount];
            unit[k] = 1;
            terminalGroup[k] = groupCoords.FindIndex(c => SameCoordinates(c, unit));
            if (terminalGroup[k] < 0)
            {
                missing.Add(terminalList[k].Formula);
            }
        }

        if (missing.Count > 0)
        {
            throw new ArgumentException(
                $"No reference entry for terminal{(missing.Count > 1 ? "s" : "")} {string.Join(", ", missing)}: the hull needs at least one entry of each terminal composition ({string.Join(", ", terminalList.Select(t => t.Formula))}) to fix its chemical potential{(UserTerminals ? "" : " (the terminals default to the elements of the entries; give terminal compositions, e.g. BaO and RhO2, for a pseudo-binary)")}.");
        }

        _solver = new HullSolver(kCount, [.. groupCoords], groupOf, terminalGroup, toleranceEvPerAtom);
        _entries = placed.Select((p, i) => new HullEntry(p.Entry, p.Index, groupCoords[groupOf[i]], p.Entry.EnthalpyPerAtomEv(pressureGpa))).ToArray();

        int n = _entries.Length;
        var h = _entries.Select(e => e.EnthalpyPerAtomEv).ToArray();
        var formation = new double[n];
        var stable = new bool[n];
        var eAbove = new double[n];
        var decomposition = Enumerable.Range(0, n).Select(_ => new List<(int Group, double Weight)>()).ToArray();
        var decompositionEnthalpy = new double[n];
        var ws = new HullSolver.Workspace(_solver);
        _solver.Evaluate(h, ws, formation, stable, eAbove, decomposition, decompositionEnthalpy);

        _groupMin = (int[])ws.GroupMin.Clone();
        _groupFormation = (double[])ws.GroupFormation.Clone();
        _mu = terminalGroup.Select(g => h[_groupMin[g]]).ToArray();
        for (int i = 0; i < n; i++)
        {
            var e = _entries[i];
            e.FormationEnthalpyPerAtomEv = formation[i];
            e.IsStable = stable[i];
            e.EnergyAboveHullEvPerAtom = eAbove[i];
            e.DecompositionEnthalpyEvPerAtom = double.IsNaN(decompositionEnthalpy[i]) ? null : decompositionEnthalpy[i];
            e.Decomposition = decomposition[i]
                .Select(p => new DecompositionPart(_entries[_groupMin[p.Group]].Entry, p.Weight))
                .ToArray();
        }

        References = terminalGroup.Select(g => _entries[_groupMin[g]]).ToArray();
    }

    /// <summary>Every entry given, in input order (placed or excluded).</summary>
    public IReadOnlyList<PhaseEntry> AllEntries { get; }

    /// <summary>The pressure in GPa.</summary>
    public double PressureGpa { get; }

    /// <summary>Vertex tolerance in eV/atom.</summary>
    public double ToleranceEvPerAtom { get; }

    /// <summary>The terminal compositions (as given, or the elements), in coordinate order.</summary>
    public IReadOnlyList<Composition> Terminals { get; }

    /// <summary>True when the terminals were chosen by the caller (a pseudo-binary, say), false for the elements.</summary>
    public bool UserTerminals { get; }

    /// <summary>Number of components (terminals).</summary>
    public int Dimension => Terminals.Count;

    /// <summary>The reference entry (lowest enthalpy per atom) of each terminal, in terminal order.</summary>
    public IReadOnlyList<HullEntry> References { get; }

    /// <summary>Enthalpy per atom of each terminal reference, eV/atom (the chemical potentials μₖ).</summary>
    public IReadOnlyList<double> ReferenceEnthalpiesPerAtomEv => _mu;

    /// <summary>The entries placed on the hull, in input order (excluded entries left out).</summary>
    public IReadOnlyList<HullEntry> Entries => _entries;

    /// <summary>Entries that are not non-negative combinations of the terminals, with the reason.</summary>
    public IReadOnlyList<ExcludedEntry> Excluded { get; }

    /// <summary>The stable entries (hull vertices), in input order.</summary>
    public IReadOnlyList<HullEntry> StableEntries => _entries.Where(e => e.IsStable).ToArray();

    /// <summary>The unstable entries, in input order.</summary>
    public IReadOnlyList<HullEntry> UnstableEntries => _entries.Where(e => !e.IsStable).ToArray();

    internal HullSolver Solver => _solver;

    /// <summary>
    /// Tie lines: pairs of stable entries joined by an edge of the lower hull (two-phase
    /// equilibria; for a ternary, the lines of the composition triangle; the edges of coplanar
    /// faces only, never their diagonals).
    /// </summary>
    public IReadOnlyList<(HullEntry A, HullEntry B)> TieLines
    {
        get
        {
            if (_tieLines is null)
            {
                var vertexGroups = Enumerable.Range(0, _solver.GroupCount).Where(g => _entries[_groupMin[g]].IsStable).ToList();
                var pairs = _solver.TieLines(_groupFormation, vertexGroups, new HullSolver.Workspace(_solver));
                _tieLines = pairs.Select(p => (_entries[_groupMin[p.A]], _entries[_groupMin[p.B]])).ToList();
            }

            return _tieLines;
        }
    }

    /// <summary>The hull result of an input entry.</summary>
    /// <param name="entry">An entry given to the constructor.</param>
    /// <exception cref="ArgumentException">The entry was not given or was excluded.</exception>
    public HullEntry this[PhaseEntry entry] =>
        _entries.FirstOrDefault(e => ReferenceEquals(e.Entry, entry))
        ?? throw new ArgumentException(Excluded.Any(x => ReferenceEquals(x.Entry, entry))
            ? $"Entry '{entry.Name}' is not on this hull: {Excluded.First(x => ReferenceEquals(x.Entry, entry)).Reason}."
            : $"Entry '{entry.Name}' is not part of this phase diagram.", nameof(entry));

    /// <summary>The hull result of the first entry with this name.</summary>
    /// <param name="name">Entry name.</param>
    public HullEntry this[string name] =>
        _entries.FirstOrDefault(e => e.Name == name)
        ?? throw new KeyNotFoundException(Excluded.Any(x => x.Entry.Name == name)
            ? $"Entry '{name}' is not on this hull: {Excluded.First(x => x.Entry.Name == name).Reason}."
            : $"No entry named '{name}' in this phase diagram.");

    /// <summary>
    /// Composition coordinates of <paramref name="composition"/>: the atom fraction from each
    /// terminal (sums to 1).
    /// </summary>
    /// <param name="composition">A composition within the span of the terminals.</param>
    /// <exception cref="ArgumentException">The composition is outside the hull's composition space.</exception>
    public double[] GetCoordinates(Composition composition)
    {
        ArgumentNullException.ThrowIfNull(composition);
        return TryGetCoordinates(composition, out var x, out string? reason)
            ? x
            : throw new ArgumentException($"Composition {composition.Formula} is outside this hull: {reason}.", nameof(composition));
    }

    /// <summary>Formation enthalpy per atom of the lower hull at a composition, eV/atom (≤ 0).</summary>
    /// <param name="composition">A composition within the span of the terminals.</param>
    public double GetHullFormationEnthalpyPerAtom(Composition composition) => HullAt(GetCoordinates(composition), null);

    /// <summary>The stable phases (with atom fractions) that a composition decomposes into on the hull.</summary>
    /// <param name="composition">A composition within the span of the terminals.</param>
    public IReadOnlyList<DecompositionPart> GetDecomposition(Composition composition)
    {
        var weights = new List<(int Index, double Weight)>();
        HullAt(GetCoordinates(composition), weights);
        return weights.Select(p => new DecompositionPart(_entries[_groupMin[p.Index]].Entry, p.Weight)).ToArray();
    }

    /// <summary>
    /// Formation enthalpy per atom of any entry (also one not in the diagram) from this diagram's
    /// references, eV/atom.
    /// </summary>
    /// <param name="entry">The entry; needs a volume at non-zero pressure.</param>
    public double GetFormationEnthalpyPerAtom(PhaseEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var x = GetCoordinates(entry.Composition);
        double h = entry.EnthalpyPerAtomEv(PressureGpa);
        for (int k = 0; k < x.Length; k++)
        {
            h -= x[k] * _mu[k];
        }

        return h;
    }

    /// <summary>
    /// Distance of any entry (typically a new candidate not in the diagram) from the hull of this
    /// diagram's stable phases, eV/atom. Negative means the candidate would lie below the hull,
    /// i.e. it would be stable and change the hull (pymatgen's <c>allow_negative=True</c>).
    /// </summary>
    /// <param name="entry">The candidate entry.</param>
    public double GetEnergyAboveHull(PhaseEntry entry) =>
        GetFormationEnthalpyPerAtom(entry) - HullAt(GetCoordinates(entry.Composition), null);

    private double HullAt(double[] x, List<(int Index, double Weight)>? weights)
    {
        var vertexGroups = Enumerable.Range(0, _solver.GroupCount).Where(g => _entries[_groupMin[g]].IsStable).ToArray();
        var lp = new HullLinearProgram(_solver.K);
        lp.Minimize(_solver.GroupCoordinates, _groupFormation, vertexGroups, x, out double value, weights);
        return value;
    }

    internal bool TryGetCoordinates(Composition composition, out double[] x, out string? reason)
    {
        int kCount = Terminals.Count;
        x = [];
        var foreign = composition.Elements.Where(s => !_elements.Contains(s)).ToList();
        if (foreign.Count > 0)
        {
            reason = $"it contains {string.Join(", ", foreign)}, which no terminal ({string.Join(", ", Terminals.Select(t => t.Formula))}) contains";
            return false;
        }

        var c = Vector<double>.Build.Dense(_elements.Length, i => composition[_elements[i]]);
        var n = _terminalMatrix.Solve(c); // least squares (QR) for the tall system
        double atoms = composition.NumAtoms;
        double residual = (_terminalMatrix * n - c).L2Norm();
        if (residual > 1e-8 * atoms)
        {
            reason = $"its composition is not a combination of the terminals {string.Join(", ", Terminals.Select(t => t.Formula))}";
            return false;
        }

        for (int k = 0; k < kCount; k++)
        {
            if (n[k] < -1e-9 * atoms)
            {
                reason = $"it would need a negative amount of {Terminals[k].Formula}: it lies outside the {string.Join("–", Terminals.Select(t => t.Formula))} composition range";
                return false;
            }
        }

        x = new double[kCount];
        double sum = 0;
        for (int k = 0; k < kCount; k++)
        {
            x[k] = Math.Max(n[k], 0.0);
            sum += x[k];
        }

        for (int k = 0; k < kCount; k++)
        {
            x[k] /= sum;
            if (x[k] < 1e-12)
            {
                x[k] = 0;
            }
            else if (x[k] > 1 - 1e-12)
            {
                x[k] = 1;
            }
        }

        reason = null;
        return true;
    }

    private static bool SameCoordinates(double[] a, double[] b)
    {
        for (int k = 0; k < a.Length; k++)
        {
            if (Math.Abs(a[k] - b[k]) > CompositionTolerance)
            {
                return false;
            }
        }

        return true;
    }
}
