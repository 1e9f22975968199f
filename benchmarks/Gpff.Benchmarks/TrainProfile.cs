using System.Diagnostics;
using System.Globalization;
using Gpff.IO;
using Gpff.Regression;

namespace Gpff.Benchmarks;

/// <summary>
/// Where the time of <c>gpff train</c> goes: the steps of <see cref="ForceField.Train"/> and
/// <see cref="ForceField.Save"/> run one by one on one thread on an extended XYZ file, each with its
/// wall-clock and CPU time (the CPU time of the process is what one core alone would take on a machine
/// shared with other work). Settings: the defaults of <c>gpff train</c> (<see cref="ForceFieldSettings"/>).
/// GPFF_PROFILE_REPREDICT=1 also times the residuals computed the old way, by predicting every training structure again.
/// Run: OPENBLAS_NUM_THREADS=1 dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- --train-profile DATA.extxyz [forces|all]
/// </summary>
public static class TrainProfile
{
    /// <summary>Runs the profile and prints one line per step.</summary>
    /// <param name="path">Training data.</param>
    /// <param name="labels">Label kinds.</param>
    public static void Run(string path, LabelKinds labels)
    {
        var process = Process.GetCurrentProcess();
        var wall = Stopwatch.StartNew();
        var lastWall = TimeSpan.Zero;
        var lastCpu = process.TotalProcessorTime;
        var totalCpu = lastCpu;
        void Step(string name)
        {
            process.Refresh();
            var cpu = process.TotalProcessorTime;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-44} wall {(wall.Elapsed - lastWall).TotalSeconds,8:F3} s   cpu {(cpu - lastCpu).TotalSeconds,8:F3} s"));
            lastWall = wall.Elapsed;
            lastCpu = cpu;
        }

        var frames = ExtXyz.Read(path).ToList();
        Step($"read {frames.Count} frames");
        var options = new GaussianProcessOptions { MaxDegreeOfParallelism = 1 };
        var ff = ForceField.Create(new ForceFieldSettings { Labels = labels }, options);
        foreach (var f in frames)
        {
            ff.Model.Add(f, labels);
        }

        Step($"environments ({ff.Model.LabelCount} labels)");
        var k = ff.Model.TrainingCovariance(includeNoise: true);
        Step("covariance assembly (K + Σ)");
        var factor = Regression.LinearAlgebra.CholeskyFactorization.FactorInPlace(k, ff.Model.LabelCount, options.Cholesky);
        Step($"Cholesky ({factor.Backend})");
        k = [];
        ff.Model.Train();
        Step("GaussianProcess.Train (assembly, Cholesky, α)");
        var residuals = ErrorSummary.FromTrainingResiduals(ff.Model.TrainingResiduals());
        Step("training residuals (from α)");
        if (Environment.GetEnvironmentVariable("GPFF_PROFILE_REPREDICT") == "1")
        {
            // What the residuals cost before they were read off α: every training structure predicted again.
            _ = ErrorSummary.Compute(ff.Model.Training.Select(e => (e.Structure, ff.Model.Predict(e.Structure, uncertainty: false))));
            Step("training residuals by re-prediction (before)");
        }

        var loso = ff.Model.LeaveOneStructureOut();
        Step("leave-one-structure-out");
        var calibration = UncertaintyCalibration.FromLeaveOneOut(loso);
        ff.Model.Calibration = calibration;
        _ = ErrorSummary.FromLeaveOneOut(loso);
        _ = calibration.Check(loso);
        Step("calibration");
        string model = Path.Combine(Path.GetTempPath(), $"gpff-train-profile-{Environment.ProcessId}.gpff");
        try
        {
            ff.Save(model);
            Step("save model file");
        }
        finally
        {
            File.Delete(model);
        }

        process.Refresh();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{"total (without the separate assembly and Cholesky)",-44} cpu {(process.TotalProcessorTime - totalCpu).TotalSeconds:F3} s; residuals: {residuals[^1]}"));
    }
}
