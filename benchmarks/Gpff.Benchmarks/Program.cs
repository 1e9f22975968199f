using BenchmarkDotNet.Running;

// Run all benchmarks:      dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- --filter '*'
// Run one class:           dotnet run -c Release --project benchmarks/Gpff.Benchmarks -- --filter '*NeighborList*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
