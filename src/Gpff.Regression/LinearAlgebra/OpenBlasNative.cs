using System.Runtime.InteropServices;

namespace Gpff.Regression.LinearAlgebra;

/// <summary>
/// The OpenBLAS shared library, loaded at run time with <see cref="NativeLibrary"/> (so that its
/// absence is a recorded fallback, never a crash), and its entry points as unmanaged function
/// pointers. Only the LP64 (32-bit integer) interface is used: Debian's <c>libopenblas0-pthread</c>.
/// All matrices are column-major (Fortran / MathNet.Numerics dense storage).
/// </summary>
internal static unsafe class OpenBlasNative
{
    // CBLAS enumerations (cblas.h).
    internal const int ColMajor = 102;
    internal const int NoTrans = 111;
    internal const int Trans = 112;
    internal const int Upper = 121;
    internal const int Lower = 122;
    internal const int NonUnit = 131;
    internal const int Left = 141;

    /// <summary>Environment variable with an explicit path of the OpenBLAS library to load.</summary>
    internal const string PathEnvironmentVariable = "GPFF_OPENBLAS_PATH";

    private static readonly Lazy<LoadResult> State = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    internal static delegate* unmanaged[Cdecl]<int, int, int, int, int, int, double, double*, int, double*, int, double, double*, int, void> Dgemm;
    internal static delegate* unmanaged[Cdecl]<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void> Sgemm;
    internal static delegate* unmanaged[Cdecl]<int, int, int, int, int, int, int, double, double*, int, double*, int, void> Dtrsm;
    internal static delegate* unmanaged[Cdecl]<int, int, int, int, int, int, int, float, float*, int, float*, int, void> Strsm;
    internal static delegate* unmanaged[Cdecl]<int, int, int, int, int, double, double*, int, double, double*, int, void> Dsyrk;
    internal static delegate* unmanaged[Cdecl]<byte*, int*, double*, int*, int*, void> Dpotrf;
    internal static delegate* unmanaged[Cdecl]<byte*, int*, float*, int*, int*, void> Spotrf;

    // dpotri_ is reference-LAPACK Fortran: the trailing argument is the hidden length of the string argument.
    internal static delegate* unmanaged[Cdecl]<byte*, int*, double*, int*, int*, nint, void> Dpotri;
    internal static delegate* unmanaged[Cdecl]<sbyte*> GetConfig;
    internal static delegate* unmanaged[Cdecl]<sbyte*> GetCoreName;
    internal static delegate* unmanaged[Cdecl]<int> GetNumThreads;
    internal static delegate* unmanaged[Cdecl]<int, void> SetNumThreads;
    internal static delegate* unmanaged[Cdecl]<int> GetParallel;

    /// <summary>Whether the library and every entry point used here were found.</summary>
    internal static bool IsLoaded => State.Value.Loaded;

    /// <summary>Why the library could not be used (null when it was loaded).</summary>
    internal static string? FailureReason => State.Value.Reason;

    /// <summary>The file name or path that was loaded.</summary>
    internal static string? LoadedFrom => State.Value.LoadedFrom;

    /// <summary>Throws when the library is not loaded.</summary>
    internal static void EnsureLoaded()
    {
        if (!IsLoaded)
        {
            throw new InvalidOperationException($"The OpenBLAS back end is not available: {FailureReason}");
        }
    }

    /// <summary>openblas_get_config(), e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64".</summary>
    internal static string Config()
    {
        EnsureLoaded();
        return Marshal.PtrToStringUTF8((nint)GetConfig()) ?? "OpenBLAS";
    }

    /// <summary>The CPU kernel set OpenBLAS chose (openblas_get_corename).</summary>
    internal static string CoreName()
    {
        EnsureLoaded();
        return Marshal.PtrToStringUTF8((nint)GetCoreName()) ?? "unknown";
    }

    /// <summary>The threading model: "sequential", "pthreads" or "OpenMP".</summary>
    internal static string ThreadingModel()
    {
        EnsureLoaded();
        return GetParallel() switch
        {
            0 => "sequential",
            1 => "pthreads",
            2 => "OpenMP",
            int other => $"threading model {other}",
        };
    }

    private static IEnumerable<string> Candidates()
    {
        var explicitPath = Environment.GetEnvironmentVariable(PathEnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(explicitPath))
        {
            yield return explicitPath;
            yield break;
        }

        if (OperatingSystem.IsWindows())
        {
            yield return "libopenblas.dll";
            yield return "openblas.dll";
        }
        else if (OperatingSystem.IsMacOS())
        {
            yield return "libopenblas.0.dylib";
            yield return "libopenblas.dylib";
        }
        else
        {
            yield return "libopenblas.so.0";
            yield return "libopenblas.so";
        }
    }

    private static LoadResult Load()
    {
        var tried = new List<string>();
        foreach (var name in Candidates())
        {
            if (!NativeLibrary.TryLoad(name, out var handle))
            {
                tried.Add(name);
                continue;
            }

            var missing = new List<string>();
            nint Get(string symbol)
            {
                if (NativeLibrary.TryGetExport(handle, symbol, out var address))
                {
                    return address;
                }

                missing.Add(symbol);
                return 0;
            }

            var dgemm = Get("cblas_dgemm");
            var sgemm = Get("cblas_sgemm");
            var dtrsm = Get("cblas_dtrsm");
            var strsm = Get("cblas_strsm");
            var dsyrk = Get("cblas_dsyrk");
            var dpotrf = Get("dpotrf_");
            var spotrf = Get("spotrf_");
            var dpotri = Get("dpotri_");
            var config = Get("openblas_get_config");
            var core = Get("openblas_get_corename");
            var getThreads = Get("openblas_get_num_threads");
            var setThreads = Get("openblas_set_num_threads");
            var parallel = Get("openblas_get_parallel");
            if (missing.Count > 0)
            {
                NativeLibrary.Free(handle);
                return new LoadResult(false, $"{name} was loaded but lacks {string.Join(", ", missing)} (not an OpenBLAS LP64 build?)", null);
            }

            Dgemm = (delegate* unmanaged[Cdecl]<int, int, int, int, int, int, double, double*, int, double*, int, double, double*, int, void>)dgemm;
            Sgemm = (delegate* unmanaged[Cdecl]<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)sgemm;
            Dtrsm = (delegate* unmanaged[Cdecl]<int, int, int, int, int, int, int, double, double*, int, double*, int, void>)dtrsm;
            Strsm = (delegate* unmanaged[Cdecl]<int, int, int, int, int, int, int, float, float*, int, float*, int, void>)strsm;
            Dsyrk = (delegate* unmanaged[Cdecl]<int, int, int, int, int, double, double*, int, double, double*, int, void>)dsyrk;
            Dpotrf = (delegate* unmanaged[Cdecl]<byte*, int*, double*, int*, int*, void>)dpotrf;
            Spotrf = (delegate* unmanaged[Cdecl]<byte*, int*, float*, int*, int*, void>)spotrf;
            Dpotri = (delegate* unmanaged[Cdecl]<byte*, int*, double*, int*, int*, nint, void>)dpotri;
            GetConfig = (delegate* unmanaged[Cdecl]<sbyte*>)config;
            GetCoreName = (delegate* unmanaged[Cdecl]<sbyte*>)core;
            GetNumThreads = (delegate* unmanaged[Cdecl]<int>)getThreads;
            SetNumThreads = (delegate* unmanaged[Cdecl]<int, void>)setThreads;
            GetParallel = (delegate* unmanaged[Cdecl]<int>)parallel;
            return new LoadResult(true, null, name);
        }

        string hint = OperatingSystem.IsLinux() ? " (on Debian/Ubuntu: apt-get install libopenblas0-pthread)" : string.Empty;
        return new LoadResult(false, $"could not load {string.Join(" or ", tried)}{hint}", null);
    }

    private sealed record LoadResult(bool Loaded, string? Reason, string? LoadedFrom);
}
