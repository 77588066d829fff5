using System.Globalization;
using System.Text;
using Tributary.Protocol;
using Tributary.Protocol.IO;

namespace Tributary.Storage;

/// <summary>
/// The <c>partition.metadata</c> file of a partition directory (Kafka's KIP-516): the id of the topic the log belongs to,
/// so a directory left behind by a deleted topic is never served for a new topic of the same name. Text, two lines:
/// <c>version: 0</c> and <c>topic_id: &lt;base64url id&gt;</c>. Written to a temporary file, fsynced and renamed into
/// place (then the directory is fsynced), so a reader sees the old file or the new one, never a torn one.
/// </summary>
public static class PartitionMetadataFile
{
    public const string FileName = "partition.metadata";

    /// <summary>The only version written and read.</summary>
    public const int CurrentVersion = 0;

    /// <summary>Far above the ~45 bytes a valid file holds; anything larger is not ours and is refused unread.</summary>
    public const int MaxBytes = 1024;

    private const string VersionKey = "version";
    private const string TopicIdKey = "topic_id";

    public static string PathIn(string partitionDirectory) => Path.Combine(partitionDirectory, FileName);

    /// <summary>Writes (or replaces) the file in <paramref name="partitionDirectory"/> durably.</summary>
    public static void Write(string partitionDirectory, Uuid topicId)
    {
        if (topicId == Uuid.Zero)
        {
            throw new ArgumentException("A partition's topic id cannot be the zero id.", nameof(topicId));
        }

        string path = PathIn(partitionDirectory);
        string temporary = path + ".tmp";
        byte[] content = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $"{VersionKey}: {CurrentVersion}\n{TopicIdKey}: {topicId}\n"));
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(content);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
        DirectorySync.TrySync(partitionDirectory);
    }

    /// <summary>The topic id recorded in <paramref name="partitionDirectory"/>, or null when the directory has no such file
    /// (a log written before topic ids were recorded).</summary>
    /// <exception cref="InvalidDataException">The file exists but is not a valid partition.metadata file.</exception>
    public static Uuid? Read(string partitionDirectory)
    {
        string path = PathIn(partitionDirectory);
        byte[] content;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            if (stream.Length > MaxBytes)
            {
                throw Malformed(path, $"it holds {stream.Length} bytes, more than the {MaxBytes} allowed");
            }

            content = new byte[stream.Length];
            stream.ReadExactly(content);
        }
        catch (FileNotFoundException)
        {
            return null;
        }

        return Parse(path, content);
    }

    /// <summary>Parses the content of a partition.metadata file; <paramref name="path"/> only names it in errors.</summary>
    /// <exception cref="InvalidDataException">The content is not a valid partition.metadata file.</exception>
    public static Uuid Parse(string path, ReadOnlySpan<byte> content)
    {
        if (content.Length > MaxBytes)
        {
            throw Malformed(path, $"it holds {content.Length} bytes, more than the {MaxBytes} allowed");
        }

        foreach (byte b in content)
        {
            if (b is > 0x7E or (< 0x20 and not (byte)'\n' and not (byte)'\r'))
            {
                throw Malformed(path, "it holds bytes that are not printable ASCII");
            }
        }

        string[] lines = Encoding.ASCII.GetString(content).Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length != 2)
        {
            throw Malformed(path, $"expected 2 lines ({VersionKey}, {TopicIdKey}), found {lines.Length}");
        }

        string version = Value(path, lines[0], VersionKey);
        if (!int.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out int number) || number != CurrentVersion)
        {
            throw Malformed(path, $"unsupported version '{version}' (only {CurrentVersion} is known)");
        }

        string text = Value(path, lines[1], TopicIdKey);
        if (!Uuid.TryParse(text, out Uuid topicId) || topicId == Uuid.Zero)
        {
            throw Malformed(path, $"'{text}' is not a topic id");
        }

        return topicId;
    }

    private static string Value(string path, string line, string key)
    {
        int colon = line.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0 || !string.Equals(line[..colon].Trim(), key, StringComparison.Ordinal))
        {
            throw Malformed(path, $"expected a '{key}: …' line, found '{line}'");
        }

        return line[(colon + 1)..].Trim();
    }

    private static InvalidDataException Malformed(string path, string reason) =>
        new($"Malformed partition metadata file {path}: {reason}. Restore it, or remove it to let the log adopt the topic id of the "
            + "topic the metadata places there.");
}
