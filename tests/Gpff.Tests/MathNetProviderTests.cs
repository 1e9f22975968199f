using System.Reflection;
using Gpff.Regression.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.Providers.LinearAlgebra;
using Xunit;

namespace Gpff.Tests;

/// <summary>
/// An application that references Gpff and uses Math.NET itself keeps Math.NET's provider: Gpff
/// chooses its own back end (OpenBLAS where installed) without touching Math.NET's process-wide one.
/// </summary>
[Collection(nameof(MathNetProviderCollection))]
public class MathNetProviderTests
{
    [Fact]
    public void TrainingAForceFieldLeavesMathNetsDefaultProviderInPlace()
    {
        var frames = LearningCurveTests.Snapshots(2, seed: 3);
        var ff = ForceField.Create(new ForceFieldSettings { PairCutoffA = 4.0, TripletCutoffA = 0 });
        ff.Train(frames);
        Assert.True(ff.Model.IsTrained);
        _ = LinearAlgebraBackend.Description; // Gpff's choice has been made (OpenBLAS when installed)

        Assert.IsType<ManagedLinearAlgebraProvider>(LinearAlgebraControl.Provider);
        var m = Matrix<double>.Build.DenseOfArray(new double[,] { { 4, 2 }, { 2, 3 } });
        Assert.Equal(8.0, m.Determinant(), 12);
    }

    [Fact]
    public void AProviderTheApplicationChoseSurvivesGpff()
    {
        var original = LinearAlgebraControl.Provider;
        var chosen = DispatchProxy.Create<ILinearAlgebraProvider, ForwardingProxy>();
        try
        {
            LinearAlgebraControl.Provider = chosen;
            var ff = ForceField.Create(new ForceFieldSettings { PairCutoffA = 4.0, TripletCutoffA = 0 });
            ff.Train(LearningCurveTests.Snapshots(2, seed: 4));
            _ = ff.Predict(LearningCurveTests.Snapshots(1, seed: 5)[0]);
            Assert.Same(chosen, LinearAlgebraControl.Provider);
        }
        finally
        {
            LinearAlgebraControl.Provider = original;
        }
    }

    /// <summary>An application's own provider: Math.NET's managed one behind a proxy, so that it is a different object.</summary>
    public class ForwardingProxy : DispatchProxy
    {
        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) =>
            targetMethod!.Invoke(ManagedLinearAlgebraProvider.Instance, args);
    }
}

[CollectionDefinition(nameof(MathNetProviderCollection), DisableParallelization = true)]
public class MathNetProviderCollection
{
}
