namespace Gpff.Descriptors;

/// <summary>
/// The smooth cutoff function that multiplies every bond (and every triplet, as the product over its
/// three distances) so that kernels and their derivatives go continuously to zero at the cutoff.
/// </summary>
public enum CutoffFunction
{
    /// <summary>f(r) = (r_c − r)² for r &lt; r_c, 0 beyond (FLARE's default). Units Å².</summary>
    Quadratic,

    /// <summary>f(r) = ½ [cos(π r / r_c) + 1] for r &lt; r_c, 0 beyond. Dimensionless.</summary>
    Cosine,
}

/// <summary>Values and derivatives of the cutoff functions.</summary>
public static class Cutoffs
{
    /// <summary>
    /// The cutoff function and its derivative with respect to r at distance <paramref name="distanceA"/>.
    /// Both are zero at and beyond the cutoff.
    /// </summary>
    /// <param name="function">Which cutoff function.</param>
    /// <param name="cutoffA">Cutoff radius r_c in Å.</param>
    /// <param name="distanceA">Distance r in Å.</param>
    /// <param name="derivative">df/dr at r (Å for quadratic, 1/Å for cosine).</param>
    /// <returns>f(r).</returns>
    public static double Evaluate(CutoffFunction function, double cutoffA, double distanceA, out double derivative)
    {
        if (distanceA >= cutoffA)
        {
            derivative = 0;
            return 0;
        }

        switch (function)
        {
            case CutoffFunction.Quadratic:
                {
                    double d = cutoffA - distanceA;
                    derivative = -2 * d;
                    return d * d;
                }

            case CutoffFunction.Cosine:
                {
                    double w = Math.PI / cutoffA;
                    derivative = -0.5 * w * Math.Sin(w * distanceA);
                    return 0.5 * (Math.Cos(w * distanceA) + 1);
                }

            default:
                throw new ArgumentOutOfRangeException(nameof(function), function, $"Unknown cutoff function {function}.");
        }
    }

    /// <summary>The name used in model files: "quadratic" or "cosine".</summary>
    /// <param name="function">Cutoff function.</param>
    public static string Name(CutoffFunction function) => function switch
    {
        CutoffFunction.Quadratic => "quadratic",
        CutoffFunction.Cosine => "cosine",
        _ => throw new ArgumentOutOfRangeException(nameof(function), function, $"Unknown cutoff function {function}."),
    };

    /// <summary>Parses a cutoff function name ("quadratic" or "cosine", case-insensitive).</summary>
    /// <param name="name">The name.</param>
    /// <param name="function">The parsed function.</param>
    /// <returns>True when the name is known.</returns>
    public static bool TryParse(string? name, out CutoffFunction function)
    {
        switch (name?.Trim().ToLowerInvariant())
        {
            case "quadratic":
                function = CutoffFunction.Quadratic;
                return true;
            case "cosine":
                function = CutoffFunction.Cosine;
                return true;
            default:
                function = default;
                return false;
        }
    }
}
