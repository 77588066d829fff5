using System.Text;
using Tributary.Protocol.Records;
using Tributary.Storage.Cleaner;

namespace Tributary.Storage.Tests.Cleaner;

public sealed class LogCleanerTests
{
    private const long T0 = Batches.T0;

    [Fact]
    public void Compaction_of_100000_updates_over_1000_keys_keeps_exactly_the_latest_record_per_key()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path, Compaction.CompactConfig with { SegmentBytes = 256 * 1024 });
        var model = new Dictionary<string, string>();
        for (int batch = 0; batch < 1000; batch++)
        {
            var updates = new (string, string?)[100];
            for (int i = 0; i < 100; i++)
            {
                int update = (batch * 100) + i;
                string key = $"key-{(update * 7919) % 1000}";
                string value = $"value-{update}";
                updates[i] = (key, value);
                model[key] = value;
            }

            Compaction.Append(log, T0 + batch, updates);
        }

        // The active segment is never cleaned: roll so everything is closed.
        log.ForceRoll(T0 + 2000);
        long logEnd = log.LogEndOffset;

        CleaningResult? result = Compaction.NewCleaner().Clean(log, T0 + 3000);

        Assert.NotNull(result);
        List<ReadRecord> records = Compaction.ReadAll(log);
        Assert.Equal(model.Count, records.Count);
        Assert.Equal(model, records.ToDictionary(r => r.Key!, r => r.Value!));
        Assert.True(records.Zip(records.Skip(1)).All(pair => pair.First.Offset < pair.Second.Offset), "offsets must strictly increase");
        Assert.Equal(logEnd, log.LogEndOffset);
        Assert.True(log.SizeInBytes < 200 * 1024, $"compacted log is {log.SizeInBytes} bytes");
    }

    [Fact]
    public void Offsets_of_retained_records_are_preserved_and_batches_keep_their_producer_fields()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path, Compaction.CompactConfig);
        var builder = new RecordBatchBuilder { ProducerId = 42, ProducerEpoch = 3, BaseSequence = 10 };
        Compaction.AppendWith(log, builder, T0, ("a", "1"), ("b", "1"), ("c", "1"));
        Compaction.Append(log, T0, ("a", "2"));
        log.ForceRoll(T0);

        Compaction.NewCleaner().Clean(log, T0 + 10);

        List<RecordBatchHeader> headers = Compaction.ReadHeaders(log);
        RecordBatchHeader first = headers[0];
        Assert.Equal(0, first.BaseOffset);
        Assert.Equal(2, first.LastOffsetDelta);
        Assert.Equal(2, first.RecordCount);
        Assert.Equal(42, first.ProducerId);
        Assert.Equal(3, first.ProducerEpoch);
        Assert.Equal(10, first.BaseSequence);
        Assert.Equal([1L, 2L, 3L], Compaction.ReadAll(log).Select(r => r.Offset));
    }

    [Fact]
    public void The_last_batch_of_a_producer_survives_empty_so_its_sequence_numbers_are_kept()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path, Compaction.CompactConfig);
        Compaction.AppendWith(log, new RecordBatchBuilder { ProducerId = 7, ProducerEpoch = 0, BaseSequence = 0 }, T0, ("a", "1"), ("b", "1"));
        Compaction.Append(log, T0, ("a", "2"), ("b", "2"));
        log.ForceRoll(T0);

        Compaction.NewCleaner().Clean(log, T0 + 10);

        List<RecordBatchHeader> headers = Compaction.ReadHeaders(log);
        Assert.Equal(2, headers.Count);
        Assert.Equal((7L, 0L, 1, 0), (headers[0].ProducerId, headers[0].BaseOffset, headers[0].LastOffsetDelta, headers[0].RecordCount));
        Assert.Equal([2L, 3L], Compaction.ReadAll(log).Select(r => r.Offset));
    }

    [Fact]
    public void Tombstones_stay_visible_until_delete_retention_ms_after_the_first_cleaning_and_are_removed_after()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path, Compaction.CompactConfig with { DeleteRetentionMs = 60_000 });
        Compaction.Append(log, T0, ("gone", "1"), ("kept", "1"));
        Compaction.Append(log, T0 + 1, ("gone", null));
        log.ForceRoll(T0 + 2);
        LogCleaner cleaner = Compaction.NewCleaner(log);

        cleaner.Clean(log, T0 + 1000);
        List<ReadRecord> before = Compaction.ReadAll(log);
        Assert.Contains(before, r => r.Key == "gone" && r.Value is null);
        Assert.DoesNotContain(before, r => r.Key == "gone" && r.Value is not null);
        Assert.Equal(T0 + 1, before.Single(r => r.Key == "gone").Timestamp);

        Assert.Null(cleaner.CleanFilthiestLog(T0 + 1000 + 59_000));
        Assert.NotNull(cleaner.CleanFilthiestLog(T0 + 1000 + 60_001));
        List<ReadRecord> after = Compaction.ReadAll(log);
        Assert.DoesNotContain(after, r => r.Key == "gone");
        Assert.Equal([("kept", "1")], after.Select(r => (r.Key, r.Value)));
    }

    [Fact]
    public void A_log_below_min_cleanable_dirty_ratio_is_not_picked()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path, Compaction.CompactConfig with { MinCleanableDirtyRatio = 0.9 });
        Compaction.Append(log, T0, ("a", "1"));
        log.ForceRoll(T0);
        LogCleaner cleaner = Compaction.NewCleaner(log);
        Assert.NotNull(cleaner.CleanFilthiestLog(T0 + 10));
        Compaction.Append(log, T0, ("b", "1"));
        log.ForceRoll(T0);

        // Now half of the cleanable bytes are dirty: below 0.9.
        Assert.Null(cleaner.CleanFilthiestLog(T0 + 20));
        log.UpdateConfig(log.Config with { MinCleanableDirtyRatio = 0.4 });
        Assert.NotNull(cleaner.CleanFilthiestLog(T0 + 20));
    }

    [Fact]
    public void Records_younger_than_min_compaction_lag_ms_are_not_compacted()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path, Compaction.CompactConfig with { MinCompactionLagMs = 10_000 });
        Compaction.Append(log, T0, ("a", "1"));
        log.ForceRoll(T0);
        Compaction.Append(log, T0 + 9_000, ("a", "2"));
        log.ForceRoll(T0 + 9_000);

        Compaction.NewCleaner().Clean(log, T0 + 12_000);

        Assert.Equal(["1", "2"], Compaction.ReadAll(log).Select(r => r.Value));
        Assert.Equal(1, log.CleanerCheckpoint);
    }

    public static TheoryData<CompressionType> Codecs => [CompressionType.Gzip, CompressionType.Snappy, CompressionType.Lz4, CompressionType.Zstd];

    [Theory]
    [MemberData(nameof(Codecs))]
    public void Compressed_batches_are_compacted_and_written_back_with_their_codec(CompressionType codec)
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path, Compaction.CompactConfig);
        var builder = new RecordBatchBuilder { ProducerId = 9, ProducerEpoch = 1, BaseSequence = 100 };
        foreach ((string key, string value) in new[] { ("a", "1"), ("b", "1"), ("a", "2"), ("c", "1") })
        {
            builder.Append(T0, Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(value));
        }

        log.AppendAsLeader(Compaction.Compress(builder.Build(), codec), 4, 0, T0, logAppendTime: false);
        Compaction.Append(log, T0, ("c", "2"));
        log.ForceRoll(T0);

        Compaction.NewCleaner().Clean(log, T0 + 10);

        RecordBatchHeader first = Compaction.ReadHeaders(log)[0];
        Assert.Equal(codec, first.Compression);
        Assert.Equal((2, 3, 9L, 100), (first.RecordCount, first.LastOffsetDelta, first.ProducerId, first.BaseSequence));
        Assert.Equal([(1L, "b", "1"), (2L, "a", "2"), (4L, "c", "2")], Compaction.ReadAll(log).Select(r => (r.Offset, r.Key!, r.Value!)));
    }

    [Fact]
    public void Keyless_records_are_dropped_from_compacted_logs()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path, Compaction.CompactConfig);
        var builder = new RecordBatchBuilder();
        builder.Append(T0, null, Encoding.UTF8.GetBytes("no key"));
        builder.Append(T0, Encoding.UTF8.GetBytes("k"), Encoding.UTF8.GetBytes("v"));
        log.AppendAsLeader(builder.Build(), 2, 0, T0, logAppendTime: false);
        log.ForceRoll(T0);
        log.UpdateHighWatermark(log.LogEndOffset);

        Compaction.NewCleaner().Clean(log, T0 + 10);

        Assert.Equal([(1L, "k")], Compaction.ReadAll(log).Select(r => (r.Offset, r.Key!)));
    }

    [Fact]
    public void A_compacted_log_reopens_with_the_same_records_after_a_clean_shutdown()
    {
        using var dir = new TempDirectory();
        List<ReadRecord> expected;
        PartitionLog log = Logs.Open(dir.Path, Compaction.CompactConfig);
        {
            for (int i = 0; i < 50; i++)
            {
                Compaction.Append(log, T0 + i, ($"k{i % 5}", $"v{i}"));
            }

            log.ForceRoll(T0 + 100);
            Compaction.NewCleaner().Clean(log, T0 + 200);
            expected = Compaction.ReadAll(log);
            log.Close();
        }

        PartitionLog reopened = Logs.Open(dir.Path, Compaction.CompactConfig, clean: true);
        Assert.Equal(expected, Compaction.ReadAll(reopened));
        Assert.Equal(5, expected.Count);
    }
}
