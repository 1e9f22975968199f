using System.Globalization;

namespace Gpff.QuantumEspresso;

/// <summary>
/// Numbers as Fortran writes them, for every pw.x reader (input namelists and cards, text output):
/// ordinary floating-point text, and double-precision exponents with <c>d</c> or <c>D</c>
/// (<c>1.0d-8</c>, <c>1.0D+02</c>). Invariant culture; no thousands separators.
/// </summary>
internal static class FortranNumber
{
    /// <summary>Parses a token; false when it is not a number.</summary>
    /// <param name="token">The text of one number, without surrounding blanks.</param>
    /// <param name="value">The value, or 0.</param>
    public static bool TryParse(ReadOnlySpan<char> token, out double value)
    {
        if (double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out value))
        {
            return true;
        }

        if (token.IndexOfAny('d', 'D') < 0 || token.Length > 256)
        {
            return false;
        }

        Span<char> buffer = stackalloc char[token.Length];
        token.CopyTo(buffer);
        buffer.Replace('d', 'e');
        buffer.Replace('D', 'e');
        return double.TryParse(buffer, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
    }
}
