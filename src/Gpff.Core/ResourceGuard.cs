using System.Globalization;

namespace Gpff;

/// <summary>
/// Refuses work whose memory estimate does not fit, before anything is allocated, with the estimate
/// and how to reduce it, instead of letting the process grow until the machine runs out of memory.
/// </summary>
public static class ResourceGuard
{
    /// <summary>The fraction of the memory available to the process (<see cref="GC.GetGCMemoryInfo()"/>) that one allocation may claim: 0.5.</summary>
    public const double MaxFractionOfAvailable = 0.5;

    /// <summary>The memory available to this process in bytes (the GC's limit: physical memory, or a container's limit).</summary>
    public static long AvailableBytes => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;

    /// <summary>
    /// Throws <see cref="ResourceLimitException"/> when <paramref name="estimatedBytes"/> exceeds
    /// <see cref="MaxFractionOfAvailable"/> of <paramref name="availableBytes"/> (default: <see cref="AvailableBytes"/>).
    /// </summary>
    /// <param name="estimatedBytes">Estimated memory of the work, in bytes (may be +∞ or NaN, which never fits).</param>
    /// <param name="what">What would be allocated (e.g. "the stability samples (10000 samples × 12 entries × 8 bytes)").</param>
    /// <param name="howToReduce">What the user can change (e.g. "use fewer --samples").</param>
    /// <param name="availableBytes">The memory to compare with, in bytes; null for <see cref="AvailableBytes"/>.</param>
    public static void EnsureFits(double estimatedBytes, string what, string howToReduce, long? availableBytes = null)
    {
        long available = availableBytes ?? AvailableBytes;
        if (!(estimatedBytes <= MaxFractionOfAvailable * available))
        {
            throw new ResourceLimitException(
                $"{what} would need about {FormatBytes(estimatedBytes)}, more than half of the {FormatBytes(available)} of memory available; {howToReduce}.",
                estimatedBytes, available);
        }
    }

    /// <summary>A byte count for people: "1.5 GiB", "12 MiB", "+∞ bytes".</summary>
    /// <param name="bytes">Number of bytes.</param>
    public static string FormatBytes(double bytes)
    {
        if (!double.IsFinite(bytes))
        {
            return "an unbounded amount of memory";
        }

        string[] units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        int u = 0;
        while (bytes >= 1024 && u < units.Length - 1)
        {
            bytes /= 1024;
            u++;
        }

        return (u == 0 ? bytes.ToString("0", CultureInfo.InvariantCulture) : bytes.ToString("0.#", CultureInfo.InvariantCulture)) + " " + units[u];
    }
}

/// <summary>Work refused before it started because its memory estimate does not fit in the memory available.</summary>
public sealed class ResourceLimitException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The estimate, the memory available and how to reduce the work.</param>
    /// <param name="estimatedBytes">Estimated bytes.</param>
    /// <param name="availableBytes">Bytes available to the process.</param>
    public ResourceLimitException(string message, double estimatedBytes, long availableBytes) : base(message)
    {
        EstimatedBytes = estimatedBytes;
        AvailableBytes = availableBytes;
    }

    /// <summary>The estimate that did not fit, in bytes.</summary>
    public double EstimatedBytes { get; }

    /// <summary>The memory available to the process, in bytes.</summary>
    public long AvailableBytes { get; }
}
