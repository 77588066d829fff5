using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

// In-process and short: `make bench` must finish in minutes on two shared cores, and the figures that matter here are
// allocations per record (exact) and order-of-magnitude time per record (noisy on a shared machine anyway).
var config = DefaultConfig.Instance
    .AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance).WithLaunchCount(1).WithWarmupCount(2).WithIterationCount(5))
    .WithOptions(ConfigOptions.DisableOptimizationsValidator | ConfigOptions.JoinSummary)
    .WithArtifactsPath(args.Length > 0 && !args[0].StartsWith('-') ? args[0] : Path.Combine(Path.GetTempPath(), "tributary-bench-micro"));
var filter = args.Length > 0 && !args[0].StartsWith('-') ? args[1..] : args;
BenchmarkSwitcher.FromAssembly(typeof(Tributary.Bench.Micro.BenchmarkData).Assembly).Run(filter.Length == 0 ? ["--filter", "*"] : filter, config);
