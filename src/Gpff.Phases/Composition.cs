using System.Globalization;
using System.Text;

namespace Gpff.Phases;

/// <summary>
/// A chemical composition: amounts (atoms per formula unit, may be fractional) of each element, in
/// the order the elements were first written. Immutable. Parse formulas such as <c>Ba2RhO4</c>,
/// <c>BaO</c>, <c>Rh</c>, <c>(BaO)2RhO2</c>, <c>Li0.5CoO2</c> with <see cref="Parse"/>.
/// </summary>
public sealed class Composition : IEquatable<Composition>
{
    private readonly string[] _elements;
    private readonly double[] _amounts;

    /// <summary>Creates a composition from element symbols and their amounts (atoms per formula unit).</summary>
    /// <param name="amounts">Symbol → amount pairs; a symbol may repeat (amounts add up). Amounts must be finite and ≥ 0; zero amounts are dropped.</param>
    /// <exception cref="ArgumentException">Unknown element symbol, negative or non-finite amount, or no atoms at all.</exception>
    public Composition(IEnumerable<KeyValuePair<string, double>> amounts)
    {
        ArgumentNullException.ThrowIfNull(amounts);
        var order = new List<string>();
        var sum = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (symbol, amount) in amounts)
        {
            if (!Gpff.Elements.TryGetAtomicNumber(symbol, out _))
            {
                throw new UnknownSpeciesException($"Unknown chemical symbol '{symbol}' in a composition.");
            }

            if (!double.IsFinite(amount) || amount < 0)
            {
                throw new ArgumentException($"The amount of {symbol} must be a finite number ≥ 0, got {amount.ToString(CultureInfo.InvariantCulture)}.", nameof(amounts));
            }

            if (!sum.ContainsKey(symbol))
            {
                order.Add(symbol);
                sum[symbol] = 0;
            }

            sum[symbol] += amount;
        }

        order.RemoveAll(s => sum[s] == 0);
        if (order.Count == 0)
        {
            throw new ArgumentException("A composition needs at least one atom.", nameof(amounts));
        }

        _elements = [.. order];
        _amounts = order.Select(s => sum[s]).ToArray();
        NumAtoms = _amounts.Sum();
    }

    /// <summary>The elements present (amount &gt; 0), in order of first appearance.</summary>
    public IReadOnlyList<string> Elements => _elements;

    /// <summary>Total number of atoms per formula unit (the sum of the amounts).</summary>
    public double NumAtoms { get; }

    /// <summary>True when only one element is present.</summary>
    public bool IsElement => _elements.Length == 1;

    /// <summary>The amount of an element (0 when absent).</summary>
    /// <param name="symbol">Chemical symbol, e.g. "Ba".</param>
    public double this[string symbol]
    {
        get
        {
            int i = Array.IndexOf(_elements, symbol);
            return i < 0 ? 0.0 : _amounts[i];
        }
    }

    /// <summary>The atomic fraction of an element, amount / <see cref="NumAtoms"/> (0 when absent).</summary>
    /// <param name="symbol">Chemical symbol.</param>
    public double AtomicFraction(string symbol) => this[symbol] / NumAtoms;

    /// <summary>The composition scaled to one atom in total (the atomic fractions).</summary>
    public Composition Fractional() => Scaled(1.0 / NumAtoms);

    /// <summary>The composition with every amount multiplied by <paramref name="factor"/> (&gt; 0).</summary>
    /// <param name="factor">Positive scale factor.</param>
    public Composition Scaled(double factor)
    {
        if (!(factor > 0) || !double.IsFinite(factor))
        {
            throw new ArgumentOutOfRangeException(nameof(factor), factor, "The scale factor must be positive and finite.");
        }

        return new Composition(_elements.Select((s, i) => new KeyValuePair<string, double>(s, _amounts[i] * factor)));
    }

    /// <summary>
    /// The formula as written by this library: elements in order of first appearance, amounts of 1
    /// omitted, other amounts in shortest round-trip form (e.g. "Ba2RhO4", "Li0.5CoO2").
    /// </summary>
    public string Formula
    {
        get
        {
            var sb = new StringBuilder();
            for (int i = 0; i < _elements.Length; i++)
            {
                sb.Append(_elements[i]);
                if (_amounts[i] != 1.0)
                {
                    sb.Append(_amounts[i].ToString("R", CultureInfo.InvariantCulture));
                }
            }

            return sb.ToString();
        }
    }

    /// <summary>
    /// The reduced formula: when every amount is (within 1e-8) an integer, divided by their
    /// greatest common divisor ("Ba2O2" → "BaO"); otherwise <see cref="Formula"/>.
    /// </summary>
    public string ReducedFormula
    {
        get
        {
            if (_amounts.Any(a => Math.Abs(a - Math.Round(a)) > 1e-8 || a > int.MaxValue))
            {
                return Formula;
            }

            long g = 0;
            foreach (double a in _amounts)
            {
                g = Gcd(g, (long)Math.Round(a));
            }

            return g <= 1 ? Formula : Scaled(1.0 / g).Formula;
        }
    }

    /// <summary>
    /// Parses a chemical formula: element symbols (case-sensitive, validated against
    /// <see cref="Gpff.Elements"/>) each followed by an optional integer or decimal count, with
    /// groups in parentheses or brackets that may carry a count, e.g. <c>Ba2RhO4</c>,
    /// <c>(BaO)2</c>, <c>Ca3(PO4)2</c>, <c>Li0.5CoO2</c>. Spaces are ignored.
    /// </summary>
    /// <param name="formula">The formula.</param>
    /// <exception cref="FormatException">Malformed formula or unknown element; the message names the formula and what is wrong.</exception>
    public static Composition Parse(string formula)
    {
        ArgumentNullException.ThrowIfNull(formula);
        if (!TryParse(formula, out var c, out string? error))
        {
            throw new FormatException(error);
        }

        return c;
    }

    /// <summary>Tries to parse a chemical formula (see <see cref="Parse"/>).</summary>
    /// <param name="formula">The formula.</param>
    /// <param name="composition">The composition when successful.</param>
    /// <returns>True on success.</returns>
    public static bool TryParse(string? formula, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Composition? composition) =>
        TryParse(formula, out composition, out _);

    private static bool TryParse(string? formula, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Composition? composition, out string? error)
    {
        composition = null;
        error = null;
        if (string.IsNullOrWhiteSpace(formula))
        {
            error = "Empty chemical formula.";
            return false;
        }

        string f = formula.Replace(" ", string.Empty, StringComparison.Ordinal);
        var stack = new Stack<List<KeyValuePair<string, double>>>();
        var current = new List<KeyValuePair<string, double>>();
        var openers = new Stack<char>();
        int i = 0;
        while (i < f.Length)
        {
            char ch = f[i];
            if (char.IsAsciiLetterUpper(ch))
            {
                int start = i++;
                while (i < f.Length && char.IsAsciiLetterLower(f[i]))
                {
                    i++;
                }

                string symbol = f[start..i];
                if (!Gpff.Elements.TryGetAtomicNumber(symbol, out _))
                {
                    error = $"Unknown element '{symbol}' in formula '{formula}'.";
                    return false;
                }

                if (!TryReadCount(f, ref i, formula, out double count, out error))
                {
                    return false;
                }

                current.Add(new(symbol, count));
            }
            else if (ch is '(' or '[')
            {
                stack.Push(current);
                openers.Push(ch);
                current = [];
                i++;
            }
            else if (ch is ')' or ']')
            {
                if (openers.Count == 0 || (openers.Pop() == '(') != (ch == ')'))
                {
                    error = $"Unbalanced '{ch}' at position {i + 1} of formula '{formula}'.";
                    return false;
                }

                if (current.Count == 0)
                {
                    error = $"Empty group before position {i + 1} of formula '{formula}'.";
                    return false;
                }

                i++;
                if (!TryReadCount(f, ref i, formula, out double count, out error))
                {
                    return false;
                }

                var group = current;
                current = stack.Pop();
                current.AddRange(group.Select(p => new KeyValuePair<string, double>(p.Key, p.Value * count)));
            }
            else
            {
                error = char.IsAsciiLetterLower(ch) || char.IsAsciiDigit(ch) || ch == '.'
                    ? $"Unexpected '{ch}' at position {i + 1} of formula '{formula}' (element symbols start with a capital letter, e.g. 'Ba', 'O')."
                    : $"Unexpected character '{ch}' at position {i + 1} of formula '{formula}'.";
                return false;
            }
        }

        if (openers.Count > 0)
        {
            error = $"Unclosed '{openers.Peek()}' in formula '{formula}'.";
            return false;
        }

        if (current.Count == 0)
        {
            error = $"No element in formula '{formula}'.";
            return false;
        }

        composition = new Composition(current);
        return true;
    }

    private static bool TryReadCount(string f, ref int i, string formula, out double count, out string? error)
    {
        error = null;
        int start = i;
        while (i < f.Length && (char.IsAsciiDigit(f[i]) || f[i] == '.'))
        {
            i++;
        }

        if (start == i)
        {
            count = 1;
            return true;
        }

        string text = f[start..i];
        if (!double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out count) || !(count > 0) || !double.IsFinite(count))
        {
            error = $"Bad count '{text}' at position {start + 1} of formula '{formula}' (expected a positive number).";
            return false;
        }

        return true;
    }

    private static long Gcd(long a, long b)
    {
        while (b != 0)
        {
            (a, b) = (b, a % b);
        }

        return Math.Abs(a);
    }

    /// <summary>True when both have the same elements with amounts equal to within <paramref name="tolerance"/> atoms.</summary>
    /// <param name="other">The other composition.</param>
    /// <param name="tolerance">Largest allowed difference of any amount.</param>
    public bool AlmostEquals(Composition other, double tolerance = 1e-8)
    {
        ArgumentNullException.ThrowIfNull(other);
        return _elements.Concat(other._elements).All(s => Math.Abs(this[s] - other[s]) <= tolerance);
    }

    /// <summary>True when the reduced compositions are the same (e.g. "Ba2O2" and "BaO"), to within 1e-8 in atomic fraction.</summary>
    /// <param name="other">The other composition.</param>
    public bool IsSameReducedComposition(Composition other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return _elements.Concat(other._elements).All(s => Math.Abs(AtomicFraction(s) - other.AtomicFraction(s)) <= 1e-8);
    }

    /// <summary>Exact equality of elements and amounts (element order ignored).</summary>
    /// <param name="other">The other composition.</param>
    public bool Equals(Composition? other) =>
        other is not null && other._elements.Length == _elements.Length && _elements.All(s => this[s] == other[s]);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as Composition);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        int h = 0;
        for (int i = 0; i < _elements.Length; i++)
        {
            h ^= HashCode.Combine(_elements[i], _amounts[i]);
        }

        return h;
    }

    /// <summary>The formula (<see cref="Formula"/>).</summary>
    public override string ToString() => Formula;
}
