namespace Gpff.Phases;

/// <summary>
/// The lower-hull linear program: at a target composition x (fractions of the K terminals), the
/// lowest energy reachable by mixing points, min Σⱼ λⱼ hⱼ subject to Σⱼ λⱼ xⱼ = x, λ ≥ 0. Because
/// every xⱼ and x sum to one, Σ λⱼ = 1 follows. Dense two-phase tableau simplex with Bland's rule
/// (no cycling on the degenerate, collinear and coplanar cases that hulls are full of). K is small
/// (2–6) and the number of points modest, so a dense tableau is both simple and fast. Not thread
/// safe: use one instance per thread; buffers are reused between calls.
/// </summary>
internal sealed class HullLinearProgram
{
    /// <summary>Reduced costs below −this (eV/atom) improve the objective.</summary>
    private const double CostTolerance = 1e-13;

    /// <summary>Pivot elements smaller than this are treated as zero.</summary>
    private const double PivotTolerance = 1e-11;

    /// <summary>Phase-I residual above this (atom fraction) means the target is out of reach.</summary>
    private const double FeasibilityTolerance = 1e-9;

    private readonly int _rows;
    private double[] _t = [];
    private int[] _basis = [];
    private bool[] _activeRow = [];
    private int[] _columnOf = [];

    /// <summary>Creates a solver for <paramref name="rows"/> terminals.</summary>
    /// <param name="rows">Number of terminals K.</param>
    public HullLinearProgram(int rows) => _rows = rows;

    /// <summary>
    /// Solves the program over the points <paramref name="allowed"/> (indices into
    /// <paramref name="coordinates"/> and <paramref name="energies"/>).
    /// </summary>
    /// <param name="coordinates">Composition coordinates of every point (length K each).</param>
    /// <param name="energies">Energy per atom of every point.</param>
    /// <param name="allowed">The points that may be mixed.</param>
    /// <param name="target">Target composition (length K, ≥ 0, sums to 1).</param>
    /// <param name="value">Minimum energy per atom; +∞ when the target cannot be reached.</param>
    /// <param name="weights">When not null, receives (point index, weight) of the optimal mixture (weights &gt; 1e-12).</param>
    /// <returns>False when the target cannot be reached with the allowed points.</returns>
    public bool Minimize(double[][] coordinates, ReadOnlySpan<double> energies, ReadOnlySpan<int> allowed, ReadOnlySpan<double> target,
        out double value, List<(int Index, double Weight)>? weights = null)
    {
        int m = _rows;
        int n = allowed.Length;
        int width = n + m + 1; // real columns, artificial columns, right-hand side
        int rhs = n + m;
        EnsureCapacity(n, width);
        var t = _t;
        Array.Clear(t, 0, (m + 1) * width);
        weights?.Clear();

        for (int j = 0; j < n; j++)
        {
            _columnOf[j] = allowed[j];
            var x = coordinates[allowed[j]];
            for (int i = 0; i < m; i++)
            {
                t[i * width + j] = x[i];
            }
        }

        // Initial basis: a unit column (a pure terminal) where one exists, an artificial otherwise.
        bool needPhaseOne = false;
        for (int i = 0; i < m; i++)
        {
            t[i * width + n + i] = 1.0;
            t[i * width + rhs] = Math.Max(target[i], 0.0);
            _activeRow[i] = true;
            _basis[i] = n + i;
            for (int j = 0; j < n; j++)
            {
                if (t[i * width + j] == 1.0 && IsUnitColumn(t, width, m, j, i))
                {
                    _basis[i] = j;
                    break;
                }
            }

            needPhaseOne |= _basis[i] >= n;
        }

        if (needPhaseOne)
        {
            // Phase I: minimise the sum of the artificial variables.
            SetObjective(t, width, n, m, default, phaseOne: true);
            Iterate(t, width, n + m, m);
            if (-t[m * width + rhs] > FeasibilityTolerance)
            {
                value = double.PositiveInfinity;
                return false;
            }

            // Drive artificial variables (now at zero) out of the basis, or drop redundant rows.
            for (int i = 0; i < m; i++)
            {
                if (_basis[i] < n)
                {
                    continue;
                }

                int entering = -1;
                for (int j = 0; j < n; j++)
                {
                    if (Math.Abs(t[i * width + j]) > PivotTolerance && !InBasis(j, m))
                    {
                        entering = j;
                        break;
                    }
                }

                if (entering >= 0)
                {
                    Pivot(t, width, m, i, entering);
                }
                else
                {
                    _activeRow[i] = false;
                }
            }
        }

        // Phase II: minimise the energy over the real columns only.
        SetObjective(t, width, n, m, energies, phaseOne: false);
        Iterate(t, width, n, m);

        value = 0;
        for (int i = 0; i < m; i++)
        {
            if (!_activeRow[i] || _basis[i] >= n)
            {
                continue;
            }

            double w = t[i * width + rhs];
            int point = _columnOf[_basis[i]];
            value += w * energies[point];
            if (weights is not null && w > 1e-12)
            {
                weights.Add((point, w));
            }
        }

        return true;
    }

    private void EnsureCapacity(int n, int width)
    {
        int size = (_rows + 1) * width;
        if (_t.Length < size)
        {
            _t = new double[Math.Max(size, 2 * _t.Length)];
        }

        if (_columnOf.Length < n)
        {
            _columnOf = new int[Math.Max(n, 2 * _columnOf.Length)];
        }

        if (_basis.Length < _rows)
        {
            _basis = new int[_rows];
            _activeRow = new bool[_rows];
        }
    }

    private static bool IsUnitColumn(double[] t, int width, int m, int j, int row)
    {
        for (int i = 0; i < m; i++)
        {
            if (i != row && t[i * width + j] != 0.0)
            {
                return false;
            }
        }

        return true;
    }

    private bool InBasis(int j, int m)
    {
        for (int i = 0; i < m; i++)
        {
            if (_basis[i] == j && _activeRow[i])
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Fills the objective row with reduced costs cⱼ − c_Bᵀ B⁻¹ aⱼ and −c_Bᵀ B⁻¹ b in the RHS.</summary>
    private void SetObjective(double[] t, int width, int n, int m, ReadOnlySpan<double> energies, bool phaseOne)
    {
        var columnOf = _columnOf;
        double Cost(int j, ReadOnlySpan<double> e) => phaseOne ? (j >= n ? 1.0 : 0.0) : (j < n ? e[columnOf[j]] : 0.0);

        int obj = m * width;
        int total = n + m;
        for (int j = 0; j < total; j++)
        {
            t[obj + j] = Cost(j, energies);
        }

        t[obj + total] = 0.0;
        for (int i = 0; i < m; i++)
        {
            if (!_activeRow[i])
            {
                continue;
            }

            double cb = Cost(_basis[i], energies);
            if (cb == 0.0)
            {
                continue;
            }

            for (int j = 0; j <= total; j++)
            {
                t[obj + j] -= cb * t[i * width + j];
            }
        }
    }

    /// <summary>Simplex iterations with Bland's rule over the first <paramref name="eligible"/> columns.</summary>
    private void Iterate(double[] t, int width, int eligible, int m)
    {
        int obj = m * width;
        int rhs = width - 1;
        int maxIterations = 50 * (width + m) + 1000;
        for (int iteration = 0; iteration < maxIterations; iteration++)
        {
            int entering = -1;
            for (int j = 0; j < eligible; j++)
            {
                if (t[obj + j] < -CostTolerance)
                {
                    entering = j;
                    break;
                }
            }

            if (entering < 0)
            {
                return;
            }

            int leaving = -1;
            double best = double.PositiveInfinity;
            for (int i = 0; i < m; i++)
            {
                if (!_activeRow[i])
                {
                    continue;
                }

                double a = t[i * width + entering];
                if (a <= PivotTolerance)
                {
                    continue;
                }

                double ratio = Math.Max(t[i * width + rhs], 0.0) / a;
                if (ratio < best - 1e-15 || (Math.Abs(ratio - best) <= 1e-15 && _basis[i] < _basis[leaving]))
                {
                    best = ratio;
                    leaving = i;
                }
            }

            if (leaving < 0)
            {
                // Cannot happen for compositions (the feasible set is bounded); guard anyway.
                throw new InvalidOperationException("Hull linear program is unbounded: composition coordinates are inconsistent.");
            }

            Pivot(t, width, m, leaving, entering);
        }

        throw new InvalidOperationException("Hull linear program did not converge (too many simplex iterations).");
    }

    private void Pivot(double[] t, int width, int m, int row, int column)
    {
        int r = row * width;
        double p = t[r + column];
        for (int j = 0; j < width; j++)
        {
            t[r + j] /= p;
        }

        t[r + column] = 1.0;
        for (int i = 0; i <= m; i++)
        {
            if (i == row)
            {
                continue;
            }

            int o = i * width;
            double f = t[o + column];
            if (f == 0.0)
            {
                continue;
            }

            for (int j = 0; j < width; j++)
            {
                t[o + j] -= f * t[r + j];
            }

            t[o + column] = 0.0;
        }

        _basis[row] = column;
    }
}
