using System.Runtime.InteropServices;
using Gpff.Regression.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.Providers.LinearAlgebra;

namespace Gpff.Regression.Tests.LinearAlgebra;

/// <summary>
/// Back-end selection. These tests switch Gpff's process-wide back end, so they live in one
/// collection that xunit never runs in parallel with the others.
/// </summary>
[Collection(nameof(BackendSwitchingCollection))]
public class LinearAlgebraBackendTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public void OpenBlasIsActiveWhenTheLibraryIsPresent()
    {
        bool present = NativeLibrary.TryLoad(OperatingSystem.IsLinux() ? "libopenblas.so.0" : "libopenblas", out var handle);
        if (present)
        {
            NativeLibrary.Free(handle);
        }

        output.WriteLine($"Active back end: {LinearAlgebraBackend.Description}; OpenBLAS configuration: {LinearAlgebraBackend.OpenBlasConfiguration}");
        string? forced = Environment.GetEnvironmentVariable(LinearAlgebraBackend.EnvironmentVariable);
        if (present && !string.Equals(forced, "managed", StringComparison.OrdinalIgnoreCase))
        {
            Assert.Equal(LinearAlgebraBackendKind.OpenBlas, LinearAlgebraBackend.Active);
            Assert.Null(LinearAlgebraBackend.FallbackReason);
            Assert.Matches(@"^OpenBLAS \d+\.\d+\.\d+ \((pthreads|OpenMP|sequential), \d+ threads?, ", LinearAlgebraBackend.Description);
            Assert.True(LinearAlgebraBackend.OpenBlasThreads >= 1);
            Assert.StartsWith("OpenBLAS", LinearAlgebraBackend.OpenBlasConfiguration);
        }
        else
        {
            Assert.Equal(LinearAlgebraBackendKind.Managed, LinearAlgebraBackend.Active);
            Assert.False(string.IsNullOrEmpty(LinearAlgebraBackend.FallbackReason));
            Assert.Contains(LinearAlgebraBackend.FallbackReason!, LinearAlgebraBackend.Description);
        }
    }

    [Fact]
    public void UseSwitchesGpffsBackEndRecordsWhyAndLeavesMathNetsProviderAlone()
    {
        TestMatrices.RequireOpenBlas();
        var before = LinearAlgebraBackend.Active;
        var mathNet = LinearAlgebraControl.Provider;
        try
        {
            var a = TestMatrices.Spd(80, 3);
            var b = TestMatrices.Random(80, 2, 4);

            LinearAlgebraBackend.Use(LinearAlgebraBackendKind.Managed);
            Assert.Equal(LinearAlgebraBackendKind.Managed, LinearAlgebraBackend.Active);
            Assert.Contains("LinearAlgebraBackend.Use", LinearAlgebraBackend.FallbackReason);
            Assert.StartsWith("managed (", LinearAlgebraBackend.Description);
            var managed = CholeskyFactorization.Factor(a, 80);
            Assert.Equal(LinearAlgebraBackendKind.Managed, managed.Backend);
            Assert.Same(mathNet, LinearAlgebraControl.Provider);

            // The same answer on each back end.
            LinearAlgebraBackend.Use(LinearAlgebraBackendKind.OpenBlas);
            Assert.Equal(LinearAlgebraBackendKind.OpenBlas, LinearAlgebraBackend.Active);
            var native = CholeskyFactorization.Factor(a, 80);
            Assert.Equal(LinearAlgebraBackendKind.OpenBlas, native.Backend);
            Assert.Same(mathNet, LinearAlgebraControl.Provider);
            var xManaged = managed.Solve(Matrix<double>.Build.Dense(80, 2, b)).ToColumnMajorArray();
            var xNative = native.Solve(Matrix<double>.Build.Dense(80, 2, b)).ToColumnMajorArray();
            Assert.True(TestMatrices.RelativeDifference(xNative, xManaged) < 1e-10);

            Assert.True(LinearAlgebraBackend.UseBest());
            Assert.Same(mathNet, LinearAlgebraControl.Provider);
        }
        finally
        {
            LinearAlgebraBackend.Use(before);
        }
    }

    [Fact]
    public void MathNetKeepsItsDefaultProviderWhenGpffChoosesOpenBlas()
    {
        // Gpff's own numerics run on OpenBLAS here, yet an application's Math.NET code still runs on
        // Math.NET's managed provider: Gpff changes nothing process-wide on load or on use.
        TestMatrices.RequireOpenBlas();
        LinearAlgebraBackend.EnsureInitialized();
        _ = CholeskyFactorization.Factor(TestMatrices.Spd(10, 1), 10);
        Assert.IsType<ManagedLinearAlgebraProvider>(LinearAlgebraControl.Provider);
    }
}

[CollectionDefinition(nameof(BackendSwitchingCollection), DisableParallelization = true)]
public class BackendSwitchingCollection
{
}

public class LinearAlgebraBackendChoiceTests
{
    [Theory]
    [InlineData(null, true, LinearAlgebraBackendKind.OpenBlas, null)]
    [InlineData("auto", true, LinearAlgebraBackendKind.OpenBlas, null)]
    [InlineData(" OpenBLAS ", true, LinearAlgebraBackendKind.OpenBlas, null)]
    [InlineData("managed", true, LinearAlgebraBackendKind.Managed, "GPFF_LINALG=managed")]
    [InlineData("Managed", false, LinearAlgebraBackendKind.Managed, "GPFF_LINALG=managed")]
    [InlineData(null, false, LinearAlgebraBackendKind.Managed, "could not load libopenblas.so.0")]
    [InlineData("openblas", false, LinearAlgebraBackendKind.Managed, "GPFF_LINALG=openblas was set, but could not load libopenblas.so.0")]
    [InlineData("mkl", false, LinearAlgebraBackendKind.Managed, "GPFF_LINALG='mkl' is not one of managed, openblas, auto and was ignored")]
    [InlineData("mkl", true, LinearAlgebraBackendKind.OpenBlas, null)]
    public void EnvironmentVariableAndLibraryDecideTheStartUpBackEnd(string? env, bool loaded, LinearAlgebraBackendKind kind, string? reason)
    {
        var (chosen, why) = LinearAlgebraBackend.Choose(env, loaded, loaded ? null : "could not load libopenblas.so.0");
        Assert.Equal(kind, chosen);
        if (reason is null)
        {
            Assert.Null(why);
        }
        else
        {
            Assert.Contains(reason, why);
        }
    }
}
