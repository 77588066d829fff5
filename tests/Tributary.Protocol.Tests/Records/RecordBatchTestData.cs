using System.Buffers.Binary;
using System.Text;
using Tributary.Protocol.Records;

namespace Tributary.Protocol.Tests.Records;

/// <summary>Batches used across the record codec tests.</summary>
internal static class RecordBatchTestData
{
    public const long BaseTimestamp = 1_700_000_000_000;

    public static byte[] ThreeRecordBatch(long baseOffset = 0)
    {
        var builder = new RecordBatchBuilder { BaseOffset = baseOffset, ProducerId = 7, ProducerEpoch = 1, BaseSequence = 0 };
        builder.Append(BaseTimestamp, Encoding.UTF8.GetBytes("k0"), Encoding.UTF8.GetBytes("v0"));
        builder.Append(BaseTimestamp + 5, null, Encoding.UTF8.GetBytes("v1"), new RecordHeader("h", Encoding.UTF8.GetBytes("x")));
        builder.Append(BaseTimestamp + 3, Encoding.UTF8.GetBytes("k2"), null);
        return builder.Build();
    }

    /// <summary>Recomputes the CRC after a deliberate edit, so only the edited property is wrong.</summary>
    public static void FixCrc(byte[] batch) => RecordBatchRewriter.WriteCrc(batch);

    public static void WriteInt32(byte[] batch, int offset, int value) => BinaryPrimitives.WriteInt32BigEndian(batch.AsSpan(offset), value);
}
