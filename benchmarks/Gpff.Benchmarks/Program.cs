using Gpff.Benchmarks;

// Run all benchmarks:      dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- --filter '*'
// Run one class:           dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- --filter '*NeighborList*'
// CI smoke run:            dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- --ci
//                          (every benchmark once, in process, on tiny sizes; exit 1 when one fails)
// Sparse-vs-full accuracy: dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- sparse-accuracy [DATA] [FOLDS] [MAX_FIT_ITERATIONS] [SETS] [per-fold]
// B2 values for FLARE++: dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- b2-dump DATA OUT NMAX LMAX CUTOFF SPECIES
// B2 cross-validation:    dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- b2-accuracy [DATA] [FOLDS] [KERNELS] [NMAX] [LMAX] [CUTOFF] [TEST]
if (args is ["b2-accuracy", .. var accArgs])
{
    Gpff.Benchmarks.B2Accuracy.Run(accArgs);
    return 0;
}

// Default-fit comparison: dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- fit-accuracy [DATA] [FOLDS] [RECIPES] [THREADS]
if (args is ["fit-accuracy", .. var fitArgs])
{
    Gpff.Benchmarks.FitAccuracy.Run(fitArgs);
    return 0;
}

// B2 speed, one thread:   dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- b2-speed [DATA] [NMAX] [LMAX] [CUTOFF] [REPEATS]
if (args is ["b2-speed", .. var speedArgs])
{
    Gpff.Benchmarks.B2Speed.Run(speedArgs);
    return 0;
}

if (args is ["b2-dump", .. var b2args])
{
    Gpff.Benchmarks.B2Dump.Run(b2args);
    return 0;
}

// Sparse GP at scale, by hand: dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- sparse-scale [LABELS,…] [M] [THREADS] [KERNELS,…]
if (args is ["sparse-scale", .. var scaleArgs])
{
    Gpff.Benchmarks.SparseScaleBenchmarks.RunOnce(scaleArgs);
    return 0;
}

// B2 K_nu column path alone: dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- b2-columns [STRUCTURES] [M] [REPEATS]
if (args is ["b2-columns", .. var columnArgs])
{
    Gpff.Benchmarks.B2ColumnBenchmarks.RunOnce(columnArgs);
    return 0;
}

if (args is ["sparse-accuracy", .. var rest])
{
    Gpff.Benchmarks.SparseAccuracy.Run(rest);
    return 0;
}

return BenchmarkProgram.Run(args);
