using System.Globalization;
using System.Text;
using Tributary.Protocol.IO;

namespace Tributary.Storage;

/// <summary>
/// Kafka's offset checkpoint text format: a version line ("0"), an entry-count line, then one "topic partition offset" line per
/// entry. Written to a temp file, fsynced and renamed over the old one, so a crash leaves either the old or the new file.
/// </summary>
internal static class OffsetCheckpointFile
{
    public const string RecoveryPointFileName = "recovery-point-offset-checkpoint";
    public const string LogStartOffsetFileName = "log-start-offset-checkpoint";

    /// <summary>Kafka's name for the per-directory high-watermark checkpoint.</summary>
    public const string HighWatermarkFileName = "replication-offset-checkpoint";

    private const int CurrentVersion = 0;

    // A checkpoint line is "topic partition offset"; topics are at most 249 characters.
    private const int MaxEntries = 10_000_000;

    public static void Write(string path, IEnumerable<KeyValuePair<TopicPartition, long>> entries)
    {
        var lines = new StringBuilder();
        int count = 0;
        foreach (KeyValuePair<TopicPartition, long> entry in entries)
        {
            lines.Append(entry.Key.Topic).Append(' ')
                .Append(entry.Key.Partition.ToString(CultureInfo.InvariantCulture)).Append(' ')
                .Append(entry.Value.ToString(CultureInfo.InvariantCulture)).Append('\n');
            count++;
        }

        string content = string.Create(CultureInfo.InvariantCulture, $"{CurrentVersion}\n{count}\n{lines}");
        string temporary = path + ".tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(Encoding.UTF8.GetBytes(content));
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
        DirectorySync.TrySync(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    /// <summary>Reads a checkpoint; a missing file is empty; a malformed one throws <see cref="InvalidDataException"/>.</summary>
    public static Dictionary<TopicPartition, long> Read(string path)
    {
        var result = new Dictionary<TopicPartition, long>();
        if (!File.Exists(path))
        {
            return result;
        }

        using var reader = new StreamReader(path, Encoding.UTF8);
        string? versionLine = reader.ReadLine();
        if (versionLine is null || !int.TryParse(versionLine, NumberStyles.None, CultureInfo.InvariantCulture, out int version)
            || version != CurrentVersion)
        {
            throw new InvalidDataException($"unsupported checkpoint version '{versionLine}'");
        }

        string? countLine = reader.ReadLine();
        if (countLine is null || !int.TryParse(countLine, NumberStyles.None, CultureInfo.InvariantCulture, out int count)
            || count > MaxEntries)
        {
            throw new InvalidDataException($"bad entry count '{countLine}'");
        }

        for (int i = 0; i < count; i++)
        {
            string? line = reader.ReadLine();
            string[] parts = line?.Split(' ') ?? [];
            if (parts.Length != 3
                || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int partition)
                || !long.TryParse(parts[2], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long offset))
            {
                throw new InvalidDataException($"bad entry line {i + 3}");
            }

            result[new TopicPartition(parts[0], partition)] = offset;
        }

        if (reader.ReadLine() is { Length: > 0 })
        {
            throw new InvalidDataException("more entries than the count line says");
        }

        return result;
    }
}
