using System.Text;
using Confluent.Kafka;

namespace Tributary.Integration.Tests.Retention;

/// <summary>A record as a consumer reads it back.</summary>
public readonly record struct ReadBackRecord(long Offset, string Key, string? Value);

/// <summary>
/// Rounds of random updates and deletes for a compacted topic, and what the topic must hold once everything written is cleaned:
/// one record per key, the latest value of every live key, and for a deleted key nothing or (until delete.retention.ms after the
/// cleaning that reached it) its tombstone.
/// </summary>
public sealed class CompactionRounds(int seed)
{
    private readonly Random _random = new(seed);
    private readonly Dictionary<string, string?> _last = [];
    private int _round;

    public List<Message<byte[]?, byte[]?>> Next(int updates, int deletes, int keySpace)
    {
        var writes = new List<(string Key, string? Value)>();
        for (int i = 0; i < updates; i++)
        {
            writes.Add(($"key-{_random.Next(keySpace)}", $"round-{_round}-update-{i}"));
        }

        for (int i = 0; i < deletes; i++)
        {
            writes.Insert(_random.Next(writes.Count + 1), ($"key-{_random.Next(keySpace)}", null));
        }

        _round++;
        return [.. writes.Select(write => Message(write.Key, write.Value))];
    }

    /// <summary>A write of its own key that rolls the segment holding the round before it (sent after segment.ms).</summary>
    public Message<byte[]?, byte[]?> Marker(int round) => Message(MarkerKey, $"after-round-{round}");

    private const string MarkerKey = "marker";

    /// <summary>Live keys and their latest values, the marker left out.</summary>
    public Dictionary<string, string> LiveKeys() =>
        _last.Where(entry => entry.Value is not null && entry.Key != MarkerKey).ToDictionary(entry => entry.Key, entry => entry.Value!);

    public bool IsCompacted(IReadOnlyList<ReadBackRecord> read) => Problem(read) is null;

    public void AssertCompacted(IReadOnlyList<ReadBackRecord> read, string when)
    {
        string? problem = Problem(read);
        Assert.True(problem is null, $"{when}: {problem}");
    }

    /// <summary>What is wrong with <paramref name="read"/> as the compacted topic, or null.</summary>
    public string? Problem(IReadOnlyList<ReadBackRecord> all)
    {
        // The latest marker sits in the active segment, which is never cleaned, so the one before it stays too (as in Kafka).
        if (all.Count == 0 || all[^1].Key != MarkerKey || all[^1].Value != _last[MarkerKey])
        {
            return "the log does not end with the latest marker";
        }

        var read = all.Where(record => record.Key != MarkerKey).ToList();
        var duplicates = read.GroupBy(record => record.Key).Where(group => group.Count() > 1).Select(group => group.Key).ToList();
        if (duplicates.Count > 0)
        {
            return $"{duplicates.Count} keys appear more than once, e.g. {duplicates[0]} ({read.Count} records read)";
        }

        foreach (ReadBackRecord record in read)
        {
            if (!_last.TryGetValue(record.Key, out string? latest))
            {
                return $"{record.Key} was never written";
            }

            if (record.Value is not null && record.Value != latest)
            {
                return latest is null
                    ? $"{record.Key} was deleted but still has the value {record.Value} at offset {record.Offset}"
                    : $"{record.Key} reads {record.Value}, its latest value is {latest}";
            }

            if (record.Value is null && latest is not null)
            {
                return $"{record.Key} reads as a tombstone, its latest value is {latest}";
            }
        }

        var readKeys = read.Select(record => record.Key).ToHashSet();
        var missing = LiveKeys().Keys.Where(key => !readKeys.Contains(key)).ToList();
        return missing.Count > 0 ? $"{missing.Count} live keys are missing, e.g. {missing[0]}" : null;
    }

    private Message<byte[]?, byte[]?> Message(string key, string? value)
    {
        _last[key] = value;
        return new Message<byte[]?, byte[]?> { Key = Encoding.UTF8.GetBytes(key), Value = value is null ? null : Encoding.UTF8.GetBytes(value) };
    }
}
