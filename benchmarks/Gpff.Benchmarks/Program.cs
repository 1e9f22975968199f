using BenchmarkDotNet.Running;

// Run all benchmarks:      dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- --filter '*'
// Run one class:           dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- --filter '*NeighborList*'
// Sparse-vs-full accuracy: dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- sparse-accuracy [DATA] [MODEL] [FOLDS]
if (args is ["sparse-accuracy", .. var rest])
{
    Gpff.Benchmarks.SparseAccuracy.Run(rest);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
