using MathNet.Numerics.Providers.LinearAlgebra;

namespace Gpff.Regression.LinearAlgebra;

/// <summary>A dense linear-algebra back end.</summary>
public enum LinearAlgebraBackendKind
{
    /// <summary>Managed C# code: MathNet.Numerics' managed provider and Gpff's own managed kernels. Always available.</summary>
    Managed,

    /// <summary>Native OpenBLAS (<c>libopenblas.so.0</c>, e.g. Debian's <c>libopenblas0-pthread</c>), called through P/Invoke.</summary>
    OpenBlas,
}

/// <summary>
/// Chooses and reports the dense linear-algebra back end of Gpff's own numerics (the Cholesky
/// factorisations, triangular solves and matrix products of training, likelihood and prediction).
/// On first use OpenBLAS is selected if <c>libopenblas.so.0</c> can be loaded, otherwise Gpff's managed
/// kernels, with the reason recorded in <see cref="FallbackReason"/>. The environment variable
/// <c>GPFF_LINALG</c> (<c>managed</c>, <c>openblas</c> or <c>auto</c>) and <see cref="Use"/> force a
/// choice; <c>GPFF_OPENBLAS_PATH</c> names a specific library file to load.
/// </summary>
/// <remarks>
/// The choice is Gpff's alone: it never changes MathNet.Numerics' process-wide
/// <c>LinearAlgebraControl.Provider</c>, so an application that uses Math.NET itself keeps whatever
/// provider it chose (Math.NET's managed one unless it opts into another).
/// </remarks>
public static class LinearAlgebraBackend
{
    /// <summary>The environment variable that forces a back end: <c>managed</c>, <c>openblas</c> or <c>auto</c> (default).</summary>
    public const string EnvironmentVariable = "GPFF_LINALG";

    /// <summary>The environment variable that names the OpenBLAS library file to load instead of the default search.</summary>
    public const string OpenBlasPathEnvironmentVariable = OpenBlasNative.PathEnvironmentVariable;

    private static readonly object Gate = new();
    private static volatile bool _initialized;
    private static LinearAlgebraBackendKind _active;
    private static string? _fallbackReason;

    /// <summary>The back end in use now.</summary>
    public static LinearAlgebraBackendKind Active
    {
        get
        {
            EnsureInitialized();
            return _active;
        }
    }

    /// <summary>
    /// Why OpenBLAS is not in use (library missing, forced by <c>GPFF_LINALG=managed</c> or by
    /// <see cref="Use"/>), or null when it is.
    /// </summary>
    public static string? FallbackReason
    {
        get
        {
            EnsureInitialized();
            return _fallbackReason;
        }
    }

    /// <summary>Whether the OpenBLAS library was found and has every entry point Gpff uses.</summary>
    public static bool IsOpenBlasAvailable => OpenBlasNative.IsLoaded;

    /// <summary>Why OpenBLAS cannot be loaded, or null when it can.</summary>
    public static string? OpenBlasLoadError => OpenBlasNative.FailureReason;

    /// <summary>
    /// A one-line description of the active back end, e.g.
    /// "OpenBLAS 0.3.21 (pthreads, 2 threads, Haswell kernels, libopenblas.so.0)" or
    /// "managed (Gpff kernels, MathNet.Numerics 5.0.0 matrix products, 2 cores; OpenBLAS not used: could not load libopenblas.so.0 ...)".
    /// </summary>
    public static string Description
    {
        get
        {
            EnsureInitialized();
            return _active == LinearAlgebraBackendKind.OpenBlas
                ? OpenBlasDescription()
                : $"managed (Gpff kernels, MathNet.Numerics {typeof(ManagedLinearAlgebraProvider).Assembly.GetName().Version?.ToString(3)} matrix products, {Environment.ProcessorCount} cores; OpenBLAS not used: {_fallbackReason})";
        }
    }

    /// <summary>The raw OpenBLAS build configuration (openblas_get_config), or null when OpenBLAS is not available.</summary>
    public static string? OpenBlasConfiguration => OpenBlasNative.IsLoaded ? OpenBlasNative.Config() : null;

    /// <summary>
    /// The number of threads OpenBLAS uses (openblas_get_num_threads / openblas_set_num_threads);
    /// 0 when OpenBLAS is not available. Setting it when OpenBLAS is unavailable throws.
    /// </summary>
    public static int OpenBlasThreads
    {
        get
        {
            if (!OpenBlasNative.IsLoaded)
            {
                return 0;
            }

            unsafe
            {
                return OpenBlasNative.GetNumThreads();
            }
        }

        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            OpenBlasNative.EnsureLoaded();
            unsafe
            {
                OpenBlasNative.SetNumThreads(value);
            }
        }
    }

    /// <summary>
    /// Forces the back end of Gpff's numerics (process-wide for Gpff; MathNet.Numerics' own provider is not touched).
    /// </summary>
    /// <param name="kind">The back end.</param>
    /// <exception cref="InvalidOperationException">OpenBLAS was requested but cannot be loaded (the message says why).</exception>
    public static void Use(LinearAlgebraBackendKind kind)
    {
        EnsureInitialized();
        lock (Gate)
        {
            if (kind == LinearAlgebraBackendKind.OpenBlas)
            {
                if (!OpenBlasNative.IsLoaded)
                {
                    throw new InvalidOperationException($"The OpenBLAS linear-algebra back end was requested but is not available: {OpenBlasNative.FailureReason}.");
                }

                Activate(LinearAlgebraBackendKind.OpenBlas, null);
            }
            else
            {
                Activate(LinearAlgebraBackendKind.Managed, $"the managed back end was selected by {nameof(LinearAlgebraBackend)}.{nameof(Use)}");
            }
        }
    }

    /// <summary>Selects OpenBLAS when it can be loaded, else the managed back end (the start-up choice without <c>GPFF_LINALG</c>).</summary>
    /// <returns>True when OpenBLAS is now active.</returns>
    public static bool UseBest()
    {
        EnsureInitialized();
        lock (Gate)
        {
            SelectAutomatically(null);
            return _active == LinearAlgebraBackendKind.OpenBlas;
        }
    }

    /// <summary>
    /// Makes sure the start-up choice has been made (it is made on first use). Never throws:
    /// any problem becomes a managed fall-back with its reason in <see cref="FallbackReason"/>.
    /// </summary>
    public static void EnsureInitialized()
    {
        if (_initialized)
        {
            return;
        }

        lock (Gate)
        {
            if (_initialized)
            {
                return;
            }

            try
            {
                var (kind, reason) = Choose(Environment.GetEnvironmentVariable(EnvironmentVariable), OpenBlasNative.IsLoaded, OpenBlasNative.FailureReason);
                Activate(kind, reason);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                _active = LinearAlgebraBackendKind.Managed;
                _fallbackReason = $"selecting OpenBLAS failed: {ex.Message}";
            }

            _initialized = true;
        }
    }

    /// <summary>The start-up choice from the value of <c>GPFF_LINALG</c> and whether OpenBLAS loaded, with the reason for a managed fall-back.</summary>
    internal static (LinearAlgebraBackendKind Kind, string? Reason) Choose(string? requested, bool openBlasLoaded, string? loadError)
    {
        string value = requested?.Trim().ToLowerInvariant() ?? string.Empty;
        string missing = loadError ?? "OpenBLAS could not be loaded";
        return value switch
        {
            "" or "auto" => openBlasLoaded ? (LinearAlgebraBackendKind.OpenBlas, null) : (LinearAlgebraBackendKind.Managed, missing),
            "managed" => (LinearAlgebraBackendKind.Managed, $"{EnvironmentVariable}=managed"),
            "openblas" => openBlasLoaded ? (LinearAlgebraBackendKind.OpenBlas, null) : (LinearAlgebraBackendKind.Managed, $"{EnvironmentVariable}=openblas was set, but {missing}"),
            _ => openBlasLoaded
                ? (LinearAlgebraBackendKind.OpenBlas, null)
                : (LinearAlgebraBackendKind.Managed, $"{missing}; {EnvironmentVariable}='{requested}' is not one of managed, openblas, auto and was ignored"),
        };
    }

    private static void SelectAutomatically(string? forcedPrefix)
    {
        if (OpenBlasNative.IsLoaded)
        {
            Activate(LinearAlgebraBackendKind.OpenBlas, null);
        }
        else
        {
            string reason = OpenBlasNative.FailureReason ?? "unknown reason";
            Activate(LinearAlgebraBackendKind.Managed, forcedPrefix is null ? reason : $"{forcedPrefix} {reason}");
        }
    }

    private static void Activate(LinearAlgebraBackendKind kind, string? reason)
    {
        if (kind == LinearAlgebraBackendKind.OpenBlas)
        {
            OpenBlasNative.EnsureLoaded();
        }

        _active = kind;
        _fallbackReason = reason;
    }

    private static string OpenBlasDescription()
    {
        string config = OpenBlasNative.Config();
        var parts = config.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        string version = parts.Length >= 2 && parts[0] == "OpenBLAS" ? $"OpenBLAS {parts[1]}" : "OpenBLAS";
        int threads = OpenBlasThreads;
        return $"{version} ({OpenBlasNative.ThreadingModel()}, {threads} thread{(threads == 1 ? "" : "s")}, {OpenBlasNative.CoreName()} kernels, {OpenBlasNative.LoadedFrom})";
    }
}
