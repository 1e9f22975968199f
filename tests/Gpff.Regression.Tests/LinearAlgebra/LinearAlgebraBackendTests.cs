using System.Runtime.InteropServices;
using Gpff.Regression.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.Providers.LinearAlgebra;

namespace Gpff.Regression.Tests.LinearAlgebra;

/// <summary>
/// Back-end selection. These tests switch the process-wide provider, so they live in one
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
            Assert.IsType<OpenBlasLinearAlgebraProvider>(LinearAlgebraControl.Provider);
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
    public void UseSwitchesTheProcessWideProviderAndRecordsWhy()
    {
        TestMatrices.RequireOpenBlas();
        var before = LinearAlgebraBackend.Active;
        try
        {
            LinearAlgebraBackend.Use(LinearAlgebraBackendKind.Managed);
            Assert.Equal(LinearAlgebraBackendKind.Managed, LinearAlgebraBackend.Active);
            Assert.Same(ManagedLinearAlgebraProvider.Instance, LinearAlgebraControl.Provider);
            Assert.Contains("LinearAlgebraBackend.Use", LinearAlgebraBackend.FallbackReason);
            Assert.StartsWith("managed (MathNet.Numerics 5.0.0", LinearAlgebraBackend.Description);

            // A MathNet computation on each back end gives the same answer.
            var a = Matrix<double>.Build.Dense(80, 80, TestMatrices.Spd(80, 3));
            var b = Matrix<double>.Build.Dense(80, 2, TestMatrices.Random(80, 2, 4));
            var managed = a.Cholesky().Solve(b);
            var managedProduct = a * b;

            LinearAlgebraBackend.Use(LinearAlgebraBackendKind.OpenBlas);
            Assert.Equal(LinearAlgebraBackendKind.OpenBlas, LinearAlgebraBackend.Active);
            Assert.IsType<OpenBlasLinearAlgebraProvider>(LinearAlgebraControl.Provider);
            var native = a.Cholesky().Solve(b);
            var nativeProduct = a * b;
            Assert.True(TestMatrices.RelativeDifference(native.ToColumnMajorArray(), managed.ToColumnMajorArray()) < 1e-10);
            Assert.True(TestMatrices.RelativeDifference(nativeProduct.ToColumnMajorArray(), managedProduct.ToColumnMajorArray()) < 1e-12);

            Assert.True(LinearAlgebraBackend.UseBest());
        }
        finally
        {
            LinearAlgebraBackend.Use(before);
        }
    }

    [Fact]
    public void ManagedProviderIsAlwaysAvailable()
    {
        Assert.Same(ManagedLinearAlgebraProvider.Instance, LinearAlgebraBackend.Provider(LinearAlgebraBackendKind.Managed));
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
