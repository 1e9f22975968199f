namespace Gpff;

/// <summary>The value type of a per-atom property (extended XYZ's S, R, I and L).</summary>
public enum AtomPropertyType
{
    /// <summary>Text (extxyz type S).</summary>
    String,

    /// <summary>Double-precision number (extxyz type R).</summary>
    Real,

    /// <summary>64-bit integer (extxyz type I).</summary>
    Integer,

    /// <summary>Boolean (extxyz type L).</summary>
    Logical,
}

/// <summary>
/// A named per-atom array with one or more columns (e.g. charges, magnetic moments, tags), kept with
/// a structure and written back to files. Values are stored atom-major: atom i, column c is at
/// index i·Columns + c of the one array that matches <see cref="Type"/>.
/// </summary>
public sealed class AtomProperty
{
    private AtomProperty(string name, AtomPropertyType type, int columns, int atomCount)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(atomCount);
        Name = name;
        Type = type;
        Columns = columns;
        AtomCount = atomCount;
    }

    /// <summary>Property name (e.g. "charges").</summary>
    public string Name { get; }

    /// <summary>Value type.</summary>
    public AtomPropertyType Type { get; }

    /// <summary>Number of columns per atom.</summary>
    public int Columns { get; }

    /// <summary>Number of atoms.</summary>
    public int AtomCount { get; }

    /// <summary>Values when <see cref="Type"/> is Real, else null.</summary>
    public double[]? Reals { get; private init; }

    /// <summary>Values when <see cref="Type"/> is Integer, else null.</summary>
    public long[]? Integers { get; private init; }

    /// <summary>Values when <see cref="Type"/> is Logical, else null.</summary>
    public bool[]? Logicals { get; private init; }

    /// <summary>Values when <see cref="Type"/> is String, else null.</summary>
    public string[]? Strings { get; private init; }

    /// <summary>Creates a zero-filled property of the given type.</summary>
    /// <param name="name">Property name.</param>
    /// <param name="type">Value type.</param>
    /// <param name="columns">Columns per atom.</param>
    /// <param name="atomCount">Number of atoms.</param>
    public static AtomProperty Create(string name, AtomPropertyType type, int columns, int atomCount)
    {
        int n = checked(columns * atomCount);
        return type switch
        {
            AtomPropertyType.Real => new AtomProperty(name, type, columns, atomCount) { Reals = new double[n] },
            AtomPropertyType.Integer => new AtomProperty(name, type, columns, atomCount) { Integers = new long[n] },
            AtomPropertyType.Logical => new AtomProperty(name, type, columns, atomCount) { Logicals = new bool[n] },
            AtomPropertyType.String => new AtomProperty(name, type, columns, atomCount) { Strings = Enumerable.Repeat(string.Empty, n).ToArray() },
            _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown property type."),
        };
    }

    /// <summary>Wraps real values (atom-major, length atomCount·columns).</summary>
    /// <param name="name">Property name.</param>
    /// <param name="columns">Columns per atom.</param>
    /// <param name="values">Values.</param>
    public static AtomProperty FromReals(string name, int columns, double[] values) =>
        new(name, AtomPropertyType.Real, columns, CountAtoms(values.Length, columns, name)) { Reals = values };

    /// <summary>Wraps integer values (atom-major).</summary>
    /// <param name="name">Property name.</param>
    /// <param name="columns">Columns per atom.</param>
    /// <param name="values">Values.</param>
    public static AtomProperty FromIntegers(string name, int columns, long[] values) =>
        new(name, AtomPropertyType.Integer, columns, CountAtoms(values.Length, columns, name)) { Integers = values };

    /// <summary>Wraps logical values (atom-major).</summary>
    /// <param name="name">Property name.</param>
    /// <param name="columns">Columns per atom.</param>
    /// <param name="values">Values.</param>
    public static AtomProperty FromLogicals(string name, int columns, bool[] values) =>
        new(name, AtomPropertyType.Logical, columns, CountAtoms(values.Length, columns, name)) { Logicals = values };

    /// <summary>Wraps string values (atom-major).</summary>
    /// <param name="name">Property name.</param>
    /// <param name="columns">Columns per atom.</param>
    /// <param name="values">Values.</param>
    public static AtomProperty FromStrings(string name, int columns, string[] values) =>
        new(name, AtomPropertyType.String, columns, CountAtoms(values.Length, columns, name)) { Strings = values };

    /// <summary>A deep copy.</summary>
    public AtomProperty Clone() => new(Name, Type, Columns, AtomCount)
    {
        Reals = (double[]?)Reals?.Clone(),
        Integers = (long[]?)Integers?.Clone(),
        Logicals = (bool[]?)Logicals?.Clone(),
        Strings = (string[]?)Strings?.Clone(),
    };

    /// <summary>A copy with the atoms picked (in order) by <paramref name="atomIndices"/>.</summary>
    /// <param name="atomIndices">Source atom of each new atom.</param>
    public AtomProperty Select(IReadOnlyList<int> atomIndices)
    {
        var result = Create(Name, Type, Columns, atomIndices.Count);
        for (int k = 0; k < atomIndices.Count; k++)
        {
            int src = atomIndices[k] * Columns, dst = k * Columns;
            for (int c = 0; c < Columns; c++)
            {
                switch (Type)
                {
                    case AtomPropertyType.Real: result.Reals![dst + c] = Reals![src + c]; break;
                    case AtomPropertyType.Integer: result.Integers![dst + c] = Integers![src + c]; break;
                    case AtomPropertyType.Logical: result.Logicals![dst + c] = Logicals![src + c]; break;
                    default: result.Strings![dst + c] = Strings![src + c]; break;
                }
            }
        }

        return result;
    }

    private static int CountAtoms(int length, int columns, string name)
    {
        if (columns < 1 || length % columns != 0)
        {
            throw new ArgumentException($"Property '{name}': {length} values do not fill whole rows of {columns} columns.");
        }

        return length / columns;
    }
}
