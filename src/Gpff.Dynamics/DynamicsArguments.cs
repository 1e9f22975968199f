using System.Globalization;

namespace Gpff.Dynamics;

/// <summary>
/// The checks of the dynamics' settings (integrators, relaxation options, loggers): one line that names
/// the option, its value and unit, and the rule, as an <see cref="ArgumentOutOfRangeException"/>
/// without .NET's "(Parameter '…')" and "Actual value was" additions.
/// </summary>
internal static class DynamicsArguments
{
    /// <summary>The error for <paramref name="name"/> = <paramref name="value"/> <paramref name="unit"/>, which breaks <paramref name="rule"/>.</summary>
    public static ArgumentOutOfRangeException OutOfRange(string name, double value, string unit, string rule)
    {
        string v = value.ToString("R", CultureInfo.InvariantCulture);
        return new ArgumentOutOfRangeException($"{name} = {v}{(unit.Length > 0 ? " " + unit : "")}: {rule}.", (Exception?)null);
    }

    /// <summary>Throws unless <paramref name="value"/> is finite and &gt; 0.</summary>
    public static void Positive(double value, string name, string unit, string what)
    {
        if (!(value > 0) || !double.IsFinite(value))
        {
            throw OutOfRange(name, value, unit, $"{what} must be a finite number > 0");
        }
    }

    /// <summary>Throws unless <paramref name="value"/> is finite and ≥ 0.</summary>
    public static void NonNegative(double value, string name, string unit, string what)
    {
        if (!(value >= 0) || !double.IsFinite(value))
        {
            throw OutOfRange(name, value, unit, $"{what} must be a finite number ≥ 0");
        }
    }

    /// <summary>Throws unless <paramref name="value"/> is finite.</summary>
    public static void Finite(double value, string name, string unit, string what)
    {
        if (!double.IsFinite(value))
        {
            throw OutOfRange(name, value, unit, $"{what} must be a finite number");
        }
    }

    /// <summary>Throws unless <paramref name="value"/> ≥ <paramref name="minimum"/>.</summary>
    public static void AtLeast(int value, int minimum, string name, string what)
    {
        if (value < minimum)
        {
            throw OutOfRange(name, value, "", $"{what} must be a whole number ≥ {minimum}");
        }
    }
}
