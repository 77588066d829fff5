using System.Globalization;
using System.Text;
using Tributary.Protocol.IO;

namespace Tributary.Storage;

/// <summary>
/// The <c>leader-epoch-checkpoint</c> file of a partition directory, Kafka's text format: a version line ("0"), an entry-count
/// line, then one "epoch startOffset" line per entry, oldest first. Written to a temp file, fsynced, renamed over the old one and
/// the directory fsynced, so a crash leaves either the old or the new file.
/// </summary>
internal static class LeaderEpochCheckpointFile
{
    public const string FileName = "leader-epoch-checkpoint";

    private const int CurrentVersion = 0;

    // One entry per leader election that wrote data; far more than any real partition sees, small enough to bound a corrupt count.
    private const int MaxEntries = 1_000_000;

    public static string PathIn(string partitionDirectory) => Path.Combine(partitionDirectory, FileName);

    /// <exception cref="IOException">the write or an fsync failed.</exception>
    public static void Write(string path, IReadOnlyList<EpochEntry> entries)
    {
        var content = new StringBuilder();
        content.Append(CurrentVersion.ToString(CultureInfo.InvariantCulture)).Append('\n')
            .Append(entries.Count.ToString(CultureInfo.InvariantCulture)).Append('\n');
        foreach (EpochEntry entry in entries)
        {
            content.Append(entry.Epoch.ToString(CultureInfo.InvariantCulture)).Append(' ')
                .Append(entry.StartOffset.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        string temporary = path + ".tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(Encoding.UTF8.GetBytes(content.ToString()));
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
        DirectorySync.TrySync(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    /// <summary>
    /// Reads the entries; null when the file does not exist. Throws <see cref="InvalidDataException"/> when it is malformed or its
    /// entries are not strictly increasing in both epoch and start offset (the cache's invariant), so the caller rebuilds it.
    /// </summary>
    public static List<EpochEntry>? Read(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        using var reader = new StreamReader(path, Encoding.UTF8);
        string? versionLine = reader.ReadLine();
        if (versionLine is null || !int.TryParse(versionLine, NumberStyles.None, CultureInfo.InvariantCulture, out int version)
            || version != CurrentVersion)
        {
            throw new InvalidDataException($"unsupported leader-epoch checkpoint version '{versionLine}'");
        }

        string? countLine = reader.ReadLine();
        if (countLine is null || !int.TryParse(countLine, NumberStyles.None, CultureInfo.InvariantCulture, out int count)
            || count > MaxEntries)
        {
            throw new InvalidDataException($"bad leader-epoch entry count '{countLine}'");
        }

        var entries = new List<EpochEntry>(Math.Min(count, 1024));
        for (int i = 0; i < count; i++)
        {
            string? line = reader.ReadLine();
            string[] parts = line?.Split(' ') ?? [];
            if (parts.Length != 2
                || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int epoch)
                || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out long startOffset))
            {
                throw new InvalidDataException($"bad leader-epoch entry line {i + 3}");
            }

            if (entries.Count > 0 && (epoch <= entries[^1].Epoch || startOffset <= entries[^1].StartOffset))
            {
                throw new InvalidDataException($"leader-epoch entry line {i + 3} does not follow the previous entry");
            }

            entries.Add(new EpochEntry(epoch, startOffset));
        }

        if (reader.ReadLine() is { Length: > 0 })
        {
            throw new InvalidDataException("more leader-epoch entries than the count line says");
        }

        return entries;
    }
}
