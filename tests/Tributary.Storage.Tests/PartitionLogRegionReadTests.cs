using System.Buffers;
using Tributary.Protocol;
using Tributary.Protocol.Records;
using Tributary.Storage;

namespace Tributary.Storage.Tests;

/// <summary>
/// <see cref="PartitionLog.ReadRegion"/> finds the end of a read through the offset index instead of walking every batch; these
/// tests compare it against a plain walk of the whole segment and check what happens when the bytes go away before sending.
/// </summary>
public class PartitionLogRegionReadTests
{
    [Theory]
    [InlineData(0, 1)]
    [InlineData(4096, 2)]
    [InlineData(300, 3)]
    public void Region_reads_match_a_walk_of_every_batch(int indexIntervalBytes, int seed)
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path, LogConfig.Default with { IndexIntervalBytes = indexIntervalBytes, SegmentBytes = 256 * 1024 });
        var random = new Random(seed);
        for (int i = 0; i < 400; i++)
        {
            Batches.Append(log, count: random.Next(1, 40), valueSize: random.Next(1, 200));
        }

        List<(long Position, RecordBatchHeader Header)> all = WalkEverySegment(log);
        Assert.True(log.Segments.Count > 1);
        for (int trial = 0; trial < 2_000; trial++)
        {
            long start = random.NextInt64(0, log.LogEndOffset);
            int maxBytes = random.Next(4) == 0 ? random.Next(0, 200) : random.Next(0, 300_000);
            long maxExclusive = random.Next(3) == 0 ? long.MaxValue : random.NextInt64(start, log.LogEndOffset + 1);
            bool minOne = random.Next(2) == 0;

            LogReadResult region = log.ReadRegion(start, maxBytes, maxExclusive, minOne);
            (long first, long next, int length) = Expected(all, start, maxBytes, Math.Min(maxExclusive, log.LogEndOffset), minOne);

            Assert.Equal(LogReadError.None, region.Error);
            Assert.True(length == region.Records.Length, $"start {start} maxBytes {maxBytes} maxExclusive {maxExclusive} minOne {minOne}: length {region.Records.Length}, expected {length}");
            if (length > 0)
            {
                Assert.Equal(first, region.FirstOffset);
                Assert.Equal(next, region.NextOffset);
                Assert.Equal(log.Read(start, maxBytes, maxExclusive, minOne).Records.ToArray(), Written(region.Records));
            }
        }

        log.Close();
    }

    [Fact]
    public void A_region_is_written_straight_from_the_file_with_a_length_prefix()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path);
        for (int i = 0; i < 10; i++)
        {
            Batches.Append(log, count: 5);
        }

        LogReadResult region = log.ReadRegion(0, 1 << 20, long.MaxValue, minOneBatch: true);
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetMemoryManager(region.Records, out DeferredBytes? deferred));

        var output = new ArrayBufferWriter<byte>();
        new KafkaWriter(output).WriteRecords(region.Records, compact: false);

        Assert.False(deferred.IsMaterialized);
        Assert.Equal(region.Records.Length, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(output.WrittenSpan));
        Assert.Equal(10, Batches.Headers(output.WrittenMemory[4..]).Count);
        log.Close();
    }

    [Fact]
    public void A_region_whose_bytes_were_truncated_away_fails_to_write_instead_of_sending_other_bytes()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path);
        for (int i = 0; i < 10; i++)
        {
            Batches.Append(log, count: 5);
        }

        LogReadResult region = log.ReadRegion(20, 1 << 20, long.MaxValue, minOneBatch: true);
        log.TruncateTo(25);

        IOException error = Assert.Throws<IOException>(() => new KafkaWriter(new ArrayBufferWriter<byte>()).WriteRecords(region.Records, compact: true));
        Assert.Contains("truncated", error.Message);
        log.Close();
    }

    [Fact]
    public void A_region_of_a_deleted_log_fails_to_write()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path);
        Batches.Append(log, count: 5);
        LogReadResult region = log.ReadRegion(0, 1 << 20, long.MaxValue, minOneBatch: true);

        log.Delete();

        Assert.Throws<IOException>(() => new KafkaWriter(new ArrayBufferWriter<byte>()).WriteRecords(region.Records, compact: false));
    }

    [Fact]
    public void Touching_a_region_reads_it_once_into_memory()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path);
        Batches.Append(log, count: 5);
        Batches.Append(log, count: 5);
        LogReadResult region = log.ReadRegion(0, 1 << 20, long.MaxValue, minOneBatch: true);

        Assert.Equal(2, Batches.Headers(region.Records).Count);
        log.TruncateTo(5);

        // Already materialized: still the bytes read when first touched.
        Assert.Equal(2, Batches.Headers(Written(region.Records)).Count);
        log.Close();
    }

    private static byte[] Written(ReadOnlyMemory<byte> records)
    {
        var output = new ArrayBufferWriter<byte>();
        new KafkaWriter(output).WriteRecords(records, compact: false);
        return output.WrittenSpan[4..].ToArray();
    }

    private static List<(long Position, RecordBatchHeader Header)> WalkEverySegment(PartitionLog log)
    {
        var all = new List<(long, RecordBatchHeader)>();
        long next = 0;
        while (next < log.LogEndOffset)
        {
            LogReadResult read = log.Read(next, int.MaxValue, long.MaxValue, minOneBatch: true);
            long position = 0;
            foreach (RecordBatchHeader header in Batches.Headers(read.Records))
            {
                all.Add((position, header));
                position += header.TotalSize;
            }

            next = read.NextOffset;
        }

        return all;
    }

    /// <summary>The reference: from the batch holding <paramref name="start"/>, whole batches of its segment within both bounds.</summary>
    private static (long First, long Next, int Length) Expected(List<(long Position, RecordBatchHeader Header)> all, long start, int maxBytes,
        long maxExclusive, bool minOne)
    {
        int index = all.FindIndex(b => b.Header.LastOffset >= start);
        if (index < 0 || all[index].Header.LastOffset >= maxExclusive || (all[index].Header.TotalSize > maxBytes && !minOne))
        {
            return (-1, start, 0);
        }

        long segmentStart = all[index].Position;
        long length = 0;
        long next = start;
        for (int i = index; i < all.Count && (i == index || all[i].Position > segmentStart); i++)
        {
            RecordBatchHeader header = all[i].Header;
            bool fits = length + header.TotalSize <= maxBytes || (i == index && minOne);
            if (header.LastOffset >= maxExclusive || !fits)
            {
                break;
            }

            length += header.TotalSize;
            next = header.NextOffset;
        }

        return (all[index].Header.BaseOffset, next, (int)length);
    }
}
