using Tributary.Protocol.IO;
using Tributary.Storage;

namespace Tributary.Storage.Tests;

public class ConcurrencyAndIoTests
{
    [Fact]
    public async Task Read_during_appends_and_rolls_sees_only_whole_valid_batches()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path, LogConfig.Default with { SegmentBytes = 2048, IndexIntervalBytes = 256 });
        using var stop = new CancellationTokenSource();
        long servedBatches = 0;
        Task reader = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                long end = log.LogEndOffset;
                long start = end == 0 ? 0 : Random.Shared.NextInt64(end);
                LogReadResult result = log.Read(start, 4096, long.MaxValue, minOneBatch: true);
                Assert.Equal(LogReadError.None, result.Error);
                List<Protocol.Records.RecordBatchHeader> headers = Batches.Headers(result.Records);
                if (headers.Count > 0)
                {
                    Assert.True(headers[0].BaseOffset <= start && start <= headers[0].LastOffset);
                    Assert.True(headers[^1].LastOffset < log.LogEndOffset);
                    Interlocked.Add(ref servedBatches, headers.Count);
                }
            }
        });

        int appended = 0;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (appended < 2_000 || (Interlocked.Read(ref servedBatches) < 500 && DateTime.UtcNow < deadline))
        {
            Batches.Append(log);
            appended++;
        }

        stop.Cancel();
        await reader;
        Assert.True(servedBatches > 0);
        Assert.Equal(3 * appended, Batches.ReadAllOffsets(log).Count);
        log.Close();
    }

    [Fact]
    public void DirectorySync_syncs_directories_on_linux()
    {
        using var dir = new TempDirectory();

        Assert.Equal(OperatingSystem.IsLinux(), DirectorySync.TrySync(dir.Path));
    }
}
