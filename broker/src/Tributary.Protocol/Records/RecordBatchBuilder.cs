using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Tributary.Protocol.Records;

/// <summary>A record header to write: UTF-8 key and optional value.</summary>
public readonly record struct RecordHeader(string Key, byte[]? Value);

/// <summary>Builds one uncompressed record batch v2; for tests and internal topics (not the produce hot path).</summary>
public sealed class RecordBatchBuilder
{
    private readonly ArrayBufferWriter<byte> _records = new();
    private int _count;
    private long _baseTimestamp;
    private long _maxTimestamp = -1;

    public long BaseOffset { get; init; }
    public int PartitionLeaderEpoch { get; init; } = -1;
    public long ProducerId { get; init; } = -1;
    public short ProducerEpoch { get; init; } = -1;
    public int BaseSequence { get; init; } = -1;
    public bool IsTransactional { get; init; }
    public bool IsControl { get; init; }
    public TimestampType TimestampType { get; init; } = TimestampType.CreateTime;

    public int Count => _count;

    /// <summary>Appends a record; the first record's timestamp becomes the batch's baseTimestamp.</summary>
    public RecordBatchBuilder Append(long timestampMs, ReadOnlySpan<byte> key, bool hasKey, ReadOnlySpan<byte> value, bool hasValue,
        ReadOnlySpan<RecordHeader> headers = default)
    {
        if (_count == 0)
        {
            _baseTimestamp = timestampMs;
        }

        long timestampDelta = timestampMs - _baseTimestamp;
        int bodySize = 1 + Varint.SizeOfVarlong(timestampDelta) + Varint.SizeOfVarint(_count)
            + SizeOfBytes(key, hasKey) + SizeOfBytes(value, hasValue) + Varint.SizeOfVarint(headers.Length);
        foreach (RecordHeader header in headers)
        {
            int keyBytes = Encoding.UTF8.GetByteCount(header.Key);
            bodySize += Varint.SizeOfVarint(keyBytes) + keyBytes + SizeOfBytes(header.Value, header.Value is not null);
        }

        int totalSize = Varint.SizeOfVarint(bodySize) + bodySize;
        Span<byte> span = _records.GetSpan(totalSize)[..totalSize];
        int p = Varint.WriteVarint(span, bodySize);
        span[p++] = 0; // record attributes: unused
        p += Varint.WriteVarlong(span[p..], timestampDelta);
        p += Varint.WriteVarint(span[p..], _count);
        p += WriteBytes(span[p..], key, hasKey);
        p += WriteBytes(span[p..], value, hasValue);
        p += Varint.WriteVarint(span[p..], headers.Length);
        foreach (RecordHeader header in headers)
        {
            int keyBytes = Encoding.UTF8.GetByteCount(header.Key);
            p += Varint.WriteVarint(span[p..], keyBytes);
            p += Encoding.UTF8.GetBytes(header.Key, span[p..]);
            p += WriteBytes(span[p..], header.Value, header.Value is not null);
        }

        _records.Advance(p);
        _count++;
        _maxTimestamp = Math.Max(_maxTimestamp, timestampMs);
        return this;
    }

    /// <summary>Appends a record; null key/value are written as null (length -1).</summary>
    public RecordBatchBuilder Append(long timestampMs, byte[]? key, byte[]? value, params RecordHeader[] headers) =>
        Append(timestampMs, key, key is not null, value, value is not null, headers);

    /// <summary>Serialises the batch with a valid CRC.</summary>
    /// <exception cref="InvalidOperationException">no record was appended (Kafka rejects empty batches).</exception>
    public byte[] Build()
    {
        if (_count == 0)
        {
            throw new InvalidOperationException("A record batch needs at least one record.");
        }

        var batch = new byte[RecordBatchLayout.HeaderSize + _records.WrittenCount];
        Span<byte> span = batch;
        short attributes = 0;
        if (TimestampType == TimestampType.LogAppendTime)
        {
            attributes |= RecordBatchAttributeBits.TimestampTypeLogAppendTime;
        }

        if (IsTransactional)
        {
            attributes |= RecordBatchAttributeBits.Transactional;
        }

        if (IsControl)
        {
            attributes |= RecordBatchAttributeBits.Control;
        }

        BinaryPrimitives.WriteInt64BigEndian(span[RecordBatchLayout.BaseOffset..], BaseOffset);
        BinaryPrimitives.WriteInt32BigEndian(span[RecordBatchLayout.BatchLength..], batch.Length - RecordBatchLayout.LogOverhead);
        BinaryPrimitives.WriteInt32BigEndian(span[RecordBatchLayout.PartitionLeaderEpoch..], PartitionLeaderEpoch);
        span[RecordBatchLayout.Magic] = RecordBatchLayout.CurrentMagic;
        BinaryPrimitives.WriteInt16BigEndian(span[RecordBatchLayout.Attributes..], attributes);
        BinaryPrimitives.WriteInt32BigEndian(span[RecordBatchLayout.LastOffsetDelta..], _count - 1);
        BinaryPrimitives.WriteInt64BigEndian(span[RecordBatchLayout.BaseTimestamp..], _baseTimestamp);
        BinaryPrimitives.WriteInt64BigEndian(span[RecordBatchLayout.MaxTimestamp..], _maxTimestamp);
        BinaryPrimitives.WriteInt64BigEndian(span[RecordBatchLayout.ProducerId..], ProducerId);
        BinaryPrimitives.WriteInt16BigEndian(span[RecordBatchLayout.ProducerEpoch..], ProducerEpoch);
        BinaryPrimitives.WriteInt32BigEndian(span[RecordBatchLayout.BaseSequence..], BaseSequence);
        BinaryPrimitives.WriteInt32BigEndian(span[RecordBatchLayout.RecordCount..], _count);
        _records.WrittenSpan.CopyTo(span[RecordBatchLayout.Records..]);
        RecordBatchRewriter.WriteCrc(span);
        return batch;
    }

    private static int SizeOfBytes(ReadOnlySpan<byte> bytes, bool present) =>
        present ? Varint.SizeOfVarint(bytes.Length) + bytes.Length : Varint.SizeOfVarint(-1);

    private static int WriteBytes(Span<byte> destination, ReadOnlySpan<byte> bytes, bool present)
    {
        if (!present)
        {
            return Varint.WriteVarint(destination, -1);
        }

        int p = Varint.WriteVarint(destination, bytes.Length);
        bytes.CopyTo(destination[p..]);
        return p + bytes.Length;
    }
}
