using System.Text;
using Tributary.Protocol.Records;
using Tributary.Storage;

namespace Tributary.Storage.Tests;

/// <summary>A fresh directory under the system temp dir, removed on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "tributary-storage-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Sub(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

internal static class Batches
{
    public const long T0 = 1_700_000_000_000;

    /// <summary>An uncompressed batch of <paramref name="count"/> records, values "v{i}" padded to <paramref name="valueSize"/>.</summary>
    public static byte[] Create(int count, long firstTimestamp = T0, int valueSize = 16, long timestampStep = 1)
    {
        var builder = new RecordBatchBuilder();
        for (int i = 0; i < count; i++)
        {
            byte[] value = Encoding.UTF8.GetBytes($"v{i}".PadRight(valueSize, '.'));
            builder.Append(firstTimestamp + (i * timestampStep), Encoding.UTF8.GetBytes($"k{i}"), value);
        }

        return builder.Build();
    }

    public static LogAppendInfo Append(PartitionLog log, int count = 3, long firstTimestamp = T0, long nowMs = T0, int valueSize = 16,
        bool logAppendTime = false) =>
        log.AppendAsLeader(Create(count, firstTimestamp, valueSize), count, partitionLeaderEpoch: 0, nowMs, logAppendTime);

    /// <summary>Headers of every batch in a read result, checking each CRC on the way.</summary>
    public static List<RecordBatchHeader> Headers(ReadOnlyMemory<byte> records)
    {
        var headers = new List<RecordBatchHeader>();
        var enumerator = new RecordBatchEnumerator(records.Span);
        while (enumerator.MoveNext())
        {
            Assert.True(RecordBatchValidator.HasValidCrc(enumerator.Current), "a served batch failed its CRC");
            headers.Add(enumerator.CurrentHeader);
        }

        Assert.Equal(records.Length, enumerator.ConsumedBytes);
        return headers;
    }

    /// <summary>Every offset readable from the log, by walking it with reads of at most <paramref name="maxBytes"/>.</summary>
    public static List<long> ReadAllOffsets(PartitionLog log, int maxBytes = 1 << 20)
    {
        var offsets = new List<long>();
        long next = log.LogStartOffset;
        while (next < log.LogEndOffset)
        {
            LogReadResult result = log.Read(next, maxBytes, long.MaxValue, minOneBatch: true);
            Assert.Equal(LogReadError.None, result.Error);
            Assert.False(result.Records.IsEmpty);
            foreach (RecordBatchHeader header in Headers(result.Records))
            {
                for (long offset = header.BaseOffset; offset <= header.LastOffset; offset++)
                {
                    if (offset >= next)
                    {
                        offsets.Add(offset);
                    }
                }
            }

            next = result.NextOffset;
        }

        return offsets;
    }
}

internal static class Logs
{
    public static readonly TopicPartition Partition = new("orders", 0);

    public static PartitionLog Open(string directory, LogConfig? config = null, long recoveryPoint = 0, long logStartOffset = 0,
        bool clean = false) =>
        PartitionLog.Open(directory, Partition, config ?? LogConfig.Default, new LogLoadState(recoveryPoint, logStartOffset, clean));

    public static string SegmentFile(string directory, long baseOffset, string suffix = ".log") =>
        Path.Combine(directory, baseOffset.ToString("D20", System.Globalization.CultureInfo.InvariantCulture) + suffix);
}
