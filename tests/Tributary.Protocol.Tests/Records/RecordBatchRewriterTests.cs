using System.Buffers.Binary;
using Tributary.Protocol.Records;
using static Tributary.Protocol.Tests.Records.RecordBatchTestData;

namespace Tributary.Protocol.Tests.Records;

public class RecordBatchRewriterTests
{
    [Fact]
    public void AssignOffsets_numbers_batches_consecutively_and_keeps_crcs_valid()
    {
        byte[] set = [.. ThreeRecordBatch(), .. ThreeRecordBatch()];

        long next = RecordBatchRewriter.AssignOffsets(set, 1000);

        Assert.Equal(1006, next);
        Assert.Equal(1000, RecordBatchHeader.Read(set).BaseOffset);
        Assert.Equal(1003, RecordBatchHeader.Read(set.AsSpan(set.Length / 2)).BaseOffset);
        Assert.Equal(RecordValidationError.None, RecordBatchValidator.ValidateProduce(set, 1 << 20, out _));
    }

    [Fact]
    public void SetLogAppendTime_sets_type_and_max_timestamp_with_a_valid_crc()
    {
        byte[] batch = ThreeRecordBatch();

        RecordBatchRewriter.SetLogAppendTime(batch, 42_000);

        RecordBatchHeader header = RecordBatchHeader.Read(batch);
        Assert.Equal(TimestampType.LogAppendTime, header.TimestampType);
        Assert.Equal(42_000, header.MaxTimestamp);
        Assert.True(RecordBatchValidator.HasValidCrc(batch));
        var reader = new RecordReader(batch);
        while (reader.TryReadNext(out RecordView record))
        {
            Assert.Equal(42_000, record.Timestamp);
        }
    }

    [Fact]
    public void SetPartitionLeaderEpoch_writes_the_epoch_outside_the_crc()
    {
        byte[] batch = ThreeRecordBatch();

        RecordBatchRewriter.SetPartitionLeaderEpoch(batch, 17);

        Assert.Equal(17, BinaryPrimitives.ReadInt32BigEndian(batch.AsSpan(RecordBatchLayout.PartitionLeaderEpoch)));
        Assert.True(RecordBatchValidator.HasValidCrc(batch));
    }

    [Fact]
    public void AssignOffsets_rejects_a_partial_batch()
    {
        byte[] batch = ThreeRecordBatch();

        Assert.Throws<ArgumentException>(() => RecordBatchRewriter.AssignOffsets(batch.AsSpan(0, batch.Length - 1), 0));
    }
}
