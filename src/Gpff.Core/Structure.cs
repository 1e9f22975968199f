using System.Text;
using Gpff.Geometry;

namespace Gpff;

/// <summary>
/// An atomic structure: a 3×3 cell (rows are the lattice vectors a, b, c in Å), Cartesian positions
/// (Å), chemical species and periodicity per axis, with optional labels: total energy (eV), forces
/// (eV/Å), stress (Voigt, eV/Å³, ASE sign: positive = tensile) and arbitrary named per-structure
/// (<see cref="Info"/>) and per-atom (<see cref="AtomProperties"/>) values.
/// Positions and labels are mutable arrays, as in ASE's Atoms; species are fixed at construction.
/// </summary>
public sealed class Structure
{
    /// <summary>The default smallest allowed interatomic distance, 0.1 Å.</summary>
    public const double DefaultMinimumDistanceA = 0.1;

    /// <summary>
    /// The largest number density <see cref="Validate"/> accepts for a 3D-periodic cell, 1 atom/Å³:
    /// five times that of the densest solids (diamond: 0.18 atoms/Å³), and far beyond any pressure DFT data
    /// are computed at. Denser cells are mistakes (a wrong unit or scale of the lattice) that would only
    /// make the neighbour lists explode.
    /// </summary>
    public const double MaximumDensityPerA3 = 1.0;

    private readonly int[] _atomicNumbers;
    private Vec3[]? _forces;

    /// <summary>Creates a structure from atomic numbers.</summary>
    /// <param name="atomicNumbers">Z of each atom.</param>
    /// <param name="positionsA">Cartesian positions in Å (the array is taken, not copied).</param>
    /// <param name="cellA">Cell, rows are lattice vectors in Å.</param>
    /// <param name="pbc">Periodicity per axis.</param>
    public Structure(IEnumerable<int> atomicNumbers, Vec3[] positionsA, Mat3 cellA, Pbc pbc)
    {
        ArgumentNullException.ThrowIfNull(atomicNumbers);
        ArgumentNullException.ThrowIfNull(positionsA);
        _atomicNumbers = atomicNumbers.ToArray();
        if (_atomicNumbers.Length != positionsA.Length)
        {
            throw new ArgumentException($"{_atomicNumbers.Length} species were given for {positionsA.Length} positions.", nameof(positionsA));
        }

        for (int i = 0; i < _atomicNumbers.Length; i++)
        {
            int z = _atomicNumbers[i];
            if (z < 1 || z > Elements.MaxAtomicNumber)
            {
                throw new UnknownSpeciesException($"Atom {i}: atomic number {z} is not an element.");
            }
        }

        Positions = positionsA;
        Cell = cellA;
        Pbc = pbc;
    }

    /// <summary>Creates a structure from chemical symbols ("Ba", "Rh", "O").</summary>
    /// <param name="symbols">Symbol of each atom.</param>
    /// <param name="positionsA">Cartesian positions in Å (the array is taken, not copied).</param>
    /// <param name="cellA">Cell, rows are lattice vectors in Å.</param>
    /// <param name="pbc">Periodicity per axis.</param>
    public Structure(IEnumerable<string> symbols, Vec3[] positionsA, Mat3 cellA, Pbc pbc)
        : this(SymbolsToNumbers(symbols), positionsA, cellA, pbc)
    {
    }

    /// <summary>Number of atoms.</summary>
    public int AtomCount => _atomicNumbers.Length;

    /// <summary>Atomic numbers (read-only view).</summary>
    public ReadOnlySpan<int> AtomicNumbers => _atomicNumbers;

    /// <summary>Cartesian positions in Å; the array may be modified in place.</summary>
    public Vec3[] Positions { get; private set; }

    /// <summary>Cell in Å; rows are the lattice vectors.</summary>
    public Mat3 Cell { get; set; }

    /// <summary>Periodicity per axis.</summary>
    public Pbc Pbc { get; set; }

    /// <summary>Total energy label in eV, or null when absent.</summary>
    public double? EnergyEv { get; set; }

    /// <summary>Force labels in eV/Å (one per atom), or null when absent.</summary>
    public Vec3[]? ForcesEvPerA
    {
        get => _forces;
        set
        {
            if (value is not null && value.Length != AtomCount)
            {
                throw new ArgumentException($"{value.Length} forces were given for {AtomCount} atoms.", nameof(value));
            }

            _forces = value;
        }
    }

    /// <summary>Stress label in eV/Å³ (Voigt; ASE sign: positive = tensile), or null when absent.</summary>
    public Voigt? StressEvPerA3 { get; set; }

    /// <summary>Free-form per-structure values (string, long, double, bool, or arrays of double, long, bool), in insertion order.</summary>
    public OrderedDictionary<string, object> Info { get; } = new(StringComparer.Ordinal);

    /// <summary>Further per-atom arrays beyond species, positions and forces, in insertion order.</summary>
    public OrderedDictionary<string, AtomProperty> AtomProperties { get; } = new(StringComparer.Ordinal);

    /// <summary>Chemical symbol of atom <paramref name="index"/>.</summary>
    /// <param name="index">Atom index.</param>
    public string Symbol(int index) => Elements.Symbol(_atomicNumbers[index]);

    /// <summary>Chemical symbols of all atoms.</summary>
    public string[] Symbols() => _atomicNumbers.Select(Elements.Symbol).ToArray();

    /// <summary>Masses in amu (a Real "masses" property if present, else standard masses).</summary>
    public double[] MassesAmu()
    {
        if (AtomProperties.TryGetValue("masses", out var m) && m.Type == AtomPropertyType.Real && m.Columns == 1)
        {
            return (double[])m.Reals!.Clone();
        }

        return _atomicNumbers.Select(Elements.MassAmu).ToArray();
    }

    /// <summary>Cell volume |det(cell)| in Å³.</summary>
    public double VolumeA3 => Math.Abs(Cell.Determinant);

    /// <summary>
    /// The perpendicular widths of the cell in Å: the distance between opposite faces along each
    /// lattice direction, V / |b × c| etc. A cutoff needs ceil(r_c / width) images along an axis.
    /// </summary>
    public Vec3 PerpendicularWidthsA() => PerpendicularWidths(Cell);

    /// <summary>Perpendicular widths of any cell, in the cell's length unit.</summary>
    /// <param name="cell">Cell, rows are lattice vectors.</param>
    public static Vec3 PerpendicularWidths(Mat3 cell)
    {
        double v = Math.Abs(cell.Determinant);
        Vec3 a = cell.Row0, b = cell.Row1, c = cell.Row2;
        double wa = Vec3.Cross(b, c).Length, wb = Vec3.Cross(c, a).Length, wc = Vec3.Cross(a, b).Length;
        return new(wa > 0 ? v / wa : 0, wb > 0 ? v / wb : 0, wc > 0 ? v / wc : 0);
    }

    /// <summary>Converts a Cartesian position (Å) to fractional coordinates.</summary>
    /// <param name="cartesianA">Cartesian position.</param>
    public Vec3 ToFractional(Vec3 cartesianA) => cartesianA * Cell.Inverse();

    /// <summary>Converts fractional coordinates to a Cartesian position (Å).</summary>
    /// <param name="fractional">Fractional coordinates.</param>
    public Vec3 ToCartesian(Vec3 fractional) => fractional * Cell;

    /// <summary>Fractional coordinates of all atoms.</summary>
    public Vec3[] FractionalPositions()
    {
        var inv = Cell.Inverse();
        return Positions.Select(p => p * inv).ToArray();
    }

    /// <summary>Sets all positions from fractional coordinates.</summary>
    /// <param name="fractional">One fractional position per atom.</param>
    public void SetFractionalPositions(ReadOnlySpan<Vec3> fractional)
    {
        if (fractional.Length != AtomCount)
        {
            throw new ArgumentException($"{fractional.Length} positions were given for {AtomCount} atoms.", nameof(fractional));
        }

        for (int i = 0; i < fractional.Length; i++)
        {
            Positions[i] = fractional[i] * Cell;
        }
    }

    /// <summary>Wraps atoms into the cell along the periodic axes (fractional coordinates in [0, 1)).</summary>
    public void Wrap()
    {
        var inv = Cell.Inverse();
        for (int i = 0; i < AtomCount; i++)
        {
            var f = Positions[i] * inv;
            f = new Vec3(
                Pbc.A ? WrapUnit(f.X) : f.X,
                Pbc.B ? WrapUnit(f.Y) : f.Y,
                Pbc.C ? WrapUnit(f.Z) : f.Z);
            Positions[i] = f * Cell;
        }
    }

    private static double WrapUnit(double x)
    {
        double w = x - Math.Floor(x);
        return w >= 1.0 ? 0.0 : w;
    }

    /// <summary>
    /// A supercell repeating this structure na × nb × nc times. Per-atom labels and properties are
    /// repeated; extensive labels (energy, and the stress, which is intensive, is kept) are scaled.
    /// </summary>
    /// <param name="na">Repeats along a.</param>
    /// <param name="nb">Repeats along b.</param>
    /// <param name="nc">Repeats along c.</param>
    public Structure Repeat(int na, int nb, int nc)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(na, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(nb, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(nc, 1);
        int copies = na * nb * nc;
        var z = new int[AtomCount * copies];
        var pos = new Vec3[AtomCount * copies];
        var sourceAtom = new int[AtomCount * copies];
        int k = 0;
        for (int ia = 0; ia < na; ia++)
        {
            for (int ib = 0; ib < nb; ib++)
            {
                for (int ic = 0; ic < nc; ic++)
                {
                    var shift = new Vec3(ia, ib, ic) * Cell;
                    for (int i = 0; i < AtomCount; i++, k++)
                    {
                        z[k] = _atomicNumbers[i];
                        pos[k] = Positions[i] + shift;
                        sourceAtom[k] = i;
                    }
                }
            }
        }

        var cell = Mat3.FromRows(na * Cell.Row0, nb * Cell.Row1, nc * Cell.Row2);
        var s = new Structure(z, pos, cell, Pbc)
        {
            EnergyEv = EnergyEv * copies,
            StressEvPerA3 = StressEvPerA3,
            ForcesEvPerA = ForcesEvPerA is null ? null : sourceAtom.Select(i => ForcesEvPerA[i]).ToArray(),
        };
        foreach (var (key, value) in Info)
        {
            s.Info[key] = value;
        }

        foreach (var (key, value) in AtomProperties)
        {
            s.AtomProperties[key] = value.Select(sourceAtom);
        }

        return s;
    }

    /// <summary>
    /// Applies a homogeneous deformation: every Cartesian vector x becomes F·x, so the cell rows
    /// become cell·Fᵀ and positions r·Fᵀ. Labels are dropped (they no longer describe the structure).
    /// </summary>
    /// <param name="deformationGradient">F (acting on column vectors).</param>
    public Structure Deformed(Mat3 deformationGradient)
    {
        var ft = deformationGradient.Transpose();
        var s = CloneWithoutLabels();
        s.Cell = Cell * ft;
        for (int i = 0; i < AtomCount; i++)
        {
            s.Positions[i] = Positions[i] * ft;
        }

        return s;
    }

    /// <summary>Applies a homogeneous symmetric strain ε (Voigt, engineering off-diagonals NOT used: ε_yz etc. are tensor components): F = I + ε.</summary>
    /// <param name="strain">Strain tensor components in Voigt order.</param>
    public Structure Strained(Voigt strain) => Deformed(Mat3.Identity + strain.ToMatrix());

    /// <summary>A deep copy, labels included.</summary>
    public Structure Clone()
    {
        var s = CloneWithoutLabels();
        s.EnergyEv = EnergyEv;
        s.StressEvPerA3 = StressEvPerA3;
        s.ForcesEvPerA = (Vec3[]?)ForcesEvPerA?.Clone();
        foreach (var (key, value) in Info)
        {
            s.Info[key] = value is Array a ? a.Clone() : value;
        }

        foreach (var (key, value) in AtomProperties)
        {
            s.AtomProperties[key] = value.Clone();
        }

        return s;
    }

    /// <summary>A copy of species, positions, cell and periodicity only.</summary>
    public Structure CloneWithoutLabels() => new(_atomicNumbers, (Vec3[])Positions.Clone(), Cell, Pbc);

    /// <summary>Atom counts per chemical symbol, in order of first appearance.</summary>
    public IReadOnlyDictionary<string, int> Composition()
    {
        var counts = new OrderedDictionary<string, int>(StringComparer.Ordinal);
        foreach (int z in _atomicNumbers)
        {
            string sym = Elements.Symbol(z);
            counts[sym] = counts.TryGetValue(sym, out int c) ? c + 1 : 1;
        }

        return counts;
    }

    /// <summary>The chemical formula in Hill order (C, H, then alphabetical; alphabetical without carbon), e.g. "Ba2O4Rh".</summary>
    public string HillFormula() => Formula(reduce: false);

    /// <summary>The reduced formula in Hill order (counts divided by their greatest common divisor), e.g. "O2Rh" for a 6-atom rutile cell.</summary>
    public string ReducedFormula() => Formula(reduce: true);

    private string Formula(bool reduce)
    {
        var counts = Composition();
        int divisor = 1;
        if (reduce && counts.Count > 0)
        {
            divisor = counts.Values.Aggregate(0, (a, b) =>
            {
                while (b != 0)
                {
                    (a, b) = (b, a % b);
                }

                return a;
            });
        }

        IEnumerable<string> order = counts.ContainsKey("C")
            ? new[] { "C", "H" }.Where(counts.ContainsKey).Concat(counts.Keys.Where(k => k != "C" && k != "H").Order(StringComparer.Ordinal))
            : counts.Keys.Order(StringComparer.Ordinal);
        var sb = new StringBuilder();
        foreach (var sym in order)
        {
            sb.Append(sym);
            int n = counts[sym] / divisor;
            if (n != 1)
            {
                sb.Append(n);
            }
        }

        return sb.ToString();
    }

    /// <summary>
    /// Checks the structure and throws <see cref="InvalidStructureException"/> with a clear message
    /// when a coordinate or cell element is NaN or infinite, the cell is singular or left-handed
    /// while an axis is periodic, two atoms (periodic images included) are closer than
    /// <paramref name="minimumDistanceA"/>, or a 3D-periodic cell holds more than
    /// <see cref="MaximumDensityPerA3"/> atoms per Å³.
    /// </summary>
    /// <param name="minimumDistanceA">Smallest allowed interatomic distance in Å (0 disables the check).</param>
    /// <param name="allowLeftHandedCell">Accept a cell with negative determinant.</param>
    public void Validate(double minimumDistanceA = DefaultMinimumDistanceA, bool allowLeftHandedCell = false)
    {
        for (int i = 0; i < AtomCount; i++)
        {
            if (!Positions[i].IsFinite)
            {
                throw new InvalidStructureException($"Atom {i} ({Symbol(i)}) has a non-finite position {Positions[i]}.");
            }
        }

        ValidateCell(Cell, Pbc, allowLeftHandedCell);
        if (minimumDistanceA > 0 && AtomCount > 0)
        {
            var nl = NeighborList.Build(this, minimumDistanceA, NeighborListKind.Half);
            for (int i = 0; i < AtomCount; i++)
            {
                var dist = nl.Distances(i);
                if (dist.Length > 0)
                {
                    int k = 0;
                    for (int m = 1; m < dist.Length; m++)
                    {
                        if (dist[m] < dist[k])
                        {
                            k = m;
                        }
                    }

                    int j = nl.Neighbors(i)[k];
                    string what = j == i ? $"its own periodic image {nl.Shifts(i)[k]}" : $"atom {j} ({Symbol(j)})";
                    throw new InvalidStructureException(
                        $"Atom {i} ({Symbol(i)}) is {dist[k]:G6} Å from {what}, closer than the minimum distance {minimumDistanceA:G6} Å.");
                }
            }
        }

        if (Pbc.AllPeriodic && AtomCount / VolumeA3 > MaximumDensityPerA3)
        {
            throw new InvalidStructureException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"The cell holds {AtomCount} atoms in {VolumeA3:G4} Å³ ({AtomCount / VolumeA3:G3} atoms/Å³), denser than any material (at most {MaximumDensityPerA3} atoms/Å³ is accepted); check the unit and scale of the lattice vectors."));
        }
    }

    /// <summary>Checks a cell: finite, and non-singular and right-handed when any axis is periodic.</summary>
    /// <param name="cellA">Cell, rows are lattice vectors.</param>
    /// <param name="pbc">Periodicity.</param>
    /// <param name="allowLeftHandedCell">Accept a negative determinant.</param>
    public static void ValidateCell(Mat3 cellA, Pbc pbc, bool allowLeftHandedCell = false)
    {
        if (!cellA.IsFinite)
        {
            throw new InvalidStructureException($"The cell has a non-finite element: {cellA}.");
        }

        for (int axis = 0; axis < 3; axis++)
        {
            if (pbc[axis] && cellA.Row(axis).Length == 0)
            {
                throw new InvalidStructureException($"Axis {"abc"[axis]} is periodic but its lattice vector is zero.");
            }
        }

        if (!pbc.Any)
        {
            return;
        }

        double det = cellA.Determinant;
        double scale = cellA.Row0.Length * cellA.Row1.Length * cellA.Row2.Length;
        if (pbc.AllPeriodic && (scale == 0 || Math.Abs(det) < 1e-10 * scale))
        {
            throw new InvalidStructureException(
                $"The cell is singular (volume {det:G6} Å³): its lattice vectors are linearly dependent. Cell: {cellA}.");
        }

        if (det < 0 && !allowLeftHandedCell)
        {
            throw new InvalidStructureException(
                $"The cell is left-handed (determinant {det:G6} Å³ < 0): the lattice vectors are probably in the wrong order or one has the wrong sign. Cell: {cellA}. Pass allowLeftHandedCell to accept it.");
        }
    }

    private static IEnumerable<int> SymbolsToNumbers(IEnumerable<string> symbols)
    {
        ArgumentNullException.ThrowIfNull(symbols);
        int i = 0;
        foreach (var s in symbols)
        {
            if (!Elements.TryGetAtomicNumber(s, out int z))
            {
                throw new UnknownSpeciesException($"Atom {i}: unknown chemical symbol '{s}'.");
            }

            yield return z;
            i++;
        }
    }
}

/// <summary>Thrown when a structure is not physically usable (NaN coordinates, bad cell, overlapping atoms).</summary>
public sealed class InvalidStructureException : ArgumentException
{
    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What is wrong and where.</param>
    public InvalidStructureException(string message) : base(message) { }
}
