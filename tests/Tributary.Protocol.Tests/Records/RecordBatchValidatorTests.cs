using Tributary.Protocol.Records;
using static Tributary.Protocol.Tests.Records.RecordBatchTestData;

namespace Tributary.Protocol.Tests.Records;

public class RecordBatchValidatorTests
{
    private const int Limit = 1 << 20;

    [Fact]
    public void ValidateProduce_reports_corrupt_message_when_a_payload_byte_flips()
    {
        byte[] batch = ThreeRecordBatch();
        batch[^3] ^= 0x01;

        Assert.Equal(RecordValidationError.CorruptMessage, RecordBatchValidator.ValidateProduce(batch, Limit, out ProduceValidation result));
        Assert.Equal(0, result.ErrorBatchIndex);
        Assert.NotNull(result.ErrorMessage);
    }

    [Fact]
    public void ValidateProduce_reports_corrupt_message_when_the_batch_is_truncated()
    {
        byte[] batch = ThreeRecordBatch();

        Assert.Equal(RecordValidationError.CorruptMessage, RecordBatchValidator.ValidateProduce(batch.AsSpan(0, batch.Length - 1), Limit, out _));
        Assert.Equal(RecordValidationError.CorruptMessage, RecordBatchValidator.ValidateProduce(batch.AsSpan(0, 8), Limit, out _));
    }

    [Fact]
    public void ValidateProduce_reports_corrupt_message_when_the_length_is_below_the_header()
    {
        byte[] batch = ThreeRecordBatch();
        WriteInt32(batch, RecordBatchLayout.BatchLength, 10);

        Assert.Equal(RecordValidationError.CorruptMessage, RecordBatchValidator.ValidateProduce(batch, Limit, out _));
    }

    [Fact]
    public void ValidateProduce_reports_corrupt_message_for_trailing_partial_batch()
    {
        byte[] set = [.. ThreeRecordBatch(), .. ThreeRecordBatch().AsSpan(0, 30)];

        Assert.Equal(RecordValidationError.CorruptMessage, RecordBatchValidator.ValidateProduce(set, Limit, out ProduceValidation result));
        Assert.Equal(1, result.ErrorBatchIndex);
    }

    [Fact]
    public void ValidateProduce_reports_unsupported_magic()
    {
        byte[] batch = ThreeRecordBatch();
        batch[RecordBatchLayout.Magic] = 1;

        Assert.Equal(RecordValidationError.UnsupportedMagic, RecordBatchValidator.ValidateProduce(batch, Limit, out _));
    }

    [Fact]
    public void ValidateProduce_reports_invalid_record_when_count_disagrees_with_last_offset_delta()
    {
        byte[] batch = ThreeRecordBatch();
        WriteInt32(batch, RecordBatchLayout.RecordCount, 4);
        FixCrc(batch);

        Assert.Equal(RecordValidationError.InvalidRecord, RecordBatchValidator.ValidateProduce(batch, Limit, out _));
    }

    [Fact]
    public void ValidateProduce_reports_invalid_record_when_records_are_fewer_than_the_count()
    {
        byte[] batch = ThreeRecordBatch();
        WriteInt32(batch, RecordBatchLayout.RecordCount, 4);
        WriteInt32(batch, RecordBatchLayout.LastOffsetDelta, 3);
        FixCrc(batch);

        Assert.Equal(RecordValidationError.InvalidRecord, RecordBatchValidator.ValidateProduce(batch, Limit, out _));
    }

    [Fact]
    public void ValidateProduce_reports_invalid_record_when_a_record_length_overruns_the_batch()
    {
        byte[] batch = ThreeRecordBatch();
        batch[RecordBatchLayout.Records] = 0x7E; // zig-zag 63: longer than the remaining bytes of a small record
        FixCrc(batch);

        Assert.Equal(RecordValidationError.InvalidRecord, RecordBatchValidator.ValidateProduce(batch, Limit, out _));
    }

    [Fact]
    public void ValidateProduce_reports_invalid_record_when_offset_deltas_are_not_sequential()
    {
        byte[] batch = ThreeRecordBatch();
        // First record: length varint, attributes, timestampDelta (0 → one byte), then offsetDelta.
        int offsetDeltaPosition = RecordBatchLayout.Records + 3;
        Assert.Equal(0, batch[offsetDeltaPosition]);
        batch[offsetDeltaPosition] = 2; // zig-zag 1
        FixCrc(batch);

        Assert.Equal(RecordValidationError.InvalidRecord, RecordBatchValidator.ValidateProduce(batch, Limit, out _));
    }

    [Fact]
    public void ValidateProduce_reports_record_too_large_above_the_limit()
    {
        byte[] batch = ThreeRecordBatch();

        Assert.Equal(RecordValidationError.RecordTooLarge, RecordBatchValidator.ValidateProduce(batch, batch.Length - 1, out _));
        Assert.Equal(RecordValidationError.None, RecordBatchValidator.ValidateProduce(batch, batch.Length, out _));
    }

    [Fact]
    public void ValidateProduce_reports_invalid_record_for_an_empty_record_set()
    {
        Assert.Equal(RecordValidationError.InvalidRecord, RecordBatchValidator.ValidateProduce([], Limit, out _));
    }

    [Fact]
    public void ValidateProduce_reports_invalid_timestamp_beyond_the_allowed_skew()
    {
        byte[] batch = ThreeRecordBatch();

        RecordValidationError error = RecordBatchValidator.ValidateProduce(batch, Limit, out _,
            nowMs: BaseTimestamp + 60_000, maxTimestampDifferenceMs: 1_000);

        Assert.Equal(RecordValidationError.InvalidTimestamp, error);
    }

    [Fact]
    public void ValidateProduce_accepts_compressed_batches_as_sent()
    {
        byte[] batch = ThreeRecordBatch();
        batch[RecordBatchLayout.Attributes + 1] |= (byte)CompressionType.Zstd;
        batch[RecordBatchLayout.Records + 1] ^= 0xFF; // opaque compressed payload: not walked
        FixCrc(batch);

        Assert.Equal(RecordValidationError.None, RecordBatchValidator.ValidateProduce(batch, Limit, out ProduceValidation result));
        Assert.Equal(3, result.RecordCount);
    }

    [Fact]
    public void ValidateProduce_reports_unsupported_compression_for_unknown_codec()
    {
        byte[] batch = ThreeRecordBatch();
        batch[RecordBatchLayout.Attributes + 1] |= 0x07;
        FixCrc(batch);

        Assert.Equal(RecordValidationError.UnsupportedCompression, RecordBatchValidator.ValidateProduce(batch, Limit, out _));
    }

    [Fact]
    public void Errors_map_to_kafka_error_codes()
    {
        Assert.Equal(ErrorCode.CorruptMessage, RecordValidationError.CorruptMessage.ToErrorCode());
        Assert.Equal(ErrorCode.MessageTooLarge, RecordValidationError.RecordTooLarge.ToErrorCode());
        Assert.Equal(ErrorCode.InvalidRecord, RecordValidationError.InvalidRecord.ToErrorCode());
        Assert.Equal(ErrorCode.InvalidTimestamp, RecordValidationError.InvalidTimestamp.ToErrorCode());
    }
}
