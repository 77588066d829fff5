using System.Buffers;
using Tributary.Protocol.Records;

namespace Tributary.Storage.Cleaner;

/// <summary>Writes one retained record in the v2 record format, re-based on the rewritten batch's base timestamp and offset.</summary>
internal static class RecordEncoder
{
    public static void Write(ArrayBufferWriter<byte> output, in RecordView record, long baseTimestamp, long baseOffset)
    {
        long timestampDelta = record.Timestamp - baseTimestamp;
        int offsetDelta = checked((int)(record.Offset - baseOffset));
        int bodySize = 1 + Varint.SizeOfVarlong(timestampDelta) + Varint.SizeOfVarlong(offsetDelta)
            + SizeOfBytes(record.Key.Length, record.HasKey) + SizeOfBytes(record.Value.Length, record.HasValue)
            + Varint.SizeOfVarlong(record.Headers.Count);
        foreach (RecordHeaderView header in record.Headers)
        {
            bodySize += SizeOfBytes(header.Key.Length, present: true) + SizeOfBytes(header.Value.Length, header.HasValue);
        }

        int total = Varint.SizeOfVarlong(bodySize) + bodySize;
        Span<byte> span = output.GetSpan(total)[..total];
        int p = Varint.WriteVarlong(span, bodySize);
        span[p++] = 0; // record attributes: unused in magic 2
        p += Varint.WriteVarlong(span[p..], timestampDelta);
        p += Varint.WriteVarlong(span[p..], offsetDelta);
        p += WriteBytes(span[p..], record.Key, record.HasKey);
        p += WriteBytes(span[p..], record.Value, record.HasValue);
        p += Varint.WriteVarlong(span[p..], record.Headers.Count);
        foreach (RecordHeaderView header in record.Headers)
        {
            p += WriteBytes(span[p..], header.Key, present: true);
            p += WriteBytes(span[p..], header.Value, header.HasValue);
        }

        output.Advance(p);
    }

    private static int SizeOfBytes(int length, bool present) => present ? Varint.SizeOfVarlong(length) + length : 1;

    private static int WriteBytes(Span<byte> destination, ReadOnlySpan<byte> bytes, bool present)
    {
        if (!present)
        {
            return Varint.WriteVarlong(destination, -1);
        }

        int p = Varint.WriteVarlong(destination, bytes.Length);
        bytes.CopyTo(destination[p..]);
        return p + bytes.Length;
    }
}
