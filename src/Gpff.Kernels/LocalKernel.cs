using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Json;
using Gpff.Descriptors;

namespace Gpff.Kernels;

/// <summary>
/// Base of kernels defined over pairs of local environments (the n-body kernels and their sums).
/// A derived kernel supplies one operation, the covariance between two environments of the ten
/// "environment labels" (<see cref="EnvironmentLabelCount"/>), and optionally a faster force-only
/// version; this class turns them into covariances between the energy, force, stress and local-energy
/// labels of whole structures:
/// <list type="bullet">
/// <item>index 0: the local energy εᵢ of the central atom (eV);</item>
/// <item>indices 1–3: the force on the central atom, F = −∂E/∂rᵢ (eV/Å), computed from environment i alone
/// (FLARE's convention: each pair or triplet containing i enters with its full weight);</item>
/// <item>indices 4–9: the local virial ∂εᵢ/∂ε_ab under homogeneous strain (eV, Voigt xx yy zz yz xz xy);
/// the stress of a structure is the sum over its atoms divided by the volume (ASE sign).</item>
/// </list>
/// Immutable and thread-safe.
/// </summary>
public abstract class LocalKernel : IKernel
{
    /// <summary>Number of labels of one environment: local energy, 3 force components, 6 virial components.</summary>
    public const int EnvironmentLabelCount = 10;

    /// <summary>Entries of one environment-pair block (10 × 10, row-major).</summary>
    public const int EnvironmentBlockSize = EnvironmentLabelCount * EnvironmentLabelCount;

    /// <inheritdoc />
    public abstract string Name { get; }

    /// <inheritdoc />
    public abstract IReadOnlyList<string> HyperparameterNames { get; }

    /// <inheritdoc />
    public abstract IReadOnlyList<double> Hyperparameters { get; }

    /// <inheritdoc />
    public abstract DescriptorSettings Descriptor { get; }

    /// <inheritdoc />
    public double CutoffA => Descriptor.MaxCutoffA;

    /// <summary>Number of hyperparameters.</summary>
    public int HyperparameterCount => HyperparameterNames.Count;

    /// <summary>A copy of this kernel with other hyperparameter values.</summary>
    /// <param name="values">New values, in the order of <see cref="HyperparameterNames"/>.</param>
    public abstract LocalKernel WithHyperparameters(IReadOnlyList<double> values);

    IKernel IKernel.WithHyperparameters(IReadOnlyList<double> values) => WithHyperparameters(values);

    /// <inheritdoc />
    public StructureEnvironments Describe(Structure structure) => StructureEnvironments.Build(structure, Descriptor);

    /// <summary>
    /// Adds the 10 × 10 covariance between the environment labels of <paramref name="x"/> (rows) and
    /// <paramref name="y"/> (columns) to <paramref name="block"/>, and, when
    /// <paramref name="hyperparameterGradients"/> is not empty, its derivative with respect to each
    /// hyperparameter h to hyperparameterGradients[h·100 ..].
    /// </summary>
    /// <param name="x">Row environment.</param>
    /// <param name="y">Column environment.</param>
    /// <param name="block">10 × 10 accumulator.</param>
    /// <param name="hyperparameterGradients">H × 100 accumulator, or empty.</param>
    public abstract void EnvironmentCovariance(AtomEnvironment x, AtomEnvironment y, Span<double> block, Span<double> hyperparameterGradients);

    /// <summary>
    /// A block for sums over whole structures: its force–force entries are <see cref="EnvironmentCovariance"/>'s,
    /// and its energy and virial rows (columns), summed over every environment of the row (column) structure,
    /// give the same structure energy and stress covariances; per environment pair they may differ (a kernel may
    /// count each triangle of atoms once in the structure's sums, not a third in each of its atoms' environments).
    /// Only for environments of whole structures (<see cref="StructureEnvironments.IsWholeStructure"/>) and
    /// labels without local energies. By default the exact block.
    /// </summary>
    /// <param name="x">Row environment.</param>
    /// <param name="y">Column environment.</param>
    /// <param name="block">10 × 10 accumulator.</param>
    /// <param name="hyperparameterGradients">H × 100 accumulator, or empty.</param>
    /// <param name="energyAndStressOnly">Only the energy and virial rows and columns are wanted (the force entries may be left out).</param>
    internal virtual void SummedEnvironmentCovariance(AtomEnvironment x, AtomEnvironment y, Span<double> block, Span<double> hyperparameterGradients, bool energyAndStressOnly) =>
        EnvironmentCovariance(x, y, block, hyperparameterGradients);

    /// <summary>
    /// Adds the 3 × 3 force–force covariance cov(F_x,α, F_y,β) of the central atoms of two environments
    /// to <paramref name="block"/> (row-major, eV²/Å²), in one pass over the environment pair.
    /// </summary>
    /// <param name="x">Row environment.</param>
    /// <param name="y">Column environment.</param>
    /// <param name="block">3 × 3 accumulator.</param>
    public virtual void ForceCovariance(AtomEnvironment x, AtomEnvironment y, Span<double> block)
    {
        Span<double> full = stackalloc double[EnvironmentBlockSize];
        full.Clear();
        EnvironmentCovariance(x, y, full, []);
        for (int a = 0; a < 3; a++)
        {
            for (int b = 0; b < 3; b++)
            {
                block[3 * a + b] += full[(1 + a) * EnvironmentLabelCount + 1 + b];
            }
        }
    }

    /// <summary>
    /// Adds the 3 × 3 force–force covariance of the central atoms of two environments to
    /// <paramref name="block"/> (row-major, eV²/Å²) and its derivative with respect to each hyperparameter h
    /// to hyperparameterGradients[9h ..]: the forces-only path of likelihood gradients, which needs none of
    /// the energy and virial rows. Equals the force rows and columns of <see cref="EnvironmentCovariance"/>
    /// and of its gradients; this base version extracts them from it, kernels override it with a direct pass.
    /// </summary>
    /// <param name="x">Row environment.</param>
    /// <param name="y">Column environment.</param>
    /// <param name="block">3 × 3 accumulator.</param>
    /// <param name="hyperparameterGradients">H × 9 accumulator.</param>
    public virtual void ForceCovarianceWithGradients(AtomEnvironment x, AtomEnvironment y, Span<double> block, Span<double> hyperparameterGradients)
    {
        int nh = HyperparameterCount;
        Span<double> full = stackalloc double[EnvironmentBlockSize];
        full.Clear();
        var grad = new double[nh * EnvironmentBlockSize];
        EnvironmentCovariance(x, y, full, grad);
        for (int a = 0; a < 3; a++)
        {
            for (int b = 0; b < 3; b++)
            {
                int f = (1 + a) * EnvironmentLabelCount + 1 + b;
                block[3 * a + b] += full[f];
                for (int h = 0; h < nh; h++)
                {
                    hyperparameterGradients[9 * h + 3 * a + b] += grad[h * EnvironmentBlockSize + f];
                }
            }
        }
    }

    /// <summary>
    /// Adds the covariance between the ten environment labels of <paramref name="x"/> and the local energy
    /// of <paramref name="y"/> (column 0 of <see cref="EnvironmentCovariance"/>'s block) to
    /// <paramref name="column"/> (10 long, eV² for the energy, eV²/Å for the force rows, eV² for the virial
    /// rows), and, when <paramref name="hyperparameterGradients"/> is not empty, its derivative with respect
    /// to each hyperparameter h to hyperparameterGradients[10h ..]. The label-versus-local-energy path of the
    /// sparse GP (K_nu): it needs only first derivatives of the kernel in x's geometry, none of the
    /// second derivatives the force–force rows of the full block carry. This base version extracts the
    /// column from the full block; kernels override it with a direct pass.
    /// </summary>
    /// <param name="x">Row environment (energy, force, virial labels).</param>
    /// <param name="y">Column environment (its local energy).</param>
    /// <param name="column">10-long accumulator.</param>
    /// <param name="hyperparameterGradients">H × 10 accumulator, or empty.</param>
    public virtual void LocalEnergyCovariance(AtomEnvironment x, AtomEnvironment y, Span<double> column, Span<double> hyperparameterGradients)
    {
        int nh = HyperparameterCount;
        Span<double> full = stackalloc double[EnvironmentBlockSize];
        full.Clear();
        var grad = hyperparameterGradients.IsEmpty ? [] : new double[nh * EnvironmentBlockSize];
        EnvironmentCovariance(x, y, full, grad);
        for (int i = 0; i < EnvironmentLabelCount; i++)
        {
            column[i] += full[i * EnvironmentLabelCount];
            for (int h = 0; h < nh && grad.Length > 0; h++)
            {
                hyperparameterGradients[h * EnvironmentLabelCount + i] += grad[h * EnvironmentBlockSize + i * EnvironmentLabelCount];
            }
        }
    }

    /// <summary>
    /// Checks that environments were built for this kernel (same cutoffs and cutoff function); throws
    /// an <see cref="ArgumentException"/> that says what differs otherwise.
    /// </summary>
    /// <param name="environments">The environments.</param>
    /// <param name="what">How to name them in the message.</param>
    public virtual void CheckEnvironments(StructureEnvironments environments, string what = "structure")
    {
        ArgumentNullException.ThrowIfNull(environments);
        var mine = Descriptor;
        var theirs = environments.Settings;
        if (mine != theirs)
        {
            throw new ArgumentException(
                $"The environments of the {what} were built with r_c2 = {theirs.PairCutoffA} Å, r_c3 = {theirs.TripletCutoffA} Å, {Cutoffs.Name(theirs.CutoffFunction)} cutoff, " +
                $"but the kernel '{Name}' needs r_c2 = {mine.PairCutoffA} Å, r_c3 = {mine.TripletCutoffA} Å, {Cutoffs.Name(mine.CutoffFunction)} cutoff. Build them with kernel.Describe(structure).");
        }
    }

    /// <summary>Writes the kernel definition as a JSON object.</summary>
    /// <param name="writer">The writer.</param>
    internal abstract void WriteJson(Utf8JsonWriter writer);

    /// <inheritdoc />
    public string ToJson() => KernelSerializer.Serialize(this);

    /// <inheritdoc />
    public void Covariance(StructureEnvironments a, LabelSelection rows, StructureEnvironments b, LabelSelection columns,
        Span<double> values, Span<double> hyperparameterGradients)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(columns);
        rows.Validate(a.AtomCount, "row structure");
        columns.Validate(b.AtomCount, "column structure");
        CheckEnvironments(a, "row structure");
        CheckEnvironments(b, "column structure");
        if (rows.Stress)
        {
            CheckStress(a, "row structure");
        }

        if (columns.Stress)
        {
            CheckStress(b, "column structure");
        }

        int nr = rows.Count, nc = columns.Count, nh = HyperparameterCount;
        int size = nr * nc;
        if (values.Length < size)
        {
            throw new ArgumentException($"The output block needs {nr} × {nc} = {size} elements, got {values.Length}.", nameof(values));
        }

        bool wantGrad = !hyperparameterGradients.IsEmpty;
        if (wantGrad && hyperparameterGradients.Length < nh * size)
        {
            throw new ArgumentException($"The gradient output needs {nh} × {nr} × {nc} = {nh * size} elements, got {hyperparameterGradients.Length}.", nameof(hyperparameterGradients));
        }

        values[..size].Clear();
        if (wantGrad)
        {
            hyperparameterGradients[..(nh * size)].Clear();
        }

        if (!wantGrad && rows.IsForcesOnly && columns.IsForcesOnly)
        {
            Span<double> f = stackalloc double[9];
            var ra = rows.ForceAtoms;
            var cb = columns.ForceAtoms;
            for (int p = 0; p < ra.Length; p++)
            {
                var x = a[ra[p]];
                for (int q = 0; q < cb.Length; q++)
                {
                    f.Clear();
                    ForceCovariance(x, b[cb[q]], f);
                    for (int i = 0; i < 3; i++)
                    {
                        int r = (3 * p + i) * nc + 3 * q;
                        values[r] = f[3 * i];
                        values[r + 1] = f[3 * i + 1];
                        values[r + 2] = f[3 * i + 2];
                    }
                }
            }

            return;
        }

        if (wantGrad && rows.IsForcesOnly && columns.IsForcesOnly)
        {
            // Likelihood gradients of force labels: the 3 × 3 blocks and their derivatives alone.
            Span<double> f = stackalloc double[9];
            var gf = new double[9 * nh];
            var ra = rows.ForceAtoms;
            var cb = columns.ForceAtoms;
            for (int p = 0; p < ra.Length; p++)
            {
                var x = a[ra[p]];
                for (int q = 0; q < cb.Length; q++)
                {
                    f.Clear();
                    Array.Clear(gf);
                    ForceCovarianceWithGradients(x, b[cb[q]], f, gf);
                    for (int i = 0; i < 3; i++)
                    {
                        int r = (3 * p + i) * nc + 3 * q;
                        for (int j = 0; j < 3; j++)
                        {
                            values[r + j] = f[3 * i + j];
                            for (int h = 0; h < nh; h++)
                            {
                                hyperparameterGradients[h * size + r + j] = gf[9 * h + 3 * i + j];
                            }
                        }
                    }
                }
            }

            return;
        }

        if (columns.IsLocalEnergiesOnly)
        {
            LocalEnergyColumns(a, rows, b, columns, values, hyperparameterGradients);
            return;
        }

        var rowRoles = Roles.Create(a, rows);
        var colRoles = Roles.Create(b, columns);
        if (a.IsWholeStructure && b.IsWholeStructure && columns.LocalEnergyAtoms.Length == 0)
        {
            // Energy and stress labels are sums over whole structures: the summed blocks give them with less work;
            // local-energy rows take the local-energy column pass, turned around.
            SummedCovariance(a, rowRoles, b, colRoles, values, hyperparameterGradients, wantGrad ? nh : 0, size, nc);
            if (rows.LocalEnergyAtoms.Length > 0)
            {
                LocalEnergyRows(a, rows, b, colRoles, values, hyperparameterGradients, wantGrad ? nh : 0, size, nc);
            }

            return;
        }

        Span<double> block = stackalloc double[EnvironmentBlockSize];
        double[]? rented = wantGrad ? ArrayPool<double>.Shared.Rent(nh * EnvironmentBlockSize) : null;
        try
        {
            Span<double> grad = rented is null ? [] : rented.AsSpan(0, nh * EnvironmentBlockSize);
            Span<(int Index, int Label, double Factor)> re = stackalloc (int, int, double)[11];
            Span<(int Index, int Label, double Factor)> ce = stackalloc (int, int, double)[11];
            foreach (int c in rowRoles.Needed)
            {
                int nre = rowRoles.Entries(c, re);
                var x = a[c];
                foreach (int d in colRoles.Needed)
                {
                    int nce = colRoles.Entries(d, ce);
                    block.Clear();
                    grad.Clear();
                    EnvironmentCovariance(x, b[d], block, grad);
                    Scatter(block, grad, values, hyperparameterGradients, nh, size, nc, re[..nre], ce[..nce]);
                }
            }
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<double>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// The local-energy rows of <paramref name="rows"/> against any labels but local energies of
    /// <paramref name="columns"/>: cov(ε_c, label l of environment d) = cov(label l of d, ε_c), one
    /// <see cref="LocalEnergyCovariance"/> of (d, c) per environment pair, added into the column labels as
    /// <see cref="Scatter"/> would add the block's row 0.
    /// </summary>
    private void LocalEnergyRows(StructureEnvironments a, LabelSelection rows, StructureEnvironments b, Roles columns,
        Span<double> values, Span<double> hyperparameterGradients, int nh, int size, int nc)
    {
        Span<double> column = stackalloc double[EnvironmentLabelCount];
        double[]? rented = nh > 0 ? ArrayPool<double>.Shared.Rent(nh * EnvironmentLabelCount) : null;
        try
        {
            Span<double> grad = rented is null ? [] : rented.AsSpan(0, nh * EnvironmentLabelCount);
            Span<(int Index, int Label, double Factor)> ce = stackalloc (int, int, double)[11];
            var local = rows.LocalEnergyAtoms;
            for (int k = 0; k < local.Length; k++)
            {
                var x = a[local[k]];
                int row = (rows.LocalEnergyOffset + k) * nc;
                foreach (int d in columns.Needed)
                {
                    column.Clear();
                    grad.Clear();
                    LocalEnergyCovariance(b[d], x, column, grad);
                    foreach (var (ci, cl, cf) in ce[..columns.Entries(d, ce)])
                    {
                        values[row + ci] += cf * column[cl];
                        for (int h = 0; h < nh; h++)
                        {
                            hyperparameterGradients[h * size + row + ci] += cf * grad[h * EnvironmentLabelCount + cl];
                        }
                    }
                }
            }
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<double>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// Energy, force and stress labels (local energies of the rows go to <see cref="LocalEnergyRows"/>) of two whole structures from
    /// <see cref="SummedEnvironmentCovariance"/> blocks. Per environment pair only the entries against the column
    /// atom's force labels are scattered; the force × energy/stress entries are scattered once per row environment
    /// from the block sums over the column structure, and the energy/stress × energy/stress entries once from the
    /// sum over both (the energy and stress of a structure are sums over its environments, so this is
    /// <see cref="Scatter"/> of every block, summed in another order). Three blocks of memory, whatever the sizes.
    /// </summary>
    private void SummedCovariance(StructureEnvironments a, Roles rowRoles, StructureEnvironments b, Roles colRoles,
        Span<double> values, Span<double> hyperparameterGradients, int nh, int size, int nc)
    {
        const int bs = EnvironmentBlockSize;
        int len = (1 + nh) * bs; // a block, then its nh derivative blocks
        bool noForces = rowRoles.HasNoForces && colRoles.HasNoForces;
        double[] rented = ArrayPool<double>.Shared.Rent(3 * len);
        try
        {
            var work = rented.AsSpan(0, 3 * len);
            work.Clear();
            var pair = work[..len];
            var rowSum = work.Slice(len, len);
            var total = work.Slice(2 * len, len);
            Span<(int Index, int Label, double Factor)> rowEntries = stackalloc (int, int, double)[11];
            Span<(int Index, int Label, double Factor)> entries = stackalloc (int, int, double)[11];
            Span<(int Index, int Label, double Factor)> rowForce = stackalloc (int, int, double)[3];
            Span<(int Index, int Label, double Factor)> columnForce = stackalloc (int, int, double)[3];
            Span<(int Index, int Label, double Factor)> rowStructure = stackalloc (int, int, double)[7];
            Span<(int Index, int Label, double Factor)> columnStructure = stackalloc (int, int, double)[7];
            int nrs = 0, ncs = 0;
            foreach (int c in rowRoles.Needed)
            {
                int nre = rowRoles.Entries(c, rowEntries, includeLocalEnergy: false);
                int nrf = Split(rowEntries[..nre], rowForce, rowStructure, out nrs);
                if (nre == 0)
                {
                    continue; // an atom with a local-energy row alone
                }

                var x = a[c];
                rowSum.Clear();
                foreach (int d in colRoles.Needed)
                {
                    pair.Clear();
                    SummedEnvironmentCovariance(x, b[d], pair[..bs], pair[bs..], noForces);
                    int ncf = Split(entries[..colRoles.Entries(d, entries)], columnForce, columnStructure, out ncs);
                    // Every row label of c against the force labels of d, here; against d's energy and stress, summed over d below.
                    Scatter(pair[..bs], pair[bs..], values, hyperparameterGradients, nh, size, nc, rowEntries[..nre], columnForce[..ncf]);
                    KernelMath.AddTo(rowSum, pair);
                }

                Scatter(rowSum[..bs], rowSum[bs..], values, hyperparameterGradients, nh, size, nc, rowForce[..nrf], columnStructure[..ncs]);
                KernelMath.AddTo(total, rowSum);
            }

            Scatter(total[..bs], total[bs..], values, hyperparameterGradients, nh, size, nc, rowStructure[..nrs], columnStructure[..ncs]);
        }
        finally
        {
            ArrayPool<double>.Shared.Return(rented);
        }

        // The force entries (environment labels 1–3) and the structure entries (energy, virial) of an atom.
        static int Split(ReadOnlySpan<(int Index, int Label, double Factor)> all, Span<(int, int, double)> force, Span<(int, int, double)> structure, out int structureCount)
        {
            int nf = 0, ns = 0;
            foreach (var e in all)
            {
                if (e.Label is >= 1 and <= 3)
                {
                    force[nf++] = e;
                }
                else
                {
                    structure[ns++] = e;
                }
            }

            structureCount = ns;
            return nf;
        }
    }

    /// <summary>
    /// Any labels of one structure against local energies of another (the sparse GP's K_nu and the
    /// predictions' k*u): one <see cref="LocalEnergyCovariance"/> per environment pair, scattered into the
    /// row labels as <see cref="Scatter"/> does with the full block.
    /// </summary>
    private void LocalEnergyColumns(StructureEnvironments a, LabelSelection rows, StructureEnvironments b, LabelSelection columns,
        Span<double> values, Span<double> hyperparameterGradients)
    {
        int nc = columns.Count, nh = HyperparameterCount, size = rows.Count * nc;
        bool wantGrad = !hyperparameterGradients.IsEmpty;
        var rowRoles = Roles.Create(a, rows);
        var local = columns.LocalEnergyAtoms;
        int co = columns.LocalEnergyOffset;
        Span<double> column = stackalloc double[EnvironmentLabelCount];
        double[]? rented = wantGrad ? ArrayPool<double>.Shared.Rent(nh * EnvironmentLabelCount) : null;
        try
        {
            Span<double> grad = rented is null ? [] : rented.AsSpan(0, nh * EnvironmentLabelCount);
            Span<(int Index, int Label, double Factor)> re = stackalloc (int, int, double)[11];
            foreach (int c in rowRoles.Needed)
            {
                int nre = rowRoles.Entries(c, re);
                var x = a[c];
                for (int k = 0; k < local.Length; k++)
                {
                    column.Clear();
                    grad.Clear();
                    LocalEnergyCovariance(x, b[local[k]], column, grad);
                    int ci = co + k;
                    foreach (var (ri, rl, rf) in re[..nre])
                    {
                        values[ri * nc + ci] += rf * column[rl];
                        for (int h = 0; h < nh && wantGrad; h++)
                        {
                            hyperparameterGradients[h * size + ri * nc + ci] += rf * grad[h * EnvironmentLabelCount + rl];
                        }
                    }
                }
            }
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<double>.Shared.Return(rented);
            }
        }
    }

    /// <inheritdoc />
    public void Variance(StructureEnvironments a, LabelSelection labels, Span<double> variances)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(labels);
        labels.Validate(a.AtomCount);
        CheckEnvironments(a);
        if (labels.Stress)
        {
            CheckStress(a, "structure");
        }

        if (variances.Length < labels.Count)
        {
            throw new ArgumentException($"The output needs {labels.Count} elements, got {variances.Length}.", nameof(variances));
        }

        variances[..labels.Count].Clear();
        Span<double> block = stackalloc double[EnvironmentBlockSize];
        if (labels.Energy || labels.Stress)
        {
            double inv = labels.Stress ? 1.0 / a.VolumeA3 : 0;
            for (int c = 0; c < a.AtomCount; c++)
            {
                for (int d = 0; d < a.AtomCount; d++)
                {
                    block.Clear();
                    if (a.IsWholeStructure)
                    {
                        SummedEnvironmentCovariance(a[c], a[d], block, [], energyAndStressOnly: true);
                    }
                    else
                    {
                        EnvironmentCovariance(a[c], a[d], block, []);
                    }

                    if (labels.Energy)
                    {
                        variances[0] += block[0];
                    }

                    if (labels.Stress)
                    {
                        for (int v = 0; v < 6; v++)
                        {
                            variances[labels.StressOffset + v] += block[(4 + v) * (EnvironmentLabelCount + 1)] * inv * inv;
                        }
                    }
                }
            }
        }

        Span<double> f = stackalloc double[9];
        for (int k = 0; k < labels.ForceAtoms.Length; k++)
        {
            var x = a[labels.ForceAtoms[k]];
            f.Clear();
            ForceCovariance(x, x, f);
            for (int i = 0; i < 3; i++)
            {
                variances[labels.ForceOffset + 3 * k + i] = f[4 * i];
            }
        }

        for (int k = 0; k < labels.LocalEnergyAtoms.Length; k++)
        {
            var x = a[labels.LocalEnergyAtoms[k]];
            block.Clear();
            EnvironmentCovariance(x, x, block, []);
            variances[labels.LocalEnergyOffset + k] = block[0];
        }
    }

    private static void CheckStress(StructureEnvironments e, string what)
    {
        if (!e.Pbc.AllPeriodic || !(e.VolumeA3 > 0))
        {
            throw new ArgumentException($"Stress labels were requested for the {what}, but it is not periodic along all three axes with a positive volume (pbc {e.Pbc}, volume {e.VolumeA3} Å³).");
        }
    }

    /// <summary>
    /// Adds an environment-pair block (and, when <paramref name="gradients"/> is not empty, its <paramref name="nh"/>
    /// derivative blocks) to the labels the two environments enter: entry (row label ri, column label ci) gets
    /// rf · cf · block[rl, cl] for every row entry (ri, rl, rf) and column entry (ci, cl, cf) (derivative h at
    /// h · <paramref name="size"/>). The entries come from <see cref="Roles"/>, within the outputs.
    /// </summary>
    private static void Scatter(ReadOnlySpan<double> block, ReadOnlySpan<double> gradients, Span<double> values, Span<double> hyperparameterGradients,
        int nh, int size, int nc, ReadOnlySpan<(int Index, int Label, double Factor)> re, ReadOnlySpan<(int Index, int Label, double Factor)> ce)
    {
        ref double v = ref MemoryMarshal.GetReference(values);
        ref double bl = ref MemoryMarshal.GetReference(block);
        ref double hg = ref MemoryMarshal.GetReference(hyperparameterGradients);
        ref double gr = ref MemoryMarshal.GetReference(gradients);
        bool wantGrad = !gradients.IsEmpty;
        foreach (var (ri, rl, rf) in re)
        {
            int rowBase = ri * nc;
            int blockBase = rl * EnvironmentLabelCount;
            foreach (var (ci, cl, cf) in ce)
            {
                int t = rowBase + ci, o = blockBase + cl;
                double f = rf * cf;
                Unsafe.Add(ref v, t) += f * Unsafe.Add(ref bl, o);
                if (wantGrad)
                {
                    for (int h = 0; h < nh; h++)
                    {
                        Unsafe.Add(ref hg, h * size + t) += f * Unsafe.Add(ref gr, h * EnvironmentBlockSize + o);
                    }
                }
            }
        }
    }

    /// <summary>How the environment labels of each atom map to the rows of a label selection.</summary>
    private sealed class Roles
    {
        private readonly LabelSelection _sel;
        private readonly int[] _forceRow;
        private readonly int[] _localRow;
        private readonly double _invVolume;

        private Roles(LabelSelection sel, int[] forceRow, int[] localRow, double invVolume, int[] needed)
        {
            _sel = sel;
            _forceRow = forceRow;
            _localRow = localRow;
            _invVolume = invVolume;
            Needed = needed;
        }

        public int[] Needed { get; }

        /// <summary>True when the selection has no force labels.</summary>
        public bool HasNoForces => _sel.ForceAtoms.Length == 0;

        public static Roles Create(StructureEnvironments e, LabelSelection sel)
        {
            int n = e.AtomCount;
            var forceRow = new int[n];
            var localRow = new int[n];
            Array.Fill(forceRow, -1);
            Array.Fill(localRow, -1);
            for (int k = 0; k < sel.ForceAtoms.Length; k++)
            {
                forceRow[sel.ForceAtoms[k]] = sel.ForceOffset + 3 * k;
            }

            for (int k = 0; k < sel.LocalEnergyAtoms.Length; k++)
            {
                localRow[sel.LocalEnergyAtoms[k]] = sel.LocalEnergyOffset + k;
            }

            bool all = sel.Energy || sel.Stress;
            var needed = Enumerable.Range(0, n).Where(i => all || forceRow[i] >= 0 || localRow[i] >= 0).ToArray();
            return new Roles(sel, forceRow, localRow, sel.Stress ? 1.0 / e.VolumeA3 : 0, needed);
        }

        public int Entries(int atom, Span<(int Index, int Label, double Factor)> entries, bool includeLocalEnergy = true)
        {
            int k = 0;
            if (_sel.Energy)
            {
                entries[k++] = (0, 0, 1.0);
            }

            int fr = _forceRow[atom];
            if (fr >= 0)
            {
                for (int i = 0; i < 3; i++)
                {
                    entries[k++] = (fr + i, 1 + i, 1.0);
                }
            }

            if (_sel.Stress)
            {
                for (int v = 0; v < 6; v++)
                {
                    entries[k++] = (_sel.StressOffset + v, 4 + v, _invVolume);
                }
            }

            int lr = includeLocalEnergy ? _localRow[atom] : -1;
            if (lr >= 0)
            {
                entries[k++] = (lr, 0, 1.0);
            }

            return k;
        }
    }
}
