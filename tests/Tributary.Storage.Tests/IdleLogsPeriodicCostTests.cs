using Tributary.Tests.Shared;

namespace Tributary.Storage.Tests;

/// <summary>
/// Issue 20: the log manager's once-a-second pass over every hosted log must not cost per idle log. Allocation is counted on the
/// test's own thread around one pass, which is deterministic (the background flusher runs on other threads).
/// </summary>
public class IdleLogsPeriodicCostTests
{
    private const int Logs = 1_000;

    [Fact]
    public void The_flush_pass_over_1000_idle_logs_allocates_nothing_per_log()
    {
        using var dir = new TempDirectory();
        using LogManager manager = LogManager.Open(new LogManagerOptions { LogDirs = [dir.Sub("a"), dir.Sub("b")] });
        for (int partition = 0; partition < Logs; partition++)
        {
            manager.GetOrCreateLog("idle", partition, LogConfig.Default with { FlushIntervalMs = 1 });
        }

        manager.FlushDueLogs(); // the first pass JIT-compiles what it runs
        long before = GC.GetAllocatedBytesForCurrentThread();
        manager.FlushDueLogs();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // Under one byte per log: the two directories' enumerators at most, nothing per log.
        Assert.True(allocated < Logs, $"one flush pass over {Logs} idle logs allocated {allocated} bytes");
    }
}
