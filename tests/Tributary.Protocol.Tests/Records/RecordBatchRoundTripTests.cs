using System.Text;
using Tributary.Protocol.Records;
using static Tributary.Protocol.Tests.Records.RecordBatchTestData;

namespace Tributary.Protocol.Tests.Records;

public class RecordBatchRoundTripTests
{
    [Fact]
    public void Built_batch_validates_and_reports_its_contents()
    {
        byte[] batch = ThreeRecordBatch();

        RecordValidationError error = RecordBatchValidator.ValidateProduce(batch, 1 << 20, out ProduceValidation result);

        Assert.Equal(RecordValidationError.None, error);
        Assert.Equal(1, result.BatchCount);
        Assert.Equal(3, result.RecordCount);
        Assert.Equal(batch.Length, result.TotalBytes);
        Assert.Equal(BaseTimestamp + 5, result.MaxTimestamp);
        Assert.Equal(7, result.FirstProducerId);
        Assert.Equal((short)1, result.FirstProducerEpoch);
        Assert.Equal(0, result.FirstBaseSequence);
        Assert.False(result.HasTransactional);
        Assert.False(result.HasControl);
    }

    [Fact]
    public void Header_exposes_fields_and_derived_values()
    {
        byte[] batch = ThreeRecordBatch(baseOffset: 100);

        RecordBatchHeader header = RecordBatchHeader.Read(batch);

        Assert.Equal(100, header.BaseOffset);
        Assert.Equal(102, header.LastOffset);
        Assert.Equal(batch.Length, header.TotalSize);
        Assert.Equal(2, header.Magic);
        Assert.Equal(3, header.RecordCount);
        Assert.Equal(CompressionType.None, header.Compression);
        Assert.Equal(TimestampType.CreateTime, header.TimestampType);
        Assert.Equal(BaseTimestamp, header.BaseTimestamp);
        Assert.Equal(BaseTimestamp + 5, header.MaxTimestamp);
        Assert.Equal(RecordBatchHeader.ComputeCrc(batch), header.Crc);
    }

    [Fact]
    public void Reader_returns_the_records_that_were_built()
    {
        byte[] batch = ThreeRecordBatch(baseOffset: 10);
        var reader = new RecordReader(batch);

        Assert.True(reader.TryReadNext(out RecordView first));
        Assert.Equal(10, first.Offset);
        Assert.Equal(BaseTimestamp, first.Timestamp);
        Assert.True(first.HasKey);
        Assert.Equal("k0", Encoding.UTF8.GetString(first.Key));
        Assert.Equal("v0", Encoding.UTF8.GetString(first.Value));
        Assert.Equal(0, first.Headers.Count);

        Assert.True(reader.TryReadNext(out RecordView second));
        Assert.Equal(11, second.Offset);
        Assert.Equal(BaseTimestamp + 5, second.Timestamp);
        Assert.False(second.HasKey);
        Assert.Equal(1, second.Headers.Count);
        foreach (RecordHeaderView header in second.Headers)
        {
            Assert.Equal("h", Encoding.UTF8.GetString(header.Key));
            Assert.Equal("x", Encoding.UTF8.GetString(header.Value));
        }

        Assert.True(reader.TryReadNext(out RecordView third));
        Assert.Equal(12, third.Offset);
        Assert.False(third.HasValue);

        Assert.False(reader.TryReadNext(out _));
    }

    [Fact]
    public void Enumerator_walks_concatenated_batches()
    {
        byte[] set = [.. ThreeRecordBatch(0), .. ThreeRecordBatch(3)];
        var offsets = new List<long>();
        foreach (ReadOnlySpan<byte> batch in new RecordBatchEnumerator(set))
        {
            offsets.Add(RecordBatchHeader.Read(batch).BaseOffset);
        }

        Assert.Equal([0L, 3L], offsets);
    }

    [Fact]
    public void Validator_accepts_several_batches_and_sums_their_records()
    {
        byte[] set = [.. ThreeRecordBatch(), .. ThreeRecordBatch()];

        RecordValidationError error = RecordBatchValidator.ValidateProduce(set, 1 << 20, out ProduceValidation result);

        Assert.Equal(RecordValidationError.None, error);
        Assert.Equal(2, result.BatchCount);
        Assert.Equal(6, result.RecordCount);
    }
}
