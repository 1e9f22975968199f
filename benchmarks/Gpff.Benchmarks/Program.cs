using Gpff.Benchmarks;

// Run all benchmarks:      dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- --filter '*'
// Run one class:           dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- --filter '*NeighborList*'
// CI smoke run:            dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- --ci
//                          (every benchmark once, in process, on tiny sizes; exit 1 when one fails)
// Sparse-vs-full accuracy: dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- sparse-accuracy [DATA] [MODEL] [FOLDS]
if (args is ["sparse-accuracy", .. var rest])
{
    Gpff.Benchmarks.SparseAccuracy.Run(rest);
    return 0;
}

return BenchmarkProgram.Run(args);
