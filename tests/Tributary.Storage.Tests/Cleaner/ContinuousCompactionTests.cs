using System.Diagnostics;
using Tributary.Storage.Cleaner;

namespace Tributary.Storage.Tests.Cleaner;

/// <summary>
/// The background cleaner over minutes of log time (a fake clock; the cleaner's own worker thread does the work): rounds of
/// updates and deletes while segments roll by size and by segment.ms, each round checked against what Kafka's cleaner leaves.
/// </summary>
public sealed class ContinuousCompactionTests
{
    private const int Rounds = 100;
    private const long DeleteRetentionMs = 10_000;
    private static readonly TimeSpan RoundInterval = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan CatchUpTimeout = TimeSpan.FromSeconds(30);

    private static readonly LogConfig Config = new()
    {
        CleanupPolicy = CleanupPolicy.Compact,
        SegmentBytes = 16 * 1024,
        SegmentMs = 1000,
        IndexIntervalBytes = 256,
        MinCleanableDirtyRatio = 0.01,
        DeleteRetentionMs = DeleteRetentionMs,
        MinCompactionLagMs = 0,
    };

    [Fact]
    public void Every_round_of_updates_and_deletes_is_cleaned_for_five_minutes_of_log_time_and_tombstones_expire_after_delete_retention_ms()
    {
        using var dir = new TempDirectory();
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(Batches.T0));
        var options = new LogManagerOptions { LogDirs = [dir.Path], Cleaner = new LogCleanerOptions { BackoffMs = 5 } };
        var logs = new RecordingLoggerFactory();
        using LogManager manager = LogManager.Open(options, logs, time);
        PartitionLog log = manager.GetOrCreateLog("state", 0, Config);
        var model = new CompactedLogModel(DeleteRetentionMs);
        var random = new Random(15);

        for (int round = 0; round < Rounds; round++)
        {
            time.Advance(RoundInterval);
            var writes = new List<(string Key, string? Value)>();
            for (int i = 0; i < 120; i++)
            {
                writes.Add(($"key-{random.Next(500)}", $"round-{round}-update-{i}"));
            }

            for (int i = 0; i < 15; i++)
            {
                writes.Insert(random.Next(writes.Count), ($"key-{random.Next(500)}", null));
            }

            AppendInBatches(log, model, writes, time.NowMs);
            CatchUpAndCheck(log, model, logs, time.NowMs, $"round {round}");
        }

        // A last update closes the segment holding the last round's tombstones; then, with no writes at all, the cleaner still runs
        // when their delete horizon passes (Kafka cleans a log whose tombstones expired even below min.cleanable.dirty.ratio).
        time.Advance(RoundInterval);
        AppendInBatches(log, model, [("marker", "last")], time.NowMs);
        CatchUpAndCheck(log, model, logs, time.NowMs, "closing round");
        time.Advance(TimeSpan.FromMilliseconds(DeleteRetentionMs));
        List<ReadRecord> final = CatchUpAndCheck(log, model, logs, time.NowMs, "after delete.retention.ms without writes");

        Assert.DoesNotContain(final, record => record.Value is null);
        Assert.Equal(model.LiveKeys(), final.ToDictionary(record => record.Key!, record => record.Value!));
        HashSet<string> deleted = model.DeletedKeys();
        Assert.DoesNotContain(final, record => deleted.Contains(record.Key!));
    }

    private static void AppendInBatches(PartitionLog log, CompactedLogModel model, List<(string Key, string? Value)> writes, long nowMs)
    {
        foreach ((string Key, string? Value)[] batch in writes.Chunk(15))
        {
            long baseOffset = log.LogEndOffset;
            Compaction.Append(log, nowMs, batch);
            for (int i = 0; i < batch.Length; i++)
            {
                model.Written(baseOffset + i, batch[i].Key, batch[i].Value, nowMs);
            }
        }
    }

    /// <summary>
    /// Waits (bounded) until the cleaner has cleaned every closed segment at this log time, then asserts the whole log is exactly
    /// what Kafka's cleaner leaves; returns what was read.
    /// </summary>
    private static List<ReadRecord> CatchUpAndCheck(PartitionLog log, CompactedLogModel model, RecordingLoggerFactory logs, long nowMs, string when)
    {
        long activeBase = log.CurrentSegments[^1].BaseOffset;
        model.CleanedUpTo(activeBase, nowMs);
        List<ReadRecord> expected = model.Expected(activeBase, nowMs);
        var clock = Stopwatch.StartNew();
        List<ReadRecord> actual = Compaction.ReadAll(log);
        while (!(log.CleanerCheckpoint == activeBase && actual.SequenceEqual(expected)) && clock.Elapsed < CatchUpTimeout)
        {
            Thread.Sleep(5);
            actual = Compaction.ReadAll(log);
        }

        Assert.True(log.CleanerCheckpoint == activeBase,
            $"{when}: the cleaner checkpoint is {log.CleanerCheckpoint}, not the active segment's base {activeBase}, after {CatchUpTimeout}; last log lines:{Environment.NewLine}{logs.Tail(20)}");
        Assert.True(actual.SequenceEqual(expected),
            $"{when}: {actual.Count} records read, {expected.Count} expected; first difference: "
            + string.Join(" / ", actual.Zip(expected).Where(pair => pair.First != pair.Second).Take(1)
                .Select(pair => $"read {pair.First}, expected {pair.Second}")) + $"; last log lines:{Environment.NewLine}{logs.Tail(20)}");
        return actual;
    }
}
