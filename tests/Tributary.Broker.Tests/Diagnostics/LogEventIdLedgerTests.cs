using System.Globalization;
using System.Text.RegularExpressions;
using Tributary.Tests.Shared;

namespace Tributary.Broker.Tests.Diagnostics;

/// <summary>
/// The event-id ledger (docs/log-events.md) holds for the whole code base: every [LoggerMessage] names its id, no two
/// events share one, and each id lies in a range of the ledger. Reads the sources (not the built assemblies) so every
/// project counts, including ones this test project does not reference.
/// </summary>
public sealed partial class LogEventIdLedgerTests
{
    private static readonly string LedgerPath = Path.Combine(RepositoryPaths.Root, "docs", "log-events.md");

    private static readonly Lazy<IReadOnlyList<LogEvent>> Events = new(ScanSources);

    [Fact]
    public void The_scan_finds_the_events_of_every_layer()
    {
        var files = Events.Value.Select(e => e.File).ToHashSet();

        Assert.True(Events.Value.Count > 150, $"only {Events.Value.Count} events found");
        Assert.Contains(Events.Value, e => e is { Id: 1, Name: "BrokerReady" });
        Assert.Contains(files, f => f.Contains("Tributary.Storage", StringComparison.Ordinal));
        Assert.Contains(files, f => f.StartsWith("operator/", StringComparison.Ordinal));
    }

    [Fact]
    public void Every_log_event_names_its_id()
    {
        var unnamed = Events.Value.Where(e => e.Id is null).Select(e => $"{e.File}: {e.Name}").ToList();

        Assert.True(unnamed.Count == 0, "Events without an explicit EventId:\n" + string.Join('\n', unnamed));
    }

    [Fact]
    public void No_two_log_events_share_an_id()
    {
        var known = KnownCollisions();
        var duplicates = Events.Value.Where(e => e.Id is not null).GroupBy(e => e.Id!.Value)
            .Where(g => g.Count() > 1)
            .ToDictionary(g => g.Key, g => g.Select(e => e.File).Order(StringComparer.Ordinal).ToList());

        var unexpected = duplicates.Where(d => !(known.TryGetValue(d.Key, out var files) && files.SequenceEqual(d.Value)))
            .Select(d => $"{d.Key}: {string.Join(", ", d.Value)}").ToList();
        var fixedSince = known.Keys.Where(id => !duplicates.ContainsKey(id)).ToList();

        Assert.True(unexpected.Count == 0, "Event ids used more than once (take the next free id of the area, docs/log-events.md):\n"
            + string.Join('\n', unexpected));
        Assert.True(fixedSince.Count == 0, $"Collisions listed in docs/log-events.md that no longer exist; remove them there: {string.Join(", ", fixedSince)}");
    }

    [Fact]
    public void Every_log_event_id_lies_in_a_range_of_the_ledger()
    {
        var ranges = LedgerRanges();
        var outside = Events.Value.Where(e => e.Id is { } id && !ranges.Any(r => id >= r.First && id <= r.Last))
            .Select(e => $"{e.Id} {e.Name} ({e.File})").ToList();

        Assert.NotEmpty(ranges);
        Assert.True(outside.Count == 0, "Event ids outside every range of docs/log-events.md:\n" + string.Join('\n', outside));
    }

    private static List<LogEvent> ScanSources()
    {
        string[] skipped = ["bin", "obj", ".git", "node_modules", ".tools", ".data", "tests"];
        var events = new List<LogEvent>();
        var pending = new Stack<string>([RepositoryPaths.Root]);
        while (pending.Count > 0)
        {
            var dir = pending.Pop();
            foreach (var sub in Directory.EnumerateDirectories(dir))
            {
                if (!skipped.Contains(Path.GetFileName(sub)))
                {
                    pending.Push(sub);
                }
            }

            foreach (var file in Directory.EnumerateFiles(dir, "*.cs"))
            {
                var relative = Path.GetRelativePath(RepositoryPaths.Root, file).Replace('\\', '/');
                foreach (Match attribute in LoggerMessageAttribute().Matches(File.ReadAllText(file)))
                {
                    var arguments = attribute.Groups["args"].Value;
                    var id = ExplicitEventId().Match(arguments) is { Success: true } named ? named.Groups["id"].Value
                        : PositionalEventId().Match(arguments) is { Success: true } positional ? positional.Groups["id"].Value
                        : null;
                    var name = EventName().Match(arguments) is { Success: true } n ? n.Groups["name"].Value : "(unnamed)";
                    events.Add(new LogEvent(id is null ? null : int.Parse(id, CultureInfo.InvariantCulture), name, relative));
                }
            }
        }

        return events;
    }

    /// <summary>The "Known collisions awaiting a fix" table: id → the files that share it, sorted.</summary>
    private static Dictionary<int, List<string>> KnownCollisions()
    {
        var known = new Dictionary<int, List<string>>();
        var inSection = false;
        foreach (var line in File.ReadLines(LedgerPath))
        {
            if (line.StartsWith("## ", StringComparison.Ordinal))
            {
                inSection = line.StartsWith("## Known collisions", StringComparison.Ordinal);
                continue;
            }

            var row = CollisionRow().Match(line);
            if (inSection && row.Success)
            {
                known[int.Parse(row.Groups["id"].Value, CultureInfo.InvariantCulture)] =
                    [.. row.Groups["files"].Value.Split(',', StringSplitOptions.TrimEntries).Order(StringComparer.Ordinal)];
            }
        }

        return known;
    }

    private static List<(int First, int Last)> LedgerRanges() =>
        [.. File.ReadLines(LedgerPath).Select(line => RangeRow().Match(line)).Where(m => m.Success)
            .Select(m => (int.Parse(m.Groups["first"].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups["last"].Value, CultureInfo.InvariantCulture)))];

    private sealed record LogEvent(int? Id, string Name, string File);

    [GeneratedRegex(@"\[LoggerMessage\((?<args>.*?)\)\]", RegexOptions.Singleline)]
    private static partial Regex LoggerMessageAttribute();

    [GeneratedRegex(@"\bEventId\s*=\s*(?<id>\d+)")]
    private static partial Regex ExplicitEventId();

    [GeneratedRegex(@"^\s*(?<id>\d+)\s*,")]
    private static partial Regex PositionalEventId();

    [GeneratedRegex(@"\bEventName\s*=\s*""(?<name>[^""]*)""")]
    private static partial Regex EventName();

    [GeneratedRegex(@"^\|\s*(?<first>\d+)-(?<last>\d+)\s*\|")]
    private static partial Regex RangeRow();

    [GeneratedRegex(@"^\|\s*(?<id>\d+)\s*\|\s*(?<files>[^|]+?)\s*\|")]
    private static partial Regex CollisionRow();
}
