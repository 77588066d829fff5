using System.Globalization;

namespace Tributary.Storage;

/// <summary>A partition of a topic; its log lives in the directory <c>&lt;topic&gt;-&lt;partition&gt;</c>.</summary>
public readonly record struct TopicPartition(string Topic, int Partition)
{
    public string DirectoryName => string.Create(CultureInfo.InvariantCulture, $"{Topic}-{Partition}");

    public override string ToString() => DirectoryName;

    /// <summary>Parses a log directory name; the partition follows the last '-', since topic names may contain '-'.</summary>
    public static bool TryParseDirectoryName(string name, out TopicPartition topicPartition)
    {
        topicPartition = default;
        int dash = name.LastIndexOf('-');
        if (dash <= 0 || dash == name.Length - 1)
        {
            return false;
        }

        if (!int.TryParse(name.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int partition))
        {
            return false;
        }

        topicPartition = new TopicPartition(name[..dash], partition);
        return true;
    }
}
