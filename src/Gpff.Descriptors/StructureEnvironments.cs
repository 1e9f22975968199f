using Gpff.Geometry;

namespace Gpff.Descriptors;

/// <summary>
/// The local environments of every atom of one structure, as the kernels consume them: kernels
/// never see a <see cref="Structure"/>, only this. Built once per structure and reused.
/// </summary>
public sealed class StructureEnvironments
{
    // NOTE (kernels issue): this type is the seam between descriptors/kernels and the solver.
    // The members below are the contract the solver relies on; the environment arrays are added
    // by the descriptors implementation.

    /// <summary>Creates the container.</summary>
    /// <param name="atomicNumbers">Species of each atom.</param>
    /// <param name="cellA">Cell (rows are lattice vectors, Å).</param>
    /// <param name="pbc">Periodicity.</param>
    public StructureEnvironments(int[] atomicNumbers, Mat3 cellA, Pbc pbc)
    {
        AtomicNumbers = atomicNumbers;
        CellA = cellA;
        Pbc = pbc;
    }

    /// <summary>Number of atoms (= number of environments).</summary>
    public int AtomCount => AtomicNumbers.Length;

    /// <summary>Species of each atom.</summary>
    public int[] AtomicNumbers { get; }

    /// <summary>Cell in Å.</summary>
    public Mat3 CellA { get; }

    /// <summary>Periodicity.</summary>
    public Pbc Pbc { get; }

    /// <summary>Cell volume in Å³ (stress covariances are per unit volume).</summary>
    public double VolumeA3 => Math.Abs(CellA.Determinant);
}
